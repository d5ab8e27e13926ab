"""Choosing the default colouring model on the validation photos only: two recorded searches under one rule.

Each candidate is trained (one seed, or the seeds :class:`Search` names for it) and scored on the *validation*
photos, whole, exactly as the test photos are scored later; the test photos are never looked at here. The study
then trains the chosen model with several seeds and scores it on the test photos once.

- ``recipes`` (:data:`RECIPES`): Lite0's loss, rebalancing, decoder and learning rate;
- ``models`` (:data:`MODELS`): the encoders (Lite0, Lite2, VGG16 with HED's weights or random ones) and the
  decoder that also reads the whole photo, with the recipe the first search chose; its VGG16 rows are the grid
  {random, hed} x {mse, classification} x {paper's decoder, skips} that says which of the paper's choices
  holds its colours back.

``python -m study recipes [--search models]`` reruns a search and writes ``recipes.csv``; the book shows
the recorded searches (``results/recipe-search/``, ``results/model-search/``, with the machine and commit each
ran on).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from colourlib import evaluate
from colourlib.colouriser import Colouriser
from colourlib.config import TrainConfig
from colourlib.data.photos import load_photo_set, read_rgb
from colourlib.provenance import environment_record
from colourlib.runs import RunFolder, best_epoch
from study import paths as study_paths
from study.config import load as load_study_config
from study.config import preset_config

#: What the default colouring model trains with at the quick preset, and its model's own values (study.yaml).
_AT_QUICK = load_study_config().at_preset["quick"]
_LITE0 = load_study_config().models["lite0"]

#: The candidates: the default colouring model's encoder and scale (study/study.yaml, their one home) with a
#: fixed starting recipe, Zhang et al.'s as published (313 classes, class rebalancing lambda 0.5, annealed mean
#: T 0.38, the decoder with skips) at the learning rate the search began with; each candidate varies one thing
#: from it, except the second round's, which vary the first round's winner. Each is the ``quick`` preset plus
#: these. The base names its recipe itself, so adopting a winner as the default does not move the search.
ENCODER_KEYS = ("encoder", "encoder_weights", "encoder_trainable", "cache_features")
BASE: dict[str, Any] = {
    **_AT_QUICK,
    **{k: v for k, v in _LITE0.items() if k in ENCODER_KEYS},
    "decoder": "skips",
    "loss": "classification",
    "rebalance_lambda": 0.5,
    "temperature": 0.38,
    "learning_rate": 1e-4,
}
RECIPE_CANDIDATES: dict[str, dict[str, Any]] = {
    "classification": {},
    "classification, no rebalancing": dict(rebalance_lambda=1.0),
    "classification, lambda 0.8": dict(rebalance_lambda=0.8),
    "mse": dict(loss="mse"),
    "mae": dict(loss="mae"),
    "classification, paper's decoder": dict(decoder="paper"),
    # A second round: the first search's winner (no rebalancing) still lowered its validation loss at its last
    # epoch, so it is also trained at higher learning rates.
    "classification, no rebalancing, learning rate 3e-4": dict(
        rebalance_lambda=1.0, learning_rate=3e-4
    ),
    "classification, no rebalancing, learning rate 1e-3": dict(
        rebalance_lambda=1.0, learning_rate=1e-3
    ),
}

#: The models search's base: the recipe the recipe search chose (classification, lambda 0.8, read back at
#: T 0.38, the skip decoder, learning rate 1e-4) on Lite0's ImageNet encoder, frozen. Named here, not taken from
#: the default, so adopting a winner does not move the search.
MODEL_BASE: dict[str, Any] = {
    **_AT_QUICK,
    "encoder": "efficientnet-lite0",
    "encoder_weights": "imagenet",
    "encoder_trainable": False,
    "cache_features": True,
    "decoder": "skips",
    "loss": "classification",
    "rebalance_lambda": 0.8,
    "temperature": 0.38,
    "learning_rate": 1e-4,
}
#: The paper's MSE recipe as the study trains it (its VGG16 model): the rows of the grid that use MSE.
PAPER_LOSS: dict[str, Any] = {
    "loss": "mse",
    "learning_rate": _AT_QUICK["learning_rate"],
}


def _vgg16_grid() -> dict[str, dict[str, Any]]:
    grid = {}
    for weights, weights_name in (("hed", "HED"), (None, "random")):
        for loss, loss_values in (("MSE", PAPER_LOSS), ("classification", {})):
            for decoder, decoder_name in (("paper", "paper's decoder"), ("skips", "skips")):
                grid[f"VGG16 {weights_name}, {loss}, {decoder_name}"] = {
                    "encoder": "vgg16",
                    "encoder_weights": weights,
                    "decoder": decoder,
                    **loss_values,
                }
    return grid


MODEL_CANDIDATES: dict[str, dict[str, Any]] = {
    "Lite0": {},
    "Lite0, global features": dict(decoder="global"),
    "Lite2": dict(encoder="efficientnet-lite2"),
    "Lite2, global features": dict(encoder="efficientnet-lite2", decoder="global"),
    **_vgg16_grid(),
}
#: The grid's corner that is the paper's model as the study trains it.
PAPER_CORNER = "VGG16 HED, MSE, paper's decoder"


@dataclass(frozen=True)
class Search:
    """One recorded search: its candidates (each its base plus a few values), where the book reads its record,
    and the candidates trained with more than one seed (their per-photo scores averaged over seeds)."""

    name: str
    base: dict[str, Any]
    candidates: dict[str, dict[str, Any]]
    recorded: Path
    seeds: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    #: Candidates read back at their own temperature only, not at every one of :data:`TEMPERATURES`.
    single_temperature: tuple[str, ...] = ()

    def temperatures(self, name: str) -> tuple[float | None, ...]:
        sweep = self.config(name).classes and name not in self.single_temperature
        return TEMPERATURES if sweep else (None,)

    def config(self, name: str, seed: int = 0) -> TrainConfig:
        values = {**self.base, **self.candidates[name], "seed": seed}
        return preset_config("quick", source=f"{self.name} candidate {name!r}", **values)

    def seeds_of(self, name: str) -> tuple[int, ...]:
        return self.seeds.get(name, (0,))

    def folder(self, out_dir: Path, name: str, seed: int = 0) -> Path:
        slug = name.replace(", ", "-").replace(" ", "-").replace("'", "")
        return Path(out_dir) / (slug if seed == 0 else f"{slug}-seed{seed}")


RECIPES = Search("recipes", BASE, RECIPE_CANDIDATES, study_paths.RECIPE_SEARCH)
MODELS = Search(
    "models",
    MODEL_BASE,
    MODEL_CANDIDATES,
    study_paths.MODEL_SEARCH,
    # The book's comparison of the paper's model with HED's weights against random ones rests on 3 seeds each;
    # every other candidate has one (the chosen one is then trained with the study's seeds and tested).
    seeds={name: (0, 1, 2) for name in (PAPER_CORNER, "VGG16 random, MSE, paper's decoder")},
    # the grid's colour-class rows are read back at the base T only: T is a read-out setting, not the paper's
    single_temperature=tuple(name for name in MODEL_CANDIDATES if name.startswith("VGG16")),
)
SEARCHES = {s.name: s for s in (RECIPES, MODELS)}
#: Kept for the recipe search's callers: its candidates.
CANDIDATES = RECIPE_CANDIDATES

#: Colour-class models are also read back at these annealed-mean temperatures (no retraining: T only decodes).
TEMPERATURES = (0.25, 0.3, 0.38, 0.5)
#: The selection rule, in the order it is applied (:func:`choose`): a candidate must not be worse than grey on
#: CIEDE2000 (paired interval); among those the highest rebalanced AuC wins; candidates whose paired interval
#: against the leader includes 0 are tied with it, and ties are broken by semantic agreement, then by ΔCF.
GATE = ("ciede2000", "grey")
RANKS = (("rebalanced_auc", True), ("semantic", True), ("delta_cf", False))
SELECTION_RULE = (
    "among the candidates whose validation CIEDE2000 is not worse than grey's (paired 95 % interval), the "
    "highest rebalanced AuC; candidates whose paired interval against the leader includes 0 are tied, and "
    "ties are broken by semantic agreement, then by the smaller ΔCF"
)
#: What each outcome of :func:`choose` is called in the table (``stage``), best first.
STAGES = (
    "chosen",
    "tied on every measure, larger ΔCF",
    "tied on rebalanced AuC, lower semantic agreement",
    "lower rebalanced AuC",
    "CIEDE2000 worse than grey",
)
#: The references scored on the validation photos beside the candidates: the two baselines and the ceilings.
REFERENCES = ("grey", "mean_ab", "ceiling: input size") + tuple(
    f"ceiling: bins at T {t:g}" for t in TEMPERATURES
)


def candidate_config(
    name: str, seed: int = 0, temperature: float | None = None, search: Search = RECIPES
) -> TrainConfig:
    config = search.config(name, seed)
    return config if temperature is None else dataclasses.replace(config, temperature=temperature)


def candidate_name(recipe: str, temperature: float | None) -> str:
    """How a (recipe, temperature) pair is named in the per-photo table."""
    return recipe if temperature is None else f"{recipe} @ T {temperature:g}"


@dataclass
class ValidationSet:
    """The validation photos of the search's data, with their truth computed once for every candidate."""

    names: list[str]
    images: list[np.ndarray]
    truth: evaluate.Truth
    train_files: list[Path]

    @classmethod
    def of(cls, config: TrainConfig) -> ValidationSet:
        photos = load_photo_set(
            config.data_dir, config.image_size, config.val_fraction, config.max_photos
        )
        images = [read_rgb(p) for p in photos.val]
        return cls([p.name for p in photos.val], images, evaluate.truth_of(images), photos.train)

    def score(self, predictions: dict[str, list[np.ndarray]]) -> pd.DataFrame:
        return evaluate.evaluate_photos(self.names, self.images, predictions, truth=self.truth)


