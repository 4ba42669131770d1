"""One focused test per action family against HAND-COMPUTED expectations from
docs/game.md#3-actions/4/6 and reference.py; every test runs on both implementations.

Situations are set up by playing actions (the C state cannot be poked), mostly in the
CALM world of conftest.py: no hazards, no pirates, no fractures, no price shocks away
from the station, so every number below follows from the rules alone.  The step order
(docs/game.md#5-step-order) is: action effects, then passive dynamics over dt (heat -2.5/tick, alert
-0.5/tick, docked: heat -5/tick and alert -5/tick), exposure, market.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from prospector import spec as S

SEED = 3  # station -- node 1 is a 2-tick, 32-fuel edge; node 1 holds 10 asteroids


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def passive(value: float, rate: float, dt: int) -> float:
    return max(0.0, value - rate * dt)


def heat_reward(heat: float) -> float:
    h = max(0.0, heat - 70.0) / 100.0
    return -0.2 * h * h


def go_mine(make_game, mode=2, times=3, asteroid=0, seed=SEED, **config):
    g = make_game(seed=seed, **config)
    g.go_to_cluster()
    g.step(12 + asteroid)
    for _ in range(times):
        g.step(28 + mode)
    return g


# ---------------------------------------------------------------- travel
def test_travel(make_game):
    g = make_game(seed=SEED)
    s0 = g.snap()
    st = s0["nodes"][0]
    k = 0
    dest, base, ticks = st["neighbors"][k], st["edge_fuel"][k], st["edge_time"][k]
    info = g.step(k)
    s1 = g.snap()
    assert info["dt"] == ticks
    assert s1["node"] == dest and s1["selected"] == -1
    assert s1["fuel"] == approx(s0["fuel"] - base * (1 + 0.5 * 0 / 200))
    assert s1["stats"]["fuel_used"] == approx(base)
    assert s1["time_remaining"] == s0["time_remaining"] - ticks
    assert g.events("travel") == [{"type": "travel", "from": 0, "to": dest, "fuel": base, "ticks": ticks}]
    assert g.reward == approx(-0.10 * base / 100 - 0.001 * ticks)
    assert g.obs[S.O_NODE_INDEX] == np.float32(dest / 31)
    assert g.obs[20] == 1.0  # node type: cluster
    assert s1["nodes"][dest]["generated"] and len(s1["nodes"][dest]["asteroids"]) >= 5


def test_travel_fuel_grows_with_cargo_mass(make_game):
    g = go_mine(make_game, mode=2, times=4)
    s0 = g.snap()
    here = s0["nodes"][s0["node"]]
    k = here["neighbors"].index(0)
    volume = sum(s0["raw"]) + 0.5 * sum(s0["refined"])
    assert volume > 10
    expected = here["edge_fuel"][k] * (1 + 0.5 * volume / 200)
    # the observation shows the same cost (normalised by 400) before we go
    assert g.obs[24 + 7 * k + 5] == np.float32(min(1.0, expected / 400))
    assert g.obs[24 + 7 * k + 4] == np.float32(here["edge_time"][k] / 8)
    g.step(k)
    s1 = g.snap()
    assert s1["fuel"] == approx(s0["fuel"] - expected)
    assert g.events("travel")[0]["fuel"] == approx(expected)
    assert s1["node"] == 0 and s1["selected"] == -1


def test_travel_undocks(make_game):
    g = make_game(seed=SEED)
    g.step(S.A_DOCK)
    assert g.snap()["docked"]
    g.step(0)
    assert not g.snap()["docked"]
    assert [e["type"] for e in g.events()][:2] == ["undock", "travel"]
    assert g.obs[S.O_DOCKED] == 0.0


def test_travel_can_strand(make_game):
    g = make_game(seed=SEED, start_fuel=1, start_fuel_jitter=0)
    ticks = g.here()["edge_time"][0]
    g.step(0)
    s = g.snap()
    assert s["fuel"] == 0.0 and s["stats"]["fuel_used"] == 1.0
    assert g.terminated and not g.truncated
    assert g.info["end_reason"] == "stranded" and g.info["survival"] == 0.0
    assert g.reward == approx(-0.10 * 1 / 100 - 0.001 * ticks - 50)
    assert g.events()[-1] == {"type": "end", "reason": "stranded"}


# ---------------------------------------------------------------- hold
def test_hold_heat_and_alert(make_game):
    g = go_mine(make_game, mode=2, times=3)
    s0 = g.snap()
    assert s0["heat"] == approx(3 * (11 - 2.5))  # 3 aggressive mining ticks
    assert s0["alert"] > 3
    info = g.step(S.A_HOLD)
    s1 = g.snap()
    assert info["dt"] == 1
    assert s1["heat"] == approx(passive(s0["heat"] - 2.5, 2.5, 1))
    assert s1["heat"] == approx(s0["heat"] - 5.0)
    assert s1["alert"] == approx(passive(s0["alert"] - 3.0, 0.5, 1))
    assert s1["fuel"] == s0["fuel"] and s1["raw"] == s0["raw"]
    assert s1["time_remaining"] == s0["time_remaining"] - 1
    assert g.events() == [{"type": "hold"}]
    assert g.reward == approx(-0.001)


def test_hold_floors_at_zero(make_game):
    g = go_mine(make_game, mode=0, times=1)  # heat 3 - 2.5 = 0.5, alert 0.5 - 0.5 = 0
    assert g.snap()["heat"] == approx(0.5)
    g.step(S.A_HOLD)
    assert g.snap()["heat"] == 0.0 and g.snap()["alert"] == 0.0


def test_heat_penalty_in_reward(make_game):
    g = go_mine(make_game, mode=2, times=9)  # 9 * 8.5 = 76.5 > 70
    s0 = g.snap()
    assert s0["heat"] == approx(76.5)
    g.step(S.A_HOLD)
    heat = g.snap()["heat"]
    assert heat == approx(71.5)
    assert g.reward == approx(-0.001 + heat_reward(heat))
    assert g.snap()["stats"]["overheat_ticks"] == s0["stats"]["overheat_ticks"] + 1


# ---------------------------------------------------------------- emergency burn
def test_emergency_burn(make_game):
    g = make_game(seed=SEED)
    g.step(S.A_DOCK)
    s0 = g.snap()
    info = g.step(S.A_BURN)
    s1 = g.snap()
    assert info["dt"] == 1
    assert s1["fuel"] == approx(s0["fuel"] - 25)
    assert s1["stats"]["fuel_used"] == approx(25)
    assert s1["alert"] == approx(0 + 10 - 0.5)  # undocked again: normal decay
    assert s1["escape_ticks"] == 6 - 1
    assert not s1["docked"]
    assert {"type": "burn", "fuel": 25.0} in g.events() and {"type": "undock"} in g.events()
    assert g.reward == approx(-0.10 * 25 / 100 - 0.001)
    g.step(S.A_HOLD)
    assert g.snap()["escape_ticks"] == 4


def test_emergency_burn_with_little_fuel(make_game):
    g = make_game(seed=SEED, start_fuel=10, start_fuel_jitter=0)
    g.step(S.A_BURN)
    s = g.snap()
    assert s["fuel"] == 0.0 and s["stats"]["fuel_used"] == 10.0
    assert g.events("burn")[0]["fuel"] == 10.0
    assert not g.terminated, "no fuel at the station node is not stranded"
    assert not g.mask()[S.A_BURN]


# ---------------------------------------------------------------- scans
def test_wide_scan(make_game):
    g = make_game(seed=SEED)
    assert not g.mask()[S.A_WIDE_SCAN], "the station has no asteroids"
    g.go_to_cluster()
    s0 = g.snap()
    n = len(s0["nodes"][1]["asteroids"])
    confs = []
    for rep in range(4):
        before = g.snap()
        info = g.step(S.A_WIDE_SCAN)
        s1 = g.snap()
        assert info["dt"] == 3
        assert s1["fuel"] == approx(before["fuel"] - 4)
        assert s1["alert"] == approx(passive(before["alert"] + 4, 0.5, 3))
        assert s1["stats"]["scan_count"] == rep + 1 == info["scan_count"]
        assert g.events("scan") == [{"type": "scan", "mode": "wide", "asteroid": -1, "fuel": 4.0}]
        assert g.reward == approx(-0.10 * 4 / 100 - 0.001 * 3 - 0.005)
        rocks = s1["nodes"][1]["asteroids"]
        assert len(rocks) == n
        confs.append(rocks[0]["scan_conf"])
        for a, rock in enumerate(rocks):
            assert rock["scan_conf"] == confs[-1]
            assert math.fsum(rock["comp_est"]) == pytest.approx(1.0, abs=1e-12)
            assert min(rock["comp_est"]) >= 0.0 and 0.0 <= rock["stability_est"] <= 1.0
            assert g.obs[68 + 11 * a + 9] == np.float32(rock["scan_conf"])
    assert confs == [approx(0.2), approx(0.3), approx(0.35), approx(0.35)]


def test_wide_scan_never_lowers_confidence(make_game):
    g = make_game(seed=SEED)
    g.go_to_cluster()
    g.step(12)
    g.step(S.A_DEEP_SCAN)
    g.step(S.A_WIDE_SCAN)
    rocks = g.here()["asteroids"]
    assert rocks[0]["scan_conf"] == approx(0.95)
    assert rocks[1]["scan_conf"] == approx(0.2)


def test_focused_scan(make_game):
    g = make_game(seed=SEED)
    g.go_to_cluster()
    assert not g.mask()[S.A_FOCUSED_SCAN], "nothing selected yet"
    g.step(12 + 2)
    confs = []
    for _ in range(3):
        before = g.snap()
        info = g.step(S.A_FOCUSED_SCAN)
        s1 = g.snap()
        assert info["dt"] == 2
        assert s1["fuel"] == approx(before["fuel"] - 4)
        assert s1["alert"] == approx(passive(before["alert"] + 3, 0.5, 2))
        assert g.events("scan") == [{"type": "scan", "mode": "focused", "asteroid": 2, "fuel": 4.0}]
        assert g.reward == approx(-0.10 * 4 / 100 - 0.001 * 2 - 0.005)
        rocks = s1["nodes"][1]["asteroids"]
        confs.append(rocks[2]["scan_conf"])
        assert math.fsum(rocks[2]["comp_est"]) == pytest.approx(1.0, abs=1e-12)
        for a, rock in enumerate(rocks):  # only the selected asteroid is scanned
            if a != 2:
                assert rock["scan_conf"] == 0.1 and rock["stability_est"] == 0.5
                assert rock["comp_est"] == [1.0 / 6] * 6
    assert confs == [approx(0.4), approx(0.7), approx(0.8)]


def test_deep_scan(make_game):
    g = make_game(seed=SEED)
    g.go_to_cluster()
    g.step(12 + 1)
    before = g.snap()
    info = g.step(S.A_DEEP_SCAN)
    s1 = g.snap()
    assert info["dt"] == 5
    assert s1["fuel"] == approx(before["fuel"] - 10)
    assert s1["alert"] == approx(passive(before["alert"] + 6, 0.5, 5))
    assert g.events("scan") == [{"type": "scan", "mode": "deep", "asteroid": 1, "fuel": 10.0}]
    assert g.reward == approx(-0.10 * 10 / 100 - 0.001 * 5 - 0.005)
    rock = s1["nodes"][1]["asteroids"][1]
    assert rock["scan_conf"] == approx(0.95)
    # w = 0.9 and sigma = 0.05 * noise: the estimate lands near the truth
    err = sum(abs(e - c) for e, c in zip(rock["comp_est"], rock["comp"]))
    err_uniform = sum(abs(1 / 6 - c) for c in rock["comp"])
    assert err < 0.3 and err < err_uniform
    assert abs(rock["stability_est"] - rock["stability"]) < 0.25
    assert g.obs[68 + 11 * 1 + 9] == np.float32(0.95)


# ---------------------------------------------------------------- listen
def test_threat_listen_exact(make_game):
    g = make_game(seed=SEED, calm=False, listen_sigma=0.0)
    s0 = g.snap()
    here = s0["nodes"][0]
    info = g.step(S.A_LISTEN)
    s1 = g.snap()
    assert info["dt"] == 2
    assert g.events("listen") == [{"type": "listen", "neighbors": len(here["neighbors"])}]
    assert g.reward == approx(-0.002)
    for k, j in enumerate(here["neighbors"]):
        node = s1["nodes"][j]
        truth = (node["pirate"] + node["hazard"]) / 2
        assert node["threat_est"] == approx(min(1.0, max(0.0, truth)))
        assert g.obs[24 + 7 * k + 6] == np.float32(node["threat_est"])
    for j, node in enumerate(s1["nodes"]):
        if j not in here["neighbors"]:
            assert node["threat_est"] == 0.5


def test_threat_listen_noisy(make_game):
    g = make_game(seed=5, calm=False)  # the station has 6 neighbours here
    here = g.here()
    g.step(S.A_LISTEN)
    s1 = g.snap()
    for j in here["neighbors"]:
        node = s1["nodes"][j]
        truth = (node["pirate"] + node["hazard"]) / 2
        assert 0.0 <= node["threat_est"] <= 1.0
        assert abs(node["threat_est"] - truth) < 0.6  # 0.1 * n(), |n| < 6
    assert any(s1["nodes"][j]["threat_est"] != 0.5 for j in here["neighbors"])
    g.step(S.A_DOCK)
    assert not g.mask()[S.A_LISTEN], "THREAT_LISTEN is not valid while docked"


# ---------------------------------------------------------------- select
def test_select(make_game):
    g = make_game(seed=SEED)
    assert not g.mask()[12], "no asteroid at the station"
    g.go_to_cluster()
    n = len(g.here()["asteroids"])
    assert n < 16
    a = n - 1
    info = g.step(12 + a)
    s = g.snap()
    assert info["dt"] == 1 and s["selected"] == a
    assert g.events() == [{"type": "select", "asteroid": a}]
    assert g.reward == approx(-0.001)
    selected = g.obs[68 + 10 : 244 : 11]
    assert selected[a] == 1.0 and selected.sum() == 1.0
    assert g.obs[S.O_MINING] == 1.0
    assert not g.mask()[12 + n] and g.mask()[12]


# ---------------------------------------------------------------- mining
def deterministic_units(mode, rock, tool, heat, free):
    yields = (2.0, 3.5, 5.5)
    heat_eff = 1.0 if heat <= 70 else max(0.2, 1 - (heat - 70) / 37.5)
    units = yields[mode] * min(rock["richness"], 4.0) * (1 - rock["depletion"]) * (0.4 + 0.6 * tool / 100) * heat_eff
    return min(units, free)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_mine_exact(make_game, mode):
    """mine_sigma = 0 removes the yield noise: every number is determined."""
    g = make_game(seed=SEED, **{f"mine_sigma_{mode}": 0.0})
    g.go_to_cluster()
    g.step(12)
    heat_per, wear_per, alert_per = (3, 6, 11)[mode], (0.4, 0.9, 2.0)[mode], (0.5, 1.2, 2.5)[mode]
    for rep in range(2):
        s0 = g.snap()
        rock0 = s0["nodes"][1]["asteroids"][0]
        free = 200 - (sum(s0["raw"]) + 0.5 * sum(s0["refined"]))
        units = deterministic_units(mode, rock0, s0["tool"], s0["heat"], free)
        info = g.step(28 + mode)
        s1 = g.snap()
        rock1 = s1["nodes"][1]["asteroids"][0]
        assert info["dt"] == 1
        gained = [r1 - r0 for r0, r1 in zip(s0["raw"], s1["raw"])]
        assert math.fsum(gained) == approx(units)
        for k in range(6):
            assert gained[k] == approx(units * rock0["comp"][k])
        assert rock1["depletion"] == approx(rock0["depletion"] + units / rock0["capacity"])
        assert s1["heat"] == approx(passive(s0["heat"] + heat_per, 2.5, 1))
        assert s1["tool"] == approx(s0["tool"] - wear_per)
        assert s1["stats"]["tool_wear"] == approx(s0["stats"]["tool_wear"] + wear_per)
        assert s1["alert"] == approx(passive(s0["alert"] + alert_per, 0.5, 1))
        assert s1["stats"]["mining_ticks"] == rep + 1 == info["mining_ticks"]
        ev = g.events("mine")
        assert len(ev) == 1 and ev[0]["mode"] == S.MINE_MODES[mode] and ev[0]["asteroid"] == 0
        assert ev[0]["units"] == approx(units)
        price = s1["market"]["price"]
        value_gain = sum(gained[k] * price[k] for k in range(6))
        assert g.reward == approx(0.02 * value_gain / 1000 - 0.05 * wear_per / 10 - 0.001 + heat_reward(s1["heat"]))
        assert g.obs[68 + 8] == np.float32(rock1["depletion"])


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_mine_noise_is_lognormal(make_game, mode):
    """With the default noise, units / deterministic part = exp(sigma * n()) for a sane n()."""
    g = make_game(seed=SEED)
    g.go_to_cluster()
    g.step(12 + 1)
    for _ in range(3):
        s0 = g.snap()
        rock0 = s0["nodes"][1]["asteroids"][1]
        base = deterministic_units(mode, rock0, s0["tool"], s0["heat"], 1e9)
        g.step(28 + mode)
        units = math.fsum(g.snap()["raw"]) - math.fsum(s0["raw"])
        n = math.log(units / base) / (0.10, 0.25, 0.45)[mode]
        assert abs(n) < 6


def test_mine_hot_yields_less_and_overheats(make_game):
    g = make_game(seed=SEED, mine_sigma_2=0.0)
    g.go_to_cluster()
    g.step(12 + 1)
    saw_hot_yield = saw_overheat = False
    for _ in range(14):
        s0 = g.snap()
        rock0 = s0["nodes"][1]["asteroids"][1]
        if rock0["depletion"] >= 1 or not g.mask()[30]:
            break
        free = 200 - sum(s0["raw"])
        units = deterministic_units(2, rock0, s0["tool"], s0["heat"], free)
        g.step(30)
        s1 = g.snap()
        assert math.fsum(s1["raw"]) - math.fsum(s0["raw"]) == approx(units)
        if s0["heat"] > 70:
            saw_hot_yield = True
            assert units < deterministic_units(2, rock0, s0["tool"], 0.0, free)
        heat = s0["heat"] + 11 - 2.5
        if heat > 100:  # docs/game.md#68-exposure-pirates-heat-damage: hull -1.25 per unit above 100, heat = 100
            saw_overheat = True
            assert s1["heat"] == 100.0
            assert s1["hull"] == approx(s0["hull"] - 1.25 * (heat - 100))
            assert g.events("overheat") == [{"type": "overheat", "hull": approx(1.25 * (heat - 100))}]
            expected = (
                0.02 * max(0.0, sum((s1["raw"][k] - s0["raw"][k]) * s1["market"]["price"][k] for k in range(6))) / 1000
                - 0.05 * 2.0 / 10
                - 1.0 * (1.25 * (heat - 100)) / 10
                - 0.001
                + heat_reward(100.0)
            )
            assert g.reward == approx(expected)
        else:
            assert s1["heat"] == approx(heat)
        if s1["heat"] > 70:
            assert s1["stats"]["overheat_ticks"] == s0["stats"]["overheat_ticks"] + 1
    assert saw_hot_yield and saw_overheat


def test_mine_fills_cargo_exactly(make_game):
    g = make_game(seed=SEED, mine_yield_2=100.0, mine_sigma_2=0.0)
    g.go_to_cluster()
    g.step(12 + 1)  # richness 2.7: 100 * 2.7 * ... units, more than fits
    g.step(30)
    s = g.snap()
    assert s["cargo_volume"] == approx(200.0)
    assert g.obs[S.O_CARGO] == np.float32(1.0)
    assert g.events("mine")[0]["units"] == approx(200.0)
    if s["cargo_volume"] >= 200.0:
        assert not g.mask()[28] and not g.mask()[29] and not g.mask()[30]


def test_mine_fracture(make_game):
    g = make_game(seed=SEED, fracture_base=50.0)
    g.go_to_cluster()
    g.step(12)
    s0 = g.snap()
    g.step(29)
    s1 = g.snap()
    rock = s1["nodes"][1]["asteroids"][0]
    frac = g.events("fracture")
    assert len(frac) == 1 and frac[0]["asteroid"] == 0
    assert 5.0 <= frac[0]["hull"] <= 20.0
    assert rock["depletion"] == 1.0
    assert s1["nodes"][1]["hazard"] == approx(0.1)
    # the new hazard already applies in this step's exposure phase (docs/game.md#5-step-order: after the action)
    hz = g.events("hazard_damage")
    assert len(hz) == 1 and 0.8 * 0.1 * 0.5 <= hz[0]["hull"] <= 0.8 * 0.1 * 1.5
    assert hz[0]["heat"] == approx(0.5 * 0.1)
    assert s1["hull"] == approx(100 - frac[0]["hull"] - hz[0]["hull"])
    assert s1["stats"]["hull_damage"] == approx(frac[0]["hull"] + hz[0]["hull"])
    assert s1["heat"] == approx(passive(s0["heat"] + 6, 2.5, 1) + 0.05)
    assert g.obs[S.O_MINING] == 0.0
    assert not g.mask()[28], "a depleted asteroid cannot be mined"


def test_destroyed(make_game):
    g = make_game(seed=SEED, fracture_base=50.0, fracture_hull=100.0, fracture_hull_jitter=0.0)
    g.go_to_cluster()
    g.step(12)
    s0 = g.snap()
    g.step(28)
    s1 = g.snap()
    assert s1["hull"] == 0.0 and g.terminated and not g.truncated
    assert g.info["end_reason"] == "destroyed" and g.info["survival"] == 0.0
    gain = sum((s1["raw"][k] - s0["raw"][k]) * s1["market"]["price"][k] for k in range(6))
    assert g.reward == approx(0.02 * gain / 1000 - 0.05 * 0.4 / 10 - 1.0 * 100 / 10 - 0.001 - 100)


# ---------------------------------------------------------------- stabilize
def test_stabilize(make_game):
    g = make_game(seed=SEED)
    g.go_to_cluster()
    assert not g.mask()[S.A_STABILIZE], "nothing selected"
    g.step(12 + 3)
    info = g.step(S.A_STABILIZE)
    s = g.snap()
    assert info["dt"] == 2
    assert s["stabilizers"] == 0
    assert (s["stab_node"], s["stab_asteroid"], s["stab_ticks"]) == (1, 3, 8 - 2)
    assert g.events() == [{"type": "stabilize", "asteroid": 3}]
    assert g.obs[S.O_STABILIZERS] == 0.0
    assert not g.mask()[S.A_STABILIZE], "no stabilizer left"
    g.step(S.A_HOLD)
    assert g.snap()["stab_ticks"] == 5


# ---------------------------------------------------------------- refine
def test_refine(make_game):
    g = make_game(seed=SEED)
    assert not g.mask()[S.A_REFINE], "no raw cargo"
    g = go_mine(make_game, mode=2, times=5)
    g.return_to_station()
    for _ in range(3):
        s0 = g.snap()
        price0 = s0["market"]["price"]
        candidates = [k for k in range(6) if s0["raw"][k] > 0]
        best = max(candidates, key=lambda k: (s0["raw"][k] * price0[k], -k))
        qty = min(12.0, s0["raw"][best])
        info = g.step(S.A_REFINE)
        s1 = g.snap()
        assert info["dt"] == 3
        assert s1["raw"][best] == approx(s0["raw"][best] - qty)
        assert s1["refined"][best] == approx(s0["refined"][best] + qty)
        assert s1["cargo_volume"] == approx(s0["cargo_volume"] - 0.5 * qty)
        assert s1["fuel"] == approx(s0["fuel"] - 3)
        assert s1["heat"] == approx(passive(s0["heat"] + 8, 2.5, 3))
        assert s1["alert"] == approx(passive(s0["alert"] + 3, 0.5, 3))
        assert g.events() == [{"type": "refine", "commodity": S.COMMODITIES[best], "qty": approx(qty)}]
        price1 = s1["market"]["price"]
        assert g.reward == approx(0.02 * (0.5 * qty * price1[best]) / 1000 - 0.10 * 3 / 100 - 0.003)


# ---------------------------------------------------------------- cooldown
def test_cooldown(make_game):
    g = make_game(seed=SEED)
    s0 = g.snap()
    info = g.step(S.A_COOLDOWN)
    s1 = g.snap()
    assert info["dt"] == 2
    assert s1["heat"] == 0.0 and s1["fuel"] == approx(s0["fuel"] - 3)
    assert s1["alert"] == approx(2 - 0.5 * 2)
    assert g.events() == [{"type": "cooldown", "heat": 0.0}]
    assert g.reward == approx(-0.10 * 3 / 100 - 0.002)

    g = go_mine(make_game, mode=2, times=5)  # heat 42.5
    s0 = g.snap()
    assert s0["heat"] == approx(42.5)
    g.step(S.A_COOLDOWN)
    s1 = g.snap()
    assert s1["heat"] == approx(passive(42.5 - 30, 2.5, 2))
    assert s1["alert"] == approx(passive(s0["alert"] + 2, 0.5, 2))
    assert g.events("cooldown") == [{"type": "cooldown", "heat": 30.0}]


# ---------------------------------------------------------------- repairs
def test_tool_maintenance(make_game):
    g = make_game(seed=SEED, start_tool=50, start_tool_jitter=0)
    info = g.step(S.A_TOOL_MAINT)
    s = g.snap()
    assert info["dt"] == 2 and s["tool"] == 75.0 and s["kits"] == 1
    assert g.events() == [{"type": "repair", "kind": "tool", "amount": 25.0, "credits": 0.0}]
    assert g.reward == approx(-0.002)
    g.step(S.A_TOOL_MAINT)
    s = g.snap()
    assert s["tool"] == 100.0 and s["kits"] == 0  # capped: +25 only up to 100
    assert g.events("repair")[0]["amount"] == 25.0
    assert not g.mask()[S.A_TOOL_MAINT] and not g.mask()[S.A_HULL_PATCH]


def test_tool_maintenance_caps(make_game):
    g = make_game(seed=SEED, start_tool=90, start_tool_jitter=0)
    g.step(S.A_TOOL_MAINT)
    assert g.snap()["tool"] == 100.0
    assert g.events("repair")[0]["amount"] == 10.0


def test_hull_patch(make_game):
    g = make_game(seed=SEED, fracture_base=50.0, fracture_hull=30.0, fracture_hull_jitter=0.0)
    g.go_to_cluster()
    g.step(12)
    g.step(28)  # fracture: hull -30 (plus a little hazard damage)
    g.return_to_station()
    s0 = g.snap()
    assert s0["hull"] < 71
    info = g.step(S.A_HULL_PATCH)
    s1 = g.snap()
    assert info["dt"] == 2
    assert s1["hull"] == approx(s0["hull"] + 20) and s1["kits"] == s0["kits"] - 1
    assert g.events() == [{"type": "repair", "kind": "hull", "amount": approx(20.0), "credits": 0.0}]
    g.step(S.A_HULL_PATCH)
    assert g.snap()["hull"] == 100.0  # capped
    assert g.events("repair")[0]["amount"] == approx(100 - s1["hull"])
    assert not g.mask()[S.A_HULL_PATCH]


# ---------------------------------------------------------------- jettison
def test_jettison(make_game):
    g = make_game(seed=SEED)
    assert not any(g.mask()[36:42])
    g = go_mine(make_game, mode=2, times=5)
    g.step(S.A_REFINE)
    s0 = g.snap()
    c = max(range(6), key=lambda k: s0["refined"][k])
    assert s0["refined"][c] > 0
    info = g.step(36 + c)
    s1 = g.snap()
    assert info["dt"] == 1
    assert s1["raw"][c] == 0.0 and s1["refined"][c] == 0.0
    for k in range(6):
        if k != c:
            assert s1["raw"][k] == s0["raw"][k] and s1["refined"][k] == s0["refined"][k]
    assert s1["alert"] == approx(passive(max(0.0, s0["alert"] - 8), 0.5, 1))
    assert g.events() == [
        {"type": "jettison", "commodity": S.COMMODITIES[c], "qty": approx(s0["raw"][c] + s0["refined"][c])}
    ]
    assert g.reward == approx(-0.001)
    assert g.obs[8 + c] == 0.0
    assert not g.mask()[36 + c]


# ---------------------------------------------------------------- dock
def test_dock(make_game):
    g = make_game(seed=SEED)
    for _ in range(3):
        g.step(S.A_BURN)
    s0 = g.snap()
    assert s0["alert"] == approx(28.5)
    info = g.step(S.A_DOCK)
    s1 = g.snap()
    assert info["dt"] == 1 and s1["docked"]
    assert s1["alert"] == approx(28.5 - 20 - 5)
    assert g.events() == [{"type": "dock"}]
    assert g.reward == approx(-0.001)
    assert g.obs[S.O_DOCKED] == 1.0
    assert not g.mask()[S.A_DOCK], "already docked"
    g.step(S.A_HOLD)
    assert g.snap()["alert"] == 0.0  # max(0, 3.5 - 3) - 5 -> 0


def test_docked_heat_dissipation_doubles(make_game):
    g = go_mine(make_game, mode=2, times=5)
    assert not g.mask()[S.A_DOCK], "DOCK is valid only at the station"
    g.return_to_station()
    s0 = g.snap()
    assert s0["heat"] > 10
    g.step(S.A_DOCK)
    s1 = g.snap()
    assert s1["heat"] == approx(s0["heat"] - 5.0)
    g.step(S.A_HOLD)
    assert g.snap()["heat"] == approx(passive(s1["heat"] - 2.5, 5.0, 1))


# ---------------------------------------------------------------- sell
def expected_sale(s0, c, fraction, coef=0.25):
    q_raw, q_ref = fraction * s0["raw"][c], fraction * s0["refined"][c]
    qty = q_raw + q_ref
    inv, recent = s0["market"]["inventory"][c], s0["market"]["recent_sales"][c]
    slip = min(0.6, coef * ((qty + recent) / (40 + 0.1 * inv)) ** 0.7)
    credits = (q_raw + 1.5 * q_ref) * s0["market"]["price"][c] * (1 - slip)
    return q_raw, q_ref, qty, slip, credits


def loaded_and_docked(make_game, refine=False, **config):
    g = go_mine(make_game, mode=2, times=6, **config)
    if refine:
        g.step(S.A_REFINE)
    g.return_to_station()
    g.step(S.A_DOCK)
    return g


def test_sell_fractions_and_slippage(make_game):
    g = loaded_and_docked(make_game)
    s = g.snap()
    c = max(range(6), key=lambda k: s["raw"][k])
    for i, fraction in enumerate((0.25, 0.5, 1.0)):
        s0 = g.snap()
        q_raw, q_ref, qty, slip, credits = expected_sale(s0, c, fraction)
        assert slip > 0
        info = g.step(43 + 3 * c + i)
        s1 = g.snap()
        assert info["dt"] == 1
        assert s1["credits"] == approx(s0["credits"] + credits)
        assert s1["raw"][c] == approx(s0["raw"][c] - q_raw)
        m0, m1 = s0["market"], s1["market"]
        assert m1["recent_sales"][c] == approx((m0["recent_sales"][c] + qty) * math.exp(-1 / 14))
        start = m0["inventory_start"][c]
        assert m1["inventory"][c] == approx(start + (m0["inventory"][c] + qty - start) * math.exp(-1 / 300))
        ev = g.events("sell")
        assert ev == [
            {
                "type": "sell",
                "commodity": S.COMMODITIES[c],
                "qty": approx(qty),
                "credits": approx(credits),
                "slippage": approx(slip),
            }
        ]
        assert g.reward == approx(credits / 1000 - 0.001)
        assert info["net_profit"] == approx(s1["credits"] - s1["start_credits"])
    assert g.snap()["raw"][c] == 0.0
    assert not g.mask()[43 + 3 * c]


def test_sell_refined_pays_one_and_a_half(make_game):
    g = loaded_and_docked(make_game, refine=True)
    s0 = g.snap()
    c = max(range(6), key=lambda k: s0["refined"][k])
    assert s0["refined"][c] > 0
    q_raw, q_ref, qty, slip, credits = expected_sale(s0, c, 1.0)
    g.step(43 + 3 * c + 2)
    s1 = g.snap()
    assert s1["credits"] == approx(s0["credits"] + (q_raw + 1.5 * q_ref) * s0["market"]["price"][c] * (1 - slip))
    assert s1["raw"][c] == 0.0 and s1["refined"][c] == 0.0


def test_sell_slippage_cap(make_game):
    g = loaded_and_docked(make_game, slippage_coef=5.0)
    s0 = g.snap()
    c = max(range(6), key=lambda k: s0["raw"][k])
    g.step(43 + 3 * c + 2)
    ev = g.events("sell")[0]
    assert ev["slippage"] == 0.6
    assert g.snap()["credits"] == approx(s0["credits"] + s0["raw"][c] * s0["market"]["price"][c] * 0.4)


def test_sell_needs_dock_and_cargo(make_game):
    g = go_mine(make_game, mode=2, times=2)
    g.return_to_station()
    s = g.snap()
    held = [k for k in range(6) if s["raw"][k] > 0]
    assert held
    assert not any(g.mask()[43:61]), "SELL needs the ship docked"
    g.step(S.A_DOCK)
    for k in range(6):
        for i in range(3):
            assert g.mask()[43 + 3 * k + i] == (k in held)


# ---------------------------------------------------------------- buy fuel
def test_buy_fuel_sizes(make_game):
    g = make_game(seed=SEED, start_fuel=400, start_fuel_jitter=0, start_credits=1000, start_credits_jitter=0)
    assert not any(g.mask()[61:64]), "buying needs the ship docked"
    g.step(S.A_DOCK)
    plan = [(61, 100, 0.50), (62, 250, 0.46), (63, 250, 0.42)]  # the large one fills the tank: 250 fit
    for action, qty, price in plan:
        s0 = g.snap()
        info = g.step(action)
        s1 = g.snap()
        assert info["dt"] == 1
        assert s1["fuel"] == approx(s0["fuel"] + qty)
        assert s1["credits"] == approx(s0["credits"] - qty * price)
        assert g.events() == [{"type": "buy", "item": "fuel", "qty": approx(qty), "credits": approx(qty * price)}]
        assert g.reward == approx(-qty * price / 1000 - 0.001)
    assert g.snap()["fuel"] == 1000.0
    assert not any(g.mask()[61:64]), "the tank is full"


def test_buy_fuel_credit_check_uses_what_fits(make_game):
    g = make_game(seed=SEED, start_fuel=400, start_fuel_jitter=0, start_credits=40, start_credits_jitter=0)
    g.step(S.A_DOCK)
    assert not any(g.mask()[61:64])  # 50, 115 and 210 credits: too much
    g = make_game(seed=SEED, start_fuel=950, start_fuel_jitter=0, start_credits=40, start_credits_jitter=0)
    g.step(S.A_DOCK)
    assert all(g.mask()[61:64])  # only 50 units fit: 25, 23, 21 credits
    g.step(61)
    assert g.snap()["fuel"] == 1000.0 and g.snap()["credits"] == approx(40 - 25)


# ---------------------------------------------------------------- buy items
def test_buy_items(make_game):
    g = make_game(seed=SEED, start_credits=1000, start_credits_jitter=0)
    g.step(S.A_DOCK)
    for action, key, item, price in (
        (64, "kits", "repair_kit", 120),
        (65, "stabilizers", "stabilizer", 160),
        (66, "decoys", "decoy", 100),
    ):
        s0 = g.snap()
        info = g.step(action)
        s1 = g.snap()
        assert info["dt"] == 1
        assert s1[key] == s0[key] + 1
        assert s1["credits"] == approx(s0["credits"] - price)
        assert g.events() == [{"type": "buy", "item": item, "qty": 1.0, "credits": float(price)}]
        assert g.reward == approx(-price / 1000 - 0.001)
    assert g.obs[S.O_KITS] == np.float32(3 / 12)


def test_buy_items_cap(make_game):
    g = make_game(
        seed=SEED, start_kits=11, start_stabilizers=12, start_decoys=0, start_credits=10_000, start_credits_jitter=0
    )
    g.step(S.A_DOCK)
    assert not g.mask()[65], "stabilizers at the cap"
    g.step(64)
    assert g.snap()["kits"] == 12 and g.obs[S.O_KITS] == 1.0
    assert not g.mask()[64], "kits at the cap"
    assert g.mask()[66]


def test_buy_items_credits(make_game):
    g = make_game(seed=SEED, start_credits=119, start_credits_jitter=0)
    g.step(S.A_DOCK)
    mask = g.mask()
    assert not mask[64] and not mask[65] and mask[66]  # 120, 160: too dear; 100 fits
    g.step(66)
    assert g.snap()["credits"] == approx(19)
    assert not g.mask()[66]


# ---------------------------------------------------------------- overhaul
def test_full_overhaul(make_game):
    g = make_game(
        seed=SEED, fracture_base=50.0, start_tool=70, start_tool_jitter=0, start_credits=1000, start_credits_jitter=0
    )
    g.go_to_cluster()
    g.step(12)
    g.step(29)  # fracture: hull damage; tool -0.9
    g.return_to_station()
    g.step(S.A_DOCK)
    s0 = g.snap()
    assert s0["hull"] < 95 and s0["tool"] == approx(69.1)
    cost = 50 + 4 * (100 - s0["hull"]) + 3 * (100 - s0["tool"])
    info = g.step(S.A_OVERHAUL)
    s1 = g.snap()
    assert info["dt"] == 4
    assert s1["hull"] == 100.0 and s1["tool"] == 100.0
    assert s1["credits"] == approx(s0["credits"] - cost)
    assert g.events() == [
        {
            "type": "repair",
            "kind": "overhaul",
            "amount": approx((100 - s0["hull"]) + (100 - s0["tool"])),
            "credits": approx(cost),
        }
    ]
    assert g.reward == approx(-cost / 1000 - 0.004)
    assert not g.mask()[S.A_OVERHAUL], "nothing left to repair"


def test_full_overhaul_credit_check(make_game):
    # hull 100, tool 70: cost 50 + 3 * 30 = 140
    g = make_game(seed=SEED, start_tool=70, start_tool_jitter=0, start_credits=139, start_credits_jitter=0)
    g.step(S.A_DOCK)
    assert not g.mask()[S.A_OVERHAUL]
    g = make_game(seed=SEED, start_tool=70, start_tool_jitter=0, start_credits=140, start_credits_jitter=0)
    g.step(S.A_DOCK)
    assert g.mask()[S.A_OVERHAUL]
    g.step(S.A_OVERHAUL)
    assert g.snap()["credits"] == 0.0 and g.snap()["tool"] == 100.0
    g = make_game(seed=SEED, start_tool=100, start_tool_jitter=0)
    g.step(S.A_DOCK)
    assert not g.mask()[S.A_OVERHAUL], "hull and tool already at max"


# ---------------------------------------------------------------- cash out / timeout
def test_cash_out(make_game):
    g = make_game(seed=SEED)
    g.step(S.A_BURN)
    s0 = g.snap()
    obs0 = g.obs.copy()
    info = g.step(S.A_CASH_OUT)
    s1 = g.snap()
    assert info["dt"] == 0 and g.terminated and not g.truncated
    assert info["end_reason"] == "cash_out" and info["survival"] == 1.0
    assert s1["time_remaining"] == s0["time_remaining"]
    assert s1["market"] == s0["market"], "no time passes: the market does not move"
    assert g.reward == approx(0.002 * s0["credits"] / 1000)
    assert g.events() == [{"type": "end", "reason": "cash_out"}]
    assert g.obs.tobytes() == obs0.tobytes()
    with pytest.raises(RuntimeError, match="reset"):
        g.env.step(S.A_HOLD)


def test_timeout(make_game):
    g = make_game(seed=SEED, time_max=5)
    for t in range(4):
        g.step(S.A_HOLD)
        assert not g.terminated and not g.truncated
        assert g.obs[S.O_TIME] == np.float32((5 - t - 1) / 5)
    credits = g.snap()["credits"]
    info = g.step(S.A_HOLD)
    assert g.truncated and not g.terminated
    assert info["end_reason"] == "timeout" and info["time_remaining"] == 0
    assert g.reward == approx(-0.001 + 0.002 * credits / 1000)


def test_timeout_mid_travel(make_game):
    g = make_game(seed=SEED, time_max=1)
    g.step(0)  # a 2-tick edge with 1 tick left: time_remaining floors at 0
    assert g.truncated and g.info["time_remaining"] == 0 and g.info["end_reason"] == "timeout"


# ---------------------------------------------------------------- dt per action
DT_TABLE = {6: 1, 7: 1, 8: 3, 9: 2, 10: 5, 11: 2, 31: 2, 32: 3, 33: 2, 34: 2, 35: 2, 42: 1, 67: 4, 68: 0}
DT_TABLE.update({a: 1 for a in [*range(12, 31), *range(36, 42), *range(43, 67)]})


def test_dt_of_every_valid_action(impl, make_env):
    """docs/game.md#3-actions dt column, over a long valid-action walk (TRAVEL: the edge's time)."""
    env = make_env(time_max=2000)
    rng = np.random.default_rng(4)
    env.reset(seed=21)
    seen = set()
    for _ in range(3000):
        mask = env.action_mask()
        if rng.random() < 0.002:
            mask[:] = False  # now and then: cash out
        mask[S.A_CASH_OUT] = not mask.any()
        action = int(rng.choice(np.flatnonzero(mask)))
        snap = env.snapshot()
        obs, reward, term, trunc, info = env.step(action)
        assert info["invalid"] is False
        if action < 6:
            expected = snap["nodes"][snap["node"]]["edge_time"][action]
        else:
            expected = DT_TABLE[action]
        if not (trunc and action < 6):
            assert info["dt"] == expected, S.ACTION_NAMES[action]
        seen.add(action)
        if term or trunc:
            env.reset()
    families = {S.decode_action(a)[0] for a in seen}
    assert {"travel", "hold", "select", "mine", "dock", "sell", "cash_out"} <= families, families


