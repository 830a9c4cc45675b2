"""bench/compare.py — loom against PyTorch and ONNX Runtime on the same
models, in one run, stated as fractions of this machine's limits.

For each model (a family-form example with random weights, or one of the
graph-form GEMM models of bench/models), the same architecture runs as:

  loom jit   `loom bench --backend jit`  (LLVM, in process)
  loom c     `loom bench --backend c`    (the emitted C, compiled by cc)
  torch      Hugging Face transformers (random weights: speed does not
             depend on their values), torch.no_grad; for a GEMM, torch.mm
  ort        ONNX Runtime on the same Hugging Face model exported with
             torch.onnx.export (dynamo=False; dynamo=True where the older
             exporter fails — with transformers 5 it fails on every model
             here), every graph optimization on
             (ORT_ENABLE_ALL), intra_op_num_threads = the thread count

all with the same number of threads and the same input length (S = 128;
ViT-B/16: 197 rows).  Rounds are interleaved — in each round every model
runs on every engine, after bench/limits.c measures the peak FMA
throughput and the triad bandwidth — and every figure is the median over
the rounds of each round's median of --repeat runs.  The machine is
shared: the load average is printed with the table.

    python3 bench/compare.py [--loom build/loom] [--threads 1,2]
                             [--rounds 3] [--repeat 5] [--models a,b]
                             [--dtype f32|bf16] [--out table.md]

--dtype bf16 runs loom with `--dtype bf16` (bf16 matmul weights, fp32
sums) and PyTorch with `model.to(torch.bfloat16)` (oneDNN's bf16 path);
ONNX Runtime is left out for bf16 (its CPU kernels have no bf16 GEMM).

Writes the markdown table the README carries (to stdout, and to --out).
Needs torch, transformers, onnx, onnxscript and onnxruntime (pip); loom
itself needs none of them.
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
TMP = tempfile.mkdtemp(prefix="loom-compare-")
SEQ = 128


def kv(text):
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l)


def limits(threads):
    exe = os.path.join(TMP, "limits")
    if not os.path.exists(exe):
        subprocess.run(["cc", "-O3", "-march=native", "-fopenmp",
                        os.path.join(HERE, "limits.c"), "-o", exe], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = kv(subprocess.run([exe], env=env, capture_output=True, text=True,
                            check=True).stdout)
    key = "1t" if threads == 1 else "mt"
    return float(out[f"peak_gflops_{key}"]), float(out[f"triad_gbs_{key}"])


# ---- the models ------------------------------------------------------------


class Model:
    """name; loom's YAML and inputs; a torch callable; an ONNX export."""

    def __init__(self, name, yaml, loom_inputs, module=None, feeds=None,
                 call=None):
        self.name, self.yaml, self.loom_inputs = name, yaml, loom_inputs
        self.module, self.feeds, self.call = module, feeds, call
        self.onnx = None  # path, or the reason there is none


