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
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from colourlib.colour import lab_to_rgb, rgb_to_lab  # noqa: E402
from colourlib.colouriser import recombine  # noqa: E402
from colourlib.runs import RunFolder, best_epoch  # noqa: E402
from study import paths as study_paths
from study.comparison import CEILING_MODEL, CEILINGS, strip_photos  # noqa: E402
from study.report.tables import METRIC_COLUMNS, short_label  # noqa: E402
from study.report.words import regime_label  # noqa: E402

DPI = 110


def save(fig: matplotlib.figure.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return Path(path)


def publish(fig: matplotlib.figure.Figure, name: str, folder: str | Path | None = None) -> Path:
    """Write ``fig`` where the book's markdown pages find it: ``<folder>/<name>.png``, by default
    ``book/runs/figures/`` (a notebook executed for another purpose, a test's, passes its own folder)."""

    folder = Path(folder) if folder else study_paths.BOOK_FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return save(fig, folder / f"{name}.png")


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


def method_bars(summary, spread=None, ceilings=()):
    """Each method's mean rebalanced AuC, semantic agreement, ΔCF and CIEDE2000 side by side, with each model's
    standard deviation over seeds as an error bar and the ceilings (labels in ``ceilings``) hatched: which model
    wins, at a glance, by more than its seeds vary or not, and how far the pipeline itself would let it go."""
    panels = [
        ("rebalanced_auc", "rebalanced AuC\n(higher is better)"),
        ("semantic", "semantic agreement\n(higher is better; originals dashed)"),
        ("delta_cf", "ΔCF, colourfulness gap\n(lower is better)"),
        ("ciede2000", "CIEDE2000, per pixel\n(lower is better)"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 1.6 + 1.1 * len(summary)), sharey=True)
    colours = sns.color_palette("colorblind", len(summary))
    hatches = ["//" if label in ceilings else "" for label in summary.index]
    for ax, (column, title) in zip(axes.flat, panels):
        errors = spread[column] if spread is not None else None
        bars = ax.barh(range(len(summary)), summary[column], xerr=errors, color=colours, capsize=3)
        for bar, hatch in zip(bars, hatches):
            bar.set_hatch(hatch)
        ax.set_yticks(range(len(summary)), [textwrap.fill(i, 32) for i in summary.index])
        ax.set_title(title, fontsize=10)
        if column == "rebalanced_auc":
            # the methods' range decides the axis (0.807 against 0.826 must show); a ceiling beyond it is cut
            # at the edge and its value written there
            methods = summary[column][[label not in ceilings for label in summary.index]]
            shown = methods if len(methods) else summary[column]
            low, high = max(0.0, shown.min() - 0.01), min(1.0, shown.max() + 0.01)
            ax.set_xlim(low, high)
            for row, value in enumerate(summary[column]):
                if value > high:
                    ax.annotate(
                        f"{value:.3f} →",
                        (high, row),
                        ha="right",
                        va="center",
                        fontsize=7,
                        color="white",
                        fontweight="bold",
                    )
        if column == "semantic" and "semantic_true" in summary:
            truth = summary["semantic_true"].iloc[0]
            ax.axvline(truth, color="black", linestyle="--")
            ax.annotate(
                f"originals {truth:.2f}",
                (truth, 0),
                xycoords=("data", "axes fraction"),
                xytext=(-3, 3),
                textcoords="offset points",
                ha="right",
                fontsize=7,
            )
    axes[0, 0].invert_yaxis()
    return _done(fig)


def recipe_pareto(search, references):
    """The recipe search as a picture of its selection rule: every candidate x temperature on the validation
    photos, its rebalanced AuC (the rule's deciding measure, higher is better) against its CIEDE2000 (per pixel,
    lower is better), grey and mean ab marked, the chosen candidate (the first row) circled. The ceilings (``references`` rows named ``ceiling:
    ...``; of the 313-bin ones only the one at the chosen T) lie far above and left of every candidate: drawing
    them to scale would squeeze the candidates into a corner, so they are listed in a box with their values."""
    chosen = search.method.iloc[0]
    temperature = search.temperature.iloc[0]
    ceilings = references[
        [
            name.startswith("ceiling: input")
            or (name.startswith("ceiling: bins") and name.endswith(f"T {temperature:g}"))
            for name in references.index
        ]
    ]
    baselines = references[[not name.startswith("ceiling") for name in references.index]]
    fig, ax = plt.subplots(figsize=(9, 6.4))
    recipes = list(dict.fromkeys(search.recipe))
    colours = dict(zip(recipes, sns.color_palette("colorblind", len(recipes))))
    for recipe in recipes:
        part = search[search.recipe == recipe]
        ax.plot(
            part.ciede2000, part.rebalanced_auc, color=colours[recipe], linewidth=0.8, alpha=0.6
        )
        ax.scatter(
            part.ciede2000,
            part.rebalanced_auc,
            s=45,
            color=colours[recipe],
            label=recipe,
            alpha=0.9,
            edgecolor="white",
            linewidth=0.5,
        )
    pick = search[search.method == chosen].iloc[0]
    ax.scatter(
        pick.ciede2000,
        pick.rebalanced_auc,
        s=600,
        facecolor="none",
        edgecolor="black",
        linewidth=1.6,
        label="chosen by the selection rule",
    )
    ax.annotate(
        f"chosen: T {pick.temperature:g}" if pick.temperature == pick.temperature else "chosen",
        (pick.ciede2000, pick.rebalanced_auc),
        fontsize=8,
        xytext=(0, 16),
        textcoords="offset points",
        ha="center",
    )
    for (name, r), marker in zip(baselines.iterrows(), "sDv^"):
        ax.scatter(r.ciede2000, r.rebalanced_auc, marker=marker, s=80, color="black")
        ax.annotate(
            name.replace("_", " "),
            (r.ciede2000, r.rebalanced_auc),
            fontsize=8,
            xytext=(7, -3),
            textcoords="offset points",
        )
    if len(ceilings):
        lines = [
            f"{name}: CIEDE2000 {r.ciede2000:.2f}, rebalanced AuC {r.rebalanced_auc:.3f}"
            for name, r in ceilings.iterrows()
        ]
        ax.annotate(
            "the ceilings lie far above and to the left:\n" + "\n".join(lines),
            xy=(0.0, 1.0),
            xycoords="axes fraction",
            xytext=(0.03, 0.95),
            textcoords="axes fraction",
            fontsize=7.5,
            ha="left",
            va="top",
            bbox=dict(boxstyle="round", facecolor="0.95", edgecolor="0.6"),
            arrowprops=dict(arrowstyle="->", color="0.4"),
        )
    ax.set_xlabel("CIEDE2000 on the validation photos (per pixel; lower is better)")
    ax.set_ylabel("rebalanced AuC (the rule's measure; higher is better)")
    ax.margins(0.08)
    ax.legend(
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=2,
        frameon=False,
        title="recipes (a recipe's points, joined, are its annealed-mean temperatures)",
        title_fontsize=8,
    )
    return _done(fig)


def paired_intervals(pairs, labels: dict[str, str], names: dict[str, str]):
    """Each model minus each baseline, metric by metric (one panel each, ``names`` maps a metric to its label):
    the mean paired difference over the same photos with its bootstrap 95 % interval as a line. A line clear of
    the zero line is a difference; the shading marks the side that is better."""
    from study.comparison import HIGHER_IS_BETTER

    metrics = list(dict.fromkeys(pairs.metric))
    rows = list(dict.fromkeys(zip(pairs.model, pairs.baseline)))
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(7.0, 0.6 + 0.45 * len(rows) * len(metrics)), squeeze=False
    )
    colours = dict(zip(dict.fromkeys(pairs.model), sns.color_palette("colorblind")))
    for ax, metric in zip(axes[:, 0], metrics):
        part = pairs[pairs.metric == metric].set_index(["model", "baseline"])
        for y, key in enumerate(rows):
            r = part.loc[key]
            ax.plot([r.low, r.high], [y, y], color=colours[key[0]], linewidth=2.2)
            ax.plot(r.difference, y, "o", color=colours[key[0]], markersize=5)
        low = min(part.low.min(), 0.0)
        high = max(part.high.max(), 0.0)
        pad = 0.08 * (high - low or 1.0)
        ax.set_xlim(low - pad, high + pad)
        better_right = HIGHER_IS_BETTER[metric]
        ax.axvspan(0, high + pad, color="#2ca02c" if better_right else "#d62728", alpha=0.07)
        ax.axvspan(low - pad, 0, color="#d62728" if better_right else "#2ca02c", alpha=0.07)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(
            range(len(rows)),
            [f"{short_label(labels[m])} - {short_label(labels[b])}" for m, b in rows],
            fontsize=8.5,
        )
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(
            f"{names[metric]}: {'right' if better_right else 'left'} of 0 is better",
            fontsize=9.5,
            loc="left",
        )
    return _done(fig)


