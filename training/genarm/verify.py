"""Prove the exported ONNX models compute what the PyTorch model computes.

Writes reports/models.json (section "parity"):
- fp32 ONNX vs transformers' LlamaForCausalLM (not our re-implementation) on held-out
  HH-RLHF text: max |logit difference|, full-sequence and through the KV cache;
- greedy continuations of 32 tokens on 5 prompts, identical;
- each quantized variant: top-1 next-token agreement with fp32 and perplexity on the
  same held-out text (response tokens);
- the same log-prob checks for every trained ARM (ONNX vs PyTorch ARM).
Also writes training/golden/tokenizer_cases.json for the tokenizer-parity test in Node.

  python -m genarm.verify [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from .paths import GOLDEN, MODELS, REPORTS

GREEDY_PROMPTS = [
    "What is the capital of France?",
    "Explain photosynthesis in one paragraph.",
    "Write a Python function that reverses a string.",
    "How should I prepare for a job interview?",
    "What are the health benefits of walking?",
]


class OnnxLM:
    """Minimal onnxruntime runner with the engine's I/O contract (used for checks only)."""

    def __init__(self, path, arch: dict):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        self.s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.a = arch
        self.out_name = self.s.get_outputs()[0].name

    def empty_past(self, b: int = 1) -> list[np.ndarray]:
        z = np.zeros((b, self.a["num_kv_heads"], 0, self.a["head_dim"]), np.float32)
        return [z] * (2 * self.a["num_layers"])

    def run(self, ids: np.ndarray, past: list[np.ndarray] | None = None, p: int = 0):
        b, s = ids.shape
        past = past if past is not None else self.empty_past(b)
        feeds = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones((b, p + s), np.int64),
                 "position_ids": np.arange(p, p + s, dtype=np.int64)[None].repeat(b, 0)}
        for i in range(self.a["num_layers"]):
            feeds[f"past_key_values.{i}.key"] = past[2 * i]
            feeds[f"past_key_values.{i}.value"] = past[2 * i + 1]
        out = self.s.run(None, feeds)
        return out[0], out[1:]

    def greedy(self, ids: list[int], n: int, eos: int) -> list[int]:
        logits, past = self.run(np.array([ids]))
        p, out = len(ids), []
        for _ in range(n):
            t = int(np.argmax(logits[0, -1]))
            out.append(t)
            if t == eos:
                break
            logits, past = self.run(np.array([[t]]), past, p)
            p += 1
        return out


def heldout_sequences(n: int, max_len: int = 256) -> list[tuple[list[int], int]]:
    """(prompt + chosen response ids, prompt length) from the held-out helpfulness split."""
    from .data import build, load_split
    build()
    rows = load_split("helpfulness", "heldout")[:n]
    return [((r["prompt_ids"] + r["chosen_ids"])[:max_len], len(r["prompt_ids"])) for r in rows]


def log_softmax_np(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def check_base(manifest: dict, n_seq: int) -> dict:
    from transformers import AutoModelForCausalLM

    from .base import hf_folder, load_tokenizer
    entry = manifest["models"]["smollm2-135m-instruct"]
    arch = entry["arch"]
    hf = AutoModelForCausalLM.from_pretrained(hf_folder(), dtype=torch.float32).eval()
    tok = load_tokenizer()
    seqs = heldout_sequences(n_seq)
    variants = {v: OnnxLM(MODELS / f["path"], arch) for v, f in entry["variants"].items()}
    res: dict = {"heldout_sequences": len(seqs), "tokens": sum(len(s) for s, _ in seqs)}

    # fp32 vs PyTorch, full sequence and via the KV cache
    max_diff, max_diff_kv = 0.0, 0.0
    fp32_logits = []
    for ids, _ in seqs:
        with torch.no_grad():
            ref = hf(torch.tensor([ids])).logits[0].numpy()
        got, _ = variants["fp32"].run(np.array([ids]))
        max_diff = max(max_diff, float(np.abs(got[0] - ref).max()))
        fp32_logits.append(got[0])
        half = len(ids) // 2
        _, past = variants["fp32"].run(np.array([ids[:half]]))
        tail, _ = variants["fp32"].run(np.array([ids[half:]]), past, half)
        max_diff_kv = max(max_diff_kv, float(np.abs(tail[0] - ref[half:]).max()))
    res["fp32_vs_pytorch_max_abs_logit_diff"] = max_diff
    res["fp32_vs_pytorch_max_abs_logit_diff_kv_cache"] = max_diff_kv

    # greedy continuations
    greedy = []
    for p in GREEDY_PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            g = hf.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                            max_new_tokens=32, do_sample=False, pad_token_id=2)[0, len(ids):].tolist()
        o = variants["fp32"].greedy(ids, 32, arch["eos_token_ids"][0])
        greedy.append({"prompt": p, "identical": g == o, "tokens": len(o), "text": tok.decode(o)})
    res["greedy_32"] = greedy

    # each variant: top-1 agreement with fp32, perplexity on response tokens
    per_variant = {}
    for v, lm in variants.items():
        q = agreement_and_perplexity(None if v == "fp32" else lm, seqs, fp32_logits)
        per_variant[v] = {**q, "bytes": entry["variants"][v]["bytes"]}
    res["variants"] = per_variant
    return res


