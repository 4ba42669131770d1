"""Training in windows with PufferLib's own PPO trainer (``pufferlib.pufferl.PuffeRL``).

Read it top to bottom: ``train()`` opens (or resumes) a run, builds the vector env,
the policy and PuffeRL, then alternates PuffeRL's ``evaluate()`` (collect a batch) and
``train()`` (one PPO update).  Every ``window_steps`` env steps it closes a window:

1. aggregate the episodes that finished in the window into the window row,
2. save ``checkpoints/ckpt_{window_id}.pt`` atomically, append ``checkpoint_saved``,
3. append ``window_closed`` (the row), log it to W&B,
4. start the evaluator for that window in its own process (replays, never in this loop).

The event log is the only record; everything else is rebuilt from it.
"""

from __future__ import annotations

from collections.abc import Callable

import hashlib
import io
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prospector import spec as S

from . import runs
from .config import TrainConfig
from .eventlog import EventLog, read_events
from .projections import update_projections


class TrainError(RuntimeError):
    """A user-facing failure (bad resume, locked run): printed without a traceback."""


# ------------------------------------------------------------------ episodes


class EpisodeTap:
    """Wraps the vector env PuffeRL drives: keeps every finished episode's info, and
    multiplies the rewards PuffeRL learns from by a scale.

    Why a scale: PuffeRL clips each step's reward to [-1, 1] before learning. The game's
    rewards reach ±20 for a sale or a purchase, −50 for stranding and −100 for
    destruction; clipped, a 20,000-credit sale counts as much as a 1,000-credit one and
    losing the ship costs as little as one sale. A scale below 1 lets the learner see
    more of the game's true trade-offs. ``reward_scale`` is the scale at the start and
    ``reward_scale_end`` (if set) the scale at the end of the planned steps, reached
    geometrically (see results.md for why a schedule: a small scale from the start makes
    dying the only thing the learner notices, and it learns to sit still). The env, its
    reward and the window metrics (from the episode infos) are untouched.
    """

    def __init__(self, vecenv, reward_scale: float = 1.0, reward_scale_end: float | None = None,
                 planned_steps: int = 1, first_step: int = 0):
        self.vecenv = vecenv
        self.start, self.end = reward_scale, reward_scale if reward_scale_end is None else reward_scale_end
        self.planned_steps = max(1, planned_steps)
        self.step = first_step          # env steps received so far (PuffeRL's global_step)
        self.episodes: list[dict] = []

    def scale(self) -> float:
        progress = min(1.0, self.step / self.planned_steps)
        return self.start * (self.end / self.start) ** progress

    def recv(self):
        out = self.vecenv.recv()
        self.episodes.extend(info for info in out[5] if "episode_return" in info)
        scale = self.scale()
        self.step += len(out[1])
        if scale != 1.0:
            out = (out[0], out[1] * np.float32(scale), *out[2:])
        return out

    def __getattr__(self, name):
        return getattr(self.vecenv, name)


def _mean(values) -> float | None:
    return float(np.mean(values)) if len(values) else None


def window_row(episodes: list[dict]) -> dict:
    """SYSTEM.md section 5 metrics over the episodes that finished in a window."""
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


# ------------------------------------------------------------- PufferLib glue


def puffer_config(cfg: TrainConfig) -> dict:
    """The plain config dict PuffeRL reads (pufferlib-core ships no .ini files)."""
    return {
        "env": "prospector", "seed": cfg.seed, "torch_deterministic": True, "device": cfg.device,
        "cpu_offload": False, "compile": False, "compile_mode": "default", "compile_fullgraph": False,
        "precision": "float32", "optimizer": "adam", "learning_rate": cfg.learning_rate,
        "anneal_lr": True, "adam_beta1": 0.95, "adam_beta2": 0.999, "adam_eps": 1e-12,
        "total_timesteps": cfg.planned_steps, "batch_size": cfg.batch_size,
        "bptt_horizon": cfg.bptt_horizon, "minibatch_size": cfg.minibatch_size,
        "max_minibatch_size": cfg.minibatch_size, "update_epochs": cfg.update_epochs,
        "gamma": cfg.gamma, "gae_lambda": cfg.gae_lambda, "clip_coef": cfg.clip_coef,
        "vf_coef": cfg.vf_coef, "vf_clip_coef": 0.2, "ent_coef": cfg.ent_coef,
        "max_grad_norm": cfg.max_grad_norm, "vtrace_rho_clip": 1.0, "vtrace_c_clip": 1.0,
        "prio_alpha": 0.0, "prio_beta0": 1.0,  # alpha 0: uniform minibatches (plain PPO)
        "use_rnn": cfg.policy == "lstm", "checkpoint_interval": 1 << 30, "data_dir": "unused",
    }


