import numpy as np
import pytest

from colourlib.colour import lab_to_rgb, metrics, rgb_to_lab


def image(seed=0, shape=(24, 32, 3)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_psnr_reference_values():
    a = np.full((8, 8, 3), 0.5, np.float32)
    assert metrics.psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.01)
    assert metrics.psnr(a, a + 0.01) == pytest.approx(40.0, abs=1e-3)


def test_ssim_is_one_for_identical_and_lower_otherwise():
    a = image()
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    assert metrics.ssim(a, image(1)) < 0.1


def test_ciede2000_zero_for_identical_and_matches_a_known_pair():
    a = image()
    assert metrics.ciede2000(a, a) == pytest.approx(0.0, abs=1e-6)
    # Sharma, Wu & Dalal (2005) test pair 24 (in gamut): dE00 = 1.0000 between these two LAB colours
    lab1 = np.array([[[50.0, 2.5, 0.0]]])
    lab2 = np.array([[[50.0, 3.1736, 0.5854]]])
    assert metrics.ciede2000(lab_to_rgb(lab1), lab_to_rgb(lab2)) == pytest.approx(1.0, abs=2e-3)


def test_colourfulness_reference_values():
    grey = np.full((4, 4, 3), 0.3, np.float32)
    assert metrics.colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    red_green = np.zeros((2, 2, 3))
    red_green[0, :, 0] = 1.0  # half pure red, half pure green
    red_green[1, :, 1] = 1.0
    # rg = +-255 (std 255, mean 0); yb = 127.5 everywhere (std 0, mean 127.5) -> 255 + 0.3 * 127.5
    assert metrics.colourfulness(red_green) == pytest.approx(293.25)


def test_auc_closed_form_equals_the_threshold_sweep():
    true, pred = image(2), image(3)
    errors = metrics.ab_errors(true, pred)
    thresholds = np.linspace(0, 150, 15001)
    cdf = np.array([(errors <= t).mean() for t in thresholds])
    sweep = np.trapezoid(cdf, thresholds) / 150
    assert metrics.auc_ab(true, pred) == pytest.approx(sweep, abs=1e-4)
    assert metrics.auc_ab(true, true) == pytest.approx(1.0)


def test_auc_of_grey_prediction_on_a_known_chroma():
    lab = np.zeros((4, 4, 3))
    lab[..., 0], lab[..., 1] = 60.0, 30.0  # chroma 30 everywhere
    lab[..., 2] = 0.0
    rgb = lab_to_rgb(lab)
    grey = lab_to_rgb(np.concatenate([rgb_to_lab(rgb)[..., :1], np.zeros((4, 4, 2))], -1))
    assert metrics.auc_ab(rgb, grey) == pytest.approx(1 - 30 / 150, abs=2e-3)
    big_rgb, big_grey = np.tile(rgb, (4, 4, 1)), np.tile(grey, (4, 4, 1))  # SSIM needs 7 x 7
    scores = metrics.all_metrics(big_rgb, big_grey, np.zeros((16, 16, 2)))
    assert scores["ab_error"] == pytest.approx(30.0, abs=0.3)  # the chroma that grey leaves out
    assert scores["auc_ab"] == pytest.approx(
        1 - scores["ab_error"] / 150, abs=1e-6
    )  # every error below 150


def test_keras2_accuracy_is_argmax_agreement_over_a_and_b():
    true = np.array([[5.0, 1.0], [1.0, 5.0], [-3.0, -4.0], [2.0, 9.0]])
    pred = np.array([[9.0, 0.0], [0.0, 9.0], [0.0, 1.0], [0.0, 0.0]])
    # argmax: true [0, 1, 0, 1], pred [0, 1, 1, 0] -> 2 of 4 agree
    assert metrics.keras2_accuracy(true, pred) == pytest.approx(0.5)
    assert "not how close the colour is" in metrics.KERAS2_ACCURACY_NOTE


