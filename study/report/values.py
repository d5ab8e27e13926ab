"""The numbers, ranges and one-word verdicts the book's prose cites, glued by the notebooks
(``{glue:text}`key```). The sentences are the notebooks' markdown; nothing here writes one."""

from __future__ import annotations

from typing import Any

import pandas as pd

from colourlib import ConfigError, paper
from colourlib.backend.replicas import REPLICA_LOSS_RTOL
from colourlib.provenance import cpu_model
from study import paths as study_paths
from study.comparison import Comparison, comparison_values
from study.parallel import paper_claims
from study.report.words import count_loaders, recorded_cores, speedup_range


def glue_all(values: dict[str, Any], display: bool = False) -> None:
    """Glue every value under its key, so the book's prose can cite it ({glue:text}`key`)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=display)


def hardware(env: dict) -> str:
    """One line naming the machine a result was measured on."""
    return (
        f"{env.get('cpu', cpu_model())}, {recorded_cores(env)}, {env.get('memory_gib', '?')} GiB, "
        f"accelerators: {', '.join(env.get('accelerators') or []) or 'none'}"
    )


#: The study matrix's regimes, by the short names the book's prose cites their values under.
REGIMES = {"whole-network": "whole", "cached-features": "cached", "papers-generator": "generator"}
#: The configurations the prose cites in every regime, beside the baseline (one device on one core, one loading
#: thread): the key's suffix -> (devices, each one's cores (None: the most any one-device row had, all of them),
#: loading workers, loaders).
CITED_CONFIGURATIONS = {
    "cores": (1, None, 1, "threads"),  # one device on all the cores
    "2x1": (2, 1, 1, "threads"),  # two devices of one core each
    "1x2": (1, None, 2, "threads"),
    "1x4": (1, None, 4, "threads"),
    "1x2p": (1, None, 2, "processes"),
    "1x4p": (1, None, 4, "processes"),
    "2x2p": (2, 1, 2, "processes"),
}


def cited_row(part: pd.DataFrame, suffix: str) -> pd.DataFrame:
    """The rows of one regime's speed table that :data:`CITED_CONFIGURATIONS`' ``suffix`` names."""
    gpus, cores, workers, loaders = CITED_CONFIGURATIONS[suffix]
    if cores is None:  # all the cores: the most any one-device row had
        one = part[part.gpus == 1]
        cores = one.cores.max() if not one.empty else -1
        if suffix == "cores" and not one.empty and cores == one.cores.min():
            cores = (
                -1
            )  # no one-core row: the all-cores row is the baseline itself, not a second core's gain
    return part[
        (part.gpus == gpus)
        & (part.cores == cores)
        & (part.workers == workers)
        & (part.loaders == loaders)
    ]


#: What the prose reads where a regime or a configuration was not timed (another matrix, a failure).
NOT_TIMED = "not timed"


def speedup_text(row) -> str:
    """'1.02x (0.93-1.18, no difference)': a speedup, its range over the repeats and its one-word verdict."""
    return f"{row.speedup:.2f}x ({speedup_range(row.speedup_low, row.speedup_high)}, {row.verdict})"


def predicted_text(row) -> str:
    """'1.42x (1.30-1.51)': the overlap model's speedup and its range over the repeats."""
    return f"{row.predicted_speedup:.2f}x ({row.predicted_low:.2f}-{row.predicted_high:.2f})"


def _loader_words(row) -> str:
    return count_loaders(int(row.workers), row.loaders, "loading") + (
        f" on {int(row.gpus)} devices" if row.gpus > 1 else ""
    )


