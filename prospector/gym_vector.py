"""``ProspectorVectorEnv``: the C batch as a ``gymnasium.vector.VectorEnv``.

``gymnasium.make_vec("prospector:Prospector-v0", num_envs=N)`` returns it (the
registration in ``prospector/__init__.py`` names it as the vector entry point).  No
PufferLib, no torch: usable from CleanRL-style loops.  docs/envs.md#gymnasium-vector-env
describes the contract.

The C batch restarts a finished game inside the step that ended it, which is
``AutoresetMode.SAME_STEP``.  The other modes are built on it (docs/envs.md#autoreset):
``NEXT_STEP`` shows the terminal observation in the ending step and, in the next
step, puts the restarted game back to its first state (the restart's seed is known,
and a reset from a seed is exact) instead of the state the C step moved it to;
``DISABLED`` does the same but waits for ``reset(options={"reset_mask": ...})``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import error, spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _core
from . import spec as S
from .batch import LOG_END_REASON, LOG_LENGTH, LOG_RETURN, LOG_WIDTH, GameBatch, check_num_envs
from .envs import GameView
from .render import RENDER_MODES
from .rng import env_seeds
from .state import INT_INFO

# dtypes of the info keys in the vector infos (the single env's types, batched)
INFO_DTYPES = {
    key: np.int64 if key in INT_INFO else np.bool_ if key == "invalid" else np.float64 for key in S.INFO_KEYS
}
END_NAMES = np.array(S.END_REASONS, dtype=object)


def check_autoreset_mode(mode) -> AutoresetMode:
    """An ``AutoresetMode`` (or its value, e.g. ``"NextStep"``); anything else is refused
    with Gymnasium's error for an unsupported mode."""
    if isinstance(mode, AutoresetMode):
        return mode
    try:
        return AutoresetMode(mode)
    except ValueError:
        choices = ", ".join(m.name for m in AutoresetMode)
        raise error.UnsupportedMode(f"Prospector-v0 has no autoreset mode {mode!r}; choose one of {choices}") from None


