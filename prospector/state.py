"""Plain-data views of a game: info dicts, events, snapshots, render_state, truth.

Both implementations produce the same *snapshot* (the whole state as plain
data: the reference env via ``snapshot_reference``, the C core via its binding),
and every view a person sees is computed from a snapshot here, once:

* ``render_state``: what the ship knows (HUD, sector, mini-map). Never hidden truth.
* ``truth_state``: the hidden truth (true composition, latent intensities), for replays only.
"""

from __future__ import annotations

import math

from . import spec as S

INT_INFO = {"overheat_ticks", "pirate_encounters", "scan_count", "mining_ticks", "dt", "time_remaining"}


def info_dict(values, end_reason: str | None, events: list[dict]) -> dict:
    """Typed info dict from the doubles in spec.INFO_KEYS order."""
    info = {}
    for key, value in zip(S.INFO_KEYS, values):
        if key in INT_INFO:
            info[key] = int(value)
        elif key == "invalid":
            info[key] = bool(value)
        else:
            info[key] = float(value)
    if end_reason is not None:
        info["end_reason"] = end_reason
    info["events"] = events
    return info


def events_to_dicts(events) -> list[dict]:
    """(type, a, b, x, y, z) tuples -> {"type": name, field: value, ...} dicts."""
    out = []
    for type_index, a, b, x, y, z in events:
        name = S.EVENT_TYPES[type_index]
        slots = {"a": int(a), "b": int(b), "x": float(x), "y": float(y), "z": float(z)}
        event = {"type": name}
        for field, slot in S.EVENT_FIELDS[name]:
            value = slots[slot]
            names = S.EVENT_ENUMS.get((name, field))
            event[field] = names[value] if names is not None and 0 <= value < len(names) else value
        out.append(event)
    return out


def snapshot_reference(env) -> dict:
    """The reference env's state in the snapshot layout the C binding also returns."""
    market_keys = (
        "p0",
        "price_min",
        "price_max",
        "period",
        "phase",
        "amplitude",
        "inventory",
        "inventory_start",
        "recent_sales",
        "shock",
        "price",
        "prev_price",
        "cycle_sin",
        "cycle_cos",
        "turn_sin",
        "turn_cos",
    )
    nodes = []
    for node in env.nodes:
        nodes.append(
            {
                "type": node.type,
                "pirate": node.pirate,
                "hazard": node.hazard,
                "richness": node.richness,
                "neighbors": list(node.neighbors),
                "edge_time": list(node.edge_time),
                "edge_fuel": list(node.edge_fuel),
                "dist": node.dist,
                "generated": node.generated,
                "threat_est": node.threat_est,
                "asteroids": [
                    {
                        "comp": list(a.comp),
                        "richness": a.richness,
                        "stability": a.stability,
                        "noise": a.noise,
                        "capacity": a.capacity,
                        "depletion": a.depletion,
                        "comp_est": list(a.comp_est),
                        "stability_est": a.stability_est,
                        "scan_conf": a.scan_conf,
                    }
                    for a in node.asteroids
                ],
            }
        )
    return {
        "episode_seed": env.episode_seed,
        "time_max": env.time_max,
        "time_remaining": env.time_remaining,
        "fuel": env.fuel,
        "hull": env.hull,
        "heat": env.heat,
        "tool": env.tool,
        "alert": env.alert,
        "credits": env.credits,
        "start_credits": env.start_credits,
        "kits": env.kits,
        "stabilizers": env.stabilizers,
        "decoys": env.decoys,
        "docked": env.docked,
        "node": env.node,
        "selected": env.selected,
        "escape_ticks": env.escape_ticks,
        "stab_node": env.stab_node,
        "stab_asteroid": env.stab_asteroid,
        "stab_ticks": env.stab_ticks,
        "raw": list(env.raw),
        "refined": list(env.refined),
        "cargo_volume": env.cargo_volume(),
        "fuel_multiplier": env.fuel_multiplier(),
        "done": env.done,
        "end_reason": env.end_reason,
        "market": {k: list(getattr(env, k)) for k in market_keys},
        "stats": {
            "overheat_ticks": env.overheat_ticks,
            "pirate_encounters": env.pirate_encounters,
            "value_lost": env.value_lost,
            "fuel_used": env.fuel_used,
            "hull_damage": env.hull_damage,
            "tool_wear": env.tool_wear,
            "scan_count": env.scan_count,
            "mining_ticks": env.mining_ticks,
            "cargo_ticks": env.cargo_ticks,
        },
        "nodes": nodes,
    }


def map_layout(snap: dict) -> list[tuple[float, float]]:
    """Mini-map positions in [0, 1]^2: rings by hop distance around the station.

    Deterministic from the graph alone, so a replay and a live game draw the same map.
    """
    nodes = snap["nodes"]
    rings: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        rings.setdefault(max(node["dist"], 0), []).append(i)
    depth = max(rings) if rings else 1
    pos = [(0.5, 0.5)] * len(nodes)
    for d, members in rings.items():
        if d == 0:
            continue
        radius = 0.46 * d / max(1, depth)
        offset = 0.37 * d  # rotate each ring a little so edges do not overlap
        for j, i in enumerate(members):
            angle = offset + 2.0 * math.pi * j / len(members)
            pos[i] = (round(0.5 + radius * math.cos(angle), 4), round(0.5 + radius * math.sin(angle), 4))
    return pos


