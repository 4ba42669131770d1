"""The timelapse, the strips under the timeline and the embed page in headless Chromium
(Debian's /usr/bin/chromium driven by Playwright), on a site built from a real tiny
training run (showcase replays with values) and a synthetic run (replays without).

Expected values are recomputed here from the raw replay files, not read from the site.
"""

from __future__ import annotations

import shutil

import pytest
from harness.synth import SyntheticRun
from harness.testing import BrowserPage, require_chromium, train_tiny_run
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import read_replay
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

require_chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("timelapse")
    runs = root / "runs"
    synthetic = SyntheticRun(runs, run_id="20260101-000000-5e5e5e5", frames=200, seed=0)
    synthetic.create(3)
    real = train_tiny_run(runs, windows=3)
    shutil.copytree(real, runs / f"{real.name}-copy", ignore=shutil.ignore_patterns("*.lock"))  # same showcase seed
    out = root / "public"
    report = build_site(runs, out, docs=False)
    assert not report.problems, [str(p) for p in report.problems]
    server, base = serve_in_thread(out)
    showcase = {
        e["window_id"]: e
        for e in read_events(real).events
        if e["type"] == "replay_recorded" and "showcase" in e["tags"]
    }
    actions = {w: [f["action"] for f in read_replay(real / e["path"])[1]] for w, e in showcase.items()}
    yield {
        "base": base,
        "out": out,
        "runs": runs,
        "real": real.name,
        "synthetic": synthetic,
        "showcase": showcase,
        "actions": actions,
    }
    server.shutdown()


class Page(BrowserPage):
    record_failed_requests = True


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    assert not p.errors, p.errors
    p.close()


def ready(pg, selector="body[data-state='ready']"):
    pg.wait_for_selector(selector, timeout=20000)


def first_divergence(x, y):
    n = min(len(x), len(y))
    for i in range(1, n):
        if x[i] != y[i]:
            return i
    return None if len(x) == len(y) else n


# ------------------------------------------------------------------ timelapse


def test_window_slider_switches_windows_at_the_same_step(page, site):
    step = 12
    pg = page.goto(f"/timelapse/?run={site['real']}&mode=slider&a=0&step={step}")
    ready(pg)
    assert pg.evaluate("__timelapse.A.replayId") == site["showcase"][0]["replay_id"]
    assert pg.evaluate("__timelapse.A.index") == step
    for index, window in ((2, 2), (1, 1)):
        pg.eval_on_selector(
            "#tl-window", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", str(index)
        )
        pg.wait_for_function(
            "(r) => __timelapse.A.replayId === r && document.body.dataset.window !== undefined",
            arg=site["showcase"][window]["replay_id"],
            timeout=20000,
        )
        ready(pg, f"body[data-window='{window}'][data-state='ready']")
        assert pg.evaluate("__timelapse.A.index") == step
        assert f"a={window}" in pg.evaluate("location.search") and f"step={step}" in pg.evaluate("location.search")
        assert pg.inner_text("#tl-window-label") == str(window)


def test_side_by_side_marks_the_first_divergent_step(page, site):
    a, b = site["actions"][0], site["actions"][2]
    expected = first_divergence(a, b)
    assert expected is not None, "windows 0 and 2 of the tiny run act the same: the test needs them to differ"
    pg = page.goto(f"/timelapse/?run={site['real']}&mode=side&a=0&b=2&step=5")
    ready(pg)
    for lane in ("#player-a", "#player-b"):
        assert pg.get_attribute(lane, "data-diverge") == str(expected)
        mark = pg.query_selector(f"{lane} .markers .diverge-mark")
        assert mark is not None and mark.get_attribute("data-frame") == str(expected)
    assert f"step {expected}" in pg.inner_text("#diverge-note")
    # lockstep: B follows A's steps, and a click on the mark moves both
    pg.click("#player-a .btn-next")
    assert pg.evaluate("[__timelapse.A.index, __timelapse.B.index]") == [6, 6]
    pg.click("#player-b .diverge-mark")
    assert pg.evaluate("[__timelapse.A.index, __timelapse.B.index]") == [expected, expected]
    assert f"step={expected}" in pg.evaluate("location.search")


def test_side_by_side_compares_two_runs_with_the_same_showcase_seed(page, site):
    copy = f"{site['real']}-copy"
    pg = page.goto(f"/timelapse/?run={site['real']}&mode=side&a=2&b=2&run_b={copy}&step=4")
    ready(pg)
    assert pg.inner_text("#lane-b-title").startswith(f"B: run {copy}")
    assert pg.evaluate("__timelapse.B.runId") == copy
    assert pg.get_attribute("#player-a", "data-diverge") == ""  # the same policy in the same world
    assert "the same action at every step" in pg.inner_text("#diverge-note")
    assert f"run_b={copy}" in pg.evaluate("location.search")
    assert pg.inner_text(".timelapse-message") == ""  # same seed: no warning


