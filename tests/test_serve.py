"""``prospector site serve``: a browser dropping a connection is not an error.

A real server process and a real client that resets its connection (SO_LINGER 0, so
close sends RST) in the middle of a large response, and before sending a request at all.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from harness.procs import die_with_parent, free_port, port_refuses, start_site_serve

REPO = Path(__file__).resolve().parents[1]


def reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN, as a browser tab that goes away does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def one_page_site(tmp_path: Path) -> Path:
    """A built site of one page, ``index.html`` titled "ok"."""
    site = tmp_path / "public"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>ok</title>")
    return site


def wait_until_serving(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"site serve never answered {url}")


def test_connections_reset_mid_response_print_no_traceback(tmp_path):
    site = one_page_site(tmp_path)
    (site / "big.bin").write_bytes(os.urandom(32 << 20))  # far larger than the socket buffers
    port = free_port()
    proc = start_site_serve(site, port)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()

    def quiet_lines() -> list[str]:
        return [line for line in list(err_lines) if "closed the connection early" in line]

    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base + "/", proc)
        for _ in range(5):  # each of these is cut off while the server is still sending
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.0 200")  # the response is under way
            reset(sock)
        for _ in range(3):  # a request cut off half-way
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: loc")
            time.sleep(0.05)
            reset(sock)
        with urllib.request.urlopen(base + "/index.html", timeout=10) as response:  # still serving
            assert b"<title>ok</title>" in response.read()
        # The handler threads of the five cut-off downloads report on their own time: wait for
        # their lines (a ceiling, not an expected duration) instead of sleeping a guess.
        deadline = time.monotonic() + 60
        while len(quiet_lines()) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=30)
    err = "".join(err_lines)
    assert "Traceback" not in err and "ConnectionResetError" not in err.replace("(ConnectionResetError)", ""), err
    quiet = quiet_lines()
    assert 5 <= len(quiet) <= 8, err
    # Each report is one whole line: concurrent handler threads must not interleave them.
    assert all(line.count("closed the connection early") == 1 and len(line) < 120 for line in quiet), err


def test_request_log_escapes_control_characters(tmp_path):
    """A URL holding a terminal escape sequence is logged escaped, never sent to the terminal."""
    site = one_page_site(tmp_path)
    port = free_port()
    proc = start_site_serve(site, port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", proc)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /\x1b[2Jcleared HTTP/1.0\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.0 404")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    logged = [line for line in err.splitlines() if "cleared" in line]
    assert len(logged) == 1 and "\x1b" not in err and "\\x1b[2Jcleared" in logged[0], err


def ignore_sigint() -> None:
    """What a shell does to a script's background job (``prospector site serve &``)."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stops_on_sigint_or_sigterm_even_when_started_with_sigint_ignored(tmp_path, sig):
    """Ctrl-C, ``kill -INT`` and ``kill`` stop the server with status 0 and close its port,
    however it was started. (It used to wait for a KeyboardInterrupt, which Python never
    raises when SIGINT starts ignored, and SIGTERM killed it with status -15.)"""
    site = one_page_site(tmp_path)
    port = free_port()
    proc = start_site_serve(site, port, preexec_fn=ignore_sigint)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/", proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert port_refuses(port), "the port is still open"
