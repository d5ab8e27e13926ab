"""``colourlib``: the one command tree of the project.

colourlib study       the whole study as executed notebooks, then the book (the README's main job)
colourlib train       train one configuration into a run folder
colourlib recipes     choose the default colouring recipe on the validation photos (or --fine-tune a run)
colourlib export      a finished run's model as one ONNX file (colourise's fast path, the book's browser page)
colourlib colourise   colour your own photos (the same as the ``colourise`` command)
colourlib bench       training | colourise | colouring | runtime: where the time goes, with provenance
colourlib check       book | browser: check the built book's sources, or read it in headless Chromium
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

from .. import ColourlibError, ConfigError, paths
from ..backend import exit_if_missing_backend
from ..study.smoke import in_scratch as smoke_in_scratch
from . import path_argument

#: Commands whose own parser reads the rest of the command line: name -> (subcommand -> "module:function").
PASS_THROUGH = {
    "colourise": {"": "colourlib.apps.colourise:colourise"},
    "bench": {
        "training": "colourlib.apps.bench:training",
        "colourise": "colourlib.apps.bench:colourise",
        "colouring": "colourlib.apps.bench:colouring",
        "runtime": "colourlib.apps.bench:runtime",
    },
    "check": {
        "browser": "colourlib.report.browser:check_browser",
        "book": "colourlib.apps.cli:check_book_command",
    },
}


def _parse_overrides(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"-p {pair!r}: expected NAME=VALUE, e.g. -p epochs=3")
        try:
            values[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            values[key] = raw  # a bare word such as a path or an encoder name
    return values


def _train_config(args):
    from ..config import TrainConfig

    overrides = _parse_overrides(args.params)
    preset = overrides.pop("preset", None)
    if preset is not None:
        # -p preset=X would only relabel the run: a preset is a set of values, chosen before the overrides
        if args.config is not None:
            raise ConfigError(
                f"-p preset={preset}: --config {args.config} already gives every value. Fix: drop --config and "
                f"pass --preset {preset}, or drop -p preset."
            )
        if args.preset is not None and args.preset != preset:
            raise ConfigError(
                f"-p preset={preset} contradicts --preset {args.preset}. Fix: give the preset once, --preset NAME."
            )
    gpus = overrides.get("gpus")
    if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus > 1:
        from ..backend.replicas import check_capacity

        check_capacity(gpus)  # the machine's limit first: it is what the user fixes
    if args.config is None:
        return TrainConfig.preset_config(args.preset or preset or "quick", **overrides)
    if args.preset is not None:
        raise ConfigError(
            f"--preset {args.preset} with --config {args.config}: the configuration file already gives every "
            "value. Fix: pass one of them (change single values with -p NAME=VALUE)."
        )
    try:
        saved = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--config {args.config}: cannot read a configuration ({exc}).") from None
    if not isinstance(saved, dict):
        raise ConfigError(
            f"--config {args.config}: a configuration is a JSON object of parameters, e.g. "
            f'{{"preset": "quick", "epochs": 3}}, not a JSON {type(saved).__name__}. Fix: pass a run\'s '
            "config.json, or write the parameters as such an object."
        )
    return TrainConfig.from_dict({**saved, **overrides}, source=str(args.config))


def _run_study(args) -> int:
    from ..report.book import build_book
    from ..study import smoke
    from ..study.driver import Study

    if args.preset == "tiny" and not smoke.in_scratch():
        again = ["--preset", "tiny"] + ["--force"] * args.force + ["--no-book"] * args.no_book
        return smoke.run_study(
            again + (["--matrix", str(args.matrix.resolve())] if args.matrix else [])
        )

    build = not args.no_book
    study = Study(args.preset, args.matrix, force=args.force, later_steps=1 if build else 0)
    code = study.run()
    if code == 0 and build:
        study.progress.start("jupyter-book build book/ -W -n")
        code = build_book()
    if code == 0:
        study.finish()
    return code


def check_book_command(argv: list[str]) -> int:
    """``colourlib check book [BOOK_DIR]``: error outputs and unresolved glue references in the book's pages."""
    from ..report.book import report_problems

    parser = argparse.ArgumentParser(
        prog="colourlib check book", description=check_book_command.__doc__
    )
    parser.add_argument(
        "book_dir", nargs="?", type=path_argument, default=None, help="default: book/"
    )
    return report_problems(parser.parse_args(argv).book_dir)


def _pass_through(argv: list[str]) -> int | None:
    """Run a command that parses its own arguments (``colourise``, ``bench X``, ``check X``), if ``argv`` is one."""
    import importlib

    if not argv or argv[0] not in PASS_THROUGH:
        return None
    targets = PASS_THROUGH[argv[0]]
    if "" in targets:
        target, rest = targets[""], argv[1:]
    elif len(argv) > 1 and argv[1] in targets:
        target, rest = targets[argv[1]], argv[2:]
    else:
        return None  # argparse below says what is allowed
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)(rest)


