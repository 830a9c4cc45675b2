#!/usr/bin/env python3
"""Greedy-generation goldens for `loom generate` (issue 11), from Hugging Face.

    python3 tests/goldens/make_generate.py   (torch, transformers; made with
    /work/venv-text: torch 2.15.0, transformers 5.24.0)

For each gpt2 golden of make_goldens.py (its model.yaml, config.json and
model.safetensors, already committed) it loads GPT2LMHeadModel from that
directory and looks for a prompt (random ids from a seeded generator, seed 1, 2,
...) whose greedy continuation by `generate(do_sample=False)`; for each
transformer golden, make_goldens.py's Seq2Seq module (the one the family
goldens use) with its checkpoint, and a source whose greedy translation by
a plain loop (logits of the whole target so far, argmax of the last row,
from <sos> = 1)

  - has a top-1 / top-2 logit margin >= 2e-3 at every step (so float32
    rounding differences between loom's backends and PyTorch cannot flip a
    token), and
  - is not one token repeated,

and writes tests/goldens/NAME/generate.txt:

  prompt <ids, comma-separated>      (transformer: src <ids>, sos <id>)
  max_new <N>
  expect <the N new ids, space-separated, as `loom generate` prints them>
  margin <the smallest top-1/top-2 margin over the steps>
  seed <the prompt's seed>

tests/cli/generate.sh runs `loom generate` on every backend and compares.
"""
import warnings
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import GPT2LMHeadModel

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

MODELS = ["gpt2-tiny", "gpt2-gelu", "gpt2-relu"]
SEQ2SEQ = ["transformer-post-relu", "transformer-pre-gelu", "transformer-post-gelu_tanh"]
SOS = 1
PROMPT_LEN = 5
MAX_NEW = 16
MIN_MARGIN = 2e-3


def try_seed(m, vocab, seed):
    rng = np.random.RandomState(seed)
    prompt = rng.randint(0, vocab, size=PROMPT_LEN).tolist()
    with torch.no_grad():
        out = m.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=MAX_NEW,
                         min_new_tokens=MAX_NEW, pad_token_id=0, eos_token_id=None,
                         output_scores=True, return_dict_in_generate=True)
    new = out.sequences[0, PROMPT_LEN:].tolist()
    margin = min(float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in out.scores)
    return prompt, new, margin


def seq2seq(d):
    """make_goldens.Seq2Seq from d/model.yaml and d/model.safetensors."""
    import safetensors.torch
    import make_goldens as mg
    c = mg.read_yaml(d / "model.yaml")
    act = c.get("activation", "relu")
    m = mg.Seq2Seq(c["vocab"], c["d_model"], c["heads"], c["d_ff"], c["encoder_layers"],
                   c["decoder_layers"], c["max_len"], c.get("norm", "post") == "pre",
                   mg.TORCH_ACT[act], eps=c.get("eps", 1e-5)).eval()
    m.load_state_dict(safetensors.torch.load_file(str(d / "model.safetensors")), strict=True)
    return m, c["vocab"]


def translate(m, vocab, seed):
    rng = np.random.RandomState(seed)
    src = rng.randint(0, vocab, size=PROMPT_LEN + 2).tolist()
    tgt, margins = [SOS], []
    with torch.no_grad():
        for _ in range(MAX_NEW):
            last = m(torch.tensor(src), torch.tensor(tgt))[-1]
            top = last.topk(2).values
            margins.append(float(top[0] - top[1]))
            tgt.append(int(last.argmax()))
    return src, tgt[1:], min(margins)


def main():
    import sys
    sys.path.insert(0, str(HERE))
    for name in SEQ2SEQ:
        d = HERE / name
        m, vocab = seq2seq(d)
        for seed in range(1, 500):
            src, new, margin = translate(m, vocab, seed)
            if margin >= MIN_MARGIN and len(set(new)) > 1:
                break
        else:
            raise SystemExit(f"{name}: no source with margin >= {MIN_MARGIN}")
        text = (f"src {','.join(map(str, src))}\nsos {SOS}\nmax_new {MAX_NEW}\n"
                f"expect {' '.join(map(str, new))}\nmargin {margin:.6g}\nseed {seed}\n")
        (d / "generate.txt").write_text(text)
        print(f"{name}: seed {seed} margin {margin:.4g}: {' '.join(map(str, new))}")
    for name in MODELS:
        d = HERE / name
        m = GPT2LMHeadModel.from_pretrained(d, attn_implementation="eager").eval()
        vocab = m.config.vocab_size
        for seed in range(1, 500):
            prompt, new, margin = try_seed(m, vocab, seed)
            if margin >= MIN_MARGIN and len(set(new)) > 1:
                break
        else:
            raise SystemExit(f"{name}: no prompt with margin >= {MIN_MARGIN}")
        text = (f"prompt {','.join(map(str, prompt))}\nmax_new {MAX_NEW}\n"
                f"expect {' '.join(map(str, new))}\nmargin {margin:.6g}\nseed {seed}\n")
        (d / "generate.txt").write_text(text)
        print(f"{name}: seed {seed} margin {margin:.4g}: {' '.join(map(str, new))}")


if __name__ == "__main__":
    main()
