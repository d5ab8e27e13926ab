"""Nothing is lost when a run is killed, rerun or run twice: SIGKILL at every kind of moment of a training run,
each rerun going on from what the kill left, ends with the weights of an uninterrupted run, bit for bit; a run
folder refuses other parameters and a second writer; colourise never leaves a partial or spliced photo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from colourlib.callbacks import read_history
from colourlib.config import TrainConfig
from colourlib.runs import RunFolder, RunFolderError

TRAIN = """
import json, sys
from colourlib.config import TrainConfig
from colourlib.train import train
train(TrainConfig.from_dict(json.loads(sys.argv[2])), sys.argv[1], print_progress=False)
"""


def config(photos: Path) -> dict:
    return dict(
        image_size=32,
        batch_size=8,
        crops_per_photo=2,
        val_crops_per_photo=2,
        epochs=2,
        data_dir=str(photos),
    )


def train_process(
    run_dir: Path, params: dict, kill_at: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLOURLIB_KILL_AT"}
    if kill_at:
        env["COLOURLIB_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-c", TRAIN, str(run_dir), json.dumps(params)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def weights(path: Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: (
                found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return found


#: Along one run's timeline (2 epochs of 5 steps), each killed in its own process, each rerun going on from
#: what the previous kill left: writes of every kind (cut after the new content is complete, before it is in
#: place), steps inside an epoch, the probe after training and the removal of the backup.
KILL_POINTS = [
    "write:config#1",
    "write:environment#1",
    "write:data#1",  # before anything trained
    "batch#3",  # inside epoch 1
    "write:history#2",  # epoch 1's row (#1 drops redone rows)
    "write:best-weights#1",  # epoch 1's best weights, before its backup
    "write:backup-weights#1",
    "write:backup-state#1",  # epoch 1's backup, each half (best written)
    "batch#8",  # inside epoch 2, epoch 1 backed up
    "write:backup-state#1",  # epoch 2's backup: weights in, state not
    "write:final-weights#1",  # after the last epoch
    "probe#1",
    "write:timing#1",
    "remove-backup#1",  # after training
]


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_a_run_killed_at_every_kind_of_moment_ends_with_the_weights_of_one_never_killed(
    tmp_path, coded_photos
):
    params = config(coded_photos)
    straight = train_process(tmp_path / "straight", params)
    assert straight.returncode == 0, straight.stderr[-2000:]
    killed = tmp_path / "killed"
    for point in KILL_POINTS:
        done = train_process(killed, params, kill_at=point)
        assert done.returncode == -signal.SIGKILL, (
            f"{point} was never reached: {done.stderr[-1500:]}"
        )
    final = train_process(killed, params)
    assert final.returncode == 0, final.stderr[-2000:]

    ours, reference = (
        weights(killed / RunFolder.WEIGHTS),
        weights(tmp_path / "straight" / RunFolder.WEIGHTS),
    )
    assert ours.keys() == reference.keys() and len(ours) > 30
    assert all(np.array_equal(ours[k], reference[k]) for k in ours), (
        "not the uninterrupted run's weights"
    )
    history = read_history(killed / RunFolder.HISTORY)
    assert [int(h["epoch"]) for h in history] == [0, 1], "every epoch once"
    assert [(h["loss"], h["val_loss"]) for h in history] == [
        (h["loss"], h["val_loss"]) for h in read_history(tmp_path / "straight" / RunFolder.HISTORY)
    ]
    assert RunFolder(killed).is_finished() and not (killed / RunFolder.BACKUP).exists()
    assert not list(killed.rglob("*.partial*")), "a killed writer's temporary file survived"


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_a_run_folder_refuses_other_parameters_and_a_second_writer(tmp_path, coded_photos):
    params = config(coded_photos)
    run = RunFolder(tmp_path / "run")
    assert (
        train_process(run.path, params, kill_at="batch#8").returncode == -signal.SIGKILL
    )  # in epoch 2
    other = TrainConfig.from_dict({**params, "epochs": 5})
    with pytest.raises(
        RunFolderError, match=r"holds a run of other parameters \(epochs 2 -> 5\).*--force"
    ):
        run.state_for(other)
    assert run.state_for(TrainConfig.from_dict(params)) == "resume"
    with run.lock():  # a second writer, in another process, is refused naming this one
        done = train_process(run.path, params)
    assert done.returncode != 0 and f"another process (PID {os.getpid()})" in done.stderr
    assert train_process(run.path, params).returncode == 0
    assert run.state_for(TrainConfig.from_dict(params)) == "finished"
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "colourlib",
            "train",
            str(run.path),
            "--config",
            str(run.config_file),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0 and "already holds this run, finished" in again.stdout
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "colourlib",
            "train",
            str(run.path),
            "--config",
            str(run.config_file),
            "-p",
            "epochs=4",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 2 and "other parameters (epochs 2 -> 4)" in refused.stderr
    assert not refused.stdout.strip() and "Traceback" not in refused.stderr


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
def test_a_torn_backup_left_by_an_older_version_or_a_kill_is_never_fatal(tmp_path, coded_photos):
    """Keras's BackupAndRestore, killed while writing, left a 0-byte backup that failed every rerun
    ("file signature not found"). Backups are now named by a state file written last; a torn file is not used."""
    params = config(coded_photos)
    run = RunFolder(tmp_path / "run")
    assert (
        train_process(run.path, params, kill_at="write:backup-weights#1").returncode
        == -signal.SIGKILL
    )
    (run.backup_dir / "latest.weights.h5").write_bytes(b"")  # what the old callback left
    (run.backup_dir / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    done = train_process(run.path, params)
    assert done.returncode == 0, done.stderr[-2000:]
    assert run.is_finished() and not run.backup_dir.exists()


@pytest.mark.slow  # a training process interrupted
def test_ctrl_c_stops_training_with_one_line_saying_how_to_resume(tmp_path, coded_photos):
    import time

    params = {**config(coded_photos), "epochs": 40}
    request = tmp_path / "request.json"
    TrainConfig.from_dict(params).save(request)
    run = RunFolder(tmp_path / "run")
    # as a terminal gives its foreground job: Ctrl-C's default action (a background runner may have it ignored)
    process = subprocess.Popen(
        [sys.executable, "-m", "colourlib", "train", str(run.path), "--config", str(request)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while (
        not (run.backup_dir / "state.json").is_file() and time.time() < deadline
    ):  # epoch 1 is done
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "run the same command to resume at epoch" in err and "Traceback" not in err
    assert run.state_for(TrainConfig.from_dict(params)) == "resume"


def test_empty_paths_are_refused_on_every_command_line():
    for argv in (
        ["colourlib", "train", ""],
        ["colourlib", "colourise", "photo.jpg", "-o", ""],
        ["colourlib", "colourise", "", "-o", "out"],
        ["study", "check", "book", ""],
    ):
        done = subprocess.run(
            [sys.executable, "-m", *argv], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2 and "an empty path names no file or folder" in done.stderr, argv


def test_only_a_dead_writers_temporary_files_are_removed(tmp_path):
    from colourlib import atomic

    mine = atomic.partial_name(tmp_path / "photo.png")
    mine.write_bytes(b"being written")
    dead = tmp_path / ".other.999999999.partial.png"  # no such process
    dead.write_bytes(b"left by a kill")
    assert mine.name == f".photo.{os.getpid()}.partial.png"
    assert atomic.stale_partials(tmp_path) == [dead]


def test_the_study_clears_its_own_folder_when_it_holds_a_run_of_other_parameters_or_photos(
    tmp_path, coded_photos
):
    params = config(coded_photos)
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    TrainConfig.from_dict({**params, "epochs": 9}).save(run.config_file)
    (run.backup_dir).mkdir()
    (run.backup_dir / "state.json").write_text('{"epoch": 1, "weights": "epoch-0001.weights.h5"}')
    with pytest.raises(RunFolderError, match="other parameters"):
        run.state_for(TrainConfig.from_dict(params))
    run.make_way(TrainConfig.from_dict(params))
    assert not run.holds_a_run() and run.state_for(TrainConfig.from_dict(params)) == "new"

    TrainConfig.from_dict(params).save(run.config_file)
    run.write_json(run.DATA, {"train": ["a.png"], "val": ["b.png"]})
    (run.backup_dir).mkdir()
    (run.backup_dir / "state.json").write_text('{"epoch": 1, "weights": "epoch-0001.weights.h5"}')
    with pytest.raises(RunFolderError, match="trained on other photos"):
        run.state_for(
            TrainConfig.from_dict(params), {"train": ["a.png", "c.png"], "val": ["b.png"]}
        )


@pytest.mark.slow  # two training processes (about 30 s)
def test_a_run_started_under_one_backend_is_not_resumed_under_another(tmp_path, coded_photos):
    pytest.importorskip("jax")
    params = config(coded_photos)
    run = tmp_path / "run"
    killed = train_process(run, params, kill_at="batch#8")  # inside epoch 2, epoch 1 backed up
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-1500:]
    env = {k: v for k, v in os.environ.items() if k != "COLOURLIB_KILL_AT"}
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "colourlib",
            "train",
            str(run),
            "--config",
            str(run / "config.json"),
        ],
        env={**env, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 2, resumed.stderr[-2000:]
    (line,) = [x for x in resumed.stderr.splitlines() if x.startswith("error:")]
    assert "was started under KERAS_BACKEND=tensorflow and this process runs jax" in line
    assert "Fix: resume it with KERAS_BACKEND=tensorflow" in line
    assert json.loads((run / RunFolder.ENVIRONMENT).read_text())["keras_backend"] == "tensorflow"
