"""A sweep, read: its directory under ``runs/sweeps/``, its log folded into a record, and
the Constellation document the site's sweep page and the sweep's W&B table show.

A sweep (``prospector sweep``, pipeline/sweep.py) keeps its own append-only log
``runs/sweeps/{sweep_id}/events.jsonl`` (the run store's log: same locks, fsync and
checks) of the typed events in :mod:`.events` (``SweepStarted``, ``TrialSuggested``,
``TrialFinished`` ...); every trial is a normal run ``runs/{sweep_id}-t{n:03d}/``. Readers
(the site, ``prospector sweep``'s summary, the sweep driver on ``--resume``) fold the log
with :func:`read_sweep`. The search space stays the plain dict the log recorded: only
the sweep driver, which needs the training settings, builds a ``Space`` from it.

Reading order: names and paths, the record (:class:`TrialRecord`, :class:`SweepRecord`,
:func:`read_sweep`, :func:`trial_rows`), writing a typed event (:func:`append_event`),
then the Constellation document (:func:`constellation`, :func:`pareto_front`,
:func:`table_rows`; docs/tuning.md#reading-the-constellation-page).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import events as E
from . import layout as L
from .log import CorruptLogError, EventLog, EventValidationError, read_events
from .run import Run

SWEEPS_DIR = "sweeps"


class SweepError(RuntimeError):
    """A user-facing failure: printed as one line."""


# ------------------------------------------------------------------ names and paths


def sweeps_root(runs_dir) -> Path:
    return Path(runs_dir) / SWEEPS_DIR


def sweep_path(runs_dir, sweep_id: str) -> Path:
    try:
        return sweeps_root(runs_dir) / L.check_run_name(sweep_id)
    except ValueError:
        raise SweepError(f"invalid sweep id {sweep_id!r}: use letters, digits, '-', '_' and '.' only") from None


def list_sweeps(runs_dir) -> list[str]:
    root = sweeps_root(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / L.EVENTS_FILE).is_file())


# ------------------------------------------------------------------ the log, read


@dataclass
class TrialRecord:
    trial: int
    run_id: str
    settings: dict
    default: bool = False
    status: str = "running"  # running (no outcome logged yet), finished, failed
    result: E.TrialFinished | None = None
    reason: str | None = None
    resumed: int = 0


@dataclass
class SweepRecord:
    sweep_id: str
    started: E.SweepStarted
    #: The recorded search space ``{settings, base, entries}`` (a copy: a resume's budget
    #: overrides are applied to its settings).
    space: dict
    trials: dict[int, TrialRecord] = field(default_factory=dict)
    finished: E.SweepFinished | None = None  # the last sweep_finished (a resume clears it)
    sweep_seconds: float = 0.0
    last_seq: int = -1

    @property
    def settings(self) -> dict:
        return self.space["settings"]

    def in_order(self) -> list[TrialRecord]:
        return [self.trials[k] for k in sorted(self.trials)]


def read_sweep(sweep_dir: Path) -> SweepRecord:
    """The sweep's state, folded from its log (CorruptLogError names a bad line)."""
    log = read_events(sweep_dir)
    # the reader has checked every line against its type, so parse cannot fail
    events = [E.parse(ev, checked=True) for ev in log.events]
    if not events or not isinstance(events[0], E.SweepStarted):
        raise SweepError(
            f"{Path(sweep_dir) / L.EVENTS_FILE}: line 1: the log does not start with {E.SweepStarted.TYPE}"
        )
    first = events[0]
    record = SweepRecord(first.run_id, first, copy.deepcopy(first.space), last_seq=log.last_seq)
    for n, ev in enumerate(events, start=1):
        if isinstance(ev, E.SweepEvent):
            record.sweep_seconds = max(record.sweep_seconds, float(ev.sweep_seconds))
        _fold(record, ev, log.path, n)
    return record


def _fold(record: SweepRecord, ev, path: Path, line: int) -> None:
    """One event of the log into the record (unknown types are skipped)."""
    if isinstance(ev, E.TrialSuggested):
        record.trials[ev.trial] = TrialRecord(ev.trial, ev.trial_run, ev.settings, ev.default)
        return
    if isinstance(ev, (E.TrialFinished, E.TrialFailed, E.TrialResumed)) and ev.trial not in record.trials:
        raise CorruptLogError(
            path, line, f"{ev.TYPE} of trial {ev.trial!r} that was never suggested", json.dumps(ev.to_json())
        )
    if isinstance(ev, E.TrialFinished):
        record.trials[ev.trial].status, record.trials[ev.trial].result = "finished", ev
    elif isinstance(ev, E.TrialFailed):
        record.trials[ev.trial].status, record.trials[ev.trial].reason = "failed", ev.reason
    elif isinstance(ev, E.TrialResumed):
        record.trials[ev.trial].resumed += 1
    elif isinstance(ev, E.SweepFinished):
        record.finished = ev
    elif isinstance(ev, E.SweepResumed):  # a budget raised on the command line holds from here on
        record.finished = None
        record.settings.update({k: v for k, v in ev.overrides.items() if v is not None})


