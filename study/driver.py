"""The whole study as one command: every notebook executed by papermill into ``book/runs/``, each colouring model
(and seed) through ``train.ipynb``, and every configuration of the study matrix timed in fresh processes
(:mod:`study.timing`). ``python -m study run`` (``make study``) runs :class:`Study`, then the
report layer builds and checks the book.

A failed notebook fails the study: the driver stops (the matrix's other configurations are still timed, since
each is independent) and exits non-zero naming the notebook. A training notebook whose parameters, source and
code are unchanged, and whose run is finished, is not executed again unless ``force``; a timing of the same
configuration, settings and code is reused likewise. After each step the driver prints the time left, estimated
from the steps done so far.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from colourlib import ColourlibError, ConfigError, paths
from colourlib.config import TrainConfig, model_label
from colourlib.paths import relative
from colourlib.provenance import environment_record
from colourlib.runs import RunFolder, remember_default
from study import paths as study_paths
from study.comparison import best_run
from study.config import load as load_study_config
from study.matrix import check_machine, load_matrix
from study.notebooks import NotebookFailed, execute, is_current, papermill_command
from study.timing import jobs as timing_jobs
from study.timing import time_matrix

STUDY_RECORD = "study.json"
TRAIN_DIR = "train"


@dataclass
class StudyRecord:
    """What the driver ran, in order, with times: the reproducibility appendix shows it."""

    preset: str
    #: the study's configuration file
    study_file: str
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )
    steps: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    #: every progress step with its kind and seconds (timing processes one by one), for the time-left estimate
    progress: list[dict] = field(default_factory=list)

    def add(self, step: str, command: str, seconds: float, status: str) -> None:
        self.steps.append(
            {"step": step, "command": command, "seconds": round(seconds, 1), "status": status}
        )

    def save(self, path: Path, environment: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.__dict__, "environment": environment}, indent=2) + "\n")


def read_record(path: str | Path | None = None) -> dict:
    path = Path(path) if path else study_paths.BOOK_RUNS_DIR / STUDY_RECORD
    try:
        return json.loads(path.read_text())
    except OSError:
        raise ConfigError(
            f"record={str(path)!r}: no study record there. Fix: run the study driver "
            "(python -m study run), which writes it."
        ) from None


def colouring_kinds(models: list[str], seeds: tuple[int, ...]) -> list[str]:
    """The progress kinds of the colouring runs: a model's first seed is a kind of its own, because it encodes
    the frozen encoder's features that its other seeds reuse (on a slow machine 552 s against 94 s for VGG16):
    its time would make a poor guess of theirs."""
    return [
        f"colouring {model}" + (", first seed (encodes the features)" if i == 0 else "")
        for model in models
        for i, _ in enumerate(seeds)
    ]


#: How many of the latest steps (of the same family where there are any) set the pace at which kinds not run yet
#: are guessed (:meth:`Progress.speed_factor`). Replaying the two recorded studies of results/study-times/, each
#: with the other as reference, kept every estimate from the first timing step on within 15 % of the time left;
#: the pace of every step done, whatever its family, was off by up to 46 %.
PACE_STEPS = 5


def step_family(kind: str) -> str:
    """What runs a step of ``kind``: a colouring run's training notebook, a timing process, or one of the other
    notebooks (and the export and the book's build)."""
    return next((f for f in ("colouring", "timing") if kind.startswith(f)), "notebook")


class Progress:
    """``[k/N] step (study time so far, about M min left)`` lines, so a person sees where a long study is and
    when it will end. ``kinds`` names each planned step's kind in order (steps of one kind take about as long:
    a colouring model's later seeds, the repeats of one timing process); the time left sums, over the steps
    still to come, the latest duration of a step of the same kind (see :func:`colouring_kinds` for the one kind
    whose first step does more).

    A kind not seen yet is guessed from ``reference``, the seconds each kind took in a recorded study
    (:func:`reference_durations`), scaled by the pace this machine kept over its latest steps of the same family
    (:meth:`speed_factor`). Without a reference (or for a kind it lacks) such steps are left out of the sum
    and counted instead: "about M min left, not counting K steps of kinds not run yet". Every step's duration is
    kept in :attr:`log`, which the study record saves."""

    def __init__(self, kinds: list[str], reference: dict[str, float] | None = None):
        self.kinds, self.done, self.started = list(kinds), 0, time.perf_counter()
        self.reference = dict(reference or {})
        self.durations: dict[str, list[float]] = {}
        self.log: list[dict] = []
        self._current: tuple[str, str, float] | None = None

    @property
    def total(self) -> int:
        return len(self.kinds)

    def _finish_current(self) -> None:
        if self._current is not None:
            kind, what, began = self._current
            seconds = time.perf_counter() - began
            self.durations.setdefault(kind, []).append(seconds)
            self.log.append({"step": what, "kind": kind, "seconds": round(seconds, 1)})
        self._current = None

    def finish(self) -> None:
        """End the last step (its duration goes into :attr:`log`)."""
        self._finish_current()

    def speed_factor(self, family: str | None = None) -> float | None:
        """This machine's seconds over the reference's for the last :data:`PACE_STEPS` steps done of kinds the
        reference has, of ``family`` (:func:`step_family`) where it has run any, else of any family (None before
        any). Recent steps of the same family, not all: how much slower a machine is depends on the work (one core
        of a 2-core machine trains at about half the speed, starts a process a third slower and scores photos, a
        single-threaded job, at nearly the same speed)."""
        known = [e for e in self.log if not e.get("reused") and e["kind"] in self.reference]
        alike = [e for e in known if family is not None and step_family(e["kind"]) == family]
        here = [(e["seconds"], self.reference[e["kind"]]) for e in (alike or known)][-PACE_STEPS:]
        recorded = sum(r for _, r in here)
        return sum(s for s, _ in here) / recorded if here and recorded > 0 else None

    def remaining_seconds(self, first: int | None = None) -> tuple[float, int] | None:
        """(estimated seconds for the steps from index ``first`` (default: those not started yet) to the end, how
        many of them are of a kind neither seen yet nor in the reference and so not estimated); None before any
        step has finished."""
        if not self.durations:
            return None
        start = self.done if first is None else first
        seconds, unknown = 0.0, 0
        paces = {
            family: self.speed_factor(family) for family in map(step_family, self.kinds[start:])
        }
        for kind in self.kinds[start:]:
            factor = paces[step_family(kind)]
            if kind in self.durations:
                seconds += self.durations[kind][-1]
            elif factor is not None and kind in self.reference:
                seconds += self.reference[kind] * factor
            else:
                unknown += 1
        return seconds, unknown

    def start(self, what: str) -> None:
        """Announce step ``done + 1`` (and end the step before it)."""
        self._finish_current()
        kind = self.kinds[self.done] if self.done < len(self.kinds) else what
        self.done += 1
        elapsed = time.perf_counter() - self.started
        left = self.remaining_seconds(first=self.done - 1)  # the step starting now is still to do
        estimate = ""
        if left is not None and left[0] >= 30:
            unseen = (
                f", not counting {left[1]} step{'s' if left[1] > 1 else ''} of kinds not run yet"
                if left[1]
                else ""
            )
            estimate = f", about {left[0] / 60:.0f} min left{unseen}"
        print(
            f"[{self.done}/{self.total}] {what}  (study time so far {elapsed / 60:.1f} min{estimate})",
            flush=True,
        )
        self._current = (kind, what, time.perf_counter())

    def reuse(self) -> None:
        """The step just started did no work (a finished result was reused): leave it out of the estimates."""
        if self._current is not None:
            self.log.append({"step": self._current[1], "kind": self._current[0], "reused": True})
        self._current = None


def estimates_along(log: list[dict], reference: dict[str, float]) -> list[dict]:
    """Replay a recorded study (its record's ``progress``): as each step started, the time left the estimate would
    have printed (``estimate``, None where it had no number; ``unknown`` steps it could not guess) beside the time
    that really was left (``actual``), for judging the estimate on real step times."""
    out = []
    seconds = [0.0 if e.get("reused") else float(e["seconds"]) for e in log]
    for i, entry in enumerate(log):
        progress = Progress([e["kind"] for e in log], reference)
        progress.log = [e for e in log[:i] if not e.get("reused")]
        for e in progress.log:
            progress.durations.setdefault(e["kind"], []).append(float(e["seconds"]))
        left = progress.remaining_seconds(first=i)
        out.append(
            {
                "step": entry["step"],
                "kind": entry["kind"],
                "estimate": None if left is None else left[0],
                "unknown": None if left is None else left[1],
                "actual": sum(seconds[i:]),
            }
        )
    return out


def reference_durations(path: str | Path | None = None) -> dict[str, float]:
    """Seconds per step kind in a recorded study (the ``progress`` of a study record; default: the one in
    ``results/study-times/``, see its README), the median where a kind ran several times; {} when there is none."""
    path = Path(path) if path else study_paths.STUDY_TIMES_REFERENCE
    try:
        log = json.loads(path.read_text())["progress"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    seconds: dict[str, list[float]] = {}
    for entry in log:
        if not entry.get("reused"):
            seconds.setdefault(entry["kind"], []).append(float(entry["seconds"]))
    return {kind: statistics.median(values) for kind, values in seconds.items()}


def train_parameters(config: TrainConfig, run: RunFolder) -> dict:
    """train.ipynb's parameters for ``config`` into ``run``: the configuration's one wire form plus the folder."""
    # relative to the checkout (the notebooks' working folder), so no record holds this machine's path
    return {**config.to_dict(), "run_dir": relative(run.path), "force": False}


class Study:
    """One execution of the study: its notebooks in order, progress, reuse and the record of what ran."""

    def __init__(
        self,
        preset: str | None = None,
        study_file: str | Path | None = None,
        force: bool = False,
        later_steps: int = 0,
    ):
        if paths.REPO_ROOT is None:
            raise ColourlibError(
                "the study driver runs from a source checkout (notebooks/ and book/ are not "
                "installed with the package). Fix: git clone the project and run it there."
            )
        self.preset, self.force = preset or "quick", force
        self.config = load_study_config(
            study_file
        )  # the whole file, validated before anything runs
        self.matrix = load_matrix(study_file).at_scale(self.preset)
        check_machine(self.matrix)  # every row's gpus, before anything trains
        self.out = study_paths.BOOK_RUNS_DIR
        self.record = StudyRecord(self.preset, relative(self.config.path))
        seeds = self.config.colouring_seeds(self.preset)
        self.progress = Progress(
            [
                "data",
                "model",
                *colouring_kinds(list(self.config.models), seeds),
                "export the default model (ONNX)",
                *(job.kind for job in timing_jobs(self.matrix)),
                "parallel",
                "evaluate",
                "models",
                "reproducibility",
                *["book"] * later_steps,
            ],
            reference_durations(),
        )
        self.started = time.perf_counter()

    def step(
        self, name: str, output: Path, parameters: dict, label: str, title: str | None = None
    ) -> None:
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
            run.clear()
            return False
        run.make_way(
            config
        )  # a run of other parameters or code there goes: the study's folders are its own
        params = train_parameters(config, run)
        if run.is_reusable(config) and is_current("train", output, params):
            self.progress.start(f"{label}: reusing {relative(output)}")
            self.progress.reuse()
            self.record.add(label, papermill_command("train", output, params), 0.0, "reused")
            return True
        return False

    def colouring_pages(self) -> dict[tuple[str, int], Path]:
        """The executed notebook of each (colouring model, seed)."""
        return {
            (model, seed): self.out / TRAIN_DIR / f"colouring-{model}-seed{seed}.ipynb"
            for model in self.config.models
            for seed in self.config.colouring_seeds(self.preset)
        }

    def train_colouring_models(self) -> dict[str, list[Path]]:
        """The paper's model, then the pretrained encoder's, each with every seed; the pretrained encoder's seed
        with the lowest validation loss becomes colourise's default model."""
        runs: dict[str, list[Path]] = {}
        for (model, seed), output in self.colouring_pages().items():
            config = self.config.colouring_config(model, self.preset, seed)
            run = RunFolder.default(config)
            runs.setdefault(model, []).append(run.path)
            label = f"train: colouring model {model}, seed {seed} ({self.preset})"
            if not self.reused(config, run, output, label):
                self.step(
                    "train",
                    output,
                    train_parameters(config, run),
                    label,
                    # what the run is, in the reader's words (a preset's name means nothing on the page)
                    title=f"Training run: {model_label(config)}, seed {seed}; {config.image_size} px, "
                    f"{config.epochs} epochs",
                )
        default = best_run(runs["lite0"])
        print(
            f"      colourise's default model (lowest validation loss of {len(runs['lite0'])} seeds): "
            f"{relative(default)} -> {relative(remember_default(default))}",
            flush=True,
        )
        self.export_default(default)
        return runs

    def export_default(self, run_dir: Path) -> None:
        """The default model as ONNX (colourise's fast path and the book's in-browser page), reused while the
        run's weights and the export code are unchanged."""
        from colourlib.export import current_export

        self.progress.start("export the default model (ONNX)")
        started = time.perf_counter()
        record, reused = current_export(run_dir)
        seconds = time.perf_counter() - started
        if reused:
            self.progress.reuse()
        self.record.add("export", f"python -m colourlib export {relative(run_dir)}", seconds, "ok")
        how = "reused" if reused else f"done in {seconds:.0f} s"
        print(
            f"      {how} -> {relative(run_dir)}/export/{record['file']} "
            f"({record['bytes'] / 1e6:.1f} MB, ab within {record['max_ab_difference_from_keras']:.2f} "
            "of the Keras model's)",
            flush=True,
        )

    def time_matrix(self) -> Path:
        """Every configuration of the matrix timed (repeats in fresh processes); the training pages of earlier
        versions of the study, which trained each configuration, go."""
        parallel_dir = paths.runs_dir() / "parallel"

        def announce(job, reused: bool) -> None:
            self.progress.start(
                f"{job.label}: {len(job.runs)} configurations of {len({r.name for r, _ in job.runs})} regimes"
                + (" (reusing the timings of the same code)" if reused else "")
            )
            if reused:
                self.progress.reuse()

        started = time.perf_counter()
        failures = time_matrix(self.matrix, parallel_dir, force=self.force, on_job=announce)
        self.record.add(
            "timing: every configuration of the matrix",
            f"python -m study.timing (from {relative(self.matrix.path)})",
            time.perf_counter() - started,
            "failed" if failures else "ok",
        )
        for stale in set((self.out / TRAIN_DIR).glob("*.ipynb")) - set(
            self.colouring_pages().values()
        ):
            stale.unlink()
        if failures:
            raise NotebookFailed(
                f"{len(failures)} timing process(es) failed:\n  " + "\n  ".join(failures)
            )
        return parallel_dir

    def save_record(self) -> None:
        """The study record as it stands (the reproducibility appendix reads it; :meth:`finish` completes it)."""
        self.record.seconds = time.perf_counter() - self.started
        self.record.progress = list(self.progress.log)
        self.record.save(self.out / STUDY_RECORD, environment_record())

    def finish(self) -> None:
        """After the last step (the book's build included): the record with every step's time."""
        self.progress.finish()
        self.save_record()

    def run(self) -> int:
        """Every notebook in order; returns the exit status (0: every notebook ran)."""
        out = self.out
        try:
            self.step(
                "data",
                out / "data.ipynb",
                {"preset": self.preset, "study_file": relative(self.config.path)},
                "data",
            )
            self.step("model", out / "model.ipynb", {}, "model")
            colour_runs = self.train_colouring_models()
            parallel_dir = self.time_matrix()
            self.step(
                "parallel",
                out / "parallel.ipynb",
                {
                    "preset": self.preset,
                    "study_file": relative(self.config.path),
                    "runs": relative(parallel_dir),
                },
                "parallel",
            )
            self.step(
                "evaluate",
                out / "evaluate.ipynb",
                {
                    f"{model}_runs": [relative(r) for r in run_dirs]
                    for model, run_dirs in colour_runs.items()
                },
                "evaluate",
            )
            self.step("model-search", out / "model-search.ipynb", {}, "models")
            self.save_record()
            self.step(
                "reproducibility",
                out / "reproducibility.ipynb",
                {"record": relative(out / STUDY_RECORD)},
                "reproducibility",
            )
        except NotebookFailed as exc:
            print(f"\nSTUDY FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
        return 0
