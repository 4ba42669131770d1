"""Training configuration: built-in defaults, an optional TOML/JSON file, CLI flags.

Precedence: defaults < config file < command-line flags.  Every value is checked
here, so a bad file or flag fails before anything is written, with the field named.

Each setting is declared once, as a field of :class:`TrainConfig` made by :func:`setting`:
its type (the annotation), default, help, valid values, command-line flag and whether a
resumed run may change it. The ``train`` options (pipeline/cli.py), the checks of
:meth:`TrainConfig.validate`, the config-file loader, :func:`resume_config` and the
settings table of docs/training.md#settings (:func:`settings_table`) are all derived from
these fields; a new setting is one new field (docs/architecture.md).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from prospector import spec as S
from prospector.cli import RUNS_DIR

SEED_MAX = 2**64 - 1
TRAIN_SEED_MAX = 2**63 - 1
#: The most games one trainer steps (PuffeRL keeps games x bptt_horizon observations in memory).
MAX_ENVS = 16384
MAX_BPTT = 1024


@dataclass(frozen=True)
class Setting:
    """One training setting: what :func:`setting` declares, with the name, type and default
    of its TrainConfig field (see :data:`SETTINGS`)."""

    help: str  # what it does, for ``train --help`` and the docs' table
    flag: str | None = None  # its option of ``prospector train``; None: config files only
    low: float | None = None  # the least valid value ...
    high: float | str | None = None  # ... and the most (a name: another setting's value)
    low_open: bool = False  # low itself is not valid ("greater than 0")
    range_note: str = ""  # said after the range in a refusal: "0: one per available core"
    choices: tuple = ()
    check: Callable[[Any], bool] | None = None  # a rule that is neither a range nor choices ...
    refusal: str = ""  # ... and what a value that breaks it is told
    valid: str = ""  # the docs' "valid" column where range and choices do not say it
    on_resume: bool = False  # ``train --resume`` takes it from the command line, not the run
    shown_default: str = ""  # how help and docs show the default where the value does not say it
    metavar: str | None = None
    doc: str = ""  # a Markdown sentence the docs' table adds (links to sections)
    name: str = ""
    kind: str = ""  # int, float, bool or str
    optional: bool = False  # None is a value
    default: Any = None

    def refusal_of(self, value, config) -> str | None:
        """Why ``value`` is not valid for this setting (None when it is); ``config`` gives the
        value of a bound that names another setting."""
        if value is None:
            return None if self.optional else "may not be empty"
        wrong_type = _TYPE_REFUSALS[self.kind]
        if not _KIND_CHECKS[self.kind](value):
            return wrong_type
        if self.choices and value not in self.choices:
            return "choose " + or_list(self.choices)
        if self.check is not None and not self.check(value):
            return self.refusal
        if self.low is not None and not self.in_range(value, config):
            if self.bound(config) is None:
                return "must be " + self.range_text(config)
            return f"must be in {self.range_text(config)}" + (f" ({self.range_note})" if self.range_note else "")
        return None

    def bound(self, config=None):
        """The upper bound (another setting's value where it names one; the name without a config)."""
        if isinstance(self.high, str):
            return getattr(config, self.high) if config is not None else self.high
        return self.high

    def in_range(self, value, config) -> bool:
        high = self.bound(config)
        above_low = value > self.low if self.low_open else value >= self.low
        return above_low and (high is None or value <= high)

    def range_text(self, config=None) -> str:
        """'1..16384', '(0, 1]', 'at least 1', 'greater than 0'; '' without a range."""
        if self.low is None:
            return ""
        high = self.bound(config)
        if high is None:
            return f"{'greater than' if self.low_open else 'at least'} {number_text(self.low)}"
        if self.kind == "int":
            return f"{number_text(self.low)}..{number_text(high)}"
        return f"{'(' if self.low_open else '['}{number_text(self.low)}, {number_text(high)}]"

    def default_text(self) -> str:
        """The default as help and docs show it: '1024', '1,048,576', 'on', 'none', or shown_default."""
        if self.shown_default:
            return self.shown_default
        if self.default is None:
            return "none"
        if self.kind == "bool":
            return "on" if self.default else "off"
        if self.kind == "int" and self.default >= 10_000 and number_text(self.default) == str(self.default):
            return f"{self.default:,}"
        return number_text(self.default)


def setting(default, help: str, **declared) -> Any:
    """A TrainConfig field declaring one setting: ``default``, ``help`` and the rest of
    :class:`Setting` (flag, low/high, choices, check and refusal, on_resume, ...)."""
    return field(default=default, metadata={"setting": Setting(help=help, **declared)})


def number_text(value) -> str:
    """A number as help, docs and refusals write it: 2^63-1, 1,048,576 (1000000 in a range), 0.003."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) and value >= 2**32 and (value + 1) & value == 0:
        return f"2^{value.bit_length()}-1"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def or_list(words) -> str:
    """'a or b', 'a, b or c'."""
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


_KIND_CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}
_TYPE_REFUSALS = {
    "int": "must be a whole number",
    "float": "must be a number",
    "bool": "must be true or false",
    "str": "must be a string",
}


def _cpu_or_cuda(device: str) -> bool:
    return device in ("cpu", "cuda") or device.startswith("cuda:")


def _safe_name(text: str) -> bool:
    return bool(text) and len(text) <= 128 and all(c.isalnum() or c in "-_." for c in text) and text not in (".", "..")


@dataclass
class TrainConfig:
    # run
    run_id: str | None = setting(
        None,
        "the run's name: its directory, its W&B run name, its URL on the site",
        flag="--run-id",
        check=_safe_name,
        refusal="use letters, digits, '-', '_' and '.' only",
        valid="letters, digits, `-`, `_`, `.`",
        shown_default="UTC time and git short sha",
        doc="An existing directory is refused unless it is a run that never started "
        "([Crashes](#crashes-and-resuming)).",
    )
    runs_dir: str = setting(
        RUNS_DIR,
        "where runs live",
        flag="--runs-dir",
        shown_default=f"{RUNS_DIR}/",
        doc="Made if missing; a file there is refused.",
    )
    experiment: str | None = setting(None, "W&B group of the run", flag="--experiment")
    seed: int = setting(
        1,
        "seed of games and policy",
        flag="--seed",
        low=0,
        high=TRAIN_SEED_MAX,  # torch takes seeds up to 2^64-1; a rank and a window add to the run's (trainer.py)
        doc="Each rank and window adds to it, under torch's 2^64-1.",
    )
    # length: stop after `windows` windows, or after `total_steps` env steps (the first reached)
    windows: int | None = setting(3, "windows to train", flag="--windows", low=1, on_resume=True)
    total_steps: int | None = setting(
        None,
        "stop at this many env steps instead",
        flag="--total-steps",
        low=1,
        on_resume=True,
        shown_default="windows x window steps",
        doc="Given alone, training runs until this many steps; with `--windows` too, the first reached stops it.",
    )
    window_steps: int = setting(
        1_048_576,  # window_env_steps: long enough for a window's eval replay to keep up
        "env steps per window, rounded up to whole batches of games x bptt_horizon",
        flag="--window-steps",
        low=1,
        doc="The spec's `window_env_steps`; see [Window size](#window-size).",
    )
    # environment
    envs: int = setting(1024, "games stepped in total (per rank with --nproc)", flag="--envs", low=1, high=MAX_ENVS)
    workers: int = setting(
        1,
        "env workers, must divide --envs; at most the physical cores with multiprocessing",
        flag="--workers",
        low=1,
        high="envs",
        range_note="the number of games",
        on_resume=True,
    )
    backend: str = setting(
        "serial",  # multiprocessing is slower on 2 shared cores (benchmarks.md)
        "PufferLib vectorization of the env workers",
        flag="--backend",
        choices=("multiprocessing", "serial"),
        on_resume=True,
        doc="[Benchmarks](benchmarks.md#training-throughput-prospector-train) say why serial is the default "
        "on 2 cores.",
    )
    time_max: int = setting(
        S.TIME_MAX,
        "episode budget in ticks (a curriculum knob; the eval replays use the same)",
        flag="--time-max",
        low=1,
        high=1_000_000,
        doc="The default is the game's `TIME_MAX` ([game constants](game.md#1-constants)).",
    )
    env_threads: int = setting(
        0,
        "C threads stepping each env worker's games; 0: this machine's available cores shared out "
        "over the workers and ranks",
        flag="--threads",
        low=0,
        high=1024,
        range_note="0: one per available core",
        on_resume=True,
        doc="See [Cores](#cores).",
    )
    # policy
    policy: str = setting("mlp", "policy network", flag="--policy", choices=("mlp", "lstm"))
    hidden_size: int = setting(128, "width of the policy network's hidden layers", low=1)
    action_mask: bool = setting(
        True, "mask the actions the observation shows invalid (pipeline/policy.py)", shown_default="on"
    )
    # PPO (PufferLib PuffeRL)
    device: str = setting(
        "cpu",
        "torch device: cpu, cuda or cuda:N",
        flag="--device",
        check=_cpu_or_cuda,
        refusal="choose cpu or cuda",
        valid="`cpu`, `cuda`, `cuda:N`",
        on_resume=True,
        doc="The policy and PPO on the GPU ([GPU](#gpu)); CUDA where there is none is refused before "
        "anything is written.",
    )
    torch_threads: int = setting(1, "torch CPU threads in the trainer (1: no spinning on shared cores)", low=1)
    compute_dtype: str = setting(
        "auto",
        "dtype of the forward passes and the PPO update (bfloat16 autocast; weights and checkpoints stay "
        "float32); auto: bfloat16 on a CPU with AMX-BF16 or a CUDA device with bfloat16, else float32",
        flag="--compute-dtype",
        choices=("auto", "float32", "bfloat16"),
        on_resume=True,
        doc="See [Compute dtype](#compute-dtype).",
    )
    learning_rate: float = setting(
        0.003,
        "Adam's learning rate, annealed to 0 over the planned steps",
        flag="--learning-rate",
        low=0,
        low_open=True,
    )
    gamma: float = setting(0.995, "discount factor", low=0, low_open=True, high=1)
    gae_lambda: float = setting(0.95, "GAE lambda", low=0, high=1)
    clip_coef: float = setting(0.2, "PPO's clip of the policy ratio", low=0, low_open=True)
    vf_coef: float = setting(2.0, "weight of the value loss", low=0, low_open=True)
    ent_coef: float = setting(
        0.002,  # 0.01 kept the sampled policy at ~1.3 nats: random fatal moves (results.md)
        "weight of the entropy bonus",
        low=0,
    )
    vf_clip_coef: float = setting(
        0.2,
        "PPO's clip of how far an update may move a value prediction from the one collection made (PuffeRL's 0.2)",
        low=0,
        low_open=True,
        doc="See [Results](results.md#how-we-got-there).",
    )
    ent_coef_end: float | None = setting(
        0.0,  # annealed to 0: a sharper sampled policy late in training (results.md#keeping-the-ship)
        "the entropy weight at the end of the planned steps, reached linearly from ent_coef (none: constant)",
        low=0,
        doc="Annealed to 0 it sharpens the sampled policy late in training: see "
        "[Results](results.md#keeping-the-ship).",
    )
    max_grad_norm: float = setting(1.5, "gradients are clipped to this norm", low=0, low_open=True)
    reward_scale: float = setting(
        1.0,
        "the rewards PPO learns from are multiplied by this before PuffeRL clips each step's reward "
        "to [-1, 1]; the env's reward and the window metrics are unchanged (trainer.EpisodeTap)",
        low=0,
        low_open=True,
        doc="See [Results](results.md#what-made-ppo-learn-and-what-did-not).",
    )
    reward_scale_end: float | None = setting(
        0.05,
        "the scale at the end of the planned steps, reached geometrically from reward_scale "
        "(progress as the learning rate's annealing; none: constant)",
        low=0,
        low_open=True,
    )
    reward_clip: float = setting(
        1.0,
        "each step's reward the learner sees, after the scale, is clipped to [-reward_clip, reward_clip] "
        "(PuffeRL's 1); the env's reward and the window metrics are unchanged",
        low=0,
        low_open=True,
        doc="With the scale at 0.05, a clip of 1 still makes losing the ship (−2.5, −5) cost the "
        "learner what one sale does: see [Results](results.md#how-we-got-there).",
    )
    reward_clip_end: float | None = setting(
        5.0,  # widened with the shrinking scale: losing the ship weighs 2.5 and 5 sales at the end
        "the clip at the end of the planned steps, reached geometrically from reward_clip as the "
        "scale is (none: constant)",
        low=0,
        low_open=True,
        doc="A wide clip from the start makes dying what the untrained policy notices most, and it "
        "learns to sit still: see [Results](results.md#how-we-got-there).",
    )
    update_epochs: int = setting(1, "passes of PPO over each batch", low=1)
    bptt_horizon: int = setting(
        32, "steps of each game per segment; a batch is games x bptt_horizon steps", low=1, high=MAX_BPTT
    )
    minibatch_size: int = setting(
        8192,
        "steps per minibatch, made a divisor of the batch",
        low=1,
        doc="See [Derived settings](#derived-settings).",
    )
    # evaluation
    eval_episodes: int = setting(1, "evaluation replays recorded per window", flag="--eval-episodes", low=1)
    eval_seed: int = setting(
        1_000_000,
        "the first evaluation seed (a window plays eval_seed, eval_seed + 1, and so on)",
        low=0,
        high=TRAIN_SEED_MAX,
    )
    showcase_seed: int | None = setting(
        None,  # None: from seed; a resumed run keeps its recorded one
        "the world every window also plays, for the site's timelapse",
        flag="--showcase-seed",
        low=0,
        high=SEED_MAX,
        metavar="SEED",
        shown_default="derived from --seed",
        doc="Its replays are tagged `showcase` ([timelapse](site.md#timelapse)).",
    )
    eval_backlog_max: int = setting(
        4, "training waits while more windows than this queue for an evaluator (0: never)", low=0
    )
    # logging
    wandb: bool = setting(
        True,
        "log to W&B",
        flag="--wandb",
        on_resume=True,
        doc="Offline unless you are logged in or set `WANDB_MODE` ([W&B](#weights-biases)).",
    )
    wandb_video: bool = setting(
        False,
        "log every window's every_window replay to W&B as a video too, drawn by the site's player in headless Chromium",
        flag="--wandb-video",
        doc="Refused at start without Chromium or with `--no-wandb` ([Video](site.md#video)).",
    )
    dashboard: bool = setting(True, "show PuffeRL's live terminal dashboard", flag="--no-dashboard", on_resume=True)
    # site: rebuild the static site after every recorded replay
    site: str | None = setting(
        None,
        "rebuild the static site into DIR after every window's replays",
        flag="--site",
        metavar="DIR",
        on_resume=True,
        shown_default="off",
    )
    deploy: bool = setting(False, "deploy the site after every rebuild (with --site)", flag="--deploy", on_resume=True)

    derived = ()  # what derive() changed, as lines for the user (not a setting)

    def validate(self) -> TrainConfig:
        """Check every value, then derive the settings that depend on others (see
        :meth:`derive`); a bad value raises ValueError naming the setting, its option and
        the valid range, before anything is written. Each setting's own range and choices
        come from its declaration; the rules between settings are below."""
        for declared in SETTINGS.values():
            why = declared.refusal_of(getattr(self, declared.name), self)
            self._need(why is None, declared.name, why)
        self._need(self.windows is not None or self.total_steps is not None, "windows", "set windows or total_steps")
        self._need(
            self.envs % self.workers == 0,
            "workers",
            f"must divide the games evenly ({self.envs} games are not divisible by {self.workers})",
        )
        if self.backend == "multiprocessing":
            # PufferLib's Multiprocessing refuses more workers than physical cores (pufferlib/vector.py).
            cores = physical_cores()
            self._need(
                self.workers <= cores,
                "workers",
                f"must be in 1..{cores} with the multiprocessing backend (this machine's physical cores)",
            )
        if self.showcase_seed is None:  # a fresh run; a resumed one keeps its recorded seed
            self.showcase_seed = showcase_seed_for(self.seed)
        # PuffeRL anneals over total_steps // batch updates: at least one (pufferlib/pufferl.py).
        self._need(
            self.total_steps is None or self.total_steps >= self.batch_size,
            "total_steps",
            f"must be at least one batch: games x bptt_horizon = {self.envs} x {self.bptt_horizon} "
            f"= {self.batch_size:,}",
        )
        self.derive()
        return self

    def _need(self, ok: bool, name: str, why: str | None) -> None:
        if not ok:
            raise ValueError(f"{setting_label(name)} = {getattr(self, name)!r}: {why}")

    def derive(self) -> None:
        """Settings that depend on others, made consistent (docs/training.md#derived-settings).

        PPO learns from batches of games x bptt_horizon steps, split into minibatches of
        whole bptt_horizon segments. The minibatch is the largest multiple of bptt_horizon
        that is at most minibatch_size and divides the batch; a window is a whole number of
        batches (window_steps rounded up). Each change is kept in ``derived`` for the
        trainer to print. Idempotent: a resumed run derives the same values again.
        """
        self.derived = []
        segments_wanted = max(1, self.minibatch_size // self.bptt_horizon)  # at least one segment
        segments = max(k for k in range(1, min(segments_wanted, self.envs) + 1) if self.envs % k == 0)
        minibatch = segments * self.bptt_horizon
        if minibatch != self.minibatch_size:
            self.derived.append(
                f"minibatch_size {self.minibatch_size:,} -> {minibatch:,} (the largest multiple "
                f"of bptt_horizon {self.bptt_horizon} that divides the batch of {self.batch_size:,})"
            )
            self.minibatch_size = minibatch
        window = -(-self.window_steps // self.batch_size) * self.batch_size
        if window != self.window_steps:
            self.derived.append(
                f"window_steps {self.window_steps:,} -> {window:,} (a whole number of batches of "
                f"{self.envs} games x {self.bptt_horizon} steps)"
            )
            self.window_steps = window

    @property
    def batch_size(self) -> int:
        return self.envs * self.bptt_horizon

    @property
    def planned_steps(self) -> int:
        if self.total_steps is not None:
            return self.total_steps
        return self.windows * self.window_steps

    def to_dict(self) -> dict:
        return asdict(self)


def showcase_seed_for(seed: int) -> int:
    """The default showcase seed of a run: a 64-bit number derived from its seed (away from
    the training and eval seeds, which count up from small numbers)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"showcase|{seed}".encode()).digest()[:8], "little")


