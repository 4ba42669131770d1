"""Projections of a run's event log: ``metrics/windows.parquet`` and ``replay_index.sqlite``.

Both are pure functions of ``events.jsonl`` and may be deleted at any time;
:func:`rebuild_projections` (``prospector runs reindex RUN``) recreates them, and
:func:`update_projections` keeps them current incrementally. Either way the content is
the same, because both paths feed the same events, in seq order, through the same
row builders.

Each projection records the last seq it has seen (parquet: schema metadata
``last_seq``; sqlite: table ``meta``), written atomically together with its rows: the
parquet file is rewritten whole through :func:`pipeline.store.layout.atomic_write`, sqlite
updates are one transaction and full rebuilds go to a temp file that is renamed in.
So a crash can never leave rows and "last seq" disagreeing, and a projection that is
missing, unreadable or of an older schema is simply rebuilt from the log.
Concurrent updaters (trainer, site builder, reindex) are serialised by
``projections.lock``.
"""

from __future__ import annotations

import io
import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .events import LOSS_KEYS, WINDOW_METRICS, ReplayRecorded, required_keys
from .layout import PROJECTIONS_LOCK_FILE, atomic_write, fsync_dir, replay_index_path, windows_parquet_path
from .log import file_lock, read_events

SCHEMA_VERSION = 1

_INT_COLUMNS = ("window_id", "env_steps_total", "episodes")
_FLOAT_COLUMNS = tuple(c for c in WINDOW_METRICS if c not in _INT_COLUMNS) + LOSS_KEYS

#: One row per ``window_closed`` event. Metric values that are absent or null in the
#: event are null here; ``seq``/``ts`` identify the event the row came from.
WINDOWS_SCHEMA = pa.schema(
    [pa.field(c, pa.int64()) for c in _INT_COLUMNS]
    + [pa.field(c, pa.float64()) for c in _FLOAT_COLUMNS]
    + [pa.field("seq", pa.int64(), nullable=False), pa.field("ts", pa.string(), nullable=False)]
)
WINDOW_COLUMNS = tuple(WINDOWS_SCHEMA.names)

#: The replays table's columns: the required fields of ``replay_recorded`` (events.py),
#: replay_id first, then the event's seq and ts.
REPLAY_COLUMNS = (
    ("replay_id",) + tuple(key for key in required_keys(ReplayRecorded) if key != "replay_id") + ("seq", "ts")
)

_SQLITE_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE replays (
    replay_id  TEXT PRIMARY KEY,
    window_id  INTEGER NOT NULL,
    tags       TEXT NOT NULL,      -- JSON array, in the order the event gave
    seed       INTEGER,
    "return"   REAL,
    net_profit REAL,
    survival   INTEGER,            -- bools stored as 0/1; numbers as given
    steps      INTEGER,
    path       TEXT NOT NULL,      -- relative to the run directory
    bytes      INTEGER,
    sha256     TEXT,
    seq        INTEGER NOT NULL,   -- seq of the replay_recorded event
    ts         TEXT NOT NULL
);
CREATE INDEX replays_window ON replays (window_id);
CREATE TABLE replay_tags (
    replay_id TEXT NOT NULL REFERENCES replays (replay_id),
    tag       TEXT NOT NULL,
    PRIMARY KEY (replay_id, tag)
);
CREATE INDEX replay_tags_tag ON replay_tags (tag);
"""


class ProjectionError(Exception):
    """An event cannot be projected (e.g. a metric that is not a number)."""


@dataclass
class ProjectionUpdate:
    """What an update did: rows added, projections rebuilt from scratch, seq reached."""

    last_seq: int = -1
    windows_added: int = 0
    replays_added: int = 0
    rebuilt: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- rows


def _num(event: dict, key: str, kind: type) -> Any:
    value = event.get(key)
    if value is None:
        return None
    try:
        if isinstance(value, str):
            raise TypeError("string")
        if kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError("not integral")
            return int(value)
        out = float(value)
        return out if math.isfinite(out) else None
    except (TypeError, ValueError) as e:
        raise ProjectionError(
            f"event seq {event.get('seq')} ({event.get('type')}): "
            f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}"
        ) from e


def window_row(event: dict) -> dict:
    """The windows.parquet row for one ``window_closed`` event."""
    row = {c: _num(event, c, int) for c in _INT_COLUMNS}
    row.update({c: _num(event, c, float) for c in _FLOAT_COLUMNS})
    row["seq"], row["ts"] = event["seq"], event["ts"]
    return row


def _sqlite_int64(value):
    """SQLite integers are signed 64-bit; a seed may use all 64 bits (a showcase seed:
    docs/site.md#timelapse), so one above 2^63-1 is stored as the same bits read signed."""
    return value - 2**64 if isinstance(value, int) and value >= 2**63 else value


def replay_row(event: dict) -> tuple:
    """The ``replays`` row (in :data:`REPLAY_COLUMNS` order) for one ``replay_recorded`` event."""
    survival = event.get("survival")
    if isinstance(survival, bool):
        survival = int(survival)
    elif survival is not None:
        survival = _num(event, "survival", float)
    return (
        str(event["replay_id"]),
        _num(event, "window_id", int),
        json.dumps(list(event.get("tags") or []), ensure_ascii=False, separators=(",", ":")),
        _sqlite_int64(_num(event, "seed", int)),
        _num(event, "return", float),
        _num(event, "net_profit", float),
        survival,
        _num(event, "steps", int),
        str(event["path"]),
        _num(event, "bytes", int),
        event.get("sha256"),
        event["seq"],
        event["ts"],
    )


# ---------------------------------------------------------------------------- windows.parquet


def _windows_table(rows: list[dict], last_seq: int) -> pa.Table:
    table = pa.Table.from_pylist(rows, schema=WINDOWS_SCHEMA)
    return table.replace_schema_metadata({"last_seq": str(last_seq), "schema_version": str(SCHEMA_VERSION)})


def _write_windows(run_dir: Path, table: pa.Table) -> None:
    """Deterministic bytes for deterministic content: one row group, fixed options."""
    buf = io.BytesIO()
    pq.write_table(
        table.combine_chunks(),
        buf,
        compression="zstd",
        row_group_size=1 << 30,
        use_dictionary=False,
        write_statistics=True,
    )
    path = windows_parquet_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buf.getvalue())


