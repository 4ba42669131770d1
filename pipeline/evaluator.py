"""The evaluator: plays a window's checkpoint on fixed eval seeds and records replays.

Besides the eval seeds (``every_window`` on the first), every window also plays the run's
showcase seed (tag ``showcase``): the same world in every window, for the site's timelapse
(docs/site.md#timelapse). Every frame with an action carries the critic's ``value`` of the
state the action was chosen in (the same forward pass that chose it); the header carries
the run's ``gamma`` and the learner's reward scale at the checkpoint (docs/site.md#value-strip).

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

from .checkpoint import CheckpointError, checkpoint_policy, read_checkpoint
from .store import layout as runs
from .store.log import file_lock
from .store.replays import encode_replay, make_header
from .store.run import Run

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


def load_checkpoint(path: Path, sha256: str | None = None) -> tuple[torch.nn.Module, dict]:
    """(policy in eval mode, checkpoint dict) of a checkpoint file, read as data only
    (pipeline/checkpoint.py); a one-line CheckpointError naming the file otherwise."""
    state = read_checkpoint(path, sha256)
    return checkpoint_policy(state, path), state


def play_episode(policy: torch.nn.Module, seed: int, env_config: dict, kind: str) -> tuple[list[dict], dict]:
    """One recorded episode: frames with render_state, action, reward, events, top-3 probs, truth,
    and the critic's value of the state each action was chosen in."""
    env = ProspectorEnv(env_config)
    obs, _ = env.reset(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    state = {"lstm_h": None, "lstm_c": None} if kind == "lstm" else None
    frames = [
        {
            "t": 0,
            "action": None,
            "action_name": None,
            "reward": 0.0,
            "dt": 0,
            "events": [],
            "render_state": env.render_state(),
            "truth": env.truth_state(),
            "probs": None,
            "valid": np.flatnonzero(env.action_mask()).tolist(),
        }
    ]
    total = 0.0
    while True:
        with torch.inference_mode():
            logits, value = policy.forward_eval(torch.as_tensor(obs).unsqueeze(0), state)
            probs = torch.softmax(logits.float(), dim=-1)[0]
            value = float(value.reshape(-1)[0])
            action = int(torch.multinomial(probs, 1, generator=generator).item())
        top = torch.topk(probs, TOP_K)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        frames.append(
            {
                "t": len(frames),
                "action": action,
                "action_name": S.ACTION_NAMES[action],
                "reward": reward,
                "value": value,
                "dt": info["dt"],
                "invalid": info["invalid"],
                "events": info["events"],
                "render_state": env.render_state(),
                "truth": env.truth_state(),
                "probs": [[int(a), round(float(p), 4)] for p, a in zip(top.values, top.indices)],
                "valid": np.flatnonzero(env.action_mask()).tolist(),
            }
        )
        if terminated or truncated:
            break
    totals = {
        "return": total,
        "net_profit": info["net_profit"],
        "survival": info["survival"],
        "steps": len(frames) - 1,
        "ticks": env_config["time_max"] - info["time_remaining"],
        "end_reason": info["end_reason"],
        "credits": info["credits"],
        "pirate_encounters": info["pirate_encounters"],
        "overheat_ticks": info["overheat_ticks"],
    }
    return frames, totals


def evaluate_window(run_dir: str | Path, window_id: int, episodes: int = 1, video=None) -> list[dict]:
    """Record `episodes` replays of window `window_id` (and its showcase replay) and append their events.

    Idempotent, so a crashed or repeated evaluation can simply run again: a replay whose
    ``replay_recorded`` event is already in the log is not played or written again (its
    file, which that event's sha256 describes, is never rewritten). The check and the
    write happen under ``replays.lock``, so two evaluators of one window record each
    replay once. Returns the window's events for replays 0 .. episodes-1 and then the
    showcase replay (runs from before the showcase seed have none), old and new.

    ``video(replay_path, event)``, when given, is called for the new ``every_window``
    replay after its event is in the log (``train --wandb-video``: pipeline/cli.py).
    """
    run = Run.open(run_dir)
    started, train, env_config = run.started, run.train_config, run.env_config
    if started is None:
        raise CheckpointError(f"{run.dir} has no run_started event")
    ckpt = run.checkpoints.get(window_id)
    if ckpt is None:
        raise CheckpointError(f"window {window_id} of {run.dir.name} has no checkpoint_saved event")
    plan = replay_plan(started.run_id, train, window_id, episodes, ckpt.sha256)
    replay_ids = [replay_id for replay_id, _, _ in plan]
    done = _recorded(run, replay_ids)
    if len(done) == len(plan):
        return [done[r] for r in replay_ids]
    try:
        path = runs.resolve_in_run(run.dir, ckpt.path)
    except ValueError as exc:
        raise CheckpointError(f"window {window_id} of {run.dir.name}: {exc}") from None
    policy, state = load_checkpoint(path, ckpt.sha256)
    torch.set_num_threads(1)

    earlier = [r for r in run.replays() if r.window_id != window_id]
    returns = [r.return_ for r in earlier if "every_window" in r.tags]
    best = max(returns) if returns else None
    reached = {t for r in earlier for t in r.tags if t.startswith("milestone:")}
    for replay_id, seed, base_tags in plan:
        if replay_id in done:
            reached.update(t for t in done[replay_id].tags if t.startswith("milestone:"))
            continue
        frames, totals = play_episode(policy, seed, env_config, train["policy"])
        tags = _replay_tags(base_tags, totals, best, reached)
        header = make_header(
            run_id=started.run_id,
            window_id=window_id,
            replay_id=replay_id,
            seed=seed,
            env_config=env_config,
            policy_checkpoint=ckpt.path,
            checkpoint_sha256=ckpt.sha256,
            tags=tags,
            totals=totals,
            gamma=train.get("gamma"),
            reward_scale=learner_reward_scale(train, state),
        )
        # Encoding and compressing a 20,000-tick replay takes seconds on a busy machine:
        # done before the lock, so another evaluator never waits through it
        data = encode_replay(header, frames)
        done[replay_id], wrote = _record_once(run, data, window_id, replay_id, tags, seed, totals)
        if wrote and video is not None and "every_window" in tags:
            video(runs.replay_path(run.dir, replay_id), done[replay_id])
    return [done[r] for r in replay_ids]


def _replay_tags(base_tags, totals: dict, best: float | None, reached: set) -> list:
    """The replay's tags: its plan's, ``best_so_far`` when an eval replay beats every
    earlier window's by the margin, and each milestone it is the first to pass (eval
    seeds only: the showcase world is the same every window). Adds those to ``reached``."""
    tags = list(base_tags)
    if "every_window" in tags and (best is None or totals["return"] > best + best_margin(best)):
        tags.append("best_so_far")
    for tag, passed in MILESTONES if "showcase" not in tags else ():
        if tag not in reached and passed(totals):
            tags.append(tag)
            reached.add(tag)
    return tags


def _record_once(run: Run, data: bytes, window_id: int, replay_id: str, tags: list, seed: int, totals: dict):
    """Writes the encoded replay and its event under ``replays.lock`` unless another
    evaluator of this window got there first: (the replay's event, whether this call wrote it)."""
    with file_lock(run.dir / REPLAYS_LOCK_FILE):
        already = _recorded(run.refresh(), [replay_id])
        if already:
            return already[replay_id], False
        event = run.record_replay_bytes(
            data,
            window_id=window_id,
            replay_id=replay_id,
            tags=tags,
            seed=seed,
            **{"return": totals["return"]},
            net_profit=totals["net_profit"],
            survival=totals["survival"],
            steps=totals["steps"],
            end_reason=totals["end_reason"],
        )
    return event, True


def replay_plan(run_id: str, train: dict, window_id: int, episodes: int, checkpoint_sha256: str) -> list:
    """(replay id, seed, base tags) of a window's evaluation: the eval seeds, then the
    showcase seed where the run has one (runs from before the showcase seed have none)."""
    eval_seed = int(train["eval_seed"])
    plan = [
        (
            runs.make_replay_id(window_id, n, f"{run_id}|{eval_seed + n}|{checkpoint_sha256}"),
            eval_seed + n,
            ["every_window"] if n == 0 else ["eval"],
        )
        for n in range(episodes)
    ]
    showcase = train.get("showcase_seed")
    if isinstance(showcase, int):
        replay_id = runs.make_replay_id(window_id, episodes, f"{run_id}|showcase|{showcase}|{checkpoint_sha256}")
        plan.append((replay_id, showcase, ["showcase"]))
    return plan


def learner_reward_scale(train: dict, checkpoint: dict) -> float:
    """The scale the learner's rewards had at the checkpoint (trainer.EpisodeTap: geometric
    from reward_scale to reward_scale_end over the planned steps): the critic's values are in
    these units, so value / scale is comparable with the game's rewards (docs/site.md#value-strip)."""
    start = float(train.get("reward_scale") or 1.0)
    end = train.get("reward_scale_end")
    end = start if end is None else float(end)
    planned = train.get("total_steps") or (train.get("windows") or 1) * (train.get("window_steps") or 1)
    progress = min(1.0, int(checkpoint.get("global_step") or 0) / max(1, int(planned)))
    return start * (end / start) ** progress


def _recorded(run: Run, replay_ids: list[str]) -> dict:
    """The ``replay_recorded`` events (by replay_id) among ``replay_ids``."""
    wanted = set(replay_ids)
    return {r.replay_id: r for r in run.replays() if r.replay_id in wanted}


#: Videos of replays (``train --wandb-video``) live next to the run's replays.
VIDEOS_DIR = "videos"


def video_recorder(run_dir: str | Path, render):
    """The ``video`` callback of :func:`evaluate_window` for ``train --wandb-video``:
    ``render(replay_path, out_path)`` (the site's player in headless Chromium, given by the
    command line through an entry point) writes ``videos/{replay_id}.mp4``, then a
    ``replay_video`` event says so; the trainer logs it to W&B. A failed render is
    reported in the evaluator's log and costs only the video, never the window."""
    run_dir = Path(run_dir)

    def record(replay_path: Path, event: dict) -> None:
        out = run_dir / VIDEOS_DIR / f"{event['replay_id']}.mp4"
        try:
            out.parent.mkdir(exist_ok=True)
            info = render(replay_path, out) or {}
        except Exception as exc:  # noqa: BLE001 - a video is never worth a window
            print(f"window {event['window_id']}: no video of replay {event['replay_id']}: {exc}", flush=True)
            return
        data = out.read_bytes()
        Run.open(run_dir).record_video(
            window_id=event["window_id"],
            replay_id=event["replay_id"],
            path=runs.rel_to_run(run_dir, out),
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            **info,
        )

    return record
