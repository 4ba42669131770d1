"""The event types of a run's log (and a sweep's), each defined once: its fields, their types, its docs row.

Every line of ``events.jsonl`` is an envelope (``seq``, ``ts``, ``run_id``, ``type``)
plus a payload. The payload of each known type is declared here as a frozen
dataclass; from these declarations come

* validation before an event is written (:func:`check_payload`) and when a log is
  read (:func:`check_event`, which names the field that does not match),
* the typed record a reader gets (:func:`parse`: ``WindowClosed``, ``ReplayRecorded`` ...),
* the table of event types in docs/training.md#event-types (:func:`docs_table`; a
  test checks the page against it).

Reading order: :class:`Kind` (what a field may hold), the event classes, then the
registry and its functions. A new event type is one class here with ``TYPE`` set and a
``DOC`` line; a new field of an existing type gets a default so that older logs still
read (docs/architecture.md#where-a-new-thing-goes).

Unknown keys in a payload are kept and ignored (a newer writer may add fields); an
unknown event type matching ``[a-z_]+`` reads as a plain dict.
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

TYPE_RE = re.compile(r"^[a-z_]+$")
ENVELOPE_KEYS = ("seq", "ts", "run_id", "type")


class EventSchemaError(ValueError):
    """A payload does not match its type's declaration; ``field`` names the key."""

    def __init__(self, type_: str, field_name: str | None, why: str):
        self.type, self.field = type_, field_name
        where = f"{type_}.{field_name}" if field_name else type_
        super().__init__(f"{where}: {why}")


# ------------------------------------------------------------------ field kinds


@dataclass(frozen=True)
class Kind:
    """What one payload field may hold, by JSON shape (the log is JSON)."""

    name: str  # as the docs table shows it
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable else "may not be null"
        ok = _CHECKS[self.name](value)
        return None if ok else f"must be {self.name}{' or null' if self.nullable else ''}, got {_short(value)}"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


