from pathlib import Path

import keras
import numpy as np
import pytest

from colourlib.data.augment import Augmentation, sample_crop
from colourlib.data.dataset import ColourBatches, EpochOrder, PhotoCrops
from colourlib.data.photos import open_rgb8
from colourlib.encoders.vgg16 import preprocess as vgg16_preprocess


def test_epoch_order_serves_every_sample_once_per_epoch():
    order = EpochOrder(n_samples=23, batch_size=5, seed=3)
    assert order.batches_per_epoch == 5
    for epoch in range(3):
        ids = np.concatenate([order.batch(epoch * 5 + k)[1] for k in range(5)])
        assert sorted(ids) == list(range(23))
        assert order.batch(epoch * 5)[0] == epoch
    assert not np.array_equal(order.permutation(0), order.permutation(1))
    np.testing.assert_array_equal(EpochOrder(23, 5, 3, shuffle=False).permutation(4), np.arange(23))


def crops(folder, augment=True, size=32):
    files = sorted(Path(folder).glob("*.png"))[:6]
    return PhotoCrops(files, size, crops_per_photo=3, seed=1, augment=augment)


def test_batches_have_the_encoder_input_and_ab_target(coded_photos):
    ds = ColourBatches(crops(coded_photos), 4, vgg16_preprocess, seed=0)
    x, y = ds[0]
    assert x.shape == (4, 32, 32, 3) and y.shape == (4, 32, 32, 2)
    np.testing.assert_allclose(
        x[..., 0] + 103.939, x[..., 2] + 123.68, atol=1e-4
    )  # grey: B == R before mean
    assert np.abs(y).max() <= 1.0
    assert ds.steps_per_epoch == 5 and ds[4][0].shape[0] == 2  # 18 samples: the last batch is short


def test_batches_are_pure_functions_of_seed_epoch_and_index(coded_photos):
    a = ColourBatches(crops(coded_photos), 4, vgg16_preprocess, seed=0)
    b = ColourBatches(crops(coded_photos), 4, vgg16_preprocess, seed=0)
    np.testing.assert_array_equal(a[7][1], b[7][1])
    resumed = ColourBatches(crops(coded_photos), 4, vgg16_preprocess, seed=0, start_epoch=1)
    np.testing.assert_array_equal(a[5][1], resumed[0][1])  # epoch 1 batch 0, however it is reached


def test_augmentation_changes_crops_between_epochs_only_when_on(coded_photos):
    on, off = crops(coded_photos, True), crops(coded_photos, False)
    assert not np.array_equal(np.asarray(on.crop(0, 0)), np.asarray(on.crop(0, 1)))
    np.testing.assert_array_equal(np.asarray(off.crop(0, 0)), np.asarray(off.crop(0, 5)))


def test_unaugmented_full_scale_crop_is_the_centred_square(coded_photos):
    photo = open_rgb8(sorted(coded_photos.glob("*.png"))[0])
    crop = sample_crop(photo, 96, np.random.default_rng(0), Augmentation.none())
    np.testing.assert_allclose(np.asarray(crop, float), np.asarray(photo, float), atol=1)


class TracedBatches(ColourBatches):
    """Writes which samples each served batch held, from whichever thread or process served it."""

    trace_dir: Path

    def __getitem__(self, index):
        epoch, ids = self.samples(index)
        np.save(self.trace_dir / f"{index}.npy", np.array([epoch, *ids]))
        return super().__getitem__(index)


def fit_traced(coded_photos, trace_dir, workers, use_multiprocessing, epochs=3):
    keras.utils.set_random_seed(0)
    ds = TracedBatches(
        crops(coded_photos),
        4,
        vgg16_preprocess,
        seed=0,
        workers=workers,
        use_multiprocessing=use_multiprocessing,
    )
    ds.trace_dir = trace_dir
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 1, activation="tanh")]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(ds, epochs=epochs, steps_per_epoch=ds.steps_per_epoch, shuffle=False, verbose=0)
    return ds, [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("workers,use_multiprocessing", [(1, False), (2, False), (3, True)])
def test_fit_sees_every_sample_exactly_once_per_epoch(
    coded_photos, tmp_path, workers, use_multiprocessing
):
    ds, weights = fit_traced(coded_photos, tmp_path, workers, use_multiprocessing)
    steps = ds.steps_per_epoch
    for epoch in range(3):
        served = [np.load(tmp_path / f"{epoch * steps + k}.npy") for k in range(steps)]
        assert all(s[0] == epoch for s in served)
        assert sorted(np.concatenate([s[1:] for s in served])) == list(range(len(ds.crops)))
    # and the same batches reached the model in the same order as with one worker: identical weights
    (tmp_path / "ref").mkdir()
    _, reference = fit_traced(coded_photos, tmp_path / "ref", 1, False)
    for w, r in zip(weights, reference):
        np.testing.assert_array_equal(w, r)
