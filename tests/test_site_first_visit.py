"""The site as a newcomer first sees it, in headless Chromium at a laptop's size (1366x768)
and a phone's (390x844): no page scrolls sideways; the home page says what the game is;
/play shows the view, the ship panel and the agent's hinted actions without scrolling and
keeps the episode's events; the player and the ship panel tell one time; every player
offers a link and an embed snippet; the embed starts paused with its controls inside an
800x600 or 480x360 frame; the home page draws its first frame of a long replay with less
than 2 MB transferred; a file that is not a replay gives a message, never an exception
(docs/site.md#layout, docs/site.md#progressive-loading).
"""

from __future__ import annotations

import json
import re

import pytest
from harness.first_frame import measure_home
from harness.synth import SyntheticRun
from harness.testing import BrowserPage, require_chromium, train_tiny_run
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

require_chromium()

SIZES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
PLAYER_READY = '#player[data-state="ready"]'


@pytest.fixture(scope="module")
def site(tmp_path_factory, play):
    root = tmp_path_factory.mktemp("first_visit")
    runs = root / "runs"
    run = train_tiny_run(runs, windows=2)
    out = root / "public"
    report = build_site(runs, out, docs=False, play_url=play.url)
    assert not report.problems, [str(p) for p in report.problems]
    cat = json.loads((out / f"data/runs/{run.name}/replays.json").read_text())
    server, base = serve_in_thread(out)
    # the latest every_window replay (a showcase replay's seed is past what a page can send exactly)
    replay = [r for r in cat["replays"] if "every_window" in r["tags"]][-1]["replay_id"]
    yield {"out": out, "base": base, "run": run.name, "replay": replay}
    server.shutdown()


class Page(BrowserPage):
    """A page at one of SIZES, with failed requests counted as errors."""

    record_failed_requests = True

    def __init__(self, browser, base, size, allow=()):
        super().__init__(browser, base, allow)
        self.page.set_viewport_size(size)


@pytest.fixture(params=sorted(SIZES))
def sized(request, browser, site):
    p = Page(browser, site["base"], SIZES[request.param])
    p.size = request.param
    yield p
    p.close()


def settled(pg):
    """``pg`` once nothing is loading: a fetch the next navigation cuts off (a policy file the
    agent panel was still loading) would count as a failed request."""
    pg.wait_for_load_state("networkidle")
    return pg


def pages(site) -> list[tuple[str, str]]:
    run, replay = site["run"], site["replay"]
    return [
        ("/", PLAYER_READY),
        (f"/replays/?run={run}&replay={replay}&frame=5", PLAYER_READY),
        (f"/timelapse/?run={run}&mode=side&a=0&b=latest", "body[data-state='ready']"),
        (f"/analytics/?run={run}", "body[data-charts-ready='1']"),
        ("/runs/", "table"),
        (f"/runs/{run}/", "table"),
        ("/play/?seed=7", '#play[data-state="playing"]'),
        (f"/embed/?run={run}&replay={replay}", PLAYER_READY),
        ("/no-such-page/", "main"),
    ]


def sideways_overflow(pg) -> list[str]:
    """The page's width past the viewport, and the elements that stick out on the right."""
    return pg.evaluate(
        """() => {
      const w = document.documentElement.clientWidth;
      const out = [];
      if (document.documentElement.scrollWidth > w) out.push(`page ${document.documentElement.scrollWidth} > ${w}`);
      for (const e of document.querySelectorAll('body *')) {
        const r = e.getBoundingClientRect();
        if (r.width && r.right > w + 0.5 && getComputedStyle(e).visibility !== 'hidden'
            && !e.closest('[hidden], .browser-list-wrap, .table-wrap, .ev-list')) {
          out.push(`${e.tagName.toLowerCase()}.${e.className} right ${Math.round(r.right)}`);
        }
      }
      return out.slice(0, 8);
    }"""
    )


