"""Event log store: seq, locking, crash repair, corruption errors, atomic writes, write failures."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.events import LOSS_KEYS, WINDOW_METRICS
from prospector.pipeline.store.log import (
    CorruptLogError,
    EventLog,
    EventLogWriteError,
    EventValidationError,
    RunLockedError,
    read_events,
)

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "20250101-120000-abc1234"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def run_dir(tmp_path):
    return runs.create_run_dir(tmp_path / "runs", RUN_ID)


def _py(script: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a Python snippet in a separate process with the repo importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _window_payload(window_id: int) -> dict:
    payload = {k: float(window_id) for k in WINDOW_METRICS + LOSS_KEYS}
    payload.update(window_id=window_id, env_steps_total=1000 * (window_id + 1), episodes=7)
    return payload


# ---------------------------------------------------------------------------- basics


def test_append_read_roundtrip(run_dir):
    with EventLog.open(run_dir) as log:
        e0 = log.append(
            "run_started", config={"lr": 3e-4}, git_sha="abc1234", versions={"python": "3.11"}, wandb_url=None
        )
        e1 = log.append("window_closed", **_window_payload(0))
        e2 = log.append("custom_note", text="héllo", nan=float("nan"))
    assert [e0["seq"], e1["seq"], e2["seq"]] == [0, 1, 2]

    got = read_events(run_dir)
    assert not got.torn_tail and len(got) == 3 and got.last_seq == 2
    assert got.events == [e0, e1, e2]
    assert list(got.events[0])[:4] == ["seq", "ts", "run_id", "type"]
    assert all(TS_RE.match(e["ts"]) and e["run_id"] == RUN_ID for e in got)
    assert got.events[2]["text"] == "héllo" and got.events[2]["nan"] is None  # strict JSON
    raw = runs.events_path(run_dir).read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 3
    assert all(json.loads(line)["seq"] == i for i, line in enumerate(raw.splitlines()))


def test_seq_continues_after_reopen(run_dir):
    with EventLog.open(run_dir) as log:
        for i in range(3):
            log.append("tick", i=i)
    with EventLog.open(run_dir) as log:
        assert log.next_seq == 3
        assert log.append("tick", i=3)["seq"] == 3
    assert [e["seq"] for e in read_events(run_dir)] == [0, 1, 2, 3]


def test_validation_rejects_bad_events(run_dir):
    with EventLog.open(run_dir) as log:
        with pytest.raises(EventValidationError, match="must match"):
            log.append("Window-Closed")
        with pytest.raises(EventValidationError, match="reserved"):
            log.append("note", seq=5)
        with pytest.raises(EventValidationError, match=r"missing payload keys \['bytes', 'sha256'\]"):
            log.append("checkpoint_saved", window_id=0, path="checkpoints/ckpt_000000.pt")
        bad = _window_payload(0) | {"return_mean": "high"}
        with pytest.raises(EventValidationError, match="return_mean"):
            log.append("window_closed", **bad)
        with pytest.raises(EventValidationError, match="tags"):
            log.append(
                "replay_recorded",
                window_id=0,
                replay_id="r",
                tags="best_so_far",
                seed=1,
                net_profit=0,
                survival=True,
                steps=1,
                path="p",
                bytes=1,
                sha256="x",
                **{"return": 0.0},
            )
        assert log.append("note", ok=True)["seq"] == 0  # nothing was written before
    assert len(read_events(run_dir)) == 1


# ---------------------------------------------------------------------------- locking


def test_second_writer_refused_in_process(run_dir):
    with EventLog.open(run_dir):
        with pytest.raises(RunLockedError) as info:
            EventLog.open(run_dir)
        assert info.value.pid == os.getpid()
        assert RUN_ID in str(info.value) and f"pid {os.getpid()}" in str(info.value)
    EventLog.open(run_dir).close()  # released on close


def test_second_writer_refused_from_other_process(run_dir):
    script = """
        import sys
        from prospector.pipeline.store.log import EventLog, RunLockedError
        try:
            EventLog.open(sys.argv[1])
        except RunLockedError as e:
            print(e); sys.exit(3)
        print("opened")
    """
    with EventLog.open(run_dir) as log:
        log.append("note")
        proc = _py(script, str(run_dir))
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert RUN_ID in proc.stdout and f"pid {os.getpid()}" in proc.stdout
    proc = _py(script, str(run_dir))
    assert proc.returncode == 0 and "opened" in proc.stdout, proc.stderr


def test_lock_released_when_writer_process_dies(run_dir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import sys, time
            from prospector.pipeline.store.log import EventLog
            log = EventLog.open(sys.argv[1]); log.append("note")
            print("ready", flush=True); time.sleep(60)
        """),
            str(run_dir),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(RunLockedError) as info:
            EventLog.open(run_dir)
        assert info.value.pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with EventLog.open(run_dir) as log:  # no stale lock after a crash
        assert log.append("note")["seq"] == 1


