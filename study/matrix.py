"""The parallel study's matrix (regimes x (gpus, workers) configurations): the ``parallel`` section of the study's
configuration file, validated whole before anything runs, so a typo in row 6 is found before rows 1-5 have
trained for an hour."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colourlib.backend.replicas import capacity
from colourlib.config import ConfigError, TrainConfig, check_int, loaders_kind
from study import config as study_config
from study.config import keys as _keys

ROW_KEYS = ("gpus", "cores_per_device", "workers", "use_multiprocessing", "regimes")
#: Set per configuration row, so a regime may not set them.
ROW_PARAMS = {"gpus", "cores_per_device", "workers", "use_multiprocessing"}


@dataclass(frozen=True)
class Configuration:
    gpus: int
    workers: int
    use_multiprocessing: bool = False
    #: each device's CPU cores (0: the process's cores split evenly over its devices)
    cores_per_device: int = 0

    @property
    def name(self) -> str:
        return (
            f"gpus{self.gpus}"
            + (f"-cores{self.cores_per_device}" if self.cores_per_device else "")
            + f"-workers{self.workers}"
            + ("-processes" if self.use_multiprocessing else "")
        )

    @property
    def device_set(self) -> tuple[int, int]:
        """What one timing process is laid out for: its devices and each one's cores."""
        return (self.gpus, self.cores_per_device)

    @property
    def loaders(self) -> str:
        return loaders_kind(self.use_multiprocessing)


@dataclass(frozen=True)
class Timing:
    """How each configuration is timed: ``steps`` training steps after ``warmup_steps``, ``repeats`` times, each
    repeat in fresh processes (study/timing.py)."""

    steps: int = 10
    warmup_steps: int = 3
    repeats: int = 3


TIMING_KEYS = {"steps": 1, "warmup_steps": 1, "repeats": 3}  # key -> smallest value allowed


@dataclass(frozen=True)
class Regime:
    name: str
    description: str
    params: dict[str, Any]
    timing: Timing | None = None  # None: the matrix's
    #: the study's presets (the configuration file's), which ``params["preset"]`` names
    presets: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def config(self, row: Configuration) -> TrainConfig:
        params = dict(self.params)
        preset = params.pop("preset", None)
        row_params = dict(
            gpus=row.gpus,
            cores_per_device=row.cores_per_device,
            workers=row.workers,
            use_multiprocessing=row.use_multiprocessing,
        )
        source = f"regime {self.name!r}"
        if preset is None:
            return TrainConfig.from_dict({**params, **row_params}, source=source)
        if preset not in self.presets:
            raise ConfigError(
                f"{source}: preset={preset!r} is not known. Allowed: {', '.join(self.presets)}."
            )
        return TrainConfig.from_dict(
            {**self.presets[preset], **params, **row_params, "preset": preset}, source=source
        )


@dataclass(frozen=True)
class Matrix:
    path: Path
    regimes: list[Regime]
    configurations: list[Configuration]
    timing: Timing = Timing()
    #: configurations timed only in some regimes (the row's ``regimes`` key); the others are timed in every one
    only_in: dict[Configuration, tuple[str, ...]] = field(default_factory=dict)
    #: the timing at a preset where it differs (``timing_at_preset``; tiny: a smoke test of the pipeline)
    timing_at_preset: dict[str, dict[str, int]] = field(default_factory=dict)

    def timing_of(self, regime: Regime) -> Timing:
        return regime.timing or self.timing

    def rows_of(self, regime: Regime) -> list[Configuration]:
        """The configurations timed in ``regime``, in the file's order."""
        return [
            row
            for row in self.configurations
            if regime.name in self.only_in.get(row, (regime.name,))
        ]

    def runs(self) -> list[tuple[Regime, Configuration, TrainConfig]]:
        return [
            (regime, row, regime.config(row))
            for regime in self.regimes
            for row in self.rows_of(regime)
        ]

    def at_scale(self, preset: str) -> Matrix:
        """The same study at another preset's scale: each regime keeps what makes it a regime (frozen encoder,
        cached features, reading from disk) and takes the preset's sizes (image size, batch, epochs, crops),
        which win over the regime's own. ``tiny`` turns the whole study into a smoke test."""
        presets = self.regimes[0].presets
        if preset not in presets:
            raise ConfigError(
                f"{self.path}: preset={preset!r} is not known. Allowed: {', '.join(presets)}."
            )

        def scaled(timing: Timing | None) -> Timing | None:
            return timing and Timing(**{**timing.__dict__, **self.timing_at_preset.get(preset, {})})

        regimes = [
            Regime(
                r.name,
                r.description,
                {**r.params, **presets[preset], "preset": preset},
                scaled(r.timing),
                presets,
            )
            for r in self.regimes
        ]
        return _validated(dataclasses.replace(self, regimes=regimes, timing=scaled(self.timing)))


def load_matrix(path: str | Path | None = None) -> Matrix:
    """Read and validate the study's configuration file (default: ``study/study.yaml``) and its matrix."""
    config = study_config.load(path)
    return parse_matrix(config.parallel, config.path, config.presets)


