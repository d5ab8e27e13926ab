"""The whole study as one command: every notebook executed by papermill into ``book/runs/``, each colouring model
and each configuration of the study matrix through ``train.ipynb``. ``python -m colourlib study`` (``make
study``) runs :class:`Study`, then the report layer builds and checks the book.

A failed notebook fails the study: the driver stops (the matrix's other configurations still train, since each is
independent) and exits non-zero naming the notebook. A training notebook whose parameters, source and code are
unchanged, and whose run is finished, is not executed again unless ``force``.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..config import COLOURING_MODELS, TrainConfig, colouring_config, colouring_seeds
from ..provenance import environment_record
from ..runs import RunFolder, remember_default
from .comparison import best_run, method_label
from .matrix import check_machine, load_matrix
from .notebooks import NotebookFailed, execute, is_current, papermill_command, relative
from .runners import clear, failure_report, run_matrix

STUDY_RECORD = "study.json"
TRAIN_DIR = "train"


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


class Progress:
    """``[k/N] step (study time so far)`` lines, so a person sees where a long study is."""

    def __init__(self, total: int):
        self.total, self.done, self.started = total, 0, time.perf_counter()

    def start(self, what: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        print(f"[{self.done}/{self.total}] {what}  (study time so far {elapsed / 60:.1f} min)", flush=True)


def train_parameters(config: TrainConfig, run: RunFolder) -> dict:
    """train.ipynb's parameters for ``config`` into ``run``: the configuration's one wire form plus the folder."""
    return {**config.to_dict(), "run_dir": str(run.path), "force": False}


class NotebookRunner:
    """The matrix runner of the study: each configuration executed as ``train.ipynb`` into
    ``book/runs/train/<regime>-<configuration>.ipynb`` (the page the book shows), its run in ``RUN``."""

    def __init__(self, study: "Study"):
        self.study = study

    @staticmethod
    def output(run: RunFolder) -> Path:
        """runs/parallel/<regime>/<row> -> book/runs/train/<regime>-<row>.ipynb"""
        return paths.BOOK_RUNS_DIR / TRAIN_DIR / f"{run.path.parent.name}-{run.path.name}.ipynb"

    def is_current(self, config: TrainConfig, run: RunFolder) -> bool:
        output = self.output(run)
        return self.study.reused(config, run, output, f"train: {output.stem}")

    def run(self, config: TrainConfig, run: RunFolder) -> int:
        output = self.output(run)
        try:
            self.study.step("train", output, train_parameters(config, run), f"train: {output.stem}",
                            title=f"Training run: {run.path.parent.name}, {run.path.name}")
            return 0
        except NotebookFailed as exc:
            print(f"      {exc}", flush=True)
            run.path.mkdir(parents=True, exist_ok=True)
            run.log_file.write_text(str(exc) + "\n")
            return 1


class Study:
    """One execution of the study: its notebooks in order, progress, reuse and the record of what ran."""

    def __init__(self, preset: str | None = None, matrix: str | Path | None = None, force: bool = False,
                 later_steps: int = 0):
        if paths.REPO_ROOT is None:
            raise FileNotFoundError("the study driver runs from a source checkout (notebooks/ and book/ are not "
                                    "installed with the package). Fix: git clone the project and run it there.")
        self.preset, self.force = preset, force
        self.colour_preset = preset or "quick"
        self.matrix = load_matrix(matrix) if preset is None else load_matrix(matrix).at_scale(preset)
        check_machine(self.matrix)  # every row's gpus, before anything trains
        self.out = paths.BOOK_RUNS_DIR
        self.record = StudyRecord(self.colour_preset, str(self.matrix.path))
        self.progress = Progress(5 + len(COLOURING_MODELS) * len(colouring_seeds(self.colour_preset))
                                 + len(self.matrix.runs()) + later_steps)
        self.started = time.perf_counter()

    def step(self, name: str, output: Path, parameters: dict, label: str, title: str | None = None) -> None:
        """Execute one notebook, with progress and its line in the record."""
        self.progress.start(label)
        command = papermill_command(name, output, parameters)
        try:
            seconds = execute(name, output, parameters, title)
        except Exception:
            self.record.add(label, command, 0.0, "failed")
            raise
        self.record.add(label, command, seconds, "ok")
        print(f"      done in {seconds:.0f} s -> {relative(output)}", flush=True)

    def reused(self, config: TrainConfig, run: RunFolder, output: Path, label: str) -> bool:
        """A finished run of this configuration and code, shown by a current executed notebook (``force``
        deletes the run instead)."""
        if self.force:
            clear(run)
            return False
        params = train_parameters(config, run)
        if run.is_reusable(config) and is_current("train", output, params):
            self.progress.start(f"{label}: reusing {relative(output)}")
            self.record.add(label, papermill_command("train", output, params), 0.0, "reused")
            return True
        return False

    def colouring_pages(self) -> dict[tuple[str, int], Path]:
        """The executed notebook of each (colouring model, seed)."""
        return {(model, seed): self.out / TRAIN_DIR / f"colouring-{model}-seed{seed}.ipynb"
                for model in COLOURING_MODELS for seed in colouring_seeds(self.colour_preset)}

    def train_colouring_models(self) -> dict[str, list[Path]]:
        """The paper's model, then the pretrained encoder's, each with every seed; the pretrained encoder's seed
        with the lowest validation loss becomes colourise's default model."""
        runs: dict[str, list[Path]] = {}
        for (model, seed), output in self.colouring_pages().items():
            config = colouring_config(model, self.colour_preset, seed)
            run = RunFolder.default(config)
            runs.setdefault(model, []).append(run.path)
            label = f"train: colouring model {model}, seed {seed} ({self.colour_preset})"
            if not self.reused(config, run, output, label):
                self.step("train", output, train_parameters(config, run), label,
                          title=f"Training run: the colouring model, {method_label(config)}, seed {seed} "
                                f"({self.colour_preset} preset)")
        default = best_run(runs["lite0"])
        print(f"      colourise's default model (lowest validation loss of {len(runs['lite0'])} seeds): "
              f"{relative(default)} -> {relative(remember_default(default))}", flush=True)
        return runs

    def train_matrix(self) -> Path:
        """Every configuration of the matrix through train.ipynb; stale pages of removed configurations go."""
        parallel_dir = paths.runs_dir() / "parallel"
        outcomes = run_matrix(self.matrix, parallel_dir, runner=NotebookRunner(self))
        planned = set(self.colouring_pages().values())
        planned |= {NotebookRunner.output(RunFolder(o.run_dir)) for o in outcomes}
        for stale in set((self.out / TRAIN_DIR).glob("*.ipynb")) - planned:
            stale.unlink()
        report = failure_report(outcomes)
        if report:
            raise NotebookFailed(report)
        return parallel_dir

    def run(self) -> int:
        """Every notebook in order; returns the exit status (0: every notebook ran)."""
        out = self.out
        try:
            self.step("data", out / "data.ipynb",
                      {"image_size": colouring_config("lite0", self.colour_preset).image_size}, "data")
            self.step("model", out / "model.ipynb", {}, "model")
            colour_runs = self.train_colouring_models()
            parallel_dir = self.train_matrix()
            self.step("parallel", out / "parallel.ipynb",
                      {"matrix": str(self.matrix.path), "preset": self.preset, "runs": str(parallel_dir)},
                      "parallel")
            self.step("evaluate", out / "evaluate.ipynb",
                      {f"{model}_runs": [str(r) for r in run_dirs] for model, run_dirs in colour_runs.items()},
                      "evaluate")
            self.record.seconds = time.perf_counter() - self.started
            self.record.save(out / STUDY_RECORD, environment_record())
            self.step("reproducibility", out / "reproducibility.ipynb", {"record": str(out / STUDY_RECORD)},
                      "reproducibility")
        except NotebookFailed as exc:
            print(f"\nSTUDY FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
        return 0
