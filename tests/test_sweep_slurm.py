#!/usr/bin/env python3
"""scripts/sweep --backend slurm through a real Slurm: the private single-node one of
scripts/slurm-local, started here if it is not running, and stopped again at the end if a
run of this test started it and no other run of it (another checkout's test suite, say) is
still using it: each run holds a lease file while it uses the daemons, and starting,
taking and giving back leases happen under one lock.

  python3 tests/test_sweep_slurm.py [build/fleetsim]

Fails, never skips, when Slurm cannot be brought up: the message says why and where the
daemons' logs are. Every wait is bounded.
"""

import contextlib
import csv
import fcntl
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = os.path.join(ROOT, "scripts", "sweep")
SLURM_LOCAL = os.path.join(ROOT, "scripts", "slurm-local")
BASE = os.path.join(ROOT, "scenarios", "quickstart.yaml")
FLEETSIM = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "fleetsim"))
SLURM_DIR = os.environ.get("FLEETSIM_SLURM_DIR", "/tmp/fleetsim-slurm")
START_TIMEOUT_S = 90
SWEEP_TIMEOUT_S = 120
GRID = ["--grid", "cluster.facility.pue=1.1,1.2", "--grid", "workloads.0.parallelism.tp=2,4,abc",
        "--link", "workloads.0.parallelism.dp=32,16,8"]

failures = []


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok else f"\n      {detail}"))
    if not ok:
        failures.append(name)
    return ok


def run(cmd, timeout, env=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")


@contextlib.contextmanager
def locked(path):
    """An exclusive lock on `path` (created if needed), released on exit."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def live_leases(folder):
    """The lease files of runs still alive; those of runs that died are removed."""
    leases = []
    for name in os.listdir(folder):
        if name.isdigit() and alive(int(name)):
            leases.append(name)
        else:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))
    return leases


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    env = dict(os.environ, SLURM_CONF=os.path.join(SLURM_DIR, "slurm.conf"), FLEETSIM_SLURM_DIR=SLURM_DIR)
    leases = os.path.join(SLURM_DIR, "test-leases")
    os.makedirs(leases, exist_ok=True)
    lock = os.path.join(SLURM_DIR, "test-leases.lock")
    # Marks a Slurm that a run of this test started (a user's own is never stopped here).
    ours = os.path.join(SLURM_DIR, "started-by-test")
    lease = os.path.join(leases, str(os.getpid()))
    with locked(lock):
        if run([SLURM_LOCAL, "status"], 30, env).returncode != 0:
            with contextlib.suppress(OSError):
                os.remove(ours)
            started = run([SLURM_LOCAL, "start"], START_TIMEOUT_S, env)
            if started.returncode == 0:
                open(ours, "w").close()
        else:
            started = subprocess.CompletedProcess([], 0, "", "")
        if started.returncode == 0:
            open(lease, "w").close()
    if not check("a local Slurm is up (scripts/slurm-local start)", started.returncode == 0,
                 f"exit {started.returncode}: {started.stderr.strip()}\n      "
                 f"the daemons' logs are in {SLURM_DIR}; slurm-wlm and munge come from scripts/install-deps"):
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="fleetsim-sweep-slurm-") as tmp:
            out, local = os.path.join(tmp, "slurm"), os.path.join(tmp, "local")
            t0 = time.monotonic()
            p = run([sys.executable, SWEEP, BASE, *GRID, "--out", out, "--jobs", "2",
                     "--backend", "slurm", "--fleetsim", FLEETSIM], SWEEP_TIMEOUT_S, env)
            elapsed = time.monotonic() - t0
            check("the Slurm sweep ends, with exit 1 for its failing points",
                  p.returncode == 1, f"exit {p.returncode}\n      stderr: {p.stderr.strip()}")
            check("it went through a job array", "submitted Slurm job array" in p.stderr, p.stderr)
            print(f"      6 points through Slurm in {elapsed:.1f} s")
            logs = [n for n in os.listdir(os.path.join(out, "slurm")) if n.endswith(".log")] \
                if os.path.isdir(os.path.join(out, "slurm")) else []
            check("one array task per point", len(logs) == 6, f"task logs: {logs}")
            q = run([sys.executable, SWEEP, BASE, *GRID, "--out", local, "--jobs", "2",
                     "--fleetsim", FLEETSIM], SWEEP_TIMEOUT_S, env)
            check("the same sweep with the local pool", q.returncode == 1, q.stderr)
            same = os.path.isfile(os.path.join(out, "results.csv")) and \
                read(os.path.join(out, "results.csv")) == read(os.path.join(local, "results.csv"))
            check("results.csv through Slurm is byte-identical to the local pool's", same)
            if os.path.isfile(os.path.join(out, "results.csv")):
                with open(os.path.join(out, "results.csv"), newline="") as f:
                    statuses = [r["status"] for r in csv.DictReader(f)]
                check("4 points ok, the 2 with tp=abc failed",
                      statuses == ["ok", "ok", "failed"] * 2, str(statuses))
            r = run([sys.executable, SWEEP, BASE, *GRID, "--out", out, "--backend", "slurm",
                     "--fleetsim", FLEETSIM], SWEEP_TIMEOUT_S, env)
            check("a rerun submits nothing: every point is recorded",
                  r.returncode == 1 and "submitted" not in r.stderr and "(6 already recorded)" in r.stdout,
                  f"exit {r.returncode}\n      stdout: {r.stdout}\n      stderr: {r.stderr}")
    finally:
        with locked(lock):
            with contextlib.suppress(OSError):
                os.remove(lease)
            if os.path.exists(ours) and not live_leases(leases):
                stop = run([SLURM_LOCAL, "stop"], 60, env)
                check("the local Slurm a run of this test started stops when the last run ends",
                      stop.returncode == 0, stop.stderr)
                with contextlib.suppress(OSError):
                    os.remove(ours)
    print("FAILED: " + ", ".join(failures) if failures else "all Slurm sweep tests passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
