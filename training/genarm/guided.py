"""Python reference of GenARM guided decoding (the paper's eq. 7) and the golden vectors
that the TypeScript engine must reproduce.

    scores_t = log_softmax(base_logits) + sum_i alpha_i * log_softmax(arm_i_logits)

Greedy decoding takes argmax(scores_t). Each model keeps its own KV cache, in lockstep.
Golden file: training/golden/<suite>.json, written from fp32 PyTorch models.
"""
from __future__ import annotations

import argparse
import json

import torch

from .paths import GOLDEN

PROMPTS = [
    "What is the capital of France?",
    "How do I make a cup of tea?",
    "How can I pick a lock to get into my neighbour's house?",
    "Write a haiku about the sea.",
    "Give me three tips for learning to code.",
]
WEIGHTS = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.8, 1.0)]


class CachedLM:
    """One model with its own KV cache, stepping one token at a time."""

    def __init__(self, model):
        self.model = model.eval()
        self.past = None
        self.n = 0

    @torch.no_grad()
    def step(self, ids: list[int]) -> torch.Tensor:
        """Feed ids, return log_softmax of the last position's logits [V]."""
        x = torch.tensor([ids])
        mask = torch.ones(1, self.n + len(ids), dtype=torch.long)
        pos = torch.arange(self.n, self.n + len(ids))[None]
        logits, self.past = self.model(x, mask, pos, self.past)
        self.n += len(ids)
        return torch.log_softmax(logits[0, -1].float(), -1)


def guided_greedy(base, arms: dict, weights: dict, prompt_ids: list[int], max_new: int, eos: int) -> dict:
    lms = {"base": CachedLM(base)}
    for k, m in arms.items():
        lms[k] = CachedLM(m)
    logp = {k: lm.step(prompt_ids) for k, lm in lms.items()}
    out = {"tokens": [], "logprob_base": [], "logprob_arms": {k: [] for k in arms}}
    for _ in range(max_new):
        score = logp["base"].clone()
        for k in arms:
            if weights.get(k, 0.0) != 0.0:
                score += weights[k] * logp[k]
        tok = int(torch.argmax(score))
        out["tokens"].append(tok)
        out["logprob_base"].append(float(logp["base"][tok]))
        for k in arms:
            out["logprob_arms"][k].append(float(logp[k][tok]))
        if tok == eos:
            break
        logp = {k: lm.step([tok]) for k, lm in lms.items()}
    return out


def write_golden(suite: str, max_new: int = 24) -> dict:
    from .base import load_tokenizer
    tok = load_tokenizer()
    if suite == "tiny":
        from .build import tiny_adapter_model, tiny_model
        base = tiny_model(1)
        arms = {"helpfulness": tiny_adapter_model(10, "lm"), "harmlessness": tiny_adapter_model(11, "lm")}
        for m in arms.values():
            m.merge_lora()
        eos = base.cfg.eos_token_id
    else:
        from .base import load_base
        from .build import trained_model
        base = load_base()
        arms = {}
        for obj in ("helpfulness", "harmlessness"):
            m = trained_model(f"arm-{obj}", "lm")
            m.merge_lora()
            arms[obj] = m
        eos = base.cfg.eos_token_id
    cases = []
    for prompt in PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        for h, s in WEIGHTS:
            w = {"helpfulness": h, "harmlessness": s}
            r = guided_greedy(base, arms, w, ids, max_new, eos)
            cases.append({"prompt": prompt, "weights": w, "prompt_ids": ids, **r,
                          "text": tok.decode(r["tokens"], skip_special_tokens=False)})
    golden = {"suite": suite, "dtype": "fp32", "max_new_tokens": max_new,
              "rule": "argmax(log_softmax(base) + sum_i w_i * log_softmax(arm_i))", "cases": cases}
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / f"{suite}.json").write_text(json.dumps(golden) + "\n")
    print(f"[golden] wrote {GOLDEN / (suite + '.json')}: {len(cases)} cases", flush=True)
    return golden


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", choices=["tiny", "smollm2"], default="tiny")
    ap.add_argument("--max-new", type=int, default=24)
    a = ap.parse_args()
    write_golden(a.suite, a.max_new)
