"""Invariants after every reset and step, on the Python reference and on the C core.

prospector/invariants.py holds the rules (the same list the C core checks in its
-DPROSPECTOR_CHECK_INVARIANTS build, tests/test_native.py).  Here both Gymnasium envs
play random, adversarial, invalid-heavy, family-spam, valid-only and bot action
sequences under the default config and the edges of the config ranges, and every
step is checked.  Edge configs are also compared bit for bit between the two
implementations, since the three fixes they found live in both.
"""

from __future__ import annotations

import numpy as np
import pytest
from harness.invariants import check_reset, check_state, check_step

from prospector import spec as S
from prospector.bots import make_bot
from prospector.envs import ProspectorEnv
from prospector.parity import compare_seed
from prospector.reference import ReferenceEnv


def _extreme(which: str) -> dict:
    values = {f.name: (f.lo if which == "lo" else f.hi) for f in S.CONFIG_FIELDS}
    for lo, hi in S._CONFIG_PAIRS:
        if values[lo] > values[hi]:
            values[lo], values[hi] = values[hi], values[lo]
    return values


HARSH = dict(
    pirate_base=50,
    pirate_loss=1,
    pirate_loss_jitter=1,
    hazard_node_hazard_base=1,
    hazard_node_hazard_span=1,
    hazard_node_pirate_base=1,
    hazard_node_pirate_span=1,
    fracture_base=50,
    mine_heat_2=100,
    slippage_cap=1,
    slippage_coef=10,
    shock_rate=1,
    shock_base=10,
    price_min_frac=0,
    mine_yield_2=100,
    richness_factor_cap=100,
    mine_sigma_2=5,
    comp_sigma=3,
    richness_sigma=3,
    dominant_weight=20,
    start_fuel=S.FUEL_MAX,
    start_fuel_jitter=S.FUEL_MAX,
    start_tool=S.TOOL_MAX,
    start_tool_jitter=S.TOOL_MAX,
    depth_base=1e-3,
    depth_per_inventory=0,
    slippage_exp=10,
)

CONFIGS = {
    "default": {},
    "time_max=1": {"time_max": 1},
    "time_max=1e6": {"time_max": 1_000_000},
    "nodes=2": {"node_count_min": 2, "node_count_max": 2},
    "nodes=32": {"node_count_min": 32, "node_count_max": 32, "extra_edge_divisor": 1, "hazard_divisor": 1},
    "all_lowest": _extreme("lo"),
    "all_highest": _extreme("hi"),
    "harsh": HARSH,
}

EXTREME_ACTIONS = (-(2**31), -(2**31) + 1, -1000, -1, 69, 70, 255, 2**31 - 1)
FAMILIES = (
    range(0, 6),
    (8, 9, 10, 11),
    range(12, 28),
    (28, 29, 30, 31),
    range(36, 42),
    range(43, 61),
    (42, 61, 62, 63, 64, 65, 66, 67),
    (6, 7, 31, 32, 33, 34, 35),
)
POLICIES = (
    "random",
    "adversarial",
    "invalid_heavy",
    "family_spam",
    "valid",
    "greedy_miner",
    "cautious_scanner",
    "market_timer",
)


class Policy:
    """Actions for one env; `env` gives the action mask for the mask-driven policies."""

    def __init__(self, name: str, seed: int, env):
        self.name, self.env = name, env
        self.rng = np.random.default_rng(seed)
        self.bot = make_bot(name, seed=seed) if name in ("greedy_miner", "cautious_scanner", "market_timer") else None
        self.new_episode()

    def new_episode(self):
        self.family = FAMILIES[int(self.rng.integers(len(FAMILIES)))]
        if self.bot is not None:
            self.bot.reset()

    def __call__(self, obs) -> int:
        rng = self.rng
        if self.bot is not None:
            return self.bot.act(obs) if rng.random() > 0.03 else int(rng.integers(S.N_ACTIONS))
        if self.name == "random":
            return int(rng.integers(S.N_ACTIONS))
        if self.name == "adversarial":
            return int(rng.choice(EXTREME_ACTIONS)) if rng.random() < 0.5 else int(rng.integers(S.N_ACTIONS))
        if self.name == "family_spam":
            return int(rng.choice(list(self.family))) if rng.random() < 0.85 else int(rng.integers(S.N_ACTIONS))
        mask = self.env.action_mask()
        mask[S.A_CASH_OUT] = False
        want = mask if self.name == "valid" or rng.random() < 0.2 else ~mask
        options = np.flatnonzero(want)
        return int(rng.choice(options)) if len(options) else S.A_HOLD


