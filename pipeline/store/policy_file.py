"""The policy file format: a window's policy as static files the browser can run, a JSON
header and float32 weights (docs/site.md#the-agent-in-the-browser)::

    w{window:06d}.v1.json    the header: version, layer sizes, activation, the action-mask rule
    w{window:06d}.v1.bin     the weights, little-endian float32, layer by layer (W then b)

The exporter (pipeline/policy_export.py, which reads a checkpoint with torch) writes it;
the site generator, the tests and the page's reader (static/policy.js) read it. Here is
everything that needs no torch: the names, the header's checks, the action-mask rule and
a numpy forward pass, so that a ``site``-only install reads policy files too.

Only what the action probabilities need is in the files: the MLP's encoder and its policy
head (not the value head, not the optimiser). ``nn.Linear`` weights stay row-major
``[out][in]``. The observation is fed as it is (no normalisation: the env already scales
every feature, docs/envs.md), the hidden activation is the exact GELU (erf form, torch's
``nn.GELU()`` default), and the masked actions get the logit ``MASKED_LOGIT`` before the
softmax, exactly as ``ProspectorMLP.decode_actions`` does in training.

The action mask is written as data, not code, so the page has no copy of the game's
rules: per action, one boolean expression over observation entries::

    ["gt", i, v]  obs[i] > v        ["lt", i, v]  obs[i] < v
    ["and", e...] all (true when empty)   ["or", e...] any (false when empty)   ["not", e]

:func:`mask_rule` builds it from the spec's named observation slices; the tests check
that it equals ``pipeline.policy.obs_action_mask`` on real and random observations.

A checkpoint the page cannot run (the LSTM policy: its state would have to be carried
through the episode) gets a header with ``"supported": false`` and the reason, and no
weights file. :func:`load_exported` reads the files back into a numpy forward pass (the
round-trip test compares it with the torch checkpoint).
"""

from __future__ import annotations

import json
import math
import reprlib

import numpy as np

from prospector import spec as S
from prospector.masks import purchase_credit_thresholds

FORMAT = "prospector-policy"
VERSION = 1
MASKED_LOGIT = -1e4  # pipeline.policy.MASKED_LOGIT (checked by the tests)


class PolicyFileError(ValueError):
    """An exported policy that cannot be read (missing, truncated, wrong shape, unknown version)."""


def file_names(window_id: int) -> tuple[str, str]:
    """(header, weights) file names of a window's export; the version is in the name, so
    a new format never reuses a URL that browsers cache as immutable."""
    return f"w{window_id:06d}.v{VERSION}.json", f"w{window_id:06d}.v{VERSION}.bin"


# ------------------------------------------------------------------ the mask rule


def _gt(i: int, v: float) -> list:
    return ["gt", int(i), float(v)]


def _lt(i: int, v: float) -> list:
    return ["lt", int(i), float(v)]


def _all(*terms) -> list:
    return ["and", *terms]


def _any(*terms) -> list:
    return ["or", *terms]


def _not(term) -> list:
    return ["not", term]


