"""``prospector benchmark``: train PPO with the default config, then put the final
checkpoint and every baseline bot through the docs/balance.md benchmark protocol.

    prospector benchmark                      # default steps (about 20 minutes here)
    prospector benchmark --steps 4000000 --json
    prospector benchmark --run RUN            # no training: benchmark RUN's last checkpoint
    prospector benchmark --throughput         # trained steps/s over workers x env counts

Protocol. Every policy plays one episode on each seed of the same fixed list
(``benchmarks/eval_seeds.txt``, 1000 seeds, see :func:`write_seeds_file`), on the C
core at the default mechanics (``time_max`` 20000), through the same batched loop as
``prospector bots`` (:func:`prospector.botbench.run_actor`).

The trained policy acts by **seeded sampling**: the action is drawn from the policy's
distribution (after its action mask) by the Gumbel-max trick with one
``torch.Generator`` seeded with ``sample_seed`` (default 0), one draw per env and step
in env order, torch on one thread. So the same checkpoint, seed list and batch size give
the same episodes, bit for bit, on this machine. (Argmax, ``--greedy``, is available
but a deterministic argmax can loop forever on an action that changes nothing, e.g.
HOLD at the station, which the stochastic policy never does for long.)

Confidence intervals: **percentile bootstrap** over episodes, 2000 resamples (numpy
``default_rng(0)``), 2.5th and 97.5th percentiles, for every table column (mean and
median net profit, survival rate, profit per tick, overheat ticks, pirate
encounters). PPO "beats" a bot when PPO's whole mean-net-profit interval lies above
the bot's.

The table goes into the run's event log as a ``benchmark`` event (schema in
``pipeline/store/log.py``), to W&B (offline by default) and onto the site.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from prospector import spec as S

ROOT = Path(__file__).resolve().parents[1]
SEEDS_FILE = ROOT / "benchmarks" / "eval_seeds.txt"


def seeds_made_by(episodes: int = 1000, seed: int = 0) -> str:
    """How a seed list was made, for its file's comment (the committed list: 1000, 0)."""
    return (
        f"prospector.botbench.eval_seeds({episodes}, {seed}): the first {episodes} SplitMix64 outputs of "
        f"{seed} ^ 0xB07BE4C4E5A17ED5" + (" (the seed list of `prospector bots`)" if seed == 0 else "")
    )


#: Default training budget of ``prospector benchmark`` (env steps). At the 40-50k trained
#: steps/s of the 2-core development machine with little else on it, that is 11 to 13
#: minutes of training plus about 5 minutes of evaluation (PPO and the bots); with the
#: machine shared, proportionally longer (docs/results.md).
DEFAULT_STEPS = 32_000_000
BOOTSTRAP_RESAMPLES = 2000
CI_METHOD = f"percentile bootstrap over episodes, {BOOTSTRAP_RESAMPLES} resamples, numpy default_rng(0), 95%"

#: Table columns: (key in a row, per-episode info field, statistic).
COLUMNS = (
    ("mean_net_profit", "net_profit", "mean"),
    ("median_net_profit", "net_profit", "median"),
    ("survival_rate", "survival", "mean"),
    ("profit_per_tick_mean", "profit_per_tick", "mean"),
    ("overheat_ticks_mean", "overheat_ticks", "mean"),
    ("pirate_encounters_mean", "pirate_encounters", "mean"),
)
#: Extra figures of each row (no interval).
EXTRA = (
    "destroyed_share",
    "stranded_share",
    "cash_out_share",
    "timeout_share",
    "episode_length_mean",
    "episode_ticks_mean",
    "episode_return_mean",
)
#: Benchmark column -> the window metric (windows.json) it is comparable with.
WINDOW_METRIC = {
    "mean_net_profit": "net_profit_mean",
    "survival_rate": "survival_rate",
    "profit_per_tick_mean": "profit_per_tick_mean",
    "overheat_ticks_mean": "overheat_ticks_mean",
    "pirate_encounters_mean": "pirate_encounters_mean",
}


class BenchmarkError(RuntimeError):
    """A user-facing failure (bad seeds file, run without checkpoint)."""


# ------------------------------------------------------------------ seeds


