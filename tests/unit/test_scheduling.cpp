// The scheduling layer on hand-made fleets: placements pick the nodes written out
// below, policies start the jobs worked out by hand, and EASY backfilling never moves
// the head job's reservation later (checked on random states).
#include <catch2/catch.hpp>

#include <random>

#include "scheduling/easy_backfill.hpp"
#include "scheduling/fifo.hpp"
#include "scheduling/placement.hpp"
#include "scheduling/priority.hpp"
#include "scheduling/reservation.hpp"

using namespace fleetsim;

namespace {

// Two pods of 8 nodes, 4 nodes per leaf switch, 8 accelerators per node.
std::vector<PodShape> two_pods() { return {{"H100-SXM", 8, 8, 4}, {"H100-SXM", 8, 8, 4}}; }

Allocation nodes(std::vector<std::pair<int, std::vector<int>>> parts) {
  Allocation a;
  for (auto& [pod, list] : parts) a.parts.push_back({pod, list});
  return a;
}

std::vector<std::pair<int, std::vector<int>>> parts_of(const Allocation& a) {
  std::vector<std::pair<int, std::vector<int>>> out;
  for (const auto& p : a.parts) out.push_back({p.pod, p.nodes});
  return out;
}

using Parts = std::vector<std::pair<int, std::vector<int>>>;

SchedJob job(int id, int node_count, double runtime = kUnbounded, int priority = 0, std::string tenant = "default") {
  SchedJob j;
  j.id = id;
  j.submit_s = id;
  j.accelerators = node_count * 8;
  j.groups = {PodGroup{{0, 1}, node_count}};
  j.estimated_runtime_s = runtime;
  j.priority = priority;
  j.tenant = std::move(tenant);
  return j;
}

}  // namespace

TEST_CASE("free nodes: take, give back, leaves, fragmentation") {
  FreeNodes free(two_pods());
  CHECK(free.total_free() == 16);
  CHECK(free.leaves(0) == 2);
  CHECK(free.leaf_of(0, 5) == 1);
  CHECK(free.fragmentation() == Approx(0.5));  // 8 of 16 free nodes outside the freest pod
  free.take(nodes({{0, {0, 1, 2, 3, 4, 5, 6, 7}}}));
  CHECK(free.fragmentation() == 0.0);  // all free nodes in pod 1
  CHECK(free.free_in_leaf(0, 0) == 0);
  CHECK_THROWS_AS(free.take(nodes({{0, {3}}})), std::logic_error);  // a node allocated twice
  free.give_back(nodes({{0, {3}}}));
  CHECK_THROWS_AS(free.give_back(nodes({{0, {3}}})), std::logic_error);
  CHECK(free.fragmentation() == Approx(1.0 - 8.0 / 9.0));
  CHECK(free.lowest_free(1, 3) == std::vector<int>{0, 1, 2});
}

TEST_CASE("placement: packed, spread and topology-aware pick the nodes worked out by hand") {
  FreeNodes free(two_pods());
  // Pod 0: nodes 0-5 taken, 6 and 7 free (leaf 1). Pod 1: node 1 and 5 taken.
  free.take(nodes({{0, {0, 1, 2, 3, 4, 5}}, {1, {1, 5}}}));
  const std::vector<int> pods{0, 1};

  SECTION("packed: first fit in pod order, lowest nodes") {
    auto a = make_placement("packed")->place(3, pods, free);
    REQUIRE(a);
    CHECK(parts_of(*a) == Parts{{0, {6, 7}}, {1, {0}}});
  }
  SECTION("spread: one node at a time to the pod with the most free") {
    // Free: pod 0 has 2, pod 1 has 6: pod 1, pod 1, pod 1, pod 1 (then 2 vs 2: pod 0).
    auto a = make_placement("spread")->place(5, pods, free);
    REQUIRE(a);
    CHECK(parts_of(*a) == Parts{{0, {6}}, {1, {0, 2, 3, 4}}});
  }
  SECTION("topology-aware: best-fit pod, then best-fit leaf") {
    // 2 nodes: pod 0 holds exactly 2 (best fit), on its leaf 1.
    auto a = make_placement("topology-aware")->place(2, pods, free);
    REQUIRE(a);
    CHECK(parts_of(*a) == Parts{{0, {6, 7}}});
    // 3 nodes: only pod 1 holds them; its leaf 0 has 3 free (0, 2, 3), leaf 1 has 3 (4, 6, 7):
    // the first best-fit leaf.
    a = make_placement("topology-aware")->place(3, pods, free);
    REQUIRE(a);
    CHECK(parts_of(*a) == Parts{{1, {0, 2, 3}}});
    // 4 nodes in pod 1: no leaf holds 4, so the leaves with most free first: 3 + 1.
    a = make_placement("topology-aware")->place(4, pods, free);
    REQUIRE(a);
    CHECK(a->parts.size() == 1);
    CHECK(a->node_count() == 4);
    // 7 nodes: no pod holds them: the freest pod first (pod 1, all 6), then 1 from pod 0.
    a = make_placement("topology-aware")->place(7, pods, free);
    REQUIRE(a);
    CHECK(parts_of(*a) == Parts{{0, {6}}, {1, {0, 2, 3, 4, 6, 7}}});
  }
  SECTION("no placement over-commits") {
    for (const char* name : {"packed", "spread", "topology-aware"}) {
      CHECK_FALSE(make_placement(name)->place(9, pods, free));
      CHECK(make_placement(name)->place(8, pods, free)->node_count() == 8);
    }
  }
}

