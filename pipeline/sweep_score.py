"""A sweep trial's score: its last checkpoint on the fixed validation seeds (docs/tuning.md#score).

    score = mean over the validation episodes of
              net_profit                          if the ship survived (cash out or timeout)
              net_profit x ticks_lived / time_max if it was lost (destroyed or stranded) in profit
              net_profit                          if it was lost at a loss

A profit counts in full only when the ship comes home; a lost ship keeps the share of
its profit that its lifetime was of the episode budget (an agent that strands itself late
ranks above one that strands early, so a sweep whose agents never survive is not flat);
losses always count in full. The episodes are played exactly as
``prospector benchmark`` plays them (:func:`pipeline.benchmark.evaluate_checkpoint`:
seeded sampling, the action mask as trained, the protocol's time_max) but on another
seed list, so tuning never sees the benchmark's worlds: the first ``episodes`` of
``prospector.botbench.eval_seeds(N, VALIDATION_SEED)``.

Run as ``python -m prospector.pipeline.sweep_score RUN_DIR --episodes N --time-max T``
(the sweep scores every trial in its own process) it prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: The SplitMix64 stream of the validation seeds; the benchmark's is 0 (benchmarks/eval_seeds.txt).
VALIDATION_SEED = 1
SEEDS_MADE_BY = f"prospector.botbench.eval_seeds(N, {VALIDATION_SEED})"


def validation_seeds(episodes: int) -> list[int]:
    from prospector.botbench import eval_seeds

    return eval_seeds(episodes, VALIDATION_SEED)


def episode_score(info: dict, time_max: int) -> float:
    """One episode's part of the score (see the module docstring)."""
    profit = float(info["net_profit"])
    if info["survival"] or profit <= 0:
        return profit
    lived = max(0, time_max - int(info["time_remaining"]))
    return profit * min(1.0, lived / time_max)


def score_infos(infos: list[dict], time_max: int) -> dict:
    """The score and its parts from per-episode infos."""
    n = len(infos)
    return {
        "score": sum(episode_score(i, time_max) for i in infos) / n,
        "mean_net_profit": sum(float(i["net_profit"]) for i in infos) / n,
        "survival_rate": sum(1.0 if i["survival"] else 0.0 for i in infos) / n,
        "episodes": n,
    }


def score_run(run_dir: Path, episodes: int, time_max: int) -> dict:
    """Score the last checkpoint of a run (a ValueError when it has none or it is not finite)."""
    from prospector import spec as S

    from .benchmark import _last_checkpoint, evaluate_checkpoint

    ckpt = _last_checkpoint(run_dir)
    check_weights(run_dir / ckpt["path"], ckpt["window_id"])
    config = S.make_config(time_max=int(time_max))
    infos = evaluate_checkpoint(run_dir / ckpt["path"], validation_seeds(episodes), config, num_envs=min(episodes, 64))
    result = score_infos(infos, int(time_max))
    if not all(math.isfinite(result[k]) for k in ("score", "mean_net_profit")):
        raise ValueError("the validation episodes gave a non-finite net profit")
    result["window_id"] = ckpt["window_id"]
    return result


def check_weights(path: Path, window_id: int) -> None:
    """A policy whose weights are not finite (NaN losses) is a failed trial, not a score."""
    from .evaluator import load_checkpoint

    policy, _state = load_checkpoint(path)
    for name, tensor in policy.state_dict().items():
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise ValueError(f"NaN losses: window {window_id}'s policy has non-finite weights ({name})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="score a sweep trial on the validation seeds")
    parser.add_argument("run_dir")
    parser.add_argument("--episodes", type=int, required=True)
    parser.add_argument("--time-max", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        result = score_run(Path(args.run_dir), args.episodes, args.time_max)
    except Exception as exc:  # the sweep records the one line as the trial's failure
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
