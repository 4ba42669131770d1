"""Envs on the C core: ``ProspectorEnv`` (one Gymnasium game) and ``VecProspector``
(a native PufferLib env stepping many games in one C call).

These classes only wire numpy buffers to ``prospector._core``; the game itself is
in ext/prospector.h (and, readable, in prospector/reference.py).
"""

from __future__ import annotations

import secrets

import gymnasium as gym
import numpy as np
import pufferlib
import pufferlib.spaces

from . import _core
from . import spec as S
from .reference import as_action_index
from .rng import MASK64
from .state import events_to_dicts, info_dict, render_state, truth_state

LOG_WIDTH = _core.interface()["LOG_WIDTH"]
END_NONE = -1


def _end_name(code: int) -> str | None:
    return None if code < 0 else S.END_REASONS[code]


class ProspectorEnv(gym.Env):
    """One game on the C core, with the Gymnasium API.

    ``info`` after every step holds the GAME.md 4 keys, ``end_reason`` at the end,
    and ``events`` (the step's typed events). ``render_state()`` is what the ship knows.
    """

    metadata = {"render_modes": []}

    def __init__(self, config: dict | None = None, render_mode=None, **overrides):
        self.config = S.make_config(config, **overrides)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Discrete(S.N_ACTIONS)
        self.render_mode = render_mode
        self._obs = np.zeros((1, S.OBS_DIM), np.float32)
        self._actions = np.zeros(1, np.int32)
        self._rewards = np.zeros(1, np.float32)
        self._terminals = np.zeros(1, np.bool_)
        self._truncations = np.zeros(1, np.bool_)
        self._handle = _core.vec_init(self._obs, self._actions, self._rewards, self._terminals,
                                      self._truncations, S.config_array(self.config), 1)
        self._started = False
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            episode_seed = int(seed) & MASK64
        elif self._started:
            episode_seed = _core.env_next_seed(self._handle, 0)  # continue the episode chain
        else:
            episode_seed = int(self.np_random.integers(0, 2**63))
        _core.env_reset(self._handle, 0, episode_seed)
        self._started = True
        self._done = False
        values, _, _ = _core.env_info(self._handle, 0)
        return self._obs[0].copy(), info_dict(values, None, [])

    def step(self, action):
        if not self._started:
            raise RuntimeError("step() called before reset()")
        if self._done:
            raise RuntimeError("step() called after the episode ended; call reset() first")
        reward, terminated, truncated = _core.env_step(self._handle, 0, as_action_index(action))
        values, end_code, events = _core.env_info(self._handle, 0)
        self._done = terminated or truncated
        info = info_dict(values, _end_name(end_code), events_to_dicts(events))
        return self._obs[0].copy(), reward, terminated, truncated, info

    def action_mask(self) -> np.ndarray:
        """Which actions are valid now (the server stays authoritative)."""
        return np.frombuffer(_core.env_action_mask(self._handle, 0), dtype=np.uint8).astype(bool)

    def snapshot(self) -> dict:
        return _core.env_snapshot(self._handle, 0)

    def render_state(self) -> dict:
        return render_state(self.snapshot())

    def truth_state(self) -> dict:
        return truth_state(self.snapshot())

    def raw_step(self, action: int):
        """Step returning the raw info doubles (for parity checks and the vector log)."""
        reward, terminated, truncated = _core.env_step(self._handle, 0, as_action_index(action))
        values, end_code, events = _core.env_info(self._handle, 0)
        self._done = terminated or truncated
        return self._obs[0].copy(), reward, terminated, truncated, values, end_code, events


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
        info = info_dict(row[: len(S.INFO_KEYS)], _end_name(int(row[len(S.INFO_KEYS)])), [])
        del info["events"]
        info["episode_return"] = float(row[len(S.INFO_KEYS) + 1])
        info["episode_length"] = int(row[len(S.INFO_KEYS) + 2])
        return info

    def close(self):
        self._handle = None
