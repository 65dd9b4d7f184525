#!/usr/bin/env python3
"""Serving through the binary: prefill/decode disaggregation (the effect Splitwise and
DistServe report, a KV transfer by hand, NVLink placement, representative replicas),
FP4 on Blackwell, and the H20 question (issue 4 items 1 and 8).

Usage: serving_tests.py BUILD/fleetsim REPO_ROOT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, design_head, catalog_node, check, finish, fleetsim, run_ok, write  # noqa: E402


def service(name, node, nodes, body, horizon="2h"):
    return design_head(name, horizon, nodes, node) + f"""\
workloads:
{body}"""


def chat(gpus, requests, tp=4, extra="", model="llama2-70b", precision="fp8", max_batch=256):
    return f"""\
  - name: chat
    kind: inference
    model: {model}
    gpus: {gpus}
    parallelism: {{tp: {tp}}}
    precision: {precision}
    requests: {requests}
    max_batch: {max_batch}
{extra}"""


def bandwidth_bytes(text):
    """'400Gbps' -> bytes/s; '450GBps' -> bytes/s."""
    text = str(text)
    for suffix, k in (("Gbps", 1e9 / 8), ("GBps", 1e9), ("Tbps", 1e12 / 8), ("TBps", 1e12)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * k
    raise ValueError(text)


# Llama 2 70B: KV bytes per token in FP8 = 2 (K, V) x 80 layers x 8 KV heads x 128 x 1 B.
KV_FP8_PER_TOKEN = 2 * 80 * 8 * 128
# collectives.hpp: NCCL's achievable fraction on NVLink (370/450) and on the NICs (47/50);
# simulation.cpp: per-step latencies 3.4 us (scale-up) and 14 us (scale-out).
NVLINK_EFF, NIC_EFF, NVLINK_LAT, NIC_LAT = 370 / 450, 47 / 50, 3.4e-6, 14e-6


def test_disaggregation_under_load():
    """Same 32 H100, same stream (30 prompts/s of 2,048 tokens, 256-token answers): split
    into 12 prefill and 20 decode GPUs, decode no longer waits for prefills, so TPOT p99
    drops; every request still completes at the arrival rate."""
    stream = "{mode: poisson, count: 10000, rate: 30/s, input_tokens: 2048, output_tokens: 256}"
    co, _ = run_ok("colocated", write("colocated.yaml", service("colocated", "dgx-h100", 4, chat(32, stream))))
    split, _ = run_ok("disaggregated", write("disaggregated.yaml", service(
        "disaggregated", "dgx-h100", 4,
        chat(32, stream, extra="    disaggregation: {prefill_gpus: 12, prefill_parallelism: {tp: 4}}\n"))))
    if not (co and split):
        return
    a, b = co["workloads"][0], split["workloads"][0]
    d = b["disaggregation"]
    print(f"      co-located: TPOT p50 {a['tpot_p50_s'] * 1e3:.2f} ms p99 {a['tpot_p99_s'] * 1e3:.2f} ms, "
          f"TTFT p50 {a['ttft_p50_s'] * 1e3:.1f} ms; disaggregated: TPOT p50 {b['tpot_p50_s'] * 1e3:.2f} ms "
          f"p99 {b['tpot_p99_s'] * 1e3:.2f} ms, TTFT p50 {b['ttft_p50_s'] * 1e3:.1f} ms, "
          f"KV transfer p50 {d['kv_transfer_p50_s'] * 1e3:.2f} ms")
    check("disaggregation: both complete every request", a["completed_requests"] == b["completed_requests"] == 10000)
    check("disaggregation: TPOT p99 drops by at least 20% at the same GPUs under load",
          b["tpot_p99_s"] < 0.8 * a["tpot_p99_s"], f"{b['tpot_p99_s']} vs {a['tpot_p99_s']}")
    check("disaggregation: same throughput (both keep up with the stream)",
          abs(b["output_tokens_per_s"] / a["output_tokens_per_s"] - 1) < 0.01,
          f"{b['output_tokens_per_s']} vs {a['output_tokens_per_s']}")
    check("disaggregation: pools as asked (3 prefill replicas of tp 4, 5 decode replicas)",
          d["prefill_replicas"] == 3 and d["decode_replicas"] == 5 and b["replicas"] == 5
          and d["prefill_gpus"] == 12 and d["decode_gpus"] == 20, str(d))
    check("disaggregation: per-pool figures within [0, 1] and a decode batch",
          0 < d["prefill_busy_fraction"] <= 1 and 0 < d["decode_busy_fraction"] <= 1
          and d["decode_mean_batch"] >= 1 and b["mean_batch"] == d["decode_mean_batch"], str(d))
    check("disaggregation: TTFT p50 includes the KV transfer",
          b["ttft_p50_s"] >= d["kv_transfer_p50_s"] and d["kv_transfer_p50_s"] > 0, str(d))
    check("disaggregation: KV bytes per request = 160 KiB x 2,048 tokens (FP8)",
          d["kv_bytes_per_request"] == KV_FP8_PER_TOKEN * 2048, str(d["kv_bytes_per_request"]))


def one_request(name, gpus, nodes, extra):
    stream = "{mode: offline, count: 1, input_tokens: 4096, output_tokens: 64}"
    return run_ok(name, write(f"{name}.yaml", service(name, "dgx-h100", nodes, chat(gpus, stream, extra=extra))))


def test_kv_transfer_by_hand():
    """One request: the prefill is the same as co-located (same tp 4), so TTFT grows by the
    KV transfer alone: 4,096 tokens x 160 KiB = 671 MB over 4 ranks (min(tp, kv heads) of
    each replica), each a point-to-point send on its share of the node's NICs
    (8 x 400 Gb/s / 8 GPUs = 50 GB/s, 94% achievable, 14 us)."""
    co, _ = one_request("one-colocated", 8, 2, "")
    split, _ = one_request("one-disaggregated", 16, 2,
                           "    disaggregation: {prefill_gpus: 8, prefill_parallelism: {tp: 4}}\n")
    if not (co and split):
        return
    a, b = co["workloads"][0], split["workloads"][0]
    node = catalog_node("dgx-h100")
    nic = bandwidth_bytes(node["nic_bandwidth"]) * node["nics"] / node["accelerators"]
    transfer = KV_FP8_PER_TOKEN * 4096 / 4 / (nic * NIC_EFF) + NIC_LAT
    d = b["disaggregation"]
    print(f"      KV transfer: simulated {d['kv_transfer_p50_s'] * 1e3:.4f} ms, by hand {transfer * 1e3:.4f} ms")
    check("KV transfer by hand: across nodes over the NICs", d["kv_transfer_nvlink_share"] == 0, str(d))
    check("KV transfer by hand: transfer time", abs(d["kv_transfer_p50_s"] / transfer - 1) < 1e-9,
          f"{d['kv_transfer_p50_s']} vs {transfer}")
    check("KV transfer by hand: TTFT = co-located TTFT + transfer",
          abs(b["ttft_p50_s"] - (a["ttft_p50_s"] + transfer)) < 1e-9, f"{b['ttft_p50_s']} vs {a['ttft_p50_s']} + {transfer}")
    check("KV transfer by hand: one request alone decodes as fast as co-located",
          abs(b["tpot_p50_s"] / a["tpot_p50_s"] - 1) < 1e-9, f"{b['tpot_p50_s']} vs {a['tpot_p50_s']}")


def test_kv_transfer_over_nvlink():
    """Prefill and decode replicas on one node: the KV crosses NVLink (450 GB/s per GPU,
    370/450 achievable, 3.4 us), about 9 times faster than over the NICs."""
    split, _ = one_request("one-nvlink", 8, 1, "    disaggregation: {prefill_gpus: 4, prefill_parallelism: {tp: 4}}\n")
    if not split:
        return
    d = split["workloads"][0]["disaggregation"]
    node = catalog_node("dgx-h100")
    transfer = KV_FP8_PER_TOKEN * 4096 / 4 / (bandwidth_bytes(node["scale_up_bandwidth"]) * NVLINK_EFF) + NVLINK_LAT
    check("KV over NVLink: inside the node", d["kv_transfer_nvlink_share"] == 1, str(d))
    check("KV over NVLink: transfer time by hand", abs(d["kv_transfer_p50_s"] / transfer - 1) < 1e-9,
          f"{d['kv_transfer_p50_s']} vs {transfer}")


def test_kv_transfer_between_pods():
    """Prefill pool in one pod, decode pool in another, pods joined by 800 Gb/s uplinks: a
    rank's share of its pod's uplink (100 GB/s / 8 accelerators = 12.5 GB/s) is below its
    NIC share (50 GB/s), so the KV crosses at 12.5 GB/s x 94%."""
    text = service("pods", "dgx-h100", 1, chat(16, "{mode: offline, count: 1, input_tokens: 4096, output_tokens: 64}",
                                               extra="    disaggregation: {prefill_gpus: 8, prefill_parallelism: {tp: 4}}\n"))
    text = text.replace("{name: p, count: 1, nodes: 1, node: dgx-h100}\n",
                        "{name: p, count: 2, nodes: 1, node: dgx-h100}\n    interconnect: {bandwidth_per_pod: 800Gbps}\n")
    split, _ = run_ok("one-pods", write("one-pods.yaml", text))
    if not split:
        return
    d = split["workloads"][0]["disaggregation"]
    transfer = KV_FP8_PER_TOKEN * 4096 / 4 / (100e9 / 8 * NIC_EFF) + NIC_LAT
    check("KV between pods: every transfer crosses pods", d["kv_transfer_cross_pod_share"] == 1, str(d))
    check("KV between pods: at the uplink's share, by hand", abs(d["kv_transfer_p50_s"] / transfer - 1) < 1e-9,
          f"{d['kv_transfer_p50_s']} vs {transfer}")


def test_disaggregation_representative_replicas():
    """An open stream over 24 prefill and 40 decode replicas, simulated on 8 of each, stays
    within 2% of simulating them all (throughput, TTFT and TPOT p50 and p99)."""
    body = chat(256, "{mode: poisson, rate: 240/s, input_tokens: 2048, output_tokens: 256}",
                extra="    disaggregation: {prefill_gpus: 96, prefill_parallelism: {tp: 4}}\n")
    path = write("disagg-rep.yaml", service("disagg-rep", "dgx-h100", 32, body, horizon="30min"))
    full, _ = run_ok("disagg-rep-full", path, "--set", "workloads.0.requests.representative_replicas=0")
    some, _ = run_ok("disagg-rep-8", path, "--set", "workloads.0.requests.representative_replicas=8")
    if not (full and some):
        return
    a, b = full["workloads"][0], some["workloads"][0]
    check("disaggregation, representative: 8 of 40 decode and 8 of 24 prefill replicas simulated",
          a["disaggregation"]["simulated_decode_replicas"] == 40 and b["disaggregation"]["simulated_decode_replicas"] == 8
          and a["disaggregation"]["simulated_prefill_replicas"] == 24
          and b["disaggregation"]["simulated_prefill_replicas"] == 8)
    for key in ["output_tokens_per_s", "requests_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s"]:
        check(f"disaggregation, representative: {key} within 2% of every replica simulated",
              abs(b[key] / a[key] - 1) < 0.02, f"{b[key]} vs {a[key]}")


def test_fp4():
    """B200 with FP4 compute and NVFP4 weights: a decode-heavy service reads 9/16 of FP8's
    layer weight bytes per step (the embedding tables stay BF16 at both) and holds more KV cache, so it generates more tokens per second;
    H100 has no FP4 tensor cores and is refused with the key's line."""
    stream = "{mode: offline, count: 4096, input_tokens: 512, output_tokens: 1024}"
    runs = {}
    for precision in ("fp8", "fp4"):
        runs[precision], _ = run_ok(f"b200-{precision}", write(f"b200-{precision}.yaml", service(
            f"b200-{precision}", "dgx-b200", 1, chat(8, stream, tp=8, precision=precision, max_batch=64))))
    if runs["fp8"] and runs["fp4"]:
        a, b = runs["fp8"]["workloads"][0], runs["fp4"]["workloads"][0]
        print(f"      B200 decode-heavy: FP8 {a['output_tokens_per_s']:.0f} tok/s, FP4 {b['output_tokens_per_s']:.0f} tok/s")
        check("FP4: precision reported", b["precision"] == "fp4")
        # The layers' weights take 9/16 of FP8's bytes; the two embedding tables of llama2-70b
        # (32000 x 8192 each, split over TP 8) stay BF16 at both precisions.
        tables = 2 * 32000 * 8192 / 8 * 2
        check("FP4: layer weights per GPU are 9/16 of FP8's, the BF16 embedding tables unchanged",
              abs((b["weights_per_gpu_bytes"] - tables) / (a["weights_per_gpu_bytes"] - tables) - 9 / 16) < 1e-9,
              f"{b['weights_per_gpu_bytes']} vs {a['weights_per_gpu_bytes']}")
        check("FP4: more KV cache and more output tokens per second than FP8 on B200",
              b["kv_cache_tokens_per_replica"] > a["kv_cache_tokens_per_replica"]
              and b["output_tokens_per_s"] > a["output_tokens_per_s"])
    path = write("h100-fp4.yaml", service("h100-fp4", "dgx-h100", 1, chat(8, stream, tp=8, precision="fp4")))
    p, cmd = fleetsim("check", path)
    line = [l for l in p.stderr.splitlines() if "precision" in l]
    check("FP4 on H100: exit 2 with the key's line", p.returncode == 2 and line and line[0].endswith(
        "workloads.0.precision: expected an accelerator with FP4 tensor cores (peak_fp4 in the catalog: B200, GB200) "
        "for fp4, got H100-SXM, which has none"), f"{p.returncode}: {p.stderr}\n      reproduce: {cmd}")


