// Priority with tenants: waiting jobs in order of priority (higher first), then of their
// tenant's fair share (accelerators it holds now divided by its share weight, lower
// first), then of submission. A job that would take its tenant past its quota waits
// without blocking others. Behind the first job that does not fit, EASY backfilling
// (reservation.hpp), as Slurm's priority/multifactor with sched/backfill does.
// With preemption, the first job left waiting may evict running preemptible jobs of
// lower priority (lowest priority first, then the most recently started, who lose the
// least work) if that makes room for it now.
#pragma once

#include <map>
#include <string>

#include "scheduling/policy.hpp"

namespace fleetsim {

class PriorityPolicy : public SchedulingPolicy {
 public:
  PriorityPolicy(std::map<std::string, TenantLimits> tenants, bool preemption)
      : tenants_(std::move(tenants)), preemption_(preemption) {}
  const char* name() const override { return "priority"; }
  Decision schedule(const SchedulingState& state) override;

 private:
  const TenantLimits& limits(const std::string& tenant) const;
  std::map<std::string, TenantLimits> tenants_;
  bool preemption_ = false;
};

}  // namespace fleetsim
