"""The PufferLib glue: PufferLib's PPO trainer (``pufferlib.pufferl.PuffeRL``) adapted to the
windowed trainer (trainer.py), every divergence from stock PuffeRL listed and made here.
The class that puts them together, ``WindowedPuffeRL``, is in puffer_trainer.py (defining
it imports PuffeRL, which this module does only when asked); the terminal it draws its
dashboard on is dashboard.py's. Importing this module registers nothing process-wide.

The trainer drives PuffeRL's own ``evaluate()`` (collect one batch) and ``train()`` (one
PPO update); the PPO maths is PufferLib's, unchanged. Where it differs, and why:

1. **Ctrl-C and tracebacks.** Importing ``pufferlib.pufferl`` makes SIGINT call
   ``os._exit(0)`` and installs rich's traceback printer as ``sys.excepthook``. A Ctrl-C
   (or a soak's stop) then ended a run with status 0, no ``run_finished``, no final
   projections and orphaned evaluators. ``import_pufferl()`` imports it and puts Python's
   own SIGINT handler (KeyboardInterrupt, so ``train()`` cleans up) and excepthook back.
2. **Collection** (``WindowedPuffeRL.evaluate``; docs/benchmarks.md#training-overhead).
   Stock ``evaluate()`` with the same buffers, rows and order, less around the policy:
   actions drawn by ``policy.sample_actions`` (one uniform number per game; PuffeRL's
   ``sample_logits`` is softmax + ``multinomial``, several times slower on the CPU, and
   also computes an entropy that collection throws away); the episode bookkeeping of the
   batch rows in numpy instead of small tensors read back with ``.item()``; the reward
   clipped and the done flags converted straight into the batch buffers.
3. **Reward scale and clip.** PuffeRL clips every reward to [-1, 1]; here the bound is the
   ``reward_clip`` setting (1 by default, as stock). ``EpisodeTap`` is the vector
   env PuffeRL is given: it multiplies the rewards the learner sees by a scheduled scale
   (the env's rewards and the episode infos stay untouched) and keeps every finished
   episode's info for the window row.
4. **Checkpoints.** ``save_checkpoint()`` does nothing: a run's checkpoints are the
   trainer's, one per window, atomic and in the event log (trainer.close_window).
   ``close()`` (which copies PufferLib's checkpoint) is never called; ``shutdown()`` is.
5. **The utilisation thread.** PuffeRL starts a non-daemon thread sampling CPU and GPU use
   every second for its dashboard; left running it keeps the interpreter from exiting.
   Without a dashboard it is stopped at once, otherwise in ``shutdown()``.
6. **The dashboard** (dashboard.py). Stock PuffeRL clears the screen, then repaints from the top-left
   corner without erasing what it does not overwrite; lines printed between repaints and
   after training land on leftover text (``windows: 3st, value, root_dir)``), and a
   dashboard taller than the terminal scrolls on every repaint. Here it is drawn only
   on a terminal, in the terminal's alternate screen (as ``less`` or ``top`` do), each
   line erased to its end, cropped to the terminal's height, with the trainer's own
   lines (``note()``) under it. ``shutdown()`` leaves the alternate screen, shows the
   cursor and prints those lines again, so the user's screen is as it was, followed by
   a clean account of the run. Without a terminal there is no dashboard.
7. **Env workers** (``make_vecenv``). PufferLib's Multiprocessing workers poll shared
   memory forever and never notice that the trainer died (kill -9); forked while
   ``make_vecenv`` builds them, each asks Linux to kill it with the trainer
   (``PR_SET_PDEATHSIG``), through a fork hook that ``make_vecenv`` registers once
   (``kill_env_workers_with_trainer``), never on import. Every worker steps its games
   on C threads (``env_threads``).
8. **Several ranks** (distributed.py). PuffeRL's ``mean_and_log()`` and
   ``print_dashboard()`` call ``all_reduce`` whenever 0.25 s of wall time have passed,
   which differs between ranks: mismatched collectives hang or corrupt the gradient
   all-reduce. With several ranks neither runs a collective (no dashboard; the window
   row carries the totals, gathered at the window's end).
9. **The PPO update** (``WindowedPuffeRL.train``; docs/benchmarks.md#training-overhead).
   The same minibatches, losses and optimizer steps as stock ``train()``, with its waste
   removed: stock recomputes the advantages of the whole batch before every minibatch
   (the values and importance ratios of the previous minibatch's segments changed) and
   once more for the minibatch, into a tensor it then discards. The advantage kernel
   works segment by segment, so here the whole batch is computed once per update and
   afterwards only the segments the previous minibatch changed: the same numbers. No
   copies of buffers the losses do not read; the loss figures are added up as tensors
   and read once per update; autocast is entered and left around the forward pass
   (stock enters it twice per minibatch and never leaves it, so under bfloat16 it would
   stay on for the rest of the thread). Entropy and log-probabilities come from
   ``policy.sample_logits`` (PufferLib's values).
10. **Compute dtype** (``compute_dtype``, docs/training.md#compute-dtype). PuffeRL's
   ``precision`` (its autocast) is the run's resolved compute dtype: ``bfloat16``
   autocast for the forward passes and the update where the hardware computes bfloat16
   natively, else float32. Parameters, optimizer state and checkpoints stay float32.
11. **Info averages nobody reads.** PufferLib's ``Serial`` backend calls ``_avg_infos()``
   after every step: it averages that step's infos with numpy into a dict it neither
   returns nor keeps (pufferlib/vector.py), 1-6 % of a trained step here. ``EpisodeTap``
   replaces it on its vector env with a function that does nothing.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
import warnings
from collections import defaultdict

import numpy as np


def import_pufferl():
    """``pufferlib.pufferl``, imported with Python's SIGINT handler and excepthook kept (1)."""
    import signal

    on_main = threading.current_thread() is threading.main_thread()
    hook = sys.excepthook
    import pufferlib.pufferl

    sys.excepthook = hook
    # Only PufferLib's handler (os._exit) is replaced: the update calls this again, and the
    # trainer's CtrlC (signals.py), installed by then, must stay.
    if on_main and getattr(signal.getsignal(signal.SIGINT), "__module__", None) == "pufferlib.pufferl":
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # PuffeRL opens a float32 autocast context; on the CPU torch warns that it is a no-op.
    warnings.filterwarnings("ignore", message="In CPU autocast, but the target dtype is not supported")
    return pufferlib.pufferl


