"""Every path the project uses, resolved in one place.

Environment variables let a user move what is generated (runs, caches) without touching code:
``COLOURLIB_RUNS`` for training runs, ``COLOURLIB_CACHE`` (else ``$XDG_CACHE_HOME/colourlib``) for caches.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout, when colourlib runs from one (``None`` for an installed wheel).
REPO_ROOT: Path | None = (
    PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").is_file() else None
)

#: The embedded photo set: ``train/`` colour photos, ``bw/`` real black-and-white ones, a manifest, licences.
PHOTOS_DIR = PACKAGE_DIR / "photos"
PHOTO_MANIFEST = PHOTOS_DIR / "manifest.csv"
#: Where the study writes: the checkout, or ``$COLOURLIB_STUDY_ROOT``, a scratch copy of the book's sources that
#: the smoke test (``make study PRESET=tiny``) runs in (:data:`SMOKE_ROOT`), so that it never touches the real
#: study's runs, timings, evaluation, built book or default model.
STUDY_ROOT = Path(os.environ.get("COLOURLIB_STUDY_ROOT") or REPO_ROOT or Path.cwd())


def relative(path: str | Path) -> str:
    """``path`` relative to the repository (as a person would type it), else as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT or Path.cwd()))
    except ValueError:
        return str(path)


def runs_dir() -> Path:
    """Where training runs are written: ``$COLOURLIB_RUNS``, else ``runs/`` where the study writes."""
    if env := os.environ.get("COLOURLIB_RUNS"):
        return Path(env)
    return STUDY_ROOT / "runs"


def cache_dir() -> Path:
    """User cache for converted weights and cached features; created on first use."""
    if env := os.environ.get("COLOURLIB_CACHE"):
        path = Path(env)
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "colourlib"
    path.mkdir(parents=True, exist_ok=True)
    return path


#: The record of the model ``colourise`` uses by default, written by the study (under :func:`runs_dir`).
DEFAULT_MODEL_RECORD = "colourise-model.json"


def default_model_record() -> Path:
    """Where the model ``colourise`` uses by default is recorded."""
    return runs_dir() / DEFAULT_MODEL_RECORD


def default_run_dir() -> Path:
    """The run folder the default-model record names: relative to the record's folder (so a clone can move),
    or absolute as older records wrote it. Raises ``OSError``/``ValueError``/``KeyError``/``TypeError`` for a
    missing or damaged record."""
    import json

    record = default_model_record()
    return (record.parent / json.loads(record.read_text())["run_dir"]).resolve()
