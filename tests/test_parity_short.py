"""docs/game.md#7-parity-and-determinism: the C core and the Python reference are bit-exact (short runs; the long
run is `prospector parity`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.parity import POLICIES, compare_seed
from prospector.reference import ReferenceEnv
from prospector.state import truth_state

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(20)
STEPS = 300

# The scripted bots live in prospector/bots.py; they join the check wherever it exists.
BOT_POLICIES = (
    [p for p in POLICIES if p not in ("random", "valid")] if (ROOT / "prospector" / "bots.py").exists() else []
)


@pytest.mark.parametrize("policy", ["random", "valid", *BOT_POLICIES])
def test_parity_short(policy):
    seeds = SEEDS if policy in ("random", "valid") else SEEDS[:10]  # the bots are slower per step
    for seed in seeds:
        mismatch = compare_seed(seed, STEPS, policy)
        assert mismatch is None, str(mismatch)


def test_policies_listed():
    assert {"random", "valid"} <= set(POLICIES)


CONFIGS = {
    "short_episodes": {"time_max": 60},
    "dangerous": {
        "cluster_pirate_scale": 1.0,
        "cluster_hazard_scale": 1.0,
        "pirate_base": -3.0,
        "fracture_base": -2.0,
        "shock_rate": 0.2,
        "hazard_divisor": 1,
    },
    "small_worlds": {
        "node_count_min": 2,
        "node_count_max": 4,
        "cluster_asteroids_min": 16,
        "edge_time_min": 8,
        "extra_edge_divisor": 1,
        "start_credits": 5000,
    },
    "calm_rich": {
        "pirate_base": -50.0,
        "mine_yield_2": 60.0,
        "richness_risk_bonus": 10.0,
        "slippage_coef": 3.0,
        "refine_batch": 100.0,
        "start_kits": 12,
    },
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("policy", ["random", "valid"])
def test_parity_non_default_config(name, policy):
    """Every config value must reach both implementations in the same slot."""
    for seed in range(4):
        mismatch = compare_seed(100 + seed, 250, policy, config=CONFIGS[name])
        assert mismatch is None, f"{name}: {mismatch}"


def test_action_mask_and_state_parity():
    """compare_seed checks the whole state only at episode ends: here the masks and the
    full snapshots are compared after every step, along valid-action play."""
    rng = np.random.default_rng(17)
    for seed in range(3):
        ref, nat = ReferenceEnv(time_max=400), ProspectorEnv(time_max=400)
        ref.reset(seed=seed)
        nat.reset(seed=seed)
        for t in range(400):
            mask_r, mask_n = ref.action_mask(), nat.action_mask()
            assert mask_r.tolist() == mask_n.tolist(), (
                f"seed {seed} step {t}: masks differ at {[S.ACTION_NAMES[a] for a in np.flatnonzero(mask_r != mask_n)]}"
            )
            if t % 10 == 0:
                assert ref.snapshot() == nat.snapshot(), f"seed {seed} step {t}: state differs"
            mask_r[S.A_CASH_OUT] = False
            action = int(rng.choice(np.flatnonzero(mask_r)))
            _, r1, te1, tr1, i1 = ref.step(action)
            _, r2, te2, tr2, i2 = nat.step(action)
            assert (r1, te1, tr1) == (r2, te2, tr2)
            assert i1 == i2
            if te1 or tr1:
                ref.reset()
                nat.reset()


def test_render_state_parity():
    ref, nat = ReferenceEnv(), ProspectorEnv()
    ref.reset(seed=5)
    nat.reset(seed=5)
    for a in (S.A_LISTEN, 0, 12, 8, 30, 32, S.A_HOLD):
        ref.step(a)
        nat.step(a)
        assert ref.render_state() == nat.render_state()


def test_render_and_truth_state_parity_across_nodes_and_episodes():
    """The C env's lean snapshot (current node only) and per-episode mini-map cache give
    what the reference's whole snapshot gives, across travel and chained episodes."""
    ref, nat = ReferenceEnv(time_max=300), ProspectorEnv(time_max=300)
    ref.reset(seed=21)
    nat.reset(seed=21)
    rng = np.random.default_rng(21)
    nodes, episodes = set(), 0
    for _ in range(700):
        mask = ref.action_mask()
        mask[S.A_CASH_OUT] = False
        a = int(rng.choice(np.flatnonzero(mask)))
        *_, te, tr, _ = ref.step(a)
        nat.step(a)
        view = nat.render_state()
        assert view == ref.render_state()
        assert nat.truth_state() == truth_state(ref.snapshot())
        nodes.add(view["node"]["index"])
        if te or tr:
            episodes += 1
            ref.reset()
            nat.reset()
    assert len(nodes) >= 3 and episodes >= 1


def test_mid_episode_reset_parity():
    """reset() without a seed in the middle of an episode continues the chain the same way."""
    ref, nat = ReferenceEnv(), ProspectorEnv()
    ref.reset(seed=9)
    nat.reset(seed=9)
    rng = np.random.default_rng(9)
    for round_ in range(5):
        for _ in range(int(rng.integers(1, 30))):
            mask = ref.action_mask()
            mask[S.A_CASH_OUT] = False
            a = int(rng.choice(np.flatnonzero(mask)))
            r1, r2 = ref.step(a), nat.step(a)
            assert r1[0].tobytes() == r2[0].tobytes() and r1[1] == r2[1]
            if r1[2] or r1[3]:
                break
        o1, _ = ref.reset()
        o2, _ = nat.reset()
        assert o1.tobytes() == o2.tobytes(), f"round {round_}"
        assert ref.snapshot() == nat.snapshot()
