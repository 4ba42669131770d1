"""Training in windows with PufferLib's own PPO trainer (``pufferlib.pufferl.PuffeRL``).

Read it top to bottom: ``train()`` opens (or resumes) a run, builds the vector env,
the policy and PuffeRL, then alternates PuffeRL's ``evaluate()`` (collect a batch) and
``train()`` (one PPO update).  Every ``window_steps`` env steps it closes a window:

1. aggregate the episodes that finished in the window into the window row,
2. hand the checkpoint and the row to the run store in one call, ``Run.close_window``
   (checkpoint file, ``checkpoint_saved``, ``window_closed``, projections), log it to W&B,
3. start the evaluator for that window in its own process (replays, never in this loop).

The event log is the only record; everything else is rebuilt from it. The run is a
``Run`` of pipeline/store/run.py: the writer on rank 0, a follower whose writes do
nothing on the other ranks (docs/architecture.md#the-run-store).

Where PuffeRL is adapted (sampler, reward scale, checkpoints, signals, dashboard), see
puffer.py; with several ranks (torchrun, ``--nproc``) rank 0 alone writes the run and
the rows cover every rank's games, see distributed.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prospector import spec as S

from . import distributed
from .config import TrainConfig, resume_config
from .distributed import RankStopped, World
from .puffer import EpisodeTap, LastLogs, env_threads_for, make_trainer_class, make_vecenv, puffer_config
from .store import layout as runs
from .store.events import LOSS_KEYS, ReplayRecorded, ReplayVideo
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
            distributed.stop_on_sigterm()
        return _train(cfg, resume, after_replays, world)
    except Exception as exc:
        if world.distributed and not isinstance(exc, (TrainError, RankStopped)) and distributed.is_peer_failure(exc):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RankStopped(f"rank {world.rank}: another rank is gone ({first[:200]})") from None
        raise
    finally:
        if world.distributed:
            # The rank's work is over (rank 0 has closed the log): a SIGTERM from the launcher
            # now only ends the process, instead of raising into the interpreter's shutdown.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
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


class CtrlC:
    """Ctrl-C that training cannot lose.

    Python's handler raises KeyboardInterrupt wherever the main thread is. Inside one of
    PufferLib's bare ``except:`` clauses (around ``np.mean`` of its stats, run four times a
    second) the exception is swallowed and training goes on: seen as a SIGINT ignored
    under load. This handler raises it the same way and also remembers it, and the
    training loop raises it again between updates if it was swallowed."""

    def __init__(self):
        self.pressed = False
        self.previous = None

    def __call__(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt

    def install(self) -> None:
        # only over Python's own handler, on the main thread: a host application's is its own
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self.previous = signal.signal(signal.SIGINT, self)

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def uninstall(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def _train(cfg: TrainConfig, resume: str | None, after_replays, world: World) -> Path:
    import torch

    from .policy import make_policy
    from .puffer import resolve_compute_dtype
    from .wandb_sink import WandbSink

    state = open_shared(cfg, resume, world)
    cfg, run, run_dir, leader = state.config, state.run, state.run_dir, world.leader
    rank_seed = cfg.seed + RANK_SEED_STRIDE * world.rank
    torch.manual_seed(rank_seed + state.next_window)
    torch.set_num_threads(cfg.torch_threads)  # 2 threads on 2 shared cores: 5-10x slower (benchmarks.md)
    evaluators = sink = None
    if leader:
        evaluators = EvaluatorPool(run_dir, cfg.eval_episodes, on_replays=after_replays_hook(after_replays, run_dir))
        for window_id in state.pending_evals:  # windows a crash left without a replay
            evaluators.start(window_id)
        sink = WandbSink(cfg, run_dir, state.run_id)
    vecenv = trainer = None
    reason = "error"
    ctrl_c = CtrlC()
    try:
        payload = {
            "config": {"train": cfg.to_dict(), "env": state.env_config},
            "git_sha": runs.git_short_sha(),
            "versions": versions() if leader else {},
            "wandb_url": sink.url if leader else None,
            "world_size": world.size,
            # what compute_dtype (auto) chose on this machine, and why (pipeline/puffer.py)
            "compute_dtype": resolve_compute_dtype(cfg.compute_dtype, world.device),
        }
        if resume is None:
            run.start(**payload)
        else:
            run.resumed(from_window=state.next_window, env_steps_total=state.global_step, **payload)

        # Steps are counted in total over the ranks (the log's env_steps_total); every rank
        # collects the same number per batch, so this rank's share is the total / ranks.
        local_start = state.global_step // world.size
        local_planned = max(1, cfg.planned_steps // world.size)
        vecenv = make_vecenv(cfg, state.env_config, threads=env_threads_for(cfg, world.local_size))
        tap = EpisodeTap(vecenv, cfg.reward_scale, cfg.reward_scale_end, local_planned, local_start)
        policy = make_policy(cfg.policy, cfg.hidden_size, vecenv.driver_env, cfg.action_mask).to(world.device)
        trainer = make_trainer_class(cfg.dashboard)(
            puffer_config(cfg, seed=rank_seed, total_timesteps=local_planned, device=world.device),
            tap,
            distributed.wrap_policy(policy, world),
            logger=LastLogs(),
            distributed=world.distributed,
        )
        if evaluators is not None:
            evaluators.say = trainer.note
        ctrl_c.install()  # after make_trainer_class: importing PuffeRL resets SIGINT's handler
        if state.checkpoint is not None:
            policy.load_state_dict(state.checkpoint["policy"])
            trainer.optimizer.load_state_dict(state.checkpoint["optimizer"])
            trainer.scheduler.load_state_dict(state.checkpoint["scheduler"])
            trainer.epoch = state.checkpoint["epoch"]
        trainer.global_step = local_start
        trace = RankTrace(run_dir, world, policy) if os.environ.get(TRACE_ENV) else None
        if trace:
            trace.write("start", trainer.epoch)

        window_id = state.next_window
        windows_done = 0
        total = state.global_step
        window_end = total + cfg.window_steps
        window_start_time = time.perf_counter()
        window_start_step = trainer.global_step
        tap.episodes.clear()
        while not _finished(cfg, windows_done, total):
            trainer.evaluate()
            trainer.train()
            ctrl_c.check()
            total = state.global_step + world.size * (trainer.global_step - local_start)
            if trace:
                trace.write("update", trainer.epoch)
            if total >= window_end:
                if trace:
                    trace.write("window", trainer.epoch, window_id=window_id, episodes=len(tap.episodes))
                wall = time.perf_counter() - window_start_time
                close_window(
                    cfg,
                    state,
                    trainer,
                    policy,
                    window_id,
                    tap.episodes,
                    wall,
                    trainer.global_step - window_start_step,
                    sink,
                    world,
                    total,
                )
                if leader:
                    evaluators.start(window_id)
                world.hold(lambda: leader and evaluators.backlogged(run, sink, cfg.eval_backlog_max))
                tap.episodes.clear()
                window_id += 1
                windows_done += 1
                window_end += cfg.window_steps
                window_start_time = time.perf_counter()
                window_start_step = trainer.global_step
            if leader:
                evaluators.poll(run, sink)
        reason = "completed"
    except KeyboardInterrupt:
        reason = "interrupted"
        raise
    except Exception as exc:
        reason = f"error: {type(exc).__name__}: {exc}"
        raise
    finally:
        ctrl_c.uninstall()
        if trainer is not None:
            trainer.shutdown()  # the utilisation thread stops, the terminal is the user's again
        if vecenv is not None:
            vecenv.close()
        if leader:
            evaluators.say = None
            evaluators.wait(run, sink, timeout=None if reason == "completed" else 0)
            try:
                run.project()
                sink.finish(run_dir)
            finally:
                run.finish(reason)  # then the projections cover every event of the log
                run.close()
                if evaluators.on_replays is not None:
                    evaluators.on_replays()  # the site shows the run as finished
    return run_dir


def after_replays_hook(after_replays: Callable[[Path], None] | None, run_dir: Path):
    """The caller's hook bound to this run; a failing hook never stops training."""
    if after_replays is None:
        return None

    def call() -> None:
        try:
            after_replays(run_dir)
        except OSError as exc:
            print(f"after-replays hook failed: {exc}", file=sys.stderr, flush=True)

    return call


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


