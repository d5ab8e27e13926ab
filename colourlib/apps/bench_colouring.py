"""Benchmark: how long the default colouring model (``colourise``'s) takes to train on this machine.

``colourlib bench colouring [--model lite0] [--preset quick] [--seed 0]`` trains the study's colouring model
from scratch into a temporary folder (a fresh process, the same code path as ``make study``) and prints the wall
time, the CPU, and the instruction set oneDNN dispatched to. The budget is 10 min on a 2-core CPU without
AVX-512; on a machine with AVX-512, ``ONEDNN_MAX_CPU_ISA=AVX2 colourlib bench colouring`` emulates one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 600

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


def main(argv: list[str] | None = None) -> int:
    from .. import config as config_module
    from ..report.words import machine_summary

    p = argparse.ArgumentParser(
        prog="colourlib bench colouring", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", default="lite0", choices=list(config_module.COLOURING_MODELS))
    p.add_argument("--preset", default="quick", choices=list(config_module.PRESETS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    config = config_module.colouring_config(args.model, args.preset, args.seed)
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


if __name__ == "__main__":
    sys.exit(main())
