"""How fast one configuration trains: a fixed number of training steps timed after warm-up, in this process.

Speed is measured apart from learning. A timing needs only a few batches, not epochs: ``measure`` builds the
configuration's network and data path exactly as training does (the same crops, loader workers, replicas and,
for cached features, the same frozen encoder), runs ``warmup`` steps (graph building, thread pools, caches), then
times ``steps`` more, and reports seconds per step, images/s, the CPU time (user and kernel) and page faults of
those steps, and the step's arithmetic (GFLOP per step, from the network's layers). The study repeats each
measurement in fresh processes (:mod:`study.timing`); whether configurations learn the same is a
test's job (tests/test_parallel.py), not the timing's.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

import keras
import numpy as np

from colourlib import feature_cache
from colourlib.backend import replicas, runtime
from colourlib.callbacks import StepTimer
from colourlib.colour import classes
from colourlib.config import TrainConfig
from colourlib.data.augment import FeatureAffine
from colourlib.data.dataset import ArrayBatches, ColourBatches
from colourlib.data.photos import load_photo_set
from colourlib.encoders import encoder_spec

#: A training step costs about three forward passes: the forward itself, and the backward's two products (the
#: gradient with respect to each layer's input and to its weights). The usual approximation, stated wherever the
#: GFLOP/s it gives is shown.
TRAIN_FLOP_FACTOR = 3


def forward_flops(model: keras.Model) -> float:
    """FLOP (a multiply-add counted as 2) of one sample's forward pass through ``model``'s convolutions and dense
    layers, nested models included; the element-wise layers' share is small and not counted."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
            continue
        if not hasattr(layer, "kernel") or not hasattr(layer, "output"):
            continue
        positions = float(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1.0
        kernel = tuple(layer.kernel.shape)
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            per_position = np.prod(kernel)  # kh x kw x channels x multiplier
        elif isinstance(layer, keras.layers.Conv2D):
            per_position = np.prod(kernel)  # kh x kw x (c_in / groups) x c_out
        elif isinstance(layer, keras.layers.Dense):
            per_position = np.prod(kernel)
        else:
            continue
        total += 2.0 * positions * float(per_position)
    return total


class SpeedProbe:
    """One configuration's network, data and compiled training step, built once; :meth:`time` times the step fed
    by a given loader setting. The configurations of one regime and replica count differ only in their loaders, so
    they share one probe, and none pays for building or compiling what another already built (the warm-up steps
    of each timing still absorb the loader's own start-up).

    Use as a context manager: the replicas' distribution scope is held while it is open."""

    def __init__(self, config: TrainConfig, batches_needed: int):
        config.validate()
        self.config = config
        self.settings = runtime.configure(config.gpus, config.cores_per_device)
        self.plan = replicas.provide(config.gpus)
        self.batches_needed = batches_needed

    def __enter__(self) -> SpeedProbe:
        config = self.config
        keras.utils.set_random_seed(config.seed)
        photos = load_photo_set(
            config.data_dir, config.image_size, config.val_fraction, config.max_photos
        )
        self._scope = replicas.replica_scope(self.plan)
        strategy = self._scope.__enter__()
        try:
            self._build(config, photos, strategy)
        except BaseException:
            self._scope.__exit__(
                *sys.exc_info()
            )  # never leave the distribution scope open behind an error
            raise
        return self

    def _build(self, config: TrainConfig, photos, strategy) -> None:
        from colourlib.train import build_for, cached_features, training_crops

        model = build_for(config)
        preprocess = encoder_spec(config.encoder).preprocess
        self.crops = training_crops(config, photos)
        self.fit_model, self.features = model, None
        if (
            config.cache_features
        ):  # the decoder on features encoded once and kept on disk, as training does
            plain = ColourBatches(
                self.crops, config.batch_size, preprocess, config.seed, shuffle=False
            )
            steps = min(self.batches_needed, plain.steps_per_epoch)
            self.features = cached_features(
                config,
                model.get_layer("encoder"),
                plain,
                steps,
                photos.train,
                "train",
                config.crops_per_photo,
                self.crops.seed,
            )
            self.fit_model = model.get_layer("decoder")
        loss = (
            classes.ClassificationLoss(
                classes.training_weights(photos.train, lam=config.rebalance_lambda)[1]
            )
            if config.classes
            else config.loss
        )
        self.fit_model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
        replicas.build_before_fit(self.fit_model, strategy, self.batches(1, False)[0])
        self.gflop = TRAIN_FLOP_FACTOR * forward_flops(self.fit_model) * config.batch_size / 1e9

    def __exit__(self, *exc) -> None:
        self._scope.__exit__(*exc)

    def batches(self, workers: int, use_multiprocessing: bool) -> keras.utils.PyDataset:
        c = self.config
        loading = dict(workers=workers, use_multiprocessing=use_multiprocessing)
        if self.features is not None:
            augmentation = FeatureAffine() if c.augment_features else None
            return ArrayBatches(
                *self.features, c.batch_size, c.seed, augmentation=augmentation, **loading
            )
        return ColourBatches(
            self.crops, c.batch_size, encoder_spec(c.encoder).preprocess, c.seed, **loading
        )

    def _fit_timed(self, batches: keras.utils.PyDataset, steps: int, warmup: int) -> StepTimer:
        """``warmup`` + ``steps`` training steps of the probe's network on ``batches``, the last ``steps`` timed."""
        clock = StepTimer(warmup)
        self.fit_model.fit(
            batches,
            epochs=1,
            steps_per_epoch=warmup + steps,
            callbacks=[clock],
            verbose=0,
            shuffle=False,
        )
        return clock

    def step_alone(self, steps: int, warmup: int, share: int = 1) -> dict:
        """The step measured apart from its loader (the overlap model's S): seconds per training step fed from
        batches already in memory (the loader's own, made beforehand), over half of ``steps`` (at least 3) after
        ``warmup``, and the cores the step keeps busy (CPU seconds over wall seconds). Trains the probe's network a
        few steps further, which does not change what a step costs.

        ``share`` > 1: the step on ``batch_size / share`` samples, what each of ``share`` devices computes (the
        scaling model's step on a device's share of the batch), as ``step_share_seconds_alone``."""
        steps = max(3, steps // 2)  # what S needs is its order of magnitude: half the timed steps
        source = self.batches(1, False)
        held = [source[i] for i in range(min(steps + warmup, 16))]
        in_memory = ArrayBatches(
            feature_cache.concatenate([b[0] for b in held]),
            np.concatenate([b[1] for b in held]),
            self.config.batch_size // share,
            0,
            shuffle=False,
        )
        clock = self._fit_timed(in_memory, steps, warmup)
        (t0, r0), (t1, r1) = clock.start, clock.end
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if share > 1:
            return {"step_share_seconds_alone": clock.seconds_per_step, "share_of_batch": share}
        return {"step_seconds_alone": clock.seconds_per_step, "step_cores_busy": cpu / (t1 - t0)}

    def gradient_bytes(self) -> int:
        """The bytes of one replica's gradients, which the replicas all-reduce every step: the trainable weights'."""
        return int(
            sum(
                np.prod(w.shape) * np.dtype(w.dtype).itemsize
                for w in self.fit_model.trainable_weights
            )
        )

    def allreduce_seconds(self, repeats: int = 5) -> float | None:
        """Seconds the replicas take to sum one step's gradients (a tensor shaped like each trainable weight per
        replica, summed by the strategy's own all-reduce, as a training step does), the median of ``repeats``
        after one warm-up; None with one replica, or on a backend whose all-reduce is not reachable apart from a
        step (JAX compiles it into the step)."""
        if self.plan.total_replicas < 2 or keras.backend.backend() != "tensorflow":
            return None
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
        shapes = [tuple(w.shape) for w in self.fit_model.trainable_weights]
        values = strategy.experimental_distribute_values_from_function(
            lambda context: [
                tf.fill(shape, float(context.replica_id_in_sync_group)) for shape in shapes
            ]
        )

        @tf.function
        def reduce(per_replica):
            def one(*tensors):
                return tf.distribute.get_replica_context().all_reduce("sum", list(tensors))

            summed = strategy.run(one, args=tuple(per_replica))
            return strategy.experimental_local_results(summed)[0][0][0]  # waits for the sums

        reduce(values)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            reduce(values).numpy()
            seconds.append(time.perf_counter() - start)
        return float(np.median(seconds))

    def loader_alone(
        self, workers: int, use_multiprocessing: bool, batches: int
    ) -> tuple[float, float | None]:
        """The loader measured apart from the step (the overlap model's L): seconds and CPU seconds per batch of
        ``workers`` thread or process loaders producing ``batches`` batches with no training step running (after
        each worker made one batch, so pool start-up is not counted, as it is paid once per epoch)."""
        return loader_seconds(self.batches(1, False), workers, use_multiprocessing, batches)

    def time(self, workers: int, use_multiprocessing: bool, steps: int, warmup: int) -> dict:
        """Seconds per step, images/s, CPU seconds (user, kernel) and page faults of ``steps`` training steps
        after ``warmup``, fed by ``workers`` thread or process loaders; the step's GFLOP and GFLOP/s."""
        clock = self._fit_timed(self.batches(workers, use_multiprocessing), steps, warmup)
        (_, r0), (_, r1) = clock.start, clock.end
        seconds = clock.seconds_per_step
        # CPU time and page faults are this process's: loader *processes* work outside it, so for them the
        # numbers would leave part of the work out and are not reported (None).
        own = not use_multiprocessing
        return {
            "seconds_per_step": seconds,
            "images_per_s": self.config.batch_size / seconds,
            "user_seconds": r1.ru_utime - r0.ru_utime if own else None,
            "sys_seconds": r1.ru_stime - r0.ru_stime if own else None,
            "page_faults": r1.ru_minflt - r0.ru_minflt if own else None,
            "steps": steps,
            "warmup_steps": warmup,
            "gflop_per_step": self.gflop,
            "gflop_per_s": self.gflop / seconds,
            "devices": self.plan.label,
            "backend": keras.backend.backend(),
            "runtime": self.settings,
        }


_LOADER = (
    None  # the dataset a process pool's workers read (inherited by fork, as Keras' own pool does)
)


def _load(index: int):
    return _LOADER[index]


def _cpu_seconds(pids: list[int]) -> float | None:
    """CPU seconds (user + kernel) used so far by this process and by the processes ``pids`` (Linux' /proc; None
    where it cannot be read)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def loader_seconds(
    dataset: keras.utils.PyDataset, workers: int, use_multiprocessing: bool, batches: int
) -> tuple[float, float | None]:
    """(seconds per batch, CPU seconds per batch) when ``workers`` threads (or processes) call ``dataset[i]`` for
    ``batches`` batches and nothing else runs; one worker is the calling thread itself. The CPU time counts the
    workers' and this process's (handing batches over, and the interpreter's lock passed between threads)."""
    global _LOADER
    first = 10_000  # batches far from the warm-up's, as a new epoch's would be
    pool, pids = None, []

    def run(function, indices):  # one batch per task, as Keras' enqueuer hands them out
        if pool is None:
            return [function(i) for i in indices]
        return list(pool.map(function, indices, chunksize=1))

    try:
        _LOADER = dataset
        if use_multiprocessing:
            pool = multiprocessing.get_context("fork").Pool(workers)
            pids = [p.pid for p in pool._pool]
        elif workers > 1:
            pool = concurrent.futures.ThreadPoolExecutor(workers)
        run(_load, range(first - workers, first))
        cpu, started = _cpu_seconds(pids), time.perf_counter()
        run(_load, range(first, first + batches))
        wall, cpu_end = time.perf_counter() - started, _cpu_seconds(pids)
        used = None if cpu is None or cpu_end is None else (cpu_end - cpu) / batches
        return wall / batches, used
    finally:
        _LOADER = None
        if isinstance(pool, concurrent.futures.ThreadPoolExecutor):
            pool.shutdown()
        elif pool is not None:
            pool.terminate()
            pool.join()


def measure(config: TrainConfig, steps: int = 10, warmup: int = 3) -> dict:
    """Time ``steps`` training steps of ``config`` after ``warmup`` in this process (see :meth:`SpeedProbe.time`);
    replicas are laid out once per process."""
    with SpeedProbe(config, steps + warmup) as probe:
        return probe.time(config.workers, config.use_multiprocessing, steps, warmup)


_CEILING_SCRIPT = """
import os, sys, time
import numpy as np
os.sched_setaffinity(0, {int(sys.argv[1])})
a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
a @ a
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
done, start = 0, time.perf_counter()
while time.perf_counter() - start < float(sys.argv[3]):
    a @ a
    done += 1
print(2 * 1024**3 * done / (time.perf_counter() - start) / 1e9)
"""


def parallel_ceiling(cores: list[int] | None = None, seconds: float = 1.0) -> dict:
    """The most any parallelism can give a compute-bound step here, measured now: one single-threaded sgemm
    process per core, all at once, against one alone (GFLOP/s summed over GFLOP/s alone). 2 on an idle 2-core
    machine; less when the machine's cores are shared with other work, which is why it is measured beside the
    speedups it bounds."""
    import subprocess

    cores = sorted(cores or os.sched_getaffinity(0))
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }

    def rates(which: list[int]) -> list[float]:
        start = time.time() + 1.5  # every process has imported numpy and warmed up by then
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _CEILING_SCRIPT, str(c), str(start), str(seconds)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for c in which
        ]
        out = [p.communicate()[0].strip() for p in processes]
        try:
            return [float(v) for v in out]
        except ValueError:
            raise RuntimeError(
                f"the cores' ceiling could not be measured: a single-threaded sgemm process on cores {which} "
                f"printed {out!r}. Fix: check that numpy imports in a fresh `{sys.executable}`."
            ) from None

    if len(cores) < 2:
        return {"ceiling": 1.0, "ceiling_cores": len(cores)}
    # the host's other work makes one core's rate vary by tens of percent from second to second: the fastest
    # single run (before, between and after) against the fastest run of all at once
    alone, together = [], []
    for which in ([cores[0]], cores, [cores[-1]], cores, [cores[0]]):
        (alone if len(which) == 1 else together).append(rates(which))
    best_alone = max(r[0] for r in alone)
    best_together = max(together, key=sum)
    measured = sum(best_together) / best_alone
    return {
        # k cores cannot do more than k times one core's work: a ratio above k is the host's noise (seen here: one
        # core alone slower than each of two at once), so the ceiling is held to k and the raw ratio kept beside it
        "ceiling": min(measured, float(len(cores))),
        "ceiling_measured": measured,
        "ceiling_cores": len(cores),
        "sgemm_one_core_gflops": best_alone,
        "sgemm_each_core_gflops": best_together,
    }


def matmul_gflops(dtype: str = "float32", n: int = 2048, repeats: int = 5) -> float:
    """The machine's matrix-multiply speed, best of ``repeats`` n x n products: for float32 numpy's BLAS sgemm,
    the practical ceiling a training step's GFLOP/s is read against; for another dtype (bfloat16) the Keras
    backend's matmul, what mixed precision could reach."""
    if dtype == "float32":
        a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)

        def one():
            return a @ a

    else:
        import keras

        k = keras.ops.convert_to_tensor(
            np.random.default_rng(0).standard_normal((n, n)), dtype=dtype
        )

        def one():  # reading one element back waits for the product (asynchronous backends)
            return keras.ops.convert_to_numpy(
                keras.ops.cast(keras.ops.matmul(k, k)[0, 0], "float32")
            )

    one()  # warm up (threads, caches)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        one()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9
