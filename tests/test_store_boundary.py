"""The run store is the one place that knows the log: no module outside
pipeline/store/ names an event type (a run's or a sweep's) as a string or scans a log
itself; they use the typed events (pipeline/store/events.py), the Run views
(pipeline/store/run.py) and a sweep's record (pipeline/store/sweeps.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from prospector.pipeline.store.events import EVENT_TYPES

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pipeline", "sitegen", "prospector")
STORE = REPO / "pipeline" / "store"
#: Strings equal to an event type's name that mean something else where they stand.
NOT_EVENT_TYPES = {
    ("pipeline/cli.py", "benchmark"): "the `prospector benchmark` command",
    ("pipeline/cli.py", "replay_video"): "the prospector.hooks entry point that draws videos",
    ("pipeline/benchmark.py", "benchmark"): "the W&B experiment name",
    ("sitegen/build.py", "benchmark"): "part of a cache key",
}
#: Log readers outside the store, and the log they read (not a run's): none since a sweep's
#: own log is read by pipeline/store/sweeps.py too.
OTHER_LOGS: dict[tuple[str, str], str] = {}
LOG_SCANS = ("read_events", "load_events", "parse_log_bytes")


def modules_outside_the_store():
    for root in SOURCES:
        for path in sorted((REPO / root).rglob("*.py")):
            if STORE not in path.parents:
                yield path.relative_to(REPO).as_posix(), ast.parse(path.read_text(), str(path))


def test_no_module_outside_the_store_names_an_event_type():
    found = [
        f"{name}:{node.lineno}: {node.value!r}"
        for name, tree in modules_outside_the_store()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in EVENT_TYPES and (name, node.value) not in NOT_EVENT_TYPES
    ]
    assert not found, "use the classes of pipeline/store/events.py and the Run views: " + "; ".join(found)


def test_no_module_outside_the_store_scans_a_run_log_itself():
    found = []
    for name, tree in modules_outside_the_store():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if called in LOG_SCANS and (name, called) not in OTHER_LOGS:
                    found.append(f"{name}:{node.lineno}: {called}()")
    assert not found, "read a run through pipeline/store/run.py's Run: " + "; ".join(found)


def test_the_exceptions_are_still_there():
    """An entry of the lists above that no longer matches anything is removed, not kept."""
    literals = {
        (name, node.value)
        for name, tree in modules_outside_the_store()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert set(NOT_EVENT_TYPES) <= literals