_CHECKS = {
    "int": _is_int,
    "count": lambda v: _is_int(v) and v >= 0,
    "number": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "number or bool": lambda v: isinstance(v, bool) or _is_number(v),
    "string": lambda v: isinstance(v, str),
    "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def f(kind: str, doc: str = "", *, null: bool = False, default: Any = MISSING) -> Any:
    """A payload field: its :class:`Kind` and docs text live in the dataclass field's metadata."""
    meta = {"kind": Kind(kind, nullable=null), "doc": doc}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def metric(doc: str) -> Any:
    """A window metric: a number, or null when the window had no episode to measure."""
    return f("number", doc, null=True)


# ------------------------------------------------------------------ event types


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every typed event; ``TYPE`` is its ``type`` in the log.

    A record read from a log carries its envelope (``seq``, ``ts``, ``run_id``) and any
    keys a newer writer added (``extra``). ``event["net_profit"]`` and ``event.get(...)``
    read a field by its JSON key, so code and templates that index events by key read
    typed records unchanged."""

    TYPE: ClassVar[str] = ""
    DOC: ClassVar[str] = ""
    WRITER: ClassVar[str] = ""
    seq: int = field(default=-1, metadata={"envelope": True})
    ts: str = field(default="", metadata={"envelope": True})
    run_id: str = field(default="", metadata={"envelope": True})
    extra: dict = field(default_factory=dict, metadata={"envelope": True}, compare=False, repr=False)

    @property
    def type(self) -> str:
        return self.TYPE

    def payload(self) -> dict:
        """The JSON payload (declared fields in order, then the extra keys)."""
        out = {_json_key(type(self), s.name): getattr(self, s.name) for s in payload_fields(type(self))}
        out.update(self.extra)
        return out

    def to_json(self) -> dict:
        """The whole event as the log holds it."""
        return {"seq": self.seq, "ts": self.ts, "run_id": self.run_id, "type": self.TYPE, **self.payload()}

    def __getitem__(self, key: str) -> Any:
        if key == "type":
            return self.TYPE
        attr = _ATTR.get(key, key)
        if attr in _ENVELOPE_ATTRS or any(s.name == attr for s in payload_fields(type(self))):
            return getattr(self, attr)
        return self.extra[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: str) -> bool:
        return self.get(key, _ABSENT) is not _ABSENT


_ABSENT = object()
_ENVELOPE_ATTRS = ("seq", "ts", "run_id")
#: JSON keys that are not Python names, and the attribute that holds them.
_ATTR = {"return": "return_"}


def payload_fields(cls: type[Event]) -> tuple:
    """The declared payload fields of an event class (not the envelope)."""
    return tuple(s for s in fields(cls) if not s.metadata.get("envelope"))


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    TYPE = "run_started"
    DOC = "opens the log: the full config, git sha, package versions, W&B URL"
    WRITER = "trainer"
    config: dict = f("object", "`{train: TrainConfig, env: env config}`")
    git_sha: str | None = f("string", "short sha of the code, null outside a checkout", null=True)
    versions: dict = f("object", "package versions")
    wandb_url: str | None = f("string", "the W&B run's URL, null offline", null=True)
    world_size: int = f("count", "data-parallel ranks", default=1)
    compute_dtype: dict | None = f(
        "object",
        "`{setting, dtype, why}`: what compute_dtype chose here (training.md#compute-dtype)",
        null=True,
        default=None,
    )


@dataclass(frozen=True, kw_only=True)
class RunResumed(RunStarted):
    TYPE = "run_resumed"
    DOC = "a resume: the same fields as `run_started`, plus where it went on from"
    from_window: int = f("count", "the first window this process trains", default=0)
    env_steps_total: int = f("count", "env steps already trained", default=0)


@dataclass(frozen=True, kw_only=True)
class WindowClosed(Event):
    TYPE = "window_closed"
    DOC = "a window's metrics row: episodes that ended in it, PPO's losses, speed"
    WRITER = "trainer"
    window_id: int = f("count", "0, 1, 2 ...")
    env_steps_total: int = f("count", "env steps trained when the window closed")
    episodes: int | None = f("count", "episodes that ended in the window", null=True)
    return_mean: float | None = metric("mean episode return")
    return_median: float | None = metric("median episode return")
    net_profit_mean: float | None = metric("mean net profit")
    profit_per_tick_mean: float | None = metric("mean net profit per tick")
    survival_rate: float | None = metric("share of episodes that ended with the ship intact")
    stranded_rate: float | None = metric("share stranded (out of fuel)")
    destroyed_rate: float | None = metric("share destroyed")
    overheat_ticks_mean: float | None = metric("mean ticks overheated")
    pirate_encounters_mean: float | None = metric("mean pirate encounters")
    value_lost_to_pirates_mean: float | None = metric("mean cargo value lost to pirates")
    fuel_used_mean: float | None = metric("mean fuel used")
    tool_wear_mean: float | None = metric("mean tool wear")
    scan_count_mean: float | None = metric("mean scans")
    mining_ticks_mean: float | None = metric("mean ticks mining")
    sps: float | None = metric("trained env steps per second in the window")
    wall_seconds: float | None = metric("the window's wall time")
    policy_loss: float | None = metric("PPO policy loss")
    value_loss: float | None = metric("PPO value loss")
    entropy: float | None = metric("policy entropy (nats)")
    approx_kl: float | None = metric("approximate KL of the last update")
    clipfrac: float | None = metric("share of clipped ratios")
    explained_variance: float | None = f("number", "the critic's explained variance", null=True, default=None)
    episode_length_mean: float | None = f("number", "mean episode length (steps)", null=True, default=None)
    close_seconds: float | None = f("number", "time spent closing the window", null=True, default=None)
    recovered: bool = f("bool", "true for a row rebuilt after a crash (metrics null)", default=False)


@dataclass(frozen=True, kw_only=True)
class CheckpointSaved(Event):
    TYPE = "checkpoint_saved"
    DOC = "a window's checkpoint file, written before this event"
    WRITER = "trainer"
    window_id: int = f("count", "the window")
    path: str = f("string", "relative to the run directory")
    bytes: int = f("count", "file size")
    sha256: str = f("string", "of the file")


@dataclass(frozen=True, kw_only=True)
class ReplayRecorded(Event):
    TYPE = "replay_recorded"
    DOC = "an eval episode's replay file, written before this event"
    WRITER = "evaluator"
    window_id: int = f("count", "the window whose checkpoint played")
    replay_id: str = f("string", "`w{window:06d}-{n}-{hash}`")
    tags: list = f("strings", "`every_window`, `eval`, `showcase`, `best_so_far`, `milestone:*`")
    seed: int = f("count", "the world's seed")
    return_: float = f("number", "episode return (the JSON key is `return`)")
    net_profit: float = f("number", "episode net profit")
    survival: float = f("number or bool", "1 (or true) when the ship ended intact, else 0")
    steps: int = f("count", "decisions taken")
    path: str = f("string", "relative to the run directory")
    bytes: int = f("count", "file size")
    sha256: str = f("string", "of the file")
    end_reason: str | None = f("string", "why the episode ended", null=True, default=None)


@dataclass(frozen=True, kw_only=True)
class ReplayVideo(Event):
    TYPE = "replay_video"
    DOC = "a replay drawn as a video (`train --wandb-video`)"
    WRITER = "evaluator"
    window_id: int = f("count", "the window")
    replay_id: str = f("string", "the replay drawn")
    path: str = f("string", "relative to the run directory")
    bytes: int = f("count", "file size")
    sha256: str = f("string", "of the file")


@dataclass(frozen=True, kw_only=True)
class EvalFailed(Event):
    TYPE = "eval_failed"
    DOC = "a window's evaluator exited non-zero (its log is under `logs/`)"
    WRITER = "trainer"
    window_id: int = f("count", "the window")
    error: str = f("string", "what went wrong, one line")


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    TYPE = "run_finished"
    DOC = "closes the log"
    WRITER = "trainer"
    reason: str = f("string", "`completed`, `interrupted`, or the error")


@dataclass(frozen=True, kw_only=True)
class Benchmark(Event):
    TYPE = "benchmark"
    DOC = "`prospector benchmark`'s table of a checkpoint and the bots (docs/results.md)"
    WRITER = "benchmark"
    # the table's metadata may be null (a checkpoint without a window row has no step count)
    window_id: int = f("count", "the checkpoint's window")
    checkpoint: str | None = f("string", "its path", null=True)
    env_steps_total: int | None = f("count", "env steps it was trained for", null=True)
    episodes: int | None = f("count", "episodes per policy", null=True)
    time_max: int | None = f("count", "episode budget in ticks", null=True)
    seeds_file: str | None = f("string", "the seed list", null=True)
    seeds_sha256: str | None = f("string", "of the seed list", null=True)
    policy_eval: str | None = f("string", "how PPO chose its actions", null=True)
    ci_method: str | None = f("string", "how the intervals are computed", null=True)
    columns: list = f("strings", "the table's columns")
    rows: list = f("list", "one object per policy: `policy`, `kind`, `episodes`, each column and `<column>_ci95`")
    ppo_beats_all_bots: bool | None = f("bool", "PPO's interval above every bot's", null=True)
    ppo_beats: dict | None = f("object", "per bot", null=True, default=None)


# ------------------------------------------------------------------ a sweep's log
# ``runs/sweeps/{sweep_id}/events.jsonl`` (pipeline/sweep.py; read by store/sweeps.py): the
# envelope's ``run_id`` is the sweep id. Every event carries the sweep's own time so far.


@dataclass(frozen=True, kw_only=True)
class SweepEvent(Event):
    """Base of the events of a sweep's log (docs/tuning.md#resume: a resume rebuilds from them)."""

    WRITER = "sweep"
    sweep_seconds: float = f("number", "the sweep's time so far, over all its sessions")


@dataclass(frozen=True, kw_only=True)
class SweepStarted(SweepEvent):
    TYPE = "sweep_started"
    DOC = "opens a sweep's log: the checked search space, PufferLib's config, the seeds"
    space: dict = f("object", "`{settings, base, entries}`: the checked search space (tuning.md#the-search-space-file)")
    puffer_config: dict = f("object", "PufferLib's sweep config made from the space")
    showcase_seed: int = f("count", "the world every trial also plays (site.md#timelapse)")
    wandb: bool = f("bool", "whether the trials log to W&B")
    validation: dict = f("object", "`{seeds_made_by, episodes, sha256, time_max}`: the validation seeds")
    git_sha: str | None = f("string", "short sha of the code, null outside a checkout", null=True)


@dataclass(frozen=True, kw_only=True)
class TrialSuggested(SweepEvent):
    TYPE = "trial_suggested"
    DOC = "the optimiser's settings for a new trial (trial 0: the search centre)"
    trial: int = f("count", "0, 1, 2 ...")
    trial_run: str = f("string", "the trial's run id, `{sweep_id}-t{trial:03d}`")
    settings: dict = f("object", "the tuned settings")
    default: bool = f("bool", "true for the search centre (the defaults)")
    info: dict = f("object", "what the optimiser said about its choice")


@dataclass(frozen=True, kw_only=True)
class TrialFinished(SweepEvent):
    TYPE = "trial_finished"
    DOC = "a trial scored on the validation seeds (tuning.md#score)"
    trial: int = f("count", "the trial")
    trial_run: str = f("string", "its run id")
    score: float = f("number", "the validation score")
    cost: float = f("number", "its cost, in `cost_metric`")
    cost_metric: str = f("string", "`wall_seconds` or `env_steps`")
    env_steps: int = f("count", "env steps trained")
    wall_seconds: float = f("number", "training wall time")
    mean_net_profit: float = f("number", "mean net profit of the validation episodes")
    survival_rate: float = f("number", "share of validation episodes with the ship intact")
    episodes: int = f("count", "validation episodes")
    window_id: int = f("count", "the window whose checkpoint was scored")
    early_stopped: bool = f("bool", "stopped early (tuning.md#early-stopping)")
    stop_reason: str | None = f("string", "why it stopped early", null=True)


@dataclass(frozen=True, kw_only=True)
class TrialFailed(SweepEvent):
    TYPE = "trial_failed"
    DOC = "a trial that crashed, had NaN losses or could not be scored; the sweep goes on"
    trial: int = f("count", "the trial")
    trial_run: str = f("string", "its run id")
    reason: str = f("string", "what went wrong, one line")


@dataclass(frozen=True, kw_only=True)
class TrialResumed(SweepEvent):
    TYPE = "trial_resumed"
    DOC = "a resumed sweep continues a trial the last session did not see end"
    trial: int = f("count", "the trial")
    trial_run: str = f("string", "its run id")


@dataclass(frozen=True, kw_only=True)
class SweepResumed(SweepEvent):
    TYPE = "sweep_resumed"
    DOC = "`sweep --resume`: the optimiser rebuilt from the log"
    observed: list = f("list", "the finished trials it observed, in log order")
    interrupted: list = f("list", "the trials that were running")
    overrides: dict = f("object", "the budget given on the command line (`trials`, `hours`, `parallel`; null: kept)")


@dataclass(frozen=True, kw_only=True)
class SweepFinished(SweepEvent):
    TYPE = "sweep_finished"
    DOC = "a sweep session ends (a later `--resume` may continue it)"
    reason: str = f("string", "`budget`, `interrupted` or `error`")
    observed_trials: list = f("list", "the trials the optimiser observed")


#: Every known event type, by its ``type``.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        RunStarted,
        RunResumed,
        WindowClosed,
        CheckpointSaved,
        ReplayRecorded,
        ReplayVideo,
        EvalFailed,
        RunFinished,
        Benchmark,
        SweepStarted,
        TrialSuggested,
        TrialFinished,
        TrialFailed,
        TrialResumed,
        SweepResumed,
        SweepFinished,
    )
}