def _declared_settings() -> dict[str, Setting]:
    """Each TrainConfig field's declaration, completed with its name, kind and default."""
    declared = {}
    for f in fields(TrainConfig):
        kinds = [part.strip() for part in f.type.split("|")]
        declared[f.name] = replace(
            f.metadata["setting"], name=f.name, kind=kinds[0], optional="None" in kinds, default=f.default
        )
    return declared


#: Every training setting by name, in the order TrainConfig declares them.
SETTINGS: dict[str, Setting] = _declared_settings()


def setting_label(name: str) -> str:
    """How an error names a setting: its option too, where it has one."""
    flag = SETTINGS[name].flag
    return f"{name} ({flag})" if flag else f"config setting {name}"


def resume_config(recorded: dict, given: TrainConfig) -> TrainConfig:
    """The settings a resumed run trains with: the ones its ``run_started`` event recorded
    (the same game, policy and PPO, so that the checkpoint fits), except those a resume may
    change (``on_resume``: how long to train, where and how it is shown), which come from
    ``given``, the command line's. Checked and derived like a new run's."""
    values = {"action_mask": False, **recorded}  # runs from before the policy had a mask had none
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise ValueError(f"the run recorded setting {unknown[0]!r}, which this version does not know")
    values.update({name: getattr(given, name) for name, declared in SETTINGS.items() if declared.on_resume})
    return TrainConfig(**values).validate()


