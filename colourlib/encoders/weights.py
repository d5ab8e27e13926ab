"""Loading encoder weights with errors a person can act on: each names the parameter, the file and the fix."""

from __future__ import annotations

import warnings
from pathlib import Path

import keras

from .. import ColourlibError, atomic


class EncoderWeightsError(ColourlibError, ValueError):
    """Encoder weights that cannot be had or do not fit; the message names ``encoder_weights`` and the fix."""


def load_weights_checked(
    model: keras.Model, path: str | Path, parameter: str, expected: str
) -> None:
    """``model.load_weights(path)``, with errors that name the parameter, the file and what was expected."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise EncoderWeightsError(
            f"{parameter}={str(path)!r}: no such file. Fix: pass {expected}, or None."
        )
    try:
        with warnings.catch_warnings():
            # Keras only warns when part of the file does not match ("Affected layers will retain their
            # freshly-initialized weights"): a half-loaded encoder must fail here, not train silently
            warnings.filterwarnings(
                "error", message=r"(?s).*(Skipping|freshly-initialized weights)"
            )
            model.load_weights(str(path))
    except (
        Exception
    ) as exc:  # Keras raises ValueError, KeyError or OSError depending on the mismatch
        detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        detail = detail if len(detail) < 240 else detail[:240] + " ..."
        raise EncoderWeightsError(
            f"{parameter}={str(path)!r} does not fit {model.name} ({type(exc).__name__}: {detail}). "
            f"Fix: pass {expected}."
        ) from exc


def cached_conversion(target: Path, source: Path) -> Path | None:
    """``target`` when a conversion of ``source`` is already cached there and is not older than it, else None."""
    if target.is_file() and source.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    return None


def cache_conversion(model: keras.Model, target: Path, source: Path, verbose: bool) -> Path:
    """Write ``model``'s weights, converted from ``source``, to ``target`` in the user cache: atomically, so a
    stopped conversion never leaves a half-written file to be loaded next time."""
    with atomic.replacing(target, kind="converted-weights") as tmp:
        model.save_weights(tmp)
    if verbose:
        print(f"converted {source.name} to Keras weights, cached at {target}", flush=True)
    return target
