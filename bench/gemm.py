#!/usr/bin/env python3
"""gemm.py — loom's fp32 GEMM on the three BERT-base shapes against the
machine's FMA peak, measured in the same run (issue 12).

    bench/gemm.py [--loom build/loom] [--rounds 5] [--repeat 50]
                  [--variant "LOOM_ARGS"]...

Each round runs bench/limits.c (the peak) and then `loom bench` on each
committed graph-form model in bench/models/gemm-*.yaml, one thread
(OMP_NUM_THREADS=1); the figures are medians over the rounds.  Both the
wall-clock rate and the rate per second of CPU time are given, each as a
fraction of limits.c's peak timed the same way (peak_gflops_1t,
peak_gflops_1t_cpu): on a machine shared with other tenants the CPU-time
figure is the one that says how good the kernel is.  Each --variant is
a set of `loom bench` options (e.g. "--l2=1G", "--backend c"; NAME=VALUE
words with an upper-case NAME set environment variables, and LOOM=PATH
runs another loom binary, e.g. one built from main), run in
the same rounds as the others, so variants are compared under the same
load; without one, loom's defaults.  A variant starting with "-" is
written --variant="--backend c".
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ENV_WORD = re.compile(r"[A-Z_][A-Z0-9_]*=")

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = [(768, 3072), (3072, 768), (768, 768)]


def kv(text):
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loom", default=os.path.join(HERE, "..", "build", "loom"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--variant", action="append", default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="loom-gemm-")
    limits = os.path.join(tmp, "limits")
    subprocess.run(["cc", "-O3", "-march=native", "-fopenmp",
                    os.path.join(HERE, "limits.c"), "-o", limits], check=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rng = np.random.default_rng(0)
    inputs = {}
    for k, _ in SHAPES:
        if k not in inputs:
            inputs[k] = os.path.join(tmp, f"x{k}.npy")
            np.save(inputs[k], rng.standard_normal((128, k), dtype=np.float32))
    variants = a.variant or [""]
    peak, peak_cpu = [], []
    res = {(v, s): ([], []) for v in variants for s in SHAPES}
    for _ in range(a.rounds):
        lim = kv(subprocess.run([limits], env=env, capture_output=True,
                                text=True, check=True).stdout)
        peak.append(float(lim["peak_gflops_1t"]))
        peak_cpu.append(float(lim["peak_gflops_1t_cpu"]))
        for k, n in SHAPES:
            model = os.path.join(HERE, "models", f"gemm-128x{k}x{n}.yaml")
            for v in variants:
                # NAME=VALUE words set the environment (LOOM: the
                # binary), the rest are options
                words = v.split()
                venv = dict(env, **dict(w.split("=", 1) for w in words
                                        if ENV_WORD.match(w)))
                out = kv(subprocess.run(
                    [venv.pop("LOOM", a.loom), "bench", model,
                     "--input", f"x={inputs[k]}",
                     "--repeat", str(a.repeat), "--threads", "1"]
                    + [w for w in words if not ENV_WORD.match(w)],
                    env=venv, capture_output=True, text=True, check=True).stdout)
                res[(v, (k, n))][0].append(float(out["matmul_gflops"]))
                res[(v, (k, n))][1].append(float(out["matmul_gflops_cpu"]))
    p, pc = statistics.median(peak), statistics.median(peak_cpu)
    load = open("/proc/loadavg").read().split()[:3]
    print(f"# {a.rounds} interleaved rounds, medians; 1 thread; "
          f"load average {' '.join(load)}; {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"peak (limits.c): {p:.1f} GFLOP/s wall, {pc:.1f} per CPU-second")
    print("| GEMM | loom options | GFLOP/s (wall) | % of peak "
          "| GFLOP/s (CPU time) | % of peak |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, n in SHAPES:
        for v in variants:
            w = statistics.median(res[(v, (k, n))][0])
            c = statistics.median(res[(v, (k, n))][1])
            print(f"| [128,{k}]x[{k},{n}] | {v or '(default)'} | {w:.1f} "
                  f"| {100 * w / p:.0f}% | {c:.1f} | {100 * c / pc:.0f}% |")


if __name__ == "__main__":
    sys.exit(main())