def validation_scores(
    run_dir: Path,
    temperatures: tuple[float | None, ...] = (None,),
    val: ValidationSet | None = None,
) -> pd.DataFrame:
    """Per-photo metrics of a finished run's model on its own validation photos, whole (as the test photos are
    scored), read back at each of ``temperatures`` (a colour-class model; None: its run's T)."""
    colouriser = Colouriser.from_run(run_dir)
    val = val or ValidationSet.of(colouriser.config)
    trained = colouriser.config
    predictions = {}
    for temperature in temperatures:
        if temperature is not None:
            colouriser.config = dataclasses.replace(trained, temperature=temperature)
        predictions[temperature] = colouriser.predict_ab(val.images)
    colouriser.config = trained
    tables = [
        val.score({"model": planes}).assign(temperature=t) for t, planes in predictions.items()
    ]
    return pd.concat(tables, ignore_index=True)


def reference_scores(config: TrainConfig, val: ValidationSet) -> pd.DataFrame:
    """The grey and mean-ab baselines and the ceilings (:data:`REFERENCES`) on the validation photos."""
    predictions = evaluate.baseline_ab(val.images, evaluate.mean_ab(val.train_files))
    ceilings = {"ceiling: input size": evaluate.ceiling_ab(val.images, config.image_size, None)}
    for t in TEMPERATURES:
        ceilings[f"ceiling: bins at T {t:g}"] = evaluate.ceiling_ab(
            val.images, config.image_size, t
        )
    predictions |= {
        name: c["bins" if "bins" in name else "input_size"] for name, c in ceilings.items()
    }
    return val.score(predictions)