def overlap_values(part: pd.DataFrame, key: str) -> dict:
    """One regime's overlap-model values (``part``: its rows of the speed table): the baseline's loader and step
    measured apart (``{key}_loader_ms``, ``{key}_loader_cpu_ms``, ``{key}_step_ms``, ``{key}_step_cores``, and
    ``{key}_loader_over_step``); the predicted speedup of each cited configuration (``predicted_{key}_1x2p``...)
    and its loader's milliseconds a batch measured alone (``loader_ms_{key}_1x2p``...);
    the best loader setting on one device (``{key}_best_workers``, with its verdict ``{key}_workers_verdict``) and
    how many configurations the model's verdict matched (``{key}_model_agrees`` of ``{key}_model_compared``)."""
    nan = float("nan")
    base = part[part.verdict == "baseline"] if "verdict" in part else part.iloc[0:0]
    has_model = "predicted_speedup" in part and not base.empty
    b = base.iloc[0] if has_model else None
    values = {
        f"{key}_loader_ms": 1000 * float(b.loader_seconds_alone) if has_model else nan,
        f"{key}_loader_cpu_ms": 1000 * float(b.loader_cpu_seconds_alone) if has_model else nan,
        f"{key}_step_ms": 1000 * float(b.step_seconds_alone) if has_model else nan,
        f"{key}_step_cores": float(b.step_cores_busy) if has_model else nan,
        f"{key}_loader_over_step": float(b.loader_seconds_alone / b.step_seconds_alone)
        if has_model
        else nan,
    }
    values[f"loader_ms_{key}_1x1"] = values[f"{key}_loader_ms"]
    for suffix in CITED_CONFIGURATIONS:
        row = cited_row(part, suffix)
        cited = f"predicted_{key}_{suffix}"
        timed = has_model and not row.empty and pd.notna(row.predicted_speedup.iloc[0])
        values[cited] = predicted_text(row.iloc[0]) if timed else NOT_TIMED
        values[cited.replace("predicted_", "loader_ms_", 1)] = (
            1000 * float(row.loader_seconds_alone.iloc[0]) if timed else nan
        )
    more = (
        part[(part.gpus == 1) & ((part.workers > 1) | (part.loaders == "processes"))]
        if has_model
        else part.iloc[0:0]
    )
    more = more.dropna(subset=["speedup"]) if "speedup" in more else more.iloc[0:0]
    if not more.empty:
        best = more.loc[more.speedup.idxmax()]
        values[f"{key}_best_workers"] = f"{_loader_words(best)}, {speedup_text(best)}"
        values[f"{key}_workers_verdict"] = str(best.verdict)
    else:
        values[f"{key}_best_workers"] = values[f"{key}_workers_verdict"] = NOT_TIMED
    compared = (
        part[
            part.verdict.isin(["gain", "loss", "no difference"])
            & (part.predicted_verdict != "not predicted")
        ]
        if has_model
        else part.iloc[0:0]
    )
    values[f"{key}_model_compared"] = len(compared)
    values[f"{key}_model_agrees"] = (
        int((compared.predicted_verdict == compared.verdict).sum()) if len(compared) else 0
    )
    return values


