"""The envs under the Gymnasium checker and PufferLib's vectorization backends."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import prospector
from prospector import spec as S


def test_gymnasium_registration_and_checker():
    env = gymnasium.make("Prospector-v0")
    assert isinstance(env.unwrapped, prospector.ProspectorEnv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's notes on render modes are not failures
        check_env(env.unwrapped)
    env.close()


def test_gymnasium_checker_reference():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(prospector.ReferenceEnv())


def test_gymnasium_make_with_config_and_wrappers():
    env = gymnasium.make("Prospector-v0", time_max=30)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(S.A_HOLD)
        steps += 1
        if terminated or truncated:
            break
    assert truncated and info["end_reason"] == "timeout" and steps == 30
    env.close()


def run_backend(vecenv, steps: int, seed: int = 123):
    total = vecenv.num_agents
    vecenv.async_reset(seed)
    obs, rewards, terminals, truncations, teacher, infos, env_ids, masks = vecenv.recv()
    assert obs.shape == (total, S.OBS_DIM) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    episode_infos = []
    for _ in range(steps):
        actions = rng.integers(0, S.N_ACTIONS, total).astype(np.int32)
        vecenv.send(actions)
        obs, rewards, terminals, truncations, teacher, infos, env_ids, masks = vecenv.recv()
        assert obs.shape == (total, S.OBS_DIM) and obs.dtype == np.float32
        assert rewards.shape == (total,) and terminals.shape == (total,) and truncations.shape == (total,)
        assert np.isfinite(obs).all() and (np.abs(obs) <= 1).all()
        assert np.isfinite(rewards).all()
        assert sorted(np.asarray(env_ids).ravel().tolist()) == list(range(total))
        episode_infos.extend(infos)
    assert episode_infos, "random play must finish episodes within a few hundred steps"
    for info in episode_infos:
        assert set(S.INFO_KEYS) <= set(info)
        assert info["end_reason"] in S.END_REASONS
        assert np.isfinite(info["episode_return"]) and info["episode_length"] >= 1
    return episode_infos


@pytest.mark.parametrize("threads", [1, 3])
def test_pufferlib_serial_backend(threads):
    import pufferlib.vector

    from prospector.vector import VecProspector

    vecenv = pufferlib.vector.make(
        VecProspector, backend=pufferlib.vector.Serial, num_envs=2, env_kwargs={"num_envs": 8, "threads": threads}
    )
    try:
        assert vecenv.num_agents == 16
        assert vecenv.single_observation_space.shape == (S.OBS_DIM,)
        assert vecenv.single_action_space.n == S.N_ACTIONS
        run_backend(vecenv, 300)
    finally:
        vecenv.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_pufferlib_multiprocessing_backend(threads):
    """Each worker process steps its instance on its own threads (started there, not inherited)."""
    import pufferlib.vector

    from prospector.vector import VecProspector

    vecenv = pufferlib.vector.make(
        VecProspector,
        backend=pufferlib.vector.Multiprocessing,
        num_envs=2,
        num_workers=2,
        env_kwargs={"num_envs": 8, "threads": threads},
    )
    try:
        assert vecenv.num_agents == 16
        run_backend(vecenv, 300)
    finally:
        vecenv.close()
        for p in vecenv.processes:
            p.join(timeout=10)
            assert not p.is_alive()


def test_native_pufferenv_api():
    """The native PufferEnv path (backend=PufferEnv): one object, async API."""
    import pufferlib.vector

    from prospector.vector import VecProspector

    vecenv = pufferlib.vector.make(VecProspector, env_kwargs={"num_envs": 16, "time_max": 50})
    assert isinstance(vecenv, VecProspector)
    infos = run_backend(vecenv, 120)
    assert any(i["end_reason"] == "timeout" for i in infos)
    vecenv.close()


def puffer_prospector(buf=None, seed=0):
    """PufferLib's emulation of the Gymnasium env, as docs/ecosystem.md shows it."""
    import pufferlib.emulation

    return pufferlib.emulation.GymnasiumPufferEnv(
        env_creator=gymnasium.make,
        env_args=["prospector:Prospector-v0"],
        env_kwargs={"events": False, "time_max": 60},
        buf=buf,
        seed=seed,
    )


@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing"])
def test_gymnasium_puffer_env_emulation(backend):
    """GymnasiumPufferEnv over the single env steps under Serial and Multiprocessing; its
    infos (events off) are numbers PufferLib can average."""
    import pufferlib.vector

    kwargs = {"num_workers": 2} if backend == "Multiprocessing" else {}
    vecenv = pufferlib.vector.make(puffer_prospector, backend=getattr(pufferlib.vector, backend), num_envs=2, **kwargs)
    try:
        vecenv.async_reset(7)
        obs = vecenv.recv()[0]
        assert obs.shape == (2, S.OBS_DIM)
        rng = np.random.default_rng(0)
        seen, ended = [], 0
        for _ in range(150):
            vecenv.send(rng.integers(0, S.N_ACTIONS, 2).astype(np.int32))
            obs, rewards, terminals, truncations, _, infos, _, _ = vecenv.recv()
            assert np.isfinite(rewards).all() and (np.abs(obs) <= 1).all()
            ended += int(terminals.sum() + truncations.sum())
            seen.extend(infos)
        assert ended >= 2 and seen
        for info in seen:
            assert "events" not in info
            assert all(isinstance(v, (int, float, bool, str)) for v in info.values()), info
    finally:
        vecenv.close()


def test_events_option_of_the_single_env():
    env = gymnasium.make("prospector:Prospector-v0", events=False)
    _, info = env.reset(seed=1)
    assert "events" not in info and set(S.INFO_KEYS) <= set(info)
    _, _, _, _, info = env.step(S.A_HOLD)
    assert "events" not in info
    with_events = gymnasium.make("prospector:Prospector-v0")
    with_events.reset(seed=1)
    assert with_events.step(S.A_HOLD)[4]["events"] == [{"type": "hold"}]
    with pytest.raises(ValueError, match="events must be True or False"):
        prospector.ProspectorEnv(events="no")


def test_outside_time_limit_truncates_without_end_reason():
    """docs/envs.md: when a wrapper (TimeLimit) ends the episode, the game goes on, so there
    is no end_reason; the env's own budget (time_max) ends it with "timeout"."""
    env = gymnasium.make("prospector:Prospector-v0", max_episode_steps=5)
    env.reset(seed=2)
    for _ in range(5):
        _, _, terminated, truncated, info = env.step(S.A_HOLD)
    assert truncated and not terminated and "end_reason" not in info and info["survival"] == 1.0
