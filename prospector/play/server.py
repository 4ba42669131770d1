"""The human-play service (docs/play-api.md): Sanic on the C core, sessions in memory.

Endpoints (docs/play-api.md has the details, ``prospector.play.openapi`` the schema):

    POST   /api/play/session              {"seed"?, "config"?: {"time_max"?}} -> new game
    GET    /api/play/session/{id}         the session's current state
    POST   /api/play/session/{id}/reset   {"seed"?}                          -> new episode
    POST   /api/play/session/{id}/step    {"action": 0..68}                  -> one step
    DELETE /api/play/session/{id}
    GET    /api/health
    GET    /api/openapi.json

Every response is JSON; every error is ``{"error": {"code", "message"}}`` with a 4xx
status (a 500 only for a bug in this file, logged, never with a traceback). Sessions
live in one process's memory: an idle TTL, a cap on live sessions in all and one per
client address (429 beyond either), and a background sweeper. A request must arrive
whole, headers and body, within the request timeout (408 otherwise; PlayProtocol).
``render_state`` (prospector/state.py) holds only what the ship knows; nothing here adds
hidden truth.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json as stdjson
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from functools import partial

import numpy as np
import orjson
from sanic import Sanic
from sanic.exceptions import RequestCancelled, RequestTimeout, SanicException
from sanic.handlers import ErrorHandler
from sanic.http import Http, Stage
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sanic.server.protocols.http_protocol import HttpProtocol

from .. import __version__
from .. import spec as S
from ..envs import ProspectorEnv

log = logging.getLogger("prospector.play")

APP_NAME = "prospector_play"
DEFAULT_TTL_SECONDS = 900.0
DEFAULT_MAX_SESSIONS = 1000
# One address may hold this many of them (docs/play-api.md#sessions): one client cannot
# take the whole service. A person plays in a tab or two; the load tools raise it.
DEFAULT_MAX_SESSIONS_PER_CLIENT = 32
# Seconds from a request's first byte to its last (headers and body): docs/play-api.md#limits
DEFAULT_REQUEST_TIMEOUT = 15.0
DEFAULT_MAX_BODY_BYTES = 8192  # a replay's whole env config (157 fields) is about 3.6 KB
TRANSPORT_MAX_BYTES = 16384
SEED_MAX = 2**64 - 1
# Config a player may change; everything else stays at the docs/game.md#6-mechanics defaults.
CONFIG_OVERRIDES = ("time_max",)
# secrets.token_urlsafe(24): 32 characters of the URL-safe base64 alphabet.
SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{32}")
# Origins a browser on this machine sends (the dev site, `prospector site serve`).
LOCAL_ORIGIN_RE = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?")
# Remembered ids of expired sessions (answered 410 rather than 404), at most this many.
EXPIRED_MEMORY = 10_000

_app_counter = itertools.count(1)


class ApiError(Exception):
    """A client error: turned into ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# ----------------------------------------------------------------- sessions


class Session:
    """One player's game: a ProspectorEnv plus the episode bookkeeping."""

    __slots__ = (
        "id",
        "env",
        "client",
        "seed",
        "time_max",
        "last_used",
        "step",
        "episode_return",
        "done",
        "episodes",
        "obs",
    )

    def __init__(self, session_id: str, env: ProspectorEnv, now: float, client: str = ""):
        self.id = session_id
        self.env = env
        self.client = client
        self.time_max = int(env.config["time_max"])
        self.last_used = now
        self.seed = 0
        self.step = 0
        self.episode_return = 0.0
        self.done = False
        self.episodes = 0
        self.obs = None

    def reset(self, seed: int):
        obs, info = self.env.reset(seed=seed)
        self.seed = seed
        self.step = 0
        self.episode_return = 0.0
        self.done = False
        self.episodes += 1
        self.obs = obs
        info.pop("events", None)
        return obs, info


