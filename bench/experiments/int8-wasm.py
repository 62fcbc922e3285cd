"""Experiment (issue list: int8 compute on WASM): the base's fp32 graph with its weight MatMuls turned
into int8 MatMulInteger (onnxruntime's dynamic quantization: per-channel symmetric int8 weights, uint8
activations quantized per run by DynamicQuantizeLinear), because MatMulInteger has WebAssembly SIMD
kernels where MatMulNBits has none (docs/BROWSER.md). Two variants: every weight MatMul, and the same
with the 30 down_proj MatMuls kept fp32 (their inputs, the gated MLP activations, carry the outliers
that per-tensor uint8 activations clip). Quality here (top-1 agreement with fp32 and perplexity on the
held-out helpfulness sequences, as `genarm.verify` measures every variant); speed in
bench/experiments/int8-wasm.mjs on onnxruntime-web's WASM build.
  .venv/bin/python bench/experiments/int8-wasm.py [--seqs 24]
  -> .cache/int8/{all,down-fp32}.onnx, bench/results/int8-wasm-quality.json"""
import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from genarm.verify import OnnxLM, agreement_and_perplexity, heldout_sequences

FP32 = ROOT / "models-node/smollm2-135m-instruct/onnx/model.onnx"
OUT = ROOT / ".cache/int8"
VARIANTS = {"all": lambda name: False, "down-fp32": lambda name: "/mlp/down_proj/" in name}


def build(variant: str) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    dst = OUT / f"{variant}.onnx"
    if dst.exists() and dst.stat().st_mtime > FP32.stat().st_mtime:
        return dst
    OUT.mkdir(parents=True, exist_ok=True)
    g = onnx.load(str(FP32), load_external_data=False).graph
    weights = {i.name for i in g.initializer}
    # only MatMuls with a constant weight: the attention's activation x activation MatMuls stay fp32
    nodes = [n.name for n in g.node if n.op_type == "MatMul" and n.input[1] in weights]
    keep = [n for n in nodes if VARIANTS[variant](n)]
    quantize_dynamic(str(FP32), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
    print(f"[int8] {variant}: {len(nodes) - len(keep)} of {len(nodes)} weight MatMuls int8, "
          f"{dst.stat().st_size / 2**20:.1f} MiB")
    return dst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqs", type=int, default=24)
    a = ap.parse_args()
    manifest = json.loads((ROOT / "public/models/manifest.json").read_text())
    arch = manifest["models"]["smollm2-135m-instruct"]["arch"]
    seqs = heldout_sequences(a.seqs)
    lms = {"fp32": OnnxLM(FP32, arch)} | {v: OnnxLM(build(v), arch) for v in VARIANTS}
    ref = [lms["fp32"].run(np.array([ids]))[0][0] for ids, _ in seqs]
    res: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "heldout_sequences": len(seqs),
                 "tokens": sum(len(s) for s, _ in seqs), "variants": {}}
    for v, lm in lms.items():
        q = agreement_and_perplexity(None if v == "fp32" else lm, seqs, ref)
        path = FP32 if v == "fp32" else OUT / f"{v}.onnx"
        res["variants"][v] = {**q, "file_mib": round(path.stat().st_size / 2**20, 1)}
        print(f"[int8] {v}: top-1 agreement {q['top1_agreement_with_fp32']:.4f}, perplexity {q['perplexity']:.3f}")
    out = ROOT / "bench/results/int8-wasm-quality.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"[int8] wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
