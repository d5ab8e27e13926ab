"""The tables the book shows beside the prose: a run's parameters and the departures from the paper's scale."""

from __future__ import annotations

from types import SimpleNamespace

from colourlib import paths
from colourlib.config import TrainConfig
from study import config as study_config
from study.config import colouring_config
from study.matrix import load_matrix
from study.report.tables import config_table, scale_departures


def test_a_runs_parameters_are_shown_once_side_by_side_with_paths_relative_to_the_repository():
    config = TrainConfig.from_dict({"data_dir": str(paths.PHOTOS_DIR / "train"), "epochs": 5})
    shown_table = config_table(config, columns=3)
    assert (
        "colourlib/photos/train" in shown_table.to_html()
    )  # renders, though its column names repeat
    table = shown_table.data
    assert list(table.columns) == ["parameter", "value"] * 3
    names = [n for c in range(3) for n in table.iloc[:, 2 * c] if n]
    assert names == list(
        config.to_dict()
    )  # each parameter exactly once, in the configuration's order
    shown = {
        n: v for c in range(3) for n, v in zip(table.iloc[:, 2 * c], table.iloc[:, 2 * c + 1]) if n
    }
    assert shown["data_dir"] == "colourlib/photos/train" and shown["epochs"] == "5"
    assert shown["encoder_weights"] == "random" and shown["decoder"] == "paper"
    assert len(table) == -(-len(names) // 3)


def test_the_departures_tables_encoders_are_the_configurations_that_ran(monkeypatch):
    from study.report import tables

    row = tables.encoders_row("quick")
    for model in study_config.load().models:
        ran = colouring_config(model, "quick")
        assert tables.encoder_phrase(ran.encoder, ran.encoder_weights) in row
    assert (
        "VGG16 with HED's trained weights" in row and "random" not in row
    )  # the stale claim, caught
    assert "both frozen, their features computed once" in row
    monkeypatch.setitem(
        study_config.load().models,
        "vgg16",
        {
            **study_config.load().models["vgg16"],
            "encoder_weights": None,
            "encoder_trainable": True,
            "cache_features": False,
        },
    )
    row = tables.encoders_row("quick")
    assert (
        "VGG16 with random weights" in row and "VGG16 trained" in row and "both frozen" not in row
    )


def test_the_departures_table_states_the_papers_scale_and_this_studys_from_their_sources():
    photos = SimpleNamespace(train=[0] * 374, val=[0] * 66, test=[0] * 55)
    shown = scale_departures(
        photos, colouring_config("lite0", "quick"), 3, load_matrix(), "a 2-core CPU"
    )
    table = shown.data
    assert (
        "..." not in shown.to_html() and table.loc["augmentation", "this study"] in shown.to_html()
    )  # whole
    assert list(table.columns) == ["the paper", "this study"]
    assert table.loc["training photos", "the paper"].startswith("7,000")
    assert table.loc["training photos", "this study"].startswith("374 training and 66 validation")
    assert table.loc["image size"].tolist() == [
        "224 px",
        "160 px for the colouring models, 64 px for the speed timings",
    ]
    assert (
        table.loc["one epoch", "the paper"]
        == "109 steps of 64: 6,976 of its 7,000 photos, each once"
    )
    assert (
        table.loc["one epoch", "this study"]
        == "1,496 crops (4 of each training photo), 94 steps of 16"
    )
    assert "whole network: 4 steps after 2 warm-up steps" in table.loc["epochs", "this study"]
    assert "cached features: 30 steps after 5" in table.loc["epochs", "this study"]
    assert "the paper's generator: 20 steps after 4" in table.loc["epochs", "this study"]
    assert (
        "35%-100%" in table.loc["augmentation", "this study"]
        and "drawn once" in table.loc["augmentation", "this study"]
    )
    assert (
        table.loc["repeats", "this study"]
        == "3 seeds per colouring model; each speed timing 3 times, in "
        "fresh processes"
    )
    assert table.loc["hardware", "this study"] == "a 2-core CPU"


def test_the_licence_table_attributes_every_photo_not_just_the_first_and_last_rows():
    from colourlib.data.photos import load_photo_set
    from study.report.tables import licences

    photos = load_photo_set(None, 32)
    shown = licences(photos)
    assert (
        len(shown.data) == len(photos.train) + len(photos.val) + len(photos.test) + 2
    )  # + the 2 b/w photos
    html = shown.to_html()
    assert all(name in html for name in shown.data.photo) and "..." not in html


def test_the_reproducibility_table_says_when_a_run_could_use_fewer_cores_than_the_machine_has():
    from colourlib.provenance import environment_record
    from study.report.tables import environment_table

    env = {**environment_record(), "cpu_cores": 1, "machine_cores": 2}  # as under `taskset -c 0`
    table = environment_table({"environment": env, "started": "2026-11-26T12:00:00+00:00"}).data
    assert table.set_index("what").loc["cores", "value"] == "1 core of 2"
    older = {
        k: v for k, v in env.items() if k != "machine_cores"
    }  # a record written before machine_cores
    assert (
        environment_table({"environment": older, "started": "x"})
        .data.set_index("what")
        .loc["cores", "value"]
        == "1 core"
    )


def test_the_scale_checks_table_shows_the_default_and_each_change_from_it():
    """The default's row is its means ± seed SD; a variant's cell is its difference with the interval, with the
    verdict only where the interval is clear of zero; one column per measure, one row per variant."""
    import pandas as pd

    from study.recipes import SEED_MEASURES
    from study.report.tables import scale_checks_table

    rows = []
    for measure in SEED_MEASURES:
        rows.append(dict(variant="all", measure=measure, seeds=3, mean=12.0, seed_sd=0.25))
        rows.append(
            dict(variant="half", measure=measure, seeds=3, mean=12.7, seed_sd=0.3, difference=0.7)
            | dict(
                low=0.01, high=1.4, verdict="worse" if measure == "ciede2000" else "no difference"
            )
        )
    shown = scale_checks_table(pd.DataFrame(rows), {"all": 374, "half": 187, "quarter": 93}).data
    assert list(shown.index) == ["the default (374 photos)", "half the photos (187)"]
    assert shown.loc["the default (374 photos)", "CIEDE2000 ↓"] == "12.00 ± 0.25"
    assert shown.loc["half the photos (187)", "CIEDE2000 ↓"] == "+0.700 [+0.010, +1.400] worse"
    assert shown.loc["half the photos (187)", "semantic ↑"] == "+0.7000 [+0.0100, +1.4000]"
    assert len(shown.columns) == len(SEED_MEASURES)


def test_the_test_photos_source_counts_where_they_come_from():
    from colourlib.data.photos import load_photo_set, wheel_test_photos
    from study.report.tables import photo_splits

    photos = load_photo_set(None, 64)
    row = photo_splits(photos).set_index("split").loc["test (held out)", "source"]
    wheels = len(wheel_test_photos())
    assert row == f"{len(photos.test) - wheels} embedded, {wheels} from installed wheels"
    assert 0 < wheels < len(photos.test)
