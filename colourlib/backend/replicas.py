"""Data-parallel replicas (the paper's ``multi_gpu_model``): which devices train, and the scope that uses them.

``gpus`` replicas each get ``batch_size / gpus`` of every global batch and their gradients are summed, as
``multi_gpu_model`` did. Physical GPUs are used when the machine has enough. On a machine without GPUs each
replica is a CPU device with its own share of the cores (TensorFlow: :func:`colourlib.backend.runtime.configure`
holds the process to ``gpus x cores_per_device`` cores and sizes the thread pools so the replicas compute side by
side): a compute unit, like a GPU. Otherwise the replicas run on *logical* devices carved from what exists:
several logical GPUs on one GPU (TensorFlow), or XLA's host devices sharing one thread pool (JAX). Logical
replicas share the same silicon, so they show the cost of the data-parallel machinery, never a hardware speedup;
every plan says which kind it is (:attr:`ReplicaPlan.kind`).

Devices must be laid out before the backend creates its first tensor, so :func:`provide` is called at the start
of a fresh process (the study runs each configuration in its own process). Multi-machine training uses
TensorFlow's ``MultiWorkerMirroredStrategy``, configured by the standard ``TF_CONFIG`` variable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras

from .. import ColourlibError
from ..config import ConfigError, check_int
from .keras_internals import build_before_fit, patch_multi_worker_reduction, request_jax_cpu_devices

__all__ = [
    "PeerLost",
    "ReplicaPlan",
    "build_before_fit",
    "capacity",
    "peers_watched",
    "provide",
    "replica_scope",
    "tf_config",
]

#: Data parallelism with the same global batch computes the same gradient, summed in another order: the losses of
#: 1 and 2 replicas on the same batches agree to this relative tolerance (float32 rounding), and workers change
#: nothing at all (tests/test_parallel.py checks both; the book cites this value).
REPLICA_LOSS_RTOL = 1e-4

#: At most this many logical GPUs are carved from one physical GPU (TensorFlow only), each with this memory.
MAX_LOGICAL_PER_GPU = 4
LOGICAL_GPU_MEMORY_MB = int(os.environ.get("COLOURLIB_LOGICAL_GPU_MB", "8192"))
#: Multi-machine training: a machine that has not joined, or stopped answering, within this many seconds ends the
#: run on the others with one line naming it (:class:`PeerLost`).
PEER_TIMEOUT_S = int(os.environ.get("COLOURLIB_PEER_TIMEOUT_S", "60"))


class PeerLost(ColourlibError):
    """A machine of a multi-machine run never joined, or stopped answering. ``already_said``: the watchdog has
    printed its own line about it, so the command line prints nothing more (one line, not two)."""

    already_said = False


#: The file the running :class:`PeerWatchdog` creates just before it prints its line (None: no watchdog).
_WATCHDOG_SAID: Path | None = None


def peer_lost(cluster: dict, error: Exception) -> PeerLost:
    """One line naming the other machines of ``cluster`` and the fix, from TensorFlow's ``error`` (marked
    ``already_said`` when the watchdog reported the same loss first)."""
    workers = cluster["cluster"]["worker"]
    me = int(cluster["task"]["index"])
    others = ", ".join(f"worker {i} ({w})" for i, w in enumerate(workers) if i != me)
    first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
    lost = PeerLost(
        f"multi-machine training stopped: {others} did not join or stopped answering within "
        f"{PEER_TIMEOUT_S} s (TensorFlow: {first}). Fix: start the same command there with its TF_CONFIG "
        "task index (or restart it if it died): a run killed mid-way resumes at its last finished epoch."
    )
    lost.already_said = _WATCHDOG_SAID is not None and _WATCHDOG_SAID.exists()
    return lost


@dataclass
class ReplicaPlan:
    """Where the replicas of one run live, recorded beside its results."""

    backend: str
    replicas: int  # replicas in this process (per machine under multi-worker)
    device_kind: str  # "GPU" or "CPU"
    physical: bool  # False: logical devices sharing one physical device
    devices: list[str]
    hosts: int = 1  # machines (TF_CONFIG workers) training together
    task_index: int = 0  # this machine's index among them (0 = chief, writes the run's results)
    notes: list[str] = field(default_factory=list)
    cores_per_device: int | None = None  # CPU devices: each one's own cores (None: not split)

    @property
    def total_replicas(self) -> int:
        return self.replicas * self.hosts

    @property
    def kind(self) -> str:
        """``gpu``, ``cpu-cores`` (a CPU device with cores of its own) or ``logical`` (sharing one processor)."""
        if self.device_kind == "GPU":
            return "gpu" if self.physical else "logical"
        return "cpu-cores" if self.cores_per_device else "logical" if self.replicas > 1 else "cpu"

    @property
    def label(self) -> str:
        where = f" on each of {self.hosts} machines" if self.hosts > 1 else ""
        plural = "s" if self.replicas > 1 else ""
        if self.kind == "cpu-cores":
            cores = f"{self.cores_per_device} core{'s' if self.cores_per_device > 1 else ''}"
            return (
                f"{self.replicas} CPU device{plural} of {cores}{' each' if plural else ''}{where}"
            )
        kind = ("physical " if self.physical else "logical ") + self.device_kind
        return f"{self.replicas} {kind}{plural}{where}"

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "total_replicas": self.total_replicas,
            "label": self.label,
            "kind": self.kind,
        }


def tf_config() -> dict | None:
    """The parsed ``TF_CONFIG`` (multi-machine training), or None when it is not set."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        value = json.loads(raw)
        workers = value["cluster"]["worker"]
        index = int(value["task"]["index"])
        assert isinstance(workers, list) and 0 <= index < len(workers)
        return value
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ConfigError(
            f"TF_CONFIG={raw!r} is not a usable cluster description ({exc}). Fix: set it to e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}} on host1 (index 1 on host2), '
            "or unset it to train on one machine."
        ) from None


