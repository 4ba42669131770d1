"""PufferLib's own PPO trainer (PuffeRL) on the native PufferLib env: train, save, load,
evaluate.

    pip install "asteroid-prospector[train]"
    python examples/puffer_train.py --timesteps 5000000 --out puffer-prospector.pt

Stock PuffeRL over ``prospector.VecProspector`` (one C call steps every game) with a
small MLP whose logits are masked by ``prospector.masks.obs_action_mask``. PuffeRL clips
each reward to [-1, 1] itself. The project's own trainer (``prospector train``) is this
plus run management, windows and replays (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

from prospector import spec as S
from prospector.masks import obs_action_mask


class MaskedMLP(nn.Module):
    """PufferLib's policy convention (encode_observations / decode_actions / forward_eval)."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(S.OBS_DIM, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU())
        self.decoder = nn.Linear(hidden, S.N_ACTIONS)
        self.value = nn.Linear(hidden, 1)
        nn.init.orthogonal_(self.decoder.weight, 0.01)
        self._mask = None

    def encode_observations(self, observations, state=None):
        obs = observations.reshape(observations.shape[0], -1).float()
        self._mask = torch.as_tensor(obs_action_mask(obs.cpu().numpy()), device=obs.device)
        return self.encoder(obs)

    def decode_actions(self, hidden):
        logits = self.decoder(hidden).masked_fill(~self._mask, -1e4)
        return logits, self.value(hidden)

    def forward_eval(self, observations, state=None):
        return self.decode_actions(self.encode_observations(observations, state))

    def forward(self, observations, state=None):
        return self.forward_eval(observations, state)


def ppo_config(args, data_dir: str) -> dict:
    """The plain dict PuffeRL reads (pufferlib-core ships no config files)."""
    return {
        "env": "prospector", "seed": args.seed, "torch_deterministic": True, "device": "cpu",
        "cpu_offload": False, "compile": False, "compile_mode": "default", "compile_fullgraph": False,
        "precision": "float32", "optimizer": "adam", "learning_rate": args.learning_rate, "anneal_lr": True,
        "adam_beta1": 0.95, "adam_beta2": 0.999, "adam_eps": 1e-12, "total_timesteps": args.timesteps,
        "batch_size": args.num_envs * args.horizon, "bptt_horizon": args.horizon,
        "minibatch_size": args.num_envs * args.horizon // 4, "max_minibatch_size": args.num_envs * args.horizon,
        "update_epochs": 1, "gamma": 0.995, "gae_lambda": 0.95, "clip_coef": 0.2, "vf_coef": 2.0,
        "vf_clip_coef": 0.2, "ent_coef": args.ent_coef, "max_grad_norm": 1.5, "vtrace_rho_clip": 1.0,
        "vtrace_c_clip": 1.0, "prio_alpha": 0.0, "prio_beta0": 1.0, "use_rnn": False,
        "checkpoint_interval": 1 << 30, "data_dir": data_dir,
    }  # fmt: skip


def train(args) -> MaskedMLP:
    import pufferlib.pufferl
    import pufferlib.vector

    from prospector.vector import VecProspector

    kwargs = {"num_envs": args.num_envs, **({} if args.train_time_max is None else {"time_max": args.train_time_max})}
    vecenv = pufferlib.vector.make(VecProspector, backend=pufferlib.vector.Serial, num_envs=1, env_kwargs=kwargs)
    policy = MaskedMLP()
    with tempfile.TemporaryDirectory() as data_dir:  # PuffeRL's own last checkpoint goes there
        trainer = pufferlib.pufferl.PuffeRL(ppo_config(args, data_dir), vecenv, policy)
        if not args.dashboard:
            trainer.print_dashboard = lambda *a, **k: None
        while trainer.global_step < args.timesteps:
            trainer.evaluate()
            trainer.train()
        trainer.close()
    return policy


def evaluate(policy: MaskedMLP, episodes: int, time_max: int | None, seed: int) -> dict:
    """One game on each of ``episodes`` worlds (VecProspector seeds them from ``seed``)."""
    from prospector.vector import VecProspector

    vec = VecProspector(episodes, seed=seed, **({} if time_max is None else {"time_max": time_max}))
    obs, _ = vec.reset()
    results = {}
    while len(results) < episodes:
        with torch.no_grad():
            logits, _ = policy.forward_eval(torch.as_tensor(obs))
        vec.actions[:] = torch.distributions.Categorical(logits=logits).sample().numpy()
        obs, _, terminals, truncations, infos = vec.step(vec.actions)
        for i, info in zip(np.flatnonzero(terminals | truncations), infos):
            results.setdefault(int(i), (info["net_profit"], info["end_reason"]))
    vec.close()
    profits = np.array([results[i][0] for i in sorted(results)])
    reasons = [results[i][1] for i in sorted(results)]
    return {
        "episodes": episodes,
        "mean_net_profit": float(profits.mean()),
        "ship_intact": float(np.mean([r in ("timeout", "cash_out") for r in reasons])),
        "end_reasons": {r: reasons.count(r) for r in sorted(set(reasons))},
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=5_000_000)
    parser.add_argument("--out", default="puffer-prospector.pt")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--horizon", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.003)
    parser.add_argument("--ent-coef", type=float, default=0.002)
    parser.add_argument("--train-time-max", type=int, default=None)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-time-max", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dashboard", action="store_true", help="PuffeRL's live terminal dashboard")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    start = time.time()
    policy = train(args)
    trained = time.time() - start
    torch.save(policy.state_dict(), args.out)
    loaded = MaskedMLP()
    loaded.load_state_dict(torch.load(args.out, weights_only=True))  # tensors only: nothing unpickled
    result = evaluate(loaded, args.eval_episodes, args.eval_time_max, seed=1_000_000)
    result.update(timesteps=args.timesteps, train_seconds=round(trained, 1))
    print(json.dumps(result), file=sys.stdout, flush=True)
    return result


if __name__ == "__main__":
    main()
