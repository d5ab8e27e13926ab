import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from colourlib import ConfigError, evaluate, model, paths, provenance
from colourlib.colour import rgb_to_lab
from colourlib.colouriser import Colouriser
from colourlib.data.photos import read_rgb
from colourlib.report import values, words


def test_colourise_keeps_the_original_full_resolution_lightness():
    rng = np.random.default_rng(0)
    photo = np.clip(0.3 + 0.4 * rng.random((50, 75, 3)), 0, 1).astype(np.float32)
    photo[::2, ::2] *= 0.6  # pixel-level detail that an upsampled L would blur away
    out = Colouriser(model.build_network(32), 32, "vgg16").colour(photo)
    assert out.shape == photo.shape
    in_gamut = (out > 0.001).all(-1) & (out < 0.999).all(-1)
    np.testing.assert_allclose(
        rgb_to_lab(out)[..., 0][in_gamut], rgb_to_lab(photo)[..., 0][in_gamut], atol=1e-3
    )


def test_predict_ab_is_upsampled_to_each_photos_size():
    colouriser = Colouriser(model.build_network(32), 32, "vgg16")
    images = [np.zeros((40, 90, 3), np.float32), np.ones((64, 33, 3), np.float32)]
    shapes = [ab.shape for ab in colouriser.predict_ab(images)]
    assert shapes == [(40, 90, 2), (64, 33, 2)]


def test_baselines_and_their_reference_scores(tmp_path):
    from conftest import save_rgb

    files = [save_rgb(tmp_path / f"{i}.png", size=(40, 30), seed=i) for i in range(2)]
    mean = evaluate.mean_ab(files)
    images = [read_rgb(f) for f in files]
    per_image = evaluate.evaluate_photos(
        [f.name for f in files], images, evaluate.baseline_ab(images, mean)
    )
    assert list(per_image["method"]) == ["grey", "grey", "mean_ab", "mean_ab"]
    grey = per_image[per_image["method"] == "grey"]
    assert grey["colourfulness"].max() < 0.05
    np.testing.assert_allclose(grey["colourfulness_gap"], -grey["colourfulness_true"], atol=0.05)
    summary = evaluate.summarise(per_image)
    assert list(summary.index) == ["grey", "mean_ab"] and "auc_ab" in summary.columns


def test_mean_ab_of_a_uniform_photo_is_its_colour(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 50, 40)).save(tmp_path / "red.png")
    expected = rgb_to_lab(np.array([[[200, 50, 40]]], np.float32) / 255)[0, 0, 1:]
    np.testing.assert_allclose(evaluate.mean_ab([tmp_path / "red.png"]), expected, atol=1e-3)


def test_a_time_measured_on_fewer_cores_than_the_machine_has_says_so(monkeypatch):
    import os

    assert words.cores_phrase(2) == "2 cores" and words.cores_phrase(2, 2) == "2 cores"
    assert words.cores_phrase(1, 2) == "1 core of 2"
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity masks on this system")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # as under `taskset -c 0`
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    record = provenance.environment_record()
    assert (record["cpu_cores"], record["machine_cores"]) == (1, 2)
    assert ", 1 core of 2," in values.hardware(record)
    assert words.machine_summary().endswith(", 1 core of 2")


def test_environment_record_names_the_commit():
    record = provenance.environment_record()
    assert record["cpu_cores"] >= 1 and record["memory_gib"] > 0
    if paths.REPO_ROOT and (paths.REPO_ROOT / ".git").exists():
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        assert record["git"]["commit"] == head


def test_cli_reports_bad_parameters_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "colourlib", "train", str(tmp_path / "r"), "-p", "image_size=50"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert (
        "image_size=50" in result.stderr
        and "multiple of 32" in result.stderr
        and not result.stdout.strip()
    )
    assert "Traceback" not in result.stderr


def test_the_goal_needs_both_baselines_beaten_by_more_than_the_seed_spread_and_half_the_colourfulness():
    import pandas as pd

    from colourlib.study import comparison as study

    labels = {"lite0": "Lite0", "grey": "grey", "mean_ab": "mean ab"}
    index = ["Lite0", "grey", "mean ab"]
    summary = pd.DataFrame(
        {
            "ciede2000": [10.0, 11.0, 11.5],
            "auc_ab": [0.90, 0.88, 0.885],
            "colourfulness": [29.0, 0.0, 8.0],
            "colourfulness_true": [60.0] * 3,
        },
        index=index,
    )
    spread = pd.DataFrame(
        {
            "ciede2000": [0.5, 0, 0],
            "auc_ab": [0.005, 0, 0],
            "colourfulness": [1.0, 0, 0],
            "colourfulness_true": [0.0] * 3,
        },
        index=index,
    )
    comparison = study.Comparison({"lite0": []}, labels, summary, None, {}, spread=spread)
    assert study.goal_check(comparison, "lite0") == {
        "ciede2000": True,
        "auc_ab": True,
        "colourfulness": False,
    }
    summary.loc["Lite0", "colourfulness"] = 30.0  # exactly half of the truth's: enough
    assert all(study.goal_check(comparison, "lite0").values())
    spread.loc["Lite0", "ciede2000"] = 1.2  # beats grey by 1.0: inside the spread, so no difference
    assert study.goal_check(comparison, "lite0")["ciede2000"] is False
    spread.loc["Lite0", "ciede2000"] = 0.5
    summary.loc["Lite0", "auc_ab"] = 0.887  # beats grey but not mean ab by more than 0.005
    assert study.goal_check(comparison, "lite0")["auc_ab"] is False


