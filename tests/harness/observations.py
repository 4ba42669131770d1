"""Observations from real play, for the policy parity tests and the policy benchmark."""

from __future__ import annotations

import numpy as np

from prospector import spec as S
from prospector.bots import make_bot
from prospector.envs import ProspectorEnv


def real_observations(n: int = 1200, seed: int = 0) -> np.ndarray:
    """float32 [n, 260] from real play: the cautious_scanner bot with 30% random actions,
    over several worlds (a fresh world every 300 steps or at an episode's end)."""
    rng = np.random.default_rng(seed)
    env, bot = ProspectorEnv(), make_bot("cautious_scanner")
    out = []
    world = seed * 1000
    obs, _ = env.reset(seed=world)
    while len(out) < n:
        out.append(obs)
        action = int(rng.integers(S.N_ACTIONS)) if rng.random() < 0.3 else bot.act(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated or len(out) % 300 == 0:
            world += 1
            bot.reset()
            obs, _ = env.reset(seed=world)
    return np.asarray(out, dtype=np.float32)