def command_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="colourlib",
        description=__doc__.split("\n")[0],
        epilog="\n".join(__doc__.split("\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    study = sub.add_parser(
        "study",
        help="the whole study as executed notebooks, then the book (the main job)",
        description="Execute every study notebook with papermill into book/runs/ (data, model, "
        "the colouring runs, every configuration of the matrix, parallel, evaluate, "
        "reproducibility), then build the book with jupyter-book -W -n and check it.",
    )
    study.add_argument(
        "--force", action="store_true", help="retrain even if a finished identical run exists"
    )
    study.add_argument(
        "--matrix",
        type=path_argument,
        default=None,
        help="parallel study matrix (default: the study's)",
    )
    study.add_argument(
        "--preset",
        default=None,
        choices=["quick", "tiny", "paper"],
        help="scale of every run (default: quick, and the matrix as written; tiny: a smoke test)",
    )
    study.add_argument(
        "--no-book", action="store_true", help="execute the notebooks but do not build the book"
    )
    tr = sub.add_parser("train", help="train one configuration into a run folder")
    tr.add_argument("run_dir", type=path_argument)
    tr.add_argument(
        "--preset",
        default=None,
        help="the set of values the run starts from: quick (default), tiny (a smoke test) or paper",
    )
    tr.add_argument(
        "--config",
        type=path_argument,
        default=None,
        help="a config.json to start from instead of a preset",
    )
    tr.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    tr.add_argument(
        "--force",
        action="store_true",
        help="replace what the run folder holds (a finished run, or "
        "one of other parameters) instead of refusing",
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
    exp = sub.add_parser(
        "export",
        help="a finished run's model as colouriser.onnx (+ colouriser.json, its provenance), checked "
        "against the Keras model: colourise then runs it without TensorFlow",
    )
    exp.add_argument("run_dir", type=path_argument, metavar="RUN_DIR")
    exp.add_argument(
        "out_dir",
        type=path_argument,
        nargs="?",
        default=None,
        metavar="OUT_DIR",
        help="where the files go (default: RUN_DIR/export, where colourise looks for them)",
    )
    exp.add_argument(
        "--float32",
        action="store_true",
        help="keep the weights float32 (default: stored as float16, half the file)",
    )
    sub.add_parser(
        "colourise",
        help="colour your own photos (the same as the `colourise` command; see its --help)",
        add_help=False,
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
    try:
        passed = _pass_through(
            argv
        )  # colourise, bench X, check X: their own parsers, the same errors
        if passed is not None:
            return passed
        args = command_parser().parse_args(argv)
        runs = paths.runs_dir()
        if args.command == "train":
            return _run_train(args)
        if args.command == "recipes":
            return _run_recipes(args, runs)
        if args.command == "export":
            return _run_export(args)
        code = _run_study(args)
        if args.preset == "tiny" and not smoke_in_scratch():
            return code  # the smoke test's own process printed its summary
    except ColourlibError as exc:
        # what the user can fix: one line; anything else is a bug, and keeps its traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        return exit_if_missing_backend(exc)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: run the same command to go on (finished runs are reused, an interrupted one "
            "resumes at its last finished epoch)",
            file=sys.stderr,
        )
        return 130
    print(
        f"\nStudy {'finished' if code == 0 else 'FAILED'} in {(time.perf_counter() - started) / 60:.1f} min."
    )
    return code


def _run_recipes(args, runs: Path) -> int:
    from ..study.recipes import SEARCHES, SELECTION_RULE, search

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
        from .. import atomic
        from ..study.recipes import fine_tune

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


def _run_export(args) -> int:
    from ..exported import EXPORT_DIR
    from ..runs import RunFolder
    from ..study.export import export

    run = RunFolder(args.run_dir)
    if not run.weights_file.is_file() or not run.config_file.is_file():
        raise ConfigError(
            f"RUN_DIR {args.run_dir}: not a finished training run (it needs {run.CONFIG} and "
            f"{run.WEIGHTS}). Fix: pass the folder of a finished run, e.g. one `make study` trained."
        )
    out = args.out_dir or args.run_dir / EXPORT_DIR
    record = export(args.run_dir, out, float16=not args.float32)
    print(
        f"exported {record['model']} to {out / record['file']} ({record['bytes'] / 1e6:.1f} MB); its ab "
        f"differ from the Keras model's by at most {record['max_ab_difference_from_keras']:.3f}"
    )
    return 0


def _run_train(args) -> int:
    from ..callbacks import read_backup
    from ..runs import RunFolder
    from ..train import train

    config = _train_config(args)
    run = RunFolder(args.run_dir)
    try:
        train(config, run.path, force=args.force)
    except KeyboardInterrupt:
        done, _ = read_backup(run.backup_dir)
        print(
            f"\ninterrupted during epoch {done + 1} of {config.epochs}; run the same command to resume at epoch "
            f"{done + 1}",
            file=sys.stderr,
        )
        return 130
    print(f"run written to {run.path}")
    return 0
