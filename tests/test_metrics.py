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
        "ab_error",
        "auc_ab",
        "keras2_accuracy",
    }
    assert result["colourfulness_gap"] == pytest.approx(0.0)
