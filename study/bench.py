"""Benchmarks: where the time goes, one command with four subcommands, each printing its numbers beside the
machine they were measured on (CPU, cores) and writing them, with provenance, to ``runs/bench/``. The
measurements themselves are :mod:`study.speed`'s and the training code's.

``python -m study bench training``
    images/s of the loader alone per workers setting, of the training step alone on batches in memory and of
    both together, per ``--gpus`` value and precision, and the encoder's GFLOP/s against the matrix-multiply peak.
``python -m study bench runtime``
    the training step against the machine's sgemm, before and after colourlib's runtime settings, on
    TensorFlow and on JAX.
``python -m study bench colouring``
    how long the default colouring model takes to train from scratch, against its 10-minute budget.
``python -m study bench colourise``
    photos per second ``colourise`` colours at 1024 px, and the seconds of each stage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from colourlib import paths
from colourlib.apps import path_argument
from colourlib.config import PRECISIONS, loaders_kind

# --- shared ----------------------------------------------------------------------------------------


def save_record(name: str, record: dict) -> Path:
    """Write a benchmark's record (numbers and provenance) to ``runs/bench/<name>-<date-time>.json``."""
    out = paths.runs_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


_ISA_PROBE = (
    "import numpy as np, keras; keras.layers.Conv2D(8, 3)(np.zeros((1, 8, 8, 8), 'float32'))"
)


def onednn_isa() -> str:
    """The instruction set oneDNN reports it dispatches to here (it honours ``ONEDNN_MAX_CPU_ISA``), read from a
    one-convolution probe process run with ``ONEDNN_VERBOSE=1``; "unknown" when it prints none (e.g. another
    backend than TensorFlow)."""
    probe = subprocess.run(
        [sys.executable, "-c", _ISA_PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "ONEDNN_VERBOSE": "1"},
    )
    found = re.search(r"isa:([^,\n]+)", probe.stdout + probe.stderr)
    return found.group(1).strip() if found else "unknown"


# --- python -m study bench training ---------------------------------------------------------------------


def _config(args, **extra):
    from study.config import preset_config

    return preset_config(
        "quick",
        image_size=args.image_size,
        batch_size=args.batch_size,
        in_memory=not args.from_disk,
        **extra,
    )


def _crops(config):
    """Augmented crops of the embedded training photos, as the quick preset trains on."""
    from colourlib.data.dataset import PhotoCrops
    from colourlib.data.photos import load_photo_set

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
    from colourlib.backend.keras_internals import py_dataset_batches
    from colourlib.data.dataset import ColourBatches
    from colourlib.encoders import vgg16

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
        from colourlib.encoders import vgg16

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
    from study.speed import forward_flops

    return forward_flops(encoder) * args.batch_size / 1e9 / statistics.median(times)


