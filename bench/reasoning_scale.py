#!/usr/bin/python3
"""Benchmark for the serving issue's scale item: a reasoning service of 100,000 H100
(12,500 replicas of TP 8) answering 10,000 queries/s for a simulated day. Target: at most
60 s and 2 GB on the 2-core machine. Prints the median wall time and peak RSS of
`fleetsim run` over --repeat runs (default 3), and the run's figures.

Usage: bench/reasoning_scale.py [--fleetsim build/fleetsim] [--repeat N]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

SCENARIO = """\
name: reasoning-100k
seed: 1
horizon: 1d
cluster:
  design:
    pods:
      - {name: hopper, count: 100, nodes: 125, node: dgx-h100}
workloads:
  - name: think
    kind: reasoning
    model: llama3-70b
    gpus: 100000
    parallelism: {tp: 8}
    precision: fp8
    requests: {mode: poisson, rate: 10000/s, input_tokens: 2000, thinking_tokens: 4000, output_tokens: 500,
               samples: 1}
    max_batch: 256
"""


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleetsim", default=os.path.join(repo, "build", "fleetsim"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fleetsim-bench-")
    path = os.path.join(tmp, "reasoning-100k.yaml")
    with open(path, "w") as f:
        f.write(SCENARIO)
    walls, rss = [], []
    for i in range(args.repeat):
        out = os.path.join(tmp, f"out{i}")
        start = time.monotonic()
        proc = subprocess.Popen([args.fleetsim, "run", path, "--out", out, "--quiet"])
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.monotonic() - start)
        rss.append(usage.ru_maxrss / 1024)
        if status != 0:
            raise SystemExit(f"fleetsim failed with status {status}")
    with open(os.path.join(tmp, "out0", "summary.json")) as f:
        w = json.load(f)["workloads"][0]
    print(f"100,000 H100, 10,000 queries/s, 1 simulated day: median wall {statistics.median(walls):.1f} s "
          f"(runs: {', '.join(f'{x:.1f}' for x in walls)}), peak RSS {max(rss):.0f} MiB; target at most 60 s and 2 GB")
    print(f"  {w['replicas']} replicas, {w['simulated_replicas']} simulated request by request; "
          f"{w['queries_per_s']:.0f} queries/s served, latency p50 {w['query_latency_p50_s']:.1f} s "
          f"p99 {w['query_latency_p99_s']:.1f} s, {w['output_tokens_per_s']:.3g} output tokens/s")


if __name__ == "__main__":
    main()