def test_action_mask_agrees_with_step():
    """For sampled states, action_mask()[a] is False exactly when step(a) reports invalid
    (reference env, probed on deep copies; the C mask is compared with it in test_parity_short)."""
    import copy

    from prospector.reference import ReferenceEnv

    ref = ReferenceEnv(time_max=1000)
    ref.reset(seed=8)
    rng = np.random.default_rng(8)
    checked = 0
    for t in range(400):
        mask = ref.action_mask()
        if t % 40 == 0:
            for a in range(S.N_ACTIONS):
                probe = copy.deepcopy(ref)
                *_, info = probe.step(a)
                assert info["invalid"] == (not mask[a]), (t, S.ACTION_NAMES[a])
                checked += 1
        mask[S.A_CASH_OUT] = False
        _, _, term, trunc, _ = ref.step(int(rng.choice(np.flatnonzero(mask))))
        if term or trunc:
            ref.reset()
    assert checked == 10 * S.N_ACTIONS


# ---------------------------------------------------------------- market (docs/game.md#67-station-and-market)
def expected_prices(s: dict) -> list[float]:
    m = s["market"]
    t = s["time_max"] - s["time_remaining"]
    out = []
    for k in range(6):
        p = (
            m["p0"][k]
            + m["amplitude"][k] * math.sin(2 * math.pi * (t + m["phase"][k]) / m["period"][k])
            - 0.04 * (m["inventory"][k] - m["inventory_start"][k])
            - 0.05 * m["recent_sales"][k]
            + m["shock"][k]
        )
        out.append(min(m["price_max"][k], max(m["price_min"][k], p)))
    return out