namespace {

struct World {
  FreeNodes free{two_pods()};
  std::shared_ptr<Placement> placement = make_placement("topology-aware");
  std::vector<SchedJob> jobs;
  std::vector<RunningJob> running;

  SchedulingState state(double now, const std::vector<int>& queued) const {
    SchedulingState s;
    s.now = now;
    for (int id : queued) s.queue.push_back(&jobs[std::size_t(id)]);
    s.running = running;
    s.free = &free;
    s.placement = placement.get();
    return s;
  }
  void run(int id, Allocation a, double end) {
    free.take(a);
    running.push_back({&jobs[std::size_t(id)], std::move(a), end, 0, true});
  }
};

std::vector<int> started(const Decision& decision) {
  std::vector<int> ids;
  for (const auto& s : decision.starts) ids.push_back(s.job);
  return ids;
}

}  // namespace

TEST_CASE("policies on a hand-worked queue") {
  // Running: job 0 holds 12 nodes until t = 100. Free: 4 nodes. Waiting, in order:
  // job 1 needs 8 nodes (runs 50), job 2 needs 2 (runs 30), job 3 needs 2 (runs 500),
  // job 4 needs 2 (runs 30, priority 5).
  World w;
  w.jobs = {job(0, 12, 100), job(1, 8, 50), job(2, 2, 30), job(3, 2, 500), job(4, 2, 30, 5)};
  w.run(0, nodes({{0, {0, 1, 2, 3, 4, 5, 6, 7}}, {1, {0, 1, 2, 3}}}), 100);

  SECTION("fifo: job 1 does not fit, so nobody starts") {
    FifoPolicy fifo;
    CHECK(started(fifo.schedule(w.state(0, {1, 2, 3})))
          .empty());
  }
  SECTION("easy-backfill: job 2 ends (t=30) before job 1's reservation (t=100), job 3 would delay it") {
    // At t=100 job 0's 12 nodes come back: 16 free, job 1 needs 8, so it is reserved then.
    // Job 2 takes 2 of the 4 free nodes and ends at 30: allowed. Job 3 would hold 2 nodes
    // until 500; at t=100 the head still finds 8 of the other 14: also allowed.
    EasyBackfillPolicy easy;
    CHECK(started(easy.schedule(w.state(0, {1, 2, 3}))) == std::vector<int>{2, 3});
  }
  SECTION("easy-backfill: a long job that would take the head's nodes waits") {
    // Job 1 now needs 15 nodes: at t=100 16 are free, so job 3 (2 nodes past t=100) would
    // leave 14: refused. Job 2 (ends at 30) still goes.
    w.jobs[1] = job(1, 15, 50);
    EasyBackfillPolicy easy;
    CHECK(started(easy.schedule(w.state(0, {1, 2, 3}))) == std::vector<int>{2});
  }
  SECTION("priority: job 4 first, then backfill behind the blocked job 1") {
    PriorityPolicy priority({}, false);
    CHECK(started(priority.schedule(w.state(0, {1, 2, 3, 4}))) == std::vector<int>{4, 2});
  }
  SECTION("priority: a tenant at its quota waits without blocking the others") {
    w.jobs[2].tenant = "capped";
    PriorityPolicy priority({{"capped", TenantLimits{1.0, 8}}}, false);  // 8 accelerators = 1 node
    w.jobs[1] = job(1, 2, 50);
    // Job 1 (2 nodes) starts, job 2 (capped tenant, 16 accelerators) is over its quota and
    // skipped, job 3 takes the last 2 nodes.
    CHECK(started(priority.schedule(w.state(0, {1, 2, 3}))) == std::vector<int>{1, 3});
  }
  SECTION("priority: fair share orders equal priorities by the tenant's holdings per share") {
    w.jobs[0].tenant = "big";  // holds 96 accelerators
    w.jobs[2].tenant = "big";
    w.jobs[3].tenant = "small";
    PriorityPolicy priority({{"big", TenantLimits{2.0, std::nullopt}}}, false);
    // Job 1 (default tenant, 0 held) is blocked; behind it job 3 (small, 0 held) goes
    // before job 2 (big, 96 / 2 held); both fit on the 4 free nodes.
    CHECK(started(priority.schedule(w.state(0, {1, 2, 3}))) == std::vector<int>{3, 2});
  }
}