def puffer_config(cfg, seed: int | None = None, total_timesteps: int | None = None, device: str | None = None) -> dict:
    """The plain config dict PuffeRL reads (pufferlib-core ships no .ini files).

    ``seed`` (the games' seeds), ``total_timesteps`` (the LR anneal's length) and ``device``
    default to the run's; a rank of a distributed run passes its own (distributed.py)."""
    return {
        "env": "prospector",
        "seed": cfg.seed if seed is None else seed,
        "torch_deterministic": True,
        "device": device or cfg.device,
        "cpu_offload": False,
        "compile": False,
        "compile_mode": "default",
        "compile_fullgraph": False,
        "precision": resolve_compute_dtype(cfg.compute_dtype, device or cfg.device)["dtype"],
        "optimizer": "adam",
        "learning_rate": cfg.learning_rate,
        "anneal_lr": True,
        "adam_beta1": 0.95,
        "adam_beta2": 0.999,
        "adam_eps": 1e-12,
        "total_timesteps": cfg.planned_steps if total_timesteps is None else total_timesteps,
        "batch_size": cfg.batch_size,
        "bptt_horizon": cfg.bptt_horizon,
        "minibatch_size": cfg.minibatch_size,
        "max_minibatch_size": cfg.minibatch_size,
        "update_epochs": cfg.update_epochs,
        "gamma": cfg.gamma,
        "gae_lambda": cfg.gae_lambda,
        "clip_coef": cfg.clip_coef,
        "vf_coef": cfg.vf_coef,
        "vf_clip_coef": cfg.vf_clip_coef,
        "ent_coef": cfg.ent_coef,
        "ent_coef_end": cfg.ent_coef if cfg.ent_coef_end is None else cfg.ent_coef_end,
        "reward_clip": cfg.reward_clip,
        "reward_clip_end": cfg.reward_clip if cfg.reward_clip_end is None else cfg.reward_clip_end,
        "max_grad_norm": cfg.max_grad_norm,
        "vtrace_rho_clip": 1.0,
        "vtrace_c_clip": 1.0,
        "prio_alpha": 0.0,
        "prio_beta0": 1.0,  # alpha 0: uniform minibatches (plain PPO)
        "use_rnn": cfg.policy == "lstm",
        "checkpoint_interval": 1 << 30,
        "data_dir": "unused",
    }


