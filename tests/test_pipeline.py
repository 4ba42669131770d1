"""The training pipeline end to end: a real (tiny) PufferLib training run in windows.

One module-scoped run feeds most tests (it costs ~20 s); resume, locking and fault
tests make their own runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.testing import tiny_config as shared_tiny_config
from prospector.pipeline.config import make_train_config
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import EventLog, RunLockedError, read_events
from prospector.pipeline.store.projections import projection_snapshot, rebuild_projections
from prospector.pipeline.store.replays import read_replay
from prospector.pipeline.trainer import TrainError, train

REPO = Path(__file__).resolve().parents[1]

# The masked policy never cashes out, so episodes end on their budget: 40 ticks lets
# every window (32 steps per game) finish episodes and fill its metrics row.


def tiny_config(tmp: Path, **overrides):
    return shared_tiny_config(tmp, **{"hidden_size": 32, "time_max": 40, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-window run with W&B offline (real wandb, no network)."""
    root = tmp_path_factory.mktemp("runs")
    os.environ["WANDB_MODE"] = "offline"
    run_dir = train(tiny_config(root, windows=3, wandb=True, eval_episodes=1))
    return run_dir


def events_of(run_dir, kind):
    return [e for e in read_events(run_dir) if e["type"] == kind]


def test_every_window_has_checkpoint_row_and_replay(trained):
    windows = events_of(trained, "window_closed")
    assert [w["window_id"] for w in windows] == [0, 1, 2]
    assert [w["env_steps_total"] for w in windows] == sorted(w["env_steps_total"] for w in windows)
    for w in windows:
        assert w["episodes"] > 0 and w["return_mean"] is not None and w["sps"] > 0
    for kind in ("checkpoint_saved", "replay_recorded"):
        by_window = {e["window_id"]: e for e in events_of(trained, kind)}
        assert sorted(by_window) == [0, 1, 2], kind
        for event in by_window.values():
            data = (trained / event["path"]).read_bytes()
            assert len(data) == event["bytes"]
            assert hashlib.sha256(data).hexdigest() == event["sha256"]
    for event in events_of(trained, "replay_recorded"):  # the eval seed's, and the showcase seed's
        assert ("every_window" in event["tags"]) != ("showcase" in event["tags"])
    assert events_of(trained, "run_finished")[-1]["reason"] == "completed"


def test_log_is_gapless_and_files_precede_their_events(trained):
    events = list(read_events(trained))
    assert [e["seq"] for e in events] == list(range(len(events)))
    order = [e["type"] for e in events]
    for w in range(3):
        ckpt = next(i for i, e in enumerate(events) if e["type"] == "checkpoint_saved" and e["window_id"] == w)
        row = next(i for i, e in enumerate(events) if e["type"] == "window_closed" and e["window_id"] == w)
        assert ckpt < row
    assert order[0] == "run_started" and order[-1] == "run_finished"


def test_replay_decodes_and_replays_deterministically(trained):
    from prospector.envs import ProspectorEnv

    event = events_of(trained, "replay_recorded")[-1]
    header, frames = read_replay(trained / event["path"])
    assert header["replay_id"] == event["replay_id"] and header["seed"] == event["seed"]
    assert frames[0]["action"] is None and len(frames) == event["steps"] + 1
    for frame in frames[1:]:
        assert set(frame) >= {"t", "action", "action_name", "reward", "dt", "events", "render_state", "probs", "truth"}
        assert len(frame["probs"]) == 3
    env = ProspectorEnv(header["env_config"])
    env.reset(seed=header["seed"])
    total = 0.0
    for frame in frames[1:]:
        _, reward, terminated, truncated, _ = env.step(frame["action"])
        assert reward == frame["reward"]
        total += reward
    assert terminated or truncated
    assert total == pytest.approx(event["return"])


def test_reindex_rebuilds_identical_projections(trained):
    before = projection_snapshot(trained)
    assert len(before["windows"]) == 3
    (trained / runs.WINDOWS_PARQUET).unlink()
    (trained / runs.REPLAY_INDEX).unlink()
    rebuild_projections(trained)
    assert projection_snapshot(trained) == before


