"""Train an Autoregressive Reward Model (GenARM eq. 5) or a trajectory-level reward model.

ARM  : loss = -log sigmoid(beta_r * (sum_t log pi_r(y_w,t|x,y_w,<t) - sum_t log pi_r(y_l,t|x,y_l,<t)))
       response tokens only, no reference model, no length normalisation.
RM   : Bradley-Terry, loss = -log sigmoid(r(x,y_w) - r(x,y_l)), r = scalar head on the last token.
Both : LoRA r=8, alpha=16, dropout 0.05 on q,k,v,o,gate,up,down, on every layer on a GPU (the
       paper's setting) and on the top 12 of 30 layers on the CPU (LORA; --lora-layers), where the
       frozen layers below run once per pair and their output is cached (--no-cache-frozen: not);
       the RM also trains its scalar head; AdamW lr 5e-4, weight decay 0.05, cosine schedule with
       warm-up, effective batch 32 pairs, bf16 autocast.

The prompt of a pair is run once and its KV cache shared by the chosen and the rejected
response (rows 0..b-1 chosen, b..2b-1 rejected): a third less compute than two full passes.
Resumable: a checkpoint every few optimizer steps in training/checkpoints/<name>/.

--full-top N (an issue-3 lever): instead of LoRA, fully fine-tune the top N layers and the final
norm (the tied embedding / lm head stays frozen). The layers below never change, so their output
for every pair is computed once (no grad) and cached on disk; each step then runs N layers and
the head only. On these 2 CPU cores, N=4: ~0.26 s per pair to cache, ~0.25 s per pair per epoch
(LoRA on every layer: ~1.35 s per pair per epoch).

  python -m genarm.train --kind arm --objective helpfulness --max-pairs 2000
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import MAX_PROMPT_TOKENS, load_split, response_cap
from .data import build as build_data
from .paths import ARTEFACTS, CHECKPOINTS

BETA = {"helpfulness": 0.05, "harmlessness": 0.05}  # the paper's HH-RLHF setting for both
# LoRA on the top 12 of 30 layers: the 18 lower layers then need no backward pass, which
# makes a step ~1.8x cheaper on these 2 CPU cores (the paper adapts every layer).
LORA = dict(lora_rank=8, lora_alpha=16.0, lora_dropout=0.05, lora_layers=12)
# with a GPU there is no such budget: the paper's setting, every layer
LORA_GPU = dict(LORA, lora_layers=0)


def collate(pairs: list[dict], pad_id: int):
    """-> prompt ids/mask [b,Lp] (left-padded), response ids/mask [2b,Lr] (right-padded)."""
    b = len(pairs)
    lp = max(len(p["prompt_ids"]) for p in pairs)
    resp = [p["chosen_ids"] for p in pairs] + [p["rejected_ids"] for p in pairs]
    lr = max(len(r) for r in resp)
    pid = torch.full((b, lp), pad_id, dtype=torch.long)
    pm = torch.zeros((b, lp), dtype=torch.long)
    for i, p in enumerate(pairs):
        n = len(p["prompt_ids"])
        pid[i, lp - n:] = torch.tensor(p["prompt_ids"])
        pm[i, lp - n:] = 1
    rid = torch.full((2 * b, lr), pad_id, dtype=torch.long)
    rm = torch.zeros((2 * b, lr), dtype=torch.long)
    for i, r in enumerate(resp):
        rid[i, :len(r)] = torch.tensor(r)
        rm[i, :len(r)] = 1
    return pid, pm, rid, rm


def run_pair(model, xp, pm, xr, rm, start: int = 0, stop: int | None = None):
    """Layers start..stop-1 over a batch of pairs: the prompt rows [b] once, their KV cache shared
    by the response rows [2b] (0..b-1 chosen, b..2b-1 rejected). xp/xr are residual-stream states
    entering layer `start`. -> (h_prompt [b,Lp,C], h_resp [2b,Lr,C]), before the final norm."""
    dev = xp.device
    h_prompt, presents = model.run_layers(xp, pm, (pm.cumsum(-1) - 1).clamp(min=0), start=start, stop=stop)
    past = [(torch.cat([k, k]), torch.cat([v, v])) for k, v in presents]
    mask = torch.cat([torch.cat([pm, pm]), rm], dim=1)
    plen = pm.sum(-1, keepdim=True).repeat(2, 1)
    pos = plen + torch.arange(rm.shape[1], device=dev)[None]
    h_resp, _ = model.run_layers(xr, mask, pos, past, start=start, stop=stop)
    return h_prompt, h_resp


def pair_scores(model, kind: str, pid, pm, rid, rm, states=None) -> torch.Tensor:
    """Score of every response row [2b]: ARM -> summed log-prob, RM -> scalar reward.

    states = (xp [b,Lp,C], xr [2b,Lr,C], start): the residual stream entering layer `start`,
    cached from frozen layers below it (collate_states); None = run every layer from the embeddings."""
    dev = model.embed_tokens.weight.device
    pid, pm, rid, rm = pid.to(dev), pm.to(dev), rid.to(dev), rm.to(dev)
    b = pid.shape[0]
    if states is None:
        xp, xr, start = model.embed_tokens(pid), model.embed_tokens(rid), 0
    else:
        xp, xr, start = states[0].to(dev).float(), states[1].to(dev).float(), states[2]
    h_prompt, h_resp = run_pair(model, xp, pm, xr, rm, start)
    h_prompt, h_resp = model.norm(h_prompt), model.norm(h_resp)
    if kind == "rm":
        last = rm.sum(-1) - 1  # index of the last real response token
        h_last = h_resp[torch.arange(2 * b, device=dev), last]
        return model.score(h_last).squeeze(-1).float()
    # hidden state that predicts response token j: the prompt's last for j=0, else response j-1
    h_pred = torch.cat([torch.cat([h_prompt[:, -1:], h_prompt[:, -1:]]), h_resp[:, :-1]], dim=1)
    logits = F.linear(h_pred, model.embed_tokens.weight).float()  # [2b,Lr,V]
    logp = torch.log_softmax(logits, -1).gather(-1, rid[..., None]).squeeze(-1)
    return (logp * rm).sum(-1)


@torch.no_grad()
def attach_frozen_states(model, pairs: list[dict], start: int, pad_id: int, bs: int = 8) -> None:
    """Store on every pair the residual stream entering layer `start` (bf16, unpadded): 'xp' [Lp,C],
    'xc' [Lc,C], 'xr' [Lr,C]. When only layers >= start train, the layers below give the same
    output in every epoch: one no-grad pass here replaces their forward in every step."""
    dev = model.embed_tokens.weight.device
    for s in range(0, len(pairs), bs):
        chunk = pairs[s:s + bs]
        b = len(chunk)
        pid, pm, rid, rm = (t.to(dev) for t in collate(chunk, pad_id))
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            xp, xr = run_pair(model, model.embed_tokens(pid), pm, model.embed_tokens(rid), rm, 0, start)
        lp = pid.shape[1]
        for i, p in enumerate(chunk):
            p["xp"] = xp[i, lp - len(p["prompt_ids"]):].to(torch.bfloat16).cpu().clone()
            p["xc"] = xr[i, :len(p["chosen_ids"])].to(torch.bfloat16).cpu().clone()
            p["xr"] = xr[b + i, :len(p["rejected_ids"])].to(torch.bfloat16).cpu().clone()


def collate_states(pairs: list[dict], start: int):
    """pair_scores' `states` for a batch: the cached states of attach_frozen_states entering layer
    `start`, padded like collate pads the ids (zeros: masked); None when start is 0 (no cache)."""
    if not start:
        return None
    b = len(pairs)
    lp = max(len(p["prompt_ids"]) for p in pairs)
    resp = [p["xc"] for p in pairs] + [p["xr"] for p in pairs]
    lr = max(r.shape[0] for r in resp)
    C = pairs[0]["xp"].shape[1]
    xp = torch.zeros((b, lp, C), dtype=torch.bfloat16)
    xr = torch.zeros((2 * b, lr, C), dtype=torch.bfloat16)
    for i, p in enumerate(pairs):
        xp[i, lp - p["xp"].shape[0]:] = p["xp"]
    for i, r in enumerate(resp):
        xr[i, :r.shape[0]] = r
    return xp, xr, start


def pair_loss(scores: torch.Tensor, kind: str, beta: float):
    b = scores.shape[0] // 2
    margin = scores[:b] - scores[b:]
    if kind == "arm":
        margin = beta * margin
    return -F.logsigmoid(margin).mean(), (margin > 0).float()


def batches(pairs: list[dict], size: int, seed: int) -> list[list[dict]]:
    """Shuffle, then sort within windows of 16 batches by length: less padding, still random."""
    rng = random.Random(seed)
    idx = list(range(len(pairs)))
    rng.shuffle(idx)
    win = size * 16
    out = []
    for s in range(0, len(idx), win):
        chunk = sorted(idx[s:s + win], key=lambda i: len(pairs[i]["prompt_ids"]))
        out += [[pairs[i] for i in chunk[j:j + size]] for j in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


@torch.no_grad()
def score_pairs(model, kind: str, pairs: list[dict], pad_id: int, bs: int = 8,
                start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of every pair's chosen and rejected response ([n] each), in batches of bs pairs;
    start > 0: from the pairs' cached states entering layer `start` (attach_frozen_states)."""
    was_training = model.training
    model.eval()
    dev = model.embed_tokens.weight.device.type
    chosen, rejected = [], []
    for s in range(0, len(pairs), bs):
        chunk = pairs[s:s + bs]
        with torch.autocast(dev, dtype=torch.bfloat16):
            sc = pair_scores(model, kind, *collate(chunk, pad_id), collate_states(chunk, start)).cpu()
        chosen.append(sc[:len(chunk)])
        rejected.append(sc[len(chunk):])
    model.train(was_training)
    return torch.cat(chosen), torch.cat(rejected)


