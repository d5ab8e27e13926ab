"""Running the matrix: every (regime, configuration) trained into ``<out>/<regime>/<configuration>/`` by a
runner, each in a fresh process, never stopping early, every outcome returned.

A runner is anything with ``is_current(config, run)`` (may what exists be reused?) and ``run(config, run)``
(train it; returns an exit status). :class:`SubprocessRunner` runs ``python -m colourlib train``; the study
driver's notebook runner executes ``train.ipynb``. Either way a configuration crosses the process boundary in one
form, its ``TrainConfig.to_dict()``. Each configuration gets its own process because devices (logical ones
included) can only be laid out before the backend starts, and so that one failure cannot take the others down.
"""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import TrainConfig
from ..runs import RunFolder, RunFolderError
from ..train import train
from .matrix import Configuration, Matrix, Regime, check_machine
from .notebooks import is_backend_noise


class Runner(Protocol):
    def is_current(self, config: TrainConfig, run: RunFolder) -> bool: ...

    def run(self, config: TrainConfig, run: RunFolder) -> int: ...


@dataclass
class RunOutcome:
    regime: Regime
    row: Configuration
    run_dir: Path
    returncode: int
    seconds: float

    @property
    def failed(self) -> bool:
        return self.returncode != 0


def clear(run: RunFolder) -> None:
    """Delete what a run folder's training wrote (``--force``), under its lock, so a training still writing
    there is never pulled from under (the second writer is refused instead)."""
    if run.path.exists():
        with run.lock():
            run.clear_run_files()


def make_way(run: RunFolder, config: TrainConfig) -> None:
    """Clear a folder of the study's own that training ``config`` would refuse (a finished or interrupted run of
    other code, or of other parameters); an interrupted run of the same ones is kept, to resume."""
    try:
        run.state_for(config)
    except RunFolderError:
        clear(run)


class SubprocessRunner:
    """Trains one configuration as ``python -m colourlib train RUN --config RUN/requested_config.json``,
    streaming its output here and into ``RUN/train.log``."""

    def is_current(self, config: TrainConfig, run: RunFolder) -> bool:
        return run.is_reusable(config)

    def run(self, config: TrainConfig, run: RunFolder) -> int:
        make_way(run, config)
        run.path.mkdir(parents=True, exist_ok=True)
        request = run.file(run.REQUEST)
        config.save(request)
        command = [sys.executable, "-u", "-m", "colourlib", "train", str(run.path), "--config", str(request)]
        with run.log_file.open("w") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in process.stdout:
                log.write(line)
                if not is_backend_noise(line):
                    print("    " + line, end="", flush=True)
            return process.wait()


def run_matrix(matrix: Matrix, out_dir: Path, runner: Runner | None = None, force: bool = False
               ) -> list[RunOutcome]:
    """Train every (regime, configuration) into ``out_dir/<regime>/<configuration>`` with ``runner`` (default: a
    fresh ``python -m colourlib train`` each); what ``runner.is_current`` accepts is reused unless ``force``.
    Every configuration's ``gpus`` is checked against this machine before the first one trains."""
    check_machine(matrix)
    runner = runner or SubprocessRunner()
    runs = matrix.runs()
    outcomes = []
    for i, (regime, row, config) in enumerate(runs, start=1):
        run = RunFolder(Path(out_dir) / regime.name / row.name)
        print(f"[{i}/{len(runs)}] {regime.name}: gpus={row.gpus} workers={row.workers} ({config.loaders})",
              flush=True)
        started = time.perf_counter()
        if force:
            clear(run)
        if not force and runner.is_current(config, run):
            print(f"    reusing finished run {run.path}", flush=True)
            code = 0
        else:
            code = runner.run(config, run)
        outcomes.append(RunOutcome(regime, row, run.path, code, time.perf_counter() - started))
        if code:
            print(f"    FAILED (exit {code}); log: {run.log_file}; going on with the others", flush=True)
        else:
            print(f"    done in {time.perf_counter() - started:.0f} s ({i}/{len(runs)} configurations)", flush=True)
    return outcomes


def collect(matrix: Matrix, out_dir: Path) -> list[RunOutcome]:
    """The outcomes of a matrix already trained into ``out_dir`` (a configuration with no finished run there
    counts as failed), so results can be tabulated in another process, e.g. the book's notebook."""
    outcomes = []
    for regime, row, _ in matrix.runs():
        run = RunFolder(Path(out_dir) / regime.name / row.name)
        outcomes.append(RunOutcome(regime, row, run.path, 0 if run.is_finished() else 1, float("nan")))
    return outcomes


def failure_report(outcomes: list[RunOutcome]) -> str:
    failed = [o for o in outcomes if o.failed]
    if not failed:
        return ""
    lines = [f"{len(failed)} of {len(outcomes)} configurations failed:"]
    for o in failed:
        tail = ""
        log = RunFolder(o.run_dir).log_file
        if log.is_file():
            useful = [l for l in log.read_text().splitlines() if l.strip() and not is_backend_noise(l)]
            tail = useful[-1] if useful else ""
        lines.append(f"  {o.regime.name} gpus={o.row.gpus} workers={o.row.workers}: exit {o.returncode}; "
                     f"{tail} (log: {log})")
    return "\n".join(lines)


def train_or_reuse(config: TrainConfig, run_dir: Path, force: bool = False) -> Path:
    """Train ``config`` into ``run_dir`` unless a finished run of it made by the same code is there (``force``
    deletes it first; a run of other code or parameters is cleared too: the study's folders are its own)."""
    run = RunFolder(run_dir)
    if force:
        clear(run)
    make_way(run, config)
    if run.is_reusable(config):
        print(f"reusing finished run {run.path} (same configuration and code; pass --force to retrain)", flush=True)
    else:
        train(config, run.path)
    return run.path