# Named once for the modules that iterate over them (projections, the site's charts).
#: PPO's losses, carried by ``window_closed`` (null when a window had no update).
LOSS_KEYS: tuple[str, ...] = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")
#: The window metrics in column order (window_id, env_steps_total, episodes first): the
#: required fields of ``window_closed`` other than the losses.
WINDOW_METRICS: tuple[str, ...] = tuple(
    s.name for s in payload_fields(WindowClosed) if s.name not in LOSS_KEYS and s.default is MISSING
)
#: Keys of each row of a ``benchmark`` event's ``rows``; every ``<column>`` of its
#: ``columns`` also has ``<column>_ci95`` = [low, high].
BENCHMARK_ROW_KEYS = ("policy", "kind", "episodes")


# ------------------------------------------------------------------ checking and parsing


def _json_key(cls: type[Event], name: str) -> str:
    return "return" if (cls is ReplayRecorded and name == "return_") else name


def required_keys(cls: type[Event]) -> tuple[str, ...]:
    """The JSON keys every event of ``cls`` carries, in declaration order."""
    return tuple(_json_key(cls, s.name) for s in payload_fields(cls) if s.default is MISSING)


def check_payload(type_: str, payload: dict) -> None:
    """Raise :class:`EventSchemaError` unless ``payload`` fits ``type_``'s declaration.

    Unknown types (``[a-z_]+``) pass with any payload; unknown keys are allowed."""
    if not isinstance(type_, str) or not TYPE_RE.match(type_):
        raise EventSchemaError(repr(type_), None, "invalid event type: must match [a-z_]+")
    reserved = [k for k in ENVELOPE_KEYS if k in payload]
    if reserved:
        raise EventSchemaError(type_, reserved[0], f"payload may not set reserved keys {reserved}")
    cls = EVENT_TYPES.get(type_)
    if cls is None:
        return
    specs = [(_json_key(cls, s.name), s) for s in payload_fields(cls)]
    missing = [key for key, spec in specs if key not in payload and spec.default is MISSING]
    if missing:
        raise EventSchemaError(type_, missing[0], f"missing payload keys {missing}")
    for key, spec in specs:
        if key not in payload:
            continue
        problem = spec.metadata["kind"].problem(payload[key])
        if problem:
            raise EventSchemaError(type_, key, problem)
    if cls is Benchmark:
        _check_benchmark_rows(payload)


