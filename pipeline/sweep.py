"""``prospector sweep``: PufferLib's sweep methods over a search space, every trial a run.

Read it top to bottom: a sweep opens (or resumes) its own append-only log
``runs/sweeps/{sweep_id}/events.jsonl`` (the run store's event log, pipeline/store/log.py:
same append, fsync and writer lock), builds the optimiser of ``pufferlib.sweep``
(Protein, Random, ParetoGenetic) over the space (pipeline/sweep_space.py), then:

1. asks the optimiser for a trial's settings (``suggest(fill)``) and logs ``trial_suggested``
   (the first trial is the search centre: the defaults);
2. trains the trial as a normal run ``{sweep_id}-t{n:03d}`` with ``prospector train`` in
   its own process group (W&B group and experiment: the sweep id; the sweep's showcase seed);
3. scores its last checkpoint on the validation seeds (pipeline/sweep_score.py, its own
   process) and logs ``trial_finished`` with the score and its cost, then ``observe()``\\s it;
   or logs ``trial_failed`` with the reason (a crash, NaN losses, a failed scoring) and goes on.

``parallel`` trials run at once. A trial far below the front is stopped early
(docs/tuning.md#early-stopping) and scored where it stopped. ``--resume`` rebuilds the
optimiser from the log alone (every ``trial_finished`` observed once, in log order) and
continues the trials that were running (``trial_resumed``: their runs resume from their
last closed window), so a kill -9 loses no finished trial and counts none twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .store import events as E
from .store import layout as runs
from .store.log import CorruptLogError, EventLog, RunLockedError
from .store.run import Run
from .store.sweeps import (
    SweepError,
    SweepRecord,
    TrialRecord,
    append_event,
    read_sweep,
    sweep_path,
    sweeps_root,
    trial_rows,
)
from .sweep_space import Space

POLL_SECONDS = 0.5
#: How long interrupted trials get to stop on their own before they are killed.
STOP_GRACE_SECONDS = 60


# ------------------------------------------------------------------ names (paths: store/sweeps.py)


def trial_run_id(sweep_id: str, trial: int) -> str:
    return f"{sweep_id}-t{trial:03d}"


def default_showcase_seed(sweep_id: str) -> int:
    """The one world every trial of a sweep also plays (docs/site.md#timelapse)."""
    return int.from_bytes(hashlib.sha256(f"sweep-showcase|{sweep_id}".encode()).digest()[:8], "little")


# ------------------------------------------------------------------ early stopping


def early_stop_proxy(row: dict) -> float | None:
    """A window row's stand-in for the score: the mean net profit of its training episodes
    (docs/tuning.md#early-stopping: times survival it is 0 for every trial of a young sweep)."""
    profit = row.get("net_profit_mean")
    return None if profit is None else float(profit)


def early_stop_reason(row: dict, finished: list[float | None], min_trials: int) -> str | None:
    """Why a trial stops at this window row (docs/tuning.md#early-stopping), or None: its
    stand-in score is below that of every finished trial at the same window, and at least
    ``min_trials`` of them have one."""
    mine = early_stop_proxy(row)
    others = [p for p in finished if p is not None]
    if mine is None or len(others) < min_trials or mine >= min(others):
        return None
    return (
        f"window {row['window_id']}: mean net profit {mine:,.0f} is below all {len(others)} "
        f"finished trials' (lowest {min(others):,.0f})"
    )


# ------------------------------------------------------------------ the optimiser


def make_optimizer(space: Space):
    """``pufferlib.sweep.<method>(config)``; PufferLib's prints go to stderr."""
    import pufferlib.sweep as PS
    import torch

    torch.set_num_threads(1)  # the optimiser's GP fits share the cores with the trials
    method = getattr(PS, space.settings["method"], None)
    if method is None:
        raise SweepError(f"pufferlib.sweep has no method {space.settings['method']!r}")
    with contextlib.redirect_stdout(io.StringIO()):
        return method(space.puffer_config())


def seed_everything(seed: int) -> None:
    """PufferLib's methods draw from random, numpy and torch (pufferlib/sweep.py)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def suggest(optimizer, space: Space, trial: int, observed: int) -> tuple[dict, dict]:
    """The settings of trial ``trial``: the centre first, then the optimiser's choice (a
    random draw around the centre while nothing is observed yet: Protein and
    ParetoGenetic would suggest the centre again)."""
    if trial == 0:
        return space.centre(), {"centre": True}
    seed_everything(space.settings["seed"] * 1_000_003 + trial)
    fill = {e.name: None for e in space.entries}
    with contextlib.redirect_stdout(io.StringIO()):
        if observed:
            raw, info = optimizer.suggest(fill)
        else:
            params = optimizer.hyperparameters
            raw, info = params.to_dict(params.sample(1)[0], fill), {}
    settings = {e.name: e.to_setting(raw[e.name]) for e in space.entries}
    return settings, {k: float(v) for k, v in (info or {}).items() if isinstance(v, (int, float))}


def observe(optimizer, space: Space, settings: dict, score: float, cost: float) -> None:
    raw = {e.name: e.to_raw(settings[e.name]) for e in space.entries}
    with contextlib.redirect_stdout(io.StringIO()):
        optimizer.observe(raw, score, max(cost, 1e-9))


class Suggestion(threading.Thread):
    """``suggest()`` in a thread of its own; the optimiser is not touched meanwhile."""

    def __init__(self, optimizer, space: Space, trial: int, observed: int):
        super().__init__(daemon=True, name=f"suggest-{trial}")
        self.args = (optimizer, space, trial, observed)
        self.trial = trial
        self.result: tuple[dict, dict] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = suggest(*self.args)
        except BaseException as exc:  # raised again by the sweep's own thread
            self.error = exc


# ------------------------------------------------------------------ processes


_PR_SET_PDEATHSIG = 1
_LIBC: list = []  # libc, loaded in the sweep's process: never load a library in a forked child


def _load_libc() -> None:
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)


def _die_with_sweep() -> None:
    """``preexec_fn`` of a trial: the kernel kills it when the sweep dies (kill -9 too),
    so a resumed sweep never finds its trial's run still held by an orphan."""
    if _LIBC and _LIBC[0] is not None:
        _LIBC[0].prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)


