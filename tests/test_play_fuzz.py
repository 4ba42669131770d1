"""Fuzz the play service: seeded random methods, paths, headers and bodies, and
malformed HTTP, must never produce a 5xx, a traceback or a logged error.

Two bounded runs: structured random requests through Sanic's test client (in
process, so the service's logs are checked too), and raw bytes over real sockets
to a ``prospector play-server`` process.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import string

import httpx
import pytest
from test_play_api import TRUTH_KEYS, Client, Server, walk_keys

from prospector import spec as S

SEED = 20261124
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/jsonx",
    "application/json;;;",
    "*/*",
]
ORIGINS = [
    None,
    "http://localhost:8000",
    "https://prospector.example",
    "https://evil.example",
    "null",
    "",
    "http://127.0.0.1:1",
    "javascript:alert(1)",
]
KEYS = ["action", "seed", "config", "time_max", "", "ACTION", "action ", "__proto__", "constructor"]


def random_scalar(rng: random.Random):
    return rng.choice(
        [
            lambda: rng.randint(-5, 80),
            lambda: rng.choice([S.N_ACTIONS, -1, 2**31, 2**31 - 1, -(2**31) - 1, 2**63, 2**64, 2**64 - 1, 10**30]),
            lambda: rng.uniform(-1e3, 1e3),
            lambda: rng.choice([0.0, -0.0, 1e308, 5e-324, float("inf"), float("-inf"), float("nan")]),
            lambda: rng.choice([True, False, None]),
            lambda: "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 20))),
            lambda: rng.choice(["3", "", "\u0000", "\u2603", "a" * 300]),
        ]
    )()


def random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth >= 4 or roll < 0.55:
        return random_scalar(rng)
    if roll < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        rng.choice(KEYS) if rng.random() < 0.8 else random_scalar(rng).__repr__()[:10]: random_value(rng, depth + 1)
        for _ in range(rng.randint(0, 4))
    }


def random_body(rng: random.Random) -> bytes | None:
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.55:  # plausible bodies with one field off
        body = {rng.choice(["action", "seed", "config"]): random_value(rng)}
        if rng.random() < 0.3:
            body[rng.choice(KEYS)] = random_value(rng)
        return json.dumps(body).encode()
    if roll < 0.75:
        return json.dumps(random_value(rng)).encode()
    if roll < 0.85:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    if roll < 0.92:
        return b"[" * rng.randint(100, 1000) + b"]" * rng.randint(0, 1000)
    return b'{"action": 6, "pad": "' + b"x" * rng.randint(900, 20000) + b'"}'


def random_path(rng: random.Random, ids: list[str]) -> str:
    sid = rng.choice(
        [
            lambda: rng.choice(ids),
            lambda: "".join(rng.choice(string.ascii_letters + "-_") for _ in range(32)),
            lambda: "".join(
                rng.choice(string.ascii_letters + string.digits + "%.~!$&'()*+,;=:@") for _ in range(rng.randint(0, 80))
            ),
            lambda: rng.choice(["..", "%2e%2e", "%00", "%ff%fe", "%", "%zz", "x" * 5000, "é", "\u2603", ""]),
        ]
    )()
    if rng.random() < 0.5:  # the real endpoints, with a live session id
        sid = rng.choice(ids)
        return rng.choice(
            [
                "/api/play/session",
                f"/api/play/session/{sid}",
                f"/api/play/session/{sid}/step",
                f"/api/play/session/{sid}/step",
                f"/api/play/session/{sid}/reset",
                "/api/health",
            ]
        )
    path = rng.choice(
        [
            "/api/play/session",
            f"/api/play/session/{sid}",
            f"/api/play/session/{sid}/step",
            f"/api/play/session/{sid}/reset",
            "/api/health",
            "/api/openapi.json",
            "/",
            "/api",
            "/api/play",
            f"/api/play/session/{sid}/{sid}",
            f"//api//play//session//{sid}",
            f"/{sid}",
            "/api/health/",
            "/static/../../etc/passwd",
            "/api/play/session/" + "a/" * 200,
        ]
    )
    if rng.random() < 0.2:
        path += "?" + rng.choice(["a=1", "seed=5&action=3", "%%%", "x=" + "y" * 500, "&&=="])
    return path


def random_method(rng: random.Random, methods: list[str]) -> str:
    return "POST" if rng.random() < 0.4 else rng.choice(methods)


def headers_for(rng: random.Random, body) -> dict:
    headers = {}
    if body is not None or rng.random() < 0.2:
        ct = rng.choice(CONTENT_TYPES)
        if ct:
            headers["content-type"] = ct
    origin = rng.choice(ORIGINS)
    if origin is not None:
        headers["origin"] = origin
        if rng.random() < 0.5:
            headers["access-control-request-method"] = rng.choice(METHODS + ["", "BREW"])
    return headers


def check_response(status: int, body: bytes, method: str, where: str):
    assert status < 500, f"{status} for {where}: {body[:300]!r}"
    assert b"Traceback" not in body, where
    if status >= 400 and method != "HEAD" and body:
        data = json.loads(body)
        assert set(data) == {"error"} and data["error"]["code"] and data["error"]["message"], where
    if status == 200 and body and method != "HEAD":
        data = json.loads(body)
        if isinstance(data, dict) and "render_state" in data:
            assert not {k for k, _ in walk_keys(data)} & TRUTH_KEYS, where


# -------------------------------------------------------- in process (test client)


def test_fuzz_through_the_test_client(caplog):
    rng = random.Random(SEED)
    c = Client(keep_alive=False, max_sessions=30)
    statuses: dict[int, int] = {}
    with c.client, caplog.at_level(logging.WARNING):
        ids = [c.new(seed=i)["session_id"] for i in range(5)]
        for i in range(700):
            method = random_method(rng, METHODS[:-1])  # the client has no TRACE
            path = random_path(rng, ids)
            # the client sends bodies with POST, PUT and PATCH only (the raw run sends them with any)
            body = random_body(rng) if method in ("POST", "PUT", "PATCH") else None
            headers = headers_for(rng, body)
            try:
                response = c.request(method, f"http://127.0.0.1:{c.client.port}{path}", raw=body, headers=headers)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol):
                continue  # a URL the client library refuses to send (the raw-socket run sends those)
            where = f"#{i} {method} {path[:120]} {body[:120] if body else body!r} {headers}"
            check_response(response.status, response.body, method, where)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if rng.random() < 0.05 and len(c.app.ctx.store) < 25:
                ids.append(c.new()["session_id"])
        # still serving, and a normal game still plays
        sid = c.new(seed=1)["session_id"]
        assert c.step(sid, S.A_HOLD).status == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]
    assert sum(n for s, n in statuses.items() if s < 300) > 20  # the fuzz also reached working paths
    assert len([s for s in statuses if s >= 400]) >= 6


# ------------------------------------------------------ raw bytes, real process


def raw_exchange(port: int, data: bytes, half_close: bool = False) -> tuple[int | None, bytes]:
    """Send bytes, read one response; (status, body) or (None, b"") when the server just closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close early on an oversized request: that is fine
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                head, sep, rest = buf.partition(b"\r\n\r\n")
                if sep:
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if len(rest) >= length:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
    if not buf.startswith(b"HTTP/1.1 "):
        return None, b""
    status = int(buf[9:12])
    return status, buf.partition(b"\r\n\r\n")[2]


