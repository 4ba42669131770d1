"""One run: the operations a run has, and the views every reader uses.

A :class:`Run` is opened in one of three roles:

* **writer** (:meth:`Run.create`, :meth:`Run.resume`): the trainer. It holds the run's
  writer lock for its life and is the only one that may start, close windows and finish.
* **view** (:meth:`Run.open`): anyone reading: ``prospector runs``, the benchmark, the
  site generator, the evaluator. Writing raises :class:`StoreError`, except the two
  appends that other processes make beside the trainer under the append lock
  (:meth:`record_replay`, :meth:`record_eval_event`; docs/architecture.md#the-run-store).
* **follower** (:meth:`Run.follow`): a non-leader rank of ``train --nproc``. It reads
  like a view; its writer operations do nothing, so the trainer's loop is the same
  on every rank.

Reading order: the opening class methods, the views (``started``, ``windows``,
``checkpoints``, ``replays`` ...), then the writes (``start``, ``close_window``,
``record_replay``, ``finish``). The views read the log once and keep it; :meth:`refresh`
reads what was appended since.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import events as E
from . import layout as L
from .log import EventLog, LogRead, parse_log_bytes, read_events
from .projections import update_projections
from .replays import encode_replay


class StoreError(Exception):
    """A run cannot be opened or written as asked; the message is one line for the user."""


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run goes on from (:meth:`Run.resume_point`).

    ``checkpoint`` is the event of the checkpoint to load (None for a run that closed no
    window). ``orphan`` is true when that checkpoint has no ``window_closed`` row (a kill
    between the two): the trainer takes the step count from the checkpoint and closes the
    window as recovered (:meth:`Run.close_recovered_window`)."""

    next_window: int
    env_steps_total: int
    checkpoint: E.CheckpointSaved | None
    orphan: bool
    pending_evals: tuple[int, ...]  # closed windows missing a replay they should have


