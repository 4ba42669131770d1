"""The evaluator: plays a window's checkpoint on fixed eval seeds and records replays.

It runs in its own process (``prospector eval``), started by the trainer after each
window, so training never waits for it and a crash here cannot stop training.
Replay files are written atomically before their ``replay_recorded`` event.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from prospector import spec as S
from prospector.envs import ProspectorEnv

from . import runs
from .eventlog import EventLog, file_lock, read_events
from .policy import policy_for_checkpoint
from .replay import encode_replay

TOP_K = 3
#: Held while checking the log for a replay and writing it (one recording per replay_id).
REPLAYS_LOCK_FILE = "replays.lock"
# Milestones: a tag the first time a replay of this run passes the test.
MILESTONES = (
    ("milestone:first_profit", lambda t: t["net_profit"] > 0),
    ("milestone:profit_1k", lambda t: t["net_profit"] >= 1_000),
    ("milestone:profit_10k", lambda t: t["net_profit"] >= 10_000),
    ("milestone:survived_full_episode", lambda t: t["end_reason"] == "timeout"),
    ("milestone:cashed_out_in_profit", lambda t: t["end_reason"] == "cash_out" and t["net_profit"] > 0),
)


def best_margin(previous_best: float) -> float:
    """How much a return must beat the previous best by to be tagged best_so_far."""
    return max(1.0, 0.05 * abs(previous_best))


class CheckpointError(RuntimeError):
    pass


def load_checkpoint(path: Path, sha256: str | None = None) -> tuple[torch.nn.Module, dict]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing")
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise CheckpointError(f"checkpoint {path} does not match the sha256 in the event log")
    import io
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    policy = policy_for_checkpoint(state["policy_kind"], state["hidden_size"], state.get("action_mask", False))
    policy.load_state_dict(state["policy"])
    policy.eval()
    return policy, state


def play_episode(policy: torch.nn.Module, seed: int, env_config: dict, kind: str) -> tuple[list[dict], dict]:
    """One recorded episode: frames with render_state, action, reward, events, top-3 probs, truth."""
    env = ProspectorEnv(env_config)
    obs, _ = env.reset(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    state = {"lstm_h": None, "lstm_c": None} if kind == "lstm" else None
    frames = [{"t": 0, "action": None, "action_name": None, "reward": 0.0, "dt": 0, "events": [],
               "render_state": env.render_state(), "truth": env.truth_state(), "probs": None,
               "valid": np.flatnonzero(env.action_mask()).tolist()}]
    total = 0.0
    while True:
        with torch.inference_mode():
            logits, _ = policy.forward_eval(torch.as_tensor(obs).unsqueeze(0), state)
            probs = torch.softmax(logits.float(), dim=-1)[0]
            action = int(torch.multinomial(probs, 1, generator=generator).item())
        top = torch.topk(probs, TOP_K)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        frames.append({
            "t": len(frames), "action": action, "action_name": S.ACTION_NAMES[action],
            "reward": reward, "dt": info["dt"], "invalid": info["invalid"], "events": info["events"],
            "render_state": env.render_state(), "truth": env.truth_state(),
            "probs": [[int(a), round(float(p), 4)] for p, a in zip(top.values, top.indices)],
            "valid": np.flatnonzero(env.action_mask()).tolist(),
        })
        if terminated or truncated:
            break
    totals = {
        "return": total, "net_profit": info["net_profit"], "survival": info["survival"],
        "steps": len(frames) - 1, "ticks": env_config["time_max"] - info["time_remaining"],
        "end_reason": info["end_reason"], "credits": info["credits"],
        "pirate_encounters": info["pirate_encounters"], "overheat_ticks": info["overheat_ticks"],
    }
    return frames, totals


def evaluate_window(run_dir: str | Path, window_id: int, episodes: int = 1) -> list[dict]:
    """Record `episodes` replays of window `window_id` and append their events.

    Idempotent, so a crashed or repeated evaluation can simply run again: a replay whose
    ``replay_recorded`` event is already in the log is not played or written again (its
    file, which that event's sha256 describes, is never rewritten). The check and the
    write happen under ``replays.lock``, so two evaluators of one window record each
    replay once. Returns the window's events for replays 0 .. episodes-1, old and new.
    """
    run_dir = Path(run_dir)
    log = read_events(run_dir)
    events = list(log)
    started = next((e for e in events if e["type"] == "run_started"), None)
    if started is None:
        raise CheckpointError(f"{run_dir} has no run_started event")
    train = started["config"]["train"]
    env_config = started["config"]["env"]
    saved = [e for e in events if e["type"] == "checkpoint_saved" and e["window_id"] == window_id]
    if not saved:
        raise CheckpointError(f"window {window_id} of {run_dir.name} has no checkpoint_saved event")
    ckpt = saved[-1]
    replay_ids = [runs.make_replay_id(window_id, n, f"{started['run_id']}|{int(train['eval_seed']) + n}|"
                                      f"{ckpt['sha256']}") for n in range(episodes)]
    done = _recorded(events, replay_ids)
    if len(done) == episodes:
        return [done[r] for r in replay_ids]
    policy, _ = load_checkpoint(run_dir / ckpt["path"], ckpt["sha256"])
    torch.set_num_threads(1)

    earlier = [e for e in events if e["type"] == "replay_recorded" and e["window_id"] != window_id]
    returns = [e["return"] for e in earlier if "every_window" in e["tags"]]
    best = max(returns) if returns else None
    reached = {t for e in earlier for t in e["tags"] if t.startswith("milestone:")}
    for n, replay_id in enumerate(replay_ids):
        if replay_id in done:
            reached.update(t for t in done[replay_id]["tags"] if t.startswith("milestone:"))
            continue
        seed = int(train["eval_seed"]) + n
        frames, totals = play_episode(policy, seed, env_config, train["policy"])
        tags = ["every_window"] if n == 0 else ["eval"]
        if n == 0 and (best is None or totals["return"] > best + best_margin(best)):
            tags.append("best_so_far")
        for tag, passed in MILESTONES:
            if tag not in reached and passed(totals):
                tags.append(tag)
                reached.add(tag)
        header = {"run_id": started["run_id"], "window_id": window_id, "replay_id": replay_id,
                  "seed": seed, "env_config": env_config, "policy_checkpoint": ckpt["path"],
                  "checkpoint_sha256": ckpt["sha256"], "tags": tags, "totals": totals}
        path = runs.replay_path(run_dir, replay_id)
        with file_lock(run_dir / REPLAYS_LOCK_FILE):
            already = _recorded(read_events(run_dir).events, [replay_id])
            if already:           # another evaluator of this window got there first
                done.update(already)
                continue
            size, digest = runs.atomic_write(path, encode_replay(header, frames))
            done[replay_id] = EventLog.append_once(
                run_dir, "replay_recorded", window_id=window_id, replay_id=replay_id, tags=tags, seed=seed,
                **{"return": totals["return"]}, net_profit=totals["net_profit"], survival=totals["survival"],
                steps=totals["steps"], end_reason=totals["end_reason"], path=runs.rel_to_run(run_dir, path),
                bytes=size, sha256=digest)
    return [done[r] for r in replay_ids]


def _recorded(events: list[dict], replay_ids: list[str]) -> dict[str, dict]:
    """The replay_recorded events (by replay_id) among ``replay_ids``."""
    wanted = set(replay_ids)
    return {e["replay_id"]: e for e in events if e["type"] == "replay_recorded" and e["replay_id"] in wanted}
