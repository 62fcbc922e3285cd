"""genarm.model (our Llama) against transformers' LlamaForCausalLM, KV cache, padding, LoRA."""
from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from genarm.model import LORA_TARGETS, Config, Llama, LoRALinear, default_positions, from_hf_state_dict

V = 512


def hf_tiny(seed: int = 0) -> LlamaForCausalLM:
    """A random LlamaForCausalLM shaped like SmolLM2 (GQA, tied head) with weights large enough
    that the blocks matter (the default 0.02 init makes every logit near zero)."""
    cfg = LlamaConfig(vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
                      bos_token_id=1, eos_token_id=2, attn_implementation="eager")
    torch.manual_seed(seed)
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.5 if "embed" in n else 0.15))
    return m


def ours_from(hf: LlamaForCausalLM, **overrides) -> Llama:
    cfg = Config.from_hf(hf.config)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return from_hf_state_dict(cfg, hf.state_dict()).eval()


@pytest.fixture(scope="module")
def pair():
    hf = hf_tiny()
    return hf, ours_from(hf)


def test_config_from_hf_reads_rope_and_heads(pair):
    hf, ours = pair
    c = ours.cfg
    assert (c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim) == (3, 4, 2, 16)
    assert c.rope_theta == 100000.0 and c.vocab_size == V


