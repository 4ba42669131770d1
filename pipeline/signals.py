"""The signal handlers a training process installs, and when it gives them back.

- ``CtrlC`` (SIGINT, the main thread of ``prospector train``): a Ctrl-C that PufferLib's
  bare ``except:`` clauses cannot swallow; the loop checks it between updates.
- ``stop_on_sigterm`` (a rank of ``--nproc``): the launcher's SIGTERM, sent to every rank
  when one fails, raises ``RankStopped``, so the trainer's cleanup runs and rank 0 still
  writes ``run_finished``; ``sigterm_ends_process`` puts the default back once the rank's
  work is over.

PufferLib's own SIGINT handler (``os._exit``) is taken back where PuffeRL is imported
(``puffer.import_pufferl``).
"""

from __future__ import annotations

import signal
import threading

from .distributed import RankStopped


class CtrlC:
    """Ctrl-C that training cannot lose.

    Python's handler raises KeyboardInterrupt wherever the main thread is. Inside one of
    PufferLib's bare ``except:`` clauses (around ``np.mean`` of its stats, run four times a
    second) the exception is swallowed and training goes on: seen as a SIGINT ignored
    under load. This handler raises it the same way and also remembers it, and the
    training loop raises it again between updates if it was swallowed."""

    def __init__(self):
        self.pressed = False
        self.previous = None

    def __call__(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt

    def install(self) -> None:
        # only over Python's own handler, on the main thread: a host application's is its own
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self.previous = signal.signal(signal.SIGINT, self)

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def uninstall(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def stop_on_sigterm() -> None:
    """SIGTERM (the launcher stopping every rank when one fails) raises RankStopped, so
    the trainer's cleanup runs: rank 0 appends run_finished and closes the log."""

    def stop(signum, frame):
        raise RankStopped("stopped by the launcher (SIGTERM): another rank failed or the launch was interrupted")

    signal.signal(signal.SIGTERM, stop)


def sigterm_ends_process() -> None:
    """The rank's work is over (rank 0 has closed the log): a SIGTERM from the launcher
    now only ends the process, instead of raising into the interpreter's shutdown."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
