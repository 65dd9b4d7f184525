#!/usr/bin/python3
"""Scenario tests: run the real fleetsim binary on small YAML files and check invariants
and hand-computed figures, never golden copies of what the code printed.

Usage: run_scenario_tests.py BUILD/fleetsim REPO_ROOT
Each run gets its own folder under a temporary directory, and a failure prints the exact
command that reproduces it.
"""
import json
import math
import os
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, ROOT, TMP, catalog_node, check, decode_node_watts, fleetsim, invariants, read_csv, run_ok, watts, write, finish  # noqa: E402


BASE = """\
name: t
seed: 5
horizon: 12h
cluster:
  design:
    pods:
      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}
workloads:
  - name: a
    kind: pretrain
    model: llama3-8b
    gpus: 32
    parallelism: {tp: 8, pp: 1, dp: 4}
    seq_len: 8192
    global_batch: 256
    tokens: 2e9
"""


def test_invariants():
    s, out = run_ok("invariants", write("invariants.yaml", BASE))
    if not s:
        return
    w = s["workloads"][0]
    # tokens/s x step time = tokens per step (global batch x sequence length)
    check("tokens/s x step time = batch tokens", abs(w["tokens_per_s"] * w["step_time_s"] / (256 * 8192) - 1) < 1e-9,
          f"{w['tokens_per_s']} x {w['step_time_s']}")
    # The job runs ceil(2e9 / 2,097,152) = 954 steps, then ends: end = start + steps x step time.
    steps = math.ceil(2e9 / (256 * 8192))
    check("job ends after ceil(tokens / batch tokens) steps", w["steps"] == steps
          and abs(w["end_s"] - (w["start_s"] + steps * w["step_time_s"])) < 1e-6 * w["end_s"], json.dumps(w)[:300])
    check("run stops when the last job ends", abs(s["simulated_s"] - w["end_s"]) < 1e-6, f"{s['simulated_s']} vs {w['end_s']}")
    # Energy: the job's 4 nodes at full power for its duration; the 4 idle nodes at idle power.
    node = catalog_node("dgx-h100")
    busy, idle = watts(node["max_power"]), watts(node["idle_power"])
    t = s["simulated_s"]
    c = s["cluster"]
    # The fabric (docs/models/power.md, "Network"): per pod, 4 x 8 leaf ports, as many up
    # and on the spine, and (two pods) as many to the core and on it: 160 ports x 8.5 W.
    check("network power: 2 pods x 160 switch ports x 8.5 W", c["network_power_w"] == 2 * 160 * 8.5, str(c["network_power_w"]))
    expected = 4 * busy * w["end_s"] + 4 * idle * t + 2 * 160 * 8.5 * t
    check("IT energy = busy nodes x max power + idle nodes x idle power + the fabric", abs(c["it_energy_j"] / expected - 1) < 1e-6,
          f"{c['it_energy_j']} vs {expected}")
    check("job energy = its nodes at max power", abs(w["energy_j"] / (4 * busy * w["end_s"]) - 1) < 1e-6,
          f"{w['energy_j']}")
    check("average IT power = energy / time", abs(c["avg_it_power_w"] * t / c["it_energy_j"] - 1) < 1e-9)
    check("facility energy = IT energy x PUE (1.0 by default)", c["facility_energy_j"] == c["it_energy_j"])
    check("utilisation = busy GPU-seconds / (GPUs x time)", abs(c["utilization"] - 32 * w["end_s"] / (64 * t)) < 1e-9,
          f"{c['utilization']}")
    # The time series integrates to the plugin's energy (rows sample the power that holds
    # until the next row; the run's only power change falls on a sample or inside one).
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    integral = sum(float(r["it_power_w"]) * (float(n["time_s"]) - float(r["time_s"])) for r, n in zip(rows, rows[1:]))
    check("time series integrates to the IT energy (a row at every change)", abs(integral / c["it_energy_j"] - 1) < 1e-9,
          f"{integral} vs {c['it_energy_j']}")
    running = [r for r in rows if 0 < float(r["time_s"]) < w["end_s"]]
    check("busy accelerators in the time series", running and all(int(r["busy_accelerators"]) == 32 for r in running))
    jobs = read_csv(os.path.join(out, "jobs.csv"))
    check("jobs.csv has one row per workload", len(jobs) == 1 and jobs[0]["state"] == "completed", str(jobs))
    with open(os.path.join(out, "scenario.yaml")) as f:
        check("the resolved scenario is written", yaml.safe_load(f)["name"] == "t")
    with open(os.path.join(out, "platform.xml")) as f:
        check("the platform is written", "<platform" in f.read())


def test_determinism():
    path = write("det.yaml", BASE)
    a, out_a = run_ok("det-a", path)
    b, out_b = run_ok("det-b", path)
    if not (a and b):
        return
    a.pop("wall_s"), b.pop("wall_s")
    check("same scenario and seed: same summary", a == b)
    for f in ["jobs.csv", "timeseries.csv", "platform.xml", "scenario.yaml"]:
        with open(os.path.join(out_a, f), "rb") as x, open(os.path.join(out_b, f), "rb") as y:
            check(f"same scenario and seed: identical {f}", x.read() == y.read())


