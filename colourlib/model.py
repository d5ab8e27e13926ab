"""The paper's encoder-decoder network: an encoder from :mod:`colourlib.encoders` (VGG16's convolutional base,
Figure 3, by default) and a conv + upsampling decoder (Figure 4). Backend-neutral Keras 3."""

from __future__ import annotations

import keras

from . import ConfigError
from .colour.classes import BINS
from .encoders import encoder_spec

DOWNSAMPLING = 32  # five 2x poolings: image_size must be a multiple of this
#: The decoders: the paper's Figure 4 on the encoder's last stage; ("skips") a U-Net-style decoder that also
#: reads the encoder's stride-8 and stride-16 stages, so edges and small objects keep their colour; ("global")
#: the skip decoder that also fuses a summary of the whole photo into every position (Iizuka et al.'s fusion
#: layer, Deep Koalarization's), so a scene's colours agree with what the scene is.
DECODERS = ("paper", "skips", "global")
#: The decoders that read the encoder's stride-8 and stride-16 stages.
SKIP_DECODERS = ("skips", "global")


def build_decoder(feature_size: int, channels: int = 512, classes: bool = False) -> keras.Model:
    """The paper's decoder (Figure 4): 7x7x512 -> 224x224x2 at 224 px, 1,572,114 parameters, tanh output.

    ``classes=True`` (the classification loss, :mod:`colourlib.colour.classes`) ends instead where the paper's decoder
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
    if (
        classes
    ):  # logits stay float32 under mixed precision: the softmax of 313 bins needs the range
        return keras.Sequential(
            [*body, keras.layers.Conv2D(BINS, 1, dtype="float32", name="bin_logits")],
            name="decoder",
        )
    return keras.Sequential(
        [
            *body,
            keras.layers.UpSampling2D(2),
            # The output stays float32 under mixed precision: tanh's saturation is where bfloat16 loses colour.
            keras.layers.Conv2D(
                2, kernel_size=3, padding="same", activation="tanh", dtype="float32"
            ),
            keras.layers.UpSampling2D(2, dtype="float32"),
        ],
        name="decoder",
    )


def build_skip_decoder(
    feature_size: int,
    channels: int,
    skip_channels: tuple[int, int],
    classes: bool = False,
    width: int = 128,
    dropout: float = 0.3,
    global_features: bool = False,
) -> keras.Model:
    """The beyond-the-paper decoder: the last stage (stride 32) upsampled twice, each time joined with the
    encoder's own features at that stride (16, then 8), as U-Net joins them. Ends at stride 8 with the 313 bin
    logits (``classes``), or at stride 4 with ab in [-1, 1] upsampled to the input size.

    ``global_features``: the last stage is also averaged over the whole photo, passed through a dense layer and
    joined to every stride-32 position before the decoder's first 3x3 convolution (Iizuka et al. 2016's fusion
    layer): every position then sees what the whole scene is, not only its receptive field.

    Every convolution is batch-normalised and the deepest features see dropout: with a few hundred photos a
    decoder this size otherwise learns the training crops by heart within an epoch or two."""

    def conv_bn_relu(x, filters, kernel=3):
        x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        return keras.layers.ReLU()(keras.layers.BatchNormalization()(x))

    f8 = keras.Input((feature_size * 4, feature_size * 4, skip_channels[0]), name="stride8")
    f16 = keras.Input((feature_size * 2, feature_size * 2, skip_channels[1]), name="stride16")
    f32 = keras.Input((feature_size, feature_size, channels), name="stride32")
    x = keras.layers.Dropout(dropout)(f32)
    x = conv_bn_relu(x, 2 * width, 1)
    if global_features:
        scene = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
        scene = keras.layers.Dense(2 * width, activation="relu")(scene)
        scene = keras.layers.UpSampling2D(feature_size)(scene)  # the same summary at every position
        x = conv_bn_relu(keras.layers.Concatenate()([x, scene]), 2 * width, 1)
    x = conv_bn_relu(x, 2 * width)
    for skip in (f16, f8):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = keras.layers.Concatenate()([x, keras.layers.BatchNormalization()(skip)])
        x = conv_bn_relu(x, width)
    if classes:  # at stride 8: the cross-entropy over 313 bins per pixel is most of a step's cost
        out = keras.layers.Conv2D(BINS, 1, dtype="float32", name="bin_logits")(x)
    else:
        x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = conv_bn_relu(x, width // 2)
        x = keras.layers.Conv2D(
            2, kernel_size=3, padding="same", activation="tanh", dtype="float32"
        )(x)
        out = keras.layers.UpSampling2D(4, interpolation="bilinear", dtype="float32")(x)
    return keras.Model([f8, f16, f32], out, name="decoder")


def check_image_size(image_size: int) -> None:
    if (
        not isinstance(image_size, int)
        or isinstance(image_size, bool)
        or image_size < DOWNSAMPLING
        or image_size % DOWNSAMPLING
    ):
        raise ConfigError(
            f"image_size={image_size!r} must be a positive multiple of {DOWNSAMPLING} "
            f"(e.g. 64, 128, 224): the encoder halves it five times."
        )


def build_network(
    image_size: int = 224,
    encoder: str = "vgg16",
    encoder_weights: str | None = None,
    encoder_trainable: bool = True,
    classes: bool = False,
    decoder: str = "paper",
    encoder_seed: int | None = None,
    decoder_seed: int | None = None,
) -> keras.Model:
    """Encoder + decoder as one Keras model: preprocessed L (image_size, image_size, 3) -> ab in [-1, 1], or
    (``classes``) the logits of the 313 colour bins at a quarter (paper's decoder) or an eighth (skips) of the
    size. ``decoder="skips"`` or ``"global"``: the encoder also hands its stride-8 and stride-16 features to the
    decoder (:func:`build_skip_decoder`; "global" also fuses the whole photo's pooled features).

    ``encoder_seed`` / ``decoder_seed`` (both or neither) seed each part's random initialisation apart, so a frozen
    encoder can be the same for every training seed (colourlib/feature_cache.py)."""
    check_image_size(image_size)
    if decoder not in DECODERS:
        raise ConfigError(f"decoder={decoder!r} is not known. Allowed: {', '.join(DECODERS)}.")
    spec = encoder_spec(encoder)
    if encoder_seed is not None:
        keras.utils.set_random_seed(encoder_seed)
    enc = spec.build(image_size, encoder_weights)
    if decoder_seed is not None:
        keras.utils.set_random_seed(decoder_seed)
    feature_size = image_size // DOWNSAMPLING
    if decoder in SKIP_DECODERS:
        if not spec.skips:
            raise ConfigError(
                f"decoder={decoder!r} needs the encoder's stride-8 and stride-16 layers, and encoder="
                f"{encoder!r} names none. Fix: decoder='paper', or name them in its EncoderSpec."
            )
        skips = [enc.get_layer(name).output for name in spec.skips]
        enc = keras.Model(enc.input, [*skips, enc.output])
        dec = build_skip_decoder(
            feature_size,
            spec.channels,
            tuple(int(s.shape[-1]) for s in skips),
            classes,
            global_features=decoder == "global",
        )
    else:
        dec = build_decoder(feature_size, spec.channels, classes)
    enc.name = "encoder"
    enc.trainable = encoder_trainable
    inputs = keras.Input((image_size, image_size, 3), name="grey")
    return keras.Model(inputs, dec(enc(inputs)), name=f"colouriser_{encoder}")
