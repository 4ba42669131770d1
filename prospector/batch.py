"""``GameBatch``: many games in one C handle, and the numpy buffers they step into.

The core both vector envs stand on, without PufferLib: ``VecProspector`` (the
PufferLib native env, vector.py) and ``ProspectorVectorEnv`` (the Gymnasium vector
env, gym_vector.py) only add their API around it.  See docs/envs.md#threads for
the threads.
"""

from __future__ import annotations

import os

import numpy as np

from . import _core
from . import spec as S
from .envs import end_name
from .rng import MASK64
from .state import info_dict

LOG_WIDTH = _core.interface()["LOG_WIDTH"]
N_INFO = len(S.INFO_KEYS)
# columns of an episode log row after the info values (ext/binding.c)
LOG_END_REASON, LOG_RETURN, LOG_LENGTH = N_INFO, N_INFO + 1, N_INFO + 2


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask), not all the machine's."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_threads(threads) -> int:
    """The stepping threads to ask for: ``threads`` itself, or one per available core for 0."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be a whole number >= 0 (0: one per available core), got {threads!r}")
    return available_cores() if threads == 0 else int(threads)


def check_num_envs(num_envs) -> int:
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return int(num_envs)


class GameBatch:
    """``num_envs`` games stepped by one C call on ``threads`` threads.

    ``buffers`` (observations, actions, rewards, terminals, truncations) may be handed
    in (PufferLib's shared memory); otherwise they are allocated here.  With
    ``final_obs``, a game that ends leaves its terminal observation in
    ``final_observations`` (its own row) before it restarts.
    """

    def __init__(self, num_envs: int, config: dict, threads=1, buffers=None, final_obs: bool = False):
        self.num_envs = check_num_envs(num_envs)
        requested = resolve_threads(threads)
        n = self.num_envs
        if buffers is None:
            buffers = (
                np.zeros((n, S.OBS_DIM), np.float32),
                np.zeros(n, np.int32),
                np.zeros(n, np.float32),
                np.zeros(n, np.bool_),
                np.zeros(n, np.bool_),
            )
        self.observations, self.actions, self.rewards, self.terminals, self.truncations = buffers
        self.episode_log = np.zeros((n, LOG_WIDTH), np.float64)
        self.final_observations = np.zeros((n, S.OBS_DIM), np.float32) if final_obs else None
        self.handle = _core.vec_init(
            self.observations,
            self.actions,
            self.rewards,
            self.terminals,
            self.truncations,
            S.config_array(config),
            n,
            requested,
        )
        self.threads = _core.vec_threads(self.handle)  # at most one per game

    def reset(self, seed: int) -> None:
        """Game i starts with the i-th SplitMix64 output of ``seed`` (docs/randomness.md)."""
        _core.vec_reset(self.handle, int(seed) & MASK64)

    def reset_game(self, i: int, seed: int | None) -> None:
        """Game i starts the episode ``seed`` (None: the next seed of its own chain)."""
        if seed is None:
            seed = _core.env_next_seed(self.handle, i)
        _core.env_reset(self.handle, i, int(seed) & MASK64)
        self.rewards[i], self.terminals[i], self.truncations[i] = 0.0, False, False

    def set_actions(self, actions) -> None:
        """Checks and copies ``actions`` into the actions buffer; any value outside 0..68 stays an
        invalid action.  The buffer itself is used as it is."""
        if actions is self.actions:
            return
        if not isinstance(actions, np.ndarray):
            raise TypeError(f"actions must be a numpy integer array, got {type(actions).__name__}")
        if not np.issubdtype(actions.dtype, np.integer):
            raise TypeError(f"actions must have an integer dtype, got {actions.dtype}")
        if actions.size != self.num_envs or actions.ndim not in (1, 2):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        flat = actions.reshape(self.num_envs)
        # wider than int32: clip first so that no value wraps round into a valid action
        if flat.dtype.itemsize > 4 and (flat.min() < -1 or flat.max() > S.N_ACTIONS):
            flat = np.clip(flat, -1, S.N_ACTIONS)
        np.copyto(self.actions, flat, casting="unsafe")

    def step(self) -> int:
        """Steps every game with the actions buffer; returns how many episodes ended.

        Their log rows are ``episode_log[:finished]``, in game order (the order of
        ``np.flatnonzero(terminals | truncations)``), whatever the thread count.
        """
        if self.handle is None:
            raise RuntimeError("step() called after close()")
        return _core.vec_step(self.handle, self.episode_log, self.final_observations)

    def action_masks(self) -> np.ndarray:
        """bool[N, 69]: the valid actions of every game now, by the env's own rule."""
        if self.handle is None:
            raise RuntimeError("action_masks() called after close()")
        masks = b"".join(_core.env_action_mask(self.handle, i) for i in range(self.num_envs))
        return np.frombuffer(masks, dtype=np.uint8).reshape(self.num_envs, S.N_ACTIONS).astype(bool)

    @staticmethod
    def episode_info(row: np.ndarray) -> dict:
        """An episode log row as a dict: the info keys, end_reason, episode_return, episode_length."""
        info = info_dict(row[:N_INFO], end_name(int(row[LOG_END_REASON])), [])
        del info["events"]
        info["episode_return"] = float(row[LOG_RETURN])
        info["episode_length"] = int(row[LOG_LENGTH])
        return info

    def close(self) -> None:
        self.handle = None  # the capsule's destructor joins the threads and frees the games
