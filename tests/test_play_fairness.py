"""The play service shares itself fairly (docs/play-api.md#sessions, docs/play-api.md#limits).

A real ``prospector play-server`` on loopback: one client address cannot hold more than
its share of the sessions (others still get theirs), and a request must arrive whole,
headers and body, within the request timeout, however slowly its bytes trickle in: a
408, then the connection closes. Timings are only bounded from above, with a wide
margin ("answered before the deadline + margin"), never measured tightly.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from harness.procs import PlayServer

from prospector.play.server import client_key

DEADLINE = 2.0  # the server's --request-timeout in these tests
MARGIN = 8.0  # how late after the deadline an answer may come on a loaded machine
TRICKLE = 0.4  # seconds between the bytes a slow client sends


@pytest.fixture(scope="module")
def server():
    s = PlayServer(
        "--max-sessions",
        "5",
        "--max-sessions-per-client",
        "3",
        "--request-timeout",
        str(DEADLINE),
        "--ttl",
        "600",
    )
    yield s
    rc, output = s.stop()  # the slow clients were answered, not logged as failures
    assert rc == 0 and "Traceback" not in output and "ERROR" not in output, output[-3000:]


def request(port: int, method: str, path: str, body: dict | None = None, source: str = "127.0.0.1"):
    """(status, JSON body, headers) of one request from the loopback address ``source``."""
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
    if data:
        head += "Content-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(head.encode() + b"\r\n" + data)
        return parse(read_all(sock))


def read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def parse(raw: bytes) -> tuple[int, dict | None, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
    return int(lines[0].split()[1]), (json.loads(body) if body else None), headers


# ------------------------------------------------------------------ sessions per client


def test_one_address_holds_at_most_its_share_and_others_still_play(server):
    port = server.port
    mine = [request(port, "POST", "/api/play/session", {"seed": i}) for i in range(4)]
    assert [m[0] for m in mine] == [201, 201, 201, 429]
    status, body, headers = mine[3]
    assert body["error"]["code"] == "too_many_client_sessions", body
    assert "maximum of 3 live sessions" in body["error"]["message"] and int(headers["retry-after"]) >= 1
    # another address is not affected by the first one's sessions
    other = request(port, "POST", "/api/play/session", {"seed": 9}, source="127.0.0.2")
    assert other[0] == 201
    # the service's own cap (5) still holds in all, with its own code
    assert request(port, "POST", "/api/play/session", {}, source="127.0.0.3")[0] == 201
    full = request(port, "POST", "/api/play/session", {}, source="127.0.0.4")
    assert full[0] == 429 and full[1]["error"]["code"] == "too_many_sessions"
    # deleting one of its sessions gives the first address its place back
    assert request(port, "DELETE", f"/api/play/session/{mine[0][1]['session_id']}")[0] == 200
    assert request(port, "POST", "/api/play/session", {"seed": 5})[0] == 201
    health = request(port, "GET", "/api/health")[1]
    assert health["max_sessions_per_client"] == 3 and health["live_sessions"] == 5
    assert health["request_timeout_seconds"] == DEADLINE


def test_client_addresses_count_ipv6_by_its_64():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1234") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert client_key("::ffff:10.0.0.1") == client_key("10.0.0.1") == "10.0.0.1"
    assert client_key("10.0.0.1") != client_key("10.0.0.2")


# ------------------------------------------------------------------ slow requests


def trickle(port: int, head: bytes, slow: bytes) -> tuple[bytes, float]:
    """Send ``head`` at once, then ``slow`` one byte every TRICKLE seconds until the server
    answers or closes; (what it sent back, seconds from the first byte). A bounded loop:
    it gives up after twice the deadline plus the margin."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    got = b""
    try:
        sock.sendall(head)
        for byte in slow[: int(2 * (DEADLINE + MARGIN) / TRICKLE)]:
            sock.settimeout(TRICKLE)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk is not None:  # an answer, or b"": closed
                got = chunk
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # closed under us: read what it said first
                break
        sock.settimeout(10)
        try:
            got += read_all(sock)
        except OSError:
            pass
        return got, time.monotonic() - t0
    finally:
        sock.close()


def assert_408_in_time(got: bytes, seconds: float) -> None:
    assert got, f"no answer and not closed after {seconds:.1f} s"
    status, body, _ = parse(got)
    assert status == 408 and body["error"]["code"] == "request_timeout", got[:300]
    assert seconds < DEADLINE + MARGIN, seconds


def test_headers_trickled_byte_by_byte_get_408_by_the_deadline(server):
    got, seconds = trickle(
        server.port, b"P", b"OST /api/play/session HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    )
    assert_408_in_time(got, seconds)


def test_a_body_trickled_byte_by_byte_gets_408_by_the_deadline(server):
    head = (
        b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    got, seconds = trickle(server.port, head, b'{"seed": 1' + b" " * 89 + b"}")
    assert_408_in_time(got, seconds)


def test_a_stalled_body_gets_408_not_503(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE + MARGIN)
    t0 = time.monotonic()
    with sock:
        sock.sendall(b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        got = read_all(sock)
    assert_408_in_time(got, time.monotonic() - t0)


def test_the_deadline_counts_per_request_not_per_connection(server):
    """A keep-alive connection idle for longer than the deadline between two requests, and
    a request whose bytes come slowly but whole within it, are answered normally."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        time.sleep(DEADLINE + 0.5)  # idle (the keep-alive timeout is 30 s)
        for part in (b"GET /api/health HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(part)
            time.sleep(DEADLINE / 8)
        second = read_all(sock)
    assert second.startswith(b"HTTP/1.1 200"), second[:200]
