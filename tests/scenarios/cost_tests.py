#!/usr/bin/python3
"""Cost through the binary: the summary's cost keys recomputed by hand from the price
catalog (sim/catalog/data/prices.yaml), a scenario's `cost:` overrides, and bad cost
input refused with its exact error line.

Usage: cost_tests.py BUILD/fleetsim REPO_ROOT
"""
import os
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, ROOT, TMP, catalog_node, check, fleetsim, run_ok, watts, write, finish  # noqa: E402

BASE = """\
name: cost
seed: 1
horizon: 12h
cluster:
  design:
    pods:
      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}
  facility: {pue: 1.25}
workloads:
  - name: a
    kind: pretrain
    model: llama3-8b
    gpus: 32
    parallelism: {tp: 8, pp: 1, dp: 4}
    seq_len: 8192
    global_batch: 256
    tokens: 2e9
  - name: chat
    kind: inference
    model: llama3-8b
    gpus: 8
    parallelism: {tp: 1}
    requests: {mode: offline, count: 400, input_tokens: 512, output_tokens: 128}
    max_batch: 64
"""


def prices():
    with open(os.path.join(ROOT, "sim/catalog/data/prices.yaml")) as f:
        data = yaml.safe_load(f)
    return {k: v["value"] for k, v in data["defaults"].items()}, {k: v["value"] for k, v in data["nodes"].items()}


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


def test_by_hand():
    d, nodes = prices()
    s, _ = run_ok("cost-base", write("cost.yaml", BASE))
    if not s:
        return
    c = s["cluster"]
    node = catalog_node("dgx-h100")
    n = 8
    hw = n * (nodes["dgx-h100"] + node["nics"] * d["network_usd_per_port"])
    fac = n * watts(node["max_power"]) * d["facility_usd_per_w"]
    per_h = hw / (d["hardware_years"] * 8760) + fac / (d["facility_years"] * 8760)
    hours = s["simulated_s"] / 3600
    energy = c["facility_energy_j"] / 3.6e6 * d["energy_usd_per_kwh"]
    print(f"      by hand: hardware ${hw:,.0f} + facility ${fac:,.0f}; ${per_h:.2f}/h x {hours:.3f} h + energy ${energy:.2f}")
    check("capex = nodes + NIC ports + facility at max power",
          close(c["capex_usd"], hw + fac) and close(c["capex_facility_usd"], fac), str(c["capex_usd"]))
    check("amortised per hour = hardware / 5 y + facility / 15 y", close(c["amortised_capex_usd_per_h"], per_h))
    check("energy opex = facility energy (IT x PUE) x price", close(c["energy_opex_usd"], energy))
    check("cost of the run = amortised capex over the run + energy", close(c["cost_usd"], per_h * hours + energy))
    check("cost per GPU-hour = cost / (accelerators x hours)", close(c["cost_per_gpu_hour_usd"], c["cost_usd"] / (64 * hours)))
    a, chat = s["workloads"]
    rate = per_h / n / 8  # amortised capex per accelerator-hour of a dgx-h100
    a_cost = 32 * (a["end_s"] - a["start_s"]) / 3600 * rate + a["energy_j"] * 1.25 / 3.6e6 * d["energy_usd_per_kwh"]
    check("pretrain: its accelerator-hours at the node rate + its energy x PUE", close(a["cost_usd"], a_cost),
          f"{a['cost_usd']} vs {a_cost}")
    check("pretrain: cost per million tokens = cost / tokens x 1e6",
          close(a["cost_per_million_tokens_usd"], a["cost_usd"] / a["tokens"] * 1e6))
    check("inference: cost per million output tokens and per request",
          close(chat["cost_per_million_tokens_usd"], chat["cost_usd"] / chat["output_tokens"] * 1e6)
          and close(chat["cost_per_request_usd"], chat["cost_usd"] / chat["completed_requests"]))
    check("workloads cost less than the cluster (idle capacity is the cluster's)",
          a["cost_usd"] + chat["cost_usd"] < c["cost_usd"])
    # Overrides: energy free, nodes twice the price.
    o, _ = run_ok("cost-override", os.path.join(TMP, "cost.yaml"), "--set", "cost.energy_usd_per_kwh=0",
                  "--set", f"cost.nodes.dgx-h100={2 * nodes['dgx-h100']}")
    if o:
        oc = o["cluster"]
        check("cost: overrides energy price and node price",
              oc["energy_opex_usd"] == 0 and close(oc["capex_nodes_usd"], 2 * c["capex_nodes_usd"])
              and oc["cost_inputs"]["node_usd"]["dgx-h100"] == 2 * nodes["dgx-h100"], str(oc["cost_inputs"]))