def test_no_page_scrolls_sideways(sized, site):
    for path, ready in pages(site):
        pg = sized.goto(path)
        pg.wait_for_selector(ready, timeout=30000)
        settled(pg)  # late layout too: fonts, charts, panels filled after the first frame
        overflow = sideways_overflow(pg)
        assert overflow == [], (sized.size, path, " | ".join(overflow))
        if path == "/no-such-page/":  # its own 404 is the one error that page must log
            assert all("404" in e for e in sized.errors), sized.errors
            sized.errors.clear()
        assert not sized.errors, (path, sized.errors)


# ------------------------------------------------------------------ /play


def play_ready(pg):
    pg.wait_for_selector('#play[data-state="playing"]', timeout=30000)
    pg.wait_for_selector('.agent-panel[data-policy-state="ready"]', timeout=30000)


def inside_viewport(pg, selector: str) -> list[dict]:
    """Bounding boxes of the matches of ``selector`` that are not wholly in the viewport."""
    return pg.eval_on_selector_all(
        selector,
        """(els) => els.map((e) => { const r = e.getBoundingClientRect();
          return { text: e.textContent.trim(), top: r.top, bottom: r.bottom, left: r.left, right: r.right }; })
          .filter((b) => !(b.top >= 0 && b.left >= 0 && b.bottom <= innerHeight && b.right <= innerWidth))""",
    )


def test_play_shows_the_view_ship_and_hinted_actions_without_scrolling(sized, site):
    pg = sized.goto("/play/?seed=7")
    play_ready(pg)
    pg.check(".tg-hints")
    pg.wait_for_selector(".agent-panel[data-hint-actions]")
    assert pg.evaluate("scrollY") == 0
    hinted = pg.get_attribute(".agent-panel", "data-hint-actions").split(",")
    assert len(hinted) == 3
    buttons = [f'.agent-hints button.hint-act[data-action="{a}"]' for a in hinted]
    for sel in buttons:
        assert pg.locator(sel).count() == 1, sel
        assert inside_viewport(pg, sel) == [], (sized.size, sel)
    if sized.size == "laptop":  # the palette's own buttons too, and the whole ship panel
        assert inside_viewport(pg, ".action-pad button.hint") == []
        assert inside_viewport(pg, ".hud") == []
    assert inside_viewport(pg, "canvas.sector") == []
    # a hint's button plays its action, as the palette's button would
    step = int(pg.get_attribute("#play", "data-step"))
    with pg.expect_response(lambda r: r.url.endswith("/step")) as info:
        pg.click(buttons[0])
    assert json.loads(info.value.request.post_data)["action"] == int(hinted[0])
    pg.wait_for_function(f"Number(document.querySelector('#play').dataset.step) === {step + 1}")
    assert not sized.errors, sized.errors


def step_key(pg, key: str) -> dict:
    before = int(pg.get_attribute("#play", "data-step"))
    with pg.expect_response(lambda r: r.url.endswith("/step") and r.request.method == "POST") as info:
        pg.keyboard.press(key)
    pg.wait_for_function(
        f"Number(document.querySelector('#play').dataset.step) === {before + 1}"
        " && document.querySelector('#play').dataset.busy === '0'",
        timeout=10000,
    )
    return info.value.json()


def test_play_events_panel_keeps_the_episodes_history(browser, site):
    p = Page(browser, site["base"], SIZES["laptop"])
    try:
        pg = p.goto("/play/?seed=7")
        pg.wait_for_selector('#play[data-state="playing"]', timeout=30000)
        pg.locator("#play").focus()
        answer = step_key(pg, "k")  # dock at the station the episode starts beside
        assert [e["type"] for e in answer["events"]] == ["dock"], answer["events"]
        dock_step = answer["step"]
        for _ in range(30):
            step_key(pg, "h")
        items = pg.eval_on_selector_all(".event-log .ev-list li", "ls => ls.map(l => [l.dataset.step, l.textContent])")
        docks = [step for step, text in items if "dock" in text]
        assert docks == [str(dock_step)], items
        assert items[0][0] >= items[-1][0]  # newest first
        assert "no events yet" not in pg.inner_text(".event-log")
        assert not p.errors, p.errors
    finally:
        p.close()


