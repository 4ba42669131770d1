"""Screenshots of the site for the docs (docs/img/site-*.png), at a laptop's and a phone's size.

    .venv/bin/python -m tests.harness.screenshots --runs RUNS_DIR [--replay-run RUN] [--out docs/img]

Builds the site from RUNS_DIR into a temporary directory, starts a real
``prospector play-server`` for /play, serves the site on 127.0.0.1 and takes, in headless
Chromium at 1366x768 (``site-*.png``) and at 390x844 (``site-*-phone.png``): the home
page (latest replay playing), a replay with the truth overlay on, the strips under a
replay's timeline, the timelapse side by side, the analytics page, the runs list, /play
with the agent's hints on, and the embed page in an 800x600 frame.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

from .procs import PlayServer
from .testing import launch_chromium

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _pick_replay(site: Path, run: str) -> str:
    cat = json.loads((site / f"data/runs/{run}/replays.json").read_text())
    return [r for r in cat["replays"] if r["status"] == "ok"][-1]["replay_id"]


def _pages(base: str, run: str, replay: str, frame: int) -> list[tuple[str, str, str, str | None]]:
    """(name, url, selector to wait for, script to run before the shot)."""
    ready = '#player[data-state="ready"]'
    return [
        ("home", f"{base}/", ready, None),
        (
            "replay",
            f"{base}/replays/?run={run}&replay={replay}&frame={frame}",
            ready,
            "document.querySelector('.tg-truth').click();"
            "const bar = document.querySelector('.topbar');"
            "window.scrollTo(0, document.querySelector('#player').getBoundingClientRect().top + scrollY - 6"
            " - (getComputedStyle(bar).position === 'sticky' ? bar.offsetHeight : 0))",
        ),
        (
            "strips",
            f"{base}/replays/?run={run}&replay={replay}&frame={frame}",
            ready,
            "document.querySelector('#player .strips').scrollIntoView({block: 'center'})",
        ),
        ("timelapse", f"{base}/timelapse/?run={run}&mode=side&a=0&b=latest", "body[data-state='ready']", None),
        ("analytics", f"{base}/analytics/?run={run}", "body[data-charts-ready='1']", None),
        ("runs", f"{base}/runs/", "main", None),
        (
            "play",
            f"{base}/play/?seed=7",
            'body[data-page-ready="1"]',
            "document.querySelector('.tg-hints').click()",
        ),
    ]


def _embed_shot(browser, base: str, run: str, replay: str, path: Path) -> None:
    """The embed page inside an 800x600 iframe of a blank page, as a blog would show it."""
    ctx = browser.new_context(viewport={"width": 840, "height": 640})
    page = ctx.new_page()
    page.set_content(
        f'<body style="margin:20px;background:#fff"><iframe src="{base}/embed/?run={run}&replay={replay}&frame=40"'
        ' width="800" height="600" style="border:0"></iframe></body>'
    )
    page.frame_locator("iframe").locator('#player[data-state="ready"]').wait_for(timeout=30000)
    time.sleep(1.0)
    page.screenshot(path=str(path))
    ctx.close()


def take(runs: Path, out: Path, replay_run: str | None = None, frame: int = 30, names=None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    site = Path(tempfile.mkdtemp(prefix="site-shots-"))
    saved = []
    with PlayServer() as play:
        build_site(runs, site, docs=False, play_url=play.url)
        runs_doc = json.loads((site / "data/runs.json").read_text())
        run = replay_run or runs_doc["latest"]["run_id"]
        replay = _pick_replay(site, run)
        server, base = serve_in_thread(site)
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
                    ctx = browser.new_context(viewport=size, device_scale_factor=1)
                    page = ctx.new_page()
                    for name, url, ready, script in _pages(base, run, replay, frame):
                        if names and name not in names:
                            continue
                        page.goto(url)
                        page.wait_for_selector(ready, timeout=30000)
                        if script:
                            page.evaluate(script)
                        time.sleep(2.0 if name in ("home", "play") else 1.0)
                        saved.append(out / f"site-{name}{suffix}.png")
                        page.screenshot(path=str(saved[-1]))
                    ctx.close()
                if not names or "embed" in names:
                    saved.append(out / "site-embed.png")
                    _embed_shot(browser, base, run, replay, saved[-1])
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
    ap.add_argument("--only", nargs="*", default=None, help="page names (home replay strips ... embed)")
    args = ap.parse_args(argv)
    for path in take(Path(args.runs), Path(args.out), args.replay_run, args.frame, args.only):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