def test_market_regime_at_reset(make_game):
    g = make_game(seed=SEED, calm=False)
    m = g.snap()["market"]
    p0 = [40, 55, 80, 150, 220, 110]
    assert m["p0"] == p0
    for k in range(6):
        assert m["price_min"][k] == approx(0.3 * p0[k]) and m["price_max"][k] == approx(2.2 * p0[k])
        assert 150 <= m["period"][k] <= 600 and m["period"][k] == int(m["period"][k])
        assert 0 <= m["phase"][k] < m["period"][k]
        assert 0.08 * p0[k] <= m["amplitude"][k] <= 0.25 * p0[k]
        assert 100 <= m["inventory_start"][k] <= 300 and m["inventory"][k] == m["inventory_start"][k]
        assert m["recent_sales"][k] == 0 and m["shock"][k] == 0
        assert m["prev_price"][k] == m["price"][k]
    assert m["price"] == [approx(p) for p in expected_prices(g.snap())]


def test_market_update_after_a_sale(make_game):
    """price = clamp(p0 + amp sin(2 pi (t + phase) / period) - 0.04 (inv - start)
    - 0.05 recent + shock); inventory relaxes (tau 300), recent sales decay (tau 14)."""
    g = loaded_and_docked(make_game)
    s = g.snap()
    c = max(range(6), key=lambda k: s["raw"][k])
    g.step(43 + 3 * c + 2)
    for _ in range(6):
        s0 = g.snap()
        g.step(S.A_HOLD)
        s1 = g.snap()
        m0, m1 = s0["market"], s1["market"]
        assert m1["prev_price"] == m0["price"]
        for k in range(6):
            start = m0["inventory_start"][k]
            assert m1["inventory"][k] == approx(start + (m0["inventory"][k] - start) * math.exp(-1 / 300))
            assert m1["recent_sales"][k] == approx(m0["recent_sales"][k] * math.exp(-1 / 14))
            assert m1["shock"][k] == 0.0
        assert m1["price"] == [pytest.approx(p, abs=1e-9) for p in expected_prices(s1)]
        assert m1["inventory"][c] > m1["inventory_start"][c] and m1["recent_sales"][c] > 0
        for k in range(6):
            assert g.obs[244 + k] == np.float32(min(1.0, m1["price"][k] / m1["price_max"][k]))
            delta = (m1["price"][k] - m1["prev_price"][k]) / (0.1 * m1["p0"][k])
            assert g.obs[250 + k] == np.float32(min(1.0, max(-1.0, delta)))
        for i, k in enumerate((0, 2, 3, 4)):
            assert g.obs[256 + i] == np.float32(min(1.0, m1["inventory"][k] / 500))


