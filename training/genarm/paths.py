"""Where things live. Everything is relative to the repository root."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
MODELS = ROOT / "public" / "models"
# files only Node loads (the q8 graphs): beside public/, never served (README, "Models"); the manifest
# names them relative to MODELS ("../../models-node/...") with node_only: true
NODE_MODELS = ROOT / "models-node"
REPORTS = ROOT / "reports"
ARTEFACTS = ROOT / "training" / "artefacts"  # committed: LoRA adapters, reward heads
GOLDEN = ROOT / "training" / "golden"
CHECKPOINTS = ROOT / "training" / "checkpoints"  # git-ignored
# the shared, read-only data folder beside the checkout (see ../shared/data/README.md)
DATA = Path(__import__("os").environ.get("GENARM_DATA", ROOT.parent / "shared" / "data"))
