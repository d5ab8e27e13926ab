"""Shared fixtures: small image folders made on the fly, so tests never depend on a download."""

from __future__ import annotations

import contextlib
import os
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import lab2rgb


def lightness_coded_photo(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """A textured photo whose colour follows its brightness: dark ones orange, bright ones blue.

    Colour is predictable from L here, so a model that learns anything beats the mean-ab baseline.
    """
    bright = rng.random() < 0.5
    base = 72.0 if bright else 32.0
    noise = rng.normal(0, 1, (size // 8, size // 8))
    texture = np.kron(noise, np.ones((8, 8)))[:size, :size] * 8.0
    lab = np.zeros((size, size, 3))
    lab[..., 0] = np.clip(base + texture, 5, 95)
    lab[..., 1], lab[..., 2] = (-10.0, -30.0) if bright else (35.0, 45.0)
    with warnings.catch_warnings():  # the darkest texels are out of gamut and clipped: intended
        warnings.simplefilter("ignore", UserWarning)
        rgb = lab2rgb(lab)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def coded_photos(tmp_path_factory) -> Path:  # noqa: F821
    folder = tmp_path_factory.mktemp("coded")
    rng = np.random.default_rng(7)
    for i in range(24):
        Image.fromarray(lightness_coded_photo(rng)).save(folder / f"photo_{i:02d}.png")
    return folder


def save_rgb(path, size=(80, 64), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@contextlib.contextmanager
def environment_variable(name: str, value: str):
    """Set ``name`` for the block (child processes such as notebook kernels inherit it), then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield value
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


def write_study_file(path: Path, parallel: str) -> Path:
    """A study configuration file at ``path``: the study's own presets and colouring models, and ``parallel``
    (YAML, any indentation) as its parallel-training matrix."""
    from study import paths as study_paths

    head = study_paths.STUDY_CONFIG.read_text().split("\nparallel:")[0]
    path.write_text(head + "\nparallel:\n" + textwrap.indent(textwrap.dedent(parallel), "  "))
    return path


#: The colour every pixel of :func:`constant_run`'s network predicts (inside the sRGB gamut for every L used).
CONSTANT_AB = (20.0, -10.0)


@pytest.fixture(scope="session")
def constant_run(tmp_path_factory) -> Path:
    """A finished 'run' (VGG16, 32 px, the paper's decoder and loss) whose network predicts the constant colour
    :data:`CONSTANT_AB` everywhere (its last convolution is zero but for the bias), as training leaves a run: so
    every output pixel must be exactly the input's own L joined with that colour. Shared: never change it."""
    import keras

    from colourlib import runs
    from colourlib.model import build_network
    from study.config import preset_config

    run = tmp_path_factory.mktemp("constant") / "run"
    run.mkdir()
    keras.utils.set_random_seed(0)
    model = build_network(32, "vgg16", None)
    last = model.get_layer("decoder").layers[-2]
    kernel, _ = last.get_weights()
    last.set_weights([np.zeros_like(kernel), np.arctanh(np.array(CONSTANT_AB, np.float32) / 128)])
    model.save_weights(run / runs.RunFolder.WEIGHTS)
    preset_config("tiny", image_size=32).save(run / "config.json")
    return run


@pytest.fixture(scope="session")
def constant_export(constant_run, tmp_path_factory) -> Path:
    """:func:`constant_run` copied with its ONNX export in ``export/``, as the study exports its default model (an
    export of VGG16 takes about 20 s: made once for every test that needs one). Shared: copy it to change it."""
    import shutil

    pytest.importorskip("onnxruntime")
    from colourlib import export

    run = tmp_path_factory.mktemp("exported") / "run"
    shutil.copytree(constant_run, run)
    export.export(run, run / "export")
    return run