def parallel_values(table: pd.DataFrame, timings: pd.DataFrame) -> dict:
    """The numbers, ranges and one-word verdicts the training chapter's prose cites (glued by its notebook;
    the sentences are the notebook's). Per regime of :data:`REGIMES` (``whole_...``, ``cached_...``): the
    baseline's speed, range, GFLOP/s, share of sgemm and kernel share; every configuration's speedup text
    (``speedup_whole_1x2``, ``..._1x2p`` for processes); how many configurations were gains; how many of the
    paper's speedups were reproduced; the timing settings. Also the paper's own numbers, the devices of the
    two-device rows and the hardware. What was not timed reads :data:`NOT_TIMED` (NaN for a number)."""
    w = paper.WORKLOAD
    ok = table[table.status == "ok"] if "status" in table else table.iloc[0:0]
    failed = table[table.status != "ok"] if "status" in table else table.iloc[0:0]
    values = {
        "paper_images": w["images"],
        "paper_epochs": w["epochs"],
        "paper_image_size": w["image_size"],
        "paper_batch_size": w["batch_size"],
        "paper_gpus_2": 2,
        "paper_images_per_s": paper.implied_images_per_s(),
        "paper_hours_1x1": paper.SECONDS[(1, 1)] / 3600,
        "n_paper_claims": len(paper.SECONDS) - 1,
        "n_failed": len(failed),
        "failed_configurations": "; ".join(
            f"{r.regime} gpus={r.gpus} cores={r.cores} workers={r.workers} ({r.loaders})"
            for r in failed.itertuples()
        )
        or "none",
        "replica_loss_rtol": REPLICA_LOSS_RTOL,
    }
    for (g, k), seconds in paper.SECONDS.items():
        values[f"paper_seconds_{g}x{k}"] = seconds
        values[f"paper_speedup_{g}x{k}"] = paper.SECONDS[(1, 1)] / seconds
        if (g, k) in paper.TEXT_SPEEDUPS:
            values[f"paper_text_speedup_{g}x{k}"] = paper.TEXT_SPEEDUPS[(g, k)]
    for regime, key in REGIMES.items():
        part = ok[ok.regime == regime]
        base = part[part.verdict == "baseline"] if "verdict" in part else part.iloc[0:0]
        b = base.iloc[0] if not base.empty else None
        nan = float("nan")
        values |= {
            f"{key}_base_ips": float(b.images_per_s) if b is not None else nan,
            f"{key}_base_ips_range": f"{b.images_per_s_low:.1f}-{b.images_per_s_high:.1f}"
            if b is not None
            else NOT_TIMED,
            f"{key}_base_gflops": float(b.gflop_per_s) if b is not None else nan,
            f"{key}_base_sgemm_share": float(b.share_of_sgemm) if b is not None else nan,
            f"{key}_base_kernel_share": float(b.kernel_share) if b is not None else nan,
            f"projected_hours_{key}": float(b.projected_paper_hours) if b is not None else nan,
            f"{key}_n_gains": int((part.verdict == "gain").sum()) if b is not None else 0,
            f"{key}_n_compared": int(part.verdict.isin(["gain", "loss", "no difference"]).sum())
            if b is not None
            else 0,
            f"{key}_reproduced": sum(bool(c.get("reproduced")) for c in paper_claims(table, regime))
            if b is not None
            else 0,
            f"{key}_claims_compared": sum("speedup" in c for c in paper_claims(table, regime))
            if b is not None
            else 0,
        }
        for suffix in CITED_CONFIGURATIONS:
            row = cited_row(part, suffix)
            timed = b is not None and not row.empty and pd.notna(row.speedup.iloc[0])
            values[f"speedup_{key}_{suffix}"] = speedup_text(row.iloc[0]) if timed else NOT_TIMED
            values[f"verdict_{key}_{suffix}"] = str(row.verdict.iloc[0]) if timed else NOT_TIMED
        two = cited_row(part, "2x1")
        scaling = not two.empty and "allreduce_seconds" in two
        values |= {
            f"{key}_2x1_of_ceiling": float(two.efficiency.iloc[0]) if not two.empty else nan,
            f"{key}_allreduce_ms": 1000 * float(two.allreduce_seconds.iloc[0]) if scaling else nan,
            f"{key}_gradient_mb": float(two.gradient_bytes.iloc[0]) / 1e6 if scaling else nan,
            f"{key}_allreduce_over_step": float(
                two.allreduce_seconds.iloc[0] / b.step_seconds_alone
            )
            if scaling and b is not None
            else nan,
        }
        values |= overlap_values(part, key)
        steps = (
            timings[timings.regime == regime].dropna(subset=["steps"]) if "steps" in timings else []
        )
        values[f"{key}_steps"] = int(steps.steps.iloc[0]) if len(steps) else 0
        values[f"{key}_warmup"] = int(steps.warmup_steps.iloc[0]) if len(steps) else 0
    values["timing_image_size"] = int(ok.image_size.iloc[0]) if not ok.empty else 0
    two = ok[(ok.gpus == 2) & (ok.workers == 1)]
    values["devices_2x1"] = str(two.devices.iloc[0]) if not two.empty else NOT_TIMED
    values["devices_2x1_kind"] = (
        NOT_TIMED
        if two.empty
        else "logical"
        if "logical" in values["devices_2x1"]
        else "CPU cores"
        if "core" in values["devices_2x1"]
        else "physical"
    )
    ceilings = pd.to_numeric(ok.get("ceiling", pd.Series(dtype=float)), errors="coerce")
    values["ceiling"] = (
        float(ceilings[ceilings > 1].median()) if (ceilings > 1).any() else float("nan")
    )
    env = next(iter(timings.environment.dropna()), {}) if "environment" in timings else {}
    values["repeats"] = (
        int(timings.repeat.max()) if "repeat" in timings and timings.repeat.notna().any() else 0
    )
    values["hardware"] = (
        f"{hardware(env)}; Keras {env.get('versions', {}).get('keras', '?')} on "
        f"{env.get('keras_backend', '?')}"
    )
    return values


def evaluation_values(comparison: Comparison) -> dict:
    """The evaluation chapter's numbers and verdicts (:func:`study.comparison.comparison_values`)."""
    return comparison_values(comparison)


def decided_by(stages: pd.Series) -> str:
    """Which measure of the selection rule decided the recipe search: the last step that still had ties (the
    stage names of :data:`study.recipes.STAGES`)."""
    if (stages == "tied on every measure, larger ΔCF").any():
        return "ΔCF"
    if (stages == "tied on rebalanced AuC, lower semantic agreement").any():
        return "semantic agreement"
    return "rebalanced AuC"


