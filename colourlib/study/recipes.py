"""Choosing the default colouring model's recipe on the validation photos only.

Each candidate recipe is trained (one seed) and scored on the *validation* photos, whole, exactly as the test
photos are scored later; the test photos are never looked at here. The study then trains the chosen recipe
with several seeds and scores it on the test photos once. ``python -m colourlib recipes`` reruns the search
and writes ``recipes.csv``; the book shows the recorded search (``results/recipe-search/``, with the machine
and commit it ran on).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import evaluate
from ..colouriser import Colouriser
from ..config import COLOURING_MODELS, COLOURING_SCALE, TrainConfig
from ..data.photos import load_photo_set, read_rgb
from ..provenance import environment_record
from ..runs import RunFolder, best_epoch

#: The candidates: the default colouring model's encoder, decoder and scale (colourlib/config.py, its one home),
#: each varied in one thing from the first, which is Zhang et al.'s recipe as published (class rebalancing lambda
#: 0.5, annealed mean T 0.38) at the learning rate the search began with, except the second round's, which vary
#: the first round's winner. Each is the ``quick`` preset plus these.
BASE: dict[str, Any] = {
    **COLOURING_SCALE["quick"],
    **COLOURING_MODELS["lite0"],
    "rebalance_lambda": 0.5,
    "temperature": 0.38,
    "learning_rate": 1e-4,
}
CANDIDATES: dict[str, dict[str, Any]] = {
    "classification": {},
    "classification, no rebalancing": dict(rebalance_lambda=1.0),
    "classification, lambda 0.8": dict(rebalance_lambda=0.8),
    "mse": dict(loss="mse"),
    "mae": dict(loss="mae"),
    "classification, paper's decoder": dict(decoder="paper"),
    # A second round: the first round's winner still lowered its validation loss at its last epoch, so it is
    # retrained at higher learning rates (its validation loss then bottoms out within the 3 epochs).
    "classification, no rebalancing, learning rate 3e-4": dict(
        rebalance_lambda=1.0, learning_rate=3e-4
    ),
    "classification, no rebalancing, learning rate 1e-3": dict(
        rebalance_lambda=1.0, learning_rate=1e-3
    ),
}
#: Colour-class models are also read back at these annealed-mean temperatures (no retraining: T only decodes).
TEMPERATURES = (0.25, 0.3, 0.38, 0.5)
#: What the search ranks by: the mean CIEDE2000 on the validation photos (lower is better); a candidate must
#: also keep half of the validation photos' own colourfulness (grey would otherwise win).
RANK_BY = "ciede2000"
MIN_COLOURFULNESS_SHARE = 0.5


def candidate_config(name: str, seed: int = 0, temperature: float | None = None) -> TrainConfig:
    values = {**BASE, **CANDIDATES[name], "seed": seed}
    if temperature is not None:
        values["temperature"] = temperature
    return TrainConfig.preset_config("quick", source=f"recipe {name!r}", **values)


def validation_scores(run_dir: Path, temperature: float | None = None) -> dict[str, float]:
    """Mean metrics of a finished run's model on its own validation photos, whole (as the test photos are
    scored); ``temperature`` reads a colour-class model back at another T than its run's."""
    colouriser = Colouriser.from_run(run_dir)
    if temperature is not None:
        colouriser.config = dataclasses.replace(colouriser.config, temperature=temperature)
    config = colouriser.config
    photos = load_photo_set(
        config.data_dir, config.image_size, config.val_fraction, config.max_photos
    )
    originals = [read_rgb(p) for p in photos.val]
    names = [p.name for p in photos.val]
    per_image = evaluate.evaluate_photos(
        names, originals, {"model": colouriser.predict_ab(originals)}
    )
    return per_image.drop(columns=["photo", "method"]).mean().to_dict() | {"val_photos": len(names)}


def baseline_scores(config: TrainConfig) -> pd.DataFrame:
    """The grey and mean-ab baselines on the validation photos."""
    photos = load_photo_set(
        config.data_dir, config.image_size, config.val_fraction, config.max_photos
    )
    originals = [read_rgb(p) for p in photos.val]
    predictions = evaluate.baseline_ab(originals, evaluate.mean_ab(photos.train))
    per_image = evaluate.evaluate_photos([p.name for p in photos.val], originals, predictions)
    return per_image.drop(columns="photo").groupby("method").mean()


def search(
    out_dir: Path, names: list[str] | None = None, progress: Callable[[str], None] = print
) -> pd.DataFrame:
    """Train and score every candidate (or ``names``) into ``out_dir/<name>``; returns one row per (candidate,
    temperature), the chosen one first, and writes ``out_dir/recipes.csv`` (with ``baselines.csv`` and the
    machine and commit in ``environment.json``)."""
    from .. import atomic
    from ..train import train

    out_dir = Path(out_dir)
    rows = []
    for name in names or list(CANDIDATES):
        config = candidate_config(name)
        folder = out_dir / name.replace(", ", "-").replace(" ", "-").replace("'", "")
        progress(f"recipe {name}: training into {folder}")
        train(config, folder, print_progress=True)  # a finished run of this recipe is reused
        history = RunFolder(folder).history()
        seconds = sum(
            float(h["epoch_seconds"]) for h in history
        )  # the epochs' own time, reused or not
        for temperature in TEMPERATURES if config.classes else (None,):
            rows.append(
                {
                    "recipe": name,
                    "temperature": temperature,
                    **validation_scores(folder, temperature),
                    "best_epoch": best_epoch(history),
                    "epochs": len(history),
                    "epoch_seconds": round(seconds, 1),
                }
            )
        pd.DataFrame(rows).to_csv(
            out_dir / "recipes-so-far.csv", index=False
        )  # nothing lost if stopped
    table = pd.DataFrame(rows)
    baselines = baseline_scores(candidate_config(next(iter(CANDIDATES))))
    table["eligible"] = table.colourfulness >= MIN_COLOURFULNESS_SHARE * table.colourfulness_true
    table = table.sort_values(["eligible", RANK_BY], ascending=[False, True]).reset_index(drop=True)
    table.to_csv(out_dir / "recipes.csv", index=False)
    baselines.to_csv(out_dir / "baselines.csv")
    atomic.write_json(
        out_dir / "environment.json",
        {**environment_record(), "base": BASE, "candidates": CANDIDATES},
        kind="environment",
    )
    return table


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
    ``out_dir``; returns the two CIEDE2000 and AuC values and the seconds it took (colour-class models read
    back at ``temperature``, None: the run's)."""
    import json

    import keras

    from ..colour import classes
    from ..data.dataset import ColourBatches, PhotoCrops
    from ..encoders import encoder_spec

    run = RunFolder(run_dir)
    model, config = run.load_model()
    photos = load_photo_set(
        config.data_dir, config.image_size, config.val_fraction, config.max_photos
    )
    before = validation_scores(run_dir, temperature)
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
        photos.train, config.image_size, crops_per_photo, config.seed + 7, augment=True
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
    after = validation_scores(out_dir, temperature)
    return {
        "ciede2000_before": before["ciede2000"],
        "ciede2000_after": after["ciede2000"],
        "auc_ab_before": before["auc_ab"],
        "auc_ab_after": after["auc_ab"],
        "colourfulness_before": before["colourfulness"],
        "colourfulness_after": after["colourfulness"],
        "epochs": epochs,
        "learning_rate": learning_rate,
        "images": len(crops),
        "seconds": round(seconds, 1),
        "temperature": temperature,
    }
