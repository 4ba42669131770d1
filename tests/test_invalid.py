"""Invalid actions (docs/game.md#3-actions): executed as HOLD, flagged, penalised, nothing else
changes; misuse of the API raises clear errors; bad configs are refused by name."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.reference import ReferenceEnv

IMPLS = {"reference": ReferenceEnv, "native": ProspectorEnv}
SEED = 3
# A prefix that leaves the ship hot and alert at a cluster (HOLD's effects show).
PREFIX = (0, 12, 30, 30, 30)


def twins(cls, prefix=PREFIX, seed=SEED, **config):
    """Two games in the same state: one takes the invalid action, the other HOLD."""
    games = []
    for _ in range(2):
        env = cls(**config)
        env.reset(seed=seed)
        for a in prefix:
            *_, info = env.step(a)
            assert not info["invalid"]
        games.append(env)
    return games


def assert_executed_as_hold(cls, bad_action, expected_event_action, prefix=PREFIX, **config):
    env, twin = twins(cls, prefix, **config)
    assert env.snapshot() == twin.snapshot()
    obs, reward, term, trunc, info = env.step(bad_action)
    obs_h, reward_h, term_h, trunc_h, info_h = twin.step(S.A_HOLD)
    assert info["invalid"] is True and info_h["invalid"] is False
    assert info["dt"] == 1
    assert reward == pytest.approx(reward_h - 0.01, abs=1e-12), "reward = HOLD's reward + the -0.01 penalty"
    assert obs.tobytes() == obs_h.tobytes(), "observation differs from HOLD's"
    assert (term, trunc) == (term_h, trunc_h)
    assert env.snapshot() == twin.snapshot(), "state differs from HOLD's"
    assert info["events"][0] == {"type": "invalid", "action": expected_event_action}
    assert info["events"][1:] == info_h["events"]
    assert {"type": "hold"} in info["events"]
    for key in S.INFO_KEYS:
        if key != "invalid":
            assert info[key] == info_h[key], key
    return env


# ------------------------------------------------------------ not an action at all
BAD_VALUES = [
    (-1, -1),
    (69, 69),
    (70, 70),
    (-70, -70),
    (10**12, -1),
    (-(10**12), -1),
    (2**31, -1),
    (2**31 - 1, 2**31 - 1),
    (-(2**31), -(2**31)),
    (6.0, -1),
    (0.5, -1),
    (float("nan"), -1),
    (float("inf"), -1),
    (True, -1),
    (False, -1),
    (None, -1),
    ("6", -1),
    ("HOLD", -1),
    (b"\x06", -1),
    (np.int64(69), 69),
    (np.int32(-5), -5),
    (np.uint64(2**63), -1),
    (np.int64(10**12), -1),
    (np.float32(6), -1),
    (np.float64(3), -1),
    (np.bool_(True), -1),
    (np.array(6.0), -1),
    (np.array(70), 70),
    (np.array(True), -1),
    (np.array(10**12), -1),
    (np.array([6]), -1),
    ([6], -1),
    ((6,), -1),
    ({"a": 6}, -1),
    (object(), -1),
    (1 + 0j, -1),
]


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("bad,event_action", BAD_VALUES, ids=lambda v: repr(v)[:30])
def test_non_action_values_are_invalid_holds(impl, bad, event_action):
    assert_executed_as_hold(IMPLS[impl], bad, event_action)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_integer_like_values_are_actions(impl):
    """numpy integers and 0-d integer arrays are ordinary actions (not invalid)."""
    for value in (np.int64(6), np.int8(6), np.uint16(6), np.array(6), np.array(6, dtype=np.uint8)):
        env = IMPLS[impl]()
        env.reset(seed=1)
        *_, info = env.step(value)
        assert info["invalid"] is False and info["events"] == [{"type": "hold"}]


# ------------------------------------------------------------ invalid in this state
def invalid_here(cls, prefix, action, **config):
    env, _ = twins(cls, prefix, **config)
    assert not env.action_mask()[action], f"{S.ACTION_NAMES[action]} should be masked"
    assert_executed_as_hold(cls, action, action, prefix, **config)


AT_STATION = [9, 10, 8, 12, 28, 29, 30, 31, 32, 36, 41, 43, 45, 60, 61, 63, 64, 65, 66, 67]


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("action", AT_STATION, ids=lambda a: S.ACTION_NAMES[a])
def test_invalid_at_station_undocked(impl, action):
    """No selection, no asteroids, no cargo, not docked: all of these are invalid."""
    invalid_here(IMPLS[impl], (S.A_BURN,), action)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_invalid_by_state_elsewhere(impl):
    cls = IMPLS[impl]
    env = cls()
    env.reset(seed=SEED)
    degree = len(env.snapshot()["nodes"][0]["neighbors"])
    assert degree < 6
    invalid_here(cls, (), degree)  # TRAVEL to an empty neighbour slot
    invalid_here(cls, (0,), S.A_DOCK)  # DOCK away from the station
    invalid_here(cls, (0, 12, 28), S.A_SELL + 2)  # SELL away from the station
    invalid_here(cls, (S.A_DOCK,), S.A_DOCK)  # DOCK while docked
    invalid_here(cls, (S.A_DOCK,), S.A_LISTEN)  # LISTEN while docked
    invalid_here(cls, (0,), 12 + 15)  # SELECT an empty asteroid slot (10 asteroids here)
    invalid_here(cls, (S.A_DOCK,), S.A_TOOL_MAINT, start_kits=0)
    invalid_here(cls, (S.A_DOCK,), S.A_HULL_PATCH, start_kits=0)
    invalid_here(cls, (S.A_DOCK,), S.A_BUY_FUEL, start_fuel=1000, start_fuel_jitter=0)
    invalid_here(cls, (S.A_DOCK,), S.A_BUY_KIT, start_credits=100, start_credits_jitter=0)
    invalid_here(cls, (S.A_BURN,), S.A_BURN, start_fuel=25, start_fuel_jitter=0)  # fuel 0
    invalid_here(cls, (0, 12), S.A_STABILIZE, start_stabilizers=0)


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_invalid_actions_count_nothing_but_the_step(impl):
    """A long run of invalid actions: only time passes (and HOLD cools/calms)."""
    env = IMPLS[impl]()
    env.reset(seed=4)
    s0 = env.snapshot()
    for bad in [-1, 69, S.A_SELL, S.A_DOCK + 1000, S.A_FOCUSED_SCAN] * 10:
        *_, info = env.step(bad)
        assert info["invalid"] is True
    s1 = env.snapshot()
    assert s1["time_remaining"] == s0["time_remaining"] - 50
    for key in (
        "fuel",
        "hull",
        "tool",
        "credits",
        "kits",
        "stabilizers",
        "decoys",
        "raw",
        "refined",
        "node",
        "selected",
        "docked",
    ):
        assert s1[key] == s0[key], key
    assert s1["stats"]["fuel_used"] == 0.0 and s1["stats"]["scan_count"] == 0


# ------------------------------------------------------------ stepping a finished game
@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("ending", ["cash_out", "timeout", "stranded"])
def test_step_after_the_end_raises(impl, ending):
    config = {"timeout": {"time_max": 2}, "stranded": {"start_fuel": 1, "start_fuel_jitter": 0}}.get(ending, {})
    env = IMPLS[impl](**config)
    env.reset(seed=SEED)
    action = {"cash_out": S.A_CASH_OUT, "timeout": S.A_HOLD, "stranded": 0}[ending]
    done = False
    for _ in range(5):
        _, _, term, trunc, info = env.step(action)
        if term or trunc:
            done = True
            break
    assert done and info["end_reason"] == ending
    for _ in range(2):  # and it keeps raising
        with pytest.raises(RuntimeError, match=re.compile(r"reset\(\)")):
            env.step(S.A_HOLD)
    env.reset()
    *_, info = env.step(S.A_HOLD)
    assert info["invalid"] is False


def test_step_before_reset_raises():
    for cls in (ProspectorEnv, ReferenceEnv):
        with pytest.raises(RuntimeError, match="reset"):
            cls().step(S.A_HOLD)


# ------------------------------------------------------------ vector env action checks
@pytest.fixture(scope="module")
def vec_cls():
    from prospector import VecProspector

    return VecProspector


@pytest.mark.parametrize(
    "actions,error",
    [
        (np.zeros(8, np.float32), TypeError),
        (np.zeros(8, np.float64), TypeError),
        (np.zeros(8, bool), TypeError),
        (np.array(["6"] * 8), TypeError),
        ([6] * 8, TypeError),
        (None, TypeError),
        (np.zeros(7, np.int32), ValueError),
        (np.zeros(9, np.int64), ValueError),
        (np.zeros((8, 2), np.int32), ValueError),
        (np.zeros((2, 2, 2), np.int32), ValueError),
        (np.zeros((), np.int32), ValueError),
    ],
    ids=lambda v: (
        v.__name__ if isinstance(v, type) else f"{getattr(v, 'dtype', type(v).__name__)}{getattr(v, 'shape', '')}"
    ),
)
def test_vector_step_rejects_bad_action_arrays(vec_cls, actions, error):
    vec = vec_cls(8, seed=1)
    vec.reset()
    before = vec.observations.copy()
    with pytest.raises(error):
        vec.step(actions)
    assert vec.observations.tobytes() == before.tobytes(), "a refused step must not step"
    vec.close()


def test_vector_out_of_range_actions_are_invalid_holds(vec_cls):
    n = 8
    bad = np.array([-1, 69, 10**12, -(10**12), 2**40, 70, -7, 1000], np.int64)
    a, b = vec_cls(n, seed=5), vec_cls(n, seed=5)
    a.reset()
    b.reset()
    for _ in range(3):
        a.step(bad)
        b.step(np.full(n, S.A_HOLD, np.int32))
        assert a.observations.tobytes() == b.observations.tobytes()
        assert np.allclose(a.rewards, b.rewards - np.float32(0.01), atol=1e-6)
        assert not a.terminals.any() and not a.truncations.any()
    a.close()
    b.close()


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64])
def test_vector_accepts_every_integer_dtype(vec_cls, dtype):
    n = 4
    info = np.iinfo(dtype)
    actions = np.array([S.A_HOLD, S.A_BURN, min(info.max, 100), info.max], dtype)
    a, b = vec_cls(n, seed=9), vec_cls(n, seed=9)
    a.reset()
    b.reset()
    a.step(actions)
    b.step(np.array([S.A_HOLD, S.A_BURN, S.A_HOLD, S.A_HOLD], np.int32))
    assert a.observations.tobytes() == b.observations.tobytes()
    assert a.rewards[:2].tobytes() == b.rewards[:2].tobytes()
    assert np.allclose(a.rewards[2:], b.rewards[2:] - np.float32(0.01), atol=1e-6)


# ------------------------------------------------------------ bad configs
BAD_CONFIGS = [
    ({"time_max": 0}, "time_max"),
    ({"time_max": 1.5}, "time_max"),
    ({"time_max": 10**7}, "time_max"),
    ({"no_such_field": 1}, "no_such_field"),
    ({"burn_fuel": "25"}, "burn_fuel"),
    ({"burn_fuel": None}, "burn_fuel"),
    ({"burn_fuel": True}, "burn_fuel"),
    ({"burn_fuel": [25]}, "burn_fuel"),
    ({"burn_fuel": float("nan")}, "burn_fuel"),
    ({"burn_fuel": float("inf")}, "burn_fuel"),
    ({"burn_fuel": -1}, "burn_fuel"),
    ({"slippage_cap": 1.5}, "slippage_cap"),
    ({"p0_3": 0}, "p0_3"),
    ({"node_count_max": 33}, "node_count_max"),
    ({"node_count_min": 20, "node_count_max": 15}, "node_count_min"),
    ({"period_min": 700}, "period_min"),
    ({"edge_time_min": 5, "edge_time_max": 4}, "edge_time_min"),
    ({"hazard_asteroids_min": 7}, "hazard_asteroids_min"),
]


def makers():
    from prospector import VecProspector

    return {
        "ProspectorEnv": lambda cfg: ProspectorEnv(**cfg),
        "ProspectorEnv(config=)": lambda cfg: ProspectorEnv(config=cfg),
        "ReferenceEnv": lambda cfg: ReferenceEnv(**cfg),
        "VecProspector": lambda cfg: VecProspector(4, **cfg),
        "VecProspector(config=)": lambda cfg: VecProspector(4, seed=0, config=cfg),
    }


@pytest.mark.parametrize("config,field", BAD_CONFIGS, ids=[f"{c}" for c, _ in BAD_CONFIGS])
def test_bad_config_is_refused_by_name(config, field):
    for make in makers().values():
        with pytest.raises(ValueError, match=re.escape(repr(field))):
            make(config)


def test_good_configs_are_accepted():
    for make in makers().values():
        make({"time_max": np.int64(50), "burn_fuel": np.float32(12.5), "node_count_min": 32})
        make({"node_count_min": 12, "node_count_max": 12, "pirate_base": -50})
    env = ProspectorEnv(time_max=np.int64(50))
    env.reset(seed=0)
    assert env.snapshot()["time_max"] == 50
    assert math.isclose(ProspectorEnv(burn_fuel=np.float32(12.5)).config["burn_fuel"], 12.5)


def test_vector_num_envs_checked(vec_cls):
    for bad in (0, -3, 2.0, True, "4", None):
        with pytest.raises(ValueError, match="num_envs"):
            vec_cls(bad)
