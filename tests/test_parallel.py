"""Parallel configurations: the matrix (the study file's `parallel` section), device plans, training on 1 vs 2 replicas (TensorFlow and JAX,
each in a fresh process because devices are laid out once per process), multi-machine training on 127.0.0.1,
and the study's refusal of a matrix beyond the machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pandas as pd
import pytest

from colourlib.backend import replicas
from colourlib.callbacks import read_history
from colourlib.config import ConfigError, TrainConfig
from colourlib.train import check_even_split
from study import parallel
from study.matrix import check_machine, load_matrix
from study.report import words

TINY = dict(
    image_size=32, batch_size=8, crops_per_photo=2, val_crops_per_photo=2, epochs=2, max_photos=23
)


def write(tmp_path: Path, text: str) -> Path:
    """A study configuration file with ``text`` as its matrix."""
    from conftest import write_study_file

    return write_study_file(tmp_path / "study.yaml", text)


GOOD = """
    regimes:
      tiny: {description: x, params: {epochs: 1, image_size: 32}}
    configurations:
      - {gpus: 1, workers: 1}
      - {gpus: 1, workers: 2, use_multiprocessing: true}
"""


def test_the_default_matrix_times_devices_in_every_regime_and_loaders_where_they_can_pay():
    matrix = load_matrix()
    rows = [
        (c.gpus, c.cores_per_device, c.workers, c.use_multiprocessing)
        for c in matrix.configurations
    ]
    assert rows == [
        (1, 1, 1, False),  # the fair baseline: one device on one core
        (2, 1, 1, False),  # two devices of one core each
        (1, 0, 1, False),  # one device on every core
        (1, 0, 2, False),
        (1, 0, 4, False),
        (1, 0, 2, True),
        (1, 0, 4, True),
        (2, 1, 2, True),
    ]
    assert [r.name for r in matrix.regimes] == [
        "whole-network",
        "cached-features",
        "papers-generator",
    ]
    whole, cached, generator = ([row.name for row in matrix.rows_of(r)] for r in matrix.regimes)
    assert whole == cached == ["gpus1-cores1-workers1", "gpus2-cores1-workers1", "gpus1-workers1"]
    assert generator == [row.name for row in matrix.configurations]
    configs = [config for _, _, config in matrix.runs()]
    assert len(configs) == 3 + 3 + 8 and {c.batch_size for c in configs} == {
        16
    }  # one global batch for all
    papers = [c for r, _, c in matrix.runs() if r.name == "papers-generator"]
    assert all(c.augment_features and c.cache_features for c in papers)
    assert matrix.timing.repeats >= 3 and matrix.timing.warmup_steps >= 1
    check_machine(matrix)  # 2 devices of one core each are possible on any 2-core machine CI uses


def test_a_good_matrix_file_loads(tmp_path):
    matrix = load_matrix(write(tmp_path, GOOD))
    ((_, row, config),) = [r for r in matrix.runs() if r[1].use_multiprocessing]
    assert (
        config.use_multiprocessing
        and config.workers == 2
        and config.epochs == 1
        and row.name.endswith("processes")
    )


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD.replace("use_multiprocessing: true", "procs: true"), r"unknown key\(s\) procs"),
        (GOOD.replace("epochs: 1", "epoch: 1"), r"unknown key\(s\) epoch"),
        (
            GOOD.replace("epochs: 1", "gpus: 2"),
            r"unknown key\(s\) gpus",
        ),  # set per row, not per regime
        (
            GOOD.replace("workers: 2, use_multiprocessing: true", "workers: 1"),
            r"configuration 2 duplicates configuration 1",
        ),
        (GOOD.replace("{gpus: 1, workers: 1}", "{gpus: 0, workers: 1}"), r"gpus=0 is not allowed"),
        (
            GOOD.replace("{gpus: 1, workers: 1}", "{gpus: 1.5, workers: 1}"),
            r"gpus=1.5 is not allowed",
        ),
        (
            GOOD.replace("{gpus: 1, workers: 1}", "{gpus: 1, workers: '2'}"),
            r"workers='2' is not allowed",
        ),
        (GOOD.replace("{gpus: 1, workers: 1}", "{gpus: 1}"), r"missing workers"),
        (GOOD.replace("image_size: 32", "image_size: 30"), r"image_size=30"),
        (
            GOOD.replace("{gpus: 1, workers: 1}", "{gpus: 3, workers: 1}"),
            r"batch_size=16 .* multiple of gpus=3",
        ),
        (GOOD + "    regimes: {}\n", r"key 'regimes' appears twice"),
        (GOOD + "    timing: {repeats: 2}\n", r"repeats=2 is not allowed: an integer >= 3"),
        (GOOD + "    timing: {steps: '10'}\n", r"steps='10' is not allowed"),
        (
            GOOD.replace("use_multiprocessing: true}", "regimes: [tinny]}"),
            r"configuration 2: regimes names 'tinny', not a regime of this matrix. Allowed: tiny",
        ),
        (
            GOOD.replace("use_multiprocessing: true}", "regimes: tiny}"),
            r"configuration 2: regimes='tiny' is not allowed: a list of regime names",
        ),
        (
            GOOD.replace("use_multiprocessing: true}", "regimes: []}"),
            r"regimes=\[\] is not allowed",
        ),
        (GOOD + "    timing: {step: 10}\n", r"timing: unknown key\(s\) step"),
    ],
)
def test_bad_matrix_files_are_rejected_naming_the_value(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_matrix(write(tmp_path, text))


def test_a_row_may_be_timed_in_some_regimes_only(tmp_path):
    text = GOOD.replace(
        "      tiny: {description: x, params: {epochs: 1, image_size: 32}}",
        "      tiny: {description: x, params: {epochs: 1, image_size: 32}}\n"
        "      other: {description: y, params: {epochs: 2, image_size: 32}}",
    ).replace("use_multiprocessing: true}", "use_multiprocessing: true, regimes: [other]}")
    matrix = load_matrix(write(tmp_path, text))
    tiny, other = matrix.regimes
    assert [r.name for r in matrix.rows_of(tiny)] == ["gpus1-workers1"]
    assert len(matrix.rows_of(other)) == 2 and len(matrix.runs()) == 3
    assert matrix.at_scale("tiny").rows_of(matrix.regimes[0]) == matrix.rows_of(tiny)


def test_more_gpus_than_the_machine_can_provide_is_rejected_before_training(tmp_path):
    most, _ = replicas.capacity()
    text = GOOD.replace("{gpus: 1, workers: 1}", f"{{gpus: {most * 2}, workers: 1}}").replace(
        "image_size: 32", f"image_size: 32, batch_size: {most * 2}"
    )
    matrix = load_matrix(write(tmp_path, text))
    with pytest.raises(
        ConfigError,
        match=rf"gpus{most * 2}-workers1 cannot run on this machine.*at most gpus={most}",
    ):
        check_machine(matrix)
    with pytest.raises(
        ConfigError, match=rf"gpus={most * 2} cannot be provided.*at most gpus={most}"
    ):
        replicas.provide(most * 2)


@pytest.mark.parametrize("gpus", [0, -1, 1.0, True, "2"])
def test_bad_gpus_values_are_rejected(gpus):
    with pytest.raises(ConfigError, match="gpus="):
        replicas.provide(gpus)
    with pytest.raises(ConfigError, match="gpus="):
        TrainConfig.from_dict({"gpus": gpus})


def test_workers_must_be_a_positive_integer():
    for bad in (0, 2.0, "4"):
        with pytest.raises(ConfigError, match="workers="):
            TrainConfig.from_dict({"workers": bad})


def test_every_batch_must_split_evenly_over_the_replicas():
    check_even_split(304, 16, 2, "training crops")  # 19 full batches
    check_even_split(300, 16, 2, "training crops")  # last batch of 12 splits 6 + 6
    with pytest.raises(ConfigError, match="last batch of 13, which does not split over gpus=2"):
        check_even_split(301, 16, 2, "training crops")


def test_one_replica_in_this_process_is_the_physical_device():
    plan = replicas.provide(1)
    assert plan.replicas == 1 and plan.physical and plan.hosts == 1 and plan.task_index == 0


def test_a_bad_tf_config_is_rejected(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ConfigError, match="TF_CONFIG=.*not a usable cluster description"):
        replicas.provide(1)


# --- training in fresh processes -------------------------------------------------------------------------

TRAIN_SCRIPT = """
import json, sys
from colourlib.config import TrainConfig
from colourlib.train import train
config = TrainConfig.from_dict(json.loads(sys.argv[2]))
result = train(config, sys.argv[1], print_progress=False)
"""


def train_in_process(run_dir: Path, env: dict | None = None, **params) -> subprocess.Popen:
    environment = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN_SCRIPT, str(run_dir), json.dumps({**TINY, **params})],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]


def losses(run_dir: Path, key="loss") -> np.ndarray:
    return np.array([float(h[key]) for h in read_history(run_dir / "history.csv")])


def weights(path: Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: (
                found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return found


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_replicas_with_workers_train_the_same_model_on_the_same_batches(tmp_path, backend):
    env = {"KERAS_BACKEND": backend}
    runs = {name: tmp_path / name for name in ("g1w1", "g1w2", "g2w2")}
    # JAX gets its second CPU device the documented way; colourlib asks for it itself when XLA_FLAGS is unset.
    two = (
        {**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
        if backend == "jax"
        else env
    )
    processes = [
        train_in_process(runs["g1w1"], env),
        train_in_process(runs["g1w2"], env, workers=2),
        train_in_process(runs["g2w2"], two, gpus=2, workers=2),
    ]
    for process in processes:  # concurrently: only their results are compared, not their speed
        finish(process)
    # Workers change who loads, not what is loaded: bit-identical.
    np.testing.assert_array_equal(losses(runs["g1w1"]), losses(runs["g1w2"]))
    # Two replicas sum the same gradients in another order: equal to float noise, not a shifted batch.
    np.testing.assert_allclose(
        losses(runs["g2w2"]), losses(runs["g1w1"]), rtol=replicas.REPLICA_LOSS_RTOL
    )
    plan = json.loads((runs["g2w2"] / "environment.json").read_text())["replicas"]
    assert plan["backend"] == backend and plan["replicas"] == 2 and plan["device_kind"] == "CPU"
    if backend == "tensorflow":  # a share of the cores each: compute units of their own
        assert plan["kind"] == "cpu-cores" and plan["label"] == "2 CPU devices of 1 core each"
    else:  # XLA's host devices share one thread pool
        assert plan["physical"] is False and "logical" in plan["label"]
    history = read_history(runs["g2w2"] / "history.csv")
    assert all(0 <= float(h["input_wait_share"]) < 1 for h in history)


@pytest.mark.slow  # two training processes
def test_two_devices_of_a_core_each_train_the_same_model_as_one_device(tmp_path):
    """Data parallelism on CPU devices of their own cores (TensorFlow, the default backend): the same starting
    weights and batches give the same losses to float32 rounding, on one device and on two."""
    one = train_in_process(
        tmp_path / "one", {"KERAS_BACKEND": "tensorflow"}, epochs=1, cores_per_device=1
    )
    two = train_in_process(
        tmp_path / "two", {"KERAS_BACKEND": "tensorflow"}, epochs=1, gpus=2, cores_per_device=1
    )
    for process in (one, two):  # at once: only their results are compared
        finish(process)
    np.testing.assert_allclose(
        losses(tmp_path / "two"), losses(tmp_path / "one"), rtol=replicas.REPLICA_LOSS_RTOL
    )
    plan = json.loads((tmp_path / "two" / "environment.json").read_text())["replicas"]
    assert plan["kind"] == "cpu-cores" and plan["cores_per_device"] == 1 and plan["replicas"] == 2
    settings = json.loads((tmp_path / "two" / "environment.json").read_text())["runtime"]
    assert settings["usable_cores"] == 2 and settings["intra_op_threads"] == 1
    assert settings["inter_op_threads"] == 2


def test_more_devices_than_cores_is_one_line_naming_the_limit_and_the_fix():
    from colourlib.backend.runtime import core_share

    assert core_share(2, 0, cores=2)[0] == 1 and core_share(1, 0, cores=2)[0] == 2
    with pytest.raises(
        ConfigError,
        match=r"gpus=3 with cores_per_device=1 needs 3 CPU cores, and this process may use 2.*Fix: gpus <= 2",
    ):
        core_share(3, 1, cores=2)
    with pytest.raises(
        ConfigError,
        match=r"gpus=2 with cores_per_device=2 needs 4 CPU cores.*Fix: gpus <= 1 or cores_per_device <= 1",
    ):
        core_share(2, 2, cores=2)
    with pytest.raises(ConfigError, match="cores_per_device=-1 is not allowed"):
        TrainConfig.from_dict({"cores_per_device": -1})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_two_machines_on_localhost_end_with_identical_weights(tmp_path):
    cluster = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    workers = [
        train_in_process(
            tmp_path / "run",
            {
                "KERAS_BACKEND": "tensorflow",
                "TF_CONFIG": json.dumps(
                    {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": i}}
                ),
            },
            epochs=1,
        )
        for i in range(2)
    ]
    one_machine = train_in_process(
        tmp_path / "one-machine", {"KERAS_BACKEND": "tensorflow"}, gpus=2, epochs=1
    )
    for process in [*workers, one_machine]:
        finish(process)
    chief, other = (
        weights(tmp_path / "run" / "colouriser.weights.h5"),
        weights(tmp_path / "run" / "worker-1" / "colouriser.weights.h5"),
    )
    assert chief.keys() == other.keys() and len(chief) > 50
    assert all(np.array_equal(chief[k], other[k]) for k in chief)
    plan = json.loads((tmp_path / "run" / "environment.json").read_text())["replicas"]
    assert plan["hosts"] == 2 and plan["total_replicas"] == 2
    # The two machines split each global batch as two replicas on one machine do.
    np.testing.assert_allclose(
        losses(tmp_path / "run"), losses(tmp_path / "one-machine"), rtol=1e-5
    )


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_a_machine_whose_peer_never_joins_stops_with_one_line_naming_it(tmp_path):
    port = free_port()
    cluster = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}"]
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "COLOURLIB_PEER_TIMEOUT_S": "10",
        "TF_CONFIG": json.dumps(
            {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": 0}}
        ),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "study", "train", str(tmp_path / "run"), "--preset", "tiny"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode != 0 and len(errors) == 1, done.stderr[-3000:]  # ended by its watchdog
    assert f"worker 1 (127.0.0.1:{port}) has not joined within 10 s" in errors[0]
    assert "Fix: start the same command there" in errors[0] and "Traceback" not in done.stderr
    assert time.monotonic() - started < 120


# a device process killed mid-run must end the others with one line
@pytest.mark.slow  # two training processes, one killed
def test_a_killed_machine_ends_the_others_run_with_one_line_naming_it(tmp_path):
    cluster = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]

    def worker(index: int) -> subprocess.Popen:
        env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "COLOURLIB_PEER_TIMEOUT_S": "10",
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
            ),
        }
        command = [sys.executable, "-m", "study", "train", str(tmp_path / "run"), "--preset"]
        return subprocess.Popen(
            [*command, "tiny", "-p", "epochs=200"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    chief, other = worker(0), worker(1)
    history = tmp_path / "run" / "history.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (
        history.is_file() and len(history.read_text().splitlines()) > 2
    ):
        time.sleep(1)  # both machines have trained two epochs together
    other.kill()
    other.wait()
    killed = time.monotonic()
    _, stderr = chief.communicate(timeout=120)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert chief.returncode != 0 and len(errors) == 1, stderr[-3000:]
    # TensorFlow's own error (caught: one line) or the watchdog's, whichever notices first
    assert f"worker 1 ({cluster[1]})" in errors[0] and "stopped answering within 10 s" in errors[0]
    assert "Traceback" not in stderr
    assert time.monotonic() - killed < 60


# --- the speed table ----------------------------------------------------------------------------------


def speed_timings(ips: dict, ceiling: float = 1.9) -> pd.DataFrame:
    """Timings as study.timing.timings gives them: images/s per repeat for each (gpus, cores per
    device, workers, loaders), with the cores' ceiling measured in the same repeats."""
    rows = []
    for (gpus, cores, workers, loaders), values in ips.items():
        for k, v in enumerate(values, start=1):
            rows.append(
                dict(
                    regime="r",
                    gpus=gpus,
                    cores=cores,
                    workers=workers,
                    loaders=loaders,
                    repeat=k,
                    status="ok",
                    seconds_per_step=16 / v,
                    images_per_s=v,
                    user_seconds=8.0,
                    sys_seconds=2.0,
                    page_faults=1000,
                    steps=10,
                    warmup_steps=3,
                    gflop_per_step=1.0,
                    gflop_per_s=v / 16,
                    devices=f"{gpus} CPU device(s) of {cores} core(s)",
                    device_kind="cpu-cores",
                    sgemm_gflops=100.0,
                    image_size=64,
                    batch_size=16,
                    ceiling=ceiling,
                )
            )
    return pd.DataFrame(rows)


