"""Malformed policy headers, for the Python reader (tests/test_policy_headers.py) and
policy.js (tests/test_policy_headers_browser.py): the same cases for both.

:func:`malformed_headers` gives headers that are wrong in one targeted way each (a
missing or mistyped field, a layer that does not fit, a mask rule that is not a rule, a
rule nested past any stack): every reader must refuse each with its policy error.
:func:`mutated_headers` gives seeded random mutations of a good header (a value replaced
with junk, a key dropped, a list grown): a reader refuses them with its policy error or,
where the change is harmless, loads the policy and runs it.

Each case is ``(name, raw)`` with ``raw`` the header as JSON text, so that nesting deeper
than ``json.dumps`` can write is expressible.
"""

from __future__ import annotations

import copy
import json
import random

#: Values that are wrong for every field below (no field takes null, a bool, a
#: non-whole number, a string of junk, an empty list or object there).
JUNK = [None, True, False, 1.5, -1, 10**12, "x", "", [], {}, [[1]], {"a": 1}]
#: Top-level fields a reader needs, and the values among JUNK that are right for them.
FIELDS = {
    "format": (),
    "version": (),
    "supported": (True,),
    "obs_dim": (),
    "n_actions": (),
    "floats": (),
    "bytes": (),
    "dtype": (),
    "byte_order": (),
    "masked_logit": (1.5, -1, 10**12),  # any number will do
    "layers": (),
}
LAYER_FIELDS = ("in", "out", "weight_offset", "bias_offset")

BAD_RULES = [
    [],
    "gt",
    None,
    5,
    {"op": "gt"},
    [1, 2],
    ["gt"],
    ["gt", 0],
    ["gt", 0, 0.5, 1],
    ["gt", -1, 0.5],
    ["gt", 260, 0.5],
    ["gt", 10**12, 0.5],
    ["gt", "1", 0.5],
    ["gt", True, 0.5],
    ["gt", 1.5, 0.5],
    ["gt", 0, "x"],
    ["gt", 0, None],
    ["lt", 0, True],
    ["lt", 0, []],
    ["not"],
    ["not", 1],
    ["not", ["gt", 0, 0.5], ["gt", 0, 0.5]],
    ["and", 5],
    ["or", "x"],
    ["and", ["gt", 0, 0.5], ["xor"]],
    ["xor", ["gt", 0, 0.5]],
]


def _dump(header) -> str:
    return json.dumps(header, separators=(",", ":"))


def _with_rule(header: dict, action: int, rule_json: str) -> str:
    """The header as JSON with action ``action``'s rule replaced by raw JSON text."""
    marker = "__RULE_MARKER__"
    rules = list(header["action_mask"])
    rules[action] = marker
    return _dump({**header, "action_mask": rules}).replace(json.dumps(marker), rule_json)


def malformed_headers(header: dict) -> list[tuple[str, str]]:
    """Headers each wrong in one way (``header``: a good, masked MLP header)."""
    cases = [(f"header is {_dump(v)}", _dump(v)) for v in (None, [], "x", 1, True, [header])]
    for key, right in FIELDS.items():
        cases.append((f"no {key}", _dump({k: v for k, v in header.items() if k != key})))
        cases += [(f"{key}={_dump(v)}", _dump({**header, key: v})) for v in JUNK if not _same(v, right)]
    for k in range(len(header["layers"])):
        for key in LAYER_FIELDS:
            bad = [v for v in JUNK if not _same(v, (header["layers"][k][key],))]
            cases += [(f"layers[{k}].{key}={_dump(v)}", _dump(_set_layer(header, k, key, v))) for v in bad]
        cases.append((f"layers[{k}] has no in", _dump(_set_layer(header, k, "in", None, drop=True))))
        cases.append((f"layers[{k}].activation=relu", _dump(_set_layer(header, k, "activation", "relu"))))
        cases += [(f"layers[{k}] is {_dump(v)}", _dump(_set_layer_value(header, k, v))) for v in JUNK]
    cases.append(("18 layers", _dump({**header, "layers": header["layers"] * 6})))
    cases += [(f"action_mask={_dump(v)}", _dump({**header, "action_mask": v})) for v in JUNK if v is not None]
    cases.append(("one rule too few", _dump({**header, "action_mask": header["action_mask"][:-1]})))
    cases += [(f"rule {_dump(rule)}", _with_rule(header, 3, _dump(rule))) for rule in BAD_RULES]
    for depth in (65, 5000, 200_000):  # past the depth limit, past Python's and the page's stacks
        deep = '["not",' * depth + '["gt",0,0.5]' + "]" * depth
        cases.append((f"rule nested {depth} deep", _with_rule(header, 3, deep)))
    wide = '["and"' + ',["gt",0,0.5]' * 100_001 + "]"  # more terms than a header may hold
    cases.append(("rule with 100001 terms", _with_rule(header, 3, wide)))
    cases.append(("header nested 200000 deep", "[" * 200_000 + "]" * 200_000))
    return cases