def test_market_prices_follow_the_cycle_over_a_long_run(make_game):
    g = make_game(seed=SEED, time_max=5000)
    for _ in range(300):
        g.step(S.A_HOLD)
    s = g.snap()
    assert s["time_max"] - s["time_remaining"] == 300
    assert s["market"]["price"] == [pytest.approx(p, abs=1e-8) for p in expected_prices(s)]


# ---------------------------------------- exposure (docs/game.md#68-exposure-pirates-heat-damage)
def test_hazard_exposure(make_game):
    g = make_game(seed=SEED, calm=False, pirate_base=-50.0, cluster_hazard_scale=1.0)
    g.step(S.A_HOLD)
    assert g.events("hazard_damage") == [], "no exposure at the station"
    g.go_to_cluster()
    hz = g.here()["hazard"]
    assert 0 < hz <= 1
    for action in (S.A_HOLD, S.A_COOLDOWN, S.A_LISTEN, S.A_HOLD):
        s0 = g.snap()
        info = g.step(action)
        s1 = g.snap()
        dt = info["dt"]
        ev = g.events("hazard_damage")
        assert len(ev) == 1
        assert 0.8 * hz * dt * 0.5 <= ev[0]["hull"] < 0.8 * hz * dt * 1.5
        assert ev[0]["heat"] == approx(0.5 * hz * dt)
        assert s1["hull"] == approx(s0["hull"] - ev[0]["hull"])
        heat_before_exposure = {
            S.A_HOLD: passive(s0["heat"] - 2.5, 2.5, dt),
            S.A_COOLDOWN: passive(max(0.0, s0["heat"] - 30), 2.5, dt),
            S.A_LISTEN: passive(s0["heat"], 2.5, dt),
        }[action]
        assert s1["heat"] == approx(min(100.0, heat_before_exposure + 0.5 * hz * dt))
        alert_after_action = {
            S.A_HOLD: max(0.0, s0["alert"] - 3),
            S.A_COOLDOWN: min(100.0, s0["alert"] + 2),
            S.A_LISTEN: s0["alert"],
        }[action]
        assert s1["alert"] == approx(min(100.0, passive(alert_after_action, 0.5, dt) + 0.3 * hz * dt))
        assert g.reward == approx(
            -0.001 * dt
            - ev[0]["hull"] / 10
            + heat_reward(s1["heat"])
            - (0.10 * 3 / 100 if action == S.A_COOLDOWN else 0.0)
        )


