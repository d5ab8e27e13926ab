"""``python -m study``: the study's commands (the library's own are ``colourlib``).

python -m study run       the whole study as executed notebooks, then the book (``make study``)
python -m study train     train one configuration from one of the study's presets (study/study.yaml)
python -m study recipes   choose the default colouring recipe on the validation photos (or --fine-tune a run)
python -m study bench     training | colourise | colouring | runtime: where the time goes, with provenance
python -m study check     book | browser: check the built book's sources, or read it in headless Chromium
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from colourlib import ConfigError, paths
from colourlib.apps import path_argument, run_command
from colourlib.apps.cli import add_train_arguments, run_train, train_config

from .smoke import in_scratch as smoke_in_scratch

#: Commands whose own parser reads the rest of the command line: name -> (subcommand -> "module:function").
PASS_THROUGH = {
    "bench": {
        "training": "study.bench:training",
        "colourise": "study.bench:colourise",
        "colouring": "study.bench:colouring",
        "runtime": "study.bench:runtime",
    },
    "check": {
        "browser": "study.report.browser:check_browser",
        "book": "study.cli:check_book_command",
    },
}


def _run_study(args) -> int:
    from . import smoke
    from .pipeline import run_workflow

    if args.preset == "tiny" and not smoke.in_scratch():
        again = ["--preset", "tiny"] + ["--force"] * args.force + ["--dry-run"] * args.dry_run
        return smoke.run_study(
            again + (["--study-file", str(args.study_file.resolve())] if args.study_file else [])
        )
    return run_workflow(args.preset or "quick", args.study_file, args.force, args.dry_run)


def check_book_command(argv: list[str]) -> int:
    """``python -m study check book [BOOK_DIR]``: error outputs and unresolved glue references in the book's pages."""
    from .report.book import report_problems

    parser = argparse.ArgumentParser(
        prog="python -m study check book", description=check_book_command.__doc__
    )
    parser.add_argument(
        "book_dir", nargs="?", type=path_argument, default=None, help="default: book/"
    )
    return report_problems(parser.parse_args(argv).book_dir)


def _train_config(args):
    """A preset of the study's configuration file, then ``colourlib train``'s ``-p`` (or ``--config`` alone)."""
    from .config import load

    preset = args.preset
    for pair in args.params:  # -p preset=X names the preset itself here, once
        name, _, value = pair.partition("=")
        if name == "preset":
            if preset is not None and value != preset:
                raise ConfigError(
                    f"-p preset={value} contradicts --preset {preset}. Fix: give the preset once, --preset NAME."
                )
            preset = value
    args.params = [pair for pair in args.params if pair.partition("=")[0] != "preset"]
    if args.config is not None:
        if preset is not None:
            raise ConfigError(
                f"--preset {preset} with --config {args.config}: the configuration file already gives every "
                "value. Fix: pass one of them (change single values with -p NAME=VALUE)."
            )
        return train_config(args)
    preset = preset or "quick"
    presets = load().presets
    if preset not in presets:
        raise ConfigError(f"--preset {preset}: not known. Allowed: {', '.join(presets)}.")
    return dataclasses.replace(train_config(args, base=presets[preset]), preset=preset)


def _pass_through(argv: list[str]) -> int | None:
    """Run a command that parses its own arguments (``bench X``, ``check X``), if ``argv`` is one."""
    import importlib

    if len(argv) < 2 or argv[0] not in PASS_THROUGH or argv[1] not in PASS_THROUGH[argv[0]]:
        return None  # argparse below says what is allowed
    module, _, function = PASS_THROUGH[argv[0]][argv[1]].partition(":")
    return getattr(importlib.import_module(module), function)(argv[2:])