def choose(per_image: pd.DataFrame, references: pd.DataFrame) -> pd.DataFrame:
    """Apply the selection rule (:data:`SELECTION_RULE`) to the candidates' per-photo validation scores
    (``method`` names each candidate; ``recipe`` and ``temperature`` columns describe it) against the grey
    baseline's (in ``references``). Returns one row per candidate, the chosen one first: its mean metrics, its
    paired CIEDE2000 difference to grey with the interval, and ``stage``, how far it got in the rule."""
    both = pd.concat([per_image, references], ignore_index=True)
    metrics = [
        c for c in per_image.columns if c not in ("photo", "method", "recipe", "temperature")
    ]
    table = per_image.groupby("method", sort=False)[metrics].mean()
    described = per_image.drop_duplicates("method").set_index("method")[["recipe", "temperature"]]
    table = described.join(table)
    gate_metric, gate_baseline = GATE
    stage = {}
    for method in table.index:
        interval = evaluate.paired_difference(both, method, gate_baseline, gate_metric)
        table.loc[method, f"{gate_metric}_vs_grey"] = interval["difference"]
        table.loc[method, f"{gate_metric}_vs_grey_low"] = interval["low"]
        table.loc[method, f"{gate_metric}_vs_grey_high"] = interval["high"]
        if evaluate.verdict(interval, higher_is_better=False) == "worse":
            stage[method] = STAGES[4]
    remaining = [m for m in table.index if m not in stage]
    if not remaining:  # nothing passes the gate: rank everything, and say so
        remaining = list(table.index)
        stage = {}
    losing_stage = {0: STAGES[3], 1: STAGES[2], 2: STAGES[1]}
    for level, (metric, higher) in enumerate(RANKS):
        means = table.loc[remaining, metric]
        leader = means.idxmax() if higher else means.idxmin()
        tied = [leader]
        for method in remaining:
            if method == leader:
                continue
            interval = evaluate.paired_difference(both, method, leader, metric)
            if evaluate.verdict(interval, higher) == "no difference" and level < len(RANKS) - 1:
                tied.append(method)
            else:
                stage[method] = losing_stage[level]
        remaining = tied
        if len(remaining) == 1:
            break
    stage[remaining[0]] = STAGES[0]
    table["stage"] = pd.Series(stage)
    table["rank"] = table["stage"].map({s: i for i, s in enumerate(STAGES)})
    order = table.sort_values(["rank", "rebalanced_auc"], ascending=[True, False])
    return order.drop(columns="rank").reset_index()


