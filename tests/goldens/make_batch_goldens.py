#!/usr/bin/env python3
"""Generate the batched BERT golden (issue 15) from Hugging Face transformers.

    /work/venv-text/bin/python tests/goldens/make_batch_goldens.py

(any Python with torch, transformers and safetensors: make_goldens.py is
imported for its seeded weights; /work/venv-text has them)

Writes tests/goldens/bert-batch/: a BertModel with odd sizes (d_model 42,
7 heads of 6, d_ff 50, vocab 111) and seeded random weights, and a batch of
5 sentences of lengths 3..40, right-padded to 40 with id 0:

  model.yaml                 family form with max_batch: 6, pooling: mean,
                             normalize: true (weights: model.safetensors)
  model.safetensors          save_pretrained's file, unchanged
  in.ids.npy                 int32 [5, 40]
  in.token_type_ids.npy      int32 [5, 40] (0 and 1 in every row)
  in.attention_mask.npy      float32 [5, 40], 1 = token, 0 = padding
  out.hidden.npy             float32 [5, 40, 42]: HF's last_hidden_state for
                             the batch with this attention_mask (padded
                             positions included: HF computes them too)
  out.embedding.npy          float32 [5, 42]: sentence-transformers' masked
                             mean of it (sum(h * mask) / clamp(sum(mask), 1e-9)),
                             L2-normalized
  alone/ids.K.npy            sentence K alone, int32 [1, len_K] (and
  alone/token_type_ids.K.npy its token types)
  alone/embedding.K.npy      float32 [1, 42]: HF's embedding of sentence K run
                             alone, asserted here to equal row K of the batch's
  alone/attention_mask.i64.npy  the mask as int64; alone/ids-7x3.npy: 7 rows

unit/test_goldens and the pass matrix run the batch on every backend;
tests/cli/batch.sh runs every sentence alone through loom and compares.

And tests/goldens/vit-batch/: a ViTModel on a batch of 3 images (see
vit()); tests/goldens/gpt2-batch/: GPT2LMHeadModel on 3 right-padded rows
(see gpt2()); tests/goldens/transformer-batch/: make_goldens.py's Seq2Seq
(nn.Transformer) on 3 padded pairs (see transformer()).  Arguments name
the ones to write (default: all).
No config.json: the directory is read as a model only through model.yaml
(config.json has no max_batch).  Deterministic.
"""
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
import transformers
from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel,
                          ViTConfig, ViTModel)

import make_goldens as mg

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

NAME = "bert-batch"
LENGTHS = [3, 17, 40, 8, 29]
CFG = dict(d_model=42, heads=7, d_ff=50, layers=2, vocab=111, max_len=48)
SEED = 1501


