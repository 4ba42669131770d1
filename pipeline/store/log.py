"""The run event log ``runs/{run_id}/events.jsonl``: append-only, crash-safe, the only source of truth.

Format: one JSON object per line, keys in this order: ``seq`` (0, 1, 2 ... no gaps),
``ts`` (UTC ISO-8601 ending in ``Z``), ``run_id``, ``type``, then the payload.

Locking design (why two lock files):

* ``writer.lock`` -- held by the trainer for its whole life via :meth:`EventLog.open`,
  as a POSIX record lock (``fcntl`` ``F_SETLK``, non-blocking). A second trainer on the
  same run fails at once with :class:`RunLockedError` naming the run and the pid that
  holds it (``F_GETLK``). The kernel drops the lock when the holder dies, so a crashed
  run can be resumed without cleanup. Why not ``flock``: an flock belongs to the open
  file, which every forked child shares -- PufferLib's multiprocessing workers, an
  evaluator between fork and exec -- so after ``kill -9`` of the trainer the lock lived
  on in a child (the workers spin forever) and ``--resume`` was refused naming the dead
  trainer. A POSIX lock belongs to the process alone: children never hold it. Since
  POSIX locks do not exclude the process itself (and closing any descriptor of the file
  drops them), a second writer in the same process is refused by a per-process table
  before it opens the file.
* ``events.lock`` -- taken (``flock(LOCK_EX)``, blocking with a timeout) by *every*
  append, by the trainer and by other processes (the evaluator's
  :meth:`EventLog.append_once`) alike, for the duration of
  "find the last seq, write one line, fsync". So appends from several processes are
  serialised: no interleaved bytes, no lost lines, no duplicate or skipped seqs.
  The trainer caches the file size; when it changed under it (someone else appended)
  it re-reads the log to learn the new last seq.

Each append is a single ``os.write`` of the whole encoded line (JSON + ``\\n``) on an
``O_APPEND`` descriptor, followed by ``fsync``. If the write or fsync fails, the file
is truncated back to its previous size and :class:`EventLogWriteError` is raised, so
a failed append leaves no partial line behind (and if even the truncate fails, the
next appender repairs the torn tail before writing).

Readers (:func:`read_events`) take no lock: a torn last line -- a crash or a write
in progress -- is ignored and reported; anything wrong before it raises
:class:`CorruptLogError` with the line number.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .events import TYPE_RE, EventSchemaError, check_event, check_payload
from .layout import APPEND_LOCK_FILE, EVENTS_FILE, TORN_PREFIX, WRITER_LOCK_FILE, fsync_dir, write_allowance

# ---------------------------------------------------------------------------- schema
# The envelope and the payload of each event type are declared once, in events.py;
# the writer checks a payload against it before appending and the reader checks every
# line it reads (a schema-bad line is a CorruptLogError naming its line and field).

# ---------------------------------------------------------------------------- errors


class EventLogError(Exception):
    """Base class of event log errors."""


class RunLockedError(EventLogError):
    """Another process is the writer of this run (or holds the append lock too long)."""

    def __init__(self, run_dir: Path, pid: int | None, detail: str = ""):
        self.run_dir, self.pid = Path(run_dir), pid
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"run {self.run_dir.name!r} is locked by {holder} ({self.run_dir / WRITER_LOCK_FILE}); "
            f"only one writer per run is allowed{': ' + detail if detail else ''}"
        )


class LockTimeoutError(EventLogError, TimeoutError):
    """The per-append lock could not be taken in time."""


class CorruptLogError(EventLogError):
    """A line before the last one is not a valid event (or seqs are not 0, 1, 2 ...)."""

    def __init__(self, path: Path, line: int, reason: str, excerpt: bytes | str):
        if isinstance(excerpt, bytes):
            excerpt = excerpt.decode("utf-8", "replace")
        self.path, self.line, self.reason = Path(path), line, reason
        self.excerpt = excerpt if len(excerpt) <= 80 else excerpt[:77] + "..."
        super().__init__(f"{self.path}: line {line}: {reason}: {self.excerpt!r}")


class EventLogWriteError(EventLogError, OSError):
    """Appending failed (disk full, I/O error ...). The log is left as it was before."""

    def __init__(self, path: Path, cause: OSError | str):
        self.path = Path(path)
        err = cause.errno if isinstance(cause, OSError) and cause.errno else errno.EIO
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        super().__init__(err, f"cannot append to the event log ({why})", str(self.path))


class EventValidationError(EventLogError, ValueError):
    """An event to append is malformed (bad type name, missing or reserved payload keys)."""


# ---------------------------------------------------------------------------- encoding


def utc_now_iso() -> str:
    """Current UTC time as ISO-8601 with milliseconds and a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Plain JSON values; non-finite floats become null (strict JSON, same as parquet nulls).

    Also unwraps numpy scalars/arrays and paths, which trainers pass around naturally.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    raise EventValidationError(f"value of type {type(value).__name__} is not JSON-serialisable: {value!r:.80}")


