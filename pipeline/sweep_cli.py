"""``prospector sweep``: argparse and the command (the sweep itself: pipeline/sweep.py).

Registered by pipeline/cli.py's ``add_commands``; argparse only at import time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from prospector.cli import CliError, add_command, add_run_options, positive_float, positive_int

SWEEP_ABOUT = """\
Tune training settings with PufferLib's sweep methods (pufferlib.sweep: Protein,
its cost-aware Bayesian optimiser, or Random as the baseline) over a search space
file. Every trial is a normal run RUNS/{SWEEP}-tNNN (W&B group: the sweep id),
scored on fixed validation seeds (not the benchmark's); the sweep's own log is
RUNS/sweeps/{SWEEP}/events.jsonl. The site draws each sweep on its Constellation
page (docs/tuning.md)."""


def cmd_sweep(args) -> int:
    if args.write_space:
        return write_space(args.write_space)
    from .store.log import EventLogWriteError
    from .sweep import SweepError, resume, start
    from .sweep_space import SpaceError, load_space

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    overrides = {"method": args.method, "trials": args.trials, "hours": args.hours, "parallel": args.parallel}
    overrides.update(trial_steps=args.trial_steps, nproc=args.nproc)
    try:
        if args.resume:
            if args.space or args.method or args.trial_steps or args.nproc:
                raise CliError(
                    "--resume keeps the sweep's space, method and trial budget (only --trials, --hours, --parallel)"
                )
            budget = {"trials": args.trials, "hours": args.hours, "parallel": args.parallel}
            sweep_id, reason = resume(args.runs_dir, args.resume, budget, say)
        else:
            space = load_space(args.space, overrides)  # checked before any directory is made
            sweep_id, reason = start(space, args.runs_dir, args.sweep_id, args.wandb, say)
    except (SpaceError, SweepError) as exc:
        raise CliError(str(exc)) from None
    except (EventLogWriteError, OSError) as exc:
        raise CliError(f"a write to the sweep's log failed: {exc}; continue it with --resume") from None
    print(summary(args.runs_dir, sweep_id, reason))
    return 130 if reason == "interrupted" else 0


def write_space(path: str) -> int:
    from .sweep_space import DEFAULT_SPACE_FILE

    target = Path(path)
    if target.exists():
        raise CliError(f"{path} exists; the default space is only written to a new file")
    try:
        shutil.copyfile(DEFAULT_SPACE_FILE, target)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote the default search space to {path}")
    return 0


def summary(runs_dir: str, sweep_id: str, reason: str) -> str:
    from .store.sweeps import constellation, sweep_path

    doc = constellation(sweep_path(runs_dir, sweep_id), runs_dir)
    done = [t for t in doc["trials"] if t["status"] == "finished"]
    failed = sum(t["status"] == "failed" for t in doc["trials"])
    lines = [f"sweep {sweep_id} ({reason}): {len(done)} trials finished, {failed} failed"]
    best = next((t for t in done if t["trial"] == doc["best"]), None)
    if best:
        lines.append(f"best: trial {best['trial']} ({best['run_id']}), score {best['score']:,.0f}")
        lines += [f"  {k} = {v}" for k, v in best["settings"].items()]
    lines.append(f"continue: prospector sweep --resume {sweep_id}; see it: prospector site build")
    return "\n".join(lines)


def add_sweep_parser(sub) -> None:
    p = add_command(
        sub,
        "sweep",
        help="tune training settings with PufferLib's Protein (or Random) sweep; every trial a run",
        description=SWEEP_ABOUT,
        extra="train",
        examples="""\
prospector sweep                                  # the default space (pipeline/sweep_default.toml)
prospector sweep --write-space my.toml            # copy the default space to edit
prospector sweep --space my.toml --trials 8 --trial-steps 2000000
prospector sweep --method Random --hours 2        # the baseline to beat
prospector sweep --resume sweep-20261207-150000-abc1234""",
    )
    p.add_argument("--space", default=None, metavar="FILE", help="search space TOML file (default: the shipped one)")
    p.add_argument("--write-space", default=None, metavar="FILE", help="write the default space to FILE and stop")
    p.add_argument(
        "--method", default=None, help="pufferlib.sweep method: Protein, Random or ParetoGenetic (default: the file's)"
    )
    p.add_argument("--trials", type=positive_int, default=None, help="sweep budget in trials (default: the file's, 24)")
    p.add_argument(
        "--hours", type=positive_float, default=None, help="sweep budget in hours (default: the file's, none)"
    )
    p.add_argument(
        "--trial-steps", type=positive_int, default=None, help="env steps each trial trains (default: the file's)"
    )
    p.add_argument("--parallel", type=positive_int, default=None, help="trials at once (default: the file's, 2)")
    p.add_argument(
        "--nproc", type=positive_int, default=None, help="train --nproc of each trial (default: the file's, 1)"
    )
    p.add_argument("--sweep-id", default=None, help="id of a new sweep (default: sweep-{UTC time}-{git sha})")
    p.add_argument(
        "--resume", default=None, metavar="SWEEP", help="continue this sweep from its log (default: a new sweep)"
    )
    add_run_options(p, runs_dir_help="where runs live; the sweep in RUNS/sweeps/")
    p.add_argument(
        "--no-wandb", dest="wandb", action="store_false", default=True, help="no W&B for the sweep or its trials"
    )
    p.set_defaults(func=cmd_sweep)