def test_fifo_queueing():
    text = BASE.replace("gpus: 32", "gpus: 48").replace("dp: 4", "dp: 6").replace("global_batch: 256", "global_batch: 240")
    text += """\
  - name: b
    kind: pretrain
    model: llama3-8b
    gpus: 32
    parallelism: {tp: 8, pp: 1, dp: 4}
    seq_len: 8192
    global_batch: 256
    tokens: 1e9
    submit: 10min
"""
    s, _ = run_ok("fifo", write("fifo.yaml", text))
    if not s:
        return
    a, b = s["workloads"]
    # 6 of 8 nodes are taken by a; b needs 4: it waits for a to end.
    check("second job waits for nodes (gang, FIFO)", abs(b["start_s"] - a["end_s"]) < 1e-6 and abs(b["wait_s"] - (a["end_s"] - 600)) < 1e-6,
          f"a ends {a['end_s']}, b starts {b['start_s']}")
    check("jobs_completed and mean wait", s["cluster"]["jobs_completed"] == 2
          and abs(s["cluster"]["mean_wait_s"] - b["wait_s"] / 2) < 1e-6, json.dumps(s["cluster"]))


def test_horizon():
    s, _ = run_ok("horizon", write("horizon.yaml", BASE.replace("tokens: 2e9", "tokens: 1e12")))
    if not s:
        return
    w = s["workloads"][0]
    check("a job still running at the horizon has end_s and completion_s null",
          w["end_s"] is None and w["completion_s"] is None and s["simulated_s"] == 12 * 3600, json.dumps(w)[:300])
    check("it counts whole steps done by the horizon", w["steps"] == math.floor(12 * 3600 / w["step_time_s"]), str(w["steps"]))
    check("goodput is useful step time over held time", 0.99 < w["goodput"] <= 1.0, str(w["goodput"]))


def test_set_override():
    path = write("set.yaml", BASE)
    a, _ = run_ok("set-a", path)
    b, _ = run_ok("set-b", path, "--set", "workloads.0.parallelism.tp=4", "--set", "workloads.0.parallelism.dp=8")
    if a and b:
        check("--set changes the run", b["workloads"][0]["step_time_s"] != a["workloads"][0]["step_time_s"])


def test_parallelism_auto():
    text = BASE.replace("parallelism: {tp: 8, pp: 1, dp: 4}", "parallelism: auto")
    s, _ = run_ok("auto", write("auto.yaml", text))
    if not s:
        return
    w = s["workloads"][0]
    p = w["parallelism"]
    check("parallelism: auto reports its choice", w.get("parallelism_auto") is True
          and p["tp"] * p["pp"] * p["dp"] * p["cp"] == 32 and 256 % (p["dp"] * w["micro_batch"]) == 0, json.dumps(w)[:300])
    fixed, _ = run_ok("auto-fixed", write("auto-fixed.yaml", BASE))
    if fixed:
        check("parallelism: auto is at least as fast as a hand-picked split",
              w["step_time_s"] <= fixed["workloads"][0]["step_time_s"] * (1 + 1e-9))


REPRESENTATIVE = """\
name: rep
seed: 5
horizon: 1h
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 8, node: dgx-h100}
workloads:
  - name: think
    kind: reasoning
    model: llama3-8b
    gpus: 64
    parallelism: {tp: 1}
    precision: fp8
    requests: {mode: poisson, rate: 8/s, input_tokens: 500, thinking_tokens: 1500, output_tokens: 200, samples: 2}
"""


def test_representative_replicas():
    """An open Poisson stream simulated on 8 of its 64 replicas stays within 2% of the full
    per-request simulation (throughput, query latency p50 and p99, energy)."""
    path = write("rep.yaml", REPRESENTATIVE)
    full, _ = run_ok("rep-full", path, "--set", "workloads.0.requests.representative_replicas=0")
    some, _ = run_ok("rep-8", path, "--set", "workloads.0.requests.representative_replicas=8")
    if not (full and some):
        return
    a, b = full["workloads"][0], some["workloads"][0]
    check("representative replicas: 8 of 64 simulated", a["simulated_replicas"] == 64 and b["simulated_replicas"] == 8)
    for key in ["queries_per_s", "output_tokens_per_s", "query_latency_p50_s", "query_latency_p99_s", "energy_j"]:
        check(f"representative replicas: {key} within 2% of the full simulation", abs(b[key] / a[key] - 1) < 0.02,
              f"{b[key]} vs {a[key]}")


DISTRIBUTED = """\
name: dist
seed: 2
horizon: 1h
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 4, node: dgx-h100}
workloads:
  - name: chat
    kind: inference
    model: llama2-70b
    gpus: 16
    parallelism: {tp: 4}
    precision: fp8
    requests:
      mode: poisson
      rate: 20/s
      input_tokens: {distribution: lognormal, mean: 1024, sigma: 1.0, max: 16384}
      output_tokens: {distribution: lognormal, mean: 256, sigma: 1.0, max: 4096}
    max_batch: 256
"""


