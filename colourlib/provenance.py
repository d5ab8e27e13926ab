"""Where a result came from: library versions, hardware, git commit and date, written beside every run."""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from . import layers, paths

PACKAGES = ("colourlib", "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "numpy",
            "scikit-image", "pillow", "pandas", "seaborn", "matplotlib", "papermill", "jupyter-book")


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def accelerators() -> list[str]:
    """Physical accelerators the active Keras backend sees (an empty list on a CPU-only machine)."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                    for d in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # a broken driver must not stop a run from being recorded
        return [f"unknown ({type(exc).__name__}: {exc})"]
    return []


def git_commit() -> dict[str, str | bool | None]:
    root = paths.REPO_ROOT
    if root is None:
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def code_fingerprint(package_dir: Path = paths.PACKAGE_DIR) -> str:
    """A digest of the core library's source (every module outside ``study/``, ``report/`` and ``apps/``; see
    :mod:`colourlib.layers`) and of the embedded photo set's manifest: a finished run is reused only while the
    code and photos that made it are unchanged, so a fix to the training code is never hidden behind an old
    result, and an edit to the CLI, the book or a figure never retrains anything."""
    digest = hashlib.sha256()
    manifest = package_dir / "photos" / "manifest.csv"
    for path in [*layers.sources("core", package_dir), *([manifest] if manifest.is_file() else [])]:
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cores_phrase(usable: int | None, machine: int | None = None) -> str:
    """'2 cores', '1 core of 2': the cores a run could use, and the machine's when a container or ``taskset``
    allowed fewer (a time measured on 1 core of 2 must not read as a 2-core time)."""
    if usable is None:
        return "? cores"
    text = f"{usable} core{'' if usable == 1 else 's'}"
    return f"{text} of {machine}" if machine and machine != usable else text


def recorded_cores(env: dict) -> str:
    """:func:`cores_phrase` of an ``environment.json`` record (one written before ``machine_cores`` gives the count)."""
    return cores_phrase(env.get("cpu_cores"), env.get("machine_cores"))


def machine_summary() -> str:
    """The CPU and the cores this process may use, as the benchmarks print them beside their times."""
    from . import runtime

    return f"{cpu_model()}, {cores_phrase(runtime.usable_cores(), os.cpu_count())}"


def environment_record() -> dict:
    """Everything needed to say on what, with what and when a result was produced."""
    import keras

    from . import runtime

    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "keras_backend": keras.backend.backend(),
        "cpu": cpu_model(),
        "cpu_cores": runtime.usable_cores(),  # the cores this process may use (taskset, a container)
        "machine_cores": os.cpu_count(),
        "runtime": runtime.record(),  # allocator and thread pools as this process runs them
        "memory_gib": memory_gib(),
        "accelerators": accelerators(),
        "versions": _versions(),
        "git": git_commit(),
        "code_fingerprint": code_fingerprint(),
    }