def agreement_and_perplexity(lm, seqs: list, ref_logits: list) -> dict:
    """A variant's top-1 agreement with the reference logits (every position) and its perplexity on
    the response tokens of held-out sequences ((ids, prompt_len) pairs); lm None is the reference."""
    agree = total = 0
    nll = ntok = 0
    for (ids, plen), ref in zip(seqs, ref_logits):
        got = ref if lm is None else lm.run(np.array([ids]))[0][0]
        agree += int((got.argmax(-1) == ref.argmax(-1)).sum())
        total += len(ids)
        lp = log_softmax_np(got[plen - 1:-1])
        tgt = np.array(ids[plen:])
        nll -= float(lp[np.arange(len(tgt)), tgt].sum())
        ntok += len(tgt)
    return {"top1_agreement_with_fp32": agree / total, "perplexity": math.exp(nll / ntok), "response_tokens": ntok}

def check_arms(manifest: dict, n_seq: int) -> dict:
    """ONNX ARM log-probs vs the PyTorch ARM (merged LoRA) on held-out text."""
    from .build import trained_model
    out = {}
    seqs = heldout_sequences(n_seq)
    for mid, e in manifest["models"].items():
        if e["role"] != "arm" or e.get("tiny"):
            continue
        m = trained_model(mid, "lm")
        m.merge_lora()
        m.eval()
        lm = OnnxLM(MODELS / e["variants"]["fp32"]["path"], e["arch"])
        worst = 0.0
        for ids, plen in seqs:
            with torch.no_grad():
                ref = torch.log_softmax(m(torch.tensor([ids]))[0][0], -1).numpy()
            got = log_softmax_np(lm.run(np.array([ids]))[0][0])
            tgt = np.array(ids[plen:])
            r = ref[plen - 1:-1][np.arange(len(tgt)), tgt]
            g = got[plen - 1:-1][np.arange(len(tgt)), tgt]
            worst = max(worst, float(np.abs(r - g).max()))
        out[mid] = {"max_abs_logprob_diff_vs_pytorch": worst, "sequences": len(seqs)}
    return out


def tokenizer_cases() -> dict:
    """Strings and their ids under the Python tokenizer, for the Node parity test."""
    from .base import load_tokenizer
    from .data import load_split
    tok = load_tokenizer()
    strings = [
        "", " ", "  ", "\n", "\n\n", "\t\tindented", "a  b   c    d", "trailing spaces   ", "   leading",
        "Hello, world!", "naïve café résumé", "Straße über Ärger", "日本語のテキスト", "中文测试句子。", "한국어 문장",
        "Привет, мир", "مرحبا بالعالم", "שלום עולם", "emoji 😀🎉👍🏽", "family 👨‍👩‍👧‍👦 flag 🇫🇷", "math ∑ ∫ √ ≤ ≥ ≠ π",
        "def f(x):\n    return x ** 2\n", "for (let i = 0; i < n; i++) { sum += a[i]; }", "<script>alert('x')</script>",
        "SELECT * FROM users WHERE id = 1;", "https://example.com/path?q=1&r=2#frag", "user@example.com",
        "1234567890", "3.14159 2.71828 -42 1e-9", "CamelCaseWord snake_case_word kebab-case-word",
        "ALL CAPS SENTENCE", "don't won't it's we're", "\"quoted\" 'single' `back`", "<|im_start|>user\nhi<|im_end|>",
        "tabs\tand\nnewlines\r\nmixed", "zero\u200bwidth", "combining e\u0301 accent", "ﬁ ligature ½ ¼", "…—–",
    ]
    rng = np.random.default_rng(0)
    rows = load_split("helpfulness", "heldout")[:120] + load_split("harmlessness", "heldout")[:60]
    for r in rows:
        strings.append(tok.decode(r["chosen_ids"], skip_special_tokens=True))
    for _ in range(20):
        strings.append("".join(chr(int(c)) for c in rng.integers(32, 0x2FFF, size=12)))
    cases = [{"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]} for s in strings]
    chats = []
    for msgs in ([{"role": "user", "content": "Hi there"}],
                 [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"},
                  {"role": "user", "content": "And 3+3? 🤔"}],
                 [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}]):
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        chats.append({"messages": msgs, "text": text, "ids": tok(text, add_special_tokens=False)["input_ids"]})
    data = {"tokenizer": "smollm2-135m-instruct", "cases": cases, "chat": chats}
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / "tokenizer_cases.json").write_text(json.dumps(data, ensure_ascii=False) + "\n")
    return {"strings": len(cases), "chat_cases": len(chats)}


def update_report(section: str, value) -> None:
    REPORTS.mkdir(exist_ok=True)
    path = REPORTS / "models.json"
    rep = json.loads(path.read_text()) if path.exists() else {}
    rep[section] = value
    path.write_text(json.dumps(rep, indent=1) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer held-out sequences")
    a = ap.parse_args(argv)
    n = 4 if a.quick else 16
    torch.set_num_threads(2)
    manifest = json.loads((MODELS / "manifest.json").read_text())
    t0 = time.time()
    update_report("tokenizer_cases", tokenizer_cases())
    parity = check_base(manifest, n)
    parity["arms"] = check_arms(manifest, min(n, 8))
    parity["seconds"] = round(time.time() - t0, 1)
    update_report("parity", parity)
    print(json.dumps({k: v for k, v in parity.items() if k != "greedy_32"}, indent=1))
    print("greedy identical:", [g["identical"] for g in parity["greedy_32"]])


if __name__ == "__main__":
    main()
