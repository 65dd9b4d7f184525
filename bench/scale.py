#!/usr/bin/python3
"""Wall time and peak RSS of `fleetsim run` at 16k, 131k and 1M H100 GPUs, next to SimGrid alone.

For each size, writes a scenario (DGX H100 nodes, 8 GPUs each; pods of 1,024 nodes, or 128
for 16k; one Llama 3 405B pretraining job on every GPU with TP 8, PP 16, DP = GPUs / 128,
8K sequences, global batch DP x 16, full recompute, 30-day horizon: the layout of
scenarios/million-h100.yaml) and times, R times each, interleaved:

  build/fleetsim run X.yaml --out TMP --quiet
  build/bench/simgrid_baseline N      (one flat SimGrid <cluster> of N = nodes hosts:
                                       load_platform, an empty run, teardown)

Wall time is measured around each child; peak RSS is the child's own ru_maxrss from
os.wait4. Medians are reported (the reference machine has 2 shared cores).

A benchmark run by hand, not a test: nothing registers it with CTest. Build first
(scripts/build), then: bench/scale.py [--sizes 16k,131k,1m] [--repeat 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GPUS_PER_NODE = 8
GBPS_PER_GPU_TO_CORE = 50  # pod uplink per GPU, as in scenarios/*.yaml (409.6 Tbps for 8,192 GPUs)

# name -> (GPUs, nodes per pod)
SIZES = {
    "16k": (16_384, 128),
    "131k": (131_072, 1024),
    "1m": (1_048_576, 1024),
}

# The target from the issue, for the 1M-GPU design.
TARGET_SIZE = "1m"
TARGET_RATIO = 3.0
TARGET_RSS_MIB = 2048.0


def scenario_yaml(name, gpus, pod_nodes):
    nodes = gpus // GPUS_PER_NODE
    pods = nodes // pod_nodes
    dp = gpus // 128  # tp 8 x pp 16
    uplink_tbps = pod_nodes * GPUS_PER_NODE * GBPS_PER_GPU_TO_CORE / 1000
    return f"""# Written by bench/scale.py: {gpus:,} H100 in {pods} pods of {pod_nodes} DGX H100 nodes.
name: {name}
seed: 1
horizon: 30d

cluster:
  design:
    pods:
      - name: hopper
        count: {pods}
        nodes: {pod_nodes}
        node: dgx-h100
        fabric: {{topology: fat-tree, oversubscription: 1}}
    interconnect:
      bandwidth_per_pod: {uplink_tbps:g}Tbps
      latency: 5us
  facility:
    pue: 1.1

workloads:
  - name: llama3-405b
    kind: pretrain
    model: llama3-405b
    gpus: {gpus}
    parallelism: {{tp: 8, pp: 16, dp: {dp}, cp: 1, ep: 1}}
    seq_len: 8192
    global_batch: {dp * 16}
    micro_batch: 1
    precision: bf16
    recompute: full
