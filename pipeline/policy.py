"""Policies for PufferLib's trainer: an MLP (default) and the same MLP under an LSTM.

They follow PufferLib's convention (``encode_observations`` / ``decode_actions``,
``forward_eval``) so ``pufferlib.models.LSTMWrapper`` can wrap the MLP unchanged.

Action masking (``action_mask=True``, the default for new runs): the policy reads from
the observation which actions surely cannot be valid (docs/game.md#3-actions "valid when": an empty
neighbour or asteroid slot, no selected asteroid, not docked for station actions, an
empty cargo stack, no kits, too few credits for a kit, stabilizer or decoy ...) and gives
them a logit of ``MASKED_LOGIT``, so it never samples them. The mask is a function of the
observation only, given the item prices of the env config the policy plays (make_policy's
``env_config``): the frozen interface and the reward are unchanged; an invalid action sent
anyway is still a HOLD with the invalid penalty. Where the observation cannot tell (credits
for fuel or FULL_OVERHAUL, raw vs refined cargo for REFINE), the action stays allowed. CASH_OUT is
masked too: a masked policy never ends its episode early; the episode ends by
timeout (same terminal reward, +0.002 x credits) or by the ship's loss. Without
that, PPO finds the degenerate optimum of cashing out at once within a million steps
(docs/benchmarks.md).
"""

from __future__ import annotations

import torch
from torch import nn

from prospector import spec as S
from prospector.masks import purchase_credit_thresholds


def layer(in_size: int, out_size: int, std: float = 2**0.5) -> nn.Linear:
    """Orthogonal init with a chosen gain (the PPO convention), zero bias."""
    linear = nn.Linear(in_size, out_size)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


MASKED_LOGIT = -1e4  # finite: entropy and log-probs stay free of 0 * inf
ALLOWED_KEY = "action_allowed"  # the forward's state entry holding the mask (obs_allowed_actions)


#: Columns the fused mask derives from its tests (after the tests, in this order); BUYABLE_*:
#: below the item cap with the credits for its price.
ANY_ASTEROID, SELECTED, SELECTED_AND_STABILIZER, WORN, UNDOCKED = range(-10, -5)
BUYABLE_KIT, BUYABLE_STABILIZER, BUYABLE_DECOY, ALWAYS, NEVER = range(-5, 0)
#: (kit, stabilizer, decoy) credits thresholds of the default env config.
DEFAULT_CREDIT_THRESHOLDS = purchase_credit_thresholds()


