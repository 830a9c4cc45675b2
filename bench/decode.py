"""bench/decode.py — a GPT-2 decode step: loom against the memory bandwidth
floor and against PyTorch with its KV cache, in one run.

A decode step reads every weight once (the tied embedding counted once, as
the LM head) and little else, so its floor is those bytes divided by the
read bandwidth of a plain read loop (bench/limits.c, read_gbs_*), measured in
the same run.  loom runs `loom generate --timings` (prompt of --prompt
tokens, --new new tokens; decode_ms_per_token is the median step);
PyTorch runs Hugging Face's GPT2LMHeadModel (random weights, eager, its
DynamicCache) one token at a time after the same prompt.  Rounds are
interleaved (limits, loom, torch per round); medians over rounds.

    OMP_NUM_THREADS=1 python3 bench/decode.py [--loom build/loom]
        [--model examples/gpt2.yaml] [--threads 1] [--rounds 3]
        [--prompt 128] [--new 32]

Needs torch and transformers; loom needs neither.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build_limits():
    exe = os.path.join(tempfile.mkdtemp(), "limits")
    subprocess.run(["cc", "-O3", "-march=native", "-fopenmp",
                    os.path.join(HERE, "limits.c"), "-o", exe], check=True)
    return exe


def read_bw(exe, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([exe], env=env, capture_output=True, text=True,
                         check=True).stdout
    kv = dict(line.split("=", 1) for line in out.split())
    return float(kv["read_gbs_mt"])


def read_yaml(path):
    cfg = {}
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            k, v = (x.strip() for x in line.split(":", 1))
            cfg[k] = v
    return cfg


def loom_decode(args, prompt):
    cmd = [args.loom, "generate", args.model, "--prompt-ids", ",".join(map(str, prompt)),
           "--max-new", str(args.new), "--backend", args.backend, "--timings"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    kv = dict(line.split("=", 1) for line in out.stderr.split() if "=" in line)
    return float(kv["decode_ms_per_token"]), kv


def torch_decode(model, prompt, new):
    with torch.no_grad():
        ids = torch.tensor([prompt])
        out = model(input_ids=ids, use_cache=True)
        past, tok = out.past_key_values, out.logits[0, -1].argmax().view(1, 1)
        times = []
        for _ in range(new - 1):
            t0 = time.perf_counter()
            out = model(input_ids=tok, past_key_values=past, use_cache=True)
            times.append((time.perf_counter() - t0) * 1e3)
            past, tok = out.past_key_values, out.logits[0, -1].argmax().view(1, 1)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", default=os.path.join(ROOT, "build", "loom"))
    ap.add_argument("--model", default=os.path.join(ROOT, "examples", "gpt2.yaml"))
    ap.add_argument("--backend", default="jit")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--new", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = read_yaml(args.model)
    d, layers, vocab, max_len = (int(c[k]) for k in ("d_model", "layers", "vocab", "max_len"))
    d_ff = int(c.get("d_ff", 4 * d))
    cfg = transformers.GPT2Config(vocab_size=vocab, n_positions=max_len, n_embd=d, n_layer=layers,
                                  n_head=int(c["heads"]), n_inner=d_ff,
                                  attn_implementation="eager")
    model = transformers.GPT2LMHeadModel(cfg).eval()
    # bytes a step reads: every weight once; wte once (it is the LM head too)
    nbytes = 4 * sum(p.numel() for p in model.parameters())  # tied: counted once
    prompt = [(i * 7919) % vocab for i in range(args.prompt)]
    exe = build_limits()
    rows = []
    for r in range(args.rounds):
        bw = read_bw(exe, args.threads)
        loom_ms, kv = loom_decode(args, prompt)
        torch_ms = torch_decode(model, prompt, args.new)
        floor_ms = nbytes / (bw * 1e9) * 1e3
        rows.append((bw, floor_ms, loom_ms, torch_ms))
        print(f"round {r}: read {bw:.1f} GB/s floor {floor_ms:.2f} ms  loom {loom_ms:.2f} ms "
              f"({loom_ms / floor_ms:.2f}x floor)  torch {torch_ms:.2f} ms", flush=True)
    med = [statistics.median(x) for x in zip(*rows)]
    bw, floor_ms, loom_ms, torch_ms = med
    print(f"threads={args.threads} prompt={args.prompt} new={args.new} step_bytes={nbytes}")
    print(f"read_gbs={bw:.1f} floor_ms={floor_ms:.2f} loom_decode_ms={loom_ms:.2f} "
          f"torch_decode_ms={torch_ms:.2f}")
    print(f"loom/floor={loom_ms / floor_ms:.2f}x  loom_tokens_per_s={1e3 / loom_ms:.1f} "
          f"torch_tokens_per_s={1e3 / torch_ms:.1f}  torch/loom={torch_ms / loom_ms:.2f}x")


if __name__ == "__main__":
    main()
