"""Finding and reading photos: a data set is a folder of images.

Two layouts work: the paper's (``Train/`` and ``Test/`` subfolders, as in the colornet Unsplash set) and a flat
folder, split deterministically by file name. Without a folder, the embedded set is used: about 460 colour photos
from Debian packages (``train/``, split into training and validation photos by name), its held-out photos
(``test/``, chosen by name when the set was built) and the test photos that ship inside installed wheels
(scikit-image, scikit-learn, matplotlib); test photos are never trained on. Splits are by photo, never by crop.

Unreadable files never stop a run: they are listed once in a warning and kept in :attr:`PhotoSet.skipped`
so the run's record can count them. Pillow's decompression-bomb guard stays on.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import ColourlibError, paths

SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}

#: Test photos inside installed wheels: (module, path inside it). Natural colour photos only.
WHEEL_TEST_PHOTOS = [
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/motorcycle_left.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
]

#: Licences of the wheel test photos, as each package declares them (see ../shared data notes and each
#: package's own documentation of its sample data).
WHEEL_PHOTO_LICENCES = {
    "astronaut.png": "public domain (NASA)",
    "chelsea.png": "CC0",
    "coffee.png": "CC0",
    "rocket.jpg": "public domain (SpaceX)",
    "motorcycle_left.png": "Middlebury 2014 stereo set (research use)",
    "china.jpg": "CC-BY-2.0",
    "flower.jpg": "CC-BY-2.0",
    "grace_hopper.jpg": "public domain (US Navy)",
}


class DataError(ColourlibError, ValueError):
    """A data folder that cannot be used; the message names the folder and what was found."""


def _to_float_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 RGB in [0, 1]; 16-bit greyscale keeps its full precision."""
    if im.mode in SIXTEEN_BIT_MODES:
        grey = np.asarray(im, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=-1)
    if im.mode == "F":
        grey = np.asarray(im, dtype=np.float32)
        grey = grey / 255.0 if grey.max(initial=0) > 1 else grey
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=-1)
    if im.mode == "P":
        im = im.convert("RGBA")
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def open_upright(path: str | Path) -> Image.Image:
    """Open and decode an image with its EXIF orientation applied (raises on anything unreadable)."""
    with Image.open(path) as im:
        im.load()
        return ImageOps.exif_transpose(im)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read any image as upright float32 sRGB (H, W, 3) in [0, 1], whatever its mode."""
    return _to_float_rgb(open_upright(path))


def open_rgb8(path: str | Path) -> Image.Image:
    """Upright 8-bit RGB Pillow image of any file (16-bit and float images scaled, not clipped)."""
    im = open_upright(path)
    if im.mode in SIXTEEN_BIT_MODES or im.mode == "F":
        return Image.fromarray((_to_float_rgb(im) * 255).round().astype(np.uint8))
    return im.convert("RGBA").convert("RGB") if im.mode == "P" else im.convert("RGB")


#: Pillow's transpose for each EXIF/TIFF orientation value (as ImageOps.exif_transpose applies them).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class Photo:
    """A photo as read for colouring: upright sRGB at full precision, its alpha, bit depth and EXIF."""

    rgb: np.ndarray  # float32 (H, W, 3) in [0, 1]
    alpha: np.ndarray | None  # float32 (H, W) in [0, 1], or None
    bit_depth: int  # 8, or 16 for 16-bit (and float) files, whose precision the output keeps
    exif: Image.Exif | None  # the file's EXIF with its orientation removed (the pixels are upright)


#: Formats whose multi-frame files are animations, which colourise refuses.
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")


def read_photo(path: str | Path) -> Photo:
    """Read any photo for colouring (raises on anything unreadable). 16-bit greyscale keeps its precision
    through Pillow; 16-bit colour TIFFs, which Pillow reads at 8 bits, are read with tifffile."""
    with Image.open(path) as raw:
        # An animated GIF, PNG or WebP: which frame would be meant? (A camera's JPEG with a preview frame,
        # MPO, and a TIFF with a thumbnail page are photos: their first frame is the picture.)
        if raw.format in ANIMATED_FORMATS and getattr(raw, "is_animated", False):
            raise ValueError(
                f"an animated image ({raw.n_frames} frames); colourise colours one still image per file. "
                "Fix: save the frames you want as separate files (e.g. PNG) and colour those"
            )
        raw.load()
        exif = raw.getexif()
        orientation = exif.get(0x0112, 1)
        im = ImageOps.exif_transpose(raw)
    exif.pop(0x0112, None)
    exif_or_none = exif if len(exif) else None
    deep = _sixteen_bit_colour_tiff(path, im.size, orientation)
    if deep is not None:
        return Photo(deep[..., :3], deep[..., 3] if deep.shape[-1] == 4 else None, 16, exif_or_none)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    alpha = None
    if im.mode in ("RGBA", "LA", "PA"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.float32) / 255.0
    bit_depth = 16 if im.mode in SIXTEEN_BIT_MODES or im.mode == "F" else 8
    return Photo(_to_float_rgb(im), alpha, bit_depth, exif_or_none)


def _sixteen_bit_colour_tiff(
    path: str | Path, size: tuple[int, int], orientation: int
) -> np.ndarray | None:
    """A 16-bit RGB(A) TIFF as upright float32 (H, W, 3 or 4) in [0, 1]; ``None`` for any other file."""
    if Path(path).suffix.lower() not in (".tif", ".tiff"):
        return None
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            if (
                page.dtype != np.uint16
                or page.samplesperpixel not in (3, 4)
                or page.photometric != 2
            ):
                return None
            data = page.asarray()
    except Exception:  # not readable by tifffile: Pillow's 8-bit reading stands
        return None
    channels = [Image.fromarray(np.ascontiguousarray(data[..., i])) for i in range(data.shape[-1])]
    if orientation in _ORIENTATION_TRANSPOSE:
        channels = [c.transpose(_ORIENTATION_TRANSPOSE[orientation]) for c in channels]
    upright = np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=-1) / 65535.0
    return upright if upright.shape[1::-1] == tuple(size) else None


def check_image(path: Path, min_size: int) -> str | None:
    """Why ``path`` cannot be used for training at ``min_size`` px, or ``None`` when it can."""
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
        im = open_upright(path)
    except Image.DecompressionBombError as exc:
        return f"refused by Pillow's decompression-bomb guard ({exc})"
    except UnidentifiedImageError:
        return "not an image Pillow can read"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"corrupt or truncated image ({exc})"
    if min(im.size) < min_size:
        return f"smaller than image_size={min_size} ({im.width}x{im.height})"
    return None


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class PhotoSet:
    """The photos of one run: train, validation and test file lists, and what was skipped and why."""

    source: str
    train: list[Path]
    val: list[Path]
    test: list[Path]
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "source": self.source,
            "train": [str(p) for p in self.train],
            "val": [str(p) for p in self.val],
            "test": [str(p) for p in self.test],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "counts": {
                "train": len(self.train),
                "val": len(self.val),
                "test": len(self.test),
                "skipped": len(self.skipped),
            },
        }


def _list_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _usable(files: list[Path], min_size: int, skipped: list[Skipped]) -> list[Path]:
    good = []
    for path in files:
        reason = check_image(path, min_size)
        if reason is None:
            good.append(path)
        else:
            skipped.append(Skipped(str(path), reason))
    return good


def name_order(files: list[Path]) -> list[Path]:
    """Files ordered by a hash of their name: the same order on every machine, whatever the listing order."""
    return sorted(files, key=lambda p: (zlib.crc32(p.name.encode()), p.name))


def subset(files: list[Path], count: int | None) -> list[Path]:
    """At most ``count`` of ``files`` (all for ``None`` or 0), chosen by name and kept in their order; asking
    for more than there are says so (with how many are used) rather than quietly training on fewer."""
    if count and count > len(files) > 0:  # none at all is the caller's error, named there
        warnings.warn(
            f"max_photos={count} is more than the {len(files)} usable training and validation photos: "
            f"using all {len(files)}.",
            stacklevel=3,
        )
    if not count or count >= len(files):
        return list(files)
    chosen = set(name_order(files)[:count])
    return [p for p in files if p in chosen]


def split_by_name(files: list[Path], val_fraction: float) -> tuple[list[Path], list[Path]]:
    """Deterministic split: files ordered by a hash of their name; the first ``ceil(fraction * n)`` validate.

    Depends only on the names (not on listing order, timestamps or contents), so every machine splits alike.
    """
    if len(files) < 2 or val_fraction <= 0:
        return list(files), []
    ranked = name_order(files)
    n_val = min(len(files) - 1, max(1, int(np.ceil(val_fraction * len(files)))))
    val = set(ranked[:n_val])
    return [p for p in files if p not in val], [p for p in files if p in val]


def _find_subfolder(folder: Path, name: str) -> Path | None:
    for child in folder.iterdir():
        if child.is_dir() and child.name.lower() == name.lower():
            return child
    return None


def wheel_test_photos() -> list[Path]:
    """The held-out test photos shipped inside installed wheels (those whose package is installed)."""
    found = []
    for module, rel in WHEEL_TEST_PHOTOS:
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            path = Path(spec.origin).parent / rel
            if path.is_file():
                found.append(path)
    return found


def embedded_manifest() -> list[dict]:
    """Rows of the embedded set's manifest: file, use, source package, original path, author, licence."""
    with paths.PHOTO_MANIFEST.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def black_and_white_photos() -> list[Path]:
    """Real black-and-white photographs from the embedded set, for the qualitative gallery."""
    return sorted((paths.PHOTOS_DIR / "bw").glob("*.jpg"))


