"""The parallel study's speed measurements: every (regime, configuration) of the matrix timed for a fixed number
of training steps after warm-up (:func:`study.speed.measure`), repeated, each repeat in fresh processes.

One child process per (repeat, gpus) times every regime at that replica count: per regime it builds the network
and compiles its step once (:class:`study.speed.SpeedProbe`), measures the step alone and the loader alone (the
overlap model's S and L, :mod:`study.parallel`) and times every loader setting, in an order rotated from
repeat to repeat, so whatever drifts during a study (the machine's clock, its neighbours) falls on every
configuration alike; replicas need their own process because devices are laid out once per process.
Each timing is written to ``<out>/<regime>/<configuration>/repeat-<k>.json`` with its configuration, the timing
settings, the code's fingerprint and the setup (CPU, ISA cap, backend, runtime settings); outside the study's
pipeline (which decides reuse itself), a timing of the same four is reused. ``python -m study.timing REQUEST`` is
the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from colourlib import atomic
from colourlib.config import TrainConfig
from study.matrix import Configuration, Matrix, Regime, Timing, check_machine


@dataclass(frozen=True)
class TimingJob:
    """What one child process times: at one replica count, each (regime, loader setting) of ``runs`` in order."""

    repeat: int
    gpus: int
    runs: tuple[tuple[Regime, Configuration], ...]
    cores_per_device: int = 0  # 0: the process's cores split evenly over its devices

    @property
    def regimes(self) -> list[str]:
        return list(dict.fromkeys(regime.name for regime, _ in self.runs))

    @property
    def devices(self) -> str:
        return f"gpus={self.gpus}" + (
            f" x {self.cores_per_device} core(s)" if self.cores_per_device else ""
        )

    @property
    def label(self) -> str:
        return f"timing repeat {self.repeat + 1}, {self.devices}, {' + '.join(self.regimes)}"

    @property
    def kind(self) -> str:
        """The progress kind: the repeats of one process's work take about as long."""
        return f"timing {self.devices}, {' + '.join(sorted(self.regimes))}"

    @property
    def request_name(self) -> str:
        which = "all" if len(self.regimes) > 1 else self.regimes[0]
        cores = f"-cores{self.cores_per_device}" if self.cores_per_device else ""
        return f"request-repeat{self.repeat + 1}-gpus{self.gpus}{cores}-{which}.json"


def result_file(out_dir: Path, regime: Regime, row: Configuration, repeat: int) -> Path:
    return Path(out_dir) / regime.name / row.name / f"repeat-{repeat + 1}.json"


def _rotated(items: list, by: int) -> list:
    shift = by % len(items) if items else 0
    return items[shift:] + items[:shift]


def jobs(matrix: Matrix) -> list[TimingJob]:
    """Every child process of the measurement: one per (repeat, device set: replica count and each replica's
    cores), timing every regime's rows of that set (a process start with TensorFlow's import costs seconds, on a
    slow machine tens). From repeat to repeat the regimes' order, each regime's rows and the device sets' order
    are rotated, so a drift of the machine falls on every configuration alike."""
    out = []
    sets = list(dict.fromkeys(row.device_set for row in matrix.configurations))
    for repeat in range(max(matrix.timing_of(regime).repeats for regime in matrix.regimes)):
        regimes = [r for r in matrix.regimes if repeat < matrix.timing_of(r).repeats]
        for device_set in _rotated(sets, repeat):
            runs = [
                (regime, row)
                for regime in _rotated(regimes, repeat)
                for row in _rotated(
                    [r for r in matrix.rows_of(regime) if r.device_set == device_set], repeat
                )
            ]
            if runs:
                out.append(TimingJob(repeat, device_set[0], tuple(runs), device_set[1]))
    return out


#: The code that computes a timing: this module's child process and everything it imports (the training code
#: and :mod:`study.speed` among them).
TIMING_CODE = ("study.timing",)
#: Environment variables that change what a timing measures: one taken under another is not reused.
SETUP_ENV = (
    "ONEDNN_MAX_CPU_ISA",
    "KERAS_BACKEND",
    "COLOURLIB_RUNTIME",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
)


def is_backend_noise(line: str) -> bool:
    """TensorFlow/XLA start-up lines, printed by C++ before any setting can silence them (logs keep them)."""
    return (
        line.startswith(("WARNING: All log messages", "W0000", "I0000", "E0000"))
        or "rebuild TensorFlow" in line
    )


def setup() -> dict:
    """What besides the code decides a timing: the CPU, the cores the process may use (a ``taskset -c 0`` timing
    is not a 2-core one) and the variables of :data:`SETUP_ENV`."""
    from colourlib.backend.runtime import usable_cores
    from colourlib.provenance import cpu_model

    return {
        "cpu": cpu_model(),
        "usable_cores": usable_cores(),
        **{k: os.environ.get(k, "") for k in SETUP_ENV},
    }


