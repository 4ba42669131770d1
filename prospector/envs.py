"""``ProspectorEnv``: one game on the C core with the Gymnasium API.

This class only wires numpy buffers to ``prospector._core``; the game itself is in
ext/prospector.h (and, readable, in prospector/reference.py).  The vector env is
in prospector/vector.py.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from . import _core
from . import spec as S
from .actions import as_action_index
from .render import RENDER_MODES, check_render_mode
from .rng import MASK64
from .state import events_to_dicts, info_dict, map_layout, render_state, truth_state


def end_name(code: int) -> str | None:
    return None if code < 0 else S.END_REASONS[code]


class GameView:
    """``render_state`` and rendered frames of game i of a C handle; the mini-map layout
    (which depends on the world only) is computed once per episode seed."""

    def __init__(self, render_mode: str | None, render_size=(960, 540), assets_dir=None):
        self.render_mode = check_render_mode(render_mode)
        self.layouts: dict = {}
        self.renderer = None
        if self.render_mode == "rgb_array":
            from .render import FrameRenderer

            self.renderer = FrameRenderer(*render_size, assets_dir=assets_dir)

    def render_state(self, handle, i: int) -> dict:
        snap = _core.env_snapshot(handle, i, True)
        seed = snap["episode_seed"]
        if self.layouts.get(i, (None, None))[0] != seed:
            self.layouts[i] = (seed, map_layout(snap))
        return render_state(snap, self.layouts[i][1])

    def render(self, handle, i: int):
        rs = self.render_state(handle, i)
        if self.render_mode == "ansi":
            from .render import ansi_frame

            return ansi_frame(rs)
        return self.renderer.frame(rs)


class ProspectorEnv(gym.Env):
    """One game on the C core, with the Gymnasium API.

    ``info`` after every step holds the docs/game.md#4-reward-termination-info-events keys, ``end_reason`` at the end,
    and ``events`` (the step's typed events). ``render_state()`` is what the ship knows.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 15}

    def __init__(
        self,
        config: dict | None = None,
        render_mode=None,
        render_size=(960, 540),
        assets_dir=None,
        events: bool = True,
        **overrides,
    ):
        self._view = GameView(render_mode, render_size, assets_dir)  # refuses an unknown mode first
        if not isinstance(events, bool):
            raise ValueError(f"events must be True or False, got {events!r}")
        self.events = events  # False: info without "events" (PufferLib averages every info value)
        self.config = S.make_config(config, **overrides)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Discrete(S.N_ACTIONS)
        self.render_mode = render_mode
        self._obs = np.zeros((1, S.OBS_DIM), np.float32)
        self._actions = np.zeros(1, np.int32)
        self._rewards = np.zeros(1, np.float32)
        self._terminals = np.zeros(1, np.bool_)
        self._truncations = np.zeros(1, np.bool_)
        self._handle = _core.vec_init(
            self._obs, self._actions, self._rewards, self._terminals, self._truncations, S.config_array(self.config), 1
        )
        self._started = False
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if self._handle is None:
            raise RuntimeError("reset() called after close()")
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
        info = info_dict(values, None, [])
        if not self.events:
            del info["events"]
        return self._obs[0].copy(), info

    def step(self, action):
        if self._handle is None:
            raise RuntimeError("step() called after close()")
        if not self._started:
            raise RuntimeError("step() called before reset()")
        if self._done:
            raise RuntimeError("step() called after the episode ended; call reset() first")
        reward, terminated, truncated = _core.env_step(self._handle, 0, as_action_index(action))
        values, end_code, events = _core.env_info(self._handle, 0)
        self._done = terminated or truncated
        info = info_dict(values, end_name(end_code), events_to_dicts(events) if self.events else [])
        if not self.events:
            del info["events"]
        return self._obs[0].copy(), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """bool[69]: which actions are valid now, by the env's own rule (docs/envs.md#action-masks).

        The name sb3-contrib's ``MaskablePPO`` looks for; ``action_mask()`` is the same."""
        if self._handle is None:
            raise RuntimeError("action_masks() called after close()")
        return np.frombuffer(_core.env_action_mask(self._handle, 0), dtype=np.uint8).astype(bool)

    action_mask = action_masks

    def close(self) -> None:
        self._handle = None  # the capsule's destructor frees the game
        self._started, self._done = False, True

    def snapshot(self, here_only: bool = False) -> dict:
        """The whole state as plain data (state.snapshot_reference's layout); with
        ``here_only`` only the current node lists its asteroids."""
        return _core.env_snapshot(self._handle, 0, here_only)

    def render_state(self) -> dict:
        return self._view.render_state(self._handle, 0)

    def render(self):
        """The current state as a frame (``rgb_array``: H x W x 3 uint8, the site player's
        sector view) or text (``ansi``); None without a render mode (docs/envs.md#rendering)."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; make the env with render_mode='rgb_array' or 'ansi'"
            )
            return None
        if self._handle is None:
            raise RuntimeError("render() called after close()")
        if not self._started:
            raise gym.error.ResetNeeded("render() called before reset()")
        return self._view.render(self._handle, 0)

    def truth_state(self) -> dict:
        return truth_state(self.snapshot(here_only=True))

    def raw_step(self, action: int):
        """Step returning the raw info doubles (for parity checks and the vector log)."""
        reward, terminated, truncated = _core.env_step(self._handle, 0, as_action_index(action))
        values, end_code, events = _core.env_info(self._handle, 0)
        self._done = terminated or truncated
        return self._obs[0].copy(), reward, terminated, truncated, values, end_code, events
