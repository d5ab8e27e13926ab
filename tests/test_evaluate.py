import subprocess
import sys

import numpy as np
from colourlib import evaluate, model, paths, provenance
from colourlib.colour import rgb_to_lab
from colourlib.colouriser import Colouriser
from colourlib.data.photos import read_rgb


def test_colourise_keeps_the_original_full_resolution_lightness():
    rng = np.random.default_rng(0)
    photo = np.clip(0.3 + 0.4 * rng.random((50, 75, 3)), 0, 1).astype(np.float32)
    photo[::2, ::2] *= 0.6  # pixel-level detail that an upsampled L would blur away
    out = Colouriser(model.build_network(32), 32, "vgg16").colour(photo)
    assert out.shape == photo.shape
    in_gamut = (out > 0.001).all(-1) & (out < 0.999).all(-1)
    np.testing.assert_allclose(rgb_to_lab(out)[..., 0][in_gamut], rgb_to_lab(photo)[..., 0][in_gamut], atol=1e-3)


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
    per_image = evaluate.evaluate_photos([f.name for f in files], images, evaluate.baseline_ab(images, mean))
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


def test_environment_record_names_the_commit():
    record = provenance.environment_record()
    assert record["cpu_cores"] >= 1 and record["memory_gib"] > 0
    if paths.REPO_ROOT and (paths.REPO_ROOT / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True,
                              text=True).stdout.strip()
        assert record["git"]["commit"] == head


def test_cli_reports_bad_parameters_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "colourlib", "train", str(tmp_path / "r"), "-p", "image_size=50"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "image_size=50" in result.stderr and "multiple of 32" in result.stderr and not result.stdout.strip()
    assert "Traceback" not in result.stderr


def test_the_goal_is_checked_against_the_mean_ab_baseline_and_half_the_truths_colourfulness():
    import pandas as pd

    from colourlib.study import comparison as study

    labels = {"lite0": "Lite0", "grey": "grey", "mean_ab": "mean ab"}
    summary = pd.DataFrame({"ab_error": [20.0, 22.0, 21.0], "auc_ab": [0.86, 0.85, 0.857],
                            "colourfulness": [29.0, 0.0, 8.0], "colourfulness_true": [60.0] * 3},
                           index=["Lite0", "grey", "mean ab"])
    comparison = study.Comparison({"lite0": None}, labels, summary, None, {})
    assert study.goal_check(comparison, "lite0") == {"ab_error": True, "auc_ab": True, "colourfulness": False}
    sentence = study.goal_sentence(comparison, "lite0")
    assert sentence.startswith("Lite0 misses 1 of the goal's 3 parts: mean ab error 20.00 against")
    assert "colourfulness 29.0, 48% of the ground truth's 60.0 (below half)" in sentence
    summary.loc["Lite0", "colourfulness"] = 30.0
    assert "meets every part of the goal" in study.goal_sentence(comparison, "lite0")
