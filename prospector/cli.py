"""The ``prospector`` command line: a frame that the layers plug their commands into.

The game's own commands (``bench``, ``parity``, ``bots``) are defined here. The layers
above the game add theirs through the ``prospector.commands`` entry-point group
(``train``/``eval``/``runs``/``benchmark`` from the trainer, ``play-server`` from the
play service, ``site``/``deploy`` from the site generator), so this module never
imports a layer above its own (docs/architecture.md). A command whose extra is not
installed says which one to install.

Each command imports what it needs when it runs, so ``prospector --help`` and the
light commands start fast (the trainer pulls in torch; the game does not).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import metadata

# numpy's OpenBLAS threads busy-wait on the second core of small machines and
# slow the env loop down; this project does no large BLAS work outside torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DISTRIBUTION = "asteroid-prospector"
COMMAND_GROUP = "prospector.commands"

# Which extra brings a missing top-level module (for the one-line "install the extra" error).
EXTRA_OF_MODULE = {
    "torch": "train",
    "pufferlib": "train",
    "wandb": "train",
    "pyarrow": "train",
    "zstandard": "train",
    "psutil": "train",
    "sanic": "play",
    "jinja2": "site",
    "mkdocs": "site",
    "material": "site",
    "playwright": "site",
    "av": "site",
}


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


class MissingExtraError(CliError):
    """A command needs a dependency of an extra that is not installed."""

    def __init__(self, command: str, module: str, extra: str | None = None):
        extra = extra or EXTRA_OF_MODULE.get(module, "all")
        super().__init__(
            f"this command needs the '{extra}' extra (module {module!r} is not installed): "
            f"pip install '{DISTRIBUTION}[{extra}]'"
        )


# ------------------------------------------------------------ argument types


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


def port_number(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {value}")
    return value


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and examples; option help says its own default."""


