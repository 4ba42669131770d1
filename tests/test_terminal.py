"""The terminal after training: `prospector train` with its dashboard, run under a real
pseudo-terminal, its output fed through a small VT100 screen model. When it ends, the
user's screen must hold what it held before, then the trainer's lines and the run's
summary, each exactly as printed: no dashboard remnants, no text printed over leftovers,
the cursor shown (pipeline/puffer.py, the dashboard)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from harness.procs import die_with_parent

REPO = Path(__file__).resolve().parents[1]
COLUMNS, ROWS = 100, 24
CSI = re.compile(r"\x1b\[([?>]?)([0-9;]*)([@A-Za-z])")
OTHER_ESCAPE = re.compile(r"\x1b(\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEMc])")
BOX = set("│╭╮╰╯─━┃")


class Screen:
    """The parts of a VT100/xterm screen a dashboard uses: printing with autowrap and
    scrolling, CR/LF, cursor position and moves, erase in line and display, the
    alternate screen (1049) and cursor visibility (25). Scrolled-off main-screen rows
    are kept, so the whole session can be read back as logical lines."""

    def __init__(self, columns: int, rows: int):
        self.columns, self.rows = columns, rows
        self.main = self._blank()
        self.screen = self.main
        self.history: list[tuple[str, bool]] = []  # (row text, continued from the row before)
        self.x = self.y = 0
        self.saved = (0, 0)
        self.cursor_visible = True
        self.in_alt = False
        self.pending_wrap = False
        self.drew_boxes = False  # a dashboard was drawn at some point

    def _blank(self):
        return [[[" "] * self.columns, False] for _ in range(self.rows)]

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = CSI.match(text, i)
                if m:
                    self._csi(m.group(1), m.group(2), m.group(3))
                    i = m.end()
                    continue
                m = OTHER_ESCAPE.match(text, i)
                i = m.end() if m else i + 1
                continue
            if ch == "\r":
                self.x, self.pending_wrap = 0, False
            elif ch == "\n":
                self._line_feed()
            elif ch == "\b":
                self.x, self.pending_wrap = max(0, self.x - 1), False
            elif ch == "\t":
                self.x = min(self.columns - 1, (self.x // 8 + 1) * 8)
            elif ch >= " ":
                self._put(ch)
            i += 1

    def _put(self, ch: str) -> None:
        if self.pending_wrap:
            self.x, self.pending_wrap = 0, False
            self._line_feed()
            self.screen[self.y][1] = True
        self.screen[self.y][0][self.x] = ch
        self.drew_boxes = self.drew_boxes or ch in BOX
        if self.x == self.columns - 1:
            self.pending_wrap = True
        else:
            self.x += 1

    def _line_feed(self) -> None:
        self.pending_wrap = False
        if self.y < self.rows - 1:
            self.y += 1
            return
        top = self.screen.pop(0)
        if self.screen is self.main:
            self.history.append(("".join(top[0]), top[1]))
        self.screen.append([[" "] * self.columns, False])

    def _csi(self, private: str, params: str, final: str) -> None:
        args = [int(p) if p else 0 for p in params.split(";")] if params else []
        first = args[0] if args else 0
        self.pending_wrap = False
        if private == "?" and final in "hl":
            for mode in args:
                if mode == 25:
                    self.cursor_visible = final == "h"
                elif mode in (47, 1047, 1049):
                    self._alternate(final == "h")
        elif private:
            return
        elif final in "Hf":
            row = (args[0] if args else 1) or 1
            col = (args[1] if len(args) > 1 else 1) or 1
            self.y, self.x = min(row, self.rows) - 1, min(col, self.columns) - 1
        elif final == "A":
            self.y = max(0, self.y - (first or 1))
        elif final == "B":
            self.y = min(self.rows - 1, self.y + (first or 1))
        elif final == "C":
            self.x = min(self.columns - 1, self.x + (first or 1))
        elif final == "D":
            self.x = max(0, self.x - (first or 1))
        elif final == "G":
            self.x = min(self.columns, first or 1) - 1
        elif final == "K":
            line = self.screen[self.y][0]
            span = {0: range(self.x, self.columns), 1: range(0, self.x + 1)}.get(first, range(self.columns))
            for c in span:
                line[c] = " "
        elif final == "J":
            if first in (2, 3):
                rows = range(self.rows)
            elif first == 1:
                rows = range(self.y)
            else:
                self._csi("", "0", "K")
                rows = range(self.y + 1, self.rows)
            for r in rows:
                self.screen[r] = [[" "] * self.columns, False]

    def _alternate(self, on: bool) -> None:
        if on and not self.in_alt:
            self.saved = (self.x, self.y)
            self.screen = self._blank()
            self.in_alt = True
        elif not on and self.in_alt:
            self.screen = self.main
            self.x, self.y = self.saved
            self.in_alt = False

    def main_lines(self) -> list[str]:
        """The main screen's whole session as logical lines (wrapped rows joined)."""
        lines: list[str] = []
        for text, continued in self.history + [("".join(r[0]), r[1]) for r in self.main]:
            if continued and lines:
                lines[-1] += text
            else:
                lines.append(text)
        lines = [line.rstrip() for line in lines]
        while lines and not lines[-1]:
            lines.pop()
        return lines


def run_in_terminal(argv: list[str], screen: Screen, timeout: float = 600) -> int:
    """Run argv with a pseudo-terminal of the screen's size as stdin, stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", screen.rows, screen.columns, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled", "TERM": "xterm-256color"}
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    os.close(slave)
    raw = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            raw += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    screen.feed(raw.decode("utf-8", "replace"))
    return proc.wait(timeout=60)


def test_summary_reads_cleanly_after_the_dashboard(tmp_path):
    from prospector.pipeline.runs_report import describe

    screen = Screen(COLUMNS, ROWS)
    before = [f"earlier output {i}: the user's shell" for i in range(6)]
    screen.feed("\r\n".join(before) + "\r\n")
    rc = run_in_terminal(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "train",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--run-id",
            "tty",
            "--windows",
            "2",
            "--envs",
            "64",
            "--window-steps",
            "4096",
            "--time-max",
            "300",
            "--no-wandb",
        ],
        screen,
    )
    assert rc == 0, "\n".join(screen.main_lines())
    assert screen.drew_boxes, "the dashboard was not drawn: nothing was tested"

    lines = screen.main_lines()
    assert lines[: len(before)] == before  # the user's screen as it was
    summary = describe(tmp_path / "runs" / "tty").splitlines()
    assert lines[-len(summary) :] == [line.rstrip() for line in summary]
    closed = [line for line in lines if line.startswith("window ") and " closed: " in line]
    assert [line.split()[1] for line in closed] == ["0", "1"]
    assert all(
        re.fullmatch(
            r"window \d closed: [\d,]+ steps, \d+ episodes, return -?[\d.,]+, "
            r"net profit -?[\d.,]+, [\d,]+ steps/s",
            line,
        )
        for line in closed
    ), closed
    assert not BOX & set("".join(lines)), "dashboard remnants on the user's screen"
    assert not screen.in_alt and screen.cursor_visible