def capacity() -> tuple[int, str]:
    """The most replicas this machine can provide for the active backend, and why (without creating tensors)."""
    backend = keras.backend.backend()
    cores = os.cpu_count() or 1
    gpus = _physical_gpus(backend)
    if backend == "tensorflow" and gpus:
        most = max(len(gpus), MAX_LOGICAL_PER_GPU)
        return most, (
            f"{len(gpus)} physical GPU(s); up to {MAX_LOGICAL_PER_GPU} logical GPUs can be carved from "
            "one"
        )
    if gpus:
        return (
            len(gpus),
            f"{len(gpus)} physical GPU(s); the {backend} backend cannot split one GPU into logical ones",
        )
    return cores, f"no GPU; up to one CPU device per core ({cores} cores)"


def _physical_gpus(backend: str) -> list[str]:
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform != "cpu"]
    if backend == "torch":
        import torch

        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return []


def provide(gpus: int) -> ReplicaPlan:
    """Lay out ``gpus`` replicas on this machine's devices (physical if it has enough GPUs, else logical).

    Raises :class:`ConfigError` naming the value and what is possible when ``gpus`` cannot be provided, or when
    the backend was already started with too few devices in this process.
    """
    check_int("gpus", gpus, 1, "replicas")
    backend = keras.backend.backend()
    cluster = tf_config()
    if cluster is not None:
        return _provide_multi_worker(gpus, backend, cluster)
    check_capacity(gpus)
    if backend == "tensorflow":
        return _provide_tensorflow(gpus)
    if backend == "jax":
        return _provide_jax(gpus)
    if gpus > 1:
        raise ConfigError(
            f"gpus={gpus} needs the tensorflow or jax backend (KERAS_BACKEND={backend!r})."
        )
    return ReplicaPlan(backend, 1, "GPU" if _physical_gpus(backend) else "CPU", True, ["default"])


def check_capacity(gpus: int) -> None:
    """Raise :class:`ConfigError` naming the machine's limit when it cannot provide ``gpus`` replicas in one
    process; called before anything else judges ``gpus`` (a batch of 16 cannot be split 1,000 ways either, but
    the machine's limit is the one to fix first). Multi-machine clusters are checked when they are laid out."""
    if gpus <= 1 or tf_config() is not None:
        return
    if keras.backend.backend() == "jax":
        request_jax_cpu_devices(gpus)  # before capacity() starts the backend
    most, why = capacity()
    if gpus > most:
        raise ConfigError(
            f"gpus={gpus} cannot be provided on this machine: {why}, so at most gpus={most}. "
            f"Fix: use gpus <= {most}, or a machine with {gpus} GPUs."
        )


def _too_late(gpus: int, have: int, kind: str) -> ConfigError:
    return ConfigError(
        f"gpus={gpus} needs {gpus} {kind} devices, but the backend already started in this process "
        f"with {have}. Devices can only be laid out before the first tensor exists. Fix: start a "
        "fresh process (restart the notebook kernel, or run `python -m colourlib train ...`)."
    )


