"""What a new user reads first on the site and in ``prospector runs``: the header, the
charts' axes and legends, the scales of the rates, timestamps, and what "return" and
"net profit" mean wherever one of them is shown (docs/site.md).

The site part runs in headless Chromium (Debian's /usr/bin/chromium through Playwright).
"""

from __future__ import annotations

import re

import pytest
from harness.synth import SyntheticRun
from harness.testing import BrowserPage, chromium_path
from prospector.pipeline.runs_report import SCORES_EXPLAINED, describe, list_table
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_contact")
    run = SyntheticRun(root / "runs", run_id="20260101-000000-5e5e5e5", frames=60, seed=3)
    run.create(3)  # three windows: a narrow x axis that would get ticks at 0.5
    out = root / "public"
    build_site(run.runs_dir, out, docs=False)
    server, base = serve_in_thread(out)
    yield {"run": run, "out": out, "base": base}
    server.shutdown()


@pytest.fixture
def page(browser, site):
    if chromium_path() is None:
        pytest.fail("Debian's chromium is not installed (make test-deps)", pytrace=False)
    p = BrowserPage(browser, site["base"])
    yield p
    p.close()


def test_cli_ranks_replays_by_both_scores_and_explains_them(site):
    run = site["run"]
    text = describe(run.dir)
    assert re.search(r"best replay by return: \S+ \(window \d+, return -?[\d.]+, net profit -?\$[\d,]+\)", text)
    assert "means over the window's training episodes" in text
    assert all(line in text for line in SCORES_EXPLAINED)
    table = list_table(str(run.runs_dir))
    header = table.splitlines()[0]
    assert "best return" in header and "best profit" in header
    assert all(line in table for line in SCORES_EXPLAINED)


def test_home_header_summary_scope_and_score_legend(page, site):
    pg = page.goto("/")
    meta = " ".join(pg.inner_text("p.hero-meta").split())
    assert re.search(r"^Latest: window \d+ of the run started .* · replay ", meta), meta
    assert not re.search(r"\S·", meta), meta
    caption = pg.inner_text(".home-summary caption")
    assert re.search(r"means over the \d+ training episodes? that ended in this window", caption), caption
    note = pg.inner_text(".summary-vs-replay")
    assert "training episodes" in note and "one evaluation episode" in note
    legend = pg.inner_text(".home-summary .score-legend")
    assert "Return" in legend and "Net profit" in legend and "penalties" in legend
    assert pg.get_attribute('.home-summary tr[data-metric="return_mean"] th', "title")
    assert not [e for e in page.errors if "pageerror" in e], page.errors


def test_replays_and_runs_pages_explain_the_scores_and_show_readable_times(page, site):
    pg = page.goto("/replays/")
    assert pg.get_attribute("#replay-list thead th[title]:has-text('return')", "title").startswith("the RL reward")
    assert "credits at the end" in pg.get_attribute("#replay-list thead th:has-text('net profit')", "title")
    assert "penalties" in pg.inner_text(".score-legend")
    pg = page.goto("/runs/")
    started = pg.inner_text("table.data-table tbody td:nth-child(2)")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", started.strip()), started
    assert pg.locator(".score-legend").count() == 1


def test_analytics_integer_window_ticks_latest_values_in_legends_and_one_rate_scale(page, site):
    pg = page.goto(f"/analytics/?run={site['run'].run_id}")
    pg.wait_for_selector("body[data-charts-ready='1']", timeout=15000)
    ticks = pg.evaluate("() => window.__charts.map(c => c.axes[0]._splits || [])")
    assert ticks and all(ticks), ticks
    assert all(float(v).is_integer() for split in ticks for v in split), ticks
    # before any hover, every legend shows the latest window's values, not "--"
    values = pg.evaluate("() => [...document.querySelectorAll('.chart .u-legend .u-value')].map(e => e.textContent)")
    assert values and "--" not in values, values
    windows = pg.evaluate(
        "() => [...document.querySelectorAll('.chart .u-legend .u-series:first-child .u-value')]"
        ".map(e => e.textContent)"
    )
    assert set(windows) == {"2"}, windows
    scales = pg.evaluate("""() => window.__charts.filter(c => c.metric.endsWith('_rate'))
        .map(c => [c.metric, c.scales.y.min, c.scales.y.max])""")
    assert sorted(m for m, _, _ in scales) == ["destroyed_rate", "stranded_rate", "survival_rate"]
    assert all((lo, hi) == (0, 100) for _, lo, hi in scales), scales
    assert not page.errors, page.errors


