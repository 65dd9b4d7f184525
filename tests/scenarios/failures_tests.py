#!/usr/bin/python3
"""Node failures through the real binary (docs/models/failures.md): failure counts against
the Llama 3 record within Poisson bounds over several seeds, the same seed giving the same
failures and another seed other ones, a restart from a checkpoint worked out by hand from
the failures the run reports, the energy plugin's accounting with failed hosts switched
off, and the run-wide invariants.

Usage: failures_tests.py BUILD/fleetsim REPO_ROOT
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, ROOT, TMP, check, fleetsim, invariants, read_csv, run_ok, write, finish  # noqa: E402

H, D = 3600.0, 86400.0
LLAMA3_UNEXPECTED, LLAMA3_DAYS, LLAMA3_NODES = 419, 54, 2048  # Llama 3 Table 5 (calibration.yaml)


def scenario(name, seed, pods, nodes, horizon, workload, failures="{enabled: true}"):
    return f"""\
name: {name}
seed: {seed}
horizon: {horizon}
cluster:
  design:
    pods:
      - {{name: h, count: {pods}, nodes: {nodes}, node: dgx-h100}}
failures: {failures}
workloads:
{workload}"""


def small_job(name, duration, extra=""):
    return f"""\
  - name: {name}
    kind: pretrain
    model: llama3-8b
    gpus: 8
    parallelism: {{tp: 8, pp: 1, dp: 1}}
    seq_len: 4096
    global_batch: 16
    duration: {duration}
{extra}"""


def test_llama3_count():
    # 2,048 eight-GPU nodes for 54 days: the record the rates come from. Nodes under
    # repair (24 h each, about 8 at a time) do not fail, so the expectation is a little
    # under 419; +-3 sigma of a Poisson count covers it either way.
    sigma = math.sqrt(LLAMA3_UNEXPECTED)
    print(f"      expected {LLAMA3_UNEXPECTED} failures, Poisson sigma {sigma:.1f}: "
          f"each seed within [{LLAMA3_UNEXPECTED - 3 * sigma:.0f}, {LLAMA3_UNEXPECTED + 3 * sigma:.0f}], "
          f"the mean of 5 within +-{3 * sigma / math.sqrt(5):.0f}")
    counts = []
    for seed in range(1, 6):
        path = write(f"count-{seed}.yaml", scenario(f"count-{seed}", seed, 16, 128, "54d", small_job("probe", "54d")))
        s, out = run_ok(f"count-{seed}", path)
        if not s:
            return
        n = s["cluster"]["failures"]
        counts.append(n)
        check(f"seed {seed}: {n} failures on 2,048 nodes in 54 days within 3 sigma of Llama 3's 419",
              abs(n - LLAMA3_UNEXPECTED) <= 3 * sigma)
        rows = read_csv(os.path.join(out, "failures.csv"))
        check(f"seed {seed}: failures.csv has one row per failure, by_component sums to it",
              len(rows) == n == sum(s["cluster"]["failures_by_component"].values()))
        invariants(f"seed {seed}", out, s, 2048 * 8)
    mean = sum(counts) / len(counts)
    check(f"mean over 5 seeds {mean:.1f} within 3 sigma / sqrt(5) of 419",
          abs(mean - LLAMA3_UNEXPECTED) <= 3 * sigma / math.sqrt(5))
    check("the seed changes the count", len(set(counts)) > 1, str(counts))


def test_same_seed_same_failures():
    text = scenario("repeat", 7, 2, 64, "20d", small_job("probe", "20d"))
    a, out_a = run_ok("repeat-a", write("repeat.yaml", text))
    b, out_b = run_ok("repeat-b", write("repeat.yaml", text))
    c, out_c = run_ok("repeat-c", write("repeat-8.yaml", text.replace("seed: 7", "seed: 8")))
    if not (a and b and c):
        return
    for s in (a, b):
        s.pop("wall_s")
    fa, fb, fc = (open(os.path.join(o, "failures.csv")).read() for o in (out_a, out_b, out_c))
    check("same seed: identical summary and failures.csv", a == b and fa == fb)
    check("another seed: other failures", fa != fc)


def test_restart_by_hand():
    # One 8-GPU job on a pod with spare nodes, failures 2,000 times the catalog rate
    # (about 8 a day on its node) so that a few hit it: its end time follows from the
    # failures it reports, the checkpoint interval, the write time and the restart time.
    interval, restart = 1800.0, 600.0
    work = 20 * H
    text = scenario("restart", 3, 1, 16, "5d", small_job("job", f"{work / H:g}h", "    checkpoint: {interval: 30min}"),
                    "{enabled: true, rate_scale: 2000, restart_time: 10min, repair_time: 2h}")
    s, out = run_ok("restart", write("restart.yaml", text))
    if not s:
        return
    w = s["workloads"][0]
    # A checkpoint of Llama 3 8B: 14 bytes per parameter (bf16 weights, fp32 master
    # weights, Adam m and v) at Tectonic's 2 TB/s.
    params = 8.03e9
    write_s = w["checkpoint_write_s"]
    check(f"checkpoint write {write_s:.4f} s = 14 B x {w['checkpoint_write_s'] * 2e12 / 14 / 1e9:.3f}e9 parameters / 2 TB/s",
          abs(write_s * 2e12 / 14 / params - 1) < 0.01 and w["checkpoint_interval_s"] == interval)
    cycle, stretch = interval + write_s, 1 + write_s / interval
    hits = [float(r["time_s"]) for r in read_csv(os.path.join(out, "failures.csv"))
            if r["job"] == "job" and r["effect"] == "interrupted"]
    # `duration` is step time: the run ends when the step time kept (whole checkpoint
    # cycles: interval of steps + a write) plus the last run's reaches it; writes spread
    # over the steps (each step takes `stretch` times as long).
    t, kept, lost_s, restarting = 0.0, 0.0, 0.0, False
    derivation = []
    for f in hits:
        begin = t + (restart if restarting else 0.0)
        if f < begin:  # failed during the restart: start the restart again
            derivation.append(f"  failure at {f:.0f} s during the restart: restart again")
            t, restarting = f, True
            continue
        if begin + (work - kept) * stretch <= f:
            break
        ran = f - begin
        cycles = math.floor(ran / cycle)
        derivation.append(f"  run from {begin:.0f} s, failure at {f:.0f} s: ran {ran:.0f} s, keeps {cycles} checkpoints "
                          f"({cycles * interval:.0f} s of steps), loses {ran - cycles * cycle:.0f} s")
        kept += cycles * interval
        lost_s += ran - cycles * cycle
        t, restarting = f, True
    begin = t + (restart if restarting else 0.0)
    end = begin + (work - kept) * stretch
    derivation.append(f"  last run from {begin:.0f} s for the {work - kept:.0f} s of steps left: ends at {end:.1f} s")
    print("      by hand:\n" + "\n".join("      " + d for d in derivation))
    check(f"restart by hand: {len(hits)} interruptions reported", w["interruptions"] == len(hits) > 0,
          f"{w['interruptions']} vs {len(hits)}")
    check(f"restart by hand: ends at {end:.0f} s", w["end_s"] is not None and abs(w["end_s"] - end) < 1e-6 * end,
          f"{w['end_s']} vs {end}")
    check(f"restart by hand: {lost_s * 8 / H:.3f} GPU-hours lost", abs(w["lost_gpu_hours"] - lost_s * 8 / H) < 1e-6,
          f"{w['lost_gpu_hours']} vs {lost_s * 8 / H}")
    check("restart by hand: goodput below 1 by the lost work and the restarts",
          w["goodput"] < 1 and abs(w["goodput"] - work / (end - w["start_s"])) < 1e-3,
          f"{w['goodput']} vs {work / (end - w['start_s'])}")
    invariants("restart", out, s, 16 * 8)
    # Failed nodes are switched off in SimGrid: the plugin's energy is still the integral
    # of the time series' IT power (off nodes at 0 W).
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    integral = sum(float(r["it_power_w"]) * (float(n["time_s"]) - float(r["time_s"])) for r, n in zip(rows, rows[1:]))
    e = s["cluster"]["it_energy_j"]
    check("IT energy (energy plugin, failed hosts off) = integral of the time series' IT power within 1e-6",
          abs(integral / e - 1) < 1e-6, f"{integral} vs {e}")


def test_big_job():
    # Llama 3 405B on 16,384 H100 for 7 days with 128 spare nodes: its interruptions are
    # the failures of its own nodes while it holds them (about 419 x 7/54).
    w = """\
  - name: llama3-405b
    kind: pretrain
    model: llama3-405b
    gpus: 16384
    parallelism: {tp: 8, pp: 16, dp: 128}
    seq_len: 8192
    global_batch: 2048
    recompute: full
    duration: 7d
    checkpoint: {interval: 1h}
