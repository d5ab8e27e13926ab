"""The arithmetic count that the speed figures' GFLOP/s rest on, against hand counts and VGG16's published one."""

from __future__ import annotations

import keras
import pytest

from colourlib.encoders import vgg16
from study.speed import forward_flops


def test_forward_flops_counts_a_multiply_add_as_two_per_output_position():
    inputs = keras.Input((5, 5, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(
        inputs
    )  # 25 positions x (3 x 3 x 2) x 4 multiply-adds
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)  # 9 positions x (3 x 3 x 4 x 1)
    x = keras.layers.ReLU()(keras.layers.Flatten()(x))  # not counted
    outputs = keras.layers.Dense(3)(x)  # 36 x 3
    model = keras.Model(inputs, outputs)
    assert forward_flops(model) == 2 * (25 * 3 * 3 * 2 * 4 + 9 * 3 * 3 * 4 + 36 * 3)
    assert forward_flops(keras.Sequential([keras.Input((5, 5, 2)), model])) == forward_flops(
        model
    )  # nested


def test_vgg16s_convolutional_base_is_its_published_15_3_giga_multiply_adds_at_224_px():
    flop = forward_flops(vgg16.build(224, None))
    assert flop == pytest.approx(30.7e9, rel=2e-3)
    assert forward_flops(vgg16.build(112, None)) == pytest.approx(flop / 4)


def test_the_allocator_settings_apply_where_find_library_finds_no_libc(monkeypatch):
    """Slim machines have no ``ldconfig``: ``ctypes.util.find_library("c")`` returns None there, and the
    allocator settings (which keep a training step's memory for reuse instead of faulting it in afresh) must
    still apply, through the C library already loaded."""
    import ctypes.util
    import platform

    from colourlib.backend import runtime

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's mallopt")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    settings = runtime._set_malloc()
    assert settings["allocator"] == "glibc malloc, thresholds raised"
    assert settings["M_MMAP_THRESHOLD"] == 32 << 20
