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

And tests/goldens/gpt2-batch/generate.txt (issue 15: batched generation),
for make_batch_goldens.py's gpt2-batch (max_batch 4; no config.json, so
the config is rebuilt here from its model.yaml): BATCH_LENGTHS prompts
(random ids, seed 1, 2, ...) left-padded with id 0 and an attention_mask,
greedy by one `generate(do_sample=False)` call on the batch, every row
with a margin >= 2e-3 at every step and not one repeated token, each
row's continuation also asserted equal to its prompt's alone; then the
same batch with an eos id that a row first produces after a few tokens
and another row never (the rows stop each at its own):

  prompts <ids;ids;...>              (as --prompt-ids takes them)
  max_new <N>
  expect <row 0's N new ids>         (one line per row, in order)
  eos <id>
  expect_eos <row 0's ids up to and including its eos>   (one per row)
  margin <the smallest margin over every step and row>
  seed <the prompts' seed>
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


BATCH = "gpt2-batch"
BATCH_LENGTHS = [3, 9, 6]
BATCH_MAX_NEW = 12


def batch_model(d):
    """make_batch_goldens.gpt2()'s GPT2LMHeadModel from d/model.yaml and
    d/model.safetensors."""
    import make_goldens as mg
    from transformers import GPT2Config
    c = mg.read_yaml(d / "model.yaml")
    cfg = GPT2Config(vocab_size=c["vocab"], n_positions=c["max_len"], n_embd=c["d_model"],
                     n_layer=c["layers"], n_head=c["heads"], activation_function="gelu_new",
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0,
                     eos_token_id=0, attn_implementation="eager")
    import safetensors.torch
    m = GPT2LMHeadModel(cfg)
    info = m.load_state_dict(safetensors.torch.load_file(str(d / "model.safetensors")),
                             strict=False)
    # lm_head is tied to wte (save_pretrained leaves it out)
    assert set(info.missing_keys) <= {"lm_head.weight"} and not info.unexpected_keys, info
    m.tie_weights()
    assert m.lm_head.weight.data_ptr() == m.transformer.wte.weight.data_ptr()
    return m.eval(), c["vocab"]


def batch_generate(m, ids, mask, max_new, eos=None):
    """HF greedy on a left-padded batch: each row's new ids (cut after
    its eos when one is given) and the smallest margin of the rows still
    running at each step."""
    kw = dict(min_new_tokens=max_new) if eos is None else {}
    with torch.no_grad():
        out = m.generate(torch.tensor(ids), attention_mask=torch.tensor(mask),
                         do_sample=False, max_new_tokens=max_new, pad_token_id=0,
                         eos_token_id=eos, output_scores=True,
                         return_dict_in_generate=True, **kw)
    S, rows, margin = ids.shape[1], [], float("inf")
    for r in range(ids.shape[0]):
        new = out.sequences[r, S:].tolist()
        if eos is not None and eos in new:
            new = new[:new.index(eos) + 1]
        rows.append(new)
        for s in out.scores[:len(new)]:
            top = s[r].topk(2).values
            margin = min(margin, float(top[0] - top[1]))
    return rows, margin


def batch():
    d = HERE / BATCH
    m, vocab = batch_model(d)
    B, S = len(BATCH_LENGTHS), max(BATCH_LENGTHS)
    for seed in range(1, 500):
        rng = np.random.RandomState(seed)
        prompts = [rng.randint(1, vocab, size=n).tolist() for n in BATCH_LENGTHS]
        ids = np.zeros((B, S), np.int64)
        mask = np.zeros((B, S), np.int64)
        for r, p in enumerate(prompts):  # left padding, as generate wants it
            ids[r, S - len(p):] = p
            mask[r, S - len(p):] = 1
        rows, margin = batch_generate(m, ids, mask, BATCH_MAX_NEW)
        if margin >= MIN_MARGIN and all(len(set(row)) > 1 for row in rows):
            break
    else:
        raise SystemExit(f"{BATCH}: no prompts with margin >= {MIN_MARGIN}")
    for p, row in zip(prompts, rows):  # a row is what its prompt gives alone
        with torch.no_grad():
            alone = m.generate(torch.tensor([p]), do_sample=False, max_new_tokens=BATCH_MAX_NEW,
                               min_new_tokens=BATCH_MAX_NEW, pad_token_id=0, eos_token_id=None)
        assert alone[0, len(p):].tolist() == row, (p, row, alone)
    # an eos that one row reaches early and another never: the rows stop
    # each at its own
    eos = next(t for row in rows for j, t in enumerate(row[:BATCH_MAX_NEW // 2])
               if j > 0 and t not in row[:j] and any(t not in other for other in rows))
    eos_rows, _ = batch_generate(m, ids, mask, BATCH_MAX_NEW, eos)
    for row, cut in zip(rows, eos_rows):
        assert cut == (row[:row.index(eos) + 1] if eos in row else row), (row, cut)
    text = (f"prompts {';'.join(','.join(map(str, p)) for p in prompts)}\n"
            f"max_new {BATCH_MAX_NEW}\n"
            + "".join(f"expect {' '.join(map(str, row))}\n" for row in rows)
            + f"eos {eos}\n"
            + "".join(f"expect_eos {' '.join(map(str, row))}\n" for row in eos_rows)
            + f"margin {margin:.6g}\nseed {seed}\n")
    (d / "generate.txt").write_text(text)
    print(f"{BATCH}: seed {seed} margin {margin:.4g}, eos {eos}:\n{text}")


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
    if sys.argv[1:] == ["--batch"]:  # the batch golden alone
        batch()
        return
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
    batch()


if __name__ == "__main__":
    main()