def _read_windows_state(run_dir: Path) -> tuple[pa.Table, int] | None:
    """(table, last_seq) of the current file; None if missing, unreadable or outdated."""
    try:
        table = pq.read_table(windows_parquet_path(run_dir))
        meta = table.schema.metadata or {}
        if int(meta.get(b"schema_version", b"0")) != SCHEMA_VERSION:
            return None
        last_seq = int(meta[b"last_seq"])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
    table = table.replace_schema_metadata(None)
    if not table.schema.equals(WINDOWS_SCHEMA):
        return None
    return table, last_seq


def _rebuild_windows(run_dir: Path, events: list[dict]) -> int:
    rows = [window_row(e) for e in events if e["type"] == "window_closed"]
    _write_windows(run_dir, _windows_table(rows, events[-1]["seq"] if events else -1))
    return len(rows)


def _update_windows(run_dir: Path, table: pa.Table, new: list[dict]) -> int:
    rows = [window_row(e) for e in new if e["type"] == "window_closed"]
    added = _windows_table(rows, new[-1]["seq"])
    merged = pa.concat_tables([table, added.replace_schema_metadata(None)])
    _write_windows(run_dir, merged.replace_schema_metadata(added.schema.metadata))
    return len(rows)


# ---------------------------------------------------------------------------- replay_index.sqlite


def _insert_replays(con: sqlite3.Connection, events: Iterable[dict]) -> int:
    n = 0
    placeholders = ",".join("?" * len(REPLAY_COLUMNS))
    cols = ",".join(f'"{c}"' for c in REPLAY_COLUMNS)
    for ev in events:
        if ev["type"] != "replay_recorded":
            continue
        row = replay_row(ev)
        # A replay_id seen again (re-recorded) replaces the earlier row, same in both paths.
        con.execute("DELETE FROM replay_tags WHERE replay_id = ?", (row[0],))
        con.execute(f"INSERT OR REPLACE INTO replays ({cols}) VALUES ({placeholders})", row)
        con.executemany(
            "INSERT OR IGNORE INTO replay_tags (replay_id, tag) VALUES (?, ?)",
            [(row[0], str(t)) for t in (ev.get("tags") or [])],
        )
        n += 1
    return n


def _set_last_seq(con: sqlite3.Connection, last_seq: int) -> None:
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_seq', ?)", (str(last_seq),))


