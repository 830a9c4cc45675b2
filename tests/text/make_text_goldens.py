#!/usr/bin/env python3
"""make_text_goldens.py — the goldens of loom's tokenizers and of the real
all-MiniLM-L6-v2, made with Hugging Face `tokenizers` and
sentence-transformers.  The tests (tests/cli/text.sh, tests/cli/minilm.sh)
need no Python: they compare loom against the files written here.

    python3 -m venv /work/venv-text
    /work/venv-text/bin/pip install tokenizers sentence-transformers torch
    scripts/fetch-minilm.sh build/minilm          # prints the model directory
    /work/venv-text/bin/python tests/text/make_text_goldens.py \
        --loom build/loom --minilm build/minilm/model

Writes, under tests/text/:
  bpe/tokenizer.json, bpe/vocab.json, bpe/merges.txt
        a GPT-2-style byte-level BPE (ByteLevel pre-tokenizer, no
        normalizer) trained here on README.md (real GPT-2 files are on no
        package registry)
  corpus/NN.txt          the tricky strings, one per file (raw UTF-8)
  corpus.wordpiece       HF ids of each, MiniLM's tokenizer.json, a line each
  corpus.wpdecode        HF decode() of those ids, a line each
  corpus.bpe             HF ids with the BPE above (decode(ids) == text is
                         checked here and by the test)
  unicode-disagreements.txt
        code points where HF tokenizers and loom (utf8proc's tables) do not
        tokenize "x" + c + "y" alike, found by trying every code point; the
        corpus avoids them and the README lists them
  minilm/sentences.txt   committed sentences, one a line
  minilm/embeddings.npy  sentence-transformers' embeddings of them [N, 384]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CORPUS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve, résumé, Ångström, façade, jalapeño, Zoë, Crème brûlée",
    "ÀÉÎÕÜ àéîõü Ñ ñ Ç ç",
    "São Paulo — Kraków — Łódź — Dvořák — Øresund",
    "\u0065\u0301 vs \u00e9 (combining acute vs precomposed)",
    "ﬁ ligature, ² superscript, Ⅻ roman numeral, ½ fraction",
    "中文分词测试：我爱北京天安门。",
    "日本語のテキストとカタカナ、ひらがな",
    "한국어 텍스트 안녕하세요",
    "Mixed 中文 and English 混合 text",
    "Emoji 😀😃😄 and 👍🏽 and 🇫🇷 and 👨‍👩‍👧",
    "tab\there\tand\ttabs",
    "line one\nline two\r\nline three",
    "bell\u0007 escape\u001b null-ish\u0001 del\u007f",
    "soft\u00adhyphen and zero\u200bwidth and joiner\u200dhere",
    "non\u00a0breaking\u00a0space and thin\u2009space and ideographic\u3000space",
    "!!!???...,,,;;;:::---___***",
    "((([[[{{{}}}]]])))",
    "a--b, a—b, a–b, \"quoted\", 'single', «guillemets», „low‑high“",
    "$100 + 50% = ~150 <tag> a^b `code` a|b",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "x" * 120,
    "don't can't won't I'm you're we've they'll she'd it's O'Neil",
    "DON'T CAN'T I'M YOU'RE",
    "3.14159 2,718 1e-10 0x1F 42nd 1st 100,000,000 ٣٤٥",
    "Phone: +1 (555) 123-4567, 2024-01-31T12:00:00Z",
    "   leading spaces",
    "trailing spaces   ",
    "many     spaces     between",
    "\n\n\nnewlines first",
    "ends with newlines\n\n",
    " \t \n mixed \t\n whitespace \n\t ",
    "",
    " ",
    "email@example.com https://example.org/path?q=1&r=2#frag",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    "Ελληνικά κείμενο ΣΊΣΥΦΟΣ",
    "Русский текст и ЗАГЛАВНЫЕ буквы",
    "עברית וערבית العربية",
    "हिन्दी पाठ और संख्या १२३",
    "ไทยภาษา ไม่มีช่องว่าง",
    "Ｆｕｌｌｗｉｄｔｈ　ｌｅｔｔｅｒｓ　１２３",
    "math: ∀x∈ℝ, x² ≥ 0; ∑ᵢ aᵢ ≠ ∞",
    "currency: €5, £3, ¥100, ₹50, ₿1",
    "[CLS] literal special tokens [SEP] in [MASK] text [UNK]",
    "<|endoftext|>between<|endoftext|> specials",
    "A sentence. Another one! And a question? Yes; no: maybe...",
    "a\u0300\u0301\u0302\u0303 stacked combining marks",
    "Ǆ ǅ ǆ titlecase digraphs, ẞ ß capital sharp s",
]

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "Naïve café owners in São Paulo don't serve crème brûlée!",
    "深度学习 and 自然语言处理 are fun 😀",
    "The quick brown fox jumps over the lazy dog. " * 40,  # past 256 tokens
]


def train_bpe(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2,
                                  special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    tok.train_from_iterator(text.split("\n\n"), trainer)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    tok.model.save(out_dir)  # vocab.json, merges.txt
    return tok


def loom_tokenize(loom, tokdir, texts):
    """loom's ids of each text (one text per line of a temporary file)."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False,
                                     suffix=".txt") as f:
        f.write("\n".join(texts))
        name = f.name
    out = subprocess.run([loom, "tokenize", tokdir, "--file", name, "--lines"],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(name)
    return [[int(x) for x in line.split()] for line in out.split("\n")[:len(texts)]]


def disagreements(loom, tok, tokdir, what):
    """Code points c where "x" c "y" tokenizes differently."""
    cps = [c for c in range(1, 0x110000)
           if not (0xD800 <= c <= 0xDFFF) and c not in (0x0A, 0x0D)]
    texts = ["x%sy" % chr(c) for c in cps]
    want = [e.ids for e in tok.encode_batch(texts)]
    got = loom_tokenize(loom, tokdir, texts)
    return [(c, what) for c, w, g in zip(cps, want, got) if w != g]


def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--minilm", required=True)
    a = ap.parse_args()

    bpe = train_bpe(os.path.join(HERE, "bpe"))
    wp = Tokenizer.from_file(os.path.join(a.minilm, "tokenizer.json"))
    for t in (wp, bpe):
        t.no_truncation()
        t.no_padding()

    bad = disagreements(a.loom, wp, a.minilm, "wordpiece")
    bad += disagreements(a.loom, bpe, os.path.join(HERE, "bpe"), "bpe")
    by_cp = {}
    for c, what in bad:
        by_cp.setdefault(c, set()).add(what)
    with open(os.path.join(HERE, "unicode-disagreements.txt"), "w") as f:
        f.write("# code points where HF tokenizers and loom tokenize \"x\" c \"y\""
                " differently (make_text_goldens.py)\n")
        for what in ("wordpiece", "bpe"):
            rs = ranges([c for c, w in by_cp.items() if what in w])
            f.write("%s: %d code points in %d ranges\n" % (what, sum(r[1] - r[0] + 1 for r in rs), len(rs)))
            for lo, hi in rs:
                f.write("  U+%04X..U+%04X\n" % (lo, hi) if hi > lo else "  U+%04X\n" % lo)
    print("disagreements: %d code points" % len(by_cp), file=sys.stderr)

    cdir = os.path.join(HERE, "corpus")
    os.makedirs(cdir, exist_ok=True)
    for f in os.listdir(cdir):
        os.unlink(os.path.join(cdir, f))
    wl, dl, bl = [], [], []
    for i, s in enumerate(CORPUS):
        for ch in s:
            assert ord(ch) not in by_cp, "corpus %d has U+%04X, a disagreement" % (i, ord(ch))
        with open(os.path.join(cdir, "%02d.txt" % i), "w", encoding="utf-8", newline="") as f:
            f.write(s)
        w = wp.encode(s).ids
        b = bpe.encode(s).ids
        assert bpe.decode(b, skip_special_tokens=False) == s, "BPE does not round-trip corpus %d" % i
        wl.append(" ".join(map(str, w)))
        dl.append(wp.decode(w))
        bl.append(" ".join(map(str, b)))
    for name, lines in (("corpus.wordpiece", wl), ("corpus.wpdecode", dl), ("corpus.bpe", bl)):
        with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines) + "\n")

    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(a.minilm, device="cpu")
    emb = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    mdir = os.path.join(HERE, "minilm")
    os.makedirs(mdir, exist_ok=True)
    with open(os.path.join(mdir, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(SENTENCES) + "\n")
    np.save(os.path.join(mdir, "embeddings.npy"), emb.astype(np.float32))
    print("wrote %d corpus strings, %d sentences" % (len(CORPUS), len(SENTENCES)), file=sys.stderr)


if __name__ == "__main__":
    main()
