"""The study's train + evaluate path as library calls (the notebooks and the CLI both call these)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import pandas as pd

from . import evaluate, figures
from .callbacks import read_history
from .config import TrainConfig
from .model import build_colouriser, encoder_spec
from .photos import black_and_white_photos, load_photo_set, read_rgb
from .train import TIMING_FILE, WEIGHTS_FILE, train


def is_complete(run_dir: Path, config: TrainConfig) -> bool:
    """A finished run of exactly this configuration (so it can be reused instead of retrained)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        return (saved == config.to_dict() and (run_dir / WEIGHTS_FILE).is_file()
                and (run_dir / TIMING_FILE).is_file()
                and len(read_history(run_dir / "history.csv")) == config.epochs)
    except (OSError, ValueError):
        return False


def load_model(run_dir: Path) -> tuple[keras.Model, TrainConfig]:
    """The trained colouriser of a finished run, with the configuration it was trained with."""
    config = TrainConfig.from_dict(json.loads((Path(run_dir) / "config.json").read_text()),
                                   source=str(Path(run_dir) / "config.json"))
    model = build_colouriser(config.image_size, config.encoder, None)
    model.load_weights(Path(run_dir) / WEIGHTS_FILE)
    return model, config


def reusable(run_dir: Path, config: TrainConfig, force: bool = False) -> bool:
    """Whether ``run_dir`` already holds a finished run of ``config``; with ``force`` it is deleted instead."""
    if force and Path(run_dir).exists():
        shutil.rmtree(run_dir)
    return is_complete(Path(run_dir), config)


def train_or_reuse(config: TrainConfig, run_dir: Path, force: bool = False) -> Path:
    run_dir = Path(run_dir)
    if reusable(run_dir, config, force):
        print(f"reusing finished run {run_dir} (same configuration; pass --force to retrain)", flush=True)
    else:
        train(config, run_dir)
    return run_dir


def evaluate_run(run_dir: Path) -> pd.DataFrame:
    """Score a run on the held-out test photos against the grey and mean-ab baselines; write tables + figures.

    Writes ``metrics_per_image.csv``, ``metrics_summary.csv``, ``gallery_test.png`` (grey input / ours /
    ground truth), ``gallery_bw.png`` (real black-and-white photos coloured) and ``training_curves.png``.
    """
    run_dir = Path(run_dir)
    model, config = load_model(run_dir)
    photos = load_photo_set(config.data_dir, config.image_size, config.val_fraction)
    preprocess = encoder_spec(config.encoder).preprocess
    originals = [read_rgb(p) for p in photos.test]
    ours = evaluate.predict_ab(model, originals, config.image_size, preprocess)
    predictions = {"ours": ours, **evaluate.baseline_ab(originals, evaluate.mean_ab(photos.train))}
    per_image = evaluate.evaluate_photos([p.name for p in photos.test], originals, predictions)
    summary = evaluate.summarise(per_image)
    per_image.to_csv(run_dir / "metrics_per_image.csv", index=False)
    summary.to_csv(run_dir / "metrics_summary.csv")

    coloured = [evaluate.recombine(o, ab) for o, ab in zip(originals, ours)]
    figures.gallery([(p.name, [figures.grey_of(o), c, o]) for p, o, c in zip(photos.test, originals, coloured)],
                    ["grey input", "ours", "ground truth"], run_dir / "gallery_test.png")
    bw = [read_rgb(p) for p in black_and_white_photos()]
    figures.gallery([(p.name, [o, c]) for p, o, c in
                     zip(black_and_white_photos(), bw, evaluate.colourise(model, bw, config.image_size, preprocess))],
                    ["black-and-white original", "ours"], run_dir / "gallery_bw.png")
    figures.training_curves(read_history(run_dir / "history.csv"), run_dir / "training_curves.png")
    return summary
