"""docs/game.md#7-parity-and-determinism: same seed + same actions => identical trajectories, in a process, across
processes, and between the vector env and chained single-env episodes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.reference import ReferenceEnv
from prospector.rng import env_seeds

ROOT = Path(__file__).resolve().parents[1]


def actions_for(seed: int, count: int) -> list[int]:
    """A fixed action sequence: uniform over 0..68 plus some out-of-range values."""
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, S.N_ACTIONS, count)
    wild = rng.random(count) < 0.05
    acts[wild] = -1
    return [int(a) for a in acts]


def record(env, seed: int, actions: list[int]) -> list[tuple]:
    """The whole trajectory as comparable data (obs bytes, reward bits, flags, info),
    chaining episodes with reset() (no seed) as a vector env does."""
    out = []
    obs, info = env.reset(seed=seed)
    out.append(("reset", obs.tobytes(), repr(sorted(info.items()))))
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs.tobytes(), struct.pack("<d", reward), terminated, truncated, repr(sorted(info.items()))))
        if terminated or truncated:
            obs, info = env.reset()
            out.append(("reset", obs.tobytes(), repr(sorted(info.items()))))
    return out


@pytest.mark.parametrize("cls", [ProspectorEnv, ReferenceEnv])
def test_same_seed_same_actions_same_trajectory(cls):
    actions = actions_for(5, 3000)
    a = record(cls(time_max=400), 99, actions)
    b = record(cls(time_max=400), 99, actions)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"trajectories differ at record {i}"
    assert sum(1 for r in a if r[0] == "reset") > 3, "the run should chain several episodes"


def test_different_seeds_differ():
    actions = actions_for(5, 50)
    assert record(ProspectorEnv(), 1, actions) != record(ProspectorEnv(), 2, actions)


def test_interleaved_envs_do_not_share_state():
    """Two C envs stepped alternately equal two envs stepped one after the other."""
    actions = actions_for(8, 1500)
    solo = record(ProspectorEnv(time_max=300), 7, actions)
    e1, e2 = ProspectorEnv(time_max=300), ProspectorEnv(time_max=300)
    o1, _ = e1.reset(seed=7)
    o2, _ = e2.reset(seed=1234)
    assert o1.tobytes() == solo[0][1]
    i = 1
    for a, b in zip(actions, actions_for(9, 1500)):
        obs, reward, term, trunc, info = e1.step(a)
        assert (obs.tobytes(), struct.pack("<d", reward), term, trunc) == solo[i][:4], f"step record {i}"
        i += 1
        if term or trunc:
            e1.reset()
            i += 1
        *_, t2, u2, _ = e2.step(b)
        if t2 or u2:
            e2.reset()


@pytest.mark.parametrize("cls", [ProspectorEnv, ReferenceEnv])
def test_reseeding_a_used_env_equals_a_fresh_env(cls):
    """reset(seed) must clear everything a long previous episode left behind
    (including the C core's observation-writer caches)."""
    used = cls()
    record(used, 3, actions_for(1, 700))
    assert record(used, 42, actions_for(2, 600)) == record(cls(), 42, actions_for(2, 600))


# ----------------------------------------------------------------- processes
HASH_SCRIPT = r"""
import hashlib, struct, sys
import numpy as np

def trajectory_hash():
    from prospector import VecProspector, spec as S
    from prospector.envs import ProspectorEnv
    from prospector.reference import ReferenceEnv
    h = hashlib.sha256()
    rng = np.random.default_rng(2024)
    for cls, steps in ((ProspectorEnv, 3000), (ReferenceEnv, 600)):
        env = cls(time_max=500)
        obs, info = env.reset(seed=31337)
        h.update(obs.tobytes())
        for _ in range(steps):
            obs, reward, term, trunc, info = env.step(int(rng.integers(-1, S.N_ACTIONS + 1)))
            h.update(obs.tobytes()); h.update(struct.pack("<d?", reward, term or trunc))
            h.update(repr(sorted(info.items())).encode())
            if term or trunc:
                obs, info = env.reset()
                h.update(obs.tobytes())
    vec = VecProspector(64, seed=777, time_max=300)
    obs, _ = vec.reset()
    h.update(obs.tobytes())
    for _ in range(300):
        obs, rew, term, trunc, infos = vec.step(rng.integers(-1, S.N_ACTIONS + 1, 64).astype(np.int32))
        h.update(obs.tobytes()); h.update(rew.tobytes()); h.update(term.tobytes()); h.update(trunc.tobytes())
        h.update(repr([sorted(i.items()) for i in infos]).encode())
    vec.close()
    return h.hexdigest()

if __name__ == "__main__":
    print(trajectory_hash())
"""


def test_identical_across_processes():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = []
    for hash_seed in ("1", "2"):  # different str hashing: no dependence on dict/set order
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", HASH_SCRIPT],
                cwd=ROOT,
                env=dict(env, PYTHONHASHSEED=hash_seed),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    namespace: dict = {}
    exec(compile(HASH_SCRIPT, "<hash script>", "exec"), namespace)
    here = namespace["trajectory_hash"]()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(out.strip())
    assert outputs[0] == outputs[1], "two processes produced different trajectories"
    assert outputs[0] == here, "a subprocess differs from this process"


# ------------------------------------------------------- vector vs single env
def test_vector_env_equals_chained_single_envs():
    """VecProspector env i with seed S == ProspectorEnv reset(seed=env_seeds(S, N)[i]),
    then reset() without a seed after each episode (the chain continues)."""
    from prospector import VecProspector

    n, seed, steps = 6, 2718, 700
    config = {"time_max": 120}
    vec = VecProspector(n, seed=seed, **config)
    vobs, _ = vec.reset()
    singles = [ProspectorEnv(**config) for _ in range(n)]
    seeds = env_seeds(seed, n)
    returns, lengths = [0.0] * n, [0] * n
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=seeds[i])
        assert obs.tobytes() == vobs[i].tobytes(), f"env {i}: first observation differs"
        assert env.snapshot()["episode_seed"] == seeds[i]
    rng = np.random.default_rng(0)
    episodes = 0
    for t in range(steps):
        actions = rng.integers(0, S.N_ACTIONS, n).astype(np.int32)
        vobs, vrew, vterm, vtrunc, vinfos = vec.step(actions)
        vobs = vobs.copy()
        finished = []
        for i, env in enumerate(singles):
            obs, reward, term, trunc, info = env.step(int(actions[i]))
            returns[i] += reward
            lengths[i] += 1
            assert np.float32(reward) == vrew[i], f"env {i} step {t}: reward"
            assert (term, trunc) == (bool(vterm[i]), bool(vtrunc[i])), f"env {i} step {t}: flags"
            if term or trunc:
                finished.append((info, returns[i], lengths[i]))
                returns[i], lengths[i] = 0.0, 0
                obs, _ = env.reset()  # no seed: continue the chain
            assert obs.tobytes() == vobs[i].tobytes(), f"env {i} step {t}: observation"
        assert len(vinfos) == len(finished)
        for vinfo, (info, ret, length) in zip(vinfos, finished):
            for key in S.INFO_KEYS:
                assert vinfo[key] == info[key], key
            assert vinfo["end_reason"] == info["end_reason"]
            assert vinfo["episode_return"] == ret
            assert vinfo["episode_length"] == length
        episodes += len(finished)
    vec.close()
    assert episodes >= 2 * n, "the chain should have been exercised several times per env"


def test_vector_envs_stepped_from_threads():
    """vec_step releases the GIL: two vector envs stepped in parallel threads must give
    exactly what each gives alone (no shared mutable state in the C core)."""
    import threading

    from prospector import VecProspector

    def run(seed, out):
        vec = VecProspector(64, seed=seed, time_max=200)
        obs, _ = vec.reset()
        rng = np.random.default_rng(seed)
        h = [obs.tobytes()]
        for _ in range(200):
            obs, rew, term, trunc, infos = vec.step(rng.integers(0, S.N_ACTIONS, 64).astype(np.int32))
            h.append(obs.tobytes() + rew.tobytes() + term.tobytes() + trunc.tobytes())
        out[seed] = h
        vec.close()

    alone: dict = {}
    run(1, alone)
    run(2, alone)
    together: dict = {}
    threads = [threading.Thread(target=run, args=(s, together)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together[1] == alone[1] and together[2] == alone[2]