def test_wandb_offline_run_holds_history_and_artifacts(trained):
    wandb_files = list((trained / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(wandb_files) == 1
    out = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(wandb_files[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:  # older CLIs: the binary next to python
        out = subprocess.run(
            [str(Path(sys.executable).parent / "wandb"), "leet", "inspect", "--json", str(wandb_files[0])],
            capture_output=True,
            text=True,
            timeout=120,
        )
    records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    history = [r for r in records if "history" in r]
    artifacts = [r["artifact"] for r in records if "artifact" in r]
    run_id = trained.name
    assert len(history) == 3
    steps = []
    for record in history:
        items = record["history"]["item"]
        steps.append(int(items["_step"]))
        assert "window/return_mean" in items
    assert steps == [e["env_steps_total"] for e in events_of(trained, "window_closed")]
    names = {a["name"] for a in artifacts}
    assert f"model-{run_id}" in names
    assert f"replay_index-{run_id}" in names
    assert any(n.startswith(f"replay-{run_id}-") for n in names)
    assert any("best" in a.get("aliases", []) for a in artifacts if a["name"] == f"model-{run_id}")


def test_cli_runs_show_and_list(trained):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    show = subprocess.run(
        [sys.executable, "-m", "prospector.cli", "runs", "show", trained.name, "--runs-dir", str(trained.parent)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert show.returncode == 0, show.stderr
    assert "windows: 3" in show.stdout and "ckpt_000002.pt" in show.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "prospector.cli", "runs", "list", "--runs-dir", str(trained.parent)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert trained.name in listing.stdout


def test_resume_continues_window_ids(tmp_path):
    cfg = tiny_config(tmp_path, windows=2, wandb=False, run_id="resume-me")
    run_dir = train(cfg)
    first = read_events(run_dir)
    train(tiny_config(tmp_path, windows=1, wandb=False), resume="resume-me")
    events = list(read_events(run_dir))
    assert events[: len(first)] == first.events  # nothing acknowledged is rewritten
    assert [e["window_id"] for e in events if e["type"] == "window_closed"] == [0, 1, 2]
    resumed = [e for e in events if e["type"] == "run_resumed"]
    assert resumed and resumed[0]["from_window"] == 2


def test_resume_refuses_bad_runs(tmp_path):
    with pytest.raises(TrainError, match="no event log"):
        train(tiny_config(tmp_path, wandb=False), resume="no-such-run")
    with pytest.raises(TrainError):
        train(tiny_config(tmp_path, wandb=False), resume="../escape")
    run_dir = train(tiny_config(tmp_path, windows=1, wandb=False, run_id="broken"))
    ckpt = runs.checkpoint_path(run_dir, 0)
    ckpt.write_bytes(b"not the checkpoint")
    size_before = (run_dir / runs.EVENTS_FILE).stat().st_size
    with pytest.raises(TrainError, match="sha256"):
        train(tiny_config(tmp_path, wandb=False), resume="broken")
    ckpt.unlink()
    with pytest.raises(TrainError, match="missing"):
        train(tiny_config(tmp_path, wandb=False), resume="broken")
    assert (run_dir / runs.EVENTS_FILE).stat().st_size == size_before  # nothing written


def test_new_run_with_existing_id_is_refused(tmp_path):
    train(tiny_config(tmp_path, windows=1, wandb=False, run_id="taken"))
    with pytest.raises(TrainError, match="already exists"):
        train(tiny_config(tmp_path, windows=1, wandb=False, run_id="taken"))


def test_second_trainer_on_a_run_is_refused(tmp_path):
    run_dir = train(tiny_config(tmp_path, windows=1, wandb=False, run_id="busy"))
    holder = EventLog.open(run_dir)
    try:
        with pytest.raises(RunLockedError):
            train(tiny_config(tmp_path, wandb=False), resume="busy")
    finally:
        holder.close()


def test_evaluator_failure_does_not_stop_training(tmp_path, monkeypatch):
    from prospector.pipeline import evaluators

    monkeypatch.setattr(
        evaluators.EvaluatorPool,
        "command",
        lambda self, window_id: [sys.executable, "-c", "import sys; sys.exit(3)"],
    )
    run_dir = train(tiny_config(tmp_path, windows=2, wandb=False))
    failed = events_of(run_dir, "eval_failed")
    assert [e["window_id"] for e in failed] == [0, 1]
    assert "code 3" in failed[0]["error"]
    assert [e["window_id"] for e in events_of(run_dir, "window_closed")] == [0, 1]


def test_training_waits_for_evaluators_that_fall_behind(tmp_path, monkeypatch, capfd):
    """Slow evaluators (1.5 s each, two at a time) against windows closing every ~0.1 s:
    with eval_backlog_max 1, a window can only close once all but three of the earlier
    windows have their replay, so the backlog stays bounded and none is left behind."""
    from prospector.pipeline import evaluators

    real_command = evaluators.EvaluatorPool.command
    monkeypatch.setattr(
        evaluators.EvaluatorPool,
        "command",
        lambda self, window_id: ["sh", "-c", 'sleep 1.5; exec "$@"', "slow-eval", *real_command(self, window_id)],
    )
    run_dir = train(tiny_config(tmp_path, windows=6, wandb=False, eval_backlog_max=1))
    events = list(read_events(run_dir))
    for close in (e for e in events if e["type"] == "window_closed"):
        replayed = sum(
            e["type"] == "replay_recorded" and "every_window" in e["tags"] and e["seq"] < close["seq"] for e in events
        )
        assert replayed >= close["window_id"] - 3, (close["window_id"], replayed)
    assert sorted(
        e["window_id"] for e in events if e["type"] == "replay_recorded" and "every_window" in e["tags"]
    ) == list(range(6))
    assert "waiting for the evaluators" in capfd.readouterr().err


def test_reward_scale_reaches_the_learner_only(tmp_path):
    """The tap multiplies the rewards PuffeRL sees (here 1 -> 0.01 geometrically over 320
    steps, then 0.01); the episode infos (window metrics) are the env's own. Two
    identical real vector envs, one scaled."""
    import numpy as np
    from prospector.pipeline.trainer import EpisodeTap, make_vecenv

    from prospector import spec as S

    cfg = tiny_config(tmp_path, envs=8, time_max=30)
    taps = [EpisodeTap(make_vecenv(cfg, S.make_config(time_max=30)), *scale) for scale in ((1.0,), (1.0, 0.01, 320))]
    for tap in taps:
        tap.async_reset(7)
    rng = np.random.default_rng(0)
    raw_total, scales = 0.0, []
    for n in range(80):
        (_, raw, *_), (_, scaled, *_) = (tap.recv() for tap in taps)
        scales.append(0.01 ** min(1.0, 8 * n / 320))
        np.testing.assert_allclose(scaled, raw * scales[-1], rtol=1e-5, atol=0)
        raw_total += float(np.abs(raw).sum())
        actions = rng.integers(0, S.N_ACTIONS, size=8)
        for tap in taps:
            tap.send(actions)
    assert raw_total > 0 and scales[20] == pytest.approx(0.1) and scales[-1] == 0.01
    assert taps[0].episodes and taps[0].episodes == taps[1].episodes
    for tap in taps:
        tap.close()


def write_tiny_toml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text("bptt_horizon = 16\nminibatch_size = 512\nhidden_size = 32\n")
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("windows = 0", "windows"),
        ("envs = 33\nworkers = 2", "divisible"),
        ("learning_rate = 'fast'", "learning_rate"),
        ("no_such_setting = 1", "unknown setting"),
        ("[[[", "not valid"),
        ("reward_scale = 0", "reward_scale"),
        ("eval_backlog_max = -1", "eval_backlog_max"),
        ("reward_scale_end = -0.5", "reward_scale_end"),
    ],
)
def test_bad_config_files_are_refused_with_the_field_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        make_train_config(str(path))


def test_cli_train_bad_input_exits_2_without_writing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for extra in (
        ["--resume", "nope"],
        ["--config", str(tmp_path / "missing.toml")],
        ["--envs", "0"],
        ["--device", "tpu"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(tmp_path), "--no-wandb", *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 2, (extra, out.stderr)
        assert "error" in out.stderr and "Traceback" not in out.stderr
    assert not any(tmp_path.glob("*/events.jsonl"))


def test_train_with_site_rebuilds_it_in_the_background(tmp_path):
    """``train --site DIR``: after each recorded replay (and at the end) a detached build
    brings DIR up to date; training does not wait for it."""
    import fcntl

    from prospector.pipeline.cli import site_hook

    site = tmp_path / "public"
    cfg = tiny_config(tmp_path / "runs", windows=2, wandb=False, eval_episodes=1, site=str(site))
    run_dir = train(cfg, after_replays=site_hook(cfg))  # what `train --site` passes
    replays = {e["replay_id"] for e in events_of(run_dir, "replay_recorded")}
    assert len(replays) >= 2
    deadline = time.monotonic() + 300
    while True:
        doc = None
        runs_json = site / "data/runs.json"
        if runs_json.is_file() and not (site / ".sitegen/build.pending").exists():
            with open(site / ".sitegen/build.lock", "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no build running now
                    doc = json.loads(runs_json.read_text())
                except BlockingIOError:
                    pass
        if doc and doc["runs"] and doc["runs"][0]["n_windows"] == 2 and doc["runs"][0]["status"] == "finished":
            break
        assert time.monotonic() < deadline, (site / ".sitegen/build.log").read_text()
        time.sleep(0.5)
    catalog = json.loads((site / f"data/runs/{run_dir.name}/replays.json").read_text())
    assert {r["replay_id"] for r in catalog["replays"]} == replays
    for rid in replays:
        assert (site / f"data/runs/{run_dir.name}/replays/{rid}.json").is_file()
    assert (site / "index.html").is_file()


def test_a_lock_held_too_long_is_reported_as_a_busy_machine_not_a_full_disk():
    # an evaluator that waited 30 s for replays.lock on a busy machine was told to free
    # disk space; a full disk keeps its own advice
    import errno

    from prospector.pipeline.cli import storage_error
    from prospector.pipeline.store.log import LockTimeoutError

    busy = storage_error(LockTimeoutError("timed out after 30.0s waiting for lock r/replays.lock"), "run it again")
    assert "free some space" not in busy and busy.endswith("run it again when the machine is less busy")
    full = storage_error(OSError(errno.ENOSPC, "No space left on device"), "run it again")
    assert full.startswith("the disk is full") and full.endswith("free some space and run it again")
