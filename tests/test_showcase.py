"""The showcase seed and the strips' data: a real short training run records a
``showcase`` replay per window, all in the same world; frames carry the critic's value;
the site's return-to-go and belief-error series equal recomputations from the raw replay
(docs/site.md#timelapse, docs/site.md#value-strip)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from harness.testing import train_tiny_run
from prospector.pipeline.config import make_train_config, showcase_seed_for
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import encode_replay, read_replay
from prospector.sitegen import replaydata


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("runs"), windows=3)


def recorded(run_dir):
    return [e for e in read_events(run_dir).events if e["type"] == "replay_recorded"]


def test_every_window_plays_the_showcase_seed_in_the_same_world(run):
    started = next(e for e in read_events(run).events if e["type"] == "run_started")
    seed = started["config"]["train"]["showcase_seed"]
    assert seed == showcase_seed_for(started["config"]["train"]["seed"])
    events = recorded(run)
    showcase = [e for e in events if "showcase" in e["tags"]]
    assert sorted(e["window_id"] for e in showcase) == [0, 1, 2]
    assert sorted(e["window_id"] for e in events if "every_window" in e["tags"]) == [0, 1, 2]
    firsts = []
    for event in showcase:
        assert event["seed"] == seed and "every_window" not in event["tags"]
        header, frames = read_replay(run / event["path"])
        assert header["seed"] == seed and header["tags"] == event["tags"]
        firsts.append((frames[0]["render_state"], frames[0]["truth"]))
    assert firsts[0] == firsts[1] == firsts[2]  # one world
    eval_first = read_replay(run / next(e for e in events if "every_window" in e["tags"])["path"])[1][0]
    assert eval_first["render_state"] != firsts[0][0]  # ... not the eval seed's


def test_frames_carry_finite_values_and_the_header_the_gamma(run):
    started = next(e for e in read_events(run).events if e["type"] == "run_started")
    for event in recorded(run):
        header, frames = read_replay(run / event["path"])
        assert header["gamma"] == started["config"]["train"]["gamma"]
        assert 0 < header["reward_scale"] <= started["config"]["train"]["reward_scale"]
        assert "value" not in frames[0]  # no action chosen there
        values = [f["value"] for f in frames[1:]]
        assert values and all(isinstance(v, float) and math.isfinite(v) for v in values)
        assert len(set(values)) > 1  # a value per state, not one constant


def test_return_to_go_equals_a_recomputation(run):
    for event in recorded(run):
        header, frames = read_replay(run / event["path"])
        series = replaydata.compact_replay(header, frames)["series"]
        gamma = header["gamma"]
        n = len(frames)
        for i in range(n):
            expected = sum(gamma ** (k - i - 1) * frames[k]["reward"] for k in range(i + 1, n))
            assert series["rtg"][i] == pytest.approx(expected, abs=2e-4, rel=1e-6), i
        for i in range(n - 1):
            assert series["value"][i] == pytest.approx(frames[i + 1]["value"] / header["reward_scale"], abs=1e-4)
        assert series["value"][-1] is None and series["missing"] == []
        drops = series["drops"]
        steepest = max(series["value"][i - 1] - series["value"][i] for i in range(1, n - 1))
        assert drops and series["value"][drops[0] - 1] - series["value"][drops[0]] == pytest.approx(steepest)


def test_belief_error_equals_a_recomputation_from_the_truth_blocks(run):
    seen = 0
    for event in recorded(run):
        header, frames = read_replay(run / event["path"])
        belief = replaydata.compact_replay(header, frames)["series"]["belief"]
        for i, frame in enumerate(frames):
            truth = {k: rock["comp"] for k, rock in enumerate(frame["truth"]["asteroids"])}
            diffs = [
                abs(e - t)
                for rock in frame["render_state"]["asteroids"]
                for e, t in zip(rock["comp_est"], truth[rock["slot"]])
            ]
            if not diffs:
                assert belief[i] is None
                continue
            assert belief[i] == pytest.approx(sum(diffs) / len(diffs), abs=1e-5), i
            seen += 1
    assert seen > 0


def test_old_replays_still_convert_and_say_value_is_missing(run):
    header, frames = read_replay(run / recorded(run)[0]["path"])
    old_header = {k: v for k, v in header.items() if k not in ("gamma", "reward_scale", "schema_version")}
    old_frames = [{k: v for k, v in f.items() if k != "value"} for f in frames]
    from prospector.pipeline.store.replays import decode_replay

    doc = replaydata.compact_replay(*decode_replay(encode_replay(old_header, old_frames)))
    assert doc["series"]["missing"] == ["value"] and set(doc["series"]["value"]) == {None}
    assert doc["series"]["gamma"] == replaydata.DEFAULT_GAMMA and len(doc["series"]["rtg"]) == len(frames)


def test_showcase_seed_is_settable_and_checked():
    assert make_train_config(showcase_seed=2**64 - 1).showcase_seed == 2**64 - 1
    assert make_train_config(seed=7).showcase_seed == showcase_seed_for(7) != showcase_seed_for(8)
    with pytest.raises(ValueError, match="--showcase-seed"):
        make_train_config(showcase_seed=2**64)


@pytest.mark.parametrize("value", ["18446744073709551616", "-1", "x"])
def test_bad_showcase_seed_is_refused_at_start(tmp_path, value):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "train",
            "--runs-dir",
            str(tmp_path),
            "--no-wandb",
            f"--showcase-seed={value}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "--showcase-seed" in lines[-1] and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing written