def test_speed_table_reads_devices_against_one_core_and_loaders_against_one_thread_on_the_same_cores():
    timings = speed_timings(
        {
            (1, 1, 1, "threads"): [40, 42, 38],  # the fair baseline
            (2, 1, 1, "threads"): [72, 76, 74],  # two devices of one core each
            (1, 2, 1, "threads"): [70, 72, 68],  # one device on both cores
            (1, 2, 2, "threads"): [80, 78, 82],
            (1, 2, 4, "threads"): [71, 75, 69],
            (1, 2, 2, "processes"): [50, 51, 49],
        }
    )
    timings = pd.concat(
        [
            timings,
            pd.DataFrame(
                [dict(regime="r", gpus=2, cores=1, workers=2, loaders="threads", status="missing")]
            ),
        ],
        ignore_index=True,
    )
    table = parallel.speed_table(timings).set_index(["gpus", "cores", "workers", "loaders"])
    base = table.loc[(1, 1, 1, "threads")]
    assert (base.images_per_s, base.images_per_s_low, base.images_per_s_high) == (40, 38, 42)
    assert base.verdict == "baseline" and base.seconds_per_step == pytest.approx(16 / 40)
    assert base.ceiling == 1 and base.baseline == "1 device x 1 core, 1 thread"
    one_process = pd.Series({"gpus": 2, "cores": 1, "workers": 1, "loaders": "processes"})
    assert parallel.configuration_label(one_process) == "2 devices x 1 core, 1 process"
    two = table.loc[(2, 1, 1, "threads")]
    assert two.speedup == pytest.approx(74 / 40) and two.verdict == "gain"
    assert (two.speedup_low, two.speedup_high) == (pytest.approx(72 / 42), pytest.approx(76 / 38))
    assert two.ceiling == pytest.approx(1.9) and two.efficiency == pytest.approx(74 / 40 / 1.9)
    cores = table.loc[(1, 2, 1, "threads")]
    assert (
        cores.speedup == pytest.approx(70 / 40) and cores.baseline == "1 device x 1 core, 1 thread"
    )
    # loaders against one loading thread on the same device and cores, whose ceiling is theirs too
    threads = table.loc[(1, 2, 2, "threads")]
    assert threads.speedup == pytest.approx(80 / 70) and threads.verdict == "gain"
    assert threads.baseline == "1 device x 2 cores, 1 thread" and threads.ceiling == pytest.approx(
        1
    )
    assert table.loc[(1, 2, 4, "threads")].verdict == "no difference"  # 69-75 overlaps 68-72
    assert table.loc[(1, 2, 2, "processes")].verdict == "loss"
    assert table.loc[(2, 1, 1, "threads"), "paper_speedup"] == pytest.approx(11351.00 / 4860.35)
    assert pd.isna(
        table.loc[(1, 2, 2, "processes"), "paper_speedup"]
    )  # the paper timed threads only
    assert base.kernel_share == pytest.approx(0.2) and base.share_of_sgemm == pytest.approx(
        2.5 / 100
    )
    assert base.cpu_cores_busy == pytest.approx(10 / (16 / 40 * 10))
    assert table.loc[(2, 1, 2, "threads"), "status"] == "failed"
    no_base = parallel.speed_table(timings[~((timings.gpus == 1) & (timings.workers == 1))])
    assert no_base.speedup.isna().all() and set(no_base[no_base.status == "ok"].verdict) == {
        "baseline not timed"
    }
    summary = parallel.summary(parallel.speed_table(timings))
    assert list(summary.columns) == parallel.SUMMARY_COLUMNS and len(summary) == 6
    assert summary.iloc[1][["devices", "device_kind", "cores_per_device", "verdict"]].tolist() == [
        2,
        "cpu-cores",
        1,
        "gain",
    ]
    from study.report.values import NOT_TIMED, parallel_values

    whole = timings.assign(regime="whole-network")
    values = parallel_values(parallel.speed_table(whole), whole)
    assert values["speedup_whole_2x1"] == "1.85x (1.71-2.00, gain)"
    assert values["speedup_whole_cores"] == "1.75x (1.62-1.89, gain)"
    assert values["speedup_whole_1x2"] == "1.14x (1.08-1.21, gain)"
    assert values["speedup_whole_1x4"] == "1.01x (0.96-1.10, no difference)"
    assert values["speedup_whole_1x2p"] == "0.71x (0.68-0.75, loss)"
    assert values["speedup_whole_2x2p"] == NOT_TIMED
    assert values["whole_2x1_of_ceiling"] == pytest.approx(74 / 40 / 1.9)
    assert values["ceiling"] == pytest.approx(1.9)
    assert (values["whole_n_gains"], values["whole_n_compared"]) == (3, 5)
    assert values["whole_base_ips"] == 40 and values["whole_base_ips_range"] == "38.0-42.0"
    assert (values["whole_steps"], values["whole_warmup"], values["repeats"]) == (10, 3, 3)
    assert values["devices_2x1_kind"] == "CPU cores"
    assert values["failed_configurations"] == "whole-network gpus=2 cores=1 workers=2 (threads)"
    assert values["n_failed"] == 1
    # a regime that was not timed is cited as such, never as a missing key
    assert (
        values["speedup_cached_1x2"] == NOT_TIMED and values["cached_base_ips_range"] == NOT_TIMED
    )
    assert values["cached_n_gains"] == 0 and values["cached_reproduced"] == 0
    no_base = parallel_values(
        parallel.speed_table(whole[~((whole.gpus == 1) & (whole.workers == 1))]), whole
    )
    assert no_base["speedup_whole_2x1"] == NOT_TIMED and no_base["whole_n_compared"] == 0


