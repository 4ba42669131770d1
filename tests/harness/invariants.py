"""Invariants of a game, checked after every reset and step by the tests.

The same list as ``check_invariants`` in ext/prospector.h (compiled into the C core
only with -DPROSPECTOR_CHECK_INVARIANTS), written against the plain-data snapshot
that both implementations produce (``ReferenceEnv.snapshot()``,
``ProspectorEnv.snapshot()``), so one checker serves both.  See
docs/reliability.md, "C core".

Each function returns the violated rules as a list of messages (empty when all
hold), so a test can print every one with the seed and step.
"""

from __future__ import annotations

import math

import numpy as np

from prospector import spec as S

# Cargo sums of six products may round past CARGO_MAX by a few ulps when mining
# fills the hold exactly (design choice 17); anything beyond this is a bug.
CARGO_TOLERANCE = 1e-9


def _in(x: float, lo: float, hi: float) -> bool:
    return lo <= x <= hi  # NaN fails


def check_state(obs: np.ndarray, snap: dict) -> list[str]:
    """State bounds that hold after every reset and step."""
    bad = []

    def need(cond: bool, message: str) -> None:
        if not cond:
            bad.append(message)

    obs = np.asarray(obs)
    need(obs.shape == (S.OBS_DIM,) and obs.dtype == np.float32, "obs is float32[260]")
    need(bool(np.all(np.isfinite(obs))) and bool(np.all((obs >= -1.0) & (obs <= 1.0))), "obs finite and in [-1, 1]")
    need(_in(snap["fuel"], 0.0, S.FUEL_MAX), "0 <= fuel <= FUEL_MAX")
    need(_in(snap["hull"], 0.0, S.HULL_MAX), "0 <= hull <= HULL_MAX")
    need(_in(snap["heat"], 0.0, S.HEAT_MAX), "0 <= heat <= HEAT_MAX")
    need(_in(snap["tool"], 0.0, S.TOOL_MAX), "0 <= tool <= TOOL_MAX")
    need(_in(snap["alert"], 0.0, S.ALERT_MAX), "0 <= alert <= ALERT_MAX")
    need(math.isfinite(snap["credits"]) and snap["credits"] >= 0.0, "credits finite and >= 0")
    need(all(math.isfinite(x) and x >= 0.0 for x in snap["raw"]), "raw cargo finite and >= 0")
    need(all(math.isfinite(x) and x >= 0.0 for x in snap["refined"]), "refined cargo finite and >= 0")
    need(snap["cargo_volume"] <= S.CARGO_MAX + CARGO_TOLERANCE, "cargo volume <= CARGO_MAX")
    for item in ("kits", "stabilizers", "decoys"):
        need(0 <= snap[item] <= S.ITEM_CAP, f"0 <= {item} <= ITEM_CAP")
    need(0 <= snap["time_remaining"] <= snap["time_max"], "0 <= time_remaining <= time_max")
    need(snap["escape_ticks"] >= 0 and snap["stab_ticks"] >= 0, "buff counters >= 0")
    nodes = snap["nodes"]
    need(2 <= len(nodes) <= S.MAX_NODES, "2 <= node_count <= MAX_NODES")
    need(0 <= snap["node"] < len(nodes), "node index in range")
    need(not snap["docked"] or snap["node"] == 0, "docked only at the station")
    if 0 <= snap["node"] < len(nodes):
        need(-1 <= snap["selected"] < len(nodes[snap["node"]]["asteroids"]), "selection in range")
    for i, node in enumerate(nodes):
        need(1 <= len(node["neighbors"]) <= S.MAX_NEIGHBORS, "1 <= degree <= MAX_NEIGHBORS")
        need(len(node["asteroids"]) <= S.MAX_ASTEROIDS, "asteroid count in range")
        need(_in(node["threat_est"], 0.0, 1.0), "threat estimate in [0, 1]")
        need(node["pirate"] >= 0.0 and node["hazard"] >= 0.0, "intensities >= 0")
        need(all(0 <= j < len(nodes) and j != i for j in node["neighbors"]), "neighbour index in range")
        for rock in node["asteroids"]:
            need(_in(rock["depletion"], 0.0, 1.0), "depletion in [0, 1]")
            need(_in(rock["scan_conf"], 0.0, 1.0), "scan confidence in [0, 1]")
            need(_in(rock["stability_est"], 0.0, 1.0), "stability estimate in [0, 1]")
            need(all(_in(x, 0.0, 1.0) for x in rock["comp_est"]), "composition estimate in [0, 1]")
    market = snap["market"]
    for k in range(S.N_COMMODITIES):
        need(
            _in(market["price"][k], market["price_min"][k], market["price_max"][k]),
            "price within [price_min, price_max]",
        )
        need(market["inventory"][k] >= 0.0 and market["recent_sales"][k] >= 0.0, "inventory and recent sales >= 0")
    return sorted(set(bad), key=bad.index)


def check_reset(obs: np.ndarray, info: dict, snap: dict) -> list[str]:
    bad = check_state(obs, snap)
    if info["events"] or snap["done"]:
        bad.append("a reset emits nothing and is not done")
    return bad


