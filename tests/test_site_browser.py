"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Home plays the latest replay with no console errors; scrubbing, event markers, keys and
the truth toggle work; bad URLs give a clear message; analytics draws one point per
window (and overlays a second run); /docs/ loads. Screenshots of the home, replay and
analytics pages are saved under pytest's tmp dir (or $SITE_SCREENSHOTS_DIR).
"""

from __future__ import annotations

import json
import time

import pytest
from harness.synth import SyntheticRun
from harness.testing import BrowserPage, require_chromium, train_tiny_run
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

require_chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site built from a real tiny training run (the latest run) and a synthetic run, with docs."""
    root = tmp_path_factory.mktemp("browser")
    runs = root / "runs"
    synthetic = SyntheticRun(runs, run_id="20260101-000000-5e5e5e5", frames=300, seed=0)
    synthetic.create(8)
    real = train_tiny_run(runs, windows=3)
    out = root / "public"
    report = build_site(runs, out, docs=True)
    assert not report.problems, [str(p) for p in report.problems]
    server, base = serve_in_thread(out)
    yield {"out": out, "base": base, "real": real.name, "synthetic": synthetic.run_id, "report": report}
    server.shutdown()


class Page(BrowserPage):
    """A page plus everything it logged (failed requests included)."""

    record_failed_requests = True


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    p.close()


def frame_of(pg) -> int:
    return int(pg.get_attribute("#player", "data-frame"))


def wait_ready(pg):
    pg.wait_for_selector('#player[data-state="ready"]', timeout=15000)


def canvas_pixels(pg) -> str:
    return pg.evaluate("document.querySelector('canvas.sector').toDataURL()")


# ------------------------------------------------------------------ home


def test_home_plays_the_latest_replay_without_console_errors(page, site, shots):
    pg = page.goto("/")
    wait_ready(pg)
    runs = json.loads((site["out"] / "data/runs.json").read_text())
    assert runs["latest"]["run_id"] == site["real"]
    assert pg.get_attribute("#player", "data-replay") == runs["latest"]["replay_id"]
    first = pg.inner_text("#frame-counter")
    pg.wait_for_function("(f) => document.querySelector('#frame-counter').textContent !== f", arg=first, timeout=10000)
    second = pg.inner_text("#frame-counter")
    assert first != second and second.startswith("t ")
    assert pg.get_attribute("#player", "data-playing") == "1"
    # Kenney art is loaded and drawn (the packs are on this machine)
    manifest = json.loads((site["out"] / "assets/manifest.json").read_text())
    if manifest["packs"]:
        pg.wait_for_function(
            "(n) => [...window.__player.assets.images.values()]"
            ".filter(i => i.complete && i.naturalWidth > 0).length === n",
            arg=len(manifest["images"]),
            timeout=15000,
        )
        assert pg.locator(".hud img.icon").count() >= 5
    # the window summary beside it, with changes vs the previous window
    assert pg.locator("table.summary tr[data-metric]").count() == 23
    assert "vs window 1" in pg.inner_text("table.summary caption")
    assert pg.locator(".tg-sound").is_checked() is False  # sound muted by default
    time.sleep(0.5)
    pg.screenshot(path=str(shots / "home.png"))
    assert not page.errors, page.errors


# ------------------------------------------------------------------ replay player


def replay_url(site, frame=None):
    cat = json.loads((site["out"] / f"data/runs/{site['synthetic']}/replays.json").read_text())
    rid = cat["replays"][0]["replay_id"]
    url = f"/replays/?run={site['synthetic']}&replay={rid}"
    return url + (f"&frame={frame}" if frame is not None else ""), rid