_forking_env_workers_for: int | None = None  # the trainer's pid while it forks env workers
_fork_hook_registered = False


def kill_env_workers_with_trainer() -> None:
    """Register (once; later calls do nothing) the fork hook that makes the env workers
    ``make_vecenv`` forks die with the trainer (7). Called explicitly, not on import: a
    process that only imports this module gets no process-wide hook."""
    global _fork_hook_registered
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_env_worker_dies_with_trainer)
        _fork_hook_registered = True


def _env_worker_dies_with_trainer() -> None:
    """(In every forked child.) PufferLib's multiprocessing workers poll shared memory
    forever and never notice that the trainer died (kill -9): ask Linux to kill them with it."""
    if _forking_env_workers_for is None:
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: the workers outlive a killed trainer, as before
    if os.getppid() != _forking_env_workers_for:
        os._exit(1)  # the trainer died before the request took effect


def make_vecenv(cfg, env_config: dict, threads: int | None = None):
    """PufferLib's vector env over ``VecProspector``: ``cfg.workers`` of them (Serial in this
    process, or Multiprocessing), each stepping its games on ``threads`` C threads (default
    from ``cfg.env_threads``: ``env_threads_for``)."""
    import pufferlib.vector

    from prospector.vector import VecProspector

    global _forking_env_workers_for
    kill_env_workers_with_trainer()
    backend = pufferlib.vector.Multiprocessing if cfg.backend == "multiprocessing" else pufferlib.vector.Serial
    _forking_env_workers_for = os.getpid()
    try:
        return pufferlib.vector.make(
            VecProspector,
            backend=backend,
            num_envs=cfg.workers,
            num_workers=cfg.workers,
            env_kwargs={
                "num_envs": cfg.envs // cfg.workers,
                "config": env_config,
                "threads": env_threads_for(cfg) if threads is None else threads,
            },
            seed=cfg.seed,
        )
    finally:
        _forking_env_workers_for = None


