"""Replay files (docs/site.md): zstd-compressed JSON Lines.

Line 1 is the header (schema_version, ids, seed, env config, checkpoint, tags,
totals, and since the showcase seed ``gamma`` and ``reward_scale``); every further line
is one frame.  Frame 0 is the state after reset (action null); frame t is the state
after step t, and carries the critic's ``value`` of the state its action was chosen in
(frame t-1's). The additions are optional fields of schema 1: replays recorded without
them still decode and play (docs/site.md#value-strip).

Every read checks the file against the one description of its shape below
(:data:`HEADER_SHAPE`, :data:`FRAME_SHAPE`; docs/site.md#replay-files): a replay that
parses but has another shape is a :class:`ReplayError` naming its line and field.
"""

from __future__ import annotations

import io
import json

import zstandard

from prospector import spec as S

SCHEMA_VERSION = 1
ZSTD_LEVEL = 10
#: A replay larger than this once decompressed is refused (a few kilobytes of zstd can
#: expand to gigabytes). The longest episode of the default config, 20,000 steps, is
#: about 100 MB of JSON.
MAX_REPLAY_BYTES = 1 << 30


def encode_replay(header: dict, frames: list[dict]) -> bytes:
    """The whole file as bytes (written atomically by the caller)."""
    lines = [json.dumps({"schema_version": SCHEMA_VERSION, **header}, separators=(",", ":"))]
    lines += [json.dumps(frame, separators=(",", ":")) for frame in frames]
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(("\n".join(lines) + "\n").encode())


class ReplayError(ValueError):
    pass


def decode_replay(data: bytes) -> tuple[dict, list[dict]]:
    """(header, frames); a clear ReplayError for a file that is not a replay."""
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            raw = reader.read(MAX_REPLAY_BYTES + 1)
        if len(raw) > MAX_REPLAY_BYTES:
            raise ReplayError(f"the replay decompresses to more than {MAX_REPLAY_BYTES >> 20} MiB: not one of ours")
        text = raw.decode()
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise ReplayError(f"not a zstd-compressed replay: {exc}") from None
    lines = text.splitlines()
    if not lines:
        raise ReplayError("empty replay")
    try:
        header = json.loads(lines[0])
        frames = [json.loads(line) for line in lines[1:]]
    except json.JSONDecodeError as exc:
        raise ReplayError(f"replay line is not JSON: {exc}") from None
    except RecursionError:  # nesting deeper than any replay's: not one
        raise ReplayError("replay line is nested too deeply to be a replay") from None
    if not isinstance(header, dict) or header.get("schema_version") != SCHEMA_VERSION:
        shown = header.get("schema_version") if isinstance(header, dict) else _kind(header)
        raise ReplayError(f"unsupported replay schema: {shown!r:.60}")
    check_replay(header, frames)
    return header, frames


def read_replay(path) -> tuple[dict, list[dict]]:
    with open(path, "rb") as f:
        return decode_replay(f.read())


# ------------------------------------------------------------------ the shape of a replay
#
# A shape is a type name ("number", "int", "str", "bool"), OneOf(type names), a dict (a
# record: keys ending in "?" are optional; other keys are allowed, since additions to
# schema 1 are optional fields), MapOf(shape) (an object of any keys), a one-item list
# (a list of that shape), a tuple (a list of exactly those shapes), Nullable(shape) or
# AllOf(shapes).


class Nullable:
    def __init__(self, shape):
        self.shape = shape


class MapOf:
    """An object whose values all have ``shape`` (its keys are free)."""

    def __init__(self, shape):
        self.shape = shape


class OneOf:
    """A scalar of one of several types."""

    def __init__(self, *names: str):
        self.names = names


class AllOf:
    """A value that has every one of ``shapes``."""

    def __init__(self, *shapes):
        self.shapes = shapes


SCALAR = OneOf("number", "str", "bool", "null")  # an event's fields, a header's totals

HEADER_SHAPE = {
    "schema_version": "int",
    "run_id": "str",
    "window_id": "int",
    "replay_id": "str",
    "seed": "int",
    "env_config": MapOf("number"),
    "policy_checkpoint?": Nullable("str"),
    "checkpoint_sha256?": Nullable("str"),
    "tags": ["str"],
    "totals": MapOf(SCALAR),
    "gamma?": Nullable("number"),
    "reward_scale?": Nullable("number"),
}

