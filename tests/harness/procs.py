"""Processes for the tests and the long checks: a free loopback port, a process's resident
memory, percentiles, and ``prospector play-server`` started and stopped as a real process."""

from __future__ import annotations

import ctypes
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a live process (from /proc), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the forked child
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for a process a test starts in its own session (to kill its group):
    the kernel SIGKILLs it when the test process dies, however that dies. Without it a
    test stopped by a cap or by SIGKILL leaves a trainer running in the background, still
    training and still starting evaluators."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the test died before the line above took effect
        os._exit(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_refuses(port: int) -> bool:
    """Nothing listens on the loopback ``port`` any more: a connection is refused."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


class PlayServer:
    """``prospector play-server`` as a real process on a loopback port (for tests and scripts).

    ``with PlayServer() as play: play.url, play.request("GET", "/api/health")``.
    """

    def __init__(self, *args: str, port: int | None = None, timeout: float = 60, log_path=None, env=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "prospector.cli", "play-server", "--port", str(self.port), *args]
        # a file, not a pipe: a full pipe would block the server
        self.log = open(log_path, "w+") if log_path else tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env={**(env or os.environ), "PYTHONUNBUFFERED": "1"},
            preexec_fn=die_with_parent,  # a test killed from outside leaves no server behind
        )  # output() is current
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"play-server did not come up: {self.output()}")
            time.sleep(0.1)

    def request(
        self,
        method: str,
        path: str,
        body=None,
        timeout: float = 10,
        headers: dict | None = None,
        with_headers: bool = False,
    ):
        """(status, JSON body or None) of one request on a fresh connection.

        ``headers`` are sent along (a JSON ``body`` adds content-type unless given);
        ``with_headers`` adds the response headers (names lower-cased) as a third item.
        """
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdrs = dict(headers or {})
            if data is not None:
                hdrs.setdefault("content-type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            result = r.status, (json.loads(raw) if raw else None)
            if with_headers:
                return *result, {k.lower(): v for k, v in r.getheaders()}
            return result
        finally:
            conn.close()

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, self.output()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_site_serve(site: Path, port: int, preexec_fn=die_with_parent) -> subprocess.Popen:
    """``prospector site serve`` of ``site`` as a real process; its stderr is a text pipe.
    It dies with the test (``die_with_parent``), however the test ends."""
    return subprocess.Popen(
        [sys.executable, "-m", "prospector.cli", "site", "serve", "--out", str(site), "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