def test_all_metrics_keys():
    a = image()
    result = metrics.all_metrics(a, a, rgb_to_lab(a)[..., 1:])
    assert result == metrics.all_metrics(a, a, rgb_to_lab(a)[..., 1:], true_lab=rgb_to_lab(a))
    assert set(result) == {
        "psnr",
        "ssim",
        "ciede2000",
        "colourfulness",
        "colourfulness_true",
        "colourfulness_gap",
        "delta_cf",
        "ab_error",
        "auc_ab",
        "rebalanced_auc",
        "keras2_accuracy",
    }
    assert result["colourfulness_gap"] == pytest.approx(0.0)


def two_pixels(ab_left, ab_right, lightness=60.0):
    """A 1 x 2 LAB image of two colours at one lightness."""
    return np.array([[[lightness, *ab_left], [lightness, *ab_right]]], dtype=np.float64)


def test_rebalanced_auc_counts_each_colour_present_the_same_within_a_photo():
    # three pixels of grey (bin of (0, 0)) and one of (60, 0): the red pixel's bin is three times rarer
    truth = np.array([[[60.0, 0, 0]] * 3 + [[60.0, 60.0, 0]]])
    grey = truth.copy()
    grey[..., 1:] = 0.0
    frequencies = metrics.class_frequencies([truth])
    assert frequencies[frequencies > 0].tolist() == pytest.approx([0.75, 0.25])
    # grey is right on three pixels (score 1) and 60 off on one (score 1 - 60/150 = 0.6)
    assert metrics.rebalanced_auc(truth, truth, frequencies) == pytest.approx(1.0)
    assert metrics.rebalanced_auc(truth, grey, frequencies) == pytest.approx((1 + 0.6) / 2)
    # the raw AuC weights every pixel alike: (3 * 1 + 0.6) / 4
    assert metrics._auc_of_errors(metrics._ab_distance(truth, grey)) == pytest.approx(0.9)


def test_rebalanced_auc_weights_come_from_the_whole_scored_set():
    # photo 1: one grey and one red pixel; photo 2: two grey pixels -> grey's bin 3/4, red's 1/4 over the set
    first, second = two_pixels((0, 0), (60, 0)), two_pixels((0, 0), (0, 0))
    frequencies = metrics.class_frequencies([first, second])
    grey_first = first.copy()
    grey_first[..., 1:] = 0.0
    # weights 4/3 (grey pixel) and 4 (red pixel): (4/3 * 1 + 4 * 0.6) / (4/3 + 4) = 0.7
    assert metrics.rebalanced_auc(first, grey_first, frequencies) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="frequency 0"):
        metrics.rebalanced_auc(first, grey_first, metrics.class_frequencies([second]))


def test_colourfulness_gap_is_zero_against_itself_and_the_truths_colourfulness_for_grey():
    a = image()
    grey = np.repeat(a.mean(-1, keepdims=True), 3, axis=-1)
    assert metrics.colourfulness_gap(a, a) == 0.0
    assert metrics.colourfulness_gap(a, grey) == pytest.approx(metrics.colourfulness(a))
    red_green = np.zeros((2, 2, 3))
    red_green[0, :, 0] = red_green[1, :, 1] = 1.0
    assert metrics.colourfulness_gap(np.zeros((2, 2, 3)), red_green) == pytest.approx(293.25)


def test_semantic_agreement_reference_values():
    truth = np.log(np.array([[0.7, 0.2, 0.1] + [0.0] * 3], dtype=np.float64) + 1e-30)
    # the coloured photo: class 1 first, the original's class 0 second with probability 0.3
    coloured = np.log(np.array([[0.3, 0.6, 0.1, 0.0, 0.0, 0.0]]) + 1e-30)
    same = metrics.semantic_agreement(truth, truth)
    assert same == pytest.approx({"semantic": 0.7, "top1": 1.0, "top5": 1.0})
    other = metrics.semantic_agreement(truth, coloured)
    assert other == pytest.approx({"semantic": 0.3, "top1": 0.0, "top5": 1.0})
    # two views: averaged
    views = metrics.semantic_agreement(np.vstack([truth, truth]), np.vstack([truth, coloured]))
    assert views == pytest.approx({"semantic": 0.5, "top1": 0.5, "top5": 1.0})
    # the original's class ranked sixth: outside the top five
    sixth = np.log(np.array([[0.01, 0.3, 0.25, 0.2, 0.14, 0.1]]))
    assert metrics.semantic_agreement(truth, sixth)["top5"] == 0.0