def read_recipe_search(folder=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The recorded recipe search (:mod:`study.recipes`): its table, the baselines on the same
    validation photos (the baselines' and ceilings' means), and values for the prose: the machine and date it ran
    on, the chosen candidate and its measures (``search_chosen_<metric>``), and what fine-tuning the encoder added
    (``fine_tune_<what>``: its epochs, crops, learning rate, seconds, and the validation metrics before and
    after). A search recorded under an older rule, without the rule's columns, is an error that says to rerun."""
    import json
    from pathlib import Path

    folder = Path(folder) if folder else study_paths.RECIPE_SEARCH
    try:
        search = pd.read_csv(folder / "recipes.csv")
        baselines = pd.read_csv(folder / "baselines.csv", index_col=0)
        env = json.loads((folder / "environment.json").read_text())
    except OSError as exc:
        raise ConfigError(
            f"recipe_search={str(folder)!r}: no recorded recipe search there ({exc.strerror}: "
            f"{exc.filename}). Fix: run python -m study recipes --out {folder}."
        ) from None
    needed = {"method", "stage", "rebalanced_auc", "semantic", "delta_cf", "ciede2000_vs_grey"}
    if missing := sorted(needed - set(search.columns)):
        raise ConfigError(
            f"recipe_search={str(folder)!r}: {folder / 'recipes.csv'} lacks {', '.join(missing)}: it was "
            f"recorded under an older selection rule. Fix: run python -m study recipes --out {folder}."
        )
    date = (env.get("date") or "")[:10]
    chosen = search.iloc[0]
    values = {
        "search_machine": hardware(env) + (f", {date}" if date else ""),
        "search_chosen": chosen.recipe,
        "search_chosen_temperature": float(chosen.temperature),
        "search_candidates": int(search.recipe.nunique()),
        "search_rows": len(search),
        "search_val_photos": int(chosen.val_photos),
        "search_passed_gate": int((search.stage != "CIEDE2000 worse than grey").sum()),
        **{
            f"search_chosen_{m}": float(chosen[m])
            for m in ("rebalanced_auc", "semantic", "delta_cf", "ciede2000", "ciede2000_vs_grey")
        },
        "search_chosen_ciede2000_vs_grey_low": float(chosen.ciede2000_vs_grey_low),
        "search_chosen_ciede2000_vs_grey_high": float(chosen.ciede2000_vs_grey_high),
        "search_grey_rebalanced_auc": float(baselines.loc["grey", "rebalanced_auc"]),
        "search_decided_by": decided_by(search.stage),
        "search_best_ciede2000": float(
            search[search.stage != "CIEDE2000 worse than grey"].ciede2000.min()
        ),
    }
    if later := env.get("second_round"):  # recorded later, possibly elsewhere: say so
        values["search_machine"] += (
            f"; its second round on {hardware(later)}, "
            f"{(later.get('date') or '')[:10]}, commit {(later.get('git') or {}).get('commit', '?')[:7]}"
        )
    tuned = folder / "fine-tune.json"
    t = json.loads(tuned.read_text()) if tuned.is_file() else {}
    for key in (
        "epochs",
        "images",
        "learning_rate",
        "seconds",
        "ciede2000_before",
        "ciede2000_after",
        "auc_ab_before",
        "auc_ab_after",
        "rebalanced_auc_before",
        "rebalanced_auc_after",
        "semantic_before",
        "semantic_after",
    ):  # NaN where fine-tuning was not measured
        values[f"fine_tune_{key}"] = t.get(key, float("nan"))
    return search, baselines, values


def record_values(record: dict) -> dict:
    """The reproducibility appendix's numbers, from the study's record."""
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


#: The scale checks' variants (the names of ``VARIANTS`` in scripts/scale_checks.py, which writes the record) as
#: the prose's glue keys name them (``scale_<key>_...``).
SCALE_KEYS = {
    "half": "half",
    "quarter": "quarter",
    "6 epochs": "epochs",
    "learning rate 3e-4": "lr",
}


def read_scale_checks(folder=None) -> dict[str, Any]:
    """The recorded scale checks (scripts/scale_checks.py): the default trained on fewer photos, for more epochs
    and at a higher learning rate, 3 seeds each, against itself (:func:`study.recipes.seed_differences`,
    recomputed from every photo's scores), each variant's training photos (``photos``), and the values the prose
    cites, prefixed ``scale_``: the photo counts (``scale_photos_all`` ...), the seeds, what changed beyond the seed spread per variant
    (``scale_half_changes``: "no measure" or "CIEDE2000 worse (+0.702 [+0.001, +1.402])"), and the variants that
    improved any of the rule's measures without worsening another (``scale_gains``, "none" if none did)."""
    from pathlib import Path

    from study import recipes
    from study.config import load
    from study.report.tables import METRIC_COLUMNS, interval_text

    folder = Path(folder) if folder else study_paths.SCALE_CHECKS
    per_photo = pd.read_csv(folder / "per-photo.csv")
    summary = recipes.seed_differences(per_photo, "all")
    photos = per_photo.groupby("variant", sort=False).train_photos.first()
    values: dict[str, Any] = {
        f"scale_photos_{share}": int(photos[share]) for share in ("all", "half", "quarter")
    }
    values["scale_seeds"] = int(summary.seeds.min())
    scale = load().at_preset["quick"]  # what the default trains with: the variants' starting point
    values["scale_crops"], values["scale_epochs"] = scale["crops_per_photo"], scale["epochs"]
    gains = []
    for variant, key in SCALE_KEYS.items():
        rows = summary[summary.variant == variant]
        changed = [
            f"{METRIC_COLUMNS[r.measure][0].rstrip(' ↑↓')} {r.verdict} "
            f"({interval_text(r.difference, r.low, r.high, METRIC_COLUMNS[r.measure][1] + 1)})"
            for r in rows.itertuples()
            if r.verdict != "no difference"
        ]
        values[f"scale_{key}_changes"] = "; ".join(changed) if changed else "no measure"
        ruled = rows[rows.measure.isin([recipes.GATE[0], *(m for m, _ in recipes.RANKS)])]
        if (ruled.verdict == "better").any() and not (ruled.verdict == "worse").any():
            gains.append(variant)
    values["scale_gains"] = ", ".join(gains) if gains else "none"
    return {
        "summary": summary,
        "per_photo": per_photo,
        "photos": photos.to_dict(),
        "values": values,
    }


#: How the prose names the grid's factors (keys of the glued values, ``models_effect_<key>_<metric>``).
FACTOR_KEYS = {"encoder weights": "weights", "loss": "loss", "decoder": "decoder"}


def read_model_search(folder=None) -> dict[str, Any]:
    """The recorded models search (:data:`study.recipes.MODELS`): its table and baselines as
    :func:`read_recipe_search` reads them, every photo's scores, the VGG16 grid's factor effects
    (:func:`study.recipes.grid_effects`) and the values the prose cites, prefixed ``models_``: the
    search's (``models_chosen`` ...), each factor's effect as "+0.012 [+0.004, +0.020]" with its verdict
    (``models_effect_loss_rebalanced_auc`` and ``..._verdict``), which of the paper's choices hold its colours
    back (``models_holding_back``), and the paper's model with HED's weights against random ones and grey."""
    from pathlib import Path

    from colourlib import evaluate
    from study import recipes
    from study.report.tables import interval_text

    folder = Path(folder) if folder else study_paths.MODEL_SEARCH
    search, baselines, found = read_recipe_search(folder)
    per_image = pd.read_csv(folder / "recipes_per_image.csv")
    effects = recipes.grid_effects(per_image[per_image.recipe.notna()])
    values = {k.replace("search_", "models_", 1): v for k, v in found.items()}
    for r in effects.itertuples():
        key = f"models_effect_{FACTOR_KEYS[r.factor]}_{r.metric}"
        digits = 3 if r.metric in ("rebalanced_auc", "semantic") else 2
        values[key] = interval_text(r.difference, r.low, r.high, digits)
        values[f"{key}_verdict"] = r.verdict
    back = recipes.holding_back(effects)
    values["models_holding_back"] = (
        " and ".join(f"the {f}" for f in back) if back else "none of the three"
    )
    rows = recipes.grid_rows(per_image[per_image.recipe.notna()])
    both = pd.concat([rows, per_image[per_image.method.isin(["grey", "mean_ab"])]])
    random_corner = recipes.PAPER_CORNER.replace("HED", "random")
    for metric, higher in (("rebalanced_auc", True), ("semantic", True)):
        for other, name in ((random_corner, "random"), ("grey", "grey")):
            interval = evaluate.paired_difference(both, recipes.PAPER_CORNER, other, metric)
            key = f"models_paper_vs_{name}_{metric}"
            values[key] = interval_text(
                interval["difference"], interval["low"], interval["high"], 3
            )
            values[f"{key}_verdict"] = evaluate.verdict(interval, higher)
    chosen = search.iloc[0]
    values["models_chosen_seeds"] = int(chosen.get("seeds", 1))
    values["models_grid_seeds"] = int(search[search.recipe == recipes.PAPER_CORNER].seeds.max())
    return {
        "search": search,
        "baselines": baselines,
        "per_image": per_image,
        "effects": effects,
        "values": values,
    }
