"""How Keras runs on this machine: the CPU runtime (:mod:`.runtime`: allocator and thread pools, set and recorded),
the devices data-parallel replicas train on (:mod:`.replicas`), and every private Keras or JAX name the project
relies on, each with a canary test (:mod:`.keras_internals`)."""

from __future__ import annotations

import os
import sys


def missing_backend(exc: ImportError) -> str | None:
    """The one line for ``exc`` when it is Keras's chosen backend package missing (``KERAS_BACKEND=torch``
    without torch installed), else None: that is a setting the user fixes, not a bug to show a traceback for."""
    chosen = os.environ.get("KERAS_BACKEND", "tensorflow")
    missing = (getattr(exc, "name", None) or "").split(".")[0]
    if not missing or missing != chosen:
        return None
    if "KERAS_BACKEND" not in os.environ:
        return (
            f"Keras's default backend, {missing}, is not installed here. Fix: make install (it installs the "
            "locked versions), or set KERAS_BACKEND=jax where JAX is installed."
        )
    return (
        f"KERAS_BACKEND={chosen}: Keras's {chosen} backend needs the {missing} package, which is not installed "
        f"here. Fix: unset KERAS_BACKEND (TensorFlow, the default), set KERAS_BACKEND=jax, or install {missing}."
    )


def exit_if_missing_backend(exc: ImportError, prefix: str = "error") -> int:
    """The command line's answer to ``exc``: one line and exit status 2 when it is the chosen backend's package
    missing (:func:`missing_backend`); anything else is a bug and is raised again, with its traceback."""
    line = missing_backend(exc)
    if line is None:
        raise exc
    print(f"{prefix}: {line}", file=sys.stderr)
    return 2
