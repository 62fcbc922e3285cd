"""Batched GenARM decoding in PyTorch: many prompts at once, for the evaluation and for
on-policy data (the browser engine decodes one prompt at a time; src/engine/ is its twin).

Per step, for every row (one prompt):

    scores = log_softmax(base) + sum_i alpha_i * log_softmax(arm_i)      (eq. 7, docs/METHOD.md)
    scores -> repetition penalty -> no-repeat n-gram -> / temperature -> draw

in the order and with the semantics of transformers.js (RepetitionPenaltyLogitsProcessor,
NoRepeatNGramLogitsProcessor, then the temperature warper), the same as src/engine/processors.ts:
both processors look at the whole sequence the model has seen (prompt ids + generated ids).
Temperature 0 is greedy (argmax of the processed scores). A draw is the inverse CDF of one
uniform per step, the uniforms fixed per prompt seed, so two methods share their random numbers
(common random numbers: paired differences between methods are tighter).

Shared layers: an ARM whose LoRA starts at layer s (lora_layers) computes exactly the base's
layers 0..s-1, so those run once for the base and every ARM ([B] rows, not [B*(1+n)]), each
model keeping its own KV cache above s only.

Prompt cache (cache_prompts=True): the prompt's forward (the first step: its KV caches and the
first scores) is the same for every method that decodes the same batch of prompts, so it is kept
per (batch, shared layers, model) and reused; a method then only pays for its new tokens. The
cached tensors are never written to (each step concatenates into new ones).

Shapes: B prompts, Lp padded prompt length, S new tokens in a step, V vocab.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .model import Llama


@dataclass
class DecodeSettings:
    """One method's decoding settings; defaults are the paper's (no penalty, T = 1)."""
    weights: dict = field(default_factory=dict)  # objective -> alpha; 0 or absent = not in the sum
    temperature: float = 1.0  # 0 = greedy
    repetition_penalty: float = 1.0  # 1 = off
    no_repeat_ngram_size: int = 0  # 0 = off
    max_new: int = 64


def first_lora_layer(m: Llama) -> int:
    """Index of the first layer whose weights differ from the base's (LoRA or fine-tuned)."""
    n = m.cfg.num_layers
    return n - m.cfg.lora_layers if (m.cfg.lora_rank and m.cfg.lora_layers) else 0


def repetition_penalty_(scores: torch.Tensor, seqs: list[list[int]], penalty: float) -> None:
    """transformers' RepetitionPenaltyLogitsProcessor on [B,V] scores, in place: each id seen
    in the row's sequence is divided by the penalty when positive, multiplied when negative."""
    if penalty == 1.0:
        return
    for b, seq in enumerate(seqs):
        ids = torch.tensor(sorted(set(seq)), dtype=torch.long)
        s = scores[b, ids]
        scores[b, ids] = torch.where(s < 0, s * penalty, s / penalty)


def no_repeat_ngram_(scores: torch.Tensor, seqs: list[list[int]], n: int) -> None:
    """transformers' NoRepeatNGramLogitsProcessor: a token that would complete an n-gram already
    in the row's sequence gets -inf (nothing is banned while the sequence is shorter than n-1)."""
    if n <= 0:
        return
    for b, seq in enumerate(seqs):
        if len(seq) + 1 < n:
            continue
        prefix = tuple(seq[len(seq) - n + 1:]) if n > 1 else ()
        banned = {seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i:i + n - 1]) == prefix}
        if banned:
            scores[b, torch.tensor(sorted(banned), dtype=torch.long)] = -float("inf")