def env_threads_for(cfg, processes_here: int = 1) -> int:
    """C threads per vector env: ``cfg.env_threads``, or for 0 this machine's available
    cores shared out over the env workers and the ranks on this machine (at least one)."""
    if cfg.env_threads:
        return cfg.env_threads
    from prospector.batch import available_cores

    return max(1, available_cores() // (cfg.workers * processes_here))


def _discarded_anyway() -> None:
    """Stands in for PufferLib's ``Serial._avg_infos`` (11)."""


class EpisodeTap:
    """The vector env as PuffeRL sees it (3): PufferLib's vector env, with the rewards the
    learner sees multiplied by a scale, every finished episode's info kept, and the
    seconds spent in the env added up (``env_seconds``, for the throughput benchmark).

    Why a scale: PuffeRL clips each step's reward to [-1, 1]. The game's rewards reach ±20
    for a sale or a purchase, −50 for stranding and −100 for destruction; clipped, a
    20,000-credit sale counts as much as a 1,000-credit one and losing the ship costs as
    little as one sale. A scale below 1 lets the learner see more of the game's true
    trade-offs. ``reward_scale`` is the scale at the start and ``reward_scale_end`` (if
    set) the scale at the end of the planned steps, reached geometrically (docs/results.md:
    a small scale from the start makes dying the only thing the learner notices, and it
    learns to sit still). The env, its reward and the window metrics are untouched.

    It offers exactly what PuffeRL reads from a vector env: the spaces, ``num_agents``,
    ``agents_per_batch`` (LSTM), ``async_reset``, ``recv``, ``send`` and ``close``.
    """

    def __init__(
        self,
        vecenv,
        reward_scale: float = 1.0,
        reward_scale_end: float | None = None,
        planned_steps: int = 1,
        first_step: int = 0,
    ):
        self.vecenv = vecenv
        if hasattr(vecenv, "_avg_infos"):  # (11)
            vecenv._avg_infos = _discarded_anyway
        self.single_observation_space = vecenv.single_observation_space
        self.single_action_space = vecenv.single_action_space
        self.action_space = vecenv.action_space
        self.num_agents = vecenv.num_agents
        self.agents_per_batch = vecenv.agents_per_batch
        self.start, self.end = reward_scale, reward_scale if reward_scale_end is None else reward_scale_end
        self.planned_steps = max(1, planned_steps)
        self.step = first_step  # env steps received so far (this process's)
        self.episodes: list[dict] = []
        self.env_seconds = 0.0

    def scale(self) -> float:
        return geometric(self.start, self.end, min(1.0, self.step / self.planned_steps))

    def async_reset(self, seed=None):
        self.vecenv.async_reset(seed)

    def recv(self):
        t = time.perf_counter()
        out = self.vecenv.recv()
        self.env_seconds += time.perf_counter() - t
        self.episodes.extend(info for info in out[5] if "episode_return" in info)
        scale = self.scale()
        self.step += len(out[1])
        if scale != 1.0:
            out = (out[0], out[1] * np.float32(scale), *out[2:])
        return out

    def send(self, actions):
        t = time.perf_counter()
        self.vecenv.send(actions)
        self.env_seconds += time.perf_counter() - t

    def close(self):
        self.vecenv.close()


class LastLogs:
    """PuffeRL's logger: keeps only the newest logs (W&B is logged per window, wandb_sink.py)."""

    run_id = "prospector"

    def __init__(self):
        self.logs: dict = {}

    def log(self, logs, step):
        self.logs = logs

    def close(self, model_path):
        pass


COMPUTE_DTYPES = ("auto", "float32", "bfloat16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is not there)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bfloat16_support(device: str, flags: frozenset[str] | None = None) -> tuple[bool, bool, str]:
    """(computes bfloat16 natively, bfloat16 pays here, the hardware in words) for a torch
    device; ``flags``: the CPU's (default: this machine's). On the CPU bfloat16 pays with
    AMX-BF16 (matrix tiles); AVX512-BF16 alone runs it natively but gains little."""
    if str(device).startswith("cuda"):
        import torch

        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
        return ok, ok, f"the CUDA device {'computes' if ok else 'does not compute'} bfloat16 natively"
    flags = cpu_flags() if flags is None else flags
    amx, avx512 = "amx_bf16" in flags, "avx512_bf16" in flags
    if amx:
        return True, True, "this CPU has AMX-BF16"
    if avx512:
        return True, False, "this CPU has AVX512-BF16 but no AMX-BF16"
    return False, False, "this CPU has neither AMX-BF16 nor AVX512-BF16"


def resolve_compute_dtype(setting: str, device: str, flags: frozenset[str] | None = None) -> dict:
    """What ``compute_dtype`` means here (10): ``{"setting", "dtype", "why"}``. ``auto`` is
    bfloat16 where it pays and float32 elsewhere; ``bfloat16`` on hardware without it is
    refused (ValueError, one line) rather than run emulated, several times slower."""
    label = "compute_dtype (--compute-dtype)"
    if setting not in COMPUTE_DTYPES:
        raise ValueError(f"{label} = {setting!r}: choose auto, float32 or bfloat16")
    if setting == "float32":
        return {"setting": setting, "dtype": "float32", "why": "asked for"}
    native, pays, hardware = bfloat16_support(device, flags)
    if setting == "bfloat16" and not native:
        raise ValueError(f"{label} = 'bfloat16': {hardware} ({device}); use auto or float32")
    dtype = "bfloat16" if setting == "bfloat16" or pays else "float32"
    return {"setting": setting, "dtype": dtype, "why": hardware}


def collect_batch(self):
    """``WindowedPuffeRL.evaluate``: stock ``PuffeRL.evaluate()`` with less around the
    policy (2): one batch of ``segments x bptt_horizon`` steps into PuffeRL's buffers."""
    import torch

    from .policy import ALLOWED_KEY, sample_actions

    profile, epoch, config = self.profile, self.epoch, self.config
    profile("eval", epoch)
    profile("eval_misc", epoch, nest=True)
    device, horizon, rnn = config["device"], config["bptt_horizon"], config["use_rnn"]
    if rnn:
        for key in self.lstm_h:
            self.lstm_h[key].zero_()
            self.lstm_c[key].zero_()
    steps = np.zeros(self.total_agents, np.int64)  # steps each game has written to its row
    rows = np.arange(self.total_agents)  # the batch row each game writes to
    free_row, self.full_rows = self.total_agents, 0
    while self.full_rows < self.segments:
        profile("env", epoch)
        o, r, d, _, _, info, env_id, mask = self.vecenv.recv()
        profile("eval_forward", epoch)
        first, stop = int(env_id[0]), int(env_id[-1]) + 1
        self.global_step += int(mask.sum())
        obs, reward, done = (torch.as_tensor(x).to(device) for x in (o, r, d))
        state = {"reward": reward, "done": done, "env_id": slice(first, stop), "mask": mask}
        if rnn:
            state["lstm_h"], state["lstm_c"] = self.lstm_h[first], self.lstm_c[first]
        with torch.no_grad(), self.amp_context:
            logits, value = self.policy.forward_eval(obs, state)
            action, logprob = sample_actions(logits)
        profile("eval_copy", epoch)
        if rnn:
            self.lstm_h[first], self.lstm_c[first] = state["lstm_h"], state["lstm_c"]
        step, batch_rows = int(steps[first]), slice(int(rows[first]), int(rows[stop - 1]) + 1)
        if state.get(ALLOWED_KEY) is not None:  # the policy's action mask, kept for the update
            if getattr(self, "allowed", None) is None:
                self.allowed = self.logprobs.new_ones(*self.logprobs.shape, state[ALLOWED_KEY].shape[-1])
            self.allowed[batch_rows, step] = state[ALLOWED_KEY]
        self.observations[batch_rows, step] = obs
        self.actions[batch_rows, step] = action
        self.logprobs[batch_rows, step] = logprob
        clip = reward_clip(self)
        torch.clamp(reward, -clip, clip, out=self.rewards[batch_rows, step])
        self.terminals[batch_rows, step] = done  # bool to float in the copy
        self.values[batch_rows, step] = value.flatten()
        steps[first:stop] += 1
        if step + 1 >= horizon:
            rows[first:stop] = free_row + np.arange(stop - first)
            steps[first:stop] = 0
            free_row += stop - first
            self.full_rows += stop - first
        profile("eval_misc", epoch)
        _add_infos(self.stats, info)
        profile("env", epoch)
        self.vecenv.send(action.cpu().numpy())
    profile("eval_misc", epoch)
    self.free_idx = self.total_agents
    profile.end()
    return self.stats


def _add_infos(stats, infos) -> None:
    """PuffeRL's statistics of the finished episodes, as stock ``evaluate()`` keeps them."""
    import pufferlib

    for info in infos:
        for key, value in pufferlib.unroll_nested_dict(info):
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, (list, tuple)):
                stats[key].extend(value)
            else:
                stats[key].append(value)


LOSS_NAMES = ("policy_loss", "value_loss", "entropy", "old_approx_kl", "approx_kl", "clipfrac", "importance")


def ppo_update(self):
    """``WindowedPuffeRL.train``: stock ``PuffeRL.train()``, the same minibatches, losses
    and steps, with its waste removed (9)."""
    import torch

    profile, epoch, config = self.profile, self.epoch, self.config
    profile("train", epoch)
    alpha, beta0 = config["prio_alpha"], config["prio_beta0"]
    anneal_beta = beta0 + (1 - beta0) * alpha * self.epoch / self.total_epochs
    self.ratio[:] = 1
    if getattr(self, "advantages", None) is None:
        self.advantages = torch.zeros_like(self.values)  # allocated once, kept between updates
    advantages, changed = self.advantages, None
    totals = torch.zeros(len(LOSS_NAMES), dtype=torch.float64, device=self.values.device)
    for mb in range(self.total_minibatches):
        profile("train_misc", epoch, nest=True)
        advantages = _refresh_advantages(self, advantages, changed)
        profile("train_copy", epoch)
        weights = torch.nan_to_num(advantages.abs().sum(axis=1) ** alpha, 0, 0, 0)
        prio_probs = (weights + 1e-6) / (weights.sum() + 1e-6)
        idx = torch.multinomial(prio_probs, self.minibatch_segments)
        mb_prio = (self.segments * prio_probs[idx, None]) ** -anneal_beta
        loss, figures = _minibatch_loss(self, idx, advantages, mb_prio)
        totals += figures
        changed = idx
        profile("learn", epoch)
        loss.backward()
        if (mb + 1) % self.accumulate_minibatches == 0:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), config["max_grad_norm"])
            self.optimizer.step()
            self.optimizer.zero_grad()
    profile("train_misc", epoch)
    if config["anneal_lr"]:
        self.scheduler.step()
    y_pred = self.values.flatten()
    y_true = advantages.flatten() + y_pred
    var_y = y_true.var()
    losses = dict(zip(LOSS_NAMES, (totals / self.total_minibatches).tolist()))
    losses["explained_variance"] = float("nan") if var_y == 0 else (1 - (y_true - y_pred).var() / var_y).item()
    profile.end()
    return _end_update(self, losses)


