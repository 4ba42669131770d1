"""``train --nproc``: bounded by the machine, and its ranks die with their launcher.

torchrun's agent starts every rank in a session of its own, so ``kill -9`` of the
launcher's process group used to leave both ranks of a ``--nproc 2`` run alive (parent 1),
still training, and rank 0 still held the run's writer lock: ``train --resume`` was
refused "locked by pid …" (docs/reliability.md#ranks-die-with-their-launcher).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.procs import die_with_parent
from prospector.pipeline.distributed import nproc_limit
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import read_events

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled", "PROSPECTOR_DIST_TIMEOUT": "120"}
TINY = ["--envs", "64", "--window-steps", "8192", "--time-max", "40", "--threads", "1"]
TINY += ["--no-wandb", "--no-dashboard", "--eval-episodes", "1"]
# Hang guards, not timings: a window of two ranks on two loaded cores takes up to minutes.
HANG_GUARD_S = 600
GONE_GUARD_S = 60


def train_argv(runs_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(runs_dir), *args, *TINY]


def trainers_of(runs_dir: Path) -> list[int]:
    """Live ``prospector train`` processes (launcher or rank) working in ``runs_dir``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"train" in argv and str(runs_dir).encode() in argv and state != "Z":
            found.append(int(entry))
    return found


def wait_for_first_window(run_dir: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline and proc.poll() is None:
        if (run_dir / runs.EVENTS_FILE).is_file() and any(e["type"] == "window_closed" for e in read_events(run_dir)):
            return
        time.sleep(0.1)
    raise AssertionError(f"the ranks never closed a window (launcher exit {proc.poll()})")


def test_kill_9_of_the_launcher_group_leaves_no_rank_and_the_run_resumes(tmp_path):
    runs_dir = tmp_path / "runs"
    run_dir = runs_dir / "killed"
    launcher = subprocess.Popen(
        train_argv(runs_dir, "--nproc", "2", "--run-id", "killed", "--windows", "50"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        wait_for_first_window(run_dir, launcher)
        ranks = [pid for pid in trainers_of(runs_dir) if pid != launcher.pid]
        assert len(ranks) == 2, f"expected two ranks beside the launcher, found {ranks}"
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        deadline = time.monotonic() + GONE_GUARD_S
        while trainers_of(runs_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert trainers_of(runs_dir) == [], "a rank outlived its launcher"
    finally:
        for pid in trainers_of(runs_dir):  # the old behaviour: orphans in their own sessions
            os.kill(pid, signal.SIGKILL)
    closed = [e["window_id"] for e in read_events(run_dir) if e["type"] == "window_closed"]
    resumed = subprocess.run(
        train_argv(runs_dir, "--nproc", "2", "--resume", "killed", "--windows", "1"),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=2 * HANG_GUARD_S,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    events = list(read_events(run_dir))
    assert [e["seq"] for e in events] == list(range(len(events)))
    rows = [e["window_id"] for e in events if e["type"] == "window_closed"]
    assert rows[: len(closed)] == closed and rows == list(range(len(rows))) and len(rows) > len(closed)
    assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "completed"


def test_more_ranks_than_cores_are_refused_before_a_run_dir(tmp_path):
    from prospector.batch import available_cores

    nproc = available_cores() + 1
    done = subprocess.run(
        train_argv(tmp_path, "--nproc", str(nproc), "--run-id", "many"), env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert f"--nproc {nproc}: this machine runs at most " in lines[0]
    assert "available CPU cores, one per rank" in lines[0] or "of memory available" in lines[0]
    assert not (tmp_path / "many").exists()


@pytest.mark.parametrize(
    "cores, free, per_rank, limit, reason",
    [
        (16, 64 << 30, 1 << 30, 16, "16 available CPU cores"),
        (16, 5 << 30, 1 << 30, 5, "5.0 GiB of memory available at about 1.0 GiB per rank"),
        (2, None, 1 << 30, 2, "2 available CPU cores"),
        (8, 1 << 29, 1 << 30, 0, "0.5 GiB of memory available"),
    ],
)
def test_the_rank_limit_is_the_smaller_of_cores_and_memory(cores, free, per_rank, limit, reason):
    got, why = nproc_limit(cores, free, per_rank)
    assert got == limit and reason in why


def test_the_throughput_sweep_is_bounded_the_same_way():
    from prospector.batch import available_cores

    nproc = available_cores() + 1
    argv = [sys.executable, "-m", "prospector.cli", "benchmark", "--throughput", "--nproc", f"1,{nproc}"]
    done = subprocess.run([*argv, "--seconds", "1"], env=ENV, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"prospector benchmark: error: --nproc {nproc}: this machine runs at most ")
    assert line.endswith("per rank") and "\n" not in line  # the cores, or the memory where it binds first
