"""Build every model file into public/models/ and write manifest.json.

  python -m genarm.build            # everything whose inputs exist (tiny suite, base, trained ARMs/RMs)
  python -m genarm.build --tiny     # the tiny random-weight suite only (seconds)

Idempotent: each model folder records a stamp of its inputs (code, weights source, adapter
hash); when the stamp and every file's sha256 still match, the model is skipped (a file is
rehashed only when its mtime moved since its hash last matched).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from . import export
from .base import BASE_ID, BuildError, gguf_path, hf_folder, load_base, sha256_file
from .model import LORA_TARGETS, Config, Llama, LoRALinear
from .paths import ARTEFACTS, CACHE, MODELS, NODE_MODELS, ROOT
from .peft_adapter import BASE_MODEL as BASE_MODEL_NAME

VARIANTS = {"fp32": "model.onnx", "q8": "model_q8.onnx"}
# Removed variants: a build deletes their files. q4 re-quantized the GGUF's Q4_1 blocks onto a
# second 4-bit grid (67.6% top-1 agreement with fp32, perplexity 13.93 vs 11.10; README, "Models"),
# so the build retires it; WebGPU loads fp32 until Q4_1 runs exactly there (MatMulNBits + the block-min term).
RETIRED = {"q4": "model_q4.onnx"}
# Variants no browser loads, built into NODE_MODELS, not public/ (public/ and dist/ hold only
# what the browser downloads): the inline fp32 graph (the browser builds the same fp32 weights
# from the GGUF transport, transport/ + the GGUF's blocks + an adapter; Node, the tests and the
# benchmarks load the graph whole) and q8 (8-bit MatMulNBits is 7x slower on WASM). The Node
# engine finds them by their manifest path, relative to MODELS; the browser's source keeps a
# Node-only fp32 variant only where a transport builds it (src/engine/manifest.ts, browserManifest).
NODE_ONLY = ("fp32", "q8")
# what shapes the exported graphs; editing anything else here does not force a rebuild
CODE_FILES = [Path(__file__).with_name(n) for n in ("model.py", "export.py")]
TINY_VERSION = 4  # bump when tiny_model()'s weights change (4: the base's weights are GGUF blocks, dequantized)
# ARM adapters ship as float16 (half the download of the fused path); every export of an ARM
# (merged graph, adapter file, golden vectors) uses the same fp16-rounded LoRA values.
ADAPTER_DTYPE = "float16"
# bump when merged()'s arithmetic changes (1: transport.lora_merge, float64 sums in a fixed order,
# which src/engine/gguf-expand.ts repeats; RMs' LoRA rounded to float16 like the ARMs')
MERGE_VERSION = 2  # 2: B unscaled as PEFT stores it, scale applied in float64

TINY = Config(vocab_size=49152, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
              num_kv_heads=2, head_dim=16, lora_rank=8, lora_alpha=16.0)
TINY_BASE = "tiny-base"

OBJECTIVES = ("helpfulness", "harmlessness")


def code_hash() -> str:
    h = hashlib.sha256()
    for f in CODE_FILES:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def rel_path(path: Path) -> str:
    """A model file's manifest path: relative to MODELS (\"../../models-node/...\" for Node-only files)."""
    return Path(os.path.relpath(path, MODELS)).as_posix()


