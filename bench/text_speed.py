#!/usr/bin/env python3
"""text_speed.py — is tokenizing a bottleneck?  Times loom's tokenizers on 1 MB
of English text against Hugging Face tokenizers in the same run.

    /work/venv-text/bin/python bench/text_speed.py --loom build/loom \
        [--wordpiece tests/text/minilm-tokenizer] [--bpe tests/text/bpe] [--repeat 5]

The text: docstrings of Python's standard library (English prose with code
names and punctuation), cut to 1 MB at a line boundary, one text per line
(--lines), so both tokenizers see the same texts.  loom's time is its own
measurement of tokenizing (`loom tokenize --time`: no process start or file
reading); HF's is encode_batch over the same lines on one thread (and, for
reference, on all threads).  Prints medians of --repeat runs; needs
`tokenizers` (see tests/text/make_text_goldens.py for the venv).
"""
import argparse
import warnings
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time


def english(size=1 << 20):
    seen, out, n = set(), [], 0
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in ("antigravity", "this", "idlelib", "tkinter", "turtle"):
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        objs = [mod] + [getattr(mod, a, None) for a in sorted(dir(mod))]
        objs += [getattr(c, a, None) for c in objs if isinstance(c, type)
                 for a in sorted(vars(c))]
        for obj in objs:
            doc = getattr(obj, "__doc__", None)
            if not isinstance(doc, str) or doc in seen:
                continue
            seen.add(doc)
            for line in doc.splitlines():
                line = line.strip()
                if line:
                    out.append(line)
                    n += len(line.encode()) + 1
                    if n >= size:
                        return "\n".join(out)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loom", required=True)
    ap.add_argument("--wordpiece", default="tests/text/minilm-tokenizer")
    ap.add_argument("--bpe", default="tests/text/bpe")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    from tokenizers import Tokenizer

    warnings.simplefilter("ignore")
    text = english()
    lines = text.split("\n")
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt") as f:
        f.write(text)
        path = f.name
    print("text: %d bytes, %d lines" % (len(text.encode()), len(lines)))
    for name, d in (("wordpiece", a.wordpiece), ("bpe", a.bpe)):
        loom_ms = []
        for _ in range(a.repeat):
            r = subprocess.run([a.loom, "tokenize", d, "--file", path, "--lines", "--time"],
                               check=True, capture_output=True, text=True)
            loom_ms.append(float(r.stderr.split("tokenize_ms=")[1].split()[0]))
        ids = sum(len(l.split()) for l in r.stdout.splitlines())
        hf = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        hf.no_padding()
        hf.no_truncation()
        hf_ms = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            enc = hf.encode_batch(lines)
            hf_ms.append((time.perf_counter() - t0) * 1e3)
        same = [" ".join(map(str, e.ids)) for e in enc] == r.stdout.splitlines()
        print("%-9s loom %7.1f ms (%d ids)   HF tokenizers %7.1f ms   loom/HF time %.2f   ids equal: %s"
              % (name, statistics.median(loom_ms), ids, statistics.median(hf_ms),
                 statistics.median(loom_ms) / statistics.median(hf_ms), same))
    os.unlink(path)


if __name__ == "__main__":
    main()
