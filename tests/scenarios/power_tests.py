#!/usr/bin/python3
"""Power, facility and the power cap through the real binary (docs/models/power.md):
energy against the integral of the time series' power, facility energy against IT energy
x PUE (constant and hourly profile), a cap never exceeded in the time series while the
same run uncapped exceeds it, a capped job slower by what the pstate table says, a job
held for power, and bad input.

Usage: power_tests.py BUILD/fleetsim REPO_ROOT
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, design_head, catalog_accelerator, catalog_node, check, decode_node_watts, fleetsim,  # noqa: E402
                     invariants, read_csv, run_ok, watts, write, finish)

H = 3600.0


def scenario(name, facility, workloads, horizon="2d", nodes=8, failures="{enabled: false}"):
    return design_head(name, horizon, nodes, pod="h") + f"""\
  facility: {facility}
failures: {failures}
workloads:
{workloads}"""


def training(name, gpus, tokens, submit="0s"):
    return f"""\
  - name: {name}
    kind: pretrain
    model: llama3-8b
    gpus: {gpus}
    parallelism: {{tp: 8, pp: 1, dp: {gpus // 8}}}
    seq_len: 8192
    global_batch: 64
    micro_batch: 1
    precision: bf16
    tokens: {tokens}
    submit: {submit}
"""


SERVICE = """\
  - name: chat
    kind: inference
    model: llama2-70b
    gpus: 16
    parallelism: {tp: 8}
    precision: fp8
    requests: {mode: poisson, rate: 5/s, count: 20000, input_tokens: 512, output_tokens: 256}
    max_batch: 128
"""


def integrals(out):
    """Integrals of it_power_w and facility_power_w over the time series (piecewise
    constant: a row's value holds until the next row)."""
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    it = fac = 0.0
    for a, b in zip(rows, rows[1:]):
        dt = float(b["time_s"]) - float(a["time_s"])
        it += float(a["it_power_w"]) * dt
        fac += float(a["facility_power_w"]) * dt
    return rows, it, fac


# The node power table by hand (models/power.cpp): host share at load + 8 x the level's
# board limit; GEMM speed ((f x TDP - idle) / (TDP - idle))^(1/alpha), ALPHA below.
NODE = catalog_node("dgx-h100")
GPU = catalog_accelerator("H100-SXM")
TDP, GPU_IDLE = watts(GPU["tdp"]), watts(GPU["idle"])
HOST = watts(NODE["max_power"]) - 8 * TDP
IDLE = watts(NODE["idle_power"])
LEVELS = [1.0, 0.85, 0.7, 0.6, 0.5]


def node_w(f):
    return HOST + 8 * f * TDP


# The fabric by hand (models/power.cpp, docs/models/power.md "Network"): every switch port
# with its optics at 17 W per twin-port 400G OSFP cage = 8.5 W. A leaf has a port per NIC
# below and NICs / oversubscription above, each landing on a spine port; with more than one
# pod, the pod's uplink ports (at most what its nodes send) land on core ports.
PORT_W = 17.0 / 2


def net_w(pods, nodes, per_leaf=32, nics=8, over=1.0):
    ports = 0.0
    for first in range(0, nodes, per_leaf):
        down = min(per_leaf, nodes - first) * nics
        ports += down + 2 * down / over
    if pods > 1:
        leaves = -(-nodes // per_leaf)
        ports += 2 * min(leaves * per_leaf * nics / over, nodes * nics / over)
    return pods * ports * PORT_W


NET8 = net_w(1, 8)  # the 8-node pod of scenario()


# Dynamic power ~ clock^alpha, alpha from the Splitwise authors' H100 point (a 70% cap,
# 490 W of 700 W with 70 W idle, leaves prefill 1/1.30 as fast): docs/models/power.md.
ALPHA = math.log((0.7 * 700 - 70) / (700 - 70)) / math.log(1 / 1.30)


def speed(f):
    return ((f * TDP - GPU_IDLE) / (TDP - GPU_IDLE)) ** (1 / ALPHA)


def test_energy_integral():
    """A training job, a service and failures on: the plugin's energy is the time series' integral."""
    pue = "[" + ", ".join(str(1.1 + 0.1 * math.sin(h / 24 * 2 * math.pi)) for h in range(24)) + "]"
    for label, facility in (("constant PUE", "{pue: 1.25}"), ("hourly PUE", f"{{pue: {pue}, power_cap: 150kW}}")):
        s, out = run_ok(f"integral-{label[:5]}", write(f"integral-{label[:5]}.yaml", scenario(
            f"integral-{label[:5]}", facility, training("t", 32, 3e10) + SERVICE, horizon="3d", nodes=16,
            failures="{enabled: true, rate_scale: 200, repair_time: 6h}")))
        if not s:
            continue
        c = s["cluster"]
        rows, it, fac = integrals(out)
        check(f"{label}: IT energy (plugin) = integral of it_power_w within 0.1%",
              abs(it / c["it_energy_j"] - 1) < 1e-3, f"{it} vs {c['it_energy_j']}")
        check(f"{label}: facility energy = integral of facility_power_w within 0.1%",
              abs(fac / c["facility_energy_j"] - 1) < 1e-3, f"{fac} vs {c['facility_energy_j']}")
        check(f"{label}: failures happened (the plugin saw hosts off)", c["failures"] > 0, str(c["failures"]))
        if label == "constant PUE":
            check("constant PUE: facility energy = IT energy x 1.25",
                  abs(c["facility_energy_j"] / (c["it_energy_j"] * 1.25) - 1) < 1e-12)
            check("constant PUE: peak facility power = peak IT power x 1.25",
                  abs(c["peak_facility_power_w"] / (c["peak_it_power_w"] * 1.25) - 1) < 1e-12)
        else:
            # Every row: facility = IT x the PUE of its hour.
            profile = [1.1 + 0.1 * math.sin(h / 24 * 2 * math.pi) for h in range(24)]
            # (The row at the end of the run closes the hour that ends there.)
            end = float(rows[-1]["time_s"])
            hour = lambda t: int((t if t < end else math.nextafter(t, 0)) // H) % 24
            bad = [r for r in rows if abs(float(r["facility_power_w"]) -
                                          float(r["it_power_w"]) * profile[hour(float(r["time_s"]))]) >
                   1e-9 * float(r["facility_power_w"])]
            check("hourly PUE: every row's facility power = IT power x its hour's PUE", not bad, str(bad[:2]))
            check("hourly PUE: the summary's PUE lies within the profile", min(profile) <= c["pue"] <= max(profile),
                  str(c["pue"]))
        invariants(label, out, s, 16 * 8)


def test_cap_never_exceeded():
    wl = training("a", 32, 4e10) + training("b", 32, 2e10, "1h")
    free, _ = run_ok("uncapped", write("uncapped.yaml", scenario("uncapped", "{pue: 1.2}", wl)))
    s, out = run_ok("capped", write("capped.yaml", scenario("capped", "{pue: 1.2, power_cap: 80kW}", wl)))
    if not (s and free):
        return
    check("uncapped: the same jobs exceed 80 kW of facility power", free["cluster"]["peak_facility_power_w"] > 80e3,
          str(free["cluster"]["peak_facility_power_w"]))
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    peak = max(float(r["facility_power_w"]) for r in rows)
    check(f"capped: no time-series row above the 80 kW cap (peak {peak:.0f} W)", peak <= 80e3 * (1 + 1e-12))
    c = s["cluster"]
    check("capped: summary has power_cap_w and the throttle figures",
          c["power_cap_w"] == 80e3 and c["power_throttled_s"] > 0 and c["power_cap_lost_gpu_hours"] > 0, str(c))
    # With both jobs, 8 nodes running: level 60% is the highest under the cap (by hand).
    both = [f for f in LEVELS if (8 * node_w(f) + NET8) * 1.2 <= 80e3]
    print(f"      by hand: 8 running nodes at 100/85/70/60/50% and the fabric ({NET8:.0f} W) draw "
          + ", ".join(f"{(8 * node_w(f) + NET8) * 1.2 / 1e3:.1f}" for f in LEVELS) + " kW facility; cap 80 kW -> "
          f"{both[0]:.0%}")
    check("capped: both jobs ran at the level the table gives (peak = 8 nodes at it x PUE)",
          abs(c["peak_facility_power_w"] - (8 * node_w(both[0]) + NET8) * 1.2) < 1e-6, f"{c['peak_facility_power_w']}")


def test_capped_slower():
    """One job on 4 of 8 nodes, PUE 1, a 40 kW cap: the level and the slowdown follow from the table."""
    wl = training("t", 32, 2e10)
    free, _ = run_ok("slow-free", write("slow-free.yaml", scenario("slow-free", "{pue: 1.0}", wl)))
    s, _ = run_ok("slow-cap", write("slow-cap.yaml", scenario("slow-cap", "{pue: 1.0, power_cap: 40kW}", wl)))
    if not (s and free):
        return
    others = 4 * IDLE + NET8
    level = next(f for f in LEVELS if others + 4 * node_w(f) <= 40e3)
    w0, w1 = free["workloads"][0], s["workloads"][0]
    step, exposed = w0["step_time_s"], w0["step_breakdown_s"]["exposed_comm"]
    expected = ((step - exposed) / speed(level) + exposed) / step
    print(f"      by hand: 4 idle nodes and the fabric {others:.0f} W + 4 nodes at {level:.0%} of TDP "
          f"{4 * node_w(level):.0f} W <= 40 kW; speed ({level} x {TDP:.0f} - {GPU_IDLE:.0f}) / "
          f"({TDP:.0f} - {GPU_IDLE:.0f}))^(1/{ALPHA:.3f}) = {speed(level):.4f}; step {step:.4f} s of which {exposed:.4f} s "
          f"exposed communication -> x {expected:.4f}")
    ratio = w1["completion_s"] / w0["completion_s"]
    check(f"capped run slower by the pstate table's factor ({ratio:.5f} vs {expected:.5f})",
          abs(ratio / expected - 1) < 1e-6 and ratio > 1.05)
    check("capped: same steps, fewer tokens/s, throttled the whole run",
          w1["steps"] == w0["steps"] and abs(w1["power_throttled_s"] - w1["completion_s"]) < 1e-6 * w1["completion_s"])
    lost = w1["power_cap_lost_tokens"]
    tokens = w1["tokens"]
    check("capped: tokens lost to the cap = tokens x (1 - 1/factor) of its run at full clock",
          abs(lost / (tokens * (expected - 1)) - 1) < 1e-3, f"{lost} vs {tokens * (expected - 1)}")


def test_held_for_power():
    """A cap that fits one job at the lowest level but not two: the second waits for the first."""
    cap = (4 * IDLE + 4 * node_w(0.5) + NET8) * 1.0 + 1000  # one job of 4 nodes at 50%, plus 1 kW
    wl = training("first", 32, 1e10) + training("second", 32, 1e10, "10min")
    s, _ = run_ok("held", write("held.yaml", scenario("held", f"{{pue: 1.0, power_cap: {cap / 1e3}kW}}", wl)))
    if not s:
        return
    a, b = s["workloads"]
    check("held: the second starts when the first ends", abs(b["start_s"] - a["end_s"]) < 1e-6,
          f"{b['start_s']} vs {a['end_s']}")
    check("held: its wait is the power hold", abs(b["power_held_s"] - (a["end_s"] - 600)) < 1e-6
          and abs(b["wait_s"] - b["power_held_s"]) < 1e-6, f"{b['power_held_s']} {b['wait_s']}")
    check("held: counted in the summary", s["cluster"]["power_held_jobs"] == 1)


def test_decode_power():
    s, out = run_ok("decode", write("decode.yaml", scenario("decode", "{pue: 1.0}", SERVICE, horizon="1d")))
    if s:
        w = s["workloads"][0]
        check("a serving replica's 2 nodes draw decode power (host + 8 x 600 W) while it runs",
              abs(w["energy_j"] / (2 * decode_node_watts("dgx-h100") * (w["end_s"] - w["start_s"])) - 1) < 1e-6)


def test_decode_utilisation():
    """A lightly loaded service: its nodes draw idle + (decode - idle) x u, u the quarter
    nearest its replicas' busy share (docs/models/power.md)."""
    light = SERVICE.replace("rate: 5/s, count: 20000", "rate: 0.5/s, count: 1500")
    s, _ = run_ok("decode-light", write("decode-light.yaml", scenario("decode-light", "{pue: 1.0}", light, horizon="1d")))
    if not s:
        return
    w = s["workloads"][0]
    busy = w["replica_busy_fraction"]
    u = min((1.0, 0.75, 0.5, 0.25), key=lambda x: (abs(x - busy), -x))
    per_node = IDLE + (decode_node_watts("dgx-h100") - IDLE) * u
    print(f"      by hand: replicas busy {busy:.3f} of the time -> decode pstate at {u}: "
          f"{IDLE:.0f} + ({decode_node_watts('dgx-h100'):.0f} - {IDLE:.0f}) x {u} = {per_node:.0f} W per node")
    check("a lightly loaded service draws less than a saturated one",
          u < 1 and abs(w["energy_j"] / (2 * per_node * (w["end_s"] - w["start_s"])) - 1) < 1e-6,
          f"{w['energy_j']} vs {2 * per_node * (w['end_s'] - w['start_s'])}")


def test_restart_idle():
    """A training job restarting after a failure holds its nodes idle through detection and
    restart: its power drops, then comes back when its steps resume."""
    s, out = run_ok("restart-idle", write("restart-idle.yaml", scenario(
        "restart-idle", "{pue: 1.0}", training("t", 32, 4e11), horizon="2d",
        failures="{enabled: true, rate_scale: 100, restart_time: 25min, repair_time: 6h}")))
    if not s:
        return
    rows = read_csv(os.path.join(out, "timeseries.csv"))
    restarting = [r for r in rows if int(r["busy_accelerators"]) == 32 and float(r["tokens_per_s:t"]) == 0]
    stepping = [r for r in rows if float(r["tokens_per_s:t"]) > 0]
    check("restart: the job restarted at least once", s["workloads"][0]["interruptions"] > 0 and restarting)
    check("restart: while it restarts every node draws at most its idle power",
          all(float(r["it_power_w"]) <= 8 * IDLE + NET8 + 1e-6 for r in restarting), str(restarting[:1]))
    check("restart: while it steps its 4 nodes draw full power",
          all(float(r["it_power_w"]) >= 4 * node_w(1.0) for r in stepping), str(stepping[:1]))
    check("restart: a swing of its 4 nodes from full to idle is reported",
          s["cluster"]["max_power_swing_w"] >= 4 * (node_w(1.0) - IDLE) - 1e-6, str(s["cluster"]["max_power_swing_w"]))


def test_sites():
    """The site scenarios run (2 h of each: the full 3 days take minutes) and stay under their cap."""
    folder = os.path.join(ROOT, "scenarios", "sites")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".yaml"):
            continue
        s, out = run_ok(f"site-{name}", os.path.join(folder, name), "--set", "horizon=2h")
        if not s:
            continue
        c = s["cluster"]
        rows = read_csv(os.path.join(out, "timeseries.csv"))
        peak = max(float(r["facility_power_w"]) for r in rows)
        check(f"sites/{name}: 2 h run, facility peak {peak / 1e6:.1f} MW under the {c['power_cap_w'] / 1e6:.0f} MW cap",
              peak <= c["power_cap_w"] * (1 + 1e-12) and c["it_energy_j"] > 0)
        invariants(f"sites/{name}", out, s, c["accelerators"])


HELD_SERVICE = """\
name: held-service
seed: 1
horizon: 1d
cluster:
  design:
    pods:
      - {name: h, count: 1, nodes: 8, node: dgx-h100}
  facility: {pue: 1.0, power_cap: 42kW}
workloads:
  - {name: t, kind: pretrain, model: llama3-8b, gpus: 32, parallelism: {tp: 8, pp: 1, dp: 4}, seq_len: 8192,
     global_batch: 64, micro_batch: 1, tokens: 1e10}
  - name: chat
    kind: inference
    model: llama2-70b
    gpus: 16
    parallelism: {tp: 8}
    precision: fp8
    requests: {mode: poisson, rate: 5/s, count: 2000, input_tokens: 512, output_tokens: 256}
    max_batch: 128
    submit: 10min
"""

HOUR_END = """\
name: hour-end
seed: 1
horizon: 1d
cluster:
  design:
    pods:
      - {name: h, count: 1, nodes: 4, node: dgx-h100}
  facility: {pue: [1.3, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1], power_cap: 45kW}
workloads:
  - {name: t, kind: pretrain, model: llama3-8b, gpus: 32, parallelism: {tp: 8, pp: 1, dp: 4}, seq_len: 8192, global_batch: 64, micro_batch: 1}
"""


def test_held_service_and_hour_end():
    # A service held for power serves its requests from when it starts: its TTFT counts the hold.
    s, _ = run_ok("held-service", write("held-service.yaml", HELD_SERVICE))
    if s:
        chat = s["workloads"][1]
        check("a service held for power: its requests wait for it (TTFT p50 near the hold, done after its start)",
              chat["power_held_s"] > 3600 and chat["ttft_p50_s"] > 0.9 * chat["power_held_s"]
              and chat["end_s"] > chat["start_s"], {k: chat.get(k) for k in ("power_held_s", "ttft_p50_s", "start_s", "end_s")})
    # The run ends at the start of hour 0 again (PUE 1.3 there, 1.1 in the hour before): the
    # closing row is at the ending hour's PUE, and no peak above the cap.
    s, out = run_ok("hour-end", write("hour-end.yaml", HOUR_END))
    if s:
        rows = read_csv(os.path.join(out, "timeseries.csv"))
        top = max(float(r["facility_power_w"]) for r in rows)
        check("a capped run's closing row and peak stay under the cap", top <= 45000 * (1 + 1e-12)
              and s["cluster"]["peak_facility_power_w"] <= 45000 * (1 + 1e-12), (top, s["cluster"]["peak_facility_power_w"]))
        check("one time-series row per instant", len({r["time_s"] for r in rows}) == len(rows))


def test_network():
    """Network power through SimGrid's link energy plugin: the fabric's wattage by hand, its
    energy = its power x the run (the plugin's integral), counted in IT power, energy and
    the cap."""
    cases = [("two pods", 2, 40, 1.0), ("one pod, 2:1", 1, 40, 2.0)]
    for label, pods, nodes, over in cases:
        name = "net-" + label.split(",")[0].replace(" ", "")
        text = design_head(name, "6h", nodes, count=pods, pod="q").replace(
            "node: dgx-h100}", f"node: dgx-h100, fabric: {{topology: fat-tree, oversubscription: {over}}}}}")
        text += "  facility: {pue: 1.2}\nworkloads:\n" + training("t", 64, 5e9, "1h")
        s, out = run_ok(name, write(name + ".yaml", text))
        if not s:
            continue
        c = s["cluster"]
        hand = net_w(pods, nodes, over=over)
        leaves = -(-nodes // 32)
        print(f"      by hand ({label}): {pods} pod(s) x ({nodes} x 8 leaf ports + 2 x {nodes} x 8 / {over:g} up and "
              f"spine ports{' + 2 x ' + str(nodes * 8) + ' pod uplink and core ports' if pods > 1 else ''}) "
              f"x 8.5 W = {hand:.0f} W ({leaves} leaves)")
        check(f"network ({label}): network_power_w = the ports by hand ({hand:.0f} W)",
              abs(c["network_power_w"] - hand) < 1e-9 * hand, str(c["network_power_w"]))
        check(f"network ({label}): network energy (link plugin) = its power x the run within 0.1%",
              abs(c["network_energy_j"] / (hand * s["simulated_s"]) - 1) < 1e-3,
              f"{c['network_energy_j']} vs {hand * s['simulated_s']}")
        rows, it, fac = integrals(out)
        check(f"network ({label}): IT energy (host + link plugins) = integral of it_power_w within 0.1%",
              abs(it / c["it_energy_j"] - 1) < 1e-3, f"{it} vs {c['it_energy_j']}")
        idle_rows = [r for r in rows if int(r["busy_accelerators"]) == 0 and int(r["allocated_accelerators"]) == 0]
        check(f"network ({label}): an idle cluster draws its nodes' idle power + the fabric",
              idle_rows and all(abs(float(r["it_power_w"]) - (pods * nodes * IDLE + hand)) < 1e-6 for r in idle_rows),
              str(idle_rows[:1]))
    # A cap counts the fabric: a cap between the idle nodes' facility power and the idle
    # nodes + fabric is refused as below the idle fleet.
    idle_nodes = 8 * IDLE * 1.1
    cap = (idle_nodes + NET8 * 1.1 / 2) / 1e3
    path = write("net-cap.yaml", scenario("net-cap", f"{{pue: 1.1, power_cap: {cap}kW}}", training("t", 32, 1e9)))
    p, cmd = fleetsim("run", path, "--out", os.path.join(os.path.dirname(path), "net-cap-out"), "--quiet")
    check("network: a cap under the idle nodes + fabric is refused (the cap counts the fabric)",
          p.returncode == 2 and "idle fleet" in p.stderr, f"exit {p.returncode}: {p.stderr.strip()}\n      reproduce: {cmd}")


def test_service_capped():
    """Under a cap a service is admitted at the fastest DVFS level that fits with training at
    the lowest, keeps it, and is planned at that level's GEMM speed: its prefill and
    compute-bound decode slow, its HBM-bound decode does not.
    By hand (8 DGX H100, PUE 1, 50 kW cap): training on 4 nodes at the lowest level
    4 x 7,400 W + 2 idle 2 x 1,560 W + the fabric 1,632 W = 34,352 W, plus the service's 2 nodes
    at 350 W boards 2 x 7,400 W = 49,152 W fits; at 420 W boards (2 x 8,520 W) 50,272 W does
    not, so the service runs at 350 W (GEMM speed 0.592). Under a 60 kW cap it fits at full
    decode power (53,152 W): level 0, the uncapped latencies."""
    prefill_heavy = SERVICE.replace("count: 20000", "count: 2000").replace(
        "input_tokens: 512, output_tokens: 256", "input_tokens: 4096, output_tokens: 16") + "    submit: 10min\n"
    decode_bound = SERVICE.replace("rate: 5/s, count: 20000", "rate: 0.5/s, count: 400").replace(
        "input_tokens: 512, output_tokens: 256", "input_tokens: 64, output_tokens: 512") + "    submit: 10min\n"
    lowest = 4 * node_w(0.5) + 2 * (HOST + 8 * min(600, 0.5 * TDP)) + 2 * IDLE + NET8
    print(f"      by hand: the service at 350 W boards {lowest:.0f} W <= 50 kW; at 420 W "
          f"{lowest + 2 * 8 * 70:.0f} W > 50 kW; at full decode {lowest + 2 * (8 * 600 - 8 * 350):.0f} W <= 60 kW")
    keys = ("ttft_p50_s", "tpot_p50_s", "tpot_p99_s")
    for label, svc in (("prefill-heavy", prefill_heavy), ("decode-bound", decode_bound)):
        wl = training("t", 32, 2e10) + svc
        free, _ = run_ok(f"svc-free-{label}", write(f"svc-free-{label}.yaml", scenario(f"svc-free-{label}", "{pue: 1.0}", wl, horizon="1d")))
        s, out = run_ok(f"svc-cap-{label}", write(f"svc-cap-{label}.yaml",
                                                  scenario(f"svc-cap-{label}", "{pue: 1.0, power_cap: 50kW}", wl, horizon="1d")))
        if not (s and free):
            continue
        chat, chat0 = s["workloads"][1], free["workloads"][1]
        check(f"capped service ({label}): not held (it starts at its submit time)", chat["power_held_s"] == 0
              and abs(chat["start_s"] - 600) < 1e-6, {k: chat.get(k) for k in ("power_held_s", "start_s")})
        rows = read_csv(os.path.join(out, "timeseries.csv"))
        peak = max(float(r["facility_power_w"]) for r in rows)
        check(f"capped service ({label}): no time-series row above the 50 kW cap (peak {peak:.0f} W)", peak <= 50e3 * (1 + 1e-12))
        ratio = {k: chat[k] / chat0[k] for k in keys}
        print(f"      {label}: capped / uncapped " + ", ".join(f"{k} {v:.3f}" for k, v in ratio.items()))
        if label == "prefill-heavy":
            # 4,096-token prefills are GEMM-bound: at GEMM speed 0.592 they take 1/0.592 = 1.69x.
            check("capped service (prefill-heavy): TTFT slower, at least 1.3x uncapped (prefill at GEMM speed 0.592)",
                  ratio["ttft_p50_s"] > 1.3, ratio)
        else:
            # Small batches: every decode GEMM is bound by the weight read. (Its 64-token prefills
            # are not: the tile model bills them a whole 128-row tile, so its TTFT slows too.)
            check("capped service (decode-bound): TPOT p50 and p99 within 0.5% of uncapped (HBM-bound decode)",
                  all(abs(ratio[k] - 1) < 5e-3 for k in ("tpot_p50_s", "tpot_p99_s")), ratio)
            check("capped service (decode-bound): its nodes drew less energy than uncapped over the same service time",
                  chat["energy_j"] < chat0["energy_j"] * (1 - 1e-3) and abs(chat["end_s"] - chat0["end_s"]) < 1e-3 * chat0["end_s"],
                  f"{chat['energy_j']} vs {chat0['energy_j']}, end {chat['end_s']} vs {chat0['end_s']}")
            check("capped service: training throttled meanwhile", s["cluster"]["power_throttled_s"] > 0)
            loose, _ = run_ok("svc-loose", write("svc-loose.yaml", scenario("svc-loose", "{pue: 1.0, power_cap: 60kW}", wl, horizon="1d")))
            if loose:
                l = loose["workloads"][1]
                check("capped service (60 kW: fits at full power): exactly the uncapped latencies and energy",
                      all(l[k] == chat0[k] for k in keys) and l["energy_j"] == chat0["energy_j"],
                      {k: (l[k], chat0[k]) for k in keys + ("energy_j",)})


def test_service_alone_capped():
    """A service alone under a cap: no training runs, so nothing is throttled
    (power_throttled_s 0), and its time at a level below full power is
    power_service_limited_s. By hand (8 DGX H100, PUE 1, 28 kW): 6 idle nodes 9,360 W + the
    fabric 1,632 W + the service's 2 nodes at full decode 18,800 W = 29,792 W > 28 kW; at
    490 W boards 2 x 8,520 W: 28,032 W > 28 kW; at 420 W boards 2 x 7,960 W: 26,912 W fits."""
    wl = SERVICE.replace("count: 20000", "count: 2000")
    s, _ = run_ok("svc-alone", write("svc-alone.yaml", scenario("svc-alone", "{pue: 1.0, power_cap: 28kW}", wl, horizon="1d")))
    if not s:
        return
    c, chat = s["cluster"], s["workloads"][0]
    check("service alone under a cap: power_throttled_s = 0 (no training ran)", c["power_throttled_s"] == 0, c["power_throttled_s"])
    check("service alone under a cap: power_service_limited_s = its run (start to end)",
          abs(c["power_service_limited_s"] - (chat["end_s"] - chat["start_s"])) < 1e-6 * chat["end_s"],
          f"{c['power_service_limited_s']} vs {chat['end_s'] - chat['start_s']}")


def test_bad_input():
    cases = [
        ("pue-23", "{pue: [" + ", ".join(["1.1"] * 23) + "]}", "cluster.facility.pue",
         "expected 24 hourly PUE values"),
        ("pue-low", "{pue: [" + ", ".join(["1.1"] * 5 + ["0.9"] + ["1.1"] * 18) + "]}", "cluster.facility.pue.5",
         "expected a number from 1 to 5"),
        ("cap-idle", "{pue: 1.1, power_cap: 10kW}", "cluster.facility.power_cap",
         "expected at least the idle fleet's facility power"),
        ("swing-unit", "{pue: 1.1, swing_window: 5}", "cluster.facility.swing_window", "unit"),
    ]
    for name, facility, key, words in cases:
        path = write(f"{name}.yaml", scenario(name, facility, training("t", 32, 1e9)))
        out = os.path.join(os.path.dirname(path), f"{name}-out")
        p, cmd = fleetsim("run", path, "--out", out, "--quiet")
        line = next((l for l in p.stderr.splitlines() if key in l), "")
        check(f"bad input ({name}): exit 2, one FILE:LINE:COL line naming {key}",
              p.returncode == 2 and line.startswith(path + ":") and words in line and not os.path.exists(out),
              f"exit {p.returncode}: {p.stderr.strip()}\n      reproduce: {cmd}")


test_energy_integral()
test_cap_never_exceeded()
test_capped_slower()
test_held_for_power()
test_decode_power()
test_decode_utilisation()
test_restart_idle()
test_bad_input()
test_network()
test_service_capped()
test_service_alone_capped()
test_held_service_and_hour_end()
test_sites()
sys.exit(finish())