def search(
    out_dir: Path,
    names: list[str] | None = None,
    progress: Callable[[str], None] = print,
    which: Search = RECIPES,
) -> pd.DataFrame:
    """Train and score every candidate of ``which`` (or ``names``) into ``out_dir/<name>`` (``-seed<k>`` for its
    later seeds); returns one row per (candidate, temperature), the chosen one first (:func:`choose`), and writes
    ``out_dir/recipes.csv``, every photo's scores in ``recipes_per_image.csv``, the baselines' and ceilings'
    means in ``baselines.csv`` and the machine and commit in ``environment.json``. Finished runs are reused, so
    a stopped search resumes where it stopped."""
    import gc

    import keras

    from colourlib import atomic
    from colourlib.train import train

    out_dir = Path(out_dir)
    first = which.config(next(iter(which.candidates)))
    val = ValidationSet.of(first)
    progress(f"{which.name} search: {len(val.names)} validation photos; scoring the references")
    references = reference_scores(first, val)
    tables, timings = [], {}
    todo = names or list(which.candidates)
    # every candidate's first seed before any candidate's later ones: a stopped search has scored them all once
    runs = sorted(
        ((name, seed) for name in todo for seed in which.seeds_of(name)),
        key=lambda run: run[1] != which.seeds_of(run[0])[0],
    )
    so_far = out_dir / "recipes-so-far.csv"
    scored_before = pd.read_csv(so_far) if so_far.is_file() else None
    for number, (name, seed) in enumerate(runs, 1):
        config = which.config(name, seed)
        folder = which.folder(out_dir, name, seed)
        progress(f"[{number}/{len(runs)}] {name}, seed {seed}: training into {folder}")
        started = time.perf_counter()
        finished_before = RunFolder(folder).weights_file.is_file()
        train(config, folder, print_progress=True)  # a finished run of this candidate is reused
        keras.backend.clear_session()  # one process trains every candidate: free each one's graphs
        gc.collect()
        history = RunFolder(folder).history()
        if seed == which.seeds_of(name)[0]:
            timings[name] = {
                "best_epoch": best_epoch(history),
                "epochs": len(history),
                "epoch_seconds": round(sum(float(h["epoch_seconds"]) for h in history), 1),
                "seconds_this_call": round(time.perf_counter() - started, 1),
            }
        earlier = (
            scored_before[(scored_before.recipe == name) & (scored_before.seed == seed)]
            if scored_before is not None and finished_before and "seed" in scored_before
            else None
        )
        if earlier is not None and len(earlier) == len(val.names) * len(which.temperatures(name)):
            scores = earlier.copy()  # the same finished run, scored before the search was stopped
        else:
            scores = validation_scores(folder, which.temperatures(name), val)
        scores["recipe"] = name
        scores["seed"] = seed
        scores["method"] = [candidate_name(name, t) for t in scores.temperature]
        tables.append(scores)
        pd.concat(tables).to_csv(
            out_dir / "recipes-so-far.csv", index=False
        )  # nothing lost if stopped
    per_image = pd.concat(tables, ignore_index=True)
    table = choose(per_image.drop(columns="seed"), references)
    table = table.join(pd.DataFrame.from_dict(timings, orient="index"), on="recipe")
    table = table.join(seed_spread(per_image), on="method")
    table["val_photos"] = len(val.names)
    table.to_csv(out_dir / "recipes.csv", index=False)
    pd.concat([per_image, references], ignore_index=True).to_csv(
        out_dir / "recipes_per_image.csv", index=False
    )
    references.drop(columns="photo").groupby("method", sort=False).mean().to_csv(
        out_dir / "baselines.csv"
    )
    atomic.write_json(
        out_dir / "environment.json",
        {
            **environment_record(),
            "search": which.name,
            "base": which.base,
            "candidates": which.candidates,
            "seeds": {name: list(which.seeds_of(name)) for name in todo},
            "selection_rule": SELECTION_RULE,
            "judge": f"EfficientNet-{evaluate.JUDGE}, {evaluate.JUDGE_VIEWS} view(s) per photo",
        },
        kind="environment",
    )
    return table


