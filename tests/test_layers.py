"""The layers point one way, and the code is linted (docs/architecture.md).

import-linter reads a package from one folder, so the check runs on a copy laid out as
the wheel installs it: pipeline/ and sitegen/ inside prospector/. A contract broken by
an upward import fails here, and so does a new game module the contract does not list.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONTRACTS = PYPROJECT["tool"]["importlinter"]["contracts"]
SUBPACKAGES = {"pipeline": "pipeline", "sitegen": "sitegen", "play": "prospector/play"}


def installed_layout(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.stamp", "vendor", "static", "templates")
    shutil.copytree(ROOT / "prospector", dest / "prospector", ignore=ignore)
    for name in ("pipeline", "sitegen"):
        shutil.copytree(ROOT / name, dest / "prospector" / name, ignore=ignore)
    return dest


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "lint-imports"), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_hold(tmp_path):
    out = lint_imports(installed_layout(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 4 kept, 0 broken." in out.stdout, out.stdout


def test_the_run_store_may_not_import_torch_or_the_trainer(tmp_path):
    tree = installed_layout(tmp_path)
    layout = tree / "prospector" / "pipeline" / "store" / "layout.py"
    layout.write_text(layout.read_text() + "\nimport torch  # noqa\nfrom prospector.pipeline import trainer  # noqa\n")
    out = lint_imports(tree)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and "prospector.pipeline.store.layout -> torch" in out.stdout, out.stdout
    assert "prospector.pipeline.store.layout -> prospector.pipeline.trainer" in out.stdout, out.stdout


def test_the_store_contract_names_every_other_pipeline_module():
    store = next(c for c in CONTRACTS if c.get("source_modules") == ["prospector.pipeline.store"])
    others = {f"prospector.pipeline.{p.stem}" for p in (ROOT / "pipeline").glob("*.py") if p.stem != "__init__"}
    assert others <= set(store["forbidden_modules"]), "list new pipeline modules in the store's contract"


def test_the_site_contract_names_every_pipeline_module_but_the_store():
    site = next(c for c in CONTRACTS if c.get("source_modules") == ["prospector.sitegen"])
    others = {f"prospector.pipeline.{p.stem}" for p in (ROOT / "pipeline").glob("*.py") if p.stem != "__init__"}
    assert others <= set(site["forbidden_modules"]), "list new pipeline modules in the site's contract"
    assert {"torch", "wandb"} <= set(site["forbidden_modules"])


def test_the_site_may_not_import_the_checkpoint_reader_even_inside_a_function(tmp_path):
    tree = installed_layout(tmp_path)
    policies = tree / "prospector" / "sitegen" / "policies.py"
    policies.write_text(policies.read_text() + "\n\ndef _late():\n    from ..pipeline import checkpoint  # noqa\n")
    out = lint_imports(tree)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and "prospector.sitegen.policies -> prospector.pipeline.checkpoint" in out.stdout, (
        out.stdout
    )


def test_an_upward_import_breaks_the_contract(tmp_path):
    tree = installed_layout(tmp_path)
    spec = tree / "prospector" / "spec.py"
    spec.write_text(spec.read_text() + "\nfrom prospector.pipeline.store import layout as runs  # noqa\n")
    out = lint_imports(tree)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and "prospector.spec -> prospector.pipeline.store.layout" in out.stdout, out.stdout


def test_every_game_module_is_under_the_game_contract():
    game = next(c for c in CONTRACTS if c["type"] == "forbidden")
    on_disk = {
        f"prospector.{p.stem}" for p in (ROOT / "prospector").glob("*.py") if p.stem not in ("__init__", "__main__")
    }
    assert sorted(on_disk) == sorted(game["source_modules"]), "list new game modules in pyproject.toml"


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(args):
    out = subprocess.run([str(BIN / "ruff"), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def _anchors(page: Path) -> set[str]:
    """The heading ids mkdocs gives a page (its default slugify, or an explicit { #id })."""
    found = set()
    for line in page.read_text().splitlines():
        m = re.match(r"#{1,6} (.*?)\s*(?:\{ *#([\w-]+) *\})?\s*$", line)
        if m:
            found.add(m.group(2) or re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", m.group(1)).strip().lower()))
    return found


def test_references_in_the_code_resolve():
    """Comments cite pages a reader of this repo can open, never files outside it or issue numbers."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    code = [
        f
        for f in files
        if re.search(r"\.(py|js|h|c|css|html|toml|sh)$|(^|/)Makefile$", f)
        and (ROOT / f).is_file()
        and f != "tests/test_layers.py"
    ]
    bad = []
    for f in code:
        text = (ROOT / f).read_text(errors="replace")
        for m in re.finditer(r"\b(?:GAME|SYSTEM)\.md\b|\bissue \d+", text):
            bad.append(f"{f}: {m.group(0)!r} is not in this repo")
        for m in re.finditer(r"docs/([\w-]+\.md)(?:#([\w-]+))?", text):
            page = ROOT / "docs" / m.group(1)
            if not page.is_file():
                bad.append(f"{f}: {m.group(0)} does not exist")
            elif m.group(2) and m.group(2) not in _anchors(page):
                bad.append(f"{f}: {m.group(0)} names no heading of {m.group(1)}")
    assert not bad, "\n".join(bad)
