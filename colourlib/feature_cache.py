"""Frozen-encoder features kept on disk, so the runs of several seeds, a rerun and later studies encode their
crops once.

With the encoder frozen, what it makes of a crop depends only on the encoder, its weights, the crop and the
code, never on the training seed. Crops for cached features are therefore drawn with :data:`CROP_SEED`, the same
for every seed: a seed varies the decoder's initialisation, its dropout and the batch order, and the study's
three seeds share one encoding (for the paper's VGG16 at 160 px that encoding is most of a run's time).

A cache file is named by a digest of the *content* everything depends on (the photos' and weights files' bytes,
not their paths or dates), written atomically, and read back only when that digest matches, so a stale or
half-written cache is never used. It lives in the user cache (``COLOURLIB_CACHE``, else
``~/.cache/colourlib/features/``), so a fresh clone of the same code on the same photos finds the features a
study before it encoded. The folder may be deleted at any time; it is rebuilt on demand.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras
import numpy as np

from . import atomic, paths

#: The code that computes cached features: the encoder (built by :mod:`colourlib.model`), the crops and batches
#: (:mod:`colourlib.data.dataset`) and this module's encoding loop, with everything they import.
FEATURE_CODE = ("colourlib.feature_cache", "colourlib.model", "colourlib.data.dataset")

#: The seed of the crops whose features are cached, whatever the training seed (see the module's docstring).
CROP_SEED = 0


#: (path, size, modification time) -> sha256 of the file, per process
_DIGESTS: dict[tuple, str] = {}


def _content_digest(path: Path) -> str:
    stat = path.stat()
    known = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if known not in _DIGESTS:
        _DIGESTS[known] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[known]


def _photo_identity(files) -> list:
    """(name, size, sha256) of each file: the same photos in another clone or folder are the same photos."""
    return [[Path(p).name, Path(p).stat().st_size, _content_digest(Path(p))] for p in files]


def file_identity(path) -> list | None:
    """(name, size, sha256) of a weights file; None for no file (random or Keras's named weights)."""
    if path is None or not Path(path).expanduser().is_file():
        return None
    return _photo_identity([Path(path).expanduser()])[0]


def cache_key(what: dict, files) -> str:
    """A digest of ``what`` (encoder, weights, sizes, crop settings), the photos (name, size, content),
    the code that computes features (:data:`FEATURE_CODE`'s fingerprint) and the Keras version and backend (a random
    encoder initialised by another backend is another encoder). Old files are not pruned: delete the folder."""
    from .provenance import code_fingerprint

    text = json.dumps(
        {
            "what": what,
            "photos": _photo_identity(files),
            "code": code_fingerprint(FEATURE_CODE),
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_file(key: str, folder: Path | None = None) -> Path:
    return (folder or paths.cache_dir() / "features") / f"features-{key}.npz"


def load_or_compute(key: str, compute, folder: Path | None = None):
    """``(features, targets)`` from the cache file of ``key``, or ``compute()``'s, which are then saved there.
    Features are one array or a tuple of arrays (an encoder with several outputs)."""
    path = cache_file(key, folder)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as saved:
                parts = [saved[f"features_{i}"] for i in range(int(saved["parts"]))]
                features = parts[0] if not bool(saved["is_tuple"]) else tuple(parts)
                return features, saved["targets"]
        except (
            Exception
        ):  # unreadable (truncated, empty, not an npz, missing keys): compute it again, replace it
            pass
    features, targets = compute()
    parts = list(features) if isinstance(features, tuple) else [features]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path, kind="feature-cache") as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                targets=targets,
                parts=len(parts),
                is_tuple=isinstance(features, tuple),
                **{f"features_{i}": part for i, part in enumerate(parts)},
            )
    return features, targets


def encode(encoder: keras.Model, batches, steps: int):
    """Encoder features and ab targets of ``steps`` batches, in order (one pass, no training). The features are
    one array, or a tuple of arrays for an encoder with several outputs (the skip decoder's)."""
    feats, targets = [], []
    for i in range(steps):
        x, y = batches[i]
        out = encoder.predict_on_batch(x)  # compiled: eager calls cost several times more on TF
        feats.append(
            tuple(keras.ops.convert_to_numpy(o) for o in out)
            if isinstance(out, (list, tuple))
            else keras.ops.convert_to_numpy(out)
        )
        targets.append(y)
    return concatenate(feats), np.concatenate(targets)


def concatenate(parts: list):
    """Batches joined along the sample axis: arrays, or tuples of arrays (a model with several inputs) joined
    input by input."""
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(part) for part in zip(*parts))
    return np.concatenate(parts)
