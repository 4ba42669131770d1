"""A run directory is never reused blindly, and bad places and numbers are refused before
one is made.

After ``: > RUN/events.jsonl`` the resume was refused and suggested ``--run-id``, and
``--run-id`` then took the directory for a run that never started: it replaced
``ckpt_000000.pt`` and orphaned the other checkpoints and replays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prospector.pipeline.store import layout as runs

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
TINY = ["--envs", "32", "--workers", "1", "--backend", "serial", "--window-steps", "1024", "--time-max", "200"]
TINY += ["--no-wandb", "--no-dashboard", "--eval-episodes", "1", "--threads", "1"]


def train(runs_dir: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(runs_dir), *args, *TINY]
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=900)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("note: ")]  # derived settings
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A real run of one window: a checkpoint and a replay."""
    runs_dir = tmp_path_factory.mktemp("runs")
    done = train(runs_dir, "--run-id", "old", "--windows", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    return runs_dir / "old"


@pytest.mark.parametrize("log", ["emptied", "removed"])
def test_a_run_whose_log_was_emptied_or_lost_is_not_started_again(trained, tmp_path, log):
    runs_dir = tmp_path / "runs"
    run_dir = runs_dir / "old"
    run_dir.parent.mkdir()
    subprocess.run(["cp", "-a", str(trained), str(run_dir)], check=True)
    if log == "emptied":
        (run_dir / runs.EVENTS_FILE).write_bytes(b"")
    else:
        (run_dir / runs.EVENTS_FILE).unlink()
    assert any((run_dir / runs.CHECKPOINTS_DIR).iterdir()) and any((run_dir / runs.REPLAYS_DIR).iterdir())
    before = snapshot(run_dir)

    again = one_line_error(train(runs_dir, "--run-id", "old", "--windows", "1"))
    assert "checkpoint" in again and "another --run-id" in again
    if log == "emptied":  # the resume no longer sends the user to --run-id old
        resumed = one_line_error(train(runs_dir, "--resume", "old", "--windows", "1"))
        assert "--run-id old" not in resumed and "another --run-id" in resumed
    after = snapshot(run_dir)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) <= {runs.WRITER_LOCK_FILE, runs.APPEND_LOCK_FILE, runs.EVENTS_FILE}


def test_a_folder_that_is_not_a_run_is_not_taken_for_one(tmp_path):
    mine = tmp_path / "runs" / "notes"
    mine.mkdir(parents=True)
    (mine / "MY_NOTES.md").write_text("mine\n")
    line = one_line_error(train(tmp_path / "runs", "--run-id", "notes", "--windows", "1"))
    assert "MY_NOTES.md" in line and "another --run-id" in line
    assert sorted(p.name for p in mine.iterdir()) == ["MY_NOTES.md"]


def test_a_run_that_never_started_is_still_started_by_run_id(tmp_path):
    """What a trainer killed before run_started leaves: empty folders, lock files, an empty log."""
    run_dir = runs.create_run_dir(tmp_path, "early")
    for name in (runs.EVENTS_FILE, runs.WRITER_LOCK_FILE, runs.APPEND_LOCK_FILE):
        (run_dir / name).write_bytes(b"")
    assert runs.reuse_refusal(run_dir) is None
    done = train(tmp_path, "--resume", "early", "--windows", "1")
    assert "start it with --run-id early" in one_line_error(done)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--seed", str(10**23)], "must be in 0..2^63-1"),
        (["--seed", str(2**63)], "must be in 0..2^63-1"),
    ],
)
def test_seeds_out_of_range_are_refused_before_a_run_dir(tmp_path, args, expected):
    line = one_line_error(train(tmp_path / "runs", "--run-id", "big", *args))
    assert expected in line and "--seed" in line
    assert not (tmp_path / "runs").exists()


def test_a_seed_in_a_config_file_is_checked_too(tmp_path):
    config = tmp_path / "seed.toml"
    config.write_text(f"eval_seed = {10**23}\n")
    line = one_line_error(train(tmp_path / "runs", "--config", str(config)))
    assert "eval_seed" in line and "0..2^63-1" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("how", [["--run-id", "x"], ["--resume", "x"]])
def test_a_runs_dir_that_is_a_file_is_named_as_such(tmp_path, how):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    line = one_line_error(train(afile, *how, "--windows", "1"))
    assert "is a file, not a directory" in line and "invalid run id" not in line
    assert afile.read_text() == "mine\n"


def test_runs_list_names_a_runs_dir_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    argv = [sys.executable, "-m", "prospector.cli", "runs", "list", "--runs-dir", str(afile)]
    line = one_line_error(subprocess.run(argv, env=ENV, capture_output=True, text=True))
    assert line.startswith("prospector runs: error: ") and "is a file, not a directory" in line
