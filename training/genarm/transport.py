"""Ship the GGUF blocks, not their fp32 expansion: a weightless graph + a layout of recipes.

The fp32 base graph (export.export_fp32) holds ~651 MB of float32 initializers that are, value
for value, the dequantized blocks of the 96.6 MB GGUF it was built from (base.gguf_path():
transformers dequantizes the Q4_1/Q8_0 blocks with gguf-py, export.py traces our Llama over
those numbers). This module turns such a graph into

  (a) the same graph with every initializer that comes from the GGUF moved to ONNX external
      data in one file (`model.onnx_data`): the graph file itself is then small. The data file
      is what the browser/Node side must *rebuild* from the GGUF (src/engine/gguf-expand.ts);
      it is written here only as the bit-exact reference for that rebuild and is never served;
  (b) a layout JSON (`model.layout.json`, LAYOUT_FORMAT below): for each external initializer
      its name, offset/length in the external data, shape, and its recipe: the GGUF tensor,
      its ggml type and the ops that turn the dequantized tensor into the initializer.

Recipes are *discovered by comparing values*, not assumed from names (the export's MatMul
weights are anonymous `onnx::MatMul_*` constants): every GGUF tensor is dequantized exactly as
gguf-py does it (numpy float32, Q4_1 `d*q + m`, Q8_0 `d*q`), each candidate transform of it is
hashed, and an initializer whose bytes hash the same gets that recipe. Candidates, simplest
first (the first that matches wins):
  []                               the tensor as dequantized (norms, the embedding table)
  [transpose]                      torch.onnx exports x @ W^T with W^T folded to a constant
  [rope_unpermute h]               transformers' GGUF loader undoes llama.cpp's rotary row
                                   permutation of attn_q / attn_k (h = head_count, resp.
                                   head_count_kv: transformers/modeling_gguf_pytorch_utils.py,
                                   LlamaTensorProcessor._reverse_permute_weights)
  [rope_unpermute h, transpose]    both (the Q/K MatMul weights)
Shapes are numpy order (rows, cols) = the GGUF `ne` reversed. A GGUF tensor may feed several
initializers (the tied embedding: the Gather table and the lm head's transposed MatMul weight).
Initializers that no recipe reproduces (shape constants, ...) stay inline in the graph; a
float initializer of at least `max_inline_bytes` that stays inline is an error, since the point
is a small graph.

Every recipe is checked again after writing: applying it to the GGUF must reproduce the bytes
in the external file, and those the original inline initializer, bit for bit (TransportError
otherwise). Why: the browser runs fp32 on WASM (4-bit MatMulNBits is slower there) and a 652 MB
file can exceed the Cache Storage quota (docs/BROWSER.md, "Runtime behaviour"); this is the wire
format that the worker expands once per load into onnxruntime's `externalData`.

  python -m genarm.transport                       # SmolLM2 fp32 base -> .cache/transport/<id>/
  python -m genarm.transport --graph G --gguf F --out DIR
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np

from .base import sha256_file
from .paths import CACHE

LAYOUT_FORMAT = "genarm-gguf-transport"
LAYOUT_VERSION = 1
# Offsets of the external tensors are multiples of this: a Float32Array view needs 4, 64 keeps
# every tensor on its own cache line (SIMD loads, and onnxruntime may read it in place).
ALIGNMENT = 64
GRAPH_NAME = "model.onnx"
DATA_NAME = "model.onnx_data"
LAYOUT_NAME = "model.layout.json"
DEFAULT_MAX_INLINE_BYTES = 1 << 20

SourceType = Literal["F32", "Q4_1", "Q8_0"]
SOURCE_TYPES: tuple[str, ...] = ("F32", "Q4_1", "Q8_0")


class TransportError(RuntimeError):
    """A transport build or check failed; the message says which tensor and how."""


# ------------------------------------------------------------------ recipes
class OpJson(TypedDict, total=False):
    op: str
    heads: int
    rank: int
    a: int
    b: int
    scale: float


@dataclass(frozen=True)
class Op:
    """One step applied to a 2-D tensor: `transpose`, `rope_unpermute` with `heads`, or `lora`:
    add scale * B A read from the layout's adapter file, a PEFT adapter_model.safetensors
    (A [rank, cols] at byte offset `a`, B [rows, rank] at byte offset `b`, both float16 as
    stored; scale = lora_alpha / r; lora_merge)."""
    op: Literal["transpose", "rope_unpermute", "lora"]
    heads: int = 0
    rank: int = 0
    a: int = 0
    b: int = 0
    scale: float = 0.0

    def to_json(self) -> OpJson:
        if self.op == "transpose":
            return {"op": "transpose"}
        if self.op == "lora":
            return {"op": "lora", "rank": self.rank, "a": self.a, "b": self.b, "scale": self.scale}
        return {"op": "rope_unpermute", "heads": self.heads}

    @staticmethod
    def from_json(d: OpJson) -> Op:
        if d.get("op") == "transpose":
            return Op("transpose")
        if d.get("op") == "rope_unpermute" and isinstance(d.get("heads"), int) and d["heads"] > 0:
            return Op("rope_unpermute", d["heads"])
        if d.get("op") == "lora" and all(isinstance(d.get(k), int) and d[k] >= 0 for k in ("rank", "a", "b")) \
                and d["rank"] > 0 and isinstance(d.get("scale"), (int, float)):
            return Op("lora", rank=d["rank"], a=d["a"], b=d["b"], scale=float(d["scale"]))
        raise TransportError(f"unknown op in layout: {d!r}")


@dataclass(frozen=True)
class Recipe:
    source: str                    # GGUF tensor name
    source_type: str               # ggml type name (SOURCE_TYPES)
    source_shape: tuple[int, ...]  # numpy order: GGUF ne reversed
    ops: tuple[Op, ...] = field(default_factory=tuple)


def rope_unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Undo llama.cpp's rotary permutation of Q/K rows (convert_hf_to_gguf.py `permute`), as
    transformers' GGUF loader does: per head, GGUF interleaves the two rotary halves row by
    row (r = 2i + j); HF keeps them as halves (r = j*dim + i)."""
    rows = w.shape[0]
    if rows % (2 * heads):
        raise TransportError(f"rope_unpermute: {rows} rows do not split into {heads} heads x 2 halves")
    dim = rows // heads // 2
    return w.reshape(heads, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def lora_merge(w: np.ndarray, a: np.ndarray, b: np.ndarray, scale: float) -> np.ndarray:
    """W + scale * B A as float32, with one arithmetic that numpy, torch and JavaScript all
    reproduce bit for bit (src/engine/gguf-expand.ts addLora does the same): A [rank, cols] and
    B [rows, rank] are float16 values as a PEFT adapter file stores them and scale is PEFT's
    lora_alpha / r; per element, in float64, s_ok = B[o,k] * scale, then
    W + s_o0 A[0,i] + ... + s_o(rank-1) A[rank-1,i], each product and sum rounded as IEEE float64
    does in that order, and the result rounded once to float32. (A BLAS matmul would sum in an
    order of its own choosing; with scale a power of two, as alpha 16 / r 8, every product is
    even exact.)"""
    rows, cols = w.shape
    rank = a.shape[0]
    if a.shape != (rank, cols) or b.shape != (rows, rank):
        raise TransportError(f"lora: A {a.shape} and B {b.shape} do not fit a [{rows}, {cols}] weight")
    a64, b64 = a.astype(np.float16).astype(np.float64), b.astype(np.float16).astype(np.float64)
    if not (np.array_equal(a64, a.astype(np.float64)) and np.array_equal(b64, b.astype(np.float64))):
        raise TransportError("lora: A and B must hold float16 values (the adapter file's)")
    bs = b64 * float(scale)
    acc = w.astype(np.float64)
    for k in range(rank):
        acc += np.outer(bs[:, k], a64[k])
    return acc.astype(np.float32)


def adapter_pair(adapter: np.ndarray, op: Op, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """(A [rank, cols], B [rows, rank]) of a lora op, read from the adapter file's bytes."""
    na, nb = op.rank * cols * 2, rows * op.rank * 2
    if op.a + na > adapter.size or op.b + nb > adapter.size:
        raise TransportError(f"lora op {op.to_json()} reads past the adapter file ({adapter.size} B)")
    a = np.frombuffer(adapter[op.a:op.a + na].tobytes(), dtype="<f2").reshape(op.rank, cols)
    b = np.frombuffer(adapter[op.b:op.b + nb].tobytes(), dtype="<f2").reshape(rows, op.rank)
    return a, b


def apply_ops(w: np.ndarray, ops: Iterable[Op], adapter: np.ndarray | None = None) -> np.ndarray:
    for op in ops:
        if w.ndim != 2:
            raise TransportError(f"{op.op} needs a 2-D tensor, got shape {w.shape}")
        if op.op == "lora":
            if adapter is None:
                raise TransportError("a lora op needs the layout's adapter file")
            w = lora_merge(np.ascontiguousarray(w, dtype=np.float32), *adapter_pair(adapter, op, *w.shape), op.scale)
        else:
            w = w.T if op.op == "transpose" else rope_unpermute(w, op.heads)
    return np.ascontiguousarray(w, dtype=np.float32)


def output_shape(source_shape: tuple[int, ...], ops: Iterable[Op]) -> tuple[int, ...]:
    shape = tuple(source_shape)
    for op in ops:
        if op.op == "transpose":
            shape = shape[::-1]
    return shape


# ------------------------------------------------------------------ GGUF side (gguf-py)
class GgufSource:
    """The tensors of one GGUF file, dequantized on demand with gguf-py (numpy float32)."""

    def __init__(self, path: Path):
        import gguf

        self.path = Path(path)
        self._gguf = gguf
        self.reader = gguf.GGUFReader(str(self.path))
        self.tensors = {t.name: t for t in self.reader.tensors}

    def type_name(self, name: str) -> str:
        return self.tensors[name].tensor_type.name

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(n) for n in reversed(self.tensors[name].shape))

    def dequantize(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        if t.tensor_type.name not in SOURCE_TYPES:
            raise TransportError(f"{name}: ggml type {t.tensor_type.name} has no recipe here (only {SOURCE_TYPES})")
        w = np.asarray(self._gguf.dequantize(t.data, t.tensor_type), dtype=np.float32)
        return w.reshape(self.shape(name))

    def field_int(self, key: str) -> int | None:
        f = self.reader.fields.get(key)
        if f is None:
            return None
        v = f.contents()
        return int(v) if isinstance(v, (int, np.integer)) else None

    def head_counts(self) -> list[int]:
        """The rotary head counts to try (Q: head_count, K: head_count_kv), from the metadata."""
        arch = self.reader.fields.get("general.architecture")
        prefix = arch.contents() if arch is not None else "llama"
        out: list[int] = []
        for k in (f"{prefix}.attention.head_count", f"{prefix}.attention.head_count_kv"):
            h = self.field_int(k)
            if h and h not in out:
                out.append(h)
        return out

    def sha256(self) -> str:
        return sha256_file(self.path)


def candidate_ops(shape: tuple[int, ...], heads: list[int]) -> list[tuple[Op, ...]]:
    if len(shape) != 2:
        return [()]
    out: list[tuple[Op, ...]] = [(), (Op("transpose"),)]
    for h in heads:
        if shape[0] % (2 * h) == 0:
            out += [(Op("rope_unpermute", h),), (Op("rope_unpermute", h), Op("transpose"))]
    return out


# ------------------------------------------------------------------ graph side (onnx)
def _raw_bytes(t) -> bytes:
    """An initializer's little-endian bytes (raw_data, or float_data re-encoded)."""
    from onnx import numpy_helper
    if t.HasField("raw_data"):
        return t.raw_data
    return numpy_helper.to_array(t).astype("<f4").tobytes()


def _digest(b: bytes | memoryview) -> bytes:
    return hashlib.sha256(b).digest()


# llama.cpp's tensor names of the LoRA target projections (model.LORA_TARGETS order)
GGUF_TARGETS = {"attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj", "attn_output": "o_proj",
                "ffn_gate": "gate_proj", "ffn_up": "up_proj", "ffn_down": "down_proj"}
LORA_TARGETS = tuple(GGUF_TARGETS.values())


def adapter_ops(src: GgufSource, adapter: np.ndarray, config: dict) -> dict[str, Op]:
    """The lora op of each target projection's GGUF tensor that a PEFT adapter trains: its
    adapter_model.safetensors bytes (`adapter`) hold, per layer and projection, lora_A [r, in] and
    lora_B [out, r] as float16 (peft_adapter.to_peft); the ops point at those bytes, with PEFT's
    scale lora_alpha / r. Projections the adapter leaves out keep their plain recipes."""
    from .peft_adapter import KEY
    n = int.from_bytes(adapter[:8].tobytes(), "little")
    header = json.loads(adapter[8:8 + n].tobytes())
    r, alpha = int(config["r"]), float(config["lora_alpha"])
    pairs: dict[tuple[int, str], dict[str, int]] = {}
    for key, t in header.items():
        if key == "__metadata__":
            continue
        k = KEY.match(key.replace(".default.", "."))
        if not k:
            raise TransportError(f"adapter tensor {key!r} is not a LoRA matrix of a Llama projection")
        if t["dtype"] != "F16":
            raise TransportError(f"adapter tensor {key!r} is {t['dtype']}: the transport merges float16 adapters")
        pairs.setdefault((int(k.group(1)), k.group(3)), {})[k.group(4)] = 8 + n + int(t["data_offsets"][0])
    by_target = {v: k for k, v in GGUF_TARGETS.items()}
    ops: dict[str, Op] = {}
    for (layer, target), ab in sorted(pairs.items()):
        name = f"blk.{layer}.{by_target[target]}.weight"
        if name not in src.tensors or set(ab) != {"A", "B"}:
            raise TransportError(f"adapter layer {layer} {target}: no GGUF tensor {name}, or not an A/B pair")
        ops[name] = Op("lora", rank=r, a=ab["A"], b=ab["B"], scale=alpha / r)
    return ops


def with_lora(ops: tuple[Op, ...], lora: Op) -> tuple[Op, ...]:
    """The LoRA delta is added in the projection's own [out, in] frame: after rope_unpermute
    (the adapter was trained on transformers' row order), before the export's transpose."""
    if ops and ops[-1].op == "transpose":
        return (*ops[:-1], lora, ops[-1])
    return (*ops, lora)


def discover(model, src: GgufSource, log=print, adapter: np.ndarray | None = None,
             lora: dict[str, Op] | None = None) -> dict[str, Recipe]:
    """The recipe of every float32 initializer of `model` that some GGUF tensor reproduces
    bit for bit (by sha256 of the bytes, shape checked too). With `adapter` (its bytes) and
    `lora` (adapter_ops), a graph whose LoRA was merged (build.merged) is matched too: each
    target projection's candidates are tried with its lora op as well, plain ones first."""
    from onnx import TensorProto

    wanted: dict[tuple[tuple[int, ...], bytes], list[str]] = {}
    shapes: set[tuple[int, ...]] = set()
    for t in model.graph.initializer:
        if t.data_type != TensorProto.FLOAT or t.data_location == TensorProto.EXTERNAL:
            continue
        shape = tuple(int(d) for d in t.dims)
        wanted.setdefault((shape, _digest(_raw_bytes(t))), []).append(t.name)
        shapes.add(shape)
    heads = src.head_counts()
    found: dict[str, Recipe] = {}
    for name in src.tensors:
        if src.type_name(name) not in SOURCE_TYPES:
            continue
        shape = src.shape(name)
        cands = [ops for ops in candidate_ops(shape, heads) if output_shape(shape, ops) in shapes]
        if lora and name in lora:
            cands += [with_lora(ops, lora[name]) for ops in cands]
        if not cands:
            continue
        w = src.dequantize(name)
        for ops in cands:
            key = (output_shape(shape, ops), _digest(apply_ops(w, ops, adapter).tobytes()))
            for init in wanted.get(key, []):
                if init not in found:  # simplest recipe first (candidate order)
                    found[init] = Recipe(name, src.type_name(name), shape, ops)
    log(f"[transport] {len(found)} of {sum(len(v) for v in wanted.values())} float32 initializers "
        f"come from {src.path.name}")
    return found


# ------------------------------------------------------------------ layout
class TensorJson(TypedDict):
    name: str
    offset: int
    length: int
    shape: list[int]
    dtype: str
    source: str
    source_type: str
    source_shape: list[int]
    ops: list[OpJson]


def _align(n: int, a: int = ALIGNMENT) -> int:
    return (n + a - 1) // a * a


def _file_json(path: Path, sha: str | None = None) -> dict:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha or sha256_file(path)}


def _atomic_write(path: Path, chunks: Iterable[bytes | memoryview]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def write_transport(graph: Path, gguf: Path, out_dir: Path, *, max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES,
                    data_dir: Path | None = None, adapter: Path | None = None, adapter_config: dict | None = None,
                    log=print) -> dict:
    """Write out_dir/{model.onnx (weightless), model.layout.json} and data_dir/model.onnx_data
    (default: out_dir; the reference the browser rebuilds, never served); returns the layout.
    Raises TransportError when a recipe does not reproduce its initializer bit for bit, or when
    a float initializer of max_inline_bytes or more has no recipe.

    The external data is laid out in a canonical order (GGUF tensor order, then the ops, then the
    order of appearance), not the graph's: two graphs over the same weights (the base and the
    fused base + ARMs graph) then get the same external data, byte for byte and by sha256, and
    the engine expands the GGUF once for both (src/engine/transport.ts).

    With `adapter` (a PEFT adapter_model.safetensors, `adapter_config` its adapter_config.json)
    the graph may be a merged LoRA fine-tune of the GGUF's model (an ARM or a trajectory RM,
    merged with lora_merge): its projections get a `lora` op and the layout names the adapter,
    which then travels instead of the merged weights."""
    import onnx
    from onnx import TensorProto
    from onnx.external_data_helper import set_external_data

    t0 = time.time()
    graph, gguf, out_dir = Path(graph), Path(gguf), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src = GgufSource(gguf)
    source_graph = _file_json(graph)
    model = onnx.load(str(graph))
    adapter_blob = np.fromfile(adapter, dtype=np.uint8) if adapter is not None else None
    lora = adapter_ops(src, adapter_blob, adapter_config) if adapter_blob is not None else None
    recipes = discover(model, src, log=log, adapter=adapter_blob, lora=lora)

    inline_big = [(t.name, len(_raw_bytes(t))) for t in model.graph.initializer
                  if t.name not in recipes and t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16,
                                                               TensorProto.DOUBLE, TensorProto.BFLOAT16)
                  and len(_raw_bytes(t)) >= max_inline_bytes]
    if inline_big:
        raise TransportError(f"{graph}: {len(inline_big)} float initializers of >= {max_inline_bytes} bytes match no "
                             f"tensor of {gguf.name} (first: {inline_big[:4]}); they would stay inline in the graph")

    entries: list[TensorJson] = []
    digests: dict[str, bytes] = {}
    data_dir = Path(data_dir) if data_dir is not None else out_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    data_path, graph_path, layout_path = data_dir / DATA_NAME, out_dir / GRAPH_NAME, out_dir / LAYOUT_NAME
    data_sha = hashlib.sha256()
    pos = 0
    order = {name: i for i, name in enumerate(src.tensors)}
    moved = sorted((t for t in model.graph.initializer if t.name in recipes),
                   key=lambda t: (order[recipes[t.name].source], json.dumps([o.to_json() for o in recipes[t.name].ops])))
    tmp = data_path.with_name(f"{data_path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:  # streamed: the graph's bytes are not held twice
        for t in moved:  # sorted() is stable: ties keep the graph's order
            r = recipes[t.name]
            raw = _raw_bytes(t)
            offset = _align(pos)
            pad = b"\0" * (offset - pos)
            for c in (pad, raw):
                f.write(c)
                data_sha.update(c)
            pos = offset + len(raw)
            digests[t.name] = _digest(raw)
            entries.append({"name": t.name, "offset": offset, "length": len(raw), "shape": [int(d) for d in t.dims],
                            "dtype": "float32", "source": r.source, "source_type": r.source_type,
                            "source_shape": list(r.source_shape), "ops": [o.to_json() for o in r.ops]})
            if not t.HasField("raw_data"):
                t.raw_data = raw
                del t.float_data[:]
            set_external_data(t, DATA_NAME, offset, len(raw))
            t.ClearField("raw_data")
            del raw
    os.replace(tmp, data_path)
    # every moved tensor now has data_location EXTERNAL and no raw_data: this writes the graph only
    _atomic_write(graph_path, [model.SerializeToString()])
    inline = [t for t in model.graph.initializer if t.data_location != TensorProto.EXTERNAL]
    layout = {
        "format": LAYOUT_FORMAT, "version": LAYOUT_VERSION,
        "gguf": {"file": gguf.name, "bytes": gguf.stat().st_size, "sha256": src.sha256()},
        "source_graph": source_graph,
        "graph": _file_json(graph_path),
        "external_data": {"path": DATA_NAME, "bytes": pos, "sha256": data_sha.hexdigest(), "alignment": ALIGNMENT},
        "inline": {"initializers": len(inline), "bytes": sum(len(_raw_bytes(t)) for t in inline)},
        "tensors": entries,
    }
    if adapter is not None:
        layout["adapter"] = _file_json(Path(adapter))
    del model
    verify(layout, gguf, data_path, expected=digests, adapter=adapter)
    _atomic_write(layout_path, [(json.dumps(layout, indent=1) + "\n").encode()])
    log(f"[transport] {graph_path} ({layout['graph']['bytes']:,} B) + {data_path} ({pos:,} B) from "
        f"{gguf.name} ({layout['gguf']['bytes']:,} B), {len(entries)} external tensors, {time.time() - t0:.0f} s")
    return layout


def verify(layout: dict, gguf: Path, data: Path, reference: Path | None = None,
           expected: dict[str, bytes] | None = None, adapter: Path | None = None) -> None:
    """Apply every recipe of `layout` to the GGUF and require the exact bytes of the external
    data file; also require that they are the original initializer's bytes: `expected` maps a
    name to the sha256 of those bytes, or `reference` (the original inline graph) supplies them.
    Raises TransportError naming the first mismatch."""
    if layout.get("format") != LAYOUT_FORMAT or layout.get("version") != LAYOUT_VERSION:
        raise TransportError(f"not a {LAYOUT_FORMAT} v{LAYOUT_VERSION} layout")
    src = GgufSource(gguf)
    adapter_blob = None
    if "adapter" in layout:
        if adapter is None:
            raise TransportError(f"the layout merges LoRA from {layout['adapter']['file']}: pass that file")
        if sha256_file(Path(adapter)) != layout["adapter"]["sha256"]:
            raise TransportError(f"{adapter}: sha256 differs from the layout's adapter {layout['adapter']['sha256']}")
        adapter_blob = np.fromfile(adapter, dtype=np.uint8)
    blob = np.memmap(data, dtype=np.uint8, mode="r")
    if blob.size != layout["external_data"]["bytes"]:
        raise TransportError(f"{data}: {blob.size} bytes, layout says {layout['external_data']['bytes']}")
    check_original = expected is not None or reference is not None
    expected = dict(expected or {})
    if reference is not None:
        import onnx
        m = onnx.load(str(reference))
        names = {e["name"] for e in layout["tensors"]}
        expected.update({t.name: _digest(_raw_bytes(t)) for t in m.graph.initializer if t.name in names})
        del m
    cache: dict[str, np.ndarray] = {}
    for e in layout["tensors"]:
        s = e["source"]
        if s not in src.tensors:
            raise TransportError(f"{e['name']}: source {s} is not in {gguf.name}")
        if src.type_name(s) != e["source_type"] or list(src.shape(s)) != e["source_shape"]:
            raise TransportError(f"{e['name']}: {s} is {src.type_name(s)} {src.shape(s)} in {gguf.name}, layout says "
                                 f"{e['source_type']} {e['source_shape']}")
        if s not in cache:
            cache = {s: src.dequantize(s)}  # consecutive entries share a source (the tied embedding)
        ops = [Op.from_json(o) for o in e["ops"]]
        w = apply_ops(cache[s], ops, adapter_blob)
        if list(w.shape) != e["shape"] or w.nbytes != e["length"]:
            raise TransportError(f"{e['name']}: recipe gives {w.shape}, layout says {e['shape']} ({e['length']} B)")
        got = np.frombuffer(blob[e["offset"]:e["offset"] + e["length"]].tobytes(), dtype="<u4")
        want = w.view("<u4").reshape(-1)
        if not np.array_equal(got, want):
            bad = int(np.flatnonzero(got != want)[0])
            raise TransportError(f"{e['name']}: {s} {ops} differs from the external data at element {bad} "
                                 f"(0x{int(want[bad]):08x} vs 0x{int(got[bad]):08x})")
        if not check_original:
            continue
        if e["name"] not in expected:
            raise TransportError(f"{e['name']}: no original initializer to compare with (reference graph lacks it)")
        if expected[e["name"]] != _digest(w.tobytes()):
            raise TransportError(f"{e['name']}: {s} {ops} does not reproduce the original initializer")


def transport_dir(model_id: str) -> Path:
    return CACHE / "transport" / model_id


def main(argv: list[str] | None = None) -> int:
    from .base import BASE_ID, gguf_path
    from .build import variant_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--graph", type=Path, default=variant_path(BASE_ID, "fp32"))
    ap.add_argument("--gguf", type=Path, default=None, help="default: the hash-checked GGUF of genarm.base")
    ap.add_argument("--out", type=Path, default=transport_dir(BASE_ID))
    ap.add_argument("--max-inline-bytes", type=int, default=DEFAULT_MAX_INLINE_BYTES)
    args = ap.parse_args(argv)
    try:
        write_transport(args.graph, args.gguf or gguf_path(), args.out, max_inline_bytes=args.max_inline_bytes)
    except TransportError as e:
        print(f"[transport] ERROR: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