def _child_env() -> dict:
    repo = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}


def last_line(path: Path, limit: int = 300) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:limit] if lines else ""


@dataclass
class Running:
    """A trial with a process: training, then scoring."""

    record: TrialRecord
    proc: subprocess.Popen
    phase: str  # "train" or "score"
    log_path: Path
    stop_reason: str | None = None
    checked: set = field(default_factory=set)


# ------------------------------------------------------------------ the driver


class Sweep:
    def __init__(self, record: SweepRecord, log: EventLog, runs_dir, sweep_dir: Path, wandb: bool, say):
        self.record, self.log, self.runs_dir, self.dir = record, log, Path(runs_dir), sweep_dir
        self.space = Space.from_dict(record.space)  # the recorded space, with a resume's overrides
        self.settings = self.space.settings
        self.say = say
        self.optimizer = make_optimizer(self.space)
        self.observed: list[int] = []
        self.suggesting: Suggestion | None = None
        self.deferred: list[TrialRecord] = []  # finished while a suggestion was being made
        self.active: list[Running] = []
        self.stopping = False
        self.session_start = time.monotonic()
        self.earlier_seconds = record.sweep_seconds
        self.wandb = SweepWandb(sweep_dir, record, self.runs_dir) if wandb else None
        for trial in record.in_order():  # the optimiser sees every finished trial once, in log order
            if trial.status == "finished":
                self._observe(trial)

    def _observe(self, trial: TrialRecord) -> None:
        if self.suggesting is not None:  # the optimiser is busy in its thread: observed after
            self.deferred.append(trial)
            return
        observe(self.optimizer, self.space, trial.settings, trial.result["score"], trial.result["cost"])
        self.observed.append(trial.trial)

    def elapsed(self) -> float:
        return self.earlier_seconds + time.monotonic() - self.session_start

    def append(self, kind: type[E.SweepEvent], **payload) -> E.SweepEvent:
        return append_event(self.log, kind, sweep_seconds=round(self.elapsed(), 3), **payload)

    # -- budget
    def may_start(self) -> bool:
        if self.stopping or len(self.record.trials) >= self.settings["trials"]:
            return False
        hours = self.settings["hours"]
        return not hours or self.elapsed() < hours * 3600

    def run(self) -> str:
        """Until the budget is spent and every trial is done; returns why it ended."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        reason = "error"
        try:
            for trial in self.record.in_order():
                if trial.status == "running":  # a trial the last session did not see end
                    self.append(E.TrialResumed, trial=trial.trial, trial_run=trial.run_id)
                    trial.resumed += 1
                    self._launch(trial)
            while True:
                self._start_trials()
                if not self.active and (self.suggesting is None or self.stopping):
                    break  # a suggestion still in its thread when stopping is dropped
                self._poll()
                time.sleep(POLL_SECONDS)
            reason = "interrupted" if self.stopping else "budget"
        finally:
            if reason != "budget":
                self._stop_all()
                reason = "interrupted" if self.stopping else reason
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.append(E.SweepFinished, reason=reason, observed_trials=self.observed)
            if self.wandb is not None:
                self.wandb.finish()
        return reason

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self.say("sweep: stopping; the running trials stop too (continue with --resume)")
        self.stopping = True
        for running in self.active:
            _signal_group(running.proc, signal.SIGINT)

    def _stop_all(self) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for running in self.active:
            _signal_group(running.proc, signal.SIGINT)
        for running in self.active:
            try:
                running.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(running.proc, signal.SIGKILL)
                running.proc.wait()
        self.active.clear()

    # -- starting trials
    def _start_trials(self) -> None:
        """Start a trial when a slot is free. The optimiser suggests in a thread (Protein's
        GP fits take minutes on a busy machine), so the running trials are watched meanwhile."""
        if self.suggesting is not None:
            if self.suggesting.is_alive():
                return
            done, self.suggesting = self.suggesting, None
            for trial in self.deferred:
                self._observe(trial)
            self.deferred.clear()
            if done.error is not None:
                raise done.error
            if not self.stopping:
                self._new_trial(done.trial, *done.result)
        if len(self.active) < self.settings["parallel"] and self.may_start():
            self.suggesting = Suggestion(self.optimizer, self.space, len(self.record.trials), len(self.observed))
            self.suggesting.start()

    def _new_trial(self, n: int, settings: dict, info: dict) -> None:
        run_id = trial_run_id(self.record.sweep_id, n)
        self.append(E.TrialSuggested, trial=n, trial_run=run_id, settings=settings, default=n == 0, info=info)
        trial = TrialRecord(n, run_id, settings, default=n == 0)
        self.record.trials[n] = trial
        shown = ", ".join(f"{k}={_short(v)}" for k, v in settings.items())
        self.say(f"sweep: trial {n} ({run_id}): {shown}")
        self._launch(trial)

    def _launch(self, trial: TrialRecord) -> None:
        """Train the trial's run (fresh, or on from its last closed window), or score it when
        its training is already complete."""
        windows = self.settings["windows"]
        run_dir = self.runs_dir / trial.run_id
        try:
            run = Run.open(run_dir).refresh()
        except CorruptLogError as exc:
            return self._fail(trial, f"its run's log is damaged: {exc}")
        closed = len(run.of(E.WindowClosed))
        completed = any(end.reason == "completed" for end in run.of(E.RunFinished))
        if closed >= windows or (completed and closed):
            return self._score(Running(trial, None, "score", self._log_path(trial)))
        if run.started is not None:
            cmd = ["--resume", trial.run_id, "--windows", str(windows - closed)]
        else:
            cmd = [
                "--config",
                str(self._write_trial_config(trial)),
                "--run-id",
                trial.run_id,
                "--windows",
                str(windows),
            ]
            cmd += ["--window-steps", str(-(-self.settings["trial_steps"] // windows))]
            cmd += ["--experiment", self.record.sweep_id, "--showcase-seed", str(self.record.started["showcase_seed"])]
        cmd = [
            sys.executable,
            "-m",
            "prospector.cli",
            "train",
            *cmd,
            "--runs-dir",
            str(self.runs_dir),
            "--no-dashboard",
        ]
        if not self.record.started["wandb"]:
            cmd.append("--no-wandb")
        if self.settings["nproc"] > 1:
            cmd += ["--nproc", str(self.settings["nproc"])]
        self.active.append(Running(trial, self._spawn(cmd, self._log_path(trial)), "train", self._log_path(trial)))

    def _log_path(self, trial: TrialRecord) -> Path:
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        return logs / f"t{trial.trial:03d}.log"

    def _write_trial_config(self, trial: TrialRecord) -> Path:
        path = self.dir / "trials" / f"t{trial.trial:03d}.json"
        path.parent.mkdir(exist_ok=True)
        runs.atomic_write(path, json.dumps({**self.space.base, **trial.settings}, indent=1).encode())
        return path

    def _spawn(self, cmd: list[str], log_path: Path, stdout=None) -> subprocess.Popen:
        _load_libc()
        with open(log_path, "ab") as out:
            return subprocess.Popen(
                cmd,
                stdout=stdout or out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                env=_child_env(),
                start_new_session=True,  # its own group: an early stop signals the trainer and its ranks
                preexec_fn=_die_with_sweep,
            )

    # -- watching trials
    def _poll(self) -> None:
        for running in list(self.active):
            rc = running.proc.poll()
            if rc is None:
                if running.phase == "train":
                    self._check_early_stop(running)
                continue
            self.active.remove(running)
            if self.stopping:
                continue  # left without an outcome: --resume continues it
            if running.phase == "train":
                self._after_training(running, rc)
            else:
                self._after_scoring(running, rc)

    def _after_training(self, running: Running, rc: int) -> None:
        trial = running.record
        if rc != 0 and running.stop_reason is None:
            how = f"killed by signal {-rc}" if rc < 0 else f"exited with status {rc}"
            return self._fail(trial, f"training {how}: {last_line(running.log_path) or 'no output'}")
        rows = trial_rows(self.runs_dir, trial.run_id)
        nan = nan_windows(rows)
        if nan:
            return self._fail(trial, f"NaN losses in window {nan[0]} (policy or value loss not finite)")
        if not rows:
            return self._fail(trial, "training closed no window, so there is no checkpoint to score")
        self._score(running)

    def _score(self, running: Running) -> None:
        trial = running.record
        cmd = [sys.executable, "-m", "prospector.pipeline.sweep_score", str(self.runs_dir / trial.run_id)]
        cmd += ["--episodes", str(self.settings["validation_episodes"])]
        cmd += ["--time-max", str(self.settings["validation_time_max"])]
        running.proc = self._spawn(cmd, running.log_path, stdout=subprocess.PIPE)
        running.phase = "score"
        self.active.append(running)

    def _after_scoring(self, running: Running, rc: int) -> None:
        trial = running.record
        out = running.proc.stdout.read().decode("utf-8", "replace") if running.proc.stdout else ""
        running.proc.stdout and running.proc.stdout.close()
        try:
            result = json.loads(out.strip().splitlines()[-1]) if rc == 0 else None
        except (ValueError, IndexError):
            result = None
        if not isinstance(result, dict) or not _finite(result.get("score")):
            return self._fail(trial, f"validation failed: {last_line(running.log_path) or f'exit status {rc}'}")
        rows = trial_rows(self.runs_dir, trial.run_id)
        wall = sum(float(r.get("wall_seconds") or 0.0) for r in rows)
        steps = int(rows[-1]["env_steps_total"]) if rows else 0
        cost = wall if self.settings["cost"] == "wall_seconds" else float(steps)
        event = self.append(
            E.TrialFinished,
            trial=trial.trial,
            trial_run=trial.run_id,
            score=result["score"],
            cost=cost,
            cost_metric=self.settings["cost"],
            env_steps=steps,
            wall_seconds=wall,
            mean_net_profit=result["mean_net_profit"],
            survival_rate=result["survival_rate"],
            episodes=result["episodes"],
            window_id=result["window_id"],
            early_stopped=running.stop_reason is not None,
            stop_reason=running.stop_reason,
        )
        trial.status, trial.result = "finished", event
        self._observe(trial)
        self.say(
            f"sweep: trial {trial.trial} finished: score {result['score']:,.0f} (net profit "
            f"{result['mean_net_profit']:,.0f}, survival {result['survival_rate']:.0%}), "
            f"{steps:,} steps in {wall:,.0f} s" + (" (stopped early)" if running.stop_reason else "")
        )
        if self.wandb is not None:
            self.wandb.log_table()

    def _fail(self, trial: TrialRecord, reason: str) -> None:
        self.append(E.TrialFailed, trial=trial.trial, trial_run=trial.run_id, reason=reason)
        trial.status, trial.reason = "failed", reason
        self.say(f"sweep: trial {trial.trial} failed: {reason}")
        if self.wandb is not None:
            self.wandb.log_table()

    def _check_early_stop(self, running: Running) -> None:
        """docs/tuning.md#early-stopping: stop a trial whose window k is below every
        finished trial's window k, once at least early_stop_min_trials have one."""
        if not self.settings["early_stop"] or running.stop_reason is not None:
            return
        last = self.settings["windows"] - 1
        for row in trial_rows(self.runs_dir, running.record.run_id):
            k = row["window_id"]
            if k >= last or k in running.checked:
                continue
            running.checked.add(k)
            running.stop_reason = early_stop_reason(
                row, self._finished_proxies(k), self.settings["early_stop_min_trials"]
            )
            if running.stop_reason is None:
                continue
            self.say(f"sweep: trial {running.record.trial} stopped early at {running.stop_reason}")
            _signal_group(running.proc, signal.SIGINT)
            return

    def _finished_proxies(self, window_id: int) -> list[float | None]:
        out = []
        for trial in self.record.in_order():
            if trial.status == "finished":
                rows = [r for r in trial_rows(self.runs_dir, trial.run_id) if r["window_id"] == window_id]
                if rows:
                    out.append(early_stop_proxy(rows[-1]))
        return out