"""


class Measurement:
    def __init__(self, wall_s, maxrss_kib, stdout):
        self.wall_s = wall_s
        self.rss_mib = maxrss_kib / 1024.0  # Linux reports ru_maxrss in KiB
        self.stdout = stdout


def measure(argv, log_prefix):
    """Runs argv to completion; returns its wall time, peak RSS and stdout. Raises on failure."""
    out_path, err_path = log_prefix + ".out", log_prefix + ".err"
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall_s = time.perf_counter() - start
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        with open(err_path, errors="replace") as f:
            stderr = f.read()
        what = f"signal {-code}" if code < 0 else f"exit code {code}"
        raise RuntimeError(f"{' '.join(argv)} failed ({what}):\n{stderr[-4000:]}")
    return Measurement(wall_s, usage.ru_maxrss, stdout)


def baseline_phases(stdout):
    """simgrid_baseline prints 'hosts=N write_s=.. load_s=.. run_s=.. teardown_s=.. total_s=..'."""
    fields = dict(item.split("=", 1) for item in stdout.split() if "=" in item)
    return {k: float(v) for k, v in fields.items() if k.endswith("_s")}


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        key = item.strip().lower()
        if key in ("all", ""):
            sizes.extend(k for k in SIZES if k not in sizes)
            continue
        if key not in SIZES:
            # Accept GPU counts too: 16384, 131072, 1048576.
            matches = [k for k, (gpus, _) in SIZES.items() if str(gpus) == key.replace("_", "")]
            if not matches:
                raise argparse.ArgumentTypeError(f"unknown size {item!r}: choose from {', '.join(SIZES)} or all")
            key = matches[0]
        if key not in sizes:
            sizes.append(key)
    return sizes


def executable(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"scale.py: {path} not found or not executable; build first (scripts/build)")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=list(SIZES),
                        help="comma-separated subset of 16k,131k,1m (or GPU counts, or all); default all")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each program per size (default 3)")
    parser.add_argument("--fleetsim", default=os.path.join(ROOT, "build", "fleetsim"), help="fleetsim binary")
    parser.add_argument("--baseline", default=os.path.join(ROOT, "build", "bench", "simgrid_baseline"),
                        help="simgrid_baseline binary")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="run the binaries in place instead of copies taken at the start "
                        "(the copies keep a concurrent rebuild from changing what is measured)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (scenarios, outputs, logs)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    fleetsim = executable(args.fleetsim)
    baseline = executable(args.baseline)
    tmp = tempfile.mkdtemp(prefix="fleetsim-scale-")
    try:
        if not args.no_snapshot:
            fleetsim = shutil.copy2(fleetsim, os.path.join(tmp, "fleetsim"))
            baseline = shutil.copy2(baseline, os.path.join(tmp, "simgrid_baseline"))

        load = os.getloadavg()
        print(f"fleetsim scale benchmark: {args.repeat} run(s) each, medians; {os.cpu_count()} CPUs, "
              f"load average {load[0]:.2f} at start", flush=True)
        rows = []
        for key in args.sizes:
            gpus, pod_nodes = SIZES[key]
            nodes = gpus // GPUS_PER_NODE
            name = f"bench-{key}"
            scenario = os.path.join(tmp, name + ".yaml")
            with open(scenario, "w") as f:
                f.write(scenario_yaml(name, gpus, pod_nodes))
            fs_runs, bl_runs = [], []
            for r in range(args.repeat):
                out = os.path.join(tmp, f"{name}-out{r}")
                fs_runs.append(measure([fleetsim, "run", scenario, "--out", out, "--quiet"],
                                       os.path.join(tmp, f"{name}-fleetsim{r}")))
                if not args.keep:
                    shutil.rmtree(out, ignore_errors=True)
                bl_runs.append(measure([baseline, str(nodes)], os.path.join(tmp, f"{name}-baseline{r}")))
                print(f"  {key:>4} run {r + 1}/{args.repeat}: fleetsim {fs_runs[-1].wall_s:7.2f} s "
                      f"{fs_runs[-1].rss_mib:7.0f} MiB | baseline {bl_runs[-1].wall_s:7.2f} s "
                      f"{bl_runs[-1].rss_mib:7.0f} MiB", flush=True)
            phases = [baseline_phases(m.stdout) for m in bl_runs]
            rows.append({
                "key": key, "gpus": gpus, "nodes": nodes,
                "fs_wall": statistics.median(m.wall_s for m in fs_runs),
                "fs_rss": max(m.rss_mib for m in fs_runs),
                "bl_wall": statistics.median(m.wall_s for m in bl_runs),
                "bl_rss": max(m.rss_mib for m in bl_runs),
                "bl_phases": {k: statistics.median(p.get(k, 0.0) for p in phases)
                              for k in ("load_s", "run_s", "teardown_s")},
            })

        print()
        header = ("GPUs", "nodes", "fleetsim wall s", "fleetsim RSS MiB", "baseline wall s", "baseline RSS MiB",
                  "wall ratio", "RSS ratio")
        table = [header]
        for row in rows:
            table.append((f"{row['gpus']:,}", f"{row['nodes']:,}", f"{row['fs_wall']:.2f}", f"{row['fs_rss']:.0f}",
                          f"{row['bl_wall']:.2f}", f"{row['bl_rss']:.0f}", f"{row['fs_wall'] / row['bl_wall']:.2f}x",
                          f"{row['fs_rss'] / row['bl_rss']:.2f}x"))
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        for i, line in enumerate(table):
            print("  ".join(cell.rjust(w) for cell, w in zip(line, widths)))
            if i == 0:
                print("  ".join("-" * w for w in widths))
        print("\nwall: median of the runs; RSS: peak over the runs (ru_maxrss of each child).")
        print("baseline = build/bench/simgrid_baseline <nodes>: one flat <cluster>, load_platform, empty run.")
        print("baseline phases (median s): " + "; ".join(
            f"{row['key']}: load {row['bl_phases']['load_s']:.2f}, run {row['bl_phases']['run_s']:.2f}, "
            f"teardown {row['bl_phases']['teardown_s']:.2f}" for row in rows))

        target = next((row for row in rows if row["key"] == TARGET_SIZE), None)
        print(f"\ntarget (issue): the 1M-GPU run within {TARGET_RATIO:g}x the baseline and under 2 GB "
              f"({TARGET_RSS_MIB:.0f} MiB).")
        if target is None:
            print("  not measured (add 1m to --sizes)")
            return 0
        ratio = target["fs_wall"] / target["bl_wall"]
        ratio_ok = ratio <= TARGET_RATIO
        rss_ok = target["fs_rss"] < TARGET_RSS_MIB
        print(f"  wall: {target['fs_wall']:.2f} s vs baseline {target['bl_wall']:.2f} s = {ratio:.2f}x "
              f"{'met' if ratio_ok else 'MISSED'}")
        print(f"  peak RSS: {target['fs_rss']:.0f} MiB {'met' if rss_ok else 'MISSED'}")
        return 0 if ratio_ok and rss_ok else 1
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
