import pytest

from colourlib.config import ConfigError, TrainConfig
from study.config import colouring_config, load, notebook_config, preset_config


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
    quick = preset_config("quick")
    assert (quick.image_size, quick.preset) == (64, "quick")
    paper = preset_config("paper", epochs=2)
    assert (paper.image_size, paper.batch_size, paper.epochs) == (224, 64, 2)
    assert load().presets["paper"]["epochs"] == 1000
    with pytest.raises(
        ConfigError, match="preset='fast' is not known. Allowed: tiny, quick, paper"
    ):
        preset_config("fast")


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
        colouring_config("lite0", "tiny").epochs == load().presets["tiny"]["epochs"]
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
    assert cli.main(["train", str(tmp_path / "run"), "-p", "epochs=0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: colourlib train: epochs=0 is not allowed: an integer >= 1."
    ]

    def bug(args):
        raise ValueError("a bug in the library")

    monkeypatch.setattr(cli, "run_train", lambda args, config: bug(args))
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
    config = notebook_config(namespace, "train.ipynb parameters")
    assert config == preset_config("tiny", seed=3)  # None: the preset's value
    with pytest.raises(ConfigError, match=r"^train.ipynb parameters: epochs=0 is not allowed"):
        notebook_config({**namespace, "epochs": 0}, "train.ipynb parameters")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("presets:\n", "presetz: {}\npresets:\n", r"unknown key\(s\) presetz"),
        (
            "  tiny: {image_size: 32,",
            "  tiny: {image_sise: 32,",
            r"preset 'tiny': unknown key\(s\) image_sise",
        ),
        ("  tiny: {image_size: 32,", "  tiny: {image_size: 30,", r"preset 'tiny': image_size=30"),
        (
            "    vgg16: {encoder_weights: hed,",
            "    vgg16: {encoder_weights: hed, decoder: unet,",
            r"colouring model 'vgg16': decoder='unet' is not allowed",
        ),
        (
            "    tiny: {learning_rate: 3.0e-4}",
            "    huge: {learning_rate: 3.0e-4}",
            r"at_preset: unknown key\(s\) huge",
        ),
        (
            "seeds: {quick: [0, 1, 2],",
            "seeds: {quick: [0, 0],",
            r"seeds 'quick'=\[0, 0\] is not allowed",
        ),
        ("seeds: {quick: [0, 1, 2],", "seeds: {quick: ['0'],", r"seed='0' is not allowed"),
        ("  seeds: {quick:", "  seedz: {quick:", r"colouring: unknown key\(s\) seedz"),
        (
            "  timing: {steps: 4,",
            "  timing: {stepz: 4,",
            r"parallel: timing: unknown key\(s\) stepz",
        ),
        ("presets:\n  tiny:", "presets:\n  quick: {}\n  tiny:", r"key 'quick' appears twice"),
        (
            "    vgg16: {encoder_weights: hed,",
            "    vgg16: {seed: 3, encoder_weights: hed,",
            r"colouring model 'vgg16': unknown key\(s\) seed",
        ),
        ("    lite0:\n", "    lite1:\n", r"colouring models lacks lite0"),
    ],
)
def test_the_study_file_is_validated_whole_with_one_line_errors(tmp_path, old, new, message):
    from study import paths as study_paths
    from study.matrix import load_matrix

    text = study_paths.STUDY_CONFIG.read_text()
    assert old in text, f"study.yaml no longer holds {old!r}: update this test"
    path = tmp_path / "study.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as caught:
        load_matrix(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_the_study_file_is_the_one_home_of_presets_models_and_seeds():
    study = load()
    assert list(study.presets) == ["tiny", "quick", "paper"] and list(study.models) == [
        "vgg16",
        "lite0",
    ]
    lite0 = colouring_config("lite0", "quick", seed=1)
    # preset, then what both models use at it, then the model's own: the later wins
    assert (lite0.image_size, lite0.learning_rate, lite0.epochs, lite0.seed) == (160, 1e-4, 3, 1)
    assert lite0.preset == "quick" and study.colouring_seeds("quick") == (0, 1, 2)
    import colourlib.config

    assert not hasattr(colourlib.config, "PRESETS"), "the library has no presets of its own"
