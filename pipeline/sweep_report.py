"""The Constellation data of a sweep: every trial with its settings, score and cost, the
Pareto front, and the learning curves; folded from the sweep's log and its trials' runs.

The site's sweep page (sitegen/sweeps.py, static/constellation.js) draws exactly this
document and the sweep's W&B run logs the same rows as a table (:func:`table_rows`), so
both show one computation (docs/tuning.md#reading-the-constellation-page).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .sweep import read_sweep, trial_rows

SCHEMA = 1
SCORE_TEXT = (
    "mean over the validation episodes of the net profit, in full when the ship came home, "
    "times the share of the episode it lived when it was lost in profit (docs/tuning.md#score)"
)
CURVE_KEYS = ("env_steps_total", "net_profit_mean", "survival_rate", "return_mean")


def pareto_front(points: list[tuple[int, float, float]]) -> list[int]:
    """Trials (id, score, cost) that no other trial beats on both: a score at least as
    high for a cost at most as high, one of them strictly; sorted by cost."""
    front = []
    for tid, score, cost in points:
        beaten = any(s >= score and c <= cost and (s > score or c < cost) for other, s, c in points if other != tid)
        if not beaten:
            front.append((cost, tid))
    return [tid for _, tid in sorted(front)]


def constellation(sweep_dir: Path, runs_dir, rows_of: Callable[[str], list[dict]] | None = None) -> dict:
    """The page's document. ``rows_of(run_id)`` gives a trial run's window rows (the site
    passes the rows it has already read; by default they are read from the run's log)."""
    record = read_sweep(Path(sweep_dir))
    rows_of = rows_of or (lambda run_id: trial_rows(runs_dir, run_id))
    trials, curves = [], {}
    for t in record.in_order():
        result = t.result or {}
        trials.append(
            {
                "trial": t.trial,
                "run_id": t.run_id,
                "status": t.status,
                "default": t.default,
                "settings": t.settings,
                "score": result.get("score"),
                "cost": result.get("cost"),
                "env_steps": result.get("env_steps"),
                "wall_seconds": result.get("wall_seconds"),
                "mean_net_profit": result.get("mean_net_profit"),
                "survival_rate": result.get("survival_rate"),
                "early_stopped": bool(result.get("early_stopped")),
                "reason": t.reason or result.get("stop_reason"),
                "resumed": t.resumed,
            }
        )
        rows = rows_of(t.run_id)
        curves[str(t.trial)] = {k: [r.get(k) for r in rows] for k in CURVE_KEYS}
    done = [t for t in trials if t["status"] == "finished"]
    front = pareto_front([(t["trial"], t["score"], t["cost"]) for t in done])
    for t in trials:
        t["on_front"] = t["trial"] in front
    best = max(done, key=lambda t: (t["score"], -t["trial"]), default=None)
    worst = min(done, key=lambda t: (t["score"], -t["trial"]), default=None)  # ties: not the best
    default = next((t for t in trials if t["default"]), None)
    settings = record.space.settings
    return {
        "schema": SCHEMA,
        "sweep_id": record.sweep_id,
        "started": record.started["ts"],
        "status": "finished" if record.finished else "running",
        "finished_reason": (record.finished or {}).get("reason"),
        "method": settings["method"],
        "budget": {k: settings[k] for k in ("trials", "hours", "trial_steps", "windows", "parallel", "nproc")},
        "cost_metric": settings["cost"],
        "score_text": SCORE_TEXT,
        "validation": record.started["validation"],
        "showcase_seed": record.started["showcase_seed"],
        "space": [e.describe() for e in record.space.entries],
        "base": record.space.base,
        "trials": trials,
        "front": front,
        "best": best["trial"] if best else None,
        "worst": worst["trial"] if worst else None,
        "default": default["trial"] if default else None,
        "curves": curves,
        "last_seq": record.last_seq,
    }


def table_rows(doc: dict) -> tuple[list[str], list[list]]:
    """The document's trials as one table (the W&B table of the sweep's run)."""
    names = [e["name"] for e in doc["space"]]
    columns = ["trial", "run_id", "status", "score", "cost", "env_steps", "wall_seconds"]
    columns += ["mean_net_profit", "survival_rate", "on_front", "early_stopped", "reason"] + names
    rows = []
    for t in doc["trials"]:
        row = [t[c] for c in columns[: len(columns) - len(names)]]
        rows.append(row + [t["settings"].get(n) for n in names])
    return columns, rows
