"""``prospector deploy [--prod] [--dry-run]``: put public/ on Vercel with the Vercel CLI.

The CLI is the npm package ``vercel`` pinned in package.json (``npm ci`` installs it
into node_modules/). The token comes from ``VERCEL_TOKEN`` in the environment, which
the CLI reads itself, so it never appears on a command line. ``VERCEL_ORG_ID`` and
``VERCEL_PROJECT_ID`` (optional) pick the project without ``vercel link``.

``--dry-run`` validates the built site and prints the exact command it would run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

from .build import ROOT

VERCEL_BIN = ROOT / "node_modules" / ".bin" / "vercel"


class DeployError(Exception):
    pass


def validate_site(out: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(errors, warnings) about a built site directory."""
    out = Path(out)
    errors: list[str] = []
    warnings: list[str] = []
    if not out.is_dir():
        return [f"{out} does not exist: run `prospector site build` first"], []
    for rel in (
        "index.html",
        "404.html",
        "replays/index.html",
        "analytics/index.html",
        "runs/index.html",
        "static/player.js",
        "static/render.js",
        "static/site.css",
        "assets/manifest.json",
        "vercel.json",
    ):
        if not (out / rel).is_file():
            errors.append(f"{rel} is missing")
    try:
        cfg = json.loads((out / "vercel.json").read_text())
        if not isinstance(cfg, dict) or "headers" not in cfg:
            errors.append("vercel.json has no headers section")
    except (OSError, ValueError) as exc:
        if (out / "vercel.json").is_file():
            errors.append(f"vercel.json is not valid JSON: {exc}")
    try:
        runs = json.loads((out / "data" / "runs.json").read_text())
    except (OSError, ValueError) as exc:
        errors.append(f"data/runs.json is missing or invalid: {exc}")
        runs = {"runs": []}
    for run in runs.get("runs", []):
        for key in ("windows_url", "replays_url"):
            if not (out / run[key]).is_file():
                errors.append(f"{run[key]} is missing")
        try:
            cat = json.loads((out / run["replays_url"]).read_text())
        except (OSError, ValueError):
            continue
        for entry in cat.get("replays", []):
            if entry.get("status") == "ok" and not (out / entry["url"]).is_file():
                errors.append(f"{entry['url']} is missing")
    if not (out / "vendor" / "uPlot.esm.js").is_file():
        warnings.append("vendor/uPlot.esm.js is missing: the analytics page cannot draw charts (npm ci, then build)")
    if not (out / "docs" / "index.html").is_file():
        warnings.append("docs/index.html is missing: /docs/ will be a 404 (mkdocs build)")
    try:
        manifest = json.loads((out / "assets" / "manifest.json").read_text())
        if not manifest.get("packs"):
            warnings.append("no Kenney art in assets/: the player will draw simple shapes")
    except (OSError, ValueError):
        pass
    big = [p for p in out.rglob("*") if p.is_file() and p.stat().st_size > 100 * 1024 * 1024]
    for p in big:
        errors.append(f"{p.relative_to(out)} is larger than 100 MB")
    return errors, warnings


def vercel_command(out: str | os.PathLike, prod: bool = False) -> list[str]:
    cmd = [str(VERCEL_BIN), "deploy", str(Path(out)), "--yes"]
    if prod:
        cmd.append("--prod")
    return cmd


def deploy(out="public", *, prod: bool = False, dry_run: bool = False, env: dict | None = None, echo=print) -> int:
    env = dict(os.environ if env is None else env)
    errors, warnings = validate_site(out)
    for w in warnings:
        echo(f"warning: {w}")
    if errors:
        raise DeployError("the site is not ready to deploy:\n  " + "\n  ".join(errors))
    cmd = vercel_command(out, prod)
    token = env.get("VERCEL_TOKEN", "").strip()
    shown = "VERCEL_TOKEN=*** " + " ".join(shlex.quote(c) for c in cmd)
    if dry_run:
        echo(f"site {out}: valid ({'production' if prod else 'preview'} deploy)")
        echo(f"would run: {shown}")
        if not VERCEL_BIN.exists():
            echo("note: the Vercel CLI is not installed yet: `npm ci` installs the version pinned in package.json")
        if not token:
            raise DeployError(
                "VERCEL_TOKEN is not set: a real deploy would fail "
                "(create a token at https://vercel.com/account/tokens and export VERCEL_TOKEN)"
            )
        return 0
    if not token:
        raise DeployError(
            "VERCEL_TOKEN is not set: create a token at https://vercel.com/account/tokens "
            "and export VERCEL_TOKEN=... (the Vercel CLI reads it from the environment)"
        )
    if not VERCEL_BIN.exists():
        raise DeployError(f"the Vercel CLI is not installed ({VERCEL_BIN}): run `npm ci` in {ROOT}")
    echo(f"running: {shown}")
    proc = subprocess.run(cmd, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise DeployError(f"vercel exited with status {proc.returncode}")
    return 0