TEST_CASE("fair share with a half-life remembers what a tenant ran") {
  // Tenants a and b, equal shares, 16 nodes. a runs job 0 (12 nodes = 96 accelerators)
  // over [0, H); at H it ends (a pass at that release, nothing queued). At 2H jobs 1 (a,
  // submitted first) and 2 (b) wait, each needing the 4 nodes left free by others' work.
  const double H = 3600;
  World w;
  w.jobs = {job(0, 12, H, 0, "a"), job(1, 4, 10, 0, "a"), job(2, 4, 10, 0, "b")};
  const Allocation others = nodes({{0, {0, 1, 2, 3, 4, 5, 6, 7}}, {1, {0, 1, 2, 3}}});
  auto replay = [&](PriorityPolicy& priority) {
    REQUIRE(started(priority.schedule(w.state(0, {0}))) == std::vector<int>{0});
    CHECK(priority.schedule(w.state(H, {})).starts.empty());  // job 0 has ended
    w.free.take(others);
    return started(priority.schedule(w.state(2 * H, {1, 2})));
  };
  SECTION("decayed: b first, since a averages 96 x (1 - 1/2) x 1/2 = 24 accelerators at 2H") {
    PriorityPolicy priority({}, false, H);
    CHECK(replay(priority) == std::vector<int>{2});
  }
  SECTION("instantaneous (no half-life): both hold nothing now, so submission order") {
    PriorityPolicy priority({}, false);
    CHECK(replay(priority) == std::vector<int>{1});
  }
  SECTION("decayed: both tenants' usage counts, weighted by their shares") {
    // a runs 8 nodes (64 accelerators) and b 4 nodes (32) over [0, H). At 2H a averages
    // 64 x 1/2 x 1/2 = 16 and b 8: with equal shares b goes first; with a's share 3,
    // a's 16 / 3 = 5.3 is below b's 8 and a goes first.
    for (double share_a : {1.0, 3.0}) {
      World v;
      v.jobs = {job(0, 8, H, 0, "a"), job(1, 4, 10, 0, "a"), job(2, 4, 10, 0, "b"), job(3, 4, H, 0, "b")};
      v.jobs[3].submit_s = 0;
      PriorityPolicy priority({{"a", TenantLimits{share_a, std::nullopt}}}, false, H);
      REQUIRE(started(priority.schedule(v.state(0, {0, 3}))) == std::vector<int>{0, 3});
      v.free.take(nodes({{0, {0, 1, 2, 3, 4, 5, 6, 7}}, {1, {0, 1, 2, 3}}}));
      CHECK(priority.schedule(v.state(H, {})).starts.empty());
      CHECK(started(priority.schedule(v.state(2 * H, {1, 2}))) == std::vector<int>{share_a == 1.0 ? 2 : 1});
    }
  }
}

