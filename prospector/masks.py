"""Action masks from the observation alone, in numpy (no torch, no env handle).

``obs_action_mask(obs)`` is the rule the project's trainer masks its policy with
(``pipeline/policy.py``; docs/envs.md#action-masks): it reads from the 260 observation
floats which actions surely cannot be valid now (docs/game.md#3-actions, "valid when")
and leaves allowed every action the observation cannot rule out (credits for a fuel
purchase or FULL_OVERHAUL, raw or refined cargo for REFINE).  The three fixed-price
purchases also read credits (column 7, ``credits_log_norm``), against the thresholds of
:func:`purchase_credit_thresholds`.  So it is a superset of the env's exact
mask (``ProspectorEnv.action_masks()``), except for CASH_OUT: by default the mask
never allows it, because an untrained policy learns to quit at once
(docs/ecosystem.md#why-outside-algorithms-collapse).  ``allow_cash_out=True`` keeps
CASH_OUT allowed, as the env does.

The mask changes nothing in the env: an action sent anyway is judged by the env's own
rule, and an invalid one is still a HOLD with the invalid penalty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from . import spec as S

# the observation columns the rule reads (strided slices of the frozen layout)
_NEIGHBOR_VALID = slice(
    S.NEIGHBOR_BASE + S.N_VALID, S.NEIGHBOR_BASE + S.MAX_NEIGHBORS * S.NEIGHBOR_STRIDE, S.NEIGHBOR_STRIDE
)
_ASTEROID_VALID = slice(S.ASTEROID_BASE + S.A_VALID, S.OBS_ASTEROIDS.stop, S.ASTEROID_STRIDE)
_ASTEROID_SELECTED = slice(S.ASTEROID_BASE + S.A_SELECTED, S.OBS_ASTEROIDS.stop, S.ASTEROID_STRIDE)
_CARGO_STACKS = slice(S.O_CARGO_C, S.O_CARGO_C + S.N_COMMODITIES)
_ITEMS = slice(S.O_KITS, S.O_DECOYS + 1)  # kits, stabilizers, decoys

#: The env config's price fields of BUY_REPAIR_KIT, BUY_STABILIZER, BUY_DECOY, in action order.
PURCHASE_PRICE_FIELDS = ("kit_price", "stabilizer_price", "decoy_price")
#: How many float32 steps the credits threshold sits below the observation at credits = price.
#: The env computes log1p(credits) / log1p(CREDITS_CAP) in float64 and rounds it to float32
#: once; Python's float64 value may differ from C's by an ulp of float64 or so, which can move
#: the float32 rounding by at most one float32 step. Four steps cover that with room to spare
#: and cost under 0.001 credit at the default prices (one float32 step near 0.3 is 3e-8, and one
#: credit near 100 moves the observation by 6e-4), so one credit below a price is still masked
#: (for prices up to about 100,000; above that, a credit is within the margin and stays allowed).
_THRESHOLD_STEPS = 4


def purchase_credit_thresholds(env_config: Mapping | None = None) -> tuple[float, float, float]:
    """(kit, stabilizer, decoy): the value the observation's ``credits_log_norm`` exceeds
    wherever credits >= that item's price in ``env_config`` (its price fields, checked as
    ``spec.make_config`` checks them; the default prices for a field it lacks, or for None).
    Each is a float32 value, so float32, float64 and JavaScript comparisons agree.
    The single definition the numpy, torch and policy-file masks all use."""
    given = {} if env_config is None else {n: env_config[n] for n in PURCHASE_PRICE_FIELDS if n in env_config}
    config = S.make_config(given)  # a ValueError naming the field for a bad price
    return tuple(_credits_threshold(config[name]) for name in PURCHASE_PRICE_FIELDS)


def _credits_threshold(price: float) -> float:
    if price <= 0:
        return -1.0  # free: credits_log_norm is never negative, so always allowed
    at_price = np.float32(math.log1p(price) / math.log1p(S.CREDITS_CAP))  # as the env rounds it
    for _ in range(_THRESHOLD_STEPS):
        at_price = np.nextafter(at_price, np.float32(-1.0))
    return float(at_price)


def obs_action_mask(obs, allow_cash_out: bool = False, env_config: Mapping | None = None) -> np.ndarray:
    """bool ``[N, 69]`` for observations of shape ``[N, 260]`` (bool ``[69]`` for one of
    shape ``[260]``): False where the observation shows the action cannot be valid.
    ``env_config``: the config the game plays (its item prices; None: the defaults)."""
    obs = np.asarray(obs)
    if obs.shape[-1] != S.OBS_DIM or obs.ndim not in (1, 2):
        raise ValueError(f"observations must have shape (260,) or (N, 260), got {obs.shape}")
    single = obs.ndim == 1
    obs = obs.reshape(-1, S.OBS_DIM)
    on = obs > 0.5
    fuel, cargo = obs[:, S.O_FUEL], obs[:, S.O_CARGO]
    docked, mining, at_station = on[:, S.O_DOCKED], on[:, S.O_MINING], on[:, S.O_NODE_TYPE + S.STATION]
    asteroid = on[:, _ASTEROID_VALID]
    selected = (on[:, _ASTEROID_SELECTED] & asteroid).any(axis=1)
    stacks = obs[:, _CARGO_STACKS] > 0
    kits = obs[:, S.O_KITS] > 0
    worn = (obs[:, S.O_HULL] < 1) | (obs[:, S.O_TOOL] < 1)

    mask = np.ones((obs.shape[0], S.N_ACTIONS), np.bool_)  # HOLD and ACTIVE_COOLDOWN: always
    mask[:, S.A_TRAVEL : S.A_TRAVEL + S.MAX_NEIGHBORS] = on[:, _NEIGHBOR_VALID]
    mask[:, S.A_BURN] = fuel > 0
    mask[:, S.A_WIDE_SCAN] = asteroid.any(axis=1)
    mask[:, S.A_FOCUSED_SCAN] = mask[:, S.A_DEEP_SCAN] = selected
    mask[:, S.A_LISTEN] = ~docked
    mask[:, S.A_SELECT : S.A_SELECT + S.MAX_ASTEROIDS] = asteroid
    mask[:, S.A_MINE : S.A_MINE + len(S.MINE_MODES)] = (mining & (cargo < 1))[:, None]
    mask[:, S.A_STABILIZE] = selected & (obs[:, S.O_STABILIZERS] > 0)
    mask[:, S.A_REFINE] = cargo > 0  # raw or refined: the observation cannot tell
    mask[:, S.A_TOOL_MAINT] = mask[:, S.A_HULL_PATCH] = kits
    mask[:, S.A_JETTISON : S.A_JETTISON + S.N_COMMODITIES] = stacks
    mask[:, S.A_DOCK] = at_station & ~docked
    sells = len(S.SELL_FRACTIONS)
    mask[:, S.A_SELL : S.A_SELL + S.N_COMMODITIES * sells] = np.repeat(stacks & docked[:, None], sells, axis=1)
    # fuel and FULL_OVERHAUL: their cost depends on the fuel or damage too, beyond a one-column test
    mask[:, S.A_BUY_FUEL : S.A_BUY_FUEL + len(S.FUEL_SIZES)] = (docked & (fuel < 1))[:, None]
    affordable = np.stack([obs[:, S.O_CREDITS] > t for t in purchase_credit_thresholds(env_config)], axis=1)
    mask[:, S.A_BUY_KIT : S.A_BUY_DECOY + 1] = (obs[:, _ITEMS] < 1) & docked[:, None] & affordable
    mask[:, S.A_OVERHAUL] = docked & worn
    mask[:, S.A_CASH_OUT] = bool(allow_cash_out)
    return mask[0] if single else mask
