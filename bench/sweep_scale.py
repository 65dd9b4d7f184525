#!/usr/bin/python3
"""Cost of a planner's sweep: 200 points of the 98,304-GPU design bench/sweep-100k.yaml
through scripts/sweep with the local pool, two at a time (the reference machine's cores).

The grid (5 x 4 x 2 x 5 = 200 points):
  cluster.design.interconnect.bandwidth_per_pod   51.2 .. 819.2 Tbps (5 values)
  cluster.design.pods.0.fabric.oversubscription   1, 2, 4, 8
  workloads.0.parallelism.pp (with dp linked)     8 (dp 1,024), 16 (dp 512)
  workloads.2.requests.rate                       10 .. 30 requests/s (5 values)

Prints the sweep's wall time (from start to results.csv merged), the median, p90 and
maximum of the points' own wall times (point.json's wall_s: fleetsim start to exit), the
points per minute, and whether the issue's target (200 points within 10 minutes) is met.

A benchmark run by hand, not a test: nothing registers it with CTest. Build first
(scripts/build), then:
  bench/sweep_scale.py [--jobs 2] [--keep DIR] [--points N]
--points N stops the sweep once N points are done (a quick look); --keep keeps the sweep
folder (by default a temporary one, removed at the end).
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = os.path.join(ROOT, "scripts", "sweep")
BASE = os.path.join(ROOT, "bench", "sweep-100k.yaml")
TARGET_S = 600.0  # the issue's: 200 points of a 100k-GPU design in 10 minutes on 2 cores
GRID = [
    ("--grid", "cluster.design.interconnect.bandwidth_per_pod=51.2Tbps,102.4Tbps,204.8Tbps,409.6Tbps,819.2Tbps"),
    ("--grid", "cluster.design.pods.0.fabric.oversubscription=1,2,4,8"),
    ("--grid", "workloads.0.parallelism.pp=8,16"),
    ("--link", "workloads.0.parallelism.dp=1024,512"),
    ("--grid", "workloads.2.requests.rate=10/s,15/s,20/s,25/s,30/s"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="sweep into DIR and keep it")
    ap.add_argument("--points", type=int, help="run only the first N points")
    args = ap.parse_args()

    grid = [a for opt, val in GRID for a in (opt, val)]
    out = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="fleetsim-sweep-bench-")
    if args.keep and os.path.exists(out):
        sys.exit(f"{out} exists: a rerun would skip its points; give a new --keep folder")
    try:
        cmd = [sys.executable, SWEEP, BASE, *grid, "--out", out, "--jobs", str(args.jobs), "--quiet"]
        print(f"sweeping {args.points or 200} points of {os.path.relpath(BASE, ROOT)} (98,304 GPUs), "
              f"{args.jobs} at a time ...", flush=True)
        t0 = time.monotonic()
        if args.points:
            p = run_first(cmd, out, args.points)
        else:
            p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if p.returncode not in (0, 1):
            sys.exit(f"sweep failed (exit {p.returncode}): {p.stderr}")
        with open(os.path.join(out, "sweep.json")) as f:
            points = json.load(f)["points"]
        walls, ok = [], 0
        for pt in points:
            rec_path = os.path.join(out, "points", pt["id"], "point.json")
            if not os.path.isfile(rec_path):
                continue
            with open(rec_path) as f:
                rec = json.load(f)
            walls.append(rec["wall_s"])
            ok += rec["status"] == "ok"
        n = len(walls)
        walls.sort()
        print(f"points run:           {n} ({ok} ok)")
        print(f"sweep wall time:      {wall:.1f} s ({n / wall * 60:.1f} points/min)")
        print(f"per point, wall:      median {statistics.median(walls):.2f} s, "
              f"p90 {walls[int(0.9 * (n - 1))]:.2f} s, max {walls[-1]:.2f} s")
        if n == 200:
            verdict = "met" if wall <= TARGET_S else "NOT met"
            print(f"target (200 points in {TARGET_S:.0f} s): {verdict}")
        if args.keep:
            print(f"kept: {out} (results.csv, points/)")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def run_first(cmd, out, n):
    """Runs the sweep and stops it (SIGINT) once n points are recorded."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pts = os.path.join(out, "points")
    while proc.poll() is None:
        if os.path.isdir(pts) and sum(not x.startswith(".") for x in os.listdir(pts)) >= n:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    code = 0 if proc.returncode in (0, 130) else proc.returncode
    return subprocess.CompletedProcess(cmd, code, stdout, stderr)


if __name__ == "__main__":
    sys.exit(main())
