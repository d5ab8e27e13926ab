"""Command line: ``python -m colourlib study`` (the README's main job), ``parallel``, ``train`` and ``colourise``."""
from __future__ import annotations

import argparse
import ast
import json
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


def _train_config(args):
    from .config import ConfigError, TrainConfig

    overrides = _parse_overrides(args.params)
    if args.config is None:
        return TrainConfig.preset_config(args.preset, **overrides)
    try:
        saved = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--config {args.config}: cannot read a configuration ({exc}).") from None
    return TrainConfig.from_dict({**saved, **overrides}, source=str(args.config))


def _run_parallel(matrix_path, runs: Path, force: bool) -> int:
    from .matrix import load_matrix
    from .parallel import RESULTS_FILE, failure_report, results_table, run_matrix

    matrix = load_matrix(matrix_path)  # validated whole before anything runs
    out_dir = runs / "parallel"
    outcomes = run_matrix(matrix, out_dir, force=force)
    table = results_table(outcomes)
    table.to_csv(out_dir / RESULTS_FILE, index=False)
    shown = [c for c in ("regime", "gpus", "workers", "devices", "epoch_seconds", "images_per_s", "speedup",
                         "efficiency", "input_wait_share", "final_val_loss", "projected_paper_hours",
                         "paper_seconds", "paper_speedup", "status") if c in table]
    print("\nParallel configurations (median over epochs after the first):\n")
    print(table[shown].round(4).to_string(index=False))
    print(f"\nTable: {out_dir / RESULTS_FILE}")
    report = failure_report(outcomes)
    if report:
        print("\n" + report)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["colourise"]:  # the same command as the installed `colourise`
        from .colourise import main as colourise

        return colourise(argv[1:])
    parser = argparse.ArgumentParser(prog="colourlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser("study", help="the whole study as executed notebooks, then the book (the main job)",
                           description="Execute every study notebook with papermill into book/runs/ (data, model, "
                                       "the colouring run, every configuration of the matrix, parallel, evaluate, "
                                       "reproducibility), then build the book with jupyter-book -W -n and check it.")
    study.add_argument("--force", action="store_true", help="retrain even if a finished identical run exists")
    study.add_argument("--matrix", type=Path, default=None, help="parallel study matrix (default: the study's)")
    study.add_argument("--preset", default=None, choices=["quick", "tiny", "paper"],
                       help="scale of every run (default: quick, and the matrix as written; tiny: a smoke test)")
    study.add_argument("--no-book", action="store_true", help="execute the notebooks but do not build the book")
    par = sub.add_parser("parallel", help="train every configuration of the parallel study matrix")
    par.add_argument("--force", action="store_true", help="retrain even finished identical runs")
    par.add_argument("--runs", type=Path, default=None, help="where runs go (default: runs/)")
    par.add_argument("--matrix", type=Path, default=None, help="matrix file (default: colourlib/matrix.yaml)")
    sub.add_parser("colourise", help="colour your own photos (the same as the `colourise` command; see its --help)",
                   add_help=False)
    tr = sub.add_parser("train", help="train one configuration into a run folder")
    tr.add_argument("run_dir", type=Path)
    tr.add_argument("--preset", default="quick")
    tr.add_argument("--config", type=Path, default=None, help="a config.json to start from instead of a preset")
    tr.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    runs = getattr(args, "runs", None) or paths.runs_dir()
    try:
        if args.command == "train":
            from .train import train

            train(_train_config(args), args.run_dir)
            print(f"run written to {args.run_dir}")
            return 0
        if args.command == "parallel":
            return _run_parallel(args.matrix, runs, args.force)

        from .driver import run_study

        code = run_study(args.preset, args.matrix, force=args.force, build=not args.no_book)
    except (ValueError, FileNotFoundError) as exc:  # ConfigError, DataError, EncoderWeightsError; missing files
        print(f"error: {exc}")
        return 2
    print(f"\nStudy {'finished' if code == 0 else 'FAILED'} in {(time.perf_counter() - started) / 60:.1f} min.")
    return code
