"""The whole study as one command: every notebook executed by papermill into ``book/runs/``, each configuration
of the study matrix through ``train.ipynb``, then the book built with ``jupyter-book build book/ -W -n`` and
checked. ``python -m colourlib study`` (``make study``) calls :func:`run_study`.

A failed notebook fails the study: the driver stops (the matrix's other configurations still train, since each is
independent) and exits non-zero naming the notebook. A training notebook whose parameters, source and code are
unchanged, and whose run is finished, is not executed again unless ``force``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .config import TrainConfig
from .notebooks import check_parameters, declared_parameters, notebook_path

STUDY_RECORD = "study.json"
TRAIN_DIR = "train"


class NotebookFailed(RuntimeError):
    """A cell of a study notebook raised; the message names the notebook, the cell and the error."""


def source_digest(path: Path) -> str:
    """A notebook's code and markdown, without outputs: what decides whether an executed copy is current."""
    import nbformat

    book = nbformat.read(path, as_version=4)
    text = json.dumps([(c.cell_type, c.source) for c in book.cells])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def papermill_command(name: str, output: Path, parameters: dict[str, Any]) -> str:
    """The papermill command line that reproduces one execution (parameters left at their defaults omitted)."""
    defaults = declared_parameters(notebook_path(name))
    changed = [f"-p {k} {v!s}" if not isinstance(v, str) or " " not in v else f"-p {k} '{v}'"
               for k, v in parameters.items() if defaults.get(k, object()) != v]
    return " ".join([f"papermill notebooks/{name}.ipynb {_relative(output)}", *changed])


def _relative(path: Path) -> str:
    root = paths.REPO_ROOT or Path.cwd()
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


class _Indented:
    """Streams a notebook's printed output to the terminal, indented, without the backend's start-up noise."""

    def write(self, text: str) -> None:
        from .parallel import _is_backend_noise

        for line in text.splitlines(keepends=True):
            if line.strip() and not _is_backend_noise(line):
                sys.stdout.write("      " + line)

    def flush(self) -> None:
        sys.stdout.flush()


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
        papermill.execute_notebook(str(source), str(output), parameters=parameters, kernel_name="python3",
                                   progress_bar=False, stdout_file=_Indented(), stderr_file=_Indented(),
                                   cwd=str(paths.REPO_ROOT or Path.cwd()))
    except papermill.PapermillExecutionError as exc:
        raise NotebookFailed(f"{name}.ipynb failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                             f"(executed notebook: {output})") from None
    book = nbformat.read(output, as_version=4)
    book.metadata["colourlib"] = {"source_digest": source_digest(source), "parameters": parameters}
    _drop_backend_noise(book)
    if title:
        first = next(c for c in book.cells if c.cell_type == "markdown")
        lines = first.source.splitlines()
        first.source = "\n".join([f"# {title}", *lines[1:]])
    nbformat.write(book, output)
    return time.perf_counter() - started


def _drop_backend_noise(book) -> None:
    """Remove TensorFlow/XLA start-up lines (printed by C++ before any setting can silence them) from the
    notebook's stderr outputs, so the book shows the study's own output and any real warning."""
    from .parallel import _is_backend_noise

    for cell in book.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = "".join(line for line in output["text"].splitlines(keepends=True)
                                         if not _is_backend_noise(line))
                if not output["text"].strip():
                    continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept


def is_current(name: str, output: Path, parameters: dict[str, Any]) -> bool:
    """An executed notebook made from the same source with the same parameters, holding no error."""
    import nbformat

    from .bookcheck import error_outputs

    try:
        book = nbformat.read(output, as_version=4)
    except (OSError, ValueError):
        return False
    meta = book.metadata.get("colourlib", {})
    return (meta.get("source_digest") == source_digest(notebook_path(name))
            and meta.get("parameters") == parameters and not error_outputs(book))


@dataclass
class StudyRecord:
    """What the driver ran, in order, with times: the reproducibility appendix shows it."""

    preset: str
    matrix: str
    started: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    steps: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, step: str, command: str, seconds: float, status: str) -> None:
        self.steps.append({"step": step, "command": command, "seconds": round(seconds, 1), "status": status})

    def save(self, path: Path, environment: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.__dict__, "environment": environment}, indent=2) + "\n")


