"""The library's programs: one command tree (:mod:`.cli`: ``colourlib train | export | colourise``) and
``colourise`` (also its own console script). The study's are ``python -m study``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def path_argument(text: str) -> Path:
    """argparse's type for a path: an empty string would quietly mean the current folder, so it is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text).expanduser()


def run_command(body: Callable[[], int]) -> int:
    """Run a command's ``body`` and return its exit status. What the user can fix (a :class:`ColourlibError`) is
    one line (exit 2); a missing backend package is one line too; Ctrl-C says how to go on (exit 130); anything
    else is a bug, and keeps its traceback."""
    from .. import ColourlibError
    from ..backend import exit_if_missing_backend

    try:
        return body()
    except ColourlibError as exc:
        if not getattr(exc, "already_said", False):  # a lost peer the watchdog named already
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        return exit_if_missing_backend(exc)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: run the same command to go on (finished runs are reused, an interrupted one "
            "resumes at its last finished epoch)",
            file=sys.stderr,
        )
        return 130
