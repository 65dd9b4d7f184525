#!/usr/bin/python3
"""Scheduling through the real binary: job streams on small fleets, with the start times
of every job worked out by hand for each policy, the placements' pod counts, tenant
quotas, and invariants that must hold in every run (no accelerator allocated twice, no
job before its submit time, every job completed, running or queued at the horizon).

Usage: scheduling_tests.py BUILD/fleetsim REPO_ROOT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, read_csv, run_ok, write, finish  # noqa: E402

H = 3600.0


def job(name, gpus, submit_h, duration_h, extra=""):
    """A pretraining job of llama3-8b that holds `gpus` for `duration_h` hours."""
    return f"""\
  - name: {name}
    kind: pretrain
    model: llama3-8b
    gpus: {gpus}
    parallelism: {{tp: 8, pp: 1, dp: {gpus // 8}}}
    seq_len: 4096
    global_batch: {gpus // 8 * 16}
    duration: {duration_h}h
    submit: {submit_h}h
{extra}"""


def scenario(name, pods, jobs, scheduler="", horizon="2d"):
    return f"""\
name: {name}
seed: 1
horizon: {horizon}
cluster:
  design:
    pods:
      - {{name: p, count: {pods[0]}, nodes: {pods[1]}, node: dgx-h100}}
{scheduler}workloads:
{''.join(jobs)}"""


def invariants(label, out, summary, capacity):
    """Every run: jobs start after submit, never more accelerators than the fleet, nothing lost."""
    jobs = read_csv(os.path.join(out, "jobs.csv"))
    check(f"{label}: no job starts before its submit time",
          all(j["start_s"] == "" or float(j["start_s"]) >= float(j["submit_s"]) - 1e-9 for j in jobs))
    events = sorted({float(j[k]) for j in jobs for k in ("start_s", "end_s") if j[k] != ""})
    worst = 0
    for t in events:
        held = sum(int(j["gpus"]) for j in jobs if j["start_s"] != "" and float(j["start_s"]) <= t
                   and (j["end_s"] == "" or float(j["end_s"]) > t))
        worst = max(worst, held)
    check(f"{label}: never more accelerators held than the fleet has", worst <= capacity, f"{worst} > {capacity}")
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    check(f"{label}: allocated accelerators within the fleet, fragmentation within [0, 1]",
          all(0 <= int(r["allocated_accelerators"]) <= capacity and 0 <= float(r["fragmentation"]) <= 1 for r in rows))
    states = {j["state"] for j in jobs}
    c = summary["cluster"]
    check(f"{label}: every job completed, running or queued at the horizon",
          states <= {"completed", "running", "queued"}
          and c["jobs_completed"] + c["jobs_running"] + c["jobs_queued"] == c["jobs_submitted"] == len(jobs),
          f"{states} {c}")


# One pod of 4 nodes (32 GPUs). Worked out by hand:
#   a: 24 GPUs, submit 0,  10 h    b: 32 GPUs, submit 1 h, 2 h
#   c:  8 GPUs, submit 2 h, 5 h    d:  8 GPUs, submit 3 h, 9 h (priority 1 under `priority`)
STREAM = [job("a", 24, 0, 10), job("b", 32, 1, 2), job("c", 8, 2, 5), job("d", 8, 3, 9, "    priority: 1\n")]
EXPECTED_STARTS = {
    # FIFO: b waits for a (10 h); c and d wait behind b and start when it ends (12 h).
    "fifo": {"a": 0, "b": 10, "c": 12, "d": 12},
    # EASY: b is reserved at 10 h; c (ends at 7 h) backfills at 2 h; d (would hold its node
    # past 10 h, and b needs all 4) waits until b is done.
    "easy-backfill": {"a": 0, "b": 10, "c": 2, "d": 12},
    # Priority: c backfills at 2 h as under EASY; at 7 h d (priority 1) goes first and
    # holds a node until 16 h; b runs after it.
    "priority": {"a": 0, "b": 16, "c": 2, "d": 7},
}


def test_policies_hand_worked():
    for policy, expected in EXPECTED_STARTS.items():
        text = scenario(f"sched-{policy}", (1, 4), STREAM, f"scheduler: {{policy: {policy}}}\n")
        s, out = run_ok(f"sched-{policy}", write(f"sched-{policy}.yaml", text))
        if not s:
            continue
        starts = {w["name"]: w["start_s"] / H for w in s["workloads"]}
        check(f"{policy}: start times as worked out by hand",
              all(abs(starts[n] - t) < 1e-6 for n, t in expected.items()), f"got {starts}, expected {expected}")
        ends = {w["name"]: w["end_s"] for w in s["workloads"]}
        check(f"{policy}: each job ends its duration after it starts",
              all(abs(ends[n] / H - starts[n] - d) < 1e-6 for n, d in (("a", 10), ("b", 2), ("c", 5), ("d", 9))))
        waits = [w["wait_s"] for w in s["workloads"]]
        check(f"{policy}: mean wait from the starts", abs(s["cluster"]["mean_wait_s"] - sum(waits) / 4) < 1e-6)
        invariants(policy, out, s, 32)


def test_placements():
    # Two pods of 4 nodes: x takes 3 nodes, then y needs 2.
    jobs = [job("x", 24, 0, 5), job("y", 16, 0.1, 5)]
    expected = {"packed": (1, 2), "spread": (2, 2), "topology-aware": (1, 1)}
    for placement, (x_pods, y_pods) in expected.items():
        text = scenario(f"place-{placement}", (2, 4), jobs, f"scheduler: {{placement: {placement}}}\n", "1d")
        s, out = run_ok(f"place-{placement}", write(f"place-{placement}.yaml", text))
        if not s:
            continue
        spans = {w["name"]: w["pods_spanned"] for w in s["workloads"]}
        check(f"{placement}: pods spanned as worked out by hand", (spans["x"], spans["y"]) == (x_pods, y_pods),
              f"got {spans}")
        invariants(placement, out, s, 64)
    # topology-aware after y starts: pod 0 has 1 free node, pod 1 has 2: 1 - 2/3 of the free
    # nodes sit outside the freest pod.
    rows = read_csv(os.path.join(os.path.dirname(out), "place-topology-aware", "timeseries.csv"))
    during = [float(r["fragmentation"]) for r in rows if 0.2 * H < float(r["time_s"]) < 5 * H]
    check("fragmentation while x and y run is 1/3", during and all(abs(f - 1 / 3) < 1e-9 for f in during), str(during[:3]))


def test_tenant_quota():
    jobs = [job("q1", 8, 0, 1, "    tenant: capped\n"), job("q2", 8, 0, 1, "    tenant: capped\n"),
            job("free", 8, 0, 1, "    tenant: other\n")]
    sched = "scheduler:\n  policy: priority\n  tenants:\n    capped: {quota: 8}\n"
    s, out = run_ok("quota", write("quota.yaml", scenario("quota", (1, 4), jobs, sched, "1d")))
    if not s:
        return
    starts = {w["name"]: w["start_s"] / H for w in s["workloads"]}
    check("a tenant at its quota waits; another tenant's job is not held up",
          abs(starts["q1"]) < 1e-9 and abs(starts["q2"] - 1) < 1e-6 and abs(starts["free"]) < 1e-9, str(starts))
    tenants = s["cluster"]["tenants"]
    check("per-tenant accelerator-hours and shares", abs(tenants["capped"]["accelerator_hours"] - 16) < 1e-6
          and abs(tenants["other"]["accelerator_hours"] - 8) < 1e-6
          and abs(tenants["capped"]["share"] - 2 / 3) < 1e-9, str(tenants))
    invariants("quota", out, s, 32)


def test_queued_at_horizon():
    # The second job cannot start before the horizon: reported queued, not lost.
    jobs = [job("long", 32, 0, 30), job("late", 32, 1, 1)]
    s, out = run_ok("queued", write("queued.yaml", scenario("queued", (1, 4), jobs, "", "1d")))
    if not s:
        return
    late = s["workloads"][1]
    check("a job still queued at the horizon has no start, end or wait",
          late["start_s"] is None and late["end_s"] is None and s["cluster"]["jobs_queued"] == 1, str(late)[:200])
    invariants("queued", out, s, 32)


for test in [test_policies_hand_worked, test_placements, test_tenant_quota, test_queued_at_horizon]:
    test()

sys.exit(finish())