def test_the_scaling_model_predicts_two_devices_from_a_share_of_the_step_and_the_all_reduce():
    timings = speed_timings(
        {(1, 1, 1, "threads"): [40, 40, 40], (2, 1, 1, "threads"): [70, 70, 70]}
    )
    timings["loader_seconds_alone"] = 0.01
    timings["loader_cpu_seconds_alone"] = 0.01
    timings["usable_cores"] = timings.gpus * timings.cores
    timings["step_cores_busy"] = 0.9 * timings.gpus  # the cores each step kept busy
    timings["step_seconds_alone"] = [0.4] * 3 + [0.25] * 3
    timings["step_share_seconds_alone"] = [0.21] * 3 + [
        float("nan")
    ] * 3  # one device, half the batch
    timings["allreduce_seconds"] = [float("nan")] * 3 + [0.02] * 3
    timings["share_of_batch"] = [2] * 3 + [float("nan")] * 3
    table = parallel.speed_table(timings).set_index(["gpus", "cores", "workers", "loaders"])
    two = table.loc[(2, 1, 1, "threads")]
    # S_2 = S_1(B/2) + A = 0.21 + 0.02; the baseline's own step 0.4: 0.4 / 0.23
    assert two.predicted_seconds_per_step == pytest.approx(0.23)
    assert two.predicted_speedup == pytest.approx(0.4 / 0.23)
    assert two.predicted_verdict == "gain"
    from study.report.tables import scaling_table

    timings["gradient_bytes"] = 6_000_000
    shown = scaling_table(parallel.speed_table(timings)).loc["r"]
    assert (shown["step ms"], shown["half batch ms"], shown["sum ms"]) == ("400.0", "210.0", "20.0")
    assert shown["gradients MB"] == "6.0" and shown["predicted"] == f"{0.4 / 0.23:.2f}"
    assert shown["measured (range)"] == "1.75 (1.75-1.75)" and shown["ceiling"] == "1.90"


