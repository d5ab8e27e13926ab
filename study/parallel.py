"""The parallel study's results: what each configuration of the matrix bought, beside the paper's Figure 11.

:func:`speed_table` reads the study's timings (:mod:`study.timing`: fixed steps, repeated; medians with
min-max ranges, and a gain only where the ranges do not overlap); :func:`paper_claims` sets them beside the
paper's. The book's prose cites their numbers (:mod:`study.report.values`); its sentences are the
parallel notebook's."""

from __future__ import annotations

import pandas as pd

from colourlib import paper

#: What tells one configuration from another in the timings and the speed table.
KEYS = ["regime", "gpus", "cores", "workers", "loaders"]


def configuration_label(row) -> str:
    """'2 devices x 1 core, 1 thread': a configuration in the tables' words."""
    devices = f"{int(row.gpus)} device{'s' if row.gpus > 1 else ''}"
    cores = f"{int(row.cores)} core{'s' if row.cores > 1 else ''}"
    one = {"threads": "thread", "processes": "process"}  # the words' layer is above this one
    loaders = f"{int(row.workers)} {one.get(row.loaders, row.loaders) if row.workers == 1 else row.loaders}"
    return f"{devices} x {cores}, {loaders}"


def fair_baseline(part: pd.DataFrame) -> list:
    """The index of one regime's fair baseline: one device with the fewest cores, one loading thread; none where
    that row was not timed (a failed one-core row never hands the title to the all-cores row)."""
    one = part[(part.gpus == 1) & (part.workers == 1) & (part.loaders == "threads")]
    if one.empty:
        return []
    index = one.cores.idxmin()
    return [] if "status" in one and one.status[index] != "ok" else [index]


def references(part: pd.DataFrame, ok_only: bool = False) -> dict:
    """Per configuration of one regime's timed rows (keyed as :data:`KEYS`), the index of the row its speedup is
    read against: one loading thread on the same devices and cores for a row with more loaders; the fair baseline
    (:func:`fair_baseline`) for the rest, and for loaders whose one-thread row was not timed."""
    base = fair_baseline(part)
    if not base:
        return {}
    if ok_only and "status" in part:
        part = part[part.status == "ok"]
    out = {}
    for _, r in part.iterrows():
        same = part[
            (part.gpus == r.gpus)
            & (part.cores == r.cores)
            & (part.workers == 1)
            & (part.loaders == "threads")
        ]
        loaders = r.workers > 1 or r.loaders != "threads"
        out[tuple(r[k] for k in KEYS)] = same.index[0] if loaders and not same.empty else base[0]
    return out


def refs_by_key(part: pd.DataFrame, refs: dict, keys: list[str]) -> dict:
    return {key: tuple(part.loc[index, k] for k in keys) for key, index in refs.items()}


def ceiling_of(timings: pd.DataFrame, row, keys: list[str]) -> float:
    """The most parallelism can give the cores a configuration uses: 1 on one core, else the cores' parallel
    arithmetic measured in the same repeats (k single-threaded sgemms at once over one; median)."""
    if str(row.get("device_kind", "")) == "gpu":  # a GPU's arithmetic is not the CPU cores'
        return float("nan")
    if int(row.gpus) * int(row.cores) <= 1:
        return 1.0
    if "ceiling" not in timings:
        return float("nan")
    own = timings.merge(pd.DataFrame([{k: row[k] for k in keys}]), on=keys)
    if "ceiling_cores" in own:  # measured on as many cores as the row used, or not known
        own = own[
            pd.to_numeric(own.ceiling_cores, errors="coerce") == int(row.gpus) * int(row.cores)
        ]
    return float(pd.to_numeric(own.ceiling, errors="coerce").median())


