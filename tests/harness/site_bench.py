"""Site benchmarks (a script, not a timed test):

1. a synthetic run with 1000 windows: full build, no-op rebuild, and the incremental
   rebuild after one new window (target < 1 s);
2. a 10,000-frame replay: JSON size, and in headless Chromium the time from navigation
   to the replay loaded, decoded and playing (target < 1 s on localhost);
3. rendering: requestAnimationFrame intervals and draw times while playing at 1x
   (8 frames/s) and at 60 frames/s (target: 60 fps held).

    .venv/bin/python -m tests.harness.site_bench [--windows 1000] [--frames 10000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from prospector.sitegen.build import Builder

from .synth import SyntheticRun


def _build(runs, out, **kw):
    t0 = time.perf_counter()
    report = Builder(runs, out, docs=False, **kw).build()
    return time.perf_counter() - t0, report


def bench_builds(work: Path, windows: int, frames: int) -> dict:
    runs = work / "runs_1000"
    out = work / "public_1000"
    t0 = time.perf_counter()
    run = SyntheticRun(runs, run_id="bench-1000", frames=frames, episodes=4)
    run.create(windows)
    make_s = time.perf_counter() - t0
    full_s, full = _build(runs, out, clean=True)
    noop_s, noop = _build(runs, out)
    incr = []
    for _ in range(5):
        run.append_window()
        s, rep = _build(runs, out)
        incr.append((s, len(rep.rendered)))
    return {
        "windows": windows,
        "frames_per_replay": frames,
        "make_run_s": round(make_s, 2),
        "full_build_s": round(full_s, 3),
        "full_rendered": len(full.rendered),
        "noop_rebuild_s": round(noop_s, 3),
        "incremental_s": [round(s, 3) for s, _ in incr],
        "incremental_rendered": [n for _, n in incr],
        "incremental_median_s": round(statistics.median(s for s, _ in incr), 3),
        "site_bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
    }


def bench_browser(work: Path, frames: int, seconds: float = 4.0) -> dict:
    from playwright.sync_api import sync_playwright
    from prospector.sitegen.serve import serve_in_thread

    from .testing import launch_chromium

    runs = work / "runs_long"
    out = work / "public_long"
    shutil.rmtree(runs, ignore_errors=True)
    # one replay of exactly `frames` frames (the bot's episodes chained until then)
    run = SyntheticRun(runs, run_id="bench-long", frames=frames, episodes=1, keep_going=True)
    run.create(1)
    _, report = _build(runs, out, clean=True)
    cat = json.loads((out / "data/runs/bench-long/replays.json").read_text())
    replay = out / cat["replays"][0]["url"]
    main = json.loads(replay.read_text())
    n_frames = main["n_frames"]
    size = sum((replay.parent / p).stat().st_size for p in main.get("parts", [])) + replay.stat().st_size
    server, base = serve_in_thread(out)
    results = {
        "frames": n_frames,
        "replay_json_bytes": size,
        "first_part_bytes": replay.stat().st_size,
        "parts": 1 + len(main.get("parts", [])),
    }
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            loads = []
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(base + "/")
                page.wait_for_function(
                    "() => window.__player && window.__player.stats.firstAdvanceAt !== undefined", timeout=30000
                )
                page.wait_for_function(
                    f"() => document.querySelector('#player').dataset.loaded === '{n_frames}'", timeout=30000
                )
                stats = page.evaluate(
                    "() => ({ready: window.__player.stats.readyAt, advance: window.__player.stats.firstAdvanceAt,"
                    " fetchDecode: window.__player.stats.loadedAt, fetched: window.__player.stats.fetchedAt,"
                    " allParts: performance.now(),"
                    " frames: window.__player.frames.length})"
                )
                loads.append(stats)
                page.close()
            results["load"] = loads
            results["ready_ms_median"] = round(statistics.median(s["ready"] for s in loads), 1)
            results["fetch_decode_ms_median"] = round(statistics.median(s["fetchDecode"] for s in loads), 1)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(base + "/")
            page.wait_for_function("() => window.__player && window.__player.stats.firstAdvanceAt !== undefined")
            for fps in (8, 60):
                page.evaluate(
                    f"() => {{ const p = window.__player; p.setSpeed({fps}); p.seek(0); p.play();"
                    " p.stats.intervals = []; p.stats.drawMs = []; }"
                )
                time.sleep(seconds)
                s = page.evaluate(
                    "() => ({i: window.__player.stats.intervals.slice(), d: window.__player.stats.drawMs.slice()})"
                )
                iv = sorted(s["i"])
                dm = sorted(s["d"])
                results[f"render_{fps}fps"] = {
                    "rafs": len(iv),
                    "fps": round(1000 / statistics.mean(iv), 1),
                    "interval_p95_ms": round(iv[int(0.95 * (len(iv) - 1))], 2),
                    "over_20ms": sum(x > 20 for x in iv),
                    "draw_ms_median": round(statistics.median(dm), 2),
                    "draw_ms_p95": round(dm[int(0.95 * (len(dm) - 1))], 2),
                    "draw_ms_max": round(dm[-1], 2),
                }
            browser.close()
    finally:
        server.shutdown()
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--frames-per-replay", type=int, default=120)
    ap.add_argument("--frames", type=int, default=10_000, help="frames of the long replay (default 10000)")
    ap.add_argument("--work", default=None, help="scratch directory (default: a temp dir, removed)")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-builds", action="store_true")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="sitebench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}"
        }
        if not args.skip_builds:
            result["builds"] = bench_builds(work, args.windows, args.frames_per_replay)
            print(json.dumps(result["builds"], indent=1), flush=True)
        if not args.skip_browser:
            result["browser"] = bench_browser(work, args.frames)
            print(json.dumps(result["browser"], indent=1), flush=True)
        print(json.dumps(result))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
