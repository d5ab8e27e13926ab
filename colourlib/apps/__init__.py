"""The library's programs: one command tree (:mod:`.cli`: ``colourlib train | export | colourise``) and
``colourise`` (also its own console script). The study's are ``python -m study``."""

from __future__ import annotations

import argparse
from pathlib import Path


def path_argument(text: str) -> Path:
    """argparse's type for a path: an empty string would quietly mean the current folder, so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text).expanduser()