def _keep_ctrl_c() -> None:
    """Importing pufferlib.pufferl makes SIGINT ``os._exit(0)``: Ctrl-C (or a soak's stop)
    ended the run with status 0, no run_finished, no final projections and its evaluators
    orphaned (found by the soak). Put Python's KeyboardInterrupt back so train() cleans up."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def make_trainer_class(dashboard: bool):
    import warnings

    from pufferlib.pufferl import PuffeRL
    _keep_ctrl_c()
    # PuffeRL opens a float32 autocast context; on the CPU torch warns that it is a no-op.
    warnings.filterwarnings("ignore", message="In CPU autocast, but the target dtype is not supported")

    class WindowedPuffeRL(PuffeRL):
        """PuffeRL whose checkpoints are ours (per window, atomic, in the event log)."""

        def save_checkpoint(self):
            return None

        def print_dashboard(self, *args, **kwargs):
            if dashboard:
                super().print_dashboard(*args, **kwargs)

    return WindowedPuffeRL


class LastLogs:
    """PuffeRL's logger hook: we only keep the newest logs (W&B is logged per window)."""

    run_id = "prospector"

    def __init__(self):
        self.logs: dict = {}

    def log(self, logs, step):
        self.logs = logs

    def close(self, model_path):
        pass


_forking_env_workers_for: int | None = None     # the trainer's pid while it forks env workers


def _env_worker_dies_with_trainer() -> None:
    """(In every forked child.) PufferLib's multiprocessing workers poll shared memory
    forever and never notice that the trainer died (kill -9): ask Linux to kill them with it."""
    if _forking_env_workers_for is None:
        return
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return      # not Linux: the workers outlive a killed trainer, as before
    if os.getppid() != _forking_env_workers_for:
        os._exit(1)     # the trainer died before the request took effect


os.register_at_fork(after_in_child=_env_worker_dies_with_trainer)


