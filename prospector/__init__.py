"""Asteroid Belt Prospector: a partially observable asteroid-mining game for RL.

    import prospector, gymnasium
    env = gymnasium.make("Prospector-v0")                     # one game on the C core
    envs = gymnasium.make_vec("Prospector-v0", num_envs=1024)  # the C batch, Gymnasium vector API
    vec = prospector.VecProspector(1024, seed=0)              # native PufferLib vector env

The frozen interface is in ``prospector.spec``; the readable reference
implementation is ``prospector.reference.ReferenceEnv``.
"""

import gymnasium

from . import spec
from .envs import ProspectorEnv

__all__ = ["ProspectorEnv", "ProspectorVectorEnv", "ReferenceEnv", "VecProspector", "spec"]
__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)


def __getattr__(name):
    # Loaded on first use: VecProspector needs pufferlib, which imports torch (seconds),
    # and the env path does not need the reference.
    if name == "VecProspector":
        from .vector import VecProspector

        return VecProspector
    if name == "ProspectorVectorEnv":
        from .gym_vector import ProspectorVectorEnv

        return ProspectorVectorEnv
    if name == "ReferenceEnv":
        from .reference import ReferenceEnv

        return ReferenceEnv
    raise AttributeError(f"module 'prospector' has no attribute {name!r}")


if "Prospector-v0" not in gymnasium.registry:
    gymnasium.register(
        id="Prospector-v0",
        entry_point="prospector.envs:ProspectorEnv",
        vector_entry_point="prospector.gym_vector:ProspectorVectorEnv",
    )
