"""Bounded load + abuse run against the play service, on loopback only.

    python -m tests.harness.abuse --spawn --clients 60 --seconds 20 --rounds 3
    python -m tests.harness.abuse --url http://127.0.0.1:8001 --clients 60 --seconds 20

``--spawn`` starts ``prospector play-server`` itself (a real process on a free port, short
TTL, small session cap) and stops it at the end; ``--url`` uses a server already running
on this machine (its TTL should be short: every round waits for the sessions to expire).

Each of ``--clients`` concurrent clients holds a keep-alive HTTP/1.1 connection (raw
asyncio sockets) and, until the round's time is up, picks scenarios at random (seeded):
valid play (create, step valid actions, reset, delete or abandon) and every bad input
of the play API -- a non-JSON body, a wrong content type, a missing / float / string /
boolean / negative / huge action, action 69, an unknown session id, a malformed one, an
expired session, a step after the episode ended, a body over the limit -- plus session
churn past the cap (429). Every answer is checked against the status the API promises;
a 5xx, an answer that is not JSON, or a different status is counted and reported.

After each round the tool waits until every session has expired and reads the server's
resident memory from /proc: it should stay flat from round to round. It prints requests
per second, latency percentiles, the statuses, the problems and the RSS per round, and
exits 1 when there was any 5xx or unexpected answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time

from prospector.spec import A_CASH_OUT, A_HOLD

from .loadtest import Connection, ConnectionClosed, LoadError, loopback_target, read_response
from .procs import PlayServer, percentile, rss_bytes

MAX_SECONDS = 3600

# scenario -> relative weight. "play" is the valid traffic; the others are the abuse.
SCENARIOS = {
    "play": 30,
    "churn": 3,
    "expired": 3,
    "after_end": 3,
    "non_json": 3,
    "wrong_type": 3,
    "missing_action": 3,
    "float_action": 3,
    "string_action": 3,
    "bool_action": 3,
    "negative_action": 3,
    "huge_action": 3,
    "action_69": 3,
    "unknown_session": 3,
    "malformed_session": 3,
    "too_large": 2,
    "too_large_transport": 1,
}


class Closed(Exception):
    """The server closed the connection (after a refused oversized body, say)."""


class Conn(Connection):
    """One keep-alive connection that reopens itself when the server closes it, and
    sends any content type (bad input included)."""

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = "application/json"
    ) -> tuple[int, bytes, float]:
        if self.writer is None:
            await self.open()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body is not None:
            if content_type:
                head += f"Content-Type: {content_type}\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        t0 = time.perf_counter()
        try:
            self.writer.write(head.encode() + b"\r\n" + (body or b""))
            await self.writer.drain()
            status, data, close = await read_response(self.reader)
        except (ConnectionError, asyncio.IncompleteReadError, ConnectionClosed):
            await self.close()
            raise Closed() from None
        if close:
            await self.close()
        return status, data, time.perf_counter() - t0


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.scenarios: dict[str, int] = {}
        self.problems: list[str] = []
        self.problem_count = 0
        self.server_errors = 0
        self.closed = 0
        self.requests = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < 20:
            self.problems.append(text)


class Client:
    def __init__(self, index: int, host: str, port: int, rng: random.Random, stats: Stats, ttl: float):
        self.conn = Conn(host, port)
        self.rng, self.stats, self.ttl, self.index = rng, stats, ttl, index

    async def call(
        self,
        scenario: str,
        method: str,
        path: str,
        body: bytes | None = None,
        expect: tuple[int, ...] = (200,),
        code: str | None = None,
        content_type: str | None = "application/json",
        may_close: bool = False,
    ):
        """One request; checks the status (and the error code) against what the API promises."""
        st = self.stats
        try:
            status, data, dt = await self.conn.request(method, path, body, content_type)
        except Closed:
            st.closed += 1
            if not may_close:
                st.problem(f"{scenario}: {method} {path[:60]}: connection closed without an answer")
            return None, None
        st.requests += 1
        st.latencies.append(dt)
        st.statuses[status] = st.statuses.get(status, 0) + 1
        if status >= 500:
            st.server_errors += 1
            st.problem(f"{scenario}: {method} {path[:60]} -> {status} {data[:160]!r}")
            return status, None
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            st.problem(f"{scenario}: {method} {path[:60]} -> {status} with a body that is not JSON")
            return status, None
        if status not in expect:
            st.problem(f"{scenario}: {method} {path[:60]} -> {status}, expected {expect}: {data[:160]!r}")
        elif code is not None and status >= 400 and (doc or {}).get("error", {}).get("code") != code:
            st.problem(f"{scenario}: {method} {path[:60]} -> {status} code {doc!r:.120}, expected {code}")
        return status, doc

    async def new_session(self, scenario: str, **body) -> dict | None:
        status, doc = await self.call(
            scenario, "POST", "/api/play/session", json.dumps(body).encode(), expect=(201, 429)
        )
        return doc if status == 201 else None

    async def run(self, deadline: float) -> None:
        names = list(SCENARIOS)
        weights = [SCENARIOS[n] for n in names]
        try:
            while time.monotonic() < deadline:
                scenario = self.rng.choices(names, weights)[0]
                self.stats.scenarios[scenario] = self.stats.scenarios.get(scenario, 0) + 1
                await getattr(self, f"s_{scenario}")(deadline)
        finally:
            await self.conn.close()

    # ---------------------------------------------------------------- scenarios

    async def s_play(self, deadline):
        doc = await self.new_session("play", seed=self.rng.randrange(2**32))
        if doc is None:
            await asyncio.sleep(0.05)
            return
        sid, valid = doc["session_id"], doc["valid_actions"]
        for _ in range(self.rng.randint(5, 60)):
            if time.monotonic() >= deadline:
                break
            action = self.rng.choice([a for a in valid if a != A_CASH_OUT] or [A_HOLD])
            status, doc = await self.call(
                "play", "POST", f"/api/play/session/{sid}/step", b'{"action":%d}' % action, expect=(200,)
            )
            if doc is None or status != 200:
                return
            if doc["terminated"] or doc["truncated"]:
                status, doc = await self.call("play", "POST", f"/api/play/session/{sid}/reset", b"{}")
                if doc is None or status != 200:
                    return
            valid = doc["valid_actions"]
        if self.rng.random() < 0.7:  # the rest are abandoned: the TTL reclaims them
            await self.call("play", "DELETE", f"/api/play/session/{sid}")

    async def s_churn(self, deadline):
        """A burst of sessions that are never deleted: past the cap, 429 with Retry-After."""
        for _ in range(self.rng.randint(5, 20)):
            await self.new_session("churn")

    async def s_expired(self, deadline):
        doc = await self.new_session("expired")
        if doc is None:
            return
        await asyncio.sleep(self.ttl + 0.3 + self.rng.random() * 0.5)
        await self.call(
            "expired",
            "POST",
            f"/api/play/session/{doc['session_id']}/step",
            b'{"action":6}',
            expect=(410,),
            code="session_expired",
        )

    async def s_after_end(self, deadline):
        doc = await self.new_session("after_end")
        if doc is None:
            return
        path = f"/api/play/session/{doc['session_id']}/step"
        status, _ = await self.call("after_end", "POST", path, b'{"action":%d}' % A_CASH_OUT)
        if status == 200:
            await self.call("after_end", "POST", path, b'{"action":6}', expect=(409,), code="episode_over")
        await self.call("after_end", "DELETE", f"/api/play/session/{doc['session_id']}")

    async def _bad_step(
        self, scenario: str, body: bytes, status: int, code: str, content_type: str | None = "application/json"
    ):
        # the body is checked before the session: a random well-formed id does not matter
        sid = secrets.token_urlsafe(24)
        await self.call(
            scenario,
            "POST",
            f"/api/play/session/{sid}/step",
            body,
            expect=(status,),
            code=code,
            content_type=content_type,
        )

    async def s_non_json(self, deadline):
        await self._bad_step(
            "non_json", self.rng.choice([b"{action: 6}", b"\xff\xfe", b"[1,", b"nul"]), 400, "invalid_json"
        )

    async def s_wrong_type(self, deadline):
        await self._bad_step(
            "wrong_type",
            b'{"action":6}',
            415,
            "unsupported_media_type",
            content_type=self.rng.choice(["text/plain", "application/x-www-form-urlencoded", None]),
        )

    async def s_missing_action(self, deadline):
        await self._bad_step("missing_action", b"{}", 400, "missing_action")

    async def s_float_action(self, deadline):
        await self._bad_step("float_action", b'{"action":6.5}', 400, "invalid_action")

    async def s_string_action(self, deadline):
        await self._bad_step("string_action", b'{"action":"6"}', 400, "invalid_action")

    async def s_bool_action(self, deadline):
        await self._bad_step("bool_action", b'{"action":true}', 400, "invalid_action")

    async def s_negative_action(self, deadline):
        await self._bad_step("negative_action", b'{"action":-1}', 400, "action_out_of_range")

    async def s_huge_action(self, deadline):
        await self._bad_step("huge_action", b'{"action":%d}' % (10**40), 400, "action_out_of_range")

    async def s_action_69(self, deadline):
        await self._bad_step("action_69", b'{"action":69}', 400, "action_out_of_range")

    async def s_unknown_session(self, deadline):
        await self.call(
            "unknown_session",
            "POST",
            f"/api/play/session/{secrets.token_urlsafe(24)}/step",
            b'{"action":6}',
            expect=(404,),
            code="unknown_session",
        )

    async def s_malformed_session(self, deadline):
        sid = self.rng.choice(["x", "a" * 31, "a" * 33, "%00" * 8, "..%2F..%2Fetc", "a" * 300])
        await self.call(
            "malformed_session", "POST", f"/api/play/session/{sid}/step", b'{"action":6}', expect=(400, 404), code=None
        )

    async def s_too_large(self, deadline):
        body = b'{"action":6,"pad":"' + b"x" * self.rng.randint(8200, 15000) + b'"}'
        await self._bad_step("too_large", body, 413, "body_too_large")

    async def s_too_large_transport(self, deadline):
        """Bigger than the transport takes: a 413, or the connection closed mid-upload."""
        body = b'{"action":6,"pad":"' + b"x" * self.rng.randint(20_000, 200_000) + b'"}'
        sid = secrets.token_urlsafe(24)
        await self.call(
            "too_large_transport", "POST", f"/api/play/session/{sid}/step", body, expect=(413,), may_close=True
        )


# ------------------------------------------------------------------- a round


async def _get(host: str, port: int, path: str) -> dict:
    conn = Conn(host, port)
    try:
        status, data, _ = await conn.request("GET", path)
        if status != 200:
            raise LoadError(f"GET {path} answered {status}")
        return json.loads(data)
    finally:
        await conn.close()


async def wait_expired(host: str, port: int, ttl: float) -> float:
    """Until the server holds no live session (the TTL and its sweeper); returns seconds waited."""
    t0 = time.monotonic()
    limit = ttl * 3 + 10
    while True:
        health = await _get(host, port, "/api/health")
        if health["live_sessions"] == 0:
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            raise LoadError(f"{health['live_sessions']} sessions still live {limit:.0f} s after the last request")
        await asyncio.sleep(min(0.25, ttl / 4))


async def run_abuse(url: str, clients: int, seconds: float, rounds: int, seed: int) -> dict:
    host, port = loopback_target(url)
    health = await _get(host, port, "/api/health")
    pid, ttl, cap = health["pid"], float(health["ttl_seconds"]), health["max_sessions"]
    if ttl > 30:
        raise LoadError(f"the server's session TTL is {ttl:g} s; start it with a short one (--ttl 2)")
    rng = random.Random(seed)
    rss_start = rss_bytes(pid)
    per_round = []
    total = Stats()
    wall_total = 0.0
    for r in range(rounds):
        stats = Stats()
        deadline = time.monotonic() + seconds
        peak = [0]

        async def sample_peak(deadline=deadline, peak=peak):
            while time.monotonic() < deadline:
                peak[0] = max(peak[0], rss_bytes(pid))
                await asyncio.sleep(0.25)

        t0 = time.perf_counter()
        await asyncio.gather(
            sample_peak(),
            *(Client(i, host, port, random.Random(rng.random()), stats, ttl).run(deadline) for i in range(clients)),
        )
        wall = time.perf_counter() - t0
        live_at_end = (await _get(host, port, "/api/health"))["live_sessions"]
        waited = await wait_expired(host, port, ttl)
        rss_after = rss_bytes(pid)
        lat = sorted(stats.latencies)
        per_round.append(
            {
                "round": r + 1,
                "seconds": round(wall, 2),
                "requests": stats.requests,
                "requests_per_s": round(stats.requests / wall, 1),
                "p50_ms": round(percentile(lat, 0.5) * 1000, 2),
                "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
                "server_errors": stats.server_errors,
                "unexpected": stats.problem_count,
                "status_429": stats.statuses.get(429, 0),
                "live_sessions_at_end": live_at_end,
                "expired_after_s": round(waited, 2),
                "rss_peak_mib": round(peak[0] / 2**20, 1),
                "rss_after_expiry_mib": round(rss_after / 2**20, 1),
            }
        )
        wall_total += wall
        total.latencies += stats.latencies
        total.requests += stats.requests
        total.server_errors += stats.server_errors
        total.problem_count += stats.problem_count
        total.problems += stats.problems[: max(0, 20 - len(total.problems))]
        total.closed += stats.closed
        for k, v in stats.statuses.items():
            total.statuses[k] = total.statuses.get(k, 0) + v
        for k, v in stats.scenarios.items():
            total.scenarios[k] = total.scenarios.get(k, 0) + v
    lat = sorted(total.latencies)
    after = [r["rss_after_expiry_mib"] for r in per_round]
    end = await _get(host, port, "/api/health")
    return {
        "url": url,
        "clients": clients,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "seed": seed,
        "ttl_seconds": ttl,
        "max_sessions": cap,
        "server_pid": pid,
        "requests": total.requests,
        "requests_per_s": round(total.requests / wall_total, 1),
        "latency_ms": {
            name: round(percentile(lat, q) * 1000, 2)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "statuses": {str(k): v for k, v in sorted(total.statuses.items())},
        "scenarios": dict(sorted(total.scenarios.items())),
        "server_errors": total.server_errors,
        "unexpected": total.problem_count,
        "problems": total.problems,
        "connections_closed_by_server": total.closed,
        "sessions_created": end["sessions_created"] - health["sessions_created"],
        "sessions_expired": end["sessions_expired"] - health["sessions_expired"],
        "rss_start_mib": round(rss_start / 2**20, 1),
        "rss_after_expiry_mib": after,
        "rss_growth_first_to_last_round_mib": round(after[-1] - after[0], 1),
        "per_round": per_round,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.harness.abuse", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=None, help="a running service (loopback only; short --ttl)")
    p.add_argument("--spawn", action="store_true", help="start prospector play-server here and stop it after")
    p.add_argument("--ttl", type=float, default=2.0, help="with --spawn: session TTL in s (default 2)")
    p.add_argument("--max-sessions", type=int, default=64, help="with --spawn: session cap (default 64)")
    p.add_argument("--clients", type=int, default=60, help="concurrent clients (default 60)")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds per round (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; memory is read after each (default 3)")
    p.add_argument("--seed", type=int, default=None, help="scenario RNG seed (default: random, printed)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if (args.url is None) == (not args.spawn):
        p.error("give exactly one of --url and --spawn")
    if not 1 <= args.clients <= 2000 or not 1 <= args.rounds <= 100:
        p.error("--clients must be 1..2000 and --rounds 1..100")
    if not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    seed = secrets.randbits(32) if args.seed is None else args.seed
    server = None
    try:
        if args.spawn:
            server = PlayServer("--ttl", str(args.ttl), "--max-sessions", str(args.max_sessions))
        result = asyncio.run(
            run_abuse(server.url if server else args.url, args.clients, args.seconds, args.rounds, seed)
        )
    except (LoadError, OSError) as exc:
        print(f"abuse: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            rc, output = server.stop()
            if server.proc.returncode is not None:
                tracebacks = output.count("Traceback")
                print(f"abuse: play-server exited with {rc}; {tracebacks} tracebacks in its output", file=sys.stderr)
                if "result" in locals():
                    result["server_exit"] = rc
                    result["server_tracebacks"] = tracebacks
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        print(
            f"abuse: {result['requests']:,} requests from {result['clients']} clients in {result['rounds']} x "
            f"{result['seconds_per_round']:g} s (seed {seed}): {result['requests_per_s']:,.0f} req/s; latency ms "
            f"p50 {lat['p50']} p99 {lat['p99']} max {lat['max']}; statuses {result['statuses']}; "
            f"5xx {result['server_errors']}; unexpected {result['unexpected']}; server RSS after expiry per "
            f"round {result['rss_after_expiry_mib']} MiB (start {result['rss_start_mib']})"
        )
        for problem in result["problems"]:
            print(f"  problem: {problem}")
    bad = (
        result["server_errors"]
        or result["unexpected"]
        or result.get("server_tracebacks")
        or result.get("server_exit", 0) not in (0,)
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