def seed_spread(per_image: pd.DataFrame) -> pd.DataFrame:
    """Per candidate (``method``): how many seeds were trained and the standard deviation over seeds of the
    seeds' mean rebalanced AuC, semantic agreement and CIEDE2000 (NaN for one seed)."""
    by_seed = per_image.groupby(["method", "seed"])[
        ["rebalanced_auc", "semantic", "ciede2000"]
    ].mean()
    spread = by_seed.groupby("method").std().add_suffix("_seed_sd")
    spread["seeds"] = by_seed.groupby("method").size()
    return spread


#: The measures a seed-level comparison reports, each with whether higher is better (None: neither, as for
#: colourfulness, where the photos' own is the target).
SEED_MEASURES: dict[str, bool | None] = {
    "rebalanced_auc": True,
    "semantic": True,
    "delta_cf": False,
    "ciede2000": False,
    "colourfulness": None,
}


def seed_differences(
    per_photo: pd.DataFrame, baseline: str, group: str = "variant"
) -> pd.DataFrame:
    """Each ``group`` against ``baseline`` on :data:`SEED_MEASURES`, told from the seed spread: per group and
    measure, the mean over seeds of the seeds' photo means, its seed standard deviation and, for the other groups,
    the difference from the baseline with a 95 % Welch interval over the seed means and its verdict ("better",
    "worse" or "no difference"; "more" or "less" for a measure with no better side). Unlike a photo-paired
    interval this counts the run-to-run spread, which is what a change of training must beat."""
    from scipy import stats

    per_seed = per_photo.groupby([group, "seed"])[list(SEED_MEASURES)].mean()
    names = list(dict.fromkeys(per_photo[group]))
    rows = []
    for measure, higher in SEED_MEASURES.items():
        base = per_seed.loc[baseline, measure].to_numpy()
        for name in names:
            values = per_seed.loc[name, measure].to_numpy()
            row = {
                group: name,
                "measure": measure,
                "seeds": len(values),
                "mean": values.mean(),
                "seed_sd": values.std(ddof=1) if len(values) > 1 else np.nan,
            }
            if name != baseline:
                low, high = stats.ttest_ind(values, base, equal_var=False).confidence_interval(0.95)
                interval = {"difference": values.mean() - base.mean(), "low": low, "high": high}
                word = evaluate.verdict(interval, bool(higher))
                if higher is None and word != "no difference":
                    word = "more" if interval["low"] > 0 else "less"
                row |= interval | {"verdict": word}
            rows.append(row)
    return pd.DataFrame(rows)