def test_reasoning_and_video():
    text = BASE.split("workloads:")[0] + """workloads:
  - name: think
    kind: reasoning
    model: llama3-8b
    gpus: 8
    parallelism: {tp: 1}
    requests: {mode: offline, count: 40, input_tokens: 500, thinking_tokens: 500, output_tokens: 100, samples: 2}
  - name: clips
    kind: video-generation
    model: wan2.1-14b
    gpus: 8
    parallelism: {sp: 8}
    video: {width: 832, height: 480, frames: 33, steps: 10}
    requests: {mode: offline, count: 2}
"""
    s, _ = run_ok("cost-kinds", write("kinds.yaml", text))
    if not s:
        return
    think, clips = s["workloads"]
    check("reasoning: cost per query = cost / completed queries",
          close(think["cost_per_query_usd"], think["cost_usd"] / think["completed_queries"]))
    check("video: cost per video = cost / completed videos",
          close(clips["cost_per_video_usd"], clips["cost_usd"] / clips["completed_requests"])
          and "cost_per_million_tokens_usd" not in clips)


BAD = [
    ("unknown cost key", "cost: {energy_usd_per_kw: 0.1}\n",
     "bad.yaml:{line}:8: cost.energy_usd_per_kw: unknown key 'energy_usd_per_kw'; did you mean 'energy_usd_per_kwh'?"),
    ("a unit string for a dollar figure", "cost: {energy_usd_per_kwh: 8c}\n",
     "bad.yaml:{line}:28: cost.energy_usd_per_kwh: expected a number of at least 0, got '8c'"),
    ("zero years", "cost: {hardware_years: 0}\n",
     "bad.yaml:{line}:24: cost.hardware_years: expected a number of years above 0, got 0"),
    ("an unknown node type", "cost: {nodes: {dgx-h1OO: 1}}\n",
     "bad.yaml:{line}:16: cost.nodes.dgx-h1OO: unknown key 'dgx-h1OO'; did you mean 'dgx-h100'?"),
]


def test_bad_input():
    line = BASE.count("\n") + 1
    for i, (what, extra, expected) in enumerate(BAD):
        folder = os.path.join(TMP, f"bad-cost{i}")
        os.makedirs(folder)
        with open(os.path.join(folder, "bad.yaml"), "w") as f:
            f.write(BASE + extra)
        out = os.path.join(folder, "out")
        p = subprocess.run([BIN, "run", "bad.yaml", "--out", out, "--quiet"], capture_output=True, text=True, cwd=folder)
        lines = p.stderr.strip().splitlines()
        want = expected.format(line=line)
        check(f"bad cost input ({what}): exit 2, exact line, nothing written",
              p.returncode == 2 and lines[:1] == [want] and not os.path.exists(out),
              f"exit {p.returncode}, got {lines}\n      expected {want}\n      reproduce: cd {folder} && {BIN} run bad.yaml --out out")


def test_platform_file_is_priced_by_its_node_type():
    # platforms/two-pods-h100.xml: 8 hosts naming node_type dgx-h100.
    s, _ = run_ok("cost-platform", os.path.join(ROOT, "scenarios/platform-file.yaml"))
    c = s["cluster"] if s else {}
    price = c.get("cost_inputs", {}).get("node_usd", {}).get("dgx-h100")
    check("a platform file: its 8 nodes priced as dgx-h100", price is not None and c["capex_nodes_usd"] == 8 * price,
          f"{c.get('capex_nodes_usd')} vs 8 x {price}")


for test in [test_by_hand, test_reasoning_and_video, test_bad_input, test_platform_file_is_priced_by_its_node_type]:
    test()

sys.exit(finish())
