"""``colourise``: colour your own black-and-white (or colour) photos with a trained model.

Each photo keeps its full resolution and its own lightness: the model predicts a and b from L at its input size,
the ab planes are upsampled to the photo's size and joined with the photo's original full-resolution L (never
an upsampled one). 16-bit photos keep L at 16-bit precision (written as 16-bit TIFF), alpha is kept, EXIF
orientation is applied to the pixels and the rest of the EXIF is kept where the format can hold it.

A file that cannot be coloured is reported with its path and why, and the others go on; the exit status is 1
if any failed. Inputs are never overwritten, and existing outputs only with ``--overwrite``. The model is
loaded and checked before any photo is touched.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import ColourlibError, atomic, paths
from ..backend import exit_if_missing_backend
from . import path_argument

if (
    TYPE_CHECKING
):  # the model's modules import Keras (seconds): only when no exported model can be used
    from ..colouriser import Colouriser
    from ..exported import ExportedColouriser

#: What folders are searched for (case-insensitive); a file named on the command line is always tried.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}

EXAMPLES = """\
examples:
  colourise old-photo.jpg -o coloured/                 one photo, with the study's default model
  colourise scans/ family.tif -o coloured/             a folder (searched recursively) and a file
  colourise scans/ -o coloured/ --run runs/train/RUN   a model from a finished training run
  colourise photo.png -o out/ --weights my.weights.h5  a weights file (its run's config.json is used if beside it)
  colourise scans/ -o coloured/ --overwrite            replace outputs of an earlier run
  colourise scans/ -o coloured/ --keras                through Keras even where an ONNX export exists

The default model is the one `make study` trains; its run folder is recorded in runs/colourise-model.json, and
the study exports it to ONNX (RUN/export/), which colourise runs through onnxruntime without starting
TensorFlow: the first photo comes out in about a second. `python -m colourlib export RUN` exports another run. Folders are searched for .jpg .jpeg .png .tif .tiff .webp files; a file named on the
command line in another format Pillow reads (BMP, a still GIF) is written as PNG. Each output keeps the input's
name, format and resolution (16-bit inputs become 16-bit TIFF) under OUT_DIR, folders keeping their layout.
Animated GIF, PNG and WebP images are refused (which frame would be meant?); a photo named twice is coloured once.
Exit status: 0 all coloured, 1 some photos failed (each is reported), 2 a usage or model error.
"""


#: The largest --image-size: VGG16 at 1024 px already needs several GB per photo; 4096 px is killed by the OOM killer.
MAX_IMAGE_SIZE = 1024
#: Held in the output folder while colourise writes there, so two commands never write one folder at once.
LOCK_FILE = ".colourise.lock"


class ModelError(ColourlibError, ValueError):
    """A model that cannot be used; the message names the option, the path and the fix."""


def load_colouriser(
    run: Path | None = None,
    weights: Path | None = None,
    image_size: int | None = None,
    use_keras: bool = False,
) -> Colouriser | ExportedColouriser:
    """The model of ``run`` (a finished training run), of ``weights`` (a weights file), or the default one.

    A run exported to ONNX (``RUN/export``, which ``make study`` writes for the default model) is coloured
    through onnxruntime without importing TensorFlow, as long as the export was made from the run's present
    weights; otherwise, or with ``use_keras``, a ``weights`` file or another ``image_size``, through Keras."""
    if run is not None and weights is not None:
        raise ModelError("--run and --weights name two models. Fix: pass one of them.")
    if weights is not None:
        weights = Path(weights).expanduser()
        if not weights.is_file():
            raise ModelError(
                f"--weights {weights}: no such file. Fix: pass a colouriser weights file "
                "(colouriser.weights.h5 of a training run) or --run RUN_DIR."
            )
        _configure_keras()
        from ..runs import RunFolder

        beside = RunFolder(weights.parent).config_file
        config = _read_config(beside, "--weights") if beside.is_file() else None
        return _build(weights, config, image_size, "--weights")
    run, option = _run_folder(run)
    if not use_keras:
        exported = _exported(run, image_size)
        if exported is not None:
            return exported
    _configure_keras()
    from ..runs import RunFolder

    config_file = RunFolder(run).config_file
    if not config_file.is_file():
        raise ModelError(
            f"{option} {run}: not a training run (no config.json). Fix: pass a run folder written "
            "by `python -m colourlib train` or the study."
        )
    weights_file = RunFolder(run).weights_file
    if not weights_file.is_file():
        raise ModelError(
            f"{option} {run}: no {weights_file.name}, so its training has not finished. Fix: run the "
            "training again (it resumes where it stopped) or pick a finished run."
        )
    return _build(weights_file, _read_config(config_file, option), image_size, option)


def _configure_keras() -> None:
    from ..backend import runtime

    runtime.configure()  # allocator and thread pools, before the model's first tensor


def _run_folder(run: Path | None) -> tuple[Path, str]:
    """The run folder to colour with (``--run``, or the default model's) and how to name it in errors."""
    if run is None:
        record = paths.default_model_record()
        if not record.is_file():
            raise ModelError(
                f"no model given and no default model yet ({record} does not exist). Fix: run "
                "`make study` once (it trains the default model), or pass --run RUN_DIR or "
                "--weights FILE."
            )
        try:
            run = paths.default_run_dir()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"{record} is not a readable model record ({type(exc).__name__}: {exc}). Fix: run "
                "`make study` again (it rewrites it), or pass --run RUN_DIR or --weights FILE."
            ) from None
        option = f"the default model (recorded in {record})"
    else:
        option = "--run"
    run = Path(run).expanduser()
    if not run.is_dir():
        raise ModelError(
            f"{option} {run}: no such folder. Fix: pass the folder of a finished training run "
            "(it holds config.json and colouriser.weights.h5), or run `make study`."
        )
    return run, option


def _exported(run: Path, image_size: int | None) -> ExportedColouriser | None:
    """The run's ONNX export, if it was made from the run's present weights at the size asked for (None: colour
    with Keras, and say why when an export was there but could not be used)."""
    from ..exported import EXPORT_DIR, ExportedColouriser, ExportedModelError, current_for

    folder = run / EXPORT_DIR
    if not folder.is_dir():
        return None
    try:
        if not current_for(folder, run):  # a damaged record raises, named as such
            print(
                f"colourise: {folder} was exported from other weights than {run}'s; colouring with Keras "
                f"(slower to start). Fix: python -m colourlib export {run}",
                file=sys.stderr,
            )
            return None
        exported = ExportedColouriser.load(folder)  # a damaged file: named, never used
    except (ExportedModelError, ImportError) as exc:
        print(f"colourise: {exc}; colouring with Keras instead", file=sys.stderr)
        return None
    if image_size is not None and image_size != exported.image_size:
        return None  # another input size than the export's: only Keras can build it
    return exported


def _read_config(path: Path, option: str):
    from ..config import TrainConfig

    try:
        return TrainConfig.from_dict(json.loads(path.read_text()), source=f"{option}: {path}")
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{option}: {path} is not a usable run configuration ({exc}).") from None


def _build(weights: Path, config, image_size: int | None, option: str) -> Colouriser:
    """Build the model ``config`` describes (or, without one, every known encoder, output and decoder in turn)
    and load ``weights``."""
    from ..colouriser import Colouriser
    from ..encoders import ENCODERS, EncoderWeightsError, load_weights_checked
    from ..model import build_network, check_image_size

    check_weights_file(weights, option)
    size = image_size if image_size is not None else (config.image_size if config else 224)
    try:
        check_image_size(size)
    except ValueError as exc:
        raise ModelError(f"--image-size: {exc}") from None
    if size > MAX_IMAGE_SIZE:
        raise ModelError(
            f"--image-size {size} is above {MAX_IMAGE_SIZE}: the network's activations would not fit "
            f"in memory (the photo's full resolution is kept whatever this is). Fix: --image-size "
            f"{MAX_IMAGE_SIZE} or less; the size it was trained at is best."
        )
    from ..model import DECODERS

    kinds = (
        [(config.encoder, config.classes, config.decoder)]
        if config
        else [(e, c, d) for d in DECODERS for c in (False, True) for e in ENCODERS]
    )
    problems = []
    for encoder, classes, decoder in kinds:
        model = build_network(size, encoder, None, classes=classes, decoder=decoder)
        try:
            with warnings.catch_warnings():  # Keras warns per layer before it raises on a mismatch
                warnings.simplefilter("ignore", UserWarning)
                load_weights_checked(model, weights, option, "the weights of a trained colouriser")
        except EncoderWeightsError as exc:
            problems.append(
                f"{encoder}{' (colour classes)' if classes else ''}, {decoder} decoder: {exc}"
            )
            continue
        how = f"{config.preset} preset, " if config else ""
        output = ", colour classes" if classes else ""
        return Colouriser(
            model,
            size,
            encoder,
            f"{weights} ({encoder} encoder, {decoder} decoder, {how}{size} px input{output})",
            classes=classes,
            config=config,
        )
    encoders = list(dict.fromkeys(encoder for encoder, _, _ in kinds))
    said = f" (its config.json says encoder={config.encoder!r})" if config else ""
    raise ModelError(
        f"{option}: {weights} does not fit a colouriser with the {' or '.join(encoders)} "
        f"encoder{said}. Fix: pass the run folder these weights were trained in, or its own "
        f"colouriser.weights.h5. Details: " + " | ".join(problems)
    )


def check_weights_file(weights: Path, option: str) -> None:
    """One read of ``weights`` before any network is built: a file that is not HDF5 at all (a text file, a
    PyTorch file) or one cut short is named as such, instead of failing to fit every known model in turn."""
    import h5py

    if not h5py.is_hdf5(weights):
        with open(weights, "rb") as f:
            start = f.read(8)
        raise ModelError(
            f"{option} {weights}: not a Keras weights file (not HDF5; it starts with {start!r}). Fix: "
            "pass a colouriser.weights.h5 written by a training run, or --run RUN_DIR."
        )
    try:
        with h5py.File(weights, "r"):
            pass
    except OSError as exc:
        raise ModelError(
            f"{option} {weights}: a truncated or damaged HDF5 file ({exc}). Fix: copy it again from "
            "the run that wrote it, or pass that run's folder with --run."
        ) from None


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path  # planned output (a 16-bit input's suffix becomes .tif once it is read)


def plan_jobs(inputs: list[Path], out_dir: Path) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Every photo to colour and its output path, and (path, reason) for arguments that cannot be used.

    A file argument goes to ``OUT_DIR/<name>``; a folder argument's photos to ``OUT_DIR/<folder>/<relative
    path>``. Folders are searched recursively for photo suffixes; hidden files and ``out_dir`` are skipped.
    """
    jobs, problems = [], []
    out_resolved = out_dir.resolve()
    for arg in inputs:
        if arg.is_dir() and arg.resolve() == out_resolved:
            problems.append(
                (
                    arg,
                    "is the output folder (-o): its photos would be coloured into themselves. Fix: "
                    "pass another -o OUT_DIR",
                )
            )
        elif arg.is_dir():
            files, loops = _walk(arg)
            problems += [
                (
                    loop,
                    f"a symbolic link back to {target}, which is already being searched: skipped",
                )
                for loop, target in loops
            ]
            found = sorted(
                p
                for p in files
                if p.suffix.lower() in PHOTO_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(arg).parts)
                and out_resolved not in p.resolve().parents
            )
            if not found:
                problems.append(
                    (arg, f"a folder with no photo in it (searched for {' '.join(PHOTO_SUFFIXES)})")
                )
            name = arg.resolve().name or "photos"
            jobs += [Job(p, out_dir / name / p.relative_to(arg)) for p in found]
        elif arg.is_file():
            jobs.append(Job(arg, out_dir / arg.name))
        else:
            problems.append((arg, _missing_reason(arg)))
    unique, seen = (
        [],
        set(),
    )  # a photo named twice, or named and inside a folder named too, is coloured once
    for job in jobs:
        if job.source.resolve() not in seen:
            seen.add(job.source.resolve())
            unique.append(job)
    return unique, problems


def _missing_reason(arg: Path) -> str:
    """Why ``arg`` names nothing to colour: a link in a loop or to nothing is not a missing file."""
    import errno

    if not arg.is_symlink():
        return "no such file or folder"
    try:
        os.stat(arg)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                "a symbolic link in a loop (it leads back to itself), so it names no photo. Fix: point it at "
                "a photo or a folder"
            )
        if exc.errno != errno.ENOENT:
            return f"a symbolic link to {os.readlink(arg)}, which cannot be read ({exc.strerror})"
        return f"a symbolic link to {os.readlink(arg)}, which does not exist. Fix: point it at a photo or a folder"
    return f"a symbolic link to {os.readlink(arg)}, which is neither a photo nor a folder"


def _walk(folder: Path) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """Every file under ``folder``, following symbolic links to folders once; (link, its target) for each link
    that leads back to a folder already searched (a loop), which is reported rather than followed."""
    files, loops, seen = [], [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = Path(root).resolve()
        if real in seen:
            loops.append((Path(root), real))
            dirs[:] = []
            continue
        seen.add(real)
        files += [Path(root) / n for n in names if (Path(root) / n).is_file()]
    return files, loops


def output_path(job: Job, bit_depth: int) -> Path:
    """The job's output: its planned path, as 16-bit TIFF for 16-bit inputs, as PNG for formats we do not write."""
    suffix = job.output.suffix.lower()
    if bit_depth == 16 and suffix not in (".tif", ".tiff"):
        return job.output.with_suffix(".tif")
    return job.output if suffix in _FORMATS else job.output.with_suffix(".png")


def write_photo(
    path: Path, rgb: np.ndarray, alpha: np.ndarray | None, bit_depth: int, exif
) -> None:
    """Write sRGB (and alpha) in [0, 1] as ``path``'s format, atomically: under a temporary name unique to this
    process, then renamed (a partial or spliced file is never left)."""
    planes = np.clip(
        rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=-1), 0, 1
    )
    encoded = (
        io.BytesIO()
    )  # encoded in memory, then written with every write checked (atomic.write_bytes)
    if bit_depth == 16:
        import tifffile

        data = np.round(planes * 65535).astype(np.uint16)
        tifffile.imwrite(
            encoded,
            data,
            photometric="rgb",
            compression="zlib",
            extrasamples=("unassalpha",) if alpha is not None else None,
        )
    else:
        from PIL import Image

        image = Image.fromarray(np.round(planes * 255).astype(np.uint8))
        fmt = _FORMATS[path.suffix.lower()]
        options = {
            "JPEG": dict(quality=95),
            "WEBP": dict(quality=95),
            "PNG": {},
            "TIFF": dict(compression="tiff_deflate"),
        }[fmt]
        if exif is not None and fmt != "TIFF":
            options["exif"] = exif
        image.save(encoded, format=fmt, **options)
    atomic.write_bytes(path, encoded.getvalue(), kind="photo")


