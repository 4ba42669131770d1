"""A sweep's log read through the run store: tests/fixtures/store/sweep-events-v1.jsonl is
the log of tests/test_sweep.py's killed-and-resumed sweep, written by the code before the
sweep events were typed (every sweep event type is in it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from prospector.pipeline.sweep import read_sweep
from prospector.pipeline.sweep_report import constellation

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