def add_command(
    sub, name: str, *, help: str, description: str | None = None, examples: str = "", extra: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand with a one-line description, its help and an examples section.

    ``extra`` names the pip extra the command needs, for the error when it is missing."""
    epilog = "examples:\n" + "\n".join("  " + line for line in examples.strip().splitlines()) if examples else None
    p = sub.add_parser(
        name,
        help=help,
        description=description or help[0].upper() + help[1:] + ".",
        epilog=epilog,
        formatter_class=HelpFormatter,
    )
    p.set_defaults(extra=extra)
    return p


#: Where runs live unless ``--runs-dir`` says otherwise (the training default too: pipeline/config.py).
RUNS_DIR = "runs"


def add_run_options(
    parser: argparse.ArgumentParser,
    *,
    run: str | None = None,
    run_help: str = "run id",
    run_id_help: str | None = None,
    runs_dir_help: str | None = "where runs live",
    runs_flag: str = "--runs-dir",
) -> None:
    """The run store's options, one definition for every command that reads or writes runs.

    ``run``: None (no run option), ``"required"`` or ``"optional"`` (``--run RUN_ID``) or
    ``"positional"`` (``RUN``), with ``run_help``; ``run_id_help``: a ``--run-id`` option for
    a command that starts a run; ``runs_dir_help``: the runs directory under ``runs_flag``
    (``--runs-dir``; the site's builder calls it ``--runs``), its default said after the help;
    None leaves it out. ``train`` takes its ``--run-id`` and ``--runs-dir`` from the training
    settings (pipeline/config.py), whose default is :data:`RUNS_DIR` too.
    """
    if run == "positional":
        parser.add_argument("run", help=run_help)
    elif run in ("required", "optional"):
        parser.add_argument("--run", required=run == "required", default=None, metavar="RUN_ID", help=run_help)
    elif run is not None:
        raise ValueError(f"run must be required, optional or positional, not {run!r}")
    if run_id_help:
        parser.add_argument("--run-id", default=None, help=run_id_help)
    if runs_dir_help:
        parser.add_argument(runs_flag, default=RUNS_DIR, help=f"{runs_dir_help} (default {RUNS_DIR}/)")


# ---------------------------------------------------------- game commands


def cmd_parity(args) -> int:
    from .parity import POLICIES, run_parity

    policies = args.policies.split(",") if args.policies else list(POLICIES)
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise CliError(f"unknown policy {unknown[0]!r}; choose from {', '.join(POLICIES)}")
    result = run_parity(
        args.seeds, args.steps, policies, first_seed=args.first_seed, workers=args.workers, progress=not args.json
    )
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["mismatch"] is None:
        print(
            f"parity: 0 differences in {result['steps_compared']:,} steps "
            f"({result['seeds']} seeds x {len(policies)} policies, up to {args.steps} steps each, "
            f"{result['seconds']:.0f} s)"
        )
    else:
        print(result["mismatch"], file=sys.stderr)
    return 0 if result["mismatch"] is None else 1


def cmd_bench(args) -> int:
    from .bench import format_table, run

    result = run(envs=args.envs, seconds=args.seconds, seed=args.seed, threads=args.threads)
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


def add_game_commands(sub) -> None:
    p = add_command(
        sub,
        "parity",
        help="bit-exact comparison of the C core with the Python reference",
        examples="prospector parity --seeds 20 --steps 500\nprospector parity --policies random,valid --json",
    )
    p.add_argument("--seeds", type=positive_int, default=100, help="number of seeds (default 100)")
    p.add_argument("--steps", type=positive_int, default=500, help="steps per seed and policy (default 500)")
    p.add_argument("--first-seed", type=non_negative_int, default=0, help="first seed of the range (default 0)")
    p.add_argument(
        "--policies",
        default="",
        help="comma-separated subset of: random,valid,greedy_miner,cautious_scanner,market_timer (default all)",
    )
    p.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, help="processes (default: one per CPU)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_parity)

    p = add_command(
        sub,
        "bench",
        help="env-only steps per second of the C core",
        examples="prospector bench\nprospector bench --threads 2\nprospector bench --envs 4096 --seconds 5 --json",
    )
    p.add_argument("--envs", type=positive_int, default=1024, help="games in the vector env (default 1024)")
    p.add_argument("--seconds", type=positive_float, default=10.0, help="seconds per figure (default 10)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the games and actions (default 0)")
    p.add_argument(
        "--threads",
        type=non_negative_int,
        default=1,
        help="stepping threads (default 1, pinned to one core; 0: one per available core); "
        "more than 1 also measures 1 thread in the same run",
    )
    p.add_argument(
        "--json", action="store_true", help="print JSON with sps_random, sps_bot, sps_gym_vector, sps_reference"
    )
    p.set_defaults(func=cmd_bench)

    p = add_command(
        sub,
        "bots",
        help="the baseline bots over a fixed list of seeds",
        examples="prospector bots --episodes 100\nprospector bots --bots greedy_miner --json",
    )
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per bot (default 1000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the fixed seed list (default 0)")
    p.add_argument("--bots", default="", help="comma-separated subset of the bots (default all)")
    p.add_argument("--time-max", type=positive_int, default=None, help="episode budget in ticks (default 20000)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_bots)


# ------------------------------------------------------------------ frame


def plugged_commands() -> list[metadata.EntryPoint]:
    """The commands other layers contribute, in a stable order."""
    return sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda ep: ep.name)


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        from . import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prospector",
        formatter_class=HelpFormatter,
        description="Asteroid Belt Prospector: the game, its training, the site that shows it.",
        epilog="A window is window_steps environment steps of training; every window ends with a checkpoint,\n"
        "a metrics row and evaluation replays in the run's event log (docs/training.md).\n"
        "'prospector COMMAND --help' describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_game_commands(sub)
    for entry in plugged_commands():
        entry.load()(sub)  # each plug-in module is argparse only; heavy imports wait for the run
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"prospector {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if not top or top == "prospector":
            raise
        print(f"prospector {args.command}: error: {MissingExtraError(args.command, top, args.extra)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # `python -m prospector.cli` runs this file as __main__; the plug-ins raise the
    # CliError of the imported module, so run that module's main.
    from prospector.cli import main as imported_main

    sys.exit(imported_main())