def test_engine():
    """`engine:` names the serving stack. One request alone at TP 4: pytorch-eager adds
    80 layers x (95 - 66) ms / 96 (metaseq#270's host time per layer, with tensor
    parallelism) = 24.17 ms to every decode step and nothing to the prefill; tensorrt-llm
    adds nothing (no sourced figure); a value outside the list exits 2 at its line."""
    runs = {}
    for engine in ("ideal", "pytorch-eager", "tensorrt-llm"):
        runs[engine], _ = one_request(f"engine-{engine}", 4, 1, f"    engine: {engine}\n")
    if all(runs.values()):
        a, b, c = (runs[e]["workloads"][0] for e in ("ideal", "pytorch-eager", "tensorrt-llm"))
        host = 80 * (0.095 - 0.066) / 96
        check("engine: reported as set", (a["engine"], b["engine"], c["engine"]) == ("ideal", "pytorch-eager", "tensorrt-llm"))
        check("engine: pytorch-eager adds 80 x 0.302 ms to each decode step, by hand",
              abs(b["tpot_p50_s"] - a["tpot_p50_s"] - host) < 1e-9, f"{b['tpot_p50_s']} - {a['tpot_p50_s']} vs {host}")
        check("engine: pytorch-eager leaves the prefill alone", abs(b["ttft_p50_s"] - a["ttft_p50_s"]) < 1e-12)
        check("engine: tensorrt-llm adds nothing (no sourced figure)",
              c["tpot_p50_s"] == a["tpot_p50_s"] and c["ttft_p50_s"] == a["ttft_p50_s"])
    stream = "{mode: offline, count: 1, input_tokens: 4096, output_tokens: 64}"
    path = write("engine-bad.yaml", service("engine-bad", "dgx-h100", 1, chat(4, stream, extra="    engine: vllm\n")))
    p, cmd = fleetsim("check", path)
    first = p.stderr.strip().splitlines()[:1]
    check("engine: an unknown engine exits 2 with the key's line", p.returncode == 2 and first and first[0].startswith(
        path + ":") and first[0].endswith("workloads.0.engine: expected one of ideal pytorch-eager tensorrt-llm, "
                                          "got 'vllm'"), f"{p.returncode}: {p.stderr}\n      reproduce: {cmd}")