def read_record(path: str | Path | None = None) -> dict:
    path = Path(path) if path else paths.BOOK_RUNS_DIR / STUDY_RECORD
    try:
        return json.loads(path.read_text())
    except OSError:
        raise FileNotFoundError(f"record={str(path)!r}: no study record there. Fix: run the study driver "
                                "(python -m colourlib study), which writes it.") from None


def record_values(record: dict) -> dict:
    env = record["environment"]
    git = env.get("git", {})
    return {"hardware": f"{env['cpu']}, {env['cpu_cores']} cores, {env['memory_gib']} GiB, accelerators: "
                        f"{', '.join(env.get('accelerators') or []) or 'none'}",
            "commit": (git.get("commit") or "unknown")[:12] + (" (with uncommitted changes)" if git.get("dirty")
                                                                else ""),
            "date": record["started"][:10], "study_minutes": record["seconds"] / 60,
            "study_preset": record["preset"]}


def environment_table(record: dict) -> pd.DataFrame:
    env = record["environment"]
    rows = [("date (UTC)", record["started"]), ("CPU", env["cpu"]), ("cores", env["cpu_cores"]),
            ("memory (GiB)", env["memory_gib"]), ("accelerators", ", ".join(env.get("accelerators") or []) or "none"),
            ("platform", env["platform"]), ("Python", env["python"]), ("Keras backend", env["keras_backend"]),
            ("git commit", (env.get("git") or {}).get("commit")), ("code fingerprint", env.get("code_fingerprint")),
            *((f"version: {k}", v) for k, v in env["versions"].items())]
    return pd.DataFrame(rows, columns=["what", "value"]).astype(str)


def commands_table(record: dict) -> pd.DataFrame:
    return pd.DataFrame(record["steps"], columns=["step", "command", "seconds", "status"])


