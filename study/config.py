"""The study's one configuration file, ``study/study.yaml``: the presets a run starts from, the colouring models
and their seeds, and the parallel-training matrix with its timing (:mod:`study.matrix` reads that part).

The whole file is read and validated before anything runs, so that a typo is a one-line error naming the file,
the key and what is allowed, found before an hour of training. A training run's own record stays the library's
:class:`colourlib.config.TrainConfig`: every value here is one of its parameters, and builds one.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from colourlib import ConfigError
from colourlib.config import TrainConfig, check_int
from study import paths as study_paths

#: The file's sections, each required.
SECTIONS = ("presets", "colouring", "parallel")
COLOURING_KEYS = ("models", "at_preset", "seeds")
PARAMETERS = {f.name for f in dataclasses.fields(TrainConfig)} - {"preset"}
#: The colouring models the study's pages name: the paper's, and colourise's default (study/pipeline.py).
REQUIRED_MODELS = ("vgg16", "lite0")


class StrictLoader(yaml.SafeLoader):
    """YAML that rejects a key given twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"key {key!r} appears twice (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def keys(mapping: Any, allowed: set[str], required: set[str], where: str) -> dict:
    """``mapping`` as a dict whose keys are among ``allowed`` and include ``required``; else a one-line error."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__} ({mapping!r}).")
    unknown = sorted(set(mapping) - allowed, key=str)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}. Allowed: "
            f"{', '.join(sorted(allowed))}."
        )
    missing = sorted(required - set(mapping))
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}.")
    return mapping


@dataclass(frozen=True)
class StudyConfig:
    """The file, read and validated: its path, and each section as plain values."""

    path: Path
    presets: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    at_preset: dict[str, dict[str, Any]]
    seeds: dict[str, tuple[int, ...]]
    #: the ``parallel`` section, as written (:func:`study.matrix.load_matrix` validates it with the rest)
    parallel: dict[str, Any]

    def preset_config(self, name: str, source: str | None = None, **overrides: Any) -> TrainConfig:
        """The preset's values, then ``overrides``; ``source`` names the caller in error messages."""
        if name not in self.presets:
            prefix = f"{source}: " if source else ""
            raise ConfigError(
                f"{prefix}preset={name!r} is not known. Allowed: {', '.join(self.presets)} "
                f"({self.path.name}, presets)."
            )
        if overrides.get("preset", name) != name:
            # the label without the values: a run would record one preset and train another
            raise ConfigError(
                f"{source or 'overrides'}: preset={overrides['preset']!r} given as an override of preset "
                f"{name!r}. Fix: choose the preset itself (--preset {overrides['preset']})."
            )
        return TrainConfig.from_dict(
            {**self.presets[name], **overrides, "preset": name},
            source=source or f"preset {name!r}",
        )

    def colouring_config(self, model: str, preset: str, seed: int = 0) -> TrainConfig:
        """Colouring model ``model`` at ``preset``: the preset, what both models use at it, the model's own."""
        if model not in self.models:
            raise ConfigError(
                f"colouring model {model!r} is not known. Allowed: {', '.join(self.models)}."
            )
        return self.preset_config(
            preset,
            source=f"colouring model {model!r}",
            **{**self.at_preset.get(preset, {}), **self.models[model]},
            seed=seed,
        )

    def colouring_seeds(self, preset: str) -> tuple[int, ...]:
        return self.seeds.get(preset, (0,))


def _parameters(raw: Any, where: str, allowed: set[str] = PARAMETERS) -> dict[str, Any]:
    return dict(keys(raw, allowed, set(), where))


