"""The Gymnasium vector env over the C batch (docs/envs.md#gymnasium-vector-env).

Conformance is checked against Gymnasium's own SyncVectorEnv of single
``ProspectorEnv`` games in the same autoreset mode (SAME_STEP), with the same seeds
and actions: everything it returns must be the same, bit for bit.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import prospector
from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.gym_vector import ProspectorVectorEnv
from prospector.rng import env_seeds


def test_check_env_on_the_single_env():
    env = gymnasium.make("Prospector-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's notes on render modes are not failures
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("mode", [None, "vector_entry_point"])
def test_make_vec_returns_the_c_batch(mode):
    kwargs = {} if mode is None else {"vectorization_mode": mode}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # make_vec warns when autoreset metadata is missing
        envs = gymnasium.make_vec("Prospector-v0", num_envs=6, **kwargs)
    assert isinstance(envs, ProspectorVectorEnv) and envs.num_envs == 6
    assert envs.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert envs.spec.id == "Prospector-v0"
    assert envs.single_observation_space == gymnasium.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
    assert envs.single_action_space == gymnasium.spaces.Discrete(S.N_ACTIONS)
    assert envs.observation_space.shape == (6, S.OBS_DIM) and envs.observation_space.dtype == np.float32
    assert envs.action_space == gymnasium.spaces.MultiDiscrete([S.N_ACTIONS] * 6)
    obs, infos = envs.reset(seed=5)
    assert obs.shape == (6, S.OBS_DIM) and obs.dtype == np.float32 and infos == {}
    assert envs.observation_space.contains(obs)
    obs, rewards, terminations, truncations, infos = envs.step(envs.action_space.sample())
    assert obs.shape == (6, S.OBS_DIM) and obs.dtype == np.float32 and envs.observation_space.contains(obs)
    assert rewards.shape == (6,) and rewards.dtype == np.float32
    assert terminations.shape == truncations.shape == (6,)
    assert terminations.dtype == truncations.dtype == np.bool_
    assert isinstance(infos, dict)
    envs.close()
    assert envs.closed
    envs.close()  # twice is fine
    with pytest.raises(RuntimeError, match=r"step\(\) called after close\(\)"):
        envs.step(np.zeros(6, np.int64))


def test_make_vec_passes_threads_and_config():
    envs = gymnasium.make_vec("Prospector-v0", num_envs=5, threads=2, time_max=7)
    assert envs.threads == 2 and envs.config["time_max"] == 7
    envs.reset(seed=0)
    for _ in range(6):
        _, _, _, truncations, _ = envs.step(np.full(5, S.A_HOLD))
        assert not truncations.any()
    _, _, _, truncations, infos = envs.step(np.full(5, S.A_HOLD))
    assert truncations.all() and (infos["final_info"]["end_reason"] == "timeout").all()
    envs.close()
    with pytest.raises(ValueError, match="threads must be a whole number"):
        gymnasium.make_vec("Prospector-v0", num_envs=2, threads=-1)
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        ProspectorVectorEnv(0)


def sync_envs(num_envs: int, mode: AutoresetMode = AutoresetMode.SAME_STEP, **config):
    """Gymnasium's own vectorization of single games, in the given autoreset mode."""
    return gymnasium.make_vec(
        "Prospector-v0",
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        **config,
    )


def assert_same_step(a, b, t):
    obs_a, rew_a, term_a, trunc_a, _ = a
    obs_b, rew_b, term_b, trunc_b, _ = b
    assert obs_a.tobytes() == obs_b.tobytes(), f"step {t}"
    assert rew_a.tobytes() == rew_b.astype(np.float32).tobytes(), f"step {t}"
    assert (term_a == term_b).all() and (trunc_a == trunc_b).all(), f"step {t}"


def assert_same_infos(fa: dict, fb: dict, mask: np.ndarray, returns: np.ndarray, lengths: np.ndarray):
    """Our end-of-episode infos against the single games' last infos (and their own sums)."""
    for key in (*S.INFO_KEYS, "end_reason"):
        assert (fa[f"_{key}"] == mask).all()
        assert fa[key][mask].tolist() == fb[key][mask].tolist(), key
        assert fa[key].dtype == fb[key].dtype or key == "end_reason", key
    # episode statistics, from the single games' own rewards (double, summed in order)
    assert fa["episode_return"][mask].tolist() == returns[mask].tolist()
    assert fa["episode_length"][mask].tolist() == lengths[mask].tolist()


