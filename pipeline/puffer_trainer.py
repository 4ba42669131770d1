"""``WindowedPuffeRL``, the trainer class: PufferLib's PPO trainer (``PuffeRL``) with the
divergences that pipeline/puffer.py lists and implements (collection, the PPO update,
checkpoints, the utilisation thread, the dashboard, several ranks).

It is a module of its own because the class derives from ``pufferlib.pufferl.PuffeRL``:
importing this module imports ``pufferlib.pufferl`` (torch, and PufferLib's own SIGINT
handler and traceback printer, which ``import_pufferl`` takes back). The trainer imports
it when a run starts, not when the command line is parsed; puffer.py, the dashboard and
the rest of the pipeline import without it.
"""

from __future__ import annotations

from .dashboard import TerminalDashboard
from .puffer import LastLogs, collect_batch, import_pufferl, ppo_update


class WindowedPuffeRL(import_pufferl().PuffeRL):
    """PuffeRL for the windowed trainer: ``evaluate()``, ``train()`` and ``losses``
    as stock, with puffer.py's divergences; ``shutdown()`` instead of ``close()``.
    ``dashboard``: draw PuffeRL's dashboard on this terminal (never with ``distributed``);
    ``screen``: the dashboard to draw on, where the caller made its own."""

    def __init__(
        self,
        config,
        vecenv,
        policy,
        logger=None,
        *,
        screen: TerminalDashboard | None = None,
        dashboard: bool = False,
        distributed: bool = False,
    ):
        self.distributed = distributed
        self.screen = screen or TerminalDashboard(dashboard and not distributed)
        if distributed:
            self.screen.enabled = False
        super().__init__(config, vecenv, policy, logger or LastLogs())
        if not self.screen.enabled:
            self.utilization.stop()

    evaluate = collect_batch
    train = ppo_update

    def save_checkpoint(self):
        return None

    def mean_and_log(self):
        if self.distributed:  # stock all_reduces here at moments that differ per rank (puffer.py, 8)
            return None
        return super().mean_and_log()

    def print_dashboard(self, *args, **kwargs):
        if self.screen.enabled:
            self.screen.draw(self.screen.capture(lambda: super(WindowedPuffeRL, self).print_dashboard()))

    def note(self, line: str) -> None:
        self.screen.note(line)

    def shutdown(self) -> None:
        """Stop the utilisation thread and give the terminal back (not PuffeRL's close())."""
        self.utilization.stop()
        self.screen.close()
