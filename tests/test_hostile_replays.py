"""Replay files that are not what the evaluator writes (docs/site.md#replay-files).

A replay is data from a run directory that people download and share: a file that
parses as JSON but has another shape (a frame that is a list, a render_state that is a
string, events that are numbers, asteroids as lists, ...), with its ``replay_recorded``
event's sha256 updated to match, must be refused when it is read, in one line naming
its line and field. ``site build`` then marks that replay damaged and builds the rest;
``replay export`` refuses it; and an export to a place no file can be created is refused
before a single frame is drawn.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from harness.synth import SyntheticRun, play_bot_episode
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import ReplayError, decode_replay, encode_replay

REPO = Path(__file__).resolve().parents[1]


def _frame(i: int):
    return lambda lines: lines[i + 1]


def _set(path: str, value):
    """An edit of the parsed file: ``path`` is ``line/key/key...`` (line 0 is the header)."""

    def edit(lines: list) -> None:
        line, *keys = path.split("/")
        target = lines[int(line)]
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if keys:
            target[keys[-1]] = value
        else:
            lines[int(line)] = value

    return edit


# (name, edit of the parsed lines, what the one-line error names)
BAD = [
    ("frame_is_a_list", _set("2", [1, 2, 3]), "line 3 (frame 1): the line: expected an object, got a list"),
    ("render_state_string", _set("2/render_state", "x"), "render_state: expected an object, got a string"),
    ("events_are_ints", _set("2/events", [1, 2]), "events[0]: expected an object, got an integer"),
    ("asteroids_as_lists", _set("1/render_state/asteroids", [[0.1, 0.2]]), "render_state.asteroids[0]: expected"),
    (
        "ship_missing",
        lambda lines: lines[3]["render_state"].pop("ship"),
        "line 4 (frame 2): render_state.ship: missing",
    ),
    ("action_out_of_range", _set("3/action", 999), "action: expected an action 0..68, got 999"),
    ("action_a_float", _set("3/action", 2.0), "action: expected an integer, got a number"),
    ("frame0_with_action", _set("1/action", 3), "frame 0 has no action"),
    ("probs_not_pairs", _set("2/probs", [[1]]), "probs[0]: expected a list of 2, got 1 items"),
    ("header_tags_string", _set("0/tags", "best"), "line 1 (header): tags: expected a list, got a string"),
    ("header_seed_missing", lambda lines: lines[0].pop("seed"), "line 1 (header): seed: missing"),
    ("env_config_odd_key", _set("0/env_config", {"a\nb" * 40: "x"}), "line 1 (header): env_config["),
    ("no_frames", lambda lines: lines.__delitem__(slice(1, None)), "the replay has no frames"),
]


@pytest.fixture(scope="module")
def good_replay() -> tuple[dict, list]:
    frames, totals = play_bot_episode(7, 6)
    header = {
        "run_id": "20260101-000000-5e5e5e5",
        "window_id": 0,
        "replay_id": "w000000-0-00000000",
        "seed": 7,
        "env_config": {"time_max": 20000.0},
        "policy_checkpoint": "checkpoints/ckpt_000000.pt",
        "checkpoint_sha256": "0" * 64,
        "tags": ["every_window"],
        "totals": totals,
    }
    return header, frames


def _lines(header: dict, frames: list) -> list:
    return json.loads(json.dumps([{"schema_version": 1, **header}, *frames]))


def _encode(lines: list) -> bytes:
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    return zstandard.ZstdCompressor().compress(text.encode())


def test_a_replay_as_the_evaluator_writes_it_decodes(good_replay):
    header, frames = decode_replay(encode_replay(*good_replay))
    assert len(frames) == len(good_replay[1]) and header["seed"] == 7


@pytest.mark.parametrize("name,edit,message", BAD, ids=[b[0] for b in BAD])
def test_a_replay_of_another_shape_is_refused_in_one_line(good_replay, name, edit, message):
    lines = _lines(*good_replay)
    edit(lines)
    with pytest.raises(ReplayError) as caught:
        decode_replay(_encode(lines))
    text = str(caught.value)
    assert message in text and "\n" not in text and len(text) < 200, text


def test_a_replay_nested_too_deeply_is_refused(good_replay):
    lines = [json.dumps({"schema_version": 1, **good_replay[0]}), "[" * 200_000 + "]" * 200_000]
    data = zstandard.ZstdCompressor().compress("\n".join(lines).encode())
    with pytest.raises(ReplayError, match="nested too deeply"):
        decode_replay(data)


def test_a_replay_that_decompresses_past_the_limit_is_refused_unread(good_replay, monkeypatch):
    """A few kilobytes of zstd can expand to gigabytes: decoding stops at the limit."""
    from prospector.pipeline.store import replays as R

    header, frames = good_replay
    data = encode_replay(header, frames * 100)  # a well-formed replay, ~2 MiB of JSON
    assert len(data) < 200_000
    monkeypatch.setattr(R, "MAX_REPLAY_BYTES", 1 << 20)
    with pytest.raises(ReplayError, match="decompresses to more than 1 MiB"):
        decode_replay(data)


# ------------------------------------------------------------------ the site build and export


def damage(run: SyntheticRun, event: dict, edit) -> None:
    """Rewrite a replay file with ``edit`` applied and set its event's sha256 and bytes to match,
    as someone handing out a crafted run directory would."""
    path = run.dir / event["path"]
    text = zstandard.ZstdDecompressor().decompress(path.read_bytes()).decode()
    lines = [json.loads(line) for line in text.splitlines()]
    edit(lines)
    data = _encode(lines)
    path.write_bytes(data)
    log = (run.dir / "events.jsonl").read_bytes().split(b"\n")
    obj = json.loads(log[event["seq"]])
    obj["sha256"], obj["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    log[event["seq"]] = json.dumps(obj, separators=(",", ":")).encode()
    (run.dir / "events.jsonl").write_bytes(b"\n".join(log))


def prospector(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prospector.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture
def damaged_run(tmp_path) -> tuple[SyntheticRun, list[dict]]:
    run = SyntheticRun(tmp_path / "runs", run_id="hostile", frames=30)
    run.create(5)
    recs = [e for e in read_events(run.dir).events if e["type"] == "replay_recorded"]
    for event, (_, edit, _) in zip(recs[1:4], BAD[:4]):  # the four forms the issue names
        damage(run, event, edit)
    return run, recs


def test_site_build_marks_each_bad_replay_and_builds_the_rest(damaged_run, tmp_path):
    run, recs = damaged_run
    out = tmp_path / "public"
    for _ in range(2):  # and again, incrementally: a bad replay never stops a build
        proc = prospector("site", "build", "--runs", str(run.runs_dir), "--out", str(out), "--no-docs", "--quiet")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        problems = [line for line in proc.stderr.splitlines() if "bad_replay" in line]
        assert len(problems) == 3, proc.stderr
    catalog = {r["replay_id"]: r for r in json.loads((out / "data/runs/hostile/replays.json").read_text())["replays"]}
    replays = out / "data/runs/hostile/replays"
    for event in recs[1:4]:
        entry = catalog[event["replay_id"]]
        assert entry["status"] == "bad_replay" and entry["url"] is None
        assert "(frame" in entry["problem"], entry
        assert not (replays / f"{event['replay_id']}.json").exists()
    for event in (recs[0], recs[4]):
        assert catalog[event["replay_id"]]["status"] == "ok"
        assert (replays / f"{event['replay_id']}.json").is_file()
    page = (out / "runs/hostile/index.html").read_text()
    assert page.count(": bad_replay</span>") == 3, page
    # --strict reports them as a failing status, still without a traceback
    strict = prospector("site", "build", "--runs", str(run.runs_dir), "--out", str(out), "--no-docs", "--strict")
    assert strict.returncode == 1 and "Traceback" not in strict.stderr, strict.stderr


def _export(run: SyntheticRun, replay_id: str, out: str) -> subprocess.CompletedProcess:
    return prospector(
        "replay",
        "export",
        "--runs-dir",
        str(run.runs_dir),
        "--run",
        run.run_id,
        "--replay",
        replay_id,
        "--out",
        out,
        "--size",
        "160x90",
        timeout=120,
    )


def test_replay_export_refuses_a_bad_replay_in_one_line(damaged_run, tmp_path):
    run, recs = damaged_run
    proc = _export(run, recs[1]["replay_id"], str(tmp_path / "x.gif"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "line 3 (frame 1)" in lines[0], lines
    assert list(tmp_path.glob("*.gif")) == []


@pytest.mark.parametrize("out", ["/proc/x.gif", "/proc/self/x.mp4"])
def test_replay_export_refuses_an_output_it_cannot_create_before_drawing(damaged_run, tmp_path, out):
    """/proc is a directory that access() calls writable and where no file can be created:
    the export must say so first, not after drawing every frame (a traceback from PyAV)."""
    run, recs = damaged_run
    proc = _export(run, recs[0]["replay_id"], out)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert out in lines[0] and "cannot write there" in lines[0], lines
    assert "export: frame" not in proc.stderr  # refused before drawing
