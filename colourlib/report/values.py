"""The values the book's prose cites, glued by the notebooks (``{glue:text}`key```), and the display objects
(Markdown) the study layer never builds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import ConfigError, paper
from ..backend.replicas import REPLICA_LOSS_RTOL
from ..provenance import cpu_model
from ..study.comparison import Comparison, comparison_values
from ..study.parallel import paper_claims
from .words import count_loaders, headline, recorded_cores, speed_findings, speedup_range


def glue_all(values: dict[str, Any], display: bool = False) -> None:
    """Glue every value under its key, so the book's prose can cite it ({glue:text}`key`)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=display)


def markdown(text: str):
    """Text glued as Markdown, for ``{glue:md}`` in the same notebook (``{glue:text}`` would show its quotes)."""
    from IPython.display import Markdown

    return Markdown(text)


def hardware(env: dict) -> str:
    """One line naming the machine a result was measured on."""
    return (
        f"{env.get('cpu', cpu_model())}, {recorded_cores(env)}, {env.get('memory_gib', '?')} GiB, "
        f"accelerators: {', '.join(env.get('accelerators') or []) or 'none'}"
    )


def parallel_values(table: pd.DataFrame, timings: pd.DataFrame) -> dict:
    """The numbers and sentences the training chapter cites (glued by its notebook), from the speed table and
    the timings it summarises."""
    w = paper.WORKLOAD
    ok = table[table.status == "ok"] if "status" in table else table.iloc[0:0]
    values = {
        "paper_images": w["images"],
        "paper_epochs": w["epochs"],
        "paper_image_size": w["image_size"],
        "paper_batch_size": w["batch_size"],
        "paper_gpus_2": 2,
        "paper_images_per_s": paper.implied_images_per_s(),
        "paper_hours_1x1": paper.SECONDS[(1, 1)] / 3600,
        "n_failed": int((table.status != "ok").sum()) if "status" in table else 0,
        "replica_loss_rtol": REPLICA_LOSS_RTOL,
        "findings": markdown(
            "\n\n".join(speed_findings(table)) if not ok.empty else "No configuration was timed."
        ),
        "findings_plain": " ".join(speed_findings(table)).replace("**", "")
        if not ok.empty
        else "No configuration was timed.",
    }
    failed = table[table.status != "ok"] if "status" in table else table.iloc[0:0]
    values["failed_sentence"] = (
        "Every configuration was timed."
        if failed.empty
        else f"{len(failed)} configuration{'s' if len(failed) > 1 else ''} could not be timed: "
        + "; ".join(
            f"{r.regime}, {r.gpus} device{'s' if r.gpus > 1 else ''} with "
            f"{count_loaders(r.workers, r.loaders)}"
            for r in failed.itertuples()
        )
        + "."
    )
    values["headline_speed"] = headline(table) if not ok.empty else "No configuration was timed."
    for regime, short in (("whole-network", "whole"), ("cached-features", "cached")):
        for claim in paper_claims(table, regime) if not ok.empty else []:
            key = f"{short}_{claim['gpus']}x{claim['workers']}"
            if "speedup" in claim:  # e.g. speedup_whole_1x4 "1.02x (0.93-1.18, no difference)"
                values[f"speedup_{key}"] = (
                    f"{claim['speedup']:.2f}x ({speedup_range(claim['low'], claim['high'])}, "
                    f"{claim['verdict']})"
                )
    values["timing_image_size"] = int(ok.image_size.iloc[0]) if not ok.empty else 0
    two = ok[(ok.gpus == 2) & (ok.workers == 1)]
    values["devices_2x1"] = str(two.devices.iloc[0]) if not two.empty else "not timed"
    values["two_devices_sentence"] = (
        "The two-device rows were not timed."
        if two.empty
        else f"The two-device rows ran on {values['devices_2x1']}: devices sharing one processor, so they measure what "
        "data parallelism costs, not what a second GPU would buy."
        if "logical" in values["devices_2x1"]
        else f"The two-device rows ran on {values['devices_2x1']}."
    )
    for (g, k), seconds in paper.SECONDS.items():
        values[f"paper_seconds_{g}x{k}"] = seconds
        values[f"paper_speedup_{g}x{k}"] = paper.SECONDS[(1, 1)] / seconds
    for regime, key in (("whole-network", "whole"), ("cached-features", "cached")):
        base = ok[
            (ok.regime == regime) & (ok.gpus == 1) & (ok.workers == 1) & (ok.loaders == "threads")
        ]
        values[f"projected_hours_{key}"] = (
            float(base.projected_paper_hours.iloc[0]) if not base.empty else float("nan")
        )
    env = next(iter(timings.environment.dropna()), {}) if "environment" in timings else {}
    first = timings.dropna(subset=["steps"]).iloc[0] if "steps" in timings else None
    values["timed_steps"] = int(first.steps) if first is not None else 0
    values["warmup_steps"] = int(first.warmup_steps) if first is not None else 0
    values["repeats"] = (
        int(timings.repeat.max()) if "repeat" in timings and timings.repeat.notna().any() else 0
    )
    values["timing_sentence_plain"] = timing_sentence(timings)
    values["timing_sentence"] = markdown(values["timing_sentence_plain"])
    values["hardware"] = (
        f"{hardware(env)}; Keras {env.get('versions', {}).get('keras', '?')} on "
        f"{env.get('keras_backend', '?')}"
    )
    return values


