"""Bounded load test of a running play service, on loopback only.

    python -m tests.harness.loadtest --url http://127.0.0.1:8001 --sessions 50 --seconds 10
    python -m tests.harness.loadtest --url http://127.0.0.1:8001 --memory-sessions 1000

Each of ``--sessions`` clients holds one HTTP/1.1 keep-alive connection (raw asyncio
sockets, no client library), creates its own game session and then steps it in a
closed loop with seeded random valid actions (never CASH_OUT), resetting when an
episode ends. It stops by itself after ``--seconds`` (or ``--max-requests``), deletes
its sessions, and prints step requests/s and latency percentiles. ``--memory-sessions N``
instead creates N idle sessions and reports the server's resident memory per session
(read from /proc, so the server must run on this machine — it does: loopback only).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import sys
import time
from urllib.parse import urlsplit

from prospector.spec import A_CASH_OUT, A_HOLD

from .procs import percentile, rss_bytes

MAX_SECONDS = 600
MAX_SESSIONS = 2000


class LoadError(Exception):
    pass


def loopback_target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise LoadError(f"expected an http:// URL, got {url!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise LoadError(f"{host} is not a loopback address; this tool only loads this machine")
        except ValueError:
            raise LoadError(f"{host!r} is not localhost or a loopback IP; this tool only loads this machine") from None
    return host, parts.port or 80


class ConnectionClosed(Exception):
    """The server closed the connection before a whole answer."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 answer on a keep-alive connection: status, body, and whether the
    server closes the connection after it (``Connection: close``)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionClosed()
    status = int(status_line.split(b" ", 2)[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    try:
        data = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        raise ConnectionClosed() from None
    return status, data, close


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        try:
            status, data, close = await read_response(self.reader)
        except ConnectionClosed:
            raise LoadError("the server closed the connection") from None
        if close:
            await self.close()
            await self.open()
        return status, data

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None


def _valid_actions(body: bytes) -> list[int]:
    """The valid_actions list without parsing the whole (few-KiB) response."""
    start = body.find(b'"valid_actions":[')
    if start < 0:
        return []
    start += len(b'"valid_actions":[')
    end = body.find(b"]", start)
    text = body[start:end]
    return [int(x) for x in text.split(b",")] if text else []


def _episode_over(body: bytes) -> bool:
    return b'"terminated":true' in body or b'"truncated":true' in body


async def _client(
    index: int,
    host: str,
    port: int,
    deadline: float,
    budget: list[int],
    seed: int,
    latencies: list[float],
    counts: dict,
):
    rng = random.Random(seed * 1_000_003 + index)
    conn = Connection(host, port)
    await conn.open()
    try:
        status, body = await conn.request("POST", "/api/play/session", json.dumps({"seed": seed + index}).encode())
        if status != 201:
            raise LoadError(f"creating a session answered {status}: {body[:200]!r}")
        sid = json.loads(body)["session_id"]
        valid = _valid_actions(body)
        step_path = f"/api/play/session/{sid}/step"
        perf = time.perf_counter
        while perf() < deadline and budget[0] > 0:
            budget[0] -= 1
            choices = [a for a in valid if a != A_CASH_OUT] or [A_HOLD]
            payload = b'{"action":%d}' % rng.choice(choices)
            t0 = perf()
            status, body = await conn.request("POST", step_path, payload)
            latencies.append(perf() - t0)
            counts[status] = counts.get(status, 0) + 1
            if status != 200:
                raise LoadError(f"step answered {status}: {body[:200]!r}")
            if _episode_over(body):
                status, body = await conn.request("POST", f"/api/play/session/{sid}/reset", b"{}")
                counts["resets"] = counts.get("resets", 0) + 1
            valid = _valid_actions(body)
        await conn.request("DELETE", f"/api/play/session/{sid}")
    finally:
        await conn.close()


async def run_steps(url: str, sessions: int, seconds: float, max_requests: int, seed: int, warmup: float) -> dict:
    host, port = loopback_target(url)
    if warmup > 0:
        await _run_clients(host, port, sessions, warmup, max_requests, seed + 7919)
    t0 = time.perf_counter()
    latencies, counts = await _run_clients(host, port, sessions, seconds, max_requests, seed)
    wall = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return {
        "url": url,
        "sessions": sessions,
        "seconds": round(wall, 3),
        "step_requests": n,
        "step_requests_per_s": round(n / wall, 1) if wall > 0 else 0.0,
        "latency_ms": {
            name: round(percentile(latencies, q) * 1000, 3)
            for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))
        },
        "statuses": {str(k): v for k, v in counts.items()},
    }


