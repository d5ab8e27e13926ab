"""The parallel study: train every configuration of the matrix, each in a fresh process, and tabulate what
parallelism bought, beside the paper's Figure 11.

Each configuration runs as ``python -m colourlib train`` in its own process because devices (logical ones
included) can only be laid out before the backend starts, and so that one failing configuration cannot take
the others down: a failure is reported at the end, with its log, and makes the study exit non-zero.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .callbacks import read_history
from .config import TrainConfig
from .matrix import Configuration, Regime, StudyMatrix, check_machine
from .study import reusable

#: The paper's Figure 11: (gpus, threads) -> seconds for 1000 epochs of 7000 images at 224 px, batch 64.
PAPER_SECONDS = {(1, 1): 11351.00, (1, 2): 8481.83, (1, 4): 5542.05, (2, 1): 4860.35}
PAPER_WORKLOAD = dict(images=7000, epochs=1000, image_size=224, batch_size=64)
LOG_FILE = "train.log"
RESULTS_FILE = "results.csv"


@dataclass
class RunOutcome:
    regime: Regime
    row: Configuration
    run_dir: Path
    returncode: int
    seconds: float

    @property
    def failed(self) -> bool:
        return self.returncode != 0


def run_one(config: TrainConfig, run_dir: Path) -> int:
    """Train one configuration in a fresh process, streaming its output here and into ``run_dir/train.log``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    request = run_dir / "requested_config.json"
    config.save(request)
    command = [sys.executable, "-u", "-m", "colourlib", "train", str(run_dir), "--config", str(request)]
    with (run_dir / LOG_FILE).open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            log.write(line)
            if not _is_backend_noise(line):
                print("    " + line, end="", flush=True)
        return process.wait()


def _is_backend_noise(line: str) -> bool:
    """TensorFlow/XLA start-up lines (still kept in the log file)."""
    return line.startswith(("WARNING: All log messages", "W0000", "I0000", "E0000")) or "rebuild TensorFlow" in line


def run_matrix(matrix: StudyMatrix, out_dir: Path, force: bool = False, runner=run_one,
               is_current=None) -> list[RunOutcome]:
    """Train every (regime, configuration) into ``out_dir/<regime>/<configuration>``; finished identical runs are
    reused unless ``force``. Never stops early: every outcome is returned.

    ``runner(config, run_dir) -> exit code`` trains one (default: a fresh ``python -m colourlib train``; the book's
    driver runs the train notebook instead); ``is_current(config, run_dir)`` says whether what exists may be
    reused (default: a finished run of the same configuration and code).
    """
    check_machine(matrix)
    is_current = is_current or (lambda config, run_dir: reusable(run_dir, config, force))
    runs = matrix.runs()
    outcomes = []
    for i, (regime, row, config) in enumerate(runs, start=1):
        run_dir = Path(out_dir) / regime.name / row.name
        print(f"[{i}/{len(runs)}] {regime.name}: gpus={row.gpus} workers={row.workers} "
              f"({'processes' if row.processes else 'threads'})", flush=True)
        started = time.perf_counter()
        if is_current(config, run_dir):
            print(f"    reusing finished run {run_dir}", flush=True)
            code = 0
        else:
            code = runner(config, run_dir)
        outcomes.append(RunOutcome(regime, row, run_dir, code, time.perf_counter() - started))
        if code:
            print(f"    FAILED (exit {code}); log: {run_dir / LOG_FILE}; going on with the others", flush=True)
        else:
            print(f"    done in {time.perf_counter() - started:.0f} s ({i}/{len(runs)} configurations)", flush=True)
    return outcomes


def collect(matrix: StudyMatrix, out_dir: Path) -> list[RunOutcome]:
    """The outcomes of a matrix already trained into ``out_dir`` (a configuration with no finished run there
    counts as failed), so results can be tabulated in another process, e.g. the book's notebook."""
    outcomes = []
    for regime, row, _ in matrix.runs():
        run_dir = Path(out_dir) / regime.name / row.name
        finished = (run_dir / "history.csv").is_file() and (run_dir / "timing.json").is_file()
        outcomes.append(RunOutcome(regime, row, run_dir, 0 if finished else 1, float("nan")))
    return outcomes


def failure_report(outcomes: list[RunOutcome]) -> str:
    failed = [o for o in outcomes if o.failed]
    if not failed:
        return ""
    lines = [f"{len(failed)} of {len(outcomes)} configurations failed:"]
    for o in failed:
        tail = ""
        log = o.run_dir / LOG_FILE
        if log.is_file():
            useful = [l for l in log.read_text().splitlines() if l.strip() and not _is_backend_noise(l)]
            tail = useful[-1] if useful else ""
        lines.append(f"  {o.regime.name} gpus={o.row.gpus} workers={o.row.workers}: exit {o.returncode}; "
                     f"{tail} (log: {log})")
    return "\n".join(lines)