def validate_payload(type_: str, payload: dict) -> None:
    """Check an event before it is written against its type's declaration (events.py)."""
    try:
        check_payload(type_, payload)
    except EventSchemaError as exc:
        raise EventValidationError(str(exc)) from None


def encode_event(event: dict) -> bytes:
    """One log line: compact JSON, UTF-8, newline-terminated. NaN is never written."""
    return (json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------- reading


@dataclass
class LogRead:
    """The valid events of a log plus what the reader had to skip.

    ``torn_tail`` is true when the last line was incomplete (no newline) or not valid
    JSON -- a crash mid-append; it was ignored. ``valid_bytes`` is the offset just
    after the last good line (where a writer truncates to repair).
    """

    path: Path
    events: list[dict] = field(default_factory=list)
    torn_tail: bool = False
    torn_line: int | None = None  # 1-based line number of the ignored tail
    torn_excerpt: str | None = None
    valid_bytes: int = 0
    size: int = 0  # file size when read
    unterminated: bool = False  # the last event is whole but lacks its newline (kept; a writer adds it)

    @property
    def last_seq(self) -> int:
        """seq of the last valid event, -1 for an empty log."""
        return self.events[-1]["seq"] if self.events else -1

    @property
    def run_id(self) -> str | None:
        return self.events[0]["run_id"] if self.events else None

    def __iter__(self) -> Iterator[dict]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


def _log_file(run_dir_or_file: str | os.PathLike) -> Path:
    p = Path(run_dir_or_file)
    return p if p.name == EVENTS_FILE or p.is_file() else p / EVENTS_FILE


def parse_log_bytes(data: bytes, path: Path) -> LogRead:
    """Parse and validate a whole log image (see :func:`read_events`)."""
    result = LogRead(path=path, size=len(data))
    lines = data.split(b"\n")
    # After split, the final element is what follows the last newline: b"" for a clean
    # file, otherwise an unterminated (torn) line.
    n_complete = len(lines) - 1
    run_id = None
    for i, raw in enumerate(lines):
        lineno = i + 1
        is_last_line = (i == n_complete) or (i == n_complete - 1 and lines[-1] == b"")
        if i == n_complete:
            whole = _whole_event(raw, len(result.events), run_id) if raw else None
            if whole is not None and _schema_problem(whole):  # whole JSON: never cut as torn
                raise CorruptLogError(path, lineno, _schema_problem(whole), raw)
            if whole is not None:  # only its newline is missing: an event, not a torn line
                result.events.append(whole)
                result.valid_bytes += len(raw)
                result.unterminated = True
            elif raw:
                result.torn_tail, result.torn_line = True, lineno
                result.torn_excerpt = raw[:80].decode("utf-8", "replace")
            break
        try:
            ev = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if is_last_line:  # complete line but garbage: a crash left junk; ignore
                result.torn_tail, result.torn_line = True, lineno
                result.torn_excerpt = raw[:80].decode("utf-8", "replace")
                break
            raise CorruptLogError(path, lineno, f"invalid JSON ({e.msg})", raw) from None
        reason = _envelope_problem(ev) or _schema_problem(ev)
        if reason:
            raise CorruptLogError(path, lineno, reason, raw)
        expected = len(result.events)
        if ev["seq"] != expected:
            what = "duplicate seq" if ev["seq"] < expected else "seq gap"
            raise CorruptLogError(path, lineno, f"{what}: expected seq {expected}, got {ev['seq']}", raw)
        if run_id is None:
            run_id = ev["run_id"]
        elif ev["run_id"] != run_id:
            raise CorruptLogError(path, lineno, f"run_id {ev['run_id']!r} differs from {run_id!r}", raw)
        result.events.append(ev)
        result.valid_bytes += len(raw) + 1
    return result


def _whole_event(raw: bytes, seq: int, run_id: str | None) -> dict | None:
    """The last line, without its newline, as the event it is when it is one whole: valid
    JSON (no proper prefix of an object is), a valid envelope, the next seq and the log's
    run id. None for a torn line."""
    try:
        ev = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if _envelope_problem(ev) or ev["seq"] != seq or (run_id is not None and ev["run_id"] != run_id):
        return None
    return ev


def _envelope_problem(ev: Any) -> str | None:
    if not isinstance(ev, dict):
        return "not a JSON object"
    seq = ev.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int):
        return "missing or non-integer seq"
    for key in ("ts", "run_id", "type"):
        if not isinstance(ev.get(key), str):
            return f"missing or non-string {key}"
    if not TYPE_RE.match(ev["type"]):
        return f"invalid type {ev['type']!r}"
    return None


