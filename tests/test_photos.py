import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import save_rgb
from PIL import Image

from colourlib import paths
from colourlib.data import photos


def test_reads_every_mode_as_float_rgb(tmp_path):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 2] = 40
    cases = {
        "rgb.png": Image.fromarray(rgb),
        "l.png": Image.fromarray(np.full((10, 12), 128, np.uint8), "L"),
        "la.png": Image.fromarray(np.full((10, 12), 128, np.uint8), "L").convert("LA"),
        "rgba.png": Image.fromarray(rgb).convert("RGBA"),
        "p.png": Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"),
        "webp.webp": Image.fromarray(rgb),
        "tiff.tif": Image.fromarray(rgb),
    }
    for name, im in cases.items():
        im.save(tmp_path / name, **({"quality": 100} if name.endswith((".jpg", ".webp")) else {}))
        out = photos.read_rgb(tmp_path / name)
        assert out.shape == (10, 12, 3) and out.dtype == np.float32, name
        expected = [128 / 255] * 3 if name in ("l.png", "la.png") else [200 / 255, 0, 40 / 255]
        np.testing.assert_allclose(out[5, 5], expected, atol=0.03, err_msg=name)


def test_sixteen_bit_keeps_full_precision(tmp_path):
    values = np.array([[0, 257, 1000, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    out = photos.read_rgb(tmp_path / "grey16.png")
    np.testing.assert_allclose(out[0, :, 0], values[0] / 65535, atol=1e-7)
    assert out[0, 2, 0] != out[0, 1, 0]  # 1000/65535 is not rounded to an 8-bit level


def test_exif_orientation_is_honoured(tmp_path):
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    out = photos.read_rgb(tmp_path / "rotated.jpg")
    assert out.shape == (40, 20, 3)  # displayed upright: portrait
    assert out[2, 10, 2] > 0.8 and out[-3, 10, 0] > 0.8  # blue now on top


def test_alpha_is_read_beside_the_colours(tmp_path):
    im = Image.new("RGBA", (8, 8), (10, 20, 30, 100))
    im.save(tmp_path / "a.png")
    photo = photos.read_photo(tmp_path / "a.png")
    np.testing.assert_allclose(photo.alpha, 100 / 255)
    np.testing.assert_allclose(photo.rgb[0, 0], np.array([10, 20, 30]) / 255, atol=1e-6)
    assert photo.bit_depth == 8 and photo.exif is None
    save_rgb(tmp_path / "b.png")
    assert photos.read_photo(tmp_path / "b.png").alpha is None


def test_embedded_set_is_complete_and_licensed():
    manifest = photos.embedded_manifest()
    uses = [r["use"] for r in manifest]
    assert (uses.count("train"), uses.count("test"), uses.count("bw")) == (440, 47, 2)
    assert (
        len({r["file"] for r in manifest})
        == len({r["original_path"] for r in manifest})
        == len(manifest)
    )
    for row in manifest:
        assert (paths.PHOTOS_DIR / row["file"]).is_file(), row["file"]
        for field in ("author", "licence", "source_package", "version", "original_path"):
            assert row[field] and row[field] != "none", (row["file"], field)
        short = min(int(row["width"]), int(row["height"]))
        assert short == 512 if "wallpapers" in row["source_package"] else 200 <= short <= 320, row[
            "file"
        ]
    licences = paths.PHOTOS_DIR / "LICENSES"
    for package in {r["source_package"] for r in manifest}:
        assert (licences / f"{package.replace('-16.04', '')}.copyright").is_file(), package
    for text in ("GPL-2", "GPL-3", "LGPL-3", "CC0-1.0"):
        assert (licences / text).is_file()
    size = sum(p.stat().st_size for p in paths.PHOTOS_DIR.rglob("*") if p.is_file())
    assert size < 25e6, f"the embedded set is {size / 1e6:.1f} MB; keep the repository light"
    assert len(photos.black_and_white_photos()) == 2


def test_the_held_out_photos_are_chosen_by_name_and_never_trained_on():
    import math
    import zlib

    manifest = photos.embedded_manifest()
    more = [Path(r["file"]).name for r in manifest if "wallpapers" not in r["source_package"]]
    count = max(40, math.ceil(0.1 * len(more)))
    expected = set(sorted(more, key=lambda n: (zlib.crc32(n.encode()), n))[:count])
    assert {Path(r["file"]).name for r in manifest if r["use"] == "test"} == expected

    s = photos.load_photo_set(None, 64)
    assert (len(s.train), len(s.val), len(s.test)) == (374, 66, 47 + 8)
    names = {p.name for p in s.test}
    assert {"astronaut.png", "coffee.png", "china.jpg", "grace_hopper.jpg"} <= names
    assert names >= expected
    assert not names & {p.name for p in s.train + s.val} and not set(s.train) & set(s.val)


def test_a_subset_of_photos_is_fixed_by_name_and_keeps_the_test_photos():
    full = photos.load_photo_set(None, 64)
    small = photos.load_photo_set(None, 64, max_photos=23)
    again = photos.load_photo_set(None, 64, max_photos=23)
    assert (len(small.train), len(small.val)) == (19, 4)
    assert (small.train, small.val) == (again.train, again.val)
    assert set(small.train + small.val) <= set(full.train + full.val)
    assert small.test == full.test
    assert photos.subset([Path("b"), Path("a")], None) == [Path("b"), Path("a")]


def test_flat_folder_split_is_deterministic_and_stable(tmp_path):
    for i in range(20):
        save_rgb(tmp_path / f"img{i}.png", seed=i)
    first = photos.load_photo_set(tmp_path, 32)
    again = photos.load_photo_set(tmp_path, 32)
    assert (first.train, first.val, first.test) == (again.train, again.val, again.test)
    assert len(first.test) == 2 and len(first.val) >= 1
    # the split depends on names only: the same names elsewhere, written in another order, split the same
    other = tmp_path / "other"
    other.mkdir()
    for i in reversed(range(20)):
        save_rgb(other / f"img{i}.png", seed=i + 100)
    moved = photos.load_photo_set(other, 32)
    assert [p.name for p in moved.val] == [p.name for p in first.val]


def test_paper_layout_train_and_test_folders(tmp_path):
    (tmp_path / "Train").mkdir()
    (tmp_path / "Test").mkdir()
    for i in range(6):
        save_rgb(tmp_path / "Train" / f"t{i}.jpg", seed=i)
    save_rgb(tmp_path / "Test" / "x.jpg")
    s = photos.load_photo_set(tmp_path, 32)
    assert len(s.train) + len(s.val) == 6 and [p.name for p in s.test] == ["x.jpg"]


def test_missing_folder_names_it_and_the_fix(tmp_path):
    with pytest.raises(photos.DataError, match=r"data_dir=.*nowhere.*no such folder.*Fix"):
        photos.load_photo_set(tmp_path / "nowhere", 64)


def test_folder_without_usable_images_says_what_was_found(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    save_rgb(tmp_path / "tiny.png", size=(20, 20))
    with (
        pytest.raises(
            photos.DataError,
            match=r"2 file\(s\) in .*none usable.*notes.txt: not an image.*"
            r"tiny.png: smaller than image_size=64",
        ),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        photos.load_photo_set(tmp_path, 64)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(photos.DataError, match="holds no files"):
        photos.load_photo_set(empty, 64)


def test_bad_files_are_skipped_with_one_warning_and_recorded(tmp_path):
    for i in range(4):
        save_rgb(tmp_path / f"good{i}.png", seed=i)
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not a png")
    good = (tmp_path / "good0.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    save_rgb(tmp_path / "small.png", size=(30, 40))
    with pytest.warns(UserWarning, match="skipped 4 file") as record:
        s = photos.load_photo_set(tmp_path, 32)
    assert len(record) == 1
    reasons = {r["path"].rsplit("/", 1)[1]: r["reason"] for r in s.summary()["skipped"]}
    assert reasons["zero.jpg"].startswith("empty file")
    assert reasons["text.png"].startswith("not an image")
    assert reasons["truncated.png"].startswith("corrupt")
    assert reasons["small.png"].startswith("smaller than image_size=32")
    assert s.summary()["counts"]["skipped"] == 4 and len(s.train) + len(s.val) == 4


def test_decompression_bomb_guard_stays_on(tmp_path, monkeypatch):
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= 89_000_000
    save_rgb(tmp_path / "big.png", size=(100, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 100x100 is then > 2x the limit: a "bomb"
    assert "decompression-bomb" in photos.check_image(tmp_path / "big.png", 32)