def test_logits_match_transformers(pair):
    hf, ours = pair
    ids = torch.randint(0, V, (2, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = hf(ids).logits
        got, presents = ours(ids)
    assert ref.abs().max() > 1.0, "logits too small for a meaningful comparison"
    assert got.shape == ref.shape
    assert (got - ref).abs().max().item() <= 1e-4
    assert len(presents) == 3 and presents[0][0].shape == (2, 2, 40, 16)


def test_kv_cache_incremental_equals_full_pass(pair):
    hf, ours = pair
    ids = torch.randint(0, V, (1, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full, _ = ours(ids)
        # a prefix of 10, then 3 tokens, then one token at a time
        chunks = [(0, 10), (10, 13)] + [(t, t + 1) for t in range(13, 24)]
        past, steps = None, []
        for a, b in chunks:
            logits, past = ours(ids[:, a:b], torch.ones(1, b, dtype=torch.long), torch.arange(a, b)[None], past)
            steps.append(logits)
        inc = torch.cat(steps, dim=1)
        # and against transformers' own cache path
        out = hf(ids[:, :10], use_cache=True)
        hf_next = hf(ids[:, 10:13], past_key_values=out.past_key_values).logits
    assert (inc - full).abs().max().item() <= 1e-4
    assert (hf_next - inc[:, 10:13]).abs().max().item() <= 1e-4
    assert past[0][0].shape[2] == 24


def test_left_padding_gives_the_same_logits_for_real_tokens(pair):
    hf, ours = pair
    g = torch.Generator().manual_seed(3)
    lens = [17, 9, 13]
    seqs = [torch.randint(3, V, (n,), generator=g) for n in lens]
    S = max(lens)
    ids = torch.full((len(lens), S), 2, dtype=torch.long)
    mask = torch.zeros((len(lens), S), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, S - len(s):] = s
        mask[i, S - len(s):] = 1
    pos = default_positions(mask, S)
    assert pos[1, S - 9:].tolist() == list(range(9)), "positions must count real tokens only"
    with torch.no_grad():
        padded, _ = ours(ids, mask)  # default_positions is the default
        padded_explicit, _ = ours(ids, mask, pos)
        hf_padded = hf(ids, attention_mask=mask, position_ids=pos).logits
        for i, s in enumerate(seqs):
            alone, _ = ours(s[None])
            real = padded[i, S - len(s):]
            assert torch.isfinite(padded[i]).all(), "padded query rows must stay finite"
            assert (real - alone[0]).abs().max().item() <= 1e-4
            assert (hf_padded[i, S - len(s):] - alone[0]).abs().max().item() <= 1e-4
    assert torch.equal(padded, padded_explicit)


def test_left_padding_then_cache_step(pair):
    """A padded batch continued through the KV cache (what batched decoding does)."""
    _, ours = pair
    g = torch.Generator().manual_seed(4)
    a, b = torch.randint(3, V, (12,), generator=g), torch.randint(3, V, (7,), generator=g)
    ids = torch.stack([a, torch.cat([torch.full((5,), 2), b])])
    mask = torch.tensor([[1] * 12, [0] * 5 + [1] * 7])
    nxt = torch.randint(3, V, (2, 1), generator=g)
    with torch.no_grad():
        _, past = ours(ids, mask)
        mask2 = torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], 1)
        step, _ = ours(nxt, mask2, default_positions(mask2, 1), past)
        ra, _ = ours(torch.cat([a, nxt[0]])[None])
        rb, _ = ours(torch.cat([b, nxt[1]])[None])
    assert (step[0, 0] - ra[0, -1]).abs().max().item() <= 1e-4
    assert (step[1, 0] - rb[0, -1]).abs().max().item() <= 1e-4


def randomize_lora(m: Llama, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def test_lora_starts_as_base_and_merge_equals_unmerged(pair):
    hf, base = pair
    m = ours_from(hf, lora_rank=4, lora_alpha=8.0)
    ids = torch.randint(0, V, (2, 20), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref, _ = base(ids)
        fresh, _ = m(ids)
        assert (fresh - ref).abs().max().item() <= 1e-5, "B = 0 at init: the adapter starts as the base"
        randomize_lora(m, 6)
        unmerged, _ = m(ids)
        assert (unmerged - ref).abs().max().item() > 1e-2, "a random adapter must change the outputs"
        m.merge_lora()
        merged, _ = m(ids)
    assert (merged - unmerged).abs().max().item() <= 1e-4
    assert all(float(p.abs().max()) == 0.0 for n, p in m.named_parameters() if "lora_B" in n)


def test_lora_layers_top_n_only(pair):
    hf, _ = pair
    m = ours_from(hf, lora_rank=4, lora_layers=2)  # 3 layers: adapters in layers 1 and 2 only
    for i, layer in enumerate(m.layers):
        lins = [getattr(layer.self_attn, t, None) or getattr(layer.mlp, t) for t in LORA_TARGETS]
        assert all(isinstance(x, LoRALinear) for x in lins)
        assert [x.rank for x in lins] == [0 if i < 1 else 4] * len(LORA_TARGETS)
    names = [n for n, _ in m.named_parameters() if "lora_" in n]
    assert names and all(n.startswith(("layers.1.", "layers.2.")) for n in names)
    assert len(names) == 2 * 2 * len(LORA_TARGETS)
    m.freeze_base()
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    assert sorted(trainable) == sorted(names)
    # the bottom layer gets no gradient at all
    randomize_lora(m, 7)
    ids = torch.randint(0, V, (1, 8))
    logits, _ = m(ids)
    logits.logsumexp(-1).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in m.named_parameters() if "lora_A" in n)
    assert m.layers[0].self_attn.q_proj.weight.grad is None


def test_rm_head_gives_one_reward_per_position(pair):
    hf, _ = pair
    m = ours_from(hf, head="rm")
    torch.nn.init.normal_(m.score.weight)
    ids = torch.randint(0, V, (2, 11))
    with torch.no_grad():
        r, _ = m(ids)
    assert r.shape == (2, 11)
    # the reward at position t only depends on tokens <= t (causal)
    ids2 = ids.clone()
    ids2[:, 8:] = (ids2[:, 8:] + 1) % V
    with torch.no_grad():
        r2, _ = m(ids2)
    assert torch.allclose(r[:, :8], r2[:, :8], atol=1e-5) and not torch.allclose(r[:, 8:], r2[:, 8:])
