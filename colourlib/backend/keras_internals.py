"""Every use of a private Keras or JAX name, in one place, each with why it is needed and its upstream issue.

Each workaround has a canary in ``tests/test_keras_internals.py``: one test fails when the private name it uses
moves or stops working, another when upstream has fixed what it works around (then delete the workaround).
"""

from __future__ import annotations

import contextlib
import os

import keras


def build_before_fit(model: keras.Model, strategy, sample_batch) -> None:
    """Build a compiled model's loss and optimizer state from ``sample_batch`` before ``fit``.

    Otherwise Keras 3 builds inside ``fit`` from a batch it pulls from the training iterator (JAX trainer:
    ``_symbolic_build``; TensorFlow trainer under a ``tf.distribute`` strategy: ``_maybe_symbolic_build``, which
    pulls a batch even when everything is built). With a ``PyDataset`` served by workers that batch is lost,
    so the run trains on batches shifted by one against a run without workers; and under
    ``MultiWorkerMirroredStrategy`` the reduction it does fails outright (keras-team/keras#20585). Building from
    a batch read directly (``dataset[0]``) and turning the TensorFlow step off for this model avoids both.
    """
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model._symbolic_build(data_batch=sample_batch)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    if strategy is not None:
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def patch_multi_worker_reduction() -> None:
    """Make Keras 3's TensorFlow trainer average scalar logs (the loss) across machines.

    Under ``MultiWorkerMirroredStrategy`` Keras reduces every step output with ``reduce("MEAN", v, axis=0)``,
    which fails on the scalar loss ("Invalid reduction dimension 0 for input with 0 dimensions";
    keras-team/keras#20585). Scalars are averaged with ``axis=None`` instead; everything else is unchanged.
    Applied only when a multi-machine strategy is created.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "_colourlib_patched", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(
            strategy
        ):

            def mean(v):
                local = (
                    strategy.experimental_local_results(v)[0]
                    if tf_trainer._is_per_replica_instance(v)
                    else v
                )
                return strategy.reduce("MEAN", v, axis=None if local.shape.rank == 0 else 0)

            return tree.map_structure(mean, values)
        return original(values, strategy, reduction)

    reduce_per_replica._colourlib_patched = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def jax_backends_started() -> bool:
    """Whether JAX has created its backends, after which its CPU device count cannot change any more
    (jax-ml/jax#17188). JAX has no public question for this; ``jax_num_cpu_devices`` must be set before."""
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def request_jax_cpu_devices(count: int) -> None:
    """Ask JAX for ``count`` CPU devices if its backend has not started yet (no-op afterwards, and when the
    user set ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS`` themselves)."""
    import jax

    if (
        count > 1
        and not jax_backends_started()
        and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", "")
    ):
        jax.config.update("jax_num_cpu_devices", count)


def py_dataset_batches(dataset: keras.utils.PyDataset):
    """(iterator over the NumPy batches ``fit`` would get from ``dataset``, through Keras's own worker pool; a
    function that stops the pool). Keras exposes no public way to read a ``PyDataset`` as ``fit`` does, and the
    loader benchmark must time exactly that path."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    adapter = PyDatasetAdapter(dataset)

    def stop() -> None:
        if adapter.enqueuer is not None:
            adapter.enqueuer.stop()

    return adapter.get_numpy_iterator(), stop
