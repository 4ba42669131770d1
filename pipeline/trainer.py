"""Training in windows with PufferLib's own PPO trainer (``pufferlib.pufferl.PuffeRL``).

Read it top to bottom: ``train()`` opens (or resumes) a run, builds the vector env,
the policy and PuffeRL (``Learner``), then alternates PuffeRL's ``evaluate()`` (collect
a batch) and ``train()`` (one PPO update).  Every ``window_steps`` env steps it closes a
window (``_train_windows``):

1. aggregate the episodes that finished in the window into the window row,
2. hand the checkpoint and the row to the run store in one call, ``Run.close_window``
   (checkpoint file, ``checkpoint_saved``, ``window_closed``, projections), log it to W&B,
3. start the evaluator for that window in its own process (replays, never in this loop).

The event log is the only record; everything else is rebuilt from it. The run is a
``Run`` of pipeline/store/run.py: the writer on rank 0, a follower whose writes do
nothing on the other ranks (docs/architecture.md#the-run-store).

Where PuffeRL is adapted (sampler, reward scale, checkpoints, dashboard), see puffer.py
(the class: puffer_trainer.py; the terminal: dashboard.py); the evaluator processes are
evaluators.py's, the signal handlers signals.py's; with several ranks (torchrun,
``--nproc``) rank 0 alone writes the run and the rows cover every rank's games, see
distributed.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prospector import spec as S

from . import distributed
from .config import TrainConfig, resume_config
from .distributed import RankStopped, World
from .evaluators import EvaluatorPool, after_replays_hook
from .puffer import EpisodeTap, LastLogs, env_threads_for, make_vecenv, puffer_config
from .signals import CtrlC, sigterm_ends_process, stop_on_sigterm
from .store import layout as runs
from .store.events import LOSS_KEYS
from .store.run import Run, StoreError


class TrainError(RuntimeError):
    """A user-facing failure (bad resume, locked run): printed without a traceback."""


class FollowerStop(TrainError):
    """A rank other than 0 stops because rank 0 refused the run (rank 0 says why)."""


# ------------------------------------------------------------------ episodes


def _mean(values) -> float | None:
    return float(np.mean(values)) if len(values) else None


def window_row(episodes: list[dict]) -> dict:
    """docs/training.md metrics over the episodes that finished in a window."""
    ends = [e["end_reason"] for e in episodes]
    column = lambda key: [e[key] for e in episodes]  # noqa: E731
    n = len(episodes)
    return {
        "episodes": n,
        "return_mean": _mean(column("episode_return")),
        "return_median": float(np.median(column("episode_return"))) if n else None,
        "net_profit_mean": _mean(column("net_profit")),
        "profit_per_tick_mean": _mean(column("profit_per_tick")),
        "survival_rate": _mean(column("survival")),
        "stranded_rate": ends.count("stranded") / n if n else None,
        "destroyed_rate": ends.count("destroyed") / n if n else None,
        "overheat_ticks_mean": _mean(column("overheat_ticks")),
        "pirate_encounters_mean": _mean(column("pirate_encounters")),
        "value_lost_to_pirates_mean": _mean(column("value_lost_to_pirates")),
        "fuel_used_mean": _mean(column("fuel_used")),
        "tool_wear_mean": _mean(column("tool_wear")),
        "scan_count_mean": _mean(column("scan_count")),
        "mining_ticks_mean": _mean(column("mining_ticks")),
        "episode_length_mean": _mean(column("episode_length")),
    }


# --------------------------------------------------------------- run opening


@dataclass
class RunState:
    run: Run  # the writer on rank 0, a follower (writes do nothing) on the other ranks
    run_id: str
    next_window: int = 0
    global_step: int = 0
    checkpoint: dict | None = None
    config: TrainConfig | None = None
    env_config: dict = field(default_factory=dict)
    pending_evals: list[int] = field(default_factory=list)  # closed windows missing a replay

    @property
    def run_dir(self) -> Path:
        return self.run.dir


def versions() -> dict:
    import pufferlib
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pufferlib": getattr(pufferlib, "__version__", "unknown"),
        "numpy": np.__version__,
        "prospector": __import__("prospector").__version__,
    }


def open_run(cfg: TrainConfig, resume: str | None) -> RunState:
    """A new run directory, or an existing one to continue from its last closed window
    (crash recovery: pipeline/store/run.py Run.resume_point)."""
    env_config = S.make_config(time_max=cfg.time_max)
    try:
        if resume is None:
            run = Run.create(cfg.runs_dir, cfg.run_id)
            return RunState(run, run.run_id, config=cfg, env_config=env_config)
        run = Run.resume(cfg.runs_dir, resume)
    except StoreError as exc:
        raise TrainError(str(exc)) from None
    for repair in run.repairs:  # said, never done silently (the torn bytes are kept beside the log)
        print(f"note: {resume}: {repair}", file=sys.stderr, flush=True)
    try:
        try:
            point = run.resume_point()
        except StoreError as exc:
            raise TrainError(str(exc)) from None
        state = RunState(run, run.run_id, env_config=run.env_config)
        if point.checkpoint is not None:
            state.checkpoint = resume_checkpoint(run.dir, point.checkpoint, run.train_config, resume)
            state.next_window = point.next_window
            state.global_step = int(state.checkpoint["global_step"]) if point.orphan else point.env_steps_total
        # The run keeps its own settings; only how long to train and where may change.
        state.config = resume_config({**run.train_config, "run_id": state.run_id}, cfg)
        if point.orphan:  # its checkpoint is saved, its row died with the process
            run.close_recovered_window(point.checkpoint.window_id, state.global_step)
        state.pending_evals = list(point.pending_evals)
        return state
    except BaseException:
        run.close()
        raise


def resume_checkpoint(run_dir: Path, saved, train_config: dict, resume: str) -> dict:
    """The checkpoint of a ``checkpoint_saved`` event, read as data and checked to fit the
    run's policy and optimiser before anything is logged; one TrainError line otherwise."""
    from .checkpoint import CheckpointError, check_resumable, read_checkpoint

    try:
        path = runs.resolve_in_run(run_dir, saved.path)
        checkpoint = read_checkpoint(path, saved.sha256)
        check_resumable(
            checkpoint,
            path,
            train_config.get("policy"),
            train_config.get("hidden_size"),
            train_config.get("action_mask", False),
        )
    except (CheckpointError, ValueError) as exc:
        raise TrainError(f"cannot resume {resume!r}: {exc}") from None
    return checkpoint