def hf_models(names):
    ids = np.arange(101, 101 + SEQ, dtype=np.int64)[None]
    t_ids = torch.from_numpy(ids)
    ids_list = ",".join(map(str, ids[0]))
    pixels = np.zeros((1, 3, 224, 224), dtype=np.float32)
    pixels_npy = os.path.join(TMP, "pixels.npy")
    np.save(pixels_npy, pixels[0])
    minilm_yaml = os.path.join(ROOT, "examples", "minilm.yaml")
    out = []

    def bert(h, layers, ff):
        return transformers.BertModel(transformers.BertConfig(
            hidden_size=h, num_attention_heads=12, num_hidden_layers=layers,
            intermediate_size=ff, vocab_size=30522), add_pooling_layer=False)

    for name in names:
        if name == "bert-base":
            out.append(Model(name, "examples/bert-base.yaml", {"ids": ids_list},
                             bert(768, 12, 3072).eval(), {"input_ids": ids},
                             lambda m: m(input_ids=t_ids)))
        elif name == "minilm-l6":
            # loom's minilm.yaml also pools; the table times the encoder
            # as HF's BertModel computes it, so the YAML drops the pooling
            y = os.path.join(TMP, "minilm-l6.yaml")
            with open(minilm_yaml) as f, open(y, "w") as g:
                g.write("".join(l for l in f if not l.startswith(("pooling", "normalize"))))
            out.append(Model(name, y, {"ids": ids_list},
                             bert(384, 6, 1536).eval(), {"input_ids": ids},
                             lambda m: m(input_ids=t_ids)))
        elif name == "gpt2":  # LM head included
            out.append(Model(name, "examples/gpt2.yaml", {"ids": ids_list},
                             transformers.GPT2LMHeadModel(transformers.GPT2Config(
                                 n_embd=768, n_head=12, n_layer=12,
                                 vocab_size=50257)).eval(),
                             {"input_ids": ids}, lambda m: m(input_ids=t_ids)))
        elif name == "vit-base":
            vit = transformers.ViTModel(transformers.ViTConfig(
                hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
                intermediate_size=3072, image_size=224, patch_size=16),
                add_pooling_layer=False).eval()
            t_pix = torch.from_numpy(pixels)
            out.append(Model(name, "examples/vit-base.yaml", {"pixels": pixels_npy},
                             vit, {"pixel_values": pixels},
                             lambda m: m(pixel_values=t_pix)))
        elif name.startswith("gemm-"):
            rows, k, n = map(int, name[5:].split("x"))
            x = np.random.default_rng(0).standard_normal((rows, k), dtype=np.float32)
            xp = os.path.join(TMP, f"{name}.npy")
            np.save(xp, x)
            w = torch.randn(k, n)
            tx = torch.from_numpy(x)
            out.append(Model(name, f"bench/models/{name}.yaml", {"x": xp},
                             w, None, lambda w, tx=tx: torch.mm(tx, w)))
            out[-1].x = tx
        else:
            sys.exit(f"compare.py: unknown model '{name}'")
    return out


def to_bf16(m):
    """PyTorch's bf16 path: the module (or a GEMM's operands) in bfloat16."""
    m.onnx = "n/a (bf16)"
    if m.feeds is None:  # a GEMM: m.module is w, m.call multiplies by it
        x = m.x.to(torch.bfloat16)
        m.module = m.module.to(torch.bfloat16)
        m.call = lambda w, x=x: torch.mm(x, w)
    else:
        m.module = m.module.to(torch.bfloat16)
        if "pixel_values" in m.feeds:  # ViT's input is float
            t_pix = torch.from_numpy(m.feeds["pixel_values"]).to(torch.bfloat16)
            m.call = lambda mod, t_pix=t_pix: mod(pixel_values=t_pix)


def export_onnx(m):
    if m.feeds is None:
        m.onnx = "n/a"
        return
    path = os.path.join(TMP, m.name + ".onnx")
    names = list(m.feeds)
    kwargs = {k: torch.from_numpy(v) for k, v in m.feeds.items()}
    errors = []
    for dynamo in (False, True):
        try:
            torch.onnx.export(m.module, (), path, kwargs=kwargs,
                              input_names=names, dynamo=dynamo,
                              opset_version=18)
            m.onnx = path
            return
        except Exception as e:  # the older exporter fails on some models
            errors.append(f"dynamo={dynamo}: {type(e).__name__}")
    m.onnx = "export failed (" + "; ".join(errors) + ")"
    print(f"compare.py: {m.name}: {m.onnx}", file=sys.stderr)


# ---- the engines -------------------------------------------------------------