def write_seeds_file(path: Path = SEEDS_FILE, episodes: int = 1000, seed: int = 0) -> Path:
    """Write the fixed seed list (one decimal seed per line, ``#`` comment lines first)."""
    from prospector.botbench import eval_seeds

    args = "" if (episodes, seed) == (1000, 0) else f"PATH, {episodes}, {seed}"
    lines = [
        "# Fixed evaluation seeds of `prospector benchmark` (docs/balance.md), one per line.",
        f"# Made by {seeds_made_by(episodes, seed)}:",
        f"#   python -c 'from pipeline.benchmark import write_seeds_file; write_seeds_file({args})'",
        *map(str, eval_seeds(episodes, seed)),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_seeds(path: str | Path = SEEDS_FILE) -> list[int]:
    """Seeds from a file: one unsigned 64-bit integer per line; blank and ``#`` lines skipped."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"cannot read seeds file {str(path)!r}: {exc}") from None
    seeds = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            value = int(line)
        except ValueError:
            raise BenchmarkError(f"seeds file {str(path)!r} line {n}: not an integer: {line[:40]!r}") from None
        if not 0 <= value < 2**64:
            raise BenchmarkError(f"seeds file {str(path)!r} line {n}: seed out of range 0..2^64-1")
        seeds.append(value)
    if not seeds:
        raise BenchmarkError(f"seeds file {str(path)!r} holds no seeds")
    return seeds


def seeds_digest(seeds: list[int]) -> str:
    return hashlib.sha256(("\n".join(map(str, seeds)) + "\n").encode()).hexdigest()


# ------------------------------------------------------------------ statistics


def bootstrap_rows(
    infos: list[dict], time_max: int = S.TIME_MAX, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict:
    """The table's columns with 95% percentile-bootstrap intervals, plus EXTRA figures."""
    n = len(infos)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    row: dict = {"episodes": n}
    for key, field, stat in COLUMNS:
        x = np.array([float(info[field]) for info in infos])
        f = np.mean if stat == "mean" else np.median
        row[key] = float(f(x))
        boot = f(x[idx], axis=1)
        row[key + "_ci95"] = [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]
    reasons = [info.get("end_reason") for info in infos]
    for reason in S.END_REASONS:
        row[f"{reason}_share"] = sum(r == reason for r in reasons) / n
    row["episode_length_mean"] = float(np.mean([info["episode_length"] for info in infos]))
    row["episode_ticks_mean"] = float(np.mean([time_max - info["time_remaining"] for info in infos]))
    row["episode_return_mean"] = float(np.mean([info["episode_return"] for info in infos]))
    return row


# ------------------------------------------------------------------ the policy as an actor


class PolicyActor:
    """A trained policy with the bots' interface (``act``/``reset``) for ``run_actor``."""

    def __init__(self, policy, kind: str, num_envs: int, sample_seed: int = 0, greedy: bool = False):
        import torch

        self.torch = torch
        self.policy = policy.eval()
        self.kind = kind
        self.greedy = greedy
        self.generator = torch.Generator().manual_seed(int(sample_seed))
        self.state = {"lstm_h": None, "lstm_c": None} if kind == "lstm" else None
        self.num_envs = num_envs

    def act(self, obs):
        torch = self.torch
        with torch.no_grad():
            logits, _ = self.policy.forward_eval(torch.from_numpy(np.asarray(obs, np.float32)), self.state)
            logits = logits.float()
            if self.greedy:
                action = logits.argmax(dim=-1)
            else:
                u = torch.rand(logits.shape, generator=self.generator).clamp_(1e-12, 1.0)
                action = (torch.log_softmax(logits, -1) - torch.log(-torch.log(u))).argmax(dim=-1)
        return action.numpy().astype(np.int32)

    def reset(self, mask=None):
        if self.state is None or self.state.get("lstm_h") is None:
            return
        rows = slice(None) if mask is None else self.torch.from_numpy(np.asarray(mask, bool))
        self.state["lstm_h"][rows] = 0
        self.state["lstm_c"][rows] = 0


def evaluate_checkpoint(
    path: Path, seeds: list[int], config: dict, num_envs: int | None = None, sample_seed: int = 0, greedy: bool = False
) -> list[dict]:
    """Per-episode infos of the checkpoint's policy on `seeds` (in seed order)."""
    import torch

    from prospector.botbench import run_actor

    from .evaluator import load_checkpoint

    torch.set_num_threads(1)
    policy, state = load_checkpoint(Path(path))
    batch = max(1, min(int(num_envs or min(len(seeds), 1024)), len(seeds)))
    actor = PolicyActor(policy, state["policy_kind"], batch, sample_seed, greedy)
    return run_actor(actor, seeds, config, num_envs=batch)


# ------------------------------------------------------------------ the benchmark


def _last_checkpoint(run_dir: Path):
    from .store.run import Run

    saved = Run.open(run_dir).last_checkpoint
    if saved is None:
        raise BenchmarkError(f"run {run_dir.name!r} has no checkpoint_saved event (train it first)")
    return saved


def _env_steps_at(run_dir: Path, window_id: int) -> int | None:
    from .store.run import Run

    row = Run.open(run_dir).window(window_id)
    return row.env_steps_total if row else None


def benchmark_run(
    run_dir: Path,
    seeds: list[int],
    seeds_file: str,
    bots=None,
    num_envs: int | None = None,
    sample_seed: int = 0,
    greedy: bool = False,
    wandb: bool = True,
    progress=None,
    time_max: int | None = None,
) -> dict:
    """Evaluate `run_dir`'s last checkpoint and the bots on `seeds`; append the
    ``benchmark`` event; log to W&B. Returns the event's payload."""
    from prospector.botbench import run_bot
    from prospector.bots import BOT_NAMES

    from .store.run import Run

    say = progress or (lambda text: None)
    bots = list(BOT_NAMES if bots is None else bots)
    ckpt = _last_checkpoint(run_dir)
    # the protocol: default mechanics, time_max 20000 (shorter only for smoke tests)
    config = S.make_config(**({"time_max": int(time_max)} if time_max else {}))
    rows = []
    t0 = time.perf_counter()
    say(f"benchmark: PPO (window {ckpt['window_id']}) on {len(seeds)} seeds ...")
    infos = evaluate_checkpoint(run_dir / ckpt["path"], seeds, config, num_envs, sample_seed, greedy)
    rows.append(
        {
            "policy": "ppo",
            "kind": "ppo",
            **bootstrap_rows(infos, config["time_max"]),
            "seconds": time.perf_counter() - t0,
        }
    )
    for name in bots:
        t1 = time.perf_counter()
        say(f"benchmark: {name} on {len(seeds)} seeds ...")
        infos = run_bot(name, seeds, config, num_envs=num_envs)
        rows.append(
            {
                "policy": name,
                "kind": "bot",
                **bootstrap_rows(infos, config["time_max"]),
                "seconds": time.perf_counter() - t1,
            }
        )
    ppo = rows[0]
    beats = {r["policy"]: ppo["mean_net_profit_ci95"][0] > r["mean_net_profit_ci95"][1] for r in rows[1:]}
    payload = {
        "window_id": ckpt["window_id"],
        "checkpoint": ckpt["path"],
        "checkpoint_sha256": ckpt["sha256"],
        "env_steps_total": _env_steps_at(run_dir, ckpt["window_id"]),
        "episodes": len(seeds),
        "time_max": int(config["time_max"]),
        "seeds_file": seeds_file,
        "seeds_sha256": seeds_digest(seeds),
        "policy_eval": ("argmax" if greedy else f"seeded sampling (Gumbel-max, torch.Generator seed {sample_seed})")
        + f", {num_envs or min(len(seeds), 1024)} envs at a time, action mask as trained",
        "ci_method": CI_METHOD,
        "columns": [c[0] for c in COLUMNS],
        "rows": rows,
        "ppo_beats": beats,
        "ppo_beats_all_bots": bool(beats) and all(beats.values()),
        "eval_seconds": time.perf_counter() - t0,
        "machine": machine(),
    }
    Run.open(run_dir).record_benchmark(**payload)
    if wandb:
        _log_wandb(run_dir, payload)
    payload["run_id"] = run_dir.name
    payload["run_dir"] = str(run_dir)
    return payload


def _log_wandb(run_dir: Path, payload: dict) -> None:
    from .config import TrainConfig
    from .store.run import Run
    from .wandb_sink import WandbSink

    train = Run.open(run_dir).train_config
    known = {k: v for k, v in train.items() if k in TrainConfig.__dataclass_fields__}
    cfg = TrainConfig(**known)
    cfg.wandb = True
    sink = WandbSink(cfg, run_dir, run_dir.name)
    try:
        sink.log_benchmark(payload)
    finally:
        sink.run and sink.run.finish()


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model or platform.processor() or platform.machine()}, {cpus} CPUs, load {load:.1f}, no GPU used"


