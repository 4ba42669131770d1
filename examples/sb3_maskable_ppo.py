"""Stable-Baselines3 (sb3-contrib MaskablePPO) on Prospector: train, save, load, evaluate.

    pip install "asteroid-prospector[examples]"     # or: stable-baselines3 sb3-contrib
    python examples/sb3_maskable_ppo.py --out sb3-prospector                 # 2M steps, 5-10 minutes
    python examples/sb3_maskable_ppo.py --out sb3-prospector --eval-time-max 10000

The knobs that make an outside PPO learn this game instead of quitting at once or
sitting still are explained in docs/ecosystem.md#why-outside-algorithms-collapse; all of
them are on the user's side (wrappers and PPO settings): the env, its reward and its
rules are untouched, and the evaluation plays the default game unless told a shorter
episode budget (docs/ecosystem.md#sb3-result has what each budget gives).
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from prospector_sb3 import ENV_ID, ProspectorSB3VecEnv, recipe_mask
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback


class EpisodeLog(BaseCallback):
    """Logs the net profit and how the training episodes ended, per rollout."""

    def _on_rollout_start(self) -> None:
        self.profits, self.intact = [], []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "end_reason" in info:
                self.profits.append(info["net_profit"])
                self.intact.append(info["end_reason"] in ("timeout", "cash_out"))
        return True

    def _on_rollout_end(self) -> None:
        if self.profits:
            self.logger.record("prospector/net_profit_mean", float(np.mean(self.profits)))
            self.logger.record("prospector/ship_intact", float(np.mean(self.intact)))
            self.logger.record("prospector/episodes", len(self.profits))


class Schedules(BaseCallback):
    """The learner's reward scale and clip, geometric from their start to their end value
    over the run, and the entropy weight, linear: the schedules of the project's own trainer
    (docs/results.md#how-we-got-there). A wide clip or a small scale from the start makes
    losing the ship the only thing the untrained policy notices, and it sits still; at the
    end they let a sale weigh by its size and losing the ship by its true cost."""

    def __init__(self, envs: ProspectorSB3VecEnv, args):
        super().__init__()
        self.envs, self.args = envs, args

    def _on_rollout_start(self) -> None:
        a = self.args
        progress = min(1.0, self.num_timesteps / a.timesteps)
        self.envs.reward_scale = a.reward_scale * (a.reward_scale_end / a.reward_scale) ** progress
        if a.reward_clip:
            self.envs.reward_clip = a.reward_clip * (a.reward_clip_end / a.reward_clip) ** progress
        self.model.ent_coef = a.ent_coef + (a.ent_coef_end - a.ent_coef) * progress

    def _on_step(self) -> bool:
        return True


def train(args) -> MaskablePPO:
    kwargs = {} if args.train_time_max is None else {"time_max": args.train_time_max}
    args.reward_clip = args.reward_clip or None
    envs = ProspectorSB3VecEnv(
        args.n_envs,
        seed=args.seed,
        reward_scale=args.reward_scale,
        reward_clip=args.reward_clip,
        fuel_reserve=args.fuel_reserve,
        **kwargs,
    )
    model = MaskablePPO(
        "MlpPolicy",
        envs,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        gamma=args.gamma,
        gae_lambda=0.95,
        ent_coef=args.ent_coef,
        policy_kwargs={"net_arch": [128, 128]},
        seed=args.seed,
        device="cpu",
        verbose=args.verbose,
    )
    model.learn(total_timesteps=args.timesteps, callback=[EpisodeLog(), Schedules(envs, args)])
    envs.close()
    return model


def sample(model: MaskablePPO, obs: np.ndarray, masks: np.ndarray, temperature: float) -> np.ndarray:
    """Actions drawn from the policy's masked distribution, its logits divided by
    ``temperature`` (1: the policy as trained; below 1: sharper, fewer random moves)."""
    with torch.no_grad():
        dist = model.policy.get_distribution(torch.as_tensor(obs), action_masks=masks)
        logits = dist.distribution.logits / temperature
        return torch.distributions.Categorical(logits=logits).sample().numpy()


def evaluate(
    model: MaskablePPO, episodes: int, time_max: int | None, seed: int, fuel_reserve: float = 0.0, temperature=1.0
) -> dict:
    """Plays one game on each of the worlds ``seed``, ``seed + 1``, ... with sampled actions
    and the observation mask; returns net profit and how the episodes ended."""
    kwargs = {} if time_max is None else {"time_max": time_max}
    envs = gym.make_vec(ENV_ID, num_envs=episodes, **kwargs)
    obs, _ = envs.reset(seed=[seed + i for i in range(episodes)])
    profit, reasons = np.zeros(episodes), np.full(episodes, None, dtype=object)
    while (reasons == None).any():  # noqa: E711 (elementwise)
        actions = sample(model, obs, recipe_mask(obs, fuel_reserve), temperature)
        obs, _, terminations, truncations, infos = envs.step(actions)
        for i in np.flatnonzero((terminations | truncations) & (reasons == None)):  # noqa: E711
            profit[i] = infos["final_info"]["net_profit"][i]
            reasons[i] = infos["final_info"]["end_reason"][i]
    envs.close()
    reasons = reasons.tolist()
    return {
        "episodes": episodes,
        "mean_net_profit": float(profit.mean()),
        "median_net_profit": float(np.median(profit)),
        "ship_intact": float(np.mean([r in ("timeout", "cash_out") for r in reasons])),
        "end_reasons": {r: reasons.count(r) for r in sorted(set(reasons))},
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=2_000_000)
    parser.add_argument("--out", default="sb3-prospector", help="where the model is saved (.zip added)")
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--n-epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.995)
    parser.add_argument("--ent-coef", type=float, default=0.005)
    parser.add_argument("--reward-scale", type=float, default=1.0)
    parser.add_argument("--reward-clip", type=float, default=1.0, help="clip scaled rewards to [-c, c] (0: no clip)")
    parser.add_argument("--reward-scale-end", type=float, default=0.05, help="scale at the end (reached geometrically)")
    parser.add_argument("--reward-clip-end", type=float, default=5.0, help="clip at the end (reached geometrically)")
    parser.add_argument("--ent-coef-end", type=float, default=0.0, help="entropy weight at the end (reached linearly)")
    parser.add_argument(
        "--train-time-max", type=int, default=None, help="episode budget in training (default: the game's)"
    )
    parser.add_argument(
        "--fuel-reserve", type=float, default=0.0, help="fuel shield: no departure below this tank fraction"
    )
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-temperature", type=float, default=1.0, help="sample from softmax(logits / T)")
    parser.add_argument(
        "--eval-time-max", type=int, default=None, help="episode budget in evaluation (default: the game's)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.time()
    model = train(args)
    trained = time.time() - start
    model.save(args.out)
    model = MaskablePPO.load(args.out, device="cpu")
    result = evaluate(
        model, args.eval_episodes, args.eval_time_max, 1_000_000, args.fuel_reserve, args.eval_temperature
    )
    result.update(
        timesteps=args.timesteps, train_seconds=round(trained, 1), steps_per_second=round(args.timesteps / trained)
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