#: Skipped files listed in the warning (all of them are in the run's data.json).
SKIPPED_SHOWN = 10
_TOO_SMALL = re.compile(r"^smaller than image_size=\d+ \((\d+)x(\d+)\)$")


def _too_small(skipped: list[Skipped]) -> list[int]:
    """The short sides of the files skipped for being smaller than image_size."""
    return [min(map(int, m.groups())) for s in skipped if (m := _TOO_SMALL.match(s.reason))]


def _only_too_large(image_size: int, skipped: list[Skipped]) -> bool:
    """Every file was skipped for being smaller than ``image_size``, and a smaller size would take some."""
    sides = _too_small(skipped)
    return bool(sides) and len(sides) == len(skipped) and max(sides) >= 32


def _none_usable(image_size: int, skipped: list[Skipped], where: str) -> str:
    """Why no photo is left, when image_size is what rules them out: the fix is a smaller image_size."""
    sides = _too_small(skipped)
    largest = max(sides, default=0) // 32 * 32  # the largest image_size the largest photo allows
    if not sides or not largest:
        return f"no usable photo in {where} ({len(skipped)} skipped). Fix: add photos."
    return (
        f"image_size={image_size} is larger than every photo in {where} ({len(sides)} too small; the "
        f"largest short side is {max(sides)} px). Fix: a smaller image_size, a multiple of 32 up to "
        f"{largest} (e.g. {min(largest, 160)})."
    )