def build_request(method: str, path: str, headers: dict, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + (body or b"")


MALFORMED = [
    b"\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /api/health HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
    b"2\r\n{}\r\n0\r\n\r\n",
    b"POST /api/play/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + b"ffff\r\n" + b"a" * 70000 + b"\r\n0\r\n\r\n",
    b"GET /api/health\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/\xff\xfehealth HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # a TLS ClientHello
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET http://evil.example/api/health HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.fixture
def fuzz_server():
    s = Server("--max-sessions", "40", "--ttl", "120")
    yield s
    s.stop()


def test_fuzz_raw_http_against_a_real_server(fuzz_server):
    port = fuzz_server.port
    rng = random.Random(SEED + 1)
    ids = [fuzz_server.request("POST", "/api/play/session", {"seed": i})[1]["session_id"] for i in range(5)]
    answered = 0
    for i, data in enumerate(MALFORMED):
        status, body = raw_exchange(port, data, half_close=True)
        assert status is None or status < 500, f"malformed #{i}: {status} {body[:200]!r}"
        answered += status is not None
    assert answered >= len(MALFORMED) // 2
    for i in range(900):
        method = random_method(rng, METHODS + ["FOO", "get", "CONNECT"])
        path = random_path(rng, ids)
        body = random_body(rng)
        headers = headers_for(rng, body)
        if rng.random() < 0.05:  # a Content-Length that lies
            raw = build_request(method, path, headers, body or b"").replace(
                b"Content-Length: ", b"Content-Length: 1", 1
            )
            status, resp = raw_exchange(port, raw, half_close=True)
        else:
            status, resp = raw_exchange(port, build_request(method, path, headers, body))
        where = f"#{i} {method} {path[:120]} {body[:120] if body else body!r} {headers}"
        assert status is None or status < 500, f"{status} for {where}: {resp[:300]!r}"
        if status is not None and resp:
            check_response(status, resp, method, where)
    # still healthy, a normal game still plays, and nothing was logged as an error
    status, health, _ = fuzz_server.request("GET", "/api/health")
    assert status == 200 and health["status"] == "ok"
    status, created, _ = fuzz_server.request("POST", "/api/play/session", {"seed": 3})
    if status == 429:  # the fuzz may have filled the store: free one
        fuzz_server.request("DELETE", f"/api/play/session/{ids[0]}")
        status, created, _ = fuzz_server.request("POST", "/api/play/session", {"seed": 3})
    assert status == 201
    status, stepped, _ = fuzz_server.request(
        "POST", f"/api/play/session/{created['session_id']}/step", {"action": S.A_HOLD}
    )
    assert status == 200
    rc, output = fuzz_server.stop()
    assert rc == 0
    assert "Traceback" not in output and "ERROR" not in output, output[-3000:]
