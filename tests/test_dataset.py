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


def linear_field(height: int, width: int, stride: int = 1) -> np.ndarray:
    """(H, W, 2): channel 0 = 2x + 3y, channel 1 = 5 - x, read at the centres of ``stride``-pixel blocks."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    y, x = (y + 0.5) * stride - 0.5, (x + 0.5) * stride - 0.5
    return np.stack([2 * x + 3 * y, 5 - x], axis=-1).astype(np.float32)


def test_the_papers_generator_warps_a_feature_map_and_its_target_by_one_transform():
    from colourlib.data.augment import FeatureAffine, warp_sample

    target = linear_field(32, 32)  # full resolution, as an ab target
    features = linear_field(
        4, 4, stride=8
    )  # the same field at the centres of 8-pixel blocks (stride 8)
    rng = np.random.default_rng(3)
    (warped_features,), warped_target = warp_sample(
        (features,), target, FeatureAffine(zoom=0.1, flip=True), rng
    )
    assert warped_features.shape == features.shape and warped_target.shape == target.shape
    assert not np.allclose(warped_target, target, atol=0.5)  # something happened
    # a linear field is interpolated exactly, so away from the edges (repeated, not extrapolated) the warped map
    # at block (i, j) is the warped target at that block's centre
    centre = warped_target[3::8, 3::8] / 2 + warped_target[4::8, 4::8] / 2
    assert np.allclose(warped_features[1:3, 1:3], centre[1:3, 1:3], atol=1e-3)


def test_the_papers_generator_without_ranges_is_the_identity_and_a_flip_mirrors():
    from colourlib.data.augment import FeatureAffine, warp_map

    field = linear_field(6, 8)
    none = FeatureAffine(rotation_deg=0, shear_deg=0, zoom=0, flip=False)
    matrix, flip = none.draw(np.random.default_rng(0))
    assert not flip and np.allclose(warp_map(field, matrix, flip), field, atol=1e-5)
    assert np.allclose(warp_map(field, matrix, True), field[:, ::-1], atol=1e-5)


def test_warped_feature_batches_are_pure_functions_of_seed_epoch_and_sample():
    from colourlib.data.augment import FeatureAffine
    from colourlib.data.dataset import ArrayBatches

    rng = np.random.default_rng(0)
    x = (rng.random((12, 4, 4, 3), np.float32), rng.random((12, 2, 2, 5), np.float32))
    y = rng.random((12, 16, 16, 2), np.float32)
    warped = ArrayBatches(x, y, 4, seed=1, augmentation=FeatureAffine())
    again = ArrayBatches(x, y, 4, seed=1, augmentation=FeatureAffine(), workers=2)
    plain = ArrayBatches(x, y, 4, seed=1)
    (a, b), t = warped[0]
    (a2, b2), t2 = again[0]
    assert np.array_equal(a, a2) and np.array_equal(b, b2) and np.array_equal(t, t2)
    (pa, _), pt = plain[0]
    assert a.shape == pa.shape and t.shape == pt.shape and not np.allclose(t, pt)
    # batch 3 holds the samples of batch 0 in the next epoch's order, warped anew
    assert not np.allclose(np.sort(warped[3][1].ravel()), np.sort(t.ravel()))
