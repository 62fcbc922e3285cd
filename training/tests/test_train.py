"""genarm.train: the shared-prompt scoring is exact, the GenARM loss, and that training learns."""
from __future__ import annotations

import math

import pytest
import torch

from genarm import train
from genarm.build import tiny_adapter_model

PAD = 2
V = 49152


def synthetic_pairs(n: int, seed: int, lens=((5, 4, 7), (9, 2, 6), (3, 8, 1), (6, 5, 5))) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        lp, lc, lr = lens[i % len(lens)]
        r = lambda k: torch.randint(3, V, (k,), generator=g).tolist()  # noqa: E731
        out.append({"prompt_ids": r(lp), "chosen_ids": r(lc), "rejected_ids": r(lr)})
    return out


def test_collate_pads_prompts_left_and_responses_right():
    pairs = synthetic_pairs(3, 0)
    pid, pm, rid, rm = train.collate(pairs, PAD)
    assert pid.shape == (3, 9) and rid.shape == (6, 8)
    for i, p in enumerate(pairs):
        n = len(p["prompt_ids"])
        assert pid[i, 9 - n:].tolist() == p["prompt_ids"] and pm[i].tolist() == [0] * (9 - n) + [1] * n
        assert (pid[i, :9 - n] == PAD).all()
    for i, r in enumerate([p["chosen_ids"] for p in pairs] + [p["rejected_ids"] for p in pairs]):
        assert rid[i, :len(r)].tolist() == r and rm[i].sum() == len(r) and (rm[i, len(r):] == 0).all()


def naive_scores(model, kind: str, pairs: list[dict]) -> torch.Tensor:
    """One full unpadded pass over prompt + response per row, no shared cache."""
    rows = [(p["prompt_ids"], p["chosen_ids"]) for p in pairs] + [(p["prompt_ids"], p["rejected_ids"]) for p in pairs]
    out = []
    for prompt, resp in rows:
        ids = torch.tensor([prompt + resp])
        y, _ = model(ids)
        if kind == "rm":
            out.append(y[0, -1])  # the reward at the last response token
        else:
            logp = torch.log_softmax(y[0].float(), -1)
            n = len(prompt)
            out.append(sum(logp[n - 1 + j, t] for j, t in enumerate(resp)))  # token j is predicted at n-1+j
    return torch.stack(out)


@pytest.mark.parametrize("kind", ["arm", "rm"])
def test_shared_prompt_scores_equal_the_naive_full_pass(kind):
    torch.manual_seed(0)
    model = tiny_adapter_model(10 if kind == "arm" else 20, "lm" if kind == "arm" else "rm").eval()
    if kind == "rm":
        with torch.no_grad():
            model.score.bias.fill_(0.3)
    pairs = synthetic_pairs(4, 1)
    batch = train.collate(pairs, PAD)
    fast = train.pair_scores(model, kind, *batch)
    slow = naive_scores(model, kind, pairs)
    assert fast.shape == (8,)
    assert fast.dtype == torch.float32
    scale = slow.abs().max().item()
    assert (fast - slow).abs().max().item() <= 1e-4 * max(1.0, scale), (fast, slow)
    assert slow.std() > 1e-3, "scores must differ between rows for the comparison to mean anything"
    # and the gradients through the shared prompt cache are the naive ones too
    lora = [p for n, p in model.named_parameters() if "lora_" in n or n.startswith("score.")]
    g_fast = torch.autograd.grad(train.pair_loss(fast, kind, 0.05)[0], lora)
    g_slow = torch.autograd.grad(train.pair_loss(slow, kind, 0.05)[0], lora)
    for a, b in zip(g_fast, g_slow):
        assert (a - b).abs().max().item() <= 1e-4 * max(1.0, b.abs().max().item())
    assert sum(float(b.abs().sum()) for b in g_slow) > 0


def test_pair_loss_is_the_genarm_loss():
    sw = torch.tensor([-10.0, -30.0, -5.0])
    sl = torch.tensor([-20.0, -25.0, -5.0])
    beta = 0.05
    loss, acc = train.pair_loss(torch.cat([sw, sl]), "arm", beta)
    expect = sum(math.log1p(math.exp(-beta * (w - l))) for w, l in zip(sw.tolist(), sl.tolist())) / 3
    assert abs(loss.item() - expect) <= 1e-6
    assert acc.tolist() == [1.0, 0.0, 0.0], "a tie is not a correct pair"
    # no reference model, no length normalisation: only the beta-scaled difference of the sums matters
    loss2, _ = train.pair_loss(torch.cat([sw - 100.0, sl - 100.0]), "arm", beta)
    assert abs(loss2.item() - loss.item()) <= 1e-6
    # the trajectory RM is Bradley-Terry on the raw rewards (no beta)
    rl, _ = train.pair_loss(torch.tensor([1.5, 0.0, 0.5, 0.0]), "rm", beta)
    assert abs(rl.item() - (math.log1p(math.exp(-1.0)) + math.log(2.0)) / 2) <= 1e-6
    # gradient sign: raising the chosen score lowers the loss
    s = torch.cat([sw, sl]).requires_grad_()
    train.pair_loss(s, "arm", beta)[0].backward()
    assert (s.grad[:3] < 0).all() and (s.grad[3:] > 0).all()