class ProspectorVectorEnv(VectorEnv):
    """``num_envs`` games on the C core, stepped in one call, with Gymnasium's vector API.

    ``threads`` steps the games on that many threads (0: one per available core), with
    results identical to one thread.  With ``copy`` (the default) every returned array
    is a copy; ``copy=False`` returns the env's own buffers, which the next step
    overwrites (faster, and the caller must not write into them).
    """

    # per instance (the autoreset mode): see __init__
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": RENDER_MODES, "render_fps": 15}

    def __init__(
        self,
        num_envs: int = 1,
        config: dict | None = None,
        threads: int = 1,
        copy: bool = True,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_size=(960, 540),
        assets_dir=None,
        **overrides,
    ):
        self._view = GameView(render_mode, render_size, assets_dir)  # refuses an unknown mode
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.num_envs = check_num_envs(num_envs)
        self.config = S.make_config(config, **overrides)
        self.single_observation_space = spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.single_action_space = spaces.Discrete(S.N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = self._view.render_mode
        self.copy = bool(copy)
        self._batch = GameBatch(self.num_envs, self.config, threads, final_obs=True)
        self.threads = self._batch.threads
        self._started = False
        # NEXT_STEP / DISABLED: games whose episode ended in the last step, their terminal
        # observations and the seeds the C batch restarted them with
        self._ended = np.zeros(self.num_envs, np.bool_)
        self._terminal_obs = np.zeros((self.num_envs, S.OBS_DIM), np.float32)
        self._restart_seed = np.zeros(self.num_envs, np.uint64)
        self._obs_out = np.zeros((self.num_envs, S.OBS_DIM), np.float32)

    def reset(self, *, seed=None, options: dict | None = None):
        """Starts a new episode in every game, or with ``options={"reset_mask": mask}`` in
        the games where ``mask`` is true (any other option is ignored).

        ``seed=int``: game i gets the i-th SplitMix64 output of it (as ``VecProspector``).
        ``seed=[s0, s1, ...]`` (one per game): game i plays exactly what
        ``ProspectorEnv.reset(seed=s_i)`` plays; a ``None`` entry continues that game's chain.
        ``seed=None``: every game continues its own chain (reproducible after one seeded
        reset); before any seeded reset, a seed drawn from ``np_random``.
        """
        reset_mask = self._reset_mask(options)
        if reset_mask is not None:
            return self._reset_some(seed, reset_mask)
        batch = self._batch
        if seed is None and not self._started:
            seed = int(self.np_random.integers(0, 2**63))
        if seed is None:
            for i in range(self.num_envs):
                batch.reset_game(i, self._chain_seed(i))
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
                batch.reset_game(i, self._chain_seed(i) if game_seed is None else game_seed)
        self._started = True
        self._ended[:] = False
        return self._out(batch.observations), {}

    def _reset_mask(self, options) -> np.ndarray | None:
        if not options or "reset_mask" not in options:
            return None
        mask = options["reset_mask"]
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got {mask!r}")
        if not self._started:
            raise RuntimeError("reset(options={'reset_mask': ...}) needs a full reset() first")
        return mask

    def _reset_some(self, seed, reset_mask: np.ndarray):
        """Resets the games of ``reset_mask``; the others keep their state (and, if their
        episode ended in NEXT_STEP or DISABLED mode, still await their restart)."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            seeds = [int(s) for s in env_seeds(int(seed), self.num_envs)]
        else:
            seeds = [None] * self.num_envs if seed is None else self._seed_list(seed)
        for i in np.flatnonzero(reset_mask):
            self._batch.reset_game(i, self._chain_seed(i) if seeds[i] is None else seeds[i])
        self._ended[reset_mask] = False
        return self._out(self._observations()), {}

    def _chain_seed(self, i: int) -> int | None:
        """The seed game i continues its chain with: for a game that ended and awaits its
        restart, the seed the C batch already restarted it with."""
        return int(self._restart_seed[i]) if self._ended[i] else None

    def _observations(self) -> np.ndarray:
        """What the games show now: in NEXT_STEP / DISABLED mode an ended game shows its
        terminal observation (the C buffer must keep what the C core wrote)."""
        if not self._ended.any():
            return self._batch.observations
        out = self._obs_out
        np.copyto(out, self._batch.observations)
        out[self._ended] = self._terminal_obs[self._ended]
        return out

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
        unless an episode ended; what it then holds depends on the autoreset mode
        (docs/envs.md#autoreset): in SAME_STEP, masked by ``_key`` arrays of the games
        that ended, ``final_obs`` and ``final_info`` (the info keys, ``end_reason``,
        ``episode_return``, ``episode_length``); in NEXT_STEP and DISABLED, those info
        keys themselves, and the terminal observations are in ``obs``.
        """
        if not self._started:
            raise RuntimeError("step() called before reset()")
        batch = self._batch
        if not isinstance(actions, np.ndarray):
            actions = np.asarray(actions)
        batch.set_actions(actions)
        restarting = self._ended.copy()
        if restarting.any() and self.autoreset_mode is AutoresetMode.DISABLED:
            raise RuntimeError(
                "step() called while games whose episode ended wait for reset(options={'reset_mask': ...}) "
                "(autoreset_mode DISABLED)"
            )
        finished = batch.step()
        ended = np.flatnonzero(batch.terminals | batch.truncations)  # the log rows' games, in order
        rows = batch.episode_log[:finished]
        if restarting.any():  # NEXT_STEP: this step only restarts them
            keep = ~restarting[ended]
            ended, rows = ended[keep], rows[keep]
            for i in np.flatnonzero(restarting):
                batch.reset_game(i, int(self._restart_seed[i]))
            self._ended[:] = False
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            infos = self._final_infos(ended, rows) if len(ended) else {}
        else:
            infos = self._ending_infos(ended, rows) if len(ended) else {}
        return (
            self._out(self._observations()),
            self._out(batch.rewards),
            self._out(batch.terminals),
            self._out(batch.truncations),
            infos,
        )

    def _out(self, array: np.ndarray) -> np.ndarray:
        return array.copy() if self.copy else array

    def _info_table(self, ended: np.ndarray, rows: np.ndarray) -> tuple[dict, np.ndarray]:
        """The ended games' episode-log rows as Gymnasium vector infos (every info key,
        ``end_reason``, ``episode_return``, ``episode_length``, each with its ``_key`` mask)."""
        n = self.num_envs
        mask = np.zeros(n, np.bool_)
        mask[ended] = True
        mask.flags.writeable = False  # one mask shared by every key
        table = np.zeros((LOG_WIDTH, n))  # every log column spread over the games at once
        table[:, ended] = rows.T
        info = {}
        for k, key in enumerate(S.INFO_KEYS):
            dtype = INFO_DTYPES[key]
            info[key] = table[k] if dtype is np.float64 else table[k].astype(dtype)
            info[f"_{key}"] = mask
        end_reason = np.full(n, None, dtype=object)
        end_reason[ended] = END_NAMES[rows[:, LOG_END_REASON].astype(np.intp)]
        info.update(
            end_reason=end_reason, episode_return=table[LOG_RETURN], episode_length=table[LOG_LENGTH].astype(np.int64)
        )
        info.update(_end_reason=mask, _episode_return=mask, _episode_length=mask)
        return info, mask

    def _final_infos(self, ended: np.ndarray, rows: np.ndarray) -> dict:
        """SAME_STEP: the terminal observations and infos under ``final_obs`` / ``final_info``."""
        final_info, mask = self._info_table(ended, rows)
        final_obs = np.full(self.num_envs, None, dtype=object)
        terminal = self._batch.final_observations[ended]  # one copy, handed out row by row
        for k, i in enumerate(ended):
            final_obs[i] = terminal[k]
        return {"final_obs": final_obs, "_final_obs": mask, "final_info": final_info, "_final_info": mask}

    def _ending_infos(self, ended: np.ndarray, rows: np.ndarray) -> dict:
        """NEXT_STEP / DISABLED: the ended games show their terminal observation until they
        restart; the C batch has restarted them already, so remember with which seed."""
        self._ended[ended] = True
        self._terminal_obs[ended] = self._batch.final_observations[ended]
        for i in ended:
            self._restart_seed[i] = _core.env_snapshot(self._batch.handle, int(i), True)["episode_seed"]
        return self._info_table(ended, rows)[0]

    def render(self) -> tuple | None:
        """One frame per game, as Gymnasium's vector envs return them (a tuple; each an
        H x W x 3 uint8 array for ``rgb_array``, a string for ``ansi``); None without a
        render mode.  A game whose episode ended and awaits its restart (NEXT_STEP,
        DISABLED) shows the state the C batch restarted it in."""
        if self.render_mode is None:
            return None
        if self._batch.handle is None:
            raise RuntimeError("render() called after close()")
        if not self._started:
            raise error.ResetNeeded("render() called before reset()")
        return tuple(self._view.render(self._batch.handle, i) for i in range(self.num_envs))

    def action_masks(self) -> np.ndarray:
        """bool[num_envs, 69]: the valid actions of every game now, by the env's own rule
        (what ``ProspectorEnv.action_masks()`` gives per game; docs/envs.md#action-masks)."""
        if not self._started:
            raise RuntimeError("action_masks() called before reset()")
        return self._batch.action_masks()

    def close_extras(self, **kwargs) -> None:
        self._batch.close()
