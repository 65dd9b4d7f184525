#!/usr/bin/env python3
"""Tests for scripts/sweep with the local pool (stdlib unittest), on the quickstart
scenario (a few hundredths of a second per point).

  python3 tests/test_sweep.py [build/fleetsim]

Interruptions are made real: a wrapper around fleetsim counts its runs and, for one chosen
setting, sleeps instead of running, so the test can stop the sweep with a point in flight.
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = os.path.join(ROOT, "scripts", "sweep")
BASE = os.path.join(ROOT, "scenarios", "quickstart.yaml")
FLEETSIM = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "fleetsim"))
TIMEOUT_S = 60  # no sweep here should take more than a few seconds

WRAPPER = """#!/bin/sh
# Counts runs; for the setting in $FLEETSIM_TEST_SLOW sleeps (and never runs); for the one in
# $FLEETSIM_TEST_CRASH dies of SIGSEGV.
echo "$*" >> "{counter}"
if [ -n "$FLEETSIM_TEST_SLOW" ]; then
  case "$*" in *"$FLEETSIM_TEST_SLOW"*) exec sleep 60 ;; esac
fi
if [ -n "$FLEETSIM_TEST_CRASH" ]; then
  case "$*" in *"$FLEETSIM_TEST_CRASH"*) kill -SEGV $$ ;; esac
