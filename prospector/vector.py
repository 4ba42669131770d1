"""``VecProspector``: a native PufferLib env stepping many games in one C call.

It imports pufferlib (and so torch); ``import prospector`` loads it only when
``prospector.VecProspector`` is first used.
"""

from __future__ import annotations

import secrets

import gymnasium as gym
import numpy as np
import pufferlib

from . import _core
from . import spec as S
from .envs import end_name
from .rng import MASK64
from .state import info_dict

LOG_WIDTH = _core.interface()["LOG_WIDTH"]


class VecProspector(pufferlib.PufferEnv):
    """``num_envs`` games stepped in one C call into shared numpy buffers.

    Finished games restart at once (their next seed comes from their own stream);
    ``step`` returns one info dict per episode that finished in that step, with the
    GAME.md 4 keys plus ``end_reason``, ``episode_return`` and ``episode_length``.
    Env i's first episode seed is the i-th SplitMix64 output of ``seed``.
    """

    def __init__(self, num_envs: int = 1, seed: int | None = 0, buf=None, config: dict | None = None,
                 **overrides):
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.config = S.make_config(config, **overrides)
        self.single_observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.single_action_space = gym.spaces.Discrete(S.N_ACTIONS)
        self.num_agents = int(num_envs)
        self.render_mode = None
        super().__init__(buf)
        self._log = np.zeros((self.num_agents, LOG_WIDTH), np.float64)
        self._handle = _core.vec_init(self.observations, self.actions, self.rewards, self.terminals,
                                      self.truncations, S.config_array(self.config), self.num_agents)
        self._seed = seed

    def reset(self, seed: int | None = None):
        if seed is None:
            seed = self._seed if self._seed is not None else secrets.randbits(63)
        self._seed = None  # a later reset() without a seed draws a fresh one
        _core.vec_reset(self._handle, int(seed) & MASK64)
        return self.observations, []

    def step(self, actions):
        if actions is not self.actions:
            self._check_actions(actions)
            np.copyto(self.actions, np.clip(actions.reshape(self.num_agents), -1, S.N_ACTIONS), casting="unsafe")
        finished = _core.vec_step(self._handle, self._log)
        infos = [self._episode_info(row) for row in self._log[:finished]] if finished else []
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def _check_actions(self, actions) -> None:
        if not isinstance(actions, np.ndarray):
            raise TypeError(f"actions must be a numpy integer array, got {type(actions).__name__}")
        if not np.issubdtype(actions.dtype, np.integer):
            raise TypeError(f"actions must have an integer dtype, got {actions.dtype}")
        if actions.size != self.num_agents or actions.ndim not in (1, 2):
            raise ValueError(f"actions must have shape ({self.num_agents},), got {actions.shape}")

    @staticmethod
    def _episode_info(row: np.ndarray) -> dict:
        info = info_dict(row[: len(S.INFO_KEYS)], end_name(int(row[len(S.INFO_KEYS)])), [])
        del info["events"]
        info["episode_return"] = float(row[len(S.INFO_KEYS) + 1])
        info["episode_length"] = int(row[len(S.INFO_KEYS) + 2])
        return info

    def close(self):
        self._handle = None
