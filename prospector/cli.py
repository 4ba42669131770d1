"""The ``prospector`` command line.

Each subcommand imports what it needs when it runs, so ``prospector --help`` and
the light commands start fast (the trainer pulls in torch; the game does not).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# numpy's OpenBLAS threads busy-wait on the second core of small machines and
# slow the env loop down; this project does no large BLAS work outside torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


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