def test_a_speedup_range_shows_the_digit_that_separates_it_from_one():
    assert words.speedup_range(0.96, 0.998) == "0.96-0.998"  # a loss: its high bound is below 1
    assert words.speedup_range(0.96, 1.003) == "0.96-1.003"  # no difference
    assert words.speedup_range(0.9996, 1.0) == "0.9996-1.00"
    assert (
        words.speedup_range(0.8, 1.0) == "0.80-1.00"
        and words.speedup_range(1.14, 1.37) == "1.14-1.37"
    )


def test_timing_jobs_rotate_the_rows_and_a_timing_of_the_same_code_is_reused(tmp_path, monkeypatch):
    from study import timing

    monkeypatch.delenv(
        "ONEDNN_MAX_CPU_ISA", raising=False
    )  # the first setup, even where the suite runs under the cap
    monkeypatch.setattr(
        "study.speed.parallel_ceiling", lambda: {"ceiling": 1.9, "ceiling_cores": 2}
    )
    matrix = load_matrix().at_scale("tiny")
    jobs = timing.jobs(matrix)
    # per repeat and device set (devices, each one's cores), one process times every regime
    assert len(jobs) == matrix.timing.repeats * 3
    assert [(j.gpus, j.cores_per_device, len(j.regimes)) for j in jobs[:3]] == [
        (1, 1, 3),
        (2, 1, 3),
        (1, 0, 3),
    ]
    assert [(j.gpus, j.cores_per_device) for j in jobs[3:6]] == [(2, 1), (1, 0), (1, 1)]  # rotated
    timed = [(r.name, row.name, j.repeat) for j in jobs for r, row in j.runs]
    assert len(timed) == len(set(timed)) == len(matrix.runs()) * matrix.timing.repeats
    first = [
        [row.name for r, row in j.runs if r.name == "papers-generator"]
        for j in jobs
        if (j.gpus, j.cores_per_device) == (1, 0)
    ]
    assert first[0][:2] == ["gpus1-workers1", "gpus1-workers2"]
    assert first[1][0] == "gpus1-workers2"  # repeat 2 starts one row later
    assert set(first[0]) == set(first[1])
    assert jobs[0].regimes[0] != jobs[3].regimes[0]  # and with another regime
    # the one-device one-core process also times the step on half a batch, for the two devices' model
    assert [timing.step_share(matrix, j) for j in jobs[:3]] == [2, 1, 1]

    started = []

    class Done:  # a child that "times" whatever it is asked to, writing the result files
        def __init__(self, command, **kwargs):
            request = json.loads(Path(command[-1]).read_text())
            started.append(len(request["runs"]))
            for run in request["runs"]:
                file = (
                    Path(command[-1]).parent / run["file"]
                )  # relative to the request, as the child reads it
                assert not Path(run["file"]).is_absolute()  # no machine path in the record
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(
                    json.dumps(
                        {
                            "config": run["config"],
                            "timing": run["timing"],
                            "setup": request["setup"],
                            "code_fingerprint": request["code_fingerprint"],
                            "repeat": request["repeat"],
                            "result": {"images_per_s": 1.0},
                            "sgemm_gflops": 1.0,
                            "environment": {},
                        }
                    )
                )
            self.stdout = iter(["timed\n"])

        def wait(self):
            return 0

    monkeypatch.setattr(timing.subprocess, "Popen", Done)
    assert timing.time_matrix(matrix, tmp_path) == []
    assert len(started) == len(jobs)
    reused = []
    assert timing.time_matrix(matrix, tmp_path, on_job=lambda job, done: reused.append(done)) == []
    assert len(started) == len(jobs) and all(reused)  # nothing timed twice
    monkeypatch.setenv(
        "ONEDNN_MAX_CPU_ISA", "AVX2"
    )  # another setup: timed again, not mixed with the first
    assert timing.time_matrix(matrix, tmp_path) == [] and len(started) == 2 * len(jobs)
    cores = timing.setup()["usable_cores"]
    other = (
        {0} if cores > 1 else {0, 1}
    )  # `taskset -c 0` on a 2-core machine, or the other way round
    monkeypatch.setattr(timing.os, "sched_getaffinity", lambda pid: other, raising=False)
    if (
        cores > 1
    ):  # `taskset -c 0`: two devices of a core each cannot be laid out, and say so before timing
        with pytest.raises(
            ConfigError, match="gpus2-cores1-workers1 needs 2 CPU cores and this process may use 1"
        ):
            timing.time_matrix(matrix, tmp_path)
        other = set(range(cores + 1))  # one core more than before: another setup, timed again
        monkeypatch.setattr(timing.os, "sched_getaffinity", lambda pid: other, raising=False)
    assert timing.time_matrix(matrix, tmp_path) == [] and len(started) == 3 * len(jobs)
    frame = timing.timings(matrix, tmp_path)
    assert len(frame) == len(matrix.runs()) * matrix.timing.repeats and set(frame.status) == {"ok"}


