"""SmolLM2 (Llama architecture) in plain PyTorch, with LoRA and an ONNX-friendly KV cache.

One readable file in the spirit of nanoGPT. Why not just use transformers' model?
- the ONNX graph has exactly the inputs/outputs the browser engine expects
  (input_ids, attention_mask, position_ids, past_key_values.{i}.key/value ->
  logits | rewards, present.{i}.key/value), with no cache classes to trace through;
- LoRA lives inside our Linear, so one module serves training, merging and the
  fused multi-adapter graph (rows of one batch = base + each ARM);
- the same module gives a trajectory-level reward model (scalar head).
Parity against transformers' LlamaForCausalLM is a test (tests/test_model.py).

Shapes: B batch, S new tokens, P past tokens, T = P + S, H query heads,
K kv heads, D head dim, C hidden size, V vocab.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 49152
    hidden_size: int = 576
    intermediate_size: int = 1536
    num_layers: int = 30
    num_heads: int = 9
    num_kv_heads: int = 3
    head_dim: int = 64
    rope_theta: float = 100000.0
    rms_norm_eps: float = 1e-5
    max_position: int = 8192
    bos_token_id: int = 1
    eos_token_id: int = 2
    # LoRA (0 = none)
    lora_rank: int = 0
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_layers: int = 0  # LoRA on the top N layers only (0 = every layer)
    # 'lm' -> logits over the vocab; 'rm' -> one scalar reward per position
    head: str = "lm"

    @classmethod
    def from_hf(cls, c) -> Config:
        rope = getattr(c, "rope_parameters", None) or {}
        theta = rope.get("rope_theta", getattr(c, "rope_theta", 10000.0))
        return cls(
            vocab_size=c.vocab_size, hidden_size=c.hidden_size,
            intermediate_size=c.intermediate_size, num_layers=c.num_hidden_layers,
            num_heads=c.num_attention_heads, num_kv_heads=c.num_key_value_heads,
            head_dim=getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
            rope_theta=float(theta), rms_norm_eps=float(c.rms_norm_eps),
            max_position=c.max_position_embeddings,
            bos_token_id=c.bos_token_id if c.bos_token_id is not None else 1,
            eos_token_id=c.eos_token_id if isinstance(c.eos_token_id, int) else 2,
        )

    def to_dict(self) -> dict:
        return asdict(self)


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoRALinear(nn.Module):
    """y = x W^T + (alpha/r) * dropout(x) A^T B^T ; W frozen, A and B trained."""

    def __init__(self, in_f: int, out_f: int, rank: int = 0, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_f, in_f))
        self.rank = rank
        if rank > 0:
            self.lora_A = nn.Parameter(torch.empty(rank, in_f))
            self.lora_B = nn.Parameter(torch.zeros(out_f, rank))  # zero: starts as the base
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.scale = alpha / rank
            self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight)
        if self.rank > 0:
            y = y + F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B) * self.scale
        return y

    @torch.no_grad()
    def merge(self) -> None:
        if self.rank > 0:
            self.weight += (self.lora_B @ self.lora_A) * self.scale
            self.lora_B.zero_()


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float):
    """position_ids [B,S] -> cos, sin [B,1,S,D] (HF 'rotate_half' convention)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=position_ids.device) / head_dim))
    freqs = position_ids.to(torch.float32)[..., None] * inv_freq  # [B,S,D/2]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        H, K, D, C = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.hidden_size
        lora = dict(rank=cfg.lora_rank, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout)
        self.q_proj = LoRALinear(C, H * D, **lora)
        self.k_proj = LoRALinear(C, K * D, **lora)
        self.v_proj = LoRALinear(C, K * D, **lora)
        self.o_proj = LoRALinear(H * D, C, **lora)
        self.H, self.K, self.D = H, K, D

    def forward(self, x, cos, sin, mask, past_k, past_v):
        B, S, _ = x.shape
        q = self.q_proj(x).view(B, S, self.H, self.D).transpose(1, 2)  # [B,H,S,D]
        k = self.k_proj(x).view(B, S, self.K, self.D).transpose(1, 2)  # [B,K,S,D]
        v = self.v_proj(x).view(B, S, self.K, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)  # [B,K,T,D]
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        rep = self.H // self.K  # grouped-query attention: each kv head serves `rep` query heads
        kk = k[:, :, None].expand(B, self.K, rep, k.shape[2], self.D).reshape(B, self.H, k.shape[2], self.D)
        vv = v[:, :, None].expand(B, self.K, rep, v.shape[2], self.D).reshape(B, self.H, v.shape[2], self.D)
        att = (q @ kk.transpose(-1, -2)) * (1.0 / math.sqrt(self.D)) + mask  # [B,H,S,T]
        att = torch.softmax(att, dim=-1)
        y = (att @ vv).transpose(1, 2).reshape(B, S, self.H * self.D)
        return self.o_proj(y), present


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        C, I = cfg.hidden_size, cfg.intermediate_size
        lora = dict(rank=cfg.lora_rank, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout)
        self.gate_proj = LoRALinear(C, I, **lora)
        self.up_proj = LoRALinear(C, I, **lora)
        self.down_proj = LoRALinear(I, C, **lora)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past_k, past_v):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past_k, past_v)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


