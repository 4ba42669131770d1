"""Threaded stepping of the C batch (docs/envs.md#threads).

Every thread count must give the same bits as one thread, the episode log must come
out in one thread's order, the workers must be started once, parked between steps
and joined when the handle is freed, and bad ``threads`` values must be refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from prospector import _core
from prospector import spec as S
from prospector.batch import GameBatch, available_cores

ROOT = Path(__file__).resolve().parents[1]


def play(num_envs: int, threads: int, steps: int, seed: int = 11, time_max: int = 40):
    """Steps a VecProspector with random actions; every step's arrays and episode infos."""
    from prospector.vector import VecProspector

    vec = VecProspector(num_envs, seed=seed, threads=threads, time_max=time_max)
    assert vec.threads == min(threads, num_envs)
    obs, _ = vec.reset()
    trace = [obs.copy()]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        vec.actions[:] = rng.integers(-1, S.N_ACTIONS + 1, num_envs)
        obs, rewards, terminals, truncations, infos = vec.step(vec.actions)
        trace.append((obs.copy(), rewards.copy(), terminals.copy(), truncations.copy(), infos))
    vec.close()
    return trace


def slices(num_envs: int, threads: int) -> list[range]:
    """The games each thread steps (ext/binding.c: contiguous and balanced)."""
    t = min(threads, num_envs)
    return [range(num_envs * s // t, num_envs * (s + 1) // t) for s in range(t)]


@pytest.mark.parametrize("num_envs", [37, 5])
def test_every_thread_count_gives_the_same_bits(num_envs):
    """37 games divide by none of 2, 3, 4, 7; 5 games are fewer than 7 threads."""
    steps = 300 if num_envs > 10 else 2000  # enough steps where games of several slices end at once
    one = play(num_envs, 1, steps)
    episodes = sum(len(step[4]) for step in one[1:])
    assert episodes > 3 * num_envs  # time_max 40 and random play end many episodes
    for threads in (2, 3, 4, 7):
        other = play(num_envs, threads, steps)
        assert one[0].tobytes() == other[0].tobytes()
        several_slices_ended = 0
        for t, (a, b) in enumerate(zip(one[1:], other[1:])):
            for name, x, y in zip(("obs", "rewards", "terminals", "truncations"), a[:4], b[:4]):
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), (
                    f"{name} differ at step {t}, {threads} threads"
                )
            assert a[4] == b[4], f"episode infos differ at step {t}, {threads} threads"
            ended = np.flatnonzero(a[2] | a[3])
            several_slices_ended += sum(any(i in s for i in ended) for s in slices(num_envs, threads)) > 1
        # the log order (slice by slice) was exercised, not only single-slice steps
        assert several_slices_ended > 10


def test_episode_log_follows_game_order():
    """Row k of the log belongs to the k-th game (by index) that ended in the step."""
    from prospector.vector import VecProspector

    vec = VecProspector(23, seed=4, threads=4, time_max=25)
    vec.reset()
    rng = np.random.default_rng(4)
    lengths = np.zeros(23, int)
    checked = 0
    for _ in range(200):
        vec.actions[:] = rng.integers(0, S.N_ACTIONS, 23)
        _, _, terminals, truncations, infos = vec.step(vec.actions)
        lengths += 1
        ended = np.flatnonzero(terminals | truncations)
        assert [info["episode_length"] for info in infos] == lengths[ended].tolist()
        checked += len(ended) > 1
        lengths[ended] = 0
    assert checked > 5
    vec.close()


@pytest.mark.parametrize("bad", [-1, -8, 1.5, 2.0, "2", None, True, [2]])
def test_bad_thread_counts_are_refused(bad):
    from prospector.vector import VecProspector

    with pytest.raises(ValueError, match=r"threads must be a whole number >= 0 \(0: one per available core\)"):
        VecProspector(8, threads=bad)
    with pytest.raises(ValueError, match="threads must be a whole number"):
        GameBatch(8, S.make_config(), threads=bad)


def test_core_refuses_fewer_than_one_thread():
    n = 4
    buffers = (
        np.zeros((n, S.OBS_DIM), np.float32),
        np.zeros(n, np.int32),
        np.zeros(n, np.float32),
        np.zeros(n, bool),
        np.zeros(n, bool),
    )
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        _core.vec_init(*buffers, S.config_array(S.make_config()), n, 0)


def test_zero_threads_means_one_per_available_core():
    batch = GameBatch(64, S.make_config(), threads=0)
    assert batch.threads == min(64, len(os.sched_getaffinity(0))) == min(64, available_cores())
    batch.close()
    assert GameBatch(1, S.make_config(), threads=0).threads == 1  # never more threads than games


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc (Linux)")
def test_workers_start_once_park_and_are_joined():
    import gc

    base = thread_count()
    batch = GameBatch(40, S.make_config(), threads=4)
    batch.reset(1)
    assert thread_count() == base  # started lazily, on the first threaded step
    for _ in range(50):
        batch.step()
        assert thread_count() == base + 3  # three workers plus the caller, no new ones per step
    batch.close()
    gc.collect()
    assert thread_count() == base  # freeing the handle joined them


SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import gymnasium, prospector
    from prospector import spec as S
    from prospector.batch import GameBatch

    # a handle left alive at exit, with its workers parked
    kept = GameBatch(50, S.make_config(), threads=3)
    kept.reset(2)
    kept.step()
    envs = gymnasium.make_vec("Prospector-v0", num_envs=9, threads=2)
    envs.reset(seed=1)
    envs.step(np.zeros(9, np.int64))

    # fork with running workers: the child starts its own, and both sides agree
    batch = GameBatch(30, S.make_config(), threads=2)
    batch.reset(3)
    for _ in range(5):
        batch.step()
    read, write = os.pipe()
    pid = os.fork()
    for _ in range(40):
        batch.actions[:] = (batch.actions + 7) % S.N_ACTIONS
        batch.step()
    if pid == 0:
        os.write(write, batch.observations.tobytes()[:4096])
        os._exit(0)
    got = b""
    while len(got) < 4096:
        got += os.read(read, 4096 - len(got))
    os.waitpid(pid, 0)
    assert got == batch.observations.tobytes()[:4096], "the forked child stepped differently"
    print("ok", flush=True)
""")


def test_interpreter_exits_with_workers_alive_and_after_fork():
    """No hang at exit with live handles; a child after fork() steps on its own workers."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


TSAN_SCRIPT = textwrap.dedent("""
    import numpy as np
    from prospector import _core, spec as S
    from prospector.batch import GameBatch

    for threads in (2, 3, 5):
        batch = GameBatch(37, S.make_config(time_max=30), threads=threads, final_obs=True)
        batch.reset(threads)
        rng = np.random.default_rng(threads)
        for _ in range(300):
            batch.actions[:] = rng.integers(0, S.N_ACTIONS, 37)
            batch.step()
        batch.close()
    print(_core.__file__, flush=True)
""")


@pytest.mark.native
def test_threaded_step_under_thread_sanitizer(tmp_path):
    """The binding built with ThreadSanitizer: 900 threaded steps (with terminal observations,
    log compaction, start and join) and not one data race."""
    import shutil
    import sysconfig

    gcc = shutil.which("gcc")
    libtsan = (
        subprocess.run([gcc, "-print-file-name=libtsan.so"], capture_output=True, text=True).stdout.strip()
        if gcc
        else ""
    )
    if not gcc or not os.path.isabs(libtsan):
        if os.environ.get("CI"):
            pytest.fail("gcc with libtsan is missing")
        pytest.skip("gcc with ThreadSanitizer (libtsan) is not installed")
    package = tmp_path / "prospector"
    shutil.copytree(ROOT / "prospector", package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    core = package / f"_core{sysconfig.get_config_var('EXT_SUFFIX')}"
    build = subprocess.run(
        [
            gcc,
            "-shared",
            "-fPIC",
            "-O1",
            "-g",
            "-fsanitize=thread",
            "-pthread",
            "-std=c11",
            "-ffp-contract=off",
            "-Wall",
            "-Werror",
            "-Wno-unused-function",
            f"-I{sysconfig.get_paths()['include']}",
            f"-I{ROOT / 'ext'}",
            str(ROOT / "ext" / "binding.c"),
            "-lm",
            "-o",
            str(core),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "LD_PRELOAD": libtsan,
        "TSAN_OPTIONS": "halt_on_error=1 exitcode=66",
    }
    proc = subprocess.run(
        [sys.executable, "-c", TSAN_SCRIPT], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ThreadSanitizer" not in proc.stderr
    assert proc.stdout.strip() == str(core)  # the sanitized build was the one stepping


def test_bench_measures_one_and_several_threads_in_one_run():
    from prospector.bench import format_table, run

    before = os.sched_getaffinity(0)
    result = run(envs=16, seconds=0.05, seed=1, threads=2)
    assert os.sched_getaffinity(0) == before  # more than one thread: the process is not pinned
    assert result["threads"] == 2 and result["cpu"] is None and result["target_thread_speedup"] == 1.8
    assert result["thread_speedup"] == result["sps_random"] / result["sps_random_1_thread"]
    for key in ("sps_random", "sps_random_1_thread", "sps_bot", "sps_gym_vector", "cpu_ns_per_step"):
        assert result[key] > 0, key
    table = format_table(result)
    assert "random actions, 1 thread" in table and "random actions, 2 threads" in table
    assert "gymnasium.make_vec, random actions" in table


@pytest.mark.parametrize("value", ["-1", "1.5", "two"])
def test_bench_refuses_bad_threads_in_one_line(value):
    proc = subprocess.run(
        [sys.executable, "-m", "prospector.cli", "bench", "--threads", value],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "argument --threads" in proc.stderr and "Traceback" not in proc.stderr