def test_the_matrix_at_another_scale_keeps_each_regimes_nature():
    tiny = load_matrix().at_scale("tiny")
    configs = {(regime.name, row.name): config for regime, row, config in tiny.runs()}
    cached = configs[("papers-generator", "gpus2-cores1-workers2-processes")]
    whole = configs[("whole-network", "gpus1-cores1-workers1")]
    assert (cached.image_size, cached.epochs, cached.preset) == (32, 2, "tiny")
    assert (
        cached.cache_features
        and not cached.encoder_trainable
        and (cached.gpus, cached.cores_per_device, cached.workers) == (2, 1, 2)
    )
    assert not whole.in_memory and whole.epochs == 2
    with pytest.raises(ConfigError, match="preset='huge' is not known"):
        load_matrix().at_scale("huge")


def test_the_study_refuses_a_matrix_beyond_the_machine_before_the_engine_starts(
    tmp_path, monkeypatch
):
    from study import pipeline

    started = []
    monkeypatch.setattr(pipeline.subprocess, "run", lambda *args, **kwargs: started.append(args))
    most, _ = replicas.capacity()
    text = GOOD.replace("{gpus: 1, workers: 1}", f"{{gpus: {most * 2}, workers: 1}}").replace(
        "image_size: 32", f"image_size: 32, batch_size: {most * 2}"
    )
    with pytest.raises(ConfigError, match=rf"gpus{most * 2}-workers1 cannot run on this machine"):
        pipeline.run_workflow("quick", write(tmp_path, text))
    assert started == [], "refused before the workflow engine started"


