"""Importing the training modules changes nothing process-wide: no fork hook, no SIGINT
handler or excepthook of PufferLib's, no PuffeRL import. The env workers' fork hook is
registered by an explicit, idempotent call (pipeline/puffer.py), and the trainer class
is a module-level class (pipeline/puffer_trainer.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

RECORD_FORK_HOOKS = """
import os, signal, sys, warnings
hooks = []
register = os.register_at_fork
def recording(**kwargs):
    hooks.extend(getattr(f, "__module__", "") or "" for f in kwargs.values())
    register(**kwargs)
os.register_at_fork = recording
ours = lambda: [m for m in hooks if m.startswith("prospector")]
excepthook = sys.excepthook
# pufferlib.pufferl, on import, turns every RuntimeWarning into an error
puffers_filter = lambda: any(f[0] == "error" and f[2] is RuntimeWarning for f in warnings.filters)
"""


def run_python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", RECORD_FORK_HOOKS + textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_importing_the_training_modules_registers_no_process_wide_hook():
    run_python(
        """
        import prospector.pipeline.cli, prospector.pipeline.trainer, prospector.pipeline.puffer
        import prospector.pipeline.dashboard, prospector.pipeline.throughput
        import prospector.pipeline.evaluators, prospector.pipeline.signals
        assert ours() == [], ours()
        assert "pufferlib.pufferl" not in sys.modules
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert sys.excepthook is excepthook and not puffers_filter()
        """
    )


def test_the_env_workers_fork_hook_is_registered_once_by_an_explicit_call():
    run_python(
        """
        from prospector.pipeline import puffer
        puffer.kill_env_workers_with_trainer()
        puffer.kill_env_workers_with_trainer()
        assert ours() == ["prospector.pipeline.puffer"], ours()
        """
    )


def test_the_trainer_class_is_importable_and_keeps_pythons_sigint_handler():
    run_python(
        """
        from prospector.pipeline.puffer_trainer import WindowedPuffeRL
        import pufferlib.pufferl
        assert issubclass(WindowedPuffeRL, pufferlib.pufferl.PuffeRL)
        assert WindowedPuffeRL.__module__ == "prospector.pipeline.puffer_trainer"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert sys.excepthook is excepthook
        assert ours() == [], ours()
        """
    )