def command_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m study",
        description=__doc__.split("\n")[0],
        epilog="\n".join(__doc__.split("\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    study = sub.add_parser(
        "run",
        help="the whole study as executed notebooks, then the book (the main job)",
        description="Run the study's pipeline (the Snakefile) with Snakemake: every study notebook executed "
        "by papermill into book/runs/ (data, model, the colouring runs, every configuration of the matrix "
        "timed, parallel, evaluate, reproducibility), then the book built with jupyter-book -W -n and "
        "checked. Finished steps are reused.",
    )
    study.add_argument(
        "--force", action="store_true", help="redo every step, retraining and re-timing everything"
    )
    study.add_argument(
        "--study-file",
        type=path_argument,
        default=None,
        help="the study's configuration file: presets, colouring models, seeds, the parallel matrix "
        "(default: study/study.yaml)",
    )
    study.add_argument(
        "--preset",
        default=None,
        help="the preset of every run (default: quick; tiny: a smoke test of the whole pipeline)",
    )
    study.add_argument(
        "--dry-run",
        action="store_true",
        help="list the steps that would run (the workflow engine's dry run), and run none",
    )
    tr = sub.add_parser(
        "train",
        help="train one configuration, starting from a preset of the study's configuration file",
    )
    add_train_arguments(tr)
    tr.add_argument(
        "--preset",
        default=None,
        help="the study's preset the run starts from (study/study.yaml): quick (default), tiny (a smoke "
        "test) or paper",
    )
    rec = sub.add_parser(
        "recipes",
        help="choose the default colouring recipe on the validation photos (trains "
        "every candidate once; the book shows the recorded search)",
    )
    rec.add_argument(
        "--search",
        choices=("recipes", "models"),
        default="recipes",
        help="which search: Lite0's recipes (loss, rebalancing, decoder, learning rate), or the models "
        "(Lite0, Lite2, the global-features decoder, and the VGG16 grid of weights x loss x decoder)",
    )
    rec.add_argument(
        "--out",
        type=path_argument,
        default=None,
        help="where the candidates' runs and recipes.csv go (default: runs/<search>-search)",
    )
    rec.add_argument(
        "--only", nargs="+", default=None, metavar="NAME", help="train only these candidates"
    )
    rec.add_argument(
        "--fine-tune",
        type=path_argument,
        default=None,
        metavar="RUN_DIR",
        help="instead of searching: measure what fine-tuning the encoder adds to this finished run "
        "(scored on the validation photos; written to --out/fine-tune.json)",
    )
    rec.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="with --fine-tune: the annealed-mean T to read colour classes back at (default: the run's)",
    )
    bench = sub.add_parser(
        "bench",
        help="benchmarks: `bench training` (loader, step, replicas, precision), "
        "`bench colourise` (photos/s at 1024 px) or `bench colouring` (the "
        "default colouring model's training time); each has --help",
    )
    bench.add_argument("which", choices=sorted(PASS_THROUGH["bench"]))
    check = sub.add_parser(
        "check",
        help="`check book` (error outputs, glue references) or `check browser` (the "
        "built book in headless Chromium, with screenshots); each has --help",
    )
    check.add_argument("which", choices=sorted(PASS_THROUGH["check"]))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    started = time.perf_counter()

    def body() -> int:
        passed = _pass_through(argv)  # bench X, check X: their own parsers, the same errors
        if passed is not None:
            return passed
        args = command_parser().parse_args(argv)
        if args.command == "recipes":
            return _run_recipes(args, paths.runs_dir())
        if args.command == "train":
            return run_train(args, _train_config(args))
        code = _run_study(args)
        if args.preset == "tiny" and not smoke_in_scratch():
            return code  # the smoke test's own process printed its summary
        if not args.dry_run:
            print(
                f"\nStudy {'finished' if code == 0 else 'FAILED'} in "
                f"{(time.perf_counter() - started) / 60:.1f} min."
            )
        return code

    return run_command(body)


def _run_recipes(args, runs: Path) -> int:
    from .recipes import SEARCHES, SELECTION_RULE, search

    which = SEARCHES[args.search]

    if args.temperature is not None and (not args.fine_tune or not 0 < args.temperature <= 1):
        raise ConfigError(
            f"--temperature {args.temperature}: allowed only with --fine-tune, a number in (0, 1]."
        )
    unknown = sorted(set(args.only or []) - set(which.candidates))
    if unknown:
        raise ConfigError(
            f"--only {' '.join(unknown)}: no such candidate of the {which.name} search. Allowed: "
            f"{'; '.join(which.candidates)}."
        )
    out = args.out or runs / f"{which.name.removesuffix('s')}-search"
    if args.fine_tune:
        from colourlib import atomic

        from .recipes import fine_tune

        result = fine_tune(args.fine_tune, out / "fine-tuned", temperature=args.temperature)
        atomic.write_json(
            out / "fine-tune.json", {"run": str(args.fine_tune), **result}, kind="fine-tune"
        )
        print(json.dumps(result, indent=2))
        return 0
    table = search(out, args.only, which=which)
    print(table.to_string())
    print(
        f"\nThe rule, on the validation photos only: {SELECTION_RULE}. Chosen: {table.method.iloc[0]}."
        f"\n{which.name} search written to {out / 'recipes.csv'}; to record it for the book, copy recipes.csv, "
        f"recipes_per_image.csv, baselines.csv and environment.json to {which.recorded}"
    )
    return 0
