"""Every fault ends in one clear line with the fix and the right exit code, nothing lost: a full disk, a
read-only folder, an animated image, and the odd inputs of issue 30, each as a user would meet it."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import save_rgb

from colourlib import ConfigError
from colourlib.apps import cli
from colourlib.data.photos import DataError, load_photo_set
from study import paths as study_paths
from study.config import notebook_config, preset_config

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(folder: Path, options: str):
    """A small tmpfs mounted at ``folder`` for the block (a full or read-only disk, as root only)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def colourlib_command(
    *args: str, env: dict | None = None, script: str | None = None, module: str = "colourlib"
):
    """``python -m colourlib ARGS`` (or ``module``, or ``script`` with ARGS in ``sys.argv``) in a fresh process."""
    command = (
        [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", module, *args]
    )
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# --- full disk, read-only folders ---------------------------------------------------------------------------


@pytest.mark.skipif(not ROOT, reason="mounting a small tmpfs (a full disk) needs root")
def test_a_disk_too_small_for_the_run_is_refused_before_training(tmp_path):
    with tmpfs(tmp_path / "small", "size=600k") as disk:
        done = colourlib_command(
            "train",
            str(disk / "run"),
            "--preset",
            "tiny",
            env={"COLOURLIB_RUNS": str(tmp_path / "runs")},
            module="study",
        )
        assert done.returncode == 2, done.stderr[-2000:]
        (line,) = error_lines(done.stderr)
        assert "this run needs about" in line and "MB free. Fix: free space" in line
        assert "Traceback" not in done.stderr


# A full disk in the middle of training: the room check is skipped so that a write fails for real.
FILL_DURING_TRAINING = textwrap.dedent("""
    import sys
    from colourlib.runs import RunFolder
    RunFolder.check_space = lambda self, needed: None
    from study.cli import main
    raise SystemExit(main(sys.argv[1:]))
""")


@pytest.mark.slow  # `make test` skips it; `make test-all` (CI) runs it
@pytest.mark.skipif(not ROOT, reason="mounting a small tmpfs (a full disk) needs root")
def test_a_disk_that_fills_during_training_ends_in_one_line_without_a_segfault(tmp_path):
    from colourlib.callbacks import read_backup

    with tmpfs(tmp_path / "full", "size=3m") as disk:
        for attempt in range(2):  # and again on rerun
            done = colourlib_command(
                "train",
                str(disk / "run"),
                "--preset",
                "tiny",
                script=FILL_DURING_TRAINING,
                env={"COLOURLIB_RUNS": str(tmp_path / "runs")},
            )
            assert done.returncode == 2, (
                f"attempt {attempt}: exit {done.returncode}\n{done.stderr[-3000:]}"
            )
            (line,) = error_lines(done.stderr)
            assert "No space left on device" in line and "Fix: free space on that disk" in line
            assert "Traceback" not in done.stderr
            epoch, _ = read_backup(
                disk / "run" / "backup"
            )  # whatever it holds is a complete backup
            assert epoch >= 0


def test_a_run_folder_that_cannot_be_written_is_one_line_with_the_fix(tmp_path, capsys):
    if ROOT:
        stack = contextlib.ExitStack()
        folder = stack.enter_context(tmpfs(tmp_path / "ro", "ro,size=1m"))
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        stack = contextlib.ExitStack()
        stack.callback(folder.chmod, 0o755)
    with stack:
        for target in (folder / "new", folder):
            code = cli.main(["train", str(target), "-p", "image_size=32", "-p", "epochs=1"])
            (line,) = capsys.readouterr().err.strip().splitlines()
            assert code == 2 and line.startswith(f"error: {target}: cannot write"), line
            assert "Fix: train into a folder you can write to, or make this one writable." in line


def test_the_cannot_write_message_names_the_folder_the_cause_and_the_fix(tmp_path, capsys):
    import errno

    from colourlib.runs import RunFolder, RunFolderError

    run = RunFolder(tmp_path / "run")
    with pytest.raises(RunFolderError) as refused:
        with run.lock():
            raise OSError(errno.EROFS, "Read-only file system", str(run.path / "history.csv"))
    assert str(refused.value).startswith(
        f"{run.path}: cannot write {run.path / 'history.csv'} (Read-only file system)."
    )
    assert "Fix: train into a folder you can write to" in str(refused.value)
    with pytest.raises(
        OSError, match="not a write problem"
    ):  # any other OSError keeps its traceback
        with run.lock():
            raise OSError(errno.EIO, "not a write problem")
    with pytest.raises(RunFolderError, match=r"needs about \d+ MB .* Fix: free space"):
        run.check_space(1 << 60)


# --- training's inputs --------------------------------------------------------------------------------------


def test_an_image_size_larger_than_every_photo_names_image_size_as_the_fix(recwarn):
    with pytest.raises(
        DataError,
        match=r"image_size=99968 is larger than every photo .* Fix: a smaller "
        r"image_size",
    ):
        load_photo_set(None, 99968, max_photos=23)
    assert not [w for w in recwarn if "skipped" in str(w.message)], (
        "no listing of hundreds of photos"
    )
    assert not [w for w in recwarn if "usable" in str(w.message)], (
        "no warning about 0 usable photos before the error that says why"
    )


def test_max_photos_above_the_set_says_how_many_were_used(tmp_path):
    for i in range(5):
        save_rgb(tmp_path / f"p{i}.png", seed=i)
    with pytest.warns(
        UserWarning, match="max_photos=1000 is more than the 5 usable .* using all 5"
    ):
        photos = load_photo_set(tmp_path, 32, max_photos=1000)
    assert len(photos.train) + len(photos.val) == 5


def test_a_skipped_listing_is_cut_at_ten_lines_and_points_to_data_json(tmp_path):
    for i in range(3):
        save_rgb(tmp_path / f"big{i}.png", size=(64, 64), seed=i)
    for i in range(14):
        save_rgb(tmp_path / f"small{i:02d}.png", size=(16, 16), seed=i)
    with pytest.warns(UserWarning, match=r"skipped 14 file\(s\)") as caught:
        load_photo_set(tmp_path, 32)
    text = str(caught[0].message)
    assert text.count("smaller than image_size=32") == 10 and "... and 4 more" in text


def test_a_config_file_of_the_wrong_json_type_is_one_line(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text("[1, 2]")
    assert cli.main(["train", str(tmp_path / "run"), "--config", str(config)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: --config {config}: a configuration is a JSON object of parameters"
    )


def test_the_train_notebook_refuses_a_parameter_it_does_not_declare():
    history = [
        "",
        'preset = "quick"\ngpus = 1\nworkers = 1\n',
        '# Parameters\ncolour = "red"\ngpus = 2\n',
    ]
    with pytest.raises(
        ConfigError, match=r"^train.ipynb parameters: unknown parameter\(s\) colour "
    ):
        notebook_config({"In": history, "preset": "tiny", "gpus": 2}, "train.ipynb parameters")
    history[2] = "# Parameters\ngpus = 2\n"
    assert notebook_config({"In": history, "preset": "tiny", "gpus": 2}, "x").gpus == 2


@pytest.mark.parametrize(
    "argv",
    [["colourise", "--help"], ["train", "--help"], ["--help"], ["colourise", "--image-size"]],
)
def test_help_and_argument_errors_answer_before_keras_is_imported(argv):
    probe = textwrap.dedent(f"""
        import sys
        from colourlib.apps.cli import main
        try:
            main({argv!r})
        except SystemExit:
            pass
        print("KERAS" if "keras" in sys.modules else "NO KERAS")
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "NO KERAS", done.stdout + done.stderr


# --- the smoke test and the real study --------------------------------------------------------------------------

#: A stand-in for the study: writes a file into every place the study writes (runs, timings, executed notebooks,
#: the built book, its web assets, the default-model record) as the paths module resolves them in its process.
WRITES_EVERYWHERE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from colourlib import paths
    from study import paths as study_paths
    places = [paths.runs_dir() / "train" / "r" / "config.json", paths.runs_dir() / "parallel" / "summary.csv",
              study_paths.BOOK_RUNS_DIR / "data.ipynb", study_paths.BOOK_FIGURES_DIR / "strip.png", study_paths.BOOK_HTML,
              study_paths.BOOK_WEB_DIR / "ct-config.js", paths.default_model_record()]
    for place in places:
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text("tiny")
    print(json.dumps([str(p) for p in places]))
""")


def test_the_smoke_test_writes_only_into_its_scratch_copy(tmp_path, monkeypatch, capfd):
    import hashlib

    from colourlib import paths
    from study import smoke

    def checksums() -> dict[str, str]:
        return {
            str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in (
                paths.runs_dir(),
                study_paths.BOOK_RUNS_DIR,
                study_paths.BOOK_HTML.parent,
            )
            if folder.is_dir()
            for p in folder.rglob("*")
            if p.is_file()
        }

    before = checksums()
    real_run = smoke._run
    monkeypatch.setattr(
        smoke, "_run", lambda command, env: real_run([sys.executable, "-c", WRITES_EVERYWHERE], env)
    )
    monkeypatch.delenv("COLOURLIB_RUNS", raising=False)
    scratch = tmp_path / "smoke-test"
    assert smoke.run_study(["--preset", "tiny"], root=scratch) == 0
    out = capfd.readouterr().out
    written = [Path(p) for p in json.loads(out.strip().splitlines()[-1])]
    assert all(scratch in p.parents for p in written), written
    assert checksums() == before  # nothing of the real study changed
    assert (scratch / "book" / "intro.md").is_file() and (scratch / "_config.yml").is_file()
    (scratch / "book" / "stale-page.md").write_text("a page since deleted in the checkout")
    assert smoke.run_study(["--preset", "tiny"], root=scratch) == 0
    assert not (scratch / "book" / "stale-page.md").exists()  # the sources are copied fresh
    assert (
        scratch / "book" / "runs" / "data.ipynb"
    ).read_text() == "tiny"  # results kept for reuse


def test_make_study_preset_tiny_goes_to_the_scratch_copy(monkeypatch):
    from study import smoke

    seen = []
    monkeypatch.setattr(smoke, "run_study", lambda argv, root=None: seen.append(argv) or 0)
    monkeypatch.setattr(smoke, "in_scratch", lambda: False)
    from study import cli as study_cli

    assert (
        study_cli._run_study(study_cli.command_parser().parse_args(["run", "--preset", "tiny"]))
        == 0
    )
    assert seen == [["--preset", "tiny"]]


# --- parameters that meant something else -----------------------------------------------------------------------


def test_p_preset_trains_that_preset_and_never_only_relabels_the_run():
    from study import cli as study_cli

    args = study_cli.command_parser().parse_args(
        ["train", "run", "-p", "preset=tiny", "-p", "epochs=2"]
    )
    config = study_cli._train_config(args)
    assert config == preset_config("tiny", epochs=2) and config.preset == "tiny"
    assert config.epochs == 2 and config.image_size == 32
    with pytest.raises(ConfigError, match=r"preset='tiny' given as an override of preset 'quick'"):
        preset_config("quick", preset="tiny")
    clash = study_cli.command_parser().parse_args(
        ["train", "r", "--preset", "quick", "-p", "preset=tiny"]
    )
    with pytest.raises(ConfigError, match="contradicts --preset quick"):
        study_cli._train_config(clash)
    # the library has no presets: -p preset=X there is refused with the study's command, never a relabel
    library = cli.command_parser().parse_args(["train", "run", "-p", "preset=tiny"])
    with pytest.raises(ConfigError, match=r"python -m study train run --preset tiny"):
        cli.train_config(library)


def test_gpus_above_the_machine_names_the_machines_limit_first(capsys):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the limit below is the TensorFlow CPU one")
    assert cli.main(["train", "never-written", "-p", "gpus=1000"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "gpus=1000 cannot be provided on this machine" in line and "batch_size" not in line
    with pytest.raises(ConfigError, match=r"gpus=32 is not allowed: at most batch_size=16"):
        preset_config("quick", gpus=32)  # a notebook's parameters, before any machine check


def test_a_keras_backend_that_is_not_installed_is_one_line(tmp_path):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    done = colourlib_command(
        "train", str(tmp_path / "run"), "-p", "image_size=32", env={"KERAS_BACKEND": "torch"}
    )
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done.stderr)
    assert line.startswith(
        "error: KERAS_BACKEND=torch: Keras's torch backend needs the torch package"
    )
    assert "Traceback" not in done.stderr


def test_jupyter_book_before_any_study_stops_with_the_fix(tmp_path):
    from study.report import needs_study

    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(Path(needs_study.__file__).parents[2] / "_toc.yml", book / "_toc.yml")
    assert "runs/data" in needs_study.missing_chapters(book)

    class App:
        srcdir = str(book)

    with pytest.raises(SystemExit) as stopped:
        needs_study._check(App())
    assert stopped.value.code == 2
    (book / "runs" / "train").mkdir(parents=True)
    for name in ("data", "model", "parallel", "evaluate", "model-search", "reproducibility"):
        (book / "runs" / f"{name}.ipynb").write_text("{}")
    (book / "runs" / "train" / "a.ipynb").write_text("{}")
    assert needs_study.missing_chapters(book) == []
    needs_study._check(App())  # a built study: nothing to say
    config = (Path(needs_study.__file__).parents[2] / "_config.yml").read_text()
    assert "study.report.needs_study" in config  # `jupyter-book build book/` loads it


def test_a_bare_jupyter_book_build_of_a_fresh_clone_is_one_line(tmp_path):
    """The README's `jupyter-book build book/`, typed in a clone where no study has run: Sphinx itself, with
    -W, must reach the check before it judges the configuration's folders."""
    from colourlib import paths

    root = paths.REPO_ROOT
    shutil.copytree(
        root / "book", tmp_path / "book", ignore=shutil.ignore_patterns("runs", "_generated")
    )
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, tmp_path / name)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", "book/", "-W", "-n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    (line,) = error_lines(done.stderr)
    assert "the book's results are not there yet" in line and "Fix: run `make study` first" in line


def test_the_books_pages_carry_no_live_code_launcher():
    """jupyter-book adds sphinx-thebe's script and its configuration (naming unpkg.com and mybinder) to every
    page; the book runs no code, so the extension takes them off again and keeps every other script."""
    from docutils import nodes
    from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript

    from study.report import needs_study

    kept = _JavaScript("_static/colouriser.js")
    context = {
        "script_files": [
            _JavaScript(
                None, body='const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'
            ),
            _JavaScript("_static/sphinx-thebe.js", **{"async": "async"}),
            kept,
        ],
        "css_files": [
            _CascadingStyleSheet("_static/sphinx-thebe.css"),
            _CascadingStyleSheet("_static/styles.css"),
        ],
    }
    needs_study._drop_thebe_scripts(None, "intro", "page.html", context, None)
    assert context["script_files"] == [kept]
    assert [c.filename for c in context["css_files"]] == ["_static/styles.css"]
    doctree = nodes.document(None, None)
    doctree += nodes.paragraph(text="kept")
    doctree += nodes.raw(text='<script type="text/x-thebe-config">{}</script>', format="html")
    doctree += nodes.raw(text="<script>kernelName = 'python3'</script>", format="html")
    needs_study._drop_thebe_nodes(None, doctree, "intro")
    assert [n.astext() for n in doctree.children] == ["kept"]