# prospector/state.py render_state, key for key (unchanged since the first replay)
SHIP_FIELDS = (
    "fuel",
    "hull",
    "heat",
    "tool",
    "alert",
    "credits",
    "net_profit",
    "repair_kits",
    "stabilizers",
    "decoys",
    "cargo_volume",
    "escape_ticks",
)
RENDER_STATE_SHAPE = {
    "t": "number",
    "time_remaining": "number",
    "time_max": "number",
    "ship": dict.fromkeys(SHIP_FIELDS, "number"),
    "limits": MapOf("number"),
    "cargo": [{"commodity": "str", "raw": "number", "refined": "number"}],
    "docked": "bool",
    "node": {"index": "int", "type": "str", "steps_to_station": "int"},
    "neighbors": [
        {
            "slot": "int",
            "node": "int",
            "type": "str",
            "travel_time": "number",
            "fuel_cost": "number",
            "threat_est": "number",
        }
    ],
    "asteroids": [
        {
            "slot": "int",
            "comp_est": ["number"],
            "stability_est": "number",
            "depletion": "number",
            "scan_conf": "number",
            "selected": "bool",
            "value_est?": "number",
        }
    ],
    "selected": "int",
    "market": {
        "commodities": ["str"],
        "price": ["number"],
        "prev_price": ["number"],
        "price_max": ["number"],
        "inventory": ["number"],
    },
    "map": {
        "nodes": [{"index": "int", "type": "str", "x": "number", "y": "number", "visited": "bool"}],
        "edges": [("int", "int")],
    },
    "done": "bool",
    "end_reason": Nullable("str"),
}

# prospector/state.py truth_state
TRUTH_SHAPE = {
    "node": {"pirate": "number", "hazard": "number", "richness": "number"},
    "asteroids": [{"comp": ["number"], "richness": "number", "stability": "number"}],
    "threat": ["number"],
}

# one frame as pipeline/evaluator.py play_episode records it (actions: check_replay)
FRAME_SHAPE = {
    "t": "int",
    "action": Nullable("int"),
    "action_name?": Nullable("str"),
    "reward": "number",
    "value?": Nullable("number"),
    "dt": "number",
    "invalid?": "bool",
    "events": [AllOf({"type": "str"}, MapOf(SCALAR))],
    "render_state": RENDER_STATE_SHAPE,
    "truth?": Nullable(TRUTH_SHAPE),
    "probs?": Nullable([("int", "number")]),
    "valid?": Nullable(["int"]),
}

_TYPES = {
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "a boolean"),
    "null": (lambda v: v is None, "null"),
}


def _kind(value) -> str:
    """What a JSON value is, for a message."""
    if value is None:
        return "null"
    for name in ("bool", "int", "number", "str"):
        if _TYPES[name][0](value):
            return _TYPES[name][1]
    return "a list" if isinstance(value, list) else "an object"


def shape_error(value, shape) -> tuple[str, str] | None:
    """(where, what) of the first place ``value`` differs from ``shape``; None when it has it."""
    if isinstance(shape, str):
        test, name = _TYPES[shape]
        return None if test(value) else ("", f"expected {name}, got {_kind(value)}")
    if isinstance(shape, Nullable):
        return None if value is None else shape_error(value, shape.shape)
    if isinstance(shape, OneOf):
        if any(_TYPES[name][0](value) for name in shape.names):
            return None
        return "", f"expected {' or '.join(_TYPES[n][1] for n in shape.names)}, got {_kind(value)}"
    if isinstance(shape, AllOf):
        return next(filter(None, (shape_error(value, s) for s in shape.shapes)), None)
    if isinstance(shape, (list, tuple)):
        if not isinstance(value, list):
            return "", f"expected a list, got {_kind(value)}"
        if isinstance(shape, tuple) and len(value) != len(shape):
            return "", f"expected a list of {len(shape)}, got {len(value)} items"
        shapes = shape if isinstance(shape, tuple) else [shape[0]] * len(value)
        return _first((f"[{i}]", item, s) for i, (item, s) in enumerate(zip(value, shapes)))
    if not isinstance(value, dict):
        return "", f"expected an object, got {_kind(value)}"
    if isinstance(shape, MapOf):
        return _first((_key(key), item, shape.shape) for key, item in value.items())
    for key, sub in shape.items():
        name = key.rstrip("?")
        if name in value:
            found = shape_error(value[name], sub)
            if found is not None:
                return f".{name}{found[0]}", found[1]
        elif not key.endswith("?"):
            return f".{name}", "missing"
    return None