def train_rows(args) -> list[dict]:
    """Train-step-alone and train-with-loader images/s for this process's ``--gpus``, each precision."""
    import keras

    from colourlib.backend import replicas, runtime
    from colourlib.data.dataset import ColourBatches
    from colourlib.encoders.vgg16 import preprocess as vgg16_preprocess
    from colourlib.model import build_network
    from colourlib.train import compute_only_steps, seconds_per_step
    from study.speed import TRAIN_FLOP_FACTOR, forward_flops, matmul_gflops

    gpus = args.gpus[0]  # a child process measures one replica count
    settings = runtime.configure(
        gpus
    )  # as training sets the allocator and thread pools, before any tensor
    plan = replicas.provide(gpus)
    sgemm = matmul_gflops("float32")  # on this process's cores, as the step
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
            clock = compute_only_steps(model, probe, config.batch_size)
            compute = clock.seconds_per_step
            (t0, r0), (t1, r1) = clock.start, clock.end
            steps = round((t1 - t0) / compute)
            gflop = TRAIN_FLOP_FACTOR * forward_flops(model) * config.batch_size / 1e9
            base = dict(gpus=gpus, devices=plan.label, precision=precision)
            rows.append(
                {
                    **base,
                    "part": "train step alone (in memory)",
                    "workers": None,
                    "images_per_s": config.batch_size / compute,
                    # why a step is slow: fresh pages (the allocator), kernel time, arithmetic against sgemm
                    "page_faults_per_step": (r1.ru_minflt - r0.ru_minflt) / steps,
                    "kernel_share": (r1.ru_stime - r0.ru_stime)
                    / max(1e-9, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)),
                    "gflop_per_s": gflop / compute,
                    "sgemm_gflops": sgemm,
                    "share_of_sgemm": gflop / compute / sgemm,
                    "allocator": settings.get("allocator"),
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
                        "loaders": loaders_kind(processes),
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


def training(argv: list[str] | None = None) -> int:
    """Benchmark: where training time goes, per parallel configuration and precision.

    ``python -m study bench training`` prints images/s of (1) the loader alone per workers setting (threads and
    processes), (2) the training step alone on batches already in memory, (3) both together, for each ``--gpus``
    value (each in a fresh process: devices are laid out once per process) and precision; the input-wait share
    that follows from (2) and (3); and the encoder's achieved GFLOP/s against the machine's matrix-multiply peak
    measured in the same run. Results are printed and written, with provenance, to ``runs/bench/``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m study bench training", description=training.__doc__.split("\n")[0]
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

    from colourlib.provenance import environment_record
    from study.timing import child_env

    started = time.perf_counter()
    rows = []
    for workers, processes in args.loaders:
        ips = loader_images_per_s(args, workers, processes)
        loaders = loaders_kind(processes)
        rows.append(dict(part="loader alone", workers=workers, loaders=loaders, images_per_s=ips))
        print(f"loader alone, {workers} {loaders}: {ips:.0f} images/s", flush=True)
    from study.speed import matmul_gflops

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
            "study",
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
        done = subprocess.run(command, capture_output=True, text=True, env=child_env())
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
        "page_faults_per_step",
        "share_of_sgemm",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    print(
        f"\n{args.image_size} px, batch {args.batch_size}, photos {'from disk' if args.from_disk else 'in memory'}:\n"
    )
    print(table.round(3).to_string(index=False))
    for row in rows:
        if row["part"].startswith("train step alone"):
            print(
                f"gpus={row['gpus']}, {row['precision']}: {row['page_faults_per_step']:,.0f} page faults a step, "
                f"{row['kernel_share']:.0%} of the CPU time in the kernel, {row['gflop_per_s']:.0f} GFLOP/s = "
                f"{row['share_of_sgemm']:.0%} of this machine's sgemm ({row['sgemm_gflops']:.0f} GFLOP/s); "
                f"allocator: {row['allocator']}"
            )
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


# --- python -m study bench runtime ----------------------------------------------------------------------

#: (label, backend, runtime setting) of each measured variant, in the order printed.
VARIANTS = (
    ("tensorflow, library defaults (before)", "tensorflow", "default"),
    ("tensorflow, colourlib.backend.runtime (after)", "tensorflow", "colourlib"),
    ("jax, colourlib.backend.runtime", "jax", "colourlib"),
)


def _time_in_child(regime_name: str, steps: int, warmup: int) -> dict:
    from study.matrix import Configuration, load_matrix
    from study.speed import matmul_gflops, measure

    regime = next(r for r in load_matrix().regimes if r.name == regime_name)
    result = measure(regime.config(Configuration(1, 1)), steps, warmup)
    return {**result, "sgemm_gflops": matmul_gflops()}


def runtime(argv: list[str] | None = None) -> int:
    """Benchmark: the training step against the machine's limit, before and after colourlib's runtime settings, on
    TensorFlow and on JAX.

    ``python -m study bench runtime`` times both regimes of the study matrix (1 device, 1 loading thread) in fresh
    processes: on TensorFlow with the libraries' default allocator and thread pools (``COLOURLIB_RUNTIME=default``,
    "before") and with :mod:`colourlib.backend.runtime`'s ("after"), and on JAX. For each it prints images/s, seconds per
    step, the user and kernel CPU seconds and page faults of the timed steps, the step's GFLOP/s and its share of the
    machine's sgemm (numpy float32), and which instruction set oneDNN used. Under ``ONEDNN_MAX_CPU_ISA=AVX2`` (a
    machine without AVX-512, emulated) numpy's OpenBLAS is held to AVX2 too; XLA (JAX) compiles for the real CPU.
    """
    parser = argparse.ArgumentParser(
        prog="python -m study bench runtime", description=runtime.__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--steps", type=int, default=10, help="timed training steps per measurement"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh processes per variant and regime"
    )
    parser.add_argument("--regimes", nargs="+", default=["whole-network", "cached-features"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_time_in_child(args.child, args.steps, args.warmup)))
        return 0

    import pandas as pd

    from colourlib.provenance import environment_record
    from study.report.words import machine_summary
    from study.timing import child_env

    started = time.perf_counter()
    isa = onednn_isa()
    print(
        f"{machine_summary()}; oneDNN ISA: {isa}; "
        f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '')!r}",
        flush=True,
    )
    rows = []
    for regime in args.regimes:
        for label, backend, setting in VARIANTS:
            results = []
            for _ in range(args.repeats):
                env = {**child_env(), "KERAS_BACKEND": backend, "COLOURLIB_RUNTIME": setting}
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "study",
                        "bench",
                        "runtime",
                        "--child",
                        regime,
                        "--steps",
                        str(args.steps),
                        "--warmup",
                        str(args.warmup),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if done.returncode:
                    print(done.stderr[-3000:])
                    print(f"{regime}, {label}: failed (exit {done.returncode})")
                    return 1
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            med = {
                key: statistics.median(r[key] for r in results)
                for key in (
                    "images_per_s",
                    "seconds_per_step",
                    "user_seconds",
                    "sys_seconds",
                    "page_faults",
                    "gflop_per_s",
                    "sgemm_gflops",
                )
            }
            rows.append(
                {
                    "regime": regime,
                    "variant": label,
                    **med,
                    "images_per_s_range": f"{min(r['images_per_s'] for r in results):.1f}-"
                    f"{max(r['images_per_s'] for r in results):.1f}",
                    "share_of_sgemm": med["gflop_per_s"] / med["sgemm_gflops"],
                    "gflop_per_step": results[0]["gflop_per_step"],
                }
            )
            print(
                f"{regime}, {label}: {med['images_per_s']:.1f} images/s, user {med['user_seconds']:.1f} s, "
                f"kernel {med['sys_seconds']:.1f} s, {med['page_faults']:.0f} page faults, "
                f"{med['gflop_per_s']:.0f} GFLOP/s = {med['gflop_per_s'] / med['sgemm_gflops']:.0%} of sgemm "
                f"({med['sgemm_gflops']:.0f} GFLOP/s)",
                flush=True,
            )
    table = pd.DataFrame(rows)
    shown = table.rename(
        columns={
            "images_per_s": "images/s",
            "images_per_s_range": "range",
            "seconds_per_step": "s/step",
            "user_seconds": "user s",
            "sys_seconds": "kernel s",
            "page_faults": "page faults",
            "gflop_per_s": "GFLOP/s",
            "sgemm_gflops": "sgemm GFLOP/s",
            "share_of_sgemm": "of sgemm",
        }
    )
    print(
        f"\nmedians of {args.repeats} fresh processes, {args.steps} steps after {args.warmup} warm-up, "
        f"CPU seconds and page faults of the timed steps; a step counted as 3 forward passes:\n"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(shown.drop(columns=["gflop_per_step"]).round(3).to_string(index=False))
    record = {
        "environment": environment_record(),
        "onednn_isa": isa,
        "arguments": vars(args),
        "rows": rows,
        "seconds": time.perf_counter() - started,
    }
    print(f"\nwritten to {save_record('runtime', record)} ({record['seconds']:.0f} s)")
    return 0


# --- python -m study bench colouring --------------------------------------------------------------------

BUDGET_SECONDS = 600


def colouring(argv: list[str] | None = None) -> int:
    """Benchmark: how long the default colouring model (``colourise``'s) takes to train on this machine.

    ``python -m study bench colouring [--model lite0] [--preset quick] [--seed 0]`` trains the study's colouring model
    from scratch into a temporary folder (a fresh process, the same code path as ``make study``) and prints the wall
    time, the CPU, and the instruction set oneDNN dispatched to. The budget is 10 min on a 2-core CPU without
    AVX-512; on a machine with AVX-512, ``ONEDNN_MAX_CPU_ISA=AVX2 python -m study bench colouring`` emulates one.
    """
    from study import config as study_config
    from study.report.words import machine_summary

    p = argparse.ArgumentParser(
        prog="python -m study bench colouring", description=colouring.__doc__.split("\n")[0]
    )
    p.add_argument("--model", default="lite0", choices=study_config.colouring_models())
    p.add_argument("--preset", default="quick", choices=list(study_config.load().presets))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    config = study_config.colouring_config(args.model, args.preset, args.seed)
    isa = onednn_isa()
    print(
        f"training colouring model {args.model} ({args.preset}, seed {args.seed}) on {machine_summary()}; "
        f"oneDNN ISA: {isa}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '')!r}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="colourlib-bench-") as tmp:
        config_file = Path(tmp) / "config.json"
        config_file.write_text(json.dumps(config.to_dict()))
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "colourlib",
                "train",
                str(Path(tmp) / "run"),
                "--config",
                str(config_file),
            ]
        )
        seconds = time.perf_counter() - started
        if done.returncode:
            print(f"training failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
        history = (Path(tmp) / "run" / "history.csv").read_text().splitlines()
    verdict = "within" if seconds <= BUDGET_SECONDS else "OVER"
    print(
        f"\ncolouring model {args.model}: trained in {seconds:.0f} s ({seconds / 60:.1f} min; {len(history) - 1} "
        f"epochs), {verdict} the {BUDGET_SECONDS // 60} min budget, on {machine_summary()} ("
        f"oneDNN ISA: {isa})"
    )
    return 0


# --- python -m study bench colourise --------------------------------------------------------------------


def make_photos(folder: Path, size: int, count: int) -> list[Path]:
    """``count`` embedded photos resized to ``size`` px on their long side, as JPEG files in ``folder``."""
    from PIL import Image

    from colourlib import paths

    sources = sorted((paths.PHOTOS_DIR / "train").glob("*.jpg"))[:count]
    made = []
    for source in sources:
        with Image.open(source) as im:
            scale = size / max(im.size)
            im.convert("RGB").resize(
                (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
            ).save(folder / source.name, quality=92)
        made.append(folder / source.name)
    return made


def stage_seconds(colouriser, files: list[Path], out: Path) -> dict[str, float]:
    """Median seconds per photo of each stage of colouring one photo, one after another (no overlap)."""
    from colourlib.apps.colourise import write_photo
    from colourlib.data.photos import read_photo
    from colourlib.whole_photo import recombine

    times: dict[str, list[float]] = {
        "read": [],
        "predict ab (model + upsampling)": [],
        "recombine (LAB)": [],
        "write": [],
    }
    for path in files:
        t0 = time.perf_counter()
        photo = read_photo(path)
        t1 = time.perf_counter()
        ab = colouriser.predict_ab([photo.rgb])[0]
        t2 = time.perf_counter()
        rgb = recombine(photo.rgb, ab)
        t3 = time.perf_counter()
        write_photo(out / path.name, rgb, photo.alpha, photo.bit_depth, photo.exif)
        t4 = time.perf_counter()
        for key, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            times[key].append(seconds)
    return {key: statistics.median(values) for key, values in times.items()}


def start_up_seconds(photo: Path, out: Path, extra: list[str], repeats: int) -> list[float]:
    """Seconds from starting ``colourise`` in a fresh interpreter to its exit after colouring one photo: what a
    person waits for their first photo."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "colourlib",
                "colourise",
                str(photo),
                "-o",
                str(out),
                "--overwrite",
                *extra,
            ],
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - started)
        if done.returncode:
            raise RuntimeError(f"colourise failed: {done.stderr.strip()[-500:]}")
    return times


