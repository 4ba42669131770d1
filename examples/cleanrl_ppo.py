"""A CleanRL-style PPO loop on ``gymnasium.make_vec("prospector:Prospector-v0")``:
train, save, load, evaluate.

    pip install "asteroid-prospector" torch
    python examples/cleanrl_ppo.py --timesteps 2000000 --out cleanrl-prospector.pt

One file, no framework: the native vector env (one C call steps every game; SAME_STEP
autoreset), Gymnasium's RecordEpisodeStatistics on top, the observation mask of
``prospector.masks`` on the logits, rewards clipped to [-1, 1] for the learner (the
knobs of docs/ecosystem.md#why-outside-algorithms-collapse).
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from prospector.masks import obs_action_mask

ENV_ID = "prospector:Prospector-v0"  # "prospector:" imports the package, which registers the id
MASKED_LOGIT = -1e4


def layer(n_in: int, n_out: int, std: float = 2**0.5) -> nn.Linear:
    linear = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


class Agent(nn.Module):
    def __init__(self, n_obs: int, n_actions: int, hidden: int = 128):
        super().__init__()
        self.critic = nn.Sequential(
            layer(n_obs, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, 1, 1.0)
        )
        self.actor = nn.Sequential(
            layer(n_obs, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(), layer(hidden, n_actions, 0.01)
        )

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(self, obs: torch.Tensor, mask: torch.Tensor, action: torch.Tensor | None = None):
        logits = self.actor(obs).masked_fill(~mask, MASKED_LOGIT)
        dist = torch.distributions.Categorical(logits=logits)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(obs)


def train(args) -> Agent:
    envs = gym.make_vec(ENV_ID, num_envs=args.num_envs, **time_kwargs(args.train_time_max))
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    n, steps = args.num_envs, args.num_steps
    agent = Agent(envs.single_observation_space.shape[0], envs.single_action_space.n)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    obs_buf = torch.zeros((steps, n, envs.single_observation_space.shape[0]))
    mask_buf = torch.zeros((steps, n, envs.single_action_space.n), dtype=torch.bool)
    act_buf, logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((steps, n)) for _ in range(5))
    next_obs, _ = envs.reset(seed=args.seed)
    next_done = np.zeros(n, bool)
    profits = []
    for update in range(max(1, args.timesteps // (n * steps))):
        for t in range(steps):
            obs = torch.as_tensor(next_obs)
            mask = torch.as_tensor(obs_action_mask(next_obs))
            obs_buf[t], mask_buf[t], done_buf[t] = obs, mask, torch.as_tensor(next_done, dtype=torch.float32)
            with torch.no_grad():
                action, logp, _, value = agent.act(obs, mask)
            act_buf[t], logp_buf[t], val_buf[t] = action, logp, value
            next_obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            next_done = terminations | truncations  # CleanRL's simplification: truncation ends the return too
            rew_buf[t] = torch.as_tensor(np.clip(reward, -1.0, 1.0))
            if "final_info" in infos:
                profits.extend(infos["final_info"]["net_profit"][infos["_final_info"]].tolist())
        with torch.no_grad():
            advantages = gae(agent, rew_buf, val_buf, done_buf, next_obs, next_done, args.gamma, args.gae_lambda)
        ppo_update(agent, optimizer, args, obs_buf, mask_buf, act_buf, logp_buf, advantages, advantages + val_buf)
        if args.verbose and profits:
            print(
                f"update {update}: episodes {len(profits)}, mean net profit {np.mean(profits[-100:]):.0f}", flush=True
            )
    envs.close()
    return agent


def gae(agent, rewards, values, dones, next_obs, next_done, gamma, lam):
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = 0.0
    next_value = agent.value(torch.as_tensor(next_obs))
    next_nonterminal = 1.0 - torch.as_tensor(next_done, dtype=torch.float32)
    for t in reversed(range(steps)):
        if t < steps - 1:
            next_nonterminal, next_value = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_value * next_nonterminal - values[t]
        advantages[t] = last = delta + gamma * lam * next_nonterminal * last
    return advantages


def ppo_update(agent, optimizer, args, obs, masks, actions, logps, advantages, returns):
    b_obs, b_masks = obs.reshape(-1, obs.shape[-1]), masks.reshape(-1, masks.shape[-1])
    b_act, b_logp, b_adv, b_ret = (x.reshape(-1) for x in (actions, logps, advantages, returns))
    size = b_obs.shape[0]
    minibatch = max(1, size // args.num_minibatches)
    for _ in range(args.update_epochs):
        order = torch.randperm(size)
        for start in range(0, size, minibatch):
            idx = order[start : start + minibatch]
            _, logp, entropy, value = agent.act(b_obs[idx], b_masks[idx], b_act[idx].long())
            ratio = (logp - b_logp[idx]).exp()
            adv = b_adv[idx]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
            v_loss = 0.5 * ((value - b_ret[idx]) ** 2).mean()
            loss = pg_loss - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
            optimizer.step()


def time_kwargs(time_max: int | None) -> dict:
    return {} if time_max is None else {"time_max": time_max}


def evaluate(agent: Agent, episodes: int, time_max: int | None, seed: int) -> dict:
    """One game on each of the worlds seed, seed + 1, ..., actions sampled from the policy."""
    envs = gym.make_vec(ENV_ID, num_envs=episodes, **time_kwargs(time_max))
    obs, _ = envs.reset(seed=[seed + i for i in range(episodes)])
    profit, reasons = np.zeros(episodes), [None] * episodes
    while None in reasons:
        with torch.no_grad():
            action, _, _, _ = agent.act(torch.as_tensor(obs), torch.as_tensor(obs_action_mask(obs)))
        obs, _, terminations, truncations, infos = envs.step(action.numpy())
        for i in np.flatnonzero(terminations | truncations):
            if reasons[i] is None:
                profit[i], reasons[i] = infos["final_info"]["net_profit"][i], infos["final_info"]["end_reason"][i]
    envs.close()
    return {
        "episodes": episodes,
        "mean_net_profit": float(profit.mean()),
        "ship_intact": float(np.mean([r in ("timeout", "cash_out") for r in reasons])),
        "end_reasons": {r: reasons.count(r) for r in sorted(set(reasons))},
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=int, default=2_000_000)
    parser.add_argument("--out", default="cleanrl-prospector.pt")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--num-minibatches", type=int, default=4)
    parser.add_argument("--update-epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.995)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--clip-coef", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.005)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--train-time-max", type=int, default=None)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-time-max", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    start = time.time()
    agent = train(args)
    trained = time.time() - start
    torch.save(agent.state_dict(), args.out)
    loaded = Agent(agent.actor[0].in_features, agent.actor[-1].out_features)
    loaded.load_state_dict(torch.load(args.out, weights_only=True))  # tensors only: nothing unpickled
    result = evaluate(loaded, args.eval_episodes, args.eval_time_max, seed=1_000_000)
    result.update(timesteps=args.timesteps, train_seconds=round(trained, 1))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