def test_play_confirms_cash_out_over_the_view_and_explains_arcs_and_hazard(browser, tmp_path):
    """/play against a real play service: the cash-out confirmation shows over the sector
    view; the legend names the scan arcs and the hazard tint; the help lists each key once
    and says that clusters carry some hazard."""
    from harness.testing import PlayServer

    with PlayServer() as play:
        run = SyntheticRun(tmp_path / "runs", run_id="20260101-000000-5e5e5e5", frames=30)
        run.create(1)
        out = tmp_path / "public"
        build_site(run.runs_dir, out, docs=False, play_url=play.url)
        server, base = serve_in_thread(out)
        p = BrowserPage(browser, base)
        try:
            pg = p.goto("/play/")
            pg.wait_for_selector('body[data-page-ready="1"]', timeout=30000)
            pg.wait_for_selector('#play[data-state="playing"]', timeout=30000)
            legend = pg.inner_text(".stage-legend")
            assert "blue arc" in legend and "hazard" in legend and "clusters carry a little hazard" in legend
            pg.locator("#play").focus()
            pg.keyboard.press("q")
            confirm = pg.locator(".stage .stage-confirm")
            confirm.wait_for(state="visible", timeout=5000)
            assert "Cash out" in confirm.inner_text()
            box, view = confirm.bounding_box(), pg.locator("canvas.sector").bounding_box()
            assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"]
            assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]
            confirm.wait_for(state="hidden", timeout=10000)  # disarmed again when not confirmed
            pg.keyboard.press("?")
            pg.wait_for_selector("#play-help:not([hidden])")
            keys = pg.eval_on_selector_all("#play-help .hotkey-table kbd", "ks => ks.map(k => k.textContent)")
            assert len(keys) == len(set(keys)), keys
            assert sum(k.startswith("Shift+1") for k in keys) == 1, keys
            assert "clusters (blue) carry a little hazard" in " ".join(pg.inner_text("#play-help").split())
            assert not [e for e in p.errors if "pageerror" in e], p.errors
        finally:
            p.close()
            server.shutdown()


def test_docs_look_like_the_site_lead_back_to_it_and_wrap_code(browser, tmp_path):
    """The docs (mkdocs --strict, as the site build makes them) in Chromium: the site's dark
    background, links back to the site's home, replays and play, no code block that scrolls
    sideways, no table with an empty header row."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "public"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out / "docs")],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    server, base = serve_in_thread(out)
    p = BrowserPage(browser, base)
    try:
        for path in ("/docs/", "/docs/training/", "/docs/envs/", "/docs/cli/"):
            pg = p.goto(path)
            assert pg.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(7, 11, 24)"
            links = pg.eval_on_selector_all(".site-links a", "as => as.map(a => [a.textContent.trim(), a.href])")
            hrefs = dict(links)
            assert hrefs["Home"] == base + "/" and hrefs["Replays"] == base + "/replays/"
            assert hrefs["Play"] == base + "/play/"
            wide = pg.evaluate("""() => [...document.querySelectorAll('.md-typeset pre > code')]
                .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent.slice(0, 60))""")
            assert wide == [], (path, wide)
            empty_heads = pg.evaluate("""() => [...document.querySelectorAll('.md-typeset table thead tr')]
                .filter(tr => [...tr.children].every(th => !th.textContent.trim())).length""")
            assert empty_heads == 0, path
    finally:
        p.close()
        server.shutdown()
