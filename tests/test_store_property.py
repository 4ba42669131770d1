"""A property of the run store: a writer killed (SIGKILL) at any point loses nothing it
acknowledged. A child process appends a random, valid sequence of store operations to
one run (window closes with their checkpoints, replays, evaluator failures), printing
each event's seq once the call that wrote it has returned; the parent kills it after a
random number of acknowledgements plus a random delay, a few dozen times, and after each
kill reopens the run: every acknowledged event is in the log once, at its seq, in order,
and the projections brought up to date equal a rebuild from the log. Seeded, so a
failure repeats."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prospector.pipeline.store import events as E
from prospector.pipeline.store.projections import projection_snapshot, rebuild_projections, update_projections
from prospector.pipeline.store.run import Run

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "prop"

#: The writer: resumes the run as the trainer does (a checkpoint without its row gets a
#: recovered row), then appends operations chosen by a generator seeded with the log's
#: length, so a restarted writer goes on with a sequence of its own. Prints "ack SEQ
#: TYPE KEY" for each event after the call that appended it returned.
WRITER = r"""
import random, sys
from pathlib import Path
from prospector.pipeline.store.events import LOSS_KEYS, WINDOW_METRICS
from prospector.pipeline.store.layout import make_replay_id
from prospector.pipeline.store.replays import make_header
from prospector.pipeline.store.run import Run

runs_dir, seed, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def ack(event, key):
    print("ack", event["seq"], event["type"], key, flush=True)

started = Path(runs_dir, "prop").is_dir() and Run.open(Path(runs_dir, "prop")).started is not None
run = Run.resume(runs_dir, "prop") if started else Run.create(runs_dir, "prop")
if run.started is None:
    run.start(config={"train": {"eval_episodes": 1}, "env": {}}, git_sha=None, versions={}, wandb_url=None)
    ack(run.started, "-")
point = run.resume_point()
window = point.next_window
if point.orphan:
    run.close_recovered_window(point.checkpoint.window_id, 0)
    ack(run.window(point.checkpoint.window_id), point.checkpoint.window_id)
for _ in range(ops):
    rng = random.Random(seed * 7919 + len(run.refresh().events))
    op = rng.choice(("window", "window", "replay", "failure"))
    if op == "window":
        row = {k: rng.choice((rng.random(), None)) for k in WINDOW_METRICS + LOSS_KEYS}
        row.update(env_steps_total=(window + 1) * 100, episodes=rng.randint(0, 9))
        closed = run.close_window(window, rng.randbytes(rng.randint(1, 200_000)), row)
        ack(run.checkpoints[window], window)
        ack(closed, window)
        window += 1
    elif op == "replay" and window > 0:
        replay_id = make_replay_id(window - 1, len(run.events), str(rng.random()))
        frames = [{"t": t, "action": None, "reward": 0.0, "dt": 1.0, "events": []} for t in range(rng.randint(1, 50))]
        header = make_header(run_id="prop", window_id=window - 1, replay_id=replay_id, seed=1, env_config={},
                             tags=["every_window"], totals={"return": 1.0})
        event = run.record_replay(header, frames, window_id=window - 1, replay_id=replay_id, tags=["every_window"],
                                  seed=1, net_profit=2.0, survival=1, steps=len(frames), **{"return": rng.random()})
        ack(event, replay_id)
    elif op == "failure":
        run.record_eval_failure(max(window - 1, 0), f"failure at {len(run.events)}")
        ack(run.eval_failures[-1], run.eval_failures[-1].error.replace(" ", "_"))
run.finish("completed")
ack(run.finished, "-")
run.close()
"""


def key_of(event) -> str:
    """What the writer printed as the event's key (its identity beyond the seq)."""
    if isinstance(event, (E.CheckpointSaved, E.WindowClosed)):
        return str(event.window_id)
    if isinstance(event, E.ReplayRecorded):
        return event.replay_id
    if isinstance(event, E.EvalFailed):
        return event.error.replace(" ", "_")
    return "-"


def run_writer(runs_dir: Path, seed: int, rng: random.Random) -> list[tuple[int, str, str]]:
    """Start the writer, kill it after a random number of acknowledgements and a random
    delay (or let it finish); the acknowledgements it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(runs_dir), str(seed), "12"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    acks, kill_after = [], rng.randint(0, 14)
    for line in proc.stdout:
        _, seq, type_, key = line.split()
        acks.append((int(seq), type_, key))
        if len(acks) >= kill_after:
            time.sleep(rng.random() * 0.05)
            os.kill(proc.pid, signal.SIGKILL)
            break
    acks += [tuple((int(p[1]), p[2], p[3])) for p in (line.split() for line in proc.stdout) if len(p) == 4]
    proc.wait(timeout=120)
    error = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode in (0, -signal.SIGKILL), error[-2000:]
    return acks


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_writer_loses_no_acknowledged_event_and_projections_equal_a_rebuild(tmp_path, seed):
    rng = random.Random(seed)
    runs_dir = tmp_path / "runs"
    acknowledged: list[tuple[int, str, str]] = []
    kills = 0
    for _ in range(12):
        acks = run_writer(runs_dir, seed, rng)
        acknowledged += acks
        kills += 1
        run = Run.open(runs_dir / RUN_ID)
        logged = [(e["seq"], e["type"], key_of(e)) for e in run.events]
        assert [seq for seq, _, _ in logged] == list(range(len(logged)))  # in order, no gap, once
        for ack in acknowledged:
            assert ack in logged, f"acknowledged {ack} is not in the log after kill {kills}"
        identities = [(t, k) for _, t, k in logged if t != "run_finished"]
        assert len(identities) == len(set(identities)), "an event was written twice"
        update_projections(runs_dir / RUN_ID)  # the incremental path, from wherever the kill left it
        copy = tmp_path / f"rebuilt{kills}" / RUN_ID
        shutil.copytree(runs_dir / RUN_ID, copy)
        rebuild_projections(copy)
        assert projection_snapshot(runs_dir / RUN_ID) == projection_snapshot(copy)
        shutil.rmtree(copy.parent)
    assert len(acknowledged) > 12  # the writers did get somewhere between kills
