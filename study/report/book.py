"""Building the book (``jupyter-book build book/ -W -n --keep-going``) and checking it beyond what that catches:
no executed notebook holds an error output, and every glue reference in the book's pages names a key that some
notebook really glued.

``python -m study check book [book/]`` prints each problem with its file and exits 1 if there is any.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

from colourlib import paths
from study import paths as study_paths
from study.notebooks import error_outputs
from study.report.web import write_mathjax

ROLE = re.compile(r"\{glue(?::(?P<kind>\w+))?\}`(?P<content>[^`]+)`")
DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}[ \t]+(?P<content>\S+)", re.MULTILINE)


def glued_keys(notebook: nbformat.NotebookNode) -> set[str]:
    """The keys a notebook glued (myst-nb stores them in each output's ``scrapbook`` metadata)."""
    return {
        output.get("metadata", {}).get("scrapbook", {}).get("name")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    } - {None}


def references(text: str) -> list[tuple[str | None, str]]:
    """(document or None for the same page, key) of every glue role and directive in markdown ``text``, parsed
    as myst-nb 1.x parses them: ``{glue:text}`` and ``{glue:md}`` first split a format off at the last colon (so
    ``path::key`` needs a format, ``path::key:d``), and ``{glue:md}`` cannot reach another document."""
    found = []
    for match in ROLE.finditer(text):
        content = match["content"]
        if match["kind"] in ("text", "md"):
            content = content.rsplit(":", 1)[0] if ":" in content else content
        doc, _, key = content.rpartition("::") if match["kind"] != "md" else ("", "", content)
        found.append((doc or None, key))
    for match in DIRECTIVE.finditer(text):
        doc, _, key = match["content"].rpartition("::")
        found.append((doc or None, key))
    return found


def _pages(book_dir: Path):
    """(page path, its markdown text, the keys glued on it, its notebook or None) for every .md and .ipynb page."""
    for path in sorted(book_dir.rglob("*")):
        if (
            "_build" in path.parts
            or path.name.startswith(".")
            or ".ipynb_checkpoints" in path.parts
        ):
            continue
        if path.suffix == ".md":
            yield path, path.read_text(encoding="utf-8"), set(), None
        elif path.suffix == ".ipynb":
            book = nbformat.read(path, as_version=4)
            text = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
            yield path, text, glued_keys(book), book


def check_book(book_dir: str | Path) -> list[str]:
    """Every problem found, each naming its file; empty when the book is sound."""
    book_dir = Path(book_dir)
    problems = []
    pages = list(_pages(book_dir))
    keys = {path.resolve(): glued for path, _, glued, _ in pages}
    if not any(notebook is not None for *_, notebook in pages):
        problems.append(
            f"{book_dir}: no executed notebook found. Fix: run the study first (make study)."
        )
    for path, text, _, notebook in pages:
        if notebook is not None:
            problems += [f"{path}: {error}" for error in error_outputs(notebook)]
        for doc, key in references(text):
            target = (path.parent / doc).resolve() if doc else path.resolve()
            if target not in keys:
                problems.append(
                    f"{path}: glue reference {key!r} points at {doc or path.name}, which is not a "
                    "notebook of the book"
                )
            elif key not in keys[target]:
                problems.append(
                    f"{path}: glue reference {key!r} is missing: {target.name} glues no such key"
                )
    return problems


def in_browser_colouriser() -> None:
    """The in-browser colouriser's generated scripts (:mod:`study.report.web`) for the default model's ONNX
    export, which the study writes; without one the page says the model is missing (and the browser check
    fails on it)."""

    from colourlib.exported import EXPORT_DIR, SIDECAR_FILE
    from study.report.web import write_assets

    record = paths.default_model_record()
    try:
        export_dir = paths.default_run_dir() / EXPORT_DIR
    except (OSError, ValueError, KeyError, TypeError):
        print(f"the in-browser colouriser is left out: no default model recorded in {record}")
        return
    if not (export_dir / SIDECAR_FILE).is_file():
        print(f"the in-browser colouriser is left out: {export_dir} holds no exported model")
        return
    assets = write_assets(export_dir)
    print(
        f"the in-browser colouriser: {sum(assets['sizes'].values()) / 1e6:.1f} MB of generated scripts in "
        f"{paths.relative(study_paths.BOOK_WEB_DIR)} ({assets['config']['model']})",
        flush=True,
    )


def build_book() -> int:
    """``jupyter-book build book/ -W -n --keep-going`` from the repository root, then the book check; returns
    the exit status."""
    root = paths.STUDY_ROOT
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        "book/",
        "-W",
        "-n",
        "--keep-going",
    ]
    if not Path(command[0]).exists():
        command[0] = "jupyter-book"
    in_browser_colouriser()
    write_mathjax()
    result = subprocess.run(command, cwd=root)
    if result.returncode:
        print(
            f"\nBOOK BUILD FAILED (exit {result.returncode}): {' '.join(command[1:])}; its warnings are above.",
            file=sys.stderr,
        )
        return result.returncode
    problems = check_book(study_paths.BOOK_DIR)
    if problems:
        print("\nBOOK CHECK FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"\nThe book is built. Open it: {study_paths.BOOK_HTML}")
    return 0


def report_problems(book_dir: Path | None = None) -> int:
    """Check a built book's sources; print each problem; 1 if there is any."""
    problems = check_book(book_dir or study_paths.BOOK_DIR)
    for problem in problems:
        print(problem)
    print(f"book check: {len(problems)} problem(s)")
    return 1 if problems else 0
