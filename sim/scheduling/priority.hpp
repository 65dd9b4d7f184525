// Priority with tenants: waiting jobs in order of priority (higher first), then of their
// tenant's fair share (accelerators it holds divided by its share weight, lower first),
// then of submission. What a tenant "holds" is either what it holds now (the default) or,
// with a half-life H, its usage decayed as Slurm's fair-share factor decays it
// (PriorityDecayHalfLife, 7 days by default there): the average of the accelerators it
// held at every past time s weighted by 2^-((now - s) / H), normalised so that a tenant
// holding A accelerators for ever averages A. A tenant that has just run a large job
// then waits behind one that has not, even when both hold nothing now. A job that would take its tenant past its quota waits
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
  // half_life_s 0: fair share by what tenants hold now.
  PriorityPolicy(std::map<std::string, TenantLimits> tenants, bool preemption, double half_life_s = 0)
      : tenants_(std::move(tenants)), preemption_(preemption), half_life_s_(half_life_s) {}
  const char* name() const override { return "priority"; }
  Decision schedule(const SchedulingState& state) override;

 private:
  const TenantLimits& limits(const std::string& tenant) const;
  // Brings the decayed usage from the last pass to `now`. Between passes a tenant holds
  // what it held when the last pass ended (the engine calls a pass at every submit and
  // release, so nothing else changes holdings in between).
  void decay_usage_to(double now);
  std::map<std::string, TenantLimits> tenants_;
  bool preemption_ = false;
  double half_life_s_ = 0;
  std::map<std::string, double> usage_;            // decayed average of accelerators held
  std::map<std::string, long long> held_after_;    // as the last pass left them
  double usage_time_s_ = 0;
};

}  // namespace fleetsim