# ------------------------------------------------------------------ training


def train(cfg: TrainConfig, resume: str | None = None, after_replays: Callable[[Path], None] | None = None) -> Path:
    """Train until cfg.windows more windows are closed (or cfg.total_steps); returns the run dir.

    ``after_replays(run_dir)`` runs after new replays are logged and when the run ends; the
    command line passes the site rebuild of ``--site`` here (the site is a layer above the
    trainer, so the trainer only calls what it is given: docs/architecture.md).

    Under torchrun (several ranks) every rank calls this; see distributed.py."""
    world = distributed.join(cfg.device)
    try:
        if world.distributed:
            stop_on_sigterm()
        return _train(cfg, resume, after_replays, world)
    except Exception as exc:
        if world.distributed and not isinstance(exc, (TrainError, RankStopped)) and distributed.is_peer_failure(exc):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RankStopped(f"rank {world.rank}: another rank is gone ({first[:200]})") from None
        raise
    finally:
        if world.distributed:
            sigterm_ends_process()
        world.leave()


#: Rank r > 0 plays seeds and samples actions from seed + r x this (rank 0: the run's own).
RANK_SEED_STRIDE = 1_000_003

#: Tests only (tests/test_distributed.py): with this set, every rank appends a line per
#: update and per window to ``debug_rank{r}.jsonl`` in the run dir: its parameters'
#: sha256, its episodes, its pid. Off in every real run.
TRACE_ENV = "PROSPECTOR_TEST_RANK_TRACE"