def test_length_distributions():
    """Long-tailed request lengths keep the mean load but lengthen the latency tail."""
    spread, _ = run_ok("dist-lognormal", write("dist.yaml", DISTRIBUTED))
    fixed_text = DISTRIBUTED.replace("{distribution: lognormal, mean: 1024, sigma: 1.0, max: 16384}", "1024") \
                            .replace("{distribution: lognormal, mean: 256, sigma: 1.0, max: 4096}", "256")
    fixed, _ = run_ok("dist-fixed", write("dist-fixed.yaml", fixed_text))
    if not (spread and fixed):
        return
    a, b = fixed["workloads"][0], spread["workloads"][0]
    check("length distributions: same request rate", abs(b["requests_per_s"] / a["requests_per_s"] - 1) < 0.02,
          f"{b['requests_per_s']} vs {a['requests_per_s']}")
    check("length distributions: output tokens/s within 5% (truncation trims the mean a little)",
          abs(b["output_tokens_per_s"] / a["output_tokens_per_s"] - 1) < 0.05, f"{b['output_tokens_per_s']} vs {a['output_tokens_per_s']}")
    check("length distributions: a longer TTFT and TPOT tail", b["ttft_p99_s"] > a["ttft_p99_s"] and b["tpot_p99_s"] > a["tpot_p99_s"],
          f"TTFT p99 {b['ttft_p99_s']} vs {a['ttft_p99_s']}, TPOT p99 {b['tpot_p99_s']} vs {a['tpot_p99_s']}")


def test_platform_round_trip():
    """A design written out by `fleetsim platform` and run as `cluster.platform` gives the same run."""
    xml = os.path.join(TMP, "roundtrip.xml")
    p, cmd = fleetsim("platform", write("rt-design.yaml", BASE), "-o", xml)
    check("fleetsim platform writes the XML", p.returncode == 0 and os.path.exists(xml), f"{p.stderr}\n      {cmd}")
    text = BASE.replace("  design:\n    pods:\n      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}\n",
                        f"  platform: {xml}\n")
    a, _ = run_ok("rt-design", os.path.join(TMP, "rt-design.yaml"))
    b, _ = run_ok("rt-file", write("rt-file.yaml", text))
    if a and b:
        wa, wb = a["workloads"][0], b["workloads"][0]
        check("platform file: same step time as the design", abs(wa["step_time_s"] / wb["step_time_s"] - 1) < 1e-9,
              f"{wa['step_time_s']} vs {wb['step_time_s']}")
        check("platform file: same IT energy as the design", abs(a["cluster"]["it_energy_j"] / b["cluster"]["it_energy_j"] - 1) < 1e-9)
        check("platform file: priced like the design", "cost_usd" in b["cluster"]
              and abs(a["cluster"]["cost_usd"] / b["cluster"]["cost_usd"] - 1) < 1e-9
              and abs(wa["cost_usd"] / wb["cost_usd"] - 1) < 1e-9, f"{a['cluster'].get('cost_usd')} vs {b['cluster'].get('cost_usd')}")

    # `check` loads the file too: what `run` refuses, `check` refuses, with the same line.
    with open(xml) as f:
        broken = f.read().replace('<prop id="accelerator" value="H100-SXM"/>', "", 1)
    bad_xml = os.path.join(TMP, "rt-broken.xml")
    with open(bad_xml, "w") as f:
        f.write(broken)
    cluster_line = 1 + broken[:broken.index("<cluster ")].count("\n")
    bad = write("rt-broken.yaml", text.replace(xml, bad_xml))
    expected = f'{bad_xml}:{cluster_line}:5: cluster.platform: host "hopper-0-n0": property "accelerator" is missing'
    for command in ("check", "run"):
        p, cmd = fleetsim(command, bad)
        first = p.stderr.strip().splitlines()[:1]
        check(f"platform file without an accelerator property: `{command}` exits 2 at the cluster's line",
              p.returncode == 2 and len(first) == 1 and first[0].startswith(expected), f"{p.returncode} {first}\n      {cmd}")
    too_big = write("rt-too-big.yaml", text.replace("gpus: 32", "gpus: 128").replace("dp: 4", "dp: 16"))
    p, cmd = fleetsim("check", too_big)
    check("check: more GPUs than the platform file has is refused", p.returncode == 2 and "workloads.0.gpus" in p.stderr,
          f"{p.returncode} {p.stderr}\n      {cmd}")


SERVING = """\
name: serve
seed: 11
horizon: 2h
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 2, node: dgx-h100}
workloads:
  - name: chat
    kind: inference
    model: llama2-70b
    gpus: 16
    parallelism: {tp: 8}
    precision: fp8
    requests: {mode: offline, count: 600, input_tokens: 512, output_tokens: 256}
    max_batch: 128
"""


