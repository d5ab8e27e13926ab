"""The process's CPU runtime, set deliberately for the machine it runs on and recorded beside every result.

Two settings matter on a small CPU machine:

* **The allocator.** glibc's malloc serves every block over 128 KiB-32 MiB with a fresh ``mmap`` and returns it
  with ``munmap``, so each training step's batches, activations and decoded photos fault their pages in again:
  3.5 million page faults in a 55 s training run here (2 epochs of the whole network decoding photos from disk),
  the likely cause of the kernel time an AMD EPYC machine showed as 42 % of its CPU. Raising the thresholds keeps
  freed memory in the process for reuse: on that run page faults fell 7x and kernel time 2.6x; on the timed steps
  alone (``python -m study bench runtime``) page faults fell 80x. A run uses a little more resident memory in exchange.
* **The thread pools.** TensorFlow's intra-op pool (one op's work split over cores) is set to the cores this
  process may use (its CPU affinity, not the machine's count) and its inter-op pool to the same, TF's own default
  made explicit, so the record says what ran.
* **Devices as compute units.** With several replicas and no GPU, each replica gets its own share of the cores:
  the process is held to ``devices x cores_per_device`` cores, each op runs on as many threads as one device has
  cores (intra-op pool = the share; TensorFlow has one such pool per process, not one per device) and the
  replicas' ops run side by side (inter-op pool = the devices). Two replicas on two
  cores then compute at once, as two GPUs would, instead of queueing for one pool of both cores (which only adds
  the mirroring's cost). One device on one core is the fair baseline; one device on every core the alternative.

``configure()`` is called by training, ``colourise`` and the benchmarks before their first tensor; setting
``COLOURLIB_RUNTIME=default`` leaves both at the libraries' defaults (the benchmark's "before").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

#: glibc mallopt parameters and the values set: mmap only above 32 MiB (glibc's maximum threshold), keep up to
#: 512 MiB of freed heap instead of trimming it, and grow the heap 64 MiB at a time.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MALLOC_SETTINGS = {
    "M_MMAP_THRESHOLD": (M_MMAP_THRESHOLD, 32 << 20),
    "M_TRIM_THRESHOLD": (M_TRIM_THRESHOLD, 512 << 20),
    "M_TOP_PAD": (M_TOP_PAD, 64 << 20),
}
#: Environment variables that change how the CPU runtime behaves; their values are recorded.
RECORDED_ENV = (
    "ONEDNN_MAX_CPU_ISA",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "XLA_FLAGS",
    "MALLOC_ARENA_MAX",
    "TF_CPU_ALLOCATOR_USE_BFC",  # TensorFlow's pooled CPU allocator: measured slower here, left off
    "COLOURLIB_RUNTIME",
)

_state: dict | None = None


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask: a container or ``taskset`` may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _mallopt():
    """glibc's ``mallopt``, from the symbols already in this process (``find_library`` needs ``ldconfig`` or a
    compiler, which slim machines may lack, and then the settings would silently not apply)."""
    for name in (None, "libc.so.6", "find"):
        try:
            return ctypes.CDLL(ctypes.util.find_library("c") if name == "find" else name).mallopt
        except (OSError, AttributeError, TypeError):
            continue
    return None


def _set_malloc() -> dict:
    mallopt = _mallopt()
    if mallopt is None:
        return {"allocator": "unchanged (no glibc mallopt here)"}
    done = {
        key: value for key, (param, value) in MALLOC_SETTINGS.items() if mallopt(param, value) == 1
    }
    if not done:  # e.g. a C library whose mallopt is a stub
        return {"allocator": "unchanged (mallopt accepted none of the settings)"}
    return {"allocator": "glibc malloc, thresholds raised", **done}


def core_share(
    devices: int, cores_per_device: int, cores: int | None = None
) -> tuple[int, list[int]]:
    """Each device's cores and the cores the process is held to, for ``devices`` replicas of ``cores_per_device``
    cores each (0: the usable cores split evenly). Raises :class:`ConfigError` naming the limit and the fix when
    the machine has too few."""
    from .. import ConfigError

    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cores = cores or len(allowed) or os.cpu_count() or 1
    share = cores_per_device or max(1, cores // devices)
    if devices * share > cores:
        raise ConfigError(
            f"gpus={devices} with cores_per_device={share} needs {devices * share} CPU cores, and this process "
            f"may use {cores}: a device is a share of the cores on a machine without GPUs. Fix: gpus <= "
            f"{cores // share}"
            + (f" or cores_per_device <= {cores // devices}" if cores >= devices else "")
            + ", or a machine with more cores or GPUs."
        )
    return share, allowed[: devices * share]


def _pin(cores: list[int]) -> None:
    """Hold every thread of this process to ``cores`` (Linux sets one thread's mask at a time, and threads
    started before, a BLAS pool's, keep theirs otherwise)."""
    if not cores or not hasattr(os, "sched_setaffinity") or set(cores) == os.sched_getaffinity(0):
        return
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for thread in threads:
        try:
            os.sched_setaffinity(thread, cores)
        except OSError:  # a thread that ended meanwhile
            pass


def _has_gpu() -> bool:
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _set_threads(cores: int, devices: int = 1) -> dict:
    import keras

    if keras.backend.backend() != "tensorflow":
        return {"threads": f"{keras.backend.backend()} backend's defaults"}
    import tensorflow as tf

    threading = tf.config.threading
    note = "set"
    try:
        if not os.environ.get("TF_NUM_INTRAOP_THREADS"):
            threading.set_intra_op_parallelism_threads(cores)
        if not os.environ.get("TF_NUM_INTEROP_THREADS"):
            threading.set_inter_op_parallelism_threads(devices if devices > 1 else cores)
    except (
        RuntimeError
    ):  # TensorFlow already started in this process (e.g. a notebook that ran something first)
        note = "already running when configured: left as they were"
    return {
        "threads": note,
        "intra_op_threads": threading.get_intra_op_parallelism_threads() or "default (cores)",
        "inter_op_threads": threading.get_inter_op_parallelism_threads() or "default (cores)",
    }


def configure(devices: int | None = None, cores_per_device: int | None = None) -> dict:
    """Set the allocator and thread pools for this machine (once per process) and return what was set.

    ``devices`` replicas on the TensorFlow backend with no GPU: each gets ``cores_per_device`` cores (0: the usable
    cores split evenly) and the process, every thread of it, is held to them (see the module's docstring); loader
    processes started later inherit that, as each device process's own loaders would. With GPUs, or on another
    backend, the cores stay the loaders' and the backend's. None (both): whatever this process was laid out for
    (``colourise``). Raises :class:`ConfigError` when the cores do not suffice, or when this process was already
    laid out for other devices (devices are laid out once per process)."""
    from .. import ConfigError

    global _state
    if _state is not None:
        if devices is not None and _effective(devices, cores_per_device or 0) != _state["layout"]:
            raise ConfigError(
                f"this process was laid out for {_state['layout'][0]} device(s) of "
                f"{_state['layout'][1] or 'all the'} core(s); gpus={devices} with cores_per_device="
                f"{cores_per_device or 0} needs a fresh process. Fix: restart the notebook kernel, or run "
                "`python -m colourlib train ...`."
            )
        return {**_state, "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}}
    devices, cores_per_device = devices or 1, cores_per_device or 0
    cores = usable_cores()
    split = _splits(devices, cores_per_device)
    share, held = core_share(devices, cores_per_device, cores) if split else (cores, [])
    if os.environ.get("COLOURLIB_RUNTIME", "") == "default":
        split = False  # nothing pinned or sized: the plan must not claim cores of their own
        _state = {
            "settings": "libraries' defaults (COLOURLIB_RUNTIME=default)",
            "usable_cores": cores,
        }
    else:
        _pin(held)
        _state = {
            "settings": "colourlib.backend.runtime",
            "usable_cores": usable_cores(),
            **_set_malloc(),
            **_set_threads(share, devices if split else 1),
        }
    _state["layout"] = (devices, share) if split else (devices, 0)
    _state["cores_per_device"] = share if split else None
    return {**_state, "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}}


def _splits(devices: int, cores_per_device: int) -> bool:
    """Whether ``devices`` replicas get cores of their own: asked for, on TensorFlow, with no GPU."""
    import keras

    asked = devices > 1 or cores_per_device > 0
    return asked and keras.backend.backend() == "tensorflow" and not _has_gpu()


def _effective(devices: int, cores_per_device: int) -> tuple[int, int]:
    """The layout ``configure`` records for a request, to compare a later request with."""
    if not _splits(devices, cores_per_device):
        return (devices, 0)
    return (
        devices,
        core_share(devices, cores_per_device, _state["usable_cores"] if _state else None)[0],
    )


def cores_per_device() -> int | None:
    """Each replica's own cores in this process, as :func:`configure` laid them out (None: not split, e.g. with
    GPUs, or not configured)."""
    return None if _state is None else _state.get("cores_per_device")


def record() -> dict:
    """What :func:`configure` set in this process (or that it has not run), for ``environment.json``."""
    if _state is None:
        return {
            "settings": "not configured by colourlib in this process",
            "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ},
        }
    return {**_state, "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}}