def evaluate(model, kind: str, pairs: list[dict], pad_id: int, beta: float, bs: int = 8, start: int = 0) -> dict:
    n = len(pairs)
    if n == 0:
        return {"n": 0, "accuracy": 0.0, "ci95": wilson(0.0, 0), "loss": 0.0}
    chosen, rejected = score_pairs(model, kind, pairs, pad_id, bs, start)
    loss, correct = pair_loss(torch.cat([chosen, rejected]), kind, beta)
    acc = correct.mean().item()
    return {"n": n, "accuracy": acc, "ci95": wilson(acc, n), "loss": loss.item()}


def wilson(p: float, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(c - h, 4), round(c + h, 4)]


def lr_at(step: int, total: int, warmup: int, lr: float) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["arm", "rm"], required=True)
    ap.add_argument("--objective", choices=["helpfulness", "harmlessness"], required=True)
    ap.add_argument("--max-pairs", type=int, default=0, help="train pairs to use (0 = one epoch)")
    ap.add_argument("--micro", type=int, default=4, help="pairs per forward pass")
    ap.add_argument("--batch", type=int, default=32, help="effective batch (pairs per optimizer step)")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--beta", type=float, default=None)
    ap.add_argument("--eval-pairs", type=int, default=0, help="held-out pairs for the final eval (0 = all)")
    ap.add_argument("--eval-every", type=int, default=20, help="optimizer steps between quick held-out checks")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lora-layers", type=int, default=None, help="top N layers get LoRA (0 = all); "
                    "default 12 on the CPU, all on a GPU")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--full-top", type=int, default=0, help="instead of LoRA, fully fine-tune the top N "
                    "layers and the final norm; the frozen layers below run once, their output is cached")
    ap.add_argument("--no-cache-frozen", dest="cache_frozen", action="store_false",
                    help="with LoRA on the top layers only, run the frozen layers below at every step "
                    "instead of caching their output once")
    ap.add_argument("--init", default=None, help="start from this committed artefact's weights "
                    "(training/artefacts/NAME.safetensors, same kind and LoRA) instead of a fresh adapter")
    ap.add_argument("--data", default=None, help="training pairs (default: the objective's own); e.g. "
                    "helpfulness-extra. Held-out accuracy is always on the objective's held-out pairs, "
                    "so runs on different data compare on the same pairs")
    return ap.parse_args(argv)