def file_entry(path: Path) -> dict:
    e = {"path": rel_path(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    if not path.resolve().is_relative_to(MODELS.resolve()):
        e["node_only"] = True
    return e


def variant_path(model_id: str, v: str) -> Path:
    return (NODE_MODELS if v in NODE_ONLY else MODELS) / model_id / "onnx" / VARIANTS[v]


def node_stamp(stamp: dict, variants) -> dict:
    """Where the files go is part of the stamp: moving a variant out of public/ rebuilds it there."""
    node = [v for v in NODE_ONLY if v in variants]
    return {**stamp, "node_only": node} if node else stamp


def arch(cfg: Config) -> dict:
    return {"num_layers": cfg.num_layers, "num_kv_heads": cfg.num_kv_heads, "head_dim": cfg.head_dim,
            "hidden_size": cfg.hidden_size, "vocab_size": cfg.vocab_size, "max_position": cfg.max_position,
            "eos_token_ids": [cfg.eos_token_id]}


def up_to_date(folder: Path, stamp: dict) -> bool:
    sf = folder / "build.json"
    if not sf.exists():
        return False
    old = json.loads(sf.read_text())
    if old.get("stamp") != stamp:
        return False
    # sha256 of every file, skipped only for a file whose size and mtime are those recorded when
    # its hash last matched (so a same-size corruption is caught without rehashing GBs each run)
    seen = old.get("verified_mtime_ns", {})
    retired = [f for f in old.get("files", []) if f["path"].rsplit("/", 1)[-1] in RETIRED.values()]
    if retired:  # a removed variant: delete its files, the rest of the model stays current
        for f in retired:
            (MODELS / f["path"]).unlink(missing_ok=True)
            print(f"[build] removed {f['path']} (retired variant)", flush=True)
        old = {**old, "files": [f for f in old["files"] if f not in retired]}
        tmp = sf.with_name(f"build.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(old, indent=1) + "\n")
        os.replace(tmp, sf)
    now = {}
    for f in old.get("files", []):
        p = MODELS / f["path"]
        if not p.exists() or p.stat().st_size != f["bytes"]:
            return False
        mtime = p.stat().st_mtime_ns
        if seen.get(f["path"]) != mtime and sha256_file(p) != f["sha256"]:
            return False
        now[f["path"]] = mtime
    if now != seen:
        tmp = sf.with_name(f"build.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**old, "verified_mtime_ns": now}, indent=1) + "\n")
        os.replace(tmp, sf)
    return True


def build_model(model_id: str, make_model, stamp: dict, with_tokenizer: bool, variants=VARIANTS) -> Path:
    """Export one model (all variants) unless its stamp says it is current."""
    folder = MODELS / model_id
    stamp = node_stamp(stamp, variants)
    if up_to_date(folder, stamp):
        print(f"[build] {model_id}: up to date", flush=True)
        return folder
    t0 = time.time()
    model: Llama = make_model()
    fp32 = variant_path(model_id, "fp32")
    fp32.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"[build] {model_id}: exporting fp32 ...", flush=True)
    export.export_fp32(model, fp32)
    quantize_variants(model_id, fp32, variants)
    export.write_folder_files(folder, model.cfg, hf_folder() if with_tokenizer else None, with_tokenizer)
    files = model_files(model_id, folder, variants)
    verified = {f["path"]: (MODELS / f["path"]).stat().st_mtime_ns for f in files}
    (folder / "build.json").write_text(json.dumps({"stamp": stamp, "files": files, "seconds": round(time.time() - t0, 1),
                                                   "verified_mtime_ns": verified}, indent=1) + "\n")
    print(f"[build] {model_id}: done in {time.time() - t0:.0f} s", flush=True)
    return folder


def quantize_variants(model_id: str, fp32: Path, variants) -> None:
    public_onnx = MODELS / model_id / "onnx"
    for name in RETIRED.values():
        (public_onnx / name).unlink(missing_ok=True)
    for v, bits in (("q8", 8),):
        if v not in variants:
            continue
        out = variant_path(model_id, v)
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"[build] {model_id}: quantizing {v}{' (Node only: ' + rel_path(out.parent) + ')' if v in NODE_ONLY else ''} ...",
              flush=True)
        export.quantize(fp32, out, bits)
    # an older build put the Node-only variants in public/
    for v in NODE_ONLY:
        (public_onnx / VARIANTS[v]).unlink(missing_ok=True)
    if public_onnx.is_dir() and not any(public_onnx.iterdir()):
        public_onnx.rmdir()


def model_files(model_id: str, folder: Path, variants) -> list[dict]:
    """The file entries of a model folder (its transport/ has its own stamp, its adapter/ is
    listed by adapter_entry) and its Node-only variants."""
    files = [file_entry(p) for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "build.json"
             and not {TRANSPORT_DIR, "adapter"} & set(p.relative_to(folder).parts) and not p.name.endswith(".lora.bin")]
    return files + [file_entry(variant_path(model_id, v)) for v in NODE_ONLY if v in variants]


# ------------------------------------------------------------------ model makers
# The tiny base's weights are GGUF blocks, dequantized, as SmolLM2's are (base.py): its matrices
# Q4_1, its (tied) embedding Q8_0, its norms F32, in llama.cpp's names and with llama.cpp's
# rotary row permutation of Q/K. So the tiny suite exercises the GGUF transport (transport.py,
# src/engine/transport.ts) as the real base does, in seconds.
def tiny_gguf_tensor(name: str, cfg: Config) -> tuple[str, str, int]:
    """(GGUF name, ggml type, rotary heads or 0) of a tiny parameter; KeyError if not GGUF-born."""
    if name == "embed_tokens.weight":
        return "token_embd.weight", "Q8_0", 0
    if name == "norm.weight":
        return "output_norm.weight", "F32", 0
    parts = name.split(".")  # layers.{i}.{module}.{proj}.weight
    if parts[0] != "layers" or parts[-1] != "weight":
        raise KeyError(name)
    i, rest = parts[1], ".".join(parts[2:-1])
    names = {"input_layernorm": ("attn_norm", "F32", 0), "post_attention_layernorm": ("ffn_norm", "F32", 0),
             "self_attn.q_proj": ("attn_q", "Q4_1", cfg.num_heads), "self_attn.k_proj": ("attn_k", "Q4_1", cfg.num_kv_heads),
             "self_attn.v_proj": ("attn_v", "Q4_1", 0), "self_attn.o_proj": ("attn_output", "Q4_1", 0),
             "mlp.gate_proj": ("ffn_gate", "Q4_1", 0), "mlp.up_proj": ("ffn_up", "Q4_1", 0),
             "mlp.down_proj": ("ffn_down", "Q4_1", 0)}
    g, ty, heads = names[rest]
    return f"blk.{i}.{g}.weight", ty, heads


def rope_permute(w, heads: int):
    """llama.cpp's convert_hf_to_gguf.py `permute` of Q/K rows (transport.rope_unpermute undoes it)."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _quantized(m: Llama) -> dict:
    """GGUF name -> (ggml type, the blocks as gguf-py writes them) of m's GGUF-born parameters;
    sets each of those parameters to its blocks dequantized (gguf-py's numpy float32)."""
    import gguf
    import numpy as np
    out = {}
    with torch.no_grad():
        for n, p in m.named_parameters():
            try:
                gname, ty, heads = tiny_gguf_tensor(n, m.cfg)
            except KeyError:
                continue
            w = p.detach().float().numpy()
            if ty == "F32":
                out[gname] = (ty, np.ascontiguousarray(w, dtype=np.float32))
                continue
            qt = getattr(gguf.GGMLQuantizationType, ty)
            blocks = gguf.quantize(w, qt)  # per row: a row permutation commutes with it
            p.copy_(torch.from_numpy(np.asarray(gguf.dequantize(blocks, qt), dtype=np.float32).reshape(w.shape)))
            out[gname] = (ty, rope_permute(blocks, heads) if heads else blocks)
    return out


def tiny_model(seed: int, head: str = "lm", lora: bool = False) -> Llama:
    """Random weights, same tokenizer and architecture family as SmolLM2, the base weights rounded
    to GGUF blocks (_quantized). Scales chosen so the blocks dominate the residual stream (else it
    copies its input token) and the next-token entropy is ~4 nats (neither flat nor one-hot),
    which makes sampling tests meaningful."""
    m = _tiny_random(seed, head, lora)
    _quantized(m)
    return m


def write_tiny_gguf(path: Path, seed: int = 1) -> Path:
    """The GGUF whose blocks tiny_model(seed) holds, dequantized (gguf-py's GGUFWriter)."""
    import logging

    import gguf
    logging.getLogger("gguf.gguf_writer").setLevel(logging.WARNING)  # its INFO lines name the temp file
    tensors = _quantized(_tiny_random(seed, "lm", False))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    w = gguf.GGUFWriter(str(tmp), arch="llama")
    w.add_name("genarm tiny-base (random weights, tests)")
    w.add_context_length(TINY.max_position)
    w.add_embedding_length(TINY.hidden_size)
    w.add_feed_forward_length(TINY.intermediate_size)
    w.add_block_count(TINY.num_layers)
    w.add_head_count(TINY.num_heads)
    w.add_head_count_kv(TINY.num_kv_heads)
    for name, (ty, data) in tensors.items():
        w.add_tensor(name, data, raw_dtype=None if ty == "F32" else getattr(gguf.GGMLQuantizationType, ty))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)
    return path


def _tiny_random(seed: int, head: str = "lm", lora: bool = False) -> Llama:
    g = torch.Generator().manual_seed(seed)
    cfg = Config(**{**TINY.to_dict(), "head": head, "lora_rank": TINY.lora_rank if lora else 0})
    m = Llama(cfg)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n == "norm.weight":
                p.fill_(6.0)
            elif "norm" in n and p.ndim == 1:
                p.fill_(1.0)
            elif n.startswith("score.") and p.ndim == 1:
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (0.1 if "embed" in n else 0.6))
    return m


def tiny_adapter_model(seed: int, head: str) -> Llama:
    """A tiny ARM/RM: tiny-base plus a random LoRA adapter, so it is a real adapter of the base."""
    base = tiny_model(1, head="lm")
    m = tiny_model(seed, head=head, lora=True)
    sd = {k: v for k, v in base.state_dict().items()}
    missing = m.load_state_dict(sd, strict=False)
    assert not missing.unexpected_keys
    return round_lora(m)


def round_lora(m: Llama) -> Llama:
    """Round each LoRA pair to the float16 values its PEFT adapter file holds (A and B as PEFT
    stores them, alpha/r applied at run time), so the merged graph, its GGUF transport (base
    blocks + adapter) and the fused path compute the same model. ARMs and trajectory RMs alike."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, LoRALinear) and mod.rank > 0:
                mod.lora_A.copy_(mod.lora_A.half().float())
                mod.lora_B.copy_(mod.lora_B.half().float())
    return m


def trained_model(name: str, head: str) -> Llama:
    from safetensors.torch import load_file
    meta = json.loads((ARTEFACTS / f"{name}.json").read_text())
    m = load_base(head=head, **(meta["lora"] or {}))  # lora is None for a --full-top artefact
    tensors = load_file(ARTEFACTS / f"{name}.safetensors")
    res = m.load_state_dict(tensors, strict=False)
    if res.unexpected_keys:
        raise BuildError(f"{ARTEFACTS / (name + '.safetensors')}: unexpected tensors {res.unexpected_keys[:4]}")
    return round_lora(m)


def merged(m: Llama) -> Llama:
    """The LoRA merged into the weights with transport.lora_merge's arithmetic (float16 A and B,
    PEFT's alpha/r, float64 in a fixed order, one rounding), which the engine repeats bit for bit
    when it rebuilds a merged graph from the GGUF and the PEFT adapter file
    (src/engine/gguf-expand.ts). Call on a round_lora'd model (trained_model does)."""
    from .transport import lora_merge
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, LoRALinear) and mod.rank > 0:
                a = mod.lora_A.detach().float().numpy().astype(np.float16)
                b = mod.lora_B.detach().float().numpy().astype(np.float16)  # as the PEFT file stores them
                mod.weight.copy_(torch.from_numpy(lora_merge(mod.weight.detach().float().numpy(), a, b, mod.scale)))
                mod.lora_B.zero_()
                mod.rank = 0  # forward skips the (now zero) branch: the exported graph is the base's shape
    return m


