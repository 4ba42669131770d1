"""The trainer's overhead work (docs/benchmarks.md#training-overhead): the fused observation mask, the samplers, the
adapted PPO update, and the compute dtype (docs/training.md#compute-dtype,
docs/benchmarks.md#training-overhead). Speed itself is measured on the benchmarks page,
never here."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from prospector.pipeline import policy as P
from prospector.pipeline.store.log import read_events

from prospector import spec as S

REPO = Path(__file__).resolve().parents[1]


def former_mask(obs: torch.Tensor) -> torch.Tensor:
    """The observation mask as pipeline/policy.py computed it before it was fused (about
    45 tensor ops): kept here as the oracle the fused one must equal (since then with the
    credits test of the three fixed-price purchases, at the default prices)."""
    from prospector.masks import purchase_credit_thresholds

    obs = obs.reshape(obs.shape[0], S.OBS_DIM)
    n = obs.shape[0]
    on = obs > 0.5
    fuel, cargo, docked, mining = obs[:, S.O_FUEL], obs[:, S.O_CARGO], on[:, S.O_DOCKED], on[:, S.O_MINING]
    at_station = on[:, S.O_NODE_TYPE + S.STATION]
    stacks = obs[:, S.O_CARGO_C : S.O_CARGO_C + len(S.COMMODITIES)] > 0
    neighbors_end = S.NEIGHBOR_BASE + S.MAX_NEIGHBORS * S.NEIGHBOR_STRIDE
    neighbor = on[:, S.NEIGHBOR_BASE + S.N_VALID : neighbors_end : S.NEIGHBOR_STRIDE]
    asteroid = on[:, S.ASTEROID_BASE + S.A_VALID : S.OBS_ASTEROIDS.stop : S.ASTEROID_STRIDE]
    selected = (on[:, S.ASTEROID_BASE + S.A_SELECTED : S.OBS_ASTEROIDS.stop : S.ASTEROID_STRIDE] & asteroid).any(dim=1)
    kits, stabilizers = obs[:, S.O_KITS] > 0, obs[:, S.O_STABILIZERS] > 0
    items_below_cap = obs[:, S.O_KITS : S.O_DECOYS + 1] < 1
    affordable = obs[:, S.O_CREDITS, None] > torch.tensor(purchase_credit_thresholds())
    worn = (obs[:, S.O_HULL] < 1) | (obs[:, S.O_TOOL] < 1)
    yes = torch.ones(n, dtype=torch.bool)
    cols = [
        neighbor,
        yes[:, None],
        (fuel > 0)[:, None],
        asteroid.any(dim=1)[:, None],
        selected[:, None],
        selected[:, None],
        (~docked)[:, None],
        asteroid,
        (mining & (cargo < 1))[:, None].expand(n, 3),
        (selected & stabilizers)[:, None],
        (cargo > 0)[:, None],
        yes[:, None],
        kits[:, None],
        kits[:, None],
        stacks,
        (at_station & ~docked)[:, None],
        (stacks & docked[:, None]).repeat_interleave(3, dim=1),
        (docked & (fuel < 1))[:, None].expand(n, 3),
        items_below_cap & docked[:, None] & affordable,
        (docked & worn)[:, None],
        torch.zeros(n, 1, dtype=torch.bool),
    ]
    return torch.cat(cols, dim=1)


def bot_driven_observations(count: int = 3000) -> np.ndarray:
    """The states of the existing mask test (tests/test_benchmark.py): three bots, with a
    random valid action (CASH_OUT aside) 30 % of the time, until ``count`` observations."""
    from prospector.bots import make_bot
    from prospector.envs import ProspectorEnv

    rng = np.random.default_rng(0)
    seen = []
    for seed in range(40):
        if len(seen) >= count:
            break
        env = ProspectorEnv(S.make_config())
        obs, _ = env.reset(seed=seed)
        bot = make_bot(("greedy_miner", "cautious_scanner", "market_timer")[seed % 3], 1, seed)
        for _ in range(1500):
            seen.append(obs)
            valid = env.action_mask()
            valid[S.A_CASH_OUT] = False
            action = bot.act(obs)
            if rng.random() < 0.3:
                action = int(rng.choice(np.flatnonzero(valid)))
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated or len(seen) >= count:
                break
    assert len(seen) >= count
    return np.stack(seen).astype(np.float32)


def test_fused_mask_equals_the_former_mask_on_bot_driven_states():
    from prospector.masks import obs_action_mask as numpy_rule

    obs = bot_driven_observations()
    x = torch.as_tensor(obs)
    fused = P.obs_allowed_actions(x)
    assert fused.dtype == torch.float32 and set(fused.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(fused > 0.5, former_mask(x))
    assert np.array_equal((fused > 0.5).numpy(), numpy_rule(obs))
    assert torch.equal(P.obs_action_mask(x), former_mask(x))
    # every action is both allowed and refused somewhere in these states, CASH_OUT never allowed
    assert not fused[:, S.A_CASH_OUT].any()
    # and the same on states no bot reaches: noise around the thresholds, and edges
    rng = np.random.default_rng(1)
    noisy = torch.as_tensor(rng.choice([-1.0, 0.0, 1e-30, 0.25, 0.5, 0.5000001, 0.9999999, 1.0], (4000, S.OBS_DIM)))
    # credits on, and a float32 step either side of, the purchases' thresholds
    near = torch.tensor(P.DEFAULT_CREDIT_THRESHOLDS)
    near = torch.cat([near, near.nextafter(torch.tensor(-1.0)), near.nextafter(torch.tensor(2.0))])
    noisy[::2, S.O_CREDITS] = near[torch.as_tensor(rng.integers(0, len(near), 2000))].double()
    assert torch.equal(P.obs_allowed_actions(noisy.float()) > 0.5, former_mask(noisy.float()))


def test_masked_logits_are_exactly_the_masked_value_with_masked_fills_gradient():
    x = torch.as_tensor(bot_driven_observations(300))
    allowed = P.obs_allowed_actions(x)
    logits = torch.randn(300, S.N_ACTIONS, requires_grad=True)
    masked = P.apply_mask(logits, allowed)
    reference = logits.masked_fill(allowed < 0.5, P.MASKED_LOGIT)
    assert torch.equal(masked, reference)
    weights = torch.randn(300, S.N_ACTIONS)
    (grad,) = torch.autograd.grad((masked * weights).sum(), logits)
    (grad_ref,) = torch.autograd.grad((reference * weights).sum(), logits)
    assert torch.equal(grad, grad_ref)


def test_sampling_log_probabilities_and_entropy_equal_pufferlibs():
    import pufferlib.pytorch

    torch.manual_seed(0)
    logits = torch.randn(500, S.N_ACTIONS) * 3
    logits[:, 5] = P.MASKED_LOGIT
    logits[:100, 40:] = P.MASKED_LOGIT
    actions = torch.randint(0, 40, (500,)).int()
    _, logprob, entropy = P.sample_logits(logits, action=actions)
    _, logprob_ref, entropy_ref = pufferlib.pytorch.sample_logits(logits, action=actions)
    assert torch.allclose(logprob, logprob_ref.reshape(-1), atol=1e-5)
    assert torch.allclose(entropy, entropy_ref.reshape(-1), atol=1e-5)
    # a draw: its log-probability is log_softmax's, and masked actions are never drawn
    drawn, logprob_drawn = P.sample_actions(logits)
    expected = torch.log_softmax(logits, -1).gather(1, drawn.long()[:, None]).squeeze(1)
    assert torch.allclose(logprob_drawn, expected, atol=1e-5)
    assert (logits.gather(1, drawn.long()[:, None]) > P.MASKED_LOGIT).all()


def test_draws_follow_the_distribution():
    torch.manual_seed(0)
    row = torch.tensor([[P.MASKED_LOGIT, 0.0, 1.0, P.MASKED_LOGIT, 2.0, P.MASKED_LOGIT]]).expand(40000, 6)
    drawn, _ = P.sample_actions(row)
    freq = torch.bincount(drawn.long(), minlength=6).float() / 40000
    assert torch.allclose(freq, torch.softmax(row[0], -1), atol=0.01)
    assert freq[0] == freq[3] == freq[5] == 0  # first, middle and last: masked, never drawn


# ------------------------------------------------------------------ the adapted PPO update


def tiny_trainer(compute_dtype: str = "float32", envs: int = 64, policy: str = "mlp"):
    from prospector.pipeline.config import make_train_config
    from prospector.pipeline.puffer import EpisodeTap, make_vecenv, puffer_config
    from prospector.pipeline.puffer_trainer import WindowedPuffeRL

    cfg = make_train_config(
        envs=envs,
        bptt_horizon=16,
        minibatch_size=256,
        hidden_size=32,
        policy=policy,
        compute_dtype=compute_dtype,
        wandb=False,
        dashboard=False,
    )
    torch.manual_seed(3)
    vecenv = make_vecenv(cfg, S.make_config(time_max=200), threads=1)
    policy_module = P.make_policy(cfg.policy, cfg.hidden_size, vecenv.driver_env, cfg.action_mask)
    trainer = WindowedPuffeRL(puffer_config(cfg), EpisodeTap(vecenv), policy_module)
    return trainer, policy_module, vecenv


def snapshot(trainer, policy) -> dict:
    return {
        "policy": copy.deepcopy(policy.state_dict()),
        "optimizer": copy.deepcopy(trainer.optimizer.state_dict()),
        "scheduler": copy.deepcopy(trainer.scheduler.state_dict()),
        "values": trainer.values.clone(),
        "ratio": trainer.ratio.clone(),
        "epoch": trainer.epoch,
        "rng": torch.get_rng_state(),
    }


def restore(trainer, policy, state: dict) -> None:
    policy.load_state_dict(state["policy"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.values.copy_(state["values"])
    trainer.ratio.copy_(state["ratio"])
    trainer.epoch = state["epoch"]
    torch.set_rng_state(state["rng"])


def leave_stock_autocast() -> None:
    """Stock ``train()`` enters its autocast context twice per minibatch and never leaves
    it (pipeline/puffer.py, item 9): leave it here, or the autocast cache of every later
    test in this process outlives its regions (weights cast under no_grad, reused with grad)."""
    while torch.autocast_decrement_nesting() > 0:
        pass
    torch.clear_autocast_cache()
    torch.set_autocast_enabled("cpu", False)


@pytest.mark.parametrize("policy_kind", ["mlp", "lstm"])
def test_ppo_update_equals_stock_puffe_rl(policy_kind):
    """One update on the same collected batch: ours (advantages once, then only the
    segments a minibatch changed; masks kept from collection; index_select) and stock
    PuffeRL.train() end with the same weights and loss figures."""
    import pufferlib.pytorch
    from prospector.pipeline.puffer import import_pufferl

    stock_train = import_pufferl().PuffeRL.train
    trainer, policy, vecenv = tiny_trainer(policy=policy_kind)
    try:
        trainer.evaluate()
        assert trainer.total_minibatches == 4
        before = snapshot(trainer, policy)
        trainer.last_log_time = 0.0  # both log their losses
        trainer.train()
        ours = (copy.deepcopy(policy.state_dict()), dict(trainer.losses), trainer.values.clone())
        restore(trainer, policy, before)
        trainer.last_log_time = 0.0
        stock_sampler = pufferlib.pytorch.sample_logits
        pufferlib.pytorch.sample_logits = P.sample_logits  # the same sampler maths in both
        try:
            stock_train(trainer)
        finally:
            pufferlib.pytorch.sample_logits = stock_sampler
            leave_stock_autocast()
        for name, tensor in policy.state_dict().items():
            assert torch.allclose(ours[0][name], tensor, atol=1e-6, rtol=1e-5), name
        assert torch.allclose(ours[2], trainer.values, atol=1e-6)
        for key, value in trainer.losses.items():
            assert ours[1][key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    finally:
        trainer.shutdown()
        vecenv.close()


def test_bfloat16_update_leaves_autocast_off_and_weights_float32():
    from prospector.pipeline.puffer import bfloat16_support

    if not bfloat16_support("cpu")[0]:
        pytest.fail("this test needs a CPU with native bfloat16 (see test_bfloat16_is_refused_without_hardware)")
    trainer, policy, vecenv = tiny_trainer("bfloat16")
    try:
        trainer.evaluate()
        trainer.train()
        assert not torch.is_autocast_enabled("cpu")  # stock train() enters it and never leaves
        assert all(p.dtype == torch.float32 for p in policy.parameters())
        assert trainer.values.dtype == torch.float32 and torch.isfinite(trainer.values).all()
    finally:
        trainer.shutdown()
        vecenv.close()


# ------------------------------------------------------------------ the compute dtype setting


def test_compute_dtype_resolution():
    from prospector.pipeline.puffer import resolve_compute_dtype

    amx = frozenset({"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    avx = frozenset({"avx512f", "avx512_bf16"})
    plain = frozenset({"avx2"})
    assert resolve_compute_dtype("auto", "cpu", amx)["dtype"] == "bfloat16"
    assert resolve_compute_dtype("auto", "cpu", avx)["dtype"] == "float32"
    assert resolve_compute_dtype("auto", "cpu", plain)["dtype"] == "float32"
    assert resolve_compute_dtype("bfloat16", "cpu", avx)["dtype"] == "bfloat16"
    assert resolve_compute_dtype("float32", "cpu", amx)["dtype"] == "float32"
    with pytest.raises(ValueError, match=r"^compute_dtype \(--compute-dtype\) = 'bfloat16': this CPU has neither"):
        resolve_compute_dtype("bfloat16", "cpu", plain)
    with pytest.raises(ValueError, match=r"compute_dtype \(--compute-dtype\) = 'float16': choose auto"):
        resolve_compute_dtype("float16", "cpu", amx)


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    command = [sys.executable, "-m", "prospector.cli", "train", "--runs-dir", str(tmp_path / "runs")]
    return subprocess.run(
        [*command, "--no-wandb", "--no-dashboard", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "auto"])
def test_tiny_training_in_each_dtype_checkpoints_float32(tmp_path, dtype):
    from prospector.pipeline.checkpoint import checkpoint_policy, read_checkpoint
    from prospector.pipeline.puffer import resolve_compute_dtype

    options = ("--run-id", "t", "--windows", "1", "--envs", "64", "--window-steps", "2048", "--time-max", "60")
    out = cli(tmp_path, *options, "--compute-dtype", dtype)
    try:
        expected = resolve_compute_dtype(dtype, "cpu")
    except ValueError as refusal:  # bfloat16 on a CPU without it: refused at start, one line
        assert out.returncode == 2 and out.stderr.strip() == f"prospector train: error: {refusal}"
        assert not (tmp_path / "runs" / "t").exists()
        return
    assert out.returncode == 0, out.stderr[-3000:]
    events = list(read_events(tmp_path / "runs" / "t"))
    started = events[0]
    assert started["config"]["train"]["compute_dtype"] == dtype
    assert started["compute_dtype"] == expected  # auto's choice, and why, in run_started
    saved = next(e for e in events if e["type"] == "checkpoint_saved")
    state = read_checkpoint(tmp_path / "runs" / "t" / saved["path"], saved["sha256"])
    assert all(t.dtype == torch.float32 for t in state["policy"].values())
    policy = checkpoint_policy(state, saved["path"])
    assert all(p.dtype == torch.float32 for p in policy.parameters())


def test_unknown_compute_dtype_is_refused_naming_the_option(tmp_path):
    out = cli(tmp_path, "--run-id", "u", "--compute-dtype", "float16")
    assert out.returncode == 2 and "--compute-dtype" in out.stderr and "Traceback" not in out.stderr
    config = tmp_path / "bad.toml"
    config.write_text('compute_dtype = "float16"\n')
    out = cli(tmp_path, "--run-id", "u", "--config", str(config))
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "prospector train: error: compute_dtype (--compute-dtype) = 'float16': choose auto, float32 or bfloat16"
    ]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_episode_tap_skips_serials_unread_info_averages():
    """PufferLib's Serial backend averages every step's infos into a dict it throws away;
    behind the tap that work is skipped, and the finished episodes still reach PuffeRL."""
    from prospector.pipeline.config import make_train_config
    from prospector.pipeline.puffer import EpisodeTap, make_vecenv

    cfg = make_train_config(envs=8, wandb=False, dashboard=False)
    vecenv = make_vecenv(cfg, S.make_config(time_max=20), threads=1)
    try:
        tap = EpisodeTap(vecenv)
        assert vars(vecenv).get("_avg_infos") not in (None, type(vecenv)._avg_infos)  # replaced on the instance
        tap.async_reset(1)
        infos = []
        for _ in range(25):  # past the 20-tick episode budget
            out = tap.recv()
            infos += [i for i in out[5] if "episode_return" in i]
            tap.send(np.zeros(8, np.int64))
        assert len(infos) == len(tap.episodes) >= 8
    finally:
        vecenv.close()


def test_the_update_leaves_the_sigint_handler_alone():
    """The trainer's Ctrl-C handler is installed after PuffeRL is imported; an update must
    not put another one in its place (it re-ran PufferLib's import glue every minibatch)."""
    import signal

    trainer, _, vecenv = tiny_trainer()
    mine = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        ours = signal.getsignal(signal.SIGINT)
        trainer.evaluate()
        trainer.train()
        assert signal.getsignal(signal.SIGINT) is ours
    finally:
        signal.signal(signal.SIGINT, mine)
        trainer.shutdown()
        vecenv.close()
