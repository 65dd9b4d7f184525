#!/usr/bin/python3
"""Cost of the shared-cluster engine: wall time and peak RSS of `fleetsim run` for a
30-day job stream on 10k, 100k and 1M H100 GPUs, and at 200, 2,000 and 20,000 jobs.

Each point is a scenario written here: DGX H100 pods (128 nodes below 100k GPUs, 1,024
nodes at 1M), a 2:1 tapered interconnect, EASY backfill with topology-aware placement, a
stream of `jobs` Llama-3-8B-shaped training jobs over 30 days (sizes from 8 GPUs to a
quarter of the fleet, lognormal durations whose mean offers half the fleet's
GPU-hours; --load sets another share), plus a chat service that autoscales with a daily
load profile (at most 1/128 of the fleet, from a tenth of that at night) and a reasoning
service on 1/128 of the fleet (both with representative replicas). Every job is simulated: the summary's jobs_submitted is
checked against the stream.

A benchmark run by hand, not a test (nothing registers it with CTest). Build first
(scripts/build), then:
  bench/scheduling_scale.py [--points gpus:jobs,...] [--repeat 1] [--failures]
The default points are the issue's cost curve: 10k/100k/1M GPUs at 2,000 jobs, and 1M GPUs
at 200 and 20,000 jobs. Medians over --repeat runs; the machine is shared and noisy.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "fleetsim")

# GPUs -> (pods, nodes per pod)
DESIGNS = {10_240: (10, 128), 102_400: (100, 128), 1_048_576: (128, 1024)}
TARGET = (1_048_576, 2000, 60.0, 4096.0)  # GPUs, jobs, wall s, peak MiB (the issue's)


# A chat service's daily profile (relative load per hour): it autoscales between a tenth
# of its replicas at night and most of them at the afternoon peak.
DIURNAL = [0.3, 0.25, 0.2, 0.2, 0.25, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.5, 1.5, 1.5, 1.4, 1.4, 1.3, 1.3, 1.2, 1.1, 1.0,
           0.8, 0.6, 0.4]


def scenario(gpus, jobs, load, failures=False):
    pods, nodes = DESIGNS[gpus]
    uplink_tbps = nodes * 8 * 400 / 2 / 1000  # 400 Gb/s per GPU into the pod, 2:1 above it
    sizes = [s for s in (8, 64, 512, 4096, 32768, 262144) if s <= gpus // 4]
    weights = [40, 30, 15, 10, 4, 1][: len(sizes)]
    service = gpus // 128
    # Mean duration for the offered load: jobs x mean size x duration = load x GPUs x 30 days.
    mean_size = sum(s * w for s, w in zip(sizes, weights)) / sum(weights)
    mean_h = load * gpus * 720 / (jobs * mean_size)
    checkpoint = ", checkpoint: {interval: auto}" if failures else ""
    return f"""# Written by bench/scheduling_scale.py
name: sched-{gpus}-{jobs}
seed: 1
horizon: 30d
cluster:
  design:
    pods:
      - {{name: hopper, count: {pods}, nodes: {nodes}, node: dgx-h100}}
    interconnect: {{bandwidth_per_pod: {uplink_tbps:g}Tbps, latency: 5us}}
scheduler: {{policy: easy-backfill, placement: topology-aware}}
failures: {{enabled: {"true" if failures else "false"}}}
streams:
  - name: batch
    rate: {jobs / 28:.6g}/d
    jobs: {jobs}
    gpus: {{values: {sizes}, weights: {weights}}}
    duration: {{mean: {mean_h:.6g}h, sigma: 1.0, max: 30d}}
    template: {{model: llama3-8b, seq_len: 4096, global_batch: 65536, parallelism: {{tp: 8}}{checkpoint}}}
workloads:
  - name: chat
    kind: inference
    model: llama3-70b
    gpus: {service}
    parallelism: {{tp: 8}}
    precision: fp8
    requests: {{mode: poisson, rate: {0.5 * service:g}/s, input_tokens: 1024, output_tokens: 512, diurnal: {DIURNAL}}}
    max_batch: 128
    autoscale: {{min_replicas: {max(1, service // 80)}}}
  - name: think
    kind: reasoning
    model: llama3-70b
    gpus: {service}
    parallelism: {{tp: 8}}
    precision: fp8
    requests: {{mode: poisson, rate: {2 * service / 8192:g}/s, input_tokens: 1000, thinking_tokens: 4000,
               output_tokens: 500, samples: 4}}
"""


def run(path, out):
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.execv(BIN, [BIN, "run", path, "--out", out, "--quiet"])
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        sys.exit(f"fleetsim failed on {path} (status {status})")
    return wall, usage.ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="10240:2000,102400:2000,1048576:200,1048576:2000,1048576:20000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--load", type=float, default=0.5, help="offered GPU-hours / the fleet's, over 30 days")
    parser.add_argument("--failures", action="store_true",
                        help="node failures on (catalog rates), training jobs checkpoint at Young's interval")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="fleetsim-sched-bench-")
    print(f"{'GPUs':>10} {'jobs':>6} {'wall s':>8} {'peak MiB':>9} {'completed':>9} {'utilisation':>11} {'mean wait h':>11}")
    try:
        for point in args.points.split(","):
            gpus, jobs = (int(x) for x in point.split(":"))
            path = os.path.join(tmp, f"s-{gpus}-{jobs}.yaml")
            with open(path, "w") as f:
                f.write(scenario(gpus, jobs, args.load, args.failures))
            walls, rss = [], []
            for _ in range(args.repeat):
                out = os.path.join(tmp, "out")
                shutil.rmtree(out, ignore_errors=True)
                w, r = run(path, out)
                walls.append(w)
                rss.append(r)
            with open(os.path.join(out, "summary.json")) as f:
                c = json.load(f)["cluster"]
            if args.failures:
                print(f"{'':>10} failures {c['failures']:,}, of which {c['failures_interrupting']:,} stopped a job", flush=True)
            if c["jobs_submitted"] != jobs + 2:
                sys.exit(f"expected {jobs} jobs and 2 services, the run had {c['jobs_submitted']}")
            wait = c["mean_wait_s"] / 3600 if c["mean_wait_s"] is not None else float("nan")
            print(f"{gpus:>10,} {jobs:>6,} {statistics.median(walls):>8.1f} {statistics.median(rss):>9.0f} "
                  f"{c['jobs_completed']:>9} {c['utilization']:>11.2f} {wait:>11.2f}", flush=True)
            if (gpus, jobs) == TARGET[:2]:
                ok = statistics.median(walls) <= TARGET[2] and statistics.median(rss) <= TARGET[3]
                print(f"{'':>10} target: at most {TARGET[2]:.0f} s and {TARGET[3]:.0f} MiB: "
                      f"{'met' if ok else 'NOT met'}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
