"""The package's layers, each importing only from those before it:

``core`` (the colouring library: every module outside the three subpackages below) <- ``study`` (the matrix,
the runners, the model comparison, the study driver) <- ``report`` (tables, figures, book values, book and
browser checks) <- ``apps`` (the command lines and benchmarks).

A finished run is reused only while the *core* is unchanged (:func:`colourlib.provenance.code_fingerprint`),
so editing the CLI, the book or a figure never retrains anything. ``tests/test_layers.py`` fails on an upward
import or an import cycle.
"""
from __future__ import annotations

from pathlib import Path

LAYERS = ("core", "study", "report", "apps")
PACKAGE_DIR = Path(__file__).resolve().parent


def layer_of(module: str) -> str:
    """The layer of a module named ``colourlib.x.y`` (``python -m colourlib`` is an app)."""
    parts = module.split(".")
    if parts[0] != "colourlib":
        raise ValueError(f"{module} is not a colourlib module")
    if parts[1:] == ["__main__"]:
        return "apps"
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS[1:] else "core"


def module_name(path: Path, package_dir: Path = PACKAGE_DIR) -> str:
    """``colourlib/study/driver.py`` -> ``colourlib.study.driver`` (a package's ``__init__`` is the package)."""
    relative = Path(path).relative_to(package_dir).with_suffix("")
    parts = ["colourlib", *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(layer: str | None = None, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every ``.py`` file of the package (of ``layer`` only, if given), in a stable order."""
    found = sorted(Path(package_dir).rglob("*.py"))
    return [p for p in found if layer is None or layer_of(module_name(p, package_dir)) == layer]
