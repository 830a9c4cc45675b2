#!/usr/bin/env bash
# Text: tokenizer parity with Hugging Face tokenizers on the committed corpus
# (WordPiece from tokenizer.json and from vocab.txt, byte-level BPE from
# tokenizer.json and from vocab.json + merges.txt), decoding, BPE round
# trips, the text commands' usage and data errors, and model directories:
# config.json read as the family form (the goldens' directories against
# PyTorch's outputs, directly and through `loom import`), located errors
# for config keys loom does not support.  Goldens: tests/text/make_text_goldens.py.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

T=text
WP=$T/minilm-tokenizer
BPE=$T/bpe
files=()
for f in $T/corpus/*.txt; do files+=(--file "$f"); done
n=$((${#files[@]} / 2))

# parity: one line of ids per corpus string, as HF tokenizers gives them
same_ids() { # what dir golden
  if "$LOOM" tokenize "$2" "${files[@]}" >"$tmp/ids" 2>"$tmp/err" &&
     diff -q "$tmp/ids" "$3" >/dev/null; then ok; else
    bad "$1: ids differ from $3"; diff "$tmp/ids" "$3" | head -6; cat "$tmp/err"; fi
}
same_ids "wordpiece (tokenizer.json)" $WP $T/corpus.wordpiece
mkdir "$tmp/vocab-txt" && cp $WP/vocab.txt $WP/tokenizer_config.json "$tmp/vocab-txt"
same_ids "wordpiece (vocab.txt)" "$tmp/vocab-txt" $T/corpus.wordpiece
same_ids "bpe (tokenizer.json)" $BPE $T/corpus.bpe
mkdir "$tmp/gpt2-files" && cp $BPE/vocab.json $BPE/merges.txt "$tmp/gpt2-files"
same_ids "bpe (vocab.json + merges.txt)" "$tmp/gpt2-files" $T/corpus.bpe

# decoding: WordPiece as HF's decode; BPE gives the text back, byte for byte
i=0
while IFS= read -r ids; do
  want=$(sed -n "$((i + 1))p" $T/corpus.wpdecode)
  got=$("$LOOM" detokenize $WP --ids "${ids// /,}")
  [ "$got" == "$want" ] && ok || bad "wordpiece decode of corpus $i: '$got' != '$want'"
  i=$((i + 1))
done <$T/corpus.wordpiece
i=0
while IFS= read -r ids; do
  f=$(printf "$T/corpus/%02d.txt" $i)
  i=$((i + 1))
  grep -q '<|endoftext|>' "$f" && continue # specials are skipped
  if [ -z "$ids" ]; then ok; continue; fi
  "$LOOM" detokenize $BPE --ids "${ids// /,}" >"$tmp/dec"
  # detokenize ends with a newline of its own
  if cmp -s <(head -c -1 "$tmp/dec") "$f"; then ok; else bad "bpe round trip of $f"; fi
done <$T/corpus.bpe
[ "$i" = "$n" ] && ok || bad "corpus.bpe has $i lines for $n strings"

# streaming-safe decode: a character split across byte tokens (the euro
# sign's three bytes are three tokens here) comes out whole
ids=$("$LOOM" tokenize $BPE --text "€")
expect 0 "€" "$LOOM" detokenize $BPE --ids "${ids// /,}"
# an ill-formed byte sequence decodes to U+FFFD, as tokenizers does
expect 0 $'\xef\xbf\xbd' "$LOOM" detokenize $BPE --ids "$(echo "$ids" | cut -d' ' -f1)"

# usage (exit 2), data (exit 1), help
expect 0 "usage: loom tokenize DIR" "$LOOM" tokenize --help
expect 0 "usage: loom detokenize DIR" "$LOOM" detokenize --help
expect 0 "usage: loom import DIR" "$LOOM" import --help
expect 0 "usage: loom embed MODEL" "$LOOM" embed --help
expect 0 "usage: loom run MODEL --text" "$LOOM" run goldens/bert-tiny --text x --help
expect 2 "tokenize: give --text TEXT or --file FILE" "$LOOM" tokenize $WP
expect 2 "tokenize: no tokenizer directory given" "$LOOM" tokenize
expect 2 "detokenize: --ids wants comma-separated" "$LOOM" detokenize $WP --ids 1,x
expect 2 "detokenize: give --ids" "$LOOM" detokenize $WP
expect 2 "import: give a model directory" "$LOOM" import README.md
expect 2 "give at least one --text" "$LOOM" embed $WP
expect 1 "the text is not valid UTF-8 (byte 1: 0xff)" "$LOOM" tokenize $WP --text $'a\xffb'
expect 1 "the text is not valid UTF-8" "$LOOM" tokenize $BPE --text $'\xed\xa0\x80' # a surrogate
expect 1 "token id 99999 is out of range" "$LOOM" detokenize $WP --ids 1,99999
expect 1 "no tokenizer: the directory has neither" "$LOOM" tokenize "$tmp" --text x
expect 1 "the model names no tokenizer" "$LOOM" tokenize goldens/bert-tiny/model.yaml --text x
mkdir "$tmp/badtok" && printf '{"model": {"type": "Unigram", "vocab": {}}}' >"$tmp/badtok/tokenizer.json"
expect_re 1 "tokenizer.json:1:2: error: tokenizer model 'Unigram' is not supported" "$LOOM" tokenize "$tmp/badtok" --text x
printf '{"model": ' >"$tmp/badtok/tokenizer.json"
expect 1 "tokenizer.json:1:" "$LOOM" tokenize "$tmp/badtok" --text x
expect 1 "" "$LOOM" tokenize $WP --text "ok" --file "$tmp/nope.txt"
[ ! -s "$tmp/out" ] && ok || bad "a failed tokenize printed ids"

# model directories: each golden's config.json + model.safetensors is the
# model; its outputs are PyTorch's (bert-mean-norm's pooling is in its YAML
# only, so its directory gives the hidden states)
for d in bert-tiny bert-relu gpt2-tiny gpt2-gelu vit-tiny vit-gelu_tanh; do
  g=goldens/$d
  ins=()
  for f in $g/in.*.npy; do b=${f##*/in.}; ins+=(--input "${b%.npy}=$f"); done
  out=$(ls $g/out.*.npy | head -1); name=${out##*/out.}; name=${name%.npy}
  if "$LOOM" run $g "${ins[@]}" --backend ref --out-dir "$tmp/$d" >/dev/null 2>"$tmp/err" &&
     "$NPYCMP" "$tmp/$d/$name.npy" "$out" >/dev/null; then ok; else bad "directory $g"; cat "$tmp/err"; fi
  # loom import writes the YAML the directory is read as: the same outputs
  if "$LOOM" import $g -o "$tmp/$d.yaml" >/dev/null 2>"$tmp/err" &&
     "$LOOM" run "$tmp/$d.yaml" "${ins[@]}" --backend ref --out-dir "$tmp/$d-yaml" >/dev/null 2>>"$tmp/err" &&
     cmp -s "$tmp/$d/$name.npy" "$tmp/$d-yaml/$name.npy"; then ok; else bad "import of $g"; cat "$tmp/err"; fi
done
expect 0 "family: gpt2" "$LOOM" import goldens/gpt2-tiny/config.json
expect 0 "activation: gelu_tanh" "$LOOM" import goldens/gpt2-tiny

# config keys: the unsupported ones are located errors naming the key
cfg() { # name python-ish-edit: copy bert-tiny's directory, apply sed
  rm -rf "$tmp/$1" && mkdir "$tmp/$1" && cp goldens/bert-tiny/model.safetensors "$tmp/$1/"
  sed "$2" goldens/bert-tiny/config.json >"$tmp/$1/config.json"
}
cfg rel 's/"model_type"/"position_embedding_type": "relative_key",\n  "model_type"/'
expect_re 1 'config.json:[0-9]+:3: error: position_embedding_type: "relative_key" is not supported' "$LOOM" run "$tmp/rel" --input ids=1,2
cfg dec 's/"is_decoder": false/"is_decoder": true/'
expect_re 1 'config.json:[0-9]+:3: error: is_decoder: true is not supported' "$LOOM" dump "$tmp/dec"
cfg unk 's/"model_type"/"rope_theta": 10000,\n  "model_type"/'
expect_re 1 "config.json:[0-9]+:3: error: unknown config key 'rope_theta' for bert" "$LOOM" import "$tmp/unk"
cfg act 's/"hidden_act": "[a-z_]*"/"hidden_act": "silu"/'
expect_re 1 "config.json:[0-9]+:3: error: hidden_act 'silu' is not supported" "$LOOM" import "$tmp/act"
cfg mt 's/"model_type": "bert"/"model_type": "llama"/'
expect_re 1 "config.json:[0-9]+:3: error: model_type 'llama' is not supported" "$LOOM" import "$tmp/mt"
cfg syn 's/"model_type"/"model_type" "x",/'
expect_re 1 "config.json:[0-9]+:[0-9]+: error: " "$LOOM" import "$tmp/syn"
cfg heads 's/"num_attention_heads": [0-9]*/"num_attention_heads": 7/'
expect_re 1 "config.json:[0-9]+:3: error: the hidden size .* is not divisible by 7 heads" "$LOOM" import "$tmp/heads"
rm "$tmp/heads/config.json"
expect 1 "not a model directory: no config.json" "$LOOM" import "$tmp/heads"
[ ! -e "$tmp/none.yaml" ] && ok || bad "a failed import wrote a file"

echo "text: $pass passed, $fail failed"
[ "$fail" = 0 ]
