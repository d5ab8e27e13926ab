"""What each step of the study does. The steps, their inputs and their outputs are declared in the checkout's
``Snakefile``, and Snakemake runs them: it runs a step again when one of its inputs is newer than its outputs or
its parameters changed, and reuses it otherwise. ``python -m study run`` (``make study``) calls Snakemake
(:func:`run_workflow`).

What a step's result depends on is declared, never guessed: the study's notebooks and book pages as files, each
step's parameters (a colouring run's configuration, a timing's rows), and the code, through fingerprint files
(:func:`write_fingerprints`) that are rewritten only when the code they digest changes: a wording edit in the
report retrains nothing, an edit of ``colourlib/model.py`` retrains every colouring run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from colourlib import ColourlibError, atomic, paths
from colourlib.config import TrainConfig, model_label
from colourlib.paths import relative
from colourlib.provenance import TRAINING_CODE, code_fingerprint, environment_record, import_graph
from colourlib.runs import RunFolder, remember_default
from study import paths as study_paths
from study.config import StudyConfig
from study.config import load as load_study_config
from study.matrix import Matrix, check_machine, load_matrix
from study.notebooks import execute, papermill_command
from study.timing import TIMING_CODE, TimingJob, result_file, time_job
from study.timing import jobs as timing_jobs

#: The Snakefile, at the checkout's root (the engine's own default place).
SNAKEFILE = study_paths.CHECKOUT / "Snakefile"
STUDY_RECORD = "study.json"
TRAIN_DIR = "train"
#: The export's code (its reuse is the export's own, :func:`colourlib.export.current_export`).
EXPORT_CODE = ("colourlib.export",)


def fingerprint_roots() -> dict[str, tuple[str, ...]]:
    """Each fingerprint file's code: a colouring run's (the training code and what it imports), a timing's, the
    export's, and every module of both packages (what a notebook page may run)."""
    every = tuple(sorted(import_graph((paths.PACKAGE_DIR, study_paths.PACKAGE_DIR))))
    return {"training": TRAINING_CODE, "timing": TIMING_CODE, "export": EXPORT_CODE, "pages": every}


def write_fingerprints(folder: Path) -> dict[str, Path]:
    """One file per kind of result in ``folder``, holding the digest of the code that computes it (syntax trees
    without docstrings, the photo manifest, the computing packages' versions), rewritten only when that digest
    changes, so that its age tells the engine when that code last changed."""
    files = {}
    for name, roots in fingerprint_roots().items():
        path = Path(folder) / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = code_fingerprint(roots) + "\n"
        try:
            same = path.read_text() == digest
        except OSError:
            same = False
        if not same:
            atomic.write_bytes(path, digest.encode(), "code fingerprint")
        files[name] = path
    return files


# --- the steps ---------------------------------------------------------------------------------------------------


def page(name: str, output: str | Path, parameters: dict[str, Any]) -> None:
    """Execute the study notebook ``name`` into ``output`` with ``parameters``."""
    seconds = execute(name, Path(output), parameters)
    print(f"      {name}: done in {seconds:.0f} s -> {relative(output)}", flush=True)


def train_parameters(config: TrainConfig, run: RunFolder) -> dict:
    """train.ipynb's parameters for ``config`` into ``run``: the configuration's one wire form plus the folder."""
    # relative to the checkout (the notebooks' working folder), so no record holds this machine's path
    return {**config.to_dict(), "run_dir": relative(run.path), "force": False}


def colouring_configs(study: StudyConfig, preset: str) -> dict[tuple[str, int], TrainConfig]:
    """Every colouring run of the study: (model, seed) -> its configuration."""
    return {
        (model, seed): study.colouring_config(model, preset, seed)
        for model in study.models
        for seed in study.colouring_seeds(preset)
    }


