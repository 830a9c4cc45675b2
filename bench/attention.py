"""bench/attention.py — attention alone: loom's fused kernel, loom's unfused
chain (--disable=fuse-attention) and PyTorch's scaled_dot_product_attention,
in one run, as GFLOP/s and as fractions of the fp32 peak measured in the
same run (bench/limits.c, before and after).

Shapes: 12 heads, d_head 64, S = 512 and 2048, causal and not, in two
forms — the bare chain on [H, S, D] inputs, and from [S, H·D] projections
to [S, H·D] (the head split and merge included: transposes for the
unfused chain and PyTorch, none for the fused op, which reads and writes
[S, H, D] in place).  FLOPs: 4·H·Sq·Sk·D, half when causal.

Rounds are interleaved (peak, fused, unfused, torch, peak, fused, ...)
and each figure is the median of the rounds' medians.  The machine is
shared: other tenants' load moves the wall-clock peak by 3x within
minutes, so the fraction of peak is taken per round against limits.c's
peak measured just before, and speeds per second of CPU time the process
actually got (loom: the CPU time of a process doing 1 + R runs minus one
doing 1, over R; PyTorch: process_time) are printed beside the wall-clock
ones: on a loaded machine they are the steadier, on a quiet one the wall
clock is.  One thread by default (OMP_NUM_THREADS and torch's).

    python3 -m venv /work/venv-bench && /work/venv-bench/bin/pip install torch numpy
    /work/venv-bench/bin/python bench/attention.py [--loom build/loom] [--rounds 5]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
H, D = 12, 64


def limits(threads, tmp):
    """(wall-clock peak, CPU-time peak) in GFLOP/s (bench/limits.c)."""
    exe = os.path.join(tmp, "limits")
    if not os.path.exists(exe):
        subprocess.run(["cc", "-O3", "-march=native", "-fopenmp",
                        os.path.join(HERE, "limits.c"), "-o", exe], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([exe], env=env, capture_output=True, text=True, check=True).stdout
    kv = dict(line.split("=", 1) for line in out.split())
    return float(kv["peak_gflops_mt"]), float(kv["peak_gflops_1t_cpu"])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def chain_ir(S, causal, proj):
    """The unfused chain as the frontends emit it, in IR text."""
    lines = [f'graph "attention-{"proj" if proj else "bare"}-{S}{"-causal" if causal else ""}" {{']
    if proj:
        for n in "qkv":
            lines += [f"  %{n}x = input : f32[{S}, {H * D}]",
                      f"  %{n}r = reshape %{n}x {{shape = [{S}, {H}, {D}]}} : f32[{S}, {H}, {D}]",
                      f"  %{n} = transpose %{n}r {{perm = [1, 0, 2]}} : f32[{H}, {S}, {D}]"]
    else:
        lines += [f"  %{n} = input : f32[{H}, {S}, {D}]" for n in "qkv"]
    lines += [f"  %s = matmul %q, %k {{transpose_b = true}} : f32[{H}, {S}, {S}]",
              f"  %t = scale %s {{by = 0.125}} : f32[{H}, {S}, {S}]"]
    last = "t"
    if causal:
        lines.append(f"  %m = causal_mask %t : f32[{H}, {S}, {S}]")
        last = "m"
    lines += [f"  %p = softmax %{last} {{axis = -1}} : f32[{H}, {S}, {S}]",
              f"  %c = matmul %p, %v : f32[{H}, {S}, {D}]"]
    out = "c"
    if proj:
        lines += [f"  %ct = transpose %c {{perm = [1, 0, 2]}} : f32[{S}, {H}, {D}]",
                  f"  %o = reshape %ct {{shape = [{S}, {H * D}]}} : f32[{S}, {H * D}]"]
        out = "o"
    lines += [f"  return %{out}", "}"]
    return "\n".join(lines) + "\n"


def loom_run(args, model, inputs, extra, repeat, warmup):
    cmd = [args.loom, "bench", model, "--repeat", str(repeat), "--warmup", str(warmup),
           "--backend", args.backend] + extra
    for k, v in inputs.items():
        cmd += ["--input", f"{k}={v}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    c0 = children_cpu()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    kv = dict(line.split("=", 1) for line in out.stdout.split())
    return float(kv["run_ms_median"]), (children_cpu() - c0) * 1e3


def loom_ms(args, model, inputs, extra):
    """Wall-clock median of --repeat runs."""
    return loom_run(args, model, inputs, extra, args.repeat, 1)[0]


def loom_cpu_ms(args, model, inputs, extra):
    """(wall median, CPU ms per run): the CPU time of a process doing
    1 + repeat runs minus that of one doing 1 (compile, first run), over
    repeat."""
    wall, full = loom_run(args, model, inputs, extra, 1 + args.repeat, 0)
    _, base = loom_run(args, model, inputs, extra, 1, 0)
    return wall, (full - base) / args.repeat


def torch_ms(fn, repeat):
    """(wall median, CPU median) in ms."""
    with torch.no_grad():
        fn()
        wall, cpu = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", default=os.path.join(ROOT, "build", "loom"))
    ap.add_argument("--backend", default="jit")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per round")
    ap.add_argument("--sizes", default="512,2048")
    ap.add_argument("--forms", default="bare,proj")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp()
    peaks = [limits(args.threads, tmp)]
    rng = np.random.default_rng(0)
    rows = []
    for S in [int(s) for s in args.sizes.split(",")]:
        for form in args.forms.split(","):
            proj = form == "proj"
            shape = (S, H * D) if proj else (H, S, D)
            data = {n: rng.standard_normal(shape).astype(np.float32) for n in "qkv"}
            inputs = {}
            for n, a in data.items():
                name = n + "x" if proj else n
                inputs[name] = os.path.join(tmp, f"{name}-{S}-{form}.npy")
                np.save(inputs[name], a)
            tq, tk, tv = (torch.from_numpy(data[n]) for n in "qkv")
            for causal in (False, True):
                model = os.path.join(tmp, f"{form}-{S}-{int(causal)}.ir")
                with open(model, "w") as f:
                    f.write(chain_ir(S, causal, proj))

                def sdpa(q=tq, k=tk, v=tv, causal=causal):
                    if proj:
                        q, k, v = (t.view(S, H, D).transpose(0, 1) for t in (q, k, v))
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=0.125)
                    return o.transpose(0, 1).reshape(S, H * D) if proj else o

                samples = {k: [] for k in ("fused", "fused_cpu", "unfused", "torch", "torch_cpu")}
                flop = 4 * H * S * S * D / (2 if causal else 1)
                ratio = []  # fused GFLOP/s per CPU second over the CPU-time peak
                wratio = []  # the same in wall-clock time
                for _ in range(args.rounds):
                    peak_now = limits(args.threads, tmp)
                    peaks.append(peak_now)
                    wall, cpu = loom_cpu_ms(args, model, inputs, [])
                    samples["fused"].append(wall)
                    samples["fused_cpu"].append(cpu)
                    ratio.append(flop / cpu / 1e6 / peak_now[1])
                    wratio.append(flop / wall / 1e6 / peak_now[0])
                    samples["unfused"].append(
                        loom_ms(args, model, inputs, ["--disable=fuse-attention"]))
                    wall, cpu = torch_ms(sdpa, args.repeat)
                    samples["torch"].append(wall)
                    samples["torch_cpu"].append(cpu)
                ms = {k: statistics.median(v) for k, v in samples.items()}
                rows.append((form, S, causal, ms, flop, statistics.median(ratio),
                             statistics.median(wratio)))
                print(f"# {form} S={S} causal={causal}: " +
                      ", ".join(f"{k} {v:.2f} ms" for k, v in ms.items()), flush=True)
    peaks.append(limits(args.threads, tmp))
    wall = [p[0] for p in peaks]
    cpu = [p[1] for p in peaks]
    print(f"\npeak fp32, 1 thread (bench/limits.c, measured in every round): per second "
          f"of CPU time median {statistics.median(cpu):.1f} (min {min(cpu):.1f}, max "
          f"{max(cpu):.1f}); wall clock median {statistics.median(wall):.1f} (min "
          f"{min(wall):.1f}, max {max(wall):.1f}) GFLOP/s.  torch {torch.__version__}; "
          f"backend {args.backend}; medians of {args.rounds} interleaved rounds.  "
          f"ms and GFLOP/s: wall clock; % of peak: the median over rounds of "
          f"fused / that round's peak; last column: per second of CPU time (noisy "
          f"for short runs: a difference of two processes' CPU times)\n")
    print("| form | S | causal | fused ms | GFLOP/s | % of peak | unfused ms | GFLOP/s "
          "| SDPA ms | GFLOP/s | fused / SDPA | fused GFLOP/s, % of peak per CPU second |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for form, S, causal, ms, flop, ratio, wratio in rows:
        g = lambda k: flop / ms[k] / 1e6  # noqa: E731
        print(f"| {'[H, S, D]' if form == 'bare' else '[S, H·D]'} | {S} | "
              f"{'yes' if causal else 'no'} | {ms['fused']:.1f} | {g('fused'):.0f} | "
              f"{100 * wratio:.0f}% | {ms['unfused']:.1f} | {g('unfused'):.0f} | "
              f"{ms['torch']:.1f} | {g('torch'):.0f} | {ms['torch'] / ms['fused']:.2f}x | "
              f"{g('fused_cpu'):.0f}, {100 * ratio:.0f}% |")

if __name__ == "__main__":
    main()