def _mask_rule(
    credit_thresholds: tuple[float, float, float] = DEFAULT_CREDIT_THRESHOLDS,
) -> tuple[list[tuple[int, str, float]], list[tuple[int, int]]]:
    """The observation mask as data (docs/game.md#3-actions "valid when"): the tests on
    observation columns it reads (column, ">" or "<", threshold), and for every action the
    two columns whose product allows it: a test's index, or one of the derived columns
    above (negative). The same rule as ``prospector.masks.obs_action_mask``, whose
    ``purchase_credit_thresholds`` gives ``credit_thresholds``."""
    tests: list[tuple[int, str, float]] = []

    def test(column: int, op: str = ">", threshold: float = 0.5) -> int:
        if (column, op, threshold) not in tests:
            tests.append((column, op, threshold))
        return tests.index((column, op, threshold))

    def slots(base: int, field: int, stride: int, count: int) -> list[int]:
        return [test(base + field + stride * i) for i in range(count)]

    # first, in this order: the three blocks _FusedMask slices
    neighbor = slots(S.NEIGHBOR_BASE, S.N_VALID, S.NEIGHBOR_STRIDE, S.MAX_NEIGHBORS)
    asteroid = slots(S.ASTEROID_BASE, S.A_VALID, S.ASTEROID_STRIDE, S.MAX_ASTEROIDS)
    slots(S.ASTEROID_BASE, S.A_SELECTED, S.ASTEROID_STRIDE, S.MAX_ASTEROIDS)
    docked = test(S.O_DOCKED)
    stacks = [test(S.O_CARGO_C + c, ">", 0.0) for c in range(S.N_COMMODITIES)]
    kits = test(S.O_KITS, ">", 0.0)
    test(S.O_STABILIZERS, ">", 0.0), test(S.O_HULL, "<", 1.0), test(S.O_TOOL, "<", 1.0)  # derived columns read them
    for column in range(S.O_KITS, S.O_DECOYS + 1):  # and these: the BUYABLE_* columns
        test(column, "<", 1.0)
    for threshold in credit_thresholds:
        test(S.O_CREDITS, ">", threshold)
    rule = [(NEVER, ALWAYS)] * S.N_ACTIONS  # CASH_OUT: never
    rule[S.A_TRAVEL : S.A_TRAVEL + S.MAX_NEIGHBORS] = [(n, ALWAYS) for n in neighbor]
    rule[S.A_HOLD] = rule[S.A_COOLDOWN] = (ALWAYS, ALWAYS)
    rule[S.A_BURN] = (test(S.O_FUEL, ">", 0.0), ALWAYS)
    rule[S.A_WIDE_SCAN] = (ANY_ASTEROID, ALWAYS)
    rule[S.A_FOCUSED_SCAN] = rule[S.A_DEEP_SCAN] = (SELECTED, ALWAYS)
    rule[S.A_LISTEN] = (UNDOCKED, ALWAYS)
    rule[S.A_SELECT : S.A_SELECT + S.MAX_ASTEROIDS] = [(a, ALWAYS) for a in asteroid]
    rule[S.A_MINE : S.A_MINE + len(S.MINE_MODES)] = [(test(S.O_MINING), test(S.O_CARGO, "<", 1.0))] * 3
    rule[S.A_STABILIZE] = (SELECTED_AND_STABILIZER, ALWAYS)
    rule[S.A_REFINE] = (test(S.O_CARGO, ">", 0.0), ALWAYS)  # raw or refined: unknown
    rule[S.A_TOOL_MAINT] = rule[S.A_HULL_PATCH] = (kits, ALWAYS)
    rule[S.A_JETTISON : S.A_JETTISON + S.N_COMMODITIES] = [(c, ALWAYS) for c in stacks]
    rule[S.A_DOCK] = (test(S.O_NODE_TYPE + S.STATION), UNDOCKED)
    sells = len(S.SELL_FRACTIONS)
    rule[S.A_SELL : S.A_SELL + S.N_COMMODITIES * sells] = [(c, docked) for c in stacks for _ in range(sells)]
    fuel_low = test(S.O_FUEL, "<", 1.0)  # credits: the cost depends on the fuel too (prospector/masks.py)
    rule[S.A_BUY_FUEL : S.A_BUY_FUEL + len(S.FUEL_SIZES)] = [(fuel_low, docked)] * len(S.FUEL_SIZES)
    rule[S.A_BUY_KIT : S.A_BUY_DECOY + 1] = [
        (buyable, docked) for buyable in (BUYABLE_KIT, BUYABLE_STABILIZER, BUYABLE_DECOY)
    ]
    rule[S.A_OVERHAUL] = (WORN, docked)
    return tests, rule