class SessionStore:
    """Live sessions in least-recently-used order, so a sweep stops at the first live one."""

    def __init__(
        self,
        ttl_seconds: float,
        max_sessions: int,
        clock=time.monotonic,
        max_per_client: int = DEFAULT_MAX_SESSIONS_PER_CLIENT,
    ):
        self.ttl = float(ttl_seconds)
        self.max_sessions = int(max_sessions)
        self.max_per_client = int(max_per_client)
        self.clock = clock
        self.live: OrderedDict[str, Session] = OrderedDict()
        self.per_client: dict[str, int] = {}  # live sessions by client address
        self.expired: OrderedDict[str, None] = OrderedDict()
        self.created_total = 0
        self.expired_total = 0

    def __len__(self) -> int:
        return len(self.live)

    def new_id(self) -> str:
        while True:
            sid = secrets.token_urlsafe(24)
            if sid not in self.live and sid not in self.expired:
                return sid

    def _drop(self, sid: str) -> None:
        client = self.live.pop(sid).client
        left = self.per_client[client] - 1
        if left:
            self.per_client[client] = left
        else:
            del self.per_client[client]

    def _forget(self, sid: str) -> None:
        self._drop(sid)
        self.expired[sid] = None
        self.expired_total += 1
        while len(self.expired) > EXPIRED_MEMORY:
            self.expired.popitem(last=False)

    def sweep(self, now: float | None = None) -> int:
        """Drop every session idle for longer than the TTL; returns how many."""
        now = self.clock() if now is None else now
        dropped = 0
        while self.live:
            sid, session = next(iter(self.live.items()))
            if now - session.last_used <= self.ttl:
                break
            self._forget(sid)
            dropped += 1
        return dropped

    def check_capacity(self, client: str = "") -> None:
        """429 when ``client`` holds its share of live sessions, or the service all it may."""
        if len(self.live) < self.max_sessions and self.per_client.get(client, 0) < self.max_per_client:
            return
        now = self.clock()
        self.sweep(now)
        if self.per_client.get(client, 0) >= self.max_per_client:
            oldest = next(s for s in self.live.values() if s.client == client)
            retry = self._retry_after(oldest, now)
            raise ApiError(
                429,
                "too_many_client_sessions",
                f"your address holds its maximum of {self.max_per_client} live sessions; DELETE one you "
                f"no longer need, or try again in about {retry} s when the oldest expires",
                {"retry-after": str(retry)},
            )
        if len(self.live) >= self.max_sessions:
            retry = self._retry_after(next(iter(self.live.values())), now)
            raise ApiError(
                429,
                "too_many_sessions",
                f"the service holds its maximum of {self.max_sessions} live sessions; "
                f"try again in about {retry} s, or DELETE a session you no longer need",
                {"retry-after": str(retry)},
            )

    def _retry_after(self, oldest: Session, now: float) -> int:
        """Whole seconds until ``oldest`` expires, if nobody uses it meanwhile."""
        return max(1, int(self.ttl - (now - oldest.last_used)) + 1)

    def add(self, session: Session) -> None:
        self.check_capacity(session.client)
        session.last_used = self.clock()
        self.live[session.id] = session
        self.per_client[session.client] = self.per_client.get(session.client, 0) + 1
        self.created_total += 1

    def get(self, sid: str) -> Session:
        if SESSION_ID_RE.fullmatch(sid) is None:
            raise ApiError(
                400,
                "malformed_session_id",
                "session ids are the 32-character session_id that POST /api/play/session returned",
            )
        session = self.live.get(sid)
        if session is None:
            if sid in self.expired:
                raise _expired(self.ttl)
            raise ApiError(
                404,
                "unknown_session",
                "no such session (never created, or deleted); POST /api/play/session starts a new one",
            )
        now = self.clock()
        if now - session.last_used > self.ttl:
            self._forget(sid)
            raise _expired(self.ttl)
        session.last_used = now
        self.live.move_to_end(sid)
        return session

    def remove(self, sid: str) -> None:
        self.get(sid)  # same errors as every other session route
        self._drop(sid)


