"""The search space of ``prospector sweep``: a TOML file, checked before anything is written.

The file (docs/tuning.md#the-search-space-file) has three tables::

    [sweep]                     # how the sweep runs (SWEEP_SETTINGS below)
    method = "Protein"
    trials = 24
    [base]                      # settings every trial shares (any TrainConfig setting)
    eval_episodes = 1
    [space.learning_rate]       # one table per tuned TrainConfig setting
    distribution = "log_normal" # PufferLib's: uniform, int_uniform, uniform_pow2, log_normal, logit_normal
    min = 0.0003
    max = 0.03
    mean = 0.003                # the search centre (default: the setting's default)
    [space.policy]
    values = ["mlp", "lstm"]    # a choice, searched as an integer index

The space becomes PufferLib's own sweep config (``pufferlib.sweep.Hyperparameters``
reads it), so Protein, Random and ParetoGenetic search exactly what the file says. Every
entry is checked against TrainConfig: its name, its type, and that the trial config is
valid at the range's ends and centre. A bad entry raises :class:`SpaceError` naming it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from prospector import spec as S

from .config import TrainConfig

DEFAULT_SPACE_FILE = Path(__file__).with_name("sweep_default.toml")

#: PufferLib's distributions (pufferlib/sweep.py ``_params_from_puffer_sweep``) and whether
#: they are logarithmic (drawn on log axes by the Constellation page).
DISTRIBUTIONS = {
    "uniform": False,
    "int_uniform": False,
    "uniform_pow2": True,
    "log_normal": True,
    "logit_normal": False,
}
#: The sweep methods of pufferlib.sweep that this command drives (suggest(fill) / observe()).
METHODS = ("Protein", "Random", "ParetoGenetic")

#: Settings a sweep may not tune: they name, place, time or display a run, or only change
#: its speed (docs/tuning.md#the-search-space-file). The sweep sets several of them itself.
NOT_TUNABLE = {
    "run_id": "names the run (the sweep names its trials)",
    "runs_dir": "is where runs live (use --runs-dir)",
    "experiment": "is the W&B group (the sweep id)",
    "windows": "is the trial budget (set [sweep] windows)",
    "total_steps": "is the trial budget (set [sweep] trial_steps)",
    "window_steps": "is the trial budget (set [sweep] trial_steps and windows)",
    "seed": "is not a learning setting",
    "device": "is not a learning setting",
    "backend": "only changes speed",
    "workers": "only changes speed",
    "env_threads": "only changes speed",
    "torch_threads": "only changes speed",
    "eval_episodes": "is not a learning setting",
    "eval_seed": "is not a learning setting",
    "showcase_seed": "is set by the sweep (one world for all its trials)",
    "eval_backlog_max": "is not a learning setting",
    "wandb": "is not a learning setting",
    "wandb_video": "is not a learning setting",
    "dashboard": "is not a learning setting",
    "site": "is not a learning setting",
    "deploy": "is not a learning setting",
}

#: [sweep] settings: name -> (default, type, check, what the check says).
SWEEP_SETTINGS: dict[str, tuple] = {
    "method": ("Protein", str, lambda v: v in METHODS, f"choose one of {', '.join(METHODS)} (pufferlib.sweep)"),
    "trials": (24, int, lambda v: v >= 1, "must be at least 1"),
    "hours": (0.0, float, lambda v: v >= 0, "must be at least 0 (0: no limit)"),
    "trial_steps": (4_000_000, int, lambda v: v >= 1, "must be at least 1"),
    "windows": (4, int, lambda v: 1 <= v <= 1000, "must be in 1..1000"),
    "parallel": (2, int, lambda v: 1 <= v <= 64, "must be in 1..64"),
    "nproc": (1, int, lambda v: 1 <= v <= 64, "must be in 1..64"),
    "validation_episodes": (64, int, lambda v: 1 <= v <= 4096, "must be in 1..4096"),
    "validation_time_max": (S.TIME_MAX, int, lambda v: 1 <= v <= 1_000_000, "must be in 1..1000000"),
    "cost": ("wall_seconds", str, lambda v: v in ("wall_seconds", "env_steps"), "choose wall_seconds or env_steps"),
    "early_stop": (True, bool, lambda v: True, ""),
    "early_stop_min_trials": (3, int, lambda v: v >= 1, "must be at least 1"),
    "seed": (0, int, lambda v: 0 <= v < 2**32, "must be in 0..2^32-1"),
    "showcase_seed": (None, int, lambda v: 0 <= v < 2**64, "must be in 0..2^64-1"),
}


class SpaceError(ValueError):
    """A search space that cannot be used; the message names the file and the entry."""


@dataclass
class Entry:
    """One tuned setting."""

    name: str
    distribution: str  # PufferLib's name; a choice is "int_uniform" over the value indices
    min: float
    max: float
    mean: float
    scale: float | str = "auto"
    values: list | None = None  # a choice's values (then min..max are their indices)
    integer: bool = False  # the setting is a whole number: values are rounded

    @property
    def log(self) -> bool:
        return self.values is None and DISTRIBUTIONS[self.distribution]

    def puffer(self) -> dict:
        """The entry in PufferLib's sweep config format."""
        return {
            "distribution": self.distribution,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "scale": self.scale,
        }

    def to_setting(self, raw):
        """A value the optimiser suggested -> the setting's value."""
        if self.values is not None:
            return self.values[min(len(self.values) - 1, max(0, int(round(raw))))]
        if self.integer:
            return int(round(raw))
        return float(raw)

    def to_raw(self, value):
        """The setting's value -> what the optimiser observes."""
        return self.values.index(value) if self.values is not None else value

    def describe(self) -> dict:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "log": self.log,
            "values": self.values,
            "integer": self.integer,
            "scale": self.scale,
        }