def _schema_problem(ev: dict) -> str | None:
    """Why an event with a good envelope does not match its type's declaration (events.py)."""
    try:
        check_event(ev)
    except EventSchemaError as exc:
        return str(exc)
    return None


def read_events(run_dir: str | os.PathLike) -> LogRead:
    """Read and validate a run's log (``run_dir`` or the events.jsonl path itself).

    Returns a :class:`LogRead` (iterable over the events). A torn last line is skipped
    and reported in ``torn_tail``; a bad line anywhere before it, or seqs that are not
    exactly 0, 1, 2 ..., raise :class:`CorruptLogError` naming the 1-based line.
    A missing log reads as empty.
    """
    path = _log_file(run_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LogRead(path=path)
    return parse_log_bytes(data, path)


def load_events(run_dir: str | os.PathLike) -> list[dict]:
    """Just the valid events of a run's log, in seq order."""
    return read_events(run_dir).events


# ---------------------------------------------------------------------------- locks


def _read_holder_pid(fd: int) -> int | None:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"null")
        return int(info["pid"]) if isinstance(info, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lock_holder_pid(fd: int) -> int | None:
    """The pid holding a POSIX write lock on ``fd``'s file (F_GETLK), or None."""
    probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)  # struct flock: whole file
    try:
        l_type, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    except OSError:
        return None
    return pid if l_type != fcntl.F_UNLCK and pid > 0 else None