def test_seed_summaries_are_the_mean_and_spread_of_each_seeds_mean_per_split():
    import pandas as pd

    from colourlib.study.comparison import summarise_seeds

    rows = [
        ("p1", "packages", "m", 0, 1.0),
        ("p2", "packages", "m", 0, 3.0),
        ("w1", "wheels", "m", 0, 5.0),
        ("p1", "packages", "m", 1, 2.0),
        ("p2", "packages", "m", 1, 4.0),
        ("w1", "wheels", "m", 1, 9.0),
        ("p1", "packages", "grey", 0, 7.0),
        ("p2", "packages", "grey", 0, 7.0),
        ("w1", "wheels", "grey", 0, 4.0),
    ]
    per_image = pd.DataFrame(rows, columns=["photo", "split", "method", "seed", "ciede2000"])
    means, spread = summarise_seeds(per_image)
    assert list(means.index.get_level_values(0).unique()) == ["all", "packages", "wheels"]
    assert means.loc[("all", "m"), "ciede2000"] == pytest.approx(
        (3.0 + 5.0) / 2
    )  # seeds' means 3 and 5
    assert spread.loc[("all", "m"), "ciede2000"] == pytest.approx(2**0.5)  # std (ddof 1) of 3 and 5
    assert means.loc[("packages", "m"), "ciede2000"] == pytest.approx(2.5)
    assert means.loc[("wheels", "m"), "ciede2000"] == pytest.approx(7.0)
    assert spread.loc[("wheels", "m"), "ciede2000"] == pytest.approx(8**0.5)
    assert (
        spread.loc[("all", "grey"), "ciede2000"] == 0.0
        and means.loc[("all", "grey"), "ciede2000"] == 6.0
    )


def test_every_recipe_candidate_is_valid_and_changes_one_thing_from_the_published_recipe():
    from colourlib.study import recipes

    first = recipes.candidate_config(next(iter(recipes.CANDIDATES)))
    assert (first.loss, first.rebalance_lambda, first.temperature) == (
        "classification",
        0.5,
        0.38,
    )  # Zhang et al.
    assert (
        first.cache_features and not first.encoder_trainable and first.encoder_weights == "imagenet"
    )
    for name, change in recipes.CANDIDATES.items():
        config = recipes.candidate_config(name)
        differs = {k for k, v in config.to_dict().items() if v != first.to_dict()[k]}
        assert differs == set(change), name
    assert recipes.candidate_config("mse", temperature=0.5).temperature == 0.5


def test_the_recorded_recipe_search_is_read_with_its_machine_and_a_missing_one_says_how_to_make_it(
    tmp_path,
):

    from colourlib.report.tables import recipe_search_table
    from colourlib.report.values import read_recipe_search

    with pytest.raises(
        ConfigError, match="no recorded recipe search there.*python -m colourlib recipes"
    ):
        read_recipe_search(tmp_path)
    search, baselines, values = read_recipe_search()  # the committed record
    assert {"recipe", "temperature", "ciede2000", "auc_ab", "colourfulness", "eligible"} <= set(
        search.columns
    )
    assert set(baselines.index) == {"grey", "mean_ab"}
    assert "cores" in values["search_machine"]
    fine_tune = json.loads((paths.RECIPE_SEARCH / "fine-tune.json").read_text())
    assert values["fine_tune_ciede2000_after"] == fine_tune["ciede2000_after"]
    assert values["fine_tune_epochs"] == fine_tune["epochs"]
    shutil.copytree(
        paths.RECIPE_SEARCH, tmp_path / "copy", ignore=shutil.ignore_patterns("fine-tune.json")
    )
    _, _, untuned = read_recipe_search(tmp_path / "copy")
    assert math.isnan(untuned["fine_tune_ciede2000_after"]), (
        "not measured: NaN, not a number from elsewhere"
    )
    table = recipe_search_table(search, baselines)
    assert len(table) == len(search) + 2 and table.index[-1] == "baseline: mean_ab"
    chosen = search.iloc[0]
    assert (
        chosen.eligible and chosen.ciede2000 == search[search.eligible].ciede2000.min()
    )  # the rule, as recorded
