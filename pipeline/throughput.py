"""Trained steps per second of the PPO loop (``prospector benchmark --throughput``).

Each point (workers, envs, env threads, torch threads) runs in a fresh process: the
default training config with that many games (1 worker: the Serial backend, the env
stepped in the trainer's process on ``env_threads`` C threads; more: PufferLib's
Multiprocessing backend with that many worker processes), torch on ``torch_threads``
intra-op threads, one warm-up collect + update, then collect + update until ``seconds``
have passed. The trainer is the real one (pipeline/puffer.py: PuffeRL with its sampler
and reward tap).
SPS is env steps over that wall time, learning included (what ``window_closed.sps``
reports). On a shared machine the wall time depends on what else runs, so each point
also reports ``sps_per_cpu_second``: env steps per CPU-second the trainer and its worker
processes actually got (user + system time, psutil), i.e. what one otherwise idle core
would give. The time is split into

* ``env``: inside the vector env's ``recv``/``send`` (stepping the games; for the
  Multiprocessing backend the wait for the workers),
* ``policy``: the rest of the collection (policy forward, sampling, copies into the
  batch, PuffeRL's bookkeeping),
* ``learn``: the PPO update (advantages, minibatch forward/backward, optimizer).

Each point runs in the compute dtype it is given (``compute_dtypes``; default the
training default, ``auto``) and reports what ``auto`` chose on this machine.

No run directory, checkpoint or W&B run is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ENVS = (64, 128, 256, 512, 1024, 2048, 4096)
WORKERS = (1, 2)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its worker processes so far."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def measure(envs: int, workers: int, seconds: float, overrides: dict | None = None) -> dict | None:
    """One point, in this process; under torchrun (``nproc`` > 1) every rank runs this and
    rank 0 returns the point with the ranks' steps and CPU time added up (None elsewhere)."""
    import torch

    from prospector import spec as S

    from . import distributed
    from .config import make_train_config
    from .policy import make_policy
    from .puffer import (
        EpisodeTap,
        env_threads_for,
        make_vecenv,
        puffer_config,
        resolve_compute_dtype,
    )
    from .puffer_trainer import WindowedPuffeRL
    from .trainer import RANK_SEED_STRIDE

    values = {
        "envs": envs,
        "workers": workers,
        "backend": "serial" if workers == 1 else "multiprocessing",
        "dashboard": False,
        "wandb": False,
        **(overrides or {}),
    }
    cfg = make_train_config(**values)
    cfg.minibatch_size = min(cfg.minibatch_size, cfg.batch_size)
    cfg.window_steps = max(cfg.window_steps, cfg.batch_size)
    cfg.total_steps, cfg.windows = 1 << 40, None
    cfg.validate()
    world = distributed.join(cfg.device)
    seed = cfg.seed + RANK_SEED_STRIDE * world.rank
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.torch_threads)
    threads = env_threads_for(cfg, world.local_size)
    vecenv = make_vecenv(cfg, S.make_config(time_max=cfg.time_max), threads=threads)
    timed = EpisodeTap(vecenv, cfg.reward_scale, cfg.reward_scale_end, cfg.planned_steps)
    policy = make_policy(cfg.policy, cfg.hidden_size, vecenv.driver_env, cfg.action_mask).to(world.device)
    trainer = WindowedPuffeRL(
        puffer_config(cfg, seed=seed, device=world.device),
        timed,
        distributed.wrap_policy(policy, world),
        distributed=world.distributed,
    )
    try:
        trainer.evaluate()
        trainer.train()
        timed.env_seconds = 0.0
        cpu0 = cpu_seconds()
        step0, t0 = trainer.global_step, time.perf_counter()
        collect = learn = 0.0
        batches = 0
        # every rank must run the same number of updates (each is an all-reduce): rank 0's clock decides
        while world.broadcast(batches < 2 or time.perf_counter() - t0 < seconds):
            a = time.perf_counter()
            trainer.evaluate()
            b = time.perf_counter()
            trainer.train()
            collect += b - a
            learn += time.perf_counter() - b
            batches += 1
        wall = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
        steps = trainer.global_step - step0
    finally:
        trainer.shutdown()
        vecenv.close()
    parts = world.gather((steps, cpu))
    world.leave()
    if not world.leader:
        return None
    steps, cpu = sum(part[0] for part in parts), sum(part[1] for part in parts)
    return {
        "nproc": world.size,
        "envs": envs,
        "workers": workers,
        "backend": cfg.backend,
        "batch_size": cfg.batch_size,
        "minibatch_size": cfg.minibatch_size,
        "hidden_size": cfg.hidden_size,
        "env_threads": threads,
        "torch_threads": cfg.torch_threads,
        "compute_dtype": resolve_compute_dtype(cfg.compute_dtype, world.device),
        "batches": batches,
        "steps": steps,
        "seconds": wall,
        "sps": steps / wall,
        "cpu_seconds": cpu,
        "sps_per_cpu_second": steps / cpu if cpu > 0 else None,
        "env_share": timed.env_seconds / wall,
        "policy_share": (collect - timed.env_seconds) / wall,
        "learn_share": learn / wall,
        "load_avg_1min": os.getloadavg()[0],
    }