class _FusedMask:
    """``_mask_rule`` in about a dozen float ops per forward (the former mask took about 45,
    most of them comparisons, which torch runs unvectorized on this CPU;
    docs/benchmarks.md#training-overhead). A test ``column > t`` is 1.0 where
    ``ceil(column - t)`` is positive (exact for every finite float: a difference of two
    floats is 0 only where they are equal); ``column < t`` is the same test on the
    negated column. AND is a product, OR a maximum, NOT one minus: all exact on 0.0 / 1.0."""

    def __init__(self, device: torch.device, credit_thresholds: tuple[float, float, float]):
        tests, rule = _mask_rule(credit_thresholds)
        sign = torch.tensor([1.0 if op == ">" else -1.0 for _, op, _ in tests])
        self.columns = torch.tensor([column for column, _, _ in tests], device=device)
        self.sign = sign.to(device)
        self.minus_threshold = (-torch.tensor([t for _, _, t in tests]) * sign).to(device)
        derived_at = len(tests) - ANY_ASTEROID  # where derived column -7 lands after the tests
        place = [[i if i >= 0 else derived_at + i for i in pair] for pair in rule]
        self.first, self.second = torch.tensor(place, device=device).unbind(1)
        index = {key: i for i, key in enumerate(tests)}
        self.stabilizers, self.docked = index[(S.O_STABILIZERS, ">", 0.0)], index[(S.O_DOCKED, ">", 0.5)]
        self.worn = [index[(S.O_HULL, "<", 1.0)], index[(S.O_TOOL, "<", 1.0)]]
        self.below_cap = [index[(column, "<", 1.0)] for column in range(S.O_KITS, S.O_DECOYS + 1)]
        self.affordable = [index[(S.O_CREDITS, ">", t)] for t in credit_thresholds]
        self.constants = torch.tensor([[1.0, 0.0]], device=device)  # ALWAYS, NEVER

    def allowed(self, obs: torch.Tensor) -> torch.Tensor:
        """float [N, 69]: 1.0 where the action may be valid, 0.0 where it surely is not."""
        tested = obs.reshape(-1, S.OBS_DIM).index_select(1, self.columns)
        held = torch.addcmul(self.minus_threshold, tested, self.sign).ceil_().clamp_(0.0, 1.0)
        n, a, c = S.MAX_NEIGHBORS, S.MAX_NEIGHBORS + S.MAX_ASTEROIDS, S.MAX_NEIGHBORS + 2 * S.MAX_ASTEROIDS
        asteroid, chosen = held[:, n:a], held[:, a:c]
        selected = (asteroid * chosen).amax(1, keepdim=True)
        derived = [
            asteroid.amax(1, keepdim=True),  # ANY_ASTEROID
            selected,  # SELECTED: a valid slot is selected
            selected * held[:, self.stabilizers, None],  # SELECTED_AND_STABILIZER
            held[:, self.worn].amax(1, keepdim=True),  # WORN: hull or tool below full
            1.0 - held[:, self.docked, None],  # UNDOCKED
            held[:, self.below_cap] * held[:, self.affordable],  # BUYABLE_KIT, _STABILIZER, _DECOY
            self.constants.expand(held.shape[0], 2),  # ALWAYS, NEVER
        ]
        columns = torch.cat([held, *derived], dim=1)
        return columns.index_select(1, self.first) * columns.index_select(1, self.second)


_FUSED_MASKS: dict[tuple[torch.device, tuple[float, float, float]], _FusedMask] = {}


def obs_allowed_actions(
    obs: torch.Tensor, credit_thresholds: tuple[float, float, float] = DEFAULT_CREDIT_THRESHOLDS
) -> torch.Tensor:
    """float [N, 69]: 1.0 where the action may be valid, 0.0 where the observation shows it
    cannot (``credit_thresholds``: ``purchase_credit_thresholds`` of the env config played)."""
    key = (obs.device, tuple(credit_thresholds))
    fused = _FUSED_MASKS.get(key)
    if fused is None:
        fused = _FUSED_MASKS[key] = _FusedMask(obs.device, key[1])
    return fused.allowed(obs)