def photo_strip(
    photos: list[np.ndarray],
    coloured: list[np.ndarray],
    names: list[str],
    model: str,
    per_row: int = 3,
):
    """Photos in blocks of ``per_row``, each photo a column of three: the grey input the model sees, the model's
    colours and the original: the first picture a reader sees, large enough to judge colours by."""
    blocks = [range(i, min(i + per_row, len(photos))) for i in range(0, len(photos), per_row)]
    kinds = [("grey input", None), (textwrap.fill(model, 18), coloured), ("original", photos)]
    fig, axes = plt.subplots(
        3 * len(blocks), per_row, figsize=(3.2 * per_row, 2.05 * 3 * len(blocks)), squeeze=False
    )
    for b, block in enumerate(blocks):
        for r, (label, images) in enumerate(kinds):
            for c in range(per_row):
                ax = axes[3 * b + r][c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c >= len(block):
                    ax.axis("off")
                    continue
                i = block[c]
                image = grey_of(photos[i]) if images is None else images[i]
                ax.imshow(np.clip(image, 0, 1))
                if c == 0:
                    ax.set_ylabel(label, fontsize=8)
                if r == 0:
                    ax.set_title(textwrap.fill(names[i], 34), fontsize=7)
    return _done(fig)


def speedup_bars(table):
    """Speedup over each regime's baseline per configuration, the bar at the median and a line over the range of
    the repeats; the paper's Figure 11 speedups beside them where it measured the configuration."""
    ok = table[table.status == "ok"]
    regimes = list(dict.fromkeys(ok.regime))
    series = [(regime, ok[ok.regime == regime]) for regime in regimes]
    # one bar per configuration the paper ran (its GPUs have no cores to tell apart): its 1-GPU, 1-thread time
    # is the reference, shown once, at this study's reference
    paper_rows = table.dropna(subset=["paper_speedup"]).drop_duplicates(
        [k for k in ("gpus", "workers", "loaders") if k in table]
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
        ax.bar(x, part.speedup, width, label=regime_label(name))
        if name in regimes:  # the paper's are single runs: no range to draw
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
    # twice as fast: the most that splitting each batch over two devices can give
    ax.axhline(2.0, color="black", linestyle=":", linewidth=0.8)
    ax.annotate("twice as fast", (-0.5, 2.0), ha="left", va="bottom", fontsize=7, color="dimgrey")
    ceiling = pd.to_numeric(ok.get("ceiling", pd.Series(dtype=float)), errors="coerce").max()
    if pd.notna(ceiling) and ceiling > 1:
        ax.axhline(ceiling, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"the cores' ceiling ({ceiling:.2f}x)",
            (len(labels) - 0.5, ceiling),
            ha="right",
            va="bottom",
            fontsize=7,
            color="dimgrey",
        )
    ax.set_xticks(range(len(labels)), [label.replace(", ", "\n") for label in labels], fontsize=7)
    ax.set_xlabel("configuration (devices x each one's cores, loading workers)")
    ax.set_ylabel("speedup (higher is faster)")
    ax.legend(fontsize=8)
    return _done(fig)


def loader_against_step(table):
    """Per regime, on the fair baseline's row (one device on one core, one loading thread): the seconds one loader
    takes to prepare a batch against the seconds one training step takes on a batch already in memory, both
    measured apart (log scale). Loading workers can pay only where loading is the longer of the two; a second
    device only shortens the step."""
    from study.parallel import fair_baseline

    rows = [i for _, part in table.groupby("regime", sort=False) for i in fair_baseline(part)]
    ok = table.loc[rows]
    needed = ("loader_seconds_alone", "step_seconds_alone")
    if ok.empty or any(c not in ok or ok[c].isna().all() for c in needed):
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.text(0.5, 0.5, "no loader or step measured apart", ha="center", va="center")
        ax.set_axis_off()
        return _done(fig)
    names = [regime_label(r) for r in ok.regime]
    y = np.arange(len(ok))
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.75 * len(ok)))
    ax.barh(
        y - 0.18, ok.loader_seconds_alone, height=0.34, color="#d95f02", label="loading one batch"
    )
    ax.barh(
        y + 0.18, ok.step_seconds_alone, height=0.34, color="#1b9e77", label="one training step"
    )
    ax.set_xscale("log")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    for row, (loader, step) in enumerate(zip(ok.loader_seconds_alone, ok.step_seconds_alone)):
        ax.annotate(
            f"loading / step = {loader / step:.2g}",
            (max(loader, step), row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(right=ax.get_xlim()[1] * 100)  # room for the ratios
    ax.set_xlabel("seconds (log scale), one device on one core")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return _done(fig)


def overlap_scatter(table):
    """Measured speedup against the one the overlap model predicts from the loader and the step measured apart,
    per configuration (colour: regime; marker: threads or processes, filled for one device), each with its range
    over the repeats both ways; on the diagonal the model is right."""
    ok = table[table.status == "ok"]
    ok = ok[ok.verdict != "baseline"] if "verdict" in ok else ok
    if "predicted_speedup" not in ok or ok.predicted_speedup.isna().all():
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.text(0.5, 0.5, "no loader or step measured apart", ha="center", va="center")
        ax.set_axis_off()
        return _done(fig)
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colours = dict(zip(dict.fromkeys(ok.regime), plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (regime, loaders, gpus), part in ok.groupby(["regime", "loaders", "gpus"], sort=False):
        marker = "s" if loaders == "processes" else "o"
        ax.errorbar(
            part.predicted_speedup,
            part.speedup,
            xerr=[
                part.predicted_speedup - part.predicted_low,
                part.predicted_high - part.predicted_speedup,
            ],
            yerr=[part.speedup - part.speedup_low, part.speedup_high - part.speedup],
            fmt=marker,
            color=colours[regime],
            markerfacecolor=colours[regime] if gpus == 1 else "white",
            elinewidth=0.8,
            capsize=2,
        )
    ends = [
        min(ok.speedup_low.min(), ok.predicted_low.min(), 0.9) * 0.95,
        max(ok.speedup_high.max(), ok.predicted_high.max(), 1.1) * 1.05,
    ]
    ax.plot(ends, ends, color="grey", linewidth=0.8, linestyle="--")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.axvline(1.0, color="black", linewidth=0.6)
    ax.set_xlabel("predicted speedup (overlap model)")
    ax.set_ylabel("measured speedup")
    # one entry per meaning, not per combination: colour is the regime, shape the loaders, fill the devices
    keys = [
        Line2D([], [], color=c, marker="o", linestyle="", label=regime_label(r))
        for r, c in colours.items()
    ] + [
        Line2D([], [], color="black", marker="o", linestyle="", label="loading threads"),
        Line2D([], [], color="black", marker="s", linestyle="", label="loading processes"),
        Line2D(
            [],
            [],
            color="black",
            marker="o",
            markerfacecolor="white",
            linestyle="",
            label="several devices (hollow)",
        ),
    ]
    ax.legend(handles=keys, fontsize=7, loc="upper left")
    return _done(fig)


def _config_labels(table):
    cores = table.get("cores", pd.Series([None] * len(table), index=table.index))
    return [
        f"{g}"
        + (f" x {int(c)}" if pd.notna(c) else "")
        + f", {w} "
        + ("processes" if loaders == "processes" else "thread" if w == 1 else "threads")
        for g, c, w, loaders in zip(
            table.gpus, cores, table.workers, table.get("loaders", ["threads"] * len(table))
        )
    ]


#: How many held-out photos the test gallery shows (spread over the whole list; every photo is in the tables).
GALLERY_PHOTOS = 16


def comparison_figures(comparison, out_dir: Path | None = None) -> dict:
    """The evaluation's figures from a :class:`study.comparison.Comparison`: ``gallery_test`` (grey
    input / each model / ground truth, for :data:`GALLERY_PHOTOS` of the held-out photos), ``gallery_bw`` (real
    black-and-white photos coloured by each model), ``metric_bars``, ``paired_intervals`` (each model minus each
    baseline on the test photos), ``landing_strip`` (the default model on
    :func:`study.comparison.strip_photos`) and ``curves_<key>``; each also written to ``out_dir`` when
    given."""
    c, models = comparison, comparison.models
    default = CEILING_MODEL if CEILING_MODEL in models else models[0]
    strip = strip_photos(c, default)
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
        "metric_bars": method_bars(
            *c.split("all"), ceilings=[c.labels[k] for k in CEILINGS if k in c.labels]
        ),
        "paired_intervals": paired_intervals(
            c.pairs[c.pairs.split == "all"],
            c.labels,
            {metric: name for metric, (name, _) in METRIC_COLUMNS.items()},
        ),
        "landing_strip": photo_strip(
            [c.test_photos[i] for i in strip],
            [recombine(c.test_photos[i], c.predictions[default][i]) for i in strip],
            [c.test_names[i] for i in strip],
            c.labels[default],
        ),
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
            "paired_intervals": "paired_intervals.png",
            "landing_strip": "landing_strip.png",
            **{f"curves_{key}": f"training_curves_{key}.png" for key in c.histories},
        }
        for key, fig in found.items():
            save(fig, Path(out_dir) / files[key])
    return found


#: The scoreboard's colour for each verdict (colour-blind safe: blue, vermilion, grey, orange).
VERDICT_COLOURS = {
    "reproduced in kind": "#0072B2",
    "not reproduced": "#D55E00",
    "not testable here": "#999999",
    "does not measure colour": "#E69F00",
}


def scoreboard(claims):
    """The paper's claims, one line each: the claim and the paper's figure, the verdict on a coloured label, and
    what this study measured (:func:`study.claims.paper_claims`)."""
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(claims) + 0.5))
    ax.set_xlim(0, 1)
    ax.set_ylim(len(claims) - 0.5, -0.9)
    ax.set_axis_off()
    for x, title in (
        (0.0, "the paper's claim"),
        (0.36, "verdict here"),
        (0.60, "what this study measured"),
    ):
        ax.text(x, -0.75, title, fontsize=8, color="dimgrey", va="center")
    for row, claim in enumerate(claims.itertuples()):
        ax.text(0.0, row, f"{claim.claim} ({claim.paper})", fontsize=9, va="center")
        ax.text(
            0.36,
            row,
            claim.verdict,
            fontsize=8.5,
            va="center",
            color="white",
            fontweight="bold",
            bbox=dict(
                boxstyle="round,pad=0.3", facecolor=VERDICT_COLOURS[claim.verdict], edgecolor="none"
            ),
        )
        ax.text(0.60, row, claim.here, fontsize=8, va="center", color="0.2")
    return _done(fig)


def encoder_decoder(model):
    """The paper's network as its Figure 1 draws it, from the built model: the grey photo's shape after each of
    the encoder's blocks (convolutions, then a 2x max-pooling) and after each of the decoder's steps
    (convolutions, then a 2x upsampling), each drawn as a slab whose height grows with its size in pixels and
    whose width with its channels."""
    import keras
    from matplotlib.patches import Rectangle

    encoder, decoder = model.get_layer("encoder"), model.layers[-1]
    size = encoder.layers[0].output.shape[1]
    stages = [("grey photo (L)", size, 1, "0.8")]
    stages += [
        (
            layer.name.split("_")[0].replace("block", "block "),
            layer.output.shape[1],
            layer.output.shape[3],
            "#9ecae1",
        )
        for layer in encoder.layers
        if isinstance(layer, keras.layers.MaxPooling2D)
    ]
    ups = [layer for layer in decoder.layers if isinstance(layer, keras.layers.UpSampling2D)]
    stages += [
        (
            "a, b" if layer is ups[-1] else f"up {k + 1}",
            layer.output.shape[1],
            layer.output.shape[3],
            "#fdae6b",
        )
        for k, layer in enumerate(ups)
    ]
    fig, ax = plt.subplots(figsize=(10, 3.0))
    x, centres = 0.0, []
    for name, height, channels, colour in stages:
        h = 0.3 + 2.2 * np.log2(height) / np.log2(size)
        w = 0.15 + 0.12 * np.log2(max(channels, 1))
        ax.add_patch(Rectangle((x, -h / 2), w, h, facecolor=colour, edgecolor="0.3"))
        ax.text(x + w / 2, h / 2 + 0.1, name, ha="center", va="bottom", fontsize=7.5)
        ax.text(
            x + w / 2,
            -h / 2 - 0.1,
            f"{height}x{height}\nx{channels}",
            ha="center",
            va="top",
            fontsize=7,
        )
        centres.append(x + w / 2)
        x += w + 0.35
    encoded = 1 + sum(colour == "#9ecae1" for *_, colour in stages)
    ax.text(
        (centres[1] + centres[encoded - 1]) / 2,
        1.75,
        "encoder: VGG16's convolutional base",
        ha="center",
        fontsize=8.5,
        color="#3182bd",
    )
    ax.text(
        (centres[encoded] + centres[-1]) / 2,
        1.75,
        "decoder: convolutions and 2x upsamplings",
        ha="center",
        fontsize=8.5,
        color="#e6550d",
    )
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-2.1, 2.0)
    ax.set_axis_off()
    return _done(fig)


