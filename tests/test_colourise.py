"""`colourise`: every input kind, every bad input, and the model checks, against exact reference colours.

The model under test predicts one constant colour (a, b) = AB everywhere (its last convolution is zero but for
the bias), so every output pixel must be exactly the input's own full-resolution L joined with AB.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
from conftest import CONSTANT_AB, environment_variable, save_rgb
from PIL import Image

from colourlib import paths, runs
from colourlib.apps import colourise
from colourlib.colour import lab_to_rgb, rgb_to_lab
from colourlib.model import build_network
from study.config import preset_config

AB = CONSTANT_AB


@pytest.fixture
def run_dir(constant_run):
    """A finished 'run' whose model predicts the constant colour AB (shared by every test: never change it)."""
    return constant_run


def expected_rgb(lightness: np.ndarray) -> np.ndarray:
    lab = np.stack(
        [lightness, np.full_like(lightness, AB[0]), np.full_like(lightness, AB[1])], axis=-1
    )
    return lab_to_rgb(lab)


def checkerboard_l(height=203, width=301) -> np.ndarray:
    """L alternating 40 / 70 pixel by pixel: detail that any resized L would blur away."""
    yy, xx = np.mgrid[:height, :width]
    return np.where((yy + xx) % 2, 70.0, 40.0).astype(np.float32)


def grey_u8(lightness: np.ndarray) -> np.ndarray:
    return np.round(
        lab_to_rgb(np.stack([lightness, 0 * lightness, 0 * lightness], -1))[..., 0] * 255
    ).astype(np.uint8)


def read_u8(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def run(argv, capsys):
    code = colourise.colourise([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_grey_jpeg_png_and_rgb_keep_full_resolution_and_their_own_l(run_dir, tmp_path, capsys):
    board = grey_u8(checkerboard_l())
    Image.fromarray(board, "L").save(tmp_path / "grey.png")
    Image.fromarray(board, "L").save(tmp_path / "grey.jpg", quality=100)
    rng = np.random.default_rng(0)
    rgb = (rng.random((203, 301, 3)) * 0.4 + 0.3).astype(np.float32)
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(tmp_path / "colour.png")
    code, out, _ = run(
        [
            tmp_path / "grey.png",
            tmp_path / "grey.jpg",
            tmp_path / "colour.png",
            "-o",
            tmp_path / "out",
            "--run",
            run_dir,
        ],
        capsys,
    )
    assert code == 0 and "coloured 3 of 3" in out

    grey_l = rgb_to_lab(np.repeat(board[..., None], 3, -1) / 255.0)[..., 0]
    got = read_u8(tmp_path / "out" / "grey.png")
    assert got.shape == (203, 301, 3)  # full resolution, not the model's 32 px
    np.testing.assert_allclose(
        got, expected_rgb(grey_l), atol=1.01 / 255
    )  # the checkerboard L survives exactly
    jpeg = read_u8(tmp_path / "out" / "grey.jpg")
    assert jpeg.shape == (203, 301, 3)
    jpeg_in_l = rgb_to_lab(read_u8(tmp_path / "grey.jpg"))[..., 0]
    assert np.median(np.abs(rgb_to_lab(jpeg)[..., 0] - jpeg_in_l)) < 1.5  # JPEG's own loss only
    colour_l = rgb_to_lab(np.round(rgb * 255) / 255)[
        ..., 0
    ]  # an RGB photo's L is used, its colours replaced
    np.testing.assert_allclose(
        read_u8(tmp_path / "out" / "colour.png"), expected_rgb(colour_l), atol=1.01 / 255
    )


def test_rgba_palette_webp_and_exif_orientation(run_dir, tmp_path, capsys):
    grey = grey_u8(np.full((40, 60), 55.0, np.float32))
    alpha = np.tile(np.linspace(0, 255, 60).astype(np.uint8), (40, 1))
    Image.merge("RGBA", [Image.fromarray(grey)] * 3 + [Image.fromarray(alpha)]).save(
        tmp_path / "rgba.png"
    )
    indices = np.ones((40, 60), np.uint8)
    indices[:, :10] = 0  # palette entry 0 is the transparent one
    palette = Image.fromarray(indices, "P")
    palette.putpalette([0, 0, 0] + [int(grey[0, 0])] * 3)
    palette.save(tmp_path / "palette.png", transparency=0)
    Image.fromarray(np.stack([grey] * 3, -1)).save(tmp_path / "photo.webp", lossless=True)
    marked = np.stack([grey] * 3, -1)
    marked[:5, :5] = (
        255  # a white corner top-left as stored; orientation 6 turns it to the top right
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "ColourThis test camera"
    Image.fromarray(marked).save(tmp_path / "rotated.jpg", quality=100, exif=exif)

    code, _, _ = run(
        [
            tmp_path / "rgba.png",
            tmp_path / "palette.png",
            tmp_path / "photo.webp",
            tmp_path / "rotated.jpg",
            "-o",
            tmp_path / "out",
            "--run",
            run_dir,
        ],
        capsys,
    )
    assert code == 0
    out = tmp_path / "out"
    rgba = Image.open(out / "rgba.png")
    assert rgba.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(rgba.getchannel("A")), alpha)  # alpha kept exactly
    want = expected_rgb(
        np.full((40, 60), rgb_to_lab(grey[0, 0].repeat(3)[None, None] / 255)[0, 0, 0])
    )
    np.testing.assert_allclose(np.asarray(rgba.convert("RGB")) / 255, want, atol=1.01 / 255)

    pal = Image.open(out / "palette.png")
    assert pal.mode == "RGBA"
    pal_alpha = np.asarray(pal.getchannel("A"))
    assert (pal_alpha[:, :10] == 0).all() and (pal_alpha[:, 10:] == 255).all()

    webp = Image.open(out / "photo.webp")
    assert webp.format == "WEBP" and webp.size == (60, 40)
    np.testing.assert_allclose(np.asarray(webp.convert("RGB")) / 255, want, atol=4 / 255)

    upright = Image.open(out / "rotated.jpg")
    assert upright.size == (40, 60)  # stored 60 x 40, shown (and written) 40 x 60
    pixels = np.asarray(upright.convert("L"), dtype=float)
    assert pixels[:4, -4:].mean() > 200 and pixels[:4, :4].mean() < 200
    kept = upright.getexif()
    assert kept.get(0x0112, 1) == 1 and kept.get(0x010F) == "ColourThis test camera"


def test_sixteen_bit_grey_and_colour_keep_l_at_full_precision(run_dir, tmp_path, capsys):
    # L from 50.00 to 50.60 in 0.01 steps: all of it inside two 8-bit grey levels
    lightness = np.tile(np.linspace(50.0, 50.6, 61, dtype=np.float32), (24, 1))
    grey16 = np.round(
        lab_to_rgb(np.stack([lightness, 0 * lightness, 0 * lightness], -1))[..., 0] * 65535
    ).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "scan16.png")
    tifffile.imwrite(tmp_path / "scan16rgb.tif", np.stack([grey16] * 3, -1), photometric="rgb")
    code, out, err = run(
        [
            tmp_path / "scan16.png",
            tmp_path / "scan16rgb.tif",
            "-o",
            tmp_path / "out",
            "--run",
            run_dir,
        ],
        capsys,
    )
    assert code == 0, err
    true_l = rgb_to_lab(np.repeat(grey16[..., None], 3, -1) / 65535.0)[..., 0]
    for name in (
        "scan16.tif",
        "scan16rgb.tif",
    ):  # a 16-bit PNG comes out as 16-bit TIFF (Pillow writes 8 bits)
        data = tifffile.imread(tmp_path / "out" / name)
        assert data.dtype == np.uint16 and data.shape == (24, 61, 3)
        lab = rgb_to_lab(data / 65535.0)
        np.testing.assert_allclose(
            lab[..., 0], true_l, atol=0.005
        )  # 8 bits would be off by up to ~0.2
        np.testing.assert_allclose(lab[..., 1:].reshape(-1, 2).mean(0), AB, atol=0.05)


def test_folders_are_searched_recursively_with_their_layout_kept(run_dir, tmp_path, capsys):
    photos = tmp_path / "scans"
    (photos / "1950s" / "summer").mkdir(parents=True)
    grey = Image.fromarray(grey_u8(np.full((33, 47), 60.0, np.float32)), "L")
    grey.save(photos / "a.png")
    grey.save(photos / "1950s" / "B.JPG")
    grey.save(photos / "1950s" / "summer" / "c.tiff")
    grey.save(photos / ".hidden.png")
    (photos / "notes.txt").write_text("not a photo, not searched for")
    code, out, err = run([photos, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 0, err
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    )  # the coloured photos and nothing else: no lock file left behind
    assert written == ["scans/1950s/B.JPG", "scans/1950s/summer/c.tiff", "scans/a.png"]
    assert Image.open(tmp_path / "out" / "scans/1950s/summer/c.tiff").format == "TIFF"
    assert "3/3" in err  # a progress bar for more than one photo


def test_bad_files_are_reported_and_the_others_still_coloured(run_dir, tmp_path, capsys):
    good = tmp_path / "good.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(good)
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(tmp_path / "whole.jpg")
    (tmp_path / "truncated.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:200])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.webp").write_text("not really a webp")
    inputs = [
        tmp_path / n
        for n in ("truncated.jpg", "empty.png", "notes.txt", "fake.webp", "missing.png")
    ]
    code, out, err = run([*inputs, good, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 1
    assert (tmp_path / "out" / "good.png").is_file() and "coloured 1 of 5" in out
    report = err.split("5 failed:")[1]
    for path, reason in [
        ("truncated.jpg", "truncated"),
        ("empty.png", "empty file"),
        ("notes.txt", "not an image"),
        ("fake.webp", "not an image"),
        ("missing.png", "no such file"),
    ]:
        line = next(line for line in report.splitlines() if path in line)
        assert str(tmp_path / path) in line and reason in line, line
    assert not list((tmp_path / "out").glob(".*.partial*"))


def test_never_overwrites_inputs_and_outputs_only_when_asked(run_dir, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    original = photo.read_bytes()
    code, _, err = run([photo, "-o", tmp_path, "--run", run_dir, "--overwrite"], capsys)
    assert code == 1 and "is an input photo" in err and photo.read_bytes() == original

    out = tmp_path / "out"
    assert run([photo, "-o", out, "--run", run_dir], capsys)[0] == 0
    (out / "photo.png").write_bytes(b"an earlier output")
    code, _, err = run([photo, "-o", out, "--run", run_dir], capsys)
    assert (
        code == 1
        and "--overwrite" in err
        and (out / "photo.png").read_bytes() == b"an earlier output"
    )
    assert run([photo, "-o", out, "--run", run_dir, "--overwrite"], capsys)[0] == 0
    assert Image.open(out / "photo.png").size == (30, 20)

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(
        photo, other / "photo.png"
    )  # two inputs with one output name: the second is refused
    code, _, err = run(
        [photo, other / "photo.png", "-o", tmp_path / "out2", "--run", run_dir], capsys
    )
    assert code == 1 and "already written from" in err


def test_model_errors_come_before_any_work(run_dir, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((20, 30), 90, np.uint8), "L").save(photo)
    out = tmp_path / "out"
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(run_dir / "config.json", unfinished / "config.json")
    garbage = tmp_path / "garbage.weights.h5"
    garbage.write_bytes(b"not an HDF5 file")
    mismatched = (
        tmp_path / "mismatched"
    )  # VGG16 weights under a configuration naming another encoder
    mismatched.mkdir()
    shutil.copy(run_dir / runs.RunFolder.WEIGHTS, mismatched / runs.RunFolder.WEIGHTS)
    preset_config("tiny", encoder="efficientnet-lite0").save(mismatched / "config.json")
    cases = [
        ([], "make study"),
        (["--run", tmp_path / "nowhere"], "no such folder"),
        (["--run", tmp_path], "no config.json"),
        (["--run", unfinished], "has not finished"),
        (["--weights", garbage], "not a Keras weights file (not HDF5"),  # named after one read
        (["--run", mismatched], "efficientnet-lite0"),
        (["--weights", tmp_path / "none.h5"], "no such file"),
    ]
    with environment_variable("COLOURLIB_RUNS", str(tmp_path / "empty-runs")):
        for model_args, message in cases:
            code, _, err = run([photo, "-o", out, *model_args], capsys)
            assert code == 2 and message in err, (model_args, err)
            assert not out.exists()


def test_the_default_model_is_found_after_the_clone_moves(run_dir, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(run_dir, clone / "runs" / "train" / "r")
    with environment_variable("COLOURLIB_RUNS", str(clone / "runs")):
        record = runs.remember_default(clone / "runs" / "train" / "r")
    assert not Path(json.loads(record.read_text())["run_dir"]).is_absolute()
    clone.rename(tmp_path / "moved")
    with environment_variable("COLOURLIB_RUNS", str(tmp_path / "moved" / "runs")):
        assert paths.default_run_dir() == (tmp_path / "moved" / "runs" / "train" / "r").resolve()


def test_default_model_and_bare_weights_file(run_dir, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    with environment_variable("COLOURLIB_RUNS", str(tmp_path / "runs")):
        record = runs.remember_default(run_dir)
        assert (
            record.parent / json.loads(record.read_text())["run_dir"]
        ).resolve() == run_dir.resolve()
        code, out, _ = run([photo, "-o", tmp_path / "a"], capsys)
    assert code == 0 and str(run_dir / runs.RunFolder.WEIGHTS) in out and "vgg16 encoder" in out
    assert "1/1" not in capsys.readouterr().err  # no progress bar for one photo
    bare = (
        tmp_path / "bare" / "model.weights.h5"
    )  # no config.json beside it: the encoder is found by trying
    bare.parent.mkdir()
    shutil.copy(run_dir / runs.RunFolder.WEIGHTS, bare)
    code, out, _ = run([photo, "-o", tmp_path / "b", "--weights", bare], capsys)
    assert code == 0 and "vgg16 encoder" in out and "224 px" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            read_u8(tmp_path / "b" / "photo.png"),
            read_u8(tmp_path / "a" / "photo.png"),
            atol=1.01 / 255,
        )


def test_help_shows_examples_and_the_command_is_installed(capsys):
    for main in (
        colourise.colourise,
        lambda argv: __import__("colourlib.apps.cli").apps.cli.main(["colourise", *argv]),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["--help"])
        assert stop.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text and "--overwrite" in text and "PHOTO_OR_FOLDER" in text
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("colourise") == "colourlib.apps.colourise:colourise"
    assert scripts.get("colourlib") == "colourlib.apps.cli:main"


def test_a_colour_class_model_colours_by_its_annealed_mean_from_a_run_or_a_bare_file(
    tmp_path, capsys
):
    from colourlib.colour import classes

    centre = [20.0, 30.0]
    k = int(np.flatnonzero((classes.bin_centres() == centre).all(1))[0])
    model = build_network(32, "vgg16", None, classes=True)
    logits = model.get_layer("decoder").layers[-1]
    kernel, bias = logits.get_weights()
    bias[:] = -20.0
    bias[k] = 20.0  # every pixel certain of one bin: the annealed mean is its centre
    logits.set_weights([np.zeros_like(kernel), bias])
    class_run = tmp_path / "class-run"
    class_run.mkdir()
    model.save_weights(class_run / runs.RunFolder.WEIGHTS)
    preset_config("tiny", image_size=32, loss="classification").save(class_run / "config.json")
    lightness = checkerboard_l(40, 60)
    Image.fromarray(grey_u8(lightness), "L").save(tmp_path / "grey.png")
    code, out, _ = run([tmp_path / "grey.png", "-o", tmp_path / "out", "--run", class_run], capsys)
    assert code == 0 and "colour classes" in out
    lab = rgb_to_lab(read_u8(tmp_path / "out" / "grey.png"))
    assert np.abs(lab[..., 1:].reshape(-1, 2).mean(0) - centre).max() < 1.5
    bare = tmp_path / "bare.weights.h5"
    shutil.copy(class_run / runs.RunFolder.WEIGHTS, bare)
    code, out, _ = run(
        [
            tmp_path / "grey.png",
            "-o",
            tmp_path / "bare-out",
            "--weights",
            bare,
            "--image-size",
            "32",
        ],
        capsys,
    )
    assert code == 0 and "vgg16 encoder" in out and "colour classes" in out


def colourise_process(args, kill_at: str | None = None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLOURLIB_KILL_AT"}
    if kill_at:
        env["COLOURLIB_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "colourlib", "colourise", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # a colourise process killed, then rerun
def test_a_killed_colourise_leaves_no_partial_photo_and_a_rerun_completes_the_folder(
    run_dir, tmp_path
):
    import signal

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray(grey_u8(np.full((20, 30), 30.0 + 10 * i, np.float32)), "L").save(
            photos / f"p{i}.png"
        )
    out = tmp_path / "out"
    killed = colourise_process([photos, "-o", out, "--run", run_dir], kill_at="write:photo#3")
    assert killed.returncode == -signal.SIGKILL
    written = sorted(p.name for p in (out / "photos").glob("[!.]*.png"))
    assert written == ["p0.png", "p1.png"], "the two photos before the kill, whole"
    assert (
        len(list(out.rglob(".*.partial*"))) == 1
    )  # the third, complete under its temporary name only
    done = colourise_process([photos, "-o", out, "--run", run_dir])
    assert (
        done.returncode == 1 and "coloured 2 of 4" in done.stdout
    )  # the first two exist: listed, kept
    assert sorted(p.name for p in (out / "photos").glob("[!.]*.png")) == [
        "p0.png",
        "p1.png",
        "p2.png",
        "p3.png",
    ]
    for name in ("p0.png", "p2.png"):
        assert Image.open(out / "photos" / name).size == (30, 20)
    assert not list(out.rglob(".*.partial*")), "the leftover of the killed writer is gone"


@pytest.mark.slow  # two colourise processes
def test_a_second_colourise_into_the_same_folder_is_refused_naming_the_first(run_dir, tmp_path):
    import os

    from colourlib.apps.colourise import LOCK_FILE
    from colourlib.atomic import exclusive_lock

    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    out = tmp_path / "out"
    out.mkdir()
    with exclusive_lock(out / LOCK_FILE, "the output folder"):
        second = colourise_process([photo, "-o", out, "--run", run_dir])
    assert second.returncode == 2 and f"another process (PID {os.getpid()})" in second.stderr
    assert not (out / "photo.png").exists()
    assert colourise_process([photo, "-o", out, "--run", run_dir]).returncode == 0


def test_bad_sizes_records_and_folders_get_a_clear_message(run_dir, tmp_path, capsys):
    import os

    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    code, _, err = run(
        [photo, "-o", tmp_path / "o1", "--run", run_dir, "--image-size", "4096"], capsys
    )
    assert code == 2 and "--image-size 4096 is above 1024" in err
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    (runs_dir / "colourise-model.json").write_text("{not json")
    with environment_variable("COLOURLIB_RUNS", str(runs_dir)):
        code, _, err = run([photo, "-o", tmp_path / "o2"], capsys)
    assert code == 2 and "is not a readable model record" in err and "Traceback" not in err
    (tmp_path / "o3" / "photo.png").mkdir(parents=True)  # a folder where the output would go
    code, _, err = run([photo, "-o", tmp_path / "o3", "--run", run_dir], capsys)
    assert code == 1 and "is a folder, which is never replaced" in err and "corrupt" not in err
    folder = tmp_path / "album"
    folder.mkdir()
    shutil.copy(photo, folder / "a.png")
    code, _, err = run([folder, "-o", folder, "--run", run_dir], capsys)
    assert code == 1 and "is the output folder (-o)" in err
    assert sorted(p.name for p in folder.iterdir()) == [
        "a.png"
    ]  # nothing left in the user's folder
    code, _, err = run([photo, "-o", "/proc/colourise-cannot-write-here", "--run", run_dir], capsys)
    assert code == 2 and "cannot write there" in err and "Traceback" not in err
    os.symlink(folder, folder / "loop")
    code, out, err = run([folder, "-o", tmp_path / "o4", "--run", run_dir], capsys)
    assert code == 1 and "a symbolic link back to" in err and "coloured 1 of 1" in out


# --- issue 30's inputs ----------------------------------------------------------------------------------------


def test_an_animated_image_is_refused_with_the_reason_and_nothing_is_written(
    run_dir, tmp_path, capsys
):
    frames = [Image.fromarray(np.full((40, 40, 3), v, np.uint8)) for v in (40, 200)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    code, _, err = run([gif, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 1
    assert "anim.gif: an animated image (2 frames)" in err and "Fix:" in err
    assert not list((tmp_path / "out").glob("anim*"))
    still = tmp_path / "still.gif"
    frames[0].save(still)
    code, _, _ = run([still, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 0 and (tmp_path / "out" / "still.png").is_file()  # a still GIF comes out as PNG
    pages = (
        tmp_path / "pages.tif"
    )  # a TIFF with a second page (a thumbnail, a scan's back): its first page
    frames[0].save(pages, save_all=True, append_images=frames[1:])
    code, _, _ = run([pages, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 0 and (tmp_path / "out" / "pages.tif").is_file()


def test_image_size_zero_is_refused_like_any_other_bad_size(run_dir, tmp_path, capsys):
    photo = save_rgb(tmp_path / "p.png")
    for size in ("0", "-5"):
        code, _, err = run(
            [photo, "-o", tmp_path / "out", "--run", run_dir, "--image-size", size], capsys
        )
        assert code == 2 and f"image_size={size}" in err, err


def test_a_photo_named_twice_is_coloured_once(run_dir, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = save_rgb(folder / "a.png")
    jobs, problems = colourise.plan_jobs([photo, photo, folder], tmp_path / "out")
    assert [job.source for job in jobs] == [photo] and problems == []
    code, out, _ = run([photo, photo, "-o", tmp_path / "out", "--run", run_dir], capsys)
    assert code == 0 and "coloured 1 of 1 photo" in out


def test_weights_that_are_not_hdf5_or_are_cut_short_are_named_as_such_after_one_read(tmp_path):
    notes = tmp_path / "notes.weights.h5"
    notes.write_text("my notes\n")
    with pytest.raises(
        colourise.ModelError, match=r"not a Keras weights file \(not HDF5; it starts with"
    ):
        colourise.check_weights_file(notes, "--weights")
    whole = tmp_path / "whole.weights.h5"
    with h5py.File(whole, "w") as f:
        f.create_dataset("kernel", data=np.zeros((256, 256), np.float32))
    colourise.check_weights_file(whole, "--weights")  # a whole file passes
    cut = tmp_path / "cut.weights.h5"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(colourise.ModelError, match="a truncated or damaged HDF5 file"):
        colourise.check_weights_file(cut, "--weights")


@pytest.fixture
def exported_run(constant_export):
    """The constant-colour run of :func:`run_dir` with its ONNX export, as the study exports its default."""
    return constant_export


def test_an_exported_run_colours_through_onnx_exactly_as_through_keras(
    exported_run, tmp_path, capsys
):
    lightness = checkerboard_l(61, 83)
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(lightness), "L").save(photo)
    code, out, _ = run([photo, "-o", tmp_path / "onnx", "--run", exported_run], capsys)
    assert code == 0 and "exported from" in out
    code, out, _ = run([photo, "-o", tmp_path / "keras", "--run", exported_run, "--keras"], capsys)
    assert code == 0 and "exported from" not in out and "vgg16 encoder" in out
    onnx_rgb, keras_rgb = (
        read_u8(tmp_path / "onnx" / "photo.png"),
        read_u8(tmp_path / "keras" / "photo.png"),
    )
    np.testing.assert_allclose(onnx_rgb, keras_rgb, atol=1.01 / 255)
    lab = rgb_to_lab(onnx_rgb)
    np.testing.assert_allclose(lab[..., 1:].mean((0, 1)), AB, atol=0.6)  # the model's one colour


def test_an_export_of_other_weights_is_not_used(exported_run, tmp_path, capsys):
    run_copy = tmp_path / "run"
    shutil.copytree(exported_run, run_copy)
    with h5py.File(run_copy / runs.RunFolder.WEIGHTS, "a") as f:
        f.attrs["retrained"] = 1  # the weights file changed since the export
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    code, out, err = run([photo, "-o", tmp_path / "out", "--run", run_copy], capsys)
    assert (
        code == 0 and "exported from other weights" in err and "python -m colourlib export" in err
    )
    assert "vgg16 encoder" in out  # coloured through Keras instead


def test_a_damaged_export_or_record_is_named_and_keras_colours_instead(
    exported_run, tmp_path, capsys
):
    run_copy = tmp_path / "run"
    shutil.copytree(exported_run, run_copy)
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((20, 30), 50.0, np.float32)), "L").save(photo)
    onnx_file = run_copy / "export" / "colouriser.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[-3000:-1000] = bytes(
        255 - b for b in data[-3000:-1000]
    )  # same size: onnxruntime still loads it
    onnx_file.write_bytes(bytes(data))
    code, out, err = run([photo, "-o", tmp_path / "a", "--run", run_copy], capsys)
    assert code == 0 and "its sha256 is not the one" in err and "export again" in err
    assert "vgg16 encoder" in out  # coloured through Keras, not the damaged file
    shutil.copy(exported_run / "export" / "colouriser.onnx", onnx_file)
    (run_copy / "export" / "colouriser.json").write_text('{"image_size": 32, "sha2')
    code, out, err = run([photo, "-o", tmp_path / "b", "--run", run_copy], capsys)
    assert code == 0 and "not a readable export record" in err
    assert "other weights" not in err and "vgg16 encoder" in out


def test_colouring_with_an_export_starts_without_tensorflow_or_keras(exported_run, tmp_path):
    import subprocess
    import sys

    blocked = tmp_path / "blocked"
    for name in ("tensorflow", "keras"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(
            f"raise ImportError('{name} was imported by the exported model\\'s path')"
        )
    photo = tmp_path / "photo.png"
    Image.fromarray(grey_u8(np.full((40, 50), 60.0, np.float32)), "L").save(photo)
    env = {**os.environ, "PYTHONPATH": str(blocked)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colourlib.apps.colourise",
            str(photo),
            "-o",
            str(tmp_path / "out"),
            "--run",
            str(exported_run),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "photo.png").is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs (a full disk) needs root")
def test_a_disk_that_fills_mid_photo_never_leaves_a_short_file_counted_as_coloured(
    run_dir, tmp_path, capsys
):
    from test_faults import tmpfs

    rng = np.random.default_rng(4)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(
        6
    ):  # noise: each coloured JPEG is tens of kB, so the small disk fills inside one
        Image.fromarray((rng.random((180, 260, 3)) * 255).astype(np.uint8)).save(
            photos / f"p{i}.jpg", quality=95
        )
    with tmpfs(tmp_path / "small", "size=100k") as out:
        code, stdout, err = run([photos, "-o", out, "--run", run_dir], capsys)
        written = [p for p in out.rglob("*.jpg") if not p.name.startswith(".")]
        for path in written:
            with Image.open(path) as im:
                im.load()  # raises "image file is truncated" for a short file
        (summary,) = [line for line in stdout.splitlines() if line.startswith("coloured ")]
        assert summary.startswith(f"coloured {len(written)} of 6 photo(s)")
        assert len(written) < 6 and code != 0
        assert "No space left on device" in err or "disk is full" in err


def test_a_symlink_loop_or_a_dangling_link_is_named_as_such(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "gone").symlink_to(tmp_path / "deleted.jpg")
    jobs, problems = colourise.plan_jobs(
        [tmp_path / "a", tmp_path / "gone", tmp_path / "none.jpg"], tmp_path / "out"
    )
    reasons = dict(problems)
    assert jobs == []
    assert reasons[tmp_path / "a"].startswith("a symbolic link in a loop")
    assert reasons[tmp_path / "gone"].startswith(
        f"a symbolic link to {tmp_path / 'deleted.jpg'}, which does not exist"
    )
    assert reasons[tmp_path / "none.jpg"] == "no such file or folder"
