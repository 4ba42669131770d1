"""The ``prospector`` command line.

Each subcommand imports what it needs when it runs, so ``prospector --help`` and
the light commands start fast (the trainer pulls in torch; the game does not).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys

# numpy's OpenBLAS threads busy-wait on the second core of small machines and
# slow the env loop down; this project does no large BLAS work outside torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum, with a message that says so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


# ---------------------------------------------------------------- commands


def cmd_parity(args) -> int:
    from .parity import POLICIES, run_parity
    policies = args.policies.split(",") if args.policies else list(POLICIES)
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise CliError(f"unknown policy {unknown[0]!r}; choose from {', '.join(POLICIES)}")
    result = run_parity(args.seeds, args.steps, policies, first_seed=args.first_seed,
                        workers=args.workers, progress=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["mismatch"] is None:
        print(f"parity: 0 differences in {result['steps_compared']:,} steps "
              f"({result['seeds']} seeds x {len(policies)} policies, up to {args.steps} steps each, "
              f"{result['seconds']:.0f} s)")
    else:
        print(result["mismatch"], file=sys.stderr)
    return 0 if result["mismatch"] is None else 1


def cmd_bench(args) -> int:
    from .bench import format_table, run
    result = run(envs=args.envs, seconds=args.seconds, seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def cmd_bots(args) -> int:
    from .botbench import format_table, run_bots
    from .bots import BOT_NAMES
    names = args.bots.split(",") if args.bots else list(BOT_NAMES)
    unknown = [n for n in names if n not in BOT_NAMES]
    if unknown:
        raise CliError(f"unknown bot {unknown[0]!r}; choose from {', '.join(BOT_NAMES)}")
    overrides = {"time_max": args.time_max} if args.time_max else None
    try:
        results = run_bots(names, episodes=args.episodes, seed=args.seed, config=overrides)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


def cmd_train(args) -> int:
    from pipeline.config import make_train_config
    from pipeline.eventlog import CorruptLogError, RunLockedError
    from pipeline.trainer import TrainError, train
    try:
        cfg = make_train_config(
            args.config, run_id=args.run_id, runs_dir=args.runs_dir, windows=args.windows,
            total_steps=args.total_steps, window_steps=args.window_steps, envs=args.envs,
            workers=args.workers, backend=args.backend, seed=args.seed, device=args.device,
            wandb=args.wandb, time_max=args.time_max, policy=args.policy, experiment=args.experiment,
            eval_episodes=args.eval_episodes, dashboard=args.dashboard, site=args.site,
            deploy=args.deploy or None)
        if args.total_steps is not None and args.windows is None:
            cfg.windows = None  # --total-steps alone: train until that many steps
        if cfg.device.startswith("cuda"):
            import torch
            if not torch.cuda.is_available():
                raise CliError("--device cuda was asked for, but no CUDA device is available")
        run_dir = train(cfg, resume=args.resume)
    except (ValueError, TrainError, RunLockedError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # disk full, I/O error: the log holds every event written before
        raise CliError(storage_error(exc)) from None
    print(describe_run(run_dir))
    return 0


def storage_error(exc: OSError, then: str = "continue it with --resume") -> str:
    """One line for a failed write to the run store (the log stays valid: see eventlog.py)."""
    where = f" ({exc.filename})" if exc.filename else ""
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "a write to the run store failed"
    return (f"{what}: {exc.strerror or exc}{where}; the run's log is intact up to the last complete event, "
            f"free some space and {then}")


def cmd_benchmark(args) -> int:
    from pipeline.benchmark import BenchmarkError, format_table, run_benchmark, to_json
    from pipeline.eventlog import CorruptLogError, RunLockedError
    from pipeline.trainer import TrainError
    if args.throughput:
        from pipeline.throughput import format_sweep, sweep
        envs = [int(x) for x in args.envs.split(",")] if args.envs else None
        workers = [int(x) for x in args.workers.split(",")] if args.workers else None
        result = sweep(envs=envs, workers=workers, seconds=args.seconds, progress=not args.json)
        print(json.dumps(result, indent=2) if args.json else format_sweep(result))
        return 0
    from .bots import BOT_NAMES
    bots = args.bots.split(",") if args.bots else list(BOT_NAMES)
    unknown = [n for n in bots if n not in BOT_NAMES]
    if unknown:
        raise CliError(f"unknown bot {unknown[0]!r}; choose from {', '.join(BOT_NAMES)}")
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if not args.json else None
    try:
        kw = {"seeds_file": args.seeds} if args.seeds else {}
        if args.steps is not None:
            kw["steps"] = args.steps
        result = run_benchmark(episodes=args.episodes, config_file=args.config,
                               runs_dir=args.runs_dir, run_id=args.run_id, run=args.run, bots=bots,
                               sample_seed=args.sample_seed, greedy=args.greedy, wandb=args.wandb,
                               progress=say, eval_time_max=args.eval_time_max, **kw)
    except (ValueError, BenchmarkError, TrainError, RunLockedError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    print(to_json(result) if args.json else format_table(result))
    return 0


def describe_run(run_dir) -> str:
    from pipeline.runs_report import describe
    return describe(run_dir)


def cmd_eval(args) -> int:
    from pipeline import runs
    from pipeline.eventlog import CorruptLogError
    from pipeline.evaluator import CheckpointError, evaluate_window
    try:
        run_dir = runs.run_dir(args.run, args.runs_dir)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not (run_dir / runs.EVENTS_FILE).is_file():
        raise CliError(f"no run {args.run!r} in {args.runs_dir}/")
    try:
        recorded = evaluate_window(run_dir, args.window, args.episodes)
    except (CheckpointError, CorruptLogError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(storage_error(exc, "run the evaluation again")) from None
    for event in recorded:
        print(f"replay {event['replay_id']}: return {event['return']:.2f}, net profit "
              f"{event['net_profit']:.0f}, {event['steps']} steps, tags {', '.join(event['tags'])}")
    return 0


def cmd_runs(args) -> int:
    from pipeline import runs
    from pipeline.eventlog import CorruptLogError
    from pipeline.runs_report import describe, list_table
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
            from pipeline.projections import projection_snapshot, rebuild_projections
            rebuild_projections(run_dir)
            snap = projection_snapshot(run_dir)
            print(f"reindexed {run_dir.name}: {snap['windows_rows'] if 'windows_rows' in snap else len(snap.get('windows', []))} "
                  f"window rows, {len(snap.get('replays', []))} replays")
    except CorruptLogError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_play_server(args) -> int:
    from .play.server import serve
    if args.workers > 1:
        print("prospector play-server: note: sessions live in one worker's memory; with --workers > 1 a "
              "client may reach a worker that does not know its session", file=sys.stderr)
    try:
        serve(host=args.host, port=args.port, workers=args.workers, ttl_seconds=args.ttl,
              max_sessions=args.max_sessions, allow_origins=tuple(args.allow_origin),
              max_body_bytes=args.max_body_bytes, allow_localhost=args.localhost_origins)
    except OSError as exc:
        raise CliError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return 0


def port_number(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {value}")
    return value


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prospector", description="Asteroid Belt Prospector: game, training, site.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parity", help="bit-exact comparison of the C core with the Python reference")
    p.add_argument("--seeds", type=positive_int, default=100, help="number of seeds (default 100)")
    p.add_argument("--steps", type=positive_int, default=500, help="steps per seed and policy (default 500)")
    p.add_argument("--first-seed", type=non_negative_int, default=0, help="first seed of the range (default 0)")
    p.add_argument("--policies", default="", help="comma-separated subset of: random,valid,greedy_miner,"
                   "cautious_scanner,market_timer (default all)")
    p.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, help="processes (default: CPUs)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser("bench", help="env-only steps/s on one core")
    p.add_argument("--envs", type=positive_int, default=1024, help="games in the vector env (default 1024)")
    p.add_argument("--seconds", type=positive_float, default=10.0, help="seconds per figure (default 10)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON with sps_random, sps_bot, sps_reference")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("bots", help="baseline bots over a fixed seed list")
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per bot (default 1000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the fixed seed list (default 0)")
    p.add_argument("--bots", default="", help="comma-separated subset of the bots (default all)")
    p.add_argument("--time-max", type=positive_int, default=None, help="episode budget in ticks (default 20000)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_bots)

    p = sub.add_parser("train", help="train PPO (PufferLib) in windows; every window: checkpoint, row, replays")
    p.add_argument("--config", default=None, help="TOML or JSON file of training settings")
    p.add_argument("--run-id", default=None, help="run id (default: UTC time and git sha)")
    p.add_argument("--runs-dir", default="runs", help="where runs live (default runs/)")
    p.add_argument("--resume", default=None, metavar="RUN_ID", help="continue a run from its last window")
    p.add_argument("--windows", type=positive_int, default=None, help="windows to train (default 3)")
    p.add_argument("--total-steps", type=positive_int, default=None, help="stop at this many env steps")
    p.add_argument("--window-steps", type=positive_int, default=None, help="env steps per window")
    p.add_argument("--envs", type=positive_int, default=None, help="games in total")
    p.add_argument("--workers", type=positive_int, default=None, help="env worker processes")
    p.add_argument("--backend", choices=("multiprocessing", "serial"), default=None)
    p.add_argument("--seed", type=non_negative_int, default=None)
    p.add_argument("--device", default=None, help="cpu or cuda")
    p.add_argument("--time-max", type=positive_int, default=None, help="episode budget in ticks")
    p.add_argument("--policy", choices=("mlp", "lstm"), default=None)
    p.add_argument("--experiment", default=None, help="W&B group")
    p.add_argument("--eval-episodes", type=positive_int, default=None, help="replays per window")
    p.add_argument("--wandb", dest="wandb", action="store_true", default=None, help="log to W&B (default)")
    p.add_argument("--no-wandb", dest="wandb", action="store_false")
    p.add_argument("--no-dashboard", dest="dashboard", action="store_false", default=None,
                   help="hide PuffeRL's live terminal dashboard")
    p.add_argument("--site", default=None, metavar="DIR", help="rebuild the static site into DIR after every replay")
    p.add_argument("--deploy", action="store_true", help="deploy the site after every rebuild")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("benchmark", help="train PPO (default config), then PPO vs the bots on 1000 fixed seeds")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="env steps to train (default pipeline.benchmark.DEFAULT_STEPS, about 20 minutes in all)")
    p.add_argument("--seeds", default=None, metavar="FILE", help="seeds file (default benchmarks/eval_seeds.txt)")
    p.add_argument("--episodes", type=positive_int, default=None, help="use only the first N seeds of the file")
    p.add_argument("--run", default=None, metavar="RUN_ID", help="no training: benchmark this run's last checkpoint")
    p.add_argument("--run-id", default=None, help="id of the training run (default: UTC time and git sha)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--config", default=None, help="TOML or JSON file of training settings (default: none)")
    p.add_argument("--bots", default="", help="comma-separated subset of the bots (default all)")
    p.add_argument("--eval-time-max", type=positive_int, default=None,
                   help="episode budget of the evaluation (default 20000, the protocol's; shorter only for smoke tests)")
    p.add_argument("--sample-seed", type=non_negative_int, default=0, help="seed of the policy's action sampling")
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of seeded sampling")
    p.add_argument("--no-wandb", dest="wandb", action="store_false", default=True, help="do not log to W&B")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--throughput", action="store_true",
                   help="instead: trained steps/s over worker and env counts (PPO loop, no run written)")
    p.add_argument("--envs", default="", help="--throughput: comma-separated env counts (default 64..4096)")
    p.add_argument("--workers", default="", help="--throughput: comma-separated worker counts (default 1,2)")
    p.add_argument("--seconds", type=positive_float, default=20.0, help="--throughput: seconds per point (default 20)")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("eval", help="record eval replays of one window's checkpoint")
    p.add_argument("--run", required=True, help="run id")
    p.add_argument("--window", type=non_negative_int, required=True, help="window id")
    p.add_argument("--episodes", type=positive_int, default=1, help="episodes to record (default 1)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("runs", help="list, show and reindex runs")
    runs_sub = p.add_subparsers(dest="runs_command", required=True, metavar="RUNS_COMMAND")
    q = runs_sub.add_parser("list", help="every run with windows and best return")
    q.add_argument("--runs-dir", default="runs")
    for name, text in (("show", "what a run holds"), ("reindex", "rebuild a run's projections from its log")):
        q = runs_sub.add_parser(name, help=text)
        q.add_argument("run", help="run id")
        q.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("play-server", help="the human-play HTTP service (Sanic), sessions in memory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8001, help="port (default 8001)")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="a site origin allowed to call the API from a browser (repeatable; '*' for any)")
    p.add_argument("--no-localhost-origins", dest="localhost_origins", action="store_false",
                   help="do not allow http://localhost:* and http://127.0.0.1:* origins (allowed by default)")
    p.add_argument("--ttl", type=positive_float, default=900.0, help="idle seconds before a session expires (default 900)")
    p.add_argument("--max-sessions", type=positive_int, default=1000, help="live sessions at most (default 1000)")
    p.add_argument("--max-body-bytes", type=positive_int, default=8192, help="request body limit (default 8192)")
    p.set_defaults(func=cmd_play_server)

    from .site_cli import add_parsers as add_site_parsers  # site build|serve, deploy
    add_site_parsers(sub, positive_int)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"prospector {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
