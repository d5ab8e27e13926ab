"""The colouring models compared: every trained model and the two baselines scored on the same held-out photos,
the goal checked, and the recipes side by side. Returns data (tables, images, plain sentences); the report
draws the figures and formats what the book shows."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import evaluate
from ..colouriser import Colouriser
from ..config import TrainConfig
from ..data.photos import black_and_white_photos, load_photo_set, read_rgb
from ..metrics import AUC_MAX_ERROR
from ..runs import RunFolder, best_epoch


def method_label(config: TrainConfig) -> str:
    """How a run's model is named in the comparison: its encoder and the weights it started from."""
    encoder = {"vgg16": "VGG16", "efficientnet-lite0": "EfficientNet-Lite0"}.get(config.encoder, config.encoder)
    weights = {None: "random init", "imagenet": "ImageNet weights"}.get(config.encoder_weights)
    weights = weights or f"weights from {Path(config.encoder_weights).name}"
    how = ", encoder frozen" if config.cache_features or not config.encoder_trainable else ""
    return f"{encoder} ({weights}{how})"


@dataclass
class Comparison:
    """Trained models and the baselines scored on the same held-out photos: the tables, and the photos and
    predictions the report's galleries show. ``labels`` maps each method's key (``vgg16``, ``lite0``, ``grey``,
    ``mean_ab``) to its name."""

    runs: dict[str, Path]
    labels: dict[str, str]
    summary: pd.DataFrame
    per_image: pd.DataFrame
    histories: dict[str, list[dict]]
    test_names: list[str] = field(default_factory=list)
    test_photos: list[np.ndarray] = field(default_factory=list)
    predictions: dict[str, list[np.ndarray]] = field(default_factory=dict)  # ab planes, CIE units, per key
    bw_names: list[str] = field(default_factory=list)
    bw_photos: list[np.ndarray] = field(default_factory=list)
    bw_coloured: dict[str, list[np.ndarray]] = field(default_factory=dict)  # sRGB, per model key

    @property
    def models(self) -> list[str]:
        return list(self.runs)


BASELINE_LABELS = {"grey": "grey (a = b = 0)", "mean_ab": "mean ab of the training photos"}


def compare_runs(runs: dict[str, Path], out_dir: Path) -> Comparison:
    """Score every run's model on the held-out test photos beside the grey and mean-ab baselines, and colour
    the real black-and-white photos with each.

    ``runs`` maps a key to a finished run; all must use the same photos. Writes ``metrics_per_image.csv`` and
    ``metrics_summary.csv`` to ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colourisers = {key: Colouriser.from_run(run_dir) for key, run_dir in runs.items()}
    configs = {key: colouriser.config for key, colouriser in colourisers.items()}
    sources = {key: (config.data_dir, config.val_fraction, config.max_photos) for key, config in configs.items()}
    if len(set(sources.values())) > 1:
        raise ValueError(f"runs {sorted(runs)} were trained on different photos ({sources}); a comparison needs "
                         "the same photos. Fix: compare runs with the same data_dir, val_fraction and max_photos.")
    first = next(iter(configs.values()))
    photos = load_photo_set(first.data_dir, min(c.image_size for c in configs.values()), first.val_fraction,
                            first.max_photos)
    originals = [read_rgb(p) for p in photos.test]
    labels = {key: method_label(config) for key, config in configs.items()}
    if len(set(labels.values())) < len(labels):  # two runs of one recipe: tell them apart by their folders
        labels = {key: f"{label} [{Path(runs[key]).name}]" for key, label in labels.items()}
    labels |= BASELINE_LABELS
    predictions = {key: colouriser.predict_ab(originals) for key, colouriser in colourisers.items()}
    predictions |= evaluate.baseline_ab(originals, evaluate.mean_ab(photos.train))
    per_image = evaluate.evaluate_photos([p.name for p in photos.test], originals,
                                         {labels[k]: v for k, v in predictions.items()})
    summary = evaluate.summarise(per_image)
    per_image.to_csv(out_dir / "metrics_per_image.csv", index=False)
    summary.to_csv(out_dir / "metrics_summary.csv")

    bw_paths = black_and_white_photos()
    bw = [read_rgb(p) for p in bw_paths]
    return Comparison(
        dict(runs), labels, summary, per_image,
        histories={key: RunFolder(run_dir).history() for key, run_dir in runs.items()},
        test_names=[p.name for p in photos.test], test_photos=originals, predictions=predictions,
        bw_names=[p.name for p in bw_paths], bw_photos=bw,
        bw_coloured={key: colouriser.colour_all(bw) for key, colouriser in colourisers.items()})


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
    configs = {key: RunFolder(run_dir).read_json(RunFolder.CONFIG) for key, run_dir in runs.items()}
    table = pd.DataFrame({method_label(TrainConfig.from_dict(c)): {k: repr(v) for k, v in c.items()}
                          for c in configs.values()})
    differs = table.nunique(axis=1) > 1
    return pd.concat([table[differs], table[~differs]]).rename_axis("parameter")


def comparison_values(comparison: Comparison) -> dict:
    """The numbers and sentences the book cites: ``<key>_<metric>`` for every method and metric, each model's
    label, best epoch, epochs, losses, the goal's outcome in words, and the ground truth's colourfulness."""
    values = {f"{key}_{metric}": float(comparison.summary.loc[label, metric])
              for key, label in comparison.labels.items() for metric in comparison.summary.columns}
    values |= {f"{key}_label": label for key, label in comparison.labels.items()}
    for key, history in comparison.histories.items():
        best = best_epoch(history)
        values |= {f"{key}_best_epoch": best, f"{key}_epochs": len(history),
                   f"{key}_best_val_loss": float(history[best - 1]["val_loss"]),
                   f"{key}_final_loss": float(history[-1]["loss"])}
    for key in comparison.runs:
        values[f"{key}_goal_plain"] = goal_sentence(comparison, key)
        values[f"{key}_goal_met"] = all(goal_check(comparison, key).values())
    return {**values, "truth_colourfulness": float(comparison.summary["colourfulness_true"].iloc[0]),
            "n_test_photos": int(comparison.per_image.photo.nunique()), "auc_max_error": AUC_MAX_ERROR,
            "goal_colourfulness_share": GOAL_COLOURFULNESS_SHARE}