def colourise(argv: list[str] | None = None) -> int:
    """Benchmark: how many photos per second ``colourise`` colours at 1024 px on this machine, how long the
    first photo takes from a cold start, and where the time goes.

    ``python -m study bench colourise [--run RUN_DIR | --weights FILE] [--keras] [--size 1024] [--photos 24]
    [--repeats 3]`` resizes the embedded training photos to ``--size`` px on their long side (JPEG; their
    shapes differ, as a real folder's do), colours the folder end to end (read, predict, recombine with the
    full-resolution L, write; reading and writing overlapped with the network, as ``colourise`` does)
    ``--repeats`` times and prints the median photos/s; then the seconds from starting ``colourise`` in a fresh
    process to its first photo written, and the median seconds per photo of each stage. Results and
    provenance go to ``runs/bench/``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m study bench colourise", description=colourise.__doc__.split("\n")[0]
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--run",
        type=path_argument,
        help="a finished training run (default: colourise's default model)",
    )
    model.add_argument("--weights", type=path_argument, help="a colouriser weights file")
    parser.add_argument(
        "--keras", action="store_true", help="colour with Keras even where an ONNX export exists"
    )
    parser.add_argument("--size", type=int, default=1024, help="long side of the photos in px")
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from colourlib.apps.colourise import ModelError, load_colouriser, plan_jobs, run_jobs
    from colourlib.provenance import environment_record
    from study.report.words import recorded_cores

    try:
        colouriser = load_colouriser(args.run, args.weights, use_keras=args.keras)
    except ModelError as exc:
        print(f"error: {exc}")
        return 2
    extra = [
        *(["--run", str(args.run)] if args.run else []),
        *(["--weights", str(args.weights)] if args.weights else []),
    ]
    extra += ["--keras"] if args.keras else []
    with tempfile.TemporaryDirectory() as tmp:
        photos_dir, out = Path(tmp) / "photos", Path(tmp) / "out"
        photos_dir.mkdir()
        files = make_photos(photos_dir, args.size, args.photos)
        shapes = sorted({photo_size(f) for f in files})
        jobs, _ = plan_jobs(files, out)
        colouriser.colour(np.zeros((64, 64, 3), np.float32))  # the first call builds the graph
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            if run_jobs(colouriser, jobs, [], out, overwrite=True):
                return 1
            rates.append(len(jobs) / (time.perf_counter() - started))
        first = start_up_seconds(files[0], Path(tmp) / "first", extra, args.repeats)
        stages = stage_seconds(colouriser, files, out)
    environment = environment_record()
    print(f"\n{colouriser.description}")
    print(
        f"{len(files)} photos of {len(shapes)} different sizes, {args.size} px on the long side, {args.repeats} "
        f"repeats, on {environment['cpu']} ({recorded_cores(environment)}, ISA cap "
        f"{os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')} (TensorFlow's oneDNN only), accelerators: "
        f"{', '.join(environment.get('accelerators') or []) or 'none'})"
    )
    print(
        f"end to end: median {statistics.median(rates):.2f} photos/s (each repeat: "
        f"{', '.join(f'{r:.2f}' for r in rates)})"
    )
    print(
        f"cold start to the first photo written: median {statistics.median(first):.2f} s (each: "
        f"{', '.join(f'{t:.2f}' for t in first)})"
    )
    for stage, seconds in stages.items():
        print(f"  {stage:32s} {seconds * 1000:7.0f} ms per photo")
    record = {
        "environment": environment,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "model": colouriser.description,
        "photo_sizes": [list(shape) for shape in shapes],
        "photos_per_s": rates,
        "median_photos_per_s": statistics.median(rates),
        "first_photo_seconds": first,
        "median_first_photo_seconds": statistics.median(first),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "stage_seconds_per_photo": stages,
    }
    print(f"written to {save_record('colourise', record)}")
    return 0


def photo_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size
