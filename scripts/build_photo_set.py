#!/usr/bin/env python3
"""Rebuild the embedded photo set (colourlib/photos/) from Debian packages.

The paper's Unsplash set is gone and this project must work offline, so the training and test photos are the
natural photographs that Debian packages ship:

- ``photo_sources.csv``: 23 colour wallpapers and 2 real black-and-white photos from three wallpaper packages
  (downsized to a short side of 512 px, as before);
- ``more_photos.csv``: about 460 more colour photos from 12 packages (landscapes from ``endless-sky-data``,
  backgrounds from ``scratch``, demo photos, templates...), each checked by eye (the ``keep`` column says why a
  row is left out; ``rotate`` turns the two demo photos that are stored on their side). They are downsized to a
  short side of 320 px, and one in ten (at least 40), chosen by a hash of its name, is held out as a test photo
  (``test/``): the split is by photo, never by crop, and the same on every machine.

The script downloads the packages with ``apt-get download`` (nothing is installed), drops near-duplicates
(difference hash within :data:`NEAR_DUPLICATE_BITS` bits), and writes a manifest (file, use, package, version,
original path, author, licence, size) and each package's copyright file, plus the common licence texts they cite.

    python scripts/build_photo_set.py            # needs apt-get and Debian's package lists
    python scripts/build_photo_set.py --debs DIR # use .deb files already downloaded into DIR
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "photo_sources.csv"
MORE = HERE / "more_photos.csv"
OUT = HERE.parent / "colourlib" / "photos"
SHORT_SIDE = 512  # the wallpapers
MORE_SHORT_SIDE = (
    320  # the other photos: close to the encoder's 224 px, and the repository stays light
)
JPEG_QUALITY = 90
MORE_JPEG_QUALITY = 88
#: This share of the more photos (at least MIN_TEST_PHOTOS) is held out for testing: those whose file names have
#: the smallest crc32, so the split depends on the names alone.
TEST_SHARE = 0.1
MIN_TEST_PHOTOS = 40
NEAR_DUPLICATE_BITS = (
    24  # of 256: a difference hash this close is the same photo, resized or re-encoded
)
COMMON_LICENSES = Path("/usr/share/common-licenses")
LICENCE_TEXTS = ("GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "CC0-1.0", "GFDL-1.2", "BSD")


def download(packages: list[str], into: Path) -> None:
    subprocess.run(["apt-get", "download", *packages], cwd=into, check=True)


def extract(debs: Path, into: Path) -> dict[str, str]:
    """Unpack every .deb into ``into``; returns each package's version."""
    versions = {}
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(into)], check=True)
        fields = subprocess.run(
            ["dpkg-deb", "-f", str(deb), "Package", "Version"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        info = dict(line.split(": ", 1) for line in fields.strip().splitlines())
        versions[info["Package"]] = info["Version"]
    return versions


def copyright_stanzas(copyright_file: Path) -> list[tuple[list[str], str, str]]:
    """(file patterns, holder, licence) of each ``Files:`` stanza of a machine-readable debian/copyright."""
    stanzas = []
    for para in copyright_file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        files = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", para, re.M)
        holder = re.search(r"^Copyright:\s*(.*(?:\n[ \t]+.*)*)", para, re.M)
        licence = re.search(r"^License:\s*(\S+)", para, re.M)
        if files and licence:
            first = (holder.group(1).strip().splitlines() or [""])[0] if holder else ""
            author = re.sub(
                r"^(?:copyright\s*)?(?:\(c\)\s*)?(?:\d{4}(?:-\d{4})?[.,]?\s*)*",
                "",
                first.strip(),
                flags=re.I,
            ).strip(' ."')
            stanzas.append((files.group(1).split(), author, licence.group(1)))
    return stanzas


def holder_of(
    stanzas: list[tuple[list[str], str, str]], installed_path: str
) -> tuple[str, str] | None:
    """(holder, licence) of the last stanza whose pattern matches the file (Debian's rule), a pattern being
    matched against every tail of the installed path (the source tree's paths differ from the installed ones)."""
    parts = installed_path.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = None
    for patterns, author, licence in stanzas:
        if any(fnmatch.fnmatchcase(tail, pattern) for pattern in patterns for tail in tails):
            found = (author, licence)
    return found


def debian_copyright_entries(copyright_file: Path) -> dict[str, tuple[str, str]]:
    """Map a file's basename to (author, licence) from a machine-readable debian/copyright (the wallpapers)."""
    entries = {}
    for para in copyright_file.read_text(encoding="utf-8").split("\n\n"):
        files = re.search(r"^Files:\s*(.+)$", para, re.M)
        holder = re.search(r"^Copyright:\s*(.+)$", para, re.M)
        licence = re.search(r"^License:\s*(\S+)", para, re.M)
        if files and holder and licence:
            author = re.sub(r"^\s*(\d{4}[.,]?\s*)|,?\s*\d{4}\s*$", "", holder.group(1)).strip(' ."')
            for name in files.group(1).split():
                entries[Path(name).name] = (author.replace('"', ""), licence.group(1))
    return entries


def kde_metadata(image_path: Path) -> tuple[str, str]:
    """(author, licence) from a KDE wallpaper's metadata.json, two folders above contents/images/."""
    meta = json.loads((image_path.parents[2] / "metadata.json").read_text(encoding="utf-8"))[
        "KPlugin"
    ]
    licence = {"LGPLv3": "LGPL-3.0"}.get(meta.get("License", ""), meta.get("License", "unknown"))
    return meta["Authors"][0]["Name"], licence


def output_name(package: str, path: str) -> str:
    p = Path(path)
    if (
        package == "plasma-workspace-wallpapers"
    ):  # .../wallpapers/NAME/contents/images/2560x1600.jpg
        return f"{p.parents[2].name}.jpg"
    return p.name


def more_name(package: str, path: str) -> str:
    """A unique, readable file name for one of the more photos: the package, then the photo's path inside the
    package's own folder (scratch, labelme and tuxtype repeat base names in different folders)."""
    inside = re.sub(r"^usr/share/(?:doc/|games/)?[^/]+/", "", path)
    inside = re.sub(
        r"^(?:images/land|Media/Backgrounds|demo|templates|collection|wallpapers)/", "", inside
    )
    short = package.replace("-data", "").replace("-testdata", "").replace("-examples", "")
    return f"{short}--{re.sub(r'[^A-Za-z0-9_.-]+', '_', str(Path(inside).with_suffix('')))}.jpg"


def downsize(
    src: Path,
    dst: Path,
    greyscale: bool,
    short_side: int = SHORT_SIDE,
    quality: int = JPEG_QUALITY,
    rotate: int = 0,
) -> tuple[int, int]:
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "LA", "RGBA", "PA") else im
        im = im.convert("L" if greyscale else "RGB")
        if rotate:
            im = im.rotate(rotate, expand=True)
        scale = short_side / min(im.size)
        if scale < 1:
            im = im.resize(
                (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
            )
        im.save(dst, quality=quality, optimize=True)
        return im.size


def difference_hash(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        grey = np.asarray(
            im.convert("L").resize((17, 16), Image.Resampling.LANCZOS), dtype=np.float32
        )
    return (grey[:, 1:] > grey[:, :-1]).ravel()


def test_names(names: list[str]) -> set[str]:
    """The held-out test photos: a deterministic share, chosen by a hash of the file name."""
    count = max(MIN_TEST_PHOTOS, math.ceil(TEST_SHARE * len(names)))
    return set(sorted(names, key=lambda n: (zlib.crc32(n.encode()), n))[:count])


def build_more(root: Path, versions: dict[str, str], out: Path) -> list[dict]:
    """The more photos: kept rows downsized into train/ or test/, near-duplicates dropped, with provenance."""
    rows = [r for r in csv.DictReader(MORE.open(encoding="utf-8")) if r["keep"] == "yes"]
    stanzas = {
        p: copyright_stanzas(root / "usr/share/doc" / p / "copyright")
        for p in {r["package"] for r in rows}
    }
    names = [more_name(r["package"], r["path"]) for r in rows]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise SystemExit(f"two photos would share an output name: {clashes}")
    held_out = test_names(names)
    manifest, hashes = [], []
    for r, name in zip(rows, names):
        use = "test" if name in held_out else "train"
        dst = out / use / name
        w, h = downsize(
            root / r["path"],
            dst,
            greyscale=False,
            short_side=MORE_SHORT_SIDE,
            quality=MORE_JPEG_QUALITY,
            rotate=int(r["rotate"]),
        )
        digest = difference_hash(dst)
        twin = next(
            (
                m
                for m, d in zip(manifest, hashes)
                if np.count_nonzero(d != digest) <= NEAR_DUPLICATE_BITS
            ),
            None,
        )
        if twin is not None:
            print(f"skip  {name}: a near-duplicate of {twin['file']}")
            dst.unlink()
            continue
        holder = holder_of(stanzas[r["package"]], r["path"])
        author = re.search(
            r"\.desktop: [^,]+, (.+)$", r["licence"]
        )  # palapeli names each photo's author
        author = (
            author.group(1)
            if author
            else (
                holder[0]
                if holder and holder[0] not in ("", "none")
                else "see the package's copyright"
            )
        )
        if r["package"] == "endless-sky-data" and holder and holder[1] != r["licence"]:
            raise SystemExit(
                f"{r['path']}: the copyright file says {holder[1]}, more_photos.csv {r['licence']}"
            )
        manifest.append(
            {
                "file": f"{use}/{name}",
                "use": use,
                "source_package": r["package"],
                "version": versions.get(r["package"], r["version"]),
                "original_path": "/" + r["path"],
                "author": author,
                "licence": r["licence"],
                "width": w,
                "height": h,
            }
        )
        hashes.append(digest)
        print(f"{use:5s} {name:60s} {w}x{h}  {author} ({r['licence']})")
    tests = sum(m["use"] == "test" for m in manifest)
    if tests < MIN_TEST_PHOTOS:
        raise SystemExit(f"only {tests} test photos; the study needs at least {MIN_TEST_PHOTOS}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--debs", type=Path, help="folder holding the .deb files (default: download them)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    sources = list(csv.DictReader(SOURCES.open()))
    more_packages = {
        r["package"] for r in csv.DictReader(MORE.open(encoding="utf-8")) if r["keep"] == "yes"
    }
    packages = sorted({s["package"] for s in sources} | more_packages)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        debs = args.debs or tmp / "debs"
        if not args.debs:
            debs.mkdir()
            download(packages, debs)
        root = tmp / "root"
        versions = extract(debs, root)
        lomiri = debian_copyright_entries(root / "usr/share/doc/lomiri-wallpapers-16.04/copyright")

        for sub in ("train", "test", "bw", "LICENSES"):
            shutil.rmtree(args.out / sub, ignore_errors=True)
            (args.out / sub).mkdir(parents=True)
        manifest = []
        for s in sources:
            src = root / s["path_in_package"]
            if s["package"].startswith("lomiri"):
                author, licence = lomiri[src.name]
            else:
                author, licence = kde_metadata(src)
            name = output_name(s["package"], s["path_in_package"])
            w, h = downsize(src, args.out / s["use"] / name, greyscale=s["use"] == "bw")
            manifest.append(
                {
                    "file": f"{s['use']}/{name}",
                    "use": s["use"],
                    "source_package": s["package"],
                    "version": versions[s["package"]],
                    "original_path": "/" + s["path_in_package"],
                    "author": author,
                    "licence": licence,
                    "width": w,
                    "height": h,
                }
            )
            print(f"{s['use']:5s} {name:60s} {w}x{h}  {author} ({licence})")
        manifest += build_more(root, versions, args.out)

        with (args.out / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(manifest[0]))
            writer.writeheader()
            writer.writerows(manifest)
        lic = args.out / "LICENSES"
        for package in sorted({m["source_package"] for m in manifest}):
            short = package.replace("-16.04", "")
            shutil.copy(root / "usr/share/doc" / package / "copyright", lic / f"{short}.copyright")
        for name in LICENCE_TEXTS:
            shutil.copy(COMMON_LICENSES / name, lic / name)
    counts = {use: sum(m["use"] == use for m in manifest) for use in ("train", "test", "bw")}
    print(f"wrote {len(manifest)} photos to {args.out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