class RankTrace:
    def __init__(self, run_dir: Path, world: World, policy):
        self.path = run_dir / f"debug_rank{world.rank}.jsonl"
        self.rank, self.policy = world.rank, policy

    def write(self, what: str, epoch: int, **extra) -> None:
        digest = hashlib.sha256()
        for tensor in self.policy.state_dict().values():
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        line = {
            "rank": self.rank,
            "pid": os.getpid(),
            "what": what,
            "epoch": epoch,
            "params": digest.hexdigest(),
            **extra,
        }
        with open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")


def open_shared(cfg: TrainConfig, resume: str | None, world: World) -> RunState:
    """Rank 0 opens (or resumes) the run, the store being its alone; the others get from
    it the run id, the config and the checkpoint, or stop if rank 0 refused the run."""
    if not world.distributed:
        return open_run(cfg, resume)
    state, refused = None, None
    if world.leader:
        try:
            state = open_run(cfg, resume)
        except Exception as exc:
            refused = exc
    shared = world.broadcast(
        None
        if state is None
        else (
            str(state.run_dir),
            state.run_id,
            state.next_window,
            state.global_step,
            state.config.to_dict(),
            state.env_config,
            state.checkpoint,
        )
    )
    if refused is not None:
        raise refused
    if shared is None:
        raise FollowerStop("rank 0 refused the run")
    run_dir, run_id, next_window, global_step, config, env_config, checkpoint = shared
    if world.leader:
        return state
    return RunState(
        Run.follow(run_dir), run_id, next_window, global_step, checkpoint, TrainConfig(**config), env_config
    )


def _train(cfg: TrainConfig, resume: str | None, after_replays, world: World) -> Path:
    """One rank's training, top to bottom: open the run, make the env, the policy and
    PuffeRL, then window after window collect, update and close the window; whatever
    ends training, rank 0 then ends the run (``_end_run``)."""
    import torch

    state = open_shared(cfg, resume, world)
    cfg, run = state.config, state.run
    rank_seed = cfg.seed + RANK_SEED_STRIDE * world.rank
    torch.manual_seed(rank_seed + state.next_window)
    torch.set_num_threads(cfg.torch_threads)  # 2 threads on 2 shared cores: 5-10x slower (benchmarks.md)
    evaluators, sink = _evaluators_and_sink(cfg, state, after_replays) if world.leader else (None, None)
    learner = Learner()
    reason = "error"
    ctrl_c = CtrlC()
    try:
        _record_start(cfg, state, resume, world, sink)
        learner.build(cfg, state, world, rank_seed)
        if evaluators is not None:
            evaluators.say = learner.trainer.note
        ctrl_c.install()  # after PuffeRL's import (puffer_trainer.py), which resets SIGINT's handler
        learner.restore(state.checkpoint)
        _train_windows(cfg, state, learner, world, ctrl_c, evaluators, sink)
        reason = "completed"
    except KeyboardInterrupt:
        reason = "interrupted"
        raise
    except Exception as exc:
        reason = f"error: {type(exc).__name__}: {exc}"
        raise
    finally:
        ctrl_c.uninstall()
        learner.close()  # the utilisation thread stops, the terminal is the user's again
        if world.leader:
            _end_run(run, evaluators, sink, reason)
    return state.run_dir


def _evaluators_and_sink(cfg: TrainConfig, state: RunState, after_replays):
    """(Rank 0.) The evaluator pool, restarting those a crash left owed, and the W&B sink."""
    from .wandb_sink import WandbSink

    run_dir = state.run_dir
    evaluators = EvaluatorPool(run_dir, cfg.eval_episodes, on_replays=after_replays_hook(after_replays, run_dir))
    for window_id in state.pending_evals:  # windows a crash left without a replay
        evaluators.start(window_id)
    return evaluators, WandbSink(cfg, run_dir, state.run_id)


