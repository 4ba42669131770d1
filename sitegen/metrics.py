"""How the site shows the docs/training.md window metrics: labels, units, direction."""

from __future__ import annotations

import math

from prospector.pipeline.store.events import LOSS_KEYS, WINDOW_METRICS

#: key -> (label, better): better is +1 (higher is better), -1 (lower is better), 0 (neutral).
METRIC_INFO: dict[str, tuple[str, int]] = {
    "window_id": ("Window", 0),
    "env_steps_total": ("Env steps (total)", 0),
    "episodes": ("Episodes", 0),
    "return_mean": ("Return (mean)", +1),
    "return_median": ("Return (median)", +1),
    "net_profit_mean": ("Net profit (mean)", +1),
    "profit_per_tick_mean": ("Profit per tick (mean)", +1),
    "survival_rate": ("Survival rate", +1),
    "stranded_rate": ("Stranded rate", -1),
    "destroyed_rate": ("Destroyed rate", -1),
    "overheat_ticks_mean": ("Overheat ticks (mean)", -1),
    "pirate_encounters_mean": ("Pirate encounters (mean)", -1),
    "value_lost_to_pirates_mean": ("Value lost to pirates (mean)", -1),
    "fuel_used_mean": ("Fuel used (mean)", -1),
    "tool_wear_mean": ("Tool wear (mean)", -1),
    "scan_count_mean": ("Scans (mean)", 0),
    "mining_ticks_mean": ("Mining ticks (mean)", 0),
    "sps": ("Steps per second", +1),
    "wall_seconds": ("Wall seconds", -1),
    "policy_loss": ("Policy loss", 0),
    "value_loss": ("Value loss", 0),
    "entropy": ("Entropy", 0),
    "approx_kl": ("Approx. KL", 0),
    "clipfrac": ("Clip fraction", 0),
}
assert set(METRIC_INFO) == set(WINDOW_METRICS + LOSS_KEYS)

#: key -> the unit of its values, for the charts' y axes ("" for a pure number). Rates
#: are shares, charted in per cent. Return is in the reward's units
#: (docs/game.md#reward), credits are the game's money.
METRIC_UNITS: dict[str, str] = {
    "window_id": "",
    "env_steps_total": "steps",
    "episodes": "episodes",
    "return_mean": "reward",
    "return_median": "reward",
    "net_profit_mean": "credits",
    "profit_per_tick_mean": "credits / tick",
    "survival_rate": "%",
    "stranded_rate": "%",
    "destroyed_rate": "%",
    "overheat_ticks_mean": "ticks",
    "pirate_encounters_mean": "encounters",
    "value_lost_to_pirates_mean": "credits",
    "fuel_used_mean": "fuel",
    "tool_wear_mean": "tool points",
    "scan_count_mean": "scans",
    "mining_ticks_mean": "ticks",
    "sps": "steps / s",
    "wall_seconds": "s",
    "policy_loss": "",
    "value_loss": "",
    "entropy": "nats",
    "approx_kl": "",
    "clipfrac": "share (0–1)",
}
assert set(METRIC_UNITS) == set(METRIC_INFO)

#: Every column of windows.json, in order.
COLUMNS = WINDOW_METRICS + LOSS_KEYS
#: The metrics a summary and the analytics page chart (all but the window id).
CHARTED = tuple(k for k in COLUMNS if k != "window_id")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value, key: str = "") -> str:
    """A metric value as people read it."""
    if value is None:
        return "–"
    if not is_number(value):
        return str(value)
    if key.endswith("_rate") or key == "clipfrac":
        return f"{value * 100:.1f}%"
    if key in ("window_id", "env_steps_total", "episodes"):
        return f"{int(value):,}"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    if a == 0:
        return "0"
    return f"{value:.3g}"


def change(key: str, value, previous) -> dict | None:
    """Change of a metric vs the previous window: text, direction and good/bad/neutral."""
    if not (is_number(value) and is_number(previous)):
        return None
    delta = value - previous
    better = METRIC_INFO.get(key, ("", 0))[1]
    if delta == 0:
        mood = "same"
    elif better == 0:
        mood = "neutral"
    else:
        mood = "good" if (delta > 0) == (better > 0) else "bad"
    if key.endswith("_rate") or key == "clipfrac":
        text = f"{delta * 100:+.1f} pp"
    else:
        text = ("+" if delta > 0 else "") + fmt(delta, key)
    pct = None if previous == 0 else delta / abs(previous) * 100
    return {
        "delta": delta,
        "text": text,
        "pct": pct,
        "arrow": "▲" if delta > 0 else ("▼" if delta < 0 else "="),
        "mood": mood,
    }