def _provide_tensorflow(gpus: int) -> ReplicaPlan:
    import tensorflow as tf

    physical = tf.config.list_physical_devices("GPU")
    if len(physical) >= gpus:
        names = [f"/GPU:{i}" for i in range(gpus)]
        return ReplicaPlan("tensorflow", gpus, "GPU", True, names)
    kind, device = (
        ("GPU", physical[0]) if physical else ("CPU", tf.config.list_physical_devices("CPU")[0])
    )
    if gpus > 1:
        layout = [
            tf.config.LogicalDeviceConfiguration(
                memory_limit=LOGICAL_GPU_MEMORY_MB if kind == "GPU" else None
            )
            for _ in range(gpus)
        ]
        try:
            tf.config.set_logical_device_configuration(device, layout)
        except RuntimeError:  # TensorFlow already initialised: use what exists if it is enough
            have = len(tf.config.list_logical_devices(kind))
            if have < gpus:
                raise _too_late(gpus, have, kind) from None
    names = [d.name for d in tf.config.list_logical_devices(kind)][:gpus]
    from .runtime import cores_per_device

    share = cores_per_device() if kind == "CPU" else None
    if share:
        notes = [
            f"{gpus} CPU device(s) of {share} core(s) each: the process holds gpus x {share} cores, each op "
            f"runs on {share} thread(s) and the devices' ops side by side (colourlib.backend.runtime)."
        ]
    elif gpus > 1:
        notes = [
            f"{gpus} logical {kind} devices share one physical {kind}: this measures the "
            "cost of data-parallel training, not a speedup from more hardware."
        ]
    else:
        notes = []
    return ReplicaPlan(
        "tensorflow",
        gpus,
        kind,
        gpus == 1 or bool(share),
        names,
        notes=notes,
        cores_per_device=share,
    )


def _provide_jax(gpus: int) -> ReplicaPlan:
    import jax

    accelerators = [d for d in jax.devices() if d.platform != "cpu"]
    if len(accelerators) >= gpus:
        return ReplicaPlan("jax", gpus, "GPU", True, [str(d) for d in accelerators[:gpus]])
    cpus = jax.devices("cpu")
    if len(cpus) < gpus:
        raise _too_late(gpus, len(cpus), "CPU")
    notes = (
        []
        if gpus == 1
        else [
            f"{gpus} logical CPU devices (XLA host platform) share one CPU: this measures "
            "the cost of data-parallel training, not a speedup from more hardware."
        ]
    )
    return ReplicaPlan("jax", gpus, "CPU", gpus == 1, [str(d) for d in cpus[:gpus]], notes=notes)


def _provide_multi_worker(gpus: int, backend: str, cluster: dict) -> ReplicaPlan:
    if backend != "tensorflow":
        raise ConfigError(
            f"TF_CONFIG is set but KERAS_BACKEND={backend!r}: multi-machine training uses "
            "TensorFlow's MultiWorkerMirroredStrategy. Fix: KERAS_BACKEND=tensorflow, or unset TF_CONFIG."
        )
    import tensorflow as tf

    physical = tf.config.list_physical_devices("GPU")
    if gpus > max(len(physical), 1):
        raise ConfigError(
            f"gpus={gpus} per machine under TF_CONFIG, but this machine has {len(physical)} GPU(s); "
            "multi-machine training uses physical devices only. Fix: gpus <= "
            f"{max(len(physical), 1)}."
        )
    if physical:
        tf.config.set_visible_devices(physical[:gpus], "GPU")
    hosts = len(cluster["cluster"]["worker"])
    return ReplicaPlan(
        "tensorflow",
        gpus,
        "GPU" if physical else "CPU",
        True,
        [f"/GPU:{i}" for i in range(gpus)] if physical else ["/CPU:0"],
        hosts=hosts,
        task_index=int(cluster["task"]["index"]),
    )