def test_same_as_sync_vector_env_of_single_games():
    n, seeds = 7, [3, 99, 2**40, 0, 12345, 7, 7]
    ours = ProspectorVectorEnv(n, threads=3, time_max=60)
    theirs = sync_envs(n, time_max=60)
    obs_a, _ = ours.reset(seed=seeds)
    obs_b, _ = theirs.reset(seed=seeds)
    assert obs_a.tobytes() == obs_b.tobytes()
    rng = np.random.default_rng(0)
    returns, lengths = np.zeros(n), np.zeros(n, int)
    ended_total = 0
    for t in range(400):
        actions = rng.integers(0, S.N_ACTIONS, n)
        out_a, out_b = ours.step(actions), theirs.step(actions)
        assert_same_step(out_a, out_b, t)
        info_a, info_b = out_a[4], out_b[4]
        returns += out_b[1]
        lengths += 1
        ended = out_b[2] | out_b[3]
        if not ended.any():
            assert info_a == {}
            continue
        ended_total += ended.sum()
        mask = info_b["_final_obs"]
        assert (info_a["_final_obs"] == mask).all() and (info_a["_final_info"] == mask).all()
        assert "episode" not in info_a  # the key of Gymnasium's RecordEpisodeStatistics
        for i in np.flatnonzero(mask):
            assert info_a["final_obs"][i].tobytes() == info_b["final_obs"][i].tobytes()
            assert not np.shares_memory(info_a["final_obs"][i], out_a[0])
        assert all(info_a["final_obs"][i] is None for i in np.flatnonzero(~mask))
        assert_same_infos(info_a["final_info"], info_b["final_info"], mask, returns, lengths)
        returns[ended], lengths[ended] = 0.0, 0
    assert ended_total > 2 * n  # autoreset happened many times, in every game
    # an unseeded reset continues every game's chain, as the single games do
    obs_a, _ = ours.reset()
    obs_b, _ = theirs.reset(seed=[None] * n)
    assert obs_a.tobytes() == obs_b.tobytes()
    ours.close()
    theirs.close()


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED])
def test_next_step_and_disabled_same_as_sync_vector_env(mode):
    """The ending step shows the terminal observation and the infos at top level; NEXT_STEP
    restarts in the next step (reward 0, flags off), DISABLED on reset(reset_mask)."""
    n, seeds = 6, [5, 77, 2**33, 1, 4242, 5]
    ours = gymnasium.make_vec("Prospector-v0", num_envs=n, threads=2, time_max=40, autoreset_mode=mode)
    assert ours.metadata["autoreset_mode"] is mode and ours.autoreset_mode is mode
    theirs = sync_envs(n, mode, time_max=40)
    assert ours.reset(seed=seeds)[0].tobytes() == theirs.reset(seed=seeds)[0].tobytes()
    rng = np.random.default_rng(1)
    returns, lengths = np.zeros(n), np.zeros(n, int)
    ended_total, restarted = 0, np.zeros(n, bool)
    for t in range(300):
        actions = rng.integers(0, S.N_ACTIONS, n)
        out_a, out_b = ours.step(actions), theirs.step(actions)
        assert_same_step(out_a, out_b, t)
        returns[~restarted] += out_b[1][~restarted]
        lengths[~restarted] += 1
        ended = out_b[2] | out_b[3]
        if restarted.any():
            assert (out_a[1][restarted] == 0).all() and not ended[restarted].any()
        restarted[:] = False
        if not ended.any():
            assert out_a[4] == {}
            continue
        ended_total += ended.sum()
        assert_same_infos(out_a[4], out_b[4], ended, returns, lengths)
        returns[ended], lengths[ended] = 0.0, 0
        if mode is AutoresetMode.DISABLED:
            with pytest.raises(RuntimeError, match="reset_mask"):
                ours.step(actions)
            obs_a, _ = ours.reset(options={"reset_mask": ended.copy()})
            obs_b, _ = theirs.reset(options={"reset_mask": ended.copy()})
            assert obs_a.tobytes() == obs_b.tobytes()
        else:
            restarted = ended
    assert ended_total > 2 * n
    obs_a, _ = ours.reset()
    obs_b, _ = theirs.reset(seed=[None] * n)
    assert obs_a.tobytes() == obs_b.tobytes()
    ours.close()
    theirs.close()


@pytest.mark.parametrize("mode", ["sometimes", 3, None])
def test_unknown_autoreset_mode_is_refused(mode):
    with pytest.raises(gymnasium.error.UnsupportedMode, match="no autoreset mode"):
        gymnasium.make_vec("Prospector-v0", num_envs=2, autoreset_mode=mode)
    assert ProspectorVectorEnv(2, autoreset_mode="NextStep").autoreset_mode is AutoresetMode.NEXT_STEP


