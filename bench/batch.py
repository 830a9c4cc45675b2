"""bench/batch.py — BERT-base on a batch: loom against PyTorch and ONNX
Runtime in one run, as a fraction of the fp32 peak measured in the same run.

A batch of B sentences of S tokens (default 32 × 64, every token real:
attention_mask all ones, as HF tokenizers give a batch of equal lengths),
BERT-base (examples/bert-base.yaml with `max_batch: B`, random weights:
speed does not depend on their values), one thread by default.  loom runs
the batched model (`loom bench`, JIT); PyTorch runs transformers'
BertModel (its default attention, SDPA) and ONNX Runtime the same model
exported with torch.onnx (when onnxruntime and onnx are importable:
PYTHONPATH may point at a `pip install --target` of them).

Rounds are interleaved (peak, loom, torch, ort, peak, ...); each figure is
the median over rounds of per-round medians.  GFLOP/s count loom's matmul
FLOPs (`loom bench`'s matmul_flop: the projections, the FFN and the
attention's Q·Kᵀ and P·V), the same for all three; % of peak is per round
against limits.c's wall-clock peak measured just before.  The machine is
shared: state its load (uptime) beside the figures.

    /work/venv-text/bin/python bench/batch.py [--batch 32] [--seq 64] [--rounds 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import attention as A  # noqa: E402  limits(), torch_ms()


def loom_bench(args, model, ids_npy):
    cmd = [args.loom, "bench", model, "--repeat", str(args.repeat), "--warmup", "1",
           "--backend", "jit", "--input", f"ids={ids_npy}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    kv = dict(line.split("=", 1) for line in out.stdout.split())
    return float(kv["run_ms_median"]), float(kv["matmul_flop"])


def ort_session(model, ids, mask, tmp, threads):
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime not importable"
    path = os.path.join(tmp, "bert.onnx")

    class Wrap(torch.nn.Module):  # by keyword: the exporter passes positionally
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    try:
        with torch.no_grad():
            torch.onnx.export(Wrap(model), (torch.from_numpy(ids), torch.from_numpy(mask)), path,
                              input_names=["input_ids", "attention_mask"],
                              output_names=["hidden"], opset_version=17, dynamo=False)
    except Exception as e:  # noqa: BLE001  (onnx missing, exporter errors)
        return None, f"export failed: {e}"
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s, f"onnxruntime {ort.__version__}"


def ort_ms(sess, ids, mask, repeat):
    feed = {"input_ids": ids, "attention_mask": mask}
    sess.run(None, feed)
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feed)
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", default=os.path.join(ROOT, "build", "loom"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    B, S = args.batch, args.seq
    tmp = tempfile.mkdtemp()
    yaml = os.path.join(tmp, "bert-base-batch.yaml")
    with open(os.path.join(ROOT, "examples", "bert-base.yaml")) as f:
        text = f.read()  # random weights, no paths to rewrite
    with open(yaml, "w") as f:
        f.write(text + f"\nmax_batch: {B}\n")
    rng = np.random.default_rng(1)
    ids = rng.integers(1000, 30000, size=(B, S)).astype(np.int64)
    mask = np.ones((B, S), np.int64)
    ids_npy = os.path.join(tmp, "ids.npy")
    np.save(ids_npy, ids.astype(np.int32))

    cfg = transformers.BertConfig(hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
                                  intermediate_size=3072, vocab_size=30522)
    model = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)
    sess, ort_note = ort_session(model, ids, mask, tmp, args.threads)

    rows = {"loom": [], "torch": [], "ort": []}
    pct = {"loom": [], "torch": [], "ort": []}
    peaks = []
    flop = None
    for r in range(args.rounds):
        peak = A.limits(args.threads, tmp)[0]
        peaks.append(peak)
        ms, flop = loom_bench(args, yaml, ids_npy)
        tms = A.torch_ms(lambda: model(input_ids=t_ids, attention_mask=t_mask), args.repeat)[0]
        got = {"loom": ms, "torch": tms}
        if sess is not None:
            got["ort"] = ort_ms(sess, ids, mask, args.repeat)
        for k, v in got.items():
            rows[k].append(v)
            pct[k].append(100 * flop / v / 1e6 / peak)
        print(f"round {r}: peak {peak:.0f} GFLOP/s; " +
              ", ".join(f"{k} {v:.0f} ms" for k, v in got.items()), flush=True)

    print(f"\nBERT-base, batch {B} x {S} tokens, {args.threads} thread(s); "
          f"torch {torch.__version__}, {ort_note}; matmul GFLOP per batch "
          f"{flop / 1e9:.1f}; peak fp32 (limits.c, every round) median "
          f"{statistics.median(peaks):.0f} GFLOP/s, range {min(peaks):.0f}-{max(peaks):.0f}")
    print("| runtime | ms (median) | GFLOP/s | % of peak | loom speed-up |")
    print("| --- | --- | --- | --- | --- |")
    lm = statistics.median(rows["loom"])
    for k in ("loom", "torch", "ort"):
        if not rows[k]:
            continue
        m = statistics.median(rows[k])
        print(f"| {k} | {m:.0f} | {flop / m / 1e6:.0f} | {statistics.median(pct[k]):.0f}% "
              f"| {m / lm:.2f}x |")


if __name__ == "__main__":
    main()
