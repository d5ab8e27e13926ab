"""The colouring models compared: every trained model and the two baselines scored on the same held-out photos,
the goal checked, and the recipes side by side. Returns data (tables, images, numbers and one-word verdicts);
the report draws the figures and formats what the book shows, whose prose is the notebooks'."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from colourlib import ColourlibError, evaluate, paths
from colourlib.colour.metrics import AUC_MAX_ERROR
from colourlib.colouriser import Colouriser
from colourlib.config import TrainConfig, model_label
from colourlib.data.photos import (
    black_and_white_photos,
    load_photo_set,
    read_rgb,
    wheel_test_photos,
)
from colourlib.runs import RunFolder, best_epoch

#: Every metric with the direction that is better (None: neither, colourfulness alone rewards red noise).
HIGHER_IS_BETTER = {
    "rebalanced_auc": True,
    "semantic": True,
    "top1": True,
    "top5": True,
    "delta_cf": False,
    "ciede2000": False,
    "auc_ab": True,
    "ab_error": False,
    "psnr": True,
    "ssim": True,
    "colourfulness": None,
    "keras2_accuracy": True,
}
#: The metrics each model is compared on with the baselines, photo by photo (:func:`paired_intervals`): the
#: literature's three first, then the per-pixel ones.
PAIRED_METRICS = ("rebalanced_auc", "semantic", "delta_cf", "ciede2000", "auc_ab", "psnr", "ssim")
#: Where the test photos come from; each is summarised on its own as well as together ("all").
SPLITS = {
    "all": "all held-out photos",
    "packages": "held-out photos of the Debian packages (photos/test/)",
    "wheels": "photos that ship inside installed wheels (scikit-image, scikit-learn, matplotlib)",
    "data_dir": "the test photos of the run's own data_dir",
}


def test_split(path: Path) -> str:
    """Which of :data:`SPLITS` a test photo belongs to, by where it is: the embedded set's ``test/`` folder,
    the installed wheels' photos, or a user's ``data_dir``."""
    path = Path(path).resolve()
    if path in {p.resolve() for p in wheel_test_photos()}:
        return "wheels"
    if (paths.PHOTOS_DIR / "test").resolve() in path.parents:
        return "packages"
    return "data_dir"


def recipe_words(config: TrainConfig) -> str:
    """A run's recipe in a phrase: loss, decoder, input size, data and schedule."""
    if config.classes:
        rebalance = (
            "without class rebalancing"
            if config.rebalance_lambda == 1
            else f"class-rebalanced (lambda {config.rebalance_lambda:g})"
        )
        loss = f"313 colour classes, {rebalance}, read back by the annealed mean at T = {config.temperature:g}"
    else:
        loss = {"mse": "MSE on ab (the paper's loss)", "mae": "L1 on ab"}[config.loss]
    decoder = {
        "skips": "a decoder with stride-8 and stride-16 skips",
        "global": "a decoder with stride-8 and stride-16 skips and the photo's global features",
    }.get(config.decoder, "the paper's decoder (Figure 4)")
    photos = "every photo" if not config.max_photos else f"{config.max_photos} photos"
    return (
        f"{loss}; {decoder}; {config.image_size} px; {photos}, {config.crops_per_photo} crops each; "
        f"{config.epochs} epochs at learning rate {config.learning_rate:g}"
    )


@dataclass
class Comparison:
    """Trained models (each with one run per seed) and the baselines scored on the same held-out photos.

    ``per_image`` has one row per (photo, method, seed); ``summary`` and ``spread`` give, per (split, method),
    the mean over seeds of each seed's mean over photos and their standard deviation over seeds (0 for the
    baselines, which have no seed). ``shown`` is each model's run with the lowest validation loss: the one the
    galleries show and ``colourise`` uses. ``labels`` maps each method's key (``vgg16``, ``lite0``, ``grey``,
    ``mean_ab``, and the ceilings ``ceiling_input`` and ``ceiling_bins``) to its name; ``pairs`` holds each
    model's paired differences to both baselines (:func:`paired_intervals`)."""

    runs: dict[str, list[Path]]
    labels: dict[str, str]
    summary: pd.DataFrame
    per_image: pd.DataFrame
    histories: dict[str, list[dict]]
    spread: pd.DataFrame | None = None
    shown: dict[str, Path] = field(default_factory=dict)
    test_names: list[str] = field(default_factory=list)
    test_photos: list[np.ndarray] = field(default_factory=list)
    predictions: dict[str, list[np.ndarray]] = field(
        default_factory=dict
    )  # ab planes of the shown runs
    bw_names: list[str] = field(default_factory=list)
    bw_photos: list[np.ndarray] = field(default_factory=list)
    bw_coloured: dict[str, list[np.ndarray]] = field(default_factory=dict)  # sRGB, per model key
    pairs: pd.DataFrame | None = None  # paired_intervals of every model against both baselines

    @property
    def models(self) -> list[str]:
        return list(self.runs)

    @property
    def splits(self) -> list[str]:
        """The splits the test photos fall into, "all" first."""
        return (
            list(self.summary.index.get_level_values(0).unique())
            if isinstance(self.summary.index, pd.MultiIndex)
            else ["all"]
        )

    def split(self, split: str = "all") -> tuple[pd.DataFrame, pd.DataFrame]:
        """(means, spreads) of one split, indexed by method label."""
        spread = self.spread if self.spread is not None else self.summary * 0
        if not isinstance(self.summary.index, pd.MultiIndex):
            return self.summary, spread
        return self.summary.loc[split], spread.loc[split]


