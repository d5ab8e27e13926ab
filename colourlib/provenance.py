"""Where a result came from: library versions, hardware, git commit and date, written beside every run."""

from __future__ import annotations

import ast
import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from . import paths

PACKAGES = (
    "colourlib",
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "jaxlib",
    "torch",
    "numpy",
    "scikit-image",
    "pillow",
    "pandas",
    "seaborn",
    "matplotlib",
    "papermill",
    "jupyter-book",
)


#: The libraries whose versions are part of a result's fingerprint (:func:`code_fingerprint`).
COMPUTING_PACKAGES = (
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "jaxlib",
    "numpy",
    "pillow",
    "scikit-image",
)


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def accelerators() -> list[str]:
    """Physical accelerators the active Keras backend sees (an empty list on a CPU-only machine)."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [
                tf.config.experimental.get_device_details(d).get("device_name", d.name)
                for d in tf.config.list_physical_devices("GPU")
            ]
        if backend == "jax":
            import jax

            return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # a broken driver must not stop a run from being recorded
        return [f"unknown ({type(exc).__name__}: {exc})"]
    return []


def git_commit() -> dict[str, str | bool | None]:
    root = paths.REPO_ROOT
    if root is None:
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
        )
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def module_name(path: Path, package_dir: Path = paths.PACKAGE_DIR) -> str:
    """``colourlib/train.py`` -> ``colourlib.train`` (a package's ``__init__`` is the package; the package is
    named by its folder)."""
    relative = Path(path).relative_to(package_dir).with_suffix("")
    parts = [Path(package_dir).name, *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_dirs(package_dir: Path | tuple[Path, ...]) -> tuple[Path, ...]:
    return (Path(package_dir),) if isinstance(package_dir, (str, Path)) else tuple(package_dir)


def package_dirs_of(roots: tuple[str, ...]) -> tuple[Path, ...]:
    """The folders of colourlib and of the installed packages that ``roots`` name (a study module's result is keyed
    on the study's code and the library's)."""
    import importlib.util

    found = [paths.PACKAGE_DIR]
    for top in sorted({root.split(".")[0] for root in roots} - {"colourlib"}):
        spec = importlib.util.find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"{top!r} (in {roots}) is not an importable package")
        found.append(Path(list(spec.submodule_search_locations)[0]))
    return tuple(found)


def import_graph(package_dir: Path | tuple[Path, ...] = paths.PACKAGE_DIR) -> dict[str, set[str]]:
    """Every module of the packages in ``package_dir`` (one folder or several) and the modules of those packages
    it imports, anywhere in its file (imports inside functions count too): what running it can execute."""
    dirs = _package_dirs(package_dir)
    files = {module_name(p, d): p for d in dirs for p in sorted(Path(d).rglob("*.py"))}
    tops = {Path(d).name for d in dirs}
    return {name: _imported(name, path, set(files), tops) for name, path in files.items()}


def _imported(module: str, path: Path, known: set[str], tops: set[str]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(_syntax(path.read_bytes(), str(path))[0]):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] in tops}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(
                    parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
                )
            else:
                base = node.module or ""
            if base.split(".")[0] not in tops:
                continue
            for alias in node.names:  # `from . import paths` imports the module colourlib.paths
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return found - {module}


def closure(
    roots: tuple[str, ...], package_dir: Path | tuple[Path, ...] | None = None
) -> list[str]:
    """``roots`` and every module they import from colourlib and their own package, directly or not, with the
    packages that hold them (importing ``colourlib.data.photos`` runs ``colourlib/data/__init__.py`` too), sorted."""
    graph = import_graph(package_dir if package_dir is not None else package_dirs_of(roots))
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for parent in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if parent in graph and parent not in seen:
                seen.add(parent)
                todo.extend(graph[parent])
    return sorted(seen)


#: The code that computes a training run: ``colourlib.train`` and everything it imports.
TRAINING_CODE = ("colourlib.train",)


def code_fingerprint(
    roots: tuple[str, ...] = TRAINING_CODE, package_dir: Path | tuple[Path, ...] | None = None
) -> str:
    """A digest of the code that computes a result: the modules ``roots`` import, transitively, each as its
    syntax tree without docstrings (comments and formatting are not in the tree), and of the embedded photo set's
    manifest. A result is reused only while that code and those photos are unchanged, so a fix to the training
    code is never hidden behind an old result, and an edit to a sentence, a figure, the CLI, a docstring or a
    module the result never ran retrains nothing."""
    digest = hashlib.sha256()
    dirs = _package_dirs(package_dir) if package_dir is not None else package_dirs_of(roots)
    by_name = {module_name(p, d): p for d in dirs for p in Path(d).rglob("*.py")}
    for module in closure(roots, dirs):
        digest.update(module.encode())
        digest.update(_syntax(by_name[module].read_bytes(), str(by_name[module]))[1])
    manifest = dirs[0] / "photos" / "manifest.csv"
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    versions = (
        _versions()
    )  # the libraries are code that computed it too: a `make lock` upgrade redoes it
    digest.update(
        json.dumps({k: versions.get(k) for k in COMPUTING_PACKAGES}, sort_keys=True).encode()
    )
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1024)
def _syntax(source: bytes, filename: str) -> tuple[ast.Module, bytes]:
    """A module's syntax tree and the dump of that tree without docstrings, parsed once per content (a study
    fingerprints the same unchanged modules for every step: parsing them again each time cost a second a call)."""
    return ast.parse(source, filename), ast.dump(_without_docstrings(ast.parse(source))).encode()


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
        ):
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def environment_record() -> dict:
    """Everything needed to say on what, with what and when a result was produced."""
    import keras

    from .backend import runtime

    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "keras_backend": keras.backend.backend(),
        "cpu": cpu_model(),
        "cpu_cores": runtime.usable_cores(),  # the cores this process may use (taskset, a container)
        "machine_cores": os.cpu_count(),
        "runtime": runtime.record(),  # allocator and thread pools as this process runs them
        "memory_gib": memory_gib(),
        "accelerators": accelerators(),
        "versions": _versions(),
        "git": git_commit(),
        "code_fingerprint": code_fingerprint(),
    }