def check_step(
    before: dict, obs: np.ndarray, reward: float, terminated: bool, truncated: bool, info: dict, after: dict
) -> list[str]:
    """State bounds, and the step's events against the change from `before` to `after`."""
    bad = check_state(obs, after)

    def need(cond: bool, message: str) -> None:
        if not cond:
            bad.append(message)

    events = info["events"]

    def find(event_type: str, **fields) -> dict | None:
        for event in events:
            if event["type"] == event_type and all(event.get(k) == v for k, v in fields.items()):
                return event
        return None

    def has(*kinds: str) -> bool:
        return any(event["type"] in kinds for event in events)

    need(math.isfinite(reward), "reward finite")
    need(len(events) <= S.MAX_EVENTS, "event count in range")
    need(
        info["invalid"] == (bool(events) and events[0]["type"] == "invalid"),
        "invalid <=> the step's first event is invalid",
    )
    done = terminated or truncated
    need(done == has("end") and done == after["done"], "episode end <=> an end event")
    if done:
        need(
            events[-1]["type"] == "end" and events[-1]["reason"] == info.get("end_reason") == after["end_reason"],
            "the end event is last and names the reason",
        )
        need(terminated != truncated, "exactly one of terminated, truncated")
        need(truncated == (after["end_reason"] == "timeout"), "truncated <=> timeout")
    else:
        need(after["end_reason"] is None and "end_reason" not in info, "no end reason while running")
    need(after["time_remaining"] == max(0, before["time_remaining"] - info["dt"]), "time_remaining falls by dt")
    need(
        info["time_remaining"] == after["time_remaining"] and info["credits"] == after["credits"],
        "info agrees with the state",
    )

    credits0, credits1 = before["credits"], after["credits"]
    sale, buy, overhaul = find("sell"), find("buy"), find("repair", kind="overhaul")
    if sale:
        need(sale["credits"] >= 0.0 and credits1 == credits0 + sale["credits"], "a sell event adds its credits")
    elif buy:
        need(buy["credits"] >= 0.0 and credits1 == credits0 - buy["credits"], "a buy event takes its price")
    elif overhaul:
        need(overhaul["credits"] >= 0.0 and credits1 == credits0 - overhaul["credits"], "an overhaul takes its price")
    else:
        need(credits1 == credits0, "credits change only by sell, buy or overhaul events")
    need(credits1 <= credits0 or sale is not None, "credits rose => a sell event")

    travel = find("travel")
    need((travel is not None) == (after["node"] != before["node"]), "travel event <=> the node changed")
    if travel:
        need(travel["from"] == before["node"] and travel["to"] == after["node"], "travel event names both nodes")
    need(has("dock") == (not before["docked"] and after["docked"]), "dock event <=> docked")
    need(has("undock") == (before["docked"] and not after["docked"]), "undock event <=> undocked")

    fuel_buy = find("buy", item="fuel")
    need(after["fuel"] <= before["fuel"] or fuel_buy is not None, "fuel rose => a fuel purchase")
    if fuel_buy:
        need(after["fuel"] == before["fuel"] + fuel_buy["qty"], "a fuel purchase adds its quantity")
    need(
        after["hull"] >= before["hull"] or has("hazard_damage", "pirate", "fracture", "overheat"),
        "hull fell => a damage event",
    )
    need(
        after["hull"] <= before["hull"] or find("repair", kind="hull") is not None or overhaul is not None,
        "hull rose => a repair event",
    )
    need(after["tool"] >= before["tool"] or has("mine"), "tool fell => a mine event")
    need(
        after["tool"] <= before["tool"] or find("repair", kind="tool") is not None or overhaul is not None,
        "tool rose => a repair event",
    )
    for k, name in enumerate(S.COMMODITIES):
        raw0, raw1 = before["raw"][k], after["raw"][k]
        ref0, ref1 = before["refined"][k], after["refined"][k]
        need(raw1 <= raw0 or has("mine"), "raw cargo rose => a mine event")
        need(ref1 <= ref0 or find("refine", commodity=name) is not None, "refined cargo rose => a refine event")
        need(
            raw1 >= raw0
            or find("sell", commodity=name) is not None
            or find("jettison", commodity=name) is not None
            or find("refine", commodity=name) is not None
            or has("pirate"),
            "raw cargo fell => sell, jettison, refine or pirate",
        )
        need(
            ref1 >= ref0
            or find("sell", commodity=name) is not None
            or find("jettison", commodity=name) is not None
            or has("pirate"),
            "refined cargo fell => sell, jettison or pirate",
        )
    need(after["kits"] <= before["kits"] or find("buy", item="repair_kit") is not None, "kits rose => a kit purchase")
    need(
        after["kits"] >= before["kits"]
        or find("repair", kind="tool") is not None
        or find("repair", kind="hull") is not None,
        "kits fell => a kit repair",
    )
    need(
        after["stabilizers"] <= before["stabilizers"] or find("buy", item="stabilizer") is not None,
        "stabilizers rose => a purchase",
    )
    need(after["stabilizers"] >= before["stabilizers"] or has("stabilize"), "stabilizers fell => a stabilize event")
    need(after["decoys"] <= before["decoys"] or find("buy", item="decoy") is not None, "decoys rose => a purchase")
    need(after["decoys"] >= before["decoys"] or has("pirate"), "decoys fell => a pirate event")

    if travel is None and before["selected"] >= 0:
        d0 = before["nodes"][before["node"]]["asteroids"][before["selected"]]["depletion"]
        d1 = after["nodes"][after["node"]]["asteroids"][before["selected"]]["depletion"]
        need(d1 >= d0, "depletion never falls")
        need(d1 == d0 or has("mine"), "depletion rose => a mine event")
    if travel is None:
        need(
            after["nodes"][after["node"]]["hazard"] >= before["nodes"][before["node"]]["hazard"],
            "a node's hazard never falls",
        )
    return sorted(set(bad), key=bad.index)