@dataclass
class Space:
    """A checked search space: how the sweep runs, the shared settings, the tuned ones."""

    settings: dict
    base: dict
    entries: list[Entry] = field(default_factory=list)
    source: str = ""

    def puffer_config(self) -> dict:
        """PufferLib's sweep config (``pufferlib.sweep.Protein(config)``)."""
        config = {"metric": "score", "goal": "maximize"}
        config.update({e.name: e.puffer() for e in self.entries})
        return config

    def centre(self) -> dict:
        """The search centre as settings: the first trial of every sweep (the default's)."""
        return {e.name: e.to_setting(e.mean) for e in self.entries}

    def to_dict(self) -> dict:
        return {"settings": self.settings, "base": self.base, "entries": [e.describe() for e in self.entries]}

    @classmethod
    def from_dict(cls, data: dict) -> Space:
        """The space a sweep's log recorded (its ``sweep_started`` event)."""
        entries = []
        for d in data["entries"]:
            entries.append(
                Entry(
                    d["name"],
                    d["distribution"],
                    d["min"],
                    d["max"],
                    d["mean"],
                    scale=d.get("scale", "auto"),
                    values=d["values"],
                    integer=d["integer"],
                )
            )
        return cls(dict(data["settings"]), dict(data["base"]), entries)


def _setting_types() -> dict[str, str]:
    return {f.name: f.type if isinstance(f.type, str) else f.type.__name__ for f in fields(TrainConfig)}


def load_space(path: str | Path | None = None, overrides: dict | None = None) -> Space:
    """Read and check a space file (the shipped default when ``path`` is None); ``overrides``
    are [sweep] settings from the command line. Raises :class:`SpaceError`."""
    path = Path(path) if path is not None else DEFAULT_SPACE_FILE
    where = f"search space {str(path)!r}"
    if not path.is_file():
        raise SpaceError(f"{where} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{where} is not valid TOML: {exc}") from None
    return parse_space(data, where, overrides)


def parse_space(data: dict, where: str = "search space", overrides: dict | None = None) -> Space:
    unknown = sorted(set(data) - {"sweep", "base", "space"})
    if unknown:
        raise SpaceError(f"{where}: unknown table [{unknown[0]}] (use [sweep], [base] and [space.SETTING])")
    settings = _sweep_settings(data.get("sweep", {}), overrides or {}, where)
    base = _base_settings(data.get("base", {}), where)
    table = data.get("space", {})
    if not isinstance(table, dict) or not table:
        raise SpaceError(f"{where}: no [space.SETTING] entries: give at least one setting to tune")
    _check_config(base, {}, f"{where}: [base]")  # first: a bad [base] is not the first entry's fault
    entries = [_entry(name, spec, base, f"{where}: [space.{name}]") for name, spec in table.items()]
    overlap = sorted(set(base) & {e.name for e in entries})
    if overlap:
        raise SpaceError(f"{where}: [space.{overlap[0]}] is also fixed in [base]: keep one of the two")
    return Space(settings, base, entries, where)


def _sweep_settings(table, overrides: dict, where: str) -> dict:
    if not isinstance(table, dict):
        raise SpaceError(f"{where}: [sweep] must be a table")
    unknown = sorted(set(table) - set(SWEEP_SETTINGS))
    if unknown:
        raise SpaceError(f"{where}: [sweep] {unknown[0]}: unknown sweep setting (known: {', '.join(SWEEP_SETTINGS)})")
    settings = {name: default for name, (default, *_rest) in SWEEP_SETTINGS.items()}
    settings.update(table)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    for name, (_default, kind, check, why) in SWEEP_SETTINGS.items():
        value = settings[name]
        if value is None and name == "showcase_seed":
            continue
        ok_type = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = settings[name] = float(value)
            ok_type = True
        if not ok_type:
            raise SpaceError(f"{where}: [sweep] {name} = {value!r}: must be a {kind.__name__}")
        if not check(value):
            raise SpaceError(f"{where}: [sweep] {name} = {value!r}: {why}")
    return settings


