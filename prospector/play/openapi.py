"""The play service's OpenAPI 3.1 description, built from the code's own constants.

``GET /api/openapi.json`` serves it; the docs keep a copy in docs/play-openapi.json:

    python -m prospector.play.openapi > docs/play-openapi.json

(tests/test_play_api.py checks that the copy is current).
"""

from __future__ import annotations

import json
import sys

from .. import __version__
from .. import spec as S
from . import server as srv

ERROR_CODES = {
    400: "invalid_json, invalid_body, unknown_field, missing_action, invalid_action, action_out_of_range, "
    "invalid_seed, invalid_config, malformed_session_id, bad_request",
    403: "origin_not_allowed (CORS preflight from an origin not configured)",
    404: "unknown_session, not_found (no such endpoint)",
    405: "method_not_allowed (the Allow header lists the methods)",
    409: "episode_over (reset the session to play again)",
    408: "request_timeout (the headers and body did not arrive within the request timeout, default 15 s)",
    410: "session_expired (idle for longer than the TTL)",
    413: "body_too_large",
    415: "unsupported_media_type (a body that is not Content-Type: application/json)",
    429: "too_many_client_sessions (this client address holds its maximum of live sessions), "
    "too_many_sessions (the service holds its maximum); Retry-After says when the oldest idle one expires",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict:
    return {
        str(s): {"description": ERROR_CODES[s], "content": {"application/json": {"schema": _ref("Error")}}}
        for s in statuses
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _session_param() -> dict:
    return {
        "name": "session_id",
        "in": "path",
        "required": True,
        "description": "the session_id from POST /api/play/session (32 URL-safe characters)",
        "schema": {"type": "string", "pattern": "^" + srv.SESSION_ID_RE.pattern + "$"},
    }


def build_openapi() -> dict:
    n = S.N_ACTIONS
    action_list = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": n - 1}}
    session_fields = {
        "seed": {
            "type": "integer",
            "minimum": 0,
            "maximum": srv.SEED_MAX,
            "description": "the episode's seed: the same seed and actions replay the episode exactly",
        },
        "time_max": {"type": "integer", "description": "the episode budget in ticks"},
        "step": {"type": "integer", "description": "steps taken in this episode"},
        "episode_return": {"type": "number", "description": "sum of this episode's rewards so far"},
        "done": {"type": "boolean", "description": "the episode has ended; step answers 409 until a reset"},
    }
    state_fields = {
        "render_state": _ref("RenderState"),
        "obs": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": S.OBS_DIM,
            "maxItems": S.OBS_DIM,
            "description": f"the agent's observation ({S.OBS_DIM} float32 values in [-1, 1])",
        },
        "valid_actions": {
            **action_list,
            "description": "actions valid now (from the action mask); "
            "empty once the episode is over. Others are accepted and executed as HOLD",
        },
    }
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "machine-readable, stable"},
                        "message": {"type": "string", "description": "what went wrong and what to do"},
                    },
                }
            },
        },
        "RenderState": {
            "type": "object",
            "description": "what the ship knows (prospector.state.render_state): HUD, sector, mini-map. "
            "Never hidden truth (true compositions, latent risk).",
            "properties": {
                k: {}
                for k in (
                    "t",
                    "time_remaining",
                    "time_max",
                    "ship",
                    "limits",
                    "cargo",
                    "docked",
                    "node",
                    "neighbors",
                    "asteroids",
                    "selected",
                    "market",
                    "map",
                    "done",
                    "end_reason",
                )
            },
        },
        "Info": {
            "type": "object",
            "description": "episode statistics after the step: the env's info without 'events' (docs/game.md#info); "
            "'end_reason' once the episode is over; 'invalid' when the action was executed as HOLD",
            "properties": {k: {} for k in (*S.INFO_KEYS, "end_reason")},
        },
        "Event": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"type": "string", "enum": list(S.EVENT_TYPES)}},
            "description": "one typed event of the step (docs/game.md#69-events)",
        },
        "CreateRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "seed": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": srv.SEED_MAX,
                    "description": "play this seed (challenge mode); random when absent",
                },
                "config": {
                    "type": "object",
                    "properties": {
                        "time_max": {
                            "type": "number",
                            "minimum": 1,
                            "maximum": 1_000_000,
                            "description": "episode budget in ticks (a whole number)",
                        }
                    },
                    "description": "time_max is the only config a player may change; other config fields "
                    "(docs/game.md#6-mechanics) are accepted only with their default values (so a replay's "
                    "whole env config can be sent as it is)",
                },
            },
        },
        "ResetRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"seed": {"type": ["integer", "null"], "minimum": 0, "maximum": srv.SEED_MAX}},
        },
        "StepRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["action"],
            "properties": {
                "action": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": n - 1,
                    "description": "action index (docs/game.md#3-actions)",
                }
            },
        },
        "SessionCreated": {
            "type": "object",
            "required": [
                "session_id",
                "render_state",
                "obs",
                "valid_actions",
                "info",
                "seed",
                "time_max",
                "step",
                "episode_return",
                "done",
                "ttl_seconds",
            ],
            "properties": {
                "session_id": {"type": "string"},
                **state_fields,
                "info": _ref("Info"),
                **session_fields,
                "ttl_seconds": {"type": "number"},
            },
        },
        "SessionState": {
            "type": "object",
            "required": [
                "session_id",
                "render_state",
                "obs",
                "valid_actions",
                "seed",
                "time_max",
                "step",
                "episode_return",
                "done",
            ],
            "properties": {"session_id": {"type": "string"}, **state_fields, **session_fields},
        },
        "ResetResult": {
            "type": "object",
            "required": [
                "render_state",
                "obs",
                "valid_actions",
                "info",
                "seed",
                "time_max",
                "step",
                "episode_return",
                "done",
            ],
            "properties": {**state_fields, "info": _ref("Info"), **session_fields},
        },
        "StepResult": {
            "type": "object",
            "required": [
                "render_state",
                "obs",
                "valid_actions",
                "reward",
                "terminated",
                "truncated",
                "info",
                "events",
                "step",
                "episode_return",
            ],
            "properties": {
                **state_fields,
                "reward": {"type": "number"},
                "terminated": {"type": "boolean"},
                "truncated": {"type": "boolean"},
                "info": _ref("Info"),
                "events": {"type": "array", "items": _ref("Event")},
                "step": session_fields["step"],
                "episode_return": session_fields["episode_return"],
            },
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"const": "ok"},
                "version": {"type": "string"},
                "live_sessions": {"type": "integer"},
                "max_sessions": {"type": "integer"},
                "max_sessions_per_client": {"type": "integer"},
                "ttl_seconds": {"type": "number"},
                "request_timeout_seconds": {"type": "number"},
                "sessions_created": {"type": "integer"},
                "sessions_expired": {"type": "integer"},
                "uptime_seconds": {"type": "number"},
                "pid": {"type": "integer"},
            },
        },
    }
    body = lambda name, required=False: {  # noqa: E731
        "required": required,
        "content": {"application/json": {"schema": _ref(name)}},
    }
    session_errors = (400, 404, 410)
    paths = {
        "/api/play/session": {
            "post": {
                "summary": "Start a game session",
                "operationId": "createSession",
                "requestBody": body("CreateRequest"),
                "responses": {
                    "201": _json(_ref("SessionCreated"), "the new session and its first state"),
                    **_errors(400, 408, 413, 415, 429),
                },
            }
        },
        "/api/play/session/{session_id}": {
            "parameters": [_session_param()],
            "get": {
                "summary": "The session's current state",
                "operationId": "getSession",
                "responses": {"200": _json(_ref("SessionState"), "current state"), **_errors(*session_errors)},
            },
            "delete": {
                "summary": "End a session",
                "operationId": "deleteSession",
                "responses": {
                    "200": _json({"type": "object", "properties": {"deleted": {"type": "string"}}}, "deleted"),
                    **_errors(*session_errors),
                },
            },
        },
        "/api/play/session/{session_id}/reset": {
            "parameters": [_session_param()],
            "post": {
                "summary": "Start a new episode in the session",
                "operationId": "resetSession",
                "requestBody": body("ResetRequest"),
                "responses": {
                    "200": _json(_ref("ResetResult"), "the new episode's first state"),
                    **_errors(*session_errors, 408, 413, 415),
                },
            },
        },
        "/api/play/session/{session_id}/step": {
            "parameters": [_session_param()],
            "post": {
                "summary": "Take one action",
                "operationId": "step",
                "requestBody": body("StepRequest", True),
                "responses": {
                    "200": _json(_ref("StepResult"), "the step's outcome"),
                    **_errors(*session_errors, 408, 409, 413, 415),
                },
            },
        },
        "/api/health": {
            "get": {
                "summary": "Liveness and counters",
                "operationId": "health",
                "responses": {"200": _json(_ref("Health"), "ok")},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This description",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Asteroid Belt Prospector play service",
            "version": __version__,
            "description": "Ephemeral human-play sessions on the C core (docs/play-api.md). Every error is "
            '{"error": {"code", "message"}} with a 4xx status; see docs/play-api.md.',
        },
        "servers": [{"url": "http://127.0.0.1:8001"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def render() -> str:
    return json.dumps(build_openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
