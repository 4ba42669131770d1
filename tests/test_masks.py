"""Action masks: the env's exact mask (single and vector envs) and the numpy
observation mask of prospector.masks, which the trainer's torch policy must equal."""

from __future__ import annotations

import numpy as np
import pytest

from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.gym_vector import ProspectorVectorEnv
from prospector.masks import obs_action_mask


def random_observations(n: int, seed: int = 0) -> np.ndarray:
    """Observations with flags and levels on both sides of the rule's thresholds."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, (n, S.OBS_DIM)).astype(np.float32)
    levels = np.array([-1.0, 0.0, 0.3, 0.5, 0.6, 1.0], np.float32)
    obs[:, rng.random(S.OBS_DIM) < 0.5] = rng.choice(levels, (n, 1))
    flip = rng.random((n, S.OBS_DIM)) < 0.4
    obs[flip] = rng.choice(levels, flip.sum())
    return obs


def near_credit_thresholds(obs: np.ndarray, env_config=None, seed: int = 0) -> np.ndarray:
    """``obs`` with the credits of half the rows on, or a float32 step either side of, the
    purchases' credits thresholds, and those of the prices themselves."""
    from prospector.masks import PURCHASE_PRICE_FIELDS, purchase_credit_thresholds

    config = S.make_config(env_config or {})
    prices = np.array([config[name] for name in PURCHASE_PRICE_FIELDS])
    at_price = (np.log1p(prices) / np.log1p(S.CREDITS_CAP)).astype(np.float32)
    edges = np.concatenate([np.float32(purchase_credit_thresholds(env_config)), at_price])
    near = np.concatenate([edges, np.nextafter(edges, np.float32(-1)), np.nextafter(edges, np.float32(2))])
    rng = np.random.default_rng(seed)
    rows = rng.random(len(obs)) < 0.5
    obs = obs.copy()
    obs[rows, S.O_CREDITS] = rng.choice(near, rows.sum())
    return obs


def played_observations(steps: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Observations and the env's exact masks along random valid play."""
    rng = np.random.default_rng(seed)
    env = ProspectorEnv()
    obs, _ = env.reset(seed=seed)
    seen, exact = [], []
    for _ in range(steps):
        valid = env.action_masks()
        seen.append(obs)
        exact.append(valid)
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(valid))))
        if terminated or truncated:
            obs, _ = env.reset()
    return np.array(seen), np.array(exact)


def test_obs_mask_allows_every_valid_action_but_cash_out():
    observations, exact = played_observations(2000)
    allowed = obs_action_mask(observations)
    assert allowed.shape == (len(observations), S.N_ACTIONS) and allowed.dtype == np.bool_
    assert not allowed[:, S.A_CASH_OUT].any()
    exact[:, S.A_CASH_OUT] = False
    assert not (exact & ~allowed).any()
    assert (allowed & ~exact).any()  # a superset: fuel and overhaul costs, raw/refined cargo are not observed
    assert obs_action_mask(observations, allow_cash_out=True)[:, S.A_CASH_OUT].all()


def test_obs_mask_of_one_observation_and_bad_shapes():
    obs = random_observations(5)
    assert (obs_action_mask(obs[2]) == obs_action_mask(obs)[2]).all()
    with pytest.raises(ValueError, match=r"shape \(260,\) or \(N, 260\)"):
        obs_action_mask(np.zeros((3, 259), np.float32))


def test_trainer_policy_mask_equals_the_numpy_rule():
    """pipeline/policy.py's torch mask is the same rule as prospector.masks (one definition)."""
    import torch
    from prospector.pipeline.policy import obs_action_mask as torch_mask

    for observations in (near_credit_thresholds(random_observations(4000)), played_observations(1500)[0]):
        want = obs_action_mask(observations)
        got = torch_mask(torch.as_tensor(observations)).numpy()
        assert (got == want).all(), np.argwhere(got != want)[:5]
    prices = {"kit_price": 7.5, "stabilizer_price": 1e6, "decoy_price": 0}  # another env config's prices
    observations = near_credit_thresholds(random_observations(3000, seed=2), prices)
    want = obs_action_mask(observations, env_config=prices)
    assert (torch_mask(torch.as_tensor(observations), prices).numpy() == want).all()
    assert (want != obs_action_mask(observations)).any()  # the prices matter


def test_single_env_action_masks_is_the_exact_rule():
    env = ProspectorEnv()
    env.reset(seed=1)
    mask = env.action_masks()
    assert mask.shape == (S.N_ACTIONS,) and mask.dtype == np.bool_
    assert (env.action_mask() == mask).all()  # the older name stays
    assert mask[S.A_HOLD] and mask[S.A_CASH_OUT] and not mask[S.A_MINE]
    env.close()
    with pytest.raises(RuntimeError, match=r"action_masks\(\) called after close\(\)"):
        env.action_masks()
    with pytest.raises(RuntimeError, match=r"step\(\) called after close\(\)"):
        env.step(S.A_HOLD)
    with pytest.raises(RuntimeError, match=r"reset\(\) called after close\(\)"):
        env.reset(seed=1)


