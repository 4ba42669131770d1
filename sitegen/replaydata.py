"""Replay files -> the player's compact JSON (``data/runs/{run}/replays/{id}.json``).

A frame of a replay file repeats the whole ``render_state`` and ``truth`` every step,
although most of it (map, neighbours, limits, market inventory ...) changes rarely.
The site's JSON keeps frame 0 whole and, for every later frame, only what changed:
``rs`` and ``tr`` are *recursive dict deltas* against the previous frame (a key that is
absent did not change; a list or scalar that changed is given whole; ``"$del"`` lists
keys that disappeared; a list of records of unchanged length is given as ``{"$l": {index:
delta}}``), ``valid`` is given only when it changed, and event amounts are rounded to 4 decimals
(rewards are exact). ``sitegen/static/
replay.js`` (``decodeFrames``) rebuilds the full frames with structural sharing.

Schema (``schema: 1``)::

    {schema, run_id, window_id, replay_id, seed, tags, totals, time_max, env_config, checkpoint,
     action_names, commodities, derived, n_frames, series,
     frames: [{t, action, reward, dt, invalid?, events?, probs?, valid?, rs, tr?}, ...],
     chunk?, parts?, events?}            # long replays: see split()

Derived values are left out and recomputed by the reader (``derived`` says how):
asteroids' ``value_est`` changes with every price tick and was the biggest part.

``series`` (whole in the main document, so the strips under the timeline are complete
before a long replay's parts arrive) holds one value per frame, computed here and
nowhere else (docs/site.md#value-strip):

* ``value[i]``: the critic's value of the state shown at frame i (recorded with frame
  i+1's action, in the learner's reward units) divided by the header's ``reward_scale``,
  so it reads in the game's reward units; null at the last frame and in replays recorded
  before values were (``missing`` then lists ``"value"``);
* ``rtg[i]``: the actual discounted return-to-go from frame i's state,
  ``sum_{k>i} gamma^(k-i-1) * reward[k]`` with the header's ``gamma`` (0 at the last frame);
* ``belief[i]``: the ship's belief error at frame i, the mean over the current node's
  asteroids (render_state ``asteroids``, by ``slot`` into the truth block) of the mean
  absolute difference between ``comp_est`` and the true ``comp``; null where the node has
  no asteroids or the frame no truth;
* ``reward``, ``action``, ``net_profit`` (rs.ship): per frame, for the strips and the
  timelapse's side-by-side curves; ``drops``: the frames of the steepest falls of ``value``
  from one frame to the next (at most :data:`N_DROPS`, steepest first).
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
    if (
        isinstance(prev, list)
        and isinstance(cur, list)
        and len(prev) == len(cur)
        and all(isinstance(v, dict) for v in cur)
        and all(isinstance(v, dict) for v in prev)
    ):
        # a list of records of the same length (asteroids, neighbours, cargo): per-index deltas
        items = {}
        for i, (a, b) in enumerate(zip(prev, cur)):
            d = diff(a, b)
            if d is not _MISSING:
                items[str(i)] = d
        return {"$l": items}
    return cur


def patch(prev, delta):
    """Inverse of :func:`diff` (used by tests; the browser has its own copy)."""
    if isinstance(delta, dict) and isinstance(prev, list) and "$l" in delta:
        out = list(prev)
        for i, d in delta["$l"].items():
            out[int(i)] = patch(prev[int(i)], d)
        return out
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


def _round(value, digits: int = 4):
    """Event amounts to 4 decimals (the player shows 2): a replay file carries full floats."""
    return round(value, digits) if isinstance(value, float) and math.isfinite(value) else value


def _clean(value):
    """Strict JSON: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def value_est(comp_est, price) -> float:
    """An asteroid's estimated value per unit at the current prices (render_state's
    ``value_est``, recomputed from the rounded estimate and prices: within ~0.02)."""
    return round(sum(c * p for c, p in zip(comp_est, price)), 2)


def _strip_derived(rs: dict) -> dict:
    """render_state without what the player recomputes (asteroids' value_est)."""
    rocks = rs.get("asteroids")
    if not rocks or not isinstance(rocks, list) or not all(isinstance(a, dict) for a in rocks):
        return rs
    return {**rs, "asteroids": [{k: v for k, v in a.items() if k != "value_est"} for a in rocks]}


def _add_derived(rs: dict) -> dict:
    rocks = rs.get("asteroids")
    price = (rs.get("market") or {}).get("price") or []
    if not rocks:
        return rs
    return {**rs, "asteroids": [{**a, "value_est": value_est(a.get("comp_est") or [], price)} for a in rocks]}


#: The gamma of replays recorded before headers carried it (the trainer's default then).
DEFAULT_GAMMA = 0.995
#: Steepest value drops marked on the value strip.
N_DROPS = 3


def belief_error(rs: dict, truth: dict | None) -> float | None:
    """Mean absolute difference between the ship's composition estimates and the truth,
    over the current node's asteroids (None without asteroids or truth)."""
    rocks = (rs or {}).get("asteroids") or []
    true_rocks = (truth or {}).get("asteroids") or []
    errors = []
    for rock in rocks:
        slot = rock.get("slot")
        est = rock.get("comp_est") or []
        if not isinstance(slot, int) or not 0 <= slot < len(true_rocks) or not est:
            continue
        comp = true_rocks[slot].get("comp") or []
        if len(comp) != len(est):
            continue
        errors.append(sum(abs(a - b) for a, b in zip(est, comp)) / len(est))
    return sum(errors) / len(errors) if errors else None