def build_mask(attention_mask: torch.Tensor, S: int, dtype=torch.float32) -> torch.Tensor:
    """attention_mask [B,T] (1 = real token) -> additive mask [B,1,S,T].

    The S new tokens sit at the end of the T positions, so query i may see key j
    when j <= T - S + i and key j is not padding. -1e9 rather than -inf keeps
    fully padded query rows finite instead of NaN.
    """
    T = attention_mask.shape[1]
    dev = attention_mask.device
    q_idx = torch.arange(S, device=dev)[:, None] + (T - S)
    k_idx = torch.arange(T, device=dev)[None, :]
    causal = k_idx <= q_idx  # [S,T]
    allowed = causal[None, None] & (attention_mask[:, None, None, :] > 0)
    zero = torch.zeros((), dtype=dtype, device=dev)
    neg = torch.full((), -1e9, dtype=dtype, device=dev)
    return torch.where(allowed, zero, neg)


class Llama(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        first = cfg.num_layers - cfg.lora_layers if cfg.lora_layers else 0
        # lower layers without LoRA need no backward pass at all: autograd starts at the first adapter
        self.layers = nn.ModuleList([Block(cfg if i >= first else replace(cfg, lora_rank=0))
                                     for i in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        if cfg.head == "rm":
            self.score = nn.Linear(cfg.hidden_size, 1, bias=True)
        # lm head is tied to embed_tokens (SmolLM2 ties them)

    def hidden(self, input_ids, attention_mask, position_ids, past=None):
        # S from the ids, as before run_layers existed: the exported graphs keep their bytes
        x, presents = self.run_layers(self.embed_tokens(input_ids), attention_mask, position_ids, past,
                                      S=input_ids.shape[1])
        return self.norm(x), presents

    def run_layers(self, x, attention_mask, position_ids, past=None, start: int = 0, stop: int | None = None,
                   S=None):
        """Layers start..stop-1 on residual-stream states x [B,S,C], no final norm; past[j] is
        layer start+j's cache. A slice lets training cache the output of frozen lower layers."""
        S = x.shape[1] if S is None else S
        cos, sin = rope_cos_sin(position_ids, self.cfg.head_dim, self.cfg.rope_theta)
        mask = build_mask(attention_mask, S, x.dtype)
        # the whole stack iterates self.layers itself, exactly as the export always traced it
        layers = self.layers if (start, stop) == (0, None) else self.layers[start:stop]
        presents = []
        for j, layer in enumerate(layers):
            pk, pv = (past[j] if past is not None else (None, None))
            x, pres = layer(x, cos, sin, mask, pk, pv)
            presents.append(pres)
        return x, presents

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """Returns (logits [B,S,V] or rewards [B,S], presents list[(k,v)])."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = default_positions(attention_mask, input_ids.shape[1])
        h, presents = self.hidden(input_ids, attention_mask, position_ids, past)
        if self.cfg.head == "rm":
            return self.score(h).squeeze(-1), presents
        return F.linear(h, self.embed_tokens.weight), presents

    # ---- LoRA helpers -------------------------------------------------
    def lora_parameters(self):
        return [p for n, p in self.named_parameters() if "lora_" in n]

    def lora_state_dict(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.named_parameters() if "lora_" in n}

    def freeze_base(self) -> None:
        for n, p in self.named_parameters():
            p.requires_grad = ("lora_" in n) or n.startswith("score.")

    @torch.no_grad()
    def merge_lora(self) -> None:
        for m in self.modules():
            if isinstance(m, LoRALinear):
                m.merge()


def default_positions(attention_mask: torch.Tensor, S: int) -> torch.Tensor:
    """Positions count real tokens only, so left padding does not shift RoPE."""
    pos = attention_mask.long().cumsum(-1) - 1
    pos = pos.clamp(min=0)
    return pos[:, -S:]


HF_RENAMES = {"model.embed_tokens.": "embed_tokens.", "model.layers.": "layers.", "model.norm.": "norm."}


def from_hf_state_dict(cfg: Config, sd: dict[str, torch.Tensor]) -> Llama:
    model = Llama(cfg)
    ours = {}
    for k, v in sd.items():
        if k == "lm_head.weight":
            continue  # tied
        for a, b in HF_RENAMES.items():
            if k.startswith(a):
                k = b + k[len(a):]
        ours[k] = v.float()
    missing, unexpected = model.load_state_dict(ours, strict=False)
    missing = [m for m in missing if "lora_" not in m and not m.startswith("score.")]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing={missing[:5]} unexpected={unexpected[:5]}")
    return model


def to_hf_state_dict(model: Llama) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in model.state_dict().items():
        if "lora_" in k or k.startswith("score."):
            continue
        k2 = k
        for a, b in HF_RENAMES.items():
            if k.startswith(b):
                k2 = a + k[len(b):]
        out[k2] = v
    return out
