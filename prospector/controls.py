"""How a person plays the game: a button label and a hotkey per action.

The play page draws its buttons from ``spec.ACTION_GROUPS`` and this table; the site
build writes both into the generated module ``static/spec.js`` (:func:`page_spec`), so
the page holds no action id or name of its own (docs/architecture.md#one-source).
"""

from __future__ import annotations

from . import spec as S

GROUP_TITLES = {
    "travel": "Travel",
    "ship": "Ship",
    "sensors": "Scan",
    "select": "Select a rock",
    "mining": "Mine",
    "jettison": "Jettison",
    "station": "Station",
    "sell": "Sell",
    "episode": "End",
}
COMMODITY_LABELS = {
    "iron": "Iron",
    "nickel": "Nickel",
    "water_ice": "Water ice",
    "pge": "PGE",
    "rare_isotopes": "Rare isotopes",
    "volatiles": "Volatiles",
}

_LABELS = {
    "HOLD": "hold",
    "EMERGENCY_BURN": "burn",
    "WIDE_SCAN": "wide",
    "FOCUSED_SCAN": "focused",
    "DEEP_SCAN": "deep",
    "THREAT_LISTEN": "listen",
    "MINE_CONSERVATIVE": "gentle",
    "MINE_STANDARD": "standard",
    "MINE_AGGRESSIVE": "hard",
    "STABILIZE": "stabilize",
    "REFINE_ONBOARD": "refine",
    "ACTIVE_COOLDOWN": "cooldown",
    "TOOL_MAINTENANCE": "fix tool",
    "HULL_PATCH": "patch hull",
    "DOCK": "dock",
    "BUY_FUEL_SMALL": "fuel +100",
    "BUY_FUEL_MEDIUM": "fuel +250",
    "BUY_FUEL_LARGE": "fuel +500",
    "BUY_REPAIR_KIT": "kit",
    "BUY_STABILIZER": "stabilizer",
    "BUY_DECOY": "decoy",
    "FULL_OVERHAUL": "overhaul",
    "CASH_OUT": "cash out",
}

# (key, action name, what it does, shift?, shown in the help?). Letters match the
# browser's KeyboardEvent.key; "Digit1" style names match KeyboardEvent.code, since
# Shift+digit types a symbol.
_HOTKEYS = [
    *[(f"Digit{k + 1}", f"TRAVEL_{k}", f"travel through exit {k}", False, True) for k in range(S.MAX_NEIGHBORS)],
    ("h", "HOLD", "hold (cools and calms faster)", False, True),
    ("e", "EMERGENCY_BURN", "emergency burn (escape pirates)", False, True),
    ("w", "WIDE_SCAN", "wide scan: every rock here", False, True),
    ("f", "FOCUSED_SCAN", "focused scan of the selected rock", False, True),
    ("d", "DEEP_SCAN", "deep scan of the selected rock", False, True),
    ("l", "THREAT_LISTEN", "listen for threats next door", False, True),
    ("z", "MINE_CONSERVATIVE", "mine conservatively", False, True),
    ("x", "MINE_STANDARD", "mine (standard)", False, True),
    ("c", "MINE_AGGRESSIVE", "mine aggressively", False, True),
    ("s", "STABILIZE", "stabilize the selected rock", False, True),
    ("r", "REFINE_ONBOARD", "refine raw ore on board", False, True),
    ("o", "ACTIVE_COOLDOWN", "active cooldown", False, True),
    ("t", "TOOL_MAINTENANCE", "tool maintenance (a repair kit)", False, True),
    ("p", "HULL_PATCH", "hull patch (a repair kit)", False, True),
    ("k", "DOCK", "dock at the station", False, True),
    *[
        (f"Digit{i + 1}", f"SELL_{c.upper()}_100", f"sell all {COMMODITY_LABELS[c]}", True, False)
        for i, c in enumerate(S.COMMODITIES)
    ],
    ("u", "BUY_FUEL_MEDIUM", "buy fuel (medium; Shift: large)", False, True),
    ("u", "BUY_FUEL_LARGE", "buy fuel (large)", True, False),
    ("v", "FULL_OVERHAUL", "full overhaul at the station", False, True),
]


def button_label(action: int) -> str:
    name = S.ACTION_NAMES[action]
    family, arg = S.decode_action(action)
    if family == "travel":
        return f"exit {arg}"
    if family == "select":
        return f"#{arg}"
    if family == "jettison":
        return COMMODITY_LABELS[S.COMMODITIES[arg]]
    if family == "sell":
        return {0.25: "25%", 0.5: "50%", 1.0: "all"}[S.SELL_FRACTIONS[arg % len(S.SELL_FRACTIONS)]]
    return _LABELS[name]


def _hotkey(key: str, name: str, what: str, shift: bool, shown: bool) -> dict:
    code = key if key.startswith("Digit") else None
    label = ("Shift+" if shift else "") + (key[len("Digit") :] if code else key.upper())
    return {
        "key": None if code else key,
        "code": code,
        "shift": shift,
        "label": label,
        "action": S.ACTION_NAMES.index(name),
        "what": what,
        "hidden": not shown,
    }


def page_spec() -> dict:
    """Everything the site's JavaScript needs to know of the interface, as plain data."""
    groups = []
    for family, actions in S.ACTION_GROUPS:
        items = [{"a": a, "text": button_label(a)} for a in actions]
        if family == "sell":  # one row per commodity, one button per fraction
            for item in items:
                item["row"] = S.COMMODITIES[(item["a"] - S.A_SELL) // len(S.SELL_FRACTIONS)]
        groups.append({"id": family, "title": GROUP_TITLES[family], "items": items})
    return {
        "obs_dim": S.OBS_DIM,
        "n_actions": S.N_ACTIONS,
        "action_names": list(S.ACTION_NAMES),
        "ids": {name: a for a, name in enumerate(S.ACTION_NAMES)},
        "groups": groups,
        "hotkeys": [_hotkey(*h) for h in _HOTKEYS],
        "commodities": list(S.COMMODITIES),
        "commodity_labels": COMMODITY_LABELS,
        "obs": {
            "ship": [S.OBS_SHIP.start, S.OBS_SHIP.stop],
            "neighbors": [S.OBS_NEIGHBORS.start, S.OBS_NEIGHBORS.stop],
            "asteroids": [S.OBS_ASTEROIDS.start, S.OBS_ASTEROIDS.stop],
            "market": [S.OBS_MARKET.start, S.OBS_MARKET.stop],
            "neighbor_stride": S.NEIGHBOR_STRIDE,
            "asteroid_stride": S.ASTEROID_STRIDE,
            "names": list(S.OBSERVATION_NAMES),
        },
    }