def client_key(address: str) -> str:
    """The address a per-client cap counts by: an IPv4 address, or an IPv6 address's /64
    (one host is given a whole /64, and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a Unix socket, or no address at all: one shared key
        return address or "?"
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is that IPv4 client
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _expired(ttl: float) -> ApiError:
    return ApiError(
        410,
        "session_expired",
        f"the session expired after {ttl:g} s without a request; POST /api/play/session starts a new one",
    )


# ------------------------------------------------------------------- input


def _read_json(request, max_body: int, allowed: tuple[str, ...]) -> dict:
    """The request body as a JSON object with only ``allowed`` keys; {} when empty."""
    body = request.body
    if len(body) > max_body:  # Sanic enforces this too; ASGI servers may not
        raise ApiError(413, "body_too_large", f"request bodies are limited to {max_body} bytes")
    if not body:
        return {}
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as JSON with Content-Type: application/json (got {media or 'none'!r})",
        )
    try:
        data = stdjson.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", f"the request body must be a JSON object, got {_type_name(data)}")
    unknown = [k for k in data if k not in allowed]
    if unknown:
        expected = ", ".join(repr(k) for k in allowed) or "no fields"
        raise ApiError(400, "unknown_field", f"unknown field {unknown[0][:40]!r}; this endpoint takes {expected}")
    return data


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_action(data: dict) -> int:
    if "action" not in data:
        raise ApiError(400, "missing_action", f'send {{"action": N}} with N an integer 0..{S.N_ACTIONS - 1}')
    action = data["action"]
    if not _is_int(action):
        raise ApiError(
            400, "invalid_action", f"action must be an integer 0..{S.N_ACTIONS - 1}, got {_type_name(action)}"
        )
    if not 0 <= action < S.N_ACTIONS:
        shown = str(action) if abs(action) < 10**12 else "a huge number"
        raise ApiError(400, "action_out_of_range", f"action must be 0..{S.N_ACTIONS - 1}, got {shown}")
    return action


def parse_seed(data: dict) -> int | None:
    if data.get("seed") is None:
        return None
    seed = data["seed"]
    if not _is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise ApiError(400, "invalid_seed", f"seed must be an integer 0..2**64-1, got {_type_name(seed)}")
    return seed


def parse_config(data: dict) -> dict:
    """``config`` overrides: ``time_max`` only. A replay's whole env config is accepted as
    it is, as long as every other field holds its default (challenge mode sends it so)."""
    config = data.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ApiError(400, "invalid_config", f"config must be an object, got {_type_name(config)}")
    for name, value in config.items():
        if name not in S.CONFIG_INDEX:
            raise ApiError(400, "invalid_config", f"unknown config field {name[:40]!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError(400, "invalid_config", f"config field {name!r} must be a number, got {_type_name(value)}")
        if name not in CONFIG_OVERRIDES and value != S.DEFAULT_CONFIG[name]:
            raise ApiError(
                400,
                "invalid_config",
                f"config field {name!r} cannot be changed here (only "
                f"{', '.join(CONFIG_OVERRIDES)}); its default is {S.DEFAULT_CONFIG[name]:g}",
            )
    overrides = {name: config[name] for name in CONFIG_OVERRIDES if name in config}
    try:
        S.make_config(overrides)
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, "invalid_config", str(exc)) from None
    return {name: int(value) for name, value in overrides.items()}


# ------------------------------------------------------------------- views


def _valid_actions(session: Session) -> list[int]:
    if session.done:
        return []
    return np.flatnonzero(session.env.action_mask()).tolist()


def _state(session: Session) -> dict:
    return {
        "render_state": session.env.render_state(),
        "obs": session.obs.tolist(),
        "valid_actions": _valid_actions(session),
    }


def _session_fields(session: Session) -> dict:
    return {
        "seed": session.seed,
        "time_max": session.time_max,
        "step": session.step,
        "episode_return": session.episode_return,
        "done": session.done,
    }


# --------------------------------------------------------------------- CORS


class Cors:
    def __init__(self, origins, allow_localhost: bool):
        self.any = "*" in origins
        self.origins = {o.rstrip("/").lower() for o in origins if o != "*"}
        self.allow_localhost = allow_localhost

    def allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        return (
            self.any
            or origin in self.origins
            or (self.allow_localhost and LOCAL_ORIGIN_RE.fullmatch(origin) is not None)
        )

    def headers(self, request) -> dict:
        origin = request.headers.get("origin")
        if not origin:
            return {}
        if self.allowed(origin):
            return {
                "access-control-allow-origin": origin,
                "access-control-expose-headers": "Retry-After",
                "vary": "Origin",
            }
        return {"vary": "Origin"}


# ----------------------------------------------------------------- errors

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    417: "expectation_failed",
    429: "too_many_requests",
    431: "headers_too_large",
    503: "service_unavailable",
}


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


class JsonErrorHandler(ErrorHandler):
    """Every error as ``{"error": {"code", "message"}}``; never a traceback to the client."""

    def default(self, request, exception):
        try:
            return self._respond(request, exception)
        except Exception:  # pragma: no cover - a bug while reporting a bug
            log.exception("error while handling an error")
            return json(error_body("internal_error", "internal error"), status=500)

    def _respond(self, request, exception):
        headers: dict = {}
        if isinstance(exception, ApiError):
            status, code, message = exception.status, exception.code, exception.message
            headers.update(exception.headers)
        elif isinstance(exception, SanicException) and 400 <= int(exception.status_code or 500) < 500:
            status = int(exception.status_code)
            code = _STATUS_CODES.get(status, "bad_request")
            method = getattr(request, "method", "?")
            path = getattr(request, "path", "?")
            if status == 404:
                message = f"no such endpoint: {method} {path[:200]}; see GET /api/openapi.json"
            elif status == 405:
                allowed = sorted(getattr(exception, "allowed_methods", None) or ())
                message = f"{method} is not allowed on {path[:200]}" + (
                    f"; use {', '.join(allowed)}" if allowed else ""
                )
                if allowed:
                    headers["allow"] = ", ".join(allowed)
            elif status == 413:
                limit = getattr(getattr(request, "app", None), "ctx", None)
                limit = getattr(limit, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
                message = f"request too large: bodies are limited to {limit} bytes, headers to 8 KiB"
            else:
                message = str(exception.args[0] if exception.args else exception)[:200] or "bad request"
        elif isinstance(exception, RequestCancelled):  # the client went away: nobody to answer
            status, code, message = 503, "request_cancelled", "the client closed the connection"
        elif isinstance(exception, SanicException) and int(exception.status_code or 500) == 503:
            status, code = 503, "service_unavailable"  # a response timeout, or shutting down
            message = "the service is busy or shutting down; try again"
            log.warning(
                "%s while handling %s %s",
                type(exception).__name__,
                getattr(request, "method", "?"),
                getattr(request, "path", "?"),
            )
        else:
            status, code, message = 500, "internal_error", "internal error; it has been logged"
            log.error(
                "%s while handling %s %s",
                type(exception).__name__,
                getattr(request, "method", "?"),
                getattr(request, "path", "?"),
                exc_info=exception,
            )
        if request is not None:
            cors = getattr(request.app.ctx, "cors", None)
            if cors is not None:
                headers.update(cors.headers(request))
        return json(error_body(code, message), status=status, headers=headers)

    @staticmethod
    def log(request, exception) -> None:  # _respond logs the 5xx ones, with their traceback
        return None


# --------------------------------------------------------- slow requests


class PlayHttp(Http):
    """Sanic's HTTP/1.1 connection state, plus when the request under way began."""

    __slots__ = ("request_started",)

    def __init__(self, protocol):
        super().__init__(protocol)
        self.request_started: float | None = None

    def init_for_request(self):
        super().init_for_request()
        # bytes already buffered (pipelined) begin this request now; else its first byte will
        self.request_started = time.monotonic() if self.recv_buffer else None

    def receiving(self) -> bool:
        """Headers or body of a request still to come."""
        return self.request_started is not None and (self.stage is Stage.REQUEST or bool(self.request_body))


