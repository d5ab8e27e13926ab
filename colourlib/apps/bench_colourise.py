"""Benchmark: how many photos per second ``colourise`` colours at 1024 px on this machine, and where the time goes.

``colourlib bench colourise [--run RUN_DIR | --weights FILE] [--size 1024] [--photos 8] [--repeats 3]``
resizes the embedded training photos to ``--size`` px on their long side (JPEG), colours them end to end (read,
predict, recombine with the full-resolution L, write) ``--repeats`` times and prints the median photos/s, then
the median seconds per photo of each stage. Results and provenance go to ``runs/bench/``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from . import path_argument


def make_photos(folder: Path, size: int, count: int) -> list[Path]:
    """``count`` embedded photos resized to ``size`` px on their long side, as JPEG files in ``folder``."""
    from PIL import Image

    from .. import paths

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
    """Median seconds per photo of each stage of colouring one photo."""
    from ..colouriser import recombine
    from ..data.photos import read_photo
    from .colourise import write_photo

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="colourlib bench colourise", description=__doc__.split("\n")[0]
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--run",
        type=path_argument,
        help="a finished training run (default: colourise's default model)",
    )
    model.add_argument("--weights", type=path_argument, help="a colouriser weights file")
    parser.add_argument("--size", type=int, default=1024, help="long side of the photos in px")
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from ..provenance import environment_record
    from ..report.words import recorded_cores
    from .bench import save_record
    from .colourise import ModelError, load_colouriser, plan_jobs, run_jobs

    try:
        colouriser = load_colouriser(args.run, args.weights)
    except ModelError as exc:
        print(f"error: {exc}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        photos_dir, out = Path(tmp) / "photos", Path(tmp) / "out"
        photos_dir.mkdir()
        files = make_photos(photos_dir, args.size, args.photos)
        jobs, _ = plan_jobs(files, out)
        colouriser.colour(np.zeros((64, 64, 3), np.float32))  # the first call builds the graph
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            if run_jobs(colouriser, jobs, [], out, overwrite=True):
                return 1
            rates.append(len(jobs) / (time.perf_counter() - started))
        stages = stage_seconds(colouriser, files, out)
    environment = environment_record()
    print(f"\n{colouriser.description}")
    print(
        f"{len(files)} photos, {args.size} px on the long side, {args.repeats} repeats, on {environment['cpu']} "
        f"({recorded_cores(environment)}, accelerators: {', '.join(environment.get('accelerators') or []) or 'none'})"
    )
    print(
        f"end to end: median {statistics.median(rates):.2f} photos/s (each repeat: "
        f"{', '.join(f'{r:.2f}' for r in rates)})"
    )
    for stage, seconds in stages.items():
        print(f"  {stage:32s} {seconds * 1000:7.0f} ms per photo")
    record = {
        "environment": environment,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "model": colouriser.description,
        "photos_per_s": rates,
        "median_photos_per_s": statistics.median(rates),
        "stage_seconds_per_photo": stages,
    }
    print(f"written to {save_record('colourise', record)}")
    return 0
