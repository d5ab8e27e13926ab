"""Tables the book shows: what the photos are (counts, sizes, licences), what the network is (layer by layer, as
the paper's Figures 3-4), a run's parameters, the parallel results as a reader compares them, and the machine and
commands of the study. Built from the library's own objects and records, never typed by hand."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
from PIL import Image

from colourlib import ConfigError, paper
from colourlib.config import TrainConfig, model_label
from colourlib.data.augment import Augmentation
from colourlib.data.photos import (
    WHEEL_PHOTO_LICENCES,
    PhotoSet,
    black_and_white_photos,
    embedded_manifest,
    open_upright,
    wheel_test_photos,
)
from colourlib.runs import RunFolder
from study.config import colouring_config, colouring_models
from study.matrix import Matrix
from study.report.words import (
    ENCODER_NAMES,
    count_loaders,
    encoder_phrase,
    recorded_cores,
    regime_label,
    shown_value,
    speedup_range,
)


def whole(frame: pd.DataFrame, index: bool = True):
    """``frame`` styled to be shown whole: every row and every character (a plain DataFrame's HTML cuts long text
    at 50 characters and long tables to their first and last rows), text left-aligned. ``.data`` is the frame."""
    longest_word = [
        frame.iloc[:, i]
        .astype(str)
        .str.split()
        .map(lambda words: max(map(len, words), default=0))
        .max()
        for i in range(frame.shape[1])
    ]
    # by the cells' column classes (col0, col1, ...), which work with repeated column names: only a column holding
    # long unbroken words (file names) may wrap them anywhere, rather than widen the table past the page
    styles = [{"selector": "td, th", "props": "text-align: left;"}]
    styles += [
        {"selector": f"td.col{i}", "props": "overflow-wrap: anywhere;"}
        for i, n in enumerate(longest_word)
        if n > 24
    ]
    styled = frame.style.set_table_styles(styles)
    return styled if index else styled.hide(axis="index")


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return open_upright(path).size if im.getexif().get(0x0112, 1) != 1 else im.size


def photo_splits(photos: PhotoSet) -> pd.DataFrame:
    """One row per split: how many photos, their sizes, where they come from."""
    bw = black_and_white_photos() if photos.source == "embedded" else []
    in_wheels = {Path(p).resolve() for p in wheel_test_photos()}
    from_wheels = sum(Path(p).resolve() in in_wheels for p in photos.test)
    origin = {
        "train": "embedded set" if photos.source == "embedded" else photos.source,
        "validation": "embedded set" if photos.source == "embedded" else photos.source,
        # counted, not assumed: most test photos come from the embedded set's Debian packages
        "test (held out)": f"{len(photos.test) - from_wheels} embedded, {from_wheels} from installed wheels"
        if photos.source == "embedded"
        else photos.source,
        "black-and-white gallery": "embedded set",
    }
    rows = []
    for split, files in (
        ("train", photos.train),
        ("validation", photos.val),
        ("test (held out)", photos.test),
        ("black-and-white gallery", bw),
    ):
        if not files:
            continue
        sizes = [_size(p) for p in files]
        pixels = [w * h for w, h in sizes]
        rows.append(
            {
                "split": split,
                "photos": len(files),
                "smallest (w x h)": "{} x {}".format(*sizes[int(np.argmin(pixels))]),
                "largest (w x h)": "{} x {}".format(*sizes[int(np.argmax(pixels))]),
                "median megapixels": round(float(np.median(pixels)) / 1e6, 2),
                "source": origin[split],
            }
        )
    return pd.DataFrame(rows)


def licences(photos: PhotoSet):
    """Every photo of the study with its author or package and licence (attribution that CC-BY requires), every
    row of it (``.data`` is the frame)."""
    manifest = {Path(row["file"]).name: row for row in embedded_manifest()}
    rows = []
    for split, files in (
        ("train", photos.train),
        ("validation", photos.val),
        ("test", photos.test),
        ("black-and-white", black_and_white_photos() if photos.source == "embedded" else []),
    ):
        for path in files:
            if path.name in manifest:
                m = manifest[path.name]
                rows.append(
                    {
                        "split": split,
                        "photo": path.name,
                        "author": m["author"],
                        "licence": m["licence"],
                        "from": f"Debian {m['source_package']}",
                    }
                )
            else:
                package = next(
                    (part for part in path.parts if part in ("skimage", "sklearn", "matplotlib")),
                    "",
                )
                rows.append(
                    {
                        "split": split,
                        "photo": path.name,
                        "author": "",
                        "licence": WHEEL_PHOTO_LICENCES.get(path.name, "see its source"),
                        "from": f"Python package {package}" if package else str(path.parent),
                    }
                )
    return whole(pd.DataFrame(rows), index=False)


def layer_table(model: keras.Model) -> pd.DataFrame:
    """Layer, type, output shape and parameter count, as Keras's summary prints them (the paper's Figures 3-4)."""
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape) if shape is not None else ()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": str(shape).replace("None", "batch"),
                "parameters": layer.count_params(),
            }
        )
    return pd.DataFrame(rows)


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Encoder and decoder parameters of a colouriser, ours beside the paper's."""
    encoder, decoder = model.get_layer("encoder"), model.layers[-1]
    return {
        "encoder_params": encoder.count_params(),
        "decoder_params": decoder.count_params(),
        "paper_encoder_params": paper.ENCODER_PARAMS,
        "paper_decoder_params": paper.DECODER_PARAMS,
        "total_params": model.count_params(),
    }