def _check_benchmark_rows(payload: dict) -> None:
    if not payload["rows"]:
        raise EventSchemaError("benchmark", "rows", "must be a non-empty list")
    for row in payload["rows"]:
        if not isinstance(row, dict):
            raise EventSchemaError("benchmark", "rows", f"each row must be an object, got {_short(row)}")
        need = list(BENCHMARK_ROW_KEYS) + [k for c in payload["columns"] for k in (c, c + "_ci95")]
        missing = [k for k in need if k not in row]
        if missing:
            raise EventSchemaError("benchmark", "rows", f"row {row.get('policy')!r} misses {missing}")
        for c in payload["columns"]:
            ci = row[c + "_ci95"]
            good_ci = isinstance(ci, list) and len(ci) == 2 and all(_is_number(v) for v in ci)
            if not (_is_number(row[c]) and good_ci):
                raise EventSchemaError(
                    "benchmark", "rows", f"row {row.get('policy')!r}: {c} must be a number with a [low, high] interval"
                )


def check_event(event: dict) -> None:
    """Check a whole event read from a log (envelope checked by the reader)."""
    check_payload(event["type"], {k: v for k, v in event.items() if k not in ENVELOPE_KEYS})


def parse(event: dict, *, checked: bool = False) -> Event | dict:
    """The typed record of a known event, the dict itself for an unknown type. The event
    is checked first unless ``checked`` says its reader has done it (log.py's readers do)."""
    cls = EVENT_TYPES.get(event.get("type"))
    if cls is None:
        return event
    if not checked:
        check_event(event)
    declared = {_json_key(cls, s.name): s.name for s in payload_fields(cls)}
    values = {attr: event[key] for key, attr in declared.items() if key in event}
    extra = {k: v for k, v in event.items() if k not in declared and k not in ENVELOPE_KEYS}
    return cls(seq=event["seq"], ts=event["ts"], run_id=event["run_id"], extra=extra, **values)


def make(type_: str, **payload) -> dict:
    """A payload for ``type_`` with every declared default filled in, checked."""
    cls = EVENT_TYPES.get(type_)
    out = dict(payload)
    if cls is not None:
        for spec in payload_fields(cls):
            key = _json_key(cls, spec.name)
            if key not in out and spec.default is not MISSING:
                out[key] = spec.default
    check_payload(type_, out)
    return out


# ------------------------------------------------------------------ docs


def docs_table() -> str:
    """The Markdown table of event types in docs/training.md#event-types."""
    lines = ["| type | written by | what it records | fields |", "|---|---|---|---|"]
    for type_, cls in EVENT_TYPES.items():
        parts = []
        for spec in payload_fields(cls):
            kind: Kind = spec.metadata["kind"]
            optional = "" if spec.default is MISSING else "?"
            parts.append(f"`{_json_key(cls, spec.name)}{optional}` {kind.name}{' or null' if kind.nullable else ''}")
        lines.append(f"| `{type_}` | {cls.WRITER} | {cls.DOC} | {', '.join(parts)} |")
    return "\n".join(lines) + "\n"
