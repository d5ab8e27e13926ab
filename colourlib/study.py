"""The study's train + evaluate path as library calls (the notebooks and the CLI both call these)."""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from . import evaluate, figures, paths
from .callbacks import read_history
from .config import TrainConfig
from .metrics import AUC_MAX_ERROR
from .model import build_colouriser, encoder_spec
from .provenance import code_fingerprint
from .photos import black_and_white_photos, load_photo_set, read_rgb
from .train import TIMING_FILE, WEIGHTS_FILE, train


def run_name(config: TrainConfig) -> str:
    """A run folder's name, read off its configuration: preset and the parallel axes in words, then a digest of
    every parameter, so two configurations never share a folder and the same one always finds its own."""
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    loaders = "processes" if config.use_multiprocessing else "threads"
    return f"{config.preset}-gpus{config.gpus}-workers{config.workers}-{loaders}-{digest}"


def default_run_dir(config: TrainConfig) -> Path:
    """Where a run goes when its caller names no folder: ``runs/train/<run_name>``."""
    return paths.runs_dir() / "train" / run_name(config)


def is_complete(run_dir: Path, config: TrainConfig) -> bool:
    """A finished run of exactly this configuration and this code (so it can be reused instead of retrained)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        environment = json.loads((run_dir / "environment.json").read_text())
        return (saved == config.to_dict() and environment.get("code_fingerprint") == code_fingerprint()
                and (run_dir / WEIGHTS_FILE).is_file()
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


def config_table(config: TrainConfig) -> pd.DataFrame:
    """Every parameter of a run, one row each, as a notebook shows it before training."""
    return pd.DataFrame({"parameter": list(config.to_dict()), "value": [repr(v) for v in config.to_dict().values()]})


def history_table(run_dir: Path) -> pd.DataFrame:
    """The run's per-epoch record (``history.csv``), epochs counted from 1."""
    history = pd.DataFrame(read_history(Path(run_dir) / "history.csv")).astype(float)
    return history.assign(epoch=history.epoch.astype(int) + 1).set_index("epoch")


def run_summary(run_dir: Path) -> dict:
    """A finished run's key numbers, for the book to cite: steady-state speed (median over epochs after the
    first), input wait, losses, best epoch, devices and where the run is."""
    from .parallel import run_record

    run_dir = Path(run_dir)
    record = run_record(run_dir)
    history = read_history(run_dir / "history.csv")
    return {"images_per_s": record["images_per_s"], "epoch_seconds": record["epoch_seconds"],
            "input_wait_share": record["input_wait_share"], "final_val_loss": record["final_val_loss"],
            "final_loss": float(history[-1]["loss"]), "best_epoch": best_epoch(history), "epochs": len(history),
            "devices": record["devices"], "run_dir": str(run_dir),
            "training_seconds": sum(float(h["epoch_seconds"]) for h in history)}


def reusable(run_dir: Path, config: TrainConfig, force: bool = False) -> bool:
    """Whether ``run_dir`` already holds a finished run of ``config``; with ``force`` it is deleted instead."""
    if force and Path(run_dir).exists():
        shutil.rmtree(run_dir)
    return is_complete(Path(run_dir), config)


def train_or_reuse(config: TrainConfig, run_dir: Path, force: bool = False) -> Path:
    run_dir = Path(run_dir)
    if reusable(run_dir, config, force):
        print(f"reusing finished run {run_dir} (same configuration and code; pass --force to retrain)", flush=True)
    else:
        train(config, run_dir)
    return run_dir


@dataclass
class Evaluation:
    """A run scored on the held-out test photos: tables, and the figures people look at."""

    run_dir: Path
    summary: pd.DataFrame
    per_image: pd.DataFrame
    best_epoch: int
    epochs: int
    curves: object
    gallery_test: object
    gallery_bw: object


def best_epoch(history: list[dict]) -> int:
    """The 1-based epoch with the lowest validation loss: where the model stopped getting better on photos it
    does not train on (the paper reads overfitting from 600-700 of its 1000 epochs)."""
    losses = [float(h["val_loss"]) for h in history]
    return losses.index(min(losses)) + 1


def evaluate_run(run_dir: Path) -> Evaluation:
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
    test_fig = figures.gallery([(p.name, [figures.grey_of(o), c, o])
                                for p, o, c in zip(photos.test, originals, coloured)],
                               ["grey input", "ours", "ground truth"])
    bw_paths = black_and_white_photos()
    bw = [read_rgb(p) for p in bw_paths]
    bw_fig = figures.gallery([(p.name, [o, c]) for p, o, c in
                              zip(bw_paths, bw, evaluate.colourise(model, bw, config.image_size, preprocess))],
                             ["black-and-white original", "ours"])
    history = read_history(run_dir / "history.csv")
    best = best_epoch(history)
    curves = figures.training_curves(history, best)
    for fig, name in ((test_fig, "gallery_test.png"), (bw_fig, "gallery_bw.png"), (curves, "training_curves.png")):
        figures.save(fig, run_dir / name)
    return Evaluation(run_dir, summary, per_image, best, len(history), curves, test_fig, bw_fig)


def evaluation_values(evaluation: Evaluation) -> dict:
    """The numbers the book cites from an evaluation: ``<method>_<metric>`` for every method and metric, the
    ground truth's colourfulness, and the training curve's best epoch and losses."""
    history = read_history(evaluation.run_dir / "history.csv")
    values = {f"{method}_{metric}": float(value) for method, row in evaluation.summary.iterrows()
              for metric, value in row.items()}
    return {**values, "truth_colourfulness": float(evaluation.summary["colourfulness_true"].iloc[0]),
            "best_epoch": evaluation.best_epoch, "epochs": evaluation.epochs,
            "best_val_loss": float(history[evaluation.best_epoch - 1]["val_loss"]),
            "final_loss": float(history[-1]["loss"]),
            "n_test_photos": int(evaluation.per_image.photo.nunique()), "run_dir": str(evaluation.run_dir),
            "auc_max_error": AUC_MAX_ERROR}