def render_state(snap: dict, layout: list[tuple[float, float]] | None = None) -> dict:
    """What a person needs to draw the scene and HUD, showing only what the ship knows.

    Known nodes are the visited ones and their neighbours; latent intensities and
    true compositions never appear here (see truth_state). Only the current node's
    asteroids are read, so a snapshot may leave the others out. ``layout`` is
    ``map_layout(snap)`` when the caller keeps it for the episode (it depends on the
    graph only).
    """
    nodes = snap["nodes"]
    here = nodes[snap["node"]]
    market = snap["market"]
    price = market["price"]
    mult = snap["fuel_multiplier"]
    elapsed = snap["time_max"] - snap["time_remaining"]

    known = set()
    edges = set()
    for i, node in enumerate(nodes):
        if node["generated"]:
            known.add(i)
            for j in node["neighbors"]:
                known.add(j)
                edges.add((min(i, j), max(i, j)))
    layout = layout or map_layout(snap)

    asteroids = []
    for a, rock in enumerate(here["asteroids"]):
        value = sum(rock["comp_est"][k] * price[k] for k in range(S.N_COMMODITIES))
        asteroids.append(
            {
                "slot": a,
                "comp_est": [round(v, 4) for v in rock["comp_est"]],
                "stability_est": round(rock["stability_est"], 4),
                "depletion": round(rock["depletion"], 4),
                "scan_conf": round(rock["scan_conf"], 4),
                "selected": a == snap["selected"],
                "value_est": round(value, 2),
            }
        )
    return {
        "t": elapsed,
        "time_remaining": snap["time_remaining"],
        "time_max": snap["time_max"],
        "ship": {
            "fuel": round(snap["fuel"], 3),
            "hull": round(snap["hull"], 3),
            "heat": round(snap["heat"], 3),
            "tool": round(snap["tool"], 3),
            "alert": round(snap["alert"], 3),
            "credits": round(snap["credits"], 2),
            "net_profit": round(snap["credits"] - snap["start_credits"], 2),
            "repair_kits": snap["kits"],
            "stabilizers": snap["stabilizers"],
            "decoys": snap["decoys"],
            "cargo_volume": round(snap["cargo_volume"], 3),
            "escape_ticks": snap["escape_ticks"],
        },
        "limits": {
            "fuel": S.FUEL_MAX,
            "hull": S.HULL_MAX,
            "heat": S.HEAT_MAX,
            "tool": S.TOOL_MAX,
            "alert": S.ALERT_MAX,
            "cargo": S.CARGO_MAX,
            "items": S.ITEM_CAP,
        },
        "cargo": [
            {"commodity": S.COMMODITIES[k], "raw": round(snap["raw"][k], 3), "refined": round(snap["refined"][k], 3)}
            for k in range(S.N_COMMODITIES)
        ],
        "docked": snap["docked"],
        "node": {"index": snap["node"], "type": S.NODE_TYPES[here["type"]], "steps_to_station": here["dist"]},
        "neighbors": [
            {
                "slot": k,
                "node": j,
                "type": S.NODE_TYPES[nodes[j]["type"]],
                "travel_time": here["edge_time"][k],
                "fuel_cost": round(here["edge_fuel"][k] * mult, 2),
                "threat_est": round(nodes[j]["threat_est"], 4),
            }
            for k, j in enumerate(here["neighbors"])
        ],
        "asteroids": asteroids,
        "selected": snap["selected"],
        "market": {
            "commodities": list(S.COMMODITIES),
            "price": [round(p, 3) for p in price],
            "prev_price": [round(p, 3) for p in market["prev_price"]],
            "price_max": [round(p, 3) for p in market["price_max"]],
            "inventory": [round(v, 2) for v in market["inventory"]],
        },
        "map": {
            "nodes": [
                {
                    "index": i,
                    "type": S.NODE_TYPES[nodes[i]["type"]],
                    "x": layout[i][0],
                    "y": layout[i][1],
                    "visited": nodes[i]["generated"],
                }
                for i in sorted(known)
            ],
            "edges": sorted([list(e) for e in edges]),
        },
        "done": snap["done"],
        "end_reason": snap["end_reason"],
    }


def truth_state(snap: dict) -> dict:
    """Hidden truth of the current node and of every node's latent risk (replays only)."""
    here = snap["nodes"][snap["node"]]
    return {
        "node": {
            "pirate": round(here["pirate"], 4),
            "hazard": round(here["hazard"], 4),
            "richness": round(here["richness"], 4),
        },
        "asteroids": [
            {
                "comp": [round(v, 4) for v in rock["comp"]],
                "richness": round(rock["richness"], 4),
                "stability": round(rock["stability"], 4),
            }
            for rock in here["asteroids"]
        ],
        "threat": [round((n["pirate"] + n["hazard"]) / 2.0, 4) for n in snap["nodes"]],
    }
