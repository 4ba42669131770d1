"""Benchmark of the baseline bots (docs/balance.md): each bot over a fixed list of seeded
episodes on the C core, one episode per seed.

    from prospector.botbench import run_bots, format_table
    results = run_bots(["random", "greedy_miner"], episodes=200)
    print(format_table(results))

The seed list (``eval_seeds``) is the first ``episodes`` outputs of SplitMix64
started at ``seed XOR EVAL_SALT``: deterministic, the same on every machine, and
different from the first-episode seeds a ``VecProspector(seed=seed)`` gives its
envs (those are SplitMix64 outputs of ``seed`` itself), so a policy trained with
seed 0 is not evaluated on its own first training worlds.

Fast path: one ``VecProspector`` of ``num_envs`` games (default min(episodes, 1024));
env i gets its episode seed with ``_core.env_reset`` (which also writes its first
observation).  When an env's episode ends, its log row (``vec.step`` infos, in env
order) is recorded under that seed and the env is reset to the next unused seed
(and the bot's memory of that env is cleared); episodes the env starts by itself
after the list is used up are never counted.  So every seed is played exactly once
and the result depends only on (bot, seed list, config, num_envs).
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import _core
from . import spec as S
from .bots import BOT_NAMES, make_bot
from .rng import MASK64, env_seeds

EVAL_SALT = 0xB07BE4C4E5A17ED5

# Keys of each bot's entry in run_bots()["bots"], in table order.
STAT_KEYS = (
    "episodes",
    "mean_net_profit",
    "median_net_profit",
    "ci95_net_profit",
    "std_net_profit",
    "survival_rate",
    "profit_per_tick_mean",
    "overheat_ticks_mean",
    "pirate_encounters_mean",
    "stranded_share",
    "destroyed_share",
    "cash_out_share",
    "timeout_share",
    "episode_length_mean",
    "episode_ticks_mean",
    "episode_return_mean",
    "hull_damage_mean",
    "value_lost_to_pirates_mean",
    "scan_count_mean",
    "mining_ticks_mean",
    "seconds",
    "steps_per_second",
)


def eval_seeds(episodes: int, seed: int = 0) -> list[int]:
    """The fixed evaluation seed list: SplitMix64 outputs of (seed XOR EVAL_SALT)."""
    if isinstance(episodes, bool) or int(episodes) < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    return env_seeds((int(seed) ^ EVAL_SALT) & MASK64, int(episodes))


def run_bot(name: str, seeds: list[int], config: dict, num_envs: int | None = None, bot_seed: int = 0) -> list[dict]:
    """Play one episode per seed with bot `name`; the per-episode infos, in seed order."""
    batch = max(1, min(int(num_envs or min(len(seeds), 1024)), len(seeds)))
    return run_actor(make_bot(name, num_envs=batch, seed=bot_seed), seeds, config, num_envs=batch)


def run_actor(actor, seeds: list[int], config: dict, num_envs: int | None = None) -> list[dict]:
    """Play one episode per seed with `actor` (anything with the bot interface:
    ``act(obs [N, 260]) -> actions [N]`` and ``reset(mask)``, N = num_envs); the
    per-episode infos, in seed order. A trained policy plays through this too
    (``pipeline.benchmark``), so bots and policies see exactly the same worlds."""
    from .vector import VecProspector

    episodes = len(seeds)
    batch = int(num_envs or min(episodes, 1024))
    batch = max(1, min(batch, episodes))
    vec = VecProspector(batch, seed=0, config=config)
    vec.reset()
    handle = vec._handle
    owner = np.arange(batch)
    for i in range(batch):
        _core.env_reset(handle, i, seeds[i])
    bot = actor
    bot.reset()
    out: list[dict | None] = [None] * episodes
    next_seed, done = batch, 0
    while done < episodes:
        vec.actions[:] = bot.act(vec.observations)
        _, _, terminals, truncations, infos = vec.step(vec.actions)
        if not infos:
            continue
        finished = np.flatnonzero(np.asarray(terminals, bool) | np.asarray(truncations, bool))
        assert len(finished) == len(infos)
        for i, info in zip(finished, infos):
            k = owner[i]
            if k >= 0:
                out[k] = info
                done += 1
            if next_seed < episodes:
                _core.env_reset(handle, int(i), seeds[next_seed])
                owner[i] = next_seed
                next_seed += 1
            else:
                owner[i] = -1
        mask = np.zeros(batch, bool)
        mask[finished] = True
        bot.reset(mask)
    vec.close()
    return out  # type: ignore[return-value]


def summarize(infos: list[dict], time_max: int) -> dict:
    """The statistics of STAT_KEYS (but seconds) over per-episode infos."""
    n = len(infos)
    col = lambda key: np.array([float(info[key]) for info in infos])  # noqa: E731
    net = col("net_profit")
    sd = float(net.std(ddof=1)) if n > 1 else 0.0
    reasons = [info.get("end_reason") for info in infos]
    stats = {
        "episodes": n,
        "mean_net_profit": float(net.mean()),
        "median_net_profit": float(np.median(net)),
        "ci95_net_profit": 1.96 * sd / math.sqrt(n),
        "std_net_profit": sd,
        "survival_rate": float(col("survival").mean()),
        "profit_per_tick_mean": float(col("profit_per_tick").mean()),
        "overheat_ticks_mean": float(col("overheat_ticks").mean()),
        "pirate_encounters_mean": float(col("pirate_encounters").mean()),
    }
    for reason in S.END_REASONS:
        stats[f"{reason}_share"] = sum(r == reason for r in reasons) / n
    stats["episode_length_mean"] = float(col("episode_length").mean())
    stats["episode_ticks_mean"] = float(time_max - col("time_remaining").mean())
    stats["episode_return_mean"] = float(col("episode_return").mean())
    stats["hull_damage_mean"] = float(col("hull_damage").mean())
    stats["value_lost_to_pirates_mean"] = float(col("value_lost_to_pirates").mean())
    stats["scan_count_mean"] = float(col("scan_count").mean())
    stats["mining_ticks_mean"] = float(col("mining_ticks").mean())
    return stats


def run_bots(
    names=BOT_NAMES,
    episodes: int = 1000,
    seed: int = 0,
    time_max: int | None = None,
    config: dict | None = None,
    num_envs: int | None = None,
) -> dict:
    """Run each named bot over the same ``eval_seeds(episodes, seed)`` list.

    Returns a JSON-serialisable dict::

        {"episodes": int, "seed": int, "time_max": int, "num_envs": int,
         "seed_list": "how the seeds are made", "config_overrides": {...},
         "bots": {name: {key: number for key in STAT_KEYS}}}

    ``time_max`` overrides the config's episode budget (default 20000 ticks).
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for name in names:
        if name not in BOT_NAMES:
            raise ValueError(f"unknown bot {name!r}; choose from {', '.join(BOT_NAMES)}")
    overrides = dict(config or {})
    if time_max is not None:
        overrides["time_max"] = int(time_max)
    cfg = S.make_config(overrides)
    seeds = eval_seeds(episodes, seed)
    batch = max(1, min(int(num_envs or min(episodes, 1024)), episodes))
    results = {
        "episodes": int(episodes),
        "seed": int(seed),
        "time_max": int(cfg["time_max"]),
        "num_envs": batch,
        "seed_list": f"SplitMix64 outputs of seed ^ {EVAL_SALT:#x} (prospector.botbench.eval_seeds)",
        "config_overrides": {k: float(v) for k, v in overrides.items()},
        "bots": {},
    }
    for name in names:
        start = time.perf_counter()
        infos = run_bot(name, seeds, cfg, num_envs=batch, bot_seed=int(seed))
        seconds = time.perf_counter() - start
        stats = summarize(infos, int(cfg["time_max"]))
        stats["seconds"] = seconds
        stats["steps_per_second"] = sum(int(info["episode_length"]) for info in infos) / max(seconds, 1e-9)
        results["bots"][name] = stats
    return results


