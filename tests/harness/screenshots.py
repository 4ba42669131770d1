"""Screenshots of the site for the docs (docs/img/site-*.png).

    .venv/bin/python -m tests.harness.screenshots --runs RUNS_DIR [--replay-run RUN] [--out docs/img]

Builds the site from RUNS_DIR into a temporary directory, serves it on 127.0.0.1 and
takes the home page (latest replay playing), a replay with the truth overlay on, and
the analytics page, in headless Chromium.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

from .testing import launch_chromium


def take(runs: Path, out: Path, replay_run: str | None = None, frame: int = 30) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    site = Path(tempfile.mkdtemp(prefix="site-shots-"))
    build_site(runs, site, docs=False)
    runs_doc = json.loads((site / "data/runs.json").read_text())
    replay_run = replay_run or runs_doc["latest"]["run_id"]
    cat = json.loads((site / f"data/runs/{replay_run}/replays.json").read_text())
    replay = [r for r in cat["replays"] if r["status"] == "ok"][-1]["replay_id"]
    server, base = serve_in_thread(site)
    saved = []
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            page.goto(base + "/")
            page.wait_for_selector('#player[data-state="ready"]')
            time.sleep(2.5)
            saved.append(out / "site-home.png")
            page.screenshot(path=str(saved[-1]))
            page.goto(f"{base}/replays/?run={replay_run}&replay={replay}&frame={frame}")
            page.wait_for_selector('#player[data-state="ready"]')
            page.locator(".tg-truth").check()
            page.evaluate("window.scrollTo(0, document.querySelector('#player').offsetTop - 64)")
            time.sleep(1.0)
            saved.append(out / "site-replay.png")
            page.screenshot(path=str(saved[-1]))
            page.goto(f"{base}/analytics/?run={replay_run}")
            page.wait_for_selector("body[data-charts-ready='1']")
            time.sleep(0.5)
            saved.append(out / "site-analytics.png")
            page.screenshot(path=str(saved[-1]))
            browser.close()
    finally:
        server.shutdown()
    return saved


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--replay-run", default=None, help="run whose latest replay and charts are shown")
    ap.add_argument("--frame", type=int, default=30)
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args(argv)
    for path in take(Path(args.runs), Path(args.out), args.replay_run, args.frame):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