# ------------------------------------------------------------------ adapters (fused path)
def write_adapter(m: Llama, path: Path) -> dict:
    """LoRA tensors as raw little-endian float16, layer by layer, in LORA_TARGETS order:
    A [r, in] then B [out, r]; layers without an adapter write zeros. Layout in the manifest."""
    import numpy as np
    r = m.cfg.lora_rank
    chunks = []
    for layer in m.layers:
        for t in LORA_TARGETS:
            lin = getattr(layer.self_attn, t) if hasattr(layer.self_attn, t) else getattr(layer.mlp, t)
            out_f, in_f = lin.weight.shape
            if lin.rank > 0:
                a = lin.lora_A.detach().float().numpy()
                b = (lin.lora_B.detach().float() * lin.scale).numpy()  # scale folded into B
            else:
                a, b = np.zeros((r, in_f), np.float32), np.zeros((out_f, r), np.float32)
            chunks += [a.astype("<f2").tobytes(), b.astype("<f2").tobytes()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(chunks))
    return {"rank": r, "alpha": m.cfg.lora_alpha, "scale_folded": True, "targets": list(LORA_TARGETS)}


# ------------------------------------------------------------------ transport (the GGUF blocks on the wire)
TRANSPORT_DIR = "transport"


def build_transport(model_id: str, fp32: dict, gguf_src: Path | None, gguf_entry: dict | None = None,
                    make_gguf=None, adapter: dict | None = None) -> dict:
    """The GGUF transport of one fp32 graph (`fp32`: its manifest file entry): MODELS/<id>/transport/
    {model.onnx (weightless), model.layout.json}, and the GGUF itself there when `gguf_entry` (a
    GGUF already published by another model) is None: copied from `gguf_src`, or written by
    `make_gguf(path)`. The reference external data (what the engine rebuilds) goes to
    .cache/transport/<id>/, never served. Own stamp: a second build does no work.
    With `adapter` (an ARM's or RM's manifest adapter entry) the graph is a merged LoRA fine-tune
    of the GGUF's model: its layout merges the adapter file in (transport.lora_merge), so the
    model travels as the base's blocks plus its 4.9 MB adapter.
    Returns {graph, layout, gguf[, adapter]} manifest file entries."""
    from . import transport
    folder = MODELS / model_id / TRANSPORT_DIR
    gguf_name = gguf_src.name if gguf_src is not None else f"{model_id}.gguf"
    stamp = {"fp32": fp32["sha256"], "transport": hashlib.sha256(Path(transport.__file__).read_bytes()).hexdigest()[:16],
             "gguf": gguf_entry["sha256"] if gguf_entry else (sha256_file(gguf_src) if gguf_src else f"tiny{TINY_VERSION}"),
             "adapter": [adapter["file"]["sha256"], adapter["config"]["sha256"]] if adapter else None}
    if not up_to_date(folder, stamp):
        t0 = time.time()
        folder.mkdir(parents=True, exist_ok=True)
        if gguf_entry:
            gguf = MODELS / gguf_entry["path"]
        else:
            gguf = folder / gguf_name
            if gguf_src is not None:
                import shutil
                tmp = gguf.with_name(f"{gguf.name}.{os.getpid()}.tmp")
                shutil.copyfile(gguf_src, tmp)
                os.replace(tmp, gguf)
            else:
                make_gguf(gguf)
        print(f"[build] {model_id}: transport (weightless graph + layout over {gguf.name}) ...", flush=True)
        transport.write_transport(MODELS / fp32["path"], gguf, folder, data_dir=CACHE / "transport" / model_id,
                                  adapter=MODELS / adapter["file"]["path"] if adapter else None,
                                  adapter_config=json.loads((MODELS / adapter["config"]["path"]).read_text()) if adapter else None,
                                  log=lambda m: print(m, flush=True))
        files = [file_entry(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != "build.json"]
        (folder / "build.json").write_text(json.dumps({"stamp": stamp, "files": files, "seconds": round(time.time() - t0, 1),
                                                       "verified_mtime_ns": {f["path"]: (MODELS / f["path"]).stat().st_mtime_ns
                                                                             for f in files}}, indent=1) + "\n")
        print(f"[build] {model_id}: transport done in {time.time() - t0:.0f} s", flush=True)
    bj = {f["path"].rsplit("/", 1)[-1]: f for f in json.loads((folder / "build.json").read_text())["files"]}
    out = {"graph": bj[transport.GRAPH_NAME], "layout": bj[transport.LAYOUT_NAME], "gguf": gguf_entry or bj[gguf_name]}
    if adapter:
        out["adapter"] = adapter["file"]
    return out


def fp32_entry(model_id: str) -> dict:
    bj = json.loads((MODELS / model_id / "build.json").read_text())
    return next(f for f in bj["files"] if f["path"] == rel_path(variant_path(model_id, "fp32")))


# ------------------------------------------------------------------ manifest
def entry(model_id: str, role: str, label: str, cfg: Config, tokenizer: str, objective: str | None = None,
          tiny: bool = False, adapter: dict | None = None) -> dict:
    folder = MODELS / model_id
    bj = json.loads((folder / "build.json").read_text())
    files = [f for f in bj["files"] if not f["path"].split("/")[-2] == "onnx" and not f["path"].endswith(".lora.bin")]
    variants = {}
    for v in VARIANTS:
        for f in bj["files"]:
            if f["path"] == rel_path(variant_path(model_id, v)):
                variants[v] = f
    e = {"id": model_id, "role": role, "label": label, "tokenizer": tokenizer, "folder": model_id + "/",
         "arch": arch(cfg), "files": files, "variants": variants}
    if objective:
        e["objective"] = objective
    if tiny:
        e["tiny"] = True
    if adapter:
        e["adapter"] = adapter
    return e


def adapter_entry(model_id: str, base_id: str, m: Llama, head: str = "lm") -> dict:
    """An ARM's or RM's LoRA as a PEFT folder (MODELS/<id>/adapter/: adapter_config.json +
    adapter_model.safetensors, float16, only the layers it trains): what the browser downloads
    for the fused path (graph inputs) and the GGUF transport (merged while expanding)."""
    from .peft_adapter import CONFIG, WEIGHTS, write_peft
    folder = MODELS / model_id / "adapter"
    (MODELS / model_id / "adapter.lora.bin").unlink(missing_ok=True)  # the raw layout it replaced
    base_name = BASE_MODEL_NAME if base_id == BASE_ID else base_id
    cfg = write_peft(m, folder, base_model=base_name, task_type="CAUSAL_LM" if head == "lm" else "FEATURE_EXTRACTION")
    return {"base": base_id, "base_model": base_name, "rank": cfg["r"], "alpha": cfg["lora_alpha"], "format": "peft",
            "config": file_entry(folder / CONFIG), "file": file_entry(folder / WEIGHTS), "dtype": ADAPTER_DTYPE,
            "layers": cfg["layers_to_transform"]}


def build_fused(suite: dict, base_id: str, make_base, stamp: dict) -> dict:
    """The fused graph of a suite: base weights once, ARMs as adapter inputs."""
    from . import fused
    fid = f"{suite['id']}-fused"
    folder = MODELS / fid
    stamp = node_stamp({**stamp, "fused": hashlib.sha256(Path(fused.__file__).read_bytes()).hexdigest()[:16]}, VARIANTS)
    if not up_to_date(folder, stamp):
        t0 = time.time()
        base = make_base()
        fp32 = variant_path(fid, "fp32")
        fp32.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"[build] {fid}: exporting fused fp32 ...", flush=True)
        fused.export_fused(base, fp32, TINY.lora_rank if suite["id"] == "tiny" else 8)
        quantize_variants(fid, fp32, VARIANTS)
        files = model_files(fid, folder, VARIANTS)
        (folder / "build.json").write_text(json.dumps({"stamp": stamp, "files": files,
                                                       "seconds": round(time.time() - t0, 1)}, indent=1) + "\n")
        print(f"[build] {fid}: done in {time.time() - t0:.0f} s", flush=True)
    bj = json.loads((folder / "build.json").read_text())
    variants = {v: f for v in VARIANTS for f in bj["files"] if f["path"] == rel_path(variant_path(fid, v))}
    rows = [base_id] + [suite["arms"][o] for o in OBJECTIVES if o in suite["arms"]]
    return {"variants": variants, "rows": rows,
            "inputs": "lora.{layer}.{target}.A [R,in,r] = A^T, lora.{layer}.{target}.B [R,r,out] = (alpha/r) B^T; "
                      "row 0 = base (zeros)"}


