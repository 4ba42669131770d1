"""What the home page transfers before its player draws the first frame, measured in Chromium.

    .venv/bin/python -m tests.harness.first_frame [--frames 11500] [--runs RUNS_DIR]

Builds a site (from RUNS_DIR, or from a synthetic run whose one replay has ``--frames``
frames), serves it with ``prospector site serve``'s handler on 127.0.0.1, opens the home
page in headless Chromium (1366x768, cache off) and counts bytes from the DevTools
network events (docs/site.md#progressive-loading):

* ``upper``: the whole responses (headers and body as sent, ``encodedDataLength``) of every
  request *started* before the first frame was drawn, also those that finished later;
* ``received``: the bytes that had arrived by the first frame (``dataReceived`` events);

and the time from navigation to the first frame, and to the player's ``ready``.
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

VIEWPORT = {"width": 1366, "height": 768}


class NetworkLog:
    """DevTools network events of one page: start times, sizes and arrivals per request."""

    def __init__(self, page, cdp):
        self.started: dict[str, tuple[float, str]] = {}
        self.finished: dict[str, int] = {}
        self.chunks: list[tuple[float, int]] = []
        self.offset: float | None = None  # wall clock minus DevTools' monotonic clock
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", lambda e: self.finished.__setitem__(e["requestId"], e["encodedDataLength"]))
        cdp.on("Network.dataReceived", lambda e: self.chunks.append((e["timestamp"], e["encodedDataLength"])))
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.page = page

    def _sent(self, e):
        self.started[e["requestId"]] = (e["timestamp"], e["request"]["url"])
        if self.offset is None:
            self.offset = e["wallTime"] - e["timestamp"]

    def before(self, wall_seconds: float, settle_s: float = 10.0) -> dict:
        """Figures for everything started before ``wall_seconds`` (waits for those requests to end)."""
        t = wall_seconds - self.offset
        ids = [rid for rid, (ts, _) in self.started.items() if ts <= t]
        deadline = time.monotonic() + settle_s
        while any(r not in self.finished for r in ids) and time.monotonic() < deadline:
            self.page.wait_for_timeout(100)
        return {
            "upper": sum(self.finished.get(r, 0) for r in ids),
            "received": sum(n for ts, n in self.chunks if ts <= t),
            "requests": len(ids),
            "urls": sorted(self.started[r][1] for r in ids),
        }


def measure_home(browser, base: str) -> dict:
    """First-frame figures of the site at ``base`` (see the module docstring)."""
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        net = NetworkLog(page, ctx.new_cdp_session(page))
        page.goto(base + "/")
        page.wait_for_selector('#player[data-drawn="1"]', timeout=60000)
        first_ms = page.evaluate("window.__player.stats.firstDrawAt")
        first_wall = page.evaluate("performance.timeOrigin / 1000") + first_ms / 1000
        figures = net.before(first_wall)
        page.wait_for_selector('#player[data-state="ready"]', timeout=60000)
        figures["first_frame_ms"] = round(first_ms)
        figures["ready_ms"] = round(page.evaluate("window.__player.stats.readyAt"))
        return figures
    finally:
        ctx.close()


def synthetic_runs(frames: int) -> Path:
    from .synth import SyntheticRun

    runs = Path(tempfile.mkdtemp(prefix="first-frame-runs-"))
    SyntheticRun(runs, run_id="20260101-000000-f1a57f0", frames=frames, keep_going=True, seed=2).create(1)
    return runs


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=None, help="runs directory (default: a synthetic run)")
    ap.add_argument("--frames", type=int, default=11500, help="frames of the synthetic replay")
    args = ap.parse_args(argv)
    runs = Path(args.runs) if args.runs else synthetic_runs(args.frames)
    site = Path(tempfile.mkdtemp(prefix="first-frame-site-"))
    build_site(runs, site, docs=False)
    replay = json.loads((site / "data/runs.json").read_text())["latest"]
    files = list((site / f"data/runs/{replay['run_id']}/replays").glob(f"{replay['replay_id']}*.json"))
    server, base = serve_in_thread(site)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            figures = measure_home(browser, base)
            browser.close()
    finally:
        server.shutdown()
    figures["replay_json_bytes"] = sum(f.stat().st_size for f in files)
    print(json.dumps({k: v for k, v in figures.items() if k != "urls"}, indent=1))
    for u in figures["urls"]:
        print("  ", u.replace(base, ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
