"""The terminal dashboard of ``prospector train``: where PuffeRL's dashboard goes.

Owns the terminal while training shows a dashboard (pipeline/puffer.py, divergence 6):
PuffeRL's frame is captured instead of printed (``capture``), drawn in the terminal's
alternate screen (as ``less`` or ``top`` do), each line erased to its end and cropped to
the terminal's height, with the trainer's own lines (``note``) under it. ``close`` leaves
the alternate screen, shows the cursor and prints the trainer's lines again, so the
user's screen is as it was, followed by a clean account of the run. Without a terminal
there is no dashboard and the trainer's lines go to stderr as they come.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque

ALT_SCREEN_ON, ALT_SCREEN_OFF = "\033[?1049h", "\033[?1049l"
CURSOR_HIDE, CURSOR_SHOW = "\033[?25l", "\033[?25h"
HOME, ERASE_LINE_END, ERASE_BELOW, RESET_STYLE = "\033[H", "\033[K", "\033[J", "\033[0m"
STOCK_HOME = "\033[0;0H"  # what PuffeRL's print_dashboard starts every frame with


class _FrameBuffer:
    """Stands in for stdout while PuffeRL draws a frame: keeps the text, and answers
    ``isatty``/``fileno`` like the terminal so rich picks its colours and width."""

    def __init__(self, terminal):
        self.terminal = terminal
        self.parts: list[str] = []
        self.encoding = getattr(terminal, "encoding", "utf-8")

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.terminal.fileno()


def _fit(line: str, columns: int) -> str:
    return line if len(line) < columns else line[: max(1, columns - 2)] + "…"


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class TerminalDashboard:
    """Where PuffeRL's dashboard goes (6): the alternate screen of a terminal, or nowhere."""

    KEEP_NOTES = 1000

    def __init__(self, enabled: bool, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.enabled = enabled and _is_terminal(self.out)
        self.shown = False  # in the alternate screen now
        self.notes: deque[str] = deque(maxlen=self.KEEP_NOTES)
        self.capture_notes = self.enabled and _is_terminal(self.err)

    def note(self, line: str) -> None:
        """A line of the trainer's (a window closed, an evaluator failed): on stderr, or,
        while the dashboard shows on the same terminal, under it and again at the end."""
        if self.capture_notes and self.shown:
            self.notes.append(line)
        else:
            print(line, file=self.err, flush=True)

    def capture(self, draw) -> str:
        """The text ``draw()`` prints to stdout (PuffeRL's frame), with its cursor-home removed."""
        buffer = _FrameBuffer(self.out)
        with contextlib.redirect_stdout(buffer):
            draw()
        text = "".join(buffer.parts)
        return text.replace(STOCK_HOME, "")

    def draw(self, frame: str) -> None:
        if not self.enabled:
            return
        try:
            columns, rows = os.get_terminal_size(self.out.fileno())
        except OSError:
            columns, rows = 80, 24
        # one terminal row each: notes cut to the width (printed whole at the end), the
        # frame (rich draws it to the width) cut to the rows left, so nothing scrolls
        notes = [_fit(line, columns) for line in list(self.notes)[-min(6, rows // 4) :]] if self.notes else []
        lines = frame.rstrip("\n").split("\n")[: max(1, rows - len(notes) - 1)]
        text = "".join(line + RESET_STYLE + ERASE_LINE_END + "\n" for line in lines + notes)
        prefix = "" if self.shown else ALT_SCREEN_ON + CURSOR_HIDE
        self.shown = True
        self.out.write(prefix + HOME + text + ERASE_BELOW)
        self.out.flush()

    def close(self) -> None:
        """Back to the user's screen, cursor shown, the trainer's lines printed there."""
        if not self.shown:
            return
        self.shown = False
        self.out.write(RESET_STYLE + ALT_SCREEN_OFF + CURSOR_SHOW)
        self.out.flush()
        for line in self.notes:
            print(line, file=self.err)
        self.err.flush()
        self.notes.clear()