def settings_table() -> str:
    """The Markdown table of every setting in docs/training.md#settings (a test checks that
    the page holds exactly this, so it is written once, here)."""
    rows = [
        "| setting | flag | type | default | valid | resume may change | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        flags = [s.flag] if s.flag else []
        if s.kind == "bool" and s.default and s.flag and not s.flag.startswith("--no-"):  # as pipeline/cli.py
            flags.append("--no-" + s.flag[2:])
        valid = ", ".join(f"`{c}`" for c in s.choices) or s.valid or s.range_text()
        if isinstance(s.high, str):  # a bound that is another setting
            valid = valid.replace(s.high, f"`{s.high}`")
        cells = [
            f"`{s.name}`",
            " / ".join(f"`{flag}`" for flag in flags),
            s.kind + (" or none" if s.optional else ""),
            s.default_text(),
            valid,
            "yes" if s.on_resume else "",
            f"{s.help[0].upper()}{s.help[1:]}." + (f" {s.doc}" if s.doc else ""),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or 1


def load_config_file(path: str | Path) -> dict:
    """Read a .toml or .json file of TrainConfig fields (a [train] table is also accepted)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
        else:
            raise ValueError(f"config file {str(path)!r}: use a .toml or .json file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"config file {str(path)!r} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a table of settings")
    if "train" in data and isinstance(data["train"], dict):
        data = data["train"]
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise ValueError(f"config file {str(path)!r}: unknown setting {unknown[0]!r}")
    return data


def make_train_config(file: str | None = None, **overrides) -> TrainConfig:
    values = load_config_file(file) if file else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values).validate()
