#!/usr/bin/env python3
"""Tests for scripts/compare (stdlib unittest): two real runs of the quickstart (H100 and
H20 nodes), a serving run, and a small sweep; the table's figures are checked against the
summaries they come from, converted by hand.

  python3 tests/test_compare.py [build/fleetsim]
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPARE = os.path.join(ROOT, "scripts", "compare")
SWEEP = os.path.join(ROOT, "scripts", "sweep")
FLEETSIM = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "fleetsim"))
TIMEOUT_S = 60


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)


def compare(*args, code=0):
    p = run([sys.executable, COMPARE, *args])
    if p.returncode != code:
        raise AssertionError(f"compare {args}: exit {p.returncode}\n{p.stderr}")
    return p


def table(stdout):
    """{row label: [cells]} of the text table (cells split on runs of 2+ spaces)."""
    import re
    lines = stdout.splitlines()
    rows = {}
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells[1:]
    return re.split(r"\s{2,}", lines[0].strip()), rows


class Compare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="fleetsim-compare-test-")
        tmp = cls._tmp.name
        cls.h100, cls.h20 = os.path.join(tmp, "h100"), os.path.join(tmp, "h20")
        cls.chat = os.path.join(tmp, "chat")
        quick = os.path.join(ROOT, "scenarios", "quickstart.yaml")
        for out, extra in ((cls.h100, []), (cls.h20, ["--set", "cluster.design.pods.0.node=hgx-h20"])):
            p = run([FLEETSIM, "run", quick, "--out", out, "--quiet", *extra])
            assert p.returncode == 0, p.stderr
        p = run([FLEETSIM, "run", os.path.join(ROOT, "scenarios", "inference-llama2-70b.yaml"),
                 "--out", cls.chat, "--quiet", "--set", "horizon=10min"])
        assert p.returncode == 0, p.stderr
        cls.sweep = os.path.join(tmp, "sweep")
        p = run([sys.executable, SWEEP, quick, "--grid", "cluster.facility.pue=1.1,1.3,abc",
                 "--out", cls.sweep, "--fleetsim", FLEETSIM, "--quiet"])
        assert p.returncode == 1, p.stderr
        cls.summary = {}
        for d in (cls.h100, cls.h20, cls.chat):
            with open(os.path.join(d, "summary.json")) as f:
                cls.summary[d] = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_two_runs_side_by_side(self):
        md, csv_path = os.path.join(self._tmp.name, "t.md"), os.path.join(self._tmp.name, "t.csv")
        p = compare(self.h100, self.h20, "--md", md, "--csv", csv_path)
        header, rows = table(p.stdout)
        self.assertEqual(header, ["figure", "h100", "h20", "change"])
        a, b = self.summary[self.h100], self.summary[self.h20]
        wa, wb = a["workloads"][0], b["workloads"][0]
        self.assertEqual(rows["llama3-8b: throughput (tokens/s)"][:2],
                         [f"{wa['tokens_per_s']:,.0f}", f"{wb['tokens_per_s']:,.0f}"])
        change = (wb["tokens_per_s"] - wa["tokens_per_s"]) / wa["tokens_per_s"] * 100
        self.assertEqual(rows["llama3-8b: throughput (tokens/s)"][2], f"{change:+.1f}%")
        self.assertEqual(rows["llama3-8b: MFU (%)"][:2], [f"{wa['mfu'] * 100:.1f}", f"{wb['mfu'] * 100:.1f}"])
        self.assertEqual(rows["llama3-8b: accelerator"], ["H100-SXM", "H20"])
        self.assertEqual(rows["cluster: utilisation (%)"][0], f"{a['cluster']['utilization'] * 100:.1f}")
        self.assertEqual(rows["cluster: avg IT power (MW)"][0], f"{a['cluster']['avg_it_power_w'] / 1e6:#.3g}")
        self.assertEqual(rows["cluster: peak facility power (MW)"][0],
                         f"{a['cluster']['peak_facility_power_w'] / 1e6:#.3g}")
        self.assertEqual(rows["cluster: IT energy (MWh)"][0], f"{a['cluster']['it_energy_j'] / 3.6e9:.2f}")
        # The 70B job does not finish on H20 within the horizon: null shows as a dash.
        self.assertIsNone(wb.get("completion_s") if wb["name"] == "llama3-70b" else
                          b["workloads"][1]["completion_s"])
        self.assertEqual(rows["llama3-70b: completion (h)"][1], "—")
        # Training runs have no latencies, and no cost keys exist: none is invented.
        self.assertFalse(any("TTFT" in k for k in rows))
        with open(md) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "| figure | h100 | h20 | change |")
        self.assertEqual(lines[1], "|:---|---:|---:|---:|")
        self.assertIn(f"| llama3-8b: MFU (%) | {wa['mfu'] * 100:.1f} | {wb['mfu'] * 100:.1f} |", "\n".join(lines))
        with open(csv_path, newline="") as f:
            recs = list(csv.DictReader(f))
        self.assertEqual([r["run"] for r in recs], ["h100", "h20"])
        self.assertEqual(float(recs[0]["workloads.llama3-8b.mfu"]), wa["mfu"])
        self.assertEqual(float(recs[1]["cluster.avg_it_power_w"]), b["cluster"]["avg_it_power_w"])
        self.assertEqual(recs[1]["workloads.llama3-70b.completion_s"], "")

    def test_latencies_and_missing_workloads(self):
        p = compare(self.h100, self.chat)
        _, rows = table(p.stdout)
        w = self.summary[self.chat]["workloads"][0]
        self.assertEqual(rows["chat: TTFT p50 (s)"], ["—", f"{w['ttft_p50_s']:#.3g}"])  # no change: one is missing
        self.assertEqual(rows["chat: TPOT p99 (ms)"][1], f"{w['tpot_p99_s'] * 1e3:.2f}")
        self.assertEqual(rows["llama3-8b: MFU (%)"][1], "—")

    def test_cost_keys_shown_when_present(self):
        d = os.path.join(self._tmp.name, "with-cost")
        os.makedirs(d, exist_ok=True)
        s = json.loads(json.dumps(self.summary[self.h100]))
        real = self.summary[self.h100]
        s["cluster"]["capex_usd"] = 4.2e9
        s["cluster"]["tco_usd"] = 4.2e9
        s["workloads"][0]["cost_per_token_usd"] = 1.5e-7
        with open(os.path.join(d, "summary.json"), "w") as f:
            json.dump(s, f)
        _, rows = table(compare(self.h100, d).stdout)
        # fleetsim's own cost keys under their labels, scaled; any other cost key as it is.
        shown = float(rows["cluster: capex ($M)"][0].replace(",", ""))
        self.assertAlmostEqual(shown / (real["cluster"]["capex_usd"] / 1e6), 1, delta=0.01)
        self.assertEqual(rows["cluster: capex ($M)"][1], "4,200")
        self.assertIn("llama3-8b: cost per million tokens ($)", rows)
        self.assertEqual(rows["cluster: tco_usd"][:2], ["—", "4,200,000,000"])
        self.assertEqual(rows["llama3-8b: cost_per_token_usd"][:2], ["—", "1.50e-07"])

    def test_sweep_points_as_columns(self):
        p = compare(self.sweep)
        header, rows = table(p.stdout)
        self.assertEqual(header, ["figure", "pue=1.1", "pue=1.3", "change"])
        self.assertIn("1 point(s) not ok", p.stderr)
        e11, e13 = (float(x) for x in rows["cluster: facility energy (MWh)"][:2])
        it = float(rows["cluster: IT energy (MWh)"][0])
        self.assertAlmostEqual(e11 / it, 1.1, delta=0.01)
        self.assertAlmostEqual(e13 / it, 1.3, delta=0.01)
        # A run next to a sweep: the sweep's labels name it.
        header, _ = table(compare(self.h100, self.sweep, "--layout", "rows").stdout)
        self.assertEqual(header[0], "run")
        out = compare(self.h100, self.sweep, "--layout", "rows").stdout.splitlines()
        self.assertTrue(out[2].startswith("h100 "))
        self.assertTrue(out[3].startswith("sweep: pue=1.1 "))

    def test_not_a_run(self):
        p = compare(self._tmp.name, code=2)
        self.assertIn("neither a run", p.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])
