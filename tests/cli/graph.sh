#!/usr/bin/env bash
# `loom graph`: DOT that Graphviz renders (dot -Tsvg), for golden models of
# every family with and without passes; what a pass did is visible (folded
# tables as consts, a fused epilogue's label, fused Q/K/V boxed with its
# split); Mermaid output of the right shape (every node defined once, every
# edge between defined nodes, subgraphs closed); byte-identical reruns;
# usage errors.
set -u
: "${LOOM:?}"
DOT=${DOT:-dot}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
has() { grep -qF -- "$2" "$1" && ok || bad "$1 lacks: $2"; }
hasnt() { grep -qF -- "$2" "$1" && bad "$1 has: $2" || ok; }

command -v "$DOT" >/dev/null || { echo "graph.sh: Graphviz 'dot' not found (apt-get install graphviz)"; exit 1; }

# every family, with and without passes: Graphviz accepts the DOT
for m in attention-head transformer-post-relu gpt2-tiny bert-tiny vit-tiny; do
  for p in none default; do
    f="$tmp/$m-$p.dot"
    args=(); [ "$p" = none ] && args=(--passes=none)
    if "$LOOM" graph "goldens/$m/model.yaml" "${args[@]}" --format=dot -o "$f" 2>"$tmp/err"; then
      "$DOT" -Tsvg "$f" -o "$f.svg" 2>"$tmp/dot.err" && [ -s "$f.svg" ] && ok ||
        { bad "dot -Tsvg rejects $f"; head -5 "$tmp/dot.err"; }
    else
      bad "loom graph $m --passes=$p"; head -5 "$tmp/err"
    fi
  done
done

# what the passes did, visibly (attention-head: one layer, a sinusoidal
# table, Q/K/V of one input, a residual add after the output projection)
none=$tmp/attention-head-none.dot dflt=$tmp/attention-head-default.dot
has "$none" 'label="sinusoidal_pe\nf32[S, 32]\npe"'
has "$none" 'label="wq\nweight f32[32, 32]", shape=cylinder'
has "$none" 'shape=invhouse'
has "$none" 'out0 [label="output\ny", shape=house'
hasnt "$none" 'subgraph cluster_'
hasnt "$dflt" 'sinusoidal_pe'
has "$dflt" 'label="pe.table\nconst f32[64, 32]", shape=note'
has "$dflt" 'label="fused matmul + split (3)"'
has "$dflt" 'label="split\nf32[S, 32], f32[S, 32], f32[S, 32]\nq, k, v"'
has "$dflt" '+residual'
grep -qE '^  n[0-9]+ -> n[0-9]+ \[label="2"\];$' "$dflt" && ok || bad "no edge labelled with a split's result index"
bert=$tmp/bert-tiny-default.dot
has "$bert" '+bias, gelu'
has "$bert" 'label="matmul\n+bias\nf32[S, 90]\nlayer.0.attn.q_k_v"'
grep -q 'label="matmul\\nf32\[S, 32\]\\nq"' "$none" && ok || bad "an op's label is 'op\\ntype\\nname'"

# deterministic
"$LOOM" graph goldens/gpt2-tiny/model.yaml >"$tmp/a.dot" && "$LOOM" graph goldens/gpt2-tiny/model.yaml >"$tmp/b.dot" &&
  cmp -s "$tmp/a.dot" "$tmp/b.dot" && ok || bad "two runs differ"

# Mermaid: the shape of a flowchart
for m in attention-head transformer-post-relu; do
  f="$tmp/$m.mmd"
  "$LOOM" graph "goldens/$m/model.yaml" --format=mermaid -o "$f" || { bad "mermaid $m"; continue; }
  [ "$(sed -n 2p "$f")" = "flowchart TD" ] && ok || bad "$f: line 2 is not 'flowchart TD'"
  # node definitions: id, an opening bracket, a quoted label, the closing one
  bad_lines=$(grep -vE '^(%%.*|flowchart TD|  n[0-9]+(\[|\[/|\[\(|\[\[)"[^"]*"(\]|/\]|\)\]|\]\])(:::[a-z]+)?|    n[0-9]+(\[|\[/|\[\(|\[\[)"[^"]*"(\]|/\]|\)\]|\]\])(:::[a-z]+)?|  out[0-9]+\(\["[^"]*"\]\):::output|  subgraph fused[0-9]+ \["[^"]*"\]|  end|  (n|out)[0-9]+ -->(\|[0-9]+\|)? (n|out)[0-9]+|  classDef [a-z]+ .*)$' "$f")
  [ -z "$bad_lines" ] && ok || { bad "$f: lines of no known form:"; echo "$bad_lines" | head -5; }
  defined=$(grep -oE '^ +(n|out)[0-9]+[[(]' "$f" | tr -d ' [(' | sort)
  [ -z "$(echo "$defined" | uniq -d)" ] && ok || bad "$f: a node defined twice"
  used=$(grep -oE '(n|out)[0-9]+ -->(\|[0-9]+\|)? (n|out)[0-9]+' "$f" | sed -E 's/ -->(\|[0-9]+\|)? / /' | tr ' ' '\n' | sort -u)
  [ -z "$(comm -23 <(echo "$used") <(echo "$defined" | sort -u))" ] && ok || bad "$f: an edge to an undefined node"
  [ "$(grep -c '^  subgraph ' "$f")" = "$(grep -c '^  end$' "$f")" ] && ok || bad "$f: subgraphs not closed"
  has "$f" 'classDef weight'
done
has "$tmp/attention-head.mmd" 'subgraph fused0 ["fused matmul + split (3)"]'
has "$tmp/attention-head.mmd" '[["pe.table<br/>const f32[64, 32]"]]:::const'
"$LOOM" graph goldens/attention-head/model.yaml --passes=none --format=mermaid >"$tmp/n.mmd"
has "$tmp/n.mmd" '[("wq<br/>weight f32[32, 32]")]:::weight'
has "$tmp/n.mmd" '[/"ids<br/>input i32[S]"/]:::input'
grep -qE '^  n[0-9]+ -->\|1\| n[0-9]+$' "$tmp/attention-head.mmd" && ok || bad "no Mermaid edge labelled with a result index"

# usage errors, bad models
"$LOOM" graph goldens/gpt2-tiny/model.yaml --format=png >/dev/null 2>"$tmp/err"; [ $? = 2 ] && ok || bad "bad format: exit 2"
has "$tmp/err" "loom: error: graph: unknown format 'png' (dot, mermaid)"
"$LOOM" graph goldens/gpt2-tiny/model.yaml --passes=fuse-qvk >/dev/null 2>"$tmp/err"; [ $? = 2 ] && ok || bad "unknown pass: exit 2"
has "$tmp/err" "did you mean 'fuse-qkv'?"
"$LOOM" graph --help >"$tmp/out" && has "$tmp/out" "usage: loom graph MODEL.yaml|FILE.ir"
"$LOOM" graph nope.yaml -o "$tmp/nope.dot" 2>/dev/null; [ $? = 1 ] && ok || bad "missing model: exit 1"
[ -e "$tmp/nope.dot" ] && bad "a failed graph wrote its -o file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