def _is_current(
    path: Path, config: TrainConfig, timing: Timing, fingerprint: str, here: dict
) -> bool:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        saved.get("config") == config.to_dict()
        and saved.get("timing") == asdict(timing)
        and saved.get("code_fingerprint") == fingerprint
        and saved.get("setup") == here
    )


def child_env() -> dict:
    """The child's environment: under ``ONEDNN_MAX_CPU_ISA=AVX2`` (emulating a machine without AVX-512) numpy's
    OpenBLAS is held to AVX2 too, so the sgemm reference is the emulated machine's."""
    env = dict(os.environ)
    if env.get("ONEDNN_MAX_CPU_ISA", "").upper().startswith("AVX2"):
        env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    return env


def step_share(matrix: Matrix, job: TimingJob) -> int:
    """How many devices' share of the batch a one-device process also times its step on: the most devices of a
    row whose devices have this process's cores (1: none; the scaling model needs the step on one device's
    share, measured on that device's cores)."""
    if job.gpus != 1 or not job.cores_per_device:
        return 1
    return max(
        [r.gpus for r in matrix.configurations if r.cores_per_device == job.cores_per_device],
        default=1,
    )


def time_matrix(matrix: Matrix, out_dir: Path, force: bool = False, on_job=None) -> list[str]:
    """Time every configuration of ``matrix`` into ``out_dir``, one child process at a time; returns the failures
    (empty: all timed). ``on_job(job, reused)`` is called before each child."""
    check_machine(matrix)
    failures = []
    for job in jobs(matrix):
        failure = time_job(matrix, job, out_dir, force, on_job)
        if failure:
            failures.append(failure)
    return failures


def time_job(
    matrix: Matrix, job: TimingJob, out_dir: Path, force: bool = False, on_job=None
) -> str | None:
    """Time one child process's configurations (``job``) into ``out_dir``, beside the cores' parallel ceiling
    measured just before it; a timing of the same configuration, settings and code already there is kept unless
    ``force``. Returns the failure (None: timed)."""
    from colourlib.provenance import code_fingerprint
    from study import speed

    fingerprint, here = code_fingerprint(TIMING_CODE), setup()
    pending = [
        (regime, row)
        for regime, row in job.runs
        if force
        or not _is_current(
            result_file(out_dir, regime, row, job.repeat),
            regime.config(row),
            matrix.timing_of(regime),
            fingerprint,
            here,
        )
    ]
    if on_job is not None:
        on_job(job, not pending)
    if not pending:
        return None
    ceiling = speed.parallel_ceiling()  # at the time of the speedups it bounds
    print(
        f"      the cores' parallel arithmetic now: {ceiling['ceiling']:.2f}x "
        f"({ceiling['ceiling_cores']} single-threaded sgemms at once against one)",
        flush=True,
    )
    request = Path(out_dir) / job.request_name
    request.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(
        request,
        {
            "repeat": job.repeat,
            "ceiling": ceiling,
            "step_share": step_share(matrix, job),
            "code_fingerprint": fingerprint,
            "setup": here,
            "runs": [
                {
                    "config": regime.config(row).to_dict(),
                    "regime": regime.name,
                    "row": asdict(row),
                    "timing": asdict(matrix.timing_of(regime)),
                    # relative to the request, so the timings' folder (and the clone) can move
                    "file": os.path.relpath(
                        result_file(out_dir, regime, row, job.repeat), request.parent
                    ),
                }
                for regime, row in pending
            ],
        },
        kind="timing-request",
    )
    log = request.with_suffix(".log")
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "study.timing", str(request)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=child_env(),
        )
        for line in process.stdout:
            sink.write(line)
            if not is_backend_noise(line):
                print("      " + line, end="", flush=True)
        code = process.wait()
    return f"{job.label}: exit {code} (log: {log})" if code else None