def make_vecenv(cfg: TrainConfig, env_config: dict):
    import pufferlib.vector

    from prospector.vector import VecProspector
    global _forking_env_workers_for
    backend = pufferlib.vector.Multiprocessing if cfg.backend == "multiprocessing" else pufferlib.vector.Serial
    _forking_env_workers_for = os.getpid()
    try:
        return pufferlib.vector.make(
            VecProspector, backend=backend, num_envs=cfg.workers, num_workers=cfg.workers,
            env_kwargs={"num_envs": cfg.envs // cfg.workers, "config": env_config}, seed=cfg.seed)
    finally:
        _forking_env_workers_for = None


# --------------------------------------------------------------- run opening


@dataclass
class RunState:
    run_dir: Path
    run_id: str
    log: EventLog
    next_window: int = 0
    global_step: int = 0
    checkpoint: dict | None = None
    config: TrainConfig | None = None
    env_config: dict = field(default_factory=dict)
    pending_evals: list[int] = field(default_factory=list)   # closed windows with no replay yet


def versions() -> dict:
    import pufferlib
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__,
            "pufferlib": getattr(pufferlib, "__version__", "unknown"), "numpy": np.__version__,
            "prospector": __import__("prospector").__version__}


def open_run(cfg: TrainConfig, resume: str | None) -> RunState:
    """A new run directory, or an existing one to continue from its last closed window."""
    env_config = S.make_config(time_max=cfg.time_max)
    if resume is None:
        try:
            run_dir = runs.create_run_dir(cfg.runs_dir, cfg.run_id)
        except FileExistsError:
            run_dir = runs.run_dir(cfg.run_id, cfg.runs_dir)
            if read_events(run_dir).events:
                raise TrainError(f"run {cfg.run_id!r} already exists in {cfg.runs_dir}/; "
                                 f"use --resume {cfg.run_id} to continue it") from None
            # a trainer died before the run's first event: the run never started, start it here
            for sub in (runs.CHECKPOINTS_DIR, runs.REPLAYS_DIR, runs.METRICS_DIR):
                (run_dir / sub).mkdir(exist_ok=True)
        log = EventLog.open(run_dir)
        if len(read_events(run_dir)):   # another trainer started it in the meantime
            log.close()
            raise TrainError(f"run {cfg.run_id!r} already exists in {cfg.runs_dir}/; "
                             f"use --resume {cfg.run_id} to continue it")
        return RunState(run_dir, run_dir.name, log, config=cfg, env_config=env_config)

    try:
        run_dir = runs.run_dir(resume, cfg.runs_dir)
    except ValueError as exc:
        raise TrainError(str(exc)) from None
    if not (run_dir / runs.EVENTS_FILE).is_file():
        raise TrainError(f"cannot resume {resume!r}: no event log at {run_dir / runs.EVENTS_FILE}")
    log = EventLog.open(run_dir)  # takes the writer lock; repairs a torn tail
    try:
        events = list(read_events(run_dir))
        started = next((e for e in events if e["type"] == "run_started"), None)
        if started is None:
            raise TrainError(f"cannot resume {resume!r}: its log has no run_started event"
                             + ("" if events else f" (it never started: start it with --run-id {resume})"))
        closed = [e for e in events if e["type"] == "window_closed"]
        state = RunState(run_dir, log.run_id, log, env_config=started["config"]["env"])
        # A kill between a window's checkpoint_saved and its window_closed leaves a
        # checkpoint that no row covers. Training again from the window before would
        # rewrite that file under the event's sha256; so resume from it instead and close
        # its window with a row marked recovered (the episode metrics died with the process).
        orphan = [e for e in events if e["type"] == "checkpoint_saved"
                  and e["window_id"] > (closed[-1]["window_id"] if closed else -1)]
        if closed or orphan:
            last = orphan[-1]["window_id"] if orphan else closed[-1]["window_id"]
            saved = [e for e in events if e["type"] == "checkpoint_saved" and e["window_id"] == last]
            if not saved:
                raise TrainError(f"cannot resume {resume!r}: window {last} has no checkpoint_saved event")
            path = run_dir / saved[-1]["path"]
            if not path.is_file():
                raise TrainError(f"cannot resume {resume!r}: checkpoint {path} is missing")
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != saved[-1]["sha256"]:
                raise TrainError(f"cannot resume {resume!r}: checkpoint {path} does not match its sha256")
            import torch
            state.checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
            state.next_window = last + 1
            state.global_step = int(state.checkpoint["global_step"]) if orphan else closed[-1]["env_steps_total"]
        # The run keeps its own settings; only how long to train and where may change.
        original = dict(started["config"]["train"])
        original.setdefault("action_mask", False)   # runs from before the policy had a mask
        for name in ("windows", "total_steps", "wandb", "dashboard", "site", "deploy", "device", "backend", "workers"):
            original[name] = getattr(cfg, name)
        original["run_id"] = state.run_id
        state.config = TrainConfig(**original).validate()
        if orphan:
            log.append("window_closed", **recovered_row(last, state.global_step))
            closed.append({"window_id": last})
        evaluated = {e["window_id"] for e in events if e["type"] == "replay_recorded"}
        state.pending_evals = [e["window_id"] for e in closed if e["window_id"] not in evaluated]
        return state
    except BaseException:
        log.close()
        raise


def recovered_row(window_id: int, env_steps_total: int) -> dict:
    """The row of a window whose checkpoint was saved but whose process died before its
    row: what the checkpoint knows, null for the metrics that died with the process."""
    from .eventlog import LOSS_KEYS, WINDOW_METRICS
    row = {key: None for key in WINDOW_METRICS + LOSS_KEYS}
    row.update(window_id=window_id, env_steps_total=env_steps_total, recovered=True)
    return row


# ------------------------------------------------------------------ training


def train(cfg: TrainConfig, resume: str | None = None, after_replays: Callable[[Path], None] | None = None) -> Path:
    """Train until cfg.windows more windows are closed (or cfg.total_steps); returns the run dir.

    ``after_replays(run_dir)`` runs after new replays are logged and when the run ends; the
    command line passes the site rebuild of ``--site`` here (the site is a layer above the
    trainer, so the trainer only calls what it is given: docs/architecture.md)."""
    import torch

    from .policy import install_fast_sampler, make_policy
    from .wandb_sink import WandbSink

    state = open_run(cfg, resume)
    cfg, log, run_dir = state.config, state.log, state.run_dir
    torch.manual_seed(cfg.seed + state.next_window)
    torch.set_num_threads(cfg.torch_threads)   # 2 threads on 2 shared cores: 5-10x slower (benchmarks.md)
    evaluators = EvaluatorPool(run_dir, cfg.eval_episodes, on_replays=after_replays_hook(after_replays, run_dir))
    for window_id in state.pending_evals:    # windows a crash left without a replay
        evaluators.start(window_id)
    sink = WandbSink(cfg, run_dir, state.run_id)
    vecenv = trainer = None
    reason = "error"
    try:
        payload = {"config": {"train": cfg.to_dict(), "env": state.env_config}, "git_sha": runs.git_short_sha(),
                   "versions": versions(), "wandb_url": sink.url}
        if resume is None:
            log.append("run_started", **payload)
        else:
            log.append("run_resumed", from_window=state.next_window, env_steps_total=state.global_step, **payload)

        vecenv = make_vecenv(cfg, state.env_config)
        tap = EpisodeTap(vecenv, cfg.reward_scale, cfg.reward_scale_end, cfg.planned_steps, state.global_step)
        policy = make_policy(cfg.policy, cfg.hidden_size, vecenv.driver_env, cfg.action_mask).to(cfg.device)
        install_fast_sampler()
        trainer = make_trainer_class(cfg.dashboard)(puffer_config(cfg), tap, policy, logger=LastLogs())
        if state.checkpoint is not None:
            policy.load_state_dict(state.checkpoint["policy"])
            trainer.optimizer.load_state_dict(state.checkpoint["optimizer"])
            trainer.scheduler.load_state_dict(state.checkpoint["scheduler"])
            trainer.epoch = state.checkpoint["epoch"]
        trainer.global_step = state.global_step

        window_id = state.next_window
        windows_done = 0
        window_end = trainer.global_step + cfg.window_steps
        window_start_time = time.perf_counter()
        window_start_step = trainer.global_step
        tap.episodes.clear()
        while not _finished(cfg, windows_done, trainer.global_step):
            trainer.evaluate()
            trainer.train()
            if trainer.global_step >= window_end:
                wall = time.perf_counter() - window_start_time
                close_window(cfg, state, trainer, policy, window_id, tap.episodes, wall,
                             trainer.global_step - window_start_step, sink)
                evaluators.start(window_id)
                evaluators.throttle(log, sink, cfg.eval_backlog_max)
                tap.episodes.clear()
                window_id += 1
                windows_done += 1
                window_end += cfg.window_steps
                window_start_time = time.perf_counter()
                window_start_step = trainer.global_step
            evaluators.poll(log, sink)
        reason = "completed"
    except KeyboardInterrupt:
        reason = "interrupted"
        raise
    except Exception as exc:
        reason = f"error: {type(exc).__name__}: {exc}"
        raise
    finally:
        if trainer is not None:
            # PuffeRL's CPU/GPU utilisation thread is not a daemon and only PuffeRL.close()
            # (which also writes PufferLib's own checkpoint) stops it; left running, it
            # keeps the interpreter from exiting.
            trainer.utilization.stop()
        if vecenv is not None:
            vecenv.close()
        evaluators.wait(log, sink, timeout=None if reason == "completed" else 0)
        try:
            update_projections(run_dir)
            sink.finish(run_dir)
        finally:
            log.append("run_finished", reason=reason)
            update_projections(run_dir)  # the projections cover every event of the log
            log.close()
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


def close_window(cfg, state: RunState, trainer, policy, window_id: int, episodes: list[dict],
                 wall: float, steps: int, sink) -> None:
    """Checkpoint, then the window row: both in the log before the evaluator starts."""
    import torch

    t0 = time.perf_counter()
    buffer = io.BytesIO()
    torch.save({
        "policy": policy.state_dict(), "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict(), "epoch": trainer.epoch,
        "global_step": trainer.global_step, "window_id": window_id, "policy_kind": cfg.policy,
        "hidden_size": cfg.hidden_size, "action_mask": cfg.action_mask, "env_config": state.env_config, "train_config": cfg.to_dict(),
    }, buffer)
    path = runs.checkpoint_path(state.run_dir, window_id)
    size, digest = runs.atomic_write(path, buffer.getvalue())
    state.log.append("checkpoint_saved", window_id=window_id, path=runs.rel_to_run(state.run_dir, path),
                     bytes=size, sha256=digest)
    losses = trainer.losses or {}
    row = {"window_id": window_id, "env_steps_total": trainer.global_step, **window_row(episodes),
           "sps": steps / wall if wall > 0 else None, "wall_seconds": wall,
           **{k: losses.get(k) for k in ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")},
           "explained_variance": losses.get("explained_variance")}
    row["close_seconds"] = time.perf_counter() - t0
    state.log.append("window_closed", **row)
    update_projections(state.run_dir)
    sink.log_window(row)
    sink.log_checkpoint(path, window_id)
    print(f"window {window_id} closed: {trainer.global_step:,} steps, {row['episodes']} episodes, "
          f"return {_fmt(row['return_mean'])}, net profit {_fmt(row['net_profit_mean'])}, "
          f"{_fmt(row['sps'], 0)} steps/s", file=sys.stderr, flush=True)


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
        self.on_replays = on_replays      # called after new replay_recorded events (site rebuild)
        self.running: dict[int, tuple[subprocess.Popen, Path]] = {}
        self.queued: list[int] = []
        self.max_running = max_running
        self.seen_seq = -1
        self.seen_size = -1

    def command(self, window_id: int) -> list[str]:
        return [sys.executable, "-m", "prospector.cli", "eval", "--runs-dir", str(self.run_dir.parent),
                "--run", self.run_dir.name, "--window", str(window_id), "--episodes", str(self.episodes)]

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
            proc = subprocess.Popen(self.command(window_id), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, preexec_fn=lambda: os.nice(5))
        self.running[window_id] = (proc, log_path)

    def poll(self, log: EventLog, sink, block: bool = False, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for window_id, (proc, log_path) in list(self.running.items()):
            try:
                rc = proc.wait(timeout=None if deadline is None else max(0.0, deadline - time.monotonic())) \
                    if block else proc.poll()
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            if rc is None:
                continue
            del self.running[window_id]
            if rc != 0:
                error = f"evaluator exited with code {rc}; log: {runs.rel_to_run(self.run_dir, log_path)}"
                print(f"window {window_id}: {error}", file=sys.stderr, flush=True)
                log.append("eval_failed", window_id=window_id, error=error)
        while self.queued and len(self.running) < self.max_running and \
                (deadline is None or time.monotonic() < deadline):
            self._spawn(self.queued.pop(0))
        self._sync_replays(sink)

    def throttle(self, log: EventLog, sink, max_queued: int) -> float:
        """Block while more than ``max_queued`` windows wait for an evaluator (0: never
        block); returns the seconds waited. Every window must get its replay, so when the
        evaluators fall behind (a starved machine, very long eval episodes) training waits
        for them rather than let the backlog grow without bound."""
        if max_queued <= 0 or len(self.queued) <= max_queued:
            return 0.0
        t0 = time.monotonic()
        print(f"waiting for the evaluators: {len(self.queued)} windows queued (eval_backlog_max "
              f"{max_queued})", file=sys.stderr, flush=True)
        while len(self.queued) > max_queued:
            time.sleep(0.2)
            self.poll(log, sink)
        return time.monotonic() - t0

    def wait(self, log: EventLog, sink, timeout: float | None) -> None:
        """Until every started and queued evaluator is done (or ``timeout``: the rest are
        killed or dropped; a resume evaluates windows left without a replay)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll(log, sink, block=True,
                      timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            if not self.running and (not self.queued or (deadline is not None and time.monotonic() >= deadline)):
                break
        self.queued.clear()

    def _sync_replays(self, sink) -> None:
        """New replay_recorded events go to W&B as artifacts (and to the projections)."""
        size = runs.events_path(self.run_dir).stat().st_size
        if size == self.seen_size:        # polled every iteration: read the log only when it grew
            return
        self.seen_size = size
        new = [e for e in read_events(self.run_dir) if e["seq"] > self.seen_seq]
        if not new:
            return
        self.seen_seq = new[-1]["seq"]
        recorded = [e for e in new if e["type"] == "replay_recorded"]
        if recorded:
            update_projections(self.run_dir)
        for event in recorded:
            sink.log_replay(self.run_dir, event)
        for event in new:
            if event["type"] == "replay_video":      # train --wandb-video (evaluator.video_recorder)
                sink.log_video(self.run_dir, event)
        if recorded and self.on_replays is not None:
            self.on_replays()