def test_inference_offline():
    path = write("serve.yaml", SERVING)
    s, out = run_ok("serve", path)
    if not s:
        return
    w = s["workloads"][0]
    keys = ["output_tokens_per_s", "requests_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s",
            "energy_j", "joules_per_output_token", "submit_s", "start_s", "end_s", "wait_s", "interruptions",
            "lost_gpu_hours"]
    check("inference summary has SCENARIO.md's keys", all(k in w for k in keys) and "step_time_s" not in w,
          str(sorted(w)))
    check("offline: every request completes", w["completed_requests"] == 600 and w["state"] == "completed",
          f"{w['completed_requests']} {w['state']}")
    check("offline: 16 GPUs at tp 8 are 2 replicas", w["replicas"] == 2)
    check("TTFT p50 <= p99 and TPOT p50 <= p99", 0 < w["ttft_p50_s"] <= w["ttft_p99_s"]
          and 0 < w["tpot_p50_s"] <= w["tpot_p99_s"], json.dumps(w)[:400])
    # The service runs from start to its last completion: output tokens/s x that = every output token.
    duration = w["end_s"] - w["start_s"]
    check("output tokens/s x duration = total output tokens (600 x 256)",
          abs(w["output_tokens_per_s"] * duration / (600 * 256) - 1) < 1e-9, f"{w['output_tokens_per_s']} x {duration}")
    check("requests/s x duration = requests", abs(w["requests_per_s"] * duration / 600 - 1) < 1e-9)
    # Energy: the 2 nodes busy for the service's duration (host energy plugin).
    node = catalog_node("dgx-h100")
    check("service energy = its nodes at decode power (host share + 8 x 600 W) for its duration",
          abs(w["energy_j"] / (2 * decode_node_watts("dgx-h100") * duration) - 1) < 1e-6, f"{w['energy_j']}")
    check("a serving node draws less than a training node", decode_node_watts("dgx-h100") < watts(node["max_power"]))
    check("joules per output token = energy / output tokens",
          abs(w["joules_per_output_token"] * 600 * 256 / w["energy_j"] - 1) < 1e-9)
    # Physical bound: decode cannot beat reading each replica's weights once per token step.
    # 2 replicas x max_batch 128 tokens per step, a step at least 69e9 B / 8 GPUs / 3.35e12 B/s.
    bound = 2 * 128 / (69.0e9 / 8 / 3.35e12)
    check("throughput stays under the HBM bound of the weights", w["output_tokens_per_s"] < bound,
          f"{w['output_tokens_per_s']} vs {bound}")
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    running = [r for r in rows if int(r["busy_accelerators"]) > 0]
    check("time series: output tokens/s column while the service runs, 0 after",
          running and all(abs(float(r["tokens_per_s:chat"]) - w["output_tokens_per_s"]) < 1e-6 * w["output_tokens_per_s"]
                          and int(r["busy_accelerators"]) == 16 and w["start_s"] <= float(r["time_s"]) <= w["end_s"]
                          for r in running) and float(rows[-1]["tokens_per_s:chat"]) == 0, str(rows[:4]))
    jobs = read_csv(os.path.join(out, "jobs.csv"))
    check("jobs.csv: one row, output tokens in `tokens`", len(jobs) == 1 and float(jobs[0]["tokens"]) == 600 * 256
          and jobs[0]["steps"] == "" and jobs[0]["kind"] == "inference", str(jobs))
    b, out_b = run_ok("serve-again", path)
    if b:
        s.pop("wall_s"), b.pop("wall_s")
        check("inference: same seed, same summary", s == b)
    # A tighter batch cap can only slow the service and shorten TPOT.
    c, _ = run_ok("serve-batch", path, "--set", "workloads.0.max_batch=16")
    if c:
        wc = c["workloads"][0]
        check("max_batch 16: less throughput, shorter TPOT than 128",
              wc["output_tokens_per_s"] < w["output_tokens_per_s"] and wc["tpot_p50_s"] < w["tpot_p50_s"],
              f"{wc['output_tokens_per_s']} / {wc['tpot_p50_s']} vs {w['output_tokens_per_s']} / {w['tpot_p50_s']}")


def test_inference_poisson():
    text = SERVING.replace("{mode: offline, count: 600,", "{mode: poisson, rate: 5/s,").replace("horizon: 2h", "horizon: 20min")
    s, _ = run_ok("poisson", write("poisson.yaml", text))
    if not s:
        return
    w = s["workloads"][0]
    # 5/s for 1,200 s: about 6,000 requests (sd 77); 2 replicas serve them without falling behind,
    # so completions per second track the arrival rate.
    check("poisson: requests_per_s ~= rate when not overloaded", abs(w["requests_per_s"] / 5 - 1) < 0.05,
          f"{w['requests_per_s']} (arrived {w['requests']})")
    check("poisson without count: serves until the horizon", w["end_s"] is None and w["state"] == "running"
          and s["simulated_s"] == 1200, f"{w['end_s']} {w['state']} {s['simulated_s']}")
    check("poisson: unloaded TTFT is far below a second", w["ttft_p50_s"] < 1.0, str(w["ttft_p50_s"]))
    b, _ = run_ok("poisson-seed", write("poisson2.yaml", text.replace("seed: 11", "seed: 12")))
    if b:
        check("poisson: another seed, other arrivals", b["workloads"][0]["requests"] != w["requests"])
    # With a count, the service ends when the last request is done.
    c, _ = run_ok("poisson-count", write("poisson3.yaml", text.replace("rate: 5/s,", "rate: 5/s, count: 100,")))
    if c:
        wc = c["workloads"][0]
        check("poisson with count: ends after its requests", wc["completed_requests"] == 100
              and wc["state"] == "completed" and 15 < wc["end_s"] < 40, json.dumps(wc)[:300])