def colour_file(
    colouriser: Colouriser | ExportedColouriser,
    job: Job,
    overwrite: bool,
    inputs: set[Path],
    written: dict[Path, Path],
) -> Path:
    """Colour one photo; returns the output written. Raises ``ValueError``/``OSError`` with the reason."""
    photo = read_job(job)
    out, coloured = colour_read(colouriser, job, photo, overwrite, inputs, written)
    write_job(out, coloured, photo)
    return out


def read_job(job: Job):
    """The job's photo, read (a reading thread runs this ahead of the network)."""
    from ..data.photos import read_photo

    if job.source.stat().st_size == 0:
        raise ValueError("empty file (0 bytes)")
    return read_photo(job.source)


def colour_read(
    colouriser, job: Job, photo, overwrite: bool, inputs: set[Path], written: dict[Path, Path]
) -> tuple[Path, np.ndarray]:
    """Check where the read photo goes (never onto an input, a folder, an output of this run or, without
    ``overwrite``, an existing file), reserve that output, and colour the photo."""
    out = output_path(job, photo.bit_depth)
    if out.is_dir():
        raise ValueError(
            f"its output {out} is a folder, which is never replaced. Fix: move that folder away, or "
            "choose another -o OUT_DIR"
        )
    resolved = out.resolve()
    if resolved in inputs:
        raise ValueError(
            f"its output {out} is an input photo, which is never overwritten. Fix: choose another "
            "-o OUT_DIR"
        )
    if resolved in written:
        raise ValueError(
            f"its output {out} was already written from {written[resolved]} in this run. Fix: "
            "colour the two into different -o folders"
        )
    if out.exists() and not overwrite:
        raise ValueError(
            f"{out} exists. Fix: pass --overwrite to replace it, or choose another -o OUT_DIR"
        )
    coloured = colouriser.colour(photo.rgb)
    written[resolved] = job.source
    return out, coloured