# ---------------------------------------------------------------- evaluators


class EvaluatorPool:
    """One ``prospector eval`` process per closed window; failures become eval_failed events.

    At most ``max_running`` run at once (each holds torch, ~0.5 GB); later windows queue.
    """

    def __init__(self, run_dir: Path, episodes: int, on_replays=None, max_running: int = 2):
        self.run_dir = run_dir
        self.episodes = episodes
        self.on_replays = on_replays  # called after new replay_recorded events (site rebuild)
        self.running: dict[int, tuple[subprocess.Popen, Path]] = {}
        self.queued: list[int] = []
        self.max_running = max_running
        self.seen_seq = -1
        self.seen_size = -1
        self.say = None  # the trainer's note() while it runs (its dashboard); else stderr
        self.waiting_since = None  # the backlog wait in progress

    def tell(self, line: str) -> None:
        if self.say is not None:
            self.say(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def command(self, window_id: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "prospector.cli",
            "eval",
            "--runs-dir",
            str(self.run_dir.parent),
            "--run",
            self.run_dir.name,
            "--window",
            str(window_id),
            "--episodes",
            str(self.episodes),
        ]

    def start(self, window_id: int) -> None:
        if len(self.running) >= self.max_running:
            self.queued.append(window_id)
        else:
            self._spawn(window_id)

    def _spawn(self, window_id: int) -> None:
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"eval_{window_id:06d}.log"
        repo = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                self.command(window_id),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=lambda: os.nice(5),
            )
        self.running[window_id] = (proc, log_path)

    def poll(self, run: Run, sink, block: bool = False, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for window_id, (proc, log_path) in list(self.running.items()):
            try:
                rc = (
                    proc.wait(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
                    if block
                    else proc.poll()
                )
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            if rc is None:
                continue
            del self.running[window_id]
            if rc != 0:
                error = f"evaluator exited with code {rc}; log: {runs.rel_to_run(self.run_dir, log_path)}"
                self.tell(f"window {window_id}: {error}")
                run.record_eval_failure(window_id, error)
        while (
            self.queued and len(self.running) < self.max_running and (deadline is None or time.monotonic() < deadline)
        ):
            self._spawn(self.queued.pop(0))
        self._sync_replays(run, sink)

    def backlogged(self, run: Run, sink, max_queued: int) -> bool:
        """True while more than ``max_queued`` windows wait for an evaluator (0: never);
        polls the evaluators. Every window must get its replay, so when the evaluators fall
        behind (a starved machine, very long eval episodes) training waits for them
        (``World.hold``) rather than let the backlog grow without bound."""
        if max_queued > 0 and len(self.queued) > max_queued:
            if self.waiting_since is None:
                self.waiting_since = time.monotonic()
                self.tell(
                    f"waiting for the evaluators: {len(self.queued)} windows queued (eval_backlog_max {max_queued})"
                )
            self.poll(run, sink)
            return len(self.queued) > max_queued
        self.waiting_since = None
        return False

    def wait(self, run: Run, sink, timeout: float | None) -> None:
        """Until every started and queued evaluator is done (or ``timeout``: the rest are
        killed or dropped; a resume evaluates windows left without a replay)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll(
                run, sink, block=True, timeout=None if deadline is None else max(0.0, deadline - time.monotonic())
            )
            if not self.running and (not self.queued or (deadline is not None and time.monotonic() >= deadline)):
                break
        self.queued.clear()

    def _sync_replays(self, run: Run, sink) -> None:
        """New replay_recorded events go to W&B as artifacts (and to the projections)."""
        size = runs.events_path(self.run_dir).stat().st_size
        if size == self.seen_size:  # polled every iteration: read the log only when it grew
            return
        self.seen_size = size
        new = run.refresh().since(self.seen_seq)
        if not new:
            return
        self.seen_seq = new[-1]["seq"]
        recorded = [e for e in new if isinstance(e, ReplayRecorded)]
        if recorded:
            run.project()
        for event in recorded:
            sink.log_replay(self.run_dir, event)
        for event in new:
            if isinstance(event, ReplayVideo):  # train --wandb-video (evaluator.video_recorder)
                sink.log_video(self.run_dir, event)
        if recorded and self.on_replays is not None:
            self.on_replays()
