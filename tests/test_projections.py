"""Projections: windows.parquet and replay_index.sqlite, incremental == rebuilt from the log."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.events import LOSS_KEYS, WINDOW_METRICS
from prospector.pipeline.store.log import EventLog
from prospector.pipeline.store.projections import (
    WINDOW_COLUMNS,
    WINDOWS_SCHEMA,
    projection_snapshot,
    read_replays,
    read_windows,
    rebuild_projections,
    update_projections,
)

RUN_ID = "20250101-120000-abc1234"


@pytest.fixture
def run_dir(tmp_path):
    return runs.create_run_dir(tmp_path / "runs", RUN_ID)


def _metrics(w: int) -> dict:
    m = {k: round(0.5 * w + i / 10, 3) for i, k in enumerate(WINDOW_METRICS + LOSS_KEYS)}
    m.update(window_id=w, env_steps_total=4096 * (w + 1), episodes=10 + w)
    if w == 1:
        m["approx_kl"] = None  # null stays null
        m["return_median"] = float("nan")  # NaN becomes null
    return m


def _simulate_window(log: EventLog, run_dir, w: int) -> list[dict]:
    """What trainer + evaluator append for one window (files written before their events)."""
    out = []
    ckpt = runs.checkpoint_path(run_dir, w)
    n, sha = runs.atomic_write(ckpt, f"weights {w}".encode())
    out.append(log.append("checkpoint_saved", window_id=w, path=runs.rel_to_run(run_dir, ckpt), bytes=n, sha256=sha))
    out.append(log.append("window_closed", **_metrics(w)))
    for k in range(2):
        rid = runs.make_replay_id(w, k, f"seed={100 * w + k}")
        tags = ["every_window"] if k == 0 else []
        if w in (0, 2) and k == 0:
            tags.append("best_so_far")
        if w == 2 and k == 1:
            tags.append("milestone:profit_1k")
        n, sha = runs.atomic_write(runs.replay_path(run_dir, rid), b"zstd bytes")
        out.append(
            log.append(
                "replay_recorded",
                window_id=w,
                replay_id=rid,
                tags=tags,
                seed=100 * w + k,
                net_profit=10.0 * w - k,
                survival=(k == 0),
                steps=50 + k,
                path=runs.rel_to_run(run_dir, runs.replay_path(run_dir, rid)),
                bytes=n,
                sha256=sha,
                **{"return": 1.5 * w},
            )
        )
    if w == 1:
        out.append(log.append("eval_failed", window_id=w, error="demo failure"))
    return out


def _build_run(run_dir, windows=4, incremental=True) -> list[dict]:
    events = []
    with EventLog.open(run_dir) as log:
        events.append(
            log.append("run_started", config={"window_env_steps": 4096}, git_sha="abc1234", versions={}, wandb_url=None)
        )
        for w in range(windows):
            new = _simulate_window(log, run_dir, w)
            events += new
            if incremental:
                update_projections(run_dir, new)
        events.append(log.append("run_finished", reason="done"))
        if incremental:
            update_projections(run_dir, events[-1:])
    return events


def test_windows_table_content(run_dir):
    events = _build_run(run_dir, windows=3)
    table = read_windows(run_dir)
    assert table.schema.equals(WINDOWS_SCHEMA)
    assert table.column_names == list(WINDOW_COLUMNS)
    assert table.column_names[:3] == ["window_id", "env_steps_total", "episodes"]
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert [r["window_id"] for r in rows] == [0, 1, 2]
    assert rows[2]["env_steps_total"] == 3 * 4096 and rows[2]["clipfrac"] == _metrics(2)["clipfrac"]
    assert rows[1]["approx_kl"] is None and rows[1]["return_median"] is None
    closed = [e for e in events if e["type"] == "window_closed"]
    assert [r["seq"] for r in rows] == [e["seq"] for e in closed]
    assert [r["ts"] for r in rows] == [e["ts"] for e in closed]


def test_replay_index_content_and_tag_filter(run_dir):
    _build_run(run_dir, windows=3)
    allr = read_replays(run_dir)
    assert len(allr) == 6 and [r["seq"] for r in allr] == sorted(r["seq"] for r in allr)
    first = allr[0]
    assert first["replay_id"].startswith("w000000-0-") and first["tags"] == ["every_window", "best_so_far"]
    assert first["survival"] == 1 and first["return"] == 0.0 and first["steps"] == 50
    assert (run_dir / first["path"]).is_file() and len(first["sha256"]) == 64
    assert [r["window_id"] for r in read_replays(run_dir, tag="best_so_far")] == [0, 2]
    assert [r["window_id"] for r in read_replays(run_dir, tag="every_window")] == [0, 1, 2]
    assert len(read_replays(run_dir, tag="milestone:profit_1k")) == 1
    assert len(read_replays(run_dir, window_id=1)) == 2
    assert read_replays(run_dir, tag="nope") == []


def test_incremental_equals_rebuild(run_dir, tmp_path):
    _build_run(run_dir, windows=5, incremental=True)
    incremental = projection_snapshot(run_dir)
    parquet_bytes = runs.windows_parquet_path(run_dir).read_bytes()
    assert len(incremental["windows"]) == 5 and len(incremental["replays"]) == 10
    assert ("last_seq", str(incremental["replays"][-1][11] + 1)) in incremental["meta"]  # run_finished

    # Rebuild in place (what `prospector runs reindex` does) ...
    result = rebuild_projections(run_dir)
    assert result.rebuilt == ["windows", "replays"] and result.windows_added == 5
    assert projection_snapshot(run_dir) == incremental
    assert runs.windows_parquet_path(run_dir).read_bytes() == parquet_bytes  # deterministic writer

    # ... and in a copy that only has the log.
    copy = tmp_path / "copy" / RUN_ID
    copy.mkdir(parents=True)
    shutil.copy(runs.events_path(run_dir), runs.events_path(copy))
    update_projections(copy)
    assert projection_snapshot(copy) == incremental
    assert read_windows(copy).equals(read_windows(run_dir))


def test_reindex_after_deleting_projections(run_dir):
    _build_run(run_dir, windows=3)
    before = projection_snapshot(run_dir)
    runs.windows_parquet_path(run_dir).unlink()
    runs.replay_index_path(run_dir).unlink()
    result = update_projections(run_dir)  # missing -> rebuilt from the log
    assert sorted(result.rebuilt) == ["replays", "windows"]
    assert projection_snapshot(run_dir) == before
    runs.replay_index_path(run_dir).unlink()
    rebuild_projections(run_dir)
    assert projection_snapshot(run_dir) == before


def test_damaged_or_stale_projection_is_rebuilt(run_dir):
    _build_run(run_dir, windows=2)
    before = projection_snapshot(run_dir)
    runs.windows_parquet_path(run_dir).write_bytes(b"not parquet")
    runs.replay_index_path(run_dir).write_bytes(b"not sqlite either, just junk bytes" * 100)
    result = update_projections(run_dir)
    assert sorted(result.rebuilt) == ["replays", "windows"]
    assert projection_snapshot(run_dir) == before


def test_update_is_idempotent_and_fills_gaps_from_the_log(run_dir):
    with EventLog.open(run_dir) as log:
        log.append("run_started", config={}, git_sha=None, versions={}, wandb_url=None)
        first = _simulate_window(log, run_dir, 0)
        update_projections(run_dir, first)
        update_projections(run_dir, first)  # repeated: no duplicate rows
        assert read_windows(run_dir).num_rows == 1 and len(read_replays(run_dir)) == 2
        _simulate_window(log, run_dir, 1)  # never handed to update_projections
        third = _simulate_window(log, run_dir, 2)
        result = update_projections(run_dir, third)  # gap -> the missing events come from the log
    assert result.rebuilt == [] and result.windows_added == 2 and result.replays_added == 4
    assert result.last_seq == third[-1]["seq"]
    assert read_windows(run_dir).column("window_id").to_pylist() == [0, 1, 2]
    incremental = projection_snapshot(run_dir)
    rebuild_projections(run_dir)
    assert projection_snapshot(run_dir) == incremental


def test_projection_ahead_of_log_is_rebuilt(run_dir):
    _build_run(run_dir, windows=3)
    path = runs.events_path(run_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:8]))  # a shorter log (e.g. restored copy)
    result = update_projections(run_dir)
    assert sorted(result.rebuilt) == ["replays", "windows"] and result.last_seq == 7
    assert read_windows(run_dir).num_rows == 2 and len(read_replays(run_dir)) == 3


def test_torn_tail_is_not_projected(run_dir):
    _build_run(run_dir, windows=2, incremental=False)
    with open(runs.events_path(run_dir), "ab") as f:
        f.write(b'{"seq":999,"ts":"2025-01-01T00:00:00.000Z","run_id":"x","type":"window_clo')
    update_projections(run_dir)
    assert read_windows(run_dir).num_rows == 2


def test_empty_log_gives_empty_typed_projections(run_dir):
    result = update_projections(run_dir)
    assert result.last_seq == -1
    table = read_windows(run_dir)
    assert table.num_rows == 0 and table.schema.equals(WINDOWS_SCHEMA)
    assert read_replays(run_dir) == []
    assert pa.types.is_int64(table.schema.field("window_id").type)