"""
    s, out = run_ok("big", write("big.yaml", scenario("big", 1, 17, 128, "7d", w)))
    if not s:
        return
    job = s["workloads"][0]
    rows = read_csv(os.path.join(out, "failures.csv"))
    mine = [r for r in rows if r["effect"] == "interrupted"]
    expected = LLAMA3_UNEXPECTED * 7 / LLAMA3_DAYS
    print(f"      {job['interruptions']} interruptions, expected about {expected:.1f} (sigma {math.sqrt(expected):.1f}); "
          f"goodput {job['goodput']:.3f}, {job['lost_gpu_hours']:.0f} GPU-hours lost")
    check("big job: interruptions = failures of its nodes", job["interruptions"] == len(mine))
    check("big job: interruptions within 3 sigma of Llama 3's rate",
          abs(job["interruptions"] - expected) <= 3 * math.sqrt(expected))
    check("big job: goodput in (0.5, 1)", 0.5 < job["goodput"] < 1)
    invariants("big", out, s, 17 * 128 * 8)


def test_young_daly():
    # Issue 6: the Young/Daly interval gives better goodput than half and twice it. Llama 3
    # 405B on 2,048 nodes (+ 128 spares) for 20 days, the same failures in every run (same
    # seed: failure times do not depend on the job). Young: tau = sqrt(2 x write x MTBF).
    base = open(os.path.join(ROOT, "scenarios/failures-16k.yaml")).read().replace("horizon: 54d", "horizon: 20d")
    path = write("yd.yaml", base.replace("checkpoint: {interval: 30min}", "checkpoint: {interval: auto}"))
    s, _ = run_ok("yd-auto", path)
    if not s:
        return
    w = s["workloads"][0]
    tau, write_s = w["checkpoint_interval_s"], w["checkpoint_write_s"]
    mtbf = 86400 / (LLAMA3_UNEXPECTED / (LLAMA3_DAYS * LLAMA3_NODES) * 2048)
    print(f"      write {write_s:.2f} s (405B x 14 B / 2 TB/s), job MTBF {mtbf:.0f} s, "
          f"tau = sqrt(2 x {write_s:.2f} x {mtbf:.0f}) = {math.sqrt(2 * write_s * mtbf):.1f} s")
    check(f"auto interval {tau:.1f} s is Young's optimum", abs(tau / math.sqrt(2 * write_s * mtbf) - 1) < 1e-9)
    goodputs = {}
    for label, t in (("half", tau / 2), ("twice", tau * 2)):
        p = write(f"yd-{label}.yaml", base.replace("checkpoint: {interval: 30min}", f"checkpoint: {{interval: {t:.6f}s}}"))
        o, _ = run_ok(f"yd-{label}", p)
        if o:
            goodputs[label] = o["workloads"][0]["goodput"]
    print(f"      goodput: auto {w['goodput']:.4f}, half {goodputs.get('half')}, twice {goodputs.get('twice')}")
    check("Young/Daly interval: better goodput than half and twice it",
          len(goodputs) == 2 and w["goodput"] > max(goodputs.values()))


def test_bad_input():
    p, _ = fleetsim("run", write("bad-auto.yaml", scenario("bad", 1, 1, 16, "1d",
                                                          small_job("job", "1h", "    checkpoint: {interval: auto}"),
                                                          "{enabled: false}")), "--out", os.path.join(TMP, "bad"))
    check("interval: auto without failures is refused with its line",
          p.returncode == 2 and "bad-auto.yaml:" in p.stderr and "workloads.0.checkpoint.interval: expected a duration"
          in p.stderr, p.stderr)
    p, _ = fleetsim("run", write("bad-scale.yaml", scenario("bad", 1, 1, 16, "1d", small_job("job", "1h"),
                                                            "{enabled: true, rate_scale: -1}")))
    check("a negative rate_scale is refused with its line",
          p.returncode == 2 and "bad-scale.yaml:" in p.stderr and "failures.rate_scale" in p.stderr, p.stderr)


def test_disabled():
    s, out = run_ok("off", write("off.yaml", scenario("off", 1, 1, 16, "1d", small_job("probe", "1d"), "{enabled: false}")))
    if s:
        check("disabled: no failure, no failures.csv, no by-component key",
              s["cluster"]["failures"] == 0 and "failures_by_component" not in s["cluster"]
              and not os.path.exists(os.path.join(out, "failures.csv")))


test_llama3_count()
test_same_seed_same_failures()
test_restart_by_hand()
test_big_job()
test_young_daly()
test_bad_input()
test_disabled()
sys.exit(finish())
