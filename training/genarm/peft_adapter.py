"""ARMs as PEFT LoRA adapters: the layout TRL / PEFT users already have.

A folder with adapter_config.json and adapter_model.safetensors, as PEFT's save_pretrained writes
it for a LoRA on a causal LM (peft.LoraConfig, task_type CAUSAL_LM):

    base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A.weight   [r, in]
    base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_B.weight   [out, r]
    base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight

delta W = (lora_alpha / r) * B @ A (not rsLoRA, no DoRA, no per-module rank or alpha), which is
genarm.model.LoRALinear exactly. So an ARM trained here loads in PEFT on SmolLM2-135M-Instruct,
and a PEFT LoRA trained elsewhere on that base (attention and MLP projections) is an ARM here.

    python -m genarm.peft_adapter export arm-harmlessness OUT_DIR   # a committed artefact -> PEFT folder
    python -m genarm.peft_adapter check DIR                          # validate a PEFT folder, print what it holds
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from .model import LORA_TARGETS, Llama

BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
CONFIG, WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
KEY = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+_proj)\.lora_([AB])\.weight$")


class AdapterError(ValueError):
    """A folder that is not a LoRA adapter this base can run, with the reason."""


def lora_linears(m: Llama):
    """(layer index, module path, target name, LoRALinear) for every projection that has a LoRA."""
    for i, layer in enumerate(m.layers):
        for t in LORA_TARGETS:
            part = "self_attn" if t in ATTN else "mlp"
            lin = getattr(getattr(layer, part), t)
            if lin.rank > 0:
                yield i, part, t, lin


def to_peft(m: Llama, dtype: torch.dtype = torch.float16, base_model: str = BASE_MODEL,
            task_type: str = "CAUSAL_LM") -> tuple[dict, dict[str, torch.Tensor]]:
    """-> (adapter_config, tensors) for the LoRA of an ARM (layers whose B is all zero are left out:
    the CPU recipe adapts only the top layers). A trajectory RM's LoRA is written the same way
    with task_type FEATURE_EXTRACTION: its scalar head is not a LoRA and stays in its graph."""
    tensors, layers, targets = {}, set(), set()
    for i, part, t, lin in lora_linears(m):
        if not lin.lora_B.detach().any():
            continue
        pre = f"base_model.model.model.layers.{i}.{part}.{t}"
        tensors[f"{pre}.lora_A.weight"] = lin.lora_A.detach().to(dtype).contiguous()
        tensors[f"{pre}.lora_B.weight"] = lin.lora_B.detach().to(dtype).contiguous()
        layers.add(i)
        targets.add(t)
    if not tensors:
        raise AdapterError("the model has no trained LoRA weights")
    cfg = {
        "peft_type": "LORA", "task_type": task_type, "base_model_name_or_path": base_model,
        "r": m.cfg.lora_rank, "lora_alpha": m.cfg.lora_alpha, "lora_dropout": m.cfg.lora_dropout,
        "target_modules": sorted(targets), "layers_to_transform": sorted(layers), "bias": "none",
        "fan_in_fan_out": False, "use_rslora": False, "use_dora": False, "inference_mode": True,
        "init_lora_weights": True, "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {},
    }
    return cfg, tensors


def write_peft(m: Llama, folder: Path, dtype: torch.dtype = torch.float16, base_model: str = BASE_MODEL,
               task_type: str = "CAUSAL_LM") -> dict:
    from safetensors.torch import save_file
    cfg, tensors = to_peft(m, dtype, base_model, task_type)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n")
    save_file(tensors, folder / WEIGHTS, metadata={"format": "pt"})
    return cfg


def read_peft(folder: Path, base_cfg) -> tuple[dict, dict[str, torch.Tensor]]:
    """Validate a PEFT folder against the base's config (genarm.model.Config) and return
    (adapter_config, tensors named as genarm.model names them: layers.{i}.{part}.{t}.lora_{A,B})."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    folder = Path(folder)
    for f in (CONFIG, WEIGHTS):
        if not (folder / f).exists():
            raise AdapterError(f"{folder}: no {f} (a PEFT adapter folder has {CONFIG} and {WEIGHTS})")
    try:
        cfg = json.loads((folder / CONFIG).read_text())
    except json.JSONDecodeError as e:
        raise AdapterError(f"{folder / CONFIG}: not JSON ({e})") from e
    if cfg.get("peft_type") != "LORA":
        raise AdapterError(f"{folder}: peft_type {cfg.get('peft_type')!r}, only LORA adapters are ARMs")
    base = str(cfg.get("base_model_name_or_path") or "")
    if base.rstrip("/").split("/")[-1].lower() != BASE_MODEL.split("/")[-1].lower():
        raise AdapterError(f"{folder}: trained on {base!r}, this base is {BASE_MODEL}")
    for k, bad in (("use_dora", True), ("use_rslora", True), ("fan_in_fan_out", True)):
        if cfg.get(k) == bad:
            raise AdapterError(f"{folder}: {k} is not supported (plain LoRA: delta W = alpha/r * B A)")
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise AdapterError(f"{folder}: per-module rank_pattern / alpha_pattern are not supported")
    if cfg.get("bias", "none") != "none" or cfg.get("modules_to_save"):
        raise AdapterError(f"{folder}: bias={cfg.get('bias')!r}, modules_to_save={cfg.get('modules_to_save')!r}: "
                           "only LoRA matrices can be added to the shared base")
    r = cfg.get("r")
    if not isinstance(r, int) or r <= 0:
        raise AdapterError(f"{folder}: r={r!r} is not a positive rank")
    try:
        raw = load_file(folder / WEIGHTS)
    except (SafetensorError, OSError) as e:
        raise AdapterError(f"{folder / WEIGHTS}: unreadable safetensors ({e})") from e
    C, H, K, D, I = (base_cfg.hidden_size, base_cfg.num_heads, base_cfg.num_kv_heads, base_cfg.head_dim,
                     base_cfg.intermediate_size)
    dims = {"q_proj": (C, H * D), "k_proj": (C, K * D), "v_proj": (C, K * D), "o_proj": (H * D, C),
            "gate_proj": (C, I), "up_proj": (C, I), "down_proj": (I, C)}  # (in, out)
    out = {}
    for key, t in raw.items():
        k = KEY.match(key.replace(".default.", "."))
        if not k:
            raise AdapterError(f"{folder / WEIGHTS}: tensor {key!r} is not a LoRA matrix of a SmolLM2 projection")
        i, part, proj, ab = int(k.group(1)), k.group(2), k.group(3), k.group(4)
        if proj not in dims or (part == "self_attn") != (proj in ATTN):
            raise AdapterError(f"{folder / WEIGHTS}: {key!r}: no such projection in SmolLM2")
        if i >= base_cfg.num_layers:
            raise AdapterError(f"{folder / WEIGHTS}: {key!r}: layer {i}, the base has {base_cfg.num_layers}")
        if t.dtype not in (torch.float16, torch.bfloat16, torch.float32):
            raise AdapterError(f"{folder / WEIGHTS}: {key!r} is {t.dtype}; float16, bfloat16 or float32 expected")
        fin, fout = dims[proj]
        want = (r, fin) if ab == "A" else (fout, r)
        if tuple(t.shape) != want:
            raise AdapterError(f"{folder / WEIGHTS}: {key!r} has shape {tuple(t.shape)}, expected {want} (r={r})")
        out[f"layers.{i}.{part}.{proj}.lora_{ab}"] = t.float()
    for name in list(out):
        pair = name[:-1] + ("B" if name.endswith("A") else "A")
        if pair not in out:
            raise AdapterError(f"{folder / WEIGHTS}: {name} has no {pair[-6:]}")
    if not out:
        raise AdapterError(f"{folder / WEIGHTS}: no LoRA tensors")
    return cfg, out


