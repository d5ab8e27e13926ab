import json
import os

import keras
import numpy as np
import pytest

from colourlib import paths
from colourlib.callbacks import TrainingDiverged, read_history
from colourlib.config import ConfigError, TrainConfig
from colourlib.data import dataset as dataset_module
from colourlib.data.dataset import ColourBatches, PhotoCrops
from colourlib.encoders.vgg16 import preprocess as vgg16_preprocess
from colourlib.runs import RunFolder
from colourlib.train import VALIDATION_SEED, train, validation_arrays
from study.config import preset_config

TINY = dict(image_size=32, batch_size=8, crops_per_photo=2, val_crops_per_photo=2, max_photos=23)


def losses(history, key="loss"):
    return np.array([float(h[key]) for h in history])


def test_a_run_writes_its_record(tmp_path):
    config = TrainConfig.from_dict({**TINY, "epochs": 2})
    result = train(config, tmp_path / "run", print_progress=False)
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text()) == config.to_dict()
    env = json.loads((run / "environment.json").read_text())
    assert {
        "date",
        "cpu",
        "cpu_cores",
        "memory_gib",
        "accelerators",
        "versions",
        "git",
        "keras_backend",
    } <= set(env)
    assert env["versions"]["keras"] == keras.__version__
    data = json.loads((run / "data.json").read_text())
    assert data["counts"] == {"train": 19, "val": 4, "test": 55, "skipped": 0}
    history = read_history(run / "history.csv")
    assert [int(h["epoch"]) for h in history] == [0, 1]
    assert all(float(h["images_per_s"]) > 0 and float(h["train_seconds"]) > 0 for h in history)
    assert all(np.isfinite(losses(history, "val_loss")))
    assert (run / RunFolder.WEIGHTS).is_file() and not (run / "backup").exists()
    assert result.final_val_loss == pytest.approx(float(history[-1]["val_loss"]))


def test_bad_parameters_are_rejected_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="image_size=48"):
        train(TrainConfig(image_size=48), tmp_path / "run")
    assert not (tmp_path / "run").exists()


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_an_interrupted_run_resumes_at_its_last_finished_epoch(tmp_path, coded_photos):
    config = TrainConfig.from_dict({**TINY, "epochs": 3, "data_dir": str(coded_photos)})
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "run", print_progress=False, extra_callbacks=[Interrupt()])
    state = json.loads((tmp_path / "run" / "backup" / "state.json").read_text())
    assert state == {"epoch": 2, "weights": "epoch-0002.weights.h5"}
    resumed = train(config, tmp_path / "run", print_progress=False)
    assert [int(h["epoch"]) for h in resumed.history] == [0, 1, 2]
    straight = train(config, tmp_path / "straight", print_progress=False)
    # resumed from the weights and optimizer state saved after epoch 2: the same numbers, to the last digit
    assert [(h["loss"], h["val_loss"]) for h in resumed.history] == [
        (h["loss"], h["val_loss"]) for h in straight.history
    ]


def test_nan_loss_stops_the_run_with_a_clear_error(tmp_path, monkeypatch, coded_photos):
    real_split = dataset_module.split_lab
    monkeypatch.setattr(
        dataset_module, "split_lab", lambda rgb: (real_split(rgb)[0], real_split(rgb)[1] * np.nan)
    )
    config = TrainConfig.from_dict({**TINY, "epochs": 2, "data_dir": str(coded_photos)})
    with pytest.raises(
        TrainingDiverged, match=r"loss became nan at epoch 1, batch 1.*Fix: lower learning_rate"
    ):
        train(config, tmp_path / "run", print_progress=False)


def test_cached_features_give_the_same_losses_as_the_full_model(tmp_path, coded_photos):
    frozen = {
        **TINY,
        "epochs": 2,
        "data_dir": str(coded_photos),
        "encoder_trainable": False,
        "augment": False,
    }
    full = train(TrainConfig.from_dict(frozen), tmp_path / "full", print_progress=False)
    cached = train(
        TrainConfig.from_dict({**frozen, "cache_features": True}),
        tmp_path / "cached",
        print_progress=False,
    )
    np.testing.assert_allclose(losses(cached.history), losses(full.history), rtol=1e-4)
    np.testing.assert_allclose(
        losses(cached.history, "val_loss"), losses(full.history, "val_loss"), rtol=1e-4
    )


def test_a_tiny_run_beats_the_mean_ab_baseline_on_held_out_crops(tmp_path, coded_photos):
    config = TrainConfig.from_dict(
        {
            **TINY,
            "epochs": 12,
            "crops_per_photo": 8,
            "data_dir": str(coded_photos),
            "encoder_trainable": False,
            "augment": False,
            "cache_features": True,
        }
    )
    result = train(config, tmp_path / "run", print_progress=False)
    train_crops = PhotoCrops(result.photos.train, 32, 8, config.seed, augment=False)
    val_crops = PhotoCrops(
        result.photos.val, 32, config.val_crops_per_photo, VALIDATION_SEED, augment=False
    )
    mean_ab = validation_arrays(train_crops, vgg16_preprocess, 8, 0)[1].reshape(-1, 2).mean(axis=0)
    val_ab = validation_arrays(val_crops, vgg16_preprocess, 8, 0)[1]
    baseline_mse = float(np.mean((val_ab - mean_ab) ** 2))
    assert result.final_val_loss < 0.5 * baseline_mse, (result.final_val_loss, baseline_mse)


