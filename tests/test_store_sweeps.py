"""A sweep's log read through the run store (pipeline/store/sweeps.py, the typed sweep
events of pipeline/store/events.py): tests/fixtures/store/sweep-events-v1.jsonl is the log
of tests/test_sweep.py's killed-and-resumed sweep, written by the code before the sweep
events were typed (every sweep event type is in it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from prospector.pipeline.store import events as E
from prospector.pipeline.store.log import CorruptLogError, EventLog, EventValidationError, read_events
from prospector.pipeline.store.sweeps import append_event, constellation, read_sweep

REPO = Path(__file__).resolve().parents[1]
SWEEP_FIXTURE = REPO / "tests" / "fixtures" / "store" / "sweep-events-v1.jsonl"


def fixture_sweep(tmp_path: Path) -> Path:
    sweep_dir = tmp_path / "runs" / "sweeps" / "s"
    sweep_dir.mkdir(parents=True)
    shutil.copyfile(SWEEP_FIXTURE, sweep_dir / "events.jsonl")
    return sweep_dir


def test_a_sweep_log_of_the_earlier_release_still_reads(tmp_path):
    record = read_sweep(fixture_sweep(tmp_path))
    assert record.sweep_id == "s" and record.last_seq == 11
    assert [(t.trial, t.status, t.resumed) for t in record.in_order()] == [
        (0, "finished", 0),
        (1, "finished", 1),
        (2, "failed", 0),
        (3, "finished", 0),
    ]
    assert record.trials[0].default and record.trials[0].settings == {
        "learning_rate": 0.003,
        "gamma": 0.995,
        "policy": "mlp",
    }
    assert record.trials[2].reason == "training killed by signal 9: no output"
    assert record.finished["reason"] == "budget" and record.finished["observed_trials"] == [0, 1, 3]
    assert record.sweep_seconds == 32.717
    assert record.trials[1].result["score"] == 797.0150518420038


def test_the_constellation_of_an_earlier_sweep_log(tmp_path):
    doc = constellation(fixture_sweep(tmp_path), tmp_path / "runs")
    assert doc["status"] == "finished" and doc["method"] == "Random" and doc["budget"]["parallel"] == 2
    assert doc["best"] == 1 and doc["worst"] == 3 and doc["default"] == 0
    assert doc["front"] == [1]
    assert [t["status"] for t in doc["trials"]] == ["finished", "finished", "failed", "finished"]
    assert doc["curves"]["0"]["env_steps_total"] == []  # the trial runs are not in the fixture


def test_every_event_of_the_earlier_sweep_log_reads_into_its_typed_record():
    log = read_events(SWEEP_FIXTURE)
    records = [E.parse(ev) for ev in log]
    for ev, record in zip(log, records, strict=True):
        assert isinstance(record, E.SweepEvent) and record.TYPE == ev["type"]
        assert record.to_json() == ev  # the JSON form round-trips, field for field
    kinds = {type(r) for r in records}
    assert kinds == {c for c in E.EVENT_TYPES.values() if issubclass(c, E.SweepEvent)}


def test_a_sweep_event_that_does_not_match_its_type_names_its_line_and_field(tmp_path):
    sweep_dir = fixture_sweep(tmp_path)
    lines = SWEEP_FIXTURE.read_text().splitlines()
    bad = json.loads(lines[2])  # trial_finished
    bad["score"] = "high"
    (sweep_dir / "events.jsonl").write_text("\n".join([*lines[:2], json.dumps(bad), *lines[3:]]) + "\n")
    with pytest.raises(CorruptLogError, match=r"line 3: trial_finished\.score: must be number"):
        read_sweep(sweep_dir)


def test_the_sweep_writer_refuses_an_event_that_does_not_match_and_writes_nothing(tmp_path):
    sweep_dir = fixture_sweep(tmp_path)
    before = (sweep_dir / "events.jsonl").read_bytes()
    with EventLog.open(sweep_dir) as log:
        with pytest.raises(EventValidationError, match=r"trial_failed\.reason: missing"):
            append_event(log, E.TrialFailed, sweep_seconds=40.0, trial=3, trial_run="s-t003")
        event = append_event(log, E.TrialResumed, sweep_seconds=40.0, trial=3, trial_run="s-t003")
    assert isinstance(event, E.TrialResumed) and event.seq == 12
    assert (sweep_dir / "events.jsonl").read_bytes().startswith(before)
    assert read_sweep(sweep_dir).trials[3].resumed == 1


def test_a_trial_outcome_before_its_suggestion_is_a_damaged_log(tmp_path):
    sweep_dir = fixture_sweep(tmp_path)
    lines = SWEEP_FIXTURE.read_text().splitlines()
    (sweep_dir / "events.jsonl").write_text("\n".join([lines[0], lines[2]]).replace('"seq":2', '"seq":1') + "\n")
    with pytest.raises(CorruptLogError, match="line 2: trial_finished of trial 0 that was never suggested"):
        read_sweep(sweep_dir)