def test_replay_scrub_markers_keys_and_url(page, site, shots):
    url, rid = replay_url(site, frame=18)
    pg = page.goto(url)
    wait_ready(pg)
    assert frame_of(pg) == 18 and pg.inner_text("#frame-counter").endswith(" · step 18 / 300")
    # scrubbing: click three quarters along the slider
    scrub = pg.locator(".scrub")
    scrub.scroll_into_view_if_needed()
    box = scrub.bounding_box()
    scrub.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    f = frame_of(pg)
    assert 200 <= f <= 250, f
    pg.wait_for_function(f"() => location.search.includes('frame={f}')")
    # an event marker jumps to its frame
    markers = pg.locator(".markers .marker")
    assert markers.count() > 5
    m = markers.nth(3)
    target = int(m.get_attribute("data-frame"))
    m.click()
    assert frame_of(pg) == target
    # keyboard: step, play/pause
    pg.locator("body").press("ArrowRight")
    assert frame_of(pg) == target + 1
    pg.locator("body").press("ArrowLeft")
    pg.locator("body").press("ArrowLeft")
    assert frame_of(pg) == target - 1
    pg.keyboard.press(" ")
    assert pg.get_attribute("#player", "data-playing") == "1"
    pg.keyboard.press(" ")
    assert pg.get_attribute("#player", "data-playing") == "0"
    # speed select
    pg.select_option(".speed", "30")
    assert pg.evaluate("window.__player.fps") == 30
    # the browser lists the run's replays with tags
    assert pg.locator("#replay-list tbody tr").count() == 8
    pg.locator(".chip[data-tag='best_so_far']").click()
    assert 1 <= pg.locator("#replay-list tbody tr").count() < 8
    pg.locator(".chip[data-tag='']").click()
    pg.screenshot(path=str(shots / "replay.png"))
    assert not page.errors, page.errors


def test_truth_toggle_changes_the_view(page, site, shots):
    url, _ = replay_url(site, frame=30)
    pg = page.goto(url)
    wait_ready(pg)
    assert pg.locator(".truth-panel").is_hidden()
    before = canvas_pixels(pg)
    pg.locator(".tg-truth").check()
    assert pg.get_attribute("#player", "data-truth") == "1"
    assert pg.locator(".truth-panel").is_visible()
    assert "truth" in pg.inner_text(".truth-panel").lower()
    time.sleep(0.1)
    assert canvas_pixels(pg) != before
    pg.screenshot(path=str(shots / "replay-truth.png"))
    pg.keyboard.press("t")
    assert pg.get_attribute("#player", "data-truth") == "0"
    # top-3 probabilities toggle
    assert pg.locator(".probs-panel .prob").count() == 3
    pg.keyboard.press("p")
    assert pg.locator(".probs-panel").is_hidden()
    assert not page.errors, page.errors


@pytest.mark.parametrize(
    "query, text",
    [
        ("?run=no-such-run", "Unknown run"),
        ("?run={syn}&replay=w999999-0-deadbeef", "Unknown replay"),
        ("?run={syn}&replay={rid}&frame=99999", "past the end"),
        ("?run={syn}&replay={rid}&frame=abc", "not a frame number"),
    ],
)
def test_bad_urls_give_a_clear_message(page, site, query, text):
    _, rid = replay_url(site)
    pg = page.goto("/replays/" + query.format(syn=site["synthetic"], rid=rid))
    # the message must be the page's last word, not a flash before a fallback replay opens
    pg.wait_for_selector("body[data-page-ready='1']", timeout=15000)
    assert pg.locator(".player-message").is_visible()
    assert text in pg.inner_text(".player-message")
    # never a blank page: the controls and the list are there
    assert pg.locator("#replay-list").is_visible() and pg.locator("canvas.sector").is_visible()
    assert not [e for e in page.errors if "pageerror" in e], page.errors


# ------------------------------------------------------------------ analytics


def test_analytics_charts_one_point_per_window_and_overlay(page, site, shots):
    pg = page.goto(f"/analytics/?run={site['synthetic']}")
    pg.wait_for_selector("body[data-charts-ready='1']", timeout=15000)
    charts = pg.locator(".chart")
    assert charts.count() == 23
    for i in range(charts.count()):
        assert charts.nth(i).get_attribute("data-points") == "8"
    lengths = pg.evaluate(
        "() => window.__charts.map(c => [c.data.length, c.data[0].length, c.data[1].filter(v => v !== null).length])"
    )
    assert all(x == [2, 8, 8] for x in lengths), lengths
    pg.screenshot(path=str(shots / "analytics.png"), full_page=False)
    # overlay the real run (3 windows): a third series on a shared x axis
    pg.evaluate("() => { document.body.dataset.chartsReady = '0'; }")
    pg.select_option("#run-b", site["real"])
    pg.wait_for_selector("body[data-charts-ready='1']", timeout=15000)
    got = pg.evaluate(
        "() => window.__charts.map(c => [c.metric, c.data.length, c.data[2].filter(v => v !== null).length])"
    )
    # a real run may leave a metric empty in a window (no episode ended there): null, not a point
    cols = json.loads((site["out"] / f"data/runs/{site['real']}/windows.json").read_text())["columns"]
    want = [[m, 3, sum(v is not None for v in cols[m])] for m, _, _ in got]
    assert got == want
    assert any(n == 3 for _, _, n in got)
    assert "compare=" in pg.url
    assert not page.errors, page.errors