def apply_mask(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """The logits, with ``MASKED_LOGIT`` exactly where ``allowed`` is 0.0 (one fused
    multiply-add instead of ``masked_fill`` and its boolean mask: the same numbers and
    gradients, since logits x 1 + 0 and logits x 0 + MASKED_LOGIT are exact)."""
    return torch.addcmul((1.0 - allowed) * MASKED_LOGIT, logits, allowed)


def obs_action_mask(obs: torch.Tensor, env_config=None) -> torch.Tensor:
    """bool [N, 69]: False where the observation shows the action cannot be valid.

    A superset of the env's valid actions, minus CASH_OUT (see the module docstring), for
    the env config ``env_config`` (its item prices; None: the defaults).
    """
    return obs_allowed_actions(obs.float(), purchase_credit_thresholds(env_config)) > 0.5


class ProspectorMLP(nn.Module):
    """Two hidden layers over the 260 observation floats; a policy head and a value head."""

    is_continuous = False

    def __init__(self, env=None, hidden_size: int = 256, action_mask: bool = False, env_config=None):
        super().__init__()
        self.hidden_size = hidden_size
        self.action_mask = action_mask
        # the prices of the env config the policy plays: the mask's credits thresholds
        self.credit_thresholds = purchase_credit_thresholds(env_config)
        self._mask = None
        self.encoder = nn.Sequential(
            layer(S.OBS_DIM, hidden_size),
            nn.GELU(),
            layer(hidden_size, hidden_size),
            nn.GELU(),
        )
        self.decoder = layer(hidden_size, S.N_ACTIONS, std=0.01)  # near-uniform at start
        self.value = layer(hidden_size, 1, std=1.0)

    def encode_observations(self, observations: torch.Tensor, state=None) -> torch.Tensor:
        obs = observations.reshape(observations.shape[0], -1).float()
        # Kept for decode_actions (the LSTM wrapper calls the two halves separately,
        # with the same rows in the same order).
        self._mask = None
        if self.action_mask:
            # the trainer keeps each step's mask from collection and hands it back with the
            # same observations in the update (pipeline/puffer.py), instead of recomputing it
            given = state.get(ALLOWED_KEY) if isinstance(state, dict) else None
            self._mask = obs_allowed_actions(obs, self.credit_thresholds) if given is None else given
            if isinstance(state, dict):
                state[ALLOWED_KEY] = self._mask
        return self.encoder(obs)

    def decode_actions(self, hidden: torch.Tensor):
        # float32 out whatever the compute dtype (bfloat16 autocast computes the layers):
        # the masked logit stays exactly MASKED_LOGIT and the losses are taken in float32
        logits = self.decoder(hidden).float()
        if self._mask is not None:
            logits = apply_mask(logits, self._mask.reshape(logits.shape))
            self._mask = None
        return logits, self.value(hidden).float()

    def forward_eval(self, observations: torch.Tensor, state=None):
        return self.decode_actions(self.encode_observations(observations, state))

    def forward(self, observations: torch.Tensor, state=None):
        return self.forward_eval(observations, state)


def make_policy(kind: str, hidden_size: int, env=None, action_mask: bool = False, env_config=None) -> nn.Module:
    """``mlp`` or ``lstm`` (the MLP's features through an LSTM of the same width); the mask
    reads the item prices of ``env_config``, the config the policy plays (None: the defaults)."""
    mlp = ProspectorMLP(env, hidden_size, action_mask, env_config)
    if kind == "mlp":
        return mlp
    if kind == "lstm":
        from pufferlib.models import LSTMWrapper

        return LSTMWrapper(env, mlp, input_size=hidden_size, hidden_size=hidden_size)
    raise ValueError(f"unknown policy {kind!r}; choose mlp or lstm")


class _SpacesOnly:
    """What LSTMWrapper reads from an env: its single spaces."""

    def __init__(self):
        import gymnasium as gym
        import numpy as np

        self.single_observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.single_action_space = gym.spaces.Discrete(S.N_ACTIONS)


def policy_for_checkpoint(kind: str, hidden_size: int, action_mask: bool = False, env_config=None) -> nn.Module:
    """A fresh policy of a checkpoint's architecture (no vector env needed), masked for the
    checkpoint's ``env_config``."""
    return make_policy(kind, hidden_size, _SpacesOnly(), action_mask, env_config)


def sample_actions(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An action per row drawn from ``softmax(logits)``, and its log-probability: what
    collection needs (no entropy). One uniform number per row, found in the row's
    cumulative distribution, instead of a Gumbel number per logit: the CPU's random
    numbers and the ``exp`` of masked logits were most of the sampler's time
    (docs/benchmarks.md#training-overhead). An action of probability 0 (masked) is never
    drawn: its interval in the cumulative sum is empty, and the uniform is scaled to stay
    below the row's total. Returns (action int32 [N], logprob [N])."""
    probs = torch.softmax(logits.float(), dim=-1)
    cdf = probs.cumsum(dim=-1)
    below_total = cdf[:, -1:] * (1.0 - 2.0**-23)  # rounding never reaches the last bound
    draw = torch.rand(cdf.shape[0], 1, device=cdf.device) * below_total
    action = torch.searchsorted(cdf, draw, right=True).clamp_(max=cdf.shape[1] - 1)
    return action.squeeze(1).int(), probs.gather(1, action).log().squeeze(1)


def sample_logits(logits: torch.Tensor, action=None):
    """``pufferlib.pytorch.sample_logits`` for a single discrete head, cheaper on the CPU
    (the trainer uses it in PuffeRL's place: pipeline/puffer.py).

    Same results in distribution: a sample from ``sample_actions``, log-probabilities from
    ``log_softmax``, and the entropy. Returns (action int32 [N], logprob [N], entropy [N]);
    with ``action`` given, that action's log-probability. The entropy takes the
    probabilities from ``softmax``, not ``exp`` of the log-probabilities: torch's ``exp``
    of a masked action's -1e4 takes a slow path on the CPU (about 20x).
    """
    logits = logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    if action is None:
        action = sample_actions(logits)[0]
    action = action.reshape(logp.shape[0]).long()
    logprob = logp.gather(-1, action[:, None]).squeeze(-1)
    entropy = -(torch.softmax(logits, dim=-1) * logp).sum(-1)
    return action.int(), logprob, entropy