REASONING = """\
name: think
seed: 5
horizon: 10min
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 2, node: dgx-h100}
workloads:
  - name: think
    kind: reasoning
    model: llama3-70b
    gpus: 16
    parallelism: {tp: 4}
    precision: fp8
    requests: {mode: poisson, rate: 1/s, input_tokens: 1000, thinking_tokens: 1500, output_tokens: 300, samples: 4}
    verifier: {model: llama3-8b}
"""


def test_reasoning():
    s, out = run_ok("reasoning", write("reasoning.yaml", REASONING))
    if not s:
        return
    w = s["workloads"][0]
    keys = ["queries_per_s", "query_latency_p50_s", "query_latency_p99_s", "output_tokens_per_s", "energy_j",
            "joules_per_query", "thinking_tokens_per_s", "submit_s", "start_s", "end_s", "wait_s", "interruptions",
            "lost_gpu_hours"]
    check("reasoning summary has SCENARIO.md's keys", all(k in w for k in keys), str(sorted(w)))
    check("reasoning: query latency p50 <= p99", 0 < w["query_latency_p50_s"] <= w["query_latency_p99_s"],
          f"{w['query_latency_p50_s']} {w['query_latency_p99_s']}")
    # Every completed query decoded 4 samples x (1500 + 300) tokens; output tokens/s counts them all.
    check("reasoning: output tokens/s = queries/s x 4 x 1800; thinking tokens/s = queries/s x 4 x 1500",
          abs(w["output_tokens_per_s"] / (w["queries_per_s"] * 4 * 1800) - 1) < 1e-9
          and abs(w["thinking_tokens_per_s"] / (w["queries_per_s"] * 4 * 1500) - 1) < 1e-9)
    check("reasoning: queries/s ~= the arrival rate when not overloaded", abs(w["queries_per_s"] - 1) < 0.1,
          str(w["queries_per_s"]))
    check("reasoning: joules per query = energy / completed queries",
          abs(w["joules_per_query"] * w["completed_queries"] / w["energy_j"] - 1) < 1e-9)
    # A query's latency is at least its 1800 tokens decoded one step at a time, each step at least a read
    # of the weights per GPU (70.6e9 B / 4 at 1 byte) at 3.35 TB/s.
    floor = 1800 * 70.6e9 / 4 / 3.35e12
    check("reasoning: query latency p50 above the HBM floor of 1800 sequential decode steps",
          w["query_latency_p50_s"] > floor, f"{w['query_latency_p50_s']} vs {floor}")
    # Little's law on sequences: mean batch per replica ~= rate x latency x samples / replicas.
    little = w["queries_per_s"] * w["query_latency_mean_s"] * 4 / 4
    check("reasoning: mean batch ~= Little's law (rate x latency x samples / replicas)",
          abs(w["mean_batch"] / little - 1) < 0.1, f"{w['mean_batch']} vs {little}")
    b, _ = run_ok("reasoning-again", os.path.join(TMP, "reasoning.yaml"))
    if b:
        s.pop("wall_s"), b.pop("wall_s")
        check("reasoning: same seed, same summary", s == b)
    # Same query rate, one sample: less of everything per query.
    one, _ = run_ok("reasoning-1", os.path.join(TMP, "reasoning.yaml"), "--set", "workloads.0.requests.samples=1")
    if one:
        w1 = one["workloads"][0]
        check("reasoning: samples=4 decodes 4x the tokens of samples=1 at the same query rate",
              abs(w["output_tokens_per_s"] / w1["output_tokens_per_s"] / 4 - 1) < 0.05,
              f"{w['output_tokens_per_s']} vs {w1['output_tokens_per_s']}")
        check("reasoning: samples=4 costs more than samples=1 (bigger batches, slower queries)",
              w["mean_batch"] > 3 * w1["mean_batch"] and w["query_latency_p50_s"] > w1["query_latency_p50_s"],
              f"batch {w['mean_batch']} vs {w1['mean_batch']}, latency {w['query_latency_p50_s']} vs {w1['query_latency_p50_s']}")
    # Offline, the service ends when its queries are done: energy per query shows the cost of samples.
    # Not 4x: decode is bound by reading the weights, which the extra samples share (measured 1.37x).
    offline = ["--set", "workloads.0.requests={mode: offline, count: 200, input_tokens: 1000, thinking_tokens: 1500, "
               "output_tokens: 300, samples: 4}"]
    o4, _ = run_ok("reasoning-offline-4", os.path.join(TMP, "reasoning.yaml"), *offline)
    o1, _ = run_ok("reasoning-offline-1", os.path.join(TMP, "reasoning.yaml"), offline[0], offline[1].replace("samples: 4", "samples: 1"))
    if o4 and o1:
        a, c = o4["workloads"][0], o1["workloads"][0]
        check("reasoning offline: samples=4 costs more energy per query than samples=1",
              a["joules_per_query"] > 1.2 * c["joules_per_query"] and a["completed_queries"] == c["completed_queries"] == 200,
              f"{a['joules_per_query']} vs {c['joules_per_query']}")
    # The verifier adds a scoring prefill after each query's samples: slower queries, a share of replica time.
    nv, _ = run_ok("reasoning-noverifier", write("reasoning-nv.yaml", REASONING.replace("    verifier: {model: llama3-8b}\n", "")))
    if nv:
        wn = nv["workloads"][0]
        check("reasoning: the verifier lengthens queries and takes replica time",
              w["query_latency_p50_s"] > wn["query_latency_p50_s"] and w["verify_share"] > 0 == wn["verify_share"],
              f"{w['query_latency_p50_s']} vs {wn['query_latency_p50_s']}, share {w['verify_share']}")