def test_int_seed_spreads_like_vec_prospector_and_repeats():
    envs = ProspectorVectorEnv(4)
    first, _ = envs.reset(seed=21)
    for i, seed in enumerate(env_seeds(21, 4)):
        single = ProspectorEnv()
        obs, _ = single.reset(seed=seed)
        assert obs.tobytes() == first[i].tobytes()
    trace = [envs.step(np.full(4, k % S.N_ACTIONS))[0] for k in range(30)]
    again, _ = envs.reset(seed=21)
    assert again.tobytes() == first.tobytes()
    assert all(envs.step(np.full(4, k % S.N_ACTIONS))[0].tobytes() == trace[k].tobytes() for k in range(30))
    assert envs.np_random_seed == 21


def test_seed_list_with_none_continues_that_game():
    envs = ProspectorVectorEnv(3)
    envs.reset(seed=[10, 11, 12])
    envs.step(np.array([8, 8, 8]))
    obs, _ = envs.reset(seed=[None, 40, None])
    single = ProspectorEnv()
    single.reset(seed=10)
    single.step(8)
    assert single.reset()[0].tobytes() == obs[0].tobytes()
    assert ProspectorEnv().reset(seed=40)[0].tobytes() == obs[1].tobytes()
    # before any seeded reset, None entries still give a playable game
    fresh = ProspectorVectorEnv(2)
    obs, _ = fresh.reset(seed=[None, 5])
    assert fresh.observation_space.contains(obs)
    assert ProspectorEnv().reset(seed=5)[0].tobytes() == obs[1].tobytes()


@pytest.mark.parametrize(
    "seed, message",
    [
        (-1, "seed must be a whole number >= 0"),
        ([1, 2], "seed list has 2 entries for 3 games"),
        ([1, -2, 3], "each seed must be None or a whole number >= 0"),
        ([1, 2.5, 3], "each seed must be None or a whole number >= 0"),
        (1.5, "seed must be None, a whole number >= 0 or a list of 3"),
    ],
)
def test_bad_seeds_are_refused(seed, message):
    envs = ProspectorVectorEnv(3)
    with pytest.raises(ValueError, match=message):
        envs.reset(seed=seed)


def test_step_contract_errors_and_copies():
    envs = ProspectorVectorEnv(4)
    with pytest.raises(RuntimeError, match="before reset"):
        envs.step(np.zeros(4, np.int64))
    obs, _ = envs.reset(seed=1)
    with pytest.raises(ValueError, match=r"actions must have shape \(4,\)"):
        envs.step(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="integer dtype"):
        envs.step(np.zeros(4, np.float32))
    obs2, rewards, _, _, _ = envs.step([0, 1, 2, 200])  # lists work; out of range is an invalid action
    same = ProspectorVectorEnv(4)
    same.reset(seed=1)
    assert same.step(np.array([0, 1, 2, -1]))[1].tobytes() == rewards.tobytes()
    assert not np.shares_memory(obs, obs2)  # copy=True (default): returned arrays are the caller's
    fast = ProspectorVectorEnv(4, copy=False)
    a, _ = fast.reset(seed=1)
    b = fast.step(np.zeros(4, np.int64))[0]
    assert a is b  # copy=False: the env's own buffer, rewritten by every step


def test_bit_identical_to_vec_prospector():
    from prospector.vector import VecProspector

    n = 33
    vec = VecProspector(n, seed=8, time_max=50)
    envs = ProspectorVectorEnv(n, threads=2, time_max=50)
    obs_v, _ = vec.reset()
    obs_g, _ = envs.reset(seed=8)
    assert obs_v.tobytes() == obs_g.tobytes()
    rng = np.random.default_rng(8)
    for _ in range(200):
        actions = rng.integers(0, S.N_ACTIONS, n)
        obs_v, rew_v, term_v, trunc_v, infos_v = vec.step(actions)
        obs_g, rew_g, term_g, trunc_g, infos_g = envs.step(actions)
        assert obs_v.tobytes() == obs_g.tobytes() and rew_v.tobytes() == rew_g.tobytes()
        assert (term_v == term_g).all() and (trunc_v == trunc_g).all()
        ended = np.flatnonzero(term_g | trunc_g)
        assert len(ended) == len(infos_v)
        for i, info in zip(ended, infos_v):
            for key, value in info.items():
                assert infos_g["final_info"][key][i] == value, key
    vec.close()
    envs.close()


