"""Benchmark: where training time goes, per parallel configuration and precision.

``colourlib bench training`` prints images/s of (1) the loader alone per workers setting (threads and
processes), (2) the training step alone on batches already in memory, (3) both together, for each ``--gpus``
value (each in a fresh process: devices are laid out once per process) and precision; the input-wait share
that follows from (2) and (3); and the encoder's achieved GFLOP/s against the machine's matrix-multiply peak
measured in the same run. Results are printed and written, with provenance, to ``runs/bench/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .. import paths
from ..config import PRECISIONS


def _config(args, **extra):
    from ..config import TrainConfig

    return TrainConfig.preset_config(
        "quick",
        image_size=args.image_size,
        batch_size=args.batch_size,
        in_memory=not args.from_disk,
        **extra,
    )


def _crops(config):
    """Augmented crops of the embedded training photos, as the quick preset trains on."""
    from ..data.dataset import PhotoCrops
    from ..data.photos import load_photo_set

    photos = load_photo_set(None, config.image_size, config.val_fraction, config.max_photos)
    return PhotoCrops(
        photos.train,
        config.image_size,
        config.crops_per_photo,
        config.seed,
        augment=True,
        in_memory=config.in_memory,
    )


def loader_images_per_s(args, workers: int, processes: bool) -> float:
    """Images/s the PyDataset delivers through Keras's own worker pool, with no model attached."""
    from ..backend.keras_internals import py_dataset_batches
    from ..data.dataset import ColourBatches
    from ..encoders import vgg16

    config = _config(args)
    crops = _crops(config)
    batches = ColourBatches(
        crops,
        config.batch_size,
        vgg16.preprocess,
        config.seed,
        workers=workers,
        use_multiprocessing=processes,
    )
    iterator, stop = py_dataset_batches(batches)
    next(iterator)  # start the pool
    start = time.perf_counter()
    for _ in range(args.loader_batches):
        next(iterator)
    seconds = time.perf_counter() - start
    stop()
    return args.loader_batches * config.batch_size / seconds


def encoder_gflops(args, precision: str) -> float:
    """Achieved GFLOP/s of the VGG16 encoder's forward pass on one batch (compiled predict, after warm-up)."""
    import keras
    import numpy as np

    keras.config.set_dtype_policy(precision)
    try:
        from ..encoders import vgg16

        encoder = vgg16.build(args.image_size, None)
        x = np.random.default_rng(0).standard_normal(
            (args.batch_size, args.image_size, args.image_size, 3)
        )
        x = x.astype("float32")
        encoder.predict_on_batch(x)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(encoder.predict_on_batch(x))
            times.append(time.perf_counter() - start)
    finally:
        keras.config.set_dtype_policy("float32")
    from ..speed import forward_flops

    return forward_flops(encoder) * args.batch_size / 1e9 / statistics.median(times)


def train_rows(args) -> list[dict]:
    """Train-step-alone and train-with-loader images/s for this process's ``--gpus``, each precision."""
    import keras

    from ..backend import replicas
    from ..data.dataset import ColourBatches
    from ..encoders.vgg16 import preprocess as vgg16_preprocess
    from ..model import build_network
    from ..train import compute_only_step_seconds, seconds_per_step

    gpus = args.gpus[0]  # a child process measures one replica count
    plan = replicas.provide(gpus)
    rows = []
    for precision in args.precisions:
        keras.config.set_dtype_policy(precision)
        config = _config(args, gpus=gpus, precision=precision)
        crops = _crops(config)
        with replicas.replica_scope(plan) as strategy:
            model = build_network(config.image_size, "vgg16", None)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
            probe = ColourBatches(crops, config.batch_size, vgg16_preprocess, config.seed)
            replicas.build_before_fit(model, strategy, probe[0])
            compute = compute_only_step_seconds(model, probe, config.batch_size)
            base = dict(gpus=gpus, devices=plan.label, precision=precision)
            rows.append(
                {
                    **base,
                    "part": "train step alone (in memory)",
                    "workers": None,
                    "images_per_s": config.batch_size / compute,
                }
            )
            for workers, processes in args.loaders:
                batches = ColourBatches(
                    crops,
                    config.batch_size,
                    vgg16_preprocess,
                    config.seed,
                    workers=workers,
                    use_multiprocessing=processes,
                )
                step = seconds_per_step(model, batches, args.steps)
                rows.append(
                    {
                        **base,
                        "part": "train with loader",
                        "workers": workers,
                        "loaders": ("processes" if processes else "threads"),
                        "images_per_s": config.batch_size / step,
                        "input_wait_share": max(0.0, 1 - compute / step),
                    }
                )
        keras.config.set_dtype_policy("float32")
    return rows