def test_concurrent_appends_from_processes_do_not_interleave(run_dir):
    """Trainer holds the writer lock and appends; two evaluator processes use append_once."""
    n_each = 200
    script = """
        import sys, time
        from prospector.pipeline.store.log import EventLog
        run_dir, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        for i in range(n):
            EventLog.append_once(run_dir, "probe", who=who, i=i, pad="x" * (i % 50))
            time.sleep(0.001)  # as the trainer does: a busy machine could run all 200 in a time slice or two
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with EventLog.open(run_dir) as trainer:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(script), str(run_dir), who, str(n_each)], cwd=REPO, env=env
            )
            for who in ("a", "b")
        ]
        n_trainer = 0
        while any(p.poll() is None for p in procs) and n_trainer < 5000:
            trainer.append("probe", who="trainer", i=n_trainer)  # races with the evaluators
            n_trainer += 1
            time.sleep(0.001)
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
        assert trainer.append("probe", who="trainer", i=n_trainer)["seq"] == 2 * n_each + n_trainer
    events = read_events(run_dir).events  # raises on any gap, duplicate or bad line
    assert [e["seq"] for e in events] == list(range(2 * n_each + n_trainer + 1))
    for who, n in (("a", n_each), ("b", n_each), ("trainer", n_trainer + 1)):
        assert [e["i"] for e in events if e["who"] == who] == list(range(n))
    writers = [e["who"] for e in events]
    switches = sum(a != b for a, b in zip(writers, writers[1:]))
    assert switches > 10, "the writers did not actually run concurrently"


def test_append_once_requires_existing_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        EventLog.append_once(tmp_path / "nope", "note")
    assert not (tmp_path / "nope").exists()


# ---------------------------------------------------------------------------- crash repair / corruption


def _write_log(run_dir, n=3):
    with EventLog.open(run_dir) as log:
        for i in range(n):
            log.append("note", i=i)
    return runs.events_path(run_dir)


@pytest.mark.parametrize("tail", [b'{"seq":3,"ts":"2025-01-01T00:', b'{"seq":3,"ts"\n', b"\x00\x00\x00\n"])
def test_torn_last_line_ignored_then_repaired(run_dir, tail):
    path = _write_log(run_dir)
    good = path.read_bytes()
    path.write_bytes(good + tail)

    got = read_events(run_dir)
    assert got.torn_tail and got.torn_line == 4 and got.valid_bytes == len(good)
    assert [e["seq"] for e in got] == [0, 1, 2]

    with EventLog.open(run_dir) as log:
        assert log.repaired_bytes == len(tail)
        assert path.read_bytes() == good
        assert log.append("note", i=3)["seq"] == 3
    got = read_events(run_dir)
    assert not got.torn_tail and [e["i"] for e in got] == [0, 1, 2, 3]


def test_append_once_also_repairs_torn_tail(run_dir):
    path = _write_log(run_dir)
    with open(path, "ab") as f:
        f.write(b'{"seq":3,')
    assert EventLog.append_once(run_dir, "note", i=3)["seq"] == 3
    assert [e["i"] for e in read_events(run_dir)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda lines: lines.__setitem__(1, b'{"seq":1,"ts":"x","run_id'), "invalid JSON"),
        (lambda lines: lines.__setitem__(1, b""), "invalid JSON"),
        (lambda lines: lines.__setitem__(1, b"[1,2]"), "not a JSON object"),
        (lambda lines: lines.__delitem__(1), "seq gap: expected seq 1, got 2"),
        (lambda lines: lines.insert(2, lines[1]), "duplicate seq: expected seq 2, got 1"),
    ],
)
def test_corrupt_middle_line_is_an_error_naming_the_line(run_dir, mutate, reason):
    path = _write_log(run_dir, n=4)
    lines = path.read_bytes().split(b"\n")[:-1]
    mutate(lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(CorruptLogError) as info:
        read_events(run_dir)
    err = info.value
    assert err.line == (3 if "duplicate" in reason else 2)
    assert reason in str(err) and f"line {err.line}" in str(err) and str(path) in str(err)
    assert len(err.excerpt) <= 80
    with pytest.raises(CorruptLogError):  # a writer never "repairs" the middle of a log
        EventLog.open(run_dir)


def test_run_id_mismatch_is_corruption(run_dir):
    path = _write_log(run_dir, n=2)
    lines = path.read_bytes().splitlines()
    other = json.loads(lines[1]) | {"run_id": "20240101-000000-nogit"}
    path.write_bytes(lines[0] + b"\n" + json.dumps(other).encode() + b"\n" + b'{"seq":2}\n')
    with pytest.raises(CorruptLogError, match="line 2: run_id"):
        read_events(run_dir)


# ---------------------------------------------------------------------------- write failures


def test_injected_enospc_raises_and_log_stays_valid(run_dir, monkeypatch):
    path = _write_log(run_dir)
    before = path.read_bytes()
    with EventLog.open(run_dir) as log:

        def full_disk(fd, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        with monkeypatch.context() as m:
            m.setattr(os, "write", full_disk)
            with pytest.raises(EventLogWriteError) as info:
                log.append("note", i=3)
        assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
        assert path.read_bytes() == before
        assert log.append("note", i=3)["seq"] == 3  # the failed seq is not burnt
    assert [e["i"] for e in read_events(run_dir)] == [0, 1, 2, 3]


def test_partial_write_is_rolled_back(run_dir, monkeypatch):
    path = _write_log(run_dir)
    before = path.read_bytes()
    real_write = os.write
    with EventLog.open(run_dir) as log:
        with monkeypatch.context() as m:
            m.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[: len(data) // 2]))
            with pytest.raises(EventLogWriteError, match="No space|short write"):
                log.append("note", i=3, pad="y" * 100)
        assert path.read_bytes() == before  # half line truncated away
        with monkeypatch.context() as m:  # fsync failure: same guarantee
            m.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
            with pytest.raises(EventLogWriteError):
                log.append("note", i=3)
        assert path.read_bytes() == before
        assert log.append("note", i=3)["seq"] == 3
    assert not read_events(run_dir).torn_tail


def test_torn_tail_left_by_failed_rollback_is_repaired_by_next_append(run_dir, monkeypatch):
    _write_log(run_dir)
    real_write = os.write
    with EventLog.open(run_dir) as log:
        with monkeypatch.context() as m:
            m.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:10]))
            m.setattr(os, "ftruncate", lambda fd, size: (_ for _ in ()).throw(OSError(errno.EIO, "EIO")))
            with pytest.raises(EventLogWriteError):
                log.append("note", i=3)
        assert read_events(run_dir).torn_tail  # junk is there, readers skip it
        assert log.append("note", i=3)["seq"] == 3  # and the next append repairs it
    got = read_events(run_dir)
    assert not got.torn_tail and [e["i"] for e in got] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------- runs helpers


def test_atomic_write(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.pt"
    data = os.urandom(100_000)
    n, digest = runs.atomic_write(target, data)
    assert (n, digest) == (len(data), hashlib.sha256(data).hexdigest())
    assert target.read_bytes() == data and runs.sha256_file(target) == digest
    assert os.listdir(tmp_path) == ["ckpt.pt"]

    with monkeypatch.context() as m:  # failure: old file kept, no temp left
        m.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
        with pytest.raises(OSError):
            runs.atomic_write(target, b"new")
    assert target.read_bytes() == data and os.listdir(tmp_path) == ["ckpt.pt"]

    assert runs.atomic_write(target, b"v2") == (2, hashlib.sha256(b"v2").hexdigest())
    assert target.read_bytes() == b"v2" and os.listdir(tmp_path) == ["ckpt.pt"]


def test_run_ids_and_paths(tmp_path):
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert runs.make_run_id(when, "abc1234") == "20250304-050607-abc1234"
    assert runs.make_run_id(when, use_git=False) == "20250304-050607-nogit"
    rid = runs.make_run_id()
    assert runs.is_run_id(rid), rid
    assert not runs.is_run_id("2025-03-04-x")

    rd = runs.create_run_dir(tmp_path, "20250304-050607-abc1234")
    assert sorted(os.listdir(rd)) == ["checkpoints", "metrics", "replays"]
    with pytest.raises(FileExistsError):
        runs.create_run_dir(tmp_path, "20250304-050607-abc1234")
    assert runs.list_runs(tmp_path) == []  # no events yet
    EventLog.append_once(rd, "note")
    assert runs.list_runs(tmp_path) == ["20250304-050607-abc1234"]

    assert runs.checkpoint_path(rd, 3) == rd / "checkpoints" / "ckpt_000003.pt"
    rep = runs.make_replay_id(12, 0, b"seed=7")
    assert re.fullmatch(r"w000012-0-[0-9a-f]{8}", rep)
    assert runs.replay_path(rd, rep) == rd / "replays" / f"{rep}.jsonl.zst"
    assert runs.rel_to_run(rd, runs.replay_path(rd, rep)) == f"replays/{rep}.jsonl.zst"
    assert runs.resolve_in_run(rd, f"replays/{rep}.jsonl.zst") == runs.replay_path(rd, rep).absolute()
    for bad in ("../x", "/etc/passwd"):
        with pytest.raises(ValueError):
            runs.resolve_in_run(rd, bad)
    for bad in ("..", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            runs.run_dir(bad, tmp_path)