def build_all(tiny_only: bool = False) -> dict:
    MODELS.mkdir(parents=True, exist_ok=True)
    ch = code_hash()
    models: dict[str, dict] = {}
    suites: dict[str, dict] = {}

    # tiny suite: seconds to build, used by fast tests
    build_model(TINY_BASE, lambda: tiny_model(1), {"code": ch, "seed": 1, "tiny": TINY_VERSION}, with_tokenizer=True)
    models[TINY_BASE] = entry(TINY_BASE, "base", "Tiny random base (tests)", TINY, TINY_BASE, tiny=True)
    models[TINY_BASE]["transport"] = build_transport(TINY_BASE, fp32_entry(TINY_BASE), None, make_gguf=write_tiny_gguf)
    tiny_suite = {"id": "tiny", "label": "Tiny random models (tests)", "base": TINY_BASE, "arms": {}, "rms": {}}
    for i, obj in enumerate(OBJECTIVES):
        arm_id, rm_id = f"tiny-arm-{obj}", f"tiny-rm-{obj}"
        build_model(arm_id, lambda s=10 + i: merged(tiny_adapter_model(s, "lm")), {"code": ch, "seed": 10 + i, "tiny": TINY_VERSION,
                                                                                "merge": MERGE_VERSION}, False)
        models[arm_id] = entry(arm_id, "arm", f"Tiny {obj} ARM", TINY, TINY_BASE, obj, tiny=True,
                               adapter=adapter_entry(arm_id, TINY_BASE, tiny_adapter_model(10 + i, "lm")))
        build_model(rm_id, lambda s=20 + i: merged(tiny_adapter_model(s, "rm")), {"code": ch, "seed": 20 + i, "tiny": TINY_VERSION,
                                                                               "merge": MERGE_VERSION}, False)
        models[rm_id] = entry(rm_id, "rm", f"Tiny {obj} reward model", Config(**{**TINY.to_dict(), "head": "rm"}),
                              TINY_BASE, obj, tiny=True, adapter=adapter_entry(rm_id, TINY_BASE, tiny_adapter_model(20 + i, "rm"), "rm"))
        for mid in (arm_id, rm_id):
            models[mid]["transport"] = build_transport(mid, fp32_entry(mid), None, adapter=models[mid]["adapter"],
                                                       gguf_entry=models[TINY_BASE]["transport"]["gguf"])
        tiny_suite["arms"][obj] = arm_id
        tiny_suite["rms"][obj] = rm_id
    tiny_suite["fused"] = build_fused(tiny_suite, TINY_BASE, lambda: tiny_model(1), {"code": ch, "tiny": TINY_VERSION})
    tiny_suite["fused"]["transport"] = build_transport("tiny-fused", tiny_suite["fused"]["variants"]["fp32"], None,
                                                       gguf_entry=models[TINY_BASE]["transport"]["gguf"])
    suites["tiny"] = tiny_suite

    if not tiny_only:
        src = (hf_folder() / "SOURCE").read_text().strip()
        base_stamp = {"code": ch, "source": src}
        build_model(BASE_ID, load_base, base_stamp, with_tokenizer=True)
        base_cfg = load_base_cfg()
        models[BASE_ID] = entry(BASE_ID, "base", "SmolLM2-135M-Instruct", base_cfg, BASE_ID)
        models[BASE_ID]["transport"] = build_transport(BASE_ID, fp32_entry(BASE_ID), gguf_path())
        suite = {"id": "smollm2", "label": "SmolLM2-135M-Instruct + 135M ARMs", "base": BASE_ID, "arms": {}, "rms": {}}
        for obj in OBJECTIVES:
            for kind, head in (("arm", "lm"), ("rm", "rm")):
                name = f"{kind}-{obj}"
                art = ARTEFACTS / f"{name}.safetensors"
                if not art.exists():
                    print(f"[build] {name}: no trained artefact yet ({art.relative_to(ROOT)}); skipped", flush=True)
                    continue
                stamp = {"code": ch, "source": src, "artefact": sha256_file(art)[:16]}
                stamp.update(lora_dtype=ADAPTER_DTYPE, merge=MERGE_VERSION)
                build_model(name, lambda n=name, h=head: merged(trained_model(n, h)), stamp, with_tokenizer=False)
                cfg = Config(**{**base_cfg.to_dict(), "head": head})
                adapter = adapter_entry(name, BASE_ID, trained_model(name, head), head)
                models[name] = entry(name, kind, f"{obj.capitalize()} {'ARM' if kind == 'arm' else 'reward model'}",
                                     cfg, BASE_ID, obj, adapter=adapter)
                models[name]["transport"] = build_transport(name, fp32_entry(name), None, adapter=adapter,
                                                            gguf_entry=models[BASE_ID]["transport"]["gguf"])
                suite["arms" if kind == "arm" else "rms"][obj] = name
        if suite["arms"]:
            suite["fused"] = build_fused(suite, BASE_ID, load_base, base_stamp)
            suite["fused"]["transport"] = build_transport(f"{suite['id']}-fused", suite["fused"]["variants"]["fp32"], None,
                                                          gguf_entry=models[BASE_ID]["transport"]["gguf"])
        suites["smollm2"] = suite

    if tiny_only and (MODELS / "manifest.json").exists():
        # keep what an earlier full build listed; a tiny rebuild must not hide the real models
        old = json.loads((MODELS / "manifest.json").read_text())
        models = {**{k: v for k, v in old["models"].items() if not v.get("tiny")}, **models}
        suites = {**{k: v for k, v in old["suites"].items() if k != "tiny"}, **suites}
    manifest = {"version": 1, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "models": models, "suites": suites, "preferred": preferred_dtypes()}
    if "smollm2" in suites:
        manifest["default"] = "smollm2"
    (MODELS / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"[build] wrote {MODELS / 'manifest.json'}: {len(models)} models, suites {list(suites)}", flush=True)
    return manifest


def load_base_cfg() -> Config:
    from transformers import AutoConfig
    return Config.from_hf(AutoConfig.from_pretrained(hf_folder()))


def preferred_dtypes() -> dict:
    """Per-backend dtype, from measurements in reports/models.json when they exist."""
    rep = ROOT / "reports" / "models.json"
    default = {"webgpu": "fp32", "wasm": "fp32", "node": "q8"}
    pref = json.loads(rep.read_text()).get("preferred", default) if rep.exists() else default
    # a measured preference for a variant that is no longer built (q4: RETIRED) falls to fp32
    return {k: (v if v in VARIANTS else "fp32") for k, v in pref.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true", help="build only the tiny test suite")
    args = ap.parse_args(argv)
    try:
        build_all(tiny_only=args.tiny)
    except BuildError as e:
        print(f"[build] ERROR: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
