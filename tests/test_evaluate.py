import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from colourlib import ConfigError, evaluate, model, paths, provenance
from colourlib.colour import rgb_to_lab
from colourlib.colouriser import Colouriser
from colourlib.data.photos import read_rgb
from study import paths as study_paths
from study.report import values, words


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


def _scored(photos: int, columns: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """A per-image table: for each method, each seed's per-photo scores (a list per seed) of each metric."""

    rows = []
    for method, by_metric in columns.items():
        seeds = len(next(iter(by_metric.values())))
        for seed in range(seeds):
            for i in range(photos):
                row = {"photo": f"p{i}", "split": "packages" if i % 2 else "wheels"}
                row |= {"method": method, "seed": seed}
                row |= {metric: values[seed][i] for metric, values in by_metric.items()}
                rows.append(row)
    return pd.DataFrame(rows)


def test_a_paired_difference_averages_seeds_per_photo_and_its_interval_decides_the_verdict():
    # two seeds whose mean per photo (3, 4, 5, 6) is grey's + 1 on every photo: a sure difference of +1
    per_image = _scored(
        4,
        {
            "model": {"ciede2000": [[2, 3, 4, 5], [4, 5, 6, 7]]},
            "grey": {"ciede2000": [[2, 3, 4, 5]]},
        },
    )
    interval = evaluate.paired_difference(per_image, "model", "grey", "ciede2000")
    assert interval == pytest.approx({"difference": 1.0, "low": 1.0, "high": 1.0, "photos": 4})
    assert evaluate.verdict(interval, higher_is_better=False) == "worse"
    assert evaluate.verdict(interval, higher_is_better=True) == "better"
    # differences +2, -2, +2, -2: a mean of 0, an interval around it
    swing = _scored(4, {"model": {"x": [[2, -2, 2, -2]]}, "grey": {"x": [[0, 0, 0, 0]]}})
    interval = evaluate.paired_difference(swing, "model", "grey", "x")
    assert interval["difference"] == 0 and interval["low"] < 0 < interval["high"]
    assert evaluate.verdict(interval, higher_is_better=True) == "no difference"
    with pytest.raises(ValueError, match="no photos scored for method 'other'"):
        evaluate.paired_difference(swing, "model", "other", "x")


def test_the_goal_is_judged_by_paired_intervals_and_the_semantic_gap_closed():
    from study import comparison as study

    photos = 6
    model = {  # better than both baselines by a margin on every photo, unless changed below
        "rebalanced_auc": [[0.80] * photos] * 3,
        "semantic": [[0.30] * photos] * 3,
        "delta_cf": [[10.0] * photos] * 3,
        "ciede2000": [[10.0] * photos] * 3,
        "auc_ab": [[0.90] * photos] * 3,
        "psnr": [[20.0] * photos] * 3,
        "ssim": [[0.9] * photos] * 3,
    }
    grey = {
        "rebalanced_auc": [[0.70] * photos],
        "semantic": [[0.20] * photos],
        "delta_cf": [[40.0] * photos],
        "ciede2000": [[10.5] * photos],
        "auc_ab": [[0.89] * photos],
        "psnr": [[20.0] * photos],
        "ssim": [[0.9] * photos],
    }
    mean_ab = {k: [[v[0][0] * 1.01] * photos] for k, v in grey.items()}
    labels = {"lite0": "Lite0", "grey": "grey", "mean_ab": "mean ab"}

    def check(model_scores, truth_semantic=0.5):
        per_image = _scored(photos, {"Lite0": model_scores, "grey": grey, "mean ab": mean_ab})
        per_image = per_image.assign(semantic_true=truth_semantic)
        summary, spread = study.summarise_seeds(per_image)
        comparison = study.Comparison({"lite0": []}, labels, summary, None, {}, spread=spread)
        comparison.pairs = study.paired_intervals(per_image, labels, ["lite0"])
        return study.goal_check(comparison, "lite0")

    assert check(model) == dict.fromkeys(study.GOAL_PARTS, True)
    # semantic 0.30 against grey 0.20 and originals 0.5: a third of the gap; with originals at 0.7, a fifth
    assert check(model, truth_semantic=0.7)["semantic_gap"] is False
    # CIEDE2000 worse than grey on every photo: a failed 'not worse' part, the others hold
    worse = model | {"ciede2000": [[11.0] * photos] * 3}
    assert check(worse) == dict.fromkeys(study.GOAL_PARTS, True) | {"ciede2000": False}
    # rebalanced AuC above grey on half the photos and below on the other half: no difference, not better
    mixed = model | {"rebalanced_auc": [[0.9, 0.5] * (photos // 2)] * 3}
    assert check(mixed)["rebalanced_auc"] is False and check(mixed)["semantic"] is True


def test_seed_summaries_are_the_mean_and_spread_of_each_seeds_mean_per_split():
    import pandas as pd

    from study.comparison import summarise_seeds

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
    from study import recipes

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


def test_the_selection_rule_gates_on_ciede2000_then_ranks_with_ties_broken_in_order():
    import pandas as pd

    from study import recipes

    photos = 6

    def candidate(name, ciede2000, rebalanced_auc, semantic, delta_cf=20.0):
        per_photo = lambda v: v if isinstance(v, list) else [v] * photos  # noqa: E731
        return pd.DataFrame(
            {
                "photo": [f"p{i}" for i in range(photos)],
                "method": name,
                "recipe": name.split(" @")[0],
                "temperature": 0.38,
                "ciede2000": per_photo(ciede2000),
                "rebalanced_auc": per_photo(rebalanced_auc),
                "semantic": per_photo(semantic),
                "delta_cf": per_photo(delta_cf),
            }
        )

    grey = candidate("grey", 10.0, 0.70, 0.2, 40.0).drop(columns=["recipe", "temperature"])
    scores = pd.concat(
        [
            candidate(
                "vivid but wrong", 12.0, 0.95, 0.5
            ),  # the best AuC, but worse than grey per pixel
            candidate("steady", 10.0, 0.851, 0.30),
            candidate(
                "swinging", 10.0, [0.88, 0.82] * 3, 0.35
            ),  # tied with steady on AuC, more semantic
            candidate("dull", 10.0, 0.80, 0.40),  # clearly lower AuC: its semantic never counts
        ],
        ignore_index=True,
    )
    table = recipes.choose(scores, grey).set_index("method")
    assert table.stage.to_dict() == {
        "swinging": "chosen",
        "steady": "tied on rebalanced AuC, lower semantic agreement",
        "dull": "lower rebalanced AuC",
        "vivid but wrong": "CIEDE2000 worse than grey",
    }
    assert list(table.index)[0] == "swinging"
    assert table.loc["vivid but wrong", "ciede2000_vs_grey"] == pytest.approx(2.0)
    assert table.loc["vivid but wrong", "ciede2000_vs_grey_low"] == pytest.approx(2.0)
    # tied on AuC and on semantic agreement: the smaller ΔCF wins
    twins = pd.concat(
        [candidate("a", 10.0, 0.85, 0.3, 25.0), candidate("b", 10.0, 0.85, 0.3, 15.0)]
    )
    assert recipes.choose(twins, grey).method.iloc[0] == "b"
    # nothing passes the gate: everything is ranked, and nothing is labelled as failing it
    gated = recipes.choose(candidate("x", 12.0, 0.9, 0.3), grey)
    assert gated.stage.tolist() == ["chosen"]


def test_the_recorded_recipe_search_is_read_with_its_machine_and_a_missing_one_says_how_to_make_it(
    tmp_path,
):

    import pandas as pd

    from study.report.tables import recipe_search_table
    from study.report.values import read_recipe_search

    with pytest.raises(
        ConfigError, match="no recorded recipe search there.*python -m study recipes"
    ):
        read_recipe_search(tmp_path)
    search, baselines, values = read_recipe_search()  # the committed record
    assert {"recipe", "temperature", "ciede2000", "rebalanced_auc", "semantic", "stage"} <= set(
        search.columns
    )
    assert {"grey", "mean_ab", "ceiling: input size"} <= set(baselines.index)
    assert "cores" in values["search_machine"]
    fine_tune = json.loads((study_paths.RECIPE_SEARCH / "fine-tune.json").read_text())
    assert values["fine_tune_ciede2000_after"] == fine_tune["ciede2000_after"]
    assert values["fine_tune_epochs"] == fine_tune["epochs"]
    shutil.copytree(
        study_paths.RECIPE_SEARCH,
        tmp_path / "copy",
        ignore=shutil.ignore_patterns("fine-tune.json"),
    )
    _, _, untuned = read_recipe_search(tmp_path / "copy")
    assert math.isnan(untuned["fine_tune_ciede2000_after"]), (
        "not measured: NaN, not a number from elsewhere"
    )
    table = recipe_search_table(search, baselines)
    assert len(table.data) == len(search) + len(baselines)
    assert "baseline: mean_ab" in table.data.index
    # the rule, as recorded: the chosen candidate passed the gate, and choose() picks it again from the
    # recorded per-photo scores
    chosen = search.iloc[0]
    assert chosen.stage == "chosen" and chosen.ciede2000_vs_grey_low <= 0
    from study.recipes import choose

    per_image = pd.read_csv(study_paths.RECIPE_SEARCH / "recipes_per_image.csv")
    references = per_image[per_image.recipe.isna()]
    again = choose(per_image[per_image.recipe.notna()], references)
    assert again.method.iloc[0] == chosen.method
    assert values["search_chosen"] == chosen.recipe
    # a search recorded under the older rule (no stage column) says to rerun it
    old = tmp_path / "old"
    shutil.copytree(study_paths.RECIPE_SEARCH, old)
    search.drop(columns="stage").to_csv(old / "recipes.csv", index=False)
    with pytest.raises(ConfigError, match="older selection rule.*study recipes"):
        read_recipe_search(old)


def test_the_ceilings_give_back_a_flat_photos_colour_and_lose_detail_finer_than_the_input():
    from skimage.color import lab2rgb

    flat = lab2rgb(np.full((48, 72, 3), [60.0, 20.0, -30.0]))  # a bin centre's colour, everywhere
    ceilings = evaluate.ceiling_ab([flat], image_size=32, temperature=1.0)
    assert set(ceilings) == {"input_size", "bins"}
    assert ceilings["input_size"][0].shape == (48, 72, 2)
    np.testing.assert_allclose(
        ceilings["input_size"][0], np.broadcast_to([20.0, -30.0], (48, 72, 2)), atol=0.3
    )
    np.testing.assert_allclose(
        ceilings["bins"][0], np.broadcast_to([20.0, -30.0], (48, 72, 2)), atol=1.5
    )
    assert set(evaluate.ceiling_ab([flat], 32, None)) == {
        "input_size"
    }  # a regression model: no bins
    # stripes one pixel wide: at a quarter of the resolution their colour averages out
    stripes = np.zeros((64, 64, 3))
    stripes[:, ::2] = lab2rgb(np.full((1, 1, 3), [50.0, 60.0, 0.0]))[0, 0]
    stripes[:, 1::2] = lab2rgb(np.full((1, 1, 3), [50.0, -60.0, 0.0]))[0, 0]
    small = evaluate.ceiling_ab([stripes], image_size=16, temperature=None)["input_size"][0]
    assert np.abs(small[..., 0]).mean() < 15 < np.abs(rgb_to_lab(stripes)[..., 1]).mean()


def test_the_landing_strip_samples_the_whole_ranking_by_rule():
    import pandas as pd

    from study.comparison import evenly_ranked

    scores = pd.Series([5.0, 1.0, 9.0, 3.0, 7.0, 0.0, 8.0, 2.0, 6.0, 4.0], index=list("abcdefghij"))
    # ranked 0..9 by score: f b h d j a i e g c; one at the middle of each fifth: ranks 1, 3, 5, 7, 9
    assert evenly_ranked(scores, 5) == ["b", "d", "a", "e", "c"]
    assert evenly_ranked(scores, 1) == ["a"]  # the median
    assert evenly_ranked(scores.iloc[:2], 6) == ["b", "a"]  # fewer photos than asked for: each once


def test_the_models_search_holds_the_vgg16_grid_and_the_newer_candidates_on_one_recipe():
    from study import recipes

    search = recipes.MODELS
    grid = {
        (c.encoder_weights, c.loss, c.decoder)
        for c in (search.config(n) for n in search.candidates if n.startswith("VGG16"))
    }
    assert grid == {
        (w, loss, d)
        for w in (None, "hed")
        for loss in ("mse", "classification")
        for d in ("paper", "skips")
    }
    corner = search.config(recipes.PAPER_CORNER)
    assert (corner.encoder, corner.encoder_weights, corner.loss, corner.decoder) == (
        "vgg16",
        "hed",
        "mse",
        "paper",
    )
    assert corner.learning_rate == 3e-4  # the study's paper model's, not the colour classes' 1e-4
    lite2 = search.config("Lite2, global features", seed=2)
    assert (lite2.encoder, lite2.decoder, lite2.seed) == ("efficientnet-lite2", "global", 2)
    assert (lite2.rebalance_lambda, lite2.temperature, lite2.learning_rate) == (0.8, 0.38, 1e-4)
    assert search.seeds_of(recipes.PAPER_CORNER) == (0, 1, 2) and search.seeds_of("Lite2") == (0,)
    assert search.folder(Path("/r"), "Lite2, global features", 1) == Path(
        "/r/Lite2-global-features-seed1"
    )


def _grid_scores(effect: dict, photos: int = 40, seeds=(0,)) -> pd.DataFrame:
    """Per-photo scores of the VGG16 grid where each factor's alternative adds ``effect[factor key]`` to the
    rebalanced AuC of every photo, on top of photo-to-photo noise every candidate shares."""
    from study import recipes

    rng = np.random.default_rng(3)
    hardness = rng.normal(0, 0.05, photos)
    rows = []
    for name, change in recipes.MODELS.candidates.items():
        if not name.startswith("VGG16"):
            continue
        config = {**recipes.MODELS.base, **change}
        lift = sum(
            effect.get(key, 0.0)
            for _, key, _, alternative, _ in recipes.GRID_FACTORS
            if config[key] == alternative
        )
        for temperature in [None] if config["loss"] == "mse" else [0.25, 0.38]:
            for seed in seeds:
                for photo in range(photos):
                    rows.append(
                        dict(
                            photo=f"p{photo}",
                            recipe=name,
                            method=name,
                            temperature=temperature,
                            seed=seed,
                            # the wrong temperature would show: 0.25 reads back 0.5 higher everywhere
                            rebalanced_auc=0.8
                            + lift
                            + hardness[photo]
                            + (0.5 if temperature == 0.25 else 0.0),
                            semantic=0.2 + hardness[photo],
                            delta_cf=10.0 + rng.normal(0, 0.1),
                            ciede2000=11.0 + rng.normal(0, 0.1),
                        )
                    )
    return pd.DataFrame(rows)


def test_grid_effects_find_the_choice_that_holds_the_colours_back_and_only_it():
    from study import recipes

    effects = recipes.grid_effects(_grid_scores({"loss": 0.04, "decoder": -0.02}, seeds=(0, 1)))
    auc = effects[effects.metric == "rebalanced_auc"].set_index("factor")
    assert auc.loc["loss", "difference"] == pytest.approx(0.04)
    assert auc.loc["decoder", "difference"] == pytest.approx(-0.02)
    assert auc.loc["encoder weights", "difference"] == pytest.approx(0.0, abs=1e-12)
    assert list(auc.verdict) == ["no difference", "better", "worse"]
    assert recipes.holding_back(effects) == ["loss"]
    semantic = effects[effects.metric == "semantic"]
    assert (
        semantic.difference.abs() < 1e-12
    ).all()  # the photos' shared hardness cancels in the pairs


def test_seed_differences_tell_a_change_of_training_from_the_seed_spread():
    """Seed means 1, 2, 3 (baseline) against 2, 3, 4 and 11, 12, 13: a shift of one seed SD is inside the Welch
    interval (+1 +- 2.776 * sqrt(2/3)), a shift of ten is outside it, and each measure's better side is its own."""
    from study import recipes

    rows = []
    for variant, shift in (("all", 0.0), ("near", 1.0), ("far", 10.0), ("below", -10.0)):
        for seed in (0, 1, 2):
            for photo, offset in (
                ("a", -0.5),
                ("b", 0.5),
            ):  # the photos average out to the seed's mean
                value = 1.0 + seed + shift + offset
                rows.append(
                    {"variant": variant, "seed": seed, "photo": photo}
                    | {m: value for m in recipes.SEED_MEASURES}
                )
    table = recipes.seed_differences(pd.DataFrame(rows), "all").set_index(["variant", "measure"])
    half_width = 2.7764451 * math.sqrt(2 / 3)
    near = table.loc[("near", "ciede2000")]
    assert near["difference"] == pytest.approx(1.0)
    assert (near["low"], near["high"]) == pytest.approx((1 - half_width, 1 + half_width), rel=1e-5)
    assert near["verdict"] == "no difference"
    assert table.loc[("all", "semantic"), "mean"] == pytest.approx(2.0)
    assert table.loc[("all", "semantic"), "seed_sd"] == pytest.approx(1.0)
    assert pd.isna(table.loc[("all", "semantic"), "verdict"])
    far = table.loc["far", "verdict"]
    assert dict(far) == {
        "rebalanced_auc": "better",
        "semantic": "better",
        "delta_cf": "worse",
        "ciede2000": "worse",
        "colourfulness": "more",
    }
    assert dict(table.loc["below", "verdict"]) == {
        "rebalanced_auc": "worse",
        "semantic": "worse",
        "delta_cf": "better",
        "ciede2000": "better",
        "colourfulness": "less",
    }


def test_grid_effects_refuse_an_unfinished_grid():
    from study import recipes

    scores = _grid_scores({})
    with pytest.raises(ValueError, match="unbalanced"):
        recipes.grid_effects(scores[scores.recipe != recipes.PAPER_CORNER])


def test_every_grid_model_is_set_against_grey_photo_by_photo():
    from study import recipes

    scores = _grid_scores({"loss": 0.04})
    grey = scores[scores.recipe == recipes.PAPER_CORNER].assign(
        method="grey", recipe=None, rebalanced_auc=lambda f: f.rebalanced_auc - 0.01
    )
    pairs = recipes.grid_against(pd.concat([scores, grey]))
    auc = pairs[pairs.metric == "rebalanced_auc"].set_index("model")
    assert len(auc) == 8
    assert auc.loc[recipes.PAPER_CORNER, "difference"] == pytest.approx(0.01, abs=1e-9)
    assert auc.loc["VGG16 HED, classification, skips", "difference"] == pytest.approx(0.05)
    assert auc.loc["VGG16 HED, classification, skips", "verdict"] == "better"