def test_a_regime_may_time_its_own_steps_and_the_tiny_scale_shortens_both(tmp_path):
    text = GOOD.replace(
        "tiny: {description: x, params: {epochs: 1, image_size: 32}}",
        "tiny: {description: x, params: {epochs: 1, image_size: 32}, timing: {steps: 50}}",
    )
    matrix = load_matrix(
        write(
            tmp_path,
            text
            + "    timing: {steps: 7, repeats: 4}\n"
            + "    timing_at_preset: {tiny: {steps: 2, warmup_steps: 1}}\n",
        )
    )
    (regime,) = matrix.regimes
    assert matrix.timing_of(regime).__dict__ == {"steps": 50, "warmup_steps": 3, "repeats": 4}
    tiny = matrix.at_scale("tiny")
    assert tiny.timing_of(tiny.regimes[0]).steps == tiny.timing.steps == 2
    with pytest.raises(ConfigError, match=r"regime 'tiny' timing: unknown key\(s\) stepz"):
        load_matrix(write(tmp_path, text.replace("timing: {steps: 50}", "timing: {stepz: 50}")))


def test_the_values_say_which_of_the_papers_speedups_were_reproduced_from_the_ranges():
    timings = speed_timings(
        {
            (1, 1, 1, "threads"): [40, 42, 38],
            (1, 2, 1, "threads"): [40, 42, 38],
            (1, 2, 2, "threads"): [52, 56, 54],
            (1, 2, 4, "threads"): [41, 45, 39],
            (2, 1, 1, "threads"): [30, 31, 29],
        }
    )
    table = parallel.speed_table(timings.assign(regime="whole-network"))
    claims = {(c["gpus"], c["workers"]): c for c in parallel.paper_claims(table)}
    assert (
        claims[(1, 2)]["reproduced"] and claims[(1, 2)]["verdict"] == "gain"
    )  # 1.34 inside 1.24-1.47
    overlapping = parallel.speed_table(
        speed_timings(
            {(1, 2, 1, "threads"): [40, 42, 38], (1, 2, 2, "threads"): [38, 56, 47]}
        ).assign(regime="whole-network")
    )
    (claim,) = [c for c in parallel.paper_claims(overlapping) if "speedup" in c]
    assert (
        claim["verdict"] == "no difference" and not claim["reproduced"]
    )  # reaching 1.34 is not enough
    assert not claims[(1, 4)]["reproduced"] and not claims[(2, 1)]["reproduced"]
    from study.report.values import parallel_values

    values = parallel_values(table, timings.assign(regime="whole-network"))
    assert values["whole_reproduced"] == 1 and values["n_paper_claims"] == 3
    assert values["speedup_whole_1x2"] == "1.35x (1.24-1.47, gain)"
    assert values["speedup_whole_2x1"] == "0.75x (0.69-0.82, loss)"
    assert parallel_values(table.assign(status="failed"), timings)["whole_reproduced"] == 0


