// Priority with tenants: waiting jobs in order of priority (higher first), then of their
// tenant's fair share (accelerators it holds now divided by its share weight, lower
// first), then of submission. A job that would take its tenant past its quota waits
// without blocking others. Behind the first job that does not fit, EASY backfilling
// (reservation.hpp), as Slurm's priority/multifactor with sched/backfill does.
#pragma once

#include <map>
#include <string>

#include "scheduling/policy.hpp"

namespace fleetsim {

class PriorityPolicy : public SchedulingPolicy {
 public:
  explicit PriorityPolicy(std::map<std::string, TenantLimits> tenants) : tenants_(std::move(tenants)) {}
  const char* name() const override { return "priority"; }
  std::vector<Start> schedule(const SchedulingState& state) override;

 private:
  const TenantLimits& limits(const std::string& tenant) const;
  std::map<std::string, TenantLimits> tenants_;
};

}  // namespace fleetsim
