"""``prospector --help`` for every command: a description, an examples section, and help
with its default for every option (docs/cli.md); ``prospector --version``.

The parser is walked, not a list of commands, so a command or option added later without
its help fails here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys

import pytest

import prospector
from prospector.cli import build_parser

FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction, argparse._VersionAction)


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of every subcommand, nested ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from commands(sub, path + (name,))


def has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


COMMANDS = list(commands(build_parser()))


def test_the_walk_finds_every_layers_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    # one from the game, the trainer, the play service and the site generator, and nested ones
    assert {"bench", "train", "play-server", "site build", "site serve", "runs list", "replay export"} <= names


@pytest.mark.parametrize("path,parser", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_a_description_examples_and_help_with_defaults(path, parser):
    assert (parser.description or "").strip(), "no description"
    if not has_subcommands(parser):
        assert (parser.epilog or "").startswith("examples:\n  prospector "), "no examples section"
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert (action.help or "").strip(), f"{name} has no help"
        # a flag's default is its absence; a required option and a positional have none
        if action.option_strings and not action.required and not isinstance(action, FLAGS):
            assert "default" in action.help, f"{name} does not say its default: {action.help!r}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*path, "--help"])
    assert exit_.value.code == 0
    assert has_subcommands(parser) or "examples:" in out.getvalue()


def test_version_prints_the_package_version():
    proc = subprocess.run(
        [sys.executable, "-m", "prospector.cli", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"prospector {prospector.__version__}"