def speed_table(timings: pd.DataFrame) -> pd.DataFrame:
    """Per regime and configuration, over its repeats: median seconds per step and images/s with the images/s
    range (min-max); speedup over the regime's 1 device x 1 thread worker with a range (slowest over fastest
    baseline to fastest over slowest) and the verdict it supports; parallel efficiency; kernel share of CPU
    time; page faults per step; GFLOP/s and its share of the machine's sgemm; the projection to the paper's
    workload and the paper's own numbers where it measured the configuration.

    Each speedup is read against a reference (:func:`references`, named in ``baseline``): devices and cores
    against one device on one core with one loading thread (the fair baseline: one device, one device's cores);
    loading workers against one loading thread on the same devices and cores, so each row changes one thing."""
    keys = KEYS
    ok = timings[timings.status == "ok"] if "status" in timings else timings.iloc[0:0]
    rows = []
    for key, _ in timings.groupby(keys, sort=False):
        done = ok.merge(pd.DataFrame([dict(zip(keys, key))]), on=keys)
        row = dict(zip(keys, key))
        if done.empty:
            rows.append({**row, "status": "failed", "repeats": 0})
            continue
        # CPU time and page faults are the training process's own; None (NaN) for process loaders, whose work
        # happens in other processes (study.speed.SpeedProbe.time)
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
                "device_kind": done.device_kind.iloc[0] if "device_kind" in done else "",
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
                    for column in (*OVERLAP_INPUTS, *SCALING_INPUTS)
                    if column in done
                },
            }
        )
    table = pd.DataFrame(rows)
    if "images_per_s" not in table:
        return table
    table["share_of_sgemm"] = table.gflop_per_s / table.sgemm_gflops
    for column in ("speedup", "speedup_low", "speedup_high", "efficiency", "ceiling"):
        table[column] = float("nan")  # NaN where a row has no timed reference
    table["baseline"] = ""
    for _, part in table.groupby("regime", sort=False):
        timed = ok[ok.regime == part.regime.iloc[0]]
        refs = references(part, ok_only=True)
        for index, r in part.iterrows():
            ref = refs.get(tuple(r[k] for k in keys))
            if ref is None:
                continue
            b = part.loc[ref]
            table.loc[index, "baseline"] = configuration_label(b)
            table.loc[index, "speedup"] = r.images_per_s / b.images_per_s
            table.loc[index, "speedup_low"] = r.images_per_s_low / b.images_per_s_high
            table.loc[index, "speedup_high"] = r.images_per_s_high / b.images_per_s_low
            table.loc[index, "ceiling"] = ceiling_of(timed, r, keys) / ceiling_of(timed, b, keys)
            if "sgemm_one_core_gflops" in timed:  # the machine's arithmetic on the row's own cores
                one_core = pd.to_numeric(timed.sgemm_one_core_gflops, errors="coerce").median()
                table.loc[index, "sgemm_gflops"] = one_core * ceiling_of(timed, r, keys)
                table.loc[index, "share_of_sgemm"] = (
                    r.gflop_per_s / table.loc[index, "sgemm_gflops"]
                )
            table.loc[index, "efficiency"] = (
                table.loc[index, "speedup"] / table.loc[index, "ceiling"]
            )
        predicted = predicted_speedups(timed, keys, refs_by_key(part, refs, keys))
        if predicted is not None:
            for column in predicted.columns:
                table.loc[part.index, column] = [
                    predicted[column].get(tuple(r[k] for k in keys), float("nan"))
                    for _, r in part.iterrows()
                ]
    base_rows = table.index.isin(
        [i for _, part in table.groupby("regime", sort=False) for i in fair_baseline(part)]
    )
    if "speedup" in table:
        table["verdict"] = [
            verdict(lo, hi) if pd.notna(lo) else "baseline not timed"
            for lo, hi in zip(table.speedup_low, table.speedup_high)
        ]
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


#: What the overlap model reads from each timing, measured apart in the same process (study/speed.py): the
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
#: What the scaling model reads besides (study/timing.py): a device's step on its share of the batch
#: (measured in the one-device process on that device's cores), the gradients' bytes and their all-reduce's
#: seconds (measured in the multi-device process).
SCALING_INPUTS = ("step_share_seconds_alone", "gradient_bytes", "allreduce_seconds")
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


def step_seconds(r, reference=None) -> float:
    """The step a configuration's timing process would take alone (S): measured in its own process on one
    device; on several devices, the scaling model's: the step on one device's share of the batch (measured on
    that device's cores, in ``reference``'s process: one device, one loading thread) plus the all-reduce of the
    gradients (measured in its own process), not overlapped, as a data-parallel step waits for the sums."""
    if (
        r.gpus > 1
        and reference is not None
        and "step_share_seconds_alone" in reference
        and reference.get("share_of_batch") == r.gpus  # the step on this many devices' share
    ):
        share = reference.step_share_seconds_alone
        allreduce = getattr(r, "allreduce_seconds", float("nan"))
        return (
            share + (0.0 if pd.isna(allreduce) else allreduce) if pd.notna(share) else float("nan")
        )
    return r.step_seconds_alone