def series(header: dict, frames: list[dict]) -> dict:
    """The strips' per-frame curves of one replay (see the module docstring)."""
    n = len(frames)
    gamma = header.get("gamma")
    gamma = float(gamma) if isinstance(gamma, (int, float)) and not isinstance(gamma, bool) else DEFAULT_GAMMA
    scale = header.get("reward_scale")
    scale = float(scale) if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 else 1.0
    rewards = [float(f.get("reward") or 0.0) for f in frames]
    rtg = [0.0] * n
    for i in range(n - 2, -1, -1):
        rtg[i] = rewards[i + 1] + gamma * rtg[i + 1]
    has_value = n > 1 and all(isinstance(f.get("value"), (int, float)) for f in frames[1:])
    value = [frames[i + 1]["value"] / scale if has_value and i + 1 < n else None for i in range(n)]
    falls = [
        (value[i - 1] - value[i], i)
        for i in range(1, n)
        if value[i] is not None and value[i - 1] is not None and value[i - 1] > value[i]
    ]
    drops = [i for _, i in sorted(falls, key=lambda d: (-d[0], d[1]))[:N_DROPS]]
    belief, profit = [], []
    for f in frames:
        rs = f.get("render_state") or {}
        b = belief_error(rs, f.get("truth"))
        belief.append(None if b is None else round(b, 5))
        profit.append((rs.get("ship") or {}).get("net_profit"))
    return {
        "gamma": gamma,
        "reward_scale": scale,
        "missing": [] if has_value else ["value"],
        "value": [None if v is None else round(v, 4) for v in value],
        "rtg": [round(v, 4) for v in rtg],
        "belief": belief,
        "reward": rewards,
        "action": [f.get("action") for f in frames],
        "net_profit": profit,
        "drops": drops,
    }


def compact_replay(header: dict, frames: list[dict]) -> dict:
    """The player's JSON document for one replay (all frames in it; see :func:`split`)."""
    out_frames = []
    prev_rs = prev_tr = prev_valid = _MISSING
    for i, frame in enumerate(frames):
        reward = frame.get("reward") or 0.0
        item = {
            "t": frame.get("t", i),
            "action": frame.get("action"),
            # exact (not rounded): /play's challenge mode sums them into the agent's return,
            # which must equal the player's bit for bit when the actions are the same
            "reward": float(reward) if isinstance(reward, (int, float)) else 0.0,
            "dt": frame.get("dt", 0),
        }
        if frame.get("invalid"):
            item["invalid"] = True
        if frame.get("events"):
            item["events"] = [{k: _round(v) for k, v in e.items()} for e in frame["events"]]
        if frame.get("probs"):
            item["probs"] = frame["probs"]
        valid = frame.get("valid")
        if valid is not None and valid != prev_valid:
            item["valid"] = valid
            prev_valid = valid
        rs = _strip_derived(frame.get("render_state") or {})
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
    return _clean(
        {
            "schema": SCHEMA,
            "run_id": header.get("run_id"),
            "window_id": header.get("window_id"),
            "replay_id": header.get("replay_id"),
            "seed": header.get("seed"),
            "tags": header.get("tags") or [],
            "totals": totals,
            "time_max": env.get("time_max"),
            "env_config": env if isinstance(env, dict) else {},
            "checkpoint": header.get("policy_checkpoint"),
            "action_names": list(S.ACTION_NAMES),
            "commodities": list(S.COMMODITIES),
            "derived": ["asteroids[].value_est = round(sum(comp_est[k] * market.price[k]), 2)"],
            "n_frames": len(out_frames),
            "series": series(header, frames),
            "frames": out_frames,
        }
    )


def split(doc: dict, chunk: int, name: str) -> tuple[dict, list[tuple[str, dict]]]:
    """A long replay in parts: the main document keeps the first ``chunk`` frames, a
    ``parts`` list of file names and ``markers`` (every frame's event types, so the
    timeline is whole before the parts arrive); part ``k`` (``{name}.{k}.json``) holds
    frames ``k*chunk ...`` as ``{"first": k*chunk, "frames": [...]}``. Deltas run on
    across parts, so parts are applied in order. The player starts after the first."""
    frames = doc["frames"]
    if len(frames) <= chunk:
        return doc, []
    parts = []
    for k in range(1, (len(frames) + chunk - 1) // chunk):
        parts.append(
            (f"{name}.{k}.json", {"schema": SCHEMA, "first": k * chunk, "frames": frames[k * chunk : (k + 1) * chunk]})
        )
    main = {
        **doc,
        "frames": frames[:chunk],
        "chunk": chunk,
        "parts": [p for p, _ in parts],
        "events": [[e["type"] for e in f.get("events", [])] for f in frames],
    }
    return main, parts


def join_parts(doc: dict, parts: list[dict]) -> dict:
    """The whole document back from a main document and its parts (in order)."""
    frames = list(doc["frames"])
    for part in parts:
        assert part["first"] == len(frames), "parts out of order"
        frames += part["frames"]
    return {**{k: v for k, v in doc.items() if k not in ("parts", "chunk", "events")}, "frames": frames}


def expand_frames(doc: dict) -> list[dict]:
    """Full frames back from a compact document (what the browser does; for tests)."""
    frames = []
    rs = tr = None
    valid = None
    for item in doc["frames"]:
        rs = patch(rs, item["rs"]) if rs is not None else item["rs"]
        rs = _add_derived(rs)
        if "tr" in item:
            tr = patch(tr, item["tr"]) if tr is not None else item["tr"]
        valid = item.get("valid", valid)
        frames.append(
            {
                **{k: v for k, v in item.items() if k not in ("rs", "tr", "valid")},
                "render_state": rs,
                "truth": tr,
                "valid": valid,
            }
        )
    return frames


def dumps(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
