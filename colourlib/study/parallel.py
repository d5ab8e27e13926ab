"""The parallel study's results: what each configuration of the matrix bought, beside the paper's Figure 11.

:func:`speed_table` reads the study's timings (:mod:`colourlib.study.timing`: fixed steps, repeated; medians with
min-max ranges, and a gain only where the ranges do not overlap); :func:`paper_claims` sets them beside the
paper's. The book's prose cites their numbers (:mod:`colourlib.report.values`); its sentences are the
parallel notebook's."""

from __future__ import annotations

import pandas as pd

from .. import paper


def speed_table(timings: pd.DataFrame) -> pd.DataFrame:
    """Per regime and configuration, over its repeats: median seconds per step and images/s with the images/s
    range (min-max); speedup over the regime's 1 device x 1 thread worker with a range (slowest over fastest
    baseline to fastest over slowest) and the verdict it supports; parallel efficiency; kernel share of CPU
    time; page faults per step; GFLOP/s and its share of the machine's sgemm; the projection to the paper's
    workload and the paper's own numbers where it measured the configuration."""
    keys = ["regime", "gpus", "workers", "loaders"]
    ok = timings[timings.status == "ok"] if "status" in timings else timings.iloc[0:0]
    rows = []
    for key, _ in timings.groupby(keys, sort=False):
        done = ok.merge(pd.DataFrame([dict(zip(keys, key))]), on=keys)
        row = dict(zip(keys, key))
        if done.empty:
            rows.append({**row, "status": "failed", "repeats": 0})
            continue
        # CPU time and page faults are the training process's own; None (NaN) for process loaders, whose work
        # happens in other processes (colourlib.speed.SpeedProbe.time)
        user, kernel, faults = (
            pd.to_numeric(done[c], errors="coerce")
            for c in ("user_seconds", "sys_seconds", "page_faults")
        )
        cpu = user + kernel
        rows.append(
            {
                **row,
                "status": "ok",
                "repeats": len(done),
                "devices": done.devices.iloc[0],
                "image_size": int(done.image_size.iloc[0]),
                "batch_size": int(done.batch_size.iloc[0]),
                "seconds_per_step": done.seconds_per_step.median(),
                "images_per_s": done.images_per_s.median(),
                "images_per_s_low": done.images_per_s.min(),
                "images_per_s_high": done.images_per_s.max(),
                "kernel_share": float((kernel / cpu).median()),
                "cpu_cores_busy": float((cpu / (done.seconds_per_step * done.steps)).median()),
                "page_faults_per_step": float((faults / done.steps).median()),
                "gflop_per_s": done.gflop_per_s.median(),
                "sgemm_gflops": done.sgemm_gflops.median(),
                **{
                    column: pd.to_numeric(done[column], errors="coerce").median()
                    for column in OVERLAP_INPUTS
                    if column in done
                },
            }
        )
    table = pd.DataFrame(rows)
    if "images_per_s" not in table:
        return table
    table["share_of_sgemm"] = table.gflop_per_s / table.sgemm_gflops
    for column in (
        "speedup",
        "speedup_low",
        "speedup_high",
        "efficiency",
    ):  # NaN where a regime has no baseline
        table[column] = float("nan")
    for _, part in table.groupby("regime", sort=False):
        base = part[
            (part.gpus == 1)
            & (part.workers == 1)
            & (part.loaders == "threads")
            & (part.status == "ok")
        ]
        if base.empty:
            continue
        b = base.iloc[0]
        index = part.index
        table.loc[index, "speedup"] = part.images_per_s / b.images_per_s
        table.loc[index, "speedup_low"] = part.images_per_s_low / b.images_per_s_high
        table.loc[index, "speedup_high"] = part.images_per_s_high / b.images_per_s_low
        table.loc[index, "efficiency"] = table.loc[index, "speedup"] / (part.gpus * part.workers)
        predicted = predicted_speedups(ok[ok.regime == part.regime.iloc[0]], keys)
        if predicted is not None:
            for column in predicted.columns:
                table.loc[index, column] = [
                    predicted[column].get(tuple(r[k] for k in keys), float("nan"))
                    for _, r in part.iterrows()
                ]
    if "speedup" in table:
        table["verdict"] = [
            verdict(lo, hi) if pd.notna(lo) else "baseline not timed"
            for lo, hi in zip(table.speedup_low, table.speedup_high)
        ]
        base_rows = (table.gpus == 1) & (table.workers == 1) & (table.loaders == "threads")
        table.loc[base_rows, "verdict"] = "baseline"
    if "predicted_speedup" in table:
        table["predicted_verdict"] = [
            predicted_verdict(lo, hi) if pd.notna(lo) else "not predicted"
            for lo, hi in zip(table.predicted_low, table.predicted_high)
        ]
        table.loc[base_rows, "predicted_verdict"] = "baseline"
    w = paper.WORKLOAD
    pixels = (w["image_size"] / table.image_size) ** 2
    table["projected_paper_hours"] = w["images"] * w["epochs"] * pixels / table.images_per_s / 3600
    table["paper_seconds"] = [
        paper.SECONDS.get((g, k)) if loaders == "threads" else None
        for g, k, loaders in zip(table.gpus, table.workers, table.loaders)
    ]
    table["paper_speedup"] = paper.SECONDS[(1, 1)] / table.paper_seconds.astype(float)
    return table


