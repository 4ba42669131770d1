"""Data-parallel training: `prospector train --nproc 2` on the CPU (gloo), through the real
launcher (torchrun's elastic agent), real DDP and the real trainer (docs/training.md).

The trainer's test trace (PROSPECTOR_TEST_RANK_TRACE) has every rank write, per PPO
update and per window, the sha256 of its parameters and its episode count, so the
test can compare the replicas and count both ranks' games."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from harness.procs import die_with_parent
from prospector.pipeline.store.log import read_events

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "--envs",
    "64",
    "--window-steps",
    "8192",
    "--time-max",
    "40",
    "--threads",
    "1",
    "--no-wandb",
    "--no-dashboard",
    "--eval-episodes",
    "1",
]


def train(tmp_path: Path, *args: str, wait: bool = True):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WANDB_MODE": "disabled",
        "PROSPECTOR_TEST_RANK_TRACE": "1",
        "PROSPECTOR_DIST_TIMEOUT": "120",
    }
    argv = [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(tmp_path / "runs"), *args]
    if not wait:
        return subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)


def trace(run_dir: Path, rank: int) -> list[dict]:
    path = run_dir / f"debug_rank{rank}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def check_log(run_dir: Path) -> list[dict]:
    """The log reads back whole, its seq numbers have no gap, each window is written once."""
    events = list(read_events(run_dir))
    assert [e["seq"] for e in events] == list(range(len(events)))
    closed = Counter(e["window_id"] for e in events if e["type"] == "window_closed")
    saved = Counter(e["window_id"] for e in events if e["type"] == "checkpoint_saved")
    assert set(closed.values()) <= {1} and set(saved.values()) <= {1}
    assert sum(e["type"] == "run_started" for e in events) == 1
    return events


def check_replicas(run_dir: Path) -> None:
    """After every update (and at every start) both ranks hold the same parameters, and
    training changes them."""
    lines = [trace(run_dir, 0), trace(run_dir, 1)]
    assert lines[0] and len(lines[0]) == len(lines[1])
    for mine, theirs in zip(*lines):
        assert (mine["what"], mine["epoch"]) == (theirs["what"], theirs["epoch"])
        assert mine["params"] == theirs["params"], f"replicas differ after {mine['what']} {mine['epoch']}"
    assert len({line["params"] for line in lines[0]}) >= 2


def checkpoint_digest(path: Path) -> str:
    from prospector.pipeline.checkpoint import read_checkpoint

    state = read_checkpoint(path)["policy"]
    digest = hashlib.sha256()
    for tensor in state.values():
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def one_error_line(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert len([line for line in stderr.splitlines() if "error" in line]) == 1, stderr


def test_two_ranks_train_resume_and_refuse_a_second_launch(tmp_path):
    done = train(tmp_path, "--nproc", "2", "--run-id", "ddp", "--windows", "2", *TINY)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "runs" / "ddp"
    assert done.stdout.startswith("run ddp") and done.stdout.count("run ddp") == 1  # rank 0's summary alone
    events = check_log(run_dir)
    assert [e["type"] for e in events if e["type"] != "replay_recorded"] == [
        "run_started",
        "checkpoint_saved",
        "window_closed",
        "checkpoint_saved",
        "window_closed",
        "run_finished",
    ]
    assert events[0]["world_size"] == 2 and events[-1]["reason"] == "completed"
    check_replicas(run_dir)

    # every rank's episodes are in the row; steps and steps/s are the totals
    rows = [e for e in events if e["type"] == "window_closed"]
    per_rank = {
        (line["window_id"], line["rank"]): line["episodes"]
        for rank in (0, 1)
        for line in trace(run_dir, rank)
        if line["what"] == "window"
    }
    for row in rows:
        mine, theirs = per_rank[(row["window_id"], 0)], per_rank[(row["window_id"], 1)]
        assert mine > 0 and theirs > 0 and row["episodes"] == mine + theirs
    assert [row["env_steps_total"] for row in rows] == [8192, 16384]
    assert all(row["sps"] > 0 for row in rows)

    # the same run launched again is refused, before anything is written
    size = (run_dir / "events.jsonl").stat().st_size
    again = train(tmp_path, "--nproc", "2", "--run-id", "ddp", "--windows", "1", *TINY)
    assert again.returncode == 2 and "already exists" in again.stderr
    one_error_line(again.stderr)
    assert (run_dir / "events.jsonl").stat().st_size == size

    # --resume restores every rank from the last checkpoint, and they stay identical
    for rank in (0, 1):
        (run_dir / f"debug_rank{rank}.jsonl").unlink()
    resumed = train(tmp_path, "--nproc", "2", "--resume", "ddp", "--windows", "1", *TINY)
    assert resumed.returncode == 0, resumed.stderr
    starts = [trace(run_dir, rank)[0] for rank in (0, 1)]
    assert {s["what"] for s in starts} == {"start"}
    assert starts[0]["params"] == starts[1]["params"] == checkpoint_digest(run_dir / "checkpoints/ckpt_000001.pt")
    check_replicas(run_dir)
    events = check_log(run_dir)
    assert [e["window_id"] for e in events if e["type"] == "window_closed"] == [0, 1, 2]


def test_a_rank_that_dies_stops_the_others_and_the_run_resumes(tmp_path):
    launch = train(tmp_path, "--nproc", "2", "--run-id", "dies", "--windows", "50", *TINY, wait=False)
    run_dir = tmp_path / "runs" / "dies"
    try:
        deadline = time.monotonic() + 600
        while not any(
            e["type"] == "window_closed" for e in (read_events(run_dir) if (run_dir / "events.jsonl").is_file() else [])
        ):
            assert launch.poll() is None and time.monotonic() < deadline, launch.communicate()
            time.sleep(0.2)
        victim = trace(run_dir, 1)[0]["pid"]
        os.kill(victim, signal.SIGKILL)
        _, stderr = launch.communicate(timeout=180)  # the others stop: no hang
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGKILL)
    assert launch.returncode not in (0, None)
    assert "Traceback" not in stderr, stderr
    # rank 0 saw the peer's connection close, or the launcher stopped it (SIGTERM) first
    assert "another rank is gone" in stderr or "stopped by the launcher" in stderr, stderr
    assert "continue it with --resume" in stderr
    events = check_log(run_dir)
    finished = [e for e in events if e["type"] == "run_finished"]
    assert len(finished) == 1 and finished[0]["reason"].startswith("error")
    last = max(e["window_id"] for e in events if e["type"] == "window_closed")

    resumed = train(tmp_path, "--nproc", "2", "--resume", "dies", "--windows", "1", *TINY)
    assert resumed.returncode == 0, resumed.stderr
    events = check_log(run_dir)
    assert [e["window_id"] for e in events if e["type"] == "window_closed"][-1] == last + 1
    assert events[-1]["reason"] == "completed"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nproc", "0"], "--nproc"),
        (["--nproc", "2", "--device", "cuda"], "cuda"),
    ],
)
def test_bad_launches_are_refused_before_a_run_dir(tmp_path, args, message):
    import torch

    if "cuda" in args and torch.cuda.device_count() >= 2:
        pytest.skip("this machine has the GPUs for it")
    done = train(tmp_path, "--run-id", "bad", *args, *TINY)
    assert done.returncode == 2 and message in done.stderr.lower()
    one_error_line(done.stderr)
    assert not (tmp_path / "runs" / "bad").exists()


def test_throughput_point_with_two_ranks():
    """`benchmark --throughput --nproc 2`: both ranks run the same number of updates (rank
    0's clock decides for all) and the point counts both ranks' steps."""
    from prospector.pipeline.throughput import sweep

    small = {"hidden_size": 32, "bptt_horizon": 16, "minibatch_size": 1024}
    result = sweep(envs=[64], workers=[1], seconds=0.5, progress=False, overrides=small, threads=[1], nprocs=[2])
    point = result["points"][0]
    assert "error" not in point, point
    assert point["nproc"] == 2 and point["batches"] >= 2
    assert point["steps"] == point["batches"] * 64 * 16 * 2
