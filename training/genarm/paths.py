"""Where things live. Everything is relative to the repository root."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
MODELS = ROOT / "public" / "models"
REPORTS = ROOT / "reports"
ARTEFACTS = ROOT / "training" / "artefacts"  # committed: LoRA adapters, reward heads
GOLDEN = ROOT / "training" / "golden"
CHECKPOINTS = ROOT / "training" / "checkpoints"  # git-ignored
# the shared, read-only data folder beside the checkout (see ../shared/data/README.md)
DATA = Path(__import__("os").environ.get("GENARM_DATA", ROOT.parent / "shared" / "data"))