#: What each step of the pipeline is, in the reader's words (the engine's rule names are the code's).
PIPELINE_STEPS = {
    "data": "Data page",
    "model": "Model page",
    "colouring": "colouring runs\n(model x seed)",
    "default_model": "default model\n(best seed)",
    "export": "ONNX export",
    "timing": "timing processes\n(one at a time)",
    "parallel": "Parallel training\npage",
    "evaluate": "Test and validation\npage",
    "models": "models search\npage",
    "reproducibility": "Reproducibility\npage",
    "book": "the book",
}


def pipeline_graph(graph: dict):
    """The study's pipeline as the workflow engine runs it: a box per step, an arrow from a step to each step that
    reads its outputs, steps placed left to right in the order they can run. The numbered timing processes,
    each after the one before, are drawn as one box."""

    def step(rule: str) -> str:
        # the record of steps and times is drawn as the page that shows it
        return {"record": "reproducibility"}.get(
            rule, "timing" if rule.startswith("timing_") else rule
        )

    edges = {
        (step(a), step(b)) for a, b in graph["edges"] if step(a) != step(b) and "all" not in (a, b)
    }
    nodes = sorted({step(r) for r in graph["rules"]} - {"all"})
    depth = {n: 0 for n in nodes}
    for _ in nodes:  # longest path from a source: each step right of everything it reads
        for a, b in edges:
            depth[b] = max(depth[b], depth[a] + 1)
    columns: dict[int, list[str]] = {}
    for n in sorted(nodes, key=lambda n: (depth[n], n)):
        columns.setdefault(depth[n], []).append(n)
    where: dict[str, tuple[float, float]] = {}
    for x in sorted(columns):  # each column ordered by where what it reads sits: fewer crossings
        col = columns[x]
        if x:
            col.sort(
                key=lambda n: (
                    -np.mean([where[a][1] for a, b in edges if b == n and a in where] or [0])
                )
            )
        where |= {n: (x, (len(col) - 1) / 2 - i) for i, n in enumerate(col)}
    fig, ax = plt.subplots(
        figsize=(1.55 * len(columns) + 1, 1.1 * max(map(len, columns.values())) + 1)
    )
    for a, b in sorted(edges):
        ax.annotate(
            "",
            xy=where[b],
            xytext=where[a],
            arrowprops=dict(arrowstyle="-|>", color="0.55", shrinkA=26, shrinkB=26, lw=1.2),
        )
    for n, (x, y) in where.items():
        ax.text(
            x,
            y,
            PIPELINE_STEPS.get(n, n),
            ha="center",
            va="center",
            fontsize=8,
            bbox=dict(
                boxstyle="round,pad=0.4", fc="#deebf7" if n != "book" else "#fdd0a2", ec="0.4"
            ),
        )
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ys = [y for _, y in where.values()]
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    return _done(fig)
