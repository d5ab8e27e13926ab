"""Colour as classes (Zhang et al. 2016): the 313 bins, soft encoding, class rebalancing and the annealed mean,
each against values worked out by hand or from the definition."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from skimage.color import rgb2lab

from colourlib.colour import AB_SCALE, classes


def srgb_ab(levels: int = 64) -> np.ndarray:
    v = np.linspace(0, 1, levels)
    rgb = np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(-1, 1, 3)
    return rgb2lab(rgb).reshape(-1, 3)[:, 1:]


def test_the_313_bins_lie_on_a_grid_of_10_and_cover_every_srgb_colour():
    centres = classes.bin_centres()
    assert centres.shape == (313, 2) and classes.BINS == 313
    assert len({tuple(c) for c in centres}) == 313 and not (centres % 10).any()
    assert centres[:, 0].min() == -90 and centres[:, 0].max() == 100
    assert centres[:, 1].min() == -110 and centres[:, 1].max() == 100
    ab = srgb_ab()
    cells = {tuple(c) for c in np.round(ab / 10) * 10}
    assert cells <= {tuple(c) for c in centres.astype(float)}, (
        "an sRGB colour falls outside every bin"
    )
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(ab).query(centres)
    assert distance.max() < 15, (
        "every bin is within about one cell of a colour sRGB can show (in gamut)"
    )


def test_soft_encoding_spreads_a_colour_over_its_five_nearest_bins():
    target = classes.soft_encode(np.array([[0.0, 0.0], [3.0, -4.0]]))
    assert target.shape == (2, 313) and np.allclose(target.sum(1), 1)
    assert (np.count_nonzero(target, axis=1) == 5).all()
    centre = int(np.flatnonzero((classes.bin_centres() == [0, 0]).all(1))[0])
    # at a bin centre: itself (distance 0) and its 4 neighbours at distance 10, Gaussian sigma 5
    assert target[0, centre] == pytest.approx(1 / (1 + 4 * math.exp(-2)), rel=1e-6)
    assert classes.nearest_bin(np.array([[3.0, -4.0]]))[0] == centre


def test_rebalancing_weights_follow_the_definition_and_average_one_under_the_prior():
    centres = classes.bin_centres().astype(float)
    k = int(np.flatnonzero((classes.bin_centres() == [10, 20]).all(1))[0])
    one_hot = np.zeros(313)
    one_hot[k] = 1.0
    # by hand: p~ is the Gaussian (sigma 5) around bin k, normalised; w = 1 / (0.5 p~ + 0.5 / 313), E_p~[w] = 1
    gauss = [math.exp(-((centres[q] - centres[k]) ** 2).sum() / 50) for q in range(313)]
    prior = [g / sum(gauss) for g in gauss]
    raw = [1 / (0.5 * p + 0.5 / 313) for p in prior]
    scale = sum(p * w for p, w in zip(prior, raw))
    expected = np.array([w / scale for w in raw])
    weights = classes.rebalancing_weights(one_hot)
    np.testing.assert_allclose(weights, expected, rtol=1e-5)
    assert float((classes.smooth(one_hot) * weights).sum()) == pytest.approx(1.0)
    assert weights[k] == weights.min() and weights.max() / weights.min() < 2 / 0.5 * 313 * 0.5
    np.testing.assert_allclose(classes.rebalancing_weights(one_hot, lam=1.0), 1.0, rtol=1e-6)


def test_the_histogram_of_a_one_colour_photo_is_its_bin():
    rgb = np.full((8, 8, 3), [0.8, 0.3, 0.2], np.float32)
    histogram = classes.colour_histogram([rgb, rgb])
    ab = rgb2lab(rgb[:1, :1])[0, 0, 1:]
    assert histogram.sum() == pytest.approx(1) and histogram[classes.nearest_bin(ab[None])[0]] == 1


def test_the_annealed_mean_lies_between_the_mean_and_the_mode():
    centres = classes.bin_centres()
    i, j = 0, 312
    p = np.zeros(313)
    p[i], p[j] = 0.75, 0.25
    share = 0.75 ** (1 / 0.38) / (0.75 ** (1 / 0.38) + 0.25 ** (1 / 0.38))  # 0.947
    np.testing.assert_allclose(
        classes.annealed_mean(p), share * centres[i] + (1 - share) * centres[j], atol=1e-3
    )
    np.testing.assert_allclose(
        classes.annealed_mean(p, temperature=1.0), 0.75 * centres[i] + 0.25 * centres[j], atol=1e-3
    )
    logits = np.log(np.clip(p, 1e-12, None))[None, None]
    ops = keras.ops.convert_to_numpy(classes.annealed_mean_ops(logits))[0, 0]
    np.testing.assert_allclose(ops * AB_SCALE, classes.annealed_mean(p), atol=1e-2)


def test_the_loss_is_the_weighted_cross_entropy_of_the_soft_target_on_the_coarse_grid():
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2.0, 313).astype(np.float32)
    ab = np.array([30.0, -40.0], np.float32)
    y_true = np.broadcast_to(ab / AB_SCALE, (1, 4, 4, 2)).astype(
        np.float32
    )  # averaged over 4 x 4: the same
    logits = rng.normal(0, 1, (1, 1, 1, 313)).astype(np.float32)
    target = classes.soft_encode(ab[None])[0]
    log_p = logits[0, 0, 0] - np.log(np.exp(logits[0, 0, 0]).sum())
    expected = weights[classes.nearest_bin(ab[None])[0]] * -(target * log_p).sum()
    loss = classes.ClassificationLoss(weights)(y_true, logits)
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-4)
    restored = classes.ClassificationLoss.from_config(
        classes.ClassificationLoss(weights).get_config()
    )
    np.testing.assert_array_equal(restored.weights, weights)


def test_nearest_bin_by_rounding_agrees_with_a_search_of_every_centre():
    rng = np.random.default_rng(0)
    # colours in and out of the bins: the whole ab square, bin centres, points half-way between bins
    ab = np.concatenate(
        [rng.uniform(-128, 128, (20000, 2)), classes.bin_centres() + 0.0, srgb_ab(16)]
    )
    brute = np.argmin(((ab[:, None, :] - classes.bin_centres()[None]) ** 2).sum(-1), axis=1)
    fast = classes.nearest_bin(ab)
    # where two centres are equally near, either is right
    d = ((ab - classes.bin_centres()[fast]) ** 2).sum(-1)
    d_brute = ((ab - classes.bin_centres()[brute]) ** 2).sum(-1)
    np.testing.assert_allclose(d, d_brute, atol=1e-3)
    assert classes.nearest_bin(ab[:400].reshape(4, 100, 2)).shape == (4, 100)


def test_a_colour_far_from_every_bin_still_soft_encodes_to_its_nearest_bins():
    corner = classes.soft_encode(np.array([[127.0, -127.0]]))  # 30+ units from the nearest bin
    assert np.isfinite(corner).all() and corner.sum() == pytest.approx(1.0)
    assert corner[0].argmax() == classes.nearest_bin(np.array([[127.0, -127.0]]))[0]


def test_reading_true_colours_back_through_the_bins_loses_little_and_more_at_low_temperature():
    centres = classes.bin_centres().astype(float)
    present = {tuple(c) for c in centres}
    steps = [(da, db) for da in (-10, 0, 10) for db in (-10, 0, 10)]
    inner = np.array(  # bins whose eight neighbours are bins too: a symmetric soft encoding
        [c for c in centres if all((c[0] + da, c[1] + db) in present for da, db in steps)]
    )
    assert len(inner) > 150
    back = classes.read_back(inner, temperature=1.0)
    # at T = 1 the annealed mean of a symmetric soft encoding of a bin centre is the centre itself
    np.testing.assert_allclose(back, inner, atol=1e-3)
    off_grid = inner + [3.0, -4.0]
    err_1 = np.abs(classes.read_back(off_grid, 1.0) - off_grid).max()
    err_low = np.abs(classes.read_back(off_grid, 0.25) - off_grid).max()
    assert err_1 < 2.0 < err_low < 5.0  # sharpening pulls a colour towards its nearest bin
    assert classes.read_back(np.zeros((2, 3, 2)), 0.38).shape == (2, 3, 2)