def run_record(run_dir: Path) -> dict:
    """One finished run's numbers: steady-state speed (median over epochs after the first, which compiles),
    input-wait share, final validation loss, and where it ran."""
    history = read_history(run_dir / "history.csv")
    config = json.loads((run_dir / "config.json").read_text())
    replicas = json.loads((run_dir / "environment.json").read_text()).get("replicas", {})
    steady = history[1:] or history
    median = lambda key: statistics.median(float(h[key]) for h in steady)  # noqa: E731
    return {
        "gpus": config["gpus"], "workers": config["workers"],
        "loaders": "processes" if config["use_multiprocessing"] else "threads",
        "devices": replicas.get("label", "?"), "physical": replicas.get("physical"),
        "epoch_seconds": median("train_seconds"), "images_per_s": median("images_per_s"),
        "input_wait_share": median("input_wait_share"),
        "final_val_loss": float(history[-1]["val_loss"]), "epochs": len(history),
        "image_size": config["image_size"], "batch_size": config["batch_size"],
    }


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
        if o.failed or not (o.run_dir / "history.csv").is_file():
            rows.append({**base, "loaders": "processes" if o.row.processes else "threads", "status": "failed"})
            continue
        rows.append({**base, **run_record(o.run_dir), "run_dir": str(o.run_dir), "status": "ok"})
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
    w = PAPER_WORKLOAD
    pixels = (w["image_size"] / table.image_size) ** 2
    table["projected_paper_hours"] = w["images"] * w["epochs"] * pixels / table.images_per_s / 3600
    table["paper_seconds"] = [PAPER_SECONDS.get((g, k)) for g, k in zip(table.gpus, table.workers)]
    table["paper_speedup"] = PAPER_SECONDS[(1, 1)] / table.paper_seconds
    return table


def paper_implied_images_per_s() -> float:
    """The paper's 1-GPU throughput implied by Figure 11: 7000 images x 1000 epochs in 11351 s (~617 img/s at
    224 px), far beyond training a whole VGG16 on a 2019 GPU, so its timings are of the cached-features regime."""
    w = PAPER_WORKLOAD
    return w["images"] * w["epochs"] / PAPER_SECONDS[(1, 1)]


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
    for (gpus, workers), seconds in PAPER_SECONDS.items():
        row = {"gpus": gpus, "workers": workers, "paper seconds": seconds,
               "paper speedup": PAPER_SECONDS[(1, 1)] / seconds}
        for regime, part in table[table.status == "ok"].groupby("regime", sort=False):
            match = part[(part.gpus == gpus) & (part.workers == workers)]
            row[f"ours: {regime}"] = float(match.speedup.iloc[0]) if not match.empty else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).set_index(["gpus", "workers"])


#: The columns the book's results table shows, with the names it shows them under.
DISPLAY_COLUMNS = {"regime": "regime", "gpus": "gpus", "workers": "workers", "loaders": "workers are",
                   "devices": "devices", "epoch_seconds": "s/epoch", "images_per_s": "images/s",
                   "speedup": "speedup", "efficiency": "efficiency", "input_wait_share": "input wait",
                   "final_val_loss": "final val loss", "val_loss_change": "val loss change", "status": "status"}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    shown = table[[c for c in DISPLAY_COLUMNS if c in table]].rename(columns=DISPLAY_COLUMNS)
    shown = shown.set_index(["regime", "gpus", "workers"])
    return shown.round({"s/epoch": 2, "images/s": 1, "speedup": 2, "efficiency": 2, "input wait": 2,
                        "final val loss": 4, "val loss change": 3})


def projection_table(table: pd.DataFrame) -> pd.DataFrame:
    """Hours the paper's whole workload would take at each configuration's measured speed, beside the paper's."""
    columns = {"regime": "regime", "gpus": "gpus", "workers": "workers", "images_per_s": "images/s measured",
               "projected_paper_hours": "projected hours for the paper's workload"}
    shown = table[table.status == "ok"][list(columns)].rename(columns=columns)
    shown["paper's hours"] = [PAPER_SECONDS.get((g, w), float("nan")) / 3600
                              for g, w in zip(shown.gpus, shown.workers)]
    return shown.set_index(["regime", "gpus", "workers"]).round(2)


def book_values(table: pd.DataFrame) -> dict:
    """The numbers and sentences the training chapter cites (glued by its notebook)."""
    from .notebooks import markdown
    from .provenance import cpu_model

    w = PAPER_WORKLOAD
    ok = table[table.status == "ok"] if "status" in table else table.iloc[0:0]
    values = {
        "paper_images": w["images"], "paper_epochs": w["epochs"], "paper_image_size": w["image_size"],
        "paper_batch_size": w["batch_size"], "paper_gpus_2": 2,
        "paper_images_per_s": paper_implied_images_per_s(), "paper_hours_1x1": PAPER_SECONDS[(1, 1)] / 3600,
        "n_failed": int((table.status != "ok").sum()) if "status" in table else 0,
        "findings": markdown("\n\n".join(findings(ok)) if not ok.empty else "No configuration finished."),
        "findings_plain": " ".join(findings(ok)).replace("**", "") if not ok.empty else "No configuration finished.",
    }
    for (g, k), seconds in PAPER_SECONDS.items():
        values[f"paper_seconds_{g}x{k}"] = seconds
        values[f"paper_speedup_{g}x{k}"] = PAPER_SECONDS[(1, 1)] / seconds
    for regime, key in (("whole-network", "whole"), ("cached-features", "cached")):
        base = ok[(ok.regime == regime) & (ok.gpus == 1) & (ok.workers == 1)]
        values[f"projected_hours_{key}"] = float(base.projected_paper_hours.iloc[0]) if not base.empty \
            else float("nan")
    env = _first_environment(ok)
    values["hardware"] = (f"{env.get('cpu', cpu_model())}, {env.get('cpu_cores', '?')} cores, "
                          f"{env.get('memory_gib', '?')} GiB, accelerators: "
                          f"{', '.join(env.get('accelerators') or []) or 'none'}; Keras "
                          f"{env.get('versions', {}).get('keras', '?')} on {env.get('keras_backend', '?')}")
    return values


def _first_environment(table: pd.DataFrame) -> dict:
    for run_dir in table.get("run_dir", []):
        path = Path(run_dir) / "environment.json"
        if path.is_file():
            return json.loads(path.read_text())
    return {}