def test_reasoning_disaggregated():
    """Best-of-4 reasoning with a verifier, 4 of 16 H100 prefilling: the prompt's KV
    (1,000 tokens, sent once for the 4 samples) crosses to the decode pool, where the
    samples decode and the verifier scores them; the stream is served and the split
    shows a nearly idle prefill pool (decode-heavy queries)."""
    path = os.path.join(ROOT, "scenarios/reasoning-best-of-4.yaml")
    run, _ = run_ok("reasoning-disaggregated", path, "--set", "workloads.0.disaggregation={prefill_gpus: 4}")
    if not run:
        return
    w = run["workloads"][0]
    d = w["disaggregation"]
    check("reasoning disaggregated: 1 prefill and 3 decode replicas", d["prefill_replicas"] == 1 and w["replicas"] == 3)
    check("reasoning disaggregated: keeps up with 1 query/s", abs(w["queries_per_s"] - 1) < 0.1, str(w["queries_per_s"]))
    check("reasoning disaggregated: the prompt's KV sent once per query (1,000 x 160 KiB)",
          d["kv_bytes_per_request"] == KV_FP8_PER_TOKEN * 1000, str(d["kv_bytes_per_request"]))
    check("reasoning disaggregated: thinking is 2,000 of every 2,300 tokens per sample",
          abs(w["thinking_tokens_per_s"] / w["output_tokens_per_s"] - 2000 / 2300) < 1e-9)
    check("reasoning disaggregated: the verifier scores on the decode replicas", w["verify_share"] > 0)
    check("reasoning disaggregated: query latency beyond the first token, the prefill pool nearly idle",
          w["query_latency_p50_s"] > w["ttft_p50_s"] and d["prefill_busy_fraction"] < 0.2, str(d))


