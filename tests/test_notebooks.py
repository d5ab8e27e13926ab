"""The study notebooks: committed clean and thin, parameters that mirror the configuration, each one executed by
papermill at the tiny preset with its glued numbers checked, bad parameters refused with the notebook's message,
and the book checks (glue references, error outputs, the browser) against pages that are known to be broken."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from conftest import environment_variable

from colourlib import paths
from colourlib.config import ConfigError, TrainConfig
from colourlib.runs import RunFolder
from study import paths as study_paths
from study.config import preset_config
from study.notebooks import (
    NOTEBOOKS,
    TRAIN_EXTRA_PARAMETERS,
    NotebookFailed,
    declared_parameters,
    error_outputs,
    execute,
    notebook_path,
)
from study.report.book import check_book, glued_keys, references

PAPERMILL = str(Path(sys.executable).with_name("papermill"))


def glued_values(path: Path) -> dict:
    """key -> the text/plain value each glue call stored (strings unquoted, numbers as numbers)."""
    import ast

    values = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                text = next(
                    (v for k, v in output["data"].items() if k.endswith("text/plain")), None
                )
                try:
                    values[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError, TypeError):
                    values[name] = text
    return values


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_committed_thin_and_without_outputs(name):
    book = nbformat.read(notebook_path(name), as_version=4)
    tagged = [i for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert book.cells[0].cell_type == "markdown" and book.cells[0].source.startswith("# ")
    assert book.cells[tagged[0] + 1].cell_type == "code", "derived values follow the parameters"
    for cell in book.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{name}: committed with outputs"
            )
            assert "def " not in cell.source and "class " not in cell.source, (
                f"{name}: logic belongs in colourlib"
            )
    for statement in ast.parse(
        book.cells[tagged[0]].source
    ).body:  # plain literals, nothing computed
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        ast.literal_eval(statement.value)


def test_train_notebook_declares_every_configuration_parameter():
    declared = set(declared_parameters(notebook_path("train")))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert declared == fields | TRAIN_EXTRA_PARAMETERS
    assert {
        "gpus",
        "workers",
        "use_multiprocessing",
        "epochs",
        "batch_size",
        "image_size",
        "encoder",
        "encoder_weights",
        "data_dir",
        "seed",
        "preset",
    } <= declared


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs go to a temporary folder (the kernel inherits COLOURLIB_RUNS)."""
    with environment_variable("COLOURLIB_RUNS", str(tmp_path_factory.mktemp("runs"))) as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def trained(runs):
    """The command of the README, with its output piped: papermill writes the notebook to stdout, and the run's
    artefacts still go to the run folder named from its configuration."""
    result = subprocess.run(
        [
            PAPERMILL,
            "notebooks/train.ipynb",
            "-p",
            "preset",
            "tiny",
            "-p",
            "gpus",
            "2",
            "-p",
            "workers",
            "2",
        ],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    notebook = nbformat.reads(
        result.stdout, as_version=4
    )  # stdout is the executed notebook and nothing else
    run_dir = RunFolder.default(preset_config("tiny", gpus=2, workers=2)).path
    return notebook, run_dir


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_train_notebook_refuses_a_parameter_it_does_not_declare(tmp_path):
    result = subprocess.run(
        [
            PAPERMILL,
            "notebooks/train.ipynb",
            str(tmp_path / "out.ipynb"),
            "-p",
            "preset",
            "tiny",
            "-p",
            "colour",
            "red",
        ],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    assert (
        "train.ipynb parameters: unknown parameter(s) colour (papermill only warns" in result.stderr
    )
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    failed = [c for c in executed.cells if any(o.get("ename") for o in c.get("outputs", []))]
    assert len(failed) == 1 and "notebook_config" in failed[0].source  # before any training


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_train_notebook_runs_as_typed_and_writes_to_its_run_folder(trained, runs):
    notebook, run_dir = trained
    assert run_dir.parent == runs / "train" and run_dir.name.startswith(
        "tiny-gpus2-workers2-threads-"
    )
    for name in (
        "config.json",
        "environment.json",
        "history.csv",
        "timing.json",
        "colouriser.weights.h5",
    ):
        assert (run_dir / name).is_file(), name
    path = run_dir.parent / "executed.ipynb"
    nbformat.write(notebook, path)
    values = glued_values(path)
    assert values["epochs"] == 2 and values["best_epoch"] in (1, 2)
    assert values["run_dir"] == str(run_dir)
    assert values["images_per_s"] > 0 and 0 <= values["input_wait_share"] <= 1
    assert values["devices"] == "2 CPU devices of 1 core each"  # a core of its own each
    assert "training_curves" in glued_keys(notebook)
    assert json.loads((run_dir / "config.json").read_text())["gpus"] == 2


@pytest.mark.slow  # a notebook executed in a kernel
def test_a_bad_parameter_fails_with_the_notebooks_own_message(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(
            str(notebook_path("train")),
            str(tmp_path / "out.ipynb"),
            parameters={"preset": "tiny", "gpus": 0},
            progress_bar=False,
        )
    assert failure.value.ename == "ConfigError"
    assert "train.ipynb parameters: gpus=0 is not allowed: an integer >= 1" in failure.value.evalue


@pytest.mark.slow  # a notebook executed in a kernel
def test_the_study_runs_a_notebook_without_the_kernels_plain_tcp_warning(tmp_path, capfd):
    # ipykernel >= 7.3 warns at every start over unencrypted TCP; the study's kernels ask for CurveZMQ keys
    with pytest.raises(NotebookFailed, match="gpus=0 is not allowed") as failed:
        execute("train", tmp_path / "out.ipynb", {"preset": "tiny", "gpus": 0})
    assert "without encryption" not in capfd.readouterr().err
    # the study and the book check name the failed cell alike
    (problem,) = error_outputs(nbformat.read(tmp_path / "out.ipynb", as_version=4))
    cell = problem.split(" holds an error output")[0]
    assert re.fullmatch(r"cell \d+ \(In \[\d+\]\)", cell) and f"failed in {cell}:" in str(
        failed.value
    )


def test_the_study_refuses_a_parameter_the_notebook_does_not_declare(tmp_path):
    with pytest.raises(
        ConfigError, match=r"train.ipynb: unknown parameter\(s\) gpu\b.*declares: preset, gpus"
    ):
        execute("train", tmp_path / "out.ipynb", {"gpu": 2})
    assert not (tmp_path / "out.ipynb").exists(), "refused before anything ran"


@pytest.mark.slow  # notebooks executed in kernels
def test_data_and_model_notebooks_glue_their_numbers(tmp_path):
    execute("data", tmp_path / "data.ipynb", {"preset": "tiny", "examples": 4})
    data = glued_values(tmp_path / "data.ipynb")
    assert (data["n_train"], data["n_val"], data["n_test"], data["n_bw"]) == (374, 66, 55, 2)
    assert (data["image_size"], data["crops_per_epoch"]) == (
        32,
        374 * 2,
    )  # the tiny preset's 2 crops per photo
    assert {"example_photos", "lab_channels"} <= set(data)

    execute("model", tmp_path / "model.ipynb", {})
    model = glued_values(tmp_path / "model.ipynb")
    assert model["encoder_params"] == model["paper_encoder_params"] == 14_714_688
    assert model["decoder_params"] == model["paper_decoder_params"] == 1_572_114
    assert model["block3_conv2_params"] == 3 * 3 * 256 * 256 + 256
    assert model["feature_shape"] == "7 x 7 x 512"


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_evaluate_notebook_compares_both_models_over_seeds_with_the_baselines_on_both_splits(
    trained, runs, tmp_path
):
    from colourlib.train import train
    from study.config import colouring_config

    _, vgg_run = trained
    lite0_runs = [runs / "train" / f"lite0-tiny-seed{seed}" for seed in (0, 1)]
    for seed, run_dir in enumerate(lite0_runs):
        train(colouring_config("lite0", "tiny", seed), run_dir, print_progress=False)
    out = tmp_path / "evaluation"
    execute(
        "evaluate",
        tmp_path / "evaluate.ipynb",
        {
            "vgg16_runs": [str(vgg_run)],
            "lite0_runs": [str(r) for r in lite0_runs],
            "out_dir": str(out),
            "figures_dir": str(tmp_path / "figures"),
        },
    )
    values = glued_values(tmp_path / "evaluate.ipynb")
    assert (
        tmp_path / "figures" / "landing_strip.png"
    ).is_file()  # the book's own figure is left alone
    assert (tmp_path / "figures" / "scoreboard.png").is_file() and values["claims_total"] == 6
    assert (values["n_test_photos"], values["n_packages_photos"], values["n_wheels_photos"]) == (
        55,
        47,
        8,
    )
    assert (values["vgg16_seeds"], values["lite0_seeds"]) == (1, 2) and values[
        "lite0_shown_seed"
    ] in (0, 1)
    assert values["vgg16_epochs"] == values["lite0_epochs"] == 2
    assert values["vgg16_label"] == "VGG16 (random init)"
    assert values["lite0_label"] == "EfficientNet-Lite0 (ImageNet weights, encoder frozen)"
    assert values["grey_colourfulness"] < 0.05  # no colour (rounding to sRGB leaves a trace)
    assert values["truth_colourfulness"] > 20
    assert (
        values["vgg16_ciede2000_spread"] == 0.0 < values["lite0_ciede2000_spread"]
    )  # 1 seed has no spread
    for key in ("vgg16", "lite0", "grey", "mean_ab"):
        assert values[f"{key}_auc_ab"] == pytest.approx(
            1 - values[f"{key}_ab_error"] / 150, abs=0.01
        )
        n = {"packages": 47, "wheels": 8}
        mixed = sum(values[f"{split}_{key}_ab_error"] * n[split] for split in n) / 55
        assert values[f"{key}_ab_error"] == pytest.approx(
            mixed, rel=1e-6
        )  # every seed scores every photo
    assert values["n_goal_parts"] == 6 and 0 <= values["lite0_goal_parts_met"] <= 6
    every_split = [values[f"{p}lite0_goal_parts_met"] for p in ("", "packages_", "wheels_")]
    assert values["lite0_goal_met"] == ("yes" if every_split == [6, 6, 6] else "no")
    for metric in ("rebalanced_auc", "semantic", "delta_cf", "ciede2000", "auc_ab"):
        verdict = values[f"lite0_vs_grey_{metric}_verdict"]
        low, high = values[f"lite0_vs_grey_{metric}_low"], values[f"lite0_vs_grey_{metric}_high"]
        assert verdict == ("no difference" if low <= 0 <= high else verdict)
        assert low <= values[f"lite0_vs_grey_{metric}"] <= high
    assert (
        values["ceiling_input_ciede2000"]
        < values["ceiling_bins_ciede2000"]
        < values["grey_ciede2000"]
    )
    assert values["truth_semantic"] > values["ceiling_bins_semantic"] - 0.05
    assert values["lite0_colourfulness_share"] == pytest.approx(
        values["lite0_colourfulness"] / values["truth_colourfulness"]
    )
    assert 0 <= values["lite0_n_beats_grey"] <= 55 and values["lite0_worst_photos"]
    assert values["lite0_recipe"].startswith("313 colour classes, class-rebalanced (lambda 0.8)")
    figures = {"curves_vgg16", "curves_lite0", "metric_bars", "paired_intervals", "recipe_pareto"}
    assert figures | {"gallery_test", "gallery_bw"} <= set(values)
    summary = pd.read_csv(out / "metrics_summary.csv", index_col=[0, 1])
    assert list(summary.index.get_level_values(0).unique()) == ["all", "packages", "wheels"]
    assert list(summary.loc["all"].index) == [
        "VGG16 (random init)",
        "EfficientNet-Lite0 (ImageNet weights, encoder frozen)",
        "grey (a = b = 0)",
        "mean ab of the training photos",
        "ceiling: true ab at 32 px",
        "ceiling: true ab in 313 bins, T = 0.38",
    ]
    per_image = pd.read_csv(out / "metrics_per_image.csv")
    assert len(per_image) == (1 + 2 + 2 + 2) * 55 and (out / "gallery_test.png").is_file()
    assert (out / "landing_strip.png").is_file() and (out / "paired_intervals.png").is_file()
    assert sorted(per_image[per_image.method.str.startswith("Efficient")].seed.unique()) == [0, 1]


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_parallel_and_reproducibility_notebooks_tabulate_what_ran(runs, tmp_path):
    from conftest import write_study_file

    from study.matrix import load_matrix
    from study.timing import time_matrix

    matrix_file = write_study_file(
        tmp_path / "study.yaml",
        "timing: {steps: 1, warmup_steps: 1, repeats: 3}\nregimes:\n  cached-features:\n"
        "    params: {preset: tiny, encoder_trainable: false, augment: false, cache_features: true}"
        "\nconfigurations:\n  - {gpus: 1, workers: 1}\n  - {gpus: 1, workers: 2}\n"
        "  - {gpus: 1, workers: 2, use_multiprocessing: true}\n",
    )
    assert time_matrix(load_matrix(matrix_file).at_scale("tiny"), runs / "p") == []
    execute(
        "parallel",
        tmp_path / "parallel.ipynb",
        {
            "study_file": str(matrix_file),
            "preset": "tiny",
            "runs": str(runs / "p"),
            "figures_dir": str(tmp_path / "figures"),
        },
    )
    values = glued_values(tmp_path / "parallel.ipynb")
    assert (tmp_path / "figures" / "speedup.png").is_file()
    assert values["n_failed"] == 0 and values["paper_seconds_1x1"] == 11351.0
    assert values["failed_configurations"] == "none" and values["replica_loss_rtol"] == 1e-4
    assert values["paper_speedup_2x1"] == pytest.approx(11351.0 / 4860.35)
    assert values["cached_base_ips"] > 0 and 0 < values["cached_base_sgemm_share"] < 1
    assert values["speedup_cached_1x2"].endswith(("gain)", "loss)", "no difference)"))
    assert values["cached_n_compared"] == 2 and values["speedup_cached_2x1"] == "not timed"
    # without a one-core row, one device on all the cores is the baseline, never cited as a second core's gain
    assert values["speedup_cached_cores"] == "not timed"
    assert (values["repeats"], values["cached_steps"], values["cached_warmup"]) == (3, 1, 1)
    assert values["whole_steps"] == 0 and values["speedup_whole_1x2"] == "not timed"
    assert values["projected_hours_cached"] > 0 and " core" in values["hardware"]

    from study import pipeline

    benchmark = tmp_path / "data.tsv"  # as Snakemake writes one: wall seconds first
    benchmark.write_text("s\th:m:s\tmax_rss\n12.0\t0:00:12\t100\n")
    graph = {"rules": ["all", "book", "data"], "edges": [["data", "book"], ["book", "all"]]}
    steps = [("data", "papermill notebooks/data.ipynb book/runs/data.ipynb", [benchmark])]
    pipeline.write_record("tiny", matrix_file, steps, tmp_path / "study.json", graph)
    execute("reproducibility", tmp_path / "repro.ipynb", {"record": str(tmp_path / "study.json")})
    repro = glued_values(tmp_path / "repro.ipynb")
    assert repro["study_minutes"] == pytest.approx(0.2) and repro["study_preset"] == "tiny"


# --- the book checks, on books known to be broken ------------------------------------------------------------


def test_glue_references_are_parsed_as_myst_nb_parses_them():
    text = (
        "{glue:text}`a:.2f` {glue:text}`b` {glue:text}`runs/x.ipynb::c:d` {glue:text}`runs/x.ipynb::d` "
        "{glue:md}`e` {glue}`runs/y.ipynb::f`\n```{glue:figure} g\n```"
    )
    assert references(text) == [
        (None, "a"),
        (None, "b"),
        ("runs/x.ipynb", "c"),
        (None, "runs/x.ipynb:"),
        (None, "e"),
        ("runs/y.ipynb", "f"),
        (None, "g"),
    ]


def _notebook_with(cells_outputs):
    book = nbformat.v4.new_notebook()
    for source, outputs in cells_outputs:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = outputs
        book.cells.append(cell)
    return book


def test_book_check_finds_missing_glue_and_error_outputs(tmp_path):
    glued = nbformat.v4.new_output(
        "display_data",
        data={"text/plain": "3"},
        metadata={"scrapbook": {"name": "count", "mime_prefix": ""}},
    )
    (tmp_path / "runs").mkdir()
    nbformat.write(
        _notebook_with([("glue('count', 3)", [glued])]), tmp_path / "runs" / "good.ipynb"
    )
    (tmp_path / "page.md").write_text("# Page\n\n{glue:text}`runs/good.ipynb::count:d` is fine.\n")
    assert check_book(tmp_path) == []

    (tmp_path / "page.md").write_text(
        "# Page\n{glue:text}`runs/good.ipynb::total:d` and {glue:text}`runs/good.ipynb::count`\n"
    )
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
    nbformat.write(_notebook_with([("1/0", [error])]), tmp_path / "runs" / "bad.ipynb")
    problems = check_book(tmp_path)
    assert any("'total' is missing" in p for p in problems)
    assert any("'runs/good.ipynb:'" in p for p in problems), (
        "a cross-document text glue needs a format"
    )
    assert any("bad.ipynb: cell 1 holds an error output: ValueError: boom" in p for p in problems)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("COLOURLIB_REQUIRE_CHROMIUM"),
    reason="Chromium is not installed (CI installs it and sets COLOURLIB_REQUIRE_CHROMIUM=1)",
)
def test_browser_check_catches_what_a_reader_would_trip_over(tmp_path):
    from PIL import Image

    from study.report.browser import check_pages

    html = tmp_path / "html"
    html.mkdir()
    Image.new("RGB", (40, 30), "red").save(html / "ok.png")
    words = "<p>" + "A page with enough words to read. " * 10 + "</p>"
    (html / "good.html").write_text(
        f"<html><body><main>{words}<figure><img src='ok.png'><figcaption>Fig. 1 "
        "A red square.</figcaption></figure><table><tr><td>1</td></tr></table>"
        "<div class='admonition'><p class='admonition-title'>Warning</p><p>No GPU."
        "</p></div><span class='pasted-text'>0.42</span></main></body></html>"
    )
    (html / "bad.html").write_text(
        f"<html><body><main>{words}<img src='missing.png'><table><tr><td> </td>"
        "</tr></table><span class='pasted-text'></span><table><tr><td>papermill "
        "notebooks/data.ipynb book/runs/data....</td></tr><tr><td>...</td></tr></table>"
        "</main></body></html>"
    )
    column = "<main style='width: 600px'>"
    wide_table = "<table><tr>" + "<td>a-long-column-value</td>" * 60 + "</tr></table>"
    (html / "wide.html").write_text(
        f"<html><body>{column}{words}<div class='cell_output' style='overflow: auto'>"
        f"{wide_table}</div><figure><img src='ok.png' style='width: 900px'>"
        "<figcaption>Too wide.</figcaption></figure></main></body></html>"
    )
    (html / "noise.html").write_text(
        f"<html><body><main>{words}<pre>/x/y.py:3: UserWarning: negative Z values"
        "</pre><pre>Traceback (most recent call last):</pre><p>speedup NaN</p>"
        "<pre>WARNING:tensorflow:5 out of the last 15 calls</pre>"
        "<img src='ok.png'><figure><img src='ok.png'></figure></main></body></html>"
    )
    # the front page must show its strip and speedup figures: here one is a 40-px image, the other absent
    (html / "intro.html").write_text(
        f"<html><body><main>{words}<figure id='fig-landing-strip'><img src='ok.png'>"
        "<figcaption>Fig. 1 A strip.</figcaption></figure></main></body></html>"
    )
    reports = check_pages(
        html,
        tmp_path / "shots",
        CHROMIUM,
        pages=("good.html", "bad.html", "wide.html", "noise.html", "intro.html"),
    )
    good, bad, wide, noise, intro = reports
    assert "intro.html: figure fig-landing-strip shows no image (40 px wide" in " ".join(
        intro.problems
    )
    assert "intro.html: figure fig-speedup-front is missing" in intro.problems
    assert (
        good.problems == [] and good.found["pasted"] == 1 and good.screenshot.stat().st_size > 1000
    )
    assert any("broken image(s): missing.png" in p for p in bad.problems)
    assert any("1 empty table(s)" in p for p in bad.problems)
    assert any("glued values missing" in p for p in bad.problems)
    assert any("2 table cell(s) cut short with '...'" in p for p in bad.problems), bad.problems
    assert not any("cut short" in p for p in good.problems + wide.problems + noise.problems)
    assert any(
        "2 table(s)/figure(s) wider than the content column: table" in p for p in wide.problems
    ), wide.problems
    assert not any("caption" in p for p in wide.problems)
    assert any(
        "warning or traceback text" in p
        and "UserWarning" in p
        and "Traceback" in p
        and "WARNING:tensorflow" in p
        for p in noise.problems
    ), noise.problems
    assert any("raw NaN on the page" in p for p in noise.problems)
    assert any("2 figure(s) without a caption" in p for p in noise.problems), noise.problems


def test_the_recorded_papermill_command_can_be_pasted_into_a_shell():
    import shlex

    from study.notebooks import papermill_command

    command = papermill_command(
        "evaluate",
        study_paths.BOOK_RUNS_DIR / "evaluate.ipynb",
        {"vgg16_runs": ["runs/a b", "runs/c"], "preset": "quick", "out_dir": "my out"},
    )
    words = shlex.split(command)
    assert words[:3] == ["papermill", "notebooks/evaluate.ipynb", "book/runs/evaluate.ipynb"]
    assert words[words.index("-y") + 1] == '{"vgg16_runs": ["runs/a b", "runs/c"]}'
    assert words[words.index("out_dir") + 1] == "my out"
    assert "preset" not in words  # the notebook's own default is left out


@pytest.mark.slow  # a notebook executed in a kernel
def test_the_model_search_chapter_reads_the_recorded_search_and_says_what_it_shows(tmp_path):
    """model-search.ipynb on the recorded search: the chosen model is the table's first row, each of the paper's
    three choices has an effect with its interval and verdict, and the prose's list of what holds the colours
    back is exactly the factors whose alternative is "better" on rebalanced AuC; the scale checks' section cites
    the photo counts the record trained on and, per variant, exactly the measures whose verdict is not "no
    difference"."""
    from colourlib.data.photos import load_photo_set
    from study import recipes
    from study.config import colouring_config

    execute("model-search", tmp_path / "model-search.ipynb", {})
    values = glued_values(tmp_path / "model-search.ipynb")
    table = pd.read_csv(study_paths.MODEL_SEARCH / "recipes.csv")
    assert values["models_chosen"] == table.recipe.iloc[0] and table.stage.iloc[0] == "chosen"
    assert values["models_val_photos"] == int(table.val_photos.iloc[0])
    better = []
    for factor, key in (("encoder weights", "weights"), ("loss", "loss"), ("decoder", "decoder")):
        text = values[f"models_effect_{key}_rebalanced_auc"]
        assert text.count("[") == 1 and text.count(",") == 1  # "+0.012 [+0.004, +0.020]"
        verdict = values[f"models_effect_{key}_rebalanced_auc_verdict"]
        assert verdict in ("better", "worse", "no difference")
        better += [factor] if verdict == "better" else []
    expected = " and ".join(f"the {f}" for f in better) or "none of the three"
    assert values["models_holding_back"] == expected
    assert values["models_grid_seeds"] == len(recipes.MODELS.seeds_of(recipes.PAPER_CORNER))
    for verdict in (
        "models_paper_vs_random_rebalanced_auc_verdict",
        "models_paper_vs_grey_semantic_verdict",
    ):
        assert values[verdict] in ("better", "worse", "no difference")
    # the scale checks: the photo counts the script trained on, and each variant's changes exactly its verdicts
    scale = pd.read_csv(study_paths.SCALE_CHECKS / "per-photo.csv")
    counts = scale.groupby("variant").train_photos.first()
    config = colouring_config("lite0", "quick")
    photos = load_photo_set(
        config.data_dir, config.image_size, config.val_fraction, config.max_photos
    )
    assert values["scale_photos_all"] == counts["all"] == len(photos.train)
    assert values["scale_photos_half"] == counts["all"] // 2
    assert values["scale_seeds"] == scale.groupby("variant").seed.nunique().min() == 3
    summary = recipes.seed_differences(scale, "all")
    from study.report.values import SCALE_KEYS

    assert set(SCALE_KEYS) | {"all"} == set(scale.variant)
    for variant, key in SCALE_KEYS.items():
        moved = summary[(summary.variant == variant) & (summary.verdict != "no difference")]
        text = values[f"scale_{key}_changes"]
        assert (text == "no measure") == moved.empty
        assert text.count("[") == len(moved)