_COLUMNS = (
    ("bot", None, "{}"),
    ("mean profit", "mean_net_profit", "{:.0f}"),
    ("±95% CI", "ci95_net_profit", "{:.0f}"),
    ("median", "median_net_profit", "{:.0f}"),
    ("survival", "survival_rate", "{:.1%}"),
    ("profit/tick", "profit_per_tick_mean", "{:.2f}"),
    ("overheat", "overheat_ticks_mean", "{:.0f}"),
    ("pirates", "pirate_encounters_mean", "{:.2f}"),
    ("stranded", "stranded_share", "{:.1%}"),
    ("destroyed", "destroyed_share", "{:.1%}"),
    ("cash_out", "cash_out_share", "{:.1%}"),
    ("timeout", "timeout_share", "{:.1%}"),
    ("length", "episode_length_mean", "{:.0f}"),
)


def format_table(results: dict) -> str:
    """An aligned text table of run_bots() results, one row per bot."""
    header = [title for title, _, _ in _COLUMNS]
    rows = []
    for name, stats in results["bots"].items():
        rows.append([name] + [fmt.format(stats[key]) for _, key, fmt in _COLUMNS[1:]])
    widths = [max(len(r[j]) for r in [header] + rows) for j in range(len(header))]
    align = lambda r: "  ".join(
        c.ljust(w) if j == 0 else c.rjust(w)  # noqa: E731
        for j, (c, w) in enumerate(zip(r, widths))
    )
    lines = [
        f"{results['episodes']} episodes per bot, time_max {results['time_max']}, seed {results['seed']}",
        align(header),
        "  ".join("-" * w for w in widths),
    ]
    lines += [align(r) for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m prospector.botbench [episodes] [time_max]
    import sys

    eps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    tmax = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print(format_table(run_bots(BOT_NAMES, episodes=eps, time_max=tmax)))
