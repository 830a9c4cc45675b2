#!/usr/bin/env python3
"""Generate loom's family-form goldens (issue 3) from PyTorch / Hugging Face.

    python3 tests/goldens/make_goldens.py

For every variant below it writes tests/goldens/NAME/:
  model.yaml          the loom family-form model file (weights: model.safetensors)
  model.safetensors   the checkpoint exactly as PyTorch (safetensors.torch.save_file
                      of state_dict()) or Hugging Face (save_pretrained) wrote it
  config.json         Hugging Face families only: the HF config, for documentation
  in.<name>.npy       inputs: ids/src/tgt/token_type_ids int32 [S], pixels f32 [C,H,W]
  out.<name>.npy      outputs (float32, batch dimension removed): logits [S, vocab],
                      hidden [S, d], embedding [d]
and tests/goldens/README.md. Everything is deterministic (fixed seeds); the test
suite reads only the files, it needs no Python.

All weights are F32.  Every parameter (including LayerNorm weights and all biases,
which the libraries would initialise to ones/zeros) is overwritten with seeded
random values of moderate scale, so that a swapped, transposed or misplaced
tensor changes the outputs and attention is clearly non-uniform.
"""
import functools
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import safetensors
import safetensors.numpy
import safetensors.torch
from safetensors import safe_open
import transformers
from transformers import (BertConfig, BertForSequenceClassification, BertModel,
                          GPT2Config, GPT2LMHeadModel, ViTConfig,
                          ViTForImageClassification, ViTModel)
from transformers.pytorch_utils import Conv1D

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
torch.backends.mha.set_fastpath_enabled(False)  # plain math path for nn.Transformer
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

# loom activation name -> Hugging Face config name
HF_ACT = {"relu": "relu", "gelu": "gelu", "gelu_tanh": "gelu_new"}
# family defaults (issue 3)
DEFAULT_EPS = {"transformer": 1e-5, "gpt2": 1e-5, "bert": 1e-12, "vit": 1e-12}
DEFAULT_ACT = {"transformer": "relu", "gpt2": "gelu_tanh", "bert": "gelu", "vit": "gelu"}


# --------------------------------------------------------------------------
# The encoder-decoder of issue 3, verbatim.