async def _run_clients(host, port, sessions, seconds, max_requests, seed):
    deadline = time.perf_counter() + seconds
    budget = [max_requests]
    latencies: list[float] = []
    counts: dict = {}
    await asyncio.gather(*(_client(i, host, port, deadline, budget, seed, latencies, counts) for i in range(sessions)))
    return latencies, counts


async def run_memory(url: str, sessions: int, seed: int) -> dict:
    host, port = loopback_target(url)
    conn = Connection(host, port)
    await conn.open()
    try:
        status, body = await conn.request("GET", "/api/health")
        health = json.loads(body)
        pid = health["pid"]
        before_sessions = health["live_sessions"]
        # one session first, so one-time allocations (first env, JSON buffers) are not counted
        status, body = await conn.request("POST", "/api/play/session", b'{"seed": %d}' % seed)
        if status != 201:
            raise LoadError(f"the first session answered {status}: {body[:200]!r}")
        first = json.loads(body)["session_id"]
        rss0 = rss_bytes(pid)
        ids = []
        for i in range(sessions - 1):
            status, body = await conn.request("POST", "/api/play/session", b'{"seed": %d}' % (seed + 1 + i))
            if status != 201:
                raise LoadError(f"session {i + 1} answered {status}: {body[:200]!r}")
            ids.append(json.loads(body)["session_id"])
        for sid in ids:  # a few steps each, as a live player would have made
            for action in (6, 8, 6):
                await conn.request("POST", f"/api/play/session/{sid}/step", b'{"action": %d}' % action)
        rss1 = rss_bytes(pid)
        status, body = await conn.request("GET", "/api/health")
        live = json.loads(body)["live_sessions"]
        for sid in ids + [first]:
            await conn.request("DELETE", f"/api/play/session/{sid}")
    finally:
        await conn.close()
    per = (rss1 - rss0) / max(1, sessions - 1)
    return {
        "url": url,
        "sessions": sessions,
        "live_sessions_seen": live,
        "sessions_before": before_sessions,
        "rss_before_mib": round(rss0 / 2**20, 1),
        "rss_after_mib": round(rss1 / 2**20, 1),
        "bytes_per_session": round(per),
        "kib_per_session": round(per / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.harness.loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8001", help="the service (loopback only)")
    p.add_argument("--sessions", type=int, default=50, help="concurrent sessions/connections (default 50)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds (default 10, at most 600)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (default 2)")
    p.add_argument("--max-requests", type=int, default=10_000_000, help="stop after this many step requests")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--memory-sessions",
        type=int,
        default=0,
        metavar="N",
        help="instead: create N sessions and report resident memory per session",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS or not 0 <= args.memory_sessions <= MAX_SESSIONS:
        p.error(f"sessions must be 1..{MAX_SESSIONS}")
    if not 0 < args.seconds <= MAX_SECONDS or not 0 <= args.warmup <= 60:
        p.error(f"--seconds must be in (0, {MAX_SECONDS}] and --warmup in [0, 60]")
    try:
        if args.memory_sessions:
            result = asyncio.run(run_memory(args.url, args.memory_sessions, args.seed))
        else:
            result = asyncio.run(
                run_steps(args.url, args.sessions, args.seconds, args.max_requests, args.seed, args.warmup)
            )
    except (LoadError, OSError) as exc:
        print(f"loadtest: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    elif "bytes_per_session" in result:
        print(
            f"{result['sessions']} live sessions: server RSS {result['rss_before_mib']} MiB with one, "
            f"{result['rss_after_mib']} MiB with all; {result['kib_per_session']} KiB per session"
        )
    else:
        lat = result["latency_ms"]
        print(
            f"{result['step_requests']:,} step requests in {result['seconds']} s with {result['sessions']} "
            f"sessions: {result['step_requests_per_s']:,.0f} req/s; latency ms p50 {lat['p50']} "
            f"p90 {lat['p90']} p99 {lat['p99']} max {lat['max']}; statuses {result['statuses']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
