"""The picture on the README's front page: held-out test photos as grey input, coloured by colourise's default
model, and the original, one column per photo, chosen by a fixed rule (every k-th test photo by name), never
by eye.

    .venv/bin/python scripts/readme_strip.py [--out results/strip.jpg] [--photos 6]

It needs a finished study (the default model, ``runs/colourise-model.json``); results/README.md records the
machine and commit of the committed picture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from colourlib import paths
from colourlib.apps.colourise import load_colouriser
from colourlib.colour import lab_to_rgb, rgb_to_lab
from colourlib.data.photos import read_rgb
from study import paths as study_paths

HEIGHT = 200  # px per row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=study_paths.RESULTS_DIR / "strip.jpg")
    parser.add_argument("--photos", type=int, default=6)
    args = parser.parse_args()
    test = sorted((paths.PHOTOS_DIR / "test").glob("*.jpg"))
    step = len(test) // args.photos
    chosen = test[step // 2 :: step][: args.photos]  # every k-th by name, starting mid-interval
    colouriser = load_colouriser(None, None, None)  # the study's default model
    columns = []
    for path in chosen:
        rgb = read_rgb(path)
        lab = rgb_to_lab(rgb)
        grey = lab_to_rgb(np.concatenate([lab[..., :1], np.zeros_like(lab[..., 1:])], axis=-1))
        rows = [grey, colouriser.colour(rgb), rgb]
        width = round(rgb.shape[1] * HEIGHT / rgb.shape[0])
        columns.append(
            np.concatenate(
                [
                    np.asarray(Image.fromarray(_uint8(r)).resize((width, HEIGHT), Image.LANCZOS))
                    for r in rows
                ]
            )
        )
    gap = np.full((3 * HEIGHT, 6, 3), 255, np.uint8)
    strip = np.concatenate([part for column in columns for part in (column, gap)][:-1], axis=1)
    Image.fromarray(strip).save(args.out, quality=85, optimize=True)
    print(
        f"{args.out}: {strip.shape[1]} x {strip.shape[0]} px, photos {', '.join(p.name for p in chosen)}"
    )
    return 0


def _uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


if __name__ == "__main__":
    raise SystemExit(main())