def evaluate_parameters(study: StudyConfig, preset: str) -> dict[str, list[str]]:
    """evaluate.ipynb's parameters: each colouring model's run folders, one per seed."""
    return {
        f"{model}_runs": [
            relative(RunFolder.default(c).path)
            for (m, _), c in colouring_configs(study, preset).items()
            if m == model
        ]
        for model in study.models
    }


def timing_setup() -> str:
    """What besides the code and the configurations decides a timing (the CPU, the cores this process may use and
    the settings of :data:`study.timing.SETUP_ENV`): a timing step's parameter, so that one taken under
    ``taskset -c 0`` or ``ONEDNN_MAX_CPU_ISA=AVX2`` is not reused for another setup."""
    from study.timing import setup

    return json.dumps(setup(), sort_keys=True)


def colouring_page(
    config: TrainConfig, output: str | Path, force: bool = False, study_file: str | None = None
) -> None:
    """Train one colouring run through train.ipynb into its default folder. A finished run of the same
    configuration and code there is shown as it is; one of other parameters or code is replaced (the study's
    folders are its own), and one that was interrupted resumes at its last finished epoch."""
    run = RunFolder.default(config)
    if force:
        run.clear()
    else:
        run.make_way(config)
    seconds = execute(
        "train",
        Path(output),
        {**train_parameters(config, run), **({"study_file": study_file} if study_file else {})},
        # what the run is, in the reader's words (a preset's name means nothing on the page)
        title=f"Training run: {model_label(config)}, seed {config.seed}; {config.image_size} px, "
        f"{config.epochs} epochs",
    )
    print(f"      done in {seconds:.0f} s -> {relative(output)}", flush=True)


def choose_default(configs: list[TrainConfig]) -> Path:
    """The run of ``configs`` (one model's seeds) with the lowest validation loss becomes colourise's default
    model; returns its record."""
    from study.comparison import best_run

    default = best_run([RunFolder.default(c).path for c in configs])
    record = remember_default(default)
    print(
        f"      colourise's default model (lowest validation loss of {len(configs)} seeds): "
        f"{relative(default)} -> {relative(record)}",
        flush=True,
    )
    return record


def export_default(output: str | Path) -> None:
    """The default model as ONNX in its run folder (colourise's fast path and the book's in-browser page); its
    record is copied to ``output``."""
    from colourlib.export import current_export

    run_dir = paths.default_run_dir()
    record, reused = current_export(run_dir)
    print(
        f"      {'reused' if reused else 'exported'} {relative(run_dir)}/export/{record['file']} "
        f"({record['bytes'] / 1e6:.1f} MB, ab within {record['max_ab_difference_from_keras']:.2f} "
        "of the Keras model's)",
        flush=True,
    )
    atomic.write_json(Path(output), record, kind="export record")


def study_matrix(study_file: str | Path | None, preset: str) -> Matrix:
    return load_matrix(study_file).at_scale(preset)


def timing_outputs(matrix: Matrix, out_dir: Path) -> list[tuple[TimingJob, list[Path]]]:
    """Every timing process in order, with the files it writes."""
    return [
        (job, [result_file(out_dir, regime, row, job.repeat) for regime, row in job.runs])
        for job in timing_jobs(matrix)
    ]


def timing_parameters(matrix: Matrix, job: TimingJob) -> str:
    """What a timing process measures, as the engine compares it between runs: each row's configuration and
    timing (a change to one re-times that process alone)."""
    return json.dumps(
        [
            [regime.config(row).to_dict(), matrix.timing_of(regime).__dict__]
            for regime, row in job.runs
        ],
        sort_keys=True,
    )


def timing_step(matrix: Matrix, index: int, out_dir: Path) -> None:
    """Timing process ``index`` of the matrix (the engine has removed its old files)."""
    job = timing_jobs(matrix)[index]
    print(f"      {job.label}: {len(job.runs)} configurations", flush=True)
    failure = time_job(matrix, job, out_dir, force=True)
    if failure:
        raise ColourlibError(f"a timing process failed: {failure}")


