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
from .notebooks import markdown
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


def colouring_runs(preset: str = "quick") -> dict[str, Path]:
    """The default run folder of each of the study's colouring models at ``preset``."""
    from .config import COLOURING_MODELS, colouring_config

    return {model: default_run_dir(colouring_config(model, preset)) for model in COLOURING_MODELS}


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


def best_epoch(history: list[dict]) -> int:
    """The 1-based epoch with the lowest validation loss: where the model stopped getting better on photos it
    does not train on (the paper reads overfitting from 600-700 of its 1000 epochs)."""
    losses = [float(h["val_loss"]) for h in history]
    return losses.index(min(losses)) + 1


def method_label(config: TrainConfig) -> str:
    """How a run's model is named in the comparison: its encoder and the weights it started from."""
    encoder = {"vgg16": "VGG16", "efficientnet-lite0": "EfficientNet-Lite0"}.get(config.encoder, config.encoder)
    weights = {None: "random init", "imagenet": "ImageNet weights"}.get(config.encoder_weights)
    weights = weights or f"weights from {Path(config.encoder_weights).name}"
    how = ", encoder frozen" if config.cache_features or not config.encoder_trainable else ""
    return f"{encoder} ({weights}{how})"


@dataclass
class Comparison:
    """Trained models and the baselines scored on the same held-out photos: tables, and the figures people
    look at. ``labels`` maps each method's key (``vgg16``, ``lite0``, ``grey``, ``mean_ab``) to its name."""

    runs: dict[str, Path]
    labels: dict[str, str]
    summary: pd.DataFrame
    per_image: pd.DataFrame
    histories: dict[str, list[dict]]
    curves: dict[str, object]
    bars: object
    gallery_test: object
    gallery_bw: object


BASELINE_LABELS = {"grey": "grey (a = b = 0)", "mean_ab": "mean ab of the training photos"}


def compare_runs(runs: dict[str, Path], out_dir: Path) -> Comparison:
    """Score every run's model on the held-out test photos beside the grey and mean-ab baselines.

    ``runs`` maps a key to a finished run; all must use the same photos. Writes ``metrics_per_image.csv``,
    ``metrics_summary.csv``, ``gallery_test.png`` (grey input / each model / ground truth), ``gallery_bw.png``
    (real black-and-white photos coloured by each model), ``metric_bars.png`` and ``training_curves_<key>.png``
    to ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = {key: load_model(run_dir) for key, run_dir in runs.items()}
    sources = {key: (config.data_dir, config.val_fraction) for key, (_, config) in loaded.items()}
    if len(set(sources.values())) > 1:
        raise ValueError(f"runs {sorted(runs)} were trained on different photos ({sources}); a comparison needs "
                         "the same held-out photos. Fix: compare runs with the same data_dir and val_fraction.")
    first = next(iter(loaded.values()))[1]
    photos = load_photo_set(first.data_dir, min(c.image_size for _, c in loaded.values()), first.val_fraction)
    originals = [read_rgb(p) for p in photos.test]
    labels = {key: method_label(config) for key, (_, config) in loaded.items()}
    if len(set(labels.values())) < len(labels):  # two runs of one recipe: tell them apart by their folders
        labels = {key: f"{label} [{Path(runs[key]).name}]" for key, label in labels.items()}
    labels |= BASELINE_LABELS
    predictions = {key: evaluate.predict_ab(model, originals, config.image_size,
                                            encoder_spec(config.encoder).preprocess)
                   for key, (model, config) in loaded.items()}
    predictions |= evaluate.baseline_ab(originals, evaluate.mean_ab(photos.train))
    per_image = evaluate.evaluate_photos([p.name for p in photos.test], originals,
                                         {labels[k]: v for k, v in predictions.items()})
    summary = evaluate.summarise(per_image)
    per_image.to_csv(out_dir / "metrics_per_image.csv", index=False)
    summary.to_csv(out_dir / "metrics_summary.csv")

    models = list(runs)
    test_fig = figures.gallery(
        [(p.name, [figures.grey_of(o), *(evaluate.recombine(o, predictions[k][i]) for k in models), o])
         for i, (p, o) in enumerate(zip(photos.test, originals))],
        ["grey input", *(labels[k] for k in models), "ground truth"])
    bw_paths = black_and_white_photos()
    bw = [read_rgb(p) for p in bw_paths]
    coloured_bw = {key: evaluate.colourise(model, bw, config.image_size, encoder_spec(config.encoder).preprocess)
                   for key, (model, config) in loaded.items()}
    bw_fig = figures.gallery([(p.name, [o, *(coloured_bw[k][i] for k in models)])
                              for i, (p, o) in enumerate(zip(bw_paths, bw))],
                             ["black-and-white original", *(labels[k] for k in models)])
    histories = {key: read_history(Path(run_dir) / "history.csv") for key, run_dir in runs.items()}
    curves = {key: figures.training_curves(h, best_epoch(h)) for key, h in histories.items()}
    bars = figures.method_bars(summary)
    for fig, name in ((test_fig, "gallery_test.png"), (bw_fig, "gallery_bw.png"), (bars, "metric_bars.png"),
                      *((c, f"training_curves_{k}.png") for k, c in curves.items())):
        figures.save(fig, out_dir / name)
    return Comparison(dict(runs), labels, summary, per_image, histories, curves, bars, test_fig, bw_fig)


#: The issue's goal for the pretrained-encoder model, checked on the measured means.
GOAL_COLOURFULNESS_SHARE = 0.5


def goal_check(comparison: Comparison, key: str) -> dict[str, bool]:
    """Whether model ``key`` beats the mean-ab baseline on ab error and AuC, and reaches half of the ground
    truth's colourfulness (grey scores 0)."""
    ours, mean = comparison.summary.loc[comparison.labels[key]], comparison.summary.loc[comparison.labels["mean_ab"]]
    return {"ab_error": bool(ours.ab_error < mean.ab_error), "auc_ab": bool(ours.auc_ab > mean.auc_ab),
            "colourfulness": bool(ours.colourfulness >= GOAL_COLOURFULNESS_SHARE * ours.colourfulness_true)}


