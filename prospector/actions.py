"""Turning what a caller passes to ``step`` into an action index.

Shared by the C env (envs.py) and the reference (reference.py), so the fast path
does not import the reference.
"""

from __future__ import annotations

import numpy as np


def as_action_index(action) -> int:
    """An integer action (Python or numpy, or a 0-d integer array) becomes an int.

    Anything else (floats, bools, strings, None, integers beyond int32) becomes -1,
    which the game treats as an invalid action: executed as HOLD, never a crash
    (docs/game.md#invalid-actions).
    """
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action[()]
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
        return -1
    action = int(action)
    return action if -(2**31) <= action < 2**31 else -1
