"""One source for the interface: the site's JavaScript reads action names, ids, groups and
hotkeys from the generated static/spec.js (prospector/controls.py ``page_spec``), and the
Python code uses spec's named constants (docs/architecture.md#one-source)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prospector import spec as S
from prospector.controls import page_spec

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "sitegen" / "static"

# {a: 42, text: 'dock'}, {action: 6, what: 'hold'}, const CASH_OUT = 68: how the page's own copy looked.
LITERAL_ACTION_ID = re.compile(
    r"\b(?:action|a)\s*:\s*\d+\s*,\s*(?:text|what|label)\b|\b(?:CASH_OUT|A_[A-Z_]+)\s*=\s*\d+"
)


def js_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(STATIC.glob("*.js"))}


def test_no_action_name_or_id_is_written_in_the_javascript():
    names = {n for n in S.ACTION_NAMES}
    offenders = []
    for name, text in js_sources().items():
        for m in re.finditer(r"""['"`]([A-Z][A-Z0-9_]+)['"`]""", text):
            if m.group(1) in names:
                offenders.append(f"{name}: action name {m.group(0)}")
        for m in LITERAL_ACTION_ID.finditer(text):
            offenders.append(f"{name}: literal action id {m.group(0)!r}")
    assert not offenders, "\n".join(offenders)


def test_the_scan_catches_a_copy():
    sneaky = "const CASH_OUT = 68;\nconst x = { a: 42, text: 'dock' }; const n = 'WIDE_SCAN'; const s = [1, 2, 4];"
    assert len(LITERAL_ACTION_ID.findall(sneaky)) == 2 and "WIDE_SCAN" in sneaky


def test_page_spec_is_the_spec():
    doc = json.loads(json.dumps(page_spec()))
    assert doc["action_names"] == list(S.ACTION_NAMES)
    assert [(g["id"], [i["a"] for i in g["items"]]) for g in doc["groups"]] == [
        (family, list(actions)) for family, actions in S.ACTION_GROUPS
    ]
    grouped = sorted(a for _, actions in S.ACTION_GROUPS for a in actions)
    assert grouped == list(range(S.N_ACTIONS)), "every action has exactly one button"
    keys = [(h["key"] or h["code"], h["shift"]) for h in doc["hotkeys"]]
    assert len(keys) == len(set(keys)), "a hotkey is bound twice"
    assert doc["obs"]["asteroids"] == [S.OBS_ASTEROIDS.start, S.OBS_ASTEROIDS.stop]


def test_the_built_site_serves_the_generated_spec(tmp_path):
    from prospector.sitegen.build import Builder

    (tmp_path / "runs").mkdir()
    Builder(tmp_path / "runs", tmp_path / "public", docs=False).build()
    text = (tmp_path / "public" / "static" / "spec.js").read_text()
    assert text.startswith("export const SPEC = ")
    doc = json.loads(text[len("export const SPEC = ") :].rstrip().rstrip(";"))
    assert doc == json.loads(json.dumps(page_spec()))