H20_TRAIN = """\
  - name: pretrain
    kind: pretrain
    model: llama3-70b
    gpus: 64
    parallelism: {tp: 8, pp: 4, dp: 2}
    seq_len: 8192
    global_batch: 64
    precision: bf16
    recompute: selective
"""


def test_h20_question():
    """The H20 has about 15% of an H100's BF16 peak but more HBM bandwidth (4.0 against
    3.35 TB/s) and memory (96 against 80 GB). Training is compute-bound: H20 tokens/s is
    near that FLOP ratio. Decode-heavy serving is bound by reading weights and KV cache:
    at a latency-minded batch (64 sequences) the H20 keeps most of the H100's output."""
    figures = {}
    for node in ("dgx-h100", "hgx-h20"):
        train, _ = run_ok(f"train-{node}", write(f"train-{node}.yaml", service(f"train-{node}", node, 8, H20_TRAIN, "1h")))
        serve = {}
        for batch in (64, 256):
            stream = "{mode: offline, count: 8192, input_tokens: 512, output_tokens: 2048}"
            serve[batch], _ = run_ok(f"serve-{node}-{batch}", write(f"serve-{node}-{batch}.yaml", service(
                f"serve-{node}-{batch}", node, 8, chat(64, stream, tp=8, model="llama3-70b", max_batch=batch))))
        if not (train and serve[64] and serve[256]):
            return
        figures[node] = (train["workloads"][0]["tokens_per_s"],
                         {b: s["workloads"][0]["output_tokens_per_s"] for b, s in serve.items()})
    train_ratio = figures["hgx-h20"][0] / figures["dgx-h100"][0]
    serve_ratio = {b: figures["hgx-h20"][1][b] / figures["dgx-h100"][1][b] for b in (64, 256)}
    print(f"      H20 / H100: training {train_ratio:.3f}, decode-heavy serving {serve_ratio[64]:.3f} at batch 64, "
          f"{serve_ratio[256]:.3f} at batch 256")
    check("H20 question: training keeps 10-25% of H100 tokens/s (near the 15% peak ratio)", 0.10 <= train_ratio <= 0.25,
          str(train_ratio))
    check("H20 question: decode-heavy serving at batch 64 keeps at least half of H100 output tokens/s",
          serve_ratio[64] >= 0.5, str(serve_ratio))
    check("H20 question: even at batch 256 (compute-bound on H20) serving keeps over twice training's share",
          serve_ratio[256] > 2 * train_ratio, f"{serve_ratio} vs {train_ratio}")


if __name__ == "__main__":
    test_disaggregation_under_load()
    test_kv_transfer_by_hand()
    test_kv_transfer_over_nvlink()
    test_kv_transfer_between_pods()
    test_disaggregation_representative_replicas()
    test_reasoning_disaggregated()
    test_fp4()
    test_engine()
    test_h20_question()
    sys.exit(finish())