@dataclass
class Run:
    """Everything one training run holds: its arguments, data, model and optimizer state."""
    args: argparse.Namespace
    name: str
    data: str  # the prepared data set the train pairs come from
    beta: float
    train: list[dict]
    held: list[dict]
    pad_id: int
    model: torch.nn.Module
    lora: dict | None
    start: int  # first layer that trains; the layers below are cached (0: none cached)
    params: list
    opt: torch.optim.Optimizer
    micro: list[list[dict]]  # micro-batches, every epoch in order
    accum: int
    total_steps: int
    warmup: int
    ck: Path
    run_args: dict  # what a checkpoint must have been made with to be resumed
    prepared: bool = True  # the pairs are a genarm.data set (False: handed in by genarm.train_arm)
    step: int = 0
    t_used: float = 0.0
    log: list = field(default_factory=list)
    on_step: object = None  # called with each log entry (a progress bar)


def setup(args: argparse.Namespace, pairs: tuple[list[dict], list[dict]] | None = None) -> Run:
    """Data, model (LoRA or whole top layers), frozen-layer cache, optimizer; resumes a checkpoint
    made with the same arguments (check_resume refuses any other). `pairs` = (train, held-out)
    encoded pairs (genarm.data.encode) instead of a prepared data set (genarm.train_arm)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    name = args.name or f"{args.kind}-{args.objective}"
    beta = args.beta if args.beta is not None else BETA[args.objective]
    if pairs is None:
        build_data()
        data = args.data or args.objective
        train = load_split(data, "train")
        held = load_split(args.objective, "heldout")
    else:
        data, (train, held) = args.data or "pairs", pairs
    if args.max_pairs:
        train = train[: args.max_pairs] if args.max_pairs < len(train) else train
    from .base import load_base, load_tokenizer
    tok = load_tokenizer()
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 2
    lora = None  # --full-top trains whole layers, no adapters
    if not args.full_top:
        lora = dict(LORA_GPU if args.device != "cpu" else LORA)
        if args.lora_layers is not None:
            lora["lora_layers"] = args.lora_layers
    model = load_base(head=("rm" if args.kind == "rm" else "lm"), **(lora or {})).to(args.device)
    if args.kind == "rm":
        torch.nn.init.normal_(model.score.weight, std=1.0 / math.sqrt(model.cfg.hidden_size + 1))
        torch.nn.init.zeros_(model.score.bias)
    if args.init:  # continue from a committed artefact's weights (a longer run without redoing the first)
        from safetensors.torch import load_file
        meta = json.loads((ARTEFACTS / f"{args.init}.json").read_text())
        if meta.get("lora") != lora or meta.get("kind") != args.kind:
            raise SystemExit(f"--init {args.init}: made with kind={meta.get('kind')} lora={meta.get('lora')}, "
                             f"this run is kind={args.kind} lora={lora}")
        res = model.load_state_dict(load_file(ARTEFACTS / f"{args.init}.safetensors"), strict=False)
        if res.unexpected_keys:
            raise SystemExit(f"--init {args.init}: unexpected tensors {res.unexpected_keys[:4]}")
        model.to(args.device)
    start = 0
    if args.full_top:
        start = model.cfg.num_layers - args.full_top
        top = tuple(f"layers.{i}." for i in range(start, model.cfg.num_layers)) + ("norm.", "score.")
        for n, p in model.named_parameters():
            p.requires_grad = n.startswith(top)  # the tied embedding / lm head stays frozen
        cached_states(model, train, held, start, pad_id, CHECKPOINTS / f"states-{data}-from{start}.pt")
    else:
        model.freeze_base()
        if lora["lora_layers"] and args.cache_frozen:
            # LoRA on the top N layers only: the layers below are the base's, frozen, so their
            # output is computed once and cached exactly as for --full-top
            start = model.cfg.num_layers - lora["lora_layers"]
            cached_states(model, train, held, start, pad_id, CHECKPOINTS / f"states-{data}-from{start}.pt")
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr)
    micro = [mb for e in range(args.epochs) for mb in batches(train, args.micro, args.seed + e)]
    accum = max(1, args.batch // args.micro)
    total_steps = math.ceil(len(micro) / accum)
    ckdir = CHECKPOINTS / name
    ckdir.mkdir(parents=True, exist_ok=True)
    # what a checkpoint must have been made with to be resumed (nanoGPT checks its model args the same way)
    run_args = {k: getattr(args, k) for k in ("kind", "objective", "max_pairs", "micro", "batch", "lr", "beta",
                                              "seed", "lora_layers", "epochs", "full_top", "data", "init")}
    run_args.update(train_pairs=len(train), lora=lora, beta_used=beta)
    run = Run(args, name, data, beta, train, held, pad_id, model, lora, start, params, opt, micro, accum,
              total_steps, max(1, round(0.05 * total_steps)), ckdir / "ckpt.pt", run_args, prepared=pairs is None)
    if run.ck.exists():
        state = torch.load(run.ck, weights_only=False)
        check_resume(run.ck, state.get("args"), run_args)
        model.load_state_dict({k: v.to(args.device) for k, v in state["trainable"].items()}, strict=False)
        opt.load_state_dict(state["opt"])
        run.step, run.t_used, run.log = state["step"], state["t_used"], state["log"]
        print(f"[{name}] resumed at step {run.step}/{total_steps}", flush=True)
    print(f"[{name}] {len(train)} train pairs, {len(held)} held-out, beta={beta}, "
          f"{total_steps} steps of {accum}x{args.micro} pairs, threads={args.threads}", flush=True)
    return run


def train_loop(r: Run) -> None:
    """Optimizer steps from r.step to r.total_steps: cosine lr with warm-up, gradient accumulation,
    a quick held-out check every --eval-every steps, a checkpoint every 4 steps."""
    args = r.args
    quick = r.held[: min(64, len(r.held))]
    r.model.train()
    while r.step < r.total_steps:
        t0 = time.time()
        lr = lr_at(r.step, r.total_steps, r.warmup, args.lr)
        for g in r.opt.param_groups:
            g["lr"] = lr
        losses, accs = [], []
        for mb in r.micro[r.step * r.accum:(r.step + 1) * r.accum]:
            with torch.autocast(args.device, dtype=torch.bfloat16):
                sc = pair_scores(r.model, args.kind, *collate(mb, r.pad_id), collate_states(mb, r.start))
            loss, acc = pair_loss(sc, args.kind, r.beta)
            (loss / r.accum).backward()
            losses.append(loss.item())
            accs += acc.tolist()
        torch.nn.utils.clip_grad_norm_(r.params, 1.0)
        r.opt.step()
        r.opt.zero_grad(set_to_none=True)
        r.step += 1
        r.t_used += time.time() - t0
        entry = {"step": r.step, "lr": lr, "loss": sum(losses) / len(losses), "train_acc": sum(accs) / len(accs),
                 "s": round(r.t_used, 1)}
        if r.step % args.eval_every == 0 or r.step == r.total_steps:
            entry["heldout64_acc"] = evaluate(r.model, args.kind, quick, r.pad_id, r.beta, start=r.start)["accuracy"]
        if args.epochs > 1 and r.step % math.ceil(r.total_steps / args.epochs) == 0 and r.step < r.total_steps:
            entry["heldout_acc"] = evaluate(r.model, args.kind, r.held, r.pad_id, r.beta, start=r.start)["accuracy"]
            print(f"[{r.name}] epoch end: held-out accuracy {entry['heldout_acc']:.4f}", flush=True)
        r.log.append(entry)
        if r.on_step:
            r.on_step(entry)
        else:
            print(f"[{r.name}] step {r.step}/{r.total_steps} loss {entry['loss']:.4f} train_acc {entry['train_acc']:.3f} "
                  + (f"heldout64 {entry['heldout64_acc']:.3f} " if "heldout64_acc" in entry else "")
                  + f"lr {lr:.2e} {r.t_used/60:.1f} min", flush=True)
        if r.step % 4 == 0 or r.step == r.total_steps:
            trainable = {n: p.detach() for n, p in r.model.named_parameters() if p.requires_grad}
            torch.save({"trainable": trainable, "opt": r.opt.state_dict(), "step": r.step, "t_used": r.t_used,
                        "log": r.log, "args": r.run_args}, r.ck.with_suffix(".tmp"))
            os.replace(r.ck.with_suffix(".tmp"), r.ck)


def final_eval(r: Run) -> dict:
    """Held-out accuracy on the objective's pairs (every layer from the ids: exact), and, when the
    train data is another set, on its added sources and per source."""
    args = r.args
    ev_pairs = r.held if not args.eval_pairs else r.held[: args.eval_pairs]
    t0 = time.time()
    final = evaluate(r.model, args.kind, ev_pairs, r.pad_id, r.beta)
    print(f"[{r.name}] held-out accuracy {final['accuracy']:.4f} CI95 {final['ci95']} on {final['n']} pairs "
          f"({time.time()-t0:.0f} s)", flush=True)
    out = {"heldout": final}
    if r.prepared and r.data != args.objective:
        own_held = load_split(r.data, "heldout")
        sources = {p["source"] for p in r.held}
        rest = [p for p in own_held if p["source"] not in sources]
        if rest:  # the added sources' own held-out pairs, reported apart
            out["heldout_added_sources"] = evaluate(r.model, args.kind, rest, r.pad_id, r.beta)
        out["heldout_by_source"] = {src: evaluate(r.model, args.kind, [p for p in own_held if p["source"] == src],
                                                  r.pad_id, r.beta) for src in sorted({p["source"] for p in own_held})}
        if response_cap(r.data) != response_cap(args.objective):  # the same pairs, cut where this data cuts them
            out["heldout_own_cap"] = evaluate(r.model, args.kind, own_held, r.pad_id, r.beta)
        flat = {k: v for k, v in out.items() if k not in ("heldout", "heldout_by_source")}
        flat.update({f"heldout {src}": v for src, v in out.get("heldout_by_source", {}).items()})
        for k, v in flat.items():
            print(f"[{r.name}] {k}: accuracy {v['accuracy']:.4f} CI95 {v['ci95']} on {v['n']} pairs", flush=True)
    return out


def main(argv=None):
    r = setup(parse_args(argv))
    train_loop(r)
    scores = final_eval(r)
    a = r.args
    save_artefact(r.model, r.name, a, {
        "kind": a.kind, "objective": a.objective, "beta": r.beta if a.kind == "arm" else None,
        "data": r.data, "train_pairs": len(r.train), **scores, "train_wall_s": round(r.t_used, 1),
        "steps": r.total_steps, "micro": a.micro, "batch": a.batch, "lr": a.lr, "lora": r.lora, "full_top": a.full_top,
        "precision": "bf16 autocast", "epochs": a.epochs,
        "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
        "max_prompt_tokens": MAX_PROMPT_TOKENS, "max_response_tokens": response_cap(r.data), "threads": a.threads,
        "log": r.log,
    })


def check_resume(ck, saved: dict | None, run_args: dict) -> None:
    """Refuse to resume a checkpoint made with other arguments (or before arguments were saved):
    its optimizer state and step count belong to another run."""
    if saved != run_args:
        diff = {k: (saved.get(k) if saved else None, v) for k, v in run_args.items() if not saved or saved.get(k) != v}
        raise SystemExit(f"{ck} was made with other arguments (saved, now): {diff}; "
                         f"delete {Path(ck).parent} or pass --name to start a new run")


def cached_states(model, train: list[dict], held: list[dict], start: int, pad_id: int, path) -> None:
    """attach_frozen_states for the train and held-out pairs, kept on disk so a resumed run (or one
    on a prefix of the train pairs: --max-pairs) skips it."""
    if path.exists():
        saved = torch.load(path, weights_only=True)
        for pairs, key in ((train, "train"), (held, "held")):
            assert len(saved[key]) >= len(pairs), f"{path} is stale: delete it"
            for p, (xp, xc, xr) in zip(pairs, saved[key]):
                lens = (len(p["prompt_ids"]), len(p["chosen_ids"]), len(p["rejected_ids"]))
                assert (xp.shape[0], xc.shape[0], xr.shape[0]) == lens, f"{path} is stale: delete it"
                p["xp"], p["xc"], p["xr"] = xp, xc, xr
        return
    t0 = time.time()
    for pairs in (train, held):
        for s in range(0, len(pairs), 512):
            attach_frozen_states(model, pairs[s:s + 512], start, pad_id)
            print(f"caching frozen-layer states: {s + len(pairs[s:s + 512])}/{len(pairs)} "
                  f"({time.time() - t0:.0f} s)", flush=True)
    print(f"frozen layers 0..{start - 1}: states of {len(train) + len(held)} pairs cached in "
          f"{time.time() - t0:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({key: [(p["xp"], p["xc"], p["xr"]) for p in pairs] for key, pairs in (("train", train), ("held", held))},
               path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)


def save_artefact(model, name: str, args, meta: dict) -> None:
    from safetensors.torch import save_file
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().float().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(tensors, ARTEFACTS / f"{name}.safetensors", metadata={"meta": json.dumps({k: v for k, v in meta.items() if k != "log"})})
    (ARTEFACTS / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"[{name}] saved {ARTEFACTS / (name + '.safetensors')}", flush=True)


if __name__ == "__main__":
    main()
