"""The play service (docs/play-api.md): API, bad input, sessions, CORS, determinism.

Most tests use Sanic's test client (sanic-testing's ReusableClient: the app on a real
loopback socket inside this process); the last ones start ``prospector play-server``
as a real process on a free port.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from harness.testing import PlayServer, free_port
from sanic_testing.reusable import ReusableClient

from prospector import spec as S
from prospector.envs import ProspectorEnv
from prospector.play import openapi
from prospector.play.server import create_app

REPO = Path(__file__).resolve().parents[1]
SITE = "https://prospector.example"
TRUTH_KEYS = {"comp", "pirate", "hazard", "richness", "stability", "noise", "capacity", "truth"}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """A sanic-testing ReusableClient with JSON helpers; ``.app`` and ``.clock`` for the tests."""

    def __init__(self, keep_alive: bool = True, **kwargs):
        self.clock = FakeClock()
        kwargs.setdefault("allow_origins", (SITE,))
        self.app = create_app(clock=self.clock, **kwargs)
        # without keep-alive, a request never lands on a connection the server just closed (after a 413)
        client_kwargs = {} if keep_alive else {"limits": httpx.Limits(max_keepalive_connections=0)}
        self.client = ReusableClient(self.app, port=free_port(), client_kwargs=client_kwargs)

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None, headers=None):
        kwargs = {"headers": dict(headers or {})}
        if raw is not None:
            kwargs["content"] = raw
        elif body is not None:
            kwargs["content"] = json.dumps(body).encode()
            kwargs["headers"].setdefault("content-type", "application/json")
        _, response = getattr(self.client, method.lower())(path, **kwargs)
        return response

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def new(self, **body) -> dict:
        r = self.post("/api/play/session", body)
        assert r.status == 201, r.text
        return r.json

    def step(self, sid: str, action: int):
        return self.post(f"/api/play/session/{sid}/step", {"action": action})


@pytest.fixture
def client():
    c = Client(max_sessions=20)
    with c.client:
        yield c


def assert_error(response, status: int, code: str | None = None):
    assert response.status == status, (response.status, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(response.body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"] and "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def walk_keys(value, path=""):
    if isinstance(value, dict):
        for key, child in value.items():
            yield key, f"{path}.{key}"
            yield from walk_keys(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from walk_keys(child, f"{path}[{i}]")


# ------------------------------------------------------------------ happy path


def test_create_step_get_reset_delete(client):
    created = client.new(seed=7)
    sid = created["session_id"]
    assert len(sid) == 32
    assert set(created) >= {
        "session_id",
        "render_state",
        "obs",
        "valid_actions",
        "info",
        "seed",
        "step",
        "episode_return",
        "done",
        "ttl_seconds",
        "time_max",
    }
    assert created["seed"] == 7 and created["step"] == 0 and created["done"] is False
    assert len(created["obs"]) == S.OBS_DIM
    assert created["valid_actions"] and all(0 <= a < S.N_ACTIONS for a in created["valid_actions"])
    assert "events" not in created["info"]

    r = client.step(sid, S.A_HOLD)
    assert r.status == 200, r.text
    body = r.json
    assert set(body) >= {
        "render_state",
        "obs",
        "reward",
        "terminated",
        "truncated",
        "info",
        "events",
        "valid_actions",
        "step",
        "episode_return",
    }
    assert isinstance(body["reward"], float) and body["terminated"] is False and body["truncated"] is False
    assert body["events"] == [{"type": "hold"}] and "events" not in body["info"]
    assert body["step"] == 1 and body["episode_return"] == body["reward"]
    assert body["render_state"]["t"] == 1

    r = client.request("GET", f"/api/play/session/{sid}")
    assert r.status == 200 and r.json["step"] == 1 and r.json["render_state"] == body["render_state"]

    r = client.post(f"/api/play/session/{sid}/reset", {"seed": 7})
    assert r.status == 200, r.text
    assert r.json["render_state"] == created["render_state"] and r.json["obs"] == created["obs"]
    assert r.json["step"] == 0 and r.json["seed"] == 7
    r = client.post(f"/api/play/session/{sid}/reset")  # no body: a fresh random seed
    assert r.status == 200 and r.json["seed"] != 7

    r = client.request("DELETE", f"/api/play/session/{sid}")
    assert r.status == 200 and r.json == {"deleted": sid}
    assert_error(client.step(sid, 6), 404, "unknown_session")
    assert_error(client.request("DELETE", f"/api/play/session/{sid}"), 404, "unknown_session")


def test_session_ids_are_unguessable(client):
    ids = {client.new()["session_id"] for _ in range(8)}
    assert len(ids) == 8
    assert all(
        len(i) == 32 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for i in ids
    )


def test_health_and_openapi(client):
    client.new()
    r = client.request("GET", "/api/health")
    assert r.status == 200
    h = r.json
    assert h["status"] == "ok" and h["live_sessions"] == 1 and h["max_sessions"] == 20
    assert h["uptime_seconds"] >= 0 and h["version"]
    r = client.request("GET", "/api/openapi.json")
    assert r.status == 200 and r.json == openapi.build_openapi()
    assert r.json["openapi"].startswith("3.")
    assert set(r.json["paths"]) >= {"/api/play/session", "/api/play/session/{session_id}/step", "/api/health"}


def test_docs_copy_of_openapi_is_current():
    shipped = (REPO / "docs" / "play-openapi.json").read_text()
    assert shipped == openapi.render(), "run: python -m prospector.play.openapi > docs/play-openapi.json"


def test_time_max_override(client):
    created = client.new(seed=3, config={"time_max": 5})
    assert created["time_max"] == 5 and created["render_state"]["time_max"] == 5
    sid = created["session_id"]
    for _ in range(5):
        r = client.step(sid, S.A_HOLD)
    assert r.json["truncated"] is True or r.json["terminated"] is True
    assert r.json["valid_actions"] == []
    # the override holds across resets
    assert client.post(f"/api/play/session/{sid}/reset", {"seed": 4}).json["time_max"] == 5
    # a replay's env config (every field, floats, as make_config returns it) is taken as it is
    replay_config = S.make_config(time_max=600)
    assert isinstance(replay_config["time_max"], float)
    created = client.new(seed=3, config=replay_config)
    assert created["time_max"] == 600 and created["render_state"]["time_max"] == 600


# ------------------------------------------------------------- determinism


def play_direct(seed: int, n: int, time_max: int, rng_seed: int):
    env = ProspectorEnv(time_max=time_max)
    obs, _ = env.reset(seed=seed)
    rng = random.Random(rng_seed)
    actions, rewards, ends, observations = [], [], [], [obs.tolist()]
    for _ in range(n):
        valid = np.flatnonzero(env.action_mask()).tolist()
        action = rng.choice(valid) if rng.random() < 0.9 else rng.randrange(S.N_ACTIONS)
        obs, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        rewards.append(reward)
        ends.append((terminated, truncated))
        observations.append(obs.tolist())
        if terminated or truncated:
            break
    return actions, rewards, ends, observations, env.render_state()


@pytest.mark.parametrize("seed", [11, 2**63 + 5])
def test_challenge_mode_same_seed_same_actions_same_rewards(client, seed):
    actions, rewards, ends, observations, final_render = play_direct(seed, 400, 600, seed % 1000)
    created = client.new(seed=seed, config={"time_max": 600})
    sid = created["session_id"]
    assert created["obs"] == observations[0]
    got = []
    for t, action in enumerate(actions):
        r = client.step(sid, action)
        assert r.status == 200, r.text
        got.append(r.json["reward"])
        assert (r.json["terminated"], r.json["truncated"]) == ends[t]
        assert r.json["obs"] == observations[t + 1]
    assert got == rewards  # exact, not approximate
    assert r.json["render_state"] == final_render
    assert r.json["episode_return"] == pytest.approx(sum(rewards), abs=1e-9)
    # a reset on the seed replays the episode again, identically
    client.post(f"/api/play/session/{sid}/reset", {"seed": seed})
    again = [client.step(sid, a).json["reward"] for a in actions]
    assert again == rewards


# ---------------------------------------------------------------- bad input

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "raw, headers, status, code",
    [
        (b"{not json", JSON, 400, "invalid_json"),
        (b'{"action": 3', JSON, 400, "invalid_json"),
        (b"\xff\xfe\x00garbage", JSON, 400, "invalid_json"),
        (b"[" * 9000, JSON, 413, "body_too_large"),
        (b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", JSON, 400, "invalid_body"),
        (b'{"action": 3}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"action": 3}', {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        (b'{"action": 3}', {}, 415, "unsupported_media_type"),
        (b"action=3", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        (b"3", JSON, 400, "invalid_body"),
        (b'"step"', JSON, 400, "invalid_body"),
        (b"null", JSON, 400, "invalid_body"),
        (b"[3]", JSON, 400, "invalid_body"),
        (b"{}", JSON, 400, "missing_action"),
        (b"", JSON, 400, "missing_action"),
        (b"", {}, 400, "missing_action"),
        (b'{"act": 3}', JSON, 400, "unknown_field"),
        (b'{"action": 3, "extra": 1}', JSON, 400, "unknown_field"),
        (b'{"action": 3.0}', JSON, 400, "invalid_action"),
        (b'{"action": 3.5}', JSON, 400, "invalid_action"),
        (b'{"action": "3"}', JSON, 400, "invalid_action"),
        (b'{"action": true}', JSON, 400, "invalid_action"),
        (b'{"action": false}', JSON, 400, "invalid_action"),
        (b'{"action": null}', JSON, 400, "invalid_action"),
        (b'{"action": [3]}', JSON, 400, "invalid_action"),
        (b'{"action": {"i": 3}}', JSON, 400, "invalid_action"),
        (b'{"action": NaN}', JSON, 400, "invalid_action"),
        (b'{"action": Infinity}', JSON, 400, "invalid_action"),
        (b'{"action": 1e400}', JSON, 400, "invalid_action"),
        (b'{"action": -1}', JSON, 400, "action_out_of_range"),
        (b'{"action": -2147483649}', JSON, 400, "action_out_of_range"),
        (b'{"action": 69}', JSON, 400, "action_out_of_range"),
        (b'{"action": 4294967302}', JSON, 400, "action_out_of_range"),
        (b'{"action": 100000000000000000000000000000000000000000}', JSON, 400, "action_out_of_range"),
    ],
)
def test_bad_step_bodies(client, raw, headers, status, code):
    sid = client.new(seed=1)["session_id"]
    assert_error(client.post(f"/api/play/session/{sid}/step", raw=raw, headers=headers), status, code)
    # the session still works afterwards, untouched
    r = client.step(sid, S.A_HOLD)
    assert r.status == 200 and r.json["step"] == 1


def test_huge_integer_text_is_refused_cleanly(client):
    sid = client.new()["session_id"]
    raw = b'{"action": ' + b"9" * 900 + b"}"
    err = assert_error(client.post(f"/api/play/session/{sid}/step", raw=raw, headers=JSON), 400)
    assert err["code"] in ("action_out_of_range", "invalid_json")


@pytest.mark.parametrize(
    "body, code",
    [
        ({"seed": -1}, "invalid_seed"),
        ({"seed": 2**64}, "invalid_seed"),
        ({"seed": 1.5}, "invalid_seed"),
        ({"seed": "42"}, "invalid_seed"),
        ({"seed": True}, "invalid_seed"),
        ({"seed": [1]}, "invalid_seed"),
        ({"config": {"fuel_max": 10}}, "invalid_config"),
        ({"config": {"pirate_base": -50}}, "invalid_config"),
        ({"config": {**S.DEFAULT_CONFIG, "shock_rate": 0.0}}, "invalid_config"),
        ({"config": {"time_max": 10**400}}, "invalid_config"),
        ({"config": {"time_max": True}}, "invalid_config"),
        ({"config": {"time_max": 0}}, "invalid_config"),
        ({"config": {"time_max": 10**7}}, "invalid_config"),
        ({"config": {"time_max": 10.5}}, "invalid_config"),
        ({"config": {"time_max": "100"}}, "invalid_config"),
        ({"config": {"time_max": None}}, "invalid_config"),
        ({"config": [1]}, "invalid_config"),
        ({"config": "time_max=5"}, "invalid_config"),
        ({"session": "x"}, "unknown_field"),
    ],
)
def test_bad_create_bodies(client, body, code):
    assert_error(client.post("/api/play/session", body), 400, code)
    assert client.request("GET", "/api/health").json["live_sessions"] == 0


@pytest.mark.parametrize(
    "body, code",
    [
        ({"seed": -5}, "invalid_seed"),
        ({"seed": "x"}, "invalid_seed"),
        ({"config": {"time_max": 5}}, "unknown_field"),
    ],
)
def test_bad_reset_bodies(client, body, code):
    sid = client.new()["session_id"]
    assert_error(client.post(f"/api/play/session/{sid}/reset", body), 400, code)


@pytest.mark.parametrize(
    "sid, status, code",
    [
        ("A" * 32, 404, "unknown_session"),  # well-formed, never created
        ("short", 400, "malformed_session_id"),
        ("A" * 33, 400, "malformed_session_id"),
        ("A" * 31 + "!", 400, "malformed_session_id"),
        ("%00" * 4, 400, "malformed_session_id"),
        ("..%2F..%2Fetc%2Fpasswd", 400, "malformed_session_id"),
        ("x" * 3000, 400, "malformed_session_id"),
    ],
)
def test_unknown_and_malformed_session_ids(client, sid, status, code):
    for method, suffix, body in (
        ("POST", "/step", {"action": 6}),
        ("POST", "/reset", None),
        ("GET", "", None),
        ("DELETE", "", None),
    ):
        assert_error(client.request(method, f"/api/play/session/{sid}{suffix}", body), status, code)


def test_routes_methods_and_big_bodies(client):
    assert_error(client.request("GET", "/"), 404, "not_found")
    assert_error(client.request("GET", "/api/play/nope"), 404, "not_found")
    assert_error(client.request("POST", "/api/play/session/a/b/c", {}), 404, "not_found")
    err = assert_error(client.request("GET", "/api/play/session"), 405, "method_not_allowed")
    assert "POST" in err["message"]
    r = client.request("PUT", "/api/health")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("allow", "")
    sid = client.new()["session_id"]
    assert_error(client.request("GET", f"/api/play/session/{sid}/step"), 405)
    assert_error(client.request("PATCH", f"/api/play/session/{sid}"), 405)
    # over the body limit: with a Content-Length, and chunked
    big = json.dumps({"action": 6, "pad": "x" * 9000}).encode()
    assert_error(client.post(f"/api/play/session/{sid}/step", raw=big, headers=JSON), 413, "body_too_large")

    def chunked(n: int):
        async def chunks():
            for _ in range(n):
                yield b" " * 500

        return chunks()

    for n in (20, 40):  # 10 KB (over the endpoint limit), 20 KB (over the transport limit)
        r = client.post(f"/api/play/session/{sid}/step", raw=chunked(n), headers=JSON)
        assert_error(r, 413, "body_too_large")
    huge = b'{"action": 6, "pad": "' + b"x" * 40000 + b'"}'
    assert_error(client.post(f"/api/play/session/{sid}/step", raw=huge, headers=JSON), 413, "body_too_large")
    # long headers (a browser's) are fine
    r = client.request("GET", "/api/health", headers={"user-agent": "x" * 3000, "cookie": "c=" + "y" * 2000})
    assert r.status == 200
    assert_error(client.request("GET", "/api/health", headers={"x-big": "z" * 9000}), 413)
    assert client.step(sid, 6).status == 200


def test_stepping_after_the_episode_ended_is_409_with_how_to_reset(client):
    sid = client.new(seed=5, config={"time_max": 3})["session_id"]
    for _ in range(3):
        last = client.step(sid, S.A_HOLD)
    assert last.json["truncated"] or last.json["terminated"]
    err = assert_error(client.step(sid, S.A_HOLD), 409, "episode_over")
    assert f"/api/play/session/{sid}/reset" in err["message"]
    assert client.request("GET", f"/api/play/session/{sid}").json["done"] is True
    assert client.post(f"/api/play/session/{sid}/reset").status == 200
    assert client.step(sid, S.A_HOLD).status == 200


def test_cash_out_ends_the_episode(client):
    sid = client.new(seed=9)["session_id"]
    r = client.step(sid, S.A_CASH_OUT)
    assert r.status == 200 and r.json["terminated"] and r.json["info"]["end_reason"]
    assert r.json["render_state"]["done"] is True
    assert_error(client.step(sid, S.A_HOLD), 409, "episode_over")


def test_invalid_but_in_range_action_is_a_hold_step_not_an_error(client):
    created = client.new(seed=2)
    invalid = next(a for a in range(S.N_ACTIONS) if a not in created["valid_actions"])
    r = client.step(created["session_id"], invalid)
    assert r.status == 200 and r.json["info"]["invalid"] is True
    assert r.json["events"][0] == {"type": "invalid", "action": invalid}


# ----------------------------------------------------- TTL, cap, sweeper


def test_idle_sessions_expire_with_410_and_the_sweeper_drops_them(client):
    a = client.new()["session_id"]
    b = client.new()["session_id"]
    client.clock.now += 600
    assert client.step(b, 6).status == 200  # b is used: its idle time restarts
    client.clock.now += 301  # a idle 901 s > 900 s; b idle 301 s
    assert_error(client.step(a, 6), 410, "session_expired")
    assert_error(client.step(a, 6), 410, "session_expired")  # still 410, not 404
    assert_error(client.request("DELETE", f"/api/play/session/{a}"), 410, "session_expired")
    assert client.step(b, 6).status == 200
    client.clock.now += 901
    dropped = client.app.ctx.store.sweep()  # what the background sweeper calls
    assert dropped == 1
    health = client.request("GET", "/api/health").json
    assert health["live_sessions"] == 0 and health["sessions_expired"] == 2
    assert_error(client.step(b, 6), 410, "session_expired")


def test_session_cap_429_and_recovery():
    c = Client(max_sessions=3)
    with c.client:
        ids = [c.new()["session_id"] for _ in range(3)]
        r = c.post("/api/play/session", {"seed": 1})
        err = assert_error(r, 429, "too_many_sessions")
        assert "3" in err["message"] and int(r.headers["retry-after"]) >= 1
        assert c.step(ids[0], 6).status == 200  # the others keep playing
        assert c.request("DELETE", f"/api/play/session/{ids[1]}").status == 200
        assert c.post("/api/play/session", {}).status == 201
        assert_error(c.post("/api/play/session", {}), 429)
        c.clock.now += 1000  # all idle: expired sessions make room
        assert c.post("/api/play/session", {}).status == 201
        assert c.request("GET", "/api/health").json["live_sessions"] == 1


# -------------------------------------------------------------------- CORS


@pytest.mark.parametrize("origin", [SITE, "http://localhost:8000", "http://127.0.0.1:5173", "http://localhost"])
def test_cors_preflight_and_headers_for_allowed_origins(client, origin):
    r = client.request(
        "OPTIONS",
        "/api/play/session",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == origin
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    sid = client.new()["session_id"]
    r = client.request(
        "OPTIONS", f"/api/play/session/{sid}/step", headers={"origin": origin, "access-control-request-method": "POST"}
    )
    assert r.status == 204 and r.headers["access-control-allow-origin"] == origin
    r = client.request("POST", f"/api/play/session/{sid}/step", {"action": 6}, headers={"origin": origin})
    assert r.status == 200 and r.headers["access-control-allow-origin"] == origin
    # errors carry the header too, so the page can read the message
    r = client.request("POST", f"/api/play/session/{sid}/step", {"action": 99}, headers={"origin": origin})
    assert r.status == 400 and r.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost.evil.example", "null", "https://prospector.example.evil.example"],
)
def test_cors_refuses_other_origins(client, origin):
    r = client.request(
        "OPTIONS", "/api/play/session", headers={"origin": origin, "access-control-request-method": "POST"}
    )
    assert_error(r, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers
    r = client.request("GET", "/api/health", headers={"origin": origin})
    assert r.status == 200 and "access-control-allow-origin" not in r.headers


def test_localhost_origins_can_be_turned_off():
    c = Client(allow_localhost=False)
    with c.client:
        r = c.request(
            "OPTIONS",
            "/api/health",
            headers={"origin": "http://localhost:8000", "access-control-request-method": "GET"},
        )
        assert_error(r, 403, "origin_not_allowed")
        r = c.request("OPTIONS", "/api/health", headers={"origin": SITE, "access-control-request-method": "GET"})
        assert r.status == 204


# ------------------------------------------------------------ hidden truth


def test_no_response_ever_holds_truth_keys(client):
    rng = random.Random(5)
    seen_asteroids = 0
    for seed in (1, 2, 3):
        created = client.new(seed=seed, config={"time_max": 400})
        sid = created["session_id"]
        responses = [created]
        body = created
        for _ in range(120):
            if body.get("terminated") or body.get("truncated"):
                body = client.post(f"/api/play/session/{sid}/reset").json
            else:
                valid = [a for a in body["valid_actions"] if a != S.A_CASH_OUT] or [S.A_HOLD]
                body = client.step(sid, rng.choice(valid)).json
            responses.append(body)
            seen_asteroids += len(body["render_state"]["asteroids"])
        responses.append(client.request("GET", f"/api/play/session/{sid}").json)
        for response in responses:
            for key, where in walk_keys(response):
                assert key not in TRUTH_KEYS, f"hidden truth {where} in a response"
    assert seen_asteroids > 0  # the walk saw asteroid estimates, not only the station


def test_truth_exists_in_the_game_but_not_in_render_state():
    """Guard against a vacuous check: the snapshot holds the truth keys, render_state drops them."""
    env = ProspectorEnv()
    env.reset(seed=1)
    env.step(0)  # to a cluster: its asteroids (and their truth) are generated on arrival
    assert env.render_state()["asteroids"]
    snap_keys = {k for k, _ in walk_keys(env.snapshot())}
    assert {"comp", "pirate", "hazard", "richness", "stability", "noise", "capacity"} <= snap_keys
    assert not {k for k, _ in walk_keys(env.render_state())} & TRUTH_KEYS


# ------------------------------------------------------ unexpected failures


def test_an_unexpected_exception_is_a_json_500_without_traceback(client, caplog):
    sid = client.new()["session_id"]

    class Broken:
        def step(self, action):
            raise RuntimeError("boom: secret internals")

    client.app.ctx.store.live[sid].env = Broken()
    with caplog.at_level(logging.ERROR, logger="prospector.play"):
        r = client.step(sid, 6)
    assert_error(r, 500, "internal_error")
    assert "boom" not in r.text and "secret" not in r.text
    assert any("RuntimeError" in rec.getMessage() and rec.exc_info for rec in caplog.records)
    assert client.request("GET", "/api/health").status == 200  # and it keeps serving


def test_create_app_rejects_bad_settings():
    for kwargs in ({"ttl_seconds": 0}, {"max_sessions": 0}, {"max_body_bytes": 10}):
        with pytest.raises(ValueError):
            create_app(**kwargs)


# -------------------------------------------------- a real server process


class Server(PlayServer):
    """harness.testing's play-server process; ``request`` also takes request headers and
    returns (status, JSON body, response headers with lower-cased names)."""

    def __init__(self, *args: str):
        super().__init__(*args, timeout=30)

    def request(self, method, path, body=None, headers=None):
        return super().request(method, path, body, headers=headers, with_headers=True)


@pytest.fixture
def server():
    s = Server("--ttl", "2", "--max-sessions", "3", "--allow-origin", SITE)
    yield s
    s.stop()


def test_real_server_process(server):
    status, health, _ = server.request("GET", "/api/health")
    assert health["live_sessions"] == 0 and health["max_sessions"] == 3 and health["ttl_seconds"] == 2
    status, created, _ = server.request("POST", "/api/play/session", {"seed": 11})
    assert status == 201
    sid = created["session_id"]
    actions, rewards, *_ = play_direct(11, 60, 20000, 3)
    got = [server.request("POST", f"/api/play/session/{sid}/step", {"action": a})[1]["reward"] for a in actions]
    assert got == rewards
    # bad input over real HTTP
    assert server.request("POST", f"/api/play/session/{sid}/step", {"action": 69})[0] == 400
    assert server.request("POST", f"/api/play/session/{sid}/step", {"action": "x"})[0] == 400
    assert server.request("GET", "/nowhere")[0] == 404
    assert server.request("DELETE", "/api/health")[0] == 405
    status, _, headers = server.request(
        "OPTIONS", "/api/play/session", headers={"origin": SITE, "access-control-request-method": "POST"}
    )
    assert status == 204 and headers["access-control-allow-origin"] == SITE
    # cap
    for _ in range(2):
        assert server.request("POST", "/api/play/session", {})[0] == 201
    status, body, headers = server.request("POST", "/api/play/session", {})
    assert status == 429 and body["error"]["code"] == "too_many_sessions" and "retry-after" in headers
    # TTL 2 s in real time: the background sweeper empties the store without any request touching it
    time.sleep(2.6)
    assert server.request("GET", "/api/openapi.json")[0] == 200
    deadline = time.monotonic() + 5
    while server.request("GET", "/api/health")[1]["live_sessions"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.request("GET", "/api/health")[1]["live_sessions"] == 0
    status, body, _ = server.request("POST", f"/api/play/session/{sid}/step", {"action": 6})
    assert status == 410 and body["error"]["code"] == "session_expired"
    rc, output = server.stop()
    assert rc == 0, output
    assert "Traceback" not in output and "play service: http://127.0.0.1" in output


def test_play_server_cli_errors():
    for args in (
        ["--port", "0"],
        ["--port", "70000"],
        ["--ttl", "-1"],
        ["--max-sessions", "0"],
        ["--max-body-bytes", "10"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "prospector.cli", "play-server", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr and "error" in out.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "prospector.cli", "play-server", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 2 and "cannot serve" in out.stderr and "Traceback" not in out.stderr
