"""Policies for PufferLib's trainer: an MLP (default) and the same MLP under an LSTM.

They follow PufferLib's convention (``encode_observations`` / ``decode_actions``,
``forward_eval``) so ``pufferlib.models.LSTMWrapper`` can wrap the MLP unchanged.
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


class ProspectorMLP(nn.Module):
    """Two hidden layers over the 260 observation floats; a policy head and a value head."""

    is_continuous = False

    def __init__(self, env=None, hidden_size: int = 256):
        super().__init__()
        self.hidden_size = hidden_size
        self.encoder = nn.Sequential(
            layer(S.OBS_DIM, hidden_size), nn.GELU(),
            layer(hidden_size, hidden_size), nn.GELU(),
        )
        self.decoder = layer(hidden_size, S.N_ACTIONS, std=0.01)  # near-uniform at start
        self.value = layer(hidden_size, 1, std=1.0)

    def encode_observations(self, observations: torch.Tensor, state=None) -> torch.Tensor:
        return self.encoder(observations.reshape(observations.shape[0], -1).float())

    def decode_actions(self, hidden: torch.Tensor):
        return self.decoder(hidden), self.value(hidden)

    def forward_eval(self, observations: torch.Tensor, state=None):
        return self.decode_actions(self.encode_observations(observations, state))

    def forward(self, observations: torch.Tensor, state=None):
        return self.forward_eval(observations, state)


def make_policy(kind: str, hidden_size: int, env=None) -> nn.Module:
    """``mlp`` or ``lstm`` (the MLP's features through an LSTM of the same width)."""
    mlp = ProspectorMLP(env, hidden_size)
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


def policy_for_checkpoint(kind: str, hidden_size: int) -> nn.Module:
    """A fresh policy of a checkpoint's architecture (no vector env needed)."""
    return make_policy(kind, hidden_size, _SpacesOnly())
