"""The evaluator processes of a training run: one ``prospector eval`` (pipeline/evaluator.py)
per closed window, started by the trainer and never run inside its loop.

Owns their lifetime: at most ``max_running`` at once, later windows queued, a failure
recorded as ``eval_failed`` (training goes on), the backlog the trainer waits on when
they fall behind (``eval_backlog_max``), and the replays they record passed on to W&B,
the projections and the caller's ``after_replays`` hook (the site rebuild of ``--site``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .store import layout as runs
from .store.events import ReplayRecorded, ReplayVideo
from .store.run import Run


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