def _timing(raw: Any, where: str) -> dict:
    timing = _keys(raw, set(TIMING_KEYS), set(), where)
    for key, value in timing.items():
        check_int(key, value, TIMING_KEYS[key], where)
    return timing


def parse_matrix(raw: Any, path: Path, presets: dict[str, dict[str, Any]]) -> Matrix:
    """The ``parallel`` section ``raw`` of the configuration file ``path``, whose presets are ``presets``."""
    where = f"{path}: parallel"
    top = _keys(
        raw,
        {"regimes", "configurations", "timing", "timing_at_preset"},
        {"regimes", "configurations"},
        where,
    )
    file, path = path, where  # every message below names the section
    timing = _timing(top.get("timing", {}), f"{path}: timing")
    at_preset = {
        name: _timing(value, f"{path}: timing_at_preset {name!r}")
        for name, value in _keys(
            top.get("timing_at_preset", {}), set(presets), set(), f"{path}: timing_at_preset"
        ).items()
    }
    if not isinstance(top["regimes"], dict) or not top["regimes"]:
        raise ConfigError(f"{path}: regimes must map at least one name to {{description, params}}.")
    regimes = []
    for name, body in top["regimes"].items():
        where = f"{path}: regime {name!r}"
        body = _keys(body, {"description", "params", "timing"}, {"params"}, where)
        params = _keys(
            body["params"],
            set(TrainConfig.__dataclass_fields__) - ROW_PARAMS,
            set(),
            f"{where} params",
        )
        own = (
            Timing(**{**timing, **_timing(body["timing"], f"{where} timing")})
            if "timing" in body
            else None
        )
        regimes.append(
            Regime(str(name), str(body.get("description", "")), dict(params), own, presets)
        )

    if not isinstance(top["configurations"], list) or not top["configurations"]:
        raise ConfigError(f"{path}: configurations must be a list of {{gpus, workers}} rows.")
    rows, seen, only_in = [], {}, {}
    for i, row in enumerate(top["configurations"], start=1):
        where = f"{path}: configuration {i}"
        row = _keys(row, set(ROW_KEYS), {"gpus", "workers"}, where)
        check_int("gpus", row["gpus"], 1, where)
        check_int("workers", row["workers"], 1, where)
        check_int("cores_per_device", row.get("cores_per_device", 0), 0, where)
        if not isinstance(row.get("use_multiprocessing", False), bool):
            raise ConfigError(
                f"{where}: use_multiprocessing={row['use_multiprocessing']!r} is not allowed: true or false."
            )
        config_row = Configuration(
            row["gpus"],
            row["workers"],
            row.get("use_multiprocessing", False),
            row.get("cores_per_device", 0),
        )
        if config_row in seen:
            raise ConfigError(
                f"{where} duplicates configuration {seen[config_row]} ({config_row.name}). "
                "Fix: remove one of them."
            )
        seen[config_row] = i
        rows.append(config_row)
        if "regimes" in row:
            only_in[config_row] = _row_regimes(row["regimes"], [r.name for r in regimes], where)
    return _validated(Matrix(Path(file), regimes, rows, Timing(**timing), only_in, at_preset))


def _row_regimes(value: Any, known: list[str], where: str) -> tuple[str, ...]:
    """A row's ``regimes``: a non-empty list of the matrix's regime names, each once."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) for v in value)
        or len(set(value)) != len(value)
    ):
        raise ConfigError(
            f"{where}: regimes={value!r} is not allowed: a list of regime names, each once, e.g. "
            f"[{known[0]}]. Leave the key out to time the row in every regime."
        )
    unknown = [v for v in value if v not in known]
    if unknown:
        raise ConfigError(
            f"{where}: regimes names {', '.join(map(repr, unknown))}, not a regime of this matrix. "
            f"Allowed: {', '.join(known)}."
        )
    return tuple(value)


def _validated(matrix: Matrix) -> Matrix:
    """Every (regime, configuration) must make a valid TrainConfig."""
    for regime, row in ((r, c) for r in matrix.regimes for c in matrix.rows_of(r)):
        try:
            regime.config(row)
        except ConfigError as exc:
            raise ConfigError(
                f"{matrix.path}: regime {regime.name!r} with {row.name}: {exc}"
            ) from None
    return matrix


def check_machine(matrix: Matrix) -> None:
    """Every configuration's ``gpus`` (and its devices' cores) can be provided here, checked before training."""
    most, why = capacity()
    from colourlib.backend.runtime import usable_cores

    cores = usable_cores()
    for row in matrix.configurations:
        if row.gpus * row.cores_per_device > cores:
            raise ConfigError(
                f"{matrix.path}: {row.name} needs {row.gpus * row.cores_per_device} CPU cores and this "
                f"process may use {cores}. Fix: lower its cores_per_device or gpus, or use a machine "
                "with more cores."
            )
    too_many = [row for row in matrix.configurations if row.gpus > most]
    if too_many:
        rows = ", ".join(row.name for row in too_many)
        raise ConfigError(
            f"{matrix.path}: {rows} cannot run on this machine: {why}, so at most gpus={most}. "
            f"Fix: remove those rows or use a machine with more devices."
        )