# ------------------------------------------------------------------ one clock, share, embed


def test_player_and_ship_panel_tell_one_time(sized, site):
    pg = sized.goto(f"/replays/?run={site['run']}&replay={site['replay']}&frame=12")
    pg.wait_for_selector(PLAYER_READY, timeout=30000)
    counter = pg.inner_text("#frame-counter")
    hud = pg.inner_text(".hud .hud-time")
    m = re.fullmatch(r"(t \d+ / \d+) · step 12 / (\d+)", counter)
    assert m, counter
    assert m.group(1) == hud, (counter, hud)
    jumps = pg.eval_on_selector_all(".event-log .ev-jump", "bs => bs.map(b => b.textContent)")
    assert jumps and all(re.fullmatch(r"t \d+", j) for j in jumps), jumps  # the events panel: the same clock
    assert not sized.errors, sized.errors


def test_every_player_offers_a_link_and_an_embed_snippet(sized, site):
    pg = sized.goto(f"/replays/?run={site['run']}&replay={site['replay']}&frame=9")
    pg.wait_for_selector(PLAYER_READY, timeout=30000)
    pg.click(".controls .share")
    panel = pg.locator(".share-panel")
    panel.wait_for(state="visible")
    link = pg.input_value(".share-link")
    snippet = pg.input_value(".share-embed")
    assert link.startswith(site["base"] + "/replays/?") and f"replay={site['replay']}" in link and "frame=9" in link
    src = re.search(r'<iframe src="([^"]+)"', snippet).group(1)
    assert src.startswith(site["base"] + "/embed/?") and f"run={site['run']}" in src and "frame=9" in src
    assert "autoplay" not in src
    assert inside_viewport(pg, ".share-panel") == [], sized.size
    settled(pg)
    for home in ("/",):  # the home page's player has it too
        pg = sized.goto(home)
        pg.wait_for_selector(PLAYER_READY, timeout=30000)
        assert pg.locator(".controls .share").is_visible()
    assert not sized.errors, sized.errors


@pytest.mark.parametrize("width,height", [(800, 600), (480, 360)])
def test_embed_starts_paused_with_its_controls_inside_the_frame(browser, site, width, height):
    ctx = browser.new_context(viewport={"width": width + 100, "height": height + 100})
    errors = []
    try:
        host = ctx.new_page()
        host.on("pageerror", lambda e: errors.append(str(e)))
        host.goto(site["base"] + "/runs/")  # same origin, so that the frame can be measured
        host.evaluate(
            """([src, w, h]) => { document.body.innerHTML = '';
              const f = document.createElement('iframe');
              Object.assign(f, { src, width: w, height: h }); f.style.border = '0';
              document.body.style.margin = '0'; document.body.append(f); }""",
            [f"{site['base']}/embed/?run={site['run']}&replay={site['replay']}", width, height],
        )
        frame = host.frame_locator("iframe")
        frame.locator(PLAYER_READY).wait_for(timeout=30000)
        embed = host.frames[1]
        assert embed.get_attribute("#player", "data-playing") != "1"  # paused unless autoplay=1
        for sel in (".controls .btn-play", ".controls .btn-next", ".scrub", ".controls .share", "canvas.sector"):
            box = embed.evaluate(
                "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                " return [r.left, r.top, r.right, r.bottom]; }",
                sel,
            )
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height, (sel, box)
        assert embed.evaluate("document.documentElement.scrollHeight") <= height
        assert errors == []
    finally:
        ctx.close()


# ------------------------------------------------------------------ home


def test_home_says_what_the_game_is_and_what_to_click_first(sized, site):
    pg = sized.goto("/")
    pg.wait_for_selector(PLAYER_READY, timeout=30000)
    hero = " ".join(pg.inner_text(".hero").split())
    assert "mining ship" in hero and "learn" in hero, hero
    assert site["run"] not in pg.inner_text(".hero h1")
    assert site["replay"] not in pg.inner_text(".hero h1")
    links = pg.eval_on_selector_all(".hero .cta a", "as => as.map(a => a.getAttribute('href'))")
    assert any(h.endswith("#player") for h in links), links
    assert any("timelapse/" in h for h in links), links
    assert any(h.endswith("play/") for h in links), links
    assert inside_viewport(pg, ".hero .cta a") == [], sized.size
    # a window summary resting on few episodes says so, and what they are
    scope = pg.inner_text(".home-summary caption")
    assert re.search(r"\d+ training episodes? that ended in this window", scope), scope
    assert not sized.errors, sized.errors


