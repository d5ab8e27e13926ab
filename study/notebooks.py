"""The study's notebooks as papermill executes them: where they are, the parameters each declares (papermill
only warns about an unknown one; we refuse it), executing one with its output streamed, and whether an executed
copy is still current (same source, same parameters, no error)."""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from colourlib import ColourlibError, paths
from colourlib.config import ConfigError
from study import paths as study_paths
from study.timing import is_backend_noise

#: The study's notebooks (the pipeline, the top-level Snakefile, runs them).
NOTEBOOKS = ("data", "model", "train", "parallel", "evaluate", "model-search", "reproducibility")
#: train.ipynb's parameters beyond TrainConfig's own fields.
TRAIN_EXTRA_PARAMETERS = {"preset", "run_dir", "force", "study_file"}


class NotebookFailed(ColourlibError, RuntimeError):
    """A cell of a study notebook raised; the message names the notebook, the cell and the error."""


def notebook_path(name: str) -> Path:
    path = study_paths.NOTEBOOKS_DIR / f"{name}.ipynb"
    if not path.is_file():
        raise ColourlibError(
            f"{path}: the study notebook {name!r} is missing (the notebooks live in the "
            "source checkout, not in an installed package)."
        )
    return path


def declared_parameters(path: Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell."""
    import ast

    import papermill

    def value(source: str) -> Any:
        try:
            return ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return source

    return {
        name: value(spec["default"]) for name, spec in papermill.inspect_notebook(str(path)).items()
    }


def check_parameters(path: Path, parameters: dict[str, Any]) -> None:
    """Refuse a parameter the notebook does not declare (papermill would inject it, warn, and ignore it)."""
    declared = declared_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigError(
            f"{path.name}: unknown parameter(s) {', '.join(unknown)}. It declares: "
            f"{', '.join(declared)}."
        )


def source_digest(path: Path) -> str:
    """A notebook's code and markdown, without outputs: what decides whether an executed copy is current."""
    import nbformat

    book = nbformat.read(path, as_version=4)
    text = json.dumps([(c.cell_type, c.source) for c in book.cells])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def papermill_command(name: str, output: Path, parameters: dict[str, Any]) -> str:
    """The papermill command line that reproduces one execution (parameters left at their defaults omitted), quoted
    for a POSIX shell so that it can be pasted as it is: a list (the evaluation's run folders) goes as ``-y`` with
    its JSON, which is YAML, since ``-p`` would pass it as one string."""

    def option(key: str, value: Any) -> str:
        if isinstance(value, (list, tuple, dict)):
            return f"-y {shlex.quote(json.dumps({key: value}))}"
        return f"-p {key} {shlex.quote(str(value))}"

    defaults = declared_parameters(notebook_path(name))
    changed = [option(k, v) for k, v in parameters.items() if defaults.get(k, object()) != v]
    return " ".join([f"papermill notebooks/{name}.ipynb {paths.relative(output)}", *changed])


class _Indented:
    """Streams a notebook's printed output to the terminal, indented, without the backend's start-up noise."""

    def write(self, text: str) -> None:
        for line in text.splitlines(keepends=True):
            if line.strip() and not is_backend_noise(line):
                sys.stdout.write("      " + line)

    def flush(self) -> None:
        sys.stdout.flush()


def cell_label(index: int, execution_count: int | None) -> str:
    """How every message names a cell: its place among all the notebook's cells (counted from 1, markdown too),
    and the ``In [N]`` Jupyter shows beside it, so the study's and the book check's messages agree."""
    return f"cell {index + 1}" + (f" (In [{execution_count}])" if execution_count else "")


def error_outputs(notebook) -> list[str]:
    """The errors an executed notebook holds, one line each (empty when it ran clean). Cells are counted as
    papermill counts them: without the markdown cells it inserts to point at a failure."""
    cells = [
        c
        for c in notebook.cells
        if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])
    ]
    return [
        f"{cell_label(index, cell.get('execution_count'))} holds an error output: {output.get('ename')}: "
        f"{output.get('evalue')}"
        for index, cell in enumerate(cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _kernel_manager_class():
    """A kernel manager whose kernel sockets are encrypted where pyzmq can (CurveZMQ): ipykernel >= 7.3 otherwise
    prints a "running over TCP without encryption" WARNING at every notebook's start. Elsewhere (an older
    jupyter_client, a pyzmq without Curve) it is jupyter_client's own, unchanged."""
    import zmq
    from jupyter_client.manager import KernelManager

    class EncryptedKernelManager(KernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if self.has_trait("transport_encryption") and zmq.has("curve"):
                self.transport_encryption = (
                    "auto"  # provisions keys when the kernel declares support
                )

    return EncryptedKernelManager


def execute(name: str, output: Path, parameters: dict[str, Any], title: str | None = None) -> float:
    """Run notebook ``name`` with ``parameters`` into ``output``; unknown parameter names are refused first.
    ``title`` replaces the first heading (a training notebook names its configuration). Returns seconds."""
    import nbformat
    import papermill

    source = notebook_path(name)
    check_parameters(source, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            stdout_file=_Indented(),
            stderr_file=_Indented(),
            cwd=str(
                paths.REPO_ROOT or Path.cwd()
            ),  # the paths the pipeline passes are relative to it
            kernel_manager_class=_kernel_manager_class(),
        )
    except papermill.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{name}.ipynb failed in {cell_label(exc.cell_index, exc.exec_count)}: {exc.ename}: {exc.evalue} "
            f"(executed notebook: {output})"
        ) from None
    book = nbformat.read(output, as_version=4)
    book.metadata["colourlib"] = {"source_digest": source_digest(source), "parameters": parameters}
    _drop_backend_noise(book)
    _hide_parameter_cells(book)
    record = book.metadata.get("papermill", {})
    for key in (
        "input_path",
        "output_path",
        "cwd",
    ):  # papermill's absolute paths: a moved clone's stay true
        if record.get(key):
            record[key] = paths.relative(record[key])
    if title:
        first = next(c for c in book.cells if c.cell_type == "markdown")
        lines = first.source.splitlines()
        first.source = "\n".join([f"# {title}", *lines[1:]])
    nbformat.write(book, output)
    return time.perf_counter() - started


def _hide_parameter_cells(book) -> None:
    """The book shows a notebook's parameters once, as the table its own cells make; the defaults cell and the cell
    papermill injected (with this machine's absolute paths) stay in the executed notebook but off the page."""
    for cell in book.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]


def _drop_backend_noise(book) -> None:
    """Remove backend start-up lines from the notebook's stderr outputs, so the book shows the study's own
    output and any real warning."""
    for cell in book.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = "".join(
                    line
                    for line in output["text"].splitlines(keepends=True)
                    if not is_backend_noise(line)
                )
                if not output["text"].strip():
                    continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept


def is_current(name: str, output: Path, parameters: dict[str, Any]) -> bool:
    """An executed notebook made from the same source with the same parameters, holding no error."""
    import nbformat

    try:
        book = nbformat.read(output, as_version=4)
    except (OSError, ValueError):
        return False
    meta = book.metadata.get("colourlib", {})
    return (
        meta.get("source_digest") == source_digest(notebook_path(name))
        and meta.get("parameters") == parameters
        and not error_outputs(book)
    )