@pytest.mark.skipif(
    os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper().startswith("AVX2"),
    reason="ONEDNN_MAX_CPU_ISA=AVX2 emulation: TensorFlow sees the CPU's bf16 support and picks "
    "oneDNN's bf16 convolution, which the capped oneDNN cannot create",
)
def test_mixed_bfloat16_trains_and_leaves_the_global_policy_alone(tmp_path, coded_photos):
    config = TrainConfig.from_dict(
        {**TINY, "epochs": 1, "data_dir": str(coded_photos), "precision": "mixed_bfloat16"}
    )
    result = train(config, tmp_path / "run", print_progress=False)
    assert result.model.get_layer("encoder").layers[1].compute_dtype == "bfloat16"
    assert result.model.output.dtype == "float32"  # the tanh output layer stays float32
    assert np.isfinite(result.final_val_loss)
    assert keras.config.dtype_policy().name == "float32"


def test_run_folders_are_named_from_the_configuration_and_reuse_needs_the_same_code(
    tmp_path, monkeypatch
):
    from colourlib import runs
    from colourlib.provenance import code_fingerprint

    config = preset_config("tiny", gpus=2, workers=4, use_multiprocessing=True)
    name = runs.run_name(config)
    assert name.startswith("tiny-gpus2-workers4-processes-") and len(name.rsplit("-", 1)[1]) == 8
    assert runs.run_name(preset_config("tiny", gpus=2, workers=4, use_multiprocessing=True)) == name
    assert (
        runs.run_name(preset_config("tiny", gpus=2, workers=4, use_multiprocessing=True, seed=1))
        != name
    )
    monkeypatch.setenv("COLOURLIB_RUNS", str(tmp_path))
    assert RunFolder.default(config).path == tmp_path / "train" / name

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    config.save(run.config_file)
    run.weights_file.write_bytes(b"w")
    run.write_json(run.TIMING, {})
    run.history_file.write_text("epoch,loss,val_loss\n0,1,1\n")
    run.write_json(run.ENVIRONMENT, {"code_fingerprint": code_fingerprint()})
    assert not run.is_finished() and not run.is_reusable(config), "one epoch of two is not finished"
    run.history_file.write_text("epoch,loss,val_loss\n0,1,1\n1,1,1\n")
    assert run.is_finished() and run.is_reusable(config)
    assert not run.is_reusable(preset_config("tiny")), "another configuration is not reused"
    run.write_json(run.ENVIRONMENT, {"code_fingerprint": "0" * 16})
    assert not run.is_reusable(config), "a run made by other code is not reused"
    assert run.path.is_dir(), "asking never deletes"


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_the_classification_loss_learns_the_colours_and_records_its_weights(tmp_path, coded_photos):
    from colourlib.colour import rgb_to_lab
    from colourlib.colouriser import Colouriser

    # 313 classes learn more slowly than 2 numbers: 40 epochs of cached features (a few seconds) where MSE needs 12
    config = TrainConfig.from_dict(
        {
            **TINY,
            "epochs": 40,
            "crops_per_photo": 8,
            "data_dir": str(coded_photos),
            "encoder_trainable": False,
            "augment": False,
            "cache_features": True,
            "loss": "classification",
        }
    )
    result = train(config, tmp_path / "run", print_progress=False)
    assert result.model.output_shape == (None, 8, 8, 313), (
        "logits of the 313 bins at a quarter of 32 px"
    )
    run = RunFolder(result.run_dir)
    record = run.read_json(run.CLASS_WEIGHTS)
    histogram, weights = np.array(record["histogram"]), np.array(record["weights"])
    assert histogram.shape == weights.shape == (313,) and histogram.sum() == pytest.approx(1)
    assert weights[histogram.argmax()] == weights.min(), "the commonest colour weighs least"

    colouriser = Colouriser.from_run(run.path)
    assert colouriser.classes
    crops = PhotoCrops(result.photos.val, 32, 4, VALIDATION_SEED, augment=False)
    rgbs = [np.asarray(crops.crop(i, 0), np.float32) / 255 for i in range(len(crops))]
    truth = np.stack([rgb_to_lab(rgb)[..., 1:] for rgb in rgbs])
    predicted = np.stack(colouriser.predict_ab(rgbs))
    assert predicted.shape == truth.shape  # upsampled from 8 x 8 to each crop's size
    train_crops = PhotoCrops(result.photos.train, 32, 4, config.seed, augment=False)
    mean_ab = np.mean(
        [
            rgb_to_lab(np.asarray(train_crops.crop(i, 0), np.float32) / 255)[..., 1:]
            for i in range(len(train_crops))
        ],
        axis=(0, 1, 2),
    )
    assert np.mean((predicted - truth) ** 2) < 0.5 * np.mean((mean_ab - truth) ** 2)