# ------------------------------------------------------------------ a file that is not a replay


def test_a_file_that_is_not_a_replay_gives_a_message_not_an_exception(browser, site):
    run = site["run"]
    replays = site["out"] / f"data/runs/{run}/replays"
    (replays / "planted.json").write_bytes((site["out"] / f"data/runs/{run}/windows.json").read_bytes())
    (replays / "frameless.json").write_text(json.dumps({"schema": 1, "frames": [{"t": 0}], "n_frames": 1}))
    cases = [
        (f"/embed/?run={run}&replay=../windows", "#player .player-message", r"replay|not found|HTTP"),
        (f"/embed/?run={run}&replay=planted", "#player .player-message", r"is not a replay the player can show"),
        (f"/embed/?run={run}&replay=frameless", "#player .player-message", r"frame 0 is not a replay frame"),
        (f"/play/?run={run}&replay=planted", ".play-notes", r"Challenge mode is not available: .* is not a replay"),
    ]
    for path, where, text in cases:
        p = Page(browser, site["base"], SIZES["laptop"], allow=("Failed to load resource",))
        try:
            pg = p.goto(path)
            pg.wait_for_selector(f"{where}:not([hidden])", timeout=30000)
            assert re.search(text, pg.inner_text(where)), (path, pg.inner_text(where))
            if path.startswith("/play/"):
                pg.wait_for_selector('#play[data-state="playing"]', timeout=30000)  # a free game instead
            else:
                assert pg.get_attribute("#player", "data-state") == "error"
            assert [e for e in p.errors if "pageerror" in e or "requestfailed" in e] == [], (path, p.errors)
        finally:
            p.close()


# ------------------------------------------------------------------ progressive loading