def _refresh_advantages(self, advantages, changed):
    """The batch's advantages as stock computes them before every minibatch: all segments
    at first, then only ``changed`` (the previous minibatch's segments, whose values and
    ratios moved); the kernel works segment by segment, so the others are unchanged (9)."""
    import torch

    config = self.config
    # already imported with the trainer's base class (import_pufferl); a plain import is a
    # lookup, where import_pufferl() would put SIGINT's handler back on every minibatch
    import pufferlib.pufferl

    compute = pufferlib.pufferl.compute_puff_advantage
    coefs = (config["gamma"], config["gae_lambda"], config["vtrace_rho_clip"], config["vtrace_c_clip"])
    if changed is None:
        advantages.zero_()  # the kernel leaves each segment's last step at zero, as stock's fresh tensor
        return compute(self.values, self.rewards, self.terminals, self.ratio, advantages, *coefs)
    rows = changed.unique()
    fresh = torch.zeros(len(rows), advantages.shape[1], device=advantages.device)
    fresh = compute(self.values[rows], self.rewards[rows], self.terminals[rows], self.ratio[rows], fresh, *coefs)
    advantages[rows] = fresh
    return advantages


def _minibatch_loss(self, idx, advantages, mb_prio):
    """Stock PuffeRL's loss on the segments ``idx`` (without the copies it does not read);
    writes the new values and ratios back, as stock. Returns (loss, the LOSS_NAMES figures)."""
    import torch

    from .policy import ALLOWED_KEY, sample_logits

    config = self.config
    clip_coef, vf_clip = config["clip_coef"], config["vf_clip_coef"]
    # index_select copies whole segments; indexing (``buffer[idx]``) went element by element
    buffers = (self.observations, self.actions, self.logprobs, self.values, advantages)
    mb_obs, mb_actions, mb_logprobs, mb_values, mb_advantages = (b.index_select(0, idx) for b in buffers)
    mb_returns = mb_advantages + mb_values
    self.profile("train_forward", self.epoch)
    if not config["use_rnn"]:
        mb_obs = mb_obs.reshape(-1, *self.vecenv.single_observation_space.shape)
    state = {"action": mb_actions, "lstm_h": None, "lstm_c": None}
    if getattr(self, "allowed", None) is not None:  # the masks of collection, same rows (2)
        state[ALLOWED_KEY] = self.allowed.index_select(0, idx).reshape(-1, self.allowed.shape[-1])
    with self.amp_context:
        logits, newvalue = self.policy(mb_obs, state)
    _, newlogprob, entropy = sample_logits(logits, action=mb_actions)
    self.profile("train_misc", self.epoch)
    logratio = newlogprob.reshape(mb_logprobs.shape) - mb_logprobs
    ratio = logratio.exp()
    self.ratio[idx] = ratio.detach()
    with torch.no_grad():
        old_approx_kl = (-logratio).mean()
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean()
    adv = mb_prio * (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
    pg_loss = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
    newvalue = newvalue.view(mb_returns.shape).float()
    v_clipped = mb_values + torch.clamp(newvalue - mb_values, -vf_clip, vf_clip)
    v_loss = 0.5 * torch.max((newvalue - mb_returns) ** 2, (v_clipped - mb_returns) ** 2).mean()
    entropy_loss = entropy.mean()
    loss = pg_loss + config["vf_coef"] * v_loss - entropy_weight(self) * entropy_loss
    self.values[idx] = newvalue.detach()
    figures = torch.stack([pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac, ratio.mean()])
    return loss, figures.detach().double()


def geometric(start: float, end: float, progress: float) -> float:
    """``start`` at progress 0, ``end`` at 1, a constant ratio per step in between: the
    reward scale's and the clip's schedule (they move together, docs/results.md#keeping-the-ship)."""
    return start * (end / start) ** progress


def _progress(self) -> float:
    """How far the rank is through its planned steps, 0 to 1 (the schedules' clock)."""
    return min(1.0, self.global_step / max(1, self.config["total_timesteps"]))


def entropy_weight(self) -> float:
    """The entropy bonus's weight now: ``ent_coef`` at the start, ``ent_coef_end`` at the end
    of the planned steps, linear in the rank's env steps as the learning rate's anneal is."""
    start, end = self.config["ent_coef"], self.config["ent_coef_end"]
    return start + (end - start) * _progress(self)


def reward_clip(self) -> float:
    """The bound the learner's rewards are clipped to now (3): ``reward_clip`` at the start,
    ``reward_clip_end`` at the end, geometric in between as the reward scale is."""
    return geometric(self.config["reward_clip"], self.config["reward_clip_end"], _progress(self))


def _end_update(self, losses: dict):
    """Stock ``train()``'s end: the epoch counted, logs and dashboard every 0.25 s."""
    logs = None
    self.epoch += 1
    done_training = self.global_step >= self.config["total_timesteps"]
    if done_training or self.global_step == 0 or time.time() > self.last_log_time + 0.25:
        logs = self.mean_and_log()
        self.losses = losses
        self.print_dashboard()
        self.stats = defaultdict(list)
        self.last_log_time = time.time()
        self.last_log_step = self.global_step
        self.profile.clear()
    if self.epoch % self.config["checkpoint_interval"] == 0 or done_training:
        self.save_checkpoint()
        self.msg = f"Checkpoint saved at update {self.epoch}"
    return logs