def test_vector_env_action_masks_equal_the_single_games():
    n, seeds = 5, [4, 8, 15, 16, 23]
    envs = ProspectorVectorEnv(n)
    with pytest.raises(RuntimeError, match="before reset"):
        envs.action_masks()
    envs.reset(seed=seeds)
    singles = [ProspectorEnv() for _ in range(n)]
    for env, seed in zip(singles, seeds):
        env.reset(seed=seed)
    rng = np.random.default_rng(1)
    for _ in range(200):
        masks = envs.action_masks()
        assert masks.shape == (n, S.N_ACTIONS) and masks.dtype == np.bool_
        assert (masks == np.stack([env.action_masks() for env in singles])).all()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        envs.step(actions)
        for env, action in zip(singles, actions):
            _, _, terminated, truncated, _ = env.step(int(action))
            if terminated or truncated:
                env.reset()
    envs.close()
    with pytest.raises(RuntimeError, match=r"action_masks\(\) called after close\(\)"):
        envs.action_masks()


def test_vec_prospector_action_masks():
    from prospector.vector import VecProspector

    vec = VecProspector(3, seed=9)
    vec.reset()
    single = ProspectorVectorEnv(3)
    single.reset(seed=9)
    assert (vec.action_masks() == single.action_masks()).all()
    vec.close()
    with pytest.raises(RuntimeError, match="after close"):
        vec.action_masks()


def test_the_site_policy_files_mask_rule_equals_the_numpy_rule():
    """The mask written into exported policy files (pipeline/store/policy_file.py, as data for
    the browser) is the same rule too."""
    from prospector.pipeline.store import policy_file as PF

    for observations in (
        near_credit_thresholds(random_observations(3000, seed=5)),
        played_observations(1000, seed=8)[0],
    ):
        assert (PF.eval_mask(PF.mask_rule(), observations) == obs_action_mask(observations)).all()
    prices = {"kit_price": 7.5, "stabilizer_price": 1e6, "decoy_price": 0}
    observations = near_credit_thresholds(random_observations(3000, seed=6), prices)
    want = obs_action_mask(observations, env_config=prices)
    assert (PF.eval_mask(PF.mask_rule(prices), observations) == want).all()


def docked_observation(config: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """The real env's observation and exact mask right after docking at the start, and its credits."""
    env = ProspectorEnv(S.make_config(config))
    env.reset(seed=2)
    obs, _, _, _, info = env.step(S.A_DOCK)
    assert obs[S.O_DOCKED] == 1.0
    return obs, env.action_masks(), info["credits"]


PURCHASES = ((S.A_BUY_KIT, "kit_price"), (S.A_BUY_STABILIZER, "stabilizer_price"), (S.A_BUY_DECOY, "decoy_price"))


@pytest.mark.parametrize("prices", [{}, {"kit_price": 7.5, "stabilizer_price": 5000, "decoy_price": 250}])
def test_fixed_price_purchases_need_their_price_in_credits(prices):
    """At credits exactly equal to an item's price the purchase is valid and allowed by all
    three masks (numpy, torch, the policy file's rule); one credit below, it is invalid and
    masked by all three. Through the real env's observation, for the default prices and others
    (below prices of about 100,000, where one credit moves the observation by more than the
    threshold's margin; prospector/masks.py)."""
    import torch
    from prospector.pipeline.policy import obs_action_mask as torch_mask
    from prospector.pipeline.store import policy_file as PF

    config = S.make_config(prices)
    for action, field in PURCHASES:
        price = config[field]
        for credits, affordable in ((price, True), (price - 1, False)):
            obs, exact, seen = docked_observation({**prices, "start_credits": credits, "start_credits_jitter": 0})
            assert seen == credits and exact[action] == affordable
            masks = (
                obs_action_mask(obs, env_config=config),
                torch_mask(torch.as_tensor(obs)[None], config)[0].numpy(),
                PF.eval_mask(PF.mask_rule(config), obs[None])[0],
            )
            for mask in masks:
                assert mask[action] == affordable, (field, credits)
                exact[S.A_CASH_OUT] = False
                assert not (exact & ~mask).any()  # still a superset of the env's rule


def test_docked_with_99_credits_buy_decoy_is_masked_and_with_100_allowed():
    """The argmax trap of docs/results.md#keeping-the-ship: below 100 credits BUY_DECOY is
    invalid, and the observation mask now says so (the default config, decoy_price 100)."""
    low, _, _ = docked_observation({"start_credits": 99, "start_credits_jitter": 0})
    enough, _, _ = docked_observation({"start_credits": 100, "start_credits_jitter": 0})
    assert not obs_action_mask(low)[S.A_BUY_DECOY] and obs_action_mask(enough)[S.A_BUY_DECOY]
    assert not obs_action_mask(low)[S.A_BUY_KIT] and not obs_action_mask(enough)[S.A_BUY_KIT]  # 120


def test_credit_thresholds_are_float32_values_just_below_the_price():
    from prospector.masks import purchase_credit_thresholds

    defaults = purchase_credit_thresholds()
    assert defaults == purchase_credit_thresholds(S.make_config()) == purchase_credit_thresholds({"time_max": 50})
    for t, price in zip(defaults, (120, 160, 100)):
        at_price = np.float32(np.log1p(price) / np.log1p(S.CREDITS_CAP))
        below = np.float32(np.log1p(price - 1) / np.log1p(S.CREDITS_CAP))
        assert float(np.float32(t)) == t and below < t < at_price
    assert purchase_credit_thresholds({"decoy_price": 0})[2] < 0  # free: always affordable
    with pytest.raises(ValueError, match="decoy_price"):
        purchase_credit_thresholds({"decoy_price": -5})