class _Progress:
    def __init__(self, total: int):
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def start(self, what: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        print(f"[{self.done}/{self.total}] {what}  (study time so far {elapsed / 60:.1f} min)", flush=True)


def run_study(preset: str | None = None, matrix: str | Path | None = None, force: bool = False,
              build: bool = True) -> int:
    """Run the whole study and build the book; returns the exit status (0: every notebook ran, book built)."""
    from .matrix import load_matrix
    from .parallel import failure_report, run_matrix
    from .provenance import environment_record
    from .colourise import remember_default
    from .config import COLOURING_MODELS, colouring_config
    from .study import default_run_dir, method_label, reusable

    if paths.REPO_ROOT is None:
        raise FileNotFoundError("the study driver runs from a source checkout (notebooks/ and book/ are not "
                                "installed with the package). Fix: git clone the project and run it there.")
    colour_preset = preset or "quick"
    study_matrix = load_matrix(matrix) if preset is None else load_matrix(matrix).at_scale(preset)
    colour_config = colouring_config("vgg16", colour_preset)
    out = paths.BOOK_RUNS_DIR
    train_out = out / TRAIN_DIR
    record = StudyRecord(colour_preset, str(study_matrix.path))
    progress = _Progress(5 + len(COLOURING_MODELS) + len(study_matrix.runs()) + (1 if build else 0))
    started = time.perf_counter()

    def step(name: str, output: Path, parameters: dict, label: str, title: str | None = None) -> None:
        progress.start(label)
        command = papermill_command(name, output, parameters)
        try:
            seconds = execute(name, output, parameters, title)
        except Exception:
            record.add(label, command, 0.0, "failed")
            raise
        record.add(label, command, seconds, "ok")
        print(f"      done in {seconds:.0f} s -> {_relative(output)}", flush=True)

    planned = {train_out / f"colouring-{model}.ipynb" for model in COLOURING_MODELS}
    try:
        step("data", out / "data.ipynb", {"image_size": colour_config.image_size}, "data")
        step("model", out / "model.ipynb", {}, "model")
        def train_params(config: TrainConfig, run_dir: Path) -> dict:
            return {**config.to_dict(), "run_dir": str(run_dir), "force": False}

        def matrix_output(run_dir: Path) -> Path:  # runs/parallel/<regime>/<row> -> train/<regime>-<row>.ipynb
            return train_out / f"{run_dir.parent.name}-{run_dir.name}.ipynb"

        def reused(config: TrainConfig, run_dir: Path, output: Path, label: str) -> bool:
            """A finished run of this configuration and code, shown by a current executed notebook."""
            params = train_params(config, run_dir)
            if reusable(run_dir, config, force) and is_current("train", output, params):
                progress.start(f"{label}: reusing {_relative(output)}")
                record.add(label, papermill_command("train", output, params), 0.0, "reused")
                return True
            return False

        colour_runs = {}
        for model in COLOURING_MODELS:  # the paper's model, then the pretrained encoder's
            config = colouring_config(model, colour_preset)
            colour_runs[model] = run_dir = default_run_dir(config)
            output = train_out / f"colouring-{model}.ipynb"
            label = f"train: colouring model {model} ({colour_preset})"
            if not reused(config, run_dir, output, label):
                step("train", output, train_params(config, run_dir), label,
                     title=f"Training run: the colouring model, {method_label(config)} ({colour_preset} preset)")
        print(f"      colourise's default model: {_relative(remember_default(colour_runs['lite0']))}", flush=True)

        def notebook_runner(config: TrainConfig, run_dir: Path) -> int:
            output = matrix_output(run_dir)
            try:
                step("train", output, train_params(config, run_dir), f"train: {output.stem}",
                     title=f"Training run: {run_dir.parent.name}, {run_dir.name}")
                return 0
            except NotebookFailed as exc:
                print(f"      {exc}", flush=True)
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / "train.log").write_text(str(exc) + "\n")
                return 1

        def current(config: TrainConfig, run_dir: Path) -> bool:
            output = matrix_output(run_dir)
            return reused(config, run_dir, output, f"train: {output.stem}")

        parallel_dir = paths.runs_dir() / "parallel"
        outcomes = run_matrix(study_matrix, parallel_dir, force=force, runner=notebook_runner, is_current=current)
        planned |= {matrix_output(o.run_dir) for o in outcomes}
        for stale in set(train_out.glob("*.ipynb")) - planned:  # configurations no longer in the matrix
            stale.unlink()
        report = failure_report(outcomes)
        if report:
            raise NotebookFailed(report)
        step("parallel", out / "parallel.ipynb",
             {"matrix": str(study_matrix.path), "preset": preset, "runs": str(parallel_dir)}, "parallel")
        step("evaluate", out / "evaluate.ipynb", {f"{model}_run": str(run_dir) for model, run_dir in
                                                  colour_runs.items()}, "evaluate")
        record.seconds = time.perf_counter() - started
        record.save(out / STUDY_RECORD, environment_record())
        step("reproducibility", out / "reproducibility.ipynb", {"record": str(out / STUDY_RECORD)},
             "reproducibility")
    except NotebookFailed as exc:
        print(f"\nSTUDY FAILED: {exc}", flush=True)
        return 1
    if not build:
        return 0
    progress.start("jupyter-book build book/ -W -n")
    return build_book()


def build_book() -> int:
    """``jupyter-book build book/ -W -n --keep-going`` from the repository root, then the book check."""
    from .bookcheck import check_book

    root = paths.REPO_ROOT or Path.cwd()
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", "book/", "-W", "-n", "--keep-going"]
    if not Path(command[0]).exists():
        command[0] = "jupyter-book"
    result = subprocess.run(command, cwd=root)
    if result.returncode:
        print(f"\nBOOK BUILD FAILED (exit {result.returncode}): {' '.join(command[1:])}; its warnings are above.")
        return result.returncode
    problems = check_book(paths.BOOK_DIR)
    if problems:
        print("\nBOOK CHECK FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"\nThe book is built. Open it: {paths.BOOK_HTML}")
    return 0