def run_benchmark(
    steps: int = DEFAULT_STEPS,
    seeds_file: str | Path = SEEDS_FILE,
    episodes: int | None = None,
    config_file: str | None = None,
    runs_dir: str = "runs",
    run_id: str | None = None,
    run: str | None = None,
    bots=None,
    sample_seed: int = 0,
    greedy: bool = False,
    wandb: bool = True,
    progress=None,
    eval_time_max: int | None = None,
) -> dict:
    """Train (unless `run` names an existing run) for `steps` env steps with the
    default config (or `config_file`), then :func:`benchmark_run`."""
    from .config import make_train_config
    from .store import layout as runs
    from .trainer import train

    seeds = read_seeds(seeds_file)
    if episodes is not None:
        seeds = seeds[:episodes]
    t0 = time.perf_counter()
    if run is None:
        cfg = make_train_config(
            config_file, run_id=run_id, runs_dir=runs_dir, wandb=wandb, dashboard=False, experiment="benchmark"
        )
        windows = max(1, min(10, steps // cfg.batch_size))
        cfg.window_steps = max(cfg.batch_size, math.ceil(steps / windows / cfg.batch_size) * cfg.batch_size)
        cfg.windows, cfg.total_steps = windows, None
        cfg.validate()
        run_dir = train(cfg)
    else:
        try:
            run_dir = runs.run_dir(run, runs_dir)
        except ValueError as exc:
            raise BenchmarkError(str(exc)) from None
        if not (run_dir / runs.EVENTS_FILE).is_file():
            raise BenchmarkError(f"no run {run!r} in {runs_dir}/")
    train_seconds = time.perf_counter() - t0
    result = benchmark_run(
        run_dir,
        seeds,
        str(seeds_file),
        bots=bots,
        sample_seed=sample_seed,
        greedy=greedy,
        wandb=wandb,
        progress=progress,
        time_max=eval_time_max,
    )
    result["train_seconds"] = train_seconds if run is None else None
    return result


# ------------------------------------------------------------------ output

_TABLE = (
    ("mean net profit", "mean_net_profit", "{:,.0f}"),
    ("median", "median_net_profit", "{:,.0f}"),
    ("survival", "survival_rate", "{:.1%}"),
    ("profit/tick", "profit_per_tick_mean", "{:.2f}"),
    ("overheat ticks", "overheat_ticks_mean", "{:,.0f}"),
    ("pirates", "pirate_encounters_mean", "{:.1f}"),
)


def format_cell(row: dict, key: str, fmt: str) -> str:
    lo, hi = row[key + "_ci95"]
    return f"{fmt.format(row[key])} [{fmt.format(lo)}, {fmt.format(hi)}]"


def format_table(result: dict) -> str:
    """The benchmark table as aligned text (value [95% CI] per cell)."""
    header = ["policy"] + [t for t, _, _ in _TABLE]
    rows = [[r["policy"]] + [format_cell(r, k, f) for _, k, f in _TABLE] for r in result["rows"]]
    widths = [max(len(r[j]) for r in [header] + rows) for j in range(len(header))]
    align = lambda r: "  ".join(
        c.ljust(w) if j == 0 else c.rjust(w)  # noqa: E731
        for j, (c, w) in enumerate(zip(r, widths))
    )
    steps = result.get("env_steps_total")
    lines = [
        f"run {result.get('run_id')}: PPO window {result['window_id']} ({steps:,} env steps)"
        if steps is not None
        else f"run {result.get('run_id')}",
        f"{result['episodes']} episodes per policy (seeds {result['seeds_file']}, sha256 "
        f"{result['seeds_sha256'][:12]}), time_max {result['time_max']}; 95% CI: {result['ci_method']}",
        f"policy evaluation: {result['policy_eval']}",
        align(header),
        "  ".join("-" * w for w in widths),
        *map(align, rows),
    ]
    verdict = ", ".join(f"{'beats' if v else 'does not beat'} {k}" for k, v in result["ppo_beats"].items())
    lines.append(f"PPO on mean net profit (non-overlapping 95% CIs): {verdict or 'no bots'}")
    return "\n".join(lines)


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2, allow_nan=False)
