"""The typed events of the run store (pipeline/store/events.py): one definition per event
type, from which the writer's validation, the reader's check, the typed records and the
docs' table come (docs/training.md#event-types)."""

from __future__ import annotations

import json
import re
from dataclasses import MISSING
from pathlib import Path

import pytest
from prospector.pipeline.store import events as E
from prospector.pipeline.store.log import CorruptLogError, EventLog, EventValidationError, read_events

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "store" / "events-v1.jsonl"


def docs_page_table() -> str:
    """The first table under the page's Event types heading, line for line."""
    section = (REPO / "docs" / "training.md").read_text().split("## Event types { #event-types }", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return "\n".join(lines[start:end]) + "\n"


def test_the_docs_table_of_event_types_is_the_definitions_table():
    assert docs_page_table() == E.docs_table()


def test_every_event_type_has_a_docs_row_naming_each_field():
    table = E.docs_table()
    for type_, cls in E.EVENT_TYPES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{type_}` |"))
        assert cls.DOC in row and cls.WRITER in row
        for spec in E.payload_fields(cls):
            key = "return" if spec.name == "return_" else spec.name
            assert re.search(rf"`{key}\??` {re.escape(spec.metadata['kind'].name)}", row), (type_, key)


def test_a_log_the_current_release_wrote_reads_into_typed_records():
    """tests/fixtures/store/events-v1.jsonl: a real 2-window `prospector train` run's log."""
    log = read_events(FIXTURE)
    assert not log.torn_tail and len(log) == 10
    records = [E.parse(ev) for ev in log]
    for ev, record in zip(log, records, strict=True):
        assert type(record) is E.EVENT_TYPES[ev["type"]], ev["type"]
        as_json = record.to_json()  # the JSON form round-trips (unknown keys kept, defaults filled)
        assert {key: as_json[key] for key in ev} == ev and all(record[key] == ev[key] for key in ev)
    kinds = {type(r) for r in records}
    assert {E.RunStarted, E.CheckpointSaved, E.WindowClosed, E.ReplayRecorded, E.RunFinished} <= kinds
    replay = next(r for r in records if isinstance(r, E.ReplayRecorded))
    assert replay["return"] == replay.return_ and "net_profit" in replay and replay.get("nope", 7) == 7


def minimal_payload(cls: type[E.Event]) -> dict:
    samples = {
        "int": 1,
        "count": 1,
        "number": 1.5,
        "number or bool": 1,
        "bool": True,
        "string": "x",
        "strings": ["x"],
        "object": {},
        "list": [],
        "any": 1,
    }
    out = {}
    for spec in E.payload_fields(cls):
        if spec.default is MISSING:
            out["return" if spec.name == "return_" else spec.name] = samples[spec.metadata["kind"].name]
    if cls is E.Benchmark:
        out["columns"] = ["net_profit"]
        out["rows"] = [{"policy": "ppo", "kind": "ppo", "episodes": 1, "net_profit": 1.0, "net_profit_ci95": [0, 2]}]
    return out


@pytest.mark.parametrize("type_", sorted(E.EVENT_TYPES))
def test_each_required_field_is_named_when_it_is_missing_or_of_the_wrong_kind(type_):
    cls = E.EVENT_TYPES[type_]
    payload = minimal_payload(cls)
    E.check_payload(type_, payload)
    for key in payload:
        spec = next(s for s in E.payload_fields(cls) if s.name == ("return_" if key == "return" else key))
        with pytest.raises(E.EventSchemaError, match=rf"{type_}\.{key}: missing payload keys"):
            E.check_payload(type_, {k: v for k, v in payload.items() if k != key})
        if spec.metadata["kind"].name != "any":
            with pytest.raises(E.EventSchemaError) as err:
                wrong = "text" if spec.metadata["kind"].name == "object" else {"not": "this"}
                E.check_payload(type_, {**payload, key: wrong})
            assert err.value.field == key


def write_lines(path: Path, events: list[dict]) -> bytes:
    data = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)
    path.write_bytes(data)
    return data


def fixture_events() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_schema_bad_line_is_reported_with_its_line_and_field_and_nothing_is_cut(tmp_path, where):
    events = fixture_events()
    bad_index = 4 if where == "middle" else len(events) - 1
    if where == "middle":
        events[bad_index]["return_mean"] = "lots"  # window_closed
        field = "window_closed.return_mean"
    else:
        del events[bad_index]["reason"]  # run_finished
        field = "run_finished.reason"
    run_dir = tmp_path / events[0]["run_id"]
    run_dir.mkdir()
    data = write_lines(run_dir / "events.jsonl", events)
    with pytest.raises(CorruptLogError) as err:
        read_events(run_dir)
    message = str(err.value)
    assert f"line {bad_index + 1}:" in message and field in message and "\n" not in message
    with pytest.raises(CorruptLogError):  # the writer refuses too, and cuts nothing
        EventLog.open(run_dir)
    assert (run_dir / "events.jsonl").read_bytes() == data
    assert not list(run_dir.glob("events.jsonl.torn-*"))


def test_an_unterminated_schema_bad_last_line_is_not_taken_for_a_torn_one(tmp_path):
    events = fixture_events()
    events[-1]["reason"] = 3
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    data = write_lines(run_dir / "events.jsonl", events)[:-1]  # no final newline
    (run_dir / "events.jsonl").write_bytes(data)
    with pytest.raises(CorruptLogError, match=r"line 10: run_finished\.reason: must be string"):
        EventLog.open(run_dir)
    assert (run_dir / "events.jsonl").read_bytes() == data


def test_the_writer_refuses_a_payload_that_does_not_match_and_writes_nothing(tmp_path):
    with EventLog.open(tmp_path / "r") as log:
        with pytest.raises(EventValidationError, match=r"replay_recorded\.tags: must be strings"):
            log.append("replay_recorded", **{**minimal_payload(E.ReplayRecorded), "tags": "showcase"})
        log.append("some_new_type", anything=[1, {"goes": None}])  # unknown types pass as they are
    assert [e["type"] for e in read_events(tmp_path / "r")] == ["some_new_type"]


def test_window_metrics_and_losses_come_from_the_window_closed_definition():
    declared = [s.name for s in E.payload_fields(E.WindowClosed)]
    assert declared[: len(E.WINDOW_METRICS)] == list(E.WINDOW_METRICS)
    assert set(E.LOSS_KEYS) <= set(declared)
    assert E.WINDOW_METRICS[:3] == ("window_id", "env_steps_total", "episodes")
