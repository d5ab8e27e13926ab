"""The smoke test (``make study PRESET=tiny``) runs in a scratch copy, never in the study's own places.

A tiny study writes everything a full one does: runs, timings, the evaluation, executed notebooks, the built book
and the record of the model ``colourise`` uses by default. Run in the checkout, it would replace the full study's
results with toy ones, silently. So it runs in ``smoke-test/`` (ignored by git): a fresh copy of the book's
sources each time, its own runs and built book kept there for the next smoke test to reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from colourlib import paths
from study import paths as study_paths

#: What the book needs beside its pages to build: jupyter-book's configuration, found upwards from book/.
BOOK_CONFIG = ("_config.yml", "_toc.yml")
#: Inside book/: what the study generates, kept between smoke tests (everything else is copied fresh).
GENERATED = ("runs", "_generated")


def in_scratch() -> bool:
    """Whether this process already writes into a scratch copy rather than the checkout."""
    return paths.STUDY_ROOT.resolve() != (paths.REPO_ROOT or Path.cwd()).resolve()


def prepare(root: Path | None = None) -> Path:
    """``root`` (default :data:`study_paths.SMOKE_ROOT`) holding a fresh copy of the book's sources and configuration;
    what an earlier smoke test generated there stays, for reuse."""
    source = paths.REPO_ROOT or Path.cwd()
    root = Path(root or study_paths.SMOKE_ROOT)
    book = root / "book"
    book.mkdir(parents=True, exist_ok=True)
    for entry in book.iterdir():  # pages deleted or renamed in the checkout must not linger
        if entry.name not in GENERATED:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for entry in (source / "book").iterdir():
        if entry.name in GENERATED or entry.name == "_build":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, book / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, book / entry.name, follow_symlinks=False)
    for name in BOOK_CONFIG:
        (root / name).unlink(missing_ok=True)
        shutil.copy2(source / name, root / name)
    return root


def run_study(argv: list[str], root: Path | None = None) -> int:
    """``python -m study run ARGV`` in the scratch copy ``root`` (default :data:`study_paths.SMOKE_ROOT`): its
    own runs, timings, book and default model."""
    root = prepare(root)
    shown = paths.relative(root)
    print(
        f"smoke test: in a scratch copy, {shown}/ (its runs, timings, book and default model); the study's own "
        "results are not touched. Its book: "
        + paths.relative(root / "_build" / "html" / "index.html"),
        flush=True,
    )
    env = {**os.environ, "COLOURLIB_STUDY_ROOT": str(root), "COLOURLIB_RUNS": str(root / "runs")}
    return _run([sys.executable, "-m", "study", "run", *argv], env)


def _run(command: list[str], env: dict) -> int:
    """Run ``command`` to its end. Ctrl-C reaches the child too (same process group): it stops its notebook and
    says how to go on, so this process waits for it rather than killing it mid-cleanup."""
    child = subprocess.Popen(command, env=env)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue
