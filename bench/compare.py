"""bench/compare.py — loom against PyTorch on the same model, in one run,
stated as fractions of this machine's limits.

For each model (a family-form example with random weights), PyTorch runs
the same architecture (Hugging Face transformers, random weights: speed does
not depend on their values) on the same input length, and `loom bench`
runs loom's compiled model.  Both use the same number of threads.  The
machine's peak FMA throughput and bandwidth are measured first, in the same
run (bench/limits.c).  Medians of --repeat runs.

    python3 bench/compare.py [--loom build/loom] [--threads 1] [--repeat 20]
                             [--dtype f32|bf16] [--rounds 3] [--models bert-base]

--dtype bf16 runs loom with `--dtype bf16` (bf16 matmul weights, fp32
sums) and PyTorch with `model.to(torch.bfloat16)` (oneDNN's bf16 path);
--rounds alternates the two that many times and reports medians of the
rounds' medians.

Needs torch and transformers (pip); loom itself needs neither.
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


def limits(threads):
    exe = os.path.join(tempfile.mkdtemp(), "limits")
    subprocess.run(["cc", "-O3", "-march=native", "-fopenmp",
                    os.path.join(HERE, "limits.c"), "-o", exe], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([exe], env=env, capture_output=True, text=True,
                         check=True).stdout
    kv = dict(line.split("=", 1) for line in out.split())
    return float(kv["peak_gflops_mt"]), float(kv["triad_gbs_mt"])


def loom_bench(args, model, inputs):
    """`loom bench` key=value lines; an input is a list of ids or a path."""
    cmd = [args.loom, "bench", model, "--repeat", str(args.repeat),
           "--backend", args.backend, "--dtype", args.dtype]
    for k, v in inputs.items():
        cmd += ["--input", f"{k}={v if isinstance(v, str) else ','.join(map(str, v))}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    return dict(line.split("=", 1) for line in out.stdout.split())


def torch_time(fn, repeat):
    with torch.no_grad():
        for _ in range(3):
            fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def models(seq, dtype="f32"):
    ids = list(range(101, 101 + seq))
    bert = transformers.BertModel(transformers.BertConfig(
        hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
        intermediate_size=3072, vocab_size=30522), add_pooling_layer=False)
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        n_embd=768, n_head=12, n_layer=12, vocab_size=50257))
    vit = transformers.ViTModel(transformers.ViTConfig(
        hidden_size=768, num_attention_heads=12, num_hidden_layers=12,
        intermediate_size=3072, image_size=224, patch_size=16),
        add_pooling_layer=False)
    t_ids = torch.tensor([ids])
    pixels = torch.zeros(1, 3, 224, 224,
                         dtype=torch.bfloat16 if dtype == "bf16" else torch.float32)
    pixels_npy = os.path.join(tempfile.mkdtemp(), "pixels.npy")
    np.save(pixels_npy, pixels[0].float().numpy())
    # one GEMM, BERT-base's FFN up-projection: [128, 768] x [768, 3072]
    x = torch.randn(128, 768)
    x_npy = os.path.join(tempfile.mkdtemp(), "x.npy")
    np.save(x_npy, x.numpy())
    x_t = x.to(torch.bfloat16) if dtype == "bf16" else x
    linear = torch.nn.Linear(768, 3072, bias=False)
    return [
        ("gemm", "bench/models/gemm-128x768x3072.yaml", {"x": x_npy},
         linear.eval(), lambda m: m(x_t)),
        ("bert-base", "examples/bert-base.yaml", {"ids": ids},
         bert.eval(), lambda m: m(input_ids=t_ids)),
        ("gpt2", "examples/gpt2.yaml", {"ids": ids},
         gpt2.eval(), lambda m: m(input_ids=t_ids)),
        ("vit-base", "examples/vit-base.yaml", {"pixels": pixels_npy},
         vit.eval(), lambda m: m(pixel_values=pixels)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", default=os.path.join(ROOT, "build", "loom"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--backend", default="jit")
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--models", default="bert-base,gpt2,vit-base",
                    help="comma-separated: gemm, bert-base, gpt2, vit-base")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak, bw = limits(args.threads)
    print(f"# {args.threads} thread(s); peak {peak:.0f} GFLOP/s, "
          f"triad {bw:.1f} GB/s (bench/limits.c, this run); "
          f"torch {torch.__version__}, S={args.seq}, dtype {args.dtype}, "
          f"{args.rounds} interleaved round(s)")
    print("| model | loom ms | GFLOP/s | % of peak | torch ms | loom / torch speed |")
    print("| --- | --- | --- | --- | --- | --- |")
    os.chdir(ROOT)
    wanted = args.models.split(",")
    for name, yaml, inputs, model, call in models(args.seq, args.dtype):
        if name not in wanted:
            continue
        if args.dtype == "bf16":
            model = model.to(torch.bfloat16)
        loom_ms, torch_ms = [], []
        for _ in range(args.rounds):
            kv = loom_bench(args, yaml, inputs)
            loom_ms.append(float(kv["run_ms_median"]))
            flop = float(kv["matmul_flop"])
            torch_ms.append(torch_time(lambda: call(model), args.repeat))
        ms = statistics.median(loom_ms)
        tms = statistics.median(torch_ms)
        gflops = flop / ms / 1e6
        print(f"| {name} | {ms:.1f} | {gflops:.0f} | {100 * gflops / peak:.0f}% "
              f"| {tms:.1f} | {tms / ms:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
