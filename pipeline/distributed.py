"""Data-parallel training over several processes with ``torch.distributed``
(docs/training.md#several-processes).

``prospector train --nproc N`` (``launch()``) starts N ranks through torchrun's engine
(``torch.distributed.launcher``: the elastic agent that ``torchrun``/``python -m
torch.distributed.run`` runs), each running ``prospector train`` with the same
options; ``torchrun ... prospector train ...`` by hand does the same, on one machine
or several. Each rank steps its own games (seeded apart) and holds a policy replica
under ``DistributedDataParallel`` (gloo on the CPU, nccl on CUDA), so every PPO update
averages the gradients of all ranks and the replicas stay identical.

Rank 0 alone touches the run store: it opens (or resumes) the run and sends the others
what they need (run id, config, checkpoint); it alone writes the event log,
checkpoints, W&B and starts evaluators. At a window's end every rank sends it its
episodes, losses and steps (``gather``), so the row covers every rank's games and the
total steps/s. A failing rank stops the others: the launcher sends them SIGTERM
(signals.py's ``stop_on_sigterm`` turns it into an exception, so rank 0 still writes
``run_finished``), and a rank that hangs trips the process group's timeout
(``PROSPECTOR_DIST_TIMEOUT`` seconds, default 300).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 300
HOLD_POLL_S = 0.2


class RankStopped(RuntimeError):
    """This rank was told to stop (SIGTERM from the launcher) or lost a peer."""


@dataclass
class World:
    """This process's place among the ranks; one rank alone when not under torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    device: str = "cpu"

    @property
    def leader(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    # ---------------------------------------------------------- collectives

    def broadcast(self, value):
        """Rank 0's ``value`` on every rank (any picklable object)."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        box = [value if self.leader else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value) -> list | None:
        """Every rank's ``value``, in rank order, on rank 0 (None elsewhere)."""
        if not self.distributed:
            return [value]
        import torch.distributed as dist

        out = [None] * self.size if self.leader else None
        dist.gather_object(value, out, dst=0)
        return out

    def hold(self, busy: Callable[[], bool]) -> None:
        """Every rank waits while rank 0's ``busy()`` says so (others' ``busy`` is not
        called). Rank 0 asks every ``HOLD_POLL_S`` and tells the others each time, so a
        long wait (evaluators behind) never trips the process group's timeout, while a
        dead rank 0 still does."""
        if not self.distributed:
            while busy():
                time.sleep(HOLD_POLL_S)
            return
        import torch
        import torch.distributed as dist

        flag = torch.zeros(1, dtype=torch.int32, device=self.device)
        while True:
            if self.leader:
                flag.fill_(int(bool(busy())))
            dist.broadcast(flag, src=0)
            if not int(flag.item()):
                return
            if self.leader:
                time.sleep(HOLD_POLL_S)

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def leave(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def world_from_env(env=os.environ) -> tuple[int, int, int, int]:
    """(rank, size, local rank, local size) that torchrun gives every rank; one rank without."""
    size = int(env.get("WORLD_SIZE", "1"))
    rank = int(env.get("RANK", "0"))
    local_rank = int(env.get("LOCAL_RANK", "0"))
    local_size = int(env.get("LOCAL_WORLD_SIZE", str(size)))
    return rank, size, local_rank, local_size


def join(device: str) -> World:
    """This process's World: under torchrun (WORLD_SIZE > 1) the process group is formed
    here, gloo on the CPU and nccl on CUDA (each rank on GPU ``LOCAL_RANK``)."""
    rank, size, local_rank, local_size = world_from_env()
    import torch

    if size <= 1:
        if device.startswith("cuda:"):
            # PuffeRL opens torch.amp.autocast(device_type=<its device>), which takes "cuda"
            # but not "cuda:N": make N the current device and say "cuda"
            torch.cuda.set_device(int(device.split(":", 1)[1]))
            device = "cuda"
        return World(device=device)
    import torch.distributed as dist

    if device.startswith("cuda"):
        if torch.cuda.device_count() < local_size:
            raise RankStopped(
                f"{local_size} ranks on this machine need {local_size} CUDA devices, {torch.cuda.device_count()} found"
            )
        torch.cuda.set_device(local_rank)  # "cuda" is now this rank's GPU (see above for why not cuda:N)
        device, backend = "cuda", "nccl"
    else:
        backend = "gloo"
    timeout = float(os.environ.get("PROSPECTOR_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
    with _quiet_stdout():  # gloo prints "[Gloo] Rank 0 is connected to 1 peer ranks" on stdout, unasked
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout))
    return World(rank, size, local_rank, local_size, device)


@contextlib.contextmanager
def _quiet_stdout():
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def wrap_policy(policy, world: World):
    """The policy under DistributedDataParallel: its gradients are averaged over the ranks
    in every backward pass, and rank 0's initial weights are copied to all. PuffeRL calls
    ``forward_eval`` to act (no gradients, so the replica's own) and reads ``hidden_size``
    for the LSTM; DDP's wrapper has neither, so they are set on it."""
    if not world.distributed:
        return policy
    from torch.nn.parallel import DistributedDataParallel

    ids = [world.local_rank] if world.device.startswith("cuda") else None
    model = DistributedDataParallel(policy, device_ids=ids, output_device=ids[0] if ids else None)
    model.forward_eval = policy.forward_eval
    if hasattr(policy, "hidden_size"):
        model.hidden_size = policy.hidden_size
    return model


def is_peer_failure(exc: BaseException) -> bool:
    """A collective that failed because another rank is gone or hung (gloo, nccl, timeout)."""
    import torch.distributed as dist

    kinds = tuple(k for k in (getattr(dist, "DistError", None), getattr(dist, "DistBackendError", None)) if k)
    text = str(exc).lower()
    return isinstance(exc, kinds) or (
        isinstance(exc, RuntimeError)
        and any(
            word in text for word in ("gloo", "nccl", "connection closed", "connection reset", "timed out", "timeout")
        )
    )


# ----------------------------------------------------------------- launching

#: What one rank holds whatever its games: the interpreter, torch, PufferLib, the C
#: games, the policy and its optimizer (about 0.5 GiB measured on the CPU).
RANK_BASE_BYTES = 512 << 20
#: And per step of its batch (games x bptt_horizon): the observation in PuffeRL's
#: buffer and in a minibatch copy (float32), and PPO's per-step arrays.
RANK_BYTES_PER_STEP = 2 * 4 * 260 + 256
#: Where the launcher tells its ranks its pid (die_with_launcher).
LAUNCHER_PID_ENV = "PROSPECTOR_LAUNCHER_PID"


def rank_memory_bytes(envs: int, bptt_horizon: int) -> int:
    """About how much memory one rank of ``train --nproc`` needs."""
    return RANK_BASE_BYTES + envs * bptt_horizon * RANK_BYTES_PER_STEP


def available_memory_bytes() -> int | None:
    """Memory this process may still take: the kernel's MemAvailable, less where a cgroup
    (a container's limit) leaves less; None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            found += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            found.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def nproc_limit(cores: int, free: int | None, per_rank: int) -> tuple[int, str]:
    """How many ranks fit (a core each, ``per_rank`` bytes each of ``free``; None: unknown)
    and why that many."""
    by_memory = free // per_rank if free is not None else cores
    if by_memory < cores:
        gib = 1 << 30
        return by_memory, f"{free / gib:.1f} GiB of memory available at about {per_rank / gib:.1f} GiB per rank"
    return cores, f"{cores} available CPU cores, one per rank"


def check_nproc(nproc: int, envs: int, bptt_horizon: int) -> None:
    """Refuse (ValueError, one line) more ranks than this machine can run: a core each, and
    the memory each needs (docs/training.md#several-processes). Unbounded, ``--nproc 64``
    on 2 cores started 64 ranks that took 20 GB within a minute."""
    from prospector.batch import available_cores

    limit, reason = nproc_limit(available_cores(), available_memory_bytes(), rank_memory_bytes(envs, bptt_horizon))
    if nproc <= limit:
        return
    if "memory" in reason:
        reason += f" ({envs} games x bptt_horizon {bptt_horizon})"
    if limit < 1:
        raise ValueError(f"--nproc {nproc}: this machine cannot run a rank now: {reason}")
    raise ValueError(f"--nproc {nproc}: this machine runs at most {limit} ranks: {reason}")


def die_with_launcher() -> None:
    """(A rank of torchrun, first thing.) Ask Linux to SIGKILL this rank when its launcher
    dies: the agent starts every rank in a session of its own, so ``kill -9`` of the
    launcher's process group left them running, still training and holding the run's
    writer lock (docs/reliability.md#ranks-die-with-their-launcher). SIGKILL, not
    SIGTERM: a rank blocked in a collective would not run a Python handler."""
    if "LOCAL_RANK" not in os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux
    launcher = os.environ.get(LAUNCHER_PID_ENV)
    parent = os.getppid()
    if parent == 1 or (launcher and launcher.isdigit() and parent != int(launcher)):
        os._exit(1)  # the launcher died before the request took effect


def launch(nproc: int, train_argv: list[str], env: dict | None = None) -> int:
    """Run ``prospector train *train_argv`` as ``nproc`` ranks on this machine through
    torchrun's elastic agent (a local rendezvous on a free port, no restarts). Returns
    0, or the exit status of the first rank that failed (its own message is printed)."""
    import uuid

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"prospector-{uuid.uuid4().hex[:12]}",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        max_restarts=0,
        monitor_interval=0.5,
        start_method="spawn",
    )
    _quiet_launcher_logs()
    if env:
        os.environ.update(env)
    # the agent starts the ranks from this thread: they die with this process (die_with_launcher)
    os.environ[LAUNCHER_PID_ENV] = str(os.getpid())
    try:
        elastic_launch(config, sys.executable)("-m", "prospector.cli", "train", *train_argv)
    except ChildFailedError as exc:
        first = min(exc.failures.values(), key=lambda failure: failure.timestamp)
        return first.exitcode if first.exitcode > 0 else 1
    except SignalException as exc:  # Ctrl-C or SIGTERM: the agent passed it on to the ranks, which
        return 128 + int(exc.sigval)  # cleaned up and said so, and waited for them
    return 0


def _quiet_launcher_logs() -> None:
    """The agent logs every step of the rendezvous at INFO/WARNING; a user wants the ranks'
    own output and, on failure, one line (the failure itself is the ranks' to print)."""
    import logging

    for name in ("torch.distributed.elastic", "torch.distributed.launcher"):
        logging.getLogger(name).setLevel(logging.ERROR)
