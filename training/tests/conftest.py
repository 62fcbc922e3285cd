"""Shared fixtures. Puts training/ on sys.path so `import genarm` works from the repo root."""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[1]
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))

import torch  # noqa: E402

from genarm.paths import MODELS  # noqa: E402

# One intra-op thread: the 2 cores are shared with other work, and with two threads a tiny
# model's forward runs ~20x slower under load (threads wait on each other at every op).
THREADS = int(os.environ.get("GENARM_TEST_THREADS", "1"))
torch.set_num_threads(THREADS)
logging.getLogger("root").setLevel(logging.ERROR)  # onnxruntime.quantization logs every MatMul at INFO


def manifest() -> dict | None:
    p = MODELS / "manifest.json"
    return json.loads(p.read_text()) if p.exists() else None


@pytest.fixture(scope="session")
def real_manifest() -> dict:
    """public/models/manifest.json with the SmolLM2 base, or a skip saying what is missing."""
    m = manifest()
    if m is None:
        pytest.skip(f"{MODELS / 'manifest.json'} does not exist: run `bash scripts/models.sh` first")
    if "smollm2-135m-instruct" not in m["models"]:
        pytest.skip("manifest.json lists no smollm2-135m-instruct (only the tiny suite was built)")
    return m


@pytest.fixture(scope="session")
def tokenizer():
    from genarm.base import load_tokenizer
    return load_tokenizer()