def test_run_page_and_docs(page, site):
    pg = page.goto(f"/runs/{site['real']}/")
    assert site["real"] in pg.inner_text("h1")
    pg.click("a.docs-link")
    pg.wait_for_load_state()
    assert pg.url.rstrip("/").endswith("/docs")
    assert "Asteroid Belt Prospector" in pg.title()
    assert pg.locator("article, .md-content").count() >= 1
    assert not [e for e in page.errors if "pageerror" in e], page.errors


def test_unknown_page_is_the_404_page(page, site):
    pg = page.goto("/no/such/page/")
    assert "Not found" in pg.inner_text("h1")


def test_long_replay_in_parts_plays_across_them(browser, tmp_path, monkeypatch):
    """A replay split into parts: a frame in a later part is reached once it arrives,
    and playback runs across part boundaries."""
    from prospector.sitegen import build as B

    monkeypatch.setattr(B, "CHUNK_FRAMES", 100)
    run = SyntheticRun(tmp_path / "runs", run_id="long", frames=250, keep_going=True)
    run.create(1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    rid = json.loads((out / "data/runs/long/replays.json").read_text())["replays"][0]["replay_id"]
    server, base = serve_in_thread(out)
    p = Page(browser, base)
    try:
        pg = p.goto(f"/replays/?run=long&replay={rid}&frame=220")
        wait_ready(pg)
        pg.wait_for_function("() => document.querySelector('#player').dataset.loaded === '251'", timeout=15000)
        pg.wait_for_function("() => document.querySelector('#player').dataset.frame === '220'", timeout=15000)
        assert pg.inner_text("#frame-counter").endswith(" · step 220 / 250")
        pg.evaluate("() => { window.__player.seek(95); window.__player.setSpeed(60); window.__player.play(); }")
        pg.wait_for_function("() => Number(document.querySelector('#player').dataset.frame) > 110", timeout=15000)
        assert p.errors == [], p.errors
    finally:
        p.close()
        server.shutdown()


def test_analytics_draws_the_benchmark_bots_as_lines(browser, tmp_path):
    """A run with a `prospector benchmark` event: the net profit chart gets one dashed,
    constant series per bot (windows.json `reference`), and the run page shows the table."""
    from test_site_benchmark import BOTS, benchmark_payload

    run = SyntheticRun(tmp_path / "runs", run_id="bench", frames=30)
    run.create(4)
    from prospector.pipeline.store.log import EventLog

    payload = benchmark_payload(window_id=3)
    with EventLog(run.dir, exclusive=False, create=False) as log:
        log.append("benchmark", **payload)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    server, base = serve_in_thread(out)
    p = Page(browser, base)
    try:
        pg = p.goto("/analytics/?run=bench")
        pg.wait_for_selector("body[data-charts-ready='1']", timeout=15000)
        card = pg.locator('.chart[data-metric="net_profit_mean"]')
        assert card.get_attribute("data-references") == str(len(BOTS))
        got = pg.evaluate("""() => { const c = window.__charts.find(c => c.metric === 'net_profit_mean');
            return [c.data.length, c.series.slice(2).map(s => s.label),
                    c.data.slice(2).map(d => [...new Set(d)])]; }""")
        want = {r["policy"]: r["mean_net_profit"] for r in payload["rows"]}
        assert got[0] == 2 + len(BOTS)
        assert got[1] == [f"{b} (benchmark)" for b in BOTS]
        assert [v[0] for v in got[2]] == [want[b] for b in BOTS] and all(len(v) == 1 for v in got[2])
        pg = p.goto("/runs/bench/")
        assert pg.locator("#benchmark tbody tr").count() == 1 + len(BOTS)
        assert not p.errors, p.errors
    finally:
        p.close()
        server.shutdown()
