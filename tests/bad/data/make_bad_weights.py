#!/usr/bin/env python3
"""Weights files for the family-form bad inputs (tests/bad/family-*.yaml).

Each is a tiny GPT-2 checkpoint (d_model 8, 2 heads, 1 layer, vocab 11,
max_len 4, d_ff 32) with one thing wrong:

  gpt2-truncated.safetensors    a valid file cut short (the data ends early)
  gpt2-wrong-shape.safetensors  h.0.mlp.c_proj.weight stored [8, 32]
                                (nn.Linear's layout) instead of Conv1D's [32, 8]
  gpt2-missing.safetensors      ln_f.bias left out
  gpt2-unexpected.safetensors   an extra tensor h.0.attn.c_attn.scale

Deterministic: run it again and the bytes are the same.

    python3 tests/bad/data/make_bad_weights.py
"""
import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
D, FF, VOCAB, MAX_LEN = 8, 32, 11, 4


def gpt2_tensors():
    rng = np.random.default_rng(0)
    shapes = {
        "wte.weight": (VOCAB, D),
        "wpe.weight": (MAX_LEN, D),
        "h.0.ln_1.weight": (D,),
        "h.0.ln_1.bias": (D,),
        "h.0.attn.c_attn.weight": (D, 3 * D),
        "h.0.attn.c_attn.bias": (3 * D,),
        "h.0.attn.c_proj.weight": (D, D),
        "h.0.attn.c_proj.bias": (D,),
        "h.0.ln_2.weight": (D,),
        "h.0.ln_2.bias": (D,),
        "h.0.mlp.c_fc.weight": (D, FF),
        "h.0.mlp.c_fc.bias": (FF,),
        "h.0.mlp.c_proj.weight": (FF, D),
        "h.0.mlp.c_proj.bias": (D,),
        "ln_f.weight": (D,),
        "ln_f.bias": (D,),
    }
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}


def main():
    out = lambda name: os.path.join(HERE, name)

    t = gpt2_tensors()
    save_file(t, out("gpt2-truncated.safetensors"))
    with open(out("gpt2-truncated.safetensors"), "rb") as f:
        data = f.read()
    with open(out("gpt2-truncated.safetensors"), "wb") as f:
        f.write(data[: len(data) // 2])

    t = gpt2_tensors()
    t["h.0.mlp.c_proj.weight"] = np.ascontiguousarray(t["h.0.mlp.c_proj.weight"].T)
    save_file(t, out("gpt2-wrong-shape.safetensors"))

    t = gpt2_tensors()
    del t["ln_f.bias"]
    save_file(t, out("gpt2-missing.safetensors"))

    t = gpt2_tensors()
    t["h.0.attn.c_attn.scale"] = np.ones((1,), np.float32)
    save_file(t, out("gpt2-unexpected.safetensors"))


if __name__ == "__main__":
    main()
