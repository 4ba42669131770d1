"""Training configuration: built-in defaults, an optional TOML/JSON file, CLI flags.

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
    run_id: str | None = None  # default: {UTC yyyymmdd-HHMMSS}-{git short sha}
    runs_dir: str = "runs"
    experiment: str | None = None  # W&B group
    seed: int = 1
    # length: stop after `windows` windows, or after `total_steps` env steps
    windows: int | None = 3
    total_steps: int | None = None
    window_steps: int = 1_048_576  # window_env_steps: long enough for a window's eval replay to keep up
    # environment
    envs: int = 1024  # games in total, split evenly over workers
    workers: int = 1
    backend: str = "serial"  # or "multiprocessing" (slower on 2 shared cores: benchmarks.md)
    time_max: int = S.TIME_MAX  # episode budget in ticks
    env_threads: int = 0  # C threads stepping each worker's games (0: cores shared out, training.md#cores)
    # policy
    policy: str = "mlp"  # or "lstm"
    hidden_size: int = 128
    action_mask: bool = True  # mask actions the observation shows invalid (pipeline/policy.py)
    # PPO (PufferLib PuffeRL)
    device: str = "cpu"
    torch_threads: int = 1  # torch CPU threads in the trainer (1: no spinning on shared cores)
    compute_dtype: str = "auto"  # auto, float32 or bfloat16 (training.md#compute-dtype); checkpoints: float32
    learning_rate: float = 0.003
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    vf_coef: float = 2.0
    ent_coef: float = 0.002  # 0.01 kept the sampled policy at ~1.3 nats: random fatal moves (results.md)
    max_grad_norm: float = 1.5
    reward_scale: float = 1.0  # rewards times this before PuffeRL's [-1, 1] clip (trainer.EpisodeTap)
    reward_scale_end: float | None = 0.05  # the scale at the end, reached geometrically (None: constant)
    update_epochs: int = 1
    bptt_horizon: int = 32
    minibatch_size: int = 8192
    # evaluation
    eval_episodes: int = 1
    eval_seed: int = 1_000_000  # eval seeds are eval_seed, eval_seed + 1, ...
    showcase_seed: int | None = None  # every window also plays this world (docs/site.md#timelapse); None: from seed
    eval_backlog_max: int = 4  # training waits while more windows than this queue for an evaluator (0: never)
    # logging
    wandb: bool = True  # offline unless logged in or WANDB_MODE is set
    wandb_video: bool = False  # evaluators also log the every_window replay as a W&B video
    dashboard: bool = True  # PuffeRL's live terminal dashboard
    # site: rebuild the static site after every recorded replay
    site: str | None = None
    deploy: bool = False

    derived = ()  # what derive() changed, as lines for the user (not a setting)

    def validate(self) -> TrainConfig:
        """Check every value, then derive the settings that depend on others (see
        :meth:`derive`); a bad value raises ValueError naming the setting, its option and
        the valid range, before anything is written."""

        def need(ok: bool, name: str, why: str):
            if not ok:
                raise ValueError(f"{setting_label(name)} = {getattr(self, name)!r}: {why}")

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
            need(getattr(self, name) is None or getattr(self, name) >= 1, name, "must be at least 1")
        need(1 <= self.envs <= MAX_ENVS, "envs", f"must be in 1..{MAX_ENVS}")
        need(1 <= self.workers <= self.envs, "workers", f"must be in 1..{self.envs} (the number of games)")
        need(
            self.envs % self.workers == 0,
            "workers",
            f"must divide the games evenly ({self.envs} games are not divisible by {self.workers})",
        )
        need(self.backend in ("multiprocessing", "serial"), "backend", "choose multiprocessing or serial")
        if self.backend == "multiprocessing":
            # PufferLib's Multiprocessing refuses more workers than physical cores (pufferlib/vector.py).
            cores = physical_cores()
            need(
                self.workers <= cores,
                "workers",
                f"must be in 1..{cores} with the multiprocessing backend (this machine's physical cores)",
            )
        for name in (
            "window_steps",
            "hidden_size",
            "update_epochs",
            "minibatch_size",
            "eval_episodes",
            "torch_threads",
        ):
            need(getattr(self, name) >= 1, name, "must be at least 1")
        need(1 <= self.bptt_horizon <= MAX_BPTT, "bptt_horizon", f"must be in 1..{MAX_BPTT}")
        need(0 <= self.env_threads <= 1024, "env_threads", "must be in 0..1024 (0: one per available core)")
        need(1 <= self.time_max <= 1_000_000, "time_max", "must be in 1..1000000")
        # torch takes seeds up to 2^64-1; a rank and a window add to the run's (trainer.py)
        need(0 <= self.seed <= TRAIN_SEED_MAX, "seed", "must be in 0..2^63-1")
        need(0 <= self.eval_seed <= TRAIN_SEED_MAX, "eval_seed", "must be in 0..2^63-1")
        if self.showcase_seed is None:  # a fresh run; a resumed one keeps its recorded seed
            self.showcase_seed = showcase_seed_for(self.seed)
        need(0 <= self.showcase_seed <= SEED_MAX, "showcase_seed", "must be in 0..2^64-1")
        need(self.policy in ("mlp", "lstm"), "policy", "choose mlp or lstm")
        need(self.compute_dtype in ("auto", "float32", "bfloat16"), "compute_dtype", "choose auto, float32 or bfloat16")
        need(self.device in ("cpu", "cuda") or self.device.startswith("cuda:"), "device", "choose cpu or cuda")
        for name in ("learning_rate", "clip_coef", "vf_coef", "max_grad_norm", "reward_scale"):
            need(getattr(self, name) > 0, name, "must be greater than 0")
        need(0 < self.gamma <= 1, "gamma", "must be in (0, 1]")
        need(0 <= self.gae_lambda <= 1, "gae_lambda", "must be in [0, 1]")
        need(self.ent_coef >= 0, "ent_coef", "must be at least 0")
        need(self.eval_backlog_max >= 0, "eval_backlog_max", "must be at least 0")
        need(self.reward_scale_end is None or self.reward_scale_end > 0, "reward_scale_end", "must be greater than 0")
        # PuffeRL anneals over total_steps // batch updates: at least one (pufferlib/pufferl.py).
        need(
            self.total_steps is None or self.total_steps >= self.batch_size,
            "total_steps",
            f"must be at least one batch: games x bptt_horizon = {self.envs} x {self.bptt_horizon} "
            f"= {self.batch_size:,}",
        )
        if self.run_id is not None:
            need(_safe_name(self.run_id), "run_id", "use letters, digits, '-', '_' and '.' only")
        self.derive()
        return self

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


SEED_MAX = 2**64 - 1
TRAIN_SEED_MAX = 2**63 - 1


def showcase_seed_for(seed: int) -> int:
    """The default showcase seed of a run: a 64-bit number derived from its seed (away from
    the training and eval seeds, which count up from small numbers)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"showcase|{seed}".encode()).digest()[:8], "little")


#: The most games one trainer steps (PuffeRL keeps games x bptt_horizon observations in memory).
MAX_ENVS = 16384
MAX_BPTT = 1024

#: The command-line option of each setting that has one (the others exist only in config files).
OPTIONS = {
    "run_id": "--run-id",
    "runs_dir": "--runs-dir",
    "windows": "--windows",
    "total_steps": "--total-steps",
    "window_steps": "--window-steps",
    "envs": "--envs",
    "workers": "--workers",
    "backend": "--backend",
    "seed": "--seed",
    "device": "--device",
    "time_max": "--time-max",
    "policy": "--policy",
    "env_threads": "--threads",
    "experiment": "--experiment",
    "eval_episodes": "--eval-episodes",
    "wandb": "--wandb",
    "dashboard": "--no-dashboard",
    "site": "--site",
    "deploy": "--deploy",
    "showcase_seed": "--showcase-seed",
    "wandb_video": "--wandb-video",
    "compute_dtype": "--compute-dtype",
}


def setting_label(name: str) -> str:
    """How an error names a setting: its option too, where it has one."""
    return f"{name} ({OPTIONS[name]})" if name in OPTIONS else f"config setting {name}"


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or 1


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