def run_loom(args, m, backend, threads):
    cmd = [args.loom, "bench", m.yaml, "--repeat", str(args.repeat),
           "--warmup", "1", "--backend", backend, "--threads", str(threads),
           "--dtype", args.dtype]
    for k, v in m.loom_inputs.items():
        cmd += ["--input", f"{k}={v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(out.stderr)
    r = kv(out.stdout)
    return float(r["run_ms_median"]), float(r["matmul_flop"])


def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run_torch(args, m, threads):
    torch.set_num_threads(threads)
    with torch.no_grad():
        return median_ms(lambda: m.call(m.module), args.repeat)


_sessions = {}


def run_ort(args, m, threads):
    import onnxruntime as ort
    if not m.onnx or not m.onnx.endswith(".onnx"):
        return None
    key = (m.name, threads)
    if key not in _sessions:
        o = ort.SessionOptions()
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
        _sessions[key] = ort.InferenceSession(m.onnx, o, providers=["CPUExecutionProvider"])
    s = _sessions[key]
    return median_ms(lambda: s.run(None, m.feeds), args.repeat)


# ---- main --------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loom", default=os.path.join(ROOT, "build", "loom"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--models", default="bert-base,minilm-l6,gpt2,vit-base,"
                    "gemm-128x768x3072,gemm-128x3072x768,gemm-128x768x768")
    ap.add_argument("--backends", default="jit,c")
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--out")
    args = ap.parse_args()
    args.loom = os.path.abspath(args.loom)
    threads = [int(t) for t in args.threads.split(",")]
    backends = args.backends.split(",")
    models = hf_models(args.models.split(","))
    for m in models:
        if args.dtype == "bf16":
            to_bf16(m)
        else:
            export_onnx(m)
    load0 = os.getloadavg()
    res = {}  # (model, threads, engine) -> [round medians]
    peaks = {t: ([], []) for t in threads}
    flop = {}
    for _ in range(args.rounds):
        for t in threads:
            p, bw = limits(t)
            peaks[t][0].append(p)
            peaks[t][1].append(bw)
            for m in models:
                for b in backends:
                    ms, fl = run_loom(args, m, b, t)
                    flop[m.name] = fl
                    res.setdefault((m.name, t, b), []).append(ms)
                res.setdefault((m.name, t, "torch"), []).append(run_torch(args, m, t))
                o = run_ort(args, m, t)
                if o is not None:
                    res.setdefault((m.name, t, "ort"), []).append(o)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in res.items()}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `bench/compare.py "
        f"--threads {args.threads} --rounds {args.rounds} --repeat {args.repeat} "
        f"--dtype {args.dtype}`: "
        f"torch {torch.__version__.split('+')[0]}, transformers {transformers.__version__}, "
        f"onnxruntime {__import__('onnxruntime').__version__}; load average "
        f"{load0[0]:.1f} before, {load1[0]:.1f} after (2 cores, shared).",
        "",
    ]
    for t in threads:
        lines.append(f"- {t} thread{'s' if t > 1 else ''}: FMA peak "
                     f"{statistics.median(peaks[t][0]):.0f} GFLOP/s, triad "
                     f"{statistics.median(peaks[t][1]):.1f} GB/s (bench/limits.c, "
                     "medians of the rounds)")
    lines += ["", "| model | threads | " + " | ".join(f"loom {b} ms" for b in backends)
              + " | % of peak (jit) | torch ms | ORT ms | jit speed / torch | jit speed / ORT |",
              "| --- | --- | " + " | ".join("---" for _ in backends)
              + " | --- | --- | --- | --- | --- |"]
    for m in models:
        for t in threads:
            peak = statistics.median(peaks[t][0])
            j = med.get((m.name, t, backends[0]))
            to, o = med.get((m.name, t, "torch")), med.get((m.name, t, "ort"))
            pct = 100 * flop[m.name] / 1e9 / (j / 1e3) / peak
            cells = [f"{med[(m.name, t, b)]:.1f}" for b in backends]
            ort_cell = f"{o:.1f}" if o is not None else m.onnx
            lines.append(f"| {m.name} | {t} | " + " | ".join(cells) +
                         f" | {pct:.0f}% | {to:.1f} | {ort_cell} | {to / j:.2f}x | "
                         + (f"{o / j:.2f}x |" if o is not None else "– |"))
    lines += ["", "% of peak: the matmul FLOPs `loom bench` counts (2·M·N·K) "
              "divided by the median time of the whole model, against the FMA "
              "peak of the same thread count."]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