def test_no_pufferlib_torch_or_reference_on_the_gymnasium_path():
    code = (
        "import sys, gymnasium, numpy as np, prospector\n"
        "envs = gymnasium.make_vec('Prospector-v0', num_envs=4, threads=2)\n"
        "envs.reset(seed=0); envs.step(np.zeros(4, np.int64)); envs.close()\n"
        "env = gymnasium.make('Prospector-v0'); env.reset(seed=0); env.step(0)\n"
        "bad = [m for m in ('torch', 'pufferlib', 'prospector.reference', 'prospector.vector') if m in sys.modules]\n"
        "print(bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert prospector.ReferenceEnv.__name__ == "ReferenceEnv"  # still there, loaded on first use


WRAPPERS = {
    "NormalizeObservation": lambda env: gymnasium.wrappers.vector.NormalizeObservation(env),
    "TransformObservation": lambda env: gymnasium.wrappers.vector.TransformObservation(env, lambda obs: obs * 2.0),
    "NormalizeReward": lambda env: gymnasium.wrappers.vector.NormalizeReward(env, gamma=0.99),
    "ClipReward": lambda env: gymnasium.wrappers.vector.ClipReward(env, -0.05, 0.05),
    "RecordEpisodeStatistics": lambda env: gymnasium.wrappers.vector.RecordEpisodeStatistics(env),
}


def float32_rewards(envs):
    """The single games' rewards as float32, as the C batch returns them (SyncVectorEnv
    keeps float64), so that a reward wrapper sees the same numbers on both sides."""
    return gymnasium.wrappers.vector.TransformReward(envs, lambda r: r.astype(np.float32))


@pytest.mark.parametrize("mode", list(AutoresetMode))
@pytest.mark.parametrize("name", list(WRAPPERS))
def test_gymnasium_vector_wrappers_same_as_on_sync_vector_env(name, mode):
    """Each wrapper runs on the native env wherever Gymnasium runs it on SyncVectorEnv, with
    the same results bit for bit (and refuses the same modes with the same error)."""
    n, seeds = 5, [11, 12, 13, 14, 15]
    wrap = WRAPPERS[name]
    theirs_base = float32_rewards(sync_envs(n, mode, time_max=30))
    ours_base = gymnasium.make_vec("Prospector-v0", num_envs=n, time_max=30, autoreset_mode=mode)
    try:
        theirs = wrap(theirs_base)
    except ValueError as refused:
        with pytest.raises(ValueError, match="autoreset_mode"):
            wrap(ours_base)
        assert "autoreset_mode" in str(refused)
        return
    ours = wrap(ours_base)
    assert ours.reset(seed=seeds)[0].tobytes() == theirs.reset(seed=seeds)[0].tobytes()
    rng = np.random.default_rng(2)
    episodes, returns, lengths, restarting = 0, np.zeros(n), np.zeros(n, int), np.zeros(n, bool)
    for t in range(120):
        actions = rng.integers(0, S.N_ACTIONS, n)
        out_a, out_b = ours.step(actions), theirs.step(actions)
        assert out_a[0].tobytes() == out_b[0].tobytes(), f"step {t}"
        assert out_a[1].tobytes() == out_b[1].tobytes(), f"step {t}"
        assert (out_a[2] == out_b[2]).all() and (out_a[3] == out_b[3]).all()
        counted = ~restarting if mode is AutoresetMode.NEXT_STEP else np.ones(n, bool)
        returns[counted] += out_a[1][counted]
        lengths[counted] += 1
        ended = out_a[2] | out_a[3]
        restarting = ended
        if "episode" in out_a[4]:
            assert (out_a[4]["_episode"] == ended).all()
            assert out_a[4]["episode"]["r"][ended].tolist() == returns[ended].tolist()
            assert out_a[4]["episode"]["l"][ended].tolist() == lengths[ended].tolist()
            assert (out_a[4]["episode"]["t"][ended] >= 0).all()
            # (SyncVectorEnv pops reset_mask from the options, so that the wrapper over it
            # forgets every game's statistics on a masked reset: compared in the other modes)
            if mode is not AutoresetMode.DISABLED:
                for key in ("r", "l"):
                    assert out_a[4]["episode"][key][ended].tolist() == out_b[4]["episode"][key][ended].tolist()
            episodes += ended.sum()
        returns[ended], lengths[ended] = 0.0, 0
        if mode is AutoresetMode.DISABLED and (out_b[2] | out_b[3]).any():
            ended = out_b[2] | out_b[3]
            obs_a, _ = ours.reset(options={"reset_mask": ended.copy()})
            obs_b, _ = theirs.reset(options={"reset_mask": ended.copy()})
            assert obs_a.tobytes() == obs_b.tobytes()
    if name == "RecordEpisodeStatistics":
        assert episodes >= n
    ours.close()
    theirs.close()


def test_importing_id_works_without_import_prospector():
    """Gymnasium 1.x loads no plugins: "prospector:Prospector-v0" imports the package itself."""
    code = (
        "import gymnasium\n"
        "env = gymnasium.make('prospector:Prospector-v0'); env.reset(seed=0); env.step(6)\n"
        "envs = gymnasium.make_vec('prospector:Prospector-v0', num_envs=3); envs.reset(seed=0)\n"
        "print(type(env.unwrapped).__name__, type(envs).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ProspectorEnv", "ProspectorVectorEnv"]


def test_stable_baselines3_env_checker_passes():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gymnasium.make("prospector:Prospector-v0", render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        sb3_check_env(env.unwrapped)