class PlayProtocol(HttpProtocol):
    """Sanic's HTTP/1.1 protocol with one deadline for a whole request (docs/play-api.md#limits).

    Sanic's request timeout starts again with every byte received, and its response
    timeout covers the body: headers trickled a byte at a time held a connection for as
    long as the client liked, and a stalled body was answered 503. Here REQUEST_TIMEOUT
    counts from a request's first byte until its body is complete, then 408.
    """

    HTTP_CLASS = PlayHttp
    __slots__ = ()

    def data_received(self, data: bytes):
        http = getattr(self, "_http", None)
        if data and http is not None and http.request_started is None:
            http.request_started = time.monotonic()
            self._check_at(self.request_timeout)  # wake at the deadline, not at the next tick
        super().data_received(data)

    def _check_at(self, delay: float) -> None:
        if self._callback_check_timeouts:
            self._callback_check_timeouts.cancel()
        self._callback_check_timeouts = self.loop.call_later(max(0.05, delay), self.check_timeouts)

    def check_timeouts(self):
        http = getattr(self, "_http", None)
        if not self._task or http is None or not http.receiving():
            return super().check_timeouts()
        left = http.request_started + self.request_timeout - time.monotonic()
        if left > 0:  # (the deadline implies Sanic's own per-byte request timeout)
            return self._check_at(min(left + 0.05, self.request_timeout / 2))
        http.exception = RequestTimeout(
            f"the request (headers and body) did not arrive within {self.request_timeout:g} s"
        )
        http.request_body = None  # answer 408 and close: never wait for the rest of that body
        http.keep_alive = False
        self._check_at(1.0)  # and if the task lingers, look again
        self._task.cancel()