def timings(matrix: Matrix, out_dir: Path) -> pd.DataFrame:
    """One row per (regime, configuration, repeat) found in ``out_dir``: the configuration and its timing; a
    configuration with no timing at all gets one row with status "missing"."""
    from colourlib.backend.runtime import usable_cores

    rows = []
    for regime in matrix.regimes:
        for row in matrix.rows_of(regime):
            base = {
                "regime": regime.name,
                "gpus": row.gpus,
                # each device's cores: the row's, or the cores split evenly (as the timing process splits them)
                "cores": row.cores_per_device or max(1, usable_cores() // row.gpus),
                "workers": row.workers,
                "loaders": row.loaders,
            }
            found = 0
            for repeat in range(matrix.timing_of(regime).repeats):
                path = result_file(out_dir, regime, row, repeat)
                if path.is_file():
                    saved = json.loads(path.read_text())
                    ran = saved["result"].get("cores_per_device")  # what the process laid out
                    rows.append(
                        {
                            **base,
                            **({"cores": int(ran)} if ran else {}),
                            "repeat": repeat + 1,
                            "status": "ok",
                            **saved["result"],
                            "sgemm_gflops": saved["sgemm_gflops"],
                            "image_size": saved["config"]["image_size"],
                            "batch_size": saved["config"]["batch_size"],
                            "environment": saved["environment"],
                        }
                    )
                    found += 1
            if not found:
                rows.append({**base, "status": "missing"})
    return pd.DataFrame(rows)


def _child(request_path: Path) -> int:
    """Time each run of a request in this process, regime by regime (one probe each: its network built and its
    step compiled once), writing each result as soon as it is measured. Beside the timings, per regime: the step
    alone (the overlap model's S); in a one-device process whose devices' cores match a multi-device row's, the
    step on a device's share of the batch; in a multi-device process, the gradients' bytes and the seconds their
    all-reduce takes (the scaling model's inputs, :mod:`study.parallel`)."""
    from colourlib.backend.runtime import usable_cores
    from colourlib.provenance import environment_record
    from study.speed import SpeedProbe, matmul_gflops

    request = json.loads(request_path.read_text())
    for run in request[
        "runs"
    ]:  # results go beside the request (an absolute path, as older requests wrote, too)
        run["file"] = str(request_path.parent / run["file"])
    sgemm = None  # measured once the process holds its devices' cores, on those cores
    environment = None
    groups: dict[str, list[dict]] = {}
    for run in request["runs"]:
        groups.setdefault(run["regime"], []).append(run)
    loaders = ("workers", "use_multiprocessing")
    for runs in groups.values():
        configs = [TrainConfig.from_dict(r["config"], source=str(request_path)) for r in runs]
        shared = [{k: v for k, v in c.to_dict().items() if k not in loaders} for c in configs]
        if any(s != shared[0] or r["timing"] != runs[0]["timing"] for s, r in zip(shared, runs)):
            raise ValueError(
                f"{request_path}: the runs of one regime may differ only in their loaders"
            )
        timing = runs[0]["timing"]
        probe = SpeedProbe(configs[0], timing["steps"] + timing["warmup_steps"])
        if (
            sgemm is None
        ):  # every thread of the process, numpy's BLAS pool too, now on the devices' cores
            sgemm = matmul_gflops()
            print(f"sgemm (numpy float32, this process's cores): {sgemm:.0f} GFLOP/s", flush=True)
            environment = environment_record()
        with probe:
            alone = probe.step_alone(timing["steps"], timing["warmup_steps"])
            alone |= {
                "gradient_bytes": probe.gradient_bytes(),
                "allreduce_seconds": probe.allreduce_seconds(),
                "cores_per_device": probe.plan.cores_per_device or usable_cores(),
                "device_kind": probe.plan.kind,
                "usable_cores": usable_cores(),  # after the devices' cores were laid out
                **request.get("ceiling", {}),
            }
            _time_each(request, runs, configs, probe, sgemm, environment, alone)
            share = request.get("step_share", 1)
            if share > 1 and probe.plan.total_replicas == 1:
                # after the timings: a second batch shape retraces the step, and must not touch what they time
                extra = probe.step_alone(timing["steps"], timing["warmup_steps"], share=share)
                for run in runs:
                    saved = json.loads(Path(run["file"]).read_text())
                    saved["result"].update(extra)
                    atomic.write_json(Path(run["file"]), saved, kind="timing")
        del probe
        import keras

        keras.backend.clear_session()
    return 0


#: Batches the loader produces alone, for its seconds per batch (the overlap model's L)
LOADER_BATCHES = 16


def _time_each(
    request: dict,
    runs: list[dict],
    configs: list[TrainConfig],
    probe,
    sgemm: float,
    environment: dict,
    alone: dict,
) -> None:
    for run, config in zip(runs, configs):
        timing = run["timing"]
        started = time.perf_counter()
        result = probe.time(
            config.workers, config.use_multiprocessing, timing["steps"], timing["warmup_steps"]
        )
        loader, loader_cpu = probe.loader_alone(
            config.workers, config.use_multiprocessing, LOADER_BATCHES
        )
        result.update(
            alone,
            loader_seconds_alone=loader,
            loader_cpu_seconds_alone=loader_cpu,
            loader_batches_alone=LOADER_BATCHES,
        )
        Path(run["file"]).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(
            Path(run["file"]),
            {
                "config": run["config"],
                "timing": timing,
                "code_fingerprint": request["code_fingerprint"],
                "setup": request["setup"],
                "repeat": request["repeat"],
                "result": result,
                "sgemm_gflops": sgemm,
                "environment": environment,
            },
            kind="timing",
        )
        cpu = (
            "CPU of the loader processes not measured"
            if result["sys_seconds"] is None
            else f"kernel {result['sys_seconds']:.1f} s of {result['user_seconds'] + result['sys_seconds']:.1f} s CPU"
        )
        print(
            f"{run['regime']} {Configuration(**run['row']).name}: {result['seconds_per_step']:.3f} s/step "
            f"(apart: loader {result['loader_seconds_alone'] * 1000:.0f} ms a batch, step "
            f"{result['step_seconds_alone'] * 1000:.0f} ms), {result['images_per_s']:.1f} images/s, {cpu} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