def mask_rule(env_config=None) -> list[list]:
    """Per action, when the observation leaves it possible (see pipeline/policy.py's
    ``obs_action_mask``, whose meaning this mirrors with the spec's names), for the item
    prices of ``env_config``, the config the policy played (None: the defaults)."""

    def on(i):  # a flag that is set
        return _gt(i, 0.5)

    neighbor = [on(S.NEIGHBOR_BASE + k * S.NEIGHBOR_STRIDE + S.N_VALID) for k in range(S.MAX_NEIGHBORS)]
    rock = [on(S.ASTEROID_BASE + a * S.ASTEROID_STRIDE + S.A_VALID) for a in range(S.MAX_ASTEROIDS)]
    selected = _any(
        *[_all(on(S.ASTEROID_BASE + a * S.ASTEROID_STRIDE + S.A_SELECTED), rock[a]) for a in range(S.MAX_ASTEROIDS)]
    )
    docked, mining, at_station = on(S.O_DOCKED), on(S.O_MINING), on(S.O_NODE_TYPE + S.STATION)
    stack = [_gt(S.O_CARGO_C + c, 0) for c in range(S.N_COMMODITIES)]
    kits, stabilizers = _gt(S.O_KITS, 0), _gt(S.O_STABILIZERS, 0)
    below_cap = [_lt(i, 1) for i in (S.O_KITS, S.O_STABILIZERS, S.O_DECOYS)]
    affordable = [_gt(S.O_CREDITS, t) for t in purchase_credit_thresholds(env_config)]  # float32 values
    worn = _any(_lt(S.O_HULL, 1), _lt(S.O_TOOL, 1))
    always, never = _all(), _any()

    rule: list = [None] * S.N_ACTIONS
    for k in range(S.MAX_NEIGHBORS):
        rule[S.A_TRAVEL + k] = neighbor[k]
    rule[S.A_HOLD] = always
    rule[S.A_BURN] = _gt(S.O_FUEL, 0)
    rule[S.A_WIDE_SCAN] = _any(*rock)
    rule[S.A_FOCUSED_SCAN] = rule[S.A_DEEP_SCAN] = selected
    rule[S.A_LISTEN] = _not(docked)
    for a in range(S.MAX_ASTEROIDS):
        rule[S.A_SELECT + a] = rock[a]
    for m in range(len(S.MINE_MODES)):
        rule[S.A_MINE + m] = _all(mining, _lt(S.O_CARGO, 1))
    rule[S.A_STABILIZE] = _all(selected, stabilizers)
    rule[S.A_REFINE] = _gt(S.O_CARGO, 0)  # raw or refined: the observation cannot tell
    rule[S.A_COOLDOWN] = always
    rule[S.A_TOOL_MAINT] = rule[S.A_HULL_PATCH] = kits
    for c in range(S.N_COMMODITIES):
        rule[S.A_JETTISON + c] = stack[c]
    rule[S.A_DOCK] = _all(at_station, _not(docked))
    for c in range(S.N_COMMODITIES):
        for f in range(len(S.SELL_FRACTIONS)):
            rule[S.A_SELL + 3 * c + f] = _all(stack[c], docked)
    for f in range(len(S.FUEL_SIZES)):
        rule[S.A_BUY_FUEL + f] = _all(docked, _lt(S.O_FUEL, 1))  # credits: the cost depends on the fuel too
    for j, a in enumerate((S.A_BUY_KIT, S.A_BUY_STABILIZER, S.A_BUY_DECOY)):
        rule[a] = _all(below_cap[j], docked, affordable[j])
    rule[S.A_OVERHAUL] = _all(docked, worn)
    rule[S.A_CASH_OUT] = never  # a masked policy never cashes out
    assert all(r is not None for r in rule)
    return rule


def eval_rule(expr, obs: np.ndarray) -> np.ndarray:
    """bool [N]: one rule expression over float32 observations [N, 260]."""
    op = expr[0]
    if op in ("gt", "lt"):
        with np.errstate(over="ignore"):  # a threshold past float32's range is +-inf: same comparison
            value = np.float32(expr[2])
        return obs[:, expr[1]] > value if op == "gt" else obs[:, expr[1]] < value
    if op == "not":
        return ~eval_rule(expr[1], obs)
    if op in ("and", "or"):
        out = np.full(obs.shape[0], op == "and")
        for term in expr[1:]:
            out = (out & eval_rule(term, obs)) if op == "and" else (out | eval_rule(term, obs))
        return out
    raise PolicyFileError(f"unknown mask operator {op!r}")


def eval_mask(rule: list, obs: np.ndarray) -> np.ndarray:
    """bool [N, 69]: the mask rule over observations [N, 260]."""
    obs = np.asarray(obs, dtype=np.float32).reshape(-1, S.OBS_DIM)
    return np.stack([eval_rule(r, obs) for r in rule], axis=1)