def test_the_overlap_model_predicts_from_the_loader_and_the_step_measured_apart():
    # the paper's generator on 2 cores: a 60 ms loader (60 ms of CPU), a 15 ms step keeping one core busy
    assert parallel.overlap_seconds(0.060, 0.060, 0.015, 1.0, 2) == pytest.approx(0.060)
    # two loader processes halve the loader's time, and the cores can still do both jobs' work in 37.5 ms
    assert parallel.overlap_seconds(0.030, 0.060, 0.015, 1.0, 2) == pytest.approx(0.0375)
    # on one core the loaders cannot overlap the step at all: L + S
    assert parallel.overlap_seconds(0.030, 0.060, 0.015, 1.0, 1) == pytest.approx(0.075)
    # a GPU-bound step (no CPU work): the familiar max(L / k, S)
    assert parallel.overlap_seconds(0.015, 0.060, 0.020, 0.0, 8) == pytest.approx(0.020)

    timings = speed_timings(
        {
            (1, 1, 1, "threads"): [16 / 0.060] * 3,
            (1, 2, 1, "threads"): [16 / 0.060] * 3,
            (1, 2, 2, "threads"): [16 / 0.062] * 3,
            (1, 2, 2, "processes"): [16 / 0.040, 16 / 0.041, 16 / 0.042],
            (2, 1, 1, "threads"): [16 / 0.061] * 3,
        }
    )
    loader = {(1, 1, "threads"): 0.060, (1, 2, "threads"): 0.064, (1, 2, "processes"): 0.030}
    timings["loader_seconds_alone"] = [
        loader.get((g, w, k), 0.060)
        for g, w, k in zip(timings.gpus, timings.workers, timings.loaders)
    ]
    timings["loader_cpu_seconds_alone"] = 0.060
    timings["step_seconds_alone"] = [0.015 if g == 1 else 0.025 for g in timings.gpus]
    timings["step_cores_busy"] = 1.0
    timings["usable_cores"] = 2
    table = parallel.speed_table(timings).set_index(["gpus", "cores", "workers", "loaders"])
    processes = table.loc[(1, 2, 2, "processes")]
    assert processes.predicted_speedup == pytest.approx(0.060 / 0.0375)
    assert processes.predicted_seconds_per_step == pytest.approx(0.0375)
    assert processes.predicted_verdict == "gain" and processes.verdict == "gain"
    # threads of a loader that holds the interpreter do not run at once: nothing predicted, nothing measured
    threads = table.loc[(1, 2, 2, "threads")]
    assert threads.predicted_speedup == pytest.approx(0.060 / 0.064)
    assert threads.predicted_verdict == "no difference"
    assert table.loc[(2, 1, 1, "threads")].predicted_speedup == pytest.approx(1.0)
    assert table.loc[(1, 1, 1, "threads")].predicted_verdict == "baseline"
    # timings from before the model (no loader measured apart) predict nothing
    old = parallel.speed_table(timings.drop(columns=["loader_seconds_alone"]))
    assert "predicted_speedup" not in old

    from study.report.values import NOT_TIMED, overlap_values

    values = overlap_values(parallel.speed_table(timings), "r")
    assert values["predicted_r_1x2p"] == "1.60x (1.60-1.60)" and values[
        "loader_ms_r_1x2p"
    ] == pytest.approx(30)
    assert values["r_loader_over_step"] == pytest.approx(4) and values[
        "loader_ms_r_1x1"
    ] == pytest.approx(60)
    assert values["r_best_workers"] == "2 loading processes, 1.46x (1.43-1.50, gain)"
    assert values["r_workers_verdict"] == "gain"
    # the model said "no difference" where 2 threads and 2 devices lost a little: 2 verdicts of 4 matched (the
    # second core alone: no difference either way)
    assert (values["r_model_agrees"], values["r_model_compared"]) == (2, 4)
    assert overlap_values(old, "r")["predicted_r_1x2p"] == NOT_TIMED