SYNTHETIC = """\
name: synth
seed: 5
horizon: 30d
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 2, node: dgx-h100}
workloads:
  - name: synth
    kind: synthetic-data
    model: llama3-70b
    gpus: 16
    parallelism: {tp: 4}
    requests: {input_tokens: 500, output_tokens: 1500}
    filter: {model: llama3-8b, accept_rate: 0.3}
    target_tokens: 1e9
"""


def test_synthetic_data():
    for label, target, method in [("extrapolated", "1e9", "extrapolated"), ("full", "2e7", "full")]:
        s, out = run_ok(f"synth-{label}", write(f"synth-{label}.yaml", SYNTHETIC.replace("1e9", target)))
        if not s:
            continue
        w = s["workloads"][0]
        keys = ["accepted_tokens_per_s", "completion_s", "gpu_hours", "energy_j", "joules_per_accepted_token",
                "submit_s", "start_s", "end_s", "wait_s", "interruptions", "lost_gpu_hours"]
        check(f"synthetic-data ({label}): summary has SCENARIO.md's keys and the method", all(k in w for k in keys)
              and w["method"] == method, str(sorted(w)) + " " + str(w.get("method")))
        check(f"synthetic-data ({label}): accepted tokens/s ~= generated tokens/s x accept_rate",
              abs(w["accepted_tokens_per_s"] / (w["generated_tokens_per_s"] * 0.3) - 1) < 0.02,
              f"{w['accepted_tokens_per_s']} vs {w['generated_tokens_per_s']} x 0.3")
        check(f"synthetic-data ({label}): completion_s x accepted tokens/s ~= target_tokens",
              abs(w["completion_s"] * w["accepted_tokens_per_s"] / float(target) - 1) < 0.01,
              f"{w['completion_s']} x {w['accepted_tokens_per_s']}")
        check(f"synthetic-data ({label}): gpu_hours = 16 GPUs x completion", abs(w["gpu_hours"] / (16 * w["completion_s"] / 3600) - 1) < 1e-9)
        node = catalog_node("dgx-h100")
        check(f"synthetic-data ({label}): energy = its 2 nodes at decode power until the target",
              abs(w["energy_j"] / (2 * decode_node_watts("dgx-h100") * w["completion_s"]) - 1) < 1e-6)
        # Generation cannot beat reading the generator's weights (70.6e9 B x 2 bytes / 4 GPUs) once per
        # step of at most 256 sequences, on each of 4 replicas.
        bound = 4 * 256 / (70.6e9 * 2 / 4 / 3.35e12)
        check(f"synthetic-data ({label}): generated tokens/s under the HBM bound", w["generated_tokens_per_s"] < bound,
              f"{w['generated_tokens_per_s']} vs {bound}")
    # The extrapolated and the full runs generate at the same steady rate (within 2%).
    a = json.load(open(os.path.join(TMP, "synth-extrapolated", "summary.json")))["workloads"][0]
    b = json.load(open(os.path.join(TMP, "synth-full", "summary.json")))["workloads"][0]
    check("synthetic-data: full and extrapolated runs agree on the generation rate within 2%",
          abs(a["generated_tokens_per_s"] / b["generated_tokens_per_s"] - 1) < 0.02,
          f"{a['generated_tokens_per_s']} vs {b['generated_tokens_per_s']}")
    # KV policies: 6,000-token samples on TP2 replicas of a 70B model leave room for 4 reserved
    # samples; preempt admits more, and says how many it had to evict and recompute.
    tight = SYNTHETIC.replace("tp: 4}", "tp: 2}\n    max_batch: 256").replace("output_tokens: 1500", "output_tokens: 6000")
    runs = {}
    for policy in ["reserve", "preempt"]:
        runs[policy], _ = run_ok(f"synth-{policy}", write(f"synth-{policy}.yaml", tight + f"    kv_policy: {policy}\n"))
    if runs["reserve"] and runs["preempt"]:
        r, p = runs["reserve"]["workloads"][0], runs["preempt"]["workloads"][0]
        check("synthetic-data: reserve never preempts; preempt reports its preempted share and batches more",
              r["kv_policy"] == "reserve" and r["kv_preempted_share"] == 0 and p["kv_policy"] == "preempt"
              and 0 < p["kv_preempted_share"] <= 1 and p["mean_batch"] > r["mean_batch"],
              f"{r['kv_preempted_share']} {r['mean_batch']} / {p['kv_preempted_share']} {p['mean_batch']}")
    # A horizon before the target: still running, accepted tokens so far, no completion.
    c, _ = run_ok("synth-cut", write("synth-cut.yaml", SYNTHETIC.replace("horizon: 30d", "horizon: 10h")))
    if c:
        wc = c["workloads"][0]
        check("synthetic-data: unfinished at the horizon", wc["completion_s"] is None and wc["state"] == "running"
              and 0 < wc["accepted_tokens"] < 1e9 and abs(wc["accepted_tokens_per_s"] / a["accepted_tokens_per_s"] - 1) < 0.02,
              json.dumps(wc)[:400])


