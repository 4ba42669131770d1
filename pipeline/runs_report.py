"""Human-readable summaries of runs (``prospector runs list|show``), from the event log."""

from __future__ import annotations

from pathlib import Path

from .store import layout as runs
from .store.log import CorruptLogError
from .store.run import Run

#: The CLI's explanation of the two scores (the site's: sitegen/templates/_summary.html;
#: the reward's terms: docs/game.md#reward).
SCORES_EXPLAINED = (
    "return: the RL reward summed over an episode (sales minus purchases in thousands of credits, a little",
    "  for ore mined, minus penalties for fuel, time, wear, hull damage, heat, scans, invalid actions and",
    "  pirates; -50 stranded, -100 destroyed). net profit: credits at the end minus the starting credits.",
    "  They can disagree: a profitable episode that ends stranded or damaged has a low return.",
)


def _money(value) -> str:
    return "n/a" if value is None else f"{'-' if value < 0 else ''}${abs(value):,.0f}"


def summarize(run_dir: Path) -> dict:
    run = Run.open(run_dir)
    replays = run.replays()
    return {
        "run_id": run.run_id,
        "started": run.started.ts if run.started else None,
        "wandb_url": run.started.wandb_url if run.started else None,
        "windows": run.windows,
        "checkpoints": list(run.checkpoints.values()),
        "replays": replays,
        "eval_failures": run.eval_failures,
        "status": run.status,
        "best_replay": run.best_replay("return"),
        "most_profitable_replay": run.best_replay("net_profit"),
        "latest_replay": replays[-1] if replays else None,
        "torn_tail": run.log.torn_tail,
    }


def describe(run_dir: Path) -> str:
    s = summarize(Path(run_dir))
    lines = [f"run {s['run_id']}  ({run_dir})", f"  status: {s['status']}"]
    if s["wandb_url"]:
        lines.append(f"  W&B: {s['wandb_url']}")
    if s["torn_tail"]:
        lines.append("  note: the log ends in a torn line (a crash mid-append); readers ignore it")
    lines.append(f"  windows: {len(s['windows'])}  (return and net profit: means over the window's training episodes)")
    ckpt = {e["window_id"]: e for e in s["checkpoints"]}
    for row in s["windows"]:
        w = row["window_id"]
        reps = [e for e in s["replays"] if e["window_id"] == w]
        ret = "n/a" if row["return_mean"] is None else f"{row['return_mean']:.2f}"
        episodes = (
            "metrics lost in a crash (row recovered from the checkpoint)"
            if row.get("recovered")
            else f"{row['episodes']} episodes"
        )
        lines.append(
            f"    window {w}: {row['env_steps_total']:,} steps, {episodes}, "
            f"return {ret}, net profit {_money(row.get('net_profit_mean'))}, "
            f"checkpoint {ckpt[w]['path'] if w in ckpt else 'MISSING'}, "
            f"replays {', '.join(e['path'] for e in reps) or 'none yet'}"
        )
    # The evaluation replays (one episode each) ranked both ways: the two scores can disagree.
    best, rich = s["best_replay"], s["most_profitable_replay"]
    if best:
        lines.append(
            f"  best replay by return: {best['replay_id']} (window {best['window_id']}, "
            f"return {best['return']:.2f}, net profit {_money(best['net_profit'])})"
        )
    if rich and rich is not best:
        lines.append(
            f"  best replay by net profit: {rich['replay_id']} (window {rich['window_id']}, "
            f"return {rich['return']:.2f}, net profit {_money(rich['net_profit'])})"
        )
    if s["latest_replay"]:
        lines.append(f"  latest replay: {s['latest_replay']['path']}")
    for e in s["eval_failures"]:
        lines.append(f"  eval failed for window {e['window_id']}: {e['error']}")
    if s["windows"] or best:
        lines += [f"  {line}" for line in SCORES_EXPLAINED]
    return "\n".join(lines)


def list_table(runs_dir: str) -> str:
    names = runs.list_runs(runs_dir)
    if not names:
        return f"no runs in {runs_dir}/"
    lines = [
        f"{'run':<28} {'windows':>7} {'steps':>12} {'best return':>12} {'its profit':>12} {'best profit':>12}  status"
    ]
    for name in names:
        try:
            s = summarize(Path(runs_dir) / name)
        except CorruptLogError as exc:
            lines.append(f"{name:<28} corrupt log: {exc}")
            continue
        steps = s["windows"][-1]["env_steps_total"] if s["windows"] else 0
        best, rich = s["best_replay"], s["most_profitable_replay"]
        cells = (
            f"{best['return']:.2f}" if best else "-",
            _money(best["net_profit"]) if best else "-",
            _money(rich["net_profit"]) if rich else "-",
        )
        lines.append(
            f"{name:<28} {len(s['windows']):>7} {steps:>12,} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12}  "
            f"{s['status']}"
        )
    lines += [
        "",
        "best return, its profit, best profit: of the run's evaluation replays (one episode each)",
        *SCORES_EXPLAINED,
    ]
    return "\n".join(lines)