def header_bytes(header: dict) -> bytes:
    return json.dumps(header, separators=(",", ":"), allow_nan=False).encode()


# ------------------------------------------------------------------ reading it back (numpy)


class ExportedPolicy:
    """The exported forward pass in numpy (float64 arithmetic on the float32 weights)."""

    def __init__(self, header: dict, layers: list[tuple[np.ndarray, np.ndarray, str | None]]):
        self.header = header
        self.layers = layers
        self.rule = header.get("action_mask")

    def logits(self, obs) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32).reshape(-1, self.header["obs_dim"]).astype(np.float64)
        h = x
        for w, b, activation in self.layers:
            h = h @ w.T + b
            if activation == "gelu":
                h = 0.5 * h * (1.0 + _ERF(h / math.sqrt(2.0)))
        if self.rule is not None:
            h = np.where(eval_mask(self.rule, x.astype(np.float32)), h, self.header["masked_logit"])
        return h

    def probs(self, obs) -> np.ndarray:
        z = self.logits(obs)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def load_exported(header_data: bytes, weights: bytes | None) -> ExportedPolicy:
    """The policy in a header and weights file; :class:`PolicyFileError` says what is wrong."""
    try:
        header = json.loads(header_data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise PolicyFileError(f"the policy header is not JSON: {str(exc)[:120]}") from None
    check_header(header)
    if weights is None:
        raise PolicyFileError("the policy weights file is missing")
    if len(weights) != header["bytes"] or len(weights) != 4 * header["floats"]:
        raise PolicyFileError(f"the policy weights are {len(weights)} bytes, the header says {header['bytes']}")
    flat = np.frombuffer(weights, dtype="<f4")
    layers = []
    for spec in header["layers"]:
        n_in, n_out, w_at, b_at = spec["in"], spec["out"], spec["weight_offset"], spec["bias_offset"]
        w = flat[w_at:b_at].reshape(n_out, n_in).astype(np.float64)
        layers.append((w, flat[b_at : b_at + n_out].astype(np.float64), spec["activation"]))
    return ExportedPolicy(header, layers)


# ------------------------------------------------------------------ checking a header

#: Bounds of a header's sizes: far above any policy this project trains, low enough that a
#: crafted header cannot make a reader allocate without bound (policy.js has the same).
MAX_DIM = 1 << 16
MAX_FLOATS = 1 << 28
MAX_LAYERS = 16
MAX_RULE_DEPTH = 64
MAX_RULE_NODES = 100_000


def _show(value) -> str:
    """A short, safe picture of a header value (reprlib stops at any depth)."""
    return reprlib.repr(value)[:60]


def _whole(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def check_header(header) -> dict:
    """``header`` when it is a complete v1 header whose sizes, offsets and mask rule are
    consistent; else the first thing wrong as a :class:`PolicyFileError`. Every value the
    reader uses is checked here, so that reading the weights and evaluating the mask
    cannot fail afterwards (tests/test_policy_headers.py feeds it malformed headers)."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise PolicyFileError("not a prospector policy header")
    if type(header.get("version")) is not int or header["version"] != VERSION:
        raise PolicyFileError(
            f"policy format version {_show(header.get('version'))} is not supported (this reader: {VERSION})"
        )
    if header.get("supported") is not True:
        reason = header.get("reason") if isinstance(header.get("reason"), str) else "no reason given"
        raise PolicyFileError(f"this policy cannot run outside the trainer: {reason[:200]}")
    for key, high in (("obs_dim", MAX_DIM), ("n_actions", MAX_DIM), ("floats", MAX_FLOATS), ("bytes", 4 * MAX_FLOATS)):
        if not _whole(header.get(key), 1, high):
            raise PolicyFileError(
                f"the policy header's {key} is {_show(header.get(key))}, not a whole number in 1..{high}"
            )
    if header["bytes"] != 4 * header["floats"]:
        raise PolicyFileError(f"the policy header says {header['bytes']} bytes for {header['floats']} floats")
    if header.get("dtype") != "float32" or header.get("byte_order") != "little":
        raise PolicyFileError("the policy header does not say its weights are little-endian float32")
    logit = header.get("masked_logit")
    if type(logit) not in (int, float) or not math.isfinite(logit):
        raise PolicyFileError(f"the policy header's masked_logit is {_show(logit)}, not a number")
    layers = header.get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise PolicyFileError(f"the policy header's layers are not a list of 1..{MAX_LAYERS} layers")
    width = header["obs_dim"]
    for k, spec in enumerate(layers):
        width = _check_layer(spec, k, width, header["floats"])
    if width != header["n_actions"]:
        raise PolicyFileError(f"the policy gives {width} outputs, not {header['n_actions']} action logits")
    rule = header.get("action_mask")
    if rule is not None:
        if not isinstance(rule, list) or len(rule) != header["n_actions"]:
            raise PolicyFileError("the action-mask rule does not cover every action")
        _check_rules(rule, header["obs_dim"])
    return header


def _check_layer(spec, k: int, width: int, floats: int) -> int:
    """The output width of one layer entry after checking it fits the one before and the weights."""
    if not isinstance(spec, dict):
        raise PolicyFileError(f"layer {k} of the policy header is not an object")
    name = spec.get("name") if isinstance(spec.get("name"), str) else str(k)
    for key, low, high in (
        ("in", 1, MAX_DIM),
        ("out", 1, MAX_DIM),
        ("weight_offset", 0, floats),
        ("bias_offset", 0, floats),
    ):
        if not _whole(spec.get(key), low, high):
            raise PolicyFileError(
                f"layer {name[:40]}: {key} is {_show(spec.get(key))}, not a whole number in {low}..{high}"
            )
    n_in, n_out = spec["in"], spec["out"]
    if n_in != width:
        raise PolicyFileError(f"layer {name[:40]} takes {n_in} inputs, the layer before gives {width}")
    if spec["bias_offset"] != spec["weight_offset"] + n_in * n_out or spec["bias_offset"] + n_out > floats:
        raise PolicyFileError(f"layer {name[:40]} does not fit the weights file")
    if "activation" not in spec or spec["activation"] not in (None, "gelu"):  # null (none) must be said
        raise PolicyFileError(f"layer {name[:40]} has an unknown activation {_show(spec.get('activation'))}")
    return n_out


def _check_rules(rules: list, obs_dim: int) -> None:
    """Every action's mask expression well formed (see the module docstring), without
    recursion, at most MAX_RULE_DEPTH deep and MAX_RULE_NODES terms in all."""
    nodes = 0
    for action, rule in enumerate(rules):
        stack = [(rule, 0)]
        while stack:
            expr, depth = stack.pop()
            nodes += 1
            if nodes > MAX_RULE_NODES or depth > MAX_RULE_DEPTH:
                raise PolicyFileError(f"the action-mask rule of action {action} is too large or too deep")
            if not isinstance(expr, list) or not expr or not isinstance(expr[0], str):
                raise PolicyFileError(f"bad action-mask rule at action {action}: {_show(expr)}")
            op = expr[0]
            if op in ("gt", "lt"):
                v = expr[2] if len(expr) == 3 else None
                if len(expr) != 3 or not _whole(expr[1], 0, obs_dim - 1) or type(v) not in (int, float):
                    raise PolicyFileError(f"bad action-mask term at action {action}: {_show(expr)}")
            elif op == "not" and len(expr) == 2:
                stack.append((expr[1], depth + 1))
            elif op in ("and", "or"):
                stack.extend((term, depth + 1) for term in expr[1:])
            else:
                raise PolicyFileError(f"bad action-mask operator at action {action}: {_show(expr)}")