def _base_settings(table, where: str) -> dict:
    if not isinstance(table, dict):
        raise SpaceError(f"{where}: [base] must be a table of settings")
    types = _setting_types()
    for name in table:
        if name not in types:
            raise SpaceError(f"{where}: [base] {name}: unknown setting (not a TrainConfig setting, docs/training.md)")
        if name in NOT_TUNABLE and name not in ("backend", "workers", "env_threads", "torch_threads", "eval_episodes"):
            raise SpaceError(f"{where}: [base] {name}: may not be set for a sweep's trials: it {NOT_TUNABLE[name]}")
    return dict(table)


def _entry(name: str, spec, base: dict, where: str) -> Entry:
    types = _setting_types()
    if name not in types:
        raise SpaceError(f"{where}: unknown setting {name!r} (not a TrainConfig setting, docs/training.md)")
    if name in NOT_TUNABLE:
        raise SpaceError(f"{where}: {name} cannot be tuned: it {NOT_TUNABLE[name]}")
    if not isinstance(spec, dict):
        raise SpaceError(f"{where}: must be a table (distribution, min, max) or values = [...]")
    kind = types[name]
    default = getattr(TrainConfig(), name)
    if "values" in spec:
        entry = _choice(name, spec, default, where)
    else:
        entry = _range(name, spec, kind, default, where)
    for raw in (entry.min, entry.max, entry.mean) if entry.values is None else range(len(entry.values)):
        _check_config(base, {name: entry.to_setting(raw)}, where)
    return entry


def _choice(name: str, spec: dict, default, where: str) -> Entry:
    unknown = sorted(set(spec) - {"values", "mean"})
    if unknown:
        raise SpaceError(f"{where}: {unknown[0]}: a choice takes values = [...] and mean only")
    values = spec["values"]
    if not isinstance(values, list) or len(values) < 2 or len(set(map(repr, values))) != len(values):
        raise SpaceError(f"{where}: values must list at least two different values")
    centre = spec.get("mean", default)
    if centre not in values:
        raise SpaceError(f"{where}: mean {centre!r} is not one of the values")
    return Entry(name, "int_uniform", 0, len(values) - 1, values.index(centre), values=list(values))


def _number(value, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"{where}: {what} = {value!r}: must be a finite number")
    return value


def _range(name: str, spec: dict, kind: str, default, where: str) -> Entry:
    unknown = sorted(set(spec) - {"distribution", "min", "max", "mean", "scale"})
    if unknown:
        raise SpaceError(f"{where}: {unknown[0]}: unknown key (distribution, min, max, mean, scale)")
    if not (kind.startswith("int") or kind.startswith("float")):
        raise SpaceError(f"{where}: {name} is a {kind} setting: give values = [...] instead of a range")
    dist = spec.get("distribution")
    if dist not in DISTRIBUTIONS:
        raise SpaceError(f"{where}: distribution {dist!r}: choose one of PufferLib's {', '.join(DISTRIBUTIONS)}")
    for key in ("min", "max"):
        if key not in spec:
            raise SpaceError(f"{where}: {key} is missing")
    low, high = _number(spec["min"], "min", where), _number(spec["max"], "max", where)
    if low > high:
        raise SpaceError(f"{where}: inverted range: min {low!r} > max {high!r}")
    if low == high:
        raise SpaceError(f"{where}: empty range: min = max = {low!r} (fix the setting in [base] instead)")
    if DISTRIBUTIONS[dist] and low <= 0:
        raise SpaceError(f"{where}: {dist} is a log scale: it cannot reach zero or below (min {low!r})")
    if dist == "logit_normal" and not (0 < low and high < 1):
        raise SpaceError(f"{where}: logit_normal needs 0 < min and max < 1 (got {low!r}..{high!r})")
    integer = kind.startswith("int")
    if dist in ("int_uniform", "uniform_pow2") and not integer:
        raise SpaceError(f"{where}: {dist} gives whole numbers, but {name} is a {kind} setting")
    centre = spec.get("mean", default)
    if centre is None:
        raise SpaceError(f"{where}: {name} has no default: give mean = ...")
    centre = _number(centre, "mean", where)
    if not low <= centre <= high:
        raise SpaceError(f"{where}: mean {centre!r} is outside min..max ({low!r}..{high!r})")
    scale = spec.get("scale", "auto")
    if scale != "auto" and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0):
        raise SpaceError(f'{where}: scale = {scale!r}: "auto" or a number > 0')
    return Entry(name, dist, low, high, centre, scale=scale, integer=integer)


def _check_config(base: dict, values: dict, where: str) -> None:
    """A trial with these settings would be a valid run (else the entry is refused)."""
    try:
        TrainConfig(**{**base, **values}).validate()
    except (TypeError, ValueError) as exc:
        raise SpaceError(f"{where}: {exc}") from None
