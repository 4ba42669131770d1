"""``prospector replay export`` and ``train --wandb-video``: videos drawn by the site's own
player in headless Chromium, encoded by PyAV; checked by decoding them back with PyAV.
Bad input: one line, exit status 2, no file left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness.testing import require_chromium, train_tiny_run
from prospector.pipeline.store.log import read_events

av = pytest.importorskip("av", reason="PyAV (requirements.txt) is not installed")
require_chromium()

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("runs"), windows=2)


def prospector(*args, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "prospector.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def replay_of(run_dir, tag="every_window"):
    return next(e for e in read_events(run_dir).events if e["type"] == "replay_recorded" and tag in e["tags"])


def decoded(path):
    """(frames, width, height) of a video, counted by decoding every frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    return len(frames), frames[0].width, frames[0].height


def test_export_writes_an_mp4_of_the_chosen_frames(run, tmp_path):
    event = replay_of(run)
    out = tmp_path / "clip.mp4"
    proc = prospector(
        "replay",
        "export",
        "--runs-dir",
        str(run.parent),
        "--run",
        run.name,
        "--replay",
        event["replay_id"],
        "--out",
        str(out),
        "--fps",
        "10",
        "--size",
        "480x270",
        "--from",
        "5",
        "--to",
        "44",
    )
    assert proc.returncode == 0, proc.stderr
    assert "export: frame 40/40 (100%)" in proc.stderr  # progress on the terminal
    assert decoded(out) == (40, 480, 270)
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_export_whole_replay_as_gif(run, tmp_path):
    event = replay_of(run, "showcase")
    out = tmp_path / "whole.gif"
    proc = prospector(
        "replay",
        "export",
        "--runs-dir",
        str(run.parent),
        "--run",
        run.name,
        "--replay",
        event["replay_id"],
        "--out",
        str(out),
        "--size",
        "320x180",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert decoded(out) == (event["steps"] + 1, 320, 180)


def bad(run, tmp_path, *extra, out=None, env=None):
    out = str(tmp_path / "out.mp4") if out is None else out
    args = {"--runs-dir": str(run.parent), "--run": run.name, "--replay": replay_of(run)["replay_id"], "--out": out}
    for key, value in zip(extra[::2], extra[1::2]):
        args[key] = value
    proc = prospector("replay", "export", *[x for kv in args.items() for x in kv], env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_bad_input_is_one_line_exit_2_and_no_file(run, tmp_path):
    steps = replay_of(run)["steps"]
    assert "no run 'nope'" in bad(run, tmp_path, "--run", "nope")
    assert "has no replay 'w000000-0-00000000'" in bad(run, tmp_path, "--replay", "w000000-0-00000000")
    assert f"frames 0..{steps}" in bad(run, tmp_path, "--from", "3", "--to", str(steps + 1))
    assert "outside" in bad(run, tmp_path, "--from", "9", "--to", "4")
    assert "unknown extension '.avi'" in bad(run, tmp_path, out=str(tmp_path / "x.avi"))
    assert "does not exist" in bad(run, tmp_path, out=str(tmp_path / "missing" / "x.mp4"))
    (tmp_path / "taken.mp4").mkdir()
    assert "cannot write there" in bad(run, tmp_path, out=str(tmp_path / "taken.mp4"))
    assert "--size" in bad(run, tmp_path, "--size", "481x270")
    assert "no Chromium" in bad(run, tmp_path, env={"PROSPECTOR_CHROMIUM": str(tmp_path / "no-chromium")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.mp4"]  # nothing written, no partial file


def test_an_interrupted_export_leaves_no_partial_file(run, tmp_path):
    """The encoder writes to a hidden temporary name; a failure there removes it."""
    from prospector.sitegen import export as E

    event = replay_of(run)
    job = E.prepare(run / event["path"], tmp_path / "x.mp4", size=(160, 90))

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        E.render(job, progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_wandb_video_is_refused_at_start_without_chromium(tmp_path):
    proc = prospector(
        "train",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--wandb-video",
        "--windows",
        "1",
        env={"PROSPECTOR_CHROMIUM": str(tmp_path / "no-chromium"), "WANDB_MODE": "offline"},
        timeout=120,
    )
    assert proc.returncode == 2 and "--wandb-video" in proc.stderr and "no Chromium" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    proc = prospector("train", "--runs-dir", str(tmp_path / "runs"), "--wandb-video", "--no-wandb", timeout=120)
    assert proc.returncode == 2 and "--wandb-video" in proc.stderr


def test_wandb_video_training_logs_every_windows_replay_as_a_video(tmp_path):
    runs = tmp_path / "runs"
    cfg = tmp_path / "tiny.json"
    cfg.write_text('{"bptt_horizon": 16, "minibatch_size": 512}')
    proc = prospector(
        "train",
        "--config",
        str(cfg),
        "--runs-dir",
        str(runs),
        "--windows",
        "2",
        "--window-steps",
        "1024",
        "--envs",
        "32",
        "--backend",
        "serial",
        "--no-dashboard",
        "--time-max",
        "300",
        "--wandb-video",
        env={"WANDB_MODE": "offline"},
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run_dir = next(runs.iterdir())
    events = read_events(run_dir).events
    every = {e["replay_id"]: e for e in events if e["type"] == "replay_recorded" and "every_window" in e["tags"]}
    videos = [e for e in events if e["type"] == "replay_video"]
    assert sorted(v["replay_id"] for v in videos) == sorted(every) and len(every) == 2
    for video in videos:
        assert decoded(run_dir / video["path"]) == (every[video["replay_id"]]["steps"] + 1, 640, 360)
    # the offline W&B run holds them as videos under replay/video
    offline = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    logged = sorted((offline[0] / "files" / "media" / "videos").rglob("*.mp4"))
    assert len(logged) == 2, [str(p) for p in (offline[0] / "files").rglob("*")]
    assert sorted(decoded(p)[0] for p in logged) == sorted(e["steps"] + 1 for e in every.values())
