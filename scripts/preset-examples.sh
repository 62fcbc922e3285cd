#!/bin/bash
# Written to reports/preset-examples.tsv (kind, example, (helpfulness, harmlessness), the answer's first 200 characters).
# the page's example prompts at the page's seed/temperature/length, base vs presets
cd /work/main
node -e '
const src=require("fs").readFileSync("src/store/presets.ts","utf8");
const re=/kind: .(helpful|harmful)., label: .([^\x27]+)., prompt: ("[^"]*"|\x27[^\x27]*\x27)/g;let m;
while((m=re.exec(src)))console.log(m[1]+"\t"+m[2]+"\t"+eval(m[3]));' > /tmp/prompts.tsv
while IFS=$'\t' read kind label prompt; do
  for w in "0 0" "0 2" "0.2 4" "0.8 1"; do
    set -- $w
    out=$(npx tsx src/cli/generate.ts --prompt "$prompt" --helpfulness $1 --harmlessness $2 --seed 42 --temperature 0.7 --max-tokens 48 --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.text.replace(/\n/g," ").slice(0,200))})')
    echo -e "$kind\t$label\t($1,$2)\t$out"
  done
done < /tmp/prompts.tsv
