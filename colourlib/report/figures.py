"""Figures people look at instead of tables: galleries, training curves, LAB channels and the parallel study.

Each builder returns a closed matplotlib ``Figure``: a notebook displays (or glues) it, and ``save`` writes it
beside the run's results. Closing it keeps notebook backends from drawing it a second time.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use(
        "Agg"
    )  # a command line or a test writes files; a notebook keeps its inline backend
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ..colour import lab_to_rgb, rgb_to_lab  # noqa: E402
from ..colouriser import recombine  # noqa: E402
from ..runs import RunFolder, best_epoch  # noqa: E402

DPI = 110


def save(fig: matplotlib.figure.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return Path(path)


def _done(fig):
    fig.tight_layout()
    plt.close(fig)
    return fig


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The image as the model sees it: its own L with a = b = 0."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0
    return lab_to_rgb(lab)


def gallery(rows: list[tuple[str, list[np.ndarray]]], columns: list[str], width: float = 3.0):
    """A grid: one row per photo (its label, its images), one titled column per image kind."""
    fig, axes = plt.subplots(
        len(rows),
        len(columns),
        figsize=(width * len(columns), width * 0.75 * len(rows)),
        squeeze=False,
    )
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r][c]
            ax.imshow(np.clip(image, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(textwrap.fill(columns[c], 28), fontsize=10)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    return _done(fig)


def photo_grid(images: list[tuple[str, np.ndarray]], columns: int = 4, width: float = 3.0):
    """Photos side by side with their names (the paper's Figure 2)."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, width * 0.7 * rows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, image) in zip(axes.flat, images):
        ax.imshow(np.clip(image, 0, 1))
        ax.set_title(name, fontsize=8)
    return _done(fig)


def lab_channels(rgb: np.ndarray, name: str):
    """One photo in RGB and as its CIE LAB planes L, a and b, each with its scale (the paper's Figures 6-7)."""
    lab = rgb_to_lab(rgb)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    axes = axes.ravel()
    axes[0].imshow(np.clip(rgb, 0, 1))
    axes[0].set_title(f"{name} (RGB)")
    planes = [
        (lab[..., 0], "gray", 0, 100, "L* (lightness, 0-100): the network's input"),
        (lab[..., 1], "PiYG_r", -80, 80, "a* (green - / red +): predicted"),
        (lab[..., 2], "cividis", -80, 80, "b* (blue - / yellow +): predicted"),
    ]
    for ax, (plane, cmap, low, high, title) in zip(axes[1:], planes):
        shown = ax.imshow(plane, cmap=cmap, vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="CIE units")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return _done(fig)


#: The y axis of the training curves, per loss.
LOSS_LABELS = {
    "mse": "MSE of ab (network scale, -1..1)",
    "mae": "mean absolute error of ab (network scale)",
    "classification": "cross-entropy over 313 colour classes",
}


def training_curves(history: list[dict], best_epoch: int | None = None, loss: str = "mse"):
    """Training and validation loss per epoch (the paper's Figure 10, with the loss it actually optimised);
    ``best_epoch`` (1-based) marks where the validation loss was lowest."""
    epochs = [int(h["epoch"]) + 1 for h in history]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(epochs, [float(h["loss"]) for h in history], marker="o", label="training")
    ax.plot(epochs, [float(h["val_loss"]) for h in history], marker="o", label="validation")
    if best_epoch is not None:
        ax.axvline(
            best_epoch,
            color="grey",
            linestyle="--",
            label=f"lowest validation loss (epoch {best_epoch})",
        )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(LOSS_LABELS.get(loss, loss))
    ax.legend()
    return _done(fig)


def method_bars(summary, spread=None):
    """Each method's mean CIEDE2000, AuC, mean ab error and colourfulness side by side, with each model's
    standard deviation over seeds as an error bar (the ground truth's colourfulness and half of it dashed):
    which model wins, at a glance, and by more than its seeds vary or not."""
    panels = [
        ("ciede2000", "CIEDE2000\n(lower is better)"),
        ("auc_ab", "AuC of ab error\n(higher is better)"),
        ("ab_error", "mean ab error\n(lower is better)"),
        ("colourfulness", "colourfulness\n(truth dashed)"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(9, 1.2 + 0.9 * len(summary)), sharey=True)
    colours = sns.color_palette("colorblind", len(summary))
    for ax, (column, title) in zip(axes.flat, panels):
        errors = spread[column] if spread is not None else None
        ax.barh(range(len(summary)), summary[column], xerr=errors, color=colours, capsize=3)
        ax.set_yticks(range(len(summary)), summary.index)
        ax.set_title(title, fontsize=10)
        if column == "auc_ab":
            low = summary[column].min()
            ax.set_xlim(max(0.0, low - 0.03), min(1.0, summary[column].max() + 0.02))
        if column == "colourfulness":
            truth = summary["colourfulness_true"].iloc[0]
            ax.axvline(truth, color="black", linestyle="--", label=f"ground truth {truth:.1f}")
            ax.axvline(truth / 2, color="grey", linestyle=":", label="half of it")
            ax.legend(fontsize=8, loc="lower right")
    axes[0, 0].invert_yaxis()
    return _done(fig)


def speedup_bars(table):
    """Speedup over each regime's baseline per configuration, the bar at the median and a line over the range of
    the repeats; the paper's Figure 11 speedups beside them where it measured the configuration."""
    ok = table[table.status == "ok"]
    regimes = list(dict.fromkeys(ok.regime))
    series = [(regime, ok[ok.regime == regime]) for regime in regimes]
    paper_rows = table.dropna(subset=["paper_speedup"]).drop_duplicates(
        ["gpus", "workers", "loaders"]
    )
    if not paper_rows.empty:
        series.append(
            (
                "paper (2019, GPUs)",
                paper_rows.assign(
                    speedup_low=paper_rows.paper_speedup,
                    speedup_high=paper_rows.paper_speedup,
                    speedup=paper_rows.paper_speedup,
                ),
            )
        )
    labels = list(dict.fromkeys(label for _, part in series for label in _config_labels(part)))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / len(series)
    for i, (name, part) in enumerate(series):
        x = (
            np.array([labels.index(label) for label in _config_labels(part)])
            + (i - (len(series) - 1) / 2) * width
        )
        ax.bar(x, part.speedup, width, label=name)
        ax.errorbar(
            x,
            part.speedup,
            yerr=[part.speedup - part.speedup_low, part.speedup_high - part.speedup],
            fmt="none",
            ecolor="black",
            elinewidth=1,
            capsize=2,
        )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)), [textwrap.fill(label, 10) for label in labels], fontsize=8)
    ax.set_xlabel("configuration (gpus x workers)")
    ax.set_ylabel("speedup over 1 x 1 (higher is faster)")
    ax.legend(fontsize=8)
    return _done(fig)