def _key(key: str) -> str:
    """A free key as it appears in a message: plain names as they are, others quoted and cut."""
    return f".{key}" if key.isidentifier() and len(key) <= 40 else f"[{key!r:.40}]"


def _first(items) -> tuple[str, str] | None:
    for where, item, shape in items:
        found = shape_error(item, shape)
        if found is not None:
            return f"{where}{found[0]}", found[1]
    return None


def make_header(**fields) -> dict:
    """A replay header from :data:`HEADER_SHAPE`, the one definition of it: ``schema_version``
    filled in, every other key one that the shape declares, checked against it. The
    evaluator writes its headers through this, and so do the tests' synthetic runs."""
    unknown = sorted(set(fields) - {key.rstrip("?") for key in HEADER_SHAPE})
    if unknown:
        raise ReplayError(f"replay header: fields the header does not have: {unknown}")
    header = {"schema_version": SCHEMA_VERSION, **fields}
    found = shape_error(header, HEADER_SHAPE)
    if found is not None:
        raise ReplayError(f"replay header: {found[0].lstrip('.') or 'the header'}: {found[1]}")
    return header


def check_replay(header, frames: list) -> None:
    """A one-line ReplayError (the file's line, the field, what is wrong) unless the header
    and every frame have the shape the evaluator writes."""
    found = shape_error(header, HEADER_SHAPE)
    if found is not None:
        raise ReplayError(f"line 1 (header): {found[0].lstrip('.') or 'the line'}: {found[1]}")
    if not frames:
        raise ReplayError("the replay has no frames")
    frame_ok = _compiled(FRAME_SHAPE)
    for index, frame in enumerate(frames):
        if frame_ok(frame) and _action_error(index, frame["action"]) is None:
            continue
        found = shape_error(frame, FRAME_SHAPE) or _action_error(index, frame["action"])
        raise ReplayError(f"line {index + 2} (frame {index}): {found[0].lstrip('.') or 'the line'}: {found[1]}")


# shape_error walks a shape to say where a value differs; a frame is first checked by a
# predicate compiled from the same shape, several times faster (a long replay has
# thousands of frames), and walked only when that says no.
_NUMBER_TYPES = frozenset((int, float))
_EXACT = {"number": _NUMBER_TYPES, "int": frozenset((int,)), "str": frozenset((str,)), "bool": frozenset((bool,))}
_EXACT["null"] = frozenset((type(None),))
_COMPILED: dict[int, object] = {}


def _compiled(shape):
    """``shape`` as a predicate (JSON gives exact types: a bool is never an int here)."""
    if id(shape) not in _COMPILED:
        _COMPILED[id(shape)] = _compile(shape)
    return _COMPILED[id(shape)]


def _compile(shape):
    if isinstance(shape, (str, OneOf)):
        types = _EXACT[shape] if isinstance(shape, str) else frozenset().union(*(_EXACT[n] for n in shape.names))
        return lambda v: type(v) in types
    if isinstance(shape, Nullable):
        inner = _compile(shape.shape)
        return lambda v: v is None or inner(v)
    if isinstance(shape, AllOf):
        parts = [_compile(s) for s in shape.shapes]
        return lambda v: all(p(v) for p in parts)
    if isinstance(shape, tuple):
        parts = [_compile(s) for s in shape]
        return lambda v: type(v) is list and len(v) == len(parts) and all(p(x) for p, x in zip(parts, v))
    if isinstance(shape, list):
        if isinstance(shape[0], str):  # a list of scalars: compare the set of their types
            types = _EXACT[shape[0]]
            return lambda v: type(v) is list and set(map(type, v)) <= types
        item = _compile(shape[0])
        return lambda v: type(v) is list and all(map(item, v))
    if isinstance(shape, MapOf):
        item = _compile(shape.shape)
        return lambda v: type(v) is dict and all(map(item, v.values()))
    fields = [(key.rstrip("?"), _compile(sub), key.endswith("?")) for key, sub in shape.items()]

    def record(v) -> bool:
        if type(v) is not dict:
            return False
        for name, check, optional in fields:
            if name in v:
                if not check(v[name]):
                    return False
            elif not optional:
                return False
        return True

    return record


def _action_error(index: int, action) -> tuple[str, str] | None:
    """Frame 0 is the state after reset (no action); every later frame's action is the game's."""
    if index == 0:
        return None if action is None else ("action", "frame 0 has no action (null)")
    if action is None or not 0 <= action < S.N_ACTIONS:
        return "action", f"expected an action 0..{S.N_ACTIONS - 1}, got {action!r:.40}"
    return None
