"""The package's layers (core <- study <- report <- apps) import only downward and never in a circle, and a
finished run's reuse depends on the core alone."""
from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from colourlib import layers, provenance, runs
from colourlib.config import TrainConfig


def imported_modules(path: Path, known: set[str], package_dir: Path = layers.PACKAGE_DIR) -> set[str]:
    """Every colourlib module ``path`` imports, anywhere in the file (imports inside functions count too)."""
    module = layers.module_name(path, package_dir)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("colourlib")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base.startswith("colourlib"):
                continue
            for alias in node.names:  # `from . import paths` imports the module colourlib.paths
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found - {module}


def import_graph(package_dir: Path = layers.PACKAGE_DIR) -> dict[str, set[str]]:
    files = {layers.module_name(p, package_dir): p for p in layers.sources(package_dir=package_dir)}
    return {name: imported_modules(path, set(files), package_dir) for name, path in files.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(layers.LAYERS)}
    return [f"{a} ({layers.layer_of(a)}) imports {b} ({layers.layer_of(b)})"
            for a, targets in sorted(graph.items()) for b in sorted(targets)
            if rank[layers.layer_of(b)] > rank[layers.layer_of(a)]]


def cycles(graph: dict[str, set[str]]) -> list[str]:
    state, found = {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_the_tree_shows_the_layers():
    names = {layers.module_name(p) for p in layers.sources()}
    assert {layers.layer_of(n) for n in names} == set(layers.LAYERS)
    assert {"colourlib.study.driver", "colourlib.report.book", "colourlib.apps.cli", "colourlib.runs",
            "colourlib.encoders.efficientnet", "colourlib.data.dataset"} <= names


def test_every_import_points_down_or_sideways():
    assert not upward_imports(import_graph()), "\n".join(upward_imports(import_graph()))


def test_no_import_cycle():
    assert not cycles(import_graph()), "\n".join(cycles(import_graph()))


def test_the_checks_find_a_planted_upward_import_and_a_planted_cycle(tmp_path):
    """The two tests above can fail: the same checks find what is planted in a small package."""
    package = tmp_path / "colourlib"
    (package / "apps").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text("from .apps import cli\nfrom . import model\n")
    (package / "model.py").write_text("def build():\n    from .train import x  # inside a function\n")
    (package / "apps" / "__init__.py").write_text("")
    (package / "apps" / "cli.py").write_text("import json\n")
    graph = import_graph(package)
    assert graph["colourlib.train"] == {"colourlib.apps.cli", "colourlib.model"}
    assert upward_imports(graph) == ["colourlib.train (core) imports colourlib.apps.cli (apps)"]
    assert cycles(graph) == ["colourlib.model -> colourlib.train -> colourlib.model"]


@pytest.fixture
def package_copy(tmp_path) -> Path:
    copy = tmp_path / "colourlib"
    shutil.copytree(layers.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "photos"))
    return copy


def test_editing_an_app_or_the_report_keeps_a_finished_run_reusable_and_editing_train_does_not(
        package_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "code_fingerprint", lambda: provenance.code_fingerprint(package_copy))
    config = TrainConfig.preset_config("tiny")
    run = runs.RunFolder(tmp_path / "run")
    run.path.mkdir()
    config.save(run.config_file)
    run.weights_file.write_bytes(b"w")
    run.write_json(run.TIMING, {})
    run.history_file.write_text("epoch,loss,val_loss\n0,1,1\n1,1,1\n")
    run.write_json(run.ENVIRONMENT, {"code_fingerprint": provenance.code_fingerprint(package_copy)})
    assert run.is_finished() and run.is_reusable(config)

    for edited in ("apps/cli.py", "apps/colourise.py", "report/figures.py", "report/browser.py",
                   "study/driver.py"):
        with (package_copy / edited).open("a") as f:
            f.write("\n# an edit\n")
        assert run.is_reusable(config), f"editing {edited} must not retrain anything"
    with (package_copy / "train.py").open("a") as f:
        f.write("\n# an edit\n")
    assert not run.is_reusable(config), "a run made by other training code is not reused"
    assert run.is_finished(), "it is still finished; only reuse is refused"
    assert json.loads(run.config_file.read_text()) == config.to_dict()