TEST_CASE("preemption evicts the fewest lower-priority jobs that make room, youngest first") {
  // 16 nodes: job 0 (priority 0, 8 nodes, started at 0), job 1 (priority 0, 4 nodes,
  // started at 10), job 2 (priority 2, 4 nodes, started at 5, preemptible). Job 3
  // (priority 1) needs 6 nodes; nothing is free.
  World w;
  w.jobs = {job(0, 8, 100), job(1, 4, 100), job(2, 4, 100, 2), job(3, 6, 100, 1)};
  for (auto& j : w.jobs) j.preemptible = true;
  w.run(0, nodes({{0, {0, 1, 2, 3, 4, 5, 6, 7}}}), 100);
  w.run(1, nodes({{1, {0, 1, 2, 3}}}), 100);
  w.run(2, nodes({{1, {4, 5, 6, 7}}}), 100);
  w.running[1].start_s = 10;
  w.running[2].start_s = 5;

  SECTION("without preemption it waits") {
    PriorityPolicy priority({}, false);
    const Decision d = priority.schedule(w.state(20, {3}));
    CHECK(d.preempt.empty());
    CHECK(d.starts.empty());
  }
  SECTION("the youngest lower-priority job (1) is too small alone; job 0 is evicted and 1 spared") {
    // Candidates by (priority, youngest first): 1, then 0 (job 2 has a higher priority).
    // Evicting 1 frees 4 nodes (not enough), evicting 0 as well frees 12; job 0's 8 alone
    // suffice, so job 1 is spared.
    PriorityPolicy priority({}, true);
    const Decision d = priority.schedule(w.state(20, {3}));
    CHECK(d.preempt == std::vector<int>{0});
    REQUIRE(d.starts.size() == 1);
    CHECK(d.starts[0].job == 3);
    CHECK(d.starts[0].allocation.node_count() == 6);
  }
  SECTION("a job whose run has not begun (or is ending) is never evicted") {
    w.running[0].evictable = false;
    PriorityPolicy priority({}, true);
    // Without job 0, evicting 1 (4 nodes) is not enough: nobody is evicted.
    const Decision d = priority.schedule(w.state(20, {3}));
    CHECK(d.preempt.empty());
    CHECK(d.starts.empty());
  }
  SECTION("jobs that are not preemptible, or of equal or higher priority, are never evicted") {
    w.jobs[0].preemptible = false;
    w.jobs[1].priority = 1;
    PriorityPolicy priority({}, true);
    const Decision d = priority.schedule(w.state(20, {3}));
    CHECK(d.preempt.empty());
    CHECK(d.starts.empty());
  }
}

TEST_CASE("easy backfill never delays the head's reservation (random states)") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    World w;
    w.jobs.reserve(16);  // running jobs point into it
    // Random running jobs on random free nodes, then a random queue.
    std::uniform_int_distribution<int> size(1, 6), runtime(1, 200);
    int id = 0;
    for (int r = 0; r < 4; ++r) {
      SchedJob j = job(id, size(rng), runtime(rng));
      auto a = w.placement->place(j.groups[0].nodes, {0, 1}, w.free);
      if (!a) continue;
      w.jobs.push_back(j);
      w.run(id++, *a, j.estimated_runtime_s);
    }
    const int first_waiting = id;
    for (int q = 0; q < 6; ++q) w.jobs.push_back(job(id++, size(rng) + 2, runtime(rng)));
    std::vector<int> queue;
    for (int k = first_waiting; k < id; ++k) queue.push_back(k);

    // The head: the first waiting job FIFO would not start.
    FreeNodes scratch = w.free;
    int head = -1;
    for (int k : queue) {
      auto a = place_job(w.jobs[std::size_t(k)].groups, scratch, *w.placement);
      if (!a) {
        head = k;
        break;
      }
      scratch.take(*a);
    }
    EasyBackfillPolicy easy;
    const auto starts = easy.schedule(w.state(0, queue)).starts;
    if (head < 0) continue;
    // Apply FIFO's starts to get the reservation before backfilling, then all starts.
    World before = w;
    for (const auto& s : starts)
      if (s.job < head) before.run(s.job, s.allocation, w.jobs[std::size_t(s.job)].estimated_runtime_s);
    World after = w;
    for (const auto& s : starts) after.run(s.job, s.allocation, w.jobs[std::size_t(s.job)].estimated_runtime_s);
    const auto r0 = reserve(w.jobs[std::size_t(head)], before.running, before.free, *w.placement, 0);
    const auto r1 = reserve(w.jobs[std::size_t(head)], after.running, after.free, *w.placement, 0);
    REQUIRE(r0.has_value());
    REQUIRE(r1.has_value());
    CHECK(r1->time <= r0->time);
  }
}