def sinusoidal(max_len, d):
    """PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)),
    computed in float64, returned as float32 [max_len, d]."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    two_i = (torch.arange(d) - torch.arange(d) % 2).to(torch.float64)[None, :]
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), two_i / d)
    even = (torch.arange(d) % 2 == 0)[None, :]
    return torch.where(even, torch.sin(angle), torch.cos(angle)).to(torch.float32)


class Seq2Seq(nn.Module):
    def __init__(s, vocab, d, heads, d_ff, n_enc, n_dec, max_len, norm_first, activation, eps=1e-5):
        super().__init__()
        s.d = d
        s.src_embed = nn.Embedding(vocab, d)
        s.tgt_embed = nn.Embedding(vocab, d)
        s.transformer = nn.Transformer(d, heads, n_enc, n_dec, d_ff, dropout=0.0, activation=activation,
                                       batch_first=True, norm_first=norm_first, layer_norm_eps=eps)
        s.generator = nn.Linear(d, vocab)
        s.register_buffer("pe", sinusoidal(max_len, d), persistent=False)
    def forward(s, src, tgt):
        S, T = src.shape[0], tgt.shape[0]
        x = s.src_embed(src)[None] * math.sqrt(s.d) + s.pe[:S]
        y = s.tgt_embed(tgt)[None] * math.sqrt(s.d) + s.pe[:T]
        mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        return s.generator(s.transformer(x, y, tgt_mask=mask))[0]


TORCH_ACT = {"relu": "relu", "gelu": "gelu",
             "gelu_tanh": functools.partial(F.gelu, approximate="tanh")}


# --------------------------------------------------------------------------
# Variants.  Keys of `yaml` are written in this order; eps/activation only where
# the variant sets them (family default otherwise).

VARIANTS = [
    # ---- transformer (torch.nn.Transformer state_dict) ----
    dict(name="transformer-post-relu", family="transformer", seed=101,
         checks="post-norm, relu, defaults for eps/activation, vocab 517, d_head 6",
         cfg=dict(d_model=30, heads=5, d_ff=200, encoder_layers=2, decoder_layers=2,
                  vocab=517, max_len=64, positional="sinusoidal", norm="post"),
         src_len=7, tgt_len=5),
    dict(name="transformer-pre-gelu", family="transformer", seed=102,
         checks="pre-norm (norm_first), gelu (erf), explicit non-default eps 1e-3, 3 enc + 2 dec layers, d_head 5",
         cfg=dict(d_model=30, heads=6, d_ff=120, encoder_layers=3, decoder_layers=2,
                  vocab=131, max_len=64, positional="sinusoidal", norm="pre",
                  eps=1e-3, activation="gelu"),
         src_len=7, tgt_len=5),
    dict(name="transformer-post-gelu_tanh", family="transformer", seed=103,
         checks="post-norm, gelu_tanh, explicit default eps 1e-5, 2 enc + 3 dec layers, source shorter than target (5 vs 8)",
         cfg=dict(d_model=30, heads=5, d_ff=64, encoder_layers=2, decoder_layers=3,
                  vocab=97, max_len=64, positional="sinusoidal", norm="post",
                  eps=1e-5, activation="gelu_tanh"),
         src_len=5, tgt_len=8),
    # ---- gpt2 (HF GPT2LMHeadModel) ----
    dict(name="gpt2-tiny", family="gpt2", seed=201,
         checks="gelu_tanh (gelu_new) default, tied lm_head (absent from file), vocab 517, d_head 5",
         cfg=dict(d_model=30, heads=6, d_ff=200, layers=2, vocab=517, max_len=64),
         seq_len=9, tied=True),
    dict(name="gpt2-gelu", family="gpt2", seed=202,
         checks="gelu (erf), explicit non-default eps 1e-3, 3 layers, UNTIED lm_head.weight present in file (must be used), d_head 6",
         cfg=dict(d_model=30, heads=5, d_ff=96, layers=3, vocab=211, max_len=64,
                  eps=1e-3, activation="gelu"),
         seq_len=9, tied=False),
    dict(name="gpt2-relu", family="gpt2", seed=203,
         checks="relu, explicit default eps 1e-5, tied lm_head, S=13",
         cfg=dict(d_model=30, heads=6, d_ff=64, layers=2, vocab=97, max_len=64,
                  eps=1e-5, activation="relu"),
         seq_len=13, tied=True),
    # ---- bert (HF BertModel) ----
    dict(name="bert-tiny", family="bert", seed=301,
         checks="gelu (erf) default, ids only (token types default to 0), pooler.* present in file (ignored), vocab 517",
         cfg=dict(d_model=30, heads=5, d_ff=200, layers=2, vocab=517, max_len=64),
         seq_len=11, cls="BertModel", pooler=True, token_types=None),
    dict(name="bert-relu", family="bert", seed=302,
         checks="relu, type_vocab 3 with token_type_ids in {0,1,2}, explicit non-default eps 1e-3, 3 layers, no pooler in file",
         cfg=dict(d_model=30, heads=6, d_ff=80, layers=3, vocab=131, type_vocab=3, max_len=64,
                  eps=1e-3, activation="relu"),
         seq_len=11, cls="BertModel", pooler=False, token_types=3),
    dict(name="bert-mean-norm", family="bert", seed=303,
         checks="pooling: mean + normalize: true -> second output embedding [d]; gelu_tanh; explicit default eps 1e-12",
         cfg=dict(d_model=30, heads=5, d_ff=64, layers=2, vocab=97, max_len=64,
                  pooling="mean", normalize=True, eps=1e-12, activation="gelu_tanh"),
         seq_len=11, cls="BertModel", pooler=False, token_types=None),
    dict(name="bert-prefixed", family="bert", seed=304,
         checks="checkpoint of BertForSequenceClassification: keys prefixed bert., bert.pooler.* and classifier.* ignored; token_type_ids in {0,1}",
         cfg=dict(d_model=30, heads=5, d_ff=64, layers=2, vocab=101, max_len=64),
         seq_len=11, cls="BertForSequenceClassification", pooler=True, token_types=2),
    # ---- vit (HF ViTModel) ----
    dict(name="vit-tiny", family="vit", seed=401,
         checks="gelu default, image 32 / patch 8 (16 patches + cls = 17 rows), channels default 3",
         cfg=dict(d_model=30, heads=5, d_ff=200, layers=2, image_size=32, patch_size=8),
         cls="ViTModel"),
    dict(name="vit-gelu_tanh", family="vit", seed=402,
         checks="gelu_tanh (gelu_new), explicit channels 2, image 24 / patch 8 (10 rows), explicit non-default eps 1e-3, 3 layers",
         cfg=dict(d_model=30, heads=6, d_ff=64, layers=3, image_size=24, patch_size=8, channels=2,
                  eps=1e-3, activation="gelu_tanh"),
         cls="ViTModel"),
    dict(name="vit-relu-prefixed", family="vit", seed=403,
         checks="relu, d_model 60 (d_head 10), checkpoint of ViTForImageClassification: keys prefixed vit., classifier.* ignored; explicit default eps 1e-12",
         cfg=dict(d_model=60, heads=6, d_ff=120, layers=2, image_size=24, patch_size=8, channels=3,
                  eps=1e-12, activation="relu"),
         cls="ViTForImageClassification"),
]

YAML_ORDER = ["name", "family", "d_model", "heads", "d_ff", "encoder_layers", "decoder_layers",
              "layers", "vocab", "type_vocab", "max_len", "image_size", "patch_size", "channels",
              "positional", "norm", "pooling", "normalize", "eps", "activation", "weights"]


def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        m, e = f"{v:e}".split("e")
        return f"{float(m):g}e{int(e)}"  # 1e-6, 1e-12
    return str(v)


def write_yaml(path, var):
    kv = dict(name=var["name"], family=var["family"], **var["cfg"], weights="model.safetensors")
    assert set(kv) <= set(YAML_ORDER), set(kv) - set(YAML_ORDER)
    lines = ["# generated by tests/goldens/make_goldens.py -- do not edit",
             f"# checks: {var['checks']}"]
    lines += [f"{k}: {fmt(kv[k])}" for k in YAML_ORDER if k in kv]
    path.write_text("\n".join(lines) + "\n")


def eps_of(var):
    return var["cfg"].get("eps", DEFAULT_EPS[var["family"]])


def act_of(var):
    return var["cfg"].get("activation", DEFAULT_ACT[var["family"]])


# --------------------------------------------------------------------------
# Seeded random weights.

def randomize(model, seed, emb_std):
    g = torch.Generator().manual_seed(seed)
    seen = set()
    with torch.no_grad():
        for mname, mod in model.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                if id(p) in seen:
                    continue  # tied parameter, first owner decides
                seen.add(id(p))
                r = torch.randn(p.shape, generator=g, dtype=torch.float32)
                if isinstance(mod, nn.LayerNorm):
                    v = 1.0 + 0.2 * r if pname == "weight" else 0.2 * r
                elif isinstance(mod, nn.Embedding):
                    v = emb_std * r
                elif pname in ("cls_token", "position_embeddings"):
                    v = 0.5 * r
                elif p.dim() == 1:
                    v = 0.1 * r  # biases
                else:
                    fan_in = p.shape[0] if isinstance(mod, Conv1D) else math.prod(p.shape[1:])
                    # FFN input projections a bit hotter so that pre-activations reach
                    # |x| ~ 1..3, where gelu and gelu_tanh differ most
                    ffn_in = mname.endswith(("linear1", "mlp.c_fc", "intermediate.dense", "mlp.fc1"))
                    v = (2.0 if ffn_in else 1.2) * r / math.sqrt(fan_in)
                p.copy_(v)


# --------------------------------------------------------------------------
# Builders.  Each returns (inputs dict name->np array, outputs dict name->np array).

def ids(rng, vocab, n):
    return rng.randint(0, vocab, size=n).astype(np.int32)


def t64(a):
    return torch.from_numpy(a.astype(np.int64))


def run_twice(fn):
    with torch.no_grad():
        a, b = fn(), fn()
    for k in a:
        assert torch.equal(a[k], b[k]), f"non-deterministic output {k}"
    return a


def margin(out, m, fwd):
    """How much of the stated tolerance float32 rounding alone uses: the same model
    in float64 vs the float32 golden, max |f32 - f64| / (1e-4 + 1e-3 |f64|)."""
    import copy
    m64 = copy.deepcopy(m).double()
    torch.set_default_dtype(torch.float64)  # also for tensors made inside forward (masks)
    try:
        with torch.no_grad():
            ref = fwd(m64, torch.float64)()
    finally:
        torch.set_default_dtype(torch.float32)
    return max(float(((out[k].double() - ref[k]).abs() / (1e-4 + 1e-3 * ref[k].abs())).max())
               for k in out)


def same(a, b, what):
    for k in a:
        assert torch.equal(a[k], b[k]), f"{what}: output {k} differs after reloading the checkpoint"


def build_transformer(var, d):
    c = var["cfg"]
    torch.manual_seed(var["seed"])
    mk = lambda: Seq2Seq(c["vocab"], c["d_model"], c["heads"], c["d_ff"], c["encoder_layers"],
                         c["decoder_layers"], c["max_len"], c["norm"] == "pre",
                         TORCH_ACT[act_of(var)], eps=eps_of(var)).eval()
    m = mk()
    randomize(m, var["seed"], emb_std=c["d_model"] ** -0.5)  # x sqrt(d) in forward -> O(1)
    rng = np.random.RandomState(var["seed"])
    src, tgt = ids(rng, c["vocab"], var["src_len"]), ids(rng, c["vocab"], var["tgt_len"])
    fwd = lambda mm, dt=torch.float32: (lambda: {"logits": mm(t64(src), t64(tgt))})
    out = run_twice(fwd(m))
    tol = margin(out, m, fwd)
    safetensors.torch.save_file(m.state_dict(), str(d / "model.safetensors"))
    # reload check: the file alone reproduces the outputs
    m2 = mk()
    m2.load_state_dict(safetensors.torch.load_file(str(d / "model.safetensors")), strict=True)
    with torch.no_grad():
        same(out, fwd(m2)(), var["name"])
    return {"src": src, "tgt": tgt}, out, tol


def hf_save(m, d):
    m.save_pretrained(str(d), safe_serialization=True)
    for f in d.iterdir():
        if f.name not in ("model.safetensors", "config.json"):
            f.unlink()  # generation_config.json etc.


def hf_reload(cls, d, **kw):
    m, info = cls.from_pretrained(str(d), attn_implementation="eager", output_loading_info=True, **kw)
    bad = {k: v for k, v in info.items() if v}
    assert not bad, f"reloading {d.name}: {bad}"
    return m.eval()


def build_gpt2(var, d):
    c = var["cfg"]
    torch.manual_seed(var["seed"])
    cfg = GPT2Config(vocab_size=c["vocab"], n_positions=c["max_len"], n_embd=c["d_model"],
                     n_layer=c["layers"], n_head=c["heads"], n_inner=c["d_ff"],
                     activation_function=HF_ACT[act_of(var)], layer_norm_epsilon=eps_of(var),
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=0, eos_token_id=0, tie_word_embeddings=var["tied"],
                     attn_implementation="eager")
    m = GPT2LMHeadModel(cfg).eval()
    assert m.config._attn_implementation == "eager"
    randomize(m, var["seed"], emb_std=0.5)
    if var["tied"]:
        assert m.lm_head.weight is m.transformer.wte.weight
    else:
        assert m.lm_head.weight is not m.transformer.wte.weight
    rng = np.random.RandomState(var["seed"])
    x = ids(rng, c["vocab"], var["seq_len"])
    fwd = lambda mm, dt=torch.float32: (lambda: {"logits": mm(input_ids=t64(x)[None]).logits[0]})
    out = run_twice(fwd(m))
    tol = margin(out, m, fwd)
    hf_save(m, d)
    with torch.no_grad():
        same(out, fwd(hf_reload(GPT2LMHeadModel, d))(), var["name"])
    return {"ids": x}, out, tol


def build_bert(var, d):
    c = var["cfg"]
    torch.manual_seed(var["seed"])
    cfg = BertConfig(vocab_size=c["vocab"], hidden_size=c["d_model"], num_hidden_layers=c["layers"],
                     num_attention_heads=c["heads"], intermediate_size=c["d_ff"],
                     hidden_act=HF_ACT[act_of(var)], hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, max_position_embeddings=c["max_len"],
                     type_vocab_size=c.get("type_vocab", 2), layer_norm_eps=eps_of(var),
                     pad_token_id=0, attn_implementation="eager")
    kw = {}
    if var["cls"] == "BertModel":
        cls = BertModel
        kw = {"add_pooling_layer": var["pooler"]}
        m = BertModel(cfg, **kw).eval()
        body = lambda mm: mm
    else:
        cls = BertForSequenceClassification
        m = BertForSequenceClassification(cfg).eval()
        body = lambda mm: mm.bert
    assert m.config._attn_implementation == "eager"
    randomize(m, var["seed"], emb_std=0.5)
    rng = np.random.RandomState(var["seed"])
    x = ids(rng, c["vocab"], var["seq_len"])
    inputs = {"ids": x}
    tt = None
    if var["token_types"]:
        tt = rng.randint(0, var["token_types"], size=var["seq_len"]).astype(np.int32)
        tt[0], tt[-1] = 0, var["token_types"] - 1  # make sure non-zero entries occur
        inputs["token_type_ids"] = tt

    def fwd(mm, dt=torch.float32):
        def f():
            kwargs = {"input_ids": t64(x)[None]}
            if tt is not None:
                kwargs["token_type_ids"] = t64(tt)[None]
            h = body(mm)(**kwargs).last_hidden_state[0]
            o = {"hidden": h}
            if c.get("pooling") == "mean":
                e = h.mean(dim=0)
                if c.get("normalize"):
                    e = F.normalize(e, p=2, dim=0)
                o["embedding"] = e
            return o
        return f

    out = run_twice(fwd(m))
    tol = margin(out, m, fwd)
    hf_save(m, d)
    with torch.no_grad():
        same(out, fwd(hf_reload(cls, d, **kw))(), var["name"])
    return inputs, out, tol


def build_vit(var, d):
    c = var["cfg"]
    torch.manual_seed(var["seed"])
    ch = c.get("channels", 3)
    cfg = ViTConfig(hidden_size=c["d_model"], num_hidden_layers=c["layers"],
                    num_attention_heads=c["heads"], intermediate_size=c["d_ff"],
                    hidden_act=HF_ACT[act_of(var)], hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.0, layer_norm_eps=eps_of(var),
                    image_size=c["image_size"], patch_size=c["patch_size"], num_channels=ch,
                    qkv_bias=True, num_labels=3, attn_implementation="eager")
    kw = {}
    if var["cls"] == "ViTModel":
        cls = ViTModel
        kw = {"add_pooling_layer": False}
        m = ViTModel(cfg, **kw).eval()
        body = lambda mm: mm
    else:
        cls = ViTForImageClassification
        m = ViTForImageClassification(cfg).eval()
        body = lambda mm: mm.vit
    assert m.config._attn_implementation == "eager"
    randomize(m, var["seed"], emb_std=0.5)
    rng = np.random.RandomState(var["seed"])
    px = rng.randn(ch, c["image_size"], c["image_size"]).astype(np.float32)
    fwd = lambda mm, dt=torch.float32: (lambda: {"hidden": body(mm)(
        pixel_values=torch.from_numpy(px)[None].to(dt)).last_hidden_state[0]})
    out = run_twice(fwd(m))
    tol = margin(out, m, fwd)
    n = 1 + (c["image_size"] // c["patch_size"]) ** 2
    assert out["hidden"].shape == (n, c["d_model"])
    hf_save(m, d)
    with torch.no_grad():
        same(out, fwd(hf_reload(cls, d, **kw))(), var["name"])
    return {"pixels": px}, out, tol


BUILD = {"transformer": build_transformer, "gpt2": build_gpt2, "bert": build_bert, "vit": build_vit}


# --------------------------------------------------------------------------
# Independent check: a float64 numpy re-implementation that reads only what the
# C frontend reads (model.yaml, model.safetensors, in.*.npy), follows the
# issue's rules for names (prefixes, ignored tensors, tied lm_head, Conv1D
# [in, out], c_attn = Q|K|V, row-major patches) and must reproduce out.*.npy
# within the test tolerance.  It also requires the file's key set to be exactly
# the expected one once the ignorable tensors are dropped.

IGNORE_SUFFIX = (".attn.bias", ".attn.masked_bias", "embeddings.position_ids")  # NB: not c_attn.bias
IGNORE_PREFIX = ("pooler.", "cls.", "classifier.", "lm_head.")
FAMILY_PREFIX = {"gpt2": "transformer.", "bert": "bert.", "vit": "vit."}


def read_yaml(path):
    cfg = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        k, v = (x.strip() for x in line.split(":", 1))
        if v in ("true", "false"):
            cfg[k] = v == "true"
        else:
            try:
                cfg[k] = int(v)
            except ValueError:
                try:
                    cfg[k] = float(v)
                except ValueError:
                    cfg[k] = v
    return cfg


def np_act(name, x):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    assert name == "gelu_tanh"
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_attn(q, k, v, heads, causal):
    S, d = q.shape
    T = k.shape[0]
    dh = d // heads
    split = lambda t: t.reshape(t.shape[0], heads, dh).transpose(1, 0, 2)  # [h, n, dh]
    sc = split(q) @ split(k).transpose(0, 2, 1) / math.sqrt(dh)
    if causal:
        sc = sc + np.triu(np.full((S, T), -np.inf), 1)
    sc = np.exp(sc - sc.max(-1, keepdims=True))
    p = sc / sc.sum(-1, keepdims=True)
    return (p @ split(v)).transpose(1, 0, 2).reshape(S, d)


def load_weights(d, fam):
    raw = safetensors.numpy.load_file(str(d / "model.safetensors"))
    pre = FAMILY_PREFIX.get(fam)
    W = {}
    for k, v in raw.items():
        if pre and k.startswith(pre):
            k = k[len(pre):]
        if k.endswith(IGNORE_SUFFIX) or (k.startswith(IGNORE_PREFIX) and not
                                          (fam == "gpt2" and k == "lm_head.weight")):
            continue
        W[k] = v.astype(np.float64)
    return W


def expected_keys(c):
    fam = c["family"]
    lin = lambda p: [p + ".weight", p + ".bias"]
    if fam == "transformer":
        ks = ["src_embed.weight", "tgt_embed.weight"] + lin("generator")
        ks += lin("transformer.encoder.norm") + lin("transformer.decoder.norm")
        mha = lambda p: [p + ".in_proj_weight", p + ".in_proj_bias"] + lin(p + ".out_proj")
        for i in range(c["encoder_layers"]):
            p = f"transformer.encoder.layers.{i}."
            ks += mha(p + "self_attn") + lin(p + "linear1") + lin(p + "linear2")
            ks += lin(p + "norm1") + lin(p + "norm2")
        for i in range(c["decoder_layers"]):
            p = f"transformer.decoder.layers.{i}."
            ks += mha(p + "self_attn") + mha(p + "multihead_attn") + lin(p + "linear1")
            ks += lin(p + "linear2") + lin(p + "norm1") + lin(p + "norm2") + lin(p + "norm3")
    elif fam == "gpt2":
        ks = ["wte.weight", "wpe.weight"] + lin("ln_f")
        for i in range(c["layers"]):
            p = f"h.{i}."
            ks += lin(p + "ln_1") + lin(p + "ln_2") + lin(p + "attn.c_attn") + lin(p + "attn.c_proj")
            ks += lin(p + "mlp.c_fc") + lin(p + "mlp.c_proj")
    elif fam == "bert":
        ks = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
              "embeddings.token_type_embeddings.weight"] + lin("embeddings.LayerNorm")
        for i in range(c["layers"]):
            p = f"encoder.layer.{i}."
            for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                      "attention.output.dense", "attention.output.LayerNorm",
                      "intermediate.dense", "output.dense", "output.LayerNorm"):
                ks += lin(p + n)
    else:
        ks = ["embeddings.cls_token", "embeddings.position_embeddings"]
        ks += lin("embeddings.patch_embeddings.projection") + lin("layernorm")
        for i in range(c["layers"]):
            p = f"encoder.layer.{i}."
            for n in ("attention.attention.query", "attention.attention.key",
                      "attention.attention.value", "attention.output.dense",
                      "intermediate.dense", "output.dense", "layernorm_before", "layernorm_after"):
                ks += lin(p + n)
    return set(ks)


def numpy_reference(d):
    c = read_yaml(d / "model.yaml")
    fam = c["family"]
    eps = c.get("eps", DEFAULT_EPS[fam])
    act = c.get("activation", DEFAULT_ACT[fam])
    H = c["heads"]
    W = load_weights(d, fam)
    got = set(W) - {"lm_head.weight"}
    want = expected_keys(c)
    assert got == want, f"{d.name}: missing {want - got}, unexpected {got - want}"
    inp = {p.name[3:-4]: np.load(p) for p in d.glob("in.*.npy")}
    ln = lambda x, p: np_ln(x, W[p + ".weight"], W[p + ".bias"], eps)
    lin = lambda x, p: x @ W[p + ".weight"].T + W[p + ".bias"]          # nn.Linear [out, in]
    conv1d = lambda x, p: x @ W[p + ".weight"] + W[p + ".bias"]         # HF Conv1D [in, out]
    out = {}
    if fam == "transformer":
        dm = c["d_model"]
        pe = sinusoidal(c["max_len"], dm).double().numpy()
        def mha(xq, xkv, p, causal):
            wq, wk, wv = np.split(W[p + ".in_proj_weight"], 3)
            bq, bk, bv = np.split(W[p + ".in_proj_bias"], 3)
            a = np_attn(xq @ wq.T + bq, xkv @ wk.T + bk, xkv @ wv.T + bv, H, causal)
            return lin(a, p + ".out_proj")
        ff = lambda x, p: lin(np_act(act, lin(x, p + "linear1")), p + "linear2")
        pre = c["norm"] == "pre"
        src, tgt = inp["src"], inp["tgt"]
        x = W["src_embed.weight"][src] * math.sqrt(dm) + pe[:len(src)]
        for i in range(c["encoder_layers"]):
            p = f"transformer.encoder.layers.{i}."
            if pre:
                h = ln(x, p + "norm1"); x = x + mha(h, h, p + "self_attn", False)
                x = x + ff(ln(x, p + "norm2"), p)
            else:
                x = ln(x + mha(x, x, p + "self_attn", False), p + "norm1")
                x = ln(x + ff(x, p), p + "norm2")
        mem = ln(x, "transformer.encoder.norm")
        y = W["tgt_embed.weight"][tgt] * math.sqrt(dm) + pe[:len(tgt)]
        for i in range(c["decoder_layers"]):
            p = f"transformer.decoder.layers.{i}."
            if pre:
                h = ln(y, p + "norm1"); y = y + mha(h, h, p + "self_attn", True)
                y = y + mha(ln(y, p + "norm2"), mem, p + "multihead_attn", False)
                y = y + ff(ln(y, p + "norm3"), p)
            else:
                y = ln(y + mha(y, y, p + "self_attn", True), p + "norm1")
                y = ln(y + mha(y, mem, p + "multihead_attn", False), p + "norm2")
                y = ln(y + ff(y, p), p + "norm3")
        out["logits"] = lin(ln(y, "transformer.decoder.norm"), "generator")
    elif fam == "gpt2":
        ids = inp["ids"]
        h = W["wte.weight"][ids] + W["wpe.weight"][:len(ids)]
        for i in range(c["layers"]):
            p = f"h.{i}."
            q, k, v = np.split(conv1d(ln(h, p + "ln_1"), p + "attn.c_attn"), 3, axis=1)
            h = h + conv1d(np_attn(q, k, v, H, True), p + "attn.c_proj")
            h = h + conv1d(np_act(act, conv1d(ln(h, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        head = W.get("lm_head.weight", W["wte.weight"])
        out["logits"] = ln(h, "ln_f") @ head.T
    elif fam == "bert":
        ids = inp["ids"]
        tt = inp.get("token_type_ids", np.zeros_like(ids))
        x = (W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:len(ids)]
             + W["embeddings.token_type_embeddings.weight"][tt])
        x = ln(x, "embeddings.LayerNorm")
        for i in range(c["layers"]):
            p = f"encoder.layer.{i}."
            a = np_attn(lin(x, p + "attention.self.query"), lin(x, p + "attention.self.key"),
                        lin(x, p + "attention.self.value"), H, False)
            x = ln(x + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            m = lin(np_act(act, lin(x, p + "intermediate.dense")), p + "output.dense")
            x = ln(x + m, p + "output.LayerNorm")
        out["hidden"] = x
        if c.get("pooling") == "mean":
            e = x.mean(0)
            if c.get("normalize"):
                e = e / max(np.linalg.norm(e), 1e-12)
            out["embedding"] = e
    else:
        px, P = inp["pixels"], c["patch_size"]
        C, Hh, Ww = px.shape
        patches = (px.reshape(C, Hh // P, P, Ww // P, P).transpose(1, 3, 0, 2, 4)
                   .reshape((Hh // P) * (Ww // P), C * P * P))  # row-major patches, (c, kh, kw)
        wp = W["embeddings.patch_embeddings.projection.weight"]
        x = patches @ wp.reshape(wp.shape[0], -1).T + W["embeddings.patch_embeddings.projection.bias"]
        x = np.concatenate([W["embeddings.cls_token"][0], x]) + W["embeddings.position_embeddings"][0]
        for i in range(c["layers"]):
            p = f"encoder.layer.{i}."
            h = ln(x, p + "layernorm_before")
            a = np_attn(lin(h, p + "attention.attention.query"), lin(h, p + "attention.attention.key"),
                        lin(h, p + "attention.attention.value"), H, False)
            x = x + lin(a, p + "attention.output.dense")
            x = x + lin(np_act(act, lin(ln(x, p + "layernorm_after"), p + "intermediate.dense")), p + "output.dense")
        out["hidden"] = ln(x, "layernorm")
    worst = 0.0
    files = {p.name[4:-4] for p in d.glob("out.*.npy")}
    assert files == set(out), f"{d.name}: outputs {files} vs {set(out)}"
    for k, v in out.items():
        want = np.load(d / f"out.{k}.npy").astype(np.float64)
        assert want.shape == v.shape, (d.name, k, want.shape, v.shape)
        worst = max(worst, float((np.abs(v - want) / (1e-4 + 1e-3 * np.abs(want))).max()))
    assert worst <= 1.0, f"{d.name}: numpy reference off by {worst:.3f} x tolerance"
    return worst


# --------------------------------------------------------------------------

def shape_str(a):
    return f"{a.dtype}[{','.join(map(str, a.shape))}]"


def main():
    rows = []
    for var in VARIANTS:
        d = HERE / var["name"]
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        inputs, outs, tol = BUILD[var["family"]](var, d)
        assert tol < 0.05, f"{var['name']}: float32 rounding uses {tol:.3f} of the tolerance"
        write_yaml(d / "model.yaml", var)
        for k, a in inputs.items():
            assert a.dtype in (np.int32, np.float32)
            np.save(d / f"in.{k}.npy", np.ascontiguousarray(a))
        for k, t in outs.items():
            a = t.detach().numpy().astype(np.float32)
            assert np.isfinite(a).all(), f"{var['name']}: non-finite {k}"
            np.save(d / f"out.{k}.npy", np.ascontiguousarray(a))
        with safe_open(str(d / "model.safetensors"), "pt") as f:
            keys = list(f.keys())
            dtypes = {f.get_slice(k).get_dtype() for k in keys}
        assert dtypes == {"F32"}, dtypes
        size = sum(p.stat().st_size for p in d.iterdir())
        npref = numpy_reference(d)
        o = {k: t.detach().numpy() for k, t in outs.items()}
        rows.append(dict(var=var, inputs={k: shape_str(a) for k, a in inputs.items()},
                         outputs={k: shape_str(a.astype(np.float32)) for k, a in o.items()},
                         absmax=max(float(np.abs(a).max()) for a in o.values()),
                         std=float(next(iter(o.values())).std()),
                         ntensors=len(keys), size=size, tol=tol, npref=npref))
    write_readme(rows)
    print_summary(rows)


def write_readme(rows):
    L = ["# Family-form goldens (issue 3)", "",
         "Tiny models with seeded random weights; outputs computed in float32 by PyTorch",
         "(`transformer`, the `Seq2Seq` module of issue 3 on `torch.nn.Transformer`) and by",
         "Hugging Face `transformers` (`gpt2`, `bert`, `vit`; eager attention, eval mode).",
         "Checkpoints are the files `safetensors.torch.save_file(model.state_dict())` /",
         "`save_pretrained(safe_serialization=True)` wrote, unchanged (all F32).",
         "", "Regenerate (deterministic):", "",
         "    python3 tests/goldens/make_goldens.py", "",
         f"Generated with torch {torch.__version__}, transformers {transformers.__version__}, "
         f"safetensors {safetensors.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}.",
         "",
         "Each `NAME/` holds `model.yaml` (family form, `weights: model.safetensors`),",
         "`model.safetensors`, `config.json` (HF families only, documentation), the inputs",
         "`in.<input>.npy` (token ids int32 [S]; pixels float32 [C,H,W]) and the expected",
         "outputs `out.<output>.npy` (float32, no batch dimension). The inputs a golden",
         "uses are exactly its `in.*.npy` files (e.g. only some BERT goldens pass",
         "`token_type_ids`). Tolerance: |got - want| <= 1e-4 + 1e-3*|want|.",
         "", "| golden | family | inputs | outputs | what it checks |",
         "|---|---|---|---|---|"]
    for r in rows:
        v = r["var"]
        ins = ", ".join(f"`{k}` {s}" for k, s in r["inputs"].items())
        outs = ", ".join(f"`{k}` {s}" for k, s in r["outputs"].items())
        L.append(f"| `{v['name']}` | {v['family']} | {ins} | {outs} | {v['checks']} |")
    L += ["", "Notes on the checkpoints (transformers " + transformers.__version__ + "):", "",
          "- gpt2: keys `transformer.{wte,wpe,ln_f}.*`, `transformer.h.N.{ln_1,ln_2,attn.c_attn,"
          "attn.c_proj,mlp.c_fc,mlp.c_proj}.{weight,bias}`; no `attn.bias`/`attn.masked_bias` buffers;"
          " `lm_head.weight` only when untied (`gpt2-gelu`).",
          "- bert: `BertModel` files have no prefix and no `embeddings.position_ids`; `bert-tiny`"
          " carries `pooler.dense.*`, `bert-prefixed` (`BertForSequenceClassification`) has"
          " `bert.`-prefixed keys plus `bert.pooler.*` and `classifier.*`.",
          "- vit: transformers 5 names ViT modules differently in memory (`layers.N.attention.q_proj`,"
          " `mlp.fc1`, ...) but `save_pretrained` writes the classic Hub names"
          " (`encoder.layer.N.attention.attention.query`, `intermediate.dense`, ...); the files keep those.",
          "- Every parameter is re-drawn from a seeded generator (LayerNorm weights 1+0.2·N, biases"
          " 0.1·N, ...), so no tensor is all ones or zeros; attention is clearly non-uniform.",
          "- The script checks each golden three ways: two identical runs, a reload from the written"
          " file, and an independent float64 numpy re-implementation that reads only `model.yaml`,"
          " `model.safetensors` and `in.*.npy` (within the tolerance).", ""]
    mine = {v["name"] for v in VARIANTS}
    other = sorted(p.name for p in HERE.iterdir() if p.is_dir() and p.name not in mine)
    if other:
        L += ["Other goldens in this directory (" + ", ".join(f"`{o}/`" for o in other) +
              ") are not written by this script; see the generator inside each.", ""]
    (HERE / "README.md").write_text("\n".join(L))


def print_summary(rows):
    print(f"{'golden':28} {'inputs':40} {'outputs':42} {'|max|':>7} {'std':>6} {'#t':>4} {'bytes':>8} {'tol64':>7} {'numpy':>7}")
    tot = 0
    for r in rows:
        ins = " ".join(f"{k}:{s}" for k, s in r["inputs"].items())
        outs = " ".join(f"{k}:{s}" for k, s in r["outputs"].items())
        print(f"{r['var']['name']:28} {ins:40} {outs:42} {r['absmax']:7.3f} {r['std']:6.3f} "
              f"{r['ntensors']:4d} {r['size']:8d} {r['tol']:7.4f} {r['npref']:7.4f}")
        tot += r["size"]
    print(f"total {tot} bytes ({tot / 1e6:.2f} MB) in {len(rows)} goldens")
    print("tol64: max |f32 golden - float64 run| / (1e-4 + 1e-3|f64|), the share of the test "
          "tolerance that float32 rounding alone uses;\nnumpy: the same share for an independent "
          "float64 numpy re-implementation reading only model.yaml, model.safetensors, in.*.npy")


if __name__ == "__main__":
    main()