def write_record(
    preset: str,
    study_file: str | Path,
    steps: list[tuple[str, str, list[Path]]],
    output: str | Path,
    graph: dict | None = None,
) -> None:
    """The study record the reproducibility appendix shows: each step (label, command, its engine benchmark
    files) with the seconds it took when it last ran, and this machine."""
    rows, total = [], 0.0
    for label, command, benchmarks in steps:
        times = [read_benchmark(Path(b)) for b in benchmarks]
        seconds = (
            sum(t for t in times if t is not None) if any(t is not None for t in times) else None
        )
        total += seconds or 0.0
        rows.append(
            {
                "step": label,
                "command": command,
                "seconds": None if seconds is None else round(seconds, 1),
                "status": "ok",
            }
        )
    record = {
        "preset": preset,
        "study_file": relative(study_file),
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "steps": rows,
        "seconds": round(total, 1),
        "pipeline": graph,
        "environment": environment_record(),
    }
    atomic.write_json(Path(output), record, kind="study record")


def read_record(path: str | Path | None = None) -> dict:
    """The study record (default: the one the study wrote into the book's pages)."""
    path = Path(path) if path else study_paths.BOOK_RUNS_DIR / STUDY_RECORD
    try:
        return json.loads(path.read_text())
    except OSError:
        raise ColourlibError(
            f"record={str(path)!r}: no study record there. Fix: run the study (python -m study run), "
            "which writes it."
        ) from None


