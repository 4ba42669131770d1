"""The trainer's commands: ``train``, ``eval``, ``runs``, ``benchmark``.

Plugged into the ``prospector`` command frame (prospector/cli.py) through the
``prospector.commands`` entry point; argparse only at import time. ``train --site``
asks the ``prospector.hooks`` entry point ``after_replays`` for the site rebuild, which
the site generator (a layer above) provides (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import sys
from importlib import metadata

from prospector.cli import (
    CliError,
    add_command,
    add_run_options,
    int_at_least,
    non_negative_int,
    positive_float,
    positive_int,
)

from .config import SETTINGS, TrainConfig
from .store.log import LockTimeoutError
from .sweep_cli import add_sweep_parser

DEFAULTS = TrainConfig()


def storage_error(exc: OSError, then: str = "continue it with --resume") -> str:
    """One line for a failed write to the run store (the log stays valid: see pipeline/store/log.py)."""
    where = f" ({exc.filename})" if exc.filename else ""
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "a write to the run store failed"
    # a lock held too long is a busy machine, not a full disk: the advice differs
    busy = isinstance(exc, LockTimeoutError)
    advice = f"{then} when the machine is less busy" if busy else f"free some space and {then}"
    return f"{what}: {exc.strerror or exc}{where}; the run's log is intact up to the last complete event, {advice}"


def site_hook(cfg):
    """The ``after_replays`` hook that rebuilds the site for ``--site DIR``; None without it."""
    if not cfg.site:
        return None
    hooks = [ep for ep in metadata.entry_points(group="prospector.hooks") if ep.name == "after_replays"]
    if not hooks:
        raise CliError("--site needs the site generator: pip install 'asteroid-prospector[site]'")
    make_hook = hooks[0].load()
    return make_hook(cfg.site, deploy=cfg.deploy)


def video_renderer():
    """The ``prospector.hooks`` entry point ``replay_video`` (the site's player in headless
    Chromium, a layer above: docs/site.md#video): ``render(replay_path, out_path)``. A
    CliError when the site extra or Chromium is missing."""
    hooks = [ep for ep in metadata.entry_points(group="prospector.hooks") if ep.name == "replay_video"]
    if not hooks:
        raise CliError("--wandb-video needs the site generator: pip install 'asteroid-prospector[site]'")
    try:
        return hooks[0].load()()
    except (ImportError, RuntimeError) as exc:
        raise CliError(f"--wandb-video cannot render videos: {exc}") from None


def describe_run(run_dir) -> str:
    from .runs_report import describe

    return describe(run_dir)


def is_rank_zero() -> bool:
    """This process is rank 0 of a torchrun launch, or not under torchrun at all."""
    import os

    return os.environ.get("RANK", "0") == "0"


def cmd_train(args) -> int:
    from .distributed import RankStopped, check_nproc, die_with_launcher

    die_with_launcher()  # a rank of --nproc (or torchrun): first thing, before the slow imports
    from .config import make_train_config
    from .store.log import CorruptLogError, RunLockedError
    from .trainer import FollowerStop, TrainError, train

    try:
        # every setting with a flag, as parsed (None: not given); add_setting_options made them
        given = {name: getattr(args, name) for name, declared in SETTINGS.items() if declared.flag}
        cfg = make_train_config(args.config, **given)
        if args.total_steps is not None and args.windows is None:
            cfg.windows = None  # --total-steps alone: train until that many steps
        if args.resume is None and is_rank_zero() and not args.nproc:
            for change in cfg.derived:  # settings made consistent with the others (docs/training.md)
                print(f"note: {change}", file=sys.stderr)
        if args.nproc:
            check_nproc(args.nproc, cfg.envs, cfg.bptt_horizon)
        if cfg.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise CliError("--device cuda was asked for, but no CUDA device is available")
            if args.nproc and torch.cuda.device_count() < args.nproc:
                raise CliError(
                    f"--nproc {args.nproc} with --device cuda needs a CUDA device per rank: "
                    f"{torch.cuda.device_count()} found (use --nproc {torch.cuda.device_count()})"
                )
        from .puffer import resolve_compute_dtype

        resolve_compute_dtype(cfg.compute_dtype, cfg.device)  # bfloat16 without the hardware: refused now
        if cfg.wandb_video:
            if not cfg.wandb:
                raise CliError("--wandb-video logs to W&B: drop --no-wandb")
            video_renderer()  # refused now, not in a window's evaluator, when it cannot render
        if args.nproc:
            site_hook(cfg)  # a --site DIR that is refused is refused once, before any rank starts
            return launch_ranks(args)
        run_dir = train(cfg, resume=args.resume, after_replays=site_hook(cfg))
    except FollowerStop:
        return 2  # rank 0 refused the run and says why
    except RankStopped as exc:
        print(f"prospector train: {exc}; the run's log is intact: continue it with --resume", file=sys.stderr)
        return 1
    except (ValueError, TrainError, RunLockedError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # disk full, I/O error: the log holds every event written before
        raise CliError(storage_error(exc)) from None
    if is_rank_zero():
        print(describe_run(run_dir))
    return 0


def launch_ranks(args) -> int:
    """``train --nproc N``: the same command as N ranks through torchrun's engine
    (distributed.py); rank 0 prints the run's summary, a failed rank its own error."""
    from .distributed import launch

    code = launch(args.nproc, rank_argv(args))
    if code not in (0, 2) and code < 128:  # 2: a refusal, printed by rank 0; 128+: a signal (Ctrl-C)
        print(
            f"prospector train: a rank failed (exit status {code}); the run's log is intact: continue it with --resume",
            file=sys.stderr,
        )
    return code


def rank_argv(args) -> list[str]:
    """The options this ``train`` was given, as a rank's command line (without --nproc)."""
    argv = []
    for action in TRAIN_PARSER._actions:
        if not action.option_strings or action.dest in ("help", "nproc", "func"):
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default:
            continue
        if action.nargs == 0:  # a flag: given when its constant is the value
            if value == action.const:
                argv.append(action.option_strings[0])
        else:
            argv += [action.option_strings[0], str(value)]
    return argv


TRAIN_PARSER = None


def int_list(text: str, option: str, least: int) -> list[int] | None:
    """A comma-separated list of whole numbers >= least (None when empty)."""
    if not text:
        return None
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < least:
        raise CliError(f"{option} {text!r}: give comma-separated whole numbers >= {least}")
    return values


def dtype_list(text: str) -> list[str] | None:
    """``--compute-dtype`` of ``benchmark --throughput``: comma-separated, each checked."""
    if not text:
        return None
    values = [part.strip() for part in text.split(",")]
    choices = SETTINGS["compute_dtype"].choices
    for value in values:
        if value not in choices:
            raise CliError(f"--compute-dtype {value!r}: choose from {', '.join(choices)} (comma-separated)")
    return values


def cmd_benchmark(args) -> int:
    from prospector.bots import BOT_NAMES

    from .benchmark import BenchmarkError, format_table, run_benchmark, to_json
    from .store.log import CorruptLogError, RunLockedError
    from .trainer import TrainError

    if args.throughput:
        from .distributed import check_nproc
        from .throughput import ENVS, format_sweep, sweep

        envs, nprocs = int_list(args.envs, "--envs", 1), int_list(args.nproc, "--nproc", 1)
        try:  # as train --nproc: no more ranks than the machine runs (docs/training.md#several-processes)
            for nproc in nprocs or []:
                check_nproc(nproc, max(envs or ENVS), DEFAULTS.bptt_horizon)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        result = sweep(
            envs=envs,
            workers=int_list(args.workers, "--workers", 1),
            threads=int_list(args.threads, "--threads", 0),
            torch_threads=int_list(args.torch_threads, "--torch-threads", 1),
            nprocs=nprocs,
            compute_dtypes=dtype_list(args.compute_dtype),
            seconds=args.seconds,
            progress=not args.json,
        )
        print(json.dumps(result, indent=2) if args.json else format_sweep(result))
        return 0
    bots = args.bots.split(",") if args.bots else list(BOT_NAMES)
    unknown = [n for n in bots if n not in BOT_NAMES]
    if unknown:
        raise CliError(f"unknown bot {unknown[0]!r}; choose from {', '.join(BOT_NAMES)}")
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if not args.json else None
    try:
        kw = {"seeds_file": args.seeds} if args.seeds else {}
        if args.steps is not None:
            kw["steps"] = args.steps
        result = run_benchmark(
            episodes=args.episodes,
            config_file=args.config,
            runs_dir=args.runs_dir,
            run_id=args.run_id,
            run=args.run,
            bots=bots,
            sample_seed=args.sample_seed,
            greedy=args.greedy,
            wandb=args.wandb,
            progress=say,
            eval_time_max=args.eval_time_max,
            **kw,
        )
    except (ValueError, BenchmarkError, TrainError, RunLockedError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    print(to_json(result) if args.json else format_table(result))
    return 0


def cmd_eval(args) -> int:
    from .evaluator import CheckpointError, evaluate_window
    from .store import layout as runs
    from .store.log import CorruptLogError

    try:
        run_dir = runs.run_dir(args.run, args.runs_dir)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not (run_dir / runs.EVENTS_FILE).is_file():
        raise CliError(f"no run {args.run!r} in {args.runs_dir}/")
    try:
        recorded = evaluate_window(run_dir, args.window, args.episodes, video=video_for_run(run_dir))
    except (CheckpointError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(storage_error(exc, "run the evaluation again")) from None
    for event in recorded:
        print(
            f"replay {event['replay_id']}: return {event['return']:.2f}, net profit "
            f"{event['net_profit']:.0f}, {event['steps']} steps, tags {', '.join(event['tags'])}"
        )
    return 0


def video_for_run(run_dir):
    """For a run trained with --wandb-video: the evaluator's callback that renders the
    every_window replay to a video next to it (the trainer logs it to W&B); else None."""
    from .evaluator import video_recorder
    from .store.run import Run

    if not Run.open(run_dir).train_config.get("wandb_video"):
        return None
    try:
        render = video_renderer()
    except CliError as exc:  # the replay is still recorded; the window does not fail
        print(f"no video for this window: {exc}", file=sys.stderr)
        return None
    return video_recorder(run_dir, render)


def cmd_runs(args) -> int:
    from .runs_report import describe, list_table
    from .store import layout as runs
    from .store.log import CorruptLogError

    try:
        runs.check_runs_root(args.runs_dir)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.runs_command == "list":
        print(list_table(args.runs_dir))
        return 0
    try:
        run_dir = runs.run_dir(args.run, args.runs_dir)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not (run_dir / runs.EVENTS_FILE).is_file():
        raise CliError(f"no run {args.run!r} in {args.runs_dir}/")
    try:
        if args.runs_command == "show":
            print(describe(run_dir))
        else:
            from .store.projections import projection_snapshot, rebuild_projections

            rebuild_projections(run_dir)
            snap = projection_snapshot(run_dir)
            rows = snap["windows_rows"] if "windows_rows" in snap else len(snap.get("windows", []))
            print(f"reindexed {run_dir.name}: {rows} window rows, {len(snap.get('replays', []))} replays")
    except CorruptLogError as exc:
        raise CliError(str(exc)) from None
    return 0


TRAIN_ABOUT = """\
Train PPO (PufferLib's PuffeRL) on the C env, in windows.

A window is window_steps environment steps of training. Every window closes with a
checkpoint, a row of metrics and evaluation replays, all recorded in the run's
append-only event log runs/RUN_ID/events.jsonl (docs/training.md). Settings come from
the built-in defaults, then the --config file, then these options; every combination
is checked before the run directory is made.

W&B logging is on by default and offline (wandb/ holds the run; `wandb sync` uploads
it); it goes online when you are logged in (`wandb login`) or WANDB_MODE=online."""


def add_train_parser(sub) -> None:
    global TRAIN_PARSER
    p = TRAIN_PARSER = add_command(
        sub,
        "train",
        help="train PPO in windows; every window: checkpoint, metrics row, replays",
        description=TRAIN_ABOUT,
        extra="train",
        examples="""\
prospector train --windows 3                       # the demo's run
prospector train --envs 256 --window-steps 262144 --no-wandb
prospector train --config my.toml --site public    # rebuild the site after every window
prospector train --resume 20261130-101500-abc1234 --windows 2
prospector train --nproc 2 --threads 1             # two ranks, data-parallel (torchrun, gloo)""",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="TOML or JSON file of training settings (any TrainConfig field, docs/training.md; default: none)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_ID",
        help="continue this run from its last closed window (default: start a new run)",
    )
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=None,
        metavar="N",
        help="train as N data-parallel ranks on this machine (torchrun; gloo on the CPU, nccl with "
        "--device cuda, one GPU per rank); every rank steps --envs games (default: one process)",
    )
    add_setting_options(p)
    p.set_defaults(func=cmd_train)


def add_setting_options(p) -> None:
    """The ``train`` option of every setting with a flag, derived from its one declaration
    (pipeline/config.py): type, choices, metavar, and help with its range and default. Each
    defaults to None, so that an option not given leaves the config file's value."""
    for declared in SETTINGS.values():
        if declared.flag:
            add_setting_option(p, declared)


def add_setting_option(p, s) -> None:
    shown = f"(default: {s.default_text()})"
    if s.kind == "bool":
        if s.flag.startswith("--no-"):
            p.add_argument(s.flag, dest=s.name, action="store_false", default=None, help=f"do not {s.help} {shown}")
            return
        p.add_argument(s.flag, dest=s.name, action="store_true", default=None, help=f"{s.help} {shown}")
        if s.default:  # on unless turned off: --no-X too
            p.add_argument("--no-" + s.flag[2:], dest=s.name, action="store_false", help=f"do not {s.help}")
        return
    bounded = s.low is not None and s.high is not None and not isinstance(s.high, str)
    text = f"{s.help}, {s.range_text()} {shown}" if bounded else f"{s.help} {shown}"
    options = {"dest": s.name, "default": None, "help": text}
    if s.choices:
        options["choices"] = s.choices
    else:
        options["metavar"] = s.metavar or s.flag[2:].upper().replace("-", "_")
        if s.kind == "int":
            options["type"] = int_at_least(int(s.low)) if s.low is not None else whole_number
        elif s.kind == "float":
            options["type"] = positive_float if (s.low == 0 and s.low_open) else finite_number
    p.add_argument(s.flag, **options)


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def add_commands(sub) -> None:
    """Entry point ``prospector.commands``: the trainer's subcommands."""
    add_train_parser(sub)
    add_sweep_parser(sub)  # pipeline/sweep_cli.py

    p = add_command(
        sub,
        "benchmark",
        help="train PPO, then PPO vs the bots on 1000 fixed seeds",
        extra="train",
        examples="prospector benchmark                       # about 20 minutes\n"
        "prospector benchmark --run RUN_ID --episodes 100\n"
        "prospector benchmark --throughput --envs 256,1024 --seconds 10",
    )
    p.add_argument(
        "--steps", type=positive_int, default=None, help="env steps to train (default 32M, about 20 minutes in all)"
    )
    p.add_argument("--seeds", default=None, metavar="FILE", help="seeds file (default benchmarks/eval_seeds.txt)")
    p.add_argument(
        "--episodes", type=positive_int, default=None, help="use only the first N seeds of the file (default: all)"
    )
    add_run_options(
        p,
        run="optional",
        run_help="no training: benchmark this run's last checkpoint (default: train a new run)",
        run_id_help="id of the training run (default: UTC time and git sha)",
    )
    p.add_argument("--config", default=None, help="TOML or JSON file of training settings (default: none)")
    p.add_argument("--bots", default="", help="comma-separated subset of the bots (default all)")
    p.add_argument(
        "--eval-time-max",
        type=positive_int,
        default=None,
        help="episode budget of the evaluation (default 20000, the protocol's)",
    )
    p.add_argument(
        "--sample-seed", type=non_negative_int, default=0, help="seed of the policy's action sampling (default 0)"
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of seeded sampling")
    p.add_argument("--no-wandb", dest="wandb", action="store_false", default=True, help="do not log to W&B")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--throughput",
        action="store_true",
        help="instead: trained steps/s over worker and env counts (PPO loop, no run written)",
    )
    p.add_argument("--envs", default="", help="--throughput: comma-separated env counts (default 64..4096)")
    p.add_argument("--workers", default="", help="--throughput: comma-separated worker counts (default 1,2)")
    p.add_argument(
        "--threads",
        default="",
        help="--throughput: comma-separated C env threads per worker "
        "(0: the cores shared out; default: the training default, 0)",
    )
    p.add_argument(
        "--compute-dtype",
        default="",
        help=f"--throughput: comma-separated compute dtypes, of {', '.join(SETTINGS['compute_dtype'].choices)} "
        f"(default: the training default, {DEFAULTS.compute_dtype})",
    )
    p.add_argument(
        "--torch-threads",
        default="",
        help="--throughput: comma-separated torch intra-op threads "
        f"(default: the training default, {DEFAULTS.torch_threads})",
    )
    p.add_argument(
        "--nproc",
        default="",
        help="--throughput: comma-separated numbers of data-parallel ranks (torchrun, as train --nproc; default 1)",
    )
    p.add_argument("--seconds", type=positive_float, default=20.0, help="--throughput: seconds per point (default 20)")
    p.set_defaults(func=cmd_benchmark)

    p = add_command(
        sub,
        "eval",
        help="record evaluation replays of one window's checkpoint",
        extra="train",
        examples="prospector eval --run RUN_ID --window 2 --episodes 3",
    )
    add_run_options(p, run="required")
    p.add_argument("--window", type=non_negative_int, required=True, help="window id")
    p.add_argument("--episodes", type=positive_int, default=1, help="episodes to record (default 1)")
    p.set_defaults(func=cmd_eval)

    p = add_command(
        sub,
        "runs",
        help="list, show and reindex runs",
        extra="train",
        examples="prospector runs list\nprospector runs show RUN_ID\nprospector runs reindex RUN_ID",
    )
    runs_sub = p.add_subparsers(dest="runs_command", required=True, metavar="RUNS_COMMAND")
    q = add_command(
        runs_sub,
        "list",
        help="every run with its windows and best return",
        extra="train",
        examples="prospector runs list\nprospector runs list --runs-dir /data/runs",
    )
    add_run_options(q)
    for name, text in (("show", "what a run holds"), ("reindex", "rebuild a run's projections from its log")):
        q = add_command(runs_sub, name, help=text, extra="train", examples=f"prospector runs {name} RUN_ID")
        add_run_options(q, run="positional")
    p.set_defaults(func=cmd_runs)
