"""``colourlib``: the library's commands (the study's own are ``python -m study``).

colourlib train       train one configuration into a run folder
colourlib export      a finished run's model as one ONNX file (colourise's fast path, the book's browser page)
colourlib colourise   colour your own photos (the same as the ``colourise`` command)
"""

from __future__ import annotations

import argparse
import ast
import json
import sys

from .. import ConfigError
from . import path_argument, run_command

#: Commands whose own parser reads the rest of the command line: name -> (subcommand -> "module:function").
PASS_THROUGH = {"colourise": {"": "colourlib.apps.colourise:colourise"}}


def parse_overrides(pairs: list[str]) -> dict:
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


def train_config(args, base: dict | None = None):
    """The configuration ``colourlib train`` trains: ``--config FILE`` (a run's ``config.json``) or ``base``
    (default: TrainConfig's defaults), then every ``-p NAME=VALUE``."""
    from ..config import TrainConfig

    overrides = parse_overrides(args.params)
    if "preset" in overrides:
        # -p preset=X would only relabel the run: a preset is a set of values, chosen before the overrides
        raise ConfigError(
            f"-p preset={overrides['preset']}: a preset is a set of values, not one. Fix: python -m study "
            f"train {args.run_dir} --preset {overrides['preset']} (the study's presets), or give the values "
            "with -p."
        )
    gpus = overrides.get("gpus")
    if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus > 1:
        from ..backend.replicas import check_capacity

        check_capacity(gpus)  # the machine's limit first: it is what the user fixes
    if args.config is None:
        return TrainConfig.from_dict({**(base or {}), **overrides}, source="colourlib train")
    try:
        saved = json.loads(args.config.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--config {args.config}: cannot read a configuration ({exc}).") from None
    if not isinstance(saved, dict):
        raise ConfigError(
            f"--config {args.config}: a configuration is a JSON object of parameters, e.g. "
            f'{{"image_size": 128, "epochs": 3}}, not a JSON {type(saved).__name__}. Fix: pass a run\'s '
            "config.json, or write the parameters as such an object."
        )
    return TrainConfig.from_dict({**saved, **overrides}, source=str(args.config))


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """``RUN_DIR [--config FILE] [-p NAME=VALUE]... [--force]``: what every train command takes."""
    parser.add_argument("run_dir", type=path_argument)
    parser.add_argument(
        "--config",
        type=path_argument,
        default=None,
        help="a config.json (e.g. a run's) to start from",
    )
    parser.add_argument(
        "-p",
        dest="params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter (e.g. -p image_size=128 -p epochs=20); every one is checked before training",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace what the run folder holds (a finished run, or "
        "one of other parameters) instead of refusing",
    )


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
    add_train_arguments(sub.add_parser("train", help="train one configuration into a run folder"))
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
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv

    def body() -> int:
        passed = _pass_through(argv)  # colourise: its own parser, the same errors
        if passed is not None:
            return passed
        args = command_parser().parse_args(argv)
        if args.command == "train":
            return run_train(args, train_config(args))
        return _run_export(args)

    return run_command(body)


def _run_export(args) -> int:
    from ..export import export
    from ..exported import EXPORT_DIR
    from ..runs import RunFolder

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


def run_train(args, config) -> int:
    """Train ``config`` into ``args.run_dir``: a run killed or interrupted resumes when run again."""
    from ..callbacks import read_backup
    from ..runs import RunFolder
    from ..train import train

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
