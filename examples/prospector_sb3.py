"""Prospector's native vector env as a Stable-Baselines3 ``VecEnv``.

SB3 can also run the single env (``DummyVecEnv`` over ``gymnasium.make``), but then it
steps every game in Python and deep-copies every step's info dictionary; this adapter
steps all games in one C call (``gymnasium.make_vec("prospector:Prospector-v0")``) and
builds info dictionaries only for the games whose episode ended.  Used by
examples/sb3_maskable_ppo.py; see docs/ecosystem.md.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv

from prospector import spec as S
from prospector.masks import obs_action_mask

ENV_ID = "prospector:Prospector-v0"  # "prospector:" imports the package, which registers the id


def recipe_mask(obs: np.ndarray, fuel_reserve: float = 0.0, allow_cash_out: bool = False) -> np.ndarray:
    """The observation mask, plus an optional user-side fuel shield: at the station, no
    departure (TRAVEL) while the tank is below ``fuel_reserve`` (a fraction of the tank),
    so every trip starts with fuel for the way back (buying fuel stays allowed)."""
    mask = obs_action_mask(obs, allow_cash_out=allow_cash_out)
    if fuel_reserve > 0:
        obs = np.asarray(obs).reshape(-1, S.OBS_DIM)
        low = (obs[:, S.O_NODE_TYPE + S.STATION] > 0.5) & (obs[:, S.O_FUEL] < fuel_reserve)
        mask.reshape(-1, S.N_ACTIONS)[low, S.A_TRAVEL : S.A_TRAVEL + S.MAX_NEIGHBORS] = False
    return mask


class ProspectorSB3VecEnv(VecEnv):
    """``num_envs`` games in one C batch, with SB3's VecEnv API, a ``reward_scale`` and
    an optional ``reward_clip`` (rewards scaled, then clipped to [-clip, clip]).

    Like SB3's own vector envs it resets a finished game in the same step (the terminal
    observation is in ``info["terminal_observation"]``), writes ``info["episode"]``
    (return before scaling, length, time) as its ``Monitor`` does, and offers
    ``action_masks()``: the observation mask of ``prospector.masks`` (CASH_OUT never,
    unless ``allow_cash_out``; with ``fuel_reserve``, the fuel shield of ``recipe_mask``),
    which sb3-contrib's ``MaskablePPO`` reads.
    """

    def __init__(
        self,
        num_envs: int,
        seed: int | None = None,
        reward_scale: float = 1.0,
        reward_clip: float | None = None,
        allow_cash_out: bool = False,
        fuel_reserve: float = 0.0,
        **env_kwargs,
    ):
        self.envs = gym.make_vec(ENV_ID, num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
        super().__init__(num_envs, self.envs.single_observation_space, self.envs.single_action_space)
        self.reward_scale = float(reward_scale)
        self.reward_clip = reward_clip
        self.allow_cash_out = allow_cash_out
        self.fuel_reserve = fuel_reserve
        self._first_seed = seed
        self._obs = None
        self._actions = None
        self._start = time.time()

    def reset(self) -> np.ndarray:
        seeds = None if self._seeds[0] is None else list(self._seeds)
        if seeds is None and self._obs is None and self._first_seed is not None:
            seeds = self._first_seed
        self._obs, _ = self.envs.reset(seed=seeds)
        self._reset_seeds()
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs).astype(np.int64)

    def step_wait(self):
        obs, rewards, terminations, truncations, infos = self.envs.step(self._actions)
        dones = terminations | truncations
        out_infos = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = infos["final_info"]
            keys = [key for key in final if not key.startswith("_")]
            elapsed = round(time.time() - self._start, 6)
            for i in np.flatnonzero(dones):
                info = {key: final[key][i] for key in keys}
                info["terminal_observation"] = infos["final_obs"][i]
                info["TimeLimit.truncated"] = bool(truncations[i] and not terminations[i])
                info["episode"] = {
                    "r": float(final["episode_return"][i]),
                    "l": int(final["episode_length"][i]),
                    "t": elapsed,
                }
                out_infos[i] = info
        self._obs = obs
        rewards = rewards * self.reward_scale
        if self.reward_clip is not None:
            rewards = np.clip(rewards, -self.reward_clip, self.reward_clip)
        return obs, rewards, dones, out_infos

    def action_masks(self) -> np.ndarray:
        return recipe_mask(self._obs, self.fuel_reserve, self.allow_cash_out)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        if method_name != "action_masks":
            raise AttributeError(f"{type(self).__name__} offers env_method('action_masks') only, not {method_name!r}")
        masks = self.action_masks()
        return [masks[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices=None) -> list:
        value = getattr(self.envs, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self.envs, attr_name, value)

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def close(self) -> None:
        self.envs.close()