BAD = [
    ("unknown key", BASE.replace("horizon: 12h", "horizon: 12h\nhorizn: 3h"),
     "bad.yaml:4:1: horizn: unknown key 'horizn'; did you mean 'horizon'?"),
    ("bare number for a duration", BASE.replace("horizon: 12h", "horizon: 7200"),
     "bad.yaml:3:10: horizon: expected a duration with a unit (for example 30min), got the bare number 7200; append the unit, for example 7200s"),
    ("parallelism product", BASE.replace("dp: 4", "dp: 3"),
     "bad.yaml:13:18: workloads.0.parallelism: expected tp x pp x dp x cp = gpus (32), got 8 x 1 x 3 x 1 = 24"),
    ("unknown node type", BASE.replace("node: dgx-h100", "node: dgx-h1000"),
     "bad.yaml:7:50: cluster.design.pods.0.node: expected a node type from the catalog, got 'dgx-h1000'; did you mean 'dgx-h100'?"),
    ("more GPUs than the cluster", BASE.replace("gpus: 32", "gpus: 128").replace("dp: 4", "dp: 16"),
     "bad.yaml:12:11: workloads.0.gpus: expected at most the cluster's 64 accelerators (64 in all), got 128"),
]


VIDEO = """\
name: video
seed: 1
horizon: 6h
cluster:
  design:
    pods:
      - {name: ampere, count: 1, nodes: 2, node: dgx-a100}
workloads:
  - name: clips
    kind: video-generation
    model: wan2.1-14b
    gpus: 8
    parallelism: {sp: 8}
    video: {width: 1280, height: 720, frames: 81, steps: 50}
    requests: {mode: offline, count: 3}
"""