def parse(raw: Any, path: Path) -> StudyConfig:
    where = str(path)
    top = keys(raw, set(SECTIONS), set(SECTIONS), where)
    presets = keys(top["presets"], set(top["presets"] or {}), set(), f"{where}: presets")
    if not presets:
        raise ConfigError(f"{where}: presets must name at least one preset, e.g. quick.")
    presets = {str(n): _parameters(v, f"{where}: preset {n!r}") for n, v in presets.items()}
    colouring = keys(
        top["colouring"], set(COLOURING_KEYS), set(COLOURING_KEYS), f"{where}: colouring"
    )
    models = {
        # the seed is the study's to set (seeds), never a model's
        str(n): _parameters(v, f"{where}: colouring model {n!r}", PARAMETERS - {"seed"})
        for n, v in keys(
            colouring["models"], set(colouring["models"] or {}), set(), f"{where}: colouring models"
        ).items()
    }
    missing = [m for m in REQUIRED_MODELS if m not in models]
    if missing:
        raise ConfigError(
            f"{where}: colouring models lacks {', '.join(missing)}: the book compares the paper's model "
            f"(vgg16) with colourise's default (lite0). Fix: keep both names; change their values."
        )
    at_preset = {
        n: _parameters(v, f"{where}: colouring at_preset {n!r}", PARAMETERS - {"seed"})
        for n, v in keys(
            colouring["at_preset"], set(presets), set(), f"{where}: colouring at_preset"
        ).items()
    }
    seeds = {}
    for name, value in keys(
        colouring["seeds"], set(presets), set(), f"{where}: colouring seeds"
    ).items():
        if not isinstance(value, list) or not value or len(set(value)) != len(value):
            raise ConfigError(
                f"{where}: colouring seeds {name!r}={value!r} is not allowed: a list of different "
                "seeds, e.g. [0, 1, 2]."
            )
        for seed in value:
            check_int("seed", seed, 0, f"{where}: colouring seeds {name!r}")
        seeds[name] = tuple(value)
    config = StudyConfig(path, presets, models, at_preset, seeds, top["parallel"])
    for preset in presets:  # every preset and every model at every preset builds a valid run
        config.preset_config(preset, source=f"{where}: preset {preset!r}")
        for model in models:
            try:
                config.colouring_config(model, preset)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
    return config


def read(path: str | Path | None = None) -> StudyConfig:
    """The file at ``path`` (default: the study's own), read and validated (its ``parallel`` section by
    :func:`study.matrix.load_matrix`)."""
    path = Path(path) if path is not None else study_paths.STUDY_CONFIG
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the study's configuration ({exc.strerror})."
        ) from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from None
    return parse(raw, path)


@functools.cache
def _cached(path: Path, mtime_ns: int) -> StudyConfig:
    return read(path)


def load(path: str | Path | None = None) -> StudyConfig:
    """The study's configuration (default: ``study/study.yaml``), validated; read again when the file changes."""
    path = Path(path) if path is not None else study_paths.STUDY_CONFIG
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # read() says what is wrong
    return _cached(path, mtime)


def preset_config(name: str, source: str | None = None, **overrides: Any) -> TrainConfig:
    """Preset ``name`` of the study's configuration file, then ``overrides``."""
    return load().preset_config(name, source, **overrides)


def colouring_config(model: str, preset: str, seed: int = 0) -> TrainConfig:
    return load().colouring_config(model, preset, seed)


def colouring_seeds(preset: str) -> tuple[int, ...]:
    return load().colouring_seeds(preset)


def colouring_models() -> list[str]:
    return list(load().models)


def colouring_runs(preset: str = "quick") -> dict[str, list[Path]]:
    """The default run folders of each of the study's colouring models at ``preset``, one per seed."""
    from colourlib.runs import RunFolder

    return {
        model: [
            RunFolder.default(colouring_config(model, preset, seed)).path
            for seed in colouring_seeds(preset)
        ]
        for model in colouring_models()
    }


def notebook_config(namespace: dict[str, Any], source: str) -> TrainConfig:
    """The configuration a notebook's ``parameters`` cell (as papermill set it) declares: ``preset`` plus every
    TrainConfig parameter found in ``namespace`` (the notebook's ``globals()``) and not left at ``None``, which
    means "the preset's value". Errors name ``source``, the parameter and the fix."""
    undeclared = _undeclared_parameters(namespace.get("In") or [])
    if undeclared:
        raise ConfigError(
            f"{source}: unknown parameter(s) {', '.join(undeclared)} (papermill only warns about a "
            f"parameter the notebook does not declare). Allowed: the names of the notebook's "
            f"parameters cell, e.g. {', '.join(sorted(PARAMETERS)[:6])}, ... Fix: check the spelling of -p."
        )
    given = {k: v for k, v in namespace.items() if k in PARAMETERS and v is not None}
    study = load(namespace.get("study_file"))
    return study.preset_config(namespace.get("preset", "quick"), source=source, **given)


def _undeclared_parameters(history: list[str]) -> list[str]:
    """The parameters papermill injected that the notebook's ``parameters`` cell does not declare, read from the
    kernel's input history (IPython's ``In``): papermill runs its injected cell, which starts with
    ``# Parameters``, right after the cell it parameterises."""
    import ast

    def assigned(source: str) -> set[str]:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return set()
        return {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }

    for i, source in enumerate(history):
        if i and source.lstrip().startswith("# Parameters"):
            return sorted(assigned(source) - assigned(history[i - 1]))
    return []