def _parse_loaders(text: str) -> list[tuple[int, bool]]:
    out = []
    for item in text.split(","):
        workers, _, kind = item.strip().partition(":")
        out.append((int(workers), kind == "processes"))
    return out


def save_record(name: str, record: dict) -> Path:
    """Write a benchmark's record (numbers and provenance) to ``runs/bench/<name>-<date-time>.json``."""
    out = paths.runs_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="colourlib bench training", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--gpus", type=int, nargs="+", default=[1, 2], help="replica counts to measure"
    )
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--steps", type=int, default=10, help="timed training steps per measurement"
    )
    parser.add_argument("--loader-batches", type=int, default=40)
    parser.add_argument(
        "--loaders",
        type=_parse_loaders,
        default=_parse_loaders("1,2,4,2:processes,4:processes"),
        help="workers settings, e.g. 1,2,4,2:processes",
    )
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument(
        "--from-disk", action="store_true", help="decode each photo from disk for every crop"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one --gpus value, in a fresh process; rows as JSON on the last line
        print(json.dumps(train_rows(args)))
        return 0

    import pandas as pd

    from ..provenance import environment_record

    started = time.perf_counter()
    rows = []
    for workers, processes in args.loaders:
        ips = loader_images_per_s(args, workers, processes)
        loaders = "processes" if processes else "threads"
        rows.append(dict(part="loader alone", workers=workers, loaders=loaders, images_per_s=ips))
        print(f"loader alone, {workers} {loaders}: {ips:.0f} images/s", flush=True)
    from ..speed import matmul_gflops

    peaks = {
        p: matmul_gflops("bfloat16" if p == "mixed_bfloat16" else "float32")
        for p in args.precisions
    }
    encoder = {p: encoder_gflops(args, p) for p in args.precisions}
    for p in args.precisions:
        print(
            f"{p}: matmul peak {peaks[p]:.0f} GFLOP/s; VGG16 encoder forward {encoder[p]:.0f} GFLOP/s "
            f"({encoder[p] / peaks[p]:.0%} of peak)",
            flush=True,
        )
    loaders = ",".join(f"{w}{':processes' if p else ''}" for w, p in args.loaders)
    for gpus in args.gpus:
        command = [
            sys.executable,
            "-m",
            "colourlib",
            "bench",
            "training",
            "--child",
            "--gpus",
            str(gpus),
            "--image-size",
            str(args.image_size),
            "--batch-size",
            str(args.batch_size),
            "--steps",
            str(args.steps),
            "--loaders",
            loaders,
            "--precisions",
            *args.precisions,
        ] + (["--from-disk"] if args.from_disk else [])
        print(f"training with gpus={gpus} ...", flush=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-3000:])
            print(f"gpus={gpus} failed (exit {done.returncode})")
            return 1
        rows += json.loads(done.stdout.strip().splitlines()[-1])
    columns = [
        "part",
        "gpus",
        "devices",
        "precision",
        "workers",
        "loaders",
        "images_per_s",
        "input_wait_share",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    print(
        f"\n{args.image_size} px, batch {args.batch_size}, photos {'from disk' if args.from_disk else 'in memory'}:\n"
    )
    print(table.round(3).to_string(index=False))
    record = {
        "environment": environment_record(),
        "arguments": {k: v for k, v in vars(args).items() if k != "child"},
        "matmul_peak_gflops": peaks,
        "encoder_forward_gflops": encoder,
        "rows": rows,
        "seconds": time.perf_counter() - started,
    }
    path = save_record("bench", record)
    print(f"\nwritten to {path} ({record['seconds']:.0f} s)")
    return 0