def _describe(folder: Path, files: list[Path], skipped: list[Skipped]) -> str:
    if not files:
        return f"the folder {folder} holds no files"
    shown = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:5])
    more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
    return f"{len(files)} file(s) in {folder}, none usable: {shown}{more}"


def load_photo_set(
    data_dir: str | Path | None,
    image_size: int,
    val_fraction: float = 0.15,
    max_photos: int | None = None,
) -> PhotoSet:
    """Find the photos of a run: ``data_dir`` (paper layout or flat) or, if ``None``, the embedded set.
    ``max_photos`` keeps at most that many training and validation photos (a fixed subset, chosen by name);
    the test photos stay the same."""
    skipped: list[Skipped] = []
    if data_dir is None:
        train_all = subset(
            _usable(_list_files(paths.PHOTOS_DIR / "train"), image_size, skipped), max_photos
        )
        test = _usable(
            _list_files(paths.PHOTOS_DIR / "test") + wheel_test_photos(), image_size, skipped
        )
        if not train_all:
            raise DataError(_none_usable(image_size, skipped, "the embedded photo set"))
        train, val = split_by_name(train_all, val_fraction)
        result = PhotoSet("embedded", train, val, test, skipped)
    else:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise DataError(
                f"data_dir={str(data_dir)!r}: no such folder. Fix: pass an existing folder of "
                "photos, or data_dir=None for the embedded set."
            )
        train_dir, test_dir = _find_subfolder(folder, "Train"), _find_subfolder(folder, "Test")
        if train_dir is not None:
            files = _list_files(train_dir)
            train_all = subset(_usable(files, image_size, skipped), max_photos)
            test = _usable(_list_files(test_dir), image_size, skipped) if test_dir else []
            where = train_dir
        else:
            files = _list_files(folder)
            usable = _usable(files, image_size, skipped)
            rest, test = split_by_name(usable, 0.1 if len(usable) >= 10 else 0)
            train_all, where = subset(rest, max_photos), folder
        if not train_all:
            raise DataError(
                f"data_dir={str(data_dir)!r}: "
                + (
                    _none_usable(image_size, skipped, str(where))
                    if _only_too_large(image_size, skipped)
                    else f"no readable image of at least {image_size} px: "
                    + _describe(where, files, skipped)
                )
            )
        train, val = split_by_name(train_all, val_fraction)
        result = PhotoSet(str(folder), train, val, test, skipped)
    if skipped:
        listing = "\n".join(f"  {s.path}: {s.reason}" for s in skipped[:SKIPPED_SHOWN])
        more = len(skipped) - SKIPPED_SHOWN
        listing += (
            f"\n  ... and {more} more (every one is listed in the run's data.json)"
            if more > 0
            else ""
        )
        warnings.warn(
            f"skipped {len(skipped)} file(s) that cannot be used:\n{listing}", stacklevel=2
        )
    return result