def test_a_run_keeps_its_best_validation_epochs_weights_and_says_so(tmp_path):
    """A learning rate far too high makes the validation loss jump about: the weights kept must be those of the
    epoch with the lowest validation loss, whichever it was."""
    import json

    from colourlib.runs import RunFolder, best_epoch

    config = TrainConfig.from_dict(
        {
            **TINY,
            "epochs": 4,
            "learning_rate": 0.05,
            "encoder_trainable": False,
            "cache_features": True,
        }
    )
    result = train(config, tmp_path / "run", print_progress=False)
    timing = json.loads((tmp_path / "run" / "timing.json").read_text())
    best = best_epoch(result.history)
    assert timing["weights_epoch"] == best and "lowest validation loss" in timing["weights"]
    assert timing["weights_val_loss"] == pytest.approx(
        float(result.history[best - 1]["val_loss"]), rel=1e-6
    )
    model, _ = RunFolder(tmp_path / "run").load_model()
    val_crops = PhotoCrops(
        result.photos.val, 32, config.val_crops_per_photo, VALIDATION_SEED, augment=False
    )
    batches = ColourBatches(
        val_crops, config.batch_size, vgg16_preprocess, config.seed, shuffle=False
    )
    x = np.concatenate([batches[i][0] for i in range(batches.steps_per_epoch)])
    y = np.concatenate([batches[i][1] for i in range(batches.steps_per_epoch)])
    model.compile(loss="mse")
    assert model.evaluate(x, y, verbose=0, batch_size=config.batch_size) == pytest.approx(
        timing["weights_val_loss"], rel=1e-4
    )


def test_cached_features_of_augmented_crops_are_drawn_once_and_feed_the_skip_decoder(tmp_path):
    from colourlib.data.dataset import ArrayBatches

    crops = PhotoCrops(
        sorted((paths.PHOTOS_DIR / "train").glob("*"))[:2],
        32,
        6,
        seed=3,
        augment=True,
        vary_by_epoch=False,
    )
    assert all(
        np.array_equal(np.asarray(crops.crop(s, 0)), np.asarray(crops.crop(s, 5)))
        for s in range(12)
    )
    varying = PhotoCrops(crops.files, 32, 6, seed=3, augment=True)
    assert not all(
        np.array_equal(np.asarray(varying.crop(s, 0)), np.asarray(varying.crop(s, 1)))
        for s in range(12)
    )
    parts = (np.arange(10)[:, None] * np.ones((10, 3)), np.arange(10)[:, None] * np.ones((10, 2)))
    x, y = ArrayBatches(parts, np.arange(10), 4, seed=0)[0]
    assert isinstance(x, tuple) and np.array_equal(x[0][:, 0], y) and np.array_equal(x[1][:, 0], y)

    config = TrainConfig.from_dict(
        {
            **TINY,
            "epochs": 1,
            "encoder_trainable": False,
            "cache_features": True,
            "decoder": "skips",
            "encoder": "efficientnet-lite0",
        }
    )
    result = train(config, tmp_path / "skips", print_progress=False)
    decoder = result.model.get_layer("decoder")
    assert [tuple(i.shape[1:]) for i in decoder.inputs] == [(4, 4, 40), (2, 2, 112), (1, 1, 1280)]
    assert result.model.output.shape[1:] == (32, 32, 2)


def test_cached_features_are_encoded_once_for_every_seed_and_a_broken_cache_is_recomputed(
    tmp_path, monkeypatch
):
    from colourlib import feature_cache

    monkeypatch.setenv("COLOURLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("COLOURLIB_CACHE", str(tmp_path / "cache"))
    encoded = []
    real_encode = feature_cache.encode
    monkeypatch.setattr(
        feature_cache, "encode", lambda *args: encoded.append(1) or real_encode(*args)
    )
    config = preset_config("tiny", encoder_trainable=False, cache_features=True, epochs=1)
    first = train(config, tmp_path / "seed0", print_progress=False)
    assert len(encoded) == 2  # training crops and validation crops
    caches = sorted((tmp_path / "cache" / "features").glob("features-*.npz"))
    assert len(caches) == 2
    second = train(
        TrainConfig.from_dict({**config.to_dict(), "seed": 1}),
        tmp_path / "seed1",
        print_progress=False,
    )
    assert len(encoded) == 2, "the second seed reads the first one's features"
    assert (
        first.history[0]["loss"] != second.history[0]["loss"]
    )  # the seed still changes the decoder's run
    for cache in caches:
        cache.write_bytes(b"not an npz file")
    third = train(
        TrainConfig.from_dict({**config.to_dict(), "seed": 2}),
        tmp_path / "seed2",
        print_progress=False,
    )
    assert len(encoded) == 4 and np.isfinite(float(third.history[0]["loss"]))
    with np.load(caches[0]) as saved:  # rewritten whole
        assert int(saved["parts"]) >= 1
    assert feature_cache.CROP_SEED == 0
