"""Command line: ``python -m colourlib study`` (the README's main job) and ``python -m colourlib train``."""
from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

from . import paths


def _parse_overrides(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"-p {pair!r}: expected NAME=VALUE, e.g. -p epochs=3")
        try:
            values[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            values[key] = raw  # a bare word such as a path or an encoder name
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="colourlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser("study", help="train the quick preset on the embedded photos and evaluate it")
    study.add_argument("--force", action="store_true", help="retrain even if a finished identical run exists")
    study.add_argument("--runs", type=Path, default=None, help="where runs go (default: runs/)")
    tr = sub.add_parser("train", help="train one configuration into a run folder")
    tr.add_argument("run_dir", type=Path)
    tr.add_argument("--preset", default="quick")
    tr.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    from .config import TrainConfig

    started = time.perf_counter()
    try:
        if args.command == "train":
            from .train import train

            train(TrainConfig.preset_config(args.preset, **_parse_overrides(args.params)), args.run_dir)
            print(f"run written to {args.run_dir}")
            return 0
        from .study import evaluate_run, train_or_reuse

        run_dir = train_or_reuse(TrainConfig.preset_config("quick"), (args.runs or paths.runs_dir()) / "quick",
                                 force=args.force)
        summary = evaluate_run(run_dir)
    except ValueError as exc:  # ConfigError, DataError and EncoderWeightsError are ValueErrors
        print(f"error: {exc}")
        return 2
    print("\nHeld-out test photos, mean per method:\n")
    print(summary.round(4).to_string())
    print(f"\nResults, figures and provenance in {run_dir} ({time.perf_counter() - started:.0f} s).")
    print("The rendered book arrives with the study notebooks (issue 4); until then this command runs the "
          "train + evaluate path from Python.")
    return 0
