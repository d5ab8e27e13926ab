"""How the book and the benchmarks write a few recurring things: counts of loading workers, cores, parameter
values. Words live here, above the core, so that changing one never changes what decides whether a run,
a timing or a feature cache is reused (:func:`colourlib.provenance.code_fingerprint`)."""

from __future__ import annotations

import os
from typing import Any

from colourlib import paths
from colourlib.provenance import cpu_model


def count_loaders(workers: int, loaders: str, adjective: str = "") -> str:
    """'1 thread', '4 processes' ('1 loading thread' with ``adjective="loading"``): a count of data-loading
    workers as a person writes it."""
    singular = {"threads": "thread", "processes": "process"}.get(loaders, loaders)
    return " ".join(filter(None, (str(workers), adjective, loaders if workers != 1 else singular)))


def regime_label(name: str) -> str:
    """A study regime as prose names it: "whole network", "the paper's generator"."""
    return {"papers-generator": "the paper's generator"}.get(name, name.replace("-", " "))


#: Each encoder and each of its weights as a reader names them (the departures table's encoder row is built from
#: the configurations that ran, never written by hand: it once said "random" for HED's weights).
ENCODER_NAMES = {
    "vgg16": "VGG16",
    "efficientnet-lite0": "EfficientNet-Lite0",
    "efficientnet-lite1": "EfficientNet-Lite1",
    "efficientnet-lite2": "EfficientNet-Lite2",
}
WEIGHTS_NAMES = {
    "hed": "HED's trained weights (ImageNet, then edge fine-tuning; ImageNet's own cannot be downloaded offline)",
    "imagenet": "ImageNet weights",
    None: "random weights",
}


def encoder_phrase(encoder: str, weights: str | None) -> str:
    """'VGG16 with HED's trained weights (...)': an encoder and the weights it starts from."""
    return f"{ENCODER_NAMES.get(encoder, encoder)} with {WEIGHTS_NAMES.get(weights, shown_value('encoder_weights', weights))}"


#: What None means for the parameters where "default" would hide it.
NONE_MEANS = {"encoder_weights": "random", "data_dir": "embedded photos"}


def shown_value(name: str, value: Any) -> str:
    """Parameter ``name``'s ``value`` as a person would type it in a table: paths relative to the repository,
    None as what it means, strings without quotes."""
    if value is None:
        return NONE_MEANS.get(name, "default")
    if isinstance(value, str) and ("/" in value or value.endswith((".h5", ".keras"))):
        return paths.relative(value)
    return str(value)


def cores_phrase(usable: int | None, machine: int | None = None) -> str:
    """'2 cores', '1 core of 2': the cores a run could use, and the machine's when a container or ``taskset``
    allowed fewer (a time measured on 1 core of 2 must not read as a 2-core time)."""
    if usable is None:
        return "? cores"
    text = f"{usable} core{'' if usable == 1 else 's'}"
    return f"{text} of {machine}" if machine and machine != usable else text


def recorded_cores(env: dict) -> str:
    """:func:`cores_phrase` of an ``environment.json`` record (one written before ``machine_cores`` gives the count)."""
    return cores_phrase(env.get("cpu_cores"), env.get("machine_cores"))


def machine_summary() -> str:
    """The CPU and the cores this process may use, as the benchmarks print them beside their times."""
    from colourlib.backend.runtime import usable_cores

    return f"{cpu_model()}, {cores_phrase(usable_cores(), os.cpu_count())}"


def speedup_range(low: float, high: float) -> str:
    """'0.96-1.03': a speedup range to 2 decimals, or more where a bound would otherwise print as 1.00 without
    being 1, so that the range a reader sees tells gain, loss and no difference apart as the verdict does."""

    def bound(x: float) -> str:
        digits = 2
        while x != 1 and float(f"{x:.{digits}f}") == 1 and digits < 6:
            digits += 1
        return f"{x:.{digits}f}"

    return f"{bound(low)}-{bound(high)}"
