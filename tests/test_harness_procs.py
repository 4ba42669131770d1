"""The harness's process helpers: a process a test starts in its own session dies with
the test, however the test dies (a cap's SIGKILL included), so no trainer is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# A stand-in for a test: starts a long child in its own session, prints its pid, waits.
FAKE_TEST = """
import subprocess, sys, time
from harness.procs import die_with_parent
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(300)"],
    start_new_session=True,
    {preexec}
)
print(child.pid, flush=True)
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def child_after_killing_its_parent(preexec: str, wait_s: float) -> tuple[int, bool]:
    parent = subprocess.Popen(
        [sys.executable, "-c", FAKE_TEST.format(preexec=preexec)],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + wait_s
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    return child, alive(child)


# The kernel signals the child at once: 30 s is a hang guard for that case. Without the
# helper nothing will ever kill it, so a second of life already shows it was left behind.
@pytest.mark.parametrize(
    "preexec, wait_s, survives", [("preexec_fn=die_with_parent,", 30, False), ("", 1, True)], ids=["with", "without"]
)
def test_a_child_in_its_own_session_dies_with_the_test_only_with_die_with_parent(preexec, wait_s, survives):
    child, still_alive = child_after_killing_its_parent(preexec, wait_s)
    try:
        assert still_alive == survives
    finally:
        if still_alive:
            os.kill(child, signal.SIGKILL)