def example_images(
    files: list[Path], count: int, max_side: int = 400
) -> list[tuple[str, np.ndarray]]:
    """Up to ``count`` photos, spread over the list, reduced for display."""
    chosen = files[:: max(1, len(files) // max(count, 1))][:count]
    shown = []
    for path in chosen:
        image = open_upright(path).convert("RGB")
        image.thumbnail((max_side, max_side))
        shown.append((path.stem, np.asarray(image, dtype=np.float32) / 255.0))
    return shown


def pick(photos: PhotoSet, name: str) -> Path:
    """The first photo of the study whose path contains ``name`` (the data notebook's ``lab_example``)."""
    everything = [*photos.train, *photos.val, *photos.test]
    for path in everything:
        if name.lower() in str(path).lower():
            return path
    raise ConfigError(
        f"lab_example={name!r}: no photo of the study has that in its name. Fix: one of "
        f"{', '.join(p.stem for p in everything[:8])}, ..."
    )


def config_table(config: TrainConfig, columns: int = 2):
    """Every parameter of a run once, laid out in ``columns`` side-by-side (parameter, value) pairs so that the
    whole configuration fits the page's column without scrolling; a styled table without the row numbers
    (``.data`` is the frame)."""
    items = [(name, shown_value(name, value)) for name, value in config.to_dict().items()]
    rows = -(-len(items) // columns)
    items += [("", "")] * (rows * columns - len(items))
    frame = pd.DataFrame(
        [[cell for c in range(columns) for cell in items[c * rows + r]] for r in range(rows)],
        columns=[name for _ in range(columns) for name in ("parameter", "value")],
    )
    return whole(frame, index=False)


def scale_departures(
    photos: PhotoSet, colouring: TrainConfig, seeds: int, matrix: Matrix, hardware: str
):
    """Where this study departs from the paper's scale, in one place: photos, size, epochs and what one epoch is,
    augmentation, encoder, output, repeats and hardware; shown whole (``.data`` is the frame)."""
    work = paper.WORKLOAD
    timed = {regime.name: (matrix.timing_of(regime), config) for regime, _, config in matrix.runs()}
    timing_size = ", ".join(sorted({f"{config.image_size} px" for _, config in timed.values()}))
    timing_steps = "; ".join(
        f"{regime_label(name)}: {t.steps} steps after {t.warmup_steps} warm-up steps"
        for name, (t, _) in timed.items()
    )
    repeats = min(t.repeats for t, _ in timed.values())
    paper_steps = work["images"] // work["batch_size"]
    crops = len(photos.train) * colouring.crops_per_photo
    aug = Augmentation()
    augmentation = (
        f"a random square crop of {aug.min_scale:.0%}-{aug.max_scale:.0%} of the photo's short side, "
        f"rotated by up to {aug.max_rotation_deg:.0f} degrees and flipped left-right half of the time; "
        + (
            "drawn once per crop, since the frozen encoder's features are computed once"
            if colouring.cache_features
            else "drawn anew every epoch"
        )
    )
    rows = [
        (
            "training photos",
            f"{work['images']:,} (Unsplash, the colornet set)",
            f"{len(photos.train)} training and {len(photos.val)} validation photos from Debian packages, "
            f"{len(photos.test)} test photos",
        ),
        (
            "image size",
            f"{work['image_size']} px",
            f"{colouring.image_size} px for the colouring models, {timing_size} for the speed timings",
        ),
        ("batch", f"{work['batch_size']}", f"{colouring.batch_size}"),
        (
            "epochs",
            f"{work['epochs']:,}",
            f"{colouring.epochs} for the colouring models; the speed timings count "
            f"steps instead ({timing_steps})",
        ),
        (
            "one epoch",
            f"{paper_steps} steps of {work['batch_size']}: {paper_steps * work['batch_size']:,} of its "
            f"{work['images']:,} photos, each once",
            f"{crops:,} crops ({colouring.crops_per_photo} of each training photo), "
            f"{-(-crops // colouring.batch_size)} steps of {colouring.batch_size}",
        ),
        ("augmentation", '"transformations", not listed', augmentation),
        (
            "encoder",
            "VGG16 with ImageNet weights, features precomputed (its Figure 9)",
            encoders_row(colouring.preset),
        ),
        (
            "output",
            "a and b; the last activation is not named",
            "the paper's model: a and b through tanh; the default model: 313 colour classes (Zhang et al.)",
        ),
        (
            "repeats",
            "one run",
            f"{seeds} seeds per colouring model; each speed timing {repeats} times, in fresh processes",
        ),
        ("hardware", "GPUs (2019)", hardware),
    ]
    return whole(pd.DataFrame(rows, columns=["what", "the paper", "this study"]).set_index("what"))


def encoders_row(preset: str) -> str:
    """The colouring models' encoders as the departures table states them, from their configurations at
    ``preset``: each encoder with its weights, then whether they were frozen and their features computed once."""
    configs = [colouring_config(model, preset) for model in colouring_models()]
    text = " and ".join(encoder_phrase(c.encoder, c.encoder_weights) for c in configs)
    if all(not c.encoder_trainable and c.cache_features for c in configs):
        return (
            text
            + f"; {'both' if len(configs) == 2 else 'all'} frozen, their features computed once"
        )
    return (
        text
        + "; "
        + ", ".join(
            f"{ENCODER_NAMES.get(c.encoder, c.encoder)} {'trained' if c.encoder_trainable else 'frozen'}"
            for c in configs
        )
    )


def configuration_names(table: pd.DataFrame) -> list[str]:
    """'2 devices x 1 core, 4 threads'-style names of a table's configurations ('2 logical devices' where the
    devices shared one processor)."""
    kinds = [
        "logical " if "logical" in str(d) else "" for d in table.get("devices", [""] * len(table))
    ]
    cores = table.get("cores", pd.Series([None] * len(table), index=table.index))
    return [
        f"{g} {kind}device{'s' if g > 1 else ''}"
        + (f" x {int(c)} core{'s' if c > 1 else ''}" if pd.notna(c) and not kind else "")
        + f", {count_loaders(w, loaders)}"
        for g, w, loaders, kind, c in zip(table.gpus, table.workers, table.loaders, kinds, cores)
    ]


def _range_texts(low, high, digits: int) -> list[str]:
    return [f"{lo:.{digits}f}-{hi:.{digits}f}" if pd.notna(lo) else "" for lo, hi in zip(low, high)]


def speed_display(table: pd.DataFrame) -> pd.DataFrame:
    """The timings a reader compares: per configuration the median images/s and its range over repeats, the
    speedup over the regime's baseline with its range, and what that range supports."""
    ok = table[table.status == "ok"]
    return pd.DataFrame(
        {
            "regime": ok.regime,
            "configuration": configuration_names(ok),
            "repeats": ok.repeats,
            "s/step": ok.seconds_per_step.round(3),
            "images/s (range)": [
                f"{v:.1f} ({r})"
                for v, r in zip(
                    ok.images_per_s, _range_texts(ok.images_per_s_low, ok.images_per_s_high, 1)
                )
            ],
            "speedup (range)": [
                f"{v:.2f} ({r})" if pd.notna(v) else "n/a"
                for v, r in zip(
                    ok.speedup,
                    [
                        speedup_range(lo, hi) if pd.notna(lo) else ""
                        for lo, hi in zip(ok.speedup_low, ok.speedup_high)
                    ],
                )
            ],
            "ceiling": [f"{v:.2f}" if pd.notna(v) else "n/a" for v in ok.ceiling],
            "verdict": ok.verdict,
        }
    ).set_index(["regime", "configuration"])


def overlap_table(table: pd.DataFrame) -> pd.DataFrame:
    """Why each configuration was as fast as it was: the loader and the step measured apart (medians over
    repeats), the speedup the overlap model predicts from them beside the one measured with its range, and the
    model's verdict with whether the measurement bore it out."""
    ok = table[table.status == "ok"]
    if "predicted_speedup" not in ok:
        return pd.DataFrame()

    def ms(value) -> str:
        return f"{1000 * value:.1f}" if pd.notna(value) else "n/a"

    return pd.DataFrame(
        {
            "regime": ok.regime,
            "configuration": configuration_names(ok),
            "loader ms (CPU)": [
                f"{ms(a)} ({ms(c)})"
                for a, c in zip(ok.loader_seconds_alone, ok.loader_cpu_seconds_alone)
            ],
            "step ms (cores)": [
                f"{ms(a)} ({c:.1f})" if pd.notna(c) else ms(a)
                for a, c in zip(ok.step_seconds_alone, ok.step_cores_busy)
            ],
            "predicted": [f"{v:.2f}" if pd.notna(v) else "n/a" for v in ok.predicted_speedup],
            "measured (range)": [
                f"{v:.2f} ({speedup_range(lo, hi)})" if pd.notna(v) else "n/a"
                for v, lo, hi in zip(ok.speedup, ok.speedup_low, ok.speedup_high)
            ],
            "model's verdict": [
                "baseline" if m == "baseline" else f"{p} ({'right' if p == m else 'wrong'})"
                for p, m in zip(ok.predicted_verdict, ok.verdict)
            ],
        }
    ).set_index(["regime", "configuration"])


def scaling_table(table: pd.DataFrame) -> pd.DataFrame:
    """What a second device costs and buys, per regime: one device's step on the whole batch and on its share,
    the gradients' size and their all-reduce, the speedup the scaling model predicts beside the one measured with
    its range, and the ceiling the cores allowed (medians over the repeats)."""
    ok = table[(table.status == "ok") & (table.gpus > 1) & (table.workers == 1)]
    if ok.empty or "allreduce_seconds" not in ok:
        return pd.DataFrame()
    base = table[table.verdict == "baseline"].set_index("regime")

    def ms(value) -> str:
        return f"{1000 * value:.1f}" if pd.notna(value) else "n/a"

    return pd.DataFrame(
        {
            "regime": [regime_label(r) for r in ok.regime],
            "step ms": [ms(base.step_seconds_alone.get(r)) for r in ok.regime],
            "half batch ms": [
                ms(base.get("step_share_seconds_alone", pd.Series(dtype=float)).get(r))
                for r in ok.regime
            ],
            "gradients MB": [f"{b / 1e6:.1f}" for b in ok.gradient_bytes],
            "sum ms": [ms(a) for a in ok.allreduce_seconds],
            "predicted": [f"{v:.2f}" if pd.notna(v) else "n/a" for v in ok.predicted_speedup],
            "measured (range)": [
                f"{v:.2f} ({speedup_range(lo, hi)})" if pd.notna(v) else "n/a"
                for v, lo, hi in zip(ok.speedup, ok.speedup_low, ok.speedup_high)
            ],
            "ceiling": [f"{v:.2f}" if pd.notna(v) else "n/a" for v in ok.ceiling],
        }
    ).set_index("regime")


def cost_table(table: pd.DataFrame) -> pd.DataFrame:
    """Where each configuration's time goes: the CPU it kept busy, the kernel's share, page faults, and the
    step's arithmetic rate against this machine's sgemm (medians over repeats)."""
    ok = table[table.status == "ok"]

    def fmt(
        values, pattern
    ):  # n/a where not measured (process loaders' CPU, a regime without a baseline)
        return [pattern.format(v) if pd.notna(v) else "n/a" for v in values]

    return pd.DataFrame(
        {
            "regime": ok.regime,
            "configuration": configuration_names(ok),
            "cores": fmt(ok.cpu_cores_busy, "{:.2f}"),
            "kernel": fmt(100 * ok.kernel_share, "{:.0f} %"),
            "faults": fmt(ok.page_faults_per_step, "{:,.0f}"),
            "GFLOP/s": fmt(ok.gflop_per_s, "{:.0f}"),
            "of sgemm": fmt(100 * ok.share_of_sgemm, "{:.0f} %"),
            "of ceiling": fmt(ok.efficiency, "{:.2f}"),
        }
    ).set_index(["regime", "configuration"])


def projection_table(table: pd.DataFrame) -> pd.DataFrame:
    """Hours the paper's whole workload would take at each configuration's measured speed, beside the paper's."""
    ok = table[(table.status == "ok") & (table.loaders == "threads")]
    shown = pd.DataFrame(
        {
            "regime": ok.regime,
            "configuration": configuration_names(ok),
            "images/s measured": ok.images_per_s.round(1),
            "hours for the paper's workload": ok.projected_paper_hours.round(1),
            "paper's hours": [
                paper.SECONDS.get((g, w), float("nan")) / 3600 for g, w in zip(ok.gpus, ok.workers)
            ],
        }
    )
    shown["paper's hours"] = [
        f"{h:.2f}" if pd.notna(h) else "not measured" for h in shown["paper's hours"]
    ]
    return shown.set_index(["regime", "configuration"])


def environment_table(record: dict) -> pd.DataFrame:
    env = record["environment"]
    rows = [
        ("date (UTC)", record["started"]),
        ("CPU", env["cpu"]),
        ("cores", recorded_cores(env)),
        ("memory (GiB)", env["memory_gib"]),
        ("accelerators", ", ".join(env.get("accelerators") or []) or "none"),
        ("platform", env["platform"]),
        ("Python", env["python"]),
        ("Keras backend", env["keras_backend"]),
        ("git commit", (env.get("git") or {}).get("commit")),
        ("code fingerprint", env.get("code_fingerprint")),
        *((f"version: {k}", v) for k, v in env["versions"].items()),
    ]
    return whole(pd.DataFrame(rows, columns=["what", "value"]).astype(str), index=False)


def commands_table(record: dict):
    """Every command the study ran, whole (a reader copies them), with its seconds and status."""
    frame = pd.DataFrame(record["steps"], columns=["step", "command", "seconds", "status"])
    return whole(
        frame.assign(seconds=[f"{s:.1f}" for s in frame.seconds]), index=False
    )  # a Styler prints 6 decimals


#: The evaluation's columns as a reader compares them: name with unit and direction, and decimals; the
#: literature's measures of colour first, then the per-pixel ones (which favour grey).
METRIC_COLUMNS = {
    "rebalanced_auc": ("rebalanced AuC ↑", 3),
    "semantic": ("semantic ↑", 3),
    "top1": ("top-1 ↑", 2),
    "top5": ("top-5 ↑", 2),
    "delta_cf": ("ΔCF ↓", 1),
    "colourfulness": ("colourfulness", 1),
    "ciede2000": ("CIEDE2000 ↓", 2),
    "auc_ab": ("AuC ↑", 3),
    "ab_error": ("ab error ↓", 2),
    "psnr": ("PSNR (dB) ↑", 2),
    "ssim": ("SSIM ↑", 3),
    "keras2_accuracy": ("paper's accuracy ↑", 2),
}
LITERATURE_COLUMNS = ("rebalanced_auc", "semantic", "top1", "top5", "delta_cf", "colourfulness")
PER_PIXEL_COLUMNS = ("ciede2000", "auc_ab", "ab_error", "psnr", "ssim", "keras2_accuracy")


def metric_table(
    means: pd.DataFrame,
    spread: pd.DataFrame,
    models: list[str],
    columns: tuple[str, ...] = tuple(METRIC_COLUMNS),
) -> pd.DataFrame:
    """One row per method, "mean ± spread" for the ``models`` (labels) trained with several seeds and the
    plain value for the baselines and ceilings, ``columns`` named with their direction (↓ lower is better)."""
    table = {}
    for column in columns:
        name, decimals = METRIC_COLUMNS[column]
        table[name] = [
            f"{means.loc[m, column]:.{decimals}f}"
            + (f" ± {spread.loc[m, column]:.{decimals}f}" if m in models else "")
            for m in means.index
        ]
    return pd.DataFrame(table, index=means.index.rename("method"))


def interval_text(difference: float, low: float, high: float, decimals: int) -> str:
    """ "+0.012 [+0.004, +0.020]": a paired difference with its interval, signs always shown."""
    return f"{difference:+.{decimals}f} [{low:+.{decimals}f}, {high:+.{decimals}f}]"


def paired_table(comparison, split: str = "all") -> pd.DataFrame:
    """Each model against each baseline on one split, metric by metric: the mean paired difference (model minus
    baseline) with its bootstrap 95 % interval and the verdict, one column per baseline."""
    from study.comparison import BASELINE_LABELS

    pairs = comparison.pairs[comparison.pairs.split == split]
    rows = {}
    for r in pairs.itertuples():
        name, decimals = METRIC_COLUMNS[r.metric]
        decimals += 1  # a difference is smaller than the values: one more decimal, so a bound is never "0.000"
        cell = f"{interval_text(r.difference, r.low, r.high, decimals)} {r.verdict}"
        model = short_label(comparison.labels[r.model])
        rows.setdefault((model, name), {})[f"vs {BASELINE_LABELS[r.baseline]}"] = cell
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["model", "metric"])
    return table


def paired_tables_by_split(comparison) -> pd.DataFrame:
    """:func:`paired_table` of each source of test photos (not "all"), side by side, columns under the split's
    name."""
    return pd.concat(
        {split: paired_table(comparison, split) for split in comparison.splits if split != "all"},
        axis=1,
    )


def short_label(label: str) -> str:
    """A method's name without its explanation ("EfficientNet-Lite0 (ImageNet weights, ...)" -> "EfficientNet-Lite0"),
    for tables that would not fit the page with the full names (the first table of a chapter gives them)."""
    return label.split(" (")[0].replace(" of the training photos", "")


#: The metrics the per-split table shows (the goal's); the all-photos tables above it have every one.
SPLIT_COLUMNS = ("rebalanced_auc", "semantic", "delta_cf", "ciede2000", "auc_ab")


def split_tables(comparison, models: list[str]) -> pd.DataFrame:
    """:func:`metric_table`'s :data:`SPLIT_COLUMNS` for every test split the photos fall into (e.g. the packages'
    and the wheels'), stacked: one table a reader scans split by split, methods by their short names."""
    table = pd.concat(
        {
            split: metric_table(*comparison.split(split), models, SPLIT_COLUMNS)
            for split in comparison.splits
            if split != "all"
        },
        names=["test photos"],
    )
    return table.rename(index=short_label, level="method")


def per_photo_table(comparison) -> pd.DataFrame:
    """CIEDE2000 (lower is better) of every test photo for each method (each model's shown seed), its split
    first: where each model wins and loses, narrow enough for the page."""
    from study.comparison import per_image_table

    table = per_image_table(comparison, ("ciede2000",))["ciede2000"].round(2)
    table = table.rename(
        index=lambda name: Path(name).stem.replace("--", ": ").replace("_", " "), level="photo"
    )
    return table.rename(columns=short_label).rename_axis(columns="CIEDE2000 ↓")


#: The per-epoch record as a run page shows it: column -> (header, decimals).
HISTORY_COLUMNS = {
    "loss": ("loss", 4),
    "val_loss": ("val loss", 4),
    "epoch_seconds": ("seconds", 1),
    "images_per_s": ("images/s", 1),
    "input_wait_share": ("input wait", 2),
}


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """A run's per-epoch record (``RunFolder.history_table``) with short headers and rounded numbers."""
    shown = history[[c for c in HISTORY_COLUMNS if c in history]]
    shown = shown.round({c: d for c, (_, d) in HISTORY_COLUMNS.items()})
    return shown.rename(columns={c: h for c, (h, _) in HISTORY_COLUMNS.items()})


def recipe_search_table(search: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """The recorded recipe search on the validation photos, chosen recipe first: each candidate (and, for colour
    classes, the annealed-mean temperature it was read back at), how far it got in the selection rule, the rule's
    measures (CIEDE2000 with its paired difference to grey and the interval), the share of the photos' own
    colourfulness kept, its best epoch, and the baselines and ceilings for reference."""

    def row(name, r, stage=""):
        vs_grey = (
            interval_text(r.ciede2000_vs_grey, r.ciede2000_vs_grey_low, r.ciede2000_vs_grey_high, 2)
            if hasattr(r, "ciede2000_vs_grey")
            else ""
        )
        return {
            "recipe": name,
            "outcome": stage,
            "rebalanced AuC ↑": f"{r.rebalanced_auc:.3f}",
            "semantic ↑": f"{r.semantic:.3f}",
            "ΔCF ↓": f"{r.delta_cf:.1f}",
            "CIEDE2000 ↓ (minus grey's, 95 % interval)": f"{r.ciede2000:.2f}"
            + (f" ({vs_grey})" if vs_grey else ""),
            "colour kept": f"{r.colourfulness / r.colourfulness_true:.0%}",
        }

    rows = [
        row(
            r.recipe
            + (f", T = {r.temperature:g}" if pd.notna(r.temperature) else "")
            + f" (best epoch {int(r.best_epoch)} of {int(r.epochs)})",
            r,
            r.stage,
        )
        for r in search.itertuples()
    ]
    rows += [
        row(name if name.startswith("ceiling") else f"baseline: {name}", r)
        for name, r in zip(baselines.index, baselines.itertuples())
    ]
    return whole(pd.DataFrame(rows).set_index("recipe"))


def recipe_table(runs: dict[str, Path]) -> pd.DataFrame:
    """The compared models' configurations side by side, parameters that differ first."""
    configs = {key: RunFolder(run_dir).read_json(RunFolder.CONFIG) for key, run_dir in runs.items()}
    table = pd.DataFrame(
        {
            model_label(TrainConfig.from_dict(c)): {k: shown_value(k, v) for k, v in c.items()}
            for c in configs.values()
        }
    )
    differs = table.nunique(axis=1) > 1
    return pd.concat([table[differs], table[~differs]]).rename_axis("parameter")


def grid_effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The VGG16 grid's factors (:func:`study.recipes.grid_effects`): per factor, the alternative minus
    the paper's choice on each measure, "+0.012 [+0.004, +0.020] better", averaged over the other factors."""
    rows = {}
    for r in effects.itertuples():
        name, decimals = METRIC_COLUMNS[r.metric]
        change = f"{r.factor}: {r.paper_choice} → {r.alternative}"
        cell = f"{interval_text(r.difference, r.low, r.high, decimals + 1)} {r.verdict}"
        rows.setdefault(change, {})[name] = cell
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("the paper's choice → instead")


def scale_checks_table(summary: pd.DataFrame, photos: dict[str, int]) -> pd.DataFrame:
    """The scale checks (:func:`study.report.values.read_scale_checks`): the default's means ± seed SD, then
    each variant minus the default with its Welch interval (one decimal more than the means, as the paired tables
    show differences) and verdict, on the rule's measures and colourfulness. The variants' names are those of
    ``VARIANTS`` in scripts/scale_checks.py."""
    names = {
        "all": f"the default ({photos['all']} photos)",
        "half": f"half the photos ({photos['half']})",
        "quarter": f"a quarter ({photos['quarter']})",
    }
    rows = {}
    for r in summary.itertuples():
        name, decimals = METRIC_COLUMNS[r.measure]
        if pd.isna(r.verdict):
            cell = f"{r.mean:.{decimals}f} ± {r.seed_sd:.{decimals}f}"
        else:
            word = "" if r.verdict == "no difference" else f" {r.verdict}"
            cell = interval_text(r.difference, r.low, r.high, decimals + 1) + word
        rows.setdefault(names.get(r.variant, r.variant), {})[name] = cell
    return whole(pd.DataFrame.from_dict(rows, orient="index"))


#: How far a candidate got in the selection rule, in a word or two (the chapter's text gives the key).
SHORT_STAGES = {
    "chosen": "chosen",
    "tied on every measure, larger ΔCF": "tied, ΔCF",
    "tied on rebalanced AuC, lower semantic agreement": "tied, semantic",
    "lower rebalanced AuC": "lower AuC",
    "CIEDE2000 worse than grey": "gate",
}


def candidate_table(search: pd.DataFrame) -> pd.DataFrame:
    """The models search's candidates at their best temperature (the first row of each in the rule's order):
    how far each got, its validation measures with the spread over seeds where it had several, and the seconds
    its decoder trained (epochs only: the frozen encoder's features are computed once per encoder and
    shared)."""
    best = search.drop_duplicates("recipe")
    rows = []
    for r in best.itertuples():
        spread = r.seeds > 1 if pd.notna(r.seeds) else False

        def value(metric: str, decimals: int, r=r, spread=spread) -> str:
            text = f"{getattr(r, metric):.{decimals}f}"
            sd = getattr(r, f"{metric}_seed_sd", float("nan"))
            return text + (f" ± {sd:.{decimals}f}" if spread and pd.notna(sd) else "")

        rows.append(
            {
                "candidate": r.recipe
                + (f", T = {r.temperature:g}" if pd.notna(r.temperature) else ""),
                "rule": SHORT_STAGES.get(r.stage, r.stage),
                "seeds": int(r.seeds),
                "rebal. AuC ↑": value("rebalanced_auc", 3),
                "semantic ↑": value("semantic", 3),
                "ΔCF ↓": f"{r.delta_cf:.1f}",
                "CIEDE2000 ↓": value("ciede2000", 2),
                "train (s)": f"{r.epoch_seconds:.0f}",
            }
        )
    return whole(pd.DataFrame(rows).set_index("candidate"))
