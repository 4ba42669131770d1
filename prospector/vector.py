"""``VecProspector``: a native PufferLib env stepping many games in one C call.

It imports pufferlib (and so torch); ``import prospector`` loads it only when
``prospector.VecProspector`` is first used.  The games and buffers live in a
``GameBatch`` (batch.py), which the Gymnasium vector env shares.
"""

from __future__ import annotations

import secrets

import gymnasium as gym
import numpy as np
import pufferlib

from . import spec as S
from .batch import GameBatch, check_num_envs


class VecProspector(pufferlib.PufferEnv):
    """``num_envs`` games stepped in one C call into shared numpy buffers.

    Finished games restart at once (their next seed comes from their own stream);
    ``step`` returns one info dict per episode that finished in that step, with the
    info keys of docs/game.md#info plus ``end_reason``, ``episode_return`` and
    ``episode_length``.  Env i's first episode seed is the i-th SplitMix64 output of
    ``seed``.  ``threads`` steps the games on that many threads (0: one per available
    core) with identical results (docs/envs.md#threads).
    """

    def __init__(
        self,
        num_envs: int = 1,
        seed: int | None = 0,
        buf=None,
        config: dict | None = None,
        threads: int = 1,
        **overrides,
    ):
        self.config = S.make_config(config, **overrides)
        self.single_observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.single_action_space = gym.spaces.Discrete(S.N_ACTIONS)
        self.num_agents = check_num_envs(num_envs)
        self.render_mode = None
        super().__init__(buf)
        self._batch = GameBatch(
            self.num_agents,
            self.config,
            threads,
            buffers=(self.observations, self.actions, self.rewards, self.terminals, self.truncations),
        )
        self.threads = self._batch.threads
        self._seed = seed

    @property
    def _handle(self):
        """The C handle (botbench starts games with chosen seeds through it)."""
        return self._batch.handle

    def reset(self, seed: int | None = None):
        if seed is None:
            seed = self._seed if self._seed is not None else secrets.randbits(63)
        self._seed = None  # a later reset() without a seed draws a fresh one
        self._batch.reset(seed)
        return self.observations, []

    def step(self, actions):
        self._batch.set_actions(actions)
        finished = self._batch.step()
        log = self._batch.episode_log
        infos = [self._batch.episode_info(row) for row in log[:finished]] if finished else []
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def action_masks(self) -> np.ndarray:
        """bool[num_agents, 69]: the valid actions of every game now (docs/envs.md#action-masks)."""
        return self._batch.action_masks()

    def close(self):
        self._batch.close()