def write_job(out: Path, coloured: np.ndarray, photo) -> Path:
    """Write one coloured photo (a writing thread runs this while the network colours the next)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    write_photo(out, coloured, photo.alpha, photo.bit_depth, photo.exif)
    return out


def _reason(exc: BaseException) -> str:
    from PIL import Image, UnidentifiedImageError

    from ..atomic import CANNOT_WRITE

    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can read (unknown format or not a photo)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"refused by Pillow's decompression-bomb guard ({exc})"
    if isinstance(exc, OSError) and exc.errno in CANNOT_WRITE:
        return (
            f"cannot write its output ({exc.strerror}{': ' + exc.filename if exc.filename else ''}). Fix: "
            "free space on the output disk, or pass -o a folder you can write to"
        )
    if isinstance(exc, (SyntaxError, OSError)) and not isinstance(exc, PermissionError):
        return f"unreadable, corrupt or truncated ({exc})"
    return str(exc)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="colourise",
        description=__doc__.split("\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", type=path_argument, metavar="PHOTO_OR_FOLDER")
    p.add_argument(
        "-o",
        "--out",
        dest="out_dir",
        type=path_argument,
        required=True,
        metavar="OUT_DIR",
        help="where the coloured photos go (created if missing)",
    )
    model = p.add_mutually_exclusive_group()
    model.add_argument(
        "--run",
        type=path_argument,
        metavar="RUN_DIR",
        help="a finished training run (default: the model `make study` trained)",
    )
    model.add_argument(
        "--weights", type=path_argument, metavar="FILE", help="a colouriser weights file"
    )
    p.add_argument(
        "--image-size",
        type=int,
        default=None,
        metavar="N",
        help="the model's input size (default: the size it was trained at; 224 for a bare weights file)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace existing outputs (inputs never are)"
    )
    p.add_argument(
        "--keras",
        action="store_true",
        help="colour with Keras even where the run has an ONNX export (which starts in under a second)",
    )
    return p


def colourise(argv: list[str] | None = None) -> int:
    args = parser().parse_args(
        argv
    )  # --help and argument errors answer here, before Keras is imported
    from ..atomic import FolderInUseError, exclusive_lock

    if args.out_dir.exists() and not args.out_dir.is_dir():
        print(
            f"colourise: error: -o {args.out_dir} is a file. Fix: pass a folder for the outputs.",
            file=sys.stderr,
        )
        return 2
    jobs, problems = plan_jobs(args.inputs, args.out_dir)
    try:
        colouriser = load_colouriser(args.run, args.weights, args.image_size, args.keras)
    except ModelError as exc:
        print(f"colourise: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        return exit_if_missing_backend(exc, "colourise: error")
    print(f"model: {colouriser.description}", flush=True)
    try:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(args.out_dir / LOCK_FILE, f"the output folder {args.out_dir}"):
            for leftover in atomic.stale_partials(
                args.out_dir, recursive=True
            ):  # killed writers' only
                leftover.unlink(missing_ok=True)
            return run_jobs(colouriser, jobs, problems, args.out_dir, args.overwrite)
    except OSError as exc:
        print(
            f"colourise: error: -o {args.out_dir}: cannot write there ({exc.strerror or exc}). Fix: pass a "
            "folder you can write to.",
            file=sys.stderr,
        )
        return 2
    except FolderInUseError as exc:
        print(f"colourise: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ncolourise: interrupted; every photo written so far is complete. Run the same command again to "
            "colour the rest (those written are left as they are, listed as existing).",
            file=sys.stderr,
        )
        return 130


#: Photos read ahead of the network, and coloured photos waiting to be written: enough to keep both cores busy
#: (reading and writing release the interpreter's lock in Pillow's and numpy's C code) without holding many
#: full-resolution photos in memory.
READ_AHEAD = 2
WRITE_BEHIND = 2


def run_jobs(
    colouriser: Colouriser | ExportedColouriser,
    jobs: list[Job],
    problems: list[tuple[Path, str]],
    out_dir: Path,
    overwrite: bool,
) -> int:
    """Colour every job with a progress bar (for more than one), report each failure as it happens and all of
    them at the end; returns the exit status. One thread reads the next photos while the network colours
    this one, and another writes the finished ones."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    for path, reason in problems:
        print(f"colourise: {path}: {reason}", file=sys.stderr)
    failed = list(problems)
    inputs = {job.source.resolve() for job in jobs}
    written: dict[Path, Path] = {}
    started = time.perf_counter()
    with (
        tqdm(total=len(jobs), unit="photo", disable=len(jobs) <= 1, file=sys.stderr) as bar,
        ThreadPoolExecutor(1, thread_name_prefix="colourise-read") as reader,
        ThreadPoolExecutor(1, thread_name_prefix="colourise-write") as writer,
    ):

        def fail(job: Job, exc: BaseException) -> None:
            failed.append((job.source, _reason(exc)))
            bar.write(f"colourise: {job.source}: {failed[-1][1]}", file=sys.stderr)

        def finish(pending: deque, keep: int) -> None:
            while len(pending) > keep:
                job, out, future = pending.popleft()
                try:
                    future.result()
                except Exception as exc:  # the output was reserved; it was not written after all
                    written.pop(out.resolve(), None)
                    fail(job, exc)
                bar.update()

        reads = deque(reader.submit(read_job, job) for job in jobs[:READ_AHEAD])
        writes: deque = deque()
        for index, job in enumerate(jobs):
            future = reads.popleft()
            if index + READ_AHEAD < len(jobs):
                reads.append(reader.submit(read_job, jobs[index + READ_AHEAD]))
            try:
                photo = future.result()
                out, coloured = colour_read(colouriser, job, photo, overwrite, inputs, written)
            except Exception as exc:  # every file's failure is reported and the others go on
                fail(job, exc)
                bar.update()
                continue
            writes.append((job, out, writer.submit(write_job, out, coloured, photo)))
            finish(writes, WRITE_BEHIND)
        finish(writes, 0)
    seconds = time.perf_counter() - started
    rate = (
        f" ({seconds:.1f} s, {len(written) / seconds:.2f} photos/s)"
        if written and seconds > 0
        else ""
    )
    print(f"coloured {len(written)} of {len(jobs)} photo(s) into {out_dir}{rate}", flush=True)
    if failed:
        print(
            f"{len(failed)} failed:\n"
            + "\n".join(f"  {path}: {reason}" for path, reason in failed),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(colourise())