def _same(value, right: tuple) -> bool:
    """Whether ``value`` is one of ``right`` as JSON sees it (1 and True differ there)."""
    return any(_dump(value) == _dump(r) for r in right)


def _set_layer(header: dict, k: int, key: str, value, drop: bool = False) -> dict:
    out = copy.deepcopy(header)
    if drop:
        del out["layers"][k][key]
    else:
        out["layers"][k][key] = value
    return out


def _set_layer_value(header: dict, k: int, value) -> dict:
    out = copy.deepcopy(header)
    out["layers"][k] = value
    return out


# ------------------------------------------------------------------ random mutations


def _junk(rng: random.Random, depth: int = 0):
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return rng.choice(JUNK)
    if choice == 1:
        return rng.choice([0, 1, 2, -(2**31), 2**53, 259, 260, 69, 70, 127, 128])
    if choice == 2:
        return rng.choice([0.0, -0.0, 1e308, -1e308, 1e-308, 0.5])
    if choice == 3:
        return rng.choice(["gt", "lt", "and", "or", "not", "gelu", "float32", "little", "prospector-policy"])
    if choice == 4:
        return None
    if choice == 5:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 6:
        return {rng.choice(["in", "out", "x", "name"]): _junk(rng, depth + 1) for _ in range(rng.randrange(3))}
    return ["not", _junk(rng, depth + 1)]


def _containers(value, path=()):
    """Every (path, container) in a JSON value, the value itself first."""
    if isinstance(value, (dict, list)):
        yield path, value
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _containers(item, (*path, key))


def mutated_headers(header: dict, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` seeded random one-place mutations of ``header``."""
    rng = random.Random(seed)
    cases = []
    # the header, its layer list, each layer, the mask list, inside the rules: each group
    # as likely as the others (the 69 rules hold most of the containers)
    places = list(_containers(header))
    groups = [[p for p in places if len(p[0]) == 0], [p for p in places if p[0][:1] == ("layers",)]]
    groups += [
        [p for p in places if p[0] == ("action_mask",)],
        [p for p in places if len(p[0]) > 1 and p[0][0] == "action_mask"],
    ]
    for i in range(n):
        out = copy.deepcopy(header)
        path, _ = rng.choice(rng.choice(groups))
        target = out
        for key in path:
            target = target[key]
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = rng.randrange(3) if keys else 2
        if action == 0:
            key = rng.choice(keys)
            target[key] = _junk(rng)
            what = f"{'/'.join(map(str, path))}/{key} = {_dump(target[key])[:40]}"
        elif action == 1:
            key = rng.choice(keys)
            del target[key]
            what = f"{'/'.join(map(str, path))}/{key} removed"
        elif isinstance(target, list):
            target.append(_junk(rng))
            what = f"{'/'.join(map(str, path))} grown"
        else:
            target[rng.choice(["extra", "in", "layers", "x"])] = _junk(rng)
            what = f"{'/'.join(map(str, path))} gets a key"
        cases.append((f"mutation {i}: {what}", _dump(out)))
    return cases
