"""Asteroid Belt Prospector: a partially observable asteroid-mining game for RL.

    import prospector, gymnasium
    env = gymnasium.make("Prospector-v0")          # one game on the C core
    vec = prospector.VecProspector(1024, seed=0)   # native PufferLib vector env

The frozen interface is in ``prospector.spec``; the readable reference
implementation is ``prospector.reference.ReferenceEnv``.
"""

import gymnasium

from . import spec
from .envs import ProspectorEnv
from .reference import ReferenceEnv

__all__ = ["ProspectorEnv", "ReferenceEnv", "VecProspector", "spec"]
__version__ = "0.1.0"


def __getattr__(name):
    # VecProspector needs pufferlib, which imports torch (seconds); load it on first use.
    if name == "VecProspector":
        from .vector import VecProspector
        return VecProspector
    raise AttributeError(f"module 'prospector' has no attribute {name!r}")

if "Prospector-v0" not in gymnasium.registry:
    gymnasium.register(id="Prospector-v0", entry_point="prospector.envs:ProspectorEnv")