def test_pirate_hit_without_decoy(make_game):
    g = make_game(seed=SEED, pirate_base=50.0, start_decoys=0)  # an encounter every step away from home
    g.go_to_cluster()
    assert g.events("pirate")[0]["outcome"] == "hit"
    g.step(12)
    g.step(30)
    for _ in range(3):
        s0 = g.snap()
        g.step(S.A_HOLD)
        s1 = g.snap()
        ev = g.events("pirate")
        assert len(ev) == 1 and ev[0]["outcome"] == "hit"
        assert 3 <= ev[0]["damage"] < 13
        assert s1["hull"] == approx(s0["hull"] - ev[0]["damage"])
        fracs = {round(1 - r1 / r0, 9) for r0, r1 in zip(s0["raw"], s1["raw"]) if r0 > 0}
        assert len(fracs) == 1, "every cargo stack loses the same share"
        frac = fracs.pop()
        assert 0.2 <= frac < 0.6
        loss = sum((s0["raw"][k] - s1["raw"][k]) * s0["market"]["price"][k] for k in range(6))
        assert ev[0]["loss"] == approx(loss)
        assert s1["stats"]["value_lost"] == approx(s0["stats"]["value_lost"] + loss)
        assert s1["stats"]["pirate_encounters"] == s0["stats"]["pirate_encounters"] + 1
        assert s1["alert"] == approx(min(100.0, passive(max(0.0, s0["alert"] - 3), 0.5, 1) + 10))
        assert g.reward == approx(-0.001 - ev[0]["damage"] / 10 - loss / 1000 + heat_reward(s1["heat"]))
    g.return_to_station()
    s0 = g.snap()
    g.step(S.A_HOLD)
    assert g.events("pirate") == [], "no pirates at the station"
    assert g.snap()["stats"]["pirate_encounters"] == s0["stats"]["pirate_encounters"]