class Guided:
    """A base and its ARMs, decoding a batch of prompts with eq. 7."""

    def __init__(self, base: Llama, arms: dict[str, Llama], eos_ids: list[int], pad_id: int,
                 cache_prompts: bool = False):
        self.base = base.eval()
        self.arms = {k: m.eval() for k, m in arms.items()}
        self.eos = set(eos_ids)
        self.pad = pad_id
        self.shared = min([first_lora_layer(m) for m in self.arms.values()], default=base.cfg.num_layers)
        self.cache_prompts = cache_prompts
        self.share_lower = True  # False: every model runs all its layers (the tests' reference)
        self._prompt_cache: dict[tuple, tuple] = {}

    def clear_cache(self) -> None:
        self._prompt_cache.clear()

    def _cached(self, key: tuple, compute):
        if not self.cache_prompts:
            return compute()
        if key not in self._prompt_cache:
            self._prompt_cache[key] = compute()
        return self._prompt_cache[key]

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], s: DecodeSettings, seeds: list[int]) -> list[dict]:
        """-> per prompt {ids, finish ('eos'|'length')}. Only the ARMs with alpha != 0 run."""
        active = {k: a for k, a in s.weights.items() if a and k in self.arms}
        models = [("base", self.base, 0.0)] + [(k, self.arms[k], a) for k, a in active.items()]
        # layers every running model shares: below the lowest first-LoRA layer of the ARMs that run
        shared = min([first_lora_layer(self.arms[k]) for k in active], default=self.base.cfg.num_layers)
        shared = shared if self.share_lower else 0
        B = len(prompts)
        lp = max(len(p) for p in prompts)
        ids = torch.full((B, lp), self.pad, dtype=torch.long)
        mask = torch.zeros((B, lp), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, lp - len(p):] = torch.tensor(p)
            mask[i, lp - len(p):] = 1
        uniforms = np.stack([np.random.default_rng(sd).random(s.max_new) for sd in seeds])  # [B, max_new]
        seqs = [list(p) for p in prompts]
        out = [[] for _ in range(B)]
        done = [False] * B
        past_shared = None
        past = {name: None for name, _, _ in models}
        step_ids = ids
        batch_key = tuple(map(tuple, prompts))
        for t in range(s.max_new):
            S = step_ids.shape[1]
            pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, -S:]

            def lower(step_ids=step_ids, pos=pos, mask=mask, past_shared=past_shared):
                x = self.base.embed_tokens(step_ids)
                if shared:
                    x, past_shared = self.base.run_layers(x, mask, pos, past_shared, 0, shared)
                return x, past_shared

            def upper(m, x, past_m, pos=pos, mask=mask):
                h, past_m = m.run_layers(x, mask, pos, past_m, shared, None)
                logits = torch.nn.functional.linear(m.norm(h[:, -1]), m.embed_tokens.weight).float()
                return torch.log_softmax(logits, -1), past_m

            if t == 0:  # the prompt's forward: the same for every method on this batch
                x, past_shared = self._cached((batch_key, shared), lower)
            else:
                x, past_shared = lower()
            scores = None
            for name, m, alpha in models:
                if t == 0:
                    logp, past[name] = self._cached((batch_key, shared, name), lambda m=m, x=x: upper(m, x, None))
                else:
                    logp, past[name] = upper(m, x, past[name])
                scores = logp.clone() if scores is None else scores + alpha * logp  # processors write in place
            repetition_penalty_(scores, seqs, s.repetition_penalty)
            no_repeat_ngram_(scores, seqs, s.no_repeat_ngram_size)
            if s.temperature == 0:
                nxt = scores.argmax(-1)
            else:
                probs = torch.softmax(scores / s.temperature, -1).double()
                cdf = probs.cumsum(-1)
                u = torch.from_numpy(uniforms[:, t]) * cdf[:, -1]
                nxt = torch.searchsorted(cdf, u[:, None]).squeeze(-1).clamp(max=scores.shape[1] - 1)
            for b in range(B):
                if done[b]:
                    continue
                tok = int(nxt[b])
                if tok in self.eos:
                    done[b] = True
                    continue
                out[b].append(tok)
                seqs[b].append(tok)
            if all(done):
                break
            step_ids = nxt[:, None]
            mask = torch.cat([mask, torch.ones((B, 1), dtype=torch.long)], dim=1)
        return [{"ids": o, "finish": "eos" if d else "length"} for o, d in zip(out, done)]


@torch.no_grad()
def rm_scores(rm: Llama, prompts: list[list[int]], responses: list[list[int]], pad_id: int, bs: int = 16) -> list[float]:
    """Trajectory RM reward of each prompt + response (the scalar at the last real token)."""
    out = []
    for s in range(0, len(prompts), bs):
        seqs = [p + r for p, r in zip(prompts[s:s + bs], responses[s:s + bs])]
        L = max(len(q) for q in seqs)
        ids = torch.full((len(seqs), L), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, q in enumerate(seqs):  # left padding: the last position is every row's last token
            ids[i, L - len(q):] = torch.tensor(q)
            mask[i, L - len(q):] = 1
        rewards, _ = rm(ids, mask)
        out += rewards[:, -1].float().tolist()
    return out