class Run:
    """A run directory ``runs/{run_id}/`` (layout in :mod:`.layout`)."""

    def __init__(self, run_dir: Path, role: str, writer: EventLog | None = None):
        self.dir = Path(run_dir)
        self.role = role  # "writer", "view" or "follower"
        self._writer = writer
        self._log: LogRead | None = None
        self._typed: list = []

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, runs_dir: str | os.PathLike, run_id: str | None = None) -> Run:
        """A new run, as its writer. An existing directory is started only when it holds
        what a trainer that died before the run's first event leaves (layout.reuse_refusal);
        otherwise :class:`StoreError` with the way out."""
        runs_dir = _runs_root(runs_dir)
        try:
            run_dir = L.create_run_dir(runs_dir, run_id)
        except FileExistsError:
            run_dir = L.run_dir(run_id, runs_dir)
            if read_events(run_dir).events:
                raise StoreError(_exists(run_id, runs_dir)) from None
            why = L.reuse_refusal(run_dir)
            if why:
                raise StoreError(f"run {run_id!r} is not started again: {why}; use another --run-id") from None
            for sub in (L.CHECKPOINTS_DIR, L.REPLAYS_DIR, L.METRICS_DIR):
                (run_dir / sub).mkdir(exist_ok=True)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        writer = EventLog.open(run_dir)
        if writer.last_seq >= 0:  # another trainer started it in the meantime
            writer.close()
            raise StoreError(_exists(run_dir.name, runs_dir))
        return cls(run_dir, "writer", writer)

    @classmethod
    def resume(cls, runs_dir: str | os.PathLike, run_id: str) -> Run:
        """An existing run, as its writer. Opening the log repairs a torn tail (copied to
        ``events.jsonl.torn-{offset}`` first) or ends an unterminated last line; each repair
        is one line in :attr:`repairs`, for the caller to say."""
        try:
            run_dir = L.run_dir(run_id, _runs_root(runs_dir))
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        if not L.events_path(run_dir).is_file():
            raise StoreError(f"cannot resume {run_id!r}: no event log at {L.events_path(run_dir)}")
        run = cls(run_dir, "writer", EventLog.open(run_dir))
        try:
            if run.started is None:
                never = not run.events and L.reuse_refusal(run_dir) is None
                raise StoreError(
                    f"cannot resume {run_id!r}: its log has no run_started event"
                    + (f" (it never started: start it with --run-id {run_id})" if never else "")
                    + ("" if run.events or never else f"; {L.reuse_refusal(run_dir)}: use another --run-id")
                )
        except BaseException:
            run.close()
            raise
        return run

    @classmethod
    def open(cls, run_dir: str | os.PathLike) -> Run:
        """A read-only view of a run (no lock taken; a torn tail is ignored and reported)."""
        return cls(Path(run_dir), "view")

    @classmethod
    def follow(cls, run_dir: str | os.PathLike) -> Run:
        """The view of a non-leader rank: reads as :meth:`open`, writer operations do nothing."""
        return cls(Path(run_dir), "follower")

    @classmethod
    def from_bytes(cls, run_dir: str | os.PathLike, data: bytes) -> Run:
        """A view over a log image read elsewhere (the site build reads each log once)."""
        run = cls(Path(run_dir), "view")
        run._set_log(parse_log_bytes(data, L.events_path(run_dir)))
        return run

    @property
    def run_id(self) -> str:
        return (self._writer.run_id if self._writer else None) or self.log.run_id or self.dir.name

    @property
    def repairs(self) -> list[str]:
        """What the writer repaired when it opened the log, one line each (never silent)."""
        return list(self._writer.repairs) if self._writer else []

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ views

    @property
    def log(self) -> LogRead:
        if self._log is None:
            self.refresh()
        return self._log

    def refresh(self) -> Run:
        """Read the log again (after others appended)."""
        self._set_log(read_events(self.dir))
        return self

    def _set_log(self, log: LogRead) -> None:
        # the reader has checked every line against its type (log.py), so parse cannot fail
        self._log, self._typed = log, [E.parse(ev, checked=True) for ev in log.events]

    @property
    def events(self) -> list:
        """Every event, typed where its type is known (dicts otherwise), in seq order."""
        return self.log and self._typed

    def of(self, cls: type[E.Event]) -> list:
        """The events of exactly this type (``run_resumed`` is not a ``run_started``)."""
        return [e for e in self.events if type(e) is cls]

    def since(self, seq: int) -> list:
        """The events after ``seq`` (read the log again first with :meth:`refresh`)."""
        return [e for e in self.events if e["seq"] > seq]

    @property
    def started(self) -> E.RunStarted | None:
        """The first ``run_started`` (a resume appends ``run_resumed``, never another)."""
        return next(iter(self.of(E.RunStarted)), None)

    @property
    def train_config(self) -> dict:
        """The run's training settings as recorded at its start ({} before it started)."""
        return dict(self.started.config.get("train", {})) if self.started else {}

    @property
    def env_config(self) -> dict:
        return dict(self.started.config.get("env", {})) if self.started else {}

    @property
    def windows(self) -> list[E.WindowClosed]:
        """One row per window (the last if a window was closed twice), by window id."""
        by_id = {w.window_id: w for w in self.of(E.WindowClosed)}
        return [by_id[k] for k in sorted(by_id)]

    @property
    def checkpoints(self) -> dict[int, E.CheckpointSaved]:
        """window_id -> its last ``checkpoint_saved``."""
        return {c.window_id: c for c in self.of(E.CheckpointSaved)}

    @property
    def last_checkpoint(self) -> E.CheckpointSaved | None:
        """The last ``checkpoint_saved`` in the log (the newest checkpoint)."""
        saved = self.of(E.CheckpointSaved)
        return saved[-1] if saved else None

    def window(self, window_id: int) -> E.WindowClosed | None:
        """A window's row (its last, if it was closed twice), None if it has none."""
        return next((w for w in reversed(self.of(E.WindowClosed)) if w.window_id == window_id), None)

    def replays(self, tag: str | None = None, window_id: int | None = None) -> list[E.ReplayRecorded]:
        return [
            r
            for r in self.of(E.ReplayRecorded)
            if (tag is None or tag in r.tags) and (window_id is None or r.window_id == window_id)
        ]

    def best_replay(self, key: str = "return") -> E.ReplayRecorded | None:
        return max(self.replays(), key=lambda r: r[key], default=None)

    @property
    def benchmarks(self) -> list[E.Benchmark]:
        return self.of(E.Benchmark)

    @property
    def eval_failures(self) -> list[E.EvalFailed]:
        return self.of(E.EvalFailed)

    @property
    def finished(self) -> E.RunFinished | None:
        """The ``run_finished`` that closed the run's last session (None while it runs, or
        when it was resumed after finishing)."""
        last_open = max((e.seq for e in self.events if isinstance(e, E.RunStarted)), default=-1)
        ends = [e for e in self.of(E.RunFinished) if e.seq > last_open]
        return ends[-1] if ends else None

    @property
    def status(self) -> str:
        return self.finished.reason if self.finished else "running or stopped"

    def checkpoint_bytes(self, window_id: int | None = None) -> tuple[E.CheckpointSaved, bytes]:
        """A window's checkpoint file (the last window's by default), checked against its
        sha256: :class:`StoreError` in one line when it is missing or does not match."""
        saved = self.checkpoints
        if not saved:
            raise StoreError(f"run {self.run_id!r} has no checkpoint_saved event (train it first)")
        wanted = max(saved) if window_id is None else window_id
        if wanted not in saved:
            raise StoreError(f"window {wanted} of {self.run_id!r} has no checkpoint_saved event")
        event = saved[wanted]
        try:
            data = L.resolve_in_run(self.dir, event.path).read_bytes()
        except (OSError, ValueError) as exc:
            raise StoreError(f"checkpoint {event.path} of {self.run_id!r} cannot be read: {exc}") from None
        if hashlib.sha256(data).hexdigest() != event.sha256:
            raise StoreError(f"checkpoint {self.dir / event.path} does not match its sha256")
        return event, data

    def resume_point(self) -> ResumePoint:
        """Where training goes on from, after a clean stop or a crash (see :class:`ResumePoint`).

        A kill between a window's ``checkpoint_saved`` and its ``window_closed`` leaves a
        checkpoint no row covers. Training again from the window before would rewrite that
        file under the event's sha256, so the run goes on from it (``orphan``)."""
        closed = self.windows
        last_closed = closed[-1].window_id if closed else -1
        orphans = [c for c in self.of(E.CheckpointSaved) if c.window_id > last_closed]
        last = orphans[-1].window_id if orphans else last_closed
        checkpoint = self.checkpoints.get(last)
        if last >= 0 and checkpoint is None:
            raise StoreError(f"cannot resume {self.run_id!r}: window {last} has no checkpoint_saved event")
        pending = [w.window_id for w in closed if self.lacks_replays(w.window_id)]
        if orphans:
            pending.append(last)  # its row is written on resume (close_recovered_window)
        return ResumePoint(
            next_window=last + 1,
            env_steps_total=closed[-1].env_steps_total if closed and not orphans else 0,
            checkpoint=checkpoint,
            orphan=bool(orphans),
            pending_evals=tuple(sorted(set(pending))),
        )

    def lacks_replays(self, window_id: int) -> bool:
        """A closed window misses a replay its evaluator plans (evaluator.py: ``eval_episodes``
        eval seeds, and the showcase seed where the run has one). Resume used to re-evaluate
        only windows with no replay at all, so a kill between an evaluator's replays left a
        window without its showcase for good; the evaluator skips what is already recorded."""
        train = self.train_config
        tags = [r.tags for r in self.replays(window_id=window_id)]
        showcase = sum("showcase" in t for t in tags)
        seed = train.get("showcase_seed")
        wants_showcase = isinstance(seed, int) and not isinstance(seed, bool)
        return len(tags) - showcase < int(train.get("eval_episodes", 1)) or (wants_showcase and not showcase)

    # ------------------------------------------------------------------ writes

    def _append(self, type_: str, **payload) -> E.Event | dict | None:
        if self.role == "follower":
            return None
        if self._writer is None:
            raise StoreError(f"run {self.run_id!r} is open read-only; only its trainer writes {type_}")
        event = self._writer.append(type_, **E.make(type_, **payload))
        typed = E.parse(event)
        if self._log is not None and event["seq"] == self._log.last_seq + 1:
            self._log.events.append(event)
            self._typed.append(typed)
        else:
            self._log = None  # someone appended beside us: read again when next asked
        return typed

    def start(self, **payload) -> None:
        """``run_started`` (fields: :class:`.events.RunStarted`)."""
        self._append(E.RunStarted.TYPE, **payload)

    def resumed(self, **payload) -> None:
        self._append(E.RunResumed.TYPE, **payload)

    def close_window(self, window_id: int, checkpoint: bytes, row: dict, since: float | None = None):
        """Close a window in one call: write its checkpoint (atomically, fsynced), append
        ``checkpoint_saved``, append its ``window_closed`` row, bring the projections up to
        date. In this order, so a crash anywhere leaves a state :meth:`resume_point` knows.
        ``since`` (a ``time.perf_counter()`` reading) is when the caller began closing: the
        row's ``close_seconds`` counts from there to the row. Returns the row."""
        if self.role == "follower":
            return None
        if self._writer is None:
            raise StoreError(f"run {self.run_id!r} is open read-only; only its trainer closes windows")
        E.make(E.WindowClosed.TYPE, **{**row, "window_id": window_id, "close_seconds": 0.0})  # a bad row writes nothing
        path = L.checkpoint_path(self.dir, window_id)
        size, digest = L.atomic_write(path, checkpoint)
        rel = L.rel_to_run(self.dir, path)
        self._append(E.CheckpointSaved.TYPE, window_id=window_id, path=rel, bytes=size, sha256=digest)
        if since is not None:
            row = {**row, "close_seconds": time.perf_counter() - since}
        closed = self._append(E.WindowClosed.TYPE, **{**row, "window_id": window_id})
        update_projections(self.dir)
        return closed

    def close_recovered_window(self, window_id: int, env_steps_total: int) -> None:
        """The row of a window whose checkpoint was saved but whose process died before its
        row: what the checkpoint knows, null for the metrics that died with the process."""
        row = {key: None for key in E.WINDOW_METRICS + E.LOSS_KEYS}
        row.update(window_id=window_id, env_steps_total=env_steps_total, recovered=True)
        self._append(E.WindowClosed.TYPE, **row)

    def record_eval_failure(self, window_id: int, error: str) -> None:
        self._append(E.EvalFailed.TYPE, window_id=window_id, error=error)

    def finish(self, reason: str) -> None:
        """``run_finished``, then the projections cover every event of the log."""
        self._append(E.RunFinished.TYPE, reason=reason)
        if self.role == "writer":
            update_projections(self.dir)

    # -- appends by processes beside the trainer (under the append lock) --------

    def record_replay(self, header: dict, frames: list[dict], **fields) -> E.ReplayRecorded:
        """Write a replay file, then append its ``replay_recorded`` event (the evaluator;
        fields: :class:`.events.ReplayRecorded` less the file's path, bytes and sha256)."""
        return self.record_replay_bytes(encode_replay(header, frames), **fields)

    def record_replay_bytes(self, data: bytes, **fields) -> E.ReplayRecorded:
        """:meth:`record_replay` of a replay already encoded (``encode_replay``): the
        evaluator encodes outside its ``replays.lock`` and holds the lock only to check
        and write (docs/design-choices.md)."""
        path = L.replay_path(self.dir, fields["replay_id"])
        size, digest = L.atomic_write(path, data)  # the file first, then its event
        payload = E.make(E.ReplayRecorded.TYPE, **fields, path=L.rel_to_run(self.dir, path), bytes=size, sha256=digest)
        return E.parse(self._append_beside(E.ReplayRecorded.TYPE, payload))

    def record_video(self, **payload) -> E.ReplayVideo:
        """``replay_video``: a replay drawn as a video (``train --wandb-video``), beside the trainer."""
        return E.parse(self._append_beside(E.ReplayVideo.TYPE, E.make(E.ReplayVideo.TYPE, **payload)))

    def project(self) -> None:
        """Bring the projections up to date with the log (they are rebuildable: projections.py)."""
        update_projections(self.dir)

    def record_benchmark(self, **payload) -> E.Benchmark:
        """``prospector benchmark``'s table, appended after the run finished, as the run's
        writer: refused (RunLockedError) while a trainer holds the run."""
        if self._writer is not None:
            event = self._writer.append(E.Benchmark.TYPE, **E.make(E.Benchmark.TYPE, **payload))
        else:
            with EventLog.open(self.dir) as writer:
                event = writer.append(E.Benchmark.TYPE, **E.make(E.Benchmark.TYPE, **payload))
        self._log = None
        update_projections(self.dir)
        return E.parse(event)

    def _append_beside(self, type_: str, payload: dict) -> dict:
        if self._writer is not None:
            return self._writer.append(type_, **payload)
        return EventLog.append_once(self.dir, type_, **payload)


# ------------------------------------------------------------------ helpers


def _runs_root(runs_dir: str | os.PathLike) -> Path:
    try:
        L.check_runs_root(runs_dir)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    return Path(runs_dir)


def _exists(run_id: str, runs_dir: Path) -> str:
    return f"run {run_id!r} already exists in {runs_dir}/; use --resume {run_id} to continue it"