def _record_start(cfg: TrainConfig, state: RunState, resume: str | None, world: World, sink) -> None:
    """``run_started`` (or ``run_resumed``): the config, versions and the compute dtype."""
    from .puffer import resolve_compute_dtype

    payload = {
        "config": {"train": cfg.to_dict(), "env": state.env_config},
        "git_sha": runs.git_short_sha(),
        "versions": versions() if world.leader else {},
        "wandb_url": sink.url if world.leader else None,
        "world_size": world.size,
        # what compute_dtype (auto) chose on this machine, and why (pipeline/puffer.py)
        "compute_dtype": resolve_compute_dtype(cfg.compute_dtype, world.device),
    }
    if resume is None:
        state.run.start(**payload)
    else:
        state.run.resumed(from_window=state.next_window, env_steps_total=state.global_step, **payload)


class Learner:
    """This rank's vector env (behind ``EpisodeTap``), policy and PuffeRL: what collects
    and updates. ``close()`` closes what was built, however far ``build()`` got."""

    def __init__(self):
        self.vecenv = self.tap = self.policy = self.trainer = None
        self.local_start = 0  # this rank's env steps when training (re)started

    def build(self, cfg: TrainConfig, state: RunState, world: World, rank_seed: int) -> None:
        from .policy import make_policy

        # Steps are counted in total over the ranks (the log's env_steps_total); every rank
        # collects the same number per batch, so this rank's share is the total / ranks.
        self.local_start = state.global_step // world.size
        local_planned = max(1, cfg.planned_steps // world.size)
        self.vecenv = make_vecenv(cfg, state.env_config, threads=env_threads_for(cfg, world.local_size))
        self.tap = EpisodeTap(self.vecenv, cfg.reward_scale, cfg.reward_scale_end, local_planned, self.local_start)
        policy = make_policy(cfg.policy, cfg.hidden_size, self.vecenv.driver_env, cfg.action_mask, state.env_config)
        self.policy = policy.to(world.device)
        from .puffer_trainer import WindowedPuffeRL  # imports PuffeRL: only once a run starts

        self.trainer = WindowedPuffeRL(
            puffer_config(cfg, seed=rank_seed, total_timesteps=local_planned, device=world.device),
            self.tap,
            distributed.wrap_policy(self.policy, world),
            logger=LastLogs(),
            dashboard=cfg.dashboard,
            distributed=world.distributed,
        )

    def restore(self, checkpoint: dict | None) -> None:
        """The weights, optimiser and schedule of a resumed run's checkpoint."""
        if checkpoint is not None:
            self.policy.load_state_dict(checkpoint["policy"])
            self.trainer.optimizer.load_state_dict(checkpoint["optimizer"])
            self.trainer.scheduler.load_state_dict(checkpoint["scheduler"])
            self.trainer.epoch = checkpoint["epoch"]
        self.trainer.global_step = self.local_start

    def close(self) -> None:
        if self.trainer is not None:
            self.trainer.shutdown()
        if self.vecenv is not None:
            self.vecenv.close()


def _train_windows(cfg: TrainConfig, state: RunState, learner: Learner, world: World, ctrl_c, evaluators, sink):
    """Collect a batch, one PPO update, again; every ``window_steps`` env steps (over all
    ranks) close the window and start its evaluator; until cfg.windows or cfg.total_steps."""
    trainer, tap, run, leader = learner.trainer, learner.tap, state.run, world.leader
    trace = RankTrace(state.run_dir, world, learner.policy) if os.environ.get(TRACE_ENV) else None
    if trace:
        trace.write("start", trainer.epoch)
    window_id, windows_done, total = state.next_window, 0, state.global_step
    window_end = total + cfg.window_steps
    window_start_time, window_start_step = time.perf_counter(), trainer.global_step
    tap.episodes.clear()
    while not _finished(cfg, windows_done, total):
        trainer.evaluate()  # collect
        trainer.train()  # update
        ctrl_c.check()
        total = state.global_step + world.size * (trainer.global_step - learner.local_start)
        if trace:
            trace.write("update", trainer.epoch)
        if total >= window_end:
            if trace:
                trace.write("window", trainer.epoch, window_id=window_id, episodes=len(tap.episodes))
            wall, steps = time.perf_counter() - window_start_time, trainer.global_step - window_start_step
            close_window(cfg, state, trainer, learner.policy, window_id, tap.episodes, wall, steps, sink, world, total)
            if leader:
                evaluators.start(window_id)
            world.hold(lambda: leader and evaluators.backlogged(run, sink, cfg.eval_backlog_max))
            tap.episodes.clear()
            window_id += 1
            windows_done += 1
            window_end += cfg.window_steps
            window_start_time, window_start_step = time.perf_counter(), trainer.global_step
        if leader:
            evaluators.poll(run, sink)


def _end_run(run: Run, evaluators: EvaluatorPool, sink, reason: str) -> None:
    """(Rank 0.) Waits for the evaluators (after an error or a Ctrl-C it stops them: a
    resume evaluates the windows they left), brings the projections and W&B up to date,
    then ``run_finished`` with ``reason``."""
    evaluators.say = None
    evaluators.wait(run, sink, timeout=None if reason == "completed" else 0)
    try:
        run.project()
        sink.finish(run.dir)
    finally:
        run.finish(reason)  # then the projections cover every event of the log
        run.close()
        if evaluators.on_replays is not None:
            evaluators.on_replays()  # the site shows the run as finished


def _finished(cfg: TrainConfig, windows_done: int, global_step: int) -> bool:
    if cfg.windows is not None and windows_done >= cfg.windows:
        return True
    return cfg.total_steps is not None and global_step >= cfg.total_steps


def close_window(
    cfg,
    state: RunState,
    trainer,
    policy,
    window_id: int,
    episodes: list[dict],
    wall: float,
    steps: int,
    sink,
    world: World | None = None,
    total: int | None = None,
) -> None:
    """Checkpoint, then the window row: both in the log before the evaluator starts.

    Every rank calls it: rank 0 gathers the others' episodes, losses and steps, so the
    row counts every rank's games and the total steps/s, and writes; the others return."""
    from .checkpoint import checkpoint_bytes

    world = world or World()
    total = trainer.global_step if total is None else total
    parts = world.gather((episodes, dict(trainer.losses or {}), steps))
    if not world.leader:
        return
    episodes = [episode for part in parts for episode in part[0]]
    steps = sum(part[2] for part in parts)
    losses = {
        key: float(np.mean([part[1][key] for part in parts if key in part[1]])) for key in parts[0][1]
    }  # PPO losses: the ranks' mean

    t0 = time.perf_counter()
    data = checkpoint_bytes(
        {
            "policy": policy.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict(),
            "epoch": trainer.epoch,
            "global_step": total,
            "window_id": window_id,
            "policy_kind": cfg.policy,
            "hidden_size": cfg.hidden_size,
            "action_mask": cfg.action_mask,
            "env_config": state.env_config,
            "train_config": cfg.to_dict(),
        }
    )
    row = {
        "env_steps_total": total,
        **window_row(episodes),
        "sps": steps / wall if wall > 0 else None,
        "wall_seconds": wall,
        **{k: losses.get(k) for k in LOSS_KEYS},
        "explained_variance": losses.get("explained_variance"),
    }
    # the store's one call: checkpoint file, checkpoint_saved, window_closed, projections
    closed = state.run.close_window(window_id, data, row, since=t0)
    row = {"window_id": window_id, **row, "close_seconds": closed.close_seconds}
    path = runs.checkpoint_path(state.run_dir, window_id)
    sink.log_window(row)
    sink.log_checkpoint(path, window_id)
    trainer.note(
        f"window {window_id} closed: {total:,} steps, {row['episodes']} episodes, "
        f"return {_fmt(row['return_mean'])}, net profit {_fmt(row['net_profit_mean'])}, "
        f"{_fmt(row['sps'], 0)} steps/s"
    )


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"
