"""What the study notebooks need from the library: their parameters turned into a validated configuration,
the parameters each notebook declares (papermill only warns about unknown ones; we refuse them), and glue."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import paths
from .config import ConfigError, TrainConfig

#: The study's notebooks, in the order the driver runs them.
NOTEBOOKS = ("data", "model", "train", "parallel", "evaluate", "reproducibility")
#: train.ipynb's parameters beyond TrainConfig's own fields.
TRAIN_EXTRA_PARAMETERS = {"preset", "run_dir", "force"}


def notebook_path(name: str) -> Path:
    path = paths.NOTEBOOKS_DIR / f"{name}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the study notebook {name!r} is missing (the notebooks live in the "
                                "source checkout, not in an installed package).")
    return path


def train_config(notebook: str = "train.ipynb", preset: str = "quick", **parameters: Any) -> TrainConfig:
    """A validated configuration from a notebook's parameters: ``preset`` plus every parameter not left at
    ``None`` (``None`` means "the preset's value"). An error names the notebook, the parameter and the fix."""
    given = {k: v for k, v in parameters.items() if v is not None}
    try:
        return TrainConfig.preset_config(preset, source=f"{notebook} parameters", **given)
    except TypeError as exc:  # e.g. a parameter with no field (caught by the driver before this)
        raise ConfigError(f"{notebook} parameters: {exc}") from None


def declared_parameters(path: Path) -> dict[str, Any]:
    """The names and default values of a notebook's ``parameters`` cell."""
    import ast

    import papermill

    def value(source: str) -> Any:
        try:
            return ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return source

    return {name: value(spec["default"]) for name, spec in papermill.inspect_notebook(str(path)).items()}


def check_parameters(path: Path, parameters: dict[str, Any]) -> None:
    """Refuse a parameter the notebook does not declare (papermill would inject it, warn, and ignore it)."""
    declared = declared_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigError(f"{path.name}: unknown parameter(s) {', '.join(unknown)}. It declares: "
                          f"{', '.join(declared)}.")


def glue_all(values: dict[str, Any], display: bool = False) -> None:
    """Glue every value under its key, so the book's prose can cite it ({glue:text}`key`)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=display)


def markdown(text: str):
    """Text glued as Markdown, for ``{glue:md}`` in the same notebook (``{glue:text}`` would show its quotes)."""
    from IPython.display import Markdown

    return Markdown(text)