def test_video_generation():
    s, _ = run_ok("video", write("video.yaml", VIDEO))
    if not s:
        return
    w = s["workloads"][0]
    keys = ["seconds_per_video", "videos_per_hour", "gpu_seconds_per_video", "energy_j", "joules_per_video",
            "submit_s", "start_s", "end_s", "wait_s", "state", "interruptions", "lost_gpu_hours"]
    check("video summary has SCENARIO.md's keys", all(k in w for k in keys) and w["parallelism"] == {"sp": 8},
          str(sorted(w)))
    check("video: 720p x 81 frames is 75,600 latent tokens", w["latent_tokens"] == 75600, str(w["latent_tokens"]))
    # One replica, 3 offline videos back to back: service = 3 x seconds_per_video, so
    # videos_per_hour = 3 / (3 T) x 3600 and videos_per_hour x seconds_per_video = 3600.
    check("video: one replica offline: videos_per_hour x seconds_per_video = 3600",
          abs(w["videos_per_hour"] * w["seconds_per_video"] - 3600) < 1e-6 * 3600,
          f"{w['videos_per_hour']} x {w['seconds_per_video']}")
    check("video: service = 3 videos back to back", abs(w["service_s"] - 3 * w["seconds_per_video"]) < 1e-6 * w["service_s"])
    check("video: gpu_seconds_per_video = sp x seconds_per_video",
          abs(w["gpu_seconds_per_video"] - 8 * w["seconds_per_video"]) < 1e-9 * w["gpu_seconds_per_video"])
    # Energy: the replica's node busy for the whole service (busy watts x service_s).
    busy_w = watts(catalog_node("dgx-a100")["max_power"])  # a busy node draws its max power
    check("video: energy = one busy DGX A100 x service; joules_per_video = energy / 3",
          abs(w["energy_j"] - busy_w * w["service_s"]) < 1e-6 * w["energy_j"]
          and abs(w["joules_per_video"] - w["energy_j"] / 3) < 1e-9 * w["energy_j"],
          f"{w['energy_j']} vs {busy_w} x {w['service_s']}")
    # Sequence parallelism: sp = 2 is faster than sp = 1 (one replica each), but the
    # all-to-alls and the unsplit text encoder and VAE decode keep it under 2x.
    one, _ = run_ok("video-sp1", os.path.join(TMP, "video.yaml"), "--set", "workloads.0.gpus=1",
                    "--set", "workloads.0.parallelism.sp=1")
    two, _ = run_ok("video-sp2", os.path.join(TMP, "video.yaml"), "--set", "workloads.0.gpus=2",
                    "--set", "workloads.0.parallelism.sp=2")
    if one and two:
        t1, t2 = one["workloads"][0]["seconds_per_video"], two["workloads"][0]["seconds_per_video"]
        check("video: sp=2 faster than sp=1, but less than 2x", t2 < t1 < 2 * t2, f"sp1 {t1} s, sp2 {t2} s")
    # Two replicas share 4 offline videos: the service takes 2 videos' time, videos/hour doubles.
    rep, _ = run_ok("video-2rep", os.path.join(TMP, "video.yaml"), "--set", "workloads.0.gpus=16",
                    "--set", "workloads.0.requests.count=4")
    if rep:
        r = rep["workloads"][0]
        check("video: 2 replicas, 4 videos: service = 2 videos, videos_per_hour x seconds_per_video = 7200",
              r["replicas"] == 2 and abs(r["service_s"] - 2 * r["seconds_per_video"]) < 1e-6 * r["service_s"]
              and abs(r["videos_per_hour"] * r["seconds_per_video"] - 7200) < 1e-6 * 7200, str(r))
    # The terminal summary (not --quiet) has a line for the kind.
    p, cmd = fleetsim("run", os.path.join(TMP, "video.yaml"), "--out", os.path.join(TMP, "video-loud"))
    check("video: the terminal summary prints seconds per video and videos/hour",
          p.returncode == 0 and "s per video" in p.stdout and "videos/hour" in p.stdout,
          f"exit {p.returncode}: {p.stdout[-300:]} {p.stderr[-300:]}\n      reproduce: {cmd}")
    # CFG off: one pass per step, so the video takes about half as long.
    nocfg, _ = run_ok("video-nocfg", os.path.join(TMP, "video.yaml"), "--set", "workloads.0.video.cfg=false")
    if nocfg:
        ratio = nocfg["workloads"][0]["seconds_per_video"] / w["seconds_per_video"]
        check("video: cfg false takes about half the time", 0.5 < ratio < 0.52, str(ratio))


def test_bad_input():
    for i, (what, text, expected) in enumerate(BAD):
        folder = os.path.join(TMP, f"bad{i}")
        path = os.path.join(folder, "bad.yaml")
        os.makedirs(folder)
        with open(path, "w") as f:
            f.write(text)
        out = os.path.join(folder, "out")
        p = subprocess.run([BIN, "run", "bad.yaml", "--out", out, "--quiet"], capture_output=True, text=True, cwd=folder)
        lines = p.stderr.strip().splitlines()
        check(f"bad input ({what}): exit 2, exact line, nothing written",
              p.returncode == 2 and lines[:1] == [expected] and not os.path.exists(out),
              f"exit {p.returncode}, got {lines}\n      expected {expected}\n      reproduce: cd {folder} && {BIN} run bad.yaml --out out")


def test_every_shipped_scenario_runs():
    folder = os.path.join(ROOT, "scenarios")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".yaml"):
            continue
        s, out = run_ok(f"smoke-{name}", os.path.join(folder, name))
        if s:
            invariants(f"scenarios/{name}", out, s, s["cluster"]["accelerators"])
            ok = all(w["kind"] != "pretrain" or w["step_time_s"] is None or (w["step_time_s"] > 0 and 0 < w["mfu"] < 1)
                     for w in s["workloads"])
            ok = ok and all(w["kind"] not in ("inference", "reasoning") or w["start_s"] is None
                            or w["output_tokens_per_s"] > 0 for w in s["workloads"])
            ok = ok and all(w["kind"] != "synthetic-data" or w["start_s"] is None or w["accepted_tokens_per_s"] > 0
                            for w in s["workloads"])
            ok = ok and all(w["kind"] != "video-generation" or w["start_s"] is None
                            or (w["seconds_per_video"] > 0 and w["videos_per_hour"] > 0) for w in s["workloads"])
            check(f"scenarios/{name} runs with sane figures", ok and s["cluster"]["it_energy_j"] > 0)


for test in [test_invariants, test_determinism, test_fifo_queueing, test_horizon, test_set_override, test_parallelism_auto,
             test_representative_replicas, test_length_distributions,
             test_platform_round_trip, test_bad_input, test_inference_offline, test_inference_poisson,
             test_reasoning, test_synthetic_data, test_video_generation, test_every_shipped_scenario_runs]:
    test()

sys.exit(finish())