def _remove_sqlite_sidecars(path: Path) -> None:
    """A stale hot journal next to a freshly renamed-in db would be 'rolled back' into it."""
    for suffix in ("-journal", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _rebuild_replays(run_dir: Path, events: list[dict]) -> int:
    path = replay_index_path(run_dir)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.executescript(_SQLITE_SCHEMA)
            with con:
                con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                n = _insert_replays(con, events)
                _set_last_seq(con, events[-1]["seq"] if events else -1)
        finally:
            con.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        _remove_sqlite_sidecars(path)
        os.replace(tmp, path)
    except BaseException:
        for p in (tmp, tmp + "-journal"):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        raise
    fsync_dir(path.parent)
    return n


def _open_replays_state(run_dir: Path) -> tuple[sqlite3.Connection, int] | None:
    """(connection, last_seq) of the current index; None if missing, unreadable or outdated."""
    path = replay_index_path(run_dir)
    if not path.is_file():
        return None
    con = None
    try:
        con = sqlite3.connect(path)
        con.execute("PRAGMA synchronous = FULL")
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if int(meta.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("old schema")
        con.execute("SELECT count(*) FROM replays").fetchone()
        con.execute("SELECT count(*) FROM replay_tags").fetchone()
        return con, int(meta["last_seq"])
    except (sqlite3.Error, KeyError, ValueError):
        if con is not None:
            con.close()
        return None


# ---------------------------------------------------------------------------- public API


def update_projections(
    run_dir: str | os.PathLike, events: Iterable[dict] | None = None, *, lock_timeout: float = 60.0
) -> ProjectionUpdate:
    """Bring both projections up to date, adding rows only for events not yet projected.

    ``events`` may be just the events appended since the last call (e.g. what
    ``EventLog.append`` returned), the whole log, or None (read the log). If they do not
    continue exactly where a projection stopped, the missing events are read from the
    log. A projection that is missing, unreadable or from an older schema is rebuilt.
    """
    run_dir = Path(run_dir)
    result = ProjectionUpdate()
    log_cache: list[list[dict]] = []

    def full_log() -> list[dict]:
        if not log_cache:
            log_cache.append(read_events(run_dir).events)
        return log_cache[0]

    given = None if events is None else list(events)

    def new_since(last_seq: int) -> list[dict] | None:
        """Events after last_seq; None if the projection is ahead of the log (rebuild it)."""
        if given is not None:
            new = [e for e in given if e["seq"] > last_seq]
            if all(e["seq"] == last_seq + 1 + i for i, e in enumerate(new)):
                return new
        log = full_log()
        if (log[-1]["seq"] if log else -1) < last_seq:
            return None
        return [e for e in log if e["seq"] > last_seq]

    with file_lock(run_dir / PROJECTIONS_LOCK_FILE, lock_timeout):
        state = _read_windows_state(run_dir)
        new = None if state is None else new_since(state[1])
        if new is None:
            result.windows_added = _rebuild_windows(run_dir, full_log())
            result.rebuilt.append("windows")
            log = full_log()
            result.last_seq = log[-1]["seq"] if log else -1
        elif new:
            result.windows_added = _update_windows(run_dir, state[0], new)
            result.last_seq = new[-1]["seq"]
        else:
            result.last_seq = state[1]

        opened = _open_replays_state(run_dir)
        new = None if opened is None else new_since(opened[1])
        if new is None:
            if opened is not None:
                opened[0].close()
            result.replays_added = _rebuild_replays(run_dir, full_log())
            result.rebuilt.append("replays")
            replays_seq = full_log()[-1]["seq"] if full_log() else -1
        elif new:
            con = opened[0]
            try:
                with con:
                    result.replays_added = _insert_replays(con, new)
                    _set_last_seq(con, new[-1]["seq"])
            finally:
                con.close()
            replays_seq = new[-1]["seq"]
        else:
            opened[0].close()
            replays_seq = opened[1]
        # Both projections are each consistent; report the seq both have reached.
        result.last_seq = min(result.last_seq, replays_seq)
    return result


def rebuild_projections(run_dir: str | os.PathLike, *, lock_timeout: float = 60.0) -> ProjectionUpdate:
    """Discard both projections and recreate them from the event log (``runs reindex``)."""
    run_dir = Path(run_dir)
    with file_lock(run_dir / PROJECTIONS_LOCK_FILE, lock_timeout):
        events = read_events(run_dir).events
        result = ProjectionUpdate(rebuilt=["windows", "replays"])
        result.windows_added = _rebuild_windows(run_dir, events)
        result.replays_added = _rebuild_replays(run_dir, events)
        result.last_seq = events[-1]["seq"] if events else -1
    return result


def read_windows(run_dir: str | os.PathLike) -> pa.Table:
    """The windows table (schema :data:`WINDOWS_SCHEMA`, metadata dropped), in seq order."""
    table = pq.read_table(windows_parquet_path(run_dir))
    return table.replace_schema_metadata(None)


def read_replays(run_dir: str | os.PathLike, tag: str | None = None, window_id: int | None = None) -> list[dict]:
    """Replay index rows as dicts (``tags`` decoded), in seq order, optionally filtered."""
    cols = ",".join(f'r."{c}"' for c in REPLAY_COLUMNS)
    sql = f"SELECT {cols} FROM replays r"
    where, args = [], []
    if tag is not None:
        where.append("r.replay_id IN (SELECT replay_id FROM replay_tags WHERE tag = ?)")
        args.append(tag)
    if window_id is not None:
        where.append("r.window_id = ?")
        args.append(int(window_id))
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY r.seq"
    path = replay_index_path(run_dir)
    if not path.is_file():
        raise FileNotFoundError(path)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [dict(zip(REPLAY_COLUMNS, r)) for r in con.execute(sql, args)]
    finally:
        con.close()
    for r in rows:
        r["tags"] = json.loads(r["tags"])
    return rows


def projection_snapshot(run_dir: str | os.PathLike) -> dict:
    """Full content of both projections as plain data (for equality checks and debugging)."""
    path = replay_index_path(run_dir)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {
            name: con.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()
            for name in ("meta", "replays", "replay_tags")
        }
    finally:
        con.close()
    return {"windows": read_windows(run_dir).to_pylist(), "windows_schema": str(WINDOWS_SCHEMA), **tables}
