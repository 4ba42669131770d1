"""What a resume finds after a crash, and what it does about it, said in a line each.

Before: a torn last line was cut without a word (and its bytes were gone); a whole last
event that only lacked its newline was cut with it; and a window whose evaluator was
killed between its replays never got the missing one (resume re-evaluated only windows
with no replay at all), so its ``showcase`` stayed missing from the timelapse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import EventLog, read_events

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
TINY = ["--envs", "32", "--workers", "1", "--backend", "serial", "--window-steps", "1024", "--time-max", "200"]
TINY += ["--no-wandb", "--no-dashboard", "--eval-episodes", "1", "--threads", "1"]
TORN = b'{"seq": 99, "ts": "2026-'


def train(runs_dir: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(runs_dir), *args, *TINY]
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=900)


@pytest.fixture
def run_dir(tmp_path) -> Path:
    with EventLog.open(tmp_path / "r") as log:
        for i in range(3):
            log.append("note", i=i)
    return tmp_path / "r"


def test_a_whole_last_event_without_its_newline_is_kept(run_dir):
    path = run_dir / runs.EVENTS_FILE
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    got = read_events(run_dir)
    assert not got.torn_tail and got.unterminated and [e["i"] for e in got] == [0, 1, 2]
    with EventLog.open(run_dir) as log:
        assert log.repairs == ["the log's last event (seq 2) lacked its final newline; added it"]
        assert log.repaired_bytes == 0
        assert log.append("note", i=3)["seq"] == 3
    assert path.read_bytes().endswith(b"\n") and [e["i"] for e in read_events(run_dir)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "tail",
    [
        TORN,  # a line cut mid-write
        b'{"seq": 2, "ts": "2026-01-01T00:00:00Z", "run_id": "r", "type": "note"}',  # whole, but seq 2 twice
    ],
)
def test_a_torn_tail_is_cut_said_and_kept(run_dir, tail):
    path = run_dir / runs.EVENTS_FILE
    good = path.read_bytes()
    path.write_bytes(good + tail)
    with EventLog.open(run_dir) as log:
        assert len(log.repairs) == 1 and f"({len(tail)} bytes" in log.repairs[0]
        copy = run_dir / f"{runs.EVENTS_FILE}.torn-{len(good)}"
        assert copy.name in log.repairs[0] and copy.read_bytes() == tail
    assert path.read_bytes() == good


def last_every_window_cut(run_dir: Path) -> list[dict]:
    """Cut the log right after window 0's every_window replay, as a kill of its evaluator
    before the showcase replay leaves it (every append is fsynced: a kill leaves a prefix)."""
    lines = (run_dir / runs.EVENTS_FILE).read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    cut = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "replay_recorded" and e["window_id"] == 0 and "every_window" in e["tags"]
    )
    assert any("showcase" in e.get("tags", []) for e in events if e["type"] == "replay_recorded")
    (run_dir / runs.EVENTS_FILE).write_bytes(b"".join(lines[: cut + 1]) + TORN)
    return events[: cut + 1]


def test_resume_evaluates_a_window_missing_its_showcase_and_says_what_it_cut(tmp_path):
    first = train(tmp_path, "--run-id", "cut", "--windows", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = tmp_path / "cut"
    kept = last_every_window_cut(run_dir)

    resumed = train(tmp_path, "--resume", "cut", "--windows", "1")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    notes = [line for line in resumed.stderr.splitlines() if "was incomplete" in line]
    assert len(notes) == 1 and notes[0].startswith("note: cut: ") and f"({len(TORN)} bytes" in notes[0]
    copies = list(run_dir.glob(f"{runs.EVENTS_FILE}.torn-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == TORN

    events = list(read_events(run_dir))
    assert events[: len(kept)] == kept
    for window in (0, 1):
        tags = [e["tags"] for e in events if e["type"] == "replay_recorded" and e["window_id"] == window]
        assert sum("showcase" in t for t in tags) == 1, (window, tags)
        assert sum("every_window" in t for t in tags) == 1, (window, tags)
