"""The documentation builds strictly and its interface tables match prospector/spec.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from prospector import spec as S

REPO = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "game" / "index.html").is_file()


def _game_page() -> str:
    return (REPO / "docs" / "game.md").read_text()


def test_every_action_is_documented_with_its_index():
    text = _game_page()
    for index, name in enumerate(S.ACTION_NAMES):
        assert re.search(rf"\|\s*{index}\s*\|\s*`{name}`", text), f"action {index} {name} missing from docs/game.md"


def test_every_config_field_is_documented_with_its_default():
    text = _game_page()
    for field in S.CONFIG_FIELDS:
        row = re.search(rf"\|\s*`{field.name}`\s*\|\s*([^|]+)\|", text)
        assert row, f"config field {field.name} missing from docs/game.md"
        assert float(row.group(1).strip().replace(",", "").replace("`", "")) == field.default, field.name


def test_every_observation_index_is_documented():
    text = _game_page()
    for index in range(S.OBS_DIM):
        assert re.search(rf"\|\s*{index}\s*\|", text), f"observation index {index} missing from docs/game.md"