def predicted_speedups(
    timings: pd.DataFrame, keys: list[str], refs: dict | None = None
) -> pd.DataFrame | None:
    """Per configuration of one regime (rows of :func:`study.timing.timings`): the speedup the overlap
    and scaling models predict from what was measured apart (the loader, the step, a device's share of the step
    and the all-reduce), repeat by repeat (each repeat's configuration over the same repeat's reference, ``refs``:
    key -> the reference's key; default the one-device one-thread row), as the median and range over repeats;
    and the seconds per step it predicts. None where the timings lack the inputs."""
    if timings.empty or not set(OVERLAP_INPUTS) <= set(timings.columns):
        return None
    fair = timings[(timings.gpus == 1) & (timings.workers == 1) & (timings.loaders == "threads")]
    if fair.empty:
        return None
    if refs is None:
        fair_key = tuple(fair.iloc[0][k] for k in keys)
        refs = {key: fair_key for key, _ in timings.groupby(keys, sort=False)}
    by_key = {key: part.set_index("repeat") for key, part in timings.groupby(keys, sort=False)}
    # the step on one device's share is measured in the one-device process on that device's cores
    share_source = fair.set_index("repeat")

    def one_device(r):
        """The one-device one-thread timing of ``r``'s repeat on a device's cores (the scaling model's share)."""
        if r.gpus <= 1:
            return None
        same = share_source[share_source.cores == r.cores]
        return same.loc[[r.repeat]].iloc[0] if r.repeat in same.index else None

    def seconds(r, same_cores=None) -> float:
        step = step_seconds(r, same_cores)
        return overlap_seconds(
            r.loader_seconds_alone,
            r.loader_cpu_seconds_alone,
            step,
            r.step_cores_busy,
            r.usable_cores,
        )

    rows = {}
    for key, part in timings.groupby(keys, sort=False):
        ref = by_key.get(refs.get(key))
        if ref is None:
            continue
        ratios, own = [], []
        for r in part.itertuples():
            if r.repeat not in ref.index:
                continue
            mine = seconds(r, one_device(r))
            reference = ref.loc[r.repeat].copy()
            reference["repeat"] = r.repeat
            theirs = seconds(reference, one_device(reference))
            if pd.isna(mine) or pd.isna(theirs):
                continue
            own.append(mine)
            ratios.append(theirs / mine)
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
            row[label] = f"{match.speedup.iloc[0]:.2f}" if not match.empty else "not timed"
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


#: The machine-readable summary's columns (``runs/parallel/summary.csv``), one row per regime x configuration.
SUMMARY_COLUMNS = [
    "regime",
    "devices",
    "device_kind",
    "cores_per_device",
    "workers",
    "loader",
    "images_per_s",
    "speedup",
    "speedup_min",
    "speedup_max",
    "verdict",
    "predicted_speedup",
    "ceiling",
    "baseline",
    "gradient_bytes",
    "allreduce_seconds",
    "repeats",
]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The speed table as others read it: per regime and configuration the devices (``device_kind``: ``gpu``,
    ``cpu-cores`` for CPU devices with cores of their own, ``logical`` for devices sharing one processor, ``cpu``
    for one device on the CPU), its speedup with the range over repeats and the verdict, the speedup the models
    predict, the ceiling the cores allowed (:func:`ceiling_of`) and the reference the speedup is read against."""
    ok = table[table.status == "ok"] if "status" in table else table
    out = pd.DataFrame(
        {
            "regime": ok.regime,
            "devices": ok.gpus.astype(int),
            "device_kind": ok.get("device_kind", pd.Series("", index=ok.index)),
            "cores_per_device": ok.cores.astype(int),
            "workers": ok.workers.astype(int),
            "loader": ok.loaders,
            "images_per_s": ok.images_per_s,
            "speedup": ok.get("speedup"),
            "speedup_min": ok.get("speedup_low"),
            "speedup_max": ok.get("speedup_high"),
            "verdict": ok.get("verdict"),
            "predicted_speedup": ok.get("predicted_speedup"),
            "ceiling": ok.get("ceiling"),
            "baseline": ok.get("baseline"),
            "gradient_bytes": ok.get("gradient_bytes"),
            "allreduce_seconds": ok.get("allreduce_seconds"),
            "repeats": ok.repeats,
        }
    )
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def write_summary(table: pd.DataFrame, path) -> pd.DataFrame:
    """Write :func:`summary` to ``path`` (CSV, atomically) and return it."""
    from pathlib import Path

    from colourlib import atomic

    frame = summary(table)
    atomic.write_text(Path(path), frame.to_csv(index=False, float_format="%.4g"))
    return frame