@pytest.mark.parametrize("kind", ["arm", "rm"])
def test_a_few_steps_reduce_the_loss(kind):
    """Train a tiny LoRA model with the trainer's own functions on pairs with a learnable rule
    (chosen responses use one token range, rejected another)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    pairs = []
    for i in range(8):
        p = torch.randint(3, V, (4 + i % 5,), generator=g).tolist()
        c = torch.randint(1000, 1020, (3 + i % 3,), generator=g).tolist()
        r = torch.randint(3000, 3020, (3 + (i + 1) % 3,), generator=g).tolist()
        pairs.append({"prompt_ids": p, "chosen_ids": c, "rejected_ids": r})
    model = tiny_adapter_model(10 if kind == "arm" else 20, "lm" if kind == "arm" else "rm")
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.zero_()  # start exactly at the base, as training does
        if kind == "rm":  # the trainer's head initialisation (train.main)
            torch.nn.init.normal_(model.score.weight, std=1.0 / math.sqrt(model.cfg.hidden_size + 1))
            model.score.bias.zero_()
    model.freeze_base()
    params = [p for p in model.parameters() if p.requires_grad]
    assert params and all("lora_" in n or n.startswith("score.") for n, p in model.named_parameters() if p.requires_grad)
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.05)
    beta = train.BETA["helpfulness"]
    batch = train.collate(pairs, PAD)
    model.train()
    losses = []
    for _step in range(6):
        loss, acc = train.pair_loss(train.pair_scores(model, kind, *batch), kind, beta)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    final = train.evaluate(model, kind, pairs, PAD, beta, bs=4)
    assert losses[-1] < 0.7 * losses[0], losses
    assert final["loss"] < 0.7 * losses[0] and final["accuracy"] == 1.0, final
    assert final["n"] == 8 and final["ci95"][0] < 1.0 <= final["ci95"][1] + 1e-9


def test_schedule_batches_and_interval():
    lrs = [train.lr_at(s, 100, 5, 5e-4) for s in range(100)]
    assert lrs[:5] == pytest.approx([1e-4, 2e-4, 3e-4, 4e-4, 5e-4])
    assert lrs[5] == pytest.approx(5e-4) and all(a >= b for a, b in zip(lrs[5:], lrs[6:])) and lrs[-1] < 1e-6
    pairs = [{"prompt_ids": [0] * (i % 13 + 1)} for i in range(70)]
    bs = train.batches(pairs, 4, seed=0)
    assert sorted(id(p) for b in bs for p in b) == sorted(id(p) for p in pairs), "each pair once"
    assert train.batches(pairs, 4, seed=0) == bs and train.batches(pairs, 4, seed=1) != bs
    lo, hi = train.wilson(0.776, 1000)
    assert lo < 0.776 < hi and hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.776 * 0.224 / 1000), rel=0.02)


@pytest.mark.parametrize("kind", ["arm", "rm"])
def test_cached_frozen_states_score_like_the_full_pass(kind):
    """--full-top: scores from the cached output of the frozen lower layers equal the full pass
    (up to the bf16 the cache is stored in), whatever the padding of the batch that cached them,
    and gradients reach only the layers above the cache."""
    torch.manual_seed(0)
    model = tiny_adapter_model(10 if kind == "arm" else 20, "lm" if kind == "arm" else "rm").eval()
    start = model.cfg.num_layers - 1
    pairs = synthetic_pairs(5, 2)
    alone = [dict(p) for p in pairs]
    train.attach_frozen_states(model, pairs, start, PAD, bs=3)  # batches of 3 and 2 pairs
    train.attach_frozen_states(model, alone, start, PAD, bs=1)  # no padding at all
    C = model.cfg.hidden_size
    for p, q in zip(pairs, alone):
        assert p["xp"].shape == (len(p["prompt_ids"]), C) and p["xr"].shape == (len(p["rejected_ids"]), C)
        for key in ("xp", "xc", "xr"):
            assert (p[key].float() - q[key].float()).abs().max() <= 2e-2 * p[key].float().abs().max()
    full = torch.cat(train.score_pairs(model, kind, pairs, PAD, bs=5))
    cached = torch.cat(train.score_pairs(model, kind, pairs, PAD, bs=5, start=start))
    assert full.std() > 1e-3
    assert (full - cached).abs().max() <= 2e-2 * max(1.0, full.abs().max().item()), (full, cached)
    # one training step's gradient: only the layers at or above `start` (and the head) get one
    model.train()
    for p in model.parameters():
        p.requires_grad_(True)
    sc = train.pair_scores(model, kind, *train.collate(pairs, PAD), train.collate_states(pairs, start))
    train.pair_loss(sc, kind, 0.05)[0].backward()
    for n, p in model.named_parameters():
        if n == "score.bias":
            continue  # Bradley-Terry: a shared offset cancels in the difference
        below = n.startswith(tuple(f"layers.{i}." for i in range(start))) or n.startswith("embed_tokens.")
        got = p.grad is not None and p.grad.abs().sum() > 0
        assert got != below or (n.startswith("embed_tokens.") and kind == "arm"), n  # the tied lm head


def test_resume_refuses_a_checkpoint_made_with_other_arguments(tmp_path):
    from genarm.train import check_resume
    args = {"kind": "arm", "lr": 5e-4, "train_pairs": 100}
    check_resume(tmp_path / "ckpt.pt", dict(args), args)  # the same run resumes
    with pytest.raises(SystemExit, match="lr"):
        check_resume(tmp_path / "ckpt.pt", {**args, "lr": 1e-3}, args)
    with pytest.raises(SystemExit, match="other arguments"):
        check_resume(tmp_path / "ckpt.pt", None, args)  # saved before arguments were recorded