def rule_graph(preset: str, study_file: str | Path | None) -> dict:
    """The pipeline's rules and which feeds which, as the engine draws them (``snakemake --rulegraph``)."""
    command = snakemake_command(preset, study_file, force=False)
    done = subprocess.run(
        [
            *command[:7],
            "--rulegraph",
            "--nolock",
            "--config",
            *command[command.index("--config") + 1 :],
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    names = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', done.stdout, re.MULTILINE))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", done.stdout, re.MULTILINE)
    return {"rules": sorted(names.values()), "edges": [[names[a], names[b]] for a, b in edges]}


def read_benchmark(path: Path) -> float | None:
    """The wall seconds in a Snakemake benchmark file (its first column), None when there is none."""
    try:
        header, values = path.read_text().splitlines()[:2]
    except (OSError, ValueError):
        return None
    row = dict(zip(header.split("\t"), values.split("\t")))
    try:
        return float(row["s"])
    except (KeyError, ValueError):
        return None


def record_steps(
    study: StudyConfig, preset: str, bench: Path, timings: int
) -> list[tuple[str, str, list[Path]]]:
    """The record's rows: each step's label, the command that reproduces it, and its benchmark files."""
    pages = study_paths.BOOK_RUNS_DIR
    args = {"preset": preset, "study_file": relative(study.path)}
    steps = [
        ("data", papermill_command("data", pages / "data.ipynb", args), [bench / "data.tsv"]),
        ("model", papermill_command("model", pages / "model.ipynb", {}), [bench / "model.tsv"]),
    ]
    for (model, seed), config in colouring_configs(study, preset).items():
        output = pages / TRAIN_DIR / f"colouring-{model}-seed{seed}.ipynb"
        command = papermill_command(
            "train", output, train_parameters(config, RunFolder.default(config))
        )
        steps.append(
            (
                f"train: colouring model {model}, seed {seed} ({preset})",
                command,
                [bench / f"colouring-{model}-seed{seed}.tsv"],
            )
        )
    steps += [
        (
            "export",
            "python -m colourlib export RUN_DIR (the default model)",
            [bench / "export.tsv"],
        ),
        (
            "timing: every configuration of the matrix",
            f"python -m study.timing REQUEST, once for each {relative(paths.runs_dir() / 'parallel')}"
            "/request-*.json",
            [bench / f"timing-{i + 1}.tsv" for i in range(timings)],
        ),
        (
            "parallel",
            papermill_command(
                "parallel",
                pages / "parallel.ipynb",
                {**args, "runs": relative(paths.runs_dir() / "parallel")},
            ),
            [bench / "parallel.tsv"],
        ),
        (
            "evaluate",
            papermill_command(
                "evaluate", pages / "evaluate.ipynb", evaluate_parameters(study, preset)
            ),
            [bench / "evaluate.tsv"],
        ),
        (
            "models",
            papermill_command("model-search", pages / "model-search.ipynb", {}),
            [bench / "models.tsv"],
        ),
    ]
    return steps


def build(train_pages: list[Path]) -> None:
    """The book: training pages of runs the study no longer makes go first (the book globs the folder), then
    jupyter-book builds it with -W -n and the book check reads it."""
    from study.report.book import build_book

    keep = {Path(p).resolve() for p in train_pages}
    for stale in (study_paths.BOOK_RUNS_DIR / TRAIN_DIR).glob("*.ipynb"):
        if stale.resolve() not in keep:
            stale.unlink()
    if build_book():
        raise ColourlibError("the book's build or check failed; its messages are above.")


# --- running the engine ------------------------------------------------------------------------------------------


def study_lock(root: Path):
    """This checkout's study lock, held while the engine runs (:func:`colourlib.atomic.exclusive_lock`); a second
    study refuses at once, naming the first one's PID."""
    (root / ".snakemake").mkdir(parents=True, exist_ok=True)
    return atomic.exclusive_lock(
        root / ".snakemake" / "study.lock",
        str(root),
        busy="{what}: a study is already running here (PID {holder}). Fix: wait for it to finish, or stop "
        "it (Ctrl-C); a study stopped at any moment finishes when it is run again.",
    )


def snakemake_command(
    preset: str, study_file: str | Path | None, force: bool, dry_run: bool = False
) -> list[str]:
    root = paths.STUDY_ROOT
    config = [f"preset={preset}", f"force={str(force).lower()}"]
    config += [f"study_file={Path(study_file).resolve()}"] if study_file else []
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(root),
        "--cores",
        "1",  # one step at a time: every step uses the whole machine, and timings must run alone
        # each step's Python runs in this process, not in a fresh one that would read the Snakefile again
        "--force-use-threads",
        "--scheduler",
        "greedy",  # one step at a time: nothing for an optimising scheduler to choose
        "--rerun-incomplete",  # a step killed mid-way runs again; its half-written outputs never count
        "--printshellcmds",
        "--config",
        *config,
        *(["--forceall"] if force else []),
        *(["--dry-run", "--quiet", "rules"] if dry_run else []),
    ]


def run_workflow(
    preset: str = "quick",
    study_file: str | Path | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> int:
    """Run the study through Snakemake in this checkout (or the smoke test's scratch copy); returns its exit
    status. Held by a lock of its own, so that a second study started in the same checkout refuses at once
    instead of meeting the engine's lock; a lock the engine left behind when a study was killed is released
    first, since no study holds it."""
    if paths.REPO_ROOT is None:
        raise ColourlibError(
            "the study runs from a source checkout (notebooks/ and book/ are not installed with the "
            "package). Fix: git clone the project and run it there."
        )
    load_study_config(study_file)  # the whole file, validated before the engine starts
    check_machine(study_matrix(study_file, preset))  # every row's devices, before anything trains
    root = paths.STUDY_ROOT
    with study_lock(root):
        command = snakemake_command(preset, study_file, force, dry_run)
        if not dry_run and any((root / ".snakemake" / "locks").glob("*")):
            # the engine's own lock, left by a study that was killed: no study holds it (we hold ours)
            subprocess.run(
                [*command[:5], "--directory", str(root), "--unlock", "--quiet"],
                capture_output=True,
                check=False,
            )
        # Ctrl-C reaches the engine too (same process group): wait for it to stop its step and clean up
        engine = subprocess.Popen(command, cwd=root)
        while True:
            try:
                return engine.wait()
            except KeyboardInterrupt:
                continue