# ------------------------------------------------------------------- the app


class PlayRequest(Request):
    """Sanic's Request, able to stand in for a request whose URL httptools refused.

    On such a URL (a control byte, say) Sanic answers 400 through an empty placeholder
    request (method "NONE") built from the same URL, which fails again: the client got
    no answer and the log a traceback. The placeholder falls back to the URL "*" here.
    """

    __slots__ = ()

    def __init__(self, url_bytes, headers, version, method, transport, app, *args, **kwargs):
        try:
            super().__init__(url_bytes, headers, version, method, transport, app, *args, **kwargs)
        except SanicException:
            if method != "NONE":
                raise
            super().__init__(b"*", headers, version, method, transport, app, *args, **kwargs)


def create_app(
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    allow_origins=(),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_localhost: bool = True,
    name: str | None = None,
    clock=time.monotonic,
    max_sessions_per_client: int = DEFAULT_MAX_SESSIONS_PER_CLIENT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> Sanic:
    """The play service as a Sanic app (each call a fresh app with its own sessions).

    ``allow_origins``: site origins that may call the API from a browser ("*" for any);
    ``allow_localhost`` adds http(s)://localhost|127.0.0.1|[::1] on any port.
    ``request_timeout`` is the whole-request deadline when served with :class:`PlayProtocol`
    (as :func:`serve` does).
    """
    if not ttl_seconds > 0:
        raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds!r}")
    if int(max_sessions) < 1:
        raise ValueError(f"max_sessions must be >= 1, got {max_sessions!r}")
    if int(max_sessions_per_client) < 1:
        raise ValueError(f"max_sessions_per_client must be >= 1, got {max_sessions_per_client!r}")
    if not 0 < request_timeout <= 3600:
        raise ValueError(f"request_timeout must be in (0, 3600] seconds, got {request_timeout!r}")
    if int(max_body_bytes) < 64:
        raise ValueError(f"max_body_bytes must be >= 64, got {max_body_bytes!r}")
    if name is None:
        name = APP_NAME if APP_NAME not in Sanic._app_registry else f"{APP_NAME}_{next(_app_counter)}"
    # orjson encodes the ~7 KB step answer in a tenth of the time of the json module, and
    # that encoding was the largest part of a step request after render_state
    # (docs/benchmarks.md#play-service).
    app = Sanic(name, error_handler=JsonErrorHandler(), request_class=PlayRequest, dumps=orjson.dumps)
    # Sanic also caps the request *header* at REQUEST_MAX_SIZE, and a browser's headers can
    # exceed a small body limit: the transport takes up to TRANSPORT_MAX_BYTES (headers up to
    # 8 KiB) and the JSON endpoints enforce max_body_bytes themselves (413 either way).
    app.config.REQUEST_MAX_SIZE = max(int(max_body_bytes), TRANSPORT_MAX_BYTES)
    app.config.REQUEST_MAX_HEADER_SIZE = 8192
    app.config.REQUEST_TIMEOUT = float(request_timeout)  # PlayProtocol: from first byte to last
    app.config.RESPONSE_TIMEOUT = 15
    app.config.KEEP_ALIVE_TIMEOUT = 30
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.NOISY_EXCEPTIONS = False

    store = SessionStore(ttl_seconds, max_sessions, clock, max_sessions_per_client)
    cors = Cors(tuple(allow_origins), allow_localhost)
    max_body = int(max_body_bytes)
    started = time.monotonic()
    app.ctx.store = store
    app.ctx.cors = cors
    app.ctx.max_body_bytes = max_body

    def reply(request, body: dict, status: int = 200) -> HTTPResponse:
        return json(body, status=status, headers=cors.headers(request))

    # ------------------------------------------------------------- handlers

    async def create_session(request):
        data = _read_json(request, max_body, ("seed", "config"))
        seed = parse_seed(data)
        config = parse_config(data)
        client = client_key(request.client_ip)
        store.check_capacity(client)
        session = Session(store.new_id(), ProspectorEnv(config or None), store.clock(), client)
        obs, info = session.reset(secrets.randbits(63) if seed is None else seed)
        store.add(session)
        return reply(
            request,
            {
                "session_id": session.id,
                **_state(session),
                "info": info,
                **_session_fields(session),
                "ttl_seconds": store.ttl,
            },
            201,
        )

    async def get_session(request, session_id: str):
        session = store.get(session_id)
        return reply(request, {"session_id": session.id, **_state(session), **_session_fields(session)})

    async def reset_session(request, session_id: str):
        data = _read_json(request, max_body, ("seed",))
        seed = parse_seed(data)
        session = store.get(session_id)
        obs, info = session.reset(secrets.randbits(63) if seed is None else seed)
        return reply(request, {**_state(session), "info": info, **_session_fields(session)})

    async def step_session(request, session_id: str):
        data = _read_json(request, max_body, ("action",))
        action = parse_action(data)
        session = store.get(session_id)
        if session.done:
            raise ApiError(
                409,
                "episode_over",
                f"the episode ended at step {session.step}; POST /api/play/session/{session_id}/reset "
                '(optionally with {"seed": N}) to play another',
            )
        obs, reward, terminated, truncated, info = session.env.step(action)
        events = info.pop("events")
        session.obs = obs
        session.step += 1
        session.episode_return += reward
        session.done = bool(terminated or truncated)
        return reply(
            request,
            {
                **_state(session),
                "reward": reward,
                "terminated": bool(terminated),
                "truncated": bool(truncated),
                "info": info,
                "events": events,
                "step": session.step,
                "episode_return": session.episode_return,
            },
        )

    async def delete_session(request, session_id: str):
        store.remove(session_id)
        return reply(request, {"deleted": session_id})

    async def health(request):
        store.sweep()
        return reply(
            request,
            {
                "status": "ok",
                "version": __version__,
                "live_sessions": len(store),
                "max_sessions": store.max_sessions,
                "max_sessions_per_client": store.max_per_client,
                "ttl_seconds": store.ttl,
                "request_timeout_seconds": app.config.REQUEST_TIMEOUT,
                "sessions_created": store.created_total,
                "sessions_expired": store.expired_total,
                "uptime_seconds": round(time.monotonic() - started, 3),
                "pid": os.getpid(),
            },
        )

    async def openapi(request):
        if getattr(app.ctx, "openapi", None) is None:
            from .openapi import build_openapi

            app.ctx.openapi = build_openapi()
        return reply(request, app.ctx.openapi)

    routes = (
        ("/api/play/session", ("POST",), create_session),
        ("/api/play/session/<session_id>", ("GET", "DELETE"), None),
        ("/api/play/session/<session_id>/reset", ("POST",), reset_session),
        ("/api/play/session/<session_id>/step", ("POST",), step_session),
        ("/api/health", ("GET",), health),
        ("/api/openapi.json", ("GET",), openapi),
    )
    for index, (path, methods, handler) in enumerate(routes):
        if handler is None:  # GET and DELETE on the same path
            app.add_route(get_session, path, methods=["GET"], name=f"r{index}_get")
            app.add_route(delete_session, path, methods=["DELETE"], name=f"r{index}_delete")
        else:
            app.add_route(handler, path, methods=list(methods), name=f"r{index}")
        app.add_route(
            partial(_preflight, cors=cors, methods=methods), path, methods=["OPTIONS"], name=f"r{index}_options"
        )

    # --------------------------------------------------------- the sweeper

    interval = min(30.0, max(0.05, float(ttl_seconds) / 4.0))

    async def sweeper():
        while True:
            await asyncio.sleep(interval)
            try:
                dropped = store.sweep()
                if dropped:
                    log.info("expired %d idle sessions; %d live", dropped, len(store))
            except Exception:  # pragma: no cover - keep sweeping whatever happens
                log.exception("sweeper failed")

    @app.after_server_start
    async def start_sweeper(app_, _loop=None):
        app_.ctx.sweeper = asyncio.get_running_loop().create_task(sweeper())

    @app.before_server_stop
    async def stop_sweeper(app_, _loop=None):
        task = getattr(app_.ctx, "sweeper", None)
        if task is not None:
            task.cancel()

    return app