#: What the overlap model reads from each timing, measured apart in the same process (colourlib/speed.py): the
#: loader's seconds and CPU seconds per batch with this configuration's workers and nothing else running (L_k and
#: its CPU cost), the training step's seconds fed from memory (S), the cores that step keeps busy (b), and the
#: cores the process may use (C).
OVERLAP_INPUTS = (
    "loader_seconds_alone",
    "loader_cpu_seconds_alone",
    "step_seconds_alone",
    "step_cores_busy",
    "usable_cores",
)
#: A predicted speedup counts as a predicted gain (loss) beyond this margin above (below) 1: the model ignores
#: what sharing cores costs beyond their time, so it cannot promise smaller differences.
PREDICTION_MARGIN = 0.1


def overlap_seconds(
    loader: float, loader_cpu: float, step: float, busy: float, cores: float
) -> float:
    """The overlap model's seconds per step. The loaders run beside the step (Keras prefetches batches even with
    one worker), so a step takes as long as the slower of the two: the ``loader``'s seconds per batch (with this
    many workers) or the ``step``'s own. And no faster than the machine's cores can do both jobs' CPU work: the
    loader's ``loader_cpu`` seconds per batch plus ``step`` x ``busy`` cores, spread over ``cores``. Where the
    step runs on a GPU its work is not the CPU's (``busy`` near 0) and the model is the familiar
    ``max(L / k, S)``."""
    # max() would silently drop a NaN that is not its first argument
    if any(pd.isna(v) for v in (loader, loader_cpu, step, busy, cores)):
        return float("nan")
    return max(loader, step, (loader_cpu + step * busy) / cores)


def predicted_speedups(timings: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    """Per configuration of one regime (rows of :func:`colourlib.study.timing.timings`): the speedup the overlap
    model predicts from the loader and step measured apart, repeat by repeat (each repeat's configuration over the
    same repeat's baseline), as the median and range over repeats; and the seconds per step it predicts. None
    where the timings lack the inputs."""
    if timings.empty or not set(OVERLAP_INPUTS) <= set(timings.columns):
        return None
    base = timings[(timings.gpus == 1) & (timings.workers == 1) & (timings.loaders == "threads")]
    if base.empty:
        return None
    base = base.set_index("repeat")

    def seconds(r) -> float:
        return overlap_seconds(
            r.loader_seconds_alone,
            r.loader_cpu_seconds_alone,
            r.step_seconds_alone,
            r.step_cores_busy,
            r.usable_cores,
        )

    rows = {}
    for key, part in timings.groupby(keys, sort=False):
        ratios, own = [], []
        for r in part.itertuples():
            if r.repeat not in base.index or pd.isna(seconds(r)):
                continue
            own.append(seconds(r))
            ratios.append(seconds(base.loc[r.repeat]) / own[-1])
        if ratios:
            rows[key] = {
                "predicted_seconds_per_step": float(pd.Series(own).median()),
                "predicted_speedup": float(pd.Series(ratios).median()),
                "predicted_low": min(ratios),
                "predicted_high": max(ratios),
            }
    return pd.DataFrame.from_dict(rows, orient="index") if rows else None


def predicted_verdict(low: float, high: float) -> str:
    """What the overlap model predicts, beyond :data:`PREDICTION_MARGIN`: "gain", "loss" or "no difference"."""
    if low > 1 + PREDICTION_MARGIN:
        return "gain"
    if high < 1 - PREDICTION_MARGIN:
        return "loss"
    return "no difference"


def verdict(low: float, high: float) -> str:
    """What a speedup range (over repeats) supports: a gain or a loss only where the configuration's images/s
    range and the baseline's do not overlap."""
    if low > 1:
        return "gain"
    if high < 1:
        return "loss"
    return "no difference"


def paper_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's Figure 11 rows beside our speedup for the same (gpus, workers) in each regime."""
    rows = []
    for (gpus, workers), seconds in paper.SECONDS.items():
        row = {
            "gpus": gpus,
            "workers": workers,
            "paper seconds": seconds,
            "paper speedup": paper.SECONDS[(1, 1)] / seconds,
        }
        threads = table[(table.status == "ok") & (table.get("loaders", "threads") == "threads")]
        for regime, part in threads.groupby("regime", sort=False):
            match = part[(part.gpus == gpus) & (part.workers == workers)]
            label = (
                f"ours: {regime.split('-')[-1]}"  # network, features, generator: a narrow column
            )
            row[label] = float(match.speedup.iloc[0]) if not match.empty else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).set_index(["gpus", "workers"])


def paper_claims(table: pd.DataFrame, regime: str = "whole-network") -> list[dict]:
    """The paper's Figure 11 speedups beside this study's for the same (gpus, thread workers) in ``regime``: ours
    with its range and verdict, and whether it reproduces the paper's: a measured gain (the range above 1) whose
    range reaches the paper's value."""
    ok = table[(table.status == "ok") & (table.regime == regime) & (table.loaders == "threads")]
    rows = []
    for (gpus, workers), seconds in paper.SECONDS.items():
        if (gpus, workers) == (1, 1):
            continue
        match = ok[(ok.gpus == gpus) & (ok.workers == workers)]
        claim = {"gpus": gpus, "workers": workers, "paper_speedup": paper.SECONDS[(1, 1)] / seconds}
        if not match.empty:
            r = match.iloc[0]
            if pd.isna(r.speedup):  # the regime's baseline was not timed: nothing to compare
                rows.append(claim)
                continue
            # reproduced: a measured gain whose range reaches the paper's speedup
            claim.update(
                speedup=float(r.speedup),
                low=float(r.speedup_low),
                high=float(r.speedup_high),
                verdict=r.verdict,
                devices=r.devices,
                reproduced=bool(r.verdict == "gain" and r.speedup_high >= claim["paper_speedup"]),
            )
        rows.append(claim)
    return rows