def _config_labels(table):
    return [
        f"{g} x {w}" + (" (processes)" if loaders == "processes" else "")
        for g, w, loaders in zip(
            table.gpus, table.workers, table.get("loaders", ["threads"] * len(table))
        )
    ]


#: How many held-out photos the test gallery shows (spread over the whole list; every photo is in the tables).
GALLERY_PHOTOS = 16


def comparison_figures(comparison, out_dir: Path | None = None) -> dict:
    """The evaluation's figures from a :class:`colourlib.study.comparison.Comparison`: ``gallery_test`` (grey
    input / each model / ground truth, for :data:`GALLERY_PHOTOS` of the held-out photos), ``gallery_bw`` (real
    black-and-white photos coloured by each model), ``metric_bars`` and ``curves_<key>``; each also written to
    ``out_dir`` when given."""
    c, models = comparison, comparison.models
    shown = (
        np.unique(
            np.linspace(0, len(c.test_names) - 1, min(GALLERY_PHOTOS, len(c.test_names)))
            .round()
            .astype(int)
        )
        if c.test_names
        else []
    )
    found = {
        "gallery_test": gallery(
            [
                (
                    c.test_names[i],
                    [
                        grey_of(c.test_photos[i]),
                        *(recombine(c.test_photos[i], c.predictions[k][i]) for k in models),
                        c.test_photos[i],
                    ],
                )
                for i in shown
            ],
            ["grey input", *(c.labels[k] for k in models), "ground truth"],
        ),
        "gallery_bw": gallery(
            [
                (name, [o, *(c.bw_coloured[k][i] for k in models)])
                for i, (name, o) in enumerate(zip(c.bw_names, c.bw_photos))
            ],
            ["black-and-white original", *(c.labels[k] for k in models)],
        ),
        "metric_bars": method_bars(*c.split("all")),
        **{
            f"curves_{key}": training_curves(
                h, best_epoch(h), RunFolder(c.shown[key]).config().loss
            )
            for key, h in c.histories.items()
        },
    }
    if out_dir is not None:
        files = {
            "gallery_test": "gallery_test.png",
            "gallery_bw": "gallery_bw.png",
            "metric_bars": "metric_bars.png",
            **{f"curves_{key}": f"training_curves_{key}.png" for key in c.histories},
        }
        for key, fig in found.items():
            save(fig, Path(out_dir) / files[key])
    return found