def sweep(
    envs=None,
    workers=None,
    seconds: float = 20.0,
    progress: bool = True,
    overrides: dict | None = None,
    threads=None,
    torch_threads=None,
    nprocs=None,
    compute_dtypes=None,
) -> dict:
    """Every (workers, envs, env threads, torch threads, processes, compute dtype) point,
    each in fresh processes; a failed point is reported, not fatal. ``threads``,
    ``torch_threads`` and ``compute_dtypes`` default to the training config's (env_threads
    0: the cores shared out); ``nprocs`` above 1 run that many data-parallel ranks through
    torchrun (``train --nproc``)."""
    from .benchmark import machine

    points = []
    for w in workers or WORKERS:
        for n in envs or ENVS:
            if n % w:
                continue
            for t in threads or [None]:
                for tt in torch_threads or [None]:
                    for nproc in nprocs or [1]:
                        for dtype in compute_dtypes or [None]:
                            chosen = (("env_threads", t), ("torch_threads", tt), ("compute_dtype", dtype))
                            extra = {k: v for k, v in chosen if v is not None}
                            points.append(_point(n, w, seconds, {**(overrides or {}), **extra}, progress, nproc))
    return {"machine": machine(), "seconds_per_point": seconds, "points": points}


def _point(n: int, w: int, seconds: float, overrides: dict, progress: bool, nproc: int = 1) -> dict:
    """One point in fresh processes (no state carried from the point before)."""
    launcher = (
        [sys.executable]
        if nproc == 1
        else [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    )
    cmd = [*launcher, "-m", "prospector.pipeline.throughput", str(n), str(w), str(seconds), json.dumps(overrides)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds * 20 + 300, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    )
    try:
        point = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        point = {"envs": n, "workers": w, "nproc": nproc, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    if progress:
        print(format_point(point), file=sys.stderr, flush=True)
    return point


def format_point(p: dict) -> str:
    if "error" in p:
        return f"nproc {p.get('nproc', 1)} workers {p['workers']}  envs {p['envs']:>5}: error: {p['error']}"
    per_cpu = p.get("sps_per_cpu_second")
    return (
        f"nproc {p.get('nproc', 1)} workers {p['workers']} ({p['backend']:<15}) envs {p['envs']:>5} "
        f"threads {p.get('env_threads', 1)} "
        f"torch {p['torch_threads']} {dtype_label(p.get('compute_dtype'))}: {p['sps']:>9,.0f} steps/s  "
        f"({per_cpu or 0:>9,.0f} per CPU-second)  "
        f"env {p['env_share']:5.1%}  policy {p['policy_share']:5.1%}  learn {p['learn_share']:5.1%}  "
        f"(load {p['load_avg_1min']:.1f})"
    )


def dtype_label(choice: dict | None) -> str:
    """``auto->bfloat16`` / ``float32``: the setting, and what auto chose."""
    if not choice:
        return "float32"
    setting, dtype = choice["setting"], choice["dtype"]
    return dtype if setting == dtype else f"{setting}->{dtype}"


def format_sweep(result: dict) -> str:
    lines = [
        f"trained steps/s (collect + PPO update), {result['seconds_per_point']:.0f} s per point; {result['machine']}"
    ]
    lines += [format_point(p) for p in result["points"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    n, w, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    over = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    point = measure(n, w, s, over)
    if point is not None:  # rank 0 (or the only process)
        print(json.dumps(point))
