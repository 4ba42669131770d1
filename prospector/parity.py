"""Bit-exact parity of the C core against the Python reference (docs/game.md#7-parity-and-determinism).

Both games start from the same seed and take the same actions; at every step we
compare the float32 observation bytes, the float64 reward bits, terminated,
truncated, every info value's bits and the events.  At the end of each episode the
whole state snapshots are compared too.  The first difference stops the run with
seed, step, action, field and both values.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from . import spec as S
from .envs import ProspectorEnv
from .reference import ReferenceEnv
from .state import events_to_dicts


@dataclass
class Mismatch:
    seed: int
    step: int
    action: int
    policy: str
    field: str
    reference: object
    native: object

    def __str__(self) -> str:
        return (
            f"parity mismatch: policy={self.policy} seed={self.seed} step={self.step} "
            f"action={self.action} ({action_label(self.action)}) field={self.field}\n"
            f"  reference: {self.reference!r}\n  native:    {self.native!r}"
        )


def action_label(action: int) -> str:
    return S.ACTION_NAMES[action] if 0 <= action < S.N_ACTIONS else "out of range"


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _first_diff(a, b, path=""):
    """Path of the first difference between two snapshot trees (exact float compare)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() | b.keys():
            if key not in a or key not in b:
                return f"{path}.{key}", a.get(key), b.get(key)
            found = _first_diff(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length)", len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_diff(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, float) or isinstance(b, float):
        return None if bits(float(a)) == bits(float(b)) else (path, a, b)
    return None if a == b and type(a) is type(b) else (path, a, b)


def random_policy(rng: np.random.Generator):
    """Uniform over 0..68, with 1 in 10 actions out of range (-5..-1, 69..80)."""

    def act(obs):
        if rng.random() < 0.1:
            return int(rng.choice([-5, -1, 69, 70, 80]))
        return int(rng.integers(0, S.N_ACTIONS))

    return act


def valid_policy(rng: np.random.Generator, env: ReferenceEnv):
    """Uniform over the actions valid now (reaches mining, selling, buying...), but
    never CASH_OUT, so episodes run long; 1 in 20 actions is a random invalid one."""

    def act(obs):
        mask = env.action_mask()
        mask[S.A_CASH_OUT] = False
        if rng.random() < 0.05 or not mask.any():
            return int(rng.integers(-3, S.N_ACTIONS + 3))
        return int(rng.choice(np.flatnonzero(mask)))

    return act


POLICIES = ("random", "valid", "greedy_miner", "cautious_scanner", "market_timer")


def compare_seed(seed: int, steps: int, policy_name: str, config: dict | None = None) -> Mismatch | None:
    """Run `steps` steps (episodes chain on, as in a vector env) and compare each one."""
    ref, nat = ReferenceEnv(config), ProspectorEnv(config)
    bot = None
    if policy_name == "random":
        policy = random_policy(np.random.default_rng(seed))
    elif policy_name == "valid":
        policy = valid_policy(np.random.default_rng(seed), ref)
    else:
        from .bots import make_bot

        bot = make_bot(policy_name)
        policy = bot.act
    obs_r, _ = ref.reset(seed=seed)
    obs_n, _ = nat.reset(seed=seed)
    if obs_r.tobytes() != obs_n.tobytes():
        return Mismatch(seed, 0, -1, policy_name, _obs_field(obs_r, obs_n), obs_r.tolist(), obs_n.tolist())
    for t in range(1, steps + 1):
        action = policy(obs_r)
        obs_r, rew_r, term_r, trunc_r, info_r = ref.step(action)
        values_r = ref._info_values()
        obs_n, rew_n, term_n, trunc_n, values_n, end_n, events_n = nat.raw_step(action)
        if obs_r.tobytes() != obs_n.tobytes():
            i = _obs_index(obs_r, obs_n)
            return Mismatch(
                seed, t, action, policy_name, f"obs[{i}] {S.OBSERVATION_NAMES[i]}", float(obs_r[i]), float(obs_n[i])
            )
        if bits(rew_r) != bits(rew_n):
            return Mismatch(seed, t, action, policy_name, "reward", rew_r, rew_n)
        if (term_r, trunc_r) != (term_n, trunc_n):
            return Mismatch(seed, t, action, policy_name, "terminated/truncated", (term_r, trunc_r), (term_n, trunc_n))
        for key, a, b in zip(S.INFO_KEYS, values_r, values_n):
            if bits(float(a)) != bits(float(b)):
                return Mismatch(seed, t, action, policy_name, f"info.{key}", a, b)
        events_native = events_to_dicts(events_n)
        if info_r["events"] != events_native:
            return Mismatch(seed, t, action, policy_name, "events", info_r["events"], events_native)
        if info_r.get("end_reason") != (None if end_n < 0 else S.END_REASONS[end_n]):
            return Mismatch(seed, t, action, policy_name, "end_reason", info_r.get("end_reason"), end_n)
        if term_r or trunc_r:
            diff = _first_diff(ref.snapshot(), nat.snapshot())
            if diff:
                return Mismatch(seed, t, action, policy_name, f"state{diff[0]}", diff[1], diff[2])
            obs_r, _ = ref.reset()
            obs_n, _ = nat.reset()
            if obs_r.tobytes() != obs_n.tobytes():
                return Mismatch(seed, t, -1, policy_name, "obs after chained reset", obs_r.tolist(), obs_n.tolist())
            if bot is not None:
                bot.reset()
    return None


def _obs_index(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.flatnonzero(a.view(np.uint32) != b.view(np.uint32))[0])


def _obs_field(a, b) -> str:
    i = _obs_index(a, b)
    return f"obs[{i}] {S.OBSERVATION_NAMES[i]}"


def _task(args) -> tuple[int, str, dict | None]:
    seed, steps, policy = args
    mismatch = compare_seed(seed, steps, policy)
    return seed, policy, (None if mismatch is None else mismatch.__dict__)


def run_parity(
    seeds: int, steps: int, policies: list[str], first_seed: int = 0, workers: int = 1, progress: bool = False
) -> dict:
    """Compare `seeds` seeds x `policies`, `steps` steps each, over `workers` processes.

    Stops at the first mismatch. Returns {"mismatch": None or the Mismatch fields, ...}.
    """
    import sys
    import time
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    tasks = [(seed, steps, policy) for seed in range(first_seed, first_seed + seeds) for policy in policies]
    start = time.perf_counter()
    done = 0
    mismatch = None
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = set()
        queue = iter(tasks)
        for task in queue:  # keep a bounded number of tasks in flight
            pending.add(pool.submit(_task, task))
            if len(pending) >= workers * 4:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                _, _, found = future.result()
                done += 1
                if found and mismatch is None:
                    mismatch = found
            if mismatch:
                for future in pending:
                    future.cancel()
                break
            for task in queue:
                pending.add(pool.submit(_task, task))
                if len(pending) >= workers * 4:
                    break
            if progress and done % max(1, len(tasks) // 20) == 0:
                print(
                    f"  parity: {done}/{len(tasks)} seed-policy runs, 0 differences "
                    f"({time.perf_counter() - start:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "mismatch": None if mismatch is None else str(Mismatch(**mismatch)),
        "mismatch_detail": mismatch,
        "seeds": seeds,
        "steps": steps,
        "policies": policies,
        "runs_compared": done,
        "steps_compared": done * steps if mismatch is None else None,
        "seconds": time.perf_counter() - start,
    }
