"""Benchmark: the training step against the machine's limit, before and after colourlib's runtime settings, on
TensorFlow and on JAX.

``colourlib bench runtime`` times both regimes of the study matrix (1 device, 1 loading thread) in fresh
processes: on TensorFlow with the libraries' default allocator and thread pools (``COLOURLIB_RUNTIME=default``,
"before") and with :mod:`colourlib.backend.runtime`'s ("after"), and on JAX. For each it prints images/s, seconds per
step, the user and kernel CPU seconds and page faults of the timed steps, the step's GFLOP/s and its share of the
machine's sgemm (numpy float32), and which instruction set oneDNN used. Under ``ONEDNN_MAX_CPU_ISA=AVX2`` (a
machine without AVX-512, emulated) numpy's OpenBLAS is held to AVX2 too; XLA (JAX) compiles for the real CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

#: (label, backend, runtime setting) of each measured variant, in the order printed.
VARIANTS = (
    ("tensorflow, library defaults (before)", "tensorflow", "default"),
    ("tensorflow, colourlib.backend.runtime (after)", "tensorflow", "colourlib"),
    ("jax, colourlib.backend.runtime", "jax", "colourlib"),
)


def _child(regime_name: str, steps: int, warmup: int) -> dict:
    from ..speed import matmul_gflops, measure
    from ..study.matrix import Configuration, load_matrix

    regime = next(r for r in load_matrix().regimes if r.name == regime_name)
    result = measure(regime.config(Configuration(1, 1)), steps, warmup)
    return {**result, "sgemm_gflops": matmul_gflops()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="colourlib bench runtime", description=__doc__.split("\n")[0]
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
        print(json.dumps(_child(args.child, args.steps, args.warmup)))
        return 0

    import pandas as pd

    from ..provenance import environment_record
    from ..report.words import machine_summary
    from ..study.timing import child_env
    from .bench import save_record
    from .bench_colouring import onednn_isa

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
                        "colourlib",
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