#: Writer locks this process holds: (st_dev, st_ino) of writer.lock -> the holding pid
#: (a forked child inherits the table but not the locks, hence the pid).
_held_writer_locks: dict[tuple[int, int], int] = {}
_held_writer_locks_guard = threading.Lock()


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _flock_with_timeout(fd: int, timeout: float, what: str) -> None:
    """flock(LOCK_EX) with a deadline (flock itself has no timeout), polling with backoff."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(f"timed out after {timeout:.1f}s waiting for {what}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.005)


# ---------------------------------------------------------------------------- writer


class EventLog:
    """Appender for one run's log.

    ``EventLog.open(run_dir)`` (``exclusive=True``) is the trainer: it holds the run's
    writer lock until :meth:`close`. ``exclusive=False`` opens an appender that does not
    claim the run (used by :meth:`append_once` for the evaluator); it can append while
    the trainer runs because every append is serialised by the per-append lock.

    On open, a torn tail left by a crash is repaired (truncated to the last complete
    line, fsynced) and seq continues from the last event.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        run_id: str | None = None,
        *,
        exclusive: bool = True,
        lock_timeout: float = 30.0,
        create: bool = True,
    ):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / EVENTS_FILE
        self.exclusive = exclusive
        self.lock_timeout = lock_timeout
        self.repaired_bytes = 0  # bytes of torn tail removed (on open or later)
        self.repairs: list[str] = []  # one line per repair, for the writer to tell (trainer.open_run)
        self._pid = os.getpid()
        self._fd = self._append_lock_fd = self._writer_fd = None
        self._writer_key: tuple[int, int] | None = None
        if not self.run_dir.is_dir():
            if not create:
                raise FileNotFoundError(f"run directory {self.run_dir} does not exist")
            self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            if exclusive:
                self._acquire_writer_lock()
            self._append_lock_fd = os.open(self.run_dir / APPEND_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if not existed:
                fsync_dir(self.run_dir)
            with self._append_locked():
                self._resync()
            log_run_id = self._run_id
            self.run_id = log_run_id or run_id or self.run_dir.name
            if run_id is not None and log_run_id is not None and run_id != log_run_id:
                raise EventLogError(f"{self.path} belongs to run {log_run_id!r}, not {run_id!r}")
        except BaseException:
            self.close()
            raise

    # -- construction helpers ------------------------------------------------
    @classmethod
    def open(cls, run_dir: str | os.PathLike, run_id: str | None = None, **kw) -> EventLog:
        """Open as the run's one writer (the trainer); raises :class:`RunLockedError` if taken."""
        return cls(run_dir, run_id, exclusive=True, **kw)

    @classmethod
    def append_once(cls, run_dir: str | os.PathLike, type_: str, /, *, lock_timeout: float = 30.0, **payload) -> dict:
        """Append one event from a process that is not the run's writer (the evaluator).

        Takes the per-append lock (blocking, up to ``lock_timeout`` s), reads the current
        last seq, writes and fsyncs one line, releases. Safe while the trainer runs.
        The run directory must exist (a stray path never creates a run).
        """
        log = cls(run_dir, exclusive=False, lock_timeout=lock_timeout, create=False)
        try:
            return log.append(type_, **payload)
        finally:
            log.close()

    def _acquire_writer_lock(self) -> None:
        path = self.run_dir / WRITER_LOCK_FILE
        with _held_writer_locks_guard:
            # Checked before opening: closing a second descriptor of the file would drop our own lock.
            if _held_writer_locks.get(_file_key(path)) == os.getpid():
                raise RunLockedError(self.run_dir, os.getpid())
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                pid = _lock_holder_pid(fd) or _read_holder_pid(fd)
                os.close(fd)
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    raise RunLockedError(self.run_dir, pid) from None
                raise
            st = os.fstat(fd)
            self._writer_key = (st.st_dev, st.st_ino)
            _held_writer_locks[self._writer_key] = os.getpid()
        # Record who holds it, for tools that read the file (informative only: the lock
        # itself is the fcntl lock, which the kernel releases if we die).
        info = json.dumps({"pid": os.getpid(), "since": utc_now_iso()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
        self._writer_fd = fd

    # -- state ---------------------------------------------------------------
    @property
    def next_seq(self) -> int:
        """seq the next append will get, as of the last time this appender looked."""
        return self._next_seq

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def _append_locked(self):
        return _Locked(self._append_lock_fd, self.lock_timeout, f"append lock of {self.path}")

    def _resync(self) -> None:
        """(Under the append lock.) Re-read the log, repair a torn tail, learn the last seq."""
        log = read_events(self.path)
        if log.unterminated:  # a whole last event without its newline: keep it, end its line
            self._size = log.valid_bytes
            self._write_line(b"\n")
            log.valid_bytes += 1
            self.repairs.append(f"the log's last event (seq {log.last_seq}) lacked its final newline; added it")
        elif log.torn_tail:
            kept = self._keep_torn_tail(log)
            self._truncate(log.valid_bytes)
            self.repaired_bytes += log.size - log.valid_bytes
            self.repairs.append(
                f"the log's last line {log.torn_line} was incomplete ({log.size - log.valid_bytes} bytes, "
                f"{log.torn_excerpt[:40]!r}...), left by a crash mid-append; cut off, {kept}"
            )
        self._size = log.valid_bytes
        self._next_seq = log.last_seq + 1
        self._run_id = log.run_id

    def _keep_torn_tail(self, log: LogRead) -> str:
        """Copy the torn bytes beside the log (``events.jsonl.torn-{offset}``) before they are
        cut: nothing a crash left is deleted unseen. Returns where they went, for the note."""
        copy = self.run_dir / f"{TORN_PREFIX}{log.valid_bytes}"
        try:
            with open(self.path, "rb") as src:
                src.seek(log.valid_bytes)
                torn = src.read(log.size - log.valid_bytes)
            with open(copy, "wb") as out:
                out.write(torn)
                out.flush()
                os.fsync(out.fileno())
            fsync_dir(self.run_dir)
        except OSError as exc:
            return f"no copy kept ({exc.strerror or exc})"
        return f"a copy is in {copy.name}"

    def _truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)

    # -- appending -----------------------------------------------------------
    def append(self, type_: str, /, **payload) -> dict:
        """Append one event; returns it (with ``seq``, ``ts``, ``run_id``, ``type``).

        Raises :class:`EventValidationError` for a bad event (nothing written) and
        :class:`EventLogWriteError` if the disk write fails (nothing written either).
        """
        if self._fd is None:
            raise EventLogError(f"{self.path}: appender is closed")
        if os.getpid() != self._pid:
            raise EventLogError(
                f"{self.path}: appender used from a forked child (pid {os.getpid()}); open a new EventLog in the child"
            )
        body = _jsonable(payload)  # first: NaN becomes null, numpy scalars plain numbers
        validate_payload(type_, body)
        with self._append_locked():
            if os.fstat(self._fd).st_size != self._size:
                self._resync()  # someone else appended (or a failed write left junk)
            event = {"seq": self._next_seq, "ts": utc_now_iso(), "run_id": self.run_id, "type": type_, **body}
            line = encode_event(event)
            self._write_line(line)
            self._size += len(line)
            self._next_seq += 1
        return event

    def _write_line(self, line: bytes) -> None:
        """One os.write of the whole line, then fsync; on failure roll the file back."""
        before = self._size
        try:
            n = os.write(self._fd, line[: write_allowance(len(line))])
            if n != len(line):
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (short write: {n} of {len(line)} bytes)")
            os.fsync(self._fd)
        except OSError as e:
            try:
                self._truncate(before)
            except OSError:
                pass  # the next append sees the size mismatch and repairs the tail
            raise EventLogWriteError(self.path, e) from e

    # -- closing -------------------------------------------------------------
    def close(self) -> None:
        """Release the locks and file descriptors (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._append_lock_fd is not None:
            os.close(self._append_lock_fd)
            self._append_lock_fd = None
        if self._writer_fd is not None:
            if os.getpid() == self._pid:
                try:
                    os.ftruncate(self._writer_fd, 0)
                except OSError:
                    pass
                with _held_writer_locks_guard:
                    _held_writer_locks.pop(self._writer_key, None)
                    os.close(self._writer_fd)  # releases the lock
            else:
                os.close(self._writer_fd)  # a forked child's copy: it never held the lock
            self._writer_fd = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        mode = "writer" if self.exclusive else "appender"
        return f"<EventLog {mode} {self.path} next_seq={getattr(self, '_next_seq', '?')}>"


@contextmanager
def file_lock(path: str | os.PathLike, timeout: float = 30.0) -> Iterator[None]:
    """Hold flock(LOCK_EX) on ``path`` (created if needed) for the ``with`` block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        with _Locked(fd, timeout, f"lock {path}"):
            yield
    finally:
        os.close(fd)


class _Locked:
    """Context manager: flock(LOCK_EX) on ``fd`` with a timeout, unlocked on exit."""

    def __init__(self, fd: int, timeout: float, what: str):
        self.fd, self.timeout, self.what = fd, timeout, what

    def __enter__(self):
        _flock_with_timeout(self.fd, self.timeout, self.what)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
