"""The paper's encoder: VGG16's convolutional base (Figure 3), from Keras, with its input preprocessing."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keras
import numpy as np

from ..colour import l_to_grey_rgb
from .weights import EncoderWeightsError, load_weights_checked

NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
HOST = "storage.googleapis.com"
CHANNELS = 512


def preprocess(l_net: np.ndarray) -> np.ndarray:
    """Network L (..., H, W, 1) -> VGG16's input: the grey sRGB image as BGR 0..255 minus ImageNet's mean."""
    grey = l_to_grey_rgb(l_net[..., 0]) * 255.0
    mean_bgr = np.array([103.939, 116.779, 123.68], dtype=np.float32)
    return (grey[..., None] - mean_bgr).astype(np.float32)


def _keras_cache_file(name: str) -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / name


def _online(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def build(image_size: int, weights: str | None) -> keras.Model:
    """VGG16's convolutional base without the classifier, as the paper's Figure 3 (14,714,688 parameters)."""
    if weights == "imagenet" and not _keras_cache_file(NOTOP_FILE).is_file() and not _online(HOST):
        raise EncoderWeightsError(
            f"encoder_weights='imagenet': Keras must download {NOTOP_FILE} from {HOST} and this "
            "machine cannot reach it. Fix: use encoder_weights=None (random initialisation), or "
            "encoder_weights=PATH to a local VGG16 no-top weights file (.h5 / .weights.h5), e.g. one copied "
            f"from ~/.keras/models/{NOTOP_FILE} on a machine that is online."
        )
    encoder = keras.applications.VGG16(
        include_top=False,
        weights="imagenet" if weights == "imagenet" else None,
        input_shape=(image_size, image_size, 3),
    )
    if weights not in (None, "imagenet"):
        load_weights_checked(encoder, weights, "encoder_weights", "a VGG16 no-top weights file")
    return encoder
