"""The frozen RL interface and the default mechanics config: the one Python source.

Everything a policy, a test, the C core or the site needs to know about the shape
of the game lives here.  ``ext/prospector.h`` mirrors these numbers by hand and
``tests/test_spec_binding.py`` proves the two agree, constant by constant.

Sections follow ``docs/game.md``: 1 constants, 2 observation layout,
3 actions, 4 reward coefficients, 6 mechanics config, 6.9 events.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- 1. constants
COMMODITIES = ("iron", "nickel", "water_ice", "pge", "rare_isotopes", "volatiles")
N_COMMODITIES = 6
MAX_NODES = 32
MAX_NEIGHBORS = 6
MAX_ASTEROIDS = 16
NODE_TYPES = ("station", "cluster", "hazard")
STATION, CLUSTER, HAZARD = 0, 1, 2
OBS_DIM = 260
N_ACTIONS = 69

FUEL_MAX = 1000.0
HULL_MAX = 100.0
HEAT_MAX = 100.0
TOOL_MAX = 100.0
CARGO_MAX = 200.0
ALERT_MAX = 100.0
CREDIT_SCALE = 1000.0
TIME_MAX = 20000
CREDITS_CAP = 1e7
ITEM_CAP = 12

# Normalisers of the observation that docs/game.md#2-observation states inline.
TRAVEL_TIME_NORM = 8.0
FUEL_COST_NORM = 400.0
INVENTORY_NORM = 500.0
PRICE_DELTA_NORM = 0.1  # price delta is measured in units of 0.1 * p0
UNKNOWN_THREAT = 0.5

# PCG32 stream selector of docs/game.md#61-randomness; per-node asteroid streams use
# RNG_SEQ + 1 + node (see docs/game.md "Randomness").
RNG_SEQ = 0xDA3E39CB94B95BDB
MAX_EVENTS = 16  # per step; the C core keeps a fixed array of this size

# ------------------------------------------------------ 2. observation layout
OBS_SHIP = slice(0, 24)
OBS_NEIGHBORS = slice(24, 68)
OBS_ASTEROIDS = slice(68, 244)
OBS_MARKET = slice(244, 260)
NEIGHBOR_BASE, NEIGHBOR_STRIDE = 24, 7
ASTEROID_BASE, ASTEROID_STRIDE = 68, 11

O_FUEL, O_HULL, O_HEAT, O_TOOL, O_CARGO, O_ALERT, O_TIME, O_CREDITS = range(8)
O_CARGO_C = 8  # 8..13
O_KITS, O_STABILIZERS, O_DECOYS, O_DOCKED, O_MINING = 14, 15, 16, 17, 18
O_NODE_TYPE = 19  # 19..21
O_NODE_INDEX, O_STEPS_TO_STATION = 22, 23
# neighbor slot offsets
N_VALID, N_TYPE, N_TRAVEL, N_FUEL, N_THREAT = 0, 1, 4, 5, 6
# asteroid slot offsets
A_VALID, A_COMP, A_STABILITY, A_DEPLETION, A_CONF, A_SELECTED = 0, 1, 7, 8, 9, 10
O_PRICE, O_PRICE_DELTA, O_INVENTORY = 244, 250, 256
INVENTORY_COMMODITIES = (0, 2, 3, 4)  # iron, water_ice, pge, rare_isotopes


def _observation_names() -> tuple[str, ...]:
    names = [
        "fuel_frac",
        "hull_frac",
        "heat_frac",
        "tool_frac",
        "cargo_load_frac",
        "alert_frac",
        "time_frac",
        "credits_log_norm",
    ]
    names += [f"cargo_frac.{c}" for c in COMMODITIES]
    names += ["repair_kits_norm", "stabilizers_norm", "decoys_norm", "docked_flag", "mining_active_flag"]
    names += [f"node_type.{t}" for t in NODE_TYPES]
    names += ["node_index_norm", "steps_to_station_norm"]
    for k in range(MAX_NEIGHBORS):
        names += [f"neighbor{k}.valid"] + [f"neighbor{k}.type.{t}" for t in NODE_TYPES]
        names += [f"neighbor{k}.travel_time_norm", f"neighbor{k}.fuel_cost_norm", f"neighbor{k}.threat_est"]
    names += ["reserved.66", "reserved.67"]  # docs/game.md leaves 66-67 unused: always 0
    for a in range(MAX_ASTEROIDS):
        names += [f"asteroid{a}.valid"] + [f"asteroid{a}.comp_est.{c}" for c in COMMODITIES]
        names += [
            f"asteroid{a}.stability_est",
            f"asteroid{a}.depletion",
            f"asteroid{a}.scan_conf",
            f"asteroid{a}.selected",
        ]
    names += [f"price_norm.{c}" for c in COMMODITIES]
    names += [f"price_delta.{c}" for c in COMMODITIES]
    names += [f"inventory_norm.{COMMODITIES[c]}" for c in INVENTORY_COMMODITIES]
    return tuple(names)


OBSERVATION_NAMES = _observation_names()
assert len(OBSERVATION_NAMES) == OBS_DIM

# ------------------------------------------------------------------ 3. actions
A_TRAVEL = 0  # 0..5
A_HOLD, A_BURN, A_WIDE_SCAN, A_FOCUSED_SCAN, A_DEEP_SCAN, A_LISTEN = 6, 7, 8, 9, 10, 11
A_SELECT = 12  # 12..27
A_MINE = 28  # 28 conservative, 29 standard, 30 aggressive
A_STABILIZE, A_REFINE, A_COOLDOWN, A_TOOL_MAINT, A_HULL_PATCH = 31, 32, 33, 34, 35
A_JETTISON = 36  # 36..41
A_DOCK = 42
A_SELL = 43  # 43..60: commodity (a-43)//3, fraction SELL_FRACTIONS[(a-43)%3]
A_BUY_FUEL = 61  # 61..63
A_BUY_KIT, A_BUY_STABILIZER, A_BUY_DECOY, A_OVERHAUL, A_CASH_OUT = 64, 65, 66, 67, 68

MINE_MODES = ("conservative", "standard", "aggressive")
SCAN_MODES = ("wide", "focused", "deep")
SELL_FRACTIONS = (0.25, 0.5, 1.0)
FUEL_SIZES = ("small", "medium", "large")


def _action_names() -> tuple[str, ...]:
    names = [f"TRAVEL_{k}" for k in range(MAX_NEIGHBORS)]
    names += ["HOLD", "EMERGENCY_BURN", "WIDE_SCAN", "FOCUSED_SCAN", "DEEP_SCAN", "THREAT_LISTEN"]
    names += [f"SELECT_{a}" for a in range(MAX_ASTEROIDS)]
    names += [f"MINE_{m.upper()}" for m in MINE_MODES]
    names += ["STABILIZE", "REFINE_ONBOARD", "ACTIVE_COOLDOWN", "TOOL_MAINTENANCE", "HULL_PATCH"]
    names += [f"JETTISON_{c.upper()}" for c in COMMODITIES]
    names += ["DOCK"]
    names += [f"SELL_{c.upper()}_{int(f * 100)}" for c in COMMODITIES for f in SELL_FRACTIONS]
    names += [f"BUY_FUEL_{s.upper()}" for s in FUEL_SIZES]
    names += ["BUY_REPAIR_KIT", "BUY_STABILIZER", "BUY_DECOY", "FULL_OVERHAUL", "CASH_OUT"]
    return tuple(names)


ACTION_NAMES = _action_names()

# Action families, as docs/game.md groups them (the play page groups its buttons so).
ACTION_GROUPS = (
    ("travel", tuple(range(0, 6))),
    ("ship", (A_HOLD, A_BURN, A_COOLDOWN, A_TOOL_MAINT, A_HULL_PATCH, A_REFINE)),
    ("sensors", (A_WIDE_SCAN, A_FOCUSED_SCAN, A_DEEP_SCAN, A_LISTEN)),
    ("select", tuple(range(12, 28))),
    ("mining", (28, 29, 30, A_STABILIZE)),
    ("jettison", tuple(range(36, 42))),
    ("station", (A_DOCK, 61, 62, 63, A_BUY_KIT, A_BUY_STABILIZER, A_BUY_DECOY, A_OVERHAUL)),
    ("sell", tuple(range(43, 61))),
    ("episode", (A_CASH_OUT,)),
)


def decode_action(action: int) -> tuple[str, int | None]:
    """Split an action index into (family, argument): ("sell", 7) means SELL with
    argument (a-43) = 7, i.e. commodity 2 at fraction index 1."""
    if not 0 <= action < N_ACTIONS:
        raise ValueError(f"action {action} is outside 0..{N_ACTIONS - 1}")
    if action < A_HOLD:
        return "travel", action
    if action < A_SELECT:
        return ACTION_NAMES[action].lower(), None
    if action < A_MINE:
        return "select", action - A_SELECT
    if action < A_STABILIZE:
        return "mine", action - A_MINE
    if action < A_JETTISON:
        return ACTION_NAMES[action].lower(), None
    if action < A_DOCK:
        return "jettison", action - A_JETTISON
    if action == A_DOCK:
        return "dock", None
    if action < A_BUY_FUEL:
        return "sell", action - A_SELL
    if action < A_BUY_KIT:
        return "buy_fuel", action - A_BUY_FUEL
    return ACTION_NAMES[action].lower(), None


# Ticks each action takes (TRAVEL's dt is the edge's travel time instead).
ACTION_DT = tuple(
    [0] * 6
    + [1, 1, 3, 2, 5, 2]
    + [1] * 16
    + [1, 1, 1, 2, 3, 2, 2, 2]
    + [1] * 6
    + [1]
    + [1] * 18
    + [1, 1, 1]
    + [1, 1, 1, 4, 0]
)
assert len(ACTION_NAMES) == N_ACTIONS and len(ACTION_DT) == N_ACTIONS

# ---------------------------------------------------------- 4. reward (frozen)
R_EXTRACT = 0.02
R_FUEL = -0.10  # per 100 fuel
R_TIME = -0.001  # per tick
R_WEAR = -0.05  # per 10 tool
R_DAMAGE = -1.00  # per 10 hull
R_HEAT = -0.20  # times ((heat-70)/100)^2
R_HEAT_THRESHOLD = 70.0
R_SCAN = -0.005
R_INVALID = -0.01
R_PIRATE = -1.00  # per CREDIT_SCALE of cargo value lost
R_STRANDED = -50.0
R_DESTROYED = -100.0
R_FINAL_CREDITS = 0.002  # times credits / CREDIT_SCALE at any other end

END_REASONS = ("destroyed", "stranded", "cash_out", "timeout")

# Keys of info after every step (docs/game.md#4-reward-termination-info-events), in the order the C core writes them.
INFO_KEYS = (
    "credits",
    "net_profit",
    "profit_per_tick",
    "survival",
    "overheat_ticks",
    "pirate_encounters",
    "value_lost_to_pirates",
    "fuel_used",
    "hull_damage",
    "tool_wear",
    "scan_count",
    "mining_ticks",
    "cargo_utilization_avg",
    "dt",
    "invalid",
    "time_remaining",
)

# ------------------------------------------------------------------ 6.9 events
# Every event is (type, a, b, x, y, z) in the C core: two ints and three doubles.
# EVENT_FIELDS names the fields each type uses, in that order; unused ones are 0.
EVENT_TYPES = (
    "travel",
    "dock",
    "undock",
    "scan",
    "select",
    "mine",
    "fracture",
    "stabilize",
    "refine",
    "cooldown",
    "repair",
    "jettison",
    "sell",
    "buy",
    "hazard_damage",
    "pirate",
    "overheat",
    "invalid",
    "end",
    "hold",
    "burn",
    "listen",
)
EVENT_FIELDS = {
    "travel": (("from", "a"), ("to", "b"), ("fuel", "x"), ("ticks", "y")),
    "dock": (),
    "undock": (),
    "scan": (("mode", "a"), ("asteroid", "b"), ("fuel", "x")),
    "select": (("asteroid", "a"),),
    "mine": (("mode", "a"), ("asteroid", "b"), ("units", "x")),
    "fracture": (("asteroid", "a"), ("hull", "x")),
    "stabilize": (("asteroid", "a"),),
    "refine": (("commodity", "a"), ("qty", "x")),
    "cooldown": (("heat", "x"),),
    "repair": (("kind", "a"), ("amount", "x"), ("credits", "y")),
    "jettison": (("commodity", "a"), ("qty", "x")),
    "sell": (("commodity", "a"), ("qty", "x"), ("credits", "y"), ("slippage", "z")),
    "buy": (("item", "a"), ("qty", "x"), ("credits", "y")),
    "hazard_damage": (("hull", "x"), ("heat", "y")),
    "pirate": (("outcome", "a"), ("loss", "x"), ("damage", "y")),
    "overheat": (("hull", "x"),),
    "invalid": (("action", "a"),),
    "end": (("reason", "a"),),
    "hold": (),
    "burn": (("fuel", "x"),),
    "listen": (("neighbors", "a"),),
}
# Names of the small enums that events carry in their int fields.
EVENT_ENUMS = {
    ("scan", "mode"): SCAN_MODES,
    ("mine", "mode"): MINE_MODES,
    ("repair", "kind"): ("tool", "hull", "overhaul"),
    ("buy", "item"): ("fuel", "repair_kit", "stabilizer", "decoy"),
    ("pirate", "outcome"): ("evaded", "partial", "hit"),
    ("end", "reason"): END_REASONS,
    ("refine", "commodity"): COMMODITIES,
    ("jettison", "commodity"): COMMODITIES,
    ("sell", "commodity"): COMMODITIES,
}
PIRATE_EVADED, PIRATE_PARTIAL, PIRATE_HIT = 0, 1, 2
REPAIR_TOOL, REPAIR_HULL, REPAIR_OVERHAUL = 0, 1, 2
ITEM_FUEL, ITEM_KIT, ITEM_STABILIZER, ITEM_DECOY = 0, 1, 2, 3


# ---------------------------------------------------------- 6. mechanics config
@dataclass(frozen=True)
class Field:
    name: str
    default: float
    lo: float
    hi: float
    integer: bool
    doc: str


def _f(name, default, lo, hi, doc, integer=False):
    return Field(name, float(default), float(lo), float(hi), integer, doc)


# The ONE mechanics config (docs/game.md#6-mechanics). Order matters: the C core receives the
# values as a float64 array in exactly this order (struct Config in prospector.h).
CONFIG_FIELDS = (
    # episode and world generation (6.2)
    _f("time_max", TIME_MAX, 1, 1_000_000, "episode budget in ticks", True),
    _f("node_count_min", 10, 2, MAX_NODES, "fewest nodes a world has", True),
    _f("node_count_max", 32, 2, MAX_NODES, "most nodes a world has", True),
    _f("hazard_divisor", 5, 1, MAX_NODES, "hazard nodes = randint(1, max(1, n // this))", True),
    _f("extra_edge_divisor", 3, 1, MAX_NODES, "extra edge attempts = n // this", True),
    _f("edge_time_min", 1, 1, 8, "shortest edge travel time (ticks)", True),
    _f("edge_time_max", 8, 1, 8, "longest edge travel time (ticks)", True),
    _f("edge_fuel_min", 8, 0, 100, "least base fuel per tick of travel", True),
    _f("edge_fuel_max", 20, 0, 100, "most base fuel per tick of travel", True),
    _f("cluster_pirate_scale", 0.6, 0, 1, "cluster pirate intensity = this * u^2"),
    _f("cluster_hazard_scale", 0.15, 0, 1, "cluster hazard intensity = this * u"),
    _f("hazard_node_pirate_base", 0.3, 0, 1, "hazard-node pirate = base + span * u"),
    _f("hazard_node_pirate_span", 0.5, 0, 1, "see hazard_node_pirate_base"),
    _f("hazard_node_hazard_base", 0.5, 0, 1, "hazard-node hazard = base + span * u"),
    _f("hazard_node_hazard_span", 0.5, 0, 1, "see hazard_node_hazard_base"),
    _f("richness_risk_bonus", 1.5, 0, 10, "node richness = 1 + this * (pirate + hazard)"),
    _f("cluster_asteroids_min", 5, 1, MAX_ASTEROIDS, "fewest asteroids at a cluster", True),
    _f("cluster_asteroids_max", 16, 1, MAX_ASTEROIDS, "most asteroids at a cluster", True),
    _f("hazard_asteroids_min", 2, 1, MAX_ASTEROIDS, "fewest asteroids at a hazard node", True),
    _f("hazard_asteroids_max", 6, 1, MAX_ASTEROIDS, "most asteroids at a hazard node", True),
    _f("comp_sigma", 0.8, 0, 3, "composition weight = exp(this * n())"),
    _f("dominant_weight", 3.0, 1, 20, "weight multiplier of the node's dominant commodity"),
    _f("richness_sigma", 0.9, 0, 3, "asteroid richness = node richness * exp(this * n())"),
    _f("capacity_base", 40, 1, 10_000, "asteroid capacity = base + per_richness * richness"),
    _f("capacity_per_richness", 60, 0, 10_000, "see capacity_base"),
    # start of an episode (6.2)
    _f("start_fuel", 800, 1, FUEL_MAX, "fuel at start = this + jitter * u"),
    _f("start_fuel_jitter", 200, 0, FUEL_MAX, "see start_fuel"),
    _f("start_tool", 80, 1, TOOL_MAX, "tool at start = this + jitter * u"),
    _f("start_tool_jitter", 20, 0, TOOL_MAX, "see start_tool"),
    _f("start_credits", 400, 0, 1e6, "credits at start = this + jitter * u"),
    _f("start_credits_jitter", 200, 0, 1e6, "see start_credits"),
    _f("start_kits", 2, 0, ITEM_CAP, "repair kits at start", True),
    _f("start_stabilizers", 1, 0, ITEM_CAP, "stabilizers at start", True),
    _f("start_decoys", 1, 0, ITEM_CAP, "decoys at start", True),
    # travel, holding, docking (6.3)
    _f("cargo_mass_fuel", 0.5, 0, 5, "edge fuel = base * (1 + this * cargo volume / CARGO_MAX)"),
    _f("burn_fuel", 25, 0, FUEL_MAX, "EMERGENCY_BURN fuel cost"),
    _f("burn_alert", 10, 0, ALERT_MAX, "EMERGENCY_BURN alert rise"),
    _f("escape_ticks", 6, 0, 100, "EMERGENCY_BURN escape buff length", True),
    _f("hold_heat", 2.5, 0, 100, "HOLD's extra heat dissipation per tick"),
    _f("hold_alert", 3.0, 0, 100, "HOLD's extra alert decay per tick"),
    _f("dock_alert", 20, 0, ALERT_MAX, "alert drop on DOCK"),
    # passive dynamics (6.7)
    _f("heat_dissipation", 2.5, 0, 100, "heat lost per tick"),
    _f("docked_heat_factor", 2.0, 0, 10, "heat dissipation multiplier while docked"),
    _f("alert_decay", 0.5, 0, 100, "alert lost per tick"),
    _f("docked_alert_decay", 5.0, 0, 100, "alert lost per tick while docked"),
    _f("inventory_tau", 300, 1, 1e6, "station inventory relaxation time constant (ticks)"),
    _f("recent_sales_tau", 14, 1, 1e6, "recent-sales decay time constant (ticks)"),
    _f("shock_tau", 50, 1, 1e6, "price shock decay time constant (ticks)"),
    # sensing (6.4)
    _f("wide_weight", 0.25, 0, 1, "WIDE_SCAN blend weight"),
    _f("wide_sigma", 0.35, 0, 5, "WIDE_SCAN reading noise"),
    _f("wide_conf_gain", 0.10, 0, 1, "WIDE_SCAN confidence gain"),
    _f("wide_conf_cap", 0.35, 0, 1, "WIDE_SCAN confidence cap"),
    _f("wide_fuel", 4, 0, FUEL_MAX, "WIDE_SCAN fuel"),
    _f("wide_alert", 4, 0, ALERT_MAX, "WIDE_SCAN alert"),
    _f("wide_misread", 0.15, 0, 1, "chance a WIDE_SCAN reads another asteroid"),
    _f("focused_weight", 0.55, 0, 1, "FOCUSED_SCAN blend weight"),
    _f("focused_sigma", 0.20, 0, 5, "FOCUSED_SCAN reading noise"),
    _f("focused_conf_gain", 0.30, 0, 1, "FOCUSED_SCAN confidence gain"),
    _f("focused_conf_cap", 0.80, 0, 1, "FOCUSED_SCAN confidence cap"),
    _f("focused_fuel", 4, 0, FUEL_MAX, "FOCUSED_SCAN fuel"),
    _f("focused_alert", 3, 0, ALERT_MAX, "FOCUSED_SCAN alert"),
    _f("deep_weight", 0.90, 0, 1, "DEEP_SCAN blend weight"),
    _f("deep_sigma", 0.05, 0, 5, "DEEP_SCAN reading noise"),
    _f("deep_conf", 0.95, 0, 1, "DEEP_SCAN confidence floor"),
    _f("deep_fuel", 10, 0, FUEL_MAX, "DEEP_SCAN fuel"),
    _f("deep_alert", 6, 0, ALERT_MAX, "DEEP_SCAN alert"),
    _f("listen_sigma", 0.1, 0, 5, "THREAT_LISTEN reading noise"),
    # mining (6.5): conservative / standard / aggressive
    _f("mine_yield_0", 2.0, 0, 100, "conservative yield"),
    _f("mine_yield_1", 3.5, 0, 100, "standard yield"),
    _f("mine_yield_2", 5.5, 0, 100, "aggressive yield"),
    _f("mine_sigma_0", 0.10, 0, 5, "conservative yield noise"),
    _f("mine_sigma_1", 0.25, 0, 5, "standard yield noise"),
    _f("mine_sigma_2", 0.45, 0, 5, "aggressive yield noise"),
    _f("mine_heat_0", 3, 0, 100, "conservative heat per tick"),
    _f("mine_heat_1", 6, 0, 100, "standard heat per tick"),
    _f("mine_heat_2", 11, 0, 100, "aggressive heat per tick"),
    _f("mine_wear_0", 0.4, 0, 100, "conservative tool wear per tick"),
    _f("mine_wear_1", 0.9, 0, 100, "standard tool wear per tick"),
    _f("mine_wear_2", 2.0, 0, 100, "aggressive tool wear per tick"),
    _f("mine_alert_0", 0.5, 0, 100, "conservative alert per tick"),
    _f("mine_alert_1", 1.2, 0, 100, "standard alert per tick"),
    _f("mine_alert_2", 2.5, 0, 100, "aggressive alert per tick"),
    _f("mine_fracture_0", 0.0, -20, 20, "conservative fracture weight"),
    _f("mine_fracture_1", 1.0, -20, 20, "standard fracture weight"),
    _f("mine_fracture_2", 2.2, -20, 20, "aggressive fracture weight"),
    _f("richness_factor_cap", 4.0, 0, 100, "richness counts up to this in the yield"),
    _f("heat_safe", 70, 0, HEAT_MAX, "heat above this cuts yield and raises fracture risk"),
    _f("heat_yield_span", 37.5, 1, 1000, "yield falls by (heat - heat_safe) / this"),
    _f("heat_yield_floor", 0.2, 0, 1, "lowest heat yield factor"),
    _f("fracture_base", -7.5, -50, 50, "fracture logit offset"),
    _f("fracture_hull", 5, 0, HULL_MAX, "fracture hull damage = this + jitter * u"),
    _f("fracture_hull_jitter", 15, 0, HULL_MAX, "see fracture_hull"),
    _f("fracture_hazard_rise", 0.1, 0, 1, "node hazard rise per fracture"),
    _f("stabilize_ticks", 8, 0, 1000, "STABILIZE buff length", True),
    # refining, maintenance, jettison (6.6)
    _f("refine_batch", 12, 0, CARGO_MAX, "raw units REFINE converts at most"),
    _f("refined_volume", 0.5, 0, 1, "volume of one refined unit"),
    _f("refined_price", 1.5, 0, 10, "refined price multiplier"),
    _f("refine_fuel", 3, 0, FUEL_MAX, "REFINE fuel"),
    _f("refine_heat", 8, 0, HEAT_MAX, "REFINE heat"),
    _f("refine_alert", 3, 0, ALERT_MAX, "REFINE alert"),
    _f("cooldown_heat", 30, 0, HEAT_MAX, "ACTIVE_COOLDOWN heat drop"),
    _f("cooldown_fuel", 3, 0, FUEL_MAX, "ACTIVE_COOLDOWN fuel"),
    _f("cooldown_alert", 2, 0, ALERT_MAX, "ACTIVE_COOLDOWN alert"),
    _f("tool_repair", 25, 0, TOOL_MAX, "TOOL_MAINTENANCE tool gain"),
    _f("hull_repair", 20, 0, HULL_MAX, "HULL_PATCH hull gain"),
    _f("jettison_alert", 8, 0, ALERT_MAX, "JETTISON alert drop"),
    # station and market (6.7)
    _f("p0_0", 40, 1, 1e5, "base price of iron"),
    _f("p0_1", 55, 1, 1e5, "base price of nickel"),
    _f("p0_2", 80, 1, 1e5, "base price of water ice"),
    _f("p0_3", 150, 1, 1e5, "base price of PGE"),
    _f("p0_4", 220, 1, 1e5, "base price of rare isotopes"),
    _f("p0_5", 110, 1, 1e5, "base price of volatiles"),
    _f("price_min_frac", 0.3, 0, 1, "price floor / p0"),
    _f("price_max_frac", 2.2, 1, 100, "price ceiling / p0"),
    _f("period_min", 150, 1, 1e6, "shortest price cycle (ticks)", True),
    _f("period_max", 600, 1, 1e6, "longest price cycle (ticks)", True),
    _f("amplitude_base", 0.08, 0, 1, "cycle amplitude = (base + span * u) * p0"),
    _f("amplitude_span", 0.17, 0, 1, "see amplitude_base"),
    _f("inventory_base", 100, 0, 1e6, "start inventory = base + span * u"),
    _f("inventory_span", 200, 0, 1e6, "see inventory_base"),
    _f("inventory_price", 0.04, 0, 10, "price drop per unit of inventory above its start"),
    _f("recent_sales_price", 0.05, 0, 10, "price drop per unit of recent sales"),
    _f("shock_rate", 0.002, 0, 1, "price shock chance per commodity per tick"),
    _f("shock_base", 0.2, 0, 10, "shock size = +-(base + span * u) * p0"),
    _f("shock_span", 0.3, 0, 10, "see shock_base"),
    _f("slippage_coef", 0.25, 0, 10, "slippage = min(cap, coef * (q / depth)^exp)"),
    _f("slippage_exp", 0.7, 0.01, 10, "see slippage_coef"),
    _f("slippage_cap", 0.6, 0, 1, "see slippage_coef"),
    _f("depth_base", 40, 1e-3, 1e6, "market depth = base + per_inventory * inventory"),
    _f("depth_per_inventory", 0.1, 0, 100, "see depth_base"),
    _f("fuel_amount_0", 100, 0, FUEL_MAX, "BUY_FUEL_SMALL amount"),
    _f("fuel_amount_1", 250, 0, FUEL_MAX, "BUY_FUEL_MEDIUM amount"),
    _f("fuel_amount_2", 500, 0, FUEL_MAX, "BUY_FUEL_LARGE amount"),
    _f("fuel_price_0", 0.50, 0, 1e3, "BUY_FUEL_SMALL credits per unit"),
    _f("fuel_price_1", 0.46, 0, 1e3, "BUY_FUEL_MEDIUM credits per unit"),
    _f("fuel_price_2", 0.42, 0, 1e3, "BUY_FUEL_LARGE credits per unit"),
    _f("kit_price", 120, 0, 1e6, "repair kit price"),
    _f("stabilizer_price", 160, 0, 1e6, "stabilizer price"),
    _f("decoy_price", 100, 0, 1e6, "decoy price"),
    _f("overhaul_base", 50, 0, 1e6, "FULL_OVERHAUL = base + hull_rate * missing hull + tool_rate * missing tool"),
    _f("overhaul_hull_rate", 4, 0, 1e4, "see overhaul_base"),
    _f("overhaul_tool_rate", 3, 0, 1e4, "see overhaul_base"),
    # exposure, pirates, heat damage (6.8)
    _f("overheat_hull", 1.25, 0, 100, "hull lost per unit of heat above HEAT_MAX"),
    _f("hazard_hull", 0.8, 0, 100, "hazard hull damage = this * hazard * dt * (0.5 + u)"),
    _f("hazard_heat", 0.5, 0, 100, "hazard heat = this * hazard * dt"),
    _f("hazard_alert", 0.3, 0, 100, "hazard alert = this * hazard * dt"),
    _f("pirate_base", -7.0, -50, 50, "pirate logit offset"),
    _f("pirate_intensity", 3.0, -50, 50, "pirate logit per unit of node pirate intensity"),
    _f("pirate_alert", 2.5, -50, 50, "pirate logit per unit of alert_frac"),
    _f("pirate_cargo", 0.6, -50, 50, "pirate logit per log1p(cargo value / 1000)"),
    _f("pirate_escape", 2.5, -50, 50, "pirate logit drop while the escape buff runs"),
    _f("decoy_evade", 0.7, 0, 1, "chance a decoy evades an encounter"),
    _f("pirate_loss", 0.2, 0, 1, "cargo share lost = this + jitter * u"),
    _f("pirate_loss_jitter", 0.4, 0, 1, "see pirate_loss"),
    _f("pirate_hull", 3, 0, HULL_MAX, "pirate hull damage = this + jitter * u"),
    _f("pirate_hull_jitter", 10, 0, HULL_MAX, "see pirate_hull"),
    _f("pirate_alert_rise", 10, 0, ALERT_MAX, "alert rise on an encounter"),
)
CONFIG_INDEX = {f.name: i for i, f in enumerate(CONFIG_FIELDS)}
N_CONFIG = len(CONFIG_FIELDS)
DEFAULT_CONFIG = {f.name: f.default for f in CONFIG_FIELDS}

# (low, high) pairs that must be ordered
_CONFIG_PAIRS = (
    ("node_count_min", "node_count_max"),
    ("edge_time_min", "edge_time_max"),
    ("edge_fuel_min", "edge_fuel_max"),
    ("cluster_asteroids_min", "cluster_asteroids_max"),
    ("hazard_asteroids_min", "hazard_asteroids_max"),
    ("period_min", "period_max"),
)


def make_config(overrides: dict | None = None, **kwargs) -> dict[str, float]:
    """The default config with overrides applied and every value checked.

    Raises ValueError naming the field for an unknown name, a non-number, a value
    outside the field's range, a fraction where a whole number is needed, or a
    min/max pair in the wrong order.
    """
    merged = dict(overrides or {}, **kwargs)
    config = dict(DEFAULT_CONFIG)
    for name, value in merged.items():
        field = CONFIG_FIELDS[CONFIG_INDEX[name]] if name in CONFIG_INDEX else None
        if field is None:
            raise ValueError(f"unknown config field {name!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                import numpy as np  # numpy scalars are fine, strings and None are not

                if not isinstance(value, (np.integer, np.floating)) or isinstance(value, np.bool_):
                    raise TypeError
            except TypeError:
                raise ValueError(f"config field {name!r} must be a number, got {value!r}") from None
        value = float(value)
        if value != value or not field.lo <= value <= field.hi:
            raise ValueError(f"config field {name!r} = {value!r} is outside [{field.lo:g}, {field.hi:g}]")
        if field.integer and value != int(value):
            raise ValueError(f"config field {name!r} must be a whole number, got {value!r}")
        config[name] = value
    for lo, hi in _CONFIG_PAIRS:
        if config[lo] > config[hi]:
            raise ValueError(f"config field {lo!r} ({config[lo]:g}) exceeds {hi!r} ({config[hi]:g})")
    return config


def config_array(config: dict[str, float]):
    """The config as the float64 array the C core reads (CONFIG_FIELDS order)."""
    import numpy as np

    return np.array([config[f.name] for f in CONFIG_FIELDS], dtype=np.float64)
