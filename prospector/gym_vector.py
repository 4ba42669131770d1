"""``ProspectorVectorEnv``: the C batch as a ``gymnasium.vector.VectorEnv``.

``gymnasium.make_vec("Prospector-v0", num_envs=N)`` returns it (the registration in
``prospector/__init__.py`` names it as the vector entry point).  No PufferLib, no
torch: usable from CleanRL-style loops.  docs/envs.md#gymnasium-vector-env
describes the contract.

Autoreset is ``AutoresetMode.SAME_STEP``: the C batch restarts a finished game inside
the step that ended it, so the returned observation row is already the next
episode's first one; the terminal observation is in ``infos["final_obs"]``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import spec as S
from .batch import LOG_END_REASON, LOG_LENGTH, LOG_RETURN, LOG_WIDTH, GameBatch, check_num_envs
from .state import INT_INFO

# dtypes of the info keys in the vector infos (the single env's types, batched)
INFO_DTYPES = {
    key: np.int64 if key in INT_INFO else np.bool_ if key == "invalid" else np.float64 for key in S.INFO_KEYS
}
END_NAMES = np.array(S.END_REASONS, dtype=object)


class ProspectorVectorEnv(VectorEnv):
    """``num_envs`` games on the C core, stepped in one call, with Gymnasium's vector API.

    ``threads`` steps the games on that many threads (0: one per available core), with
    results identical to one thread.  With ``copy`` (the default) every returned array
    is a copy; ``copy=False`` returns the env's own buffers, which the next step
    overwrites (faster, and the caller must not write into them).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        config: dict | None = None,
        threads: int = 1,
        copy: bool = True,
        render_mode: str | None = None,
        **overrides,
    ):
        if render_mode is not None:
            raise ValueError(f"Prospector-v0 has no render modes, got render_mode={render_mode!r}")
        self.num_envs = check_num_envs(num_envs)
        self.config = S.make_config(config, **overrides)
        self.single_observation_space = spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.single_action_space = spaces.Discrete(S.N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None
        self.copy = bool(copy)
        self._batch = GameBatch(self.num_envs, self.config, threads, final_obs=True)
        self.threads = self._batch.threads
        self._started = False

    def reset(self, *, seed=None, options: dict | None = None):
        """Starts a new episode in every game (``options`` is ignored).

        ``seed=int``: game i gets the i-th SplitMix64 output of it (as ``VecProspector``).
        ``seed=[s0, s1, ...]`` (one per game): game i plays exactly what
        ``ProspectorEnv.reset(seed=s_i)`` plays; a ``None`` entry continues that game's chain.
        ``seed=None``: every game continues its own chain (reproducible after one seeded
        reset); before any seeded reset, a seed drawn from ``np_random``.
        """
        batch = self._batch
        if seed is None and not self._started:
            seed = int(self.np_random.integers(0, 2**63))
        if seed is None:
            for i in range(self.num_envs):
                batch.reset_game(i, None)
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            if seed < 0:
                raise ValueError(f"seed must be a whole number >= 0, got {seed}")
            super().reset(seed=int(seed))  # seeds np_random, as Gymnasium's own vector envs do
            batch.reset(seed)
        else:
            seeds = self._seed_list(seed)
            if not self._started and None in seeds:  # a chain needs a first seed
                batch.reset(int(self.np_random.integers(0, 2**63)))
            for i, game_seed in enumerate(seeds):
                batch.reset_game(i, game_seed)
        self._started = True
        return self._out(batch.observations), {}

    def _seed_list(self, seed) -> list[int | None]:
        try:
            seeds = list(seed)
        except TypeError:
            raise ValueError(
                f"seed must be None, a whole number >= 0 or a list of {self.num_envs} of them, got {seed!r}"
            ) from None
        if len(seeds) != self.num_envs:
            raise ValueError(f"seed list has {len(seeds)} entries for {self.num_envs} games")
        for s in seeds:
            if s is not None and (isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0):
                raise ValueError(f"each seed must be None or a whole number >= 0, got {s!r}")
        return [None if s is None else int(s) for s in seeds]

    def step(self, actions):
        """One step of every game; ``actions`` is an integer array of shape (num_envs,).

        Returns (obs, rewards float32, terminations, truncations, infos).  infos is empty
        unless an episode ended; then it holds, masked by ``_key`` arrays of the games
        that ended: ``final_obs`` (terminal observations), ``final_info`` (the info keys,
        ``end_reason``, ``episode_return``, ``episode_length``) and ``episode``
        (``r`` and ``l``, as Gymnasium's RecordEpisodeStatistics writes them).
        """
        if not self._started:
            raise RuntimeError("step() called before reset()")
        batch = self._batch
        if not isinstance(actions, np.ndarray):
            actions = np.asarray(actions)
        batch.set_actions(actions)
        finished = batch.step()
        infos = self._final_infos(finished) if finished else {}
        return (
            self._out(batch.observations),
            self._out(batch.rewards),
            self._out(batch.terminals),
            self._out(batch.truncations),
            infos,
        )

    def _out(self, array: np.ndarray) -> np.ndarray:
        return array.copy() if self.copy else array

    def _final_infos(self, finished: int) -> dict:
        batch, n = self._batch, self.num_envs
        ended = np.flatnonzero(batch.terminals | batch.truncations)  # the log rows' games, in order
        rows = batch.episode_log[:finished]
        mask = np.zeros(n, np.bool_)
        mask[ended] = True
        mask.flags.writeable = False  # one mask shared by every key
        table = np.zeros((LOG_WIDTH, n))  # every log column spread over the games at once
        table[:, ended] = rows.T
        final_info = {}
        for k, key in enumerate(S.INFO_KEYS):
            dtype = INFO_DTYPES[key]
            final_info[key] = table[k] if dtype is np.float64 else table[k].astype(dtype)
            final_info[f"_{key}"] = mask
        end_reason = np.full(n, None, dtype=object)
        end_reason[ended] = END_NAMES[rows[:, LOG_END_REASON].astype(np.intp)]
        episode_return, episode_length = table[LOG_RETURN], table[LOG_LENGTH].astype(np.int64)
        final_info.update(end_reason=end_reason, episode_return=episode_return, episode_length=episode_length)
        final_info.update(_end_reason=mask, _episode_return=mask, _episode_length=mask)
        final_obs = np.full(n, None, dtype=object)
        terminal = batch.final_observations[ended]  # one copy, handed out row by row
        for k, i in enumerate(ended):
            final_obs[i] = terminal[k]
        return {
            "final_obs": final_obs,
            "_final_obs": mask,
            "final_info": final_info,
            "_final_info": mask,
            "episode": {"r": episode_return, "l": episode_length},
            "_episode": mask,
        }

    def action_masks(self) -> np.ndarray:
        """bool[num_envs, 69]: the valid actions of every game now, by the env's own rule
        (what ``ProspectorEnv.action_masks()`` gives per game; docs/envs.md#action-masks)."""
        if not self._started:
            raise RuntimeError("action_masks() called before reset()")
        return self._batch.action_masks()

    def close_extras(self, **kwargs) -> None:
        self._batch.close()
