"""Run directories: run ids, the layout of ``runs/{run_id}/``, and crash-safe file writes.

Layout (docs/training.md#what-a-window-leaves-behind)::

    runs/{run_id}/
      events.jsonl                         append-only log, the only source of truth
      checkpoints/ckpt_{window_id:06d}.pt
      replays/{replay_id}.jsonl.zst
      metrics/windows.parquet              projection (rebuildable)
      replay_index.sqlite                  projection (rebuildable)

Paths stored in events are POSIX paths *relative to the run directory* (see
:func:`rel_to_run`), so a run directory can be moved or copied as a whole.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RUNS_ROOT = Path("runs")

EVENTS_FILE = "events.jsonl"
WRITER_LOCK_FILE = "writer.lock"  # held by the one trainer for the whole run
APPEND_LOCK_FILE = "events.lock"  # held by any process for the duration of one append
PROJECTIONS_LOCK_FILE = "projections.lock"
CHECKPOINTS_DIR = "checkpoints"
REPLAYS_DIR = "replays"
METRICS_DIR = "metrics"
WINDOWS_PARQUET = f"{METRICS_DIR}/windows.parquet"
REPLAY_INDEX = "replay_index.sqlite"

#: The canonical run id format: ``{UTC yyyymmdd-HHMMSS}-{git short sha or "nogit"}``.
RUN_ID_RE = re.compile(r"^\d{8}-\d{6}-(?:[0-9a-f]{4,40}|nogit)$")
# What may be used as a directory name at all (tests and tools may use other names,
# but never anything that could escape runs/).
_SAFE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

_REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- run ids


def git_short_sha(cwd: str | os.PathLike | None = None) -> str | None:
    """Short sha of HEAD of the git checkout at ``cwd`` (default: this code's repo), or None.

    None when git is missing, this is not a checkout, or git fails for any reason:
    a run must be startable from an unpacked tarball too.
    """
    try:
        out = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=str(cwd if cwd is not None else _REPO_ROOT),
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
            .stdout.strip()
            .lower()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out if re.fullmatch(r"[0-9a-f]{4,40}", out) else None


def make_run_id(now: datetime | None = None, sha: str | None = None, *, use_git: bool = True) -> str:
    """``{UTC yyyymmdd-HHMMSS}-{git short sha or "nogit"}``.

    ``now`` defaults to the current time (naive datetimes are taken as UTC); ``sha``
    defaults to :func:`git_short_sha` when ``use_git`` is true.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if sha is None and use_git:
        sha = git_short_sha()
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{sha or 'nogit'}"


def is_run_id(run_id: str) -> bool:
    """True if ``run_id`` has the canonical format."""
    return bool(RUN_ID_RE.match(run_id))


def check_run_name(run_id: str) -> str:
    """Reject names that are not a single safe path component (no ``/``, ``..``, hidden)."""
    if not isinstance(run_id, str) or not _SAFE_NAME_RE.match(run_id) or run_id in (".", ".."):
        raise ValueError(f"invalid run id {run_id!r}: must be a plain directory name like 20250101-120000-abc1234")
    return run_id


# ---------------------------------------------------------------------------- paths


def run_dir(run_id: str, root: str | os.PathLike = RUNS_ROOT) -> Path:
    """The directory of run ``run_id`` under ``root`` (not created)."""
    return Path(root) / check_run_name(run_id)


def create_run_dir(root: str | os.PathLike = RUNS_ROOT, run_id: str | None = None) -> Path:
    """Create a fresh run directory with its sub-directories; returns its path.

    Run ids must be unique, so an existing directory is never reused: with an explicit
    ``run_id`` that exists, FileExistsError; with a generated one, we wait for the next
    second (the id has 1 s resolution) and try again.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(5):
        rid = run_id if run_id is not None else make_run_id()
        path = run_dir(rid, root)
        try:
            path.mkdir()
        except FileExistsError:
            if run_id is not None or attempt == 4:
                raise
            time.sleep(1.0 - (time.time() % 1.0) + 0.01)
            continue
        for sub in (CHECKPOINTS_DIR, REPLAYS_DIR, METRICS_DIR):
            (path / sub).mkdir()
        fsync_dir(path)
        fsync_dir(root)
        return path
    raise AssertionError("unreachable")


#: A torn last line cut from the log is kept as ``events.jsonl.torn-{offset}`` (log.py).
TORN_PREFIX = f"{EVENTS_FILE}.torn-"
#: What a run directory holds when its trainer died before the run's first event.
_BEFORE_FIRST_EVENT = (CHECKPOINTS_DIR, REPLAYS_DIR, METRICS_DIR, EVENTS_FILE, WRITER_LOCK_FILE, APPEND_LOCK_FILE)


def reuse_refusal(path: str | os.PathLike) -> str | None:
    """Why the existing directory of a run whose log holds no event must not be started
    afresh by ``--run-id``, or None when it is what a trainer that died before the run's
    first event leaves (empty sub-directories, the lock files, the log). A log emptied
    or lost beside checkpoints or replays is not such a run: starting it again replaced
    ``ckpt_000000.pt`` and orphaned the other files (docs/training.md#crashes-and-resuming)."""
    path = Path(path)
    if not path.is_dir():
        return f"{path} is not a directory"
    entries = sorted(path.iterdir())
    holding = [f"{e.name}/" for e in entries if e.name in _BEFORE_FIRST_EVENT and e.is_dir() and any(e.iterdir())]
    if holding:
        return f"{path} holds {' and '.join(holding)} but its log has no event (emptied or lost?)"
    strange = [e.name for e in entries if e.name not in _BEFORE_FIRST_EVENT and not e.name.startswith(TORN_PREFIX)]
    if strange:
        return f"{path} holds {strange[0]!r}, which a run that never started does not"
    return None


def check_runs_root(root: str | os.PathLike) -> None:
    """ValueError (one line) when the runs directory is there but is not a directory."""
    if Path(root).exists() and not Path(root).is_dir():
        raise ValueError(f"the runs directory {str(root)!r} is a file, not a directory: give --runs-dir a directory")


def list_runs(root: str | os.PathLike = RUNS_ROOT) -> list[str]:
    """Names of the run directories under ``root`` that have an event log, sorted (oldest first)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and _SAFE_NAME_RE.match(p.name) and (p / EVENTS_FILE).is_file()
    )


def events_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / EVENTS_FILE


def checkpoint_path(run_dir: str | os.PathLike, window_id: int) -> Path:
    return Path(run_dir) / CHECKPOINTS_DIR / f"ckpt_{int(window_id):06d}.pt"


def replay_path(run_dir: str | os.PathLike, replay_id: str) -> Path:
    return Path(run_dir) / REPLAYS_DIR / f"{check_run_name(replay_id)}.jsonl.zst"


def windows_parquet_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / WINDOWS_PARQUET


def replay_index_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / REPLAY_INDEX


def make_replay_id(window_id: int, n: int, content: bytes | str) -> str:
    """``w{window_id:06d}-{n}-{hash8}``; hash8 = first 8 hex digits of sha256(content).

    ``content`` is whatever makes the episode distinct (e.g. the seed and checkpoint sha),
    so the id is reproducible and two different replays never share one.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    return f"w{int(window_id):06d}-{int(n)}-{hashlib.sha256(content).hexdigest()[:8]}"


def rel_to_run(run_dir: str | os.PathLike, path: str | os.PathLike) -> str:
    """``path`` as a POSIX path relative to ``run_dir`` (the form stored in events)."""
    rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(run_dir))
    return rel.as_posix()


def resolve_in_run(run_dir: str | os.PathLike, rel: str) -> Path:
    """Inverse of :func:`rel_to_run`; refuses paths that would leave the run directory."""
    base = Path(os.path.abspath(run_dir))
    target = Path(os.path.abspath(base / rel))
    if target != base and base not in target.parents:
        raise ValueError(f"path {rel!r} escapes run directory {str(base)!r}")
    return target


# ---------------------------------------------------------------------------- durable writes

#: Fault seam (tests/test_crash_safety.py, where no small file system can be mounted): with
#: PROSPECTOR_WRITE_BUDGET=N in the environment, this process's durable writes (atomic_write
#: and event log appends) fail with ENOSPC once N bytes have been written, after a partial
#: write as a full disk makes. Unset, it costs one comparison per write.
_write_budget: list[int] | None = (
    [int(os.environ["PROSPECTOR_WRITE_BUDGET"])] if os.environ.get("PROSPECTOR_WRITE_BUDGET") else None
)


def write_allowance(n: int) -> int:
    """How many of ``n`` bytes the next durable write may write (``n`` unless the seam is set)."""
    if _write_budget is None:
        return n
    allowed = max(0, min(n, _write_budget[0]))
    _write_budget[0] -= allowed
    return allowed


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync a directory so that a create/rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> tuple[int, str]:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Temp file in the same directory (so rename is atomic), write, fsync, rename over the
    target, fsync the directory. Returns ``(number of bytes, sha256 hex)`` for the event
    that will point at the file. On any error the temp file is removed and the target
    is untouched.
    """
    path = Path(path)
    data = memoryview(data).cast("B")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            allowed = write_allowance(len(data))
            f.write(data[:allowed])
            if allowed < len(data):
                f.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
    return len(data), hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 hex of a file's content (to verify files against their events)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
