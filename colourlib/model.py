"""The paper's encoder-decoder network: an encoder from :mod:`colourlib.encoders` (VGG16's convolutional base,
Figure 3, by default) and a conv + upsampling decoder (Figure 4). Backend-neutral Keras 3."""
from __future__ import annotations

import keras

from .classes import BINS
from .encoders import encoder_spec

DOWNSAMPLING = 32  # five 2x poolings: image_size must be a multiple of this


def build_decoder(feature_size: int, channels: int = 512, classes: bool = False) -> keras.Model:
    """The paper's decoder (Figure 4): 7x7x512 -> 224x224x2 at 224 px, 1,572,114 parameters, tanh output.

    ``classes=True`` (the classification loss, :mod:`colourlib.classes`) ends instead where the paper's decoder
    reaches a quarter of the input size, with a 1x1 convolution to the logits of the 313 colour bins there, as
    Zhang et al. predict them."""
    conv = dict(kernel_size=3, padding="same", activation="relu")
    body = [
        keras.Input((feature_size, feature_size, channels)),
        keras.layers.Conv2D(256, **conv),
        keras.layers.Conv2D(128, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(64, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(32, **conv),
        keras.layers.UpSampling2D(2),
        keras.layers.Conv2D(16, **conv),
    ]
    if classes:  # logits stay float32 under mixed precision: the softmax of 313 bins needs the range
        return keras.Sequential([*body, keras.layers.Conv2D(BINS, 1, dtype="float32", name="bin_logits")],
                                name="decoder")
    return keras.Sequential([
        *body,
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


def build_network(image_size: int = 224, encoder: str = "vgg16", encoder_weights: str | None = None,
                  encoder_trainable: bool = True, classes: bool = False) -> keras.Model:
    """Encoder + decoder as one Keras model: preprocessed L (image_size, image_size, 3) -> ab in [-1, 1], or
    (``classes``) the logits of the 313 colour bins at a quarter of the size."""
    check_image_size(image_size)
    spec = encoder_spec(encoder)
    enc = spec.build(image_size, encoder_weights)
    enc.name = "encoder"
    enc.trainable = encoder_trainable
    dec = build_decoder(image_size // DOWNSAMPLING, spec.channels, classes)
    inputs = keras.Input((image_size, image_size, 3), name="grey")
    return keras.Model(inputs, dec(enc(inputs)), name=f"colouriser_{encoder}")
