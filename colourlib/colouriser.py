"""Colouring whole photos with a trained network: the one path that ``colourise``, the evaluation and the
book's galleries all take.

The network sees each photo squashed to its square input size; its ab prediction is upsampled to the photo's
full resolution and joined with the photo's *original* L, so no detail of the grey input is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from .colour.classes import TEMPERATURE, annealed_mean_ops
from .encoders import encoder_spec
from .runs import RunFolder
from .whole_photo import full_size_ab, network_lightness, recombine, with_ab

__all__ = ["Colouriser", "predict_ab", "recombine", "with_ab"]

if TYPE_CHECKING:
    from .config import TrainConfig


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning: photos arrive in batches of every size (one
    photo from ``colourise``, the last short batch of an evaluation), and each new size compiles the predict step
    once, which is expected and cheap here. Every other TensorFlow message passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_ExpectedRetracing())


def predict_ab(
    model: keras.Model,
    images: list[np.ndarray],
    image_size: int,
    preprocess: Callable[[np.ndarray], np.ndarray],
    batch_size: int = 8,
    classes: bool = False,
    temperature: float = TEMPERATURE,
) -> list[np.ndarray]:
    """ab (in CIE units) at each image's full resolution, predicted from its L at ``image_size`` (``classes``:
    the network gives colour-bin logits, read back by their annealed mean at ``temperature``)."""
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        output = model.predict_on_batch(
            preprocess(network_lightness(chunk, image_size))
        )  # compiled: a sixth of an eager call's time on TF
        ab_net = keras.ops.convert_to_numpy(
            annealed_mean_ops(output, temperature) if classes else output
        ).astype(np.float32)
        results.extend(full_size_ab(ab_net, chunk))
    return results


@dataclass
class Colouriser:
    """A trained network and how to feed it: the encoder it was built with and its input size."""

    model: keras.Model
    image_size: int
    encoder: str
    description: str = ""
    classes: bool = False  # the network predicts colour-bin logits (the classification loss)
    config: TrainConfig | None = None  # the run's configuration, when it came from one

    @classmethod
    def from_run(cls, run_dir: str | Path) -> Colouriser:
        """The network of a finished training run."""
        model, config = RunFolder(run_dir).load_model()
        return cls(
            model,
            config.image_size,
            config.encoder,
            f"{run_dir} ({config.encoder} encoder, "
            f"{config.image_size} px input, {config.loss} loss)",
            classes=config.classes,
            config=config,
        )

    @property
    def preprocess(self) -> Callable[[np.ndarray], np.ndarray]:
        return encoder_spec(self.encoder).preprocess

    def predict_ab(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """ab (CIE units) of each sRGB photo at its own full resolution."""
        temperature = self.config.temperature if self.config is not None else TEMPERATURE
        return predict_ab(
            self.model,
            images,
            self.image_size,
            self.preprocess,
            classes=self.classes,
            temperature=temperature,
        )

    def colour_all(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Colour photos of any sizes (sRGB in [0, 1]); returns sRGB at each photo's own size, its L kept."""
        return [recombine(img, ab) for img, ab in zip(images, self.predict_ab(images))]

    def colour(self, rgb: np.ndarray) -> np.ndarray:
        """sRGB (H, W, 3) in [0, 1] -> the same photo coloured, its own L kept, float32 in [0, 1]."""
        return self.colour_all([rgb])[0]