def test_home_draws_the_first_frame_of_a_long_replay_under_2_mb(browser, tmp_path):
    run = SyntheticRun(tmp_path / "runs", run_id="20260101-000000-10a6e5e", frames=6000, keep_going=True, seed=2)
    run.create(1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    rid = json.loads((out / "data/runs.json").read_text())["latest"]["replay_id"]
    whole = sum(f.stat().st_size for f in (out / f"data/runs/{run.run_id}/replays").glob(f"{rid}*.json"))
    assert whole > 4_000_000  # the whole replay would not fit the budget
    server, base = serve_in_thread(out)
    try:
        figures = measure_home(browser, base)  # counted from Chromium's network events
        urls = figures["urls"]
        # the index and the parts come after the first frame, not before
        assert not any(".index.json" in u or re.search(r"\.\d+\.json$", u) for u in urls), urls
        assert figures["upper"] < 2_000_000, figures
    finally:
        server.shutdown()


# ------------------------------------------------------------------ the small things


def test_units_on_charts_no_self_comparison_one_sell_heading_and_compare_in_the_url(browser, site):
    p = Page(browser, site["base"], SIZES["laptop"])
    try:
        pg = p.goto(f"/analytics/?run={site['run']}")
        pg.wait_for_selector("body[data-charts-ready='1']", timeout=30000)
        units = dict(pg.eval_on_selector_all(".chart", "cs => cs.map(c => [c.dataset.metric, c.dataset.unit])"))
        assert units["return_mean"] == "reward" and units["net_profit_mean"] == "credits", units
        assert units["survival_rate"] == "%" and units["fuel_used_mean"] == "fuel", units
        assert "(credits)" in pg.text_content('.chart[data-metric="net_profit_mean"] h3')
        offered = pg.eval_on_selector_all("#run-b option", "os => os.map(o => o.value)")
        assert site["run"] not in offered, offered
        settled(pg)
        pg = p.goto("/play/?seed=7")
        pg.wait_for_selector('#play[data-state="playing"]', timeout=30000)
        settled(pg)
        sell_titles = [t.strip().lower() for t in pg.locator(".act-sell").all_inner_texts()[0].split("\n")]
        assert sell_titles.count("sell") == 1, sell_titles
        pg = p.goto(f"/replays/?run={site['run']}&replay={site['replay']}&frame=4&compare=0")
        pg.wait_for_selector('.compare-panel[data-state="ready"]', timeout=30000)
        assert pg.get_attribute(".compare-panel", "data-window") == "0"
        assert pg.input_value(".compare-window") == "0"
        pg.select_option(".compare-window", "1")
        pg.wait_for_selector('.compare-panel[data-window="1"]', timeout=30000)
        pg.wait_for_function("() => location.search.includes('compare=1')")
        assert not p.errors, p.errors
    finally:
        p.close()


def test_the_mini_map_covers_no_rock_or_rock_label(sized, site):
    """Every rock of every frame of a real replay, with its ring and its label, lies left of or
    below the mini-map as the page places it (render.js sceneLayout, site.css)."""
    pg = sized.goto(f"/replays/?run={site['run']}&replay={site['replay']}")
    pg.wait_for_selector(PLAYER_READY, timeout=30000)
    result = pg.evaluate(
        """async () => {
      const m = await import(document.querySelector('meta[name="site-base"]').content + 'static/render.js');
      const p = window.__player;
      const view = p.dom.sector.getBoundingClientRect(), map = p.dom.minimap.getBoundingClientRect();
      const mapLeft = (map.left - view.left) * m.W / view.width;
      const mapBottom = (map.bottom - view.top) * m.H / view.height;
      const covered = []; let rocks = 0;
      for (let i = 0; i < p.frames.loaded; i++) {
        for (const a of m.sceneLayout(p.frames.get(i).rs).asteroids) {
          rocks += 1;
          const half = Math.max(a.radius + 8, 48);  // the scan ring, or the selected rock's label
          if (a.x + half > mapLeft && a.y - a.radius - 28 < mapBottom) covered.push([i, a.slot]);
        }
      }
      return { rocks, covered: covered.slice(0, 5) };
    }"""
    )
    assert result["rocks"] > 0
    assert result["covered"] == [], (sized.size, result)


def test_tables_keep_their_key_columns_on_a_phone(browser, site):
    p = Page(browser, site["base"], SIZES["phone"])
    try:
        for path, columns in (
            ("/replays/", ("window", "replay", "return", "net profit", "end")),
            ("/runs/", ("run", "status", "windows", "return", "links")),
        ):
            pg = p.goto(path)
            pg.wait_for_selector("table tbody tr td", timeout=30000)
            shown = pg.eval_on_selector_all(
                "table thead th",
                """(ths) => ths.filter((t) => { const r = t.getBoundingClientRect();
                  return r.width > 0 && r.left >= 0 && r.right <= innerWidth; })
                  .map((t) => t.textContent.trim().split(' (')[0])""",
            )
            assert all(c in shown for c in columns), (path, shown)
            settled(pg)
        assert not p.errors, p.errors
    finally:
        p.close()


def test_play_in_challenge_mode_keeps_the_ship_and_hints_in_view(browser, site):
    p = Page(browser, site["base"], SIZES["laptop"])
    try:
        pg = p.goto(f"/play/?run={site['run']}&replay={site['replay']}")
        play_ready(pg)
        assert pg.is_visible(".challenge-panel"), pg.inner_text(".play-notes")
        pg.check(".tg-hints")
        pg.wait_for_selector(".agent-panel[data-hint-actions]")
        assert inside_viewport(pg, ".hud") == []
        assert inside_viewport(pg, ".agent-hints button.hint-act") == []
        assert inside_viewport(pg, "canvas.sector") == []
        assert inside_viewport(pg, ".challenge-panel .vs-table") == []  # the scores, at least
        settled(pg)
        assert not p.errors, p.errors
    finally:
        p.close()
