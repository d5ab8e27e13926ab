"""Canaries for colourlib.backend.keras_internals: each workaround of a private Keras or JAX name has a test that fails
when the name stops working, and one that fails when upstream has fixed what it works around (then delete the
workaround and its canaries)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from colourlib.backend import keras_internals

# --- build_before_fit: Keras builds inside fit from a batch it pulls from the training iterator -------------


class IndexedBatches(keras.utils.PyDataset):
    """Batch i has targets equal to i, so a zero model's loss says which batches a step trained on."""

    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return np.ones((4, 3), np.float32), np.full((4, 1), float(index), np.float32)


class RunningLoss(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def trained_on(workers: int, workaround: bool) -> list[float]:
    """The running loss of 4 steps of a zero model (learning rate 0) under a tf.distribute strategy."""
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/CPU:0"])
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    data = IndexedBatches(workers=workers)
    if workaround:
        keras_internals.build_before_fit(model, strategy, data[0])
    seen = RunningLoss()
    model.fit(data, epochs=1, steps_per_epoch=4, verbose=0, callbacks=[seen], shuffle=False)
    return seen.losses


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the TensorFlow trainer's build"
)
def test_build_before_fit_keeps_worker_batches_in_order_and_is_still_needed():
    alone = trained_on(workers=1, workaround=False)
    assert alone == pytest.approx([0.0, 0.5, 5 / 3, 3.5]), "one worker trains on batches 0, 1, 2, 3"
    assert trained_on(workers=2, workaround=True) == pytest.approx(alone), (
        "the workaround stopped working"
    )
    assert trained_on(workers=2, workaround=False) != pytest.approx(alone), (
        "Keras no longer loses batches served by workers when it builds inside fit: delete "
        "keras_internals.build_before_fit's override of _maybe_symbolic_build"
    )


# --- patch_multi_worker_reduction: keras-team/keras#20585 ---------------------------------------------------

WORKER = """
import json, os, sys
os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": sys.argv[1].split(",")},
                                      "task": {"type": "worker", "index": int(sys.argv[2])}})
import numpy as np, keras, tensorflow as tf
from colourlib.backend import keras_internals
if sys.argv[3] == "patched":
    keras_internals.patch_multi_worker_reduction()
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
keras_internals.build_before_fit(model, strategy, (x[:4], y[:4]))  # as colourlib trains
try:
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    print("RESULT ok")
except Exception as exc:
    print("RESULT failed:", type(exc).__name__, str(exc).splitlines()[0][:200])
"""


def two_workers(mode: str) -> list[str]:
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(f"127.0.0.1:{s.getsockname()[1]}")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, ",".join(ports), str(i), mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    return [
        next((line for line in out.splitlines() if line.startswith("RESULT")), out[-500:])
        for out in outputs
    ]


@pytest.mark.slow  # two worker processes
def test_the_multi_worker_reduction_patch_works_and_is_still_needed():
    assert two_workers("patched") == ["RESULT ok"] * 2, "the patch stopped working"
    unpatched = two_workers("unpatched")
    assert all("Invalid reduction dimension" in line for line in unpatched), (
        f"Keras now reduces scalar logs across machines itself ({unpatched}): delete "
        "keras_internals.patch_multi_worker_reduction (keras-team/keras#20585)"
    )


# --- jax_backends_started / request_jax_cpu_devices: jax-ml/jax#17188 --------------------------------------

JAX_SCRIPT = """
import json, jax
from colourlib.backend import keras_internals
report = {"before": keras_internals.jax_backends_started()}
keras_internals.request_jax_cpu_devices(2)
report["devices"] = len(jax.devices("cpu"))
report["after"] = keras_internals.jax_backends_started()
try:
    jax.config.update("jax_num_cpu_devices", 3)
    report["late_update"] = "accepted: %d devices" % len(jax.devices("cpu"))
except RuntimeError:
    report["late_update"] = "refused"
print(json.dumps(report))
"""


def test_jax_devices_are_requested_before_the_backend_starts_and_the_check_is_still_needed():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(JAX_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["before"], report["devices"], report["after"]) == (False, 2, True), (
        "the check stopped working"
    )
    assert report["late_update"] == "refused", (
        f"JAX now changes its CPU device count after it started ({report['late_update']}): "
        "keras_internals.jax_backends_started is no longer needed"
    )


# --- py_dataset_batches: the loader benchmark reads a PyDataset as fit does ---------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_py_dataset_batches_serve_the_dataset_in_order(workers):
    class Finite(IndexedBatches):
        @property
        def num_batches(self):
            return 5

    iterator, stop = keras_internals.py_dataset_batches(Finite(workers=workers))
    try:
        targets = [float(next(iterator)[1][0, 0]) for _ in range(5)]
    finally:
        stop()
    assert targets == [0.0, 1.0, 2.0, 3.0, 4.0]
