"""Replay files -> the player's compact JSON (``data/runs/{run}/replays/{id}.json``).

A frame of a replay file repeats the whole ``render_state`` and ``truth`` every step,
although most of it (map, neighbours, limits, market inventory ...) changes rarely.
The site's JSON keeps frame 0 whole and, for every later frame, only what changed:
``rs`` and ``tr`` are *recursive dict deltas* against the previous frame (a key that is
absent did not change; a list or scalar that changed is given whole; ``"$del"`` lists
keys that disappeared), ``valid`` is given only when it changed. ``sitegen/static/
replay.js`` (``decodeFrames``) rebuilds the full frames with structural sharing.

Schema (``schema: 1``)::

    {schema, run_id, window_id, replay_id, seed, tags, totals, time_max, checkpoint,
     action_names, commodities, n_frames,
     frames: [{t, action, reward, dt, invalid?, events?, probs?, valid?, rs, tr?}, ...]}
"""

from __future__ import annotations

import json
import math

from prospector import spec as S

SCHEMA = 1
_MISSING = object()


def diff(prev, cur):
    """Delta turning ``prev`` into ``cur`` (``_MISSING`` when equal)."""
    if isinstance(prev, dict) and isinstance(cur, dict):
        out = {}
        for key, value in cur.items():
            d = diff(prev.get(key, _MISSING), value) if key in prev else value
            if d is not _MISSING:
                out[key] = d
        gone = [k for k in prev if k not in cur]
        if gone:
            out["$del"] = gone
        return out if out else _MISSING
    if prev is _MISSING:
        return cur
    if type(prev) is type(cur) and prev == cur:
        return _MISSING
    return cur


def patch(prev, delta):
    """Inverse of :func:`diff` (used by tests; the browser has its own copy)."""
    if isinstance(delta, dict) and isinstance(prev, dict):
        out = dict(prev)
        for key, value in delta.items():
            if key == "$del":
                for k in value:
                    out.pop(k, None)
            else:
                out[key] = patch(prev.get(key), value)
        return out
    return delta


def _clean(value):
    """Strict JSON: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def compact_replay(header: dict, frames: list[dict]) -> dict:
    """The player's JSON document for one replay."""
    out_frames = []
    prev_rs = prev_tr = prev_valid = _MISSING
    for i, frame in enumerate(frames):
        reward = frame.get("reward") or 0.0
        item = {"t": frame.get("t", i), "action": frame.get("action"),
                "reward": round(float(reward), 5) if isinstance(reward, (int, float)) else 0.0,
                "dt": frame.get("dt", 0)}
        if frame.get("invalid"):
            item["invalid"] = True
        if frame.get("events"):
            item["events"] = frame["events"]
        if frame.get("probs"):
            item["probs"] = frame["probs"]
        valid = frame.get("valid")
        if valid is not None and valid != prev_valid:
            item["valid"] = valid
            prev_valid = valid
        rs = frame.get("render_state") or {}
        d = diff(prev_rs, rs) if prev_rs is not _MISSING else rs
        item["rs"] = {} if d is _MISSING else d
        prev_rs = rs
        tr = frame.get("truth")
        if tr is not None:
            d = diff(prev_tr, tr) if prev_tr is not _MISSING else tr
            if d is not _MISSING:
                item["tr"] = d
            prev_tr = tr
        out_frames.append(item)
    totals = header.get("totals") or {}
    env = header.get("env_config") or {}
    return _clean({
        "schema": SCHEMA,
        "run_id": header.get("run_id"), "window_id": header.get("window_id"),
        "replay_id": header.get("replay_id"), "seed": header.get("seed"),
        "tags": header.get("tags") or [], "totals": totals,
        "time_max": env.get("time_max"), "checkpoint": header.get("policy_checkpoint"),
        "action_names": list(S.ACTION_NAMES), "commodities": list(S.COMMODITIES),
        "n_frames": len(out_frames), "frames": out_frames,
    })


def expand_frames(doc: dict) -> list[dict]:
    """Full frames back from a compact document (what the browser does; for tests)."""
    frames = []
    rs = tr = None
    valid = None
    for item in doc["frames"]:
        rs = patch(rs, item["rs"]) if rs is not None else item["rs"]
        if "tr" in item:
            tr = patch(tr, item["tr"]) if tr is not None else item["tr"]
        valid = item.get("valid", valid)
        frames.append({**{k: v for k, v in item.items() if k not in ("rs", "tr", "valid")},
                       "render_state": rs, "truth": tr, "valid": valid})
    return frames


def dumps(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
