import pytest

from colourlib.config import PRESETS, ConfigError, TrainConfig, colouring_config


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("image_size", 100, "multiple of 32"),
        ("image_size", 16, "integer >= 32"),
        ("batch_size", 0, "integer >= 1"),
        ("batch_size", 2.5, "integer >= 1"),
        ("epochs", 0, "integer >= 1"),
        ("workers", 0, "integer >= 1"),
        ("encoder", "inception", "one of efficientnet-lite0, efficientnet-lite2, vgg16"),
        ("precision", "float16", "one of float32, mixed_bfloat16"),
        ("learning_rate", 0, "between 0 and 1"),
        ("encoder_weights", "/no/such/file.h5", "existing weights file"),
        ("data_dir", "/no/such/folder", "existing folder"),
        ("augment", "yes", "True or False"),
        ("loss", "mse2", "one of mse, mae, classification"),
        (
            "data_dir",
            "",
            "an empty string names no file or folder",
        ),  # would be the current folder, recursively
        ("encoder_weights", " ", "an empty string names no file or folder"),
        ("max_photos", 1, "integer >= 2"),
    ],
)
def test_bad_values_are_rejected_naming_parameter_and_allowed_values(name, value, allowed):
    with pytest.raises(ConfigError, match=rf"{name}={value!r}.*{allowed}"):
        TrainConfig.from_dict({name: value})


def test_unknown_keys_are_errors():
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) epoch, lr.*Allowed:"):
        TrainConfig.from_dict({"epoch": 3, "lr": 0.1})


def test_cached_features_need_a_frozen_encoder_and_fixed_crops():
    with pytest.raises(ConfigError, match="cache_features=True needs encoder_trainable=False"):
        TrainConfig.from_dict({"cache_features": True})
    TrainConfig.from_dict({"cache_features": True, "encoder_trainable": False, "augment": False})
    TrainConfig.from_dict(
        {"cache_features": True, "encoder_trainable": False}
    )  # augmented crops drawn once
    with pytest.raises(
        ConfigError, match="decoder='unet' is not allowed: one of paper, skips, global"
    ):
        TrainConfig.from_dict({"decoder": "unet"})


def test_presets():
    quick = TrainConfig.preset_config("quick")
    assert (quick.image_size, quick.preset) == (64, "quick")
    paper = TrainConfig.preset_config("paper", epochs=2)
    assert (paper.image_size, paper.batch_size, paper.epochs) == (224, 64, 2)
    assert PRESETS["paper"]["epochs"] == 1000
    with pytest.raises(
        ConfigError, match="preset='fast' is not known. Allowed: tiny, quick, paper"
    ):
        TrainConfig.preset_config("fast")


def test_colouring_models_share_photos_resolution_and_schedule_and_differ_in_their_recipe():
    vgg, lite = colouring_config("vgg16", "quick"), colouring_config("lite0", "quick")
    shared = (
        "image_size",
        "max_photos",
        "crops_per_photo",
        "val_crops_per_photo",
        "epochs",
        "batch_size",
        "cache_features",
        "encoder_trainable",
        "augment",
        "val_fraction",
    )
    assert (
        [getattr(vgg, k) for k in shared] == [getattr(lite, k) for k in shared]
    )  # a fair comparison; the learning rate belongs to each recipe (the search chose the default's)
    assert (vgg.encoder, vgg.decoder, vgg.loss) == ("vgg16", "paper", "mse")  # the paper's model
    assert (lite.encoder, lite.encoder_weights, lite.image_size, lite.max_photos) == (
        "efficientnet-lite0",
        "imagenet",
        160,
        0,
    )
    assert colouring_config("lite0", "quick", seed=2).seed == 2
    assert (
        colouring_config("lite0", "tiny").epochs == PRESETS["tiny"]["epochs"]
    )  # the smoke test stays small
    with pytest.raises(
        ConfigError, match="colouring model 'resnet' is not known. Allowed: vgg16, lite0"
    ):
        colouring_config("resnet", "quick")


@pytest.mark.parametrize("which", ["recipes", "models"])
def test_the_default_colouring_model_is_the_recorded_searches_winner(which):
    """Both recorded searches (Lite0's recipes, then the encoders and decoders) chose, by the rule on the
    validation photos, exactly the configuration the study trains as its default."""
    import dataclasses

    import pandas as pd

    from colourlib.config import colouring_config
    from study.recipes import SEARCHES, candidate_config

    search = SEARCHES[which]
    winner = pd.read_csv(search.recorded / "recipes.csv").iloc[0]
    assert winner.stage == "chosen"  # the selection rule's pick (study/recipes.py, choose)
    temperature = float(winner.temperature) if pd.notna(winner.temperature) else None
    chosen = candidate_config(winner.recipe, temperature=temperature, search=search)
    default = colouring_config("lite0", "quick")
    differ = {
        f.name
        for f in dataclasses.fields(default)
        if getattr(default, f.name) != getattr(chosen, f.name)
    }
    assert differ == set(), (
        f"the default colouring model differs from the {which} search's winner in {sorted(differ)}"
    )


def test_loader_counts_are_written_as_a_person_writes_them():
    from study.report.words import count_loaders

    assert (
        count_loaders(1, "threads") == "1 thread" and count_loaders(4, "processes") == "4 processes"
    )
    assert count_loaders(1, "processes", "loading") == "1 loading process"
    assert count_loaders(2, "threads", "loading") == "2 loading threads"


def test_the_cli_prints_a_users_mistake_as_one_line_and_lets_a_bug_raise(
    monkeypatch, capsys, tmp_path
):
    from colourlib import ColourlibError, ConfigError
    from colourlib.apps import cli
    from colourlib.data.photos import DataError
    from colourlib.runs import RunFolderError

    assert all(issubclass(e, ColourlibError) for e in (ConfigError, DataError, RunFolderError))
    assert cli.main(["train", str(tmp_path / "run"), "--preset", "tiny", "-p", "epochs=0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: preset 'tiny': epochs=0 is not allowed: an integer >= 1."
    ]

    def bug(args):
        raise ValueError("a bug in the library")

    monkeypatch.setattr(cli, "_run_train", bug)
    with pytest.raises(ValueError, match="a bug in the library"):
        cli.main(["train", str(tmp_path / "run")])


def test_a_notebook_builds_its_configuration_from_its_parameters_cell():
    from colourlib.config import TrainConfig

    namespace = {
        "preset": "tiny",
        "gpus": 1,
        "epochs": None,
        "seed": 3,
        "run_dir": "x",
        "force": False,
        "__name__": "__main__",
        "TrainConfig": TrainConfig,
    }  # what a notebook's globals() hold
    config = TrainConfig.from_notebook(namespace, "train.ipynb parameters")
    assert config == TrainConfig.preset_config("tiny", seed=3)  # None: the preset's value
    with pytest.raises(ConfigError, match=r"^train.ipynb parameters: epochs=0 is not allowed"):
        TrainConfig.from_notebook({**namespace, "epochs": 0}, "train.ipynb parameters")