def timing_sentence(timings: pd.DataFrame) -> str:
    """How each regime was timed, from the timings themselves: "whole-network: 8 timed steps after 2 warm-up
    steps, 3 repeats; ..."."""
    if "steps" not in timings:
        return "nothing was timed"
    parts = []
    for regime, part in timings.dropna(subset=["steps"]).groupby("regime", sort=False):
        first = part.iloc[0]
        parts.append(
            f"{regime}: {int(first.steps)} timed steps after {int(first.warmup_steps)} warm-up steps, "
            f"{int(part.repeat.max())} repeats"
        )
    return "; ".join(parts)


def evaluation_values(comparison: Comparison) -> dict:
    """The evaluation chapter's numbers, with the goal sentences and model names as Markdown too."""
    values = comparison_values(comparison)
    for key in comparison.runs:
        values[f"{key}_goal"] = markdown(values[f"{key}_goal_plain"])
        values[f"{key}_wins"] = markdown(values[f"{key}_wins_plain"])
        values[f"{key}_name"] = markdown(comparison.labels[key])
        values[f"{key}_recipe_md"] = markdown(values[f"{key}_recipe"])
    return values


def read_recipe_search(folder=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The recorded recipe search (:mod:`colourlib.study.recipes`): its table, the baselines on the same
    validation photos, and values for the prose: the machine and date it ran on and, when recorded, what
    fine-tuning the encoder added (``fine_tune_sentence``)."""
    import json
    from pathlib import Path

    from .. import paths

    folder = Path(folder) if folder else paths.RECIPE_SEARCH
    try:
        search = pd.read_csv(folder / "recipes.csv")
        baselines = pd.read_csv(folder / "baselines.csv", index_col=0)
        env = json.loads((folder / "environment.json").read_text())
    except OSError as exc:
        raise ConfigError(
            f"recipe_search={str(folder)!r}: no recorded recipe search there ({exc.strerror}: "
            f"{exc.filename}). Fix: run python -m colourlib recipes --out {folder}."
        ) from None
    date = (env.get("date") or "")[:10]
    values = {"search_machine": hardware(env) + (f", {date}" if date else "")}
    if later := env.get("second_round"):  # recorded later, possibly elsewhere: say so
        values["search_machine"] += (
            f"; its second round on {hardware(later)}, "
            f"{(later.get('date') or '')[:10]}, commit {(later.get('git') or {}).get('commit', '?')[:7]}"
        )
    tuned = folder / "fine-tune.json"
    if tuned.is_file():
        t = json.loads(tuned.read_text())
        values["fine_tune_sentence"] = (
            f"Fine-tuning the whole network after the first round (encoder unfrozen, its batch-norm statistics "
            f"kept, {t['epochs']} epoch of {t['images']} fresh crops at learning rate {t['learning_rate']:g}, "
            f"{t['seconds']:.0f} s) moved its winner's validation CIEDE2000 from {t['ciede2000_before']:.2f} "
            f"to {t['ciede2000_after']:.2f} and its AuC from {t['auc_ab_before']:.4f} to {t['auc_ab_after']:.4f}."
        )
    else:
        values["fine_tune_sentence"] = (
            "Fine-tuning the encoder after the frozen training was not measured."
        )
    return search, baselines, values


def record_values(record: dict) -> dict:
    """The reproducibility appendix's numbers, from the study driver's record."""
    env = record["environment"]
    git = env.get("git", {})
    return {
        "hardware": hardware(env),
        "commit": (git.get("commit") or "unknown")[:12]
        + (" (with uncommitted changes)" if git.get("dirty") else ""),
        "date": record["started"][:10],
        "study_minutes": record["seconds"] / 60,
        "study_preset": record["preset"],
    }
