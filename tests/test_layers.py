"""The two packages' layers (the library: core <- its apps; the study beside it: study <- report <- the study's
apps) import only downward and never in a circle, the library never imports the study, and a finished result's
reuse depends on the code that computed it alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from colourlib import paths, provenance, runs
from colourlib.feature_cache import FEATURE_CODE
from study import paths as study_paths
from study.config import preset_config
from study.timing import TIMING_CODE

#: The layers, each importing only from those before it: the library's ``core`` (every colourlib module outside
#: ``colourlib.apps``) <- its ``apps`` (``colourlib``, ``colourise``) <- the ``study`` package <- its ``report``
#: (tables, figures, the book) <- its ``study apps`` (``python -m study``, the pipeline's steps, the benchmarks).
LAYERS = ("core", "apps", "study", "report", "study apps")


def layer_of(module: str) -> str:
    """The layer of a module named ``colourlib.x.y`` or ``study.x.y`` (``python -m`` of either is an app)."""
    top, *parts = module.split(".")
    if top == "colourlib":
        return "apps" if parts[:1] in (["apps"], ["__main__"]) else "core"
    if parts[:1] in (["cli"], ["bench"], ["pipeline"], ["__main__"]):
        return "study apps"
    return "report" if parts[:1] == ["report"] else "study"


def import_graph(package_dir=(paths.PACKAGE_DIR, study_paths.PACKAGE_DIR)):
    return provenance.import_graph(package_dir)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    return [
        f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
        for a, targets in sorted(graph.items())
        for b in sorted(targets)
        if rank[layer_of(b)] > rank[layer_of(a)]
    ]


def cycles(graph: dict[str, set[str]]) -> list[str]:
    state, found = {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(" -> ".join(trail[trail.index(target) :] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_the_tree_shows_the_layers():
    names = set(import_graph())
    assert {layer_of(n) for n in names} == set(LAYERS)
    assert {
        "study.pipeline",
        "study.report.book",
        "study.cli",
        "colourlib.apps.cli",
        "colourlib.runs",
        "colourlib.encoders.efficientnet",
        "colourlib.data.dataset",
    } <= names


def test_every_import_points_down_or_sideways():
    assert not upward_imports(import_graph()), "\n".join(upward_imports(import_graph()))


def test_the_library_never_imports_the_study():
    graph = import_graph()
    assert not {
        f"{a} imports {b}"
        for a, targets in graph.items()
        for b in targets
        if a.startswith("colourlib") and not b.startswith("colourlib")
    }
    assert {"colourlib.train", "colourlib.model"} <= set(provenance.closure(("study.timing",)))


def test_no_import_cycle():
    assert not cycles(import_graph()), "\n".join(cycles(import_graph()))


def test_the_checks_find_a_planted_upward_import_and_a_planted_cycle(tmp_path):
    """The two tests above can fail: the same checks find what is planted in a small package."""
    package = tmp_path / "colourlib"
    (package / "apps").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text("from .apps import cli\nfrom . import model\n")
    (package / "model.py").write_text(
        "def build():\n    from .train import x  # inside a function\n"
    )
    (package / "apps" / "__init__.py").write_text("")
    (package / "apps" / "cli.py").write_text("import json\n")
    graph = import_graph(package)
    assert graph["colourlib.train"] == {"colourlib.apps.cli", "colourlib.model"}
    assert upward_imports(graph) == ["colourlib.train (core) imports colourlib.apps.cli (apps)"]
    assert cycles(graph) == ["colourlib.model -> colourlib.train -> colourlib.model"]


def test_each_result_is_keyed_on_the_code_that_computes_it():
    training, features, timing = (
        set(provenance.closure(roots))
        for roots in (provenance.TRAINING_CODE, FEATURE_CODE, TIMING_CODE)
    )
    assert {
        "colourlib.train",
        "colourlib.model",
        "colourlib.data.augment",
        "colourlib.encoders.vgg16",
        "colourlib.config",
        "colourlib.callbacks",
    } <= training
    assert not {m for m in training if layer_of(m) != "core"}, (
        "no sentence, figure or app decides a run's reuse"
    )
    assert not training & {"colourlib.colouriser", "colourlib.colour.metrics", "colourlib.evaluate"}
    assert {
        "colourlib.model",
        "colourlib.data.dataset",
        "colourlib.encoders.efficientnet",
    } <= features
    assert "colourlib.train" not in features and "colourlib.callbacks" not in features
    assert {"study.timing", "study.speed", "colourlib.train"} <= timing
    assert not {m for m in timing if layer_of(m) in ("report", "apps", "study apps")}


@pytest.fixture
def package_copy(tmp_path) -> Path:
    copy = tmp_path / "colourlib"
    shutil.copytree(paths.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "photos"))
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def test_a_wording_or_docstring_edit_keeps_a_finished_run_reusable_and_a_model_or_data_edit_does_not(
    package_copy, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        runs, "code_fingerprint", lambda: provenance.code_fingerprint(package_dir=package_copy)
    )
    config = preset_config("tiny")
    run = runs.RunFolder(tmp_path / "run")
    run.path.mkdir()
    config.save(run.config_file)
    run.weights_file.write_bytes(b"w")
    run.write_json(run.TIMING, {})
    run.history_file.write_text("epoch,loss,val_loss\n0,1,1\n1,1,1\n")
    run.write_json(
        run.ENVIRONMENT, {"code_fingerprint": provenance.code_fingerprint(package_dir=package_copy)}
    )
    assert run.is_finished() and run.is_reusable(config)

    for edited in ("apps/cli.py", "apps/colourise.py", "colouriser.py", "evaluate.py", "export.py"):
        with (package_copy / edited).open("a") as f:
            f.write("\n# an edit\nX_ADDED = 1\n")
        assert run.is_reusable(config), f"editing {edited} must not retrain anything"
    _edit(
        package_copy / "train.py", '"""Training one configuration', '"""Training a configuration'
    )  # docstring
    _edit(
        package_copy / "model.py", "import keras\n", "import keras  # a comment\n\n\n"
    )  # comment, layout
    assert run.is_reusable(config), "a docstring, comment or layout edit must not retrain anything"

    for edited, old, new in (
        ("model.py", "def build_network(", "X = 1\n\n\ndef build_network("),
        (
            "data/augment.py",
            "from __future__ import annotations\n",
            "from __future__ import annotations\nX = 1\n",
        ),
    ):
        copy = package_copy / edited
        before = copy.read_text()
        _edit(copy, old, new)
        assert not run.is_reusable(config), (
            f"a run made before an edit of {edited}'s code is not reused"
        )
        assert run.is_finished(), "it is still finished; only reuse is refused"
        copy.write_text(before)
        assert run.is_reusable(config)
    assert json.loads(run.config_file.read_text()) == config.to_dict()
