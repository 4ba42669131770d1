"""Env-only throughput benchmark (``prospector bench``).

Measures steps per second of the C vector env on ONE core (the process pins itself
to a single CPU), with

* random actions (drawn up front, so only env.step is timed),
* greedy_miner's actions, computed from each step's observation batch outside the
  timed region (so the figure is the env's cost under a realistic action mix),

and the pure-Python reference env's steps per second for comparison.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from . import spec as S


def pin_to_one_core() -> int | None:
    """Pin this process to the first CPU it may use; returns the CPU (None if unsupported)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def bench_vector_random(envs: int, seconds: float, seed: int = 0) -> float:
    from .vector import VecProspector
    vec = VecProspector(envs, seed=seed)
    vec.reset()
    rows = 256
    actions = np.random.default_rng(seed).integers(0, S.N_ACTIONS, size=(rows, envs), dtype=np.int32)
    steps, elapsed, i = 0, 0.0, 0
    while elapsed < seconds:
        t0 = time.perf_counter()
        for _ in range(16):
            vec.actions[:] = actions[i % rows]
            vec.step(vec.actions)
            i += 1
        elapsed += time.perf_counter() - t0
        steps += 16 * envs
    return steps / elapsed


def bench_vector_bot(envs: int, seconds: float, seed: int = 0, bot_name: str = "greedy_miner") -> float:
    from .bots import make_bot
    from .vector import VecProspector
    vec = VecProspector(envs, seed=seed)
    obs, _ = vec.reset()
    bot = make_bot(bot_name, num_envs=envs, seed=seed)
    steps, elapsed = 0, 0.0
    while elapsed < seconds:
        vec.actions[:] = bot.act(obs)  # not timed: the bot is not the env
        t0 = time.perf_counter()
        obs, _, terminals, truncations, _ = vec.step(vec.actions)
        elapsed += time.perf_counter() - t0
        steps += envs
        done = terminals | truncations
        if done.any():
            bot.reset(done)
    return steps / elapsed


def bench_reference(seconds: float, seed: int = 0) -> float:
    from .reference import ReferenceEnv
    env = ReferenceEnv()
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, S.N_ACTIONS)))
        steps += 1
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - t0)


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def run(envs: int = 1024, seconds: float = 10.0, seed: int = 0) -> dict:
    cpu = pin_to_one_core()
    sps_random = bench_vector_random(envs, seconds, seed)
    sps_bot = bench_vector_bot(envs, seconds, seed)
    sps_reference = bench_reference(min(seconds, 5.0), seed)
    return {
        "envs": envs, "seconds": seconds, "cpu": cpu, "machine": machine_description(),
        "sps_random": sps_random, "sps_bot": sps_bot, "sps_reference": sps_reference,
        "ratio_random_to_reference": sps_random / sps_reference,
        "target_sps_random": 3_000_000,
    }


def format_table(result: dict) -> str:
    rows = [
        ("VecProspector, random actions", f"{result['sps_random']:,.0f}"),
        ("VecProspector, greedy_miner actions", f"{result['sps_bot']:,.0f}"),
        ("ReferenceEnv (pure Python), random", f"{result['sps_reference']:,.0f}"),
        ("C / reference speed-up", f"{result['ratio_random_to_reference']:,.0f}x"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"env-only steps/s on one core (cpu {result['cpu']}), {result['envs']} envs, "
             f"{result['seconds']:g} s per figure", f"machine: {result['machine']}"]
    lines += [f"  {name:<{width}}  {value:>14}" for name, value in rows]
    met = result["sps_random"] >= result["target_sps_random"]
    lines.append(f"  target sps_random >= {result['target_sps_random']:,}: {'met' if met else 'NOT met'}")
    return "\n".join(lines)