_WATCHDOG_SCRIPT = r"""
import os, signal, socket, sys, time
parent, timeout, every, said = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
peers = [(int(i), a) for i, a in (p.split("=", 1) for p in sys.argv[5:])]
def answers(address):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False
seen = {i: time.monotonic() for i, _ in peers}
joined = set()
while os.getppid() == parent:
    now = time.monotonic()
    for i, address in peers:
        if answers(address):
            seen[i] = now
            joined.add(i)
        elif now - seen[i] > timeout:
            what = "stopped answering" if i in joined else "has not joined"
            open(said, "w").close()  # the parent, if it sees the loss too, then says nothing more
            print(f"error: multi-machine training stopped: worker {i} ({address}) {what} within {timeout:.0f} s. "
                  f"Fix: start the same command there with its TF_CONFIG task index {i} (or restart it if it "
                  "died); this machine's run resumes at its last finished epoch when its command runs again.",
                  file=sys.stderr, flush=True)
            os.kill(parent, signal.SIGTERM)
            time.sleep(5)
            if os.getppid() == parent:
                os.kill(parent, signal.SIGKILL)
            sys.exit(0)
    time.sleep(every)
"""


class PeerWatchdog:
    """Watches the other machines of a multi-machine run from a small process of its own: each must accept a
    connection on its TF_CONFIG address within :data:`PEER_TIMEOUT_S` of this one starting, and keep accepting while
    training runs. TensorFlow itself waits minutes for a peer that never started (holding Python's lock, so no
    thread of this process could act) and ends in a raw traceback when one dies; the watchdog prints one line naming
    the machine and the fix and ends this process (SIGTERM) within the timeout. It exits with the process it
    watches, and the run folder is crash-safe: the same command resumes it."""

    def __init__(self, cluster: dict, timeout: float = PEER_TIMEOUT_S, every: float = 2.0):
        workers = cluster["cluster"]["worker"]
        me = int(cluster["task"]["index"])
        self.peers = [f"{i}={w}" for i, w in enumerate(workers) if i != me]
        self.timeout, self.every = timeout, every
        self.process = None

    def start(self) -> None:
        import subprocess
        import tempfile

        global _WATCHDOG_SAID
        _WATCHDOG_SAID = Path(tempfile.mkdtemp(prefix="colourlib-watchdog-")) / "said"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WATCHDOG_SCRIPT,
                str(os.getpid()),
                str(self.timeout),
                str(self.every),
                str(_WATCHDOG_SAID),
            ]
            + self.peers
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


@contextlib.contextmanager
def peers_watched(plan: ReplicaPlan):
    """Training inside: on a multi-machine run, a peer that stops answering ends it with :class:`PeerLost`'s one
    line instead of TensorFlow's traceback."""
    if plan.hosts < 2:
        yield
        return
    import tensorflow as tf

    try:
        yield
    except tf.errors.OpError as exc:
        raise peer_lost(tf_config(), exc) from None


_MIRRORED: dict = {}  # devices -> the process's MirroredStrategy on them (see replica_scope)


@contextlib.contextmanager
def replica_scope(plan: ReplicaPlan):
    """Build, compile and fit inside this scope to train on the plan's replicas."""
    if plan.backend == "tensorflow" and (plan.total_replicas > 1):
        import tensorflow as tf

        # The strategy logs every all-reduce it plans at INFO; a notebook would show dozens of such lines.
        tf.get_logger().setLevel("WARNING")
        watchdog = None
        if plan.hosts > 1:
            patch_multi_worker_reduction()
            cluster = tf_config()
            watchdog = PeerWatchdog(
                cluster
            )  # a peer that never joins, or dies: one line, within the timeout
            watchdog.start()
            try:
                strategy = tf.distribute.MultiWorkerMirroredStrategy()
            except tf.errors.OpError as exc:
                watchdog.stop()
                raise peer_lost(cluster, exc) from None
        else:
            # One strategy per set of devices for the whole process: a second MirroredStrategy would number its
            # all-reduces from the same keys as the first, and TensorFlow's collectives, which remember each key's
            # tensor shape, then refuse a second network's gradients (the study times several in one process).
            strategy = _MIRRORED.get(tuple(plan.devices))
            if strategy is None:
                strategy = _MIRRORED.setdefault(
                    tuple(plan.devices), tf.distribute.MirroredStrategy(plan.devices)
                )
        try:
            with strategy.scope():
                yield strategy
        finally:
            if watchdog is not None:
                watchdog.stop()
    elif plan.backend == "jax" and plan.replicas > 1:
        import jax

        devices = [d for d in jax.devices() if str(d) in plan.devices] or jax.devices("cpu")[
            : plan.replicas
        ]
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield None
        finally:
            keras.distribution.set_distribution(previous)
    else:
        yield None
