"""Synthetic runs for tests and benchmarks: a real-looking run directory in seconds.

The event log has the same schema as the trainer's (``run_started``,
``checkpoint_saved``, ``window_closed``, ``replay_recorded``, ``run_finished``) with
metrics that trend like a learning curve, and every ``replay_recorded`` points to a
real replay file (zstd JSON Lines, :mod:`pipeline.store.replays`, its header from
``make_header``) whose frames come from the real game played by a scripted bot.
Distinct episodes are few and shared between windows (the headers differ), so a 1000-window run is quick to make.

    python -m tests.harness.synth --runs /tmp/runs_synth --windows 1000
"""

from __future__ import annotations

import argparse
import math
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from prospector.pipeline.store import layout as R
from prospector.pipeline.store.log import EventLog, encode_event
from prospector.pipeline.store.replays import encode_replay, make_header

from prospector import spec as S

_EPISODE_CACHE: dict[tuple, tuple[list[dict], dict]] = {}


def play_bot_episode(
    seed: int, steps: int, bot: str = "greedy_miner", config: dict | None = None, keep_going: bool = False
) -> tuple[list[dict], dict]:
    """Frames (as the evaluator records them) of a bot playing the real game.

    At most ``steps`` steps; with ``keep_going`` a finished episode is followed by the
    next seed's until ``steps`` frames exist (only for length benchmarks).
    """
    key = (seed, steps, bot, tuple(sorted((config or {}).items())), keep_going)
    if key in _EPISODE_CACHE:
        return _EPISODE_CACHE[key]
    from prospector.bots import make_bot
    from prospector.envs import ProspectorEnv

    env = ProspectorEnv(config or {})
    rng = random.Random(seed)
    obs, _ = env.reset(seed=seed)
    agent = make_bot(bot, seed=seed)
    frames = [
        {
            "t": 0,
            "action": None,
            "action_name": None,
            "reward": 0.0,
            "dt": 0,
            "events": [],
            "render_state": env.render_state(),
            "truth": env.truth_state(),
            "probs": None,
            "valid": np.flatnonzero(env.action_mask()).tolist(),
        }
    ]
    total = 0.0
    info: dict = {}
    episode = 0
    while len(frames) <= steps:
        action = int(agent.act(obs))
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        p = round(rng.uniform(0.4, 0.95), 4)
        others = rng.sample([a for a in range(S.N_ACTIONS) if a != action], 2)
        q = round((1 - p) * rng.uniform(0.3, 0.7), 4)
        frames.append(
            {
                "t": len(frames),
                "action": action,
                "action_name": S.ACTION_NAMES[action],
                "reward": reward,
                "dt": info["dt"],
                "invalid": info["invalid"],
                "events": info["events"],
                "render_state": env.render_state(),
                "truth": env.truth_state(),
                "probs": [[action, p], [others[0], q], [others[1], round((1 - p - q) / 2, 4)]],
                "valid": np.flatnonzero(env.action_mask()).tolist(),
            }
        )
        if terminated or truncated:
            if not keep_going:
                break
            episode += 1
            obs, _ = env.reset(seed=seed + 7919 * episode)
            agent.reset()
    totals = {
        "return": total,
        "net_profit": info.get("net_profit", 0.0),
        "survival": info.get("survival", 1.0),
        "steps": len(frames) - 1,
        "end_reason": info.get("end_reason"),
        "credits": info.get("credits", 0.0),
    }
    _EPISODE_CACHE[key] = (frames, totals)
    return frames, totals


def _metrics(window_id: int, rng: random.Random, steps_per_window: int) -> dict:
    """One window_closed payload following a noisy learning curve."""
    x = window_id
    progress = 1 - math.exp(-x / 60)
    noise = lambda s: rng.gauss(0, s)  # noqa: E731
    survival = min(1.0, max(0.0, 0.55 + 0.4 * progress + noise(0.02)))
    destroyed = max(0.0, (1 - survival) * 0.6 + noise(0.01))
    stranded = max(0.0, 1 - survival - destroyed)
    ret = -30 + 45 * progress + noise(2.0)
    return {
        "window_id": window_id,
        "env_steps_total": steps_per_window * (window_id + 1),
        "episodes": int(200 + 40 * progress + rng.randint(0, 20)),
        "return_mean": ret,
        "return_median": ret + noise(1.0),
        "net_profit_mean": -400 + 1400 * progress + noise(50),
        "profit_per_tick_mean": -0.4 + 0.9 * progress + noise(0.02),
        "survival_rate": survival,
        "stranded_rate": stranded,
        "destroyed_rate": destroyed,
        "overheat_ticks_mean": max(0.0, 30 - 25 * progress + noise(2)),
        "pirate_encounters_mean": max(0.0, 2 - progress + noise(0.1)),
        "value_lost_to_pirates_mean": max(0.0, 80 - 60 * progress + noise(5)),
        "fuel_used_mean": 600 - 200 * progress + noise(20),
        "tool_wear_mean": 40 - 10 * progress + noise(2),
        "scan_count_mean": 10 + 20 * progress + noise(1),
        "mining_ticks_mean": 100 + 900 * progress + noise(20),
        "sps": 250_000 + noise(10_000),
        "wall_seconds": 8 + noise(0.3),
        "policy_loss": -0.02 + noise(0.005),
        "value_loss": 0.5 * math.exp(-x / 100) + 0.05 + abs(noise(0.01)),
        "entropy": 4.2 - 1.5 * progress + noise(0.02),
        "approx_kl": abs(0.01 + noise(0.003)),
        "clipfrac": min(1.0, abs(0.1 + noise(0.02))),
    }