fi
exec "{real}" "$@"
"""


def sweep(*args, env=None, check_code=None):
    p = subprocess.run([sys.executable, SWEEP, BASE, *args], capture_output=True, text=True,
                       timeout=TIMEOUT_S, env=env)
    if check_code is not None and p.returncode != check_code:
        raise AssertionError(f"sweep {' '.join(args)}: exit {p.returncode}, expected "
                             f"{check_code}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Scratch(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fleetsim-sweep-test-")
        self.tmp = self._tmp.name
        self.counter = os.path.join(self.tmp, "runs.txt")
        self.wrapper = os.path.join(self.tmp, "fleetsim-wrapper")
        with open(self.wrapper, "w") as f:
            f.write(WRAPPER.format(counter=self.counter, real=FLEETSIM))
        os.chmod(self.wrapper, 0o755)

    def tearDown(self):
        self._tmp.cleanup()

    def runs(self):
        try:
            with open(self.counter) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def env(self, **extra):
        e = dict(os.environ)
        e.pop("FLEETSIM_TEST_SLOW", None)
        e.pop("FLEETSIM_TEST_CRASH", None)
        e.update(extra)
        return e

    def recorded(self, out):
        pts = os.path.join(out, "points")
        return sorted(n for n in os.listdir(pts) if not n.startswith("."))

    def leftovers(self, out):
        return sorted(n for n in os.listdir(os.path.join(out, "points")) if n.startswith(".tmp-"))


class CrossProduct(Scratch):
    def test_grid_rows_and_columns(self):
        out = os.path.join(self.tmp, "s")
        p = sweep("--grid", "cluster.facility.pue=1.1,1.3",
                  "--grid", "workloads.0.parallelism.tp=2,4,8",
                  "--link", "workloads.0.parallelism.dp=32,16,8",
                  "--out", out, "--jobs", "2", check_code=0)
        self.assertIn("6 points, 6 ok", p.stdout)
        self.assertNotIn("\r", p.stderr)  # no progress bar when stderr is not a terminal
        header, rows = read_csv(os.path.join(out, "results.csv"))
        # Swept keys first, in the order given, then the point's identity, then the summary.
        self.assertEqual(header[:6], ["cluster.facility.pue", "workloads.0.parallelism.tp",
                                      "workloads.0.parallelism.dp", "point", "status", "error"])
        self.assertEqual(header[6:9], ["scenario", "seed", "simulated_s"])
        self.assertNotIn("wall_s", header)  # machine time: would break byte-identical reruns
        first_cluster = header.index("cluster.accelerators")
        first_workload = header.index("workloads.llama3-8b.kind")
        self.assertTrue(all(c.startswith("cluster.") for c in header[first_cluster:first_workload]))
        self.assertTrue(all(c.startswith("workloads.") for c in header[first_workload:]))
        for col in ("cluster.utilization", "cluster.avg_it_power_w", "workloads.llama3-8b.mfu",
                    "workloads.llama3-8b.parallelism.tp", "workloads.llama3-8b.step_breakdown_s.compute",
                    "workloads.llama3-70b.tokens_per_s", "cluster.tenants.default.share"):
            self.assertIn(col, header)
        # The first axis varies slowest; --link moves dp with tp.
        self.assertEqual([(r["cluster.facility.pue"], r["workloads.0.parallelism.tp"],
                           r["workloads.0.parallelism.dp"]) for r in rows],
                         [(pue, tp, dp) for pue in ("1.1", "1.3")
                          for tp, dp in (("2", "32"), ("4", "16"), ("8", "8"))])
        for r in rows:
            self.assertEqual((r["status"], r["error"]), ("ok", ""))
            # Each point ran with its own settings: the summary shows them.
            self.assertEqual(r["workloads.llama3-8b.parallelism.tp"], r["workloads.0.parallelism.tp"])
            self.assertAlmostEqual(float(r["cluster.facility_energy_j"]) / float(r["cluster.it_energy_j"]),
                                   float(r["cluster.facility.pue"]), places=9)
            self.assertTrue(os.path.isfile(os.path.join(out, "points", r["point"], "summary.json")))
        self.assertEqual(len({r["point"] for r in rows}), 6)
        # The point's record holds the command that reproduces it.
        with open(os.path.join(out, "points", rows[0]["point"], "point.json")) as f:
            rec = json.load(f)
        self.assertIn("--set cluster.facility.pue=1.1", rec["command"])
        self.assertEqual(self.leftovers(out), [])

    def test_point_folder_named_from_settings(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        sweep("--grid", "cluster.facility.pue=1.1,1.3", "--out", a, check_code=0)
        # Another grid order and an extra value: the shared points keep their names.
        sweep("--grid", "cluster.facility.pue=1.5,1.3,1.1", "--out", b, check_code=0)
        self.assertEqual(set(self.recorded(a)), set(self.recorded(b)) - {
            n for n in self.recorded(b) if n.startswith("pue=1.5-")})
        self.assertTrue(all(re.match(r"^pue=1\.[135]-[0-9a-f]{10}$", n) for n in self.recorded(b)))

    def test_deterministic(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        args = ["--grid", "workloads.0.tokens=5e9,10e9", "--grid", "cluster.facility.pue=1.1,1.2,1.3"]
        sweep(*args, "--out", a, "--jobs", "2", check_code=0)
        sweep(*args, "--out", b, "--jobs", "1", check_code=0)
        self.assertEqual(read_bytes(os.path.join(a, "results.csv")), read_bytes(os.path.join(b, "results.csv")))


class Progress(Scratch):
    def test_bar_on_a_terminal(self):
        import pty
        leader, follower = pty.openpty()
        try:
            p = subprocess.run([sys.executable, SWEEP, BASE, "--grid", "cluster.facility.pue=1.1,1.2",
                                "--out", os.path.join(self.tmp, "s")], stdout=subprocess.PIPE,
                               stderr=follower, timeout=TIMEOUT_S)
            os.close(follower)
            follower = None
            seen = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the terminal has no writer left
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            if follower is not None:
                os.close(follower)
            os.close(leader)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"\r[", seen)
        self.assertIn(b"2/2 points, 0 failed, 0 running", seen)


class Sampling(Scratch):
    def points(self, *args):
        p = sweep(*args, "--out", os.path.join(self.tmp, "s"), "--dry-run", check_code=0)
        return [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in p.stdout.splitlines()]

    def test_latin_hypercube_uses_every_stratum_once(self):
        pts = self.points("--range", "cluster.facility.pue=1.0..1.6", "--range", "workloads.0.tokens=1e9..7e9",
                          "--sample", "6", "--seed", "3")
        self.assertEqual(len(pts), 6)
        for key, lo in (("cluster.facility.pue", 1.0), ("workloads.0.tokens", 1e9)):
            width = 0.1 if key == "cluster.facility.pue" else 1e9
            strata = sorted(int((float(p[key]) - lo) // width) for p in pts)
            self.assertEqual(strata, list(range(6)), key)

    def test_seeded(self):
        args = ("--range", "cluster.facility.pue=1.0..1.6", "--grid", "workloads.0.parallelism.tp=2,4",
                "--link", "workloads.0.parallelism.dp=32,16", "--sample", "5")
        self.assertEqual(self.points(*args, "--seed", "7"), self.points(*args, "--seed", "7"))
        self.assertNotEqual(self.points(*args, "--seed", "7"), self.points(*args, "--seed", "8"))
        for p in self.points(*args, "--method", "random"):
            self.assertIn((p["workloads.0.parallelism.tp"], p["workloads.0.parallelism.dp"]),
                          {("2", "32"), ("4", "16")})
            self.assertTrue(1.0 <= float(p["cluster.facility.pue"]) < 1.6)

    def test_units_integers_and_log(self):
        pts = self.points("--range", "workloads.0.submit=10min..50min", "--range", "workloads.0.global_batch=64..512:log",
                          "--sample", "20", "--method", "random")
        for p in pts:
            self.assertRegex(p["workloads.0.submit"], r"^[0-9.]+min$")
            self.assertTrue(10 <= float(p["workloads.0.submit"][:-3]) <= 50)
            self.assertRegex(p["workloads.0.global_batch"], r"^[0-9]+$")
            self.assertTrue(64 <= int(p["workloads.0.global_batch"]) <= 512)

    def test_sampled_sweep_runs(self):
        out = os.path.join(self.tmp, "run")
        sweep("--range", "cluster.facility.pue=1.0..1.5", "--sample", "4", "--out", out, check_code=0)
        _, rows = read_csv(os.path.join(out, "results.csv"))
        self.assertEqual([r["status"] for r in rows], ["ok"] * 4)


class Failures(Scratch):
    def test_failing_points_are_recorded(self):
        out = os.path.join(self.tmp, "s")
        env = self.env(FLEETSIM_TEST_CRASH="pue=1.3")
        p = sweep("--grid", "cluster.facility.pue=1.1,abc,1.3,1.2", "--out", out,
                  "--fleetsim", self.wrapper, env=env, check_code=1)
        _, rows = read_csv(os.path.join(out, "results.csv"))
        by = {r["cluster.facility.pue"]: r for r in rows}
        self.assertEqual([r["cluster.facility.pue"] for r in rows], ["1.1", "abc", "1.3", "1.2"])
        self.assertEqual(by["1.1"]["status"], "ok")
        self.assertEqual(by["1.2"]["status"], "ok")
        self.assertEqual(by["abc"]["status"], "failed")
        self.assertRegex(by["abc"]["error"], r"^exit 2: .*quickstart\.yaml:\d+:\d+: cluster\.facility\.pue: ")
        self.assertEqual(by["abc"]["cluster.utilization"], "")
        self.assertEqual(by["1.3"]["status"], "failed")
        self.assertTrue(by["1.3"]["error"].startswith("killed by SIGSEGV"), by["1.3"]["error"])
        self.assertIn("2 not ok", p.stdout)
        self.assertIn("cluster.facility.pue", p.stderr)  # the failures are named on stderr
        # A rerun skips recorded failures; --retry-failed runs them again.
        n = len(self.runs())
        sweep("--grid", "cluster.facility.pue=1.1,abc,1.3,1.2", "--out", out,
              "--fleetsim", self.wrapper, env=self.env(), check_code=1)
        self.assertEqual(len(self.runs()), n)
        sweep("--grid", "cluster.facility.pue=1.1,abc,1.3,1.2", "--out", out, "--retry-failed",
              "--fleetsim", self.wrapper, env=self.env(), check_code=1)
        self.assertEqual(len(self.runs()), n + 2)
        _, rows = read_csv(os.path.join(out, "results.csv"))
        self.assertEqual([r["status"] for r in rows], ["ok", "failed", "ok", "ok"])

    def test_timeout(self):
        out = os.path.join(self.tmp, "s")
        t0 = time.monotonic()
        sweep("--grid", "cluster.facility.pue=1.1,1.2", "--out", out, "--timeout", "1",
              "--fleetsim", self.wrapper, env=self.env(FLEETSIM_TEST_SLOW="pue=1.2"), check_code=1)
        # Well under the slow point's 60 s: it was stopped at its timeout (a loose bound, so
        # that a loaded machine does not fail it).
        self.assertLess(time.monotonic() - t0, 45)
        _, rows = read_csv(os.path.join(out, "results.csv"))
        self.assertEqual([r["status"] for r in rows], ["ok", "failed"])
        self.assertTrue(rows[1]["error"].startswith("timeout"), rows[1]["error"])

    def test_bad_arguments(self):
        out = os.path.join(self.tmp, "s")
        cases = [
            (["--out", out], "nothing to sweep"),
            (["--grid", "cluster.facility.pue", "--out", out], "no '='"),
            (["--grid", "cluster..pue=1", "--out", out], "key path"),
            (["--grid", "cluster.facility.pue=1.1,,1.2", "--out", out], "empty"),
            (["--grid", "cluster.facility.pue=1.1,1.1", "--out", out], "twice"),
            (["--grid", "a=1", "--grid", "a=2", "--out", out], "two axes"),
            (["--link", "a=1", "--out", out], "follow a --grid"),
            (["--grid", "a=1,2", "--link", "b=1", "--out", out], "expected 2 values"),
            (["--range", "a=1..2", "--out", out], "needs --sample"),
            (["--range", "a=2..1", "--sample", "3", "--out", out], "LO < HI"),
            (["--range", "a=1W..2kW", "--sample", "3", "--out", out], "same unit"),
            (["--range", "a=0..2:log", "--sample", "3", "--out", out], "LO > 0"),
            (["--range", "a=x..y", "--sample", "3", "--out", out], "a number"),
            (["--grid", "a=1", "--sample", "0", "--out", out], "at least 1"),
            (["--grid", "a=1", "--seed", "3", "--out", out], "need --sample"),
            (["--grid", "a=1", "--jobs", "0", "--out", out], "--jobs"),
            (["--grid", "a=1", "--fleetsim", "/nonexistent", "--out", out], "scripts/build"),
            (["--grid", "a=1", "--slurm-opt=--partition=x", "--out", out], "--backend slurm"),
            (["--grid", "a=1"], "--out"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                p = sweep(*args, check_code=2)
                self.assertIn(message, p.stderr)
        p = subprocess.run([sys.executable, SWEEP, os.path.join(self.tmp, "missing.yaml"),
                            "--grid", "a=1", "--out", out], capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no such scenario file", p.stderr)
        self.assertFalse(os.path.exists(out), "a refused sweep must not create its folder")


class Resume(Scratch):
    GRID = ["--grid", "cluster.facility.pue=1.1,1.2,1.3,1.4,1.5"]

    def start(self, out, slow):
        return subprocess.Popen([sys.executable, SWEEP, BASE, *self.GRID, "--out", out, "--jobs", "1",
                                 "--fleetsim", self.wrapper], env=self.env(FLEETSIM_TEST_SLOW=slow),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def wait_for(self, out, recorded, in_flight):
        deadline = time.monotonic() + 120  # generous: the machine may be busy with builds
        while time.monotonic() < deadline:
            try:
                # The wrapper has counted the point in flight: its run has begun.
                if len(self.recorded(out)) >= recorded and len(self.runs()) > recorded and any(
                        n.startswith(f".tmp-{in_flight}") for n in self.leftovers(out)):
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        self.fail(f"sweep did not reach {recorded} points with {in_flight} in flight")

    def check_resumed(self, out, runs_before):
        """A rerun runs only the points not recorded, and ends as an uninterrupted sweep."""
        done_before = self.recorded(out)
        mtimes = {n: os.stat(os.path.join(out, "points", n, "summary.json")).st_mtime_ns for n in done_before}
        p = sweep(*self.GRID, "--out", out, "--fleetsim", self.wrapper, env=self.env(), check_code=0)
        self.assertIn(f"({len(done_before)} already recorded)", p.stdout)
        new_runs = self.runs()[runs_before:]
        self.assertEqual(len(new_runs), 5 - len(done_before), new_runs)
        for n, t in mtimes.items():
            self.assertEqual(os.stat(os.path.join(out, "points", n, "summary.json")).st_mtime_ns, t,
                             f"{n} was run again")
        self.assertEqual(self.leftovers(out), [])
        clean = os.path.join(self.tmp, "clean")
        sweep(*self.GRID, "--out", clean, check_code=0)
        self.assertEqual(read_bytes(os.path.join(out, "results.csv")), read_bytes(os.path.join(clean, "results.csv")))

    def test_sigint(self):
        out = os.path.join(self.tmp, "s")
        proc = self.start(out, "pue=1.4")
        try:
            self.wait_for(out, 3, "pue=1.4")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=TIMEOUT_S)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assertEqual(len(self.recorded(out)), 3)
        self.assertEqual(self.leftovers(out), [], "an interrupted point must leave nothing behind")
        _, rows = read_csv(os.path.join(out, "results.csv"))
        self.assertEqual([r["status"] for r in rows], ["ok"] * 3 + ["missing"] * 2)
        self.check_resumed(out, len(self.runs()))

    def test_sigkill(self):
        out = os.path.join(self.tmp, "s")
        proc = self.start(out, "pue=1.3")
        try:
            self.wait_for(out, 2, "pue=1.3")
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and all its points, no clean-up
            proc.communicate(timeout=TIMEOUT_S)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.assertEqual(len(self.recorded(out)), 2)
        self.assertFalse(os.path.exists(os.path.join(out, "results.csv")))
        self.assertTrue(self.leftovers(out))  # the rerun removes them
        self.check_resumed(out, len(self.runs()))

    def test_second_sweep_on_same_folder_refused(self):
        out = os.path.join(self.tmp, "s")
        proc = self.start(out, "pue=1.1")
        try:
            self.wait_for(out, 0, "pue=1.1")
            p = sweep(*self.GRID, "--out", out, check_code=2)
            self.assertIn("another sweep is running", p.stderr)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=TIMEOUT_S)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])