def fine_tune(
    run_dir: Path,
    out_dir: Path,
    epochs: int = 1,
    learning_rate: float = 1e-5,
    crops_per_photo: int = 2,
    temperature: float | None = None,
) -> dict[str, float]:
    """What fine-tuning adds after the frozen-encoder training: the run's network with its encoder unfrozen
    (batch-norm statistics kept as trained on ImageNet) trained ``epochs`` more on fresh augmented crops at
    ``learning_rate``, scored on the validation photos before and after. Saves the tuned weights in
    ``out_dir``; returns the validation CIEDE2000, AuC, colourfulness, rebalanced AuC and semantic agreement
    before and after, and the seconds it took (colour-class models read
    back at ``temperature``, None: the run's)."""
    import json

    import keras

    from colourlib.colour import classes
    from colourlib.data.dataset import ColourBatches, PhotoCrops
    from colourlib.encoders import encoder_spec

    run = RunFolder(run_dir)
    model, config = run.load_model()
    val = ValidationSet.of(
        config
    )  # the run's photos: its validation set scored, its training photos cropped

    def scores(folder: Path) -> pd.Series:
        table = validation_scores(folder, (temperature,), val)
        return table.drop(columns=["photo", "method"]).mean(numeric_only=True)

    before = scores(run_dir)
    encoder = model.get_layer("encoder")
    encoder.trainable = True
    for layer in encoder.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # inference mode: a few hundred photos cannot re-estimate ImageNet's statistics
    if config.classes:
        loss = classes.ClassificationLoss(
            json.loads(run.file(run.CLASS_WEIGHTS).read_text())["weights"]
        )
    else:
        loss = config.loss
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    crops = PhotoCrops(
        val.train_files, config.image_size, crops_per_photo, config.seed + 7, augment=True
    )
    batches = ColourBatches(
        crops, config.batch_size, encoder_spec(config.encoder).preprocess, config.seed + 7
    )
    started = time.perf_counter()
    model.fit(
        batches, epochs=epochs, steps_per_epoch=batches.steps_per_epoch, verbose=0, shuffle=False
    )
    seconds = time.perf_counter() - started
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (run.CONFIG, run.HISTORY, run.TIMING):  # a run folder Colouriser.from_run can read
        (out_dir / name).write_bytes(run.file(name).read_bytes())
    model.save_weights(out_dir / run.WEIGHTS)
    after = scores(out_dir)
    return {
        "ciede2000_before": before["ciede2000"],
        "ciede2000_after": after["ciede2000"],
        "auc_ab_before": before["auc_ab"],
        "auc_ab_after": after["auc_ab"],
        "colourfulness_before": before["colourfulness"],
        "colourfulness_after": after["colourfulness"],
        "rebalanced_auc_before": before["rebalanced_auc"],
        "rebalanced_auc_after": after["rebalanced_auc"],
        "semantic_before": before["semantic"],
        "semantic_after": after["semantic"],
        "epochs": epochs,
        "learning_rate": learning_rate,
        "images": len(crops),
        "seconds": round(seconds, 1),
        "temperature": temperature,
    }


#: The paper's three choices the VGG16 grid varies: (name, the config key, the paper's value, the alternative,
#: how the table names each). Each factor's effect is the alternative minus the paper's choice, averaged over
#: the grid's four combinations of the other two.
GRID_FACTORS = (
    ("encoder weights", "encoder_weights", None, "hed", ("random", "HED (ImageNet, then edges)")),
    ("loss", "loss", "mse", "classification", ("MSE", "313 colour classes")),
    ("decoder", "decoder", "paper", "skips", ("Figure 4 on the 5x5 bottleneck", "skips")),
)
#: The measures a factor's effect is reported on, and whether higher is better.
GRID_METRICS = (
    ("rebalanced_auc", True),
    ("semantic", True),
    ("delta_cf", False),
    ("ciede2000", False),
)