def trial_rows(runs_dir, run_id: str) -> list[dict]:
    """A trial run's window rows (window_closed events), [] before it has any."""
    run_dir = Path(runs_dir) / run_id
    try:
        return [row.to_json() for row in Run.open(run_dir).of(E.WindowClosed)]
    except CorruptLogError:
        return []


def append_event(log: EventLog, cls: type[E.SweepEvent], **payload) -> E.SweepEvent:
    """Append one typed event to a sweep's log; its typed record. A payload that does not
    match ``cls`` raises the log's EventValidationError and nothing is written."""
    try:
        checked = E.make(cls.TYPE, **payload)
    except E.EventSchemaError as exc:
        raise EventValidationError(str(exc)) from None
    return E.parse(log.append(cls.TYPE, **checked), checked=True)


# ------------------------------------------------------------------ the Constellation document
# The site's sweep page (sitegen/sweeps.py, static/constellation.js) draws exactly this
# document and the sweep's W&B run logs the same rows as a table (:func:`table_rows`), so
# both show one computation (docs/tuning.md#reading-the-constellation-page).

SCHEMA = 1
SCORE_TEXT = (
    "mean over the validation episodes of the net profit, in full when the ship came home, "
    "times the share of the episode it lived when it was lost in profit (docs/tuning.md#score)"
)
CURVE_KEYS = ("env_steps_total", "net_profit_mean", "survival_rate", "return_mean")
BUDGET_KEYS = ("trials", "hours", "trial_steps", "windows", "parallel", "nproc")


def pareto_front(points: list[tuple[int, float, float]]) -> list[int]:
    """Trials (id, score, cost) that no other trial beats on both: a score at least as
    high for a cost at most as high, one of them strictly; sorted by cost."""
    front = []
    for tid, score, cost in points:
        beaten = any(s >= score and c <= cost and (s > score or c < cost) for other, s, c in points if other != tid)
        if not beaten:
            front.append((cost, tid))
    return [tid for _, tid in sorted(front)]


def _trial_entry(t: TrialRecord) -> dict:
    result = t.result.to_json() if t.result is not None else {}
    return {
        "trial": t.trial,
        "run_id": t.run_id,
        "status": t.status,
        "default": t.default,
        "settings": t.settings,
        "score": result.get("score"),
        "cost": result.get("cost"),
        "env_steps": result.get("env_steps"),
        "wall_seconds": result.get("wall_seconds"),
        "mean_net_profit": result.get("mean_net_profit"),
        "survival_rate": result.get("survival_rate"),
        "early_stopped": bool(result.get("early_stopped")),
        "reason": t.reason or result.get("stop_reason"),
        "resumed": t.resumed,
    }


def constellation(sweep_dir: Path, runs_dir, rows_of: Callable[[str], list[dict]] | None = None) -> dict:
    """The page's document. ``rows_of(run_id)`` gives a trial run's window rows (the site
    passes the rows it has already read; by default they are read from the run's log)."""
    record = read_sweep(Path(sweep_dir))
    rows_of = rows_of or (lambda run_id: trial_rows(runs_dir, run_id))
    trials, curves = [], {}
    for t in record.in_order():
        trials.append(_trial_entry(t))
        rows = rows_of(t.run_id)
        curves[str(t.trial)] = {k: [r.get(k) for r in rows] for k in CURVE_KEYS}
    done = [t for t in trials if t["status"] == "finished"]
    front = pareto_front([(t["trial"], t["score"], t["cost"]) for t in done])
    for t in trials:
        t["on_front"] = t["trial"] in front
    best = max(done, key=lambda t: (t["score"], -t["trial"]), default=None)
    worst = min(done, key=lambda t: (t["score"], -t["trial"]), default=None)  # ties: not the best
    default = next((t for t in trials if t["default"]), None)
    settings = record.settings
    return {
        "schema": SCHEMA,
        "sweep_id": record.sweep_id,
        "started": record.started.ts,
        "status": "finished" if record.finished else "running",
        "finished_reason": record.finished.reason if record.finished else None,
        "method": settings["method"],
        "budget": {k: settings[k] for k in BUDGET_KEYS},
        "cost_metric": settings["cost"],
        "score_text": SCORE_TEXT,
        "validation": record.started.validation,
        "showcase_seed": record.started.showcase_seed,
        "space": [{**e, "scale": e.get("scale", "auto")} for e in record.space["entries"]],  # scale: added later
        "base": record.space["base"],
        "trials": trials,
        "front": front,
        "best": best["trial"] if best else None,
        "worst": worst["trial"] if worst else None,
        "default": default["trial"] if default else None,
        "curves": curves,
        "last_seq": record.last_seq,
    }


def table_rows(doc: dict) -> tuple[list[str], list[list]]:
    """The document's trials as one table (the W&B table of the sweep's run)."""
    names = [e["name"] for e in doc["space"]]
    columns = ["trial", "run_id", "status", "score", "cost", "env_steps", "wall_seconds"]
    columns += ["mean_net_profit", "survival_rate", "on_front", "early_stopped", "reason"] + names
    rows = []
    for t in doc["trials"]:
        row = [t[c] for c in columns[: len(columns) - len(names)]]
        rows.append(row + [t["settings"].get(n) for n in names])
    return columns, rows