def masked_mean(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(dim=-2) / torch.clamp(m.sum(dim=-2), min=1e-9)


def bert():
    d = HERE / NAME
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    torch.manual_seed(SEED)
    cfg = BertConfig(vocab_size=CFG["vocab"], hidden_size=CFG["d_model"],
                     num_hidden_layers=CFG["layers"], num_attention_heads=CFG["heads"],
                     intermediate_size=CFG["d_ff"], hidden_act="gelu",
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                     max_position_embeddings=CFG["max_len"], type_vocab_size=2,
                     layer_norm_eps=1e-12, pad_token_id=0, attn_implementation="eager")
    m = BertModel(cfg, add_pooling_layer=False).eval()
    mg.randomize(m, SEED, emb_std=0.5)
    mg.hf_save(m, d)
    (d / "config.json").unlink()
    (d / "alone").mkdir()
    rng = np.random.RandomState(SEED)
    B, S = len(LENGTHS), max(LENGTHS)
    ids = np.zeros((B, S), np.int32)
    types = np.zeros((B, S), np.int32)
    mask = np.zeros((B, S), np.float32)
    for i, n in enumerate(LENGTHS):
        ids[i, :n] = rng.randint(1, CFG["vocab"], size=n)
        types[i, n // 2:n] = 1  # a second segment in every row
        mask[i, :n] = 1

    def embed(h, mk):
        return F.normalize(masked_mean(h, mk), p=2, dim=-1)

    with torch.no_grad():
        h = m(input_ids=mg.t64(ids), token_type_ids=mg.t64(types),
              attention_mask=torch.from_numpy(mask).long()).last_hidden_state
        e = embed(h, torch.from_numpy(mask))
        for i, n in enumerate(LENGTHS):
            hi = m(input_ids=mg.t64(ids[i:i + 1, :n]),
                   token_type_ids=mg.t64(types[i:i + 1, :n])).last_hidden_state
            ei = embed(hi, torch.ones(1, n))
            # the batch changes nothing on a row's tokens
            assert torch.allclose(hi[0], h[i, :n], atol=1e-5, rtol=1e-4), i
            assert torch.allclose(ei[0], e[i], atol=1e-6, rtol=1e-5), i
            np.save(d / "alone" / f"ids.{i}.npy", np.ascontiguousarray(ids[i:i + 1, :n]))
            np.save(d / "alone" / f"token_type_ids.{i}.npy",
                    np.ascontiguousarray(types[i:i + 1, :n]))
            np.save(d / "alone" / f"embedding.{i}.npy", ei.numpy().astype(np.float32))

    lines = ["# generated by tests/goldens/make_batch_goldens.py -- do not edit",
             "# checks: a batch of 5 right-padded sentences (lengths "
             + ", ".join(map(str, LENGTHS)) + ") with attention_mask and token types;"
             " masked mean pooling; odd sizes (d_head 6, d_ff 50)",
             f"name: {NAME}", "family: bert"]
    lines += [f"{k}: {v}" for k, v in CFG.items()]
    lines += ["max_batch: 6", "pooling: mean", "normalize: true",
              "weights: model.safetensors"]
    (d / "model.yaml").write_text("\n".join(lines) + "\n")
    np.save(d / "in.ids.npy", ids)
    np.save(d / "in.token_type_ids.npy", types)
    np.save(d / "in.attention_mask.npy", mask)
    # for tests/cli/batch.sh: the mask as int64 (as HF tokenizers give it),
    # and a batch of 7 rows, past max_batch
    np.save(d / "alone" / "attention_mask.i64.npy", mask.astype(np.int64))
    np.save(d / "alone" / "ids-7x3.npy", np.ones((7, 3), np.int32))
    np.save(d / "out.hidden.npy", h.numpy().astype(np.float32))
    np.save(d / "out.embedding.npy", e.numpy().astype(np.float32))
    print(f"{NAME}: hidden {tuple(h.shape)} |h|max {float(h.abs().max()):.3f}, "
          f"embedding {tuple(e.shape)}")


VIT = dict(d_model=30, heads=5, d_ff=50, layers=2, image_size=12, patch_size=4)
VIT_SEED = 1502


def vit():
    """vit-batch: 3 images [3, 3, 12, 12] (no padding: every image has 9
    patches); hidden [3, 10, 30]; alone/pixels.K.npy [3, 12, 12] and
    alone/hidden.K.npy [1, 10, 30], HF on image K alone."""
    d = HERE / "vit-batch"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    torch.manual_seed(VIT_SEED)
    cfg = ViTConfig(hidden_size=VIT["d_model"], num_hidden_layers=VIT["layers"],
                    num_attention_heads=VIT["heads"], intermediate_size=VIT["d_ff"],
                    hidden_act="gelu", hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12,
                    image_size=VIT["image_size"], patch_size=VIT["patch_size"],
                    num_channels=3, qkv_bias=True, attn_implementation="eager")
    m = ViTModel(cfg, add_pooling_layer=False).eval()
    mg.randomize(m, VIT_SEED, emb_std=0.5)
    mg.hf_save(m, d)
    (d / "config.json").unlink()
    (d / "alone").mkdir()
    rng = np.random.RandomState(VIT_SEED)
    px = rng.randn(3, 3, VIT["image_size"], VIT["image_size"]).astype(np.float32)
    with torch.no_grad():
        h = m(pixel_values=torch.from_numpy(px)).last_hidden_state
        for i in range(3):
            hi = m(pixel_values=torch.from_numpy(px[i:i + 1])).last_hidden_state[0]
            assert torch.allclose(hi, h[i], atol=1e-5, rtol=1e-4), i
            np.save(d / "alone" / f"pixels.{i}.npy", np.ascontiguousarray(px[i]))
            np.save(d / "alone" / f"hidden.{i}.npy", hi.numpy()[None].astype(np.float32))
    lines = ["# generated by tests/goldens/make_batch_goldens.py -- do not edit",
             "# checks: a batch of 3 images (pixels [B, C, H, W]), the class token"
             " expanded to each; d_head 6", "name: vit-batch", "family: vit"]
    lines += [f"{k}: {v}" for k, v in VIT.items()]
    lines += ["max_batch: 4", "weights: model.safetensors"]
    (d / "model.yaml").write_text("\n".join(lines) + "\n")
    np.save(d / "in.pixels.npy", px)
    np.save(d / "out.hidden.npy", h.numpy().astype(np.float32))
    print(f"vit-batch: hidden {tuple(h.shape)}")


GPT2 = dict(d_model=30, heads=5, layers=2, vocab=97, max_len=32)
GPT2_LENGTHS = [4, 11, 7]
GPT2_SEED = 1503


def gpt2():
    """gpt2-batch: 3 right-padded rows of lengths 4, 11, 7 with
    attention_mask; logits [3, 11, 97] (HF's, padded positions included);
    alone/ids.K.npy [len] and alone/logits.K.npy [1, len, 97]: each row
    alone, equal to the batch's row on its tokens."""
    d = HERE / "gpt2-batch"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    torch.manual_seed(GPT2_SEED)
    cfg = GPT2Config(vocab_size=GPT2["vocab"], n_positions=GPT2["max_len"],
                     n_embd=GPT2["d_model"], n_layer=GPT2["layers"], n_head=GPT2["heads"],
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
                     attn_implementation="eager")
    m = GPT2LMHeadModel(cfg).eval()
    mg.randomize(m, GPT2_SEED, emb_std=0.5)
    mg.hf_save(m, d)
    (d / "config.json").unlink()
    (d / "alone").mkdir()
    rng = np.random.RandomState(GPT2_SEED)
    B, S = len(GPT2_LENGTHS), max(GPT2_LENGTHS)
    ids = np.zeros((B, S), np.int32)
    mask = np.zeros((B, S), np.float32)
    for i, n in enumerate(GPT2_LENGTHS):
        ids[i, :n] = rng.randint(1, GPT2["vocab"], size=n)
        mask[i, :n] = 1
    with torch.no_grad():
        lg = m(input_ids=mg.t64(ids), attention_mask=torch.from_numpy(mask).long()).logits
        for i, n in enumerate(GPT2_LENGTHS):
            li = m(input_ids=mg.t64(ids[i:i + 1, :n])).logits
            assert torch.allclose(li[0], lg[i, :n], atol=1e-5, rtol=1e-4), i
            np.save(d / "alone" / f"ids.{i}.npy", np.ascontiguousarray(ids[i, :n]))
            np.save(d / "alone" / f"logits.{i}.npy", li.numpy().astype(np.float32))
    lines = ["# generated by tests/goldens/make_batch_goldens.py -- do not edit",
             "# checks: 3 right-padded rows (lengths 4, 11, 7) with attention_mask;"
             " causal + padding mask; positions 0..S-1 per row", "name: gpt2-batch",
             "family: gpt2"]
    lines += [f"{k}: {v}" for k, v in GPT2.items()]
    lines += ["max_batch: 4", "weights: model.safetensors"]
    (d / "model.yaml").write_text("\n".join(lines) + "\n")
    np.save(d / "in.ids.npy", ids)
    np.save(d / "in.attention_mask.npy", mask)
    np.save(d / "out.logits.npy", lg.numpy().astype(np.float32))
    print(f"gpt2-batch: logits {tuple(lg.shape)}")


TR = dict(d_model=30, heads=5, d_ff=48, encoder_layers=2, decoder_layers=2, vocab=61,
          max_len=16, positional="sinusoidal", norm="post")
TR_SRC, TR_TGT = [5, 12, 3], [7, 2, 9]
TR_SEED = 1504


def transformer():
    """transformer-batch: 3 right-padded (source, target) pairs, source
    lengths 5, 12, 3 and target lengths 7, 2, 9, with src_mask and tgt_mask;
    logits [3, 9, 61] from nn.Transformer with src_key_padding_mask =
    memory_key_padding_mask (padded source keys) and tgt_key_padding_mask
    (padded target keys) besides the causal mask; each pair alone (make_goldens'
    Seq2Seq.forward) asserted equal to its row on its target tokens."""
    d = HERE / "transformer-batch"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    torch.manual_seed(TR_SEED)
    m = mg.Seq2Seq(TR["vocab"], TR["d_model"], TR["heads"], TR["d_ff"], TR["encoder_layers"],
                   TR["decoder_layers"], TR["max_len"], False, "relu").eval()
    mg.randomize(m, TR_SEED, emb_std=TR["d_model"] ** -0.5)
    safetensors.torch.save_file(m.state_dict(), str(d / "model.safetensors"))
    rng = np.random.RandomState(TR_SEED)
    B, S, T = len(TR_SRC), max(TR_SRC), max(TR_TGT)
    src, tgt = np.zeros((B, S), np.int32), np.zeros((B, T), np.int32)
    smask, tmask = np.zeros((B, S), np.float32), np.zeros((B, T), np.float32)
    for i, (ns, nt) in enumerate(zip(TR_SRC, TR_TGT)):
        src[i, :ns] = rng.randint(1, TR["vocab"], size=ns)
        tgt[i, :nt] = rng.randint(1, TR["vocab"], size=nt)
        smask[i, :ns] = 1
        tmask[i, :nt] = 1
    neg = lambda mk: torch.where(torch.from_numpy(mk) > 0, 0.0, float("-inf"))
    with torch.no_grad():
        x = m.src_embed(mg.t64(src)) * math.sqrt(m.d) + m.pe[:S]
        y = m.tgt_embed(mg.t64(tgt)) * math.sqrt(m.d) + m.pe[:T]
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        lg = m.generator(m.transformer(x, y, tgt_mask=causal, src_key_padding_mask=neg(smask),
                                       tgt_key_padding_mask=neg(tmask),
                                       memory_key_padding_mask=neg(smask)))
        for i, (ns, nt) in enumerate(zip(TR_SRC, TR_TGT)):
            li = m(mg.t64(src[i, :ns]), mg.t64(tgt[i, :nt]))
            assert torch.allclose(li, lg[i, :nt], atol=1e-5, rtol=1e-4), i
    assert torch.isfinite(lg).all()
    lines = ["# generated by tests/goldens/make_batch_goldens.py -- do not edit",
             "# checks: 3 right-padded (source, target) pairs with src_mask and tgt_mask:"
             " padded source keys out of encoder self- and cross-attention, padded target"
             " keys out of the causal self-attention", "name: transformer-batch",
             "family: transformer"]
    lines += [f"{k}: {v}" for k, v in TR.items()]
    lines += ["max_batch: 4", "weights: model.safetensors"]
    (d / "model.yaml").write_text("\n".join(lines) + "\n")
    np.save(d / "in.src.npy", src)
    np.save(d / "in.tgt.npy", tgt)
    np.save(d / "in.src_mask.npy", smask)
    np.save(d / "in.tgt_mask.npy", tmask)
    np.save(d / "out.logits.npy", lg.numpy().astype(np.float32))
    print(f"transformer-batch: logits {tuple(lg.shape)}")


if __name__ == "__main__":
    import sys
    todo = sys.argv[1:] or ["bert", "vit", "gpt2", "transformer"]
    for name in todo:
        globals()[name]()