def goal_sentence(comparison: Comparison, key: str) -> str:
    """The goal's outcome in words, with the numbers, for the book's prose."""
    s, labels = comparison.summary, comparison.labels
    ours, mean = s.loc[labels[key]], s.loc[labels["mean_ab"]]
    met = goal_check(comparison, key)
    parts = [
        f"mean ab error {ours.ab_error:.2f} against the mean-ab baseline's {mean.ab_error:.2f} "
        f"({'better' if met['ab_error'] else 'not better'})",
        f"AuC {ours.auc_ab:.4f} against {mean.auc_ab:.4f} ({'better' if met['auc_ab'] else 'not better'})",
        f"colourfulness {ours.colourfulness:.1f}, {ours.colourfulness / ours.colourfulness_true:.0%} of the "
        f"ground truth's {ours.colourfulness_true:.1f} ({'at least' if met['colourfulness'] else 'below'} half)"]
    verdict = "meets every part of the goal" if all(met.values()) else \
        f"misses {sum(not v for v in met.values())} of the goal's 3 parts"
    return f"{labels[key]} {verdict}: " + "; ".join(parts) + "."


def per_image_table(comparison: Comparison, metrics=("ab_error", "auc_ab", "ciede2000", "colourfulness")
                    ) -> pd.DataFrame:
    """One row per photo, one column per (metric, method): where each model wins and loses."""
    table = comparison.per_image.pivot(index="photo", columns="method", values=list(metrics))
    order = list(dict.fromkeys(comparison.per_image["method"]))
    return table.reindex(columns=pd.MultiIndex.from_product([list(metrics), order]))


def recipe_table(runs: dict[str, Path]) -> pd.DataFrame:
    """The compared models' configurations side by side, parameters that differ first."""
    configs = {key: json.loads((Path(run_dir) / "config.json").read_text()) for key, run_dir in runs.items()}
    table = pd.DataFrame({method_label(TrainConfig.from_dict(c)): {k: repr(v) for k, v in c.items()}
                          for c in configs.values()})
    differs = table.nunique(axis=1) > 1
    return pd.concat([table[differs], table[~differs]]).rename_axis("parameter")


def comparison_values(comparison: Comparison) -> dict:
    """The numbers the book cites: ``<key>_<metric>`` for every method and metric, each model's label, best
    epoch, epochs, losses, the goal's outcome, and the ground truth's colourfulness."""
    values = {f"{key}_{metric}": float(comparison.summary.loc[label, metric])
              for key, label in comparison.labels.items() for metric in comparison.summary.columns}
    values |= {f"{key}_label": label for key, label in comparison.labels.items()}  # plain, for other documents
    for key, history in comparison.histories.items():
        best = best_epoch(history)
        values |= {f"{key}_best_epoch": best, f"{key}_epochs": len(history),
                   f"{key}_best_val_loss": float(history[best - 1]["val_loss"]),
                   f"{key}_final_loss": float(history[-1]["loss"])}
    for key in comparison.runs:
        sentence = goal_sentence(comparison, key)
        values[f"{key}_goal_plain"], values[f"{key}_goal"] = sentence, markdown(sentence)
        values[f"{key}_goal_met"] = all(goal_check(comparison, key).values())
        values[f"{key}_name"] = markdown(comparison.labels[key])
    return {**values, "truth_colourfulness": float(comparison.summary["colourfulness_true"].iloc[0]),
            "n_test_photos": int(comparison.per_image.photo.nunique()), "auc_max_error": AUC_MAX_ERROR,
            "goal_colourfulness_share": GOAL_COLOURFULNESS_SHARE}
