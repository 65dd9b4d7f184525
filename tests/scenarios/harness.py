"""Shared by the scenario test scripts: run the real fleetsim binary on small YAML files,
record PASS/FAIL lines, and read what it wrote.

A script imports this with the binary and the repository root as its arguments
(sys.argv[1:3]) and ends with `sys.exit(finish())`.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp(prefix="fleetsim-scenarios-")
failures = []


def fleetsim(*args, timeout=600):
    cmd = [BIN, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p, " ".join(cmd)


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok else f"\n      {detail}"))
    if not ok:
        failures.append(name)


def design_head(name, horizon, nodes, node="dgx-h100", count=1, pod="p"):
    """The opening of a test scenario: its name, seed 1, horizon and a design of `count`
    identical pods of `nodes` nodes; the caller adds the rest of `cluster` and what follows."""
    return f"""\
name: {name}
seed: 1
horizon: {horizon}
cluster:
  design:
    pods:
      - {{name: {pod}, count: {count}, nodes: {nodes}, node: {node}}}
"""


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_ok(name, scenario_path, *extra):
    out = os.path.join(TMP, name)
    p, cmd = fleetsim("run", scenario_path, "--out", out, "--quiet", *extra)
    if p.returncode != 0:
        check(f"{name}: runs", False, f"exit {p.returncode}: {p.stderr.strip()[-500:]}\n      reproduce: {cmd}")
        return None, out
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f), out


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def catalog_node(name):
    with open(os.path.join(ROOT, "sim/catalog/data/nodes.yaml")) as f:
        return yaml.safe_load(f)["node_types"][name]


def catalog_accelerator(name):
    with open(os.path.join(ROOT, "sim/catalog/data/accelerators.yaml")) as f:
        return yaml.safe_load(f)["accelerators"][name]


def decode_node_watts(node_name):
    """A serving node's draw (docs/models/power.md): host share at load + accelerators at
    600/700 of TDP."""
    node = catalog_node(node_name)
    tdp = watts(catalog_accelerator(node["accelerator"])["tdp"])
    n = node["accelerators"]
    return watts(node["max_power"]) - n * tdp + n * tdp * 600.0 / 700.0


def watts(text):
    text = str(text).strip()
    for suffix, k in (("kW", 1e3), ("MW", 1e6), ("W", 1)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * k
    raise ValueError(text)



def invariants(label, out, summary, capacity):
    """Every run: jobs start after submit, never more accelerators than the fleet, nothing lost."""
    jobs = read_csv(os.path.join(out, "jobs.csv"))
    # An evicted job's start-end span has a gap, and an autoscaled service holds fewer than
    # its `gpus` most of the time: their holding is checked in the time series.
    evicted = {w["name"] for w in summary["workloads"] if w["interruptions"] > 0 or "autoscale" in w}
    check(f"{label}: no job starts before its submit time",
          all(j["start_s"] == "" or float(j["start_s"]) >= float(j["submit_s"]) - 1e-9 for j in jobs))
    events = sorted({float(j[k]) for j in jobs for k in ("start_s", "end_s") if j[k] != ""})
    worst = 0
    for t in events:
        held = sum(int(j["gpus"]) for j in jobs if j["name"] not in evicted and j["start_s"] != "" and float(j["start_s"]) <= t
                   and (j["end_s"] == "" or float(j["end_s"]) > t))
        worst = max(worst, held)
    check(f"{label}: never more accelerators held than the fleet has", worst <= capacity, f"{worst} > {capacity}")
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    check(f"{label}: allocated and busy accelerators within the fleet, fragmentation within [0, 1]",
          all(0 <= int(r["allocated_accelerators"]) <= capacity and 0 <= int(r["busy_accelerators"]) <= capacity
              and 0 <= float(r["fragmentation"]) <= 1 for r in rows))
    check(f"{label}: allocated utilisation equals busy utilisation (jobs start on their nodes at once)",
          abs(summary["cluster"]["allocated_utilization"] - summary["cluster"]["utilization"]) < 1e-9,
          f"{summary['cluster']['allocated_utilization']} vs {summary['cluster']['utilization']}")
    states = {j["state"] for j in jobs}
    c = summary["cluster"]
    check(f"{label}: every job completed, running or queued at the horizon",
          states <= {"completed", "running", "queued"}
          and c["jobs_completed"] + c["jobs_running"] + c["jobs_queued"] == c["jobs_submitted"] == len(jobs),
          f"{states} {c}")


def finish():
    """Prints the verdict; removes the scratch folder if everything passed. Returns the exit code."""
    print(f"{'FAILED: ' + ', '.join(failures) if failures else 'all scenario tests passed'}")
    if not failures:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failures else 0