async def _preflight(request, *, cors: Cors, methods, **_params):
    allow = ", ".join((*methods, "OPTIONS"))
    origin = request.headers.get("origin")
    if not origin:  # a plain OPTIONS, not a CORS preflight
        return HTTPResponse(status=204, headers={"allow": allow})
    if not cors.allowed(origin):
        raise ApiError(
            403,
            "origin_not_allowed",
            f"origin {origin[:100]!r} may not call this API; start the server with --allow-origin {origin[:100]}",
        )
    return HTTPResponse(
        status=204,
        headers={
            "allow": allow,
            "access-control-allow-origin": origin,
            "access-control-allow-methods": allow,
            "access-control-allow-headers": "Content-Type",
            "access-control-max-age": "600",
            "vary": "Origin",
        },
    )


# ------------------------------------------------------------------- serving


def serve(host: str = "127.0.0.1", port: int = 8001, workers: int = 1, **app_kwargs) -> None:
    """Run the service until interrupted (``prospector play-server``).

    Sessions live in one process: with ``workers`` > 1 each worker has its own, and a
    client must keep talking to the worker that created its session.
    """
    from sanic.worker.loader import AppLoader

    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    loader = AppLoader(factory=partial(create_app, name=APP_NAME, **app_kwargs))
    app = loader.load()
    app.prepare(
        host=host,
        port=port,
        workers=workers,
        single_process=workers == 1,
        access_log=False,
        motd=False,
        protocol=PlayProtocol,
    )
    shown_host = f"[{host}]" if ":" in host else host
    print(
        f"play service: http://{shown_host}:{port}/api/health ({workers} worker"
        f"{'s' if workers > 1 else ''}, session TTL {app_kwargs.get('ttl_seconds', DEFAULT_TTL_SECONDS):g} s, "
        f"at most {app_kwargs.get('max_sessions', DEFAULT_MAX_SESSIONS)} sessions, "
        f"{app_kwargs.get('max_sessions_per_client', DEFAULT_MAX_SESSIONS_PER_CLIENT)} per client address)",
        flush=True,
    )
    if workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)
