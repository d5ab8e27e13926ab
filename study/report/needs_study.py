"""A Sphinx extension for the study's book: it stops ``jupyter-book build book/`` before a study has run, and keeps
the live-code launcher jupyter-book adds to every page (sphinx-thebe: a script, its configuration naming a
server on another host) off the pages, which show executed results and run no code.

The book's chapters are the notebooks papermill executed (``book/runs/``); on a fresh clone they do not exist
yet, and jupyter-book would otherwise print "Finished" with a book that lacks every chapter and hundreds of
warnings about missing pages and values. Listed in ``_config.yml`` (``sphinx: extra_extensions``)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def missing_chapters(book_dir: Path) -> list[str]:
    """The executed-notebook pages the table of contents names that ``book_dir`` lacks (``runs/...``)."""
    toc = yaml.safe_load((book_dir / "_toc.yml").read_text(encoding="utf-8"))
    missing = []

    def walk(entries) -> None:
        for entry in entries or []:
            name = entry.get("file")
            if name and name.startswith("runs/") and not (book_dir / f"{name}.ipynb").is_file():
                missing.append(name)
            pattern = entry.get("glob")
            if (
                pattern
                and pattern.startswith("runs/")
                and not list(book_dir.glob(f"{pattern}.ipynb"))
            ):
                missing.append(pattern)
            walk(entry.get("sections"))

    walk(toc.get("chapters"))
    return missing


def _check(app) -> None:
    missing = missing_chapters(Path(app.srcdir))
    if missing:
        # one line and exit 2, as colourlib's commands end: jupyter-book would wrap any exception in two
        # tracebacks and a box, burying the fix
        print(
            f"error: the book's results are not there yet ({len(missing)} executed notebook(s) missing in "
            f"{Path(app.srcdir) / 'runs'}, e.g. {missing[0]}.ipynb). Fix: run `make study` first: it executes "
            "the notebooks and then builds the book.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from study.report.web import MATHJAX_DIR, write_mathjax

    generated = Path(app.srcdir) / "_generated"
    if not (generated / MATHJAX_DIR).is_dir():  # a build typed by hand before the study's own build
        write_mathjax(generated)


def _is_thebe(script) -> bool:
    name = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE" in body


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    for kind in ("script_files", "css_files"):
        if context.get(kind):
            context[kind] = [s for s in context[kind] if not _is_thebe(s)]


def _drop_thebe_nodes(app, doctree, docname) -> None:
    from docutils import nodes

    for node in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in node.astext() or "kernelName =" in node.astext():
            node.parent.remove(node)


def setup(app) -> dict:
    # after sphinx-thebe's own handlers (priority 500), which add them
    app.connect("doctree-resolved", _drop_thebe_nodes, priority=900)
    app.connect("html-page-context", _drop_thebe_scripts, priority=900)
    # before Sphinx checks html_extra_path (config-inited, priority 800): a build typed by hand gets MathJax's copy
    app.connect("config-inited", lambda app, config: _check(app), priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