def test_pirate_decoys(make_game):
    g = make_game(seed=SEED, pirate_base=50.0, start_decoys=12)
    g.go_to_cluster()
    g.step(12)
    g.step(30)
    outcomes = set()
    assert g.snap()["decoys"] == 12 - 3  # travel, select and mine steps met pirates too
    for _ in range(9):
        s0 = g.snap()
        g.step(S.A_HOLD)
        s1 = g.snap()
        ev = g.events("pirate")[0]
        assert s1["decoys"] == s0["decoys"] - 1
        outcomes.add(ev["outcome"])
        if ev["outcome"] == "evaded":
            assert ev["loss"] == 0.0 and ev["damage"] == 0.0
            assert s1["raw"] == s0["raw"] and s1["hull"] == s0["hull"]
        else:
            assert ev["outcome"] == "partial"
            assert 1.5 <= ev["damage"] < 6.5
            share = [1 - r1 / r0 for r0, r1 in zip(s0["raw"], s1["raw"]) if r0 > 0]
            assert all(0.1 <= x < 0.3 for x in share)
    assert outcomes == {"evaded", "partial"}
    s0 = g.snap()
    g.step(S.A_HOLD)  # no decoy left: a full hit
    assert g.events("pirate")[0]["outcome"] == "hit" and g.snap()["decoys"] == 0


def test_market_shocks(make_game):
    """shock_rate 1: every commodity gets a shock every step, +-(0.2 + 0.3 u) p0,
    on top of the old shock decayed with tau 50."""
    g = make_game(seed=SEED, shock_rate=1.0)
    signs = set()
    for action in (S.A_HOLD, S.A_COOLDOWN, S.A_HOLD, S.A_LISTEN):
        s0 = g.snap()
        info = g.step(action)
        m0, m1 = s0["market"], g.snap()["market"]
        for k in range(6):
            kick = m1["shock"][k] - m0["shock"][k] * math.exp(-info["dt"] / 50)
            assert 0.2 * m0["p0"][k] - 1e-9 <= abs(kick) <= 0.5 * m0["p0"][k] + 1e-9
            signs.add(kick > 0)
        assert m1["price"] == [pytest.approx(p, abs=1e-9) for p in expected_prices(g.snap())]
    assert signs == {True, False}
