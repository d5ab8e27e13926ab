#!/usr/bin/env python3
"""Rebuild the embedded photo set (colourlib/photos/) from the Debian wallpaper packages.

The paper's Unsplash set is gone and this project must work offline, so the default training photos are the
natural photographs that three Debian packages ship. This script downloads those packages with apt-get
(no installation), downsizes each listed photo to a short side of 512 px, and writes a manifest with source
package, original path, author and licence, plus the licence texts the photos require.

    python scripts/build_photo_set.py            # needs apt-get and Debian's package lists
    python scripts/build_photo_set.py --debs DIR # use .deb files already downloaded into DIR
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "photo_sources.csv"
OUT = HERE.parent / "colourlib" / "photos"
SHORT_SIDE = 512
JPEG_QUALITY = 90
COMMON_LICENSES = Path("/usr/share/common-licenses")


def download(packages: list[str], into: Path) -> None:
    subprocess.run(["apt-get", "download", *packages], cwd=into, check=True)


def extract(debs: Path, into: Path) -> None:
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(into)], check=True)


def debian_copyright_entries(copyright_file: Path) -> dict[str, tuple[str, str]]:
    """Map a file's basename to (author, licence) from a machine-readable debian/copyright."""
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
    meta = json.loads((image_path.parents[2] / "metadata.json").read_text(encoding="utf-8"))["KPlugin"]
    licence = {"LGPLv3": "LGPL-3.0"}.get(meta.get("License", ""), meta.get("License", "unknown"))
    return meta["Authors"][0]["Name"], licence


def output_name(package: str, path: str) -> str:
    p = Path(path)
    if package == "plasma-workspace-wallpapers":  # .../wallpapers/NAME/contents/images/2560x1600.jpg
        return f"{p.parents[2].name}.jpg"
    return p.name


def downsize(src: Path, dst: Path, greyscale: bool) -> tuple[int, int]:
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("L" if greyscale else "RGB")
        scale = SHORT_SIDE / min(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        im.save(dst, quality=JPEG_QUALITY, optimize=True)
        return im.size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debs", type=Path, help="folder holding the .deb files (default: download them)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    sources = list(csv.DictReader(SOURCES.open()))
    packages = sorted({s["package"] for s in sources})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        debs = args.debs or tmp / "debs"
        if not args.debs:
            debs.mkdir()
            download(packages, debs)
        root = tmp / "root"
        extract(debs, root)
        lomiri = debian_copyright_entries(root / "usr/share/doc/lomiri-wallpapers-16.04/copyright")

        for sub in ("train", "bw", "LICENSES"):
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
            manifest.append({"file": f"{s['use']}/{name}", "use": s["use"], "source_package": s["package"],
                             "original_path": "/" + s["path_in_package"], "author": author, "licence": licence,
                             "width": w, "height": h})
            print(f"{s['use']:5s} {name:45s} {w}x{h}  {author} ({licence})")

        with (args.out / "manifest.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(manifest[0]))
            writer.writeheader()
            writer.writerows(manifest)
        lic = args.out / "LICENSES"
        shutil.copy(root / "usr/share/doc/lomiri-wallpapers-16.04/copyright", lic / "lomiri-wallpapers.copyright")
        shutil.copy(root / "usr/share/doc/plasma-workspace-wallpapers/copyright",
                    lic / "plasma-workspace-wallpapers.copyright")
        for name in ("LGPL-3", "GPL-3", "GPL-2"):
            shutil.copy(COMMON_LICENSES / name, lic / name)
    print(f"wrote {len(manifest)} photos to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
