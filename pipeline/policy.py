"""Policies for PufferLib's trainer: an MLP (default) and the same MLP under an LSTM.

They follow PufferLib's convention (``encode_observations`` / ``decode_actions``,
``forward_eval``) so ``pufferlib.models.LSTMWrapper`` can wrap the MLP unchanged.

Action masking (``action_mask=True``, the default for new runs): the policy reads from
the observation which actions surely cannot be valid (docs/game.md#3-actions "valid when": an empty
neighbour or asteroid slot, no selected asteroid, not docked for station actions, an
empty cargo stack, no kits ...) and gives them a logit of ``MASKED_LOGIT``, so it
never samples them. The mask is a function of the observation only (the frozen
interface and the reward are unchanged; an invalid action sent anyway is still a
HOLD with the invalid penalty). Where the observation cannot tell (credits for a
purchase, raw vs refined cargo for REFINE), the action stays allowed. CASH_OUT is
masked too: a masked policy never ends its episode early; the episode ends by
timeout (same terminal reward, +0.002 x credits) or by the ship's loss. Without
that, PPO finds the degenerate optimum of cashing out at once within a million steps
(docs/benchmarks.md).
"""

from __future__ import annotations

import torch
from torch import nn

from prospector import spec as S


def layer(in_size: int, out_size: int, std: float = 2**0.5) -> nn.Linear:
    """Orthogonal init with a chosen gain (the PPO convention), zero bias."""
    linear = nn.Linear(in_size, out_size)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


MASKED_LOGIT = -1e4  # finite: entropy and log-probs stay free of 0 * inf


def obs_action_mask(obs: torch.Tensor) -> torch.Tensor:
    """bool [N, 69]: False where the observation shows the action cannot be valid.

    A superset of the env's valid actions, minus CASH_OUT (see the module docstring).
    """
    obs = obs.reshape(obs.shape[0], S.OBS_DIM)
    n = obs.shape[0]
    on = obs > 0.5
    # the aligned columns read as a table of actions: kept out of the formatter
    # fmt: off
    fuel, cargo, docked, mining = obs[:, S.O_FUEL], obs[:, S.O_CARGO], on[:, S.O_DOCKED], on[:, S.O_MINING]
    at_station = on[:, S.O_NODE_TYPE + S.STATION]
    n_c = len(S.COMMODITIES)
    stacks = obs[:, S.O_CARGO_C:S.O_CARGO_C + n_c] > 0           # holds some of commodity c
    neighbors_end = S.NEIGHBOR_BASE + S.MAX_NEIGHBORS * S.NEIGHBOR_STRIDE   # 66, 67 are reserved
    neighbor = on[:, S.NEIGHBOR_BASE + S.N_VALID:neighbors_end:S.NEIGHBOR_STRIDE]     # slot valid, 6
    asteroid = on[:, S.ASTEROID_BASE + S.A_VALID:S.OBS_ASTEROIDS.stop:S.ASTEROID_STRIDE]  # slot valid, 16
    selected = (on[:, S.ASTEROID_BASE + S.A_SELECTED:S.OBS_ASTEROIDS.stop:S.ASTEROID_STRIDE] & asteroid).any(dim=1)
    kits, stabilizers = obs[:, S.O_KITS] > 0, obs[:, S.O_STABILIZERS] > 0
    items_below_cap = obs[:, S.O_KITS:S.O_DECOYS + 1] < 1
    worn = (obs[:, S.O_HULL] < 1) | (obs[:, S.O_TOOL] < 1)
    yes = torch.ones(n, dtype=torch.bool, device=obs.device)
    cols = [
        neighbor,                                                # 0-5 TRAVEL
        yes[:, None],                                            # 6 HOLD
        (fuel > 0)[:, None],                                     # 7 EMERGENCY_BURN
        asteroid.any(dim=1)[:, None],                            # 8 WIDE_SCAN
        selected[:, None], selected[:, None],                    # 9, 10 FOCUSED / DEEP
        (~docked)[:, None],                                      # 11 THREAT_LISTEN
        asteroid,                                                # 12-27 SELECT
        (mining & (cargo < 1))[:, None].expand(n, 3),            # 28-30 MINE
        (selected & stabilizers)[:, None],                       # 31 STABILIZE
        (cargo > 0)[:, None],                                    # 32 REFINE (raw or refined: unknown)
        yes[:, None],                                            # 33 ACTIVE_COOLDOWN
        kits[:, None], kits[:, None],                            # 34, 35 TOOL_MAINTENANCE, HULL_PATCH
        stacks,                                                  # 36-41 JETTISON
        (at_station & ~docked)[:, None],                         # 42 DOCK
        (stacks & docked[:, None]).repeat_interleave(3, dim=1),  # 43-60 SELL
        (docked & (fuel < 1))[:, None].expand(n, 3),             # 61-63 BUY_FUEL (credits: unknown)
        items_below_cap & docked[:, None],                       # 64-66 BUY kit / stabilizer / decoy
        (docked & worn)[:, None],                                # 67 FULL_OVERHAUL
        torch.zeros(n, 1, dtype=torch.bool, device=obs.device),  # 68 CASH_OUT: never
    ]
    # fmt: on
    return torch.cat(cols, dim=1)


class ProspectorMLP(nn.Module):
    """Two hidden layers over the 260 observation floats; a policy head and a value head."""

    is_continuous = False

    def __init__(self, env=None, hidden_size: int = 256, action_mask: bool = False):
        super().__init__()
        self.hidden_size = hidden_size
        self.action_mask = action_mask
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
        self._mask = obs_action_mask(obs) if self.action_mask else None
        return self.encoder(obs)

    def decode_actions(self, hidden: torch.Tensor):
        logits = self.decoder(hidden)
        if self._mask is not None:
            logits = logits.masked_fill(~self._mask.reshape(logits.shape), MASKED_LOGIT)
            self._mask = None
        return logits, self.value(hidden)

    def forward_eval(self, observations: torch.Tensor, state=None):
        return self.decode_actions(self.encode_observations(observations, state))

    def forward(self, observations: torch.Tensor, state=None):
        return self.forward_eval(observations, state)


def make_policy(kind: str, hidden_size: int, env=None, action_mask: bool = False) -> nn.Module:
    """``mlp`` or ``lstm`` (the MLP's features through an LSTM of the same width)."""
    mlp = ProspectorMLP(env, hidden_size, action_mask)
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


def policy_for_checkpoint(kind: str, hidden_size: int, action_mask: bool = False) -> nn.Module:
    """A fresh policy of a checkpoint's architecture (no vector env needed)."""
    return make_policy(kind, hidden_size, _SpacesOnly(), action_mask)


def sample_logits(logits: torch.Tensor, action=None):
    """``pufferlib.pytorch.sample_logits`` for a single discrete head, cheaper on the CPU
    (the trainer puts it in PuffeRL's place: pipeline/puffer.py).

    Same results in distribution: a sample by the Gumbel-max trick (one ``rand`` and an
    argmax instead of softmax + ``multinomial``), its log-probability from
    ``log_softmax`` and the entropy. Returns (action int32 [N], logprob [N], entropy [N]);
    with ``action`` given, that action's log-probability.
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    if action is None:
        gumbel = -torch.log(-torch.log(torch.rand_like(logp).clamp_(1e-12, 1.0)))
        action = (logp + gumbel).argmax(dim=-1)
    else:
        action = action.reshape(logp.shape[0]).long()
    logprob = logp.gather(-1, action[:, None]).squeeze(-1)
    entropy = -(logp.exp() * logp).sum(-1)
    return action.int(), logprob, entropy
