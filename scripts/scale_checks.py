"""Does the default model get better with more photos, more epochs or a faster learning rate? Checked on the
validation photos, 3 seeds each, so a change is told from the seed spread.

The study's default (``colouring_config("lite0", "quick", seed)``, "all") against:
- "half", "quarter": half and a quarter of its training photos (a fixed subset: the last photos in the split's name
  order), with the crops per photo scaled (8, 16) so that every run sees as many training samples and steps;
- "6 epochs": twice the epochs;
- "learning rate 3e-4": three times the learning rate.
The validation photos are the same 66 for every run; each run is scored on them, whole, at the run's T, as the
searches score candidates (``study.recipes.validation_scores``).

    .venv/bin/python scripts/scale_checks.py [--out results/scale-checks] [--runs runs/scale-checks]

Writes ``per-photo.csv`` (every photo's scores per variant and seed) and ``summary.csv``
(``study.recipes.seed_differences``: per variant and measure, the mean over seeds, its seed standard
deviation, and the difference from "all" with a 95 % Welch interval over the 3 + 3 seed means and its verdict), and
``environment.json`` (machine, library versions, commit, date, the variants). results/scale-checks/README.md records the machine, commit and reading.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
from pathlib import Path

import keras
import pandas as pd

from colourlib import atomic, paths
from colourlib.data.photos import load_photo_set, name_order
from colourlib.provenance import environment_record
from colourlib.train import train
from study import paths as study_paths
from study.config import colouring_config, colouring_seeds
from study.recipes import (
    SEED_MEASURES,
    ValidationSet,
    seed_differences,
    validation_scores,
)

#: name: (1 / share of the training photos kept, the default's values changed)
VARIANTS: dict[str, tuple[int, dict]] = {
    "all": (1, {}),
    "half": (2, {}),
    "quarter": (4, {}),
    "6 epochs": (1, {"epochs": 6}),
    "learning rate 3e-4": (1, {"learning_rate": 3e-4}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=study_paths.SCALE_CHECKS)
    parser.add_argument("--runs", type=Path, default=paths.runs_dir() / "scale-checks")
    args = parser.parse_args()

    first = colouring_config("lite0", "quick")
    photos = load_photo_set(first.data_dir, first.image_size, first.val_fraction, first.max_photos)
    val = ValidationSet.of(first)
    ranked = name_order(photos.train)
    tables = []
    for variant, (keep, changed) in VARIANTS.items():
        kept = set(ranked[len(ranked) - len(ranked) // keep :])
        subset = dataclasses.replace(photos, train=[p for p in photos.train if p in kept])
        for seed in colouring_seeds("quick"):
            config = dataclasses.replace(
                colouring_config("lite0", "quick", seed),
                crops_per_photo=first.crops_per_photo * keep,
                **changed,
            )
            folder = args.runs / f"{variant.replace(' ', '-')}-seed{seed}"
            print(
                f"{variant}: {len(subset.train)} training photos, seed {seed}: {folder}", flush=True
            )
            train(config, folder, photos=subset, print_progress=True)
            keras.backend.clear_session()
            gc.collect()
            scores = validation_scores(folder, (None,), val)
            tables.append(scores.assign(variant=variant, train_photos=len(subset.train), seed=seed))
            pd.concat(tables).to_csv(args.runs / "per-photo-so-far.csv", index=False)
    per_photo = pd.concat(tables, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    columns = ["photo", "variant", "train_photos", "seed", *SEED_MEASURES, "colourfulness_true"]
    per_photo[columns].to_csv(args.out / "per-photo.csv", index=False)
    summary = seed_differences(per_photo, "all")
    summary.to_csv(args.out / "summary.csv", index=False)
    atomic.write_json(
        args.out / "environment.json",
        {
            **environment_record(),
            "variants": {k: {"keep": 1 / n, **v} for k, (n, v) in VARIANTS.items()},
        },
        kind="environment",
    )
    with pd.option_context("display.width", 200):
        print(summary.round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