class SlowBatches(keras.utils.PyDataset):
    """A loader whose every batch waits 40 ms without holding the interpreter (as I/O would)."""

    def __getitem__(self, index):
        time.sleep(0.04)
        return np.zeros((2, 1)), np.zeros((2, 1))

    @property
    def num_batches(self):
        return None


def test_the_loader_measured_apart_runs_its_workers_at_once():
    from study.speed import loader_seconds

    one, cpu = loader_seconds(SlowBatches(), 1, False, 6)
    assert 0.04 <= one < 0.08 and 0 <= cpu < 0.02  # waiting costs no CPU
    assert loader_seconds(SlowBatches(), 4, False, 8)[0] < one * 0.6  # threads wait at once
    assert loader_seconds(SlowBatches(), 2, True, 6)[0] < one * 0.8  # processes too


class BusyBatches(SlowBatches):
    def __getitem__(self, index):
        end = time.process_time() + 0.03
        while time.process_time() < end:  # 30 ms of CPU, in whichever process loads
            pass
        return np.zeros((2, 1)), np.zeros((2, 1))


def test_the_loader_measured_apart_counts_its_workers_cpu():
    from study.speed import loader_seconds

    for workers, processes in ((1, False), (2, True)):
        _, cpu = loader_seconds(BusyBatches(), workers, processes, 6)
        assert 0.025 < cpu < 0.06, (workers, processes, cpu)


def test_the_loader_against_step_figure_draws_each_regimes_fair_baseline_on_a_log_scale():
    from study.report import figures

    two = pd.concat(
        [
            speed_timings({(1, 1, 1, "threads"): [40, 42, 38], (1, 2, 2, "threads"): [50, 50, 50]}),
            speed_timings({(1, 1, 1, "threads"): [90, 91, 89]}).assign(regime="q"),
        ],
        ignore_index=True,
    )
    seconds = {("r", 1): (0.05, 0.02), ("r", 2): (9.0, 9.0), ("q", 1): (0.001, 0.3)}
    two["loader_seconds_alone"] = [seconds[(r, c)][0] for r, c in zip(two.regime, two.cores)]
    two["step_seconds_alone"] = [seconds[(r, c)][1] for r, c in zip(two.regime, two.cores)]
    ax = figures.loader_against_step(parallel.speed_table(two)).axes[0]
    widths = sorted(round(bar.get_width(), 3) for bar in ax.patches)
    assert widths == [0.001, 0.02, 0.05, 0.3]  # the two-core row (9 s) is not a fair baseline
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_yticklabels()] == ["r", "q"]
    assert {t.get_text() for t in ax.texts} == {"loading / step = 2.5", "loading / step = 0.0033"}
    missing = figures.loader_against_step(
        parallel.speed_table(speed_timings({(1, 1, 1, "threads"): [1]}))
    )
    assert missing.axes[0].texts[0].get_text() == "no loader or step measured apart"