def grid_rows(per_image: pd.DataFrame, search: Search = MODELS) -> pd.DataFrame:
    """The VGG16 grid's per-photo scores (every seed), one reading per candidate: the base temperature for a
    colour-class candidate (T is a read-out setting, not one of the paper's choices), its only one for MSE."""
    grid = [name for name in search.candidates if name.startswith("VGG16")]
    rows = per_image[per_image.recipe.isin(grid)]
    at_base = rows.temperature.isna() | (rows.temperature == search.base["temperature"])
    return rows[at_base]


def grid_effects(per_image: pd.DataFrame, search: Search = MODELS) -> pd.DataFrame:
    """Which of the paper's choices holds its colours back: for each of :data:`GRID_FACTORS`, per photo, the
    alternative's score minus the paper's choice's, averaged over the four combinations of the other two
    factors (each candidate's seeds averaged first), with the bootstrap 95 % interval over photos and the
    verdict for the alternative ("better": the paper's choice holds the colours back on that measure)."""
    rows = grid_rows(per_image, search)
    per_photo = rows.groupby(["recipe", "photo"])[[m for m, _ in GRID_METRICS]].mean()
    out = []
    for factor, key, paper_value, alternative, (paper_name, alternative_name) in GRID_FACTORS:
        sides = {"paper": [], "alternative": []}
        for name in dict.fromkeys(rows.recipe):
            value = {**search.base, **search.candidates[name]}[key]
            if value in (paper_value, alternative):
                sides["paper" if value == paper_value else "alternative"].append(name)
        if len(sides["paper"]) != len(sides["alternative"]) or not sides["paper"]:
            raise ValueError(
                f"grid_effects: the grid's {factor} is unbalanced ({sides}); rerun the whole models search"
            )
        both = pd.concat(
            {
                side: per_photo.loc[names].groupby(level="photo").mean()
                for side, names in sides.items()
            },
            names=["method", "photo"],
        ).reset_index()
        for metric, higher in GRID_METRICS:
            interval = evaluate.paired_difference(both, "alternative", "paper", metric)
            out.append(
                {
                    "factor": factor,
                    "paper_choice": paper_name,
                    "alternative": alternative_name,
                    "metric": metric,
                    **interval,
                    "verdict": evaluate.verdict(interval, higher),
                }
            )
    return pd.DataFrame(out)


def holding_back(effects: pd.DataFrame, metric: str = "rebalanced_auc") -> list[str]:
    """The paper's choices whose alternative is better on ``metric`` (its interval clear of 0)."""
    part = effects[(effects.metric == metric) & (effects.verdict == "better")]
    return list(part.factor)


def grid_against(
    per_image: pd.DataFrame,
    baseline: str = "grey",
    metrics: tuple[str, ...] = ("rebalanced_auc", "semantic"),
    search: Search = MODELS,
) -> pd.DataFrame:
    """Each VGG16 grid candidate (:func:`grid_rows`) minus ``baseline`` on the validation photos, per metric: the
    paired difference (seeds averaged per photo), its bootstrap 95 % interval and the verdict, in the columns
    :func:`study.report.figures.paired_intervals` draws (``model``, ``baseline``, ``metric`` ...)."""
    rows = grid_rows(per_image, search)
    both = pd.concat([rows.assign(method=rows.recipe), per_image[per_image.method == baseline]])
    higher = dict(GRID_METRICS)
    out = []
    for metric in metrics:
        for name in dict.fromkeys(rows.recipe):
            interval = evaluate.paired_difference(both, name, baseline, metric)
            verdict = evaluate.verdict(interval, higher[metric])
            out.append(
                {
                    "model": name,
                    "baseline": baseline,
                    "metric": metric,
                    **interval,
                    "verdict": verdict,
                }
            )
    return pd.DataFrame(out)