def test_timelapse_url_naming_a_window_without_showcase_says_so(page, site):
    pg = page.goto(f"/timelapse/?run={site['real']}&mode=side&a=40&b=1&step=3")
    ready(pg)
    text = pg.inner_text(".timelapse-message")
    assert "Window 40" in text and "nearest" in text and "window 2" in text
    assert pg.evaluate("__timelapse.A.replayId") == site["showcase"][2]["replay_id"]
    assert "a=2" in pg.evaluate("location.search")  # the URL names what is shown


def test_run_without_showcase_replays_says_so(page, site):
    pg = page.goto(f"/timelapse/?run={site['synthetic'].run_id}")
    pg.wait_for_selector("body[data-state='empty']", timeout=20000)
    assert "no showcase replays" in pg.inner_text(".timelapse-message")


def test_home_links_to_window_0_vs_now(page, site):
    pg = page.goto("/")
    link = pg.wait_for_selector("a.timelapse-link", timeout=20000)
    assert "window 0 vs now" in link.inner_text()
    link.click()
    ready(pg)
    assert pg.evaluate("[__timelapse.state.a, __timelapse.state.b]") == [0, 2]


# ------------------------------------------------------------------ strips


def test_clicking_the_value_strip_seeks(page, site):
    replay = site["showcase"][1]["replay_id"]
    pg = page.goto(f"/replays/?run={site['real']}&replay={replay}")
    ready(pg, "#player[data-state='ready']")
    n = int(pg.get_attribute("#player", "data-frames"))
    assert pg.get_attribute("#player .strips", "data-missing") == ""
    strip = pg.query_selector("canvas.value-strip")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    for frac in (0.75, 0.25):
        pg.mouse.click(box["x"] + frac * box["width"], box["y"] + box["height"] / 2)
        expected = round(frac * (n - 1))
        assert abs(pg.evaluate("__player.index") - expected) <= 1
        assert pg.get_attribute("#player .strips", "data-index") == str(pg.evaluate("__player.index"))
    belief_strip = pg.query_selector("canvas.belief-strip")
    belief_strip.scroll_into_view_if_needed()
    belief = belief_strip.bounding_box()
    pg.mouse.click(belief["x"] + 2, belief["y"] + belief["height"] / 2)
    assert pg.evaluate("__player.index") <= 1


def test_old_replays_play_and_the_strip_says_value_is_missing(page, site):
    run = site["synthetic"].run_id
    pg = page.goto(f"/replays/?run={run}")
    pg.wait_for_selector("#replay-list tbody tr", timeout=20000)
    pg.click("#replay-list tbody tr a")
    ready(pg, "#player[data-state='ready']")
    assert pg.get_attribute("#player .strips", "data-missing") == "value"
    assert "No critic values" in pg.inner_text("#player .strip-note")


# ------------------------------------------------------------------ embed


def test_embed_loads_the_player_alone_without_console_errors(page, site):
    replay = site["showcase"][2]["replay_id"]
    pg = page.goto(f"/embed/?run={site['real']}&replay={replay}&frame=7&autoplay=0")
    ready(pg, "#player[data-state='ready']")
    assert pg.evaluate("__player.index") == 7
    assert pg.query_selector("header.topbar") is None and pg.query_selector("footer") is None
    assert pg.query_selector("canvas.value-strip") is not None


def test_embed_without_a_replay_says_what_it_needs(page, site):
    pg = page.goto("/embed/")
    pg.wait_for_selector("#player[data-state='error']", timeout=20000)
    assert "?run=RUN&replay=REPLAY_ID" in pg.inner_text(".player-message")


# ------------------------------------------------------------------ notebook helper


def test_notebook_show_replay_from_a_file_and_from_a_built_site(browser, site):
    from prospector.notebook import show_replay

    event = site["showcase"][1]
    views = [
        show_replay(site["runs"] / site["real"] / event["path"], frame=3, autoplay=False),
        show_replay(site=site["out"], run=site["real"], replay=event["replay_id"], frame=3, autoplay=False),
    ]
    for view in views:
        assert view.url.startswith("http://127.0.0.1:") and "<iframe" in view._repr_html_()
        p = Page(browser, "")
        try:
            pg = p.page
            pg.goto(view.url)
            ready(pg, "#player[data-state='ready']")
            assert pg.evaluate("[__player.replayId, __player.index]") == [event["replay_id"], 3]
            assert not p.errors, p.errors
        finally:
            p.close()
    url = show_replay(site="https://example.org/site/", run="r", replay="w1", frame=2).url
    assert url == "https://example.org/site/embed/?run=r&replay=w1&frame=2"
    for kwargs in ({}, {"site": site["out"], "run": site["real"], "replay": "nope"}, {"site": site["out"]}):
        with pytest.raises(ValueError):
            show_replay(**kwargs)
