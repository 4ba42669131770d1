"""spec.py (the frozen Python interface) against the C core's exported constants,
and spec.py against docs/game.md sections 1-4 and 6 (numbers copied here by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prospector import _core
from prospector import spec as S

IFACE = _core.interface()

# Exported by the C core but with no same-named constant in spec.py: how each maps.
DERIVED = {
    "N_INFO": len(S.INFO_KEYS),
    "N_EVENT_TYPES": len(S.EVENT_TYPES),
    "LOG_WIDTH": len(S.INFO_KEYS) + 3,  # info values, end reason, episode return, length
}
NOT_IN_SPEC = {"config_names", "config_defaults", "sizeof_env", *DERIVED}

# The constants the binding must export (so dropping one from interface() fails here).
MUST_EXPORT = (
    "N_COMMODITIES",
    "MAX_NODES",
    "MAX_NEIGHBORS",
    "MAX_ASTEROIDS",
    "OBS_DIM",
    "N_ACTIONS",
    "ITEM_CAP",
    "FUEL_MAX",
    "HULL_MAX",
    "HEAT_MAX",
    "TOOL_MAX",
    "CARGO_MAX",
    "ALERT_MAX",
    "CREDIT_SCALE",
    "CREDITS_CAP",
    "MAX_EVENTS",
    "UNKNOWN_THREAT",
    "RNG_SEQ",
    "R_EXTRACT",
    "R_FUEL",
    "R_TIME",
    "R_WEAR",
    "R_DAMAGE",
    "R_HEAT",
    "R_HEAT_THRESHOLD",
    "R_SCAN",
    "R_INVALID",
    "R_PIRATE",
    "R_STRANDED",
    "R_DESTROYED",
    "R_FINAL_CREDITS",
    "TRAVEL_TIME_NORM",
    "FUEL_COST_NORM",
    "O_PRICE",
    "ASTEROID_BASE",
    "N_INFO",
    "N_EVENT_TYPES",
    "LOG_WIDTH",
    "config_names",
    "config_defaults",
)


# ------------------------------------------------------------ C core vs spec.py
def test_interface_exports_every_expected_constant():
    missing = [name for name in MUST_EXPORT if name not in IFACE]
    assert not missing, f"_core.interface() lacks {missing}"


@pytest.mark.parametrize("name", sorted(k for k in IFACE if k not in NOT_IN_SPEC))
def test_c_constant_equals_spec(name):
    assert hasattr(S, name), f"C exports {name} but spec.py has no such constant"
    c_value, py_value = IFACE[name], getattr(S, name)
    assert c_value == py_value, f"{name}: C {c_value!r} != spec {py_value!r}"
    if isinstance(py_value, float):
        assert math.copysign(1.0, c_value) == math.copysign(1.0, py_value)


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_c_derived_sizes(name):
    assert IFACE[name] == DERIVED[name], f"{name}: C {IFACE[name]} != {DERIVED[name]}"


def test_c_env_struct_size_is_sane():
    assert 10_000 < IFACE["sizeof_env"] < 1_000_000


def test_config_names_match_spec_in_order():
    assert list(IFACE["config_names"]) == [f.name for f in S.CONFIG_FIELDS]
    assert len(IFACE["config_names"]) == S.N_CONFIG


def test_config_defaults_match_spec_exactly():
    c_defaults = list(IFACE["config_defaults"])
    assert len(c_defaults) == S.N_CONFIG
    for field, value in zip(S.CONFIG_FIELDS, c_defaults):
        assert value == field.default, f"default of {field.name}: C {value!r} != spec {field.default!r}"


def test_config_array_is_float64_in_field_order():
    arr = S.config_array(S.DEFAULT_CONFIG)
    assert arr.dtype == np.float64 and arr.shape == (S.N_CONFIG,)
    assert arr.tolist() == list(IFACE["config_defaults"])
    overridden = S.config_array(S.make_config(time_max=123, pirate_alert_rise=7))
    assert overridden[S.CONFIG_INDEX["time_max"]] == 123.0
    assert overridden[S.CONFIG_INDEX["pirate_alert_rise"]] == 7.0
    assert S.CONFIG_INDEX["time_max"] == 0
    assert S.CONFIG_INDEX["pirate_alert_rise"] == S.N_CONFIG - 1


def test_config_reaches_the_c_core():
    """A config value is read by the C core from the right slot (first, middle, last)."""
    from prospector import ProspectorEnv

    env = ProspectorEnv(time_max=77, start_kits=5, start_decoys=3, start_fuel=500, start_fuel_jitter=0)
    env.reset(seed=1)
    snap = env.snapshot()
    assert snap["time_max"] == 77 and snap["time_remaining"] == 77
    assert snap["kits"] == 5 and snap["decoys"] == 3
    assert snap["fuel"] == 500.0


# ------------------------------------------------------------ spec.py vs docs/game.md
GAME_MD_CONSTANTS = {
    "N_COMMODITIES": 6,
    "MAX_NODES": 32,
    "MAX_NEIGHBORS": 6,
    "MAX_ASTEROIDS": 16,
    "OBS_DIM": 260,
    "N_ACTIONS": 69,
    "FUEL_MAX": 1000,
    "HULL_MAX": 100,
    "HEAT_MAX": 100,
    "TOOL_MAX": 100,
    "CARGO_MAX": 200,
    "ALERT_MAX": 100,
    "CREDIT_SCALE": 1000,
    "TIME_MAX": 20000,
    "CREDITS_CAP": 1e7,
    "ITEM_CAP": 12,
    "STATION": 0,
    "CLUSTER": 1,
    "HAZARD": 2,
    "RNG_SEQ": 0xDA3E39CB94B95BDB,
    "TRAVEL_TIME_NORM": 8,
    "FUEL_COST_NORM": 400,
    "INVENTORY_NORM": 500,
    "UNKNOWN_THREAT": 0.5,
}
GAME_MD_REWARD = {
    "R_EXTRACT": 0.02,
    "R_FUEL": -0.10,
    "R_TIME": -0.001,
    "R_WEAR": -0.05,
    "R_DAMAGE": -1.00,
    "R_HEAT": -0.20,
    "R_HEAT_THRESHOLD": 70,
    "R_SCAN": -0.005,
    "R_INVALID": -0.01,
    "R_PIRATE": -1.00,
    "R_STRANDED": -50,
    "R_DESTROYED": -100,
    "R_FINAL_CREDITS": 0.002,
}


@pytest.mark.parametrize("name,value", sorted({**GAME_MD_CONSTANTS, **GAME_MD_REWARD}.items()))
def test_spec_constants_match_game_md(name, value):
    assert getattr(S, name) == value


def test_commodities_and_node_types():
    assert S.COMMODITIES == ("iron", "nickel", "water_ice", "pge", "rare_isotopes", "volatiles")
    assert S.NODE_TYPES == ("station", "cluster", "hazard")
    assert S.INVENTORY_COMMODITIES == (0, 2, 3, 4)


def test_action_table():
    assert len(S.ACTION_NAMES) == 69 == S.N_ACTIONS
    assert len(set(S.ACTION_NAMES)) == 69
    expected = {
        0: "TRAVEL_0",
        5: "TRAVEL_5",
        6: "HOLD",
        7: "EMERGENCY_BURN",
        8: "WIDE_SCAN",
        9: "FOCUSED_SCAN",
        10: "DEEP_SCAN",
        11: "THREAT_LISTEN",
        12: "SELECT_0",
        27: "SELECT_15",
        28: "MINE_CONSERVATIVE",
        29: "MINE_STANDARD",
        30: "MINE_AGGRESSIVE",
        31: "STABILIZE",
        32: "REFINE_ONBOARD",
        33: "ACTIVE_COOLDOWN",
        34: "TOOL_MAINTENANCE",
        35: "HULL_PATCH",
        36: "JETTISON_IRON",
        41: "JETTISON_VOLATILES",
        42: "DOCK",
        43: "SELL_IRON_25",
        44: "SELL_IRON_50",
        45: "SELL_IRON_100",
        52: "SELL_PGE_25",
        60: "SELL_VOLATILES_100",
        61: "BUY_FUEL_SMALL",
        62: "BUY_FUEL_MEDIUM",
        63: "BUY_FUEL_LARGE",
        64: "BUY_REPAIR_KIT",
        65: "BUY_STABILIZER",
        66: "BUY_DECOY",
        67: "FULL_OVERHAUL",
        68: "CASH_OUT",
    }
    for index, name in expected.items():
        assert S.ACTION_NAMES[index] == name
    # the named indices
    assert (S.A_HOLD, S.A_BURN, S.A_WIDE_SCAN, S.A_FOCUSED_SCAN, S.A_DEEP_SCAN, S.A_LISTEN) == (6, 7, 8, 9, 10, 11)
    assert (S.A_SELECT, S.A_MINE, S.A_STABILIZE, S.A_REFINE, S.A_COOLDOWN) == (12, 28, 31, 32, 33)
    assert (S.A_TOOL_MAINT, S.A_HULL_PATCH, S.A_JETTISON, S.A_DOCK, S.A_SELL) == (34, 35, 36, 42, 43)
    assert (S.A_BUY_FUEL, S.A_BUY_KIT, S.A_BUY_STABILIZER, S.A_BUY_DECOY) == (61, 64, 65, 66)
    assert (S.A_OVERHAUL, S.A_CASH_OUT) == (67, 68)
    assert S.SELL_FRACTIONS == (0.25, 0.5, 1.0)


def test_action_dt_matches_game_md_table():
    # docs/game.md#3-actions, dt column (TRAVEL's dt is the edge's travel time: 0 in the table).
    table = {
        6: 1,
        7: 1,
        8: 3,
        9: 2,
        10: 5,
        11: 2,
        31: 2,
        32: 3,
        33: 2,
        34: 2,
        35: 2,
        42: 1,
        61: 1,
        62: 1,
        63: 1,
        64: 1,
        65: 1,
        66: 1,
        67: 4,
        68: 0,
    }
    table.update({a: 0 for a in range(0, 6)})
    table.update({a: 1 for a in range(12, 28)})
    table.update({a: 1 for a in range(28, 31)})
    table.update({a: 1 for a in range(36, 42)})
    table.update({a: 1 for a in range(43, 61)})
    assert sorted(table) == list(range(69))
    assert len(S.ACTION_DT) == 69
    assert list(S.ACTION_DT) == [table[a] for a in range(69)]


def test_decode_action():
    assert S.decode_action(0) == ("travel", 0)
    assert S.decode_action(5) == ("travel", 5)
    assert S.decode_action(6) == ("hold", None)
    assert S.decode_action(12) == ("select", 0)
    assert S.decode_action(27) == ("select", 15)
    assert S.decode_action(30) == ("mine", 2)
    assert S.decode_action(38) == ("jettison", 2)
    assert S.decode_action(42) == ("dock", None)
    assert S.decode_action(50) == ("sell", 7)  # commodity 2 at 50 %
    assert S.decode_action(63) == ("buy_fuel", 2)
    assert S.decode_action(68) == ("cash_out", None)
    for bad in (-1, 69):
        with pytest.raises(ValueError):
            S.decode_action(bad)
    groups = sorted(a for _, actions in S.ACTION_GROUPS for a in actions)
    assert groups == list(range(69)), "ACTION_GROUPS must cover every action exactly once"


def test_observation_layout():
    names = S.OBSERVATION_NAMES
    assert len(names) == 260 == S.OBS_DIM and len(set(names)) == 260
    assert names[0] == "fuel_frac" and names[7] == "credits_log_norm"
    assert names[8:14] == tuple(f"cargo_frac.{c}" for c in S.COMMODITIES)
    assert names[14:19] == ("repair_kits_norm", "stabilizers_norm", "decoys_norm", "docked_flag", "mining_active_flag")
    assert names[19:22] == ("node_type.station", "node_type.cluster", "node_type.hazard")
    assert names[22:24] == ("node_index_norm", "steps_to_station_norm")
    for k in range(6):
        base = 24 + 7 * k
        assert names[base] == f"neighbor{k}.valid"
        assert names[base + 4] == f"neighbor{k}.travel_time_norm"
        assert names[base + 5] == f"neighbor{k}.fuel_cost_norm"
        assert names[base + 6] == f"neighbor{k}.threat_est"
    assert names[66] == "reserved.66" and names[67] == "reserved.67"
    for a in range(16):
        base = 68 + 11 * a
        assert names[base] == f"asteroid{a}.valid"
        assert names[base + 1] == f"asteroid{a}.comp_est.iron"
        assert names[base + 7] == f"asteroid{a}.stability_est"
        assert names[base + 8] == f"asteroid{a}.depletion"
        assert names[base + 9] == f"asteroid{a}.scan_conf"
        assert names[base + 10] == f"asteroid{a}.selected"
    assert names[243] == "asteroid15.selected"
    assert names[244:250] == tuple(f"price_norm.{c}" for c in S.COMMODITIES)
    assert names[250:256] == tuple(f"price_delta.{c}" for c in S.COMMODITIES)
    assert names[256:260] == (
        "inventory_norm.iron",
        "inventory_norm.water_ice",
        "inventory_norm.pge",
        "inventory_norm.rare_isotopes",
    )
    assert (S.NEIGHBOR_BASE, S.NEIGHBOR_STRIDE, S.ASTEROID_BASE, S.ASTEROID_STRIDE) == (24, 7, 68, 11)
    assert (S.O_PRICE, S.O_PRICE_DELTA, S.O_INVENTORY) == (244, 250, 256)
    assert S.OBS_SHIP == slice(0, 24) and S.OBS_MARKET == slice(244, 260)


def test_info_keys_and_end_reasons():
    game_md = {
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
    }
    assert set(S.INFO_KEYS) == game_md and len(S.INFO_KEYS) == len(game_md)
    assert S.END_REASONS == ("destroyed", "stranded", "cash_out", "timeout")


def test_event_types_cover_game_md():
    game_md = {
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
    }
    assert game_md <= set(S.EVENT_TYPES)
    assert set(S.EVENT_FIELDS) == set(S.EVENT_TYPES)
    assert len(set(S.EVENT_TYPES)) == len(S.EVENT_TYPES)
    for event, field in S.EVENT_ENUMS:
        assert field in dict(S.EVENT_FIELDS[event])


# docs/game.md#6-mechanics defaults, copied by hand from the document.
GAME_MD_DEFAULTS = {
    "time_max": 20000,
    "node_count_min": 10,
    "node_count_max": 32,
    "hazard_divisor": 5,
    "extra_edge_divisor": 3,
    "edge_time_min": 1,
    "edge_time_max": 8,
    "edge_fuel_min": 8,
    "edge_fuel_max": 20,
    "cluster_pirate_scale": 0.6,
    "cluster_hazard_scale": 0.15,
    "hazard_node_pirate_base": 0.3,
    "hazard_node_pirate_span": 0.5,
    "hazard_node_hazard_base": 0.5,
    "hazard_node_hazard_span": 0.5,
    "richness_risk_bonus": 1.5,
    "cluster_asteroids_min": 5,
    "cluster_asteroids_max": 16,
    "hazard_asteroids_min": 2,
    "hazard_asteroids_max": 6,
    "comp_sigma": 0.8,
    "dominant_weight": 3,
    "richness_sigma": 0.9,
    "capacity_base": 40,
    "capacity_per_richness": 60,
    "start_fuel": 800,
    "start_fuel_jitter": 200,
    "start_tool": 80,
    "start_tool_jitter": 20,
    "start_credits": 400,
    "start_credits_jitter": 200,
    "start_kits": 2,
    "start_stabilizers": 1,
    "start_decoys": 1,
    "cargo_mass_fuel": 0.5,
    "burn_fuel": 25,
    "burn_alert": 10,
    "escape_ticks": 6,
    "hold_heat": 2.5,
    "hold_alert": 3,
    "dock_alert": 20,
    "heat_dissipation": 2.5,
    "docked_heat_factor": 2,
    "alert_decay": 0.5,
    "docked_alert_decay": 5,
    "inventory_tau": 300,
    "recent_sales_tau": 14,
    "shock_tau": 50,
    "wide_weight": 0.25,
    "wide_sigma": 0.35,
    "wide_conf_gain": 0.10,
    "wide_conf_cap": 0.35,
    "wide_fuel": 4,
    "wide_alert": 4,
    "wide_misread": 0.15,
    "focused_weight": 0.55,
    "focused_sigma": 0.20,
    "focused_conf_gain": 0.30,
    "focused_conf_cap": 0.80,
    "focused_fuel": 4,
    "focused_alert": 3,
    "deep_weight": 0.90,
    "deep_sigma": 0.05,
    "deep_conf": 0.95,
    "deep_fuel": 10,
    "deep_alert": 6,
    "listen_sigma": 0.1,
    "mine_yield_0": 2.0,
    "mine_yield_1": 3.5,
    "mine_yield_2": 5.5,
    "mine_sigma_0": 0.10,
    "mine_sigma_1": 0.25,
    "mine_sigma_2": 0.45,
    "mine_heat_0": 3,
    "mine_heat_1": 6,
    "mine_heat_2": 11,
    "mine_wear_0": 0.4,
    "mine_wear_1": 0.9,
    "mine_wear_2": 2.0,
    "mine_alert_0": 0.5,
    "mine_alert_1": 1.2,
    "mine_alert_2": 2.5,
    "mine_fracture_0": 0.0,
    "mine_fracture_1": 1.0,
    "mine_fracture_2": 2.2,
    "richness_factor_cap": 4,
    "heat_safe": 70,
    "heat_yield_span": 37.5,
    "heat_yield_floor": 0.2,
    "fracture_base": -7.5,
    "fracture_hull": 5,
    "fracture_hull_jitter": 15,
    "fracture_hazard_rise": 0.1,
    "stabilize_ticks": 8,
    "refine_batch": 12,
    "refined_volume": 0.5,
    "refined_price": 1.5,
    "refine_fuel": 3,
    "refine_heat": 8,
    "refine_alert": 3,
    "cooldown_heat": 30,
    "cooldown_fuel": 3,
    "cooldown_alert": 2,
    "tool_repair": 25,
    "hull_repair": 20,
    "jettison_alert": 8,
    "p0_0": 40,
    "p0_1": 55,
    "p0_2": 80,
    "p0_3": 150,
    "p0_4": 220,
    "p0_5": 110,
    "price_min_frac": 0.3,
    "price_max_frac": 2.2,
    "period_min": 150,
    "period_max": 600,
    "amplitude_base": 0.08,
    "amplitude_span": 0.17,
    "inventory_base": 100,
    "inventory_span": 200,
    "inventory_price": 0.04,
    "recent_sales_price": 0.05,
    "shock_rate": 0.002,
    "shock_base": 0.2,
    "shock_span": 0.3,
    "slippage_coef": 0.25,
    "slippage_exp": 0.7,
    "slippage_cap": 0.6,
    "depth_base": 40,
    "depth_per_inventory": 0.1,
    "fuel_amount_0": 100,
    "fuel_amount_1": 250,
    "fuel_amount_2": 500,
    "fuel_price_0": 0.50,
    "fuel_price_1": 0.46,
    "fuel_price_2": 0.42,
    "kit_price": 120,
    "stabilizer_price": 160,
    "decoy_price": 100,
    "overhaul_base": 50,
    "overhaul_hull_rate": 4,
    "overhaul_tool_rate": 3,
    "overheat_hull": 1.25,
    "hazard_hull": 0.8,
    "hazard_heat": 0.5,
    "hazard_alert": 0.3,
    "pirate_base": -7,
    "pirate_intensity": 3,
    "pirate_alert": 2.5,
    "pirate_cargo": 0.6,
    "pirate_escape": 2.5,
    "decoy_evade": 0.7,
    "pirate_loss": 0.2,
    "pirate_loss_jitter": 0.4,
    "pirate_hull": 3,
    "pirate_hull_jitter": 10,
    "pirate_alert_rise": 10,
}


def test_config_defaults_match_game_md():
    assert set(GAME_MD_DEFAULTS) == set(S.DEFAULT_CONFIG), set(GAME_MD_DEFAULTS) ^ set(S.DEFAULT_CONFIG)
    for name, value in GAME_MD_DEFAULTS.items():
        assert S.DEFAULT_CONFIG[name] == float(value), name


def test_config_fields_are_consistent():
    names = [f.name for f in S.CONFIG_FIELDS]
    assert len(set(names)) == len(names)
    assert S.CONFIG_INDEX == {n: i for i, n in enumerate(names)}
    for f in S.CONFIG_FIELDS:
        assert isinstance(f.default, float)
        assert f.lo <= f.default <= f.hi, f.name
        if f.integer:
            assert f.default == int(f.default) and f.lo == int(f.lo), f.name
    assert S.make_config() == S.DEFAULT_CONFIG
