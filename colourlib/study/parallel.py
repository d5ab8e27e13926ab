"""The parallel study's results: what each configuration of the matrix bought, beside the paper's Figure 11,
and what the measurements say, as sentences computed from the table."""
from __future__ import annotations

import pandas as pd

from .. import paper
from ..runs import RunFolder
from .runners import RunOutcome


def results_table(outcomes: list[RunOutcome]) -> pd.DataFrame:
    """Per regime and configuration: speed, speedup and parallel efficiency over (1 gpu, 1 worker), input-wait
    share, final validation loss and its change, the time projected to the paper's workload, and the paper's
    own seconds and speedup where it measured that configuration.

    Parallel efficiency = t1 / (N * tN) with N = gpus x workers (the parallel units the configuration uses).
    The projection scales the measured images/s to 224 px by pixel count, an assumption stated in the table.
    """
    rows = []
    for o in outcomes:
        base = {"regime": o.regime.name, "gpus": o.row.gpus, "workers": o.row.workers}
        run = RunFolder(o.run_dir)
        if o.failed or not run.is_finished():
            rows.append({**base, "loaders": o.row.loaders, "status": "failed"})
            continue
        rows.append({**base, **run.record(), "run_dir": str(o.run_dir), "status": "ok"})
    table = pd.DataFrame(rows)
    if "images_per_s" not in table:
        return table
    for regime, part in table.groupby("regime"):
        single = part[(part.gpus == 1) & (part.workers == 1) & (part.status == "ok")]
        if single.empty:
            continue
        ips1, loss1 = single.images_per_s.iloc[0], single.final_val_loss.iloc[0]
        index = part.index
        table.loc[index, "speedup"] = part.images_per_s / ips1
        table.loc[index, "efficiency"] = part.images_per_s / ips1 / (part.gpus * part.workers)
        table.loc[index, "val_loss_change"] = part.final_val_loss / loss1 - 1
    w = paper.WORKLOAD
    pixels = (w["image_size"] / table.image_size) ** 2
    table["projected_paper_hours"] = w["images"] * w["epochs"] * pixels / table.images_per_s / 3600
    table["paper_seconds"] = [paper.SECONDS.get((g, k)) for g, k in zip(table.gpus, table.workers)]
    table["paper_speedup"] = paper.SECONDS[(1, 1)] / table.paper_seconds
    return table


def findings(table: pd.DataFrame) -> list[str]:
    """What the measurements say, as sentences computed from the table (so they stay true when it changes):
    per regime, what workers bought, what a second device bought, the best configuration, and input wait."""
    sentences = []
    ok = table[table.status == "ok"]
    for regime, part in ok.groupby("regime", sort=False):
        base = part[(part.gpus == 1) & (part.workers == 1)]
        if base.empty:
            continue
        wait1 = float(base.input_wait_share.iloc[0])
        more_workers = part[(part.gpus == 1) & (part.workers > 1)]
        two = part[(part.gpus == 2) & (part.workers == 1)]
        best = part.loc[part.speedup.idxmax()]
        text = (f"**{regime}**: with one device and one worker the step waited for input "
                f"{wait1:.0%} of the time, so the run was "
                f"{'input-bound' if wait1 > 0.2 else 'compute-bound'}.")
        if not more_workers.empty:
            top = more_workers.loc[more_workers.speedup.idxmax()]
            text += (f" More workers gave at best {top.speedup:.2f}x ({int(top.workers)} workers): "
                     f"{_gain_word(top.speedup)}.")
        if not two.empty:
            row = two.iloc[0]
            text += (f" Two devices ({row.devices}) gave {row.speedup:.2f}x, parallel efficiency "
                     f"{row.efficiency:.0%}: {_gain_word(row.speedup)}.")
        text += (f" Fastest: {int(best.gpus)} device(s) x {int(best.workers)} worker(s) at "
                 f"{best.images_per_s:.0f} images/s ({best.speedup:.2f}x).")
        sentences.append(text)
    return sentences


def _gain_word(speedup: float) -> str:
    if speedup > 1.1:
        return "a real gain"
    if speedup >= 0.95:
        return "no measurable change"
    return "a loss"


def paper_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's Figure 11 rows beside our speedup for the same (gpus, workers) in each regime."""
    rows = []
    for (gpus, workers), seconds in paper.SECONDS.items():
        row = {"gpus": gpus, "workers": workers, "paper seconds": seconds,
               "paper speedup": paper.SECONDS[(1, 1)] / seconds}
        for regime, part in table[table.status == "ok"].groupby("regime", sort=False):
            match = part[(part.gpus == gpus) & (part.workers == workers)]
            row[f"ours: {regime}"] = float(match.speedup.iloc[0]) if not match.empty else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).set_index(["gpus", "workers"])