class SyntheticRun:
    """Builds (and extends) one synthetic run directory."""

    def __init__(
        self,
        runs_dir: str | os.PathLike,
        run_id: str | None = None,
        *,
        seed: int = 0,
        frames: int = 120,
        episodes: int = 4,
        wandb_url: str | None = None,
        start: datetime | None = None,
        steps_per_window: int = 65536,
        keep_going: bool = False,
    ):
        self.runs_dir = Path(runs_dir)
        self.start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.run_id = run_id or R.make_run_id(self.start, "5e5e5e5")
        self.dir = self.runs_dir / self.run_id
        self.seed, self.frames, self.episodes = seed, frames, episodes
        self.wandb_url = wandb_url
        self.steps_per_window = steps_per_window
        self.keep_going = keep_going  # replays of exactly `frames` steps (episodes chained)
        self.rng = random.Random(seed)
        self._seq = 0
        self._best: float | None = None
        self._milestones: set[str] = set()

    # --------------------------------------------------------------- pieces
    def _ts(self, seconds: float) -> str:
        return (self.start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def run_started(self) -> dict:
        return {
            "config": {
                "train": {
                    "run_id": self.run_id,
                    "seed": self.seed,
                    "policy": "mlp",
                    "hidden_size": 128,
                    "window_steps": self.steps_per_window,
                    "envs": 256,
                    "eval_seed": 1_000_000,
                    "synthetic": True,
                },
                "env": {"time_max": 20000.0},
            },
            "git_sha": "5e5e5e5",
            "versions": {"python": "3.11", "synthetic": "1"},
            "wandb_url": self.wandb_url,
        }

    def window_events(self, window_id: int) -> list[tuple[str, dict]]:
        """(type, payload) of one window; writes its replay file."""
        ckpt = f"{R.CHECKPOINTS_DIR}/ckpt_{window_id:06d}.pt"
        out = [("checkpoint_saved", {"window_id": window_id, "path": ckpt, "bytes": 0, "sha256": f"{window_id:064x}"})]
        out.append(("window_closed", _metrics(window_id, self.rng, self.steps_per_window)))
        episode = window_id % self.episodes
        frames, totals = play_bot_episode(self.seed * 1000 + episode, self.frames, keep_going=self.keep_going)
        ret = totals["return"] + 0.01 * window_id  # make later windows a little better
        tags = ["every_window"]
        if self._best is None or ret > self._best + max(1.0, 0.05 * abs(self._best)):
            tags.append("best_so_far")
            self._best = ret if self._best is None else max(self._best, ret)
        for tag, test in (
            ("milestone:first_profit", totals["net_profit"] > 0),
            ("milestone:survived_full_episode", totals["end_reason"] == "timeout"),
        ):
            if test and tag not in self._milestones:
                self._milestones.add(tag)
                tags.append(tag)
        replay_id = R.make_replay_id(window_id, 0, f"{self.run_id}|{window_id}")
        header = make_header(  # the evaluator's header, from its one definition (store/replays.py)
            run_id=self.run_id,
            window_id=window_id,
            replay_id=replay_id,
            seed=self.seed * 1000 + episode,
            env_config={"time_max": 20000.0},
            policy_checkpoint=ckpt,
            checkpoint_sha256=f"{window_id:064x}",
            tags=tags,
            totals={**totals, "return": ret},
        )
        path = R.replay_path(self.dir, replay_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = encode_replay(header, frames)
        path.write_bytes(data)
        import hashlib

        out.append(
            (
                "replay_recorded",
                {
                    "window_id": window_id,
                    "replay_id": replay_id,
                    "tags": tags,
                    "seed": header["seed"],
                    "return": ret,
                    "net_profit": totals["net_profit"],
                    "survival": totals["survival"],
                    "steps": totals["steps"],
                    "end_reason": totals["end_reason"],
                    "path": R.rel_to_run(self.dir, path),
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                },
            )
        )
        return out

    # --------------------------------------------------------------- writing
    def create(self, windows: int, finished: bool = False) -> Path:
        """Write the run with ``windows`` windows at once (fast: one file write)."""
        for sub in (R.CHECKPOINTS_DIR, R.REPLAYS_DIR, R.METRICS_DIR):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        lines = [self._line("run_started", self.run_started(), 0)]
        for w in range(windows):
            for type_, payload in self.window_events(w):
                lines.append(self._line(type_, payload, 10 + 10 * w))
        if finished:
            lines.append(self._line("run_finished", {"reason": "completed"}, 10 + 10 * windows))
        (self.dir / R.EVENTS_FILE).write_bytes(b"".join(lines))
        self.windows = windows
        return self.dir

    def _line(self, type_: str, payload: dict, seconds: float) -> bytes:
        event = {"seq": self._seq, "ts": self._ts(seconds), "run_id": self.run_id, "type": type_, **payload}
        self._seq += 1
        return encode_event(event)

    def append_window(self) -> int:
        """Append one more window through the real appender (as the trainer would)."""
        window_id = self.windows
        with EventLog(self.dir, exclusive=False, create=False) as log:
            for type_, payload in self.window_events(window_id):
                log.append(type_, **payload)
        self.windows += 1
        return window_id


def make_synthetic_run(runs_dir, windows: int = 5, **kw) -> SyntheticRun:
    run = SyntheticRun(runs_dir, **kw)
    run.create(windows)
    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs", help="runs directory (default runs/)")
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--frames", type=int, default=120, help="steps per replay (default 120)")
    ap.add_argument("--run-id", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wandb-url", default=None)
    args = ap.parse_args(argv)
    run = make_synthetic_run(
        args.runs, args.windows, run_id=args.run_id, seed=args.seed, frames=args.frames, wandb_url=args.wandb_url
    )
    print(f"synthetic run {run.run_id}: {args.windows} windows in {run.dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