BASELINE_LABELS = {"grey": "grey (a = b = 0)", "mean_ab": "mean ab of the training photos"}
#: The references that are not methods: what the pipeline itself loses with a perfect network.
CEILINGS = ("ceiling_input", "ceiling_bins")
#: The model whose configuration (input size, annealed-mean T) the ceilings are computed at.
CEILING_MODEL = "lite0"


def ceiling_labels(config: TrainConfig) -> dict[str, str]:
    labels = {"ceiling_input": f"ceiling: true ab at {config.image_size} px"}
    if config.classes:
        labels["ceiling_bins"] = f"ceiling: true ab in 313 bins, T = {config.temperature:g}"
    return labels


def _as_runs(value: Path | str | list) -> list[Path]:
    return [Path(v) for v in value] if isinstance(value, (list, tuple)) else [Path(value)]


def best_run(run_dirs: list[Path]) -> Path:
    """The run with the lowest best validation loss: chosen on the validation photos only."""

    def best_val(run_dir: Path) -> float:
        return min(float(h["val_loss"]) for h in RunFolder(run_dir).history())

    return min(run_dirs, key=best_val)


def summarise_seeds(per_image: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(means, spreads) per (split, method): each seed's mean over the split's photos, then the mean and the
    standard deviation (ddof 1) of those over seeds; methods keep their order, splits follow :data:`SPLITS`."""
    metrics = [c for c in per_image.columns if c not in ("photo", "method", "seed", "split")]
    order = list(dict.fromkeys(per_image["method"]))
    parts = [per_image.assign(split="all"), per_image]
    seed_means = pd.concat(parts).groupby(["split", "method", "seed"])[metrics].mean()
    grouped = seed_means.groupby(level=["split", "method"])
    splits = [s for s in SPLITS if s in seed_means.index.get_level_values("split")]
    index = pd.MultiIndex.from_product([splits, order], names=["split", "method"])
    return grouped.mean().reindex(index), grouped.std(ddof=1).fillna(0.0).reindex(index)


def compare_runs(runs: dict[str, Path | list[Path]], out_dir: Path) -> Comparison:
    """Score every run's model on the held-out test photos beside the grey and mean-ab baselines, and colour
    the real black-and-white photos with each model's shown run.

    ``runs`` maps a model's key to its finished runs (one per seed, or one folder); all must use the same
    photos. Writes ``metrics_per_image.csv`` and ``metrics_summary.csv`` (mean and spread per split) to
    ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = {key: _as_runs(value) for key, value in runs.items()}
    colourisers = {
        key: [Colouriser.from_run(r) for r in run_dirs] for key, run_dirs in runs.items()
    }
    for (
        key,
        cs,
    ) in colourisers.items():  # one model = one recipe, its runs told apart by their seeds only
        recipes = {json.dumps({**c.config.to_dict(), "seed": 0}, sort_keys=True) for c in cs}
        seeds = [c.config.seed for c in cs]
        if len(recipes) > 1 or len(set(seeds)) < len(seeds):
            raise ColourlibError(
                f"{key}: runs {[str(r) for r in runs[key]]} are not one recipe with distinct seeds "
                f"(seeds {seeds}). Fix: pass one folder per seed of the same configuration."
            )
    configs = {key: c[0].config for key, c in colourisers.items()}
    sources = {
        (key, i): (c.config.data_dir, c.config.val_fraction, c.config.max_photos)
        for key, cs in colourisers.items()
        for i, c in enumerate(cs)
    }
    if len(set(sources.values())) > 1:
        raise ColourlibError(
            f"runs {sorted(runs)} were trained on different photos ({sources}); a comparison needs "
            "the same photos. Fix: compare runs with the same data_dir, val_fraction and max_photos."
        )
    first = next(iter(configs.values()))
    photos = load_photo_set(
        first.data_dir,
        min(c.image_size for c in configs.values()),
        first.val_fraction,
        first.max_photos,
    )
    originals = [read_rgb(p) for p in photos.test]
    names = [p.name for p in photos.test]
    labels = {key: model_label(config) for key, config in configs.items()}
    if len(set(labels.values())) < len(
        labels
    ):  # two models of one recipe: tell them apart by their keys
        labels = {key: f"{label} [{key}]" for key, label in labels.items()}
    labels |= BASELINE_LABELS
    shown = {key: best_run(run_dirs) for key, run_dirs in runs.items()}
    splits = {name: test_split(p) for name, p in zip(names, photos.test)}

    truth = evaluate.truth_of(originals)
    tables, predictions = [], {}
    for key, cs in colourisers.items():
        for run_dir, colouriser in zip(runs[key], cs):
            planes = colouriser.predict_ab(originals)
            if run_dir == shown[key]:
                predictions[key] = planes
            seed = colouriser.config.seed
            tables.append(
                evaluate.evaluate_photos(
                    names, originals, {labels[key]: planes}, truth=truth
                ).assign(seed=seed)
            )
    references = evaluate.baseline_ab(originals, evaluate.mean_ab(photos.train))
    ceiling_config = configs.get(CEILING_MODEL, first)
    ceilings = evaluate.ceiling_ab(
        originals,
        ceiling_config.image_size,
        ceiling_config.temperature if ceiling_config.classes else None,
    )
    labels |= ceiling_labels(ceiling_config)
    references |= {
        key: ceilings[part]
        for key, part in zip(CEILINGS, ("input_size", "bins"))
        if part in ceilings
    }
    predictions |= references
    tables.append(
        evaluate.evaluate_photos(
            names, originals, {labels[k]: v for k, v in references.items()}, truth=truth
        ).assign(seed=0)
    )
    per_image = pd.concat(tables, ignore_index=True)
    per_image.insert(1, "split", per_image["photo"].map(splits))
    summary, spread = summarise_seeds(per_image)
    pairs = paired_intervals(per_image, labels, list(runs))
    per_image.to_csv(out_dir / "metrics_per_image.csv", index=False)
    summary.join(spread, rsuffix="_spread").to_csv(out_dir / "metrics_summary.csv")
    pairs.to_csv(out_dir / "paired_intervals.csv", index=False)

    bw_paths = black_and_white_photos()
    bw = [read_rgb(p) for p in bw_paths]
    shown_colourisers = {key: cs[runs[key].index(shown[key])] for key, cs in colourisers.items()}
    return Comparison(
        runs,
        labels,
        summary,
        per_image,
        spread=spread,
        shown=shown,
        histories={key: RunFolder(run_dir).history() for key, run_dir in shown.items()},
        test_names=names,
        test_photos=originals,
        predictions=predictions,
        bw_names=[p.name for p in bw_paths],
        bw_photos=bw,
        bw_coloured={key: c.colour_all(bw) for key, c in shown_colourisers.items()},
        pairs=pairs,
    )


def paired_intervals(
    per_image: pd.DataFrame, labels: dict[str, str], models: list[str]
) -> pd.DataFrame:
    """Every model against both baselines on every metric of :data:`PAIRED_METRICS`, on all test photos and on
    each split: one row per (split, model, baseline, metric) with the mean paired difference (model minus
    baseline, a model's seeds averaged per photo), its bootstrap 95 % interval and the verdict ("better",
    "worse", "no difference": better or worse only when the interval excludes 0)."""
    rows = []
    splits = ["all", *(s for s in SPLITS if s != "all" and s in set(per_image.split))]
    for split in splits:
        data = per_image if split == "all" else per_image[per_image.split == split]
        for key in models:
            for baseline in ("grey", "mean_ab"):
                for metric in PAIRED_METRICS:
                    if metric not in data:
                        continue
                    interval = evaluate.paired_difference(
                        data, labels[key], labels[baseline], metric
                    )
                    rows.append(
                        {
                            "split": split,
                            "model": key,
                            "baseline": baseline,
                            "metric": metric,
                            **interval,
                            "verdict": evaluate.verdict(interval, HIGHER_IS_BETTER[metric]),
                        }
                    )
    return pd.DataFrame(rows)


#: The goal for the default colouring model, on the held-out test photos, every split: beat both baselines on the
#: literature's measures (paired interval excluding 0), be no worse than grey on the per-pixel ones, and close at
#: least a quarter of the gap in semantic agreement between grey and the colour originals.
GOAL_BEATS = ("rebalanced_auc", "semantic", "delta_cf")
GOAL_NOT_WORSE = ("ciede2000", "auc_ab")
GOAL_SEMANTIC_GAP = 0.25
GOAL_PARTS = (*GOAL_BEATS, *GOAL_NOT_WORSE, "semantic_gap")


def semantic_gap_closed(comparison: Comparison, key: str, split: str = "all") -> float:
    """The share of the gap in semantic agreement between grey and the colour originals that model ``key``
    closes: (model - grey) / (originals - grey), on the split's means (the originals score the judge's own
    confidence in them)."""
    means, _ = comparison.split(split)
    ours = means.loc[comparison.labels[key], "semantic"]
    grey = means.loc[comparison.labels["grey"], "semantic"]
    truth = means.loc[comparison.labels["grey"], "semantic_true"]
    return float((ours - grey) / (truth - grey)) if truth != grey else float("nan")


def goal_check(comparison: Comparison, key: str, split: str = "all") -> dict[str, bool]:
    """Each part of the goal (:data:`GOAL_PARTS`) for model ``key`` on one split: better than grey and than mean
    ab on each of :data:`GOAL_BEATS`, not worse than grey on each of :data:`GOAL_NOT_WORSE`, and at least
    :data:`GOAL_SEMANTIC_GAP` of the semantic gap closed."""
    pairs = comparison.pairs
    mine = pairs[(pairs.split == split) & (pairs.model == key)].set_index(["baseline", "metric"])
    met = {
        metric: all(mine.loc[(b, metric), "verdict"] == "better" for b in ("grey", "mean_ab"))
        for metric in GOAL_BEATS
    }
    met |= {metric: mine.loc[("grey", metric), "verdict"] != "worse" for metric in GOAL_NOT_WORSE}
    met["semantic_gap"] = semantic_gap_closed(comparison, key, split) >= GOAL_SEMANTIC_GAP
    return {k: bool(v) for k, v in met.items()}


def per_image_table(
    comparison: Comparison, metrics=("ciede2000", "auc_ab", "colourfulness")
) -> pd.DataFrame:
    """One row per photo (its split first), one column per (metric, method), each model's shown run: where
    each model wins and loses."""
    shown_seeds = {
        comparison.labels[k]: RunFolder(r).config().seed for k, r in comparison.shown.items()
    }
    ceilings = {comparison.labels[k] for k in CEILINGS if k in comparison.labels}
    data = comparison.per_image[~comparison.per_image.method.isin(ceilings)]
    keep = data.apply(
        lambda row: row["seed"] == shown_seeds.get(row["method"], row["seed"]), axis=1
    )
    table = data[keep].pivot(index=["split", "photo"], columns="method", values=list(metrics))
    order = list(dict.fromkeys(data["method"]))
    return table.reindex(columns=pd.MultiIndex.from_product([list(metrics), order]))


#: How many photos the landing page's strip shows.
STRIP_PHOTOS = 6


def evenly_ranked(scores: pd.Series, count: int) -> list:
    """The index labels of ``count`` of ``scores`` at evenly spaced ranks from lowest to highest, each at the
    middle of its ``1/count`` of the ranking (ties keep their order): a sample of the whole range, best to worst."""
    ranked = scores.sort_values(kind="stable").index
    count = min(count, len(ranked))
    step = len(ranked) / count
    return [ranked[int(step / 2 + i * step)] for i in range(count)]


def strip_photos(comparison: Comparison, key: str, count: int = STRIP_PHOTOS) -> list[int]:
    """Which test photos the landing page shows, by a fixed rule, never by eye: :func:`evenly_ranked` on model
    ``key``'s CIEDE2000 (its shown run), so the strip spans the model's successes and failures alike. Returns
    indices into ``test_names``."""
    data = comparison.per_image
    shown_seed = RunFolder(comparison.shown[key]).config().seed
    ours = data[(data.method == comparison.labels[key]) & (data.seed == shown_seed)]
    picked = evenly_ranked(ours.set_index("photo").ciede2000, count)
    return [comparison.test_names.index(name) for name in picked]


def wins_and_losses(comparison: Comparison, key: str, worst: int = 5) -> dict:
    """Where model ``key`` (its shown run) still fails: on how many test photos its CIEDE2000 beats grey's
    (``<key>_n_beats_grey``), and the photos where it loses to grey most, with the margin
    (``<key>_worst_photos``: "a.jpg (+1.2), b.jpg (+0.9)", or "none")."""
    data = comparison.per_image
    shown_seed = RunFolder(comparison.shown[key]).config().seed
    ours = (
        data[(data.method == comparison.labels[key]) & (data.seed == shown_seed)]
        .set_index("photo")
        .ciede2000
    )
    grey = data[data.method == comparison.labels["grey"]].set_index("photo").ciede2000
    gain = (grey - ours).sort_values()
    losses = ", ".join(f"{name} ({-g:+.1f})" for name, g in gain.head(worst).items() if g < 0)
    return {f"{key}_n_beats_grey": int((gain > 0).sum()), f"{key}_worst_photos": losses or "none"}


def comparison_values(comparison: Comparison) -> dict:
    """The numbers and one-word verdicts the book's prose cites: ``<key>_<metric>`` (all photos) and
    ``<key>_<metric>_spread``, ``<split>_<key>_<metric>`` per split, for every model, baseline and ceiling; each
    model's paired difference to each baseline, ``<split_><key>_vs_<baseline>_<metric>`` with ``_low``,
    ``_high`` and ``_verdict``; its label, recipe, seeds, shown run's best epoch, epochs and losses; each part of
    the goal met per split ("yes"/"no": ``<split_><key>_goal_<part>``), how many (``_goal_parts_met``) and
    whether all, in every split (``<key>_goal_met``); the semantic gap it closes, the share of the ground
    truth's colourfulness kept, the photos it beats grey on and loses most on."""
    values = {}
    for split in comparison.summary.index.get_level_values(0).unique():
        means, spread = comparison.split(split)
        prefix = "" if split == "all" else f"{split}_"
        for key, label in comparison.labels.items():
            for metric in means.columns:
                values[f"{prefix}{key}_{metric}"] = float(means.loc[label, metric])
                values[f"{prefix}{key}_{metric}_spread"] = float(spread.loc[label, metric])
    for row in comparison.pairs.itertuples():
        prefix = "" if row.split == "all" else f"{row.split}_"
        name = f"{prefix}{row.model}_vs_{row.baseline}_{row.metric}"
        values |= {name: row.difference, f"{name}_low": row.low, f"{name}_high": row.high}
        values[f"{name}_verdict"] = row.verdict

    for split in SPLITS:
        values[f"n_{split}_photos"] = int(
            comparison.per_image[
                comparison.per_image.split.eq(split) | (split == "all")
            ].photo.nunique()
        )
    values |= {f"{key}_label": label for key, label in comparison.labels.items()}
    values |= {
        f"{key}_recipe": recipe_words(RunFolder(run).config())
        for key, run in comparison.shown.items()
    }
    for key, history in comparison.histories.items():
        best = best_epoch(history)
        values |= {
            f"{key}_best_epoch": best,
            f"{key}_epochs": len(history),
            f"{key}_best_val_loss": float(history[best - 1]["val_loss"]),
            f"{key}_final_loss": float(history[-1]["loss"]),
            f"{key}_seeds": len(comparison.runs[key]),
            f"{key}_shown_seed": RunFolder(comparison.shown[key]).config().seed,
            f"{key}_image_size": RunFolder(comparison.shown[key]).config().image_size,
        }
    means, _ = comparison.split("all")
    for key in comparison.runs:
        every_split = True
        for split in comparison.splits:
            prefix = "" if split == "all" else f"{split}_"
            met = goal_check(comparison, key, split)
            every_split &= all(met.values())
            values |= {
                f"{prefix}{key}_goal_{part}": "yes" if ok else "no" for part, ok in met.items()
            }
            values[f"{prefix}{key}_goal_parts_met"] = sum(met.values())
            values[f"{prefix}{key}_semantic_gap_closed"] = semantic_gap_closed(
                comparison, key, split
            )
        ours = means.loc[comparison.labels[key]]
        values |= wins_and_losses(comparison, key)
        values[f"{key}_goal_met"] = "yes" if every_split else "no"
        values[f"{key}_colourfulness_share"] = float(ours.colourfulness / ours.colourfulness_true)
    return {
        **values,
        "truth_colourfulness": float(means["colourfulness_true"].iloc[0]),
        "truth_semantic": float(means["semantic_true"].iloc[0]),
        "n_test_photos": int(comparison.per_image.photo.nunique()),
        "n_goal_parts": len(GOAL_PARTS),
        "auc_max_error": AUC_MAX_ERROR,
        "goal_semantic_gap": GOAL_SEMANTIC_GAP,
        "judge": f"EfficientNet-{evaluate.JUDGE.capitalize()}",
        "judge_views": evaluate.JUDGE_VIEWS,
        "bootstrap_resamples": evaluate.RESAMPLES,
    }
