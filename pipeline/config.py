"""Training configuration: embedded defaults, an optional TOML/JSON file, CLI flags.

Precedence: defaults < config file < command-line flags.  Every value is checked
here, so a bad file or flag fails before anything is written, with the field named.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from prospector import spec as S


@dataclass
class TrainConfig:
    # run
    run_id: str | None = None          # default: {UTC yyyymmdd-HHMMSS}-{git short sha}
    runs_dir: str = "runs"
    experiment: str | None = None      # W&B group
    seed: int = 1
    # length: stop after `windows` windows, or after `total_steps` env steps
    windows: int | None = 3
    total_steps: int | None = None
    window_steps: int = 1_048_576      # window_env_steps: long enough for a window's eval replay to keep up
    # environment
    envs: int = 1024                   # games in total, split evenly over workers
    workers: int = 1
    backend: str = "serial"            # or "multiprocessing" (slower on 2 shared cores: benchmarks.md)
    time_max: int = S.TIME_MAX         # episode budget in ticks
    # policy
    policy: str = "mlp"                # or "lstm"
    hidden_size: int = 128
    action_mask: bool = True           # mask actions the observation shows invalid (pipeline/policy.py)
    # PPO (PufferLib PuffeRL)
    device: str = "cpu"
    torch_threads: int = 1             # torch CPU threads in the trainer (1: no spinning on shared cores)
    learning_rate: float = 0.003
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    vf_coef: float = 2.0
    ent_coef: float = 0.002            # 0.01 kept the sampled policy at ~1.3 nats: random fatal moves (results.md)
    max_grad_norm: float = 1.5
    reward_scale: float = 1.0          # rewards times this before PuffeRL's [-1, 1] clip (trainer.EpisodeTap)
    reward_scale_end: float | None = 0.05  # the scale at the end, reached geometrically (None: constant)
    update_epochs: int = 1
    bptt_horizon: int = 32
    minibatch_size: int = 8192
    # evaluation
    eval_episodes: int = 1
    eval_seed: int = 1_000_000         # eval seeds are eval_seed, eval_seed + 1, ...
    eval_backlog_max: int = 4          # training waits while more windows than this queue for an evaluator (0: never)
    # logging
    wandb: bool = True                 # offline unless logged in or WANDB_MODE is set
    dashboard: bool = True             # PuffeRL's live terminal dashboard
    # site (issue 4): rebuild the static site after every recorded replay
    site: str | None = None
    deploy: bool = False

    def validate(self) -> "TrainConfig":
        def need(ok: bool, field: str, why: str):
            if not ok:
                raise ValueError(f"config field {field!r} = {getattr(self, field)!r}: {why}")

        for f in fields(self):
            value = getattr(self, f.name)
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if value is None:
                need("None" in kind, f.name, "may not be empty")
                continue
            if kind.startswith("int"):
                need(isinstance(value, int) and not isinstance(value, bool), f.name, "must be a whole number")
            elif kind.startswith("float"):
                need(isinstance(value, (int, float)) and not isinstance(value, bool), f.name, "must be a number")
            elif kind.startswith("bool"):
                need(isinstance(value, bool), f.name, "must be true or false")
            elif kind.startswith("str"):
                need(isinstance(value, str), f.name, "must be a string")
        need(self.windows is not None or self.total_steps is not None, "windows", "set windows or total_steps")
        for name in ("windows", "total_steps"):
            need(getattr(self, name) is None or getattr(self, name) >= 1, name, "must be >= 1")
        for name in ("window_steps", "envs", "workers", "hidden_size", "update_epochs", "bptt_horizon",
                     "minibatch_size", "eval_episodes", "torch_threads"):
            need(getattr(self, name) >= 1, name, "must be >= 1")
        need(1 <= self.time_max <= 1_000_000, "time_max", "must be in 1..1000000")
        need(self.seed >= 0 and self.eval_seed >= 0, "seed", "seeds must be >= 0")
        need(self.envs % self.workers == 0, "envs", f"must be divisible by workers ({self.workers})")
        need(self.backend in ("multiprocessing", "serial"), "backend", "choose multiprocessing or serial")
        need(self.policy in ("mlp", "lstm"), "policy", "choose mlp or lstm")
        need(self.device in ("cpu", "cuda") or self.device.startswith("cuda:"), "device", "choose cpu or cuda")
        for name in ("learning_rate", "clip_coef", "vf_coef", "max_grad_norm", "reward_scale"):
            need(getattr(self, name) > 0, name, "must be > 0")
        need(0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1, "gamma", "gamma in (0,1], gae_lambda in [0,1]")
        need(self.ent_coef >= 0, "ent_coef", "must be >= 0")
        need(self.eval_backlog_max >= 0, "eval_backlog_max", "must be >= 0")
        need(self.reward_scale_end is None or self.reward_scale_end > 0, "reward_scale_end", "must be > 0")
        need(self.window_steps >= self.batch_size, "window_steps",
             f"must be at least one batch (envs x bptt_horizon = {self.batch_size})")
        need(self.batch_size % self.minibatch_size == 0 or self.minibatch_size > self.batch_size,
             "minibatch_size", f"must divide the batch ({self.batch_size})")
        need(self.minibatch_size % self.bptt_horizon == 0, "minibatch_size", "must be a multiple of bptt_horizon")
        if self.run_id is not None:
            need(_safe_name(self.run_id), "run_id", "use letters, digits, '-', '_' and '.' only")
        return self

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


def _safe_name(text: str) -> bool:
    return bool(text) and len(text) <= 128 and all(c.isalnum() or c in "-_." for c in text) and text not in (".", "..")


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
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"config file {str(path)!r}: unknown setting {unknown[0]!r}")
    return data


def make_train_config(file: str | None = None, **overrides) -> TrainConfig:
    values = load_config_file(file) if file else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**values).validate()