def play(env_cls, config: dict, policy_name: str, seed: int, steps: int) -> tuple[int, int]:
    """`steps` checked steps, episodes chaining on; returns (steps, finished episodes)."""
    env = env_cls(config)
    policy = Policy(policy_name, seed, env)
    obs, info = env.reset(seed=seed)
    snap = env.snapshot()
    assert check_reset(obs, info, snap) == [], (seed, 0)
    episodes = 0
    for t in range(1, steps + 1):
        action = policy(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        after = env.snapshot()
        bad = check_step(snap, obs, reward, terminated, truncated, info, after)
        assert bad == [], f"{env_cls.__name__} {policy_name} seed={seed} step={t} action={action}: {bad}"
        snap = after
        if terminated or truncated:
            episodes += 1
            obs, info = env.reset()
            snap = env.snapshot()
            assert check_reset(obs, info, snap) == [], (seed, t)
            policy.new_episode()
    return steps, episodes


@pytest.mark.parametrize("env_cls", [ReferenceEnv, ProspectorEnv], ids=["reference", "native"])
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_invariants_every_step(env_cls, config_name):
    config = CONFIGS[config_name]
    seed0 = 1000 * list(CONFIGS).index(config_name)
    for i, policy in enumerate(POLICIES):
        play(env_cls, config, policy, seed0 + i, 150)


@pytest.mark.parametrize("config_name", ["all_lowest", "all_highest", "harsh", "nodes=2", "nodes=32"])
@pytest.mark.parametrize("policy", ["random", "valid", "greedy_miner"])
def test_edge_configs_bit_exact(config_name, policy):
    """The C core and the reference agree bit for bit at the edges of the config ranges too."""
    for seed in range(3):
        mismatch = compare_seed(seed, 300, policy, CONFIGS[config_name])
        assert mismatch is None, str(mismatch)


@pytest.mark.parametrize("env_cls", [ReferenceEnv, ProspectorEnv], ids=["reference", "native"])
def test_edge_config_fixes(env_cls):
    """Start values and pirate losses stay within bounds when the config allows sums above them."""
    env = env_cls(
        dict(start_fuel=S.FUEL_MAX, start_fuel_jitter=S.FUEL_MAX, start_tool=S.TOOL_MAX, start_tool_jitter=S.TOOL_MAX)
    )
    for seed in range(20):
        env.reset(seed=seed)
        snap = env.snapshot()
        assert snap["fuel"] == S.FUEL_MAX and snap["tool"] == S.TOOL_MAX
    # Pirates that always strike and always take more than everything: cargo becomes 0, never negative.
    env = env_cls(dict(pirate_base=50, pirate_loss=1, pirate_loss_jitter=1, start_decoys=0))
    hits = 0
    for seed in range(10):
        env.reset(seed=seed)
        snap = env.snapshot()
        while snap["node"] == 0 or not snap["nodes"][snap["node"]]["asteroids"]:
            env.step(0)  # out to the first neighbour (pirates strike on arrival)
            snap = env.snapshot()
            if snap["done"]:
                break
        if snap["done"]:
            continue
        for action in (S.A_SELECT, S.A_MINE + 2):
            _, _, terminated, truncated, info = env.step(action)
            hits += sum(e["type"] == "pirate" and e["outcome"] == "hit" for e in info["events"])
            snap = env.snapshot()
            assert min(snap["raw"]) >= 0.0 and min(snap["refined"]) >= 0.0
            if terminated or truncated:
                break
    assert hits > 0


def test_checker_catches_violations():
    """The Python checker is not vacuous: broken states and lying events are reported."""
    env = ReferenceEnv()
    obs, info = env.reset(seed=3)
    snap = env.snapshot()
    assert check_reset(obs, info, snap) == []
    broken = dict(snap, fuel=-1.0, credits=float("nan"))
    bad_obs = obs.copy()
    bad_obs[5] = 1.5
    found = check_state(bad_obs, broken)
    assert "0 <= fuel <= FUEL_MAX" in found and "credits finite and >= 0" in found
    assert "obs finite and in [-1, 1]" in found
    obs, reward, terminated, truncated, info = env.step(S.A_HOLD)
    after = env.snapshot()
    assert check_step(snap, obs, reward, terminated, truncated, info, after) == []
    richer = dict(after, credits=after["credits"] + 1.0)
    assert "credits rose => a sell event" in check_step(snap, obs, reward, terminated, truncated, info, richer)
    lying = dict(
        info,
        events=info["events"] + [{"type": "sell", "commodity": "iron", "qty": 1.0, "credits": 5.0, "slippage": 0.0}],
    )
    assert "a sell event adds its credits" in check_step(snap, obs, reward, terminated, truncated, lying, after)
