"""kill -9 of the trainer, then ``prospector train --resume``: works every time.

The run's writer lock must die with the trainer even when processes it forked live on:
an evaluator between fork and exec, PufferLib's multiprocessing workers (which poll
shared memory forever), a site rebuild. Each test here failed while the lock was an
``flock`` (shared by every child holding the inherited descriptor): resume was refused
with RunLockedError naming the dead trainer's pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from harness.procs import die_with_parent
from harness.testing import tiny_config
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import EventLog, read_events
from prospector.pipeline.trainer import train

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
# A hang guard, not a timing: a resume finishes in seconds to a minute. It waits for its
# evaluators, which run at nice 5, so CPU hogs at nice 0 slow it down several-fold.
HANG_GUARD_S = 600


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_writer_lock_is_not_held_by_a_forked_child(tmp_path):
    """A child forked by the writer (and never exec'd) outlives it: the run opens anyway."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import os, sys, time
            from prospector.pipeline.store.log import EventLog
            log = EventLog.open(sys.argv[1]); log.append("note")
            child = os.fork()
            if child == 0:
                time.sleep(120); os._exit(0)
            print(child, flush=True); time.sleep(120)
        """),
            str(run_dir),
        ],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        child = int(holder.stdout.readline())
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert alive(child)
        with EventLog.open(run_dir) as log:
            assert log.append("note")["seq"] == 1
        assert alive(child)  # it still holds the inherited descriptor, not the lock
    finally:
        kill_group(holder.pid)


def start_trainer(tmp_path: Path, *options: str) -> subprocess.Popen:
    config = tmp_path / "tiny.toml"
    config.write_text("bptt_horizon = 16\nminibatch_size = 512\nhidden_size = 32\n")
    args = [
        sys.executable,
        "-m",
        "prospector.cli",
        "train",
        "--runs-dir",
        str(tmp_path),
        "--run-id",
        "killed",
        "--windows",
        "50",
        "--no-wandb",
        "--no-dashboard",
        "--config",
        str(config),
        *options,
    ]
    return subprocess.Popen(
        args,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def wait_for_first_window(run_dir: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline and proc.poll() is None:
        if (run_dir / runs.EVENTS_FILE).exists() and any(e["type"] == "window_closed" for e in read_events(run_dir)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the trainer never closed a window (exit {proc.poll()})")


def resume_through_the_cli(tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "train",
            "--runs-dir",
            str(tmp_path),
            "--resume",
            "killed",
            "--windows",
            "1",
            "--no-wandb",
            "--no-dashboard",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=2 * HANG_GUARD_S,
    )


def check_resumed(run_dir: Path, acknowledged: list[dict]) -> None:
    """The log before the kill is kept as it was; the resume closes exactly one more window
    (after the recovered row of a window whose checkpoint the kill left without a row)."""
    events = list(read_events(run_dir))
    assert events[: len(acknowledged)] == acknowledged
    closed = [e["window_id"] for e in acknowledged if e["type"] == "window_closed"]
    orphans = [e["window_id"] for e in acknowledged if e["type"] == "checkpoint_saved" and e["window_id"] > closed[-1]]
    expected = closed + orphans[-1:] + [(orphans or closed)[-1] + 1]
    rows = [e for e in events if e["type"] == "window_closed"]
    assert [e["window_id"] for e in rows] == expected
    assert [e["window_id"] for e in rows if e.get("recovered")] == orphans[-1:]
    assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "completed"


def test_kill_9_of_the_trainer_alone_with_evaluators_and_workers_alive_then_resume(tmp_path):
    """Only the trainer dies; its evaluator and PufferLib's multiprocessing workers are alive then."""
    run_dir = tmp_path / "killed"
    proc = start_trainer(
        tmp_path,
        "--envs",
        "2",
        "--workers",
        "2",
        "--backend",
        "multiprocessing",
        "--window-steps",
        "1024",
        "--time-max",
        "3000",
    )
    try:
        wait_for_first_window(run_dir, proc)
        deadline = time.monotonic() + HANG_GUARD_S
        evaluators = []
        while not evaluators and time.monotonic() < deadline:  # started just after the window closed
            others = [pid for pid in group_members(proc.pid) if pid != proc.pid]
            evaluators = [pid for pid in others if " eval " in cmdline(pid)]
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert evaluators, "no evaluator was running at the kill"
        assert len(others) > len(evaluators), "no env worker was running at the kill"
        acknowledged = list(read_events(run_dir))
        out = resume_through_the_cli(tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        check_resumed(run_dir, acknowledged)
    finally:
        kill_group(proc.pid)


def resume_through_the_python_api(tmp_path: Path) -> None:
    train(tiny_config(tmp_path, windows=1, hidden_size=32, time_max=400), resume="killed")


@pytest.mark.parametrize("resume_by", ["cli", "python"])
def test_kill_9_of_the_trainer_group_one_window_in_then_resume(tmp_path, resume_by):
    """The whole group dies at the moment the first evaluator is being started; then
    ``prospector train --resume`` at a shell, or ``train(config, resume=...)`` in Python."""
    run_dir = tmp_path / "killed"
    proc = start_trainer(
        tmp_path, "--envs", "32", "--workers", "1", "--backend", "serial", "--window-steps", "1024", "--time-max", "400"
    )
    try:
        wait_for_first_window(run_dir, proc)
        kill_group(proc.pid)
        proc.wait()
        acknowledged = list(read_events(run_dir))
        if resume_by == "cli":
            out = resume_through_the_cli(tmp_path)
            assert out.returncode == 0, out.stderr[-3000:]
        else:
            resume_through_the_python_api(tmp_path)
        check_resumed(run_dir, acknowledged)
    finally:
        kill_group(proc.pid)
