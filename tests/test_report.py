#!/usr/bin/python3
"""scripts/report on a tiny run and a tiny sweep: the files are written, non-empty, the
PNGs are PNGs, the HTML embeds every plot, a rerun gives the same bytes, bad input exits 2.
No display needed (Agg).

Usage: test_report.py BUILD/fleetsim
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "fleetsim")
REPORT, SWEEP = os.path.join(ROOT, "scripts", "report"), os.path.join(ROOT, "scripts", "sweep")

TINY = """\
name: tiny
seed: 1
horizon: 4h
cluster:
  design:
    pods:
      - {name: hopper, count: 1, nodes: 4, node: dgx-h100}
  facility: {pue: 1.2}
workloads:
  - name: train
    kind: pretrain
    model: llama3-8b
    gpus: 16
    parallelism: {tp: 2, pp: 1, dp: 8}
    seq_len: 4096
    global_batch: 64
    tokens: 2e9
  - name: chat
    kind: inference
    model: llama3-8b
    gpus: 16
    parallelism: {tp: 1}
    max_batch: 64
    submit: 30min
    requests: {mode: poisson, rate: 5/s, count: 2000, input_tokens: 512, output_tokens: 128}
"""


def files(folder):
    got = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            got[name] = f.read()
    return got


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="fleetsim-report-")
        cls.tmp = cls._tmp.name
        cls.yaml = os.path.join(cls.tmp, "tiny.yaml")
        with open(cls.yaml, "w") as f:
            f.write(TINY)
        cls.run_dir = os.path.join(cls.tmp, "run")
        subprocess.run([BIN, "run", cls.yaml, "--out", cls.run_dir, "--quiet"], check=True)
        cls.sweep = os.path.join(cls.tmp, "sweep")
        subprocess.run([SWEEP, cls.yaml, "--grid", "workloads.1.parallelism.tp=1,2", "--grid",
                        "cluster.facility.pue=1.1,1.3", "--out", cls.sweep, "--jobs", "2", "--quiet",
                        "--fleetsim", BIN], check=True, capture_output=True)

    def check_report(self, folder, plots):
        got = files(folder)
        self.assertIn("report.html", got)
        self.assertIn("report.md", got)
        for name in plots:
            self.assertIn(name, got)
            self.assertTrue(got[name].startswith(b"\x89PNG\r\n\x1a\n"), name)
            self.assertGreater(len(got[name]), 5000, name)
            self.assertIn(f"]({name})".encode(), got["report.md"])
        pngs = [f for f in got if f.endswith(".png")]
        self.assertEqual(got["report.html"].count(b"data:image/png;base64,"), len(pngs))
        self.assertNotIn(b"src='", got["report.html"].replace(b"src='data:", b""))  # nothing outside the file
        return got

    def test_run(self):
        out = os.path.join(self.tmp, "run-report")
        p = subprocess.run([REPORT, self.run_dir, "--out", out], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.check_report(out, ["power.png", "utilisation.png", "queue.png", "throughput_over_time.png",
                                      "throughput_by_workload.png"])
        md = got["report.md"].decode()
        self.assertIn("| chat | inference |", md)
        self.assertIn("capex (estimate)", md)
        # Same run, same bytes.
        subprocess.run([REPORT, self.run_dir, "--out", out], check=True, capture_output=True)
        self.assertEqual(files(out), got)

    def test_sweep(self):
        p = subprocess.run([REPORT, self.sweep], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = self.check_report(os.path.join(self.sweep, "report"),
                                ["frontier_power.png", "frontier_cost.png", "designs.png"])
        md = got["report.md"].decode()
        self.assertIn("4 point(s) ran, 0 did not", md)
        self.assertIn("chat: throughput (output tokens/s)", md)  # the compare table

    def test_bad_dir(self):
        p = subprocess.run([REPORT, self.tmp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("neither a run", p.stderr)


if __name__ == "__main__":
    unittest.main()