def _signal_group(proc: subprocess.Popen | None, signum: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def nan_windows(rows: list[dict]) -> list[int]:
    """Windows whose losses are gone after an earlier window had finite ones: the log
    writes a NaN as null, and only the first windows may have no loss yet (PuffeRL
    reports losses once it has trained)."""
    seen_finite, out = False, []
    for row in rows:
        finite = _finite(row.get("policy_loss")) and _finite(row.get("value_loss"))
        if finite:
            seen_finite = True
        elif seen_finite and not row.get("recovered"):
            out.append(row["window_id"])
    return out


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ W&B


class SweepWandb:
    """The sweep's W&B run (job type ``sweep``, group = the sweep id, like its trials): the
    Constellation page's trial table (pipeline/store/sweeps.py), logged after every trial."""

    def __init__(self, sweep_dir: Path, record: SweepRecord, runs_dir: Path):
        import wandb

        from .wandb_sink import PROJECT, wandb_mode

        os.environ.setdefault("WANDB_SILENT", "true")
        self.dir, self.runs_dir = sweep_dir, runs_dir
        self.run = wandb.init(
            project=PROJECT,
            name=record.sweep_id,
            id=record.sweep_id,
            group=record.sweep_id,
            job_type="sweep",
            config={"space": record.space},
            dir=str(sweep_dir),
            mode=wandb_mode(),
            resume="allow",
            settings=wandb.Settings(console="off"),
        )

    def log_table(self) -> None:
        import wandb

        from .store.sweeps import constellation, table_rows

        columns, rows = table_rows(constellation(self.dir, self.runs_dir))
        self.run.log({"sweep/trials": wandb.Table(columns=columns, data=rows)})

    def finish(self) -> None:
        self.log_table()
        self.run.finish()


# ------------------------------------------------------------------ commands


def start(space: Space, runs_dir, sweep_id: str | None, wandb: bool, say) -> tuple[str, str]:
    """A new sweep: its directory and sweep_started, then the trials; (sweep id, why it ended)."""
    from .sweep_score import SEEDS_MADE_BY, validation_seeds

    sweep_id = sweep_id or f"sweep-{runs.make_run_id()}"
    directory = sweep_path(runs_dir, sweep_id)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir()
    except FileExistsError:
        raise SweepError(
            f"sweep {sweep_id!r} already exists in {directory.parent}/: continue it with --resume"
        ) from None
    showcase = space.settings["showcase_seed"]
    seeds = validation_seeds(space.settings["validation_episodes"])
    with EventLog.open(directory) as log:
        append_event(
            log,
            E.SweepStarted,
            space=space.to_dict(),
            puffer_config=space.puffer_config(),
            showcase_seed=default_showcase_seed(sweep_id) if showcase is None else showcase,
            wandb=bool(wandb),
            validation={
                "seeds_made_by": SEEDS_MADE_BY,
                "episodes": len(seeds),
                "sha256": hashlib.sha256(("\n".join(map(str, seeds)) + "\n").encode()).hexdigest(),
                "time_max": space.settings["validation_time_max"],
            },
            git_sha=runs.git_short_sha(),
            sweep_seconds=0.0,
        )
        record = read_sweep(directory)
        return sweep_id, Sweep(record, log, runs_dir, directory, wandb, say).run()


def resume(runs_dir, sweep_id: str, overrides: dict, say) -> tuple[str, str]:
    """Continue a sweep from its log; ``overrides`` may raise its budget (trials, hours)."""
    directory = sweep_path(runs_dir, sweep_id)
    if not (directory / runs.EVENTS_FILE).is_file():
        raise SweepError(f"no sweep {sweep_id!r} in {sweeps_root(runs_dir)}/")
    try:
        log = EventLog.open(directory)
    except RunLockedError as exc:
        who = f"pid {exc.pid}" if exc.pid else "another process"
        raise SweepError(f"sweep {sweep_id!r} is already running ({who}); only one may run it at a time") from None
    except CorruptLogError as exc:
        raise SweepError(f"sweep {sweep_id!r}: its log is damaged: {exc}") from None
    with log:
        try:
            record = read_sweep(directory)
        except CorruptLogError as exc:
            raise SweepError(f"sweep {sweep_id!r}: its log is damaged: {exc}") from None
        record.settings.update({k: v for k, v in overrides.items() if v is not None})
        sweep = Sweep(record, log, runs_dir, directory, bool(record.started["wandb"]), say)
        interrupted = [t.trial for t in record.in_order() if t.status == "running"]
        sweep.append(E.SweepResumed, observed=list(sweep.observed), interrupted=interrupted, overrides=overrides)
        return sweep_id, sweep.run()
