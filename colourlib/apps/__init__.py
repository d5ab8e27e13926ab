"""The programs: one command tree (:mod:`.cli`: ``python -m study run | train | recipes | colourise | bench |
check``), ``colourise`` (also its own console script) and the benchmarks."""

from __future__ import annotations

import argparse
from pathlib import Path


def path_argument(text: str) -> Path:
    """argparse's type for a path: an empty string would quietly mean the current folder, so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text).expanduser()
