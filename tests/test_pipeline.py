"""The study's pipeline as the workflow engine sees it: every step planned from the Snakefile, the code
fingerprints that decide reuse, the lock that keeps two studies apart, and the record of steps and times.
(That a finished study has nothing left to do, and that a notebook's edit redoes that page and the book alone,
CI checks on the smoke test's finished study: `.ci/run`.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from study import paths as study_paths
from study import pipeline
from study.config import load


def dry_run(root: Path, *extra: str) -> str:
    """The engine's plan for a study in ``root`` at the tiny preset (nothing runs)."""
    command = pipeline.snakemake_command("tiny", None, force=False, dry_run=True)
    command[command.index("--directory") + 1] = str(root)
    env = {**os.environ, "COLOURLIB_STUDY_ROOT": str(root), "COLOURLIB_RUNS": str(root / "runs")}
    done = subprocess.run(
        [*command, *extra], capture_output=True, text=True, env=env, timeout=300, cwd=root
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def planned(output: str) -> dict[str, int]:
    """The engine's job counts per rule, from its dry run's table."""
    return {
        name: int(count)
        for name, count in re.findall(r"^([a-z_0-9]+)\s+(\d+)$", output, re.MULTILINE)
        if name != "total"
    }


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A study root with the book's sources, as the smoke test prepares one."""
    from study import smoke

    return smoke.prepare(tmp_path / "study")


def test_the_engine_plans_every_step_of_a_fresh_study(scratch):
    from study.timing import jobs

    jobs_planned = planned(dry_run(scratch))
    study = load()
    seeds = study.colouring_seeds("tiny")
    timing = jobs(pipeline.study_matrix(None, "tiny"))
    assert jobs_planned["colouring"] == len(study.models) * len(seeds)
    assert {f"timing_{i + 1}" for i in range(len(timing))} <= set(jobs_planned)
    for step in (
        "data",
        "model",
        "default_model",
        "export",
        "parallel",
        "evaluate",
        "models",
        "record",
        "reproducibility",
        "book",
    ):
        assert jobs_planned[step] == 1, step
    # the code fingerprints the steps read, written while planning
    assert {p.name for p in (scratch / "runs" / "code").iterdir()} == {
        "training.txt",
        "timing.txt",
        "export.txt",
        "pages.txt",
    }


def test_a_fingerprint_file_is_rewritten_only_when_its_code_changes(tmp_path, monkeypatch):
    files = pipeline.write_fingerprints(tmp_path)
    stamps = {name: path.stat().st_mtime_ns for name, path in files.items()}
    os.utime(files["training"], ns=(1, 1))  # as if written long ago
    pipeline.write_fingerprints(tmp_path)
    assert files["training"].stat().st_mtime_ns == 1, "the same code leaves the file as it was"
    real = pipeline.code_fingerprint
    monkeypatch.setattr(
        pipeline,
        "code_fingerprint",
        lambda roots: "0" * 16 if roots == pipeline.TRAINING_CODE else real(roots),
    )
    pipeline.write_fingerprints(tmp_path)
    assert files["training"].read_text() == "0" * 16 + "\n"
    assert files["training"].stat().st_mtime_ns > 1
    assert files["timing"].stat().st_mtime_ns == stamps["timing"]


def test_a_second_study_in_the_same_checkout_refuses_with_one_line(tmp_path):
    with pipeline.study_lock(tmp_path):  # a study running here
        env = {**os.environ, "COLOURLIB_STUDY_ROOT": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-m", "study", "run", "--dry-run"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-2000:]
    assert f"a study is already running here (PID {os.getpid()})" in errors[0]
    assert "Traceback" not in done.stderr
    with pipeline.study_lock(tmp_path):  # released: the next study takes it
        pass


def test_the_record_holds_each_steps_time_from_the_engines_benchmarks(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "data.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t100\n")
    (bench / "timing-1.tsv").write_text("s\th:m:s\n30.0\t0:00:30\n")
    (bench / "timing-2.tsv").write_text("s\th:m:s\n45.5\t0:00:45\n")
    steps = [
        ("data", "papermill ...", [bench / "data.tsv"]),
        ("timing", "python -m study.timing ...", [bench / "timing-1.tsv", bench / "timing-2.tsv"]),
        ("model", "papermill ...", [bench / "model.tsv"]),  # never ran: no time, not a zero
    ]
    out = tmp_path / "study.json"
    graph = {"rules": ["book", "data"], "edges": [["data", "book"]]}
    pipeline.write_record("tiny", study_paths.STUDY_CONFIG, steps, out, graph)
    record = pipeline.read_record(out)
    assert [s["seconds"] for s in record["steps"]] == [12.5, 75.5, None]
    assert record["seconds"] == 88.0 and record["preset"] == "tiny"
    assert record["pipeline"] == graph and record["environment"]["cpu"]


def test_the_pipeline_figure_draws_each_step_once(tmp_path):
    from study.report import figures

    graph = {
        "rules": ["all", "book", "data", "parallel", "timing_1", "timing_2", "record"],
        "edges": [
            ["timing_1", "timing_2"],
            ["timing_2", "parallel"],
            ["timing_1", "parallel"],
            ["parallel", "record"],
            ["data", "record"],
            ["record", "reproducibility"],
            ["reproducibility", "book"],
            ["book", "all"],
        ],
    }
    graph["rules"].append("reproducibility")
    fig = figures.pipeline_graph(graph)
    shown = sorted(
        t.get_text() for t in fig.axes[0].texts if t.get_text()
    )  # arrows are empty texts
    assert shown == sorted(
        figures.PIPELINE_STEPS[s] for s in ("data", "timing", "parallel", "reproducibility", "book")
    )