def base_config():
    """genarm.model.Config of the base, without loading its weights."""
    from transformers import AutoConfig

    from .base import hf_folder
    from .model import Config
    return Config.from_hf(AutoConfig.from_pretrained(hf_folder()))


def load_peft_arm(folder: Path) -> Llama:
    """The base with a PEFT adapter's LoRA on it, as an ARM (lm head)."""
    from .base import load_base
    cfg, tensors = read_peft(folder, base_config())
    m = load_base(head="lm", lora_rank=cfg["r"], lora_alpha=float(cfg["lora_alpha"]), lora_dropout=0.0, lora_layers=0)
    res = m.load_state_dict(tensors, strict=False)
    assert not res.unexpected_keys, res.unexpected_keys
    return m.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="a committed ARM artefact (training/artefacts/NAME) as a PEFT folder")
    e.add_argument("name")
    e.add_argument("out")
    c = sub.add_parser("check", help="validate a PEFT adapter folder for this base")
    c.add_argument("folder")
    args = ap.parse_args(argv)
    if args.cmd == "export":
        from .build import trained_model
        cfg = write_peft(trained_model(args.name, "lm"), Path(args.out))
        print(f"wrote {args.out}/{CONFIG} and {WEIGHTS}: r={cfg['r']}, {len(cfg['layers_to_transform'])} layers, "
              f"{', '.join(cfg['target_modules'])}")
    else:
        try:
            cfg, tensors = read_peft(Path(args.folder), base_config())
        except AdapterError as err:
            print(f"not a usable adapter: {err}")
            return 1
        layers = sorted({int(k.split(".")[1]) for k in tensors})
        print(f"OK: LoRA r={cfg['r']} alpha={cfg['lora_alpha']} on layers {layers[0]}..{layers[-1]} "
              f"({len(layers)}), {len(tensors) // 2} matrices pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
