"""/play in headless Chromium against a real ``prospector play-server`` process.

The site is built from a real tiny training run with ``play_url`` pointing at a play
service started on a free loopback port. The tests press hotkeys and click buttons and
check the page against the service's own answers: the HUD shows the step response's
render_state, greyed buttons are exactly the actions outside valid_actions, an invalid
action is reported as invalid, an episode can be cashed out and reset, challenge mode
shows the agent's return beside the player's (equal when the player repeats the agent's
actions), and bad URLs or an unreachable service give a message instead of a blank page.
A screenshot of /play is saved under $SITE_SCREENSHOTS_DIR (or pytest's tmp dir).
"""

from __future__ import annotations

import re

import pytest
from harness.testing import BrowserPage, PlayServer, free_port, require_chromium, train_tiny_run
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import read_replay
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

from prospector import spec as S
from prospector.envs import ProspectorEnv

require_chromium()

SEED = 7


@pytest.fixture(scope="module")
def site(tmp_path_factory, play):
    root = tmp_path_factory.mktemp("play_browser")
    runs = root / "runs"
    real = train_tiny_run(runs, windows=3)
    out = root / "public"
    report = build_site(runs, out, docs=False, play_url=play.url)
    assert not report.problems, [str(p) for p in report.problems]
    server, base = serve_in_thread(out)
    yield {"out": out, "base": base, "run": real, "runs": runs, "root": root}
    server.shutdown()


class Page(BrowserPage):
    """goto() waits until play.js has marked the page ready; ``allow``: HTTP errors the test provokes."""

    ready = 'body[data-page-ready="1"]'


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    p.close()
    assert not p.errors, p.errors


def state(pg) -> str:
    return pg.get_attribute("#play", "data-state")


def step_of(pg) -> int:
    return int(pg.get_attribute("#play", "data-step"))


def press_and_answer(pg, key=None, action=None) -> dict:
    """Press a hotkey (or click an action's button) and return the service's step answer."""
    before = step_of(pg)
    with pg.expect_response(lambda r: r.url.endswith("/step") and r.request.method == "POST") as info:
        if key is not None:
            pg.keyboard.press(key)
        else:
            pg.click(f'.action-pad button[data-action="{action}"]')
    body = info.value.json()
    pg.wait_for_function(
        f"Number(document.querySelector('#play').dataset.step) === {before + 1}"
        " && document.querySelector('#play').dataset.busy === '0'",
        timeout=10000,
    )
    return body


def greyed(pg) -> set[int]:
    return set(pg.eval_on_selector_all(".action-pad button.unavailable", "bs => bs.map(b => Number(b.dataset.action))"))


def hud_number(pg, bar: str) -> float:
    text = pg.text_content(f".hud .bar-{bar} .bar-value")
    return float(text.split("/")[0].replace(",", "").strip())


def check_hud(pg, rs: dict) -> None:
    ship = rs["ship"]
    for bar in ("fuel", "hull", "heat", "tool", "alert"):
        assert abs(hud_number(pg, bar) - ship[bar]) <= 0.5 + 1e-9, (bar, ship[bar])
    assert pg.text_content(".hud .hud-time") == f"t {rs['t']} / {rs['time_max']}"
    credits = float(re.sub(r"[^0-9.]", "", pg.text_content(".hud .hud-credits")))
    assert abs(credits - ship["credits"]) <= 0.5 + 1e-9
    assert pg.is_visible(".hud .docked") == rs["docked"]


# ------------------------------------------------------------------ free play


def test_free_play_hotkeys_hud_invalid_cash_out_and_reset(page, play, shots):
    pg = page.goto(f"play/?seed={SEED}")
    assert state(pg) == "playing" and step_of(pg) == 0
    assert pg.text_content(".play-seed") == str(SEED)
    # the world is the game's world for that seed, and greyed = outside valid_actions
    env = ProspectorEnv()
    env.reset(seed=SEED)
    first = env.render_state()
    check_hud(pg, first)
    assert greyed(pg) == {a for a in range(S.N_ACTIONS) if not env.action_mask()[a]}
    assert len(pg.query_selector_all(".action-pad button[data-action]")) == S.N_ACTIONS
    assert pg.evaluate("window.__playActions") == list(S.ACTION_NAMES)

    # K docks (valid at the station): the HUD follows the answer
    r = press_and_answer(pg, "k")
    assert r["info"]["invalid"] is False and r["render_state"]["docked"] is True
    check_hud(pg, r["render_state"])
    assert pg.text_content(".feedback .action-name") == "DOCK"
    assert greyed(pg) == set(range(S.N_ACTIONS)) - set(r["valid_actions"])
    assert pg.text_content(".play-return") == f"{'+' if r['episode_return'] >= 0 else ''}{r['episode_return']:.2f}"

    # W (a wide scan) at the station, where there is nothing to scan: greyed, still sent, shown invalid
    assert 8 in greyed(pg)
    r = press_and_answer(pg, "w")
    assert r["info"]["invalid"] is True
    assert pg.get_attribute("#play", "data-invalid") == "1"
    assert "invalid: played as HOLD" in pg.text_content(".feedback")
    assert "invalid" in pg.get_attribute(".feedback .action-name", "class")
    check_hud(pg, r["render_state"])

    # Shift+U buys fuel (large) while docked; 1 travels through exit 0
    valid = set(r["valid_actions"])
    r = press_and_answer(pg, "Shift+U")
    assert r["info"]["invalid"] is (63 not in valid)
    r = press_and_answer(pg, "1")
    assert any(e["type"] == "travel" for e in r["events"]) and r["render_state"]["docked"] is False
    check_hud(pg, r["render_state"])
    assert "travel" in pg.text_content(".event-log")
    # a rock: A selects the next one (a SELECT action), X mines it
    if r["render_state"]["asteroids"]:
        r = press_and_answer(pg, "a")
        assert r["info"]["invalid"] is False and r["render_state"]["selected"] == 0
        r = press_and_answer(pg, "x")
        assert any(e["type"] == "mine" for e in r["events"])
        check_hud(pg, r["render_state"])
    pg.screenshot(path=str(shots / "play.png"))

    # Q arms the cash-out, a second Q ends the episode; the end panel says how it went
    steps = step_of(pg)
    pg.keyboard.press("q")
    pg.wait_for_selector('.act-cashout[data-armed="1"]')
    assert step_of(pg) == steps
    r = press_and_answer(pg, "q")
    assert r["terminated"] and r["info"]["end_reason"] == "cash_out"
    pg.wait_for_selector(".end-panel:not([hidden])")
    assert state(pg) == "over"
    assert pg.text_content('.end-panel [data-stat="ended_by"]') == "cash out"
    assert (
        pg.text_content('.end-panel [data-stat="return"]')
        == f"{'+' if r['episode_return'] >= 0 else ''}{r['episode_return']:.2f}"
    )
    profit = r["info"]["net_profit"]
    shown = pg.text_content('.end-panel [data-stat="net_profit"]')
    assert (
        shown.startswith("−" if profit < 0 else "$") and abs(float(re.sub(r"[^0-9.]", "", shown)) - abs(profit)) <= 0.5
    )
    assert greyed(pg) == set(range(S.N_ACTIONS))  # nothing to play after the end
    pg.screenshot(path=str(shots / "play-end.png"))

    # Enter: the same world again from the start
    with pg.expect_response(lambda x: x.url.endswith("/reset")):
        pg.keyboard.press("Enter")
    pg.wait_for_function("document.querySelector('#play').dataset.state === 'playing'")
    assert step_of(pg) == 0 and pg.is_hidden(".end-panel")
    check_hud(pg, first)
    assert f"seed={SEED}" in pg.url
    # a new world: another seed, in the URL too
    with pg.expect_response(lambda x: x.url.endswith("/reset")):
        pg.click(".btn-new")
    pg.wait_for_function(f"document.querySelector('.play-seed').textContent !== '{SEED}'")
    seed = pg.text_content(".play-seed")
    assert seed.isdigit() and f"seed={seed}" in pg.url and step_of(pg) == 0


def test_clicks_select_rocks_and_the_help_overlay(page):
    pg = page.goto(f"play/?seed={SEED}")
    press_and_answer(pg, "1")  # to a cluster
    rs = pg.evaluate("window.__play.s.rs")
    assert rs["asteroids"], "seed 7's exit 0 leads to a cluster with rocks"
    # a click on a rock's button selects it; a click on the rock in the sector view too
    r = press_and_answer(pg, action=12 + rs["asteroids"][-1]["slot"])
    assert r["render_state"]["selected"] == rs["asteroids"][-1]["slot"]
    assert "selected" in pg.get_attribute(
        f'.action-pad button[data-action="{12 + rs["asteroids"][-1]["slot"]}"]', "class"
    )
    box = pg.query_selector("canvas.sector").bounding_box()
    target = pg.evaluate("""() => { const rs = window.__play.s.rs;
        return import(document.querySelector('meta[name=site-base]').content + 'static/render.js')
          .then(m => { const a = m.sceneLayout(rs).asteroids[0]; return [a.x / m.W, a.y / m.H, a.slot]; }); }""")
    with pg.expect_response(lambda x: x.url.endswith("/step")) as info:
        pg.mouse.click(box["x"] + target[0] * box["width"], box["y"] + target[1] * box["height"])
    assert info.value.request.post_data_json == {"action": 12 + target[2]}
    # ? opens the help: the game in a minute and every hotkey; Esc closes it
    pg.wait_for_function("document.querySelector('#play').dataset.busy === '0'")
    pg.keyboard.press("?")
    pg.wait_for_selector("#play-help:not([hidden])")
    text = pg.text_content("#play-help")
    assert "Goal" in text and "cash out" in text and "Greyed buttons" in text and "Challenge mode" in text
    keys = pg.eval_on_selector_all("#play-help .hotkey-table kbd", "ks => ks.map(k => k.textContent)")
    assert "Shift+1" not in keys, "the help lists Shift+1 once, as Shift+1…6"
    for k in ("1", "W", "A", "Z", "X", "C", "K", "Shift+1…6", "Q Q", "?"):
        assert k in keys, k
    steps = step_of(pg)
    pg.keyboard.press("h")  # keys do nothing while the help is open
    pg.keyboard.press("Escape")
    pg.wait_for_selector("#play-help", state="hidden")
    assert step_of(pg) == steps


def test_a_lost_session_gives_a_message_and_a_way_back(page, play):
    pg = page.goto(f"play/?seed={SEED}")
    page.allow = ("404",)
    sid = pg.get_attribute("#play", "data-session")
    assert play.request("DELETE", f"/api/play/session/{sid}")[0] == 200
    pg.keyboard.press("h")
    pg.wait_for_function("document.querySelector('#play').dataset.state === 'expired'")
    assert "no longer knows this game" in pg.text_content(".play-message")
    pg.click(".play-message .msg-action")
    pg.wait_for_function("document.querySelector('#play').dataset.state === 'playing'")
    assert pg.get_attribute("#play", "data-session") != sid and step_of(pg) == 0


# ------------------------------------------------------------------ challenge mode


def test_challenge_mode_from_a_replay_shows_both_returns(page, site, shots):
    run = site["run"]
    ev = max((e for e in read_events(run).events if e["type"] == "replay_recorded"), key=lambda e: e["steps"])
    header, frames = read_replay(run / ev["path"])
    pg = page.goto(f"replays/?run={run.name}&replay={ev['replay_id']}")
    pg.wait_for_selector('#player[data-state="ready"]')
    link = pg.get_attribute("#player .challenge", "href")
    assert link.endswith(f"play/?run={run.name}&replay={ev['replay_id']}")
    with pg.expect_navigation():
        pg.click("#player .challenge")
    pg.wait_for_selector('body[data-page-ready="1"]')
    assert state(pg) == "playing"
    panel = ".challenge-panel"
    assert pg.is_visible(panel) and pg.get_attribute(panel, "data-same-world") == "1"
    assert pg.text_content(".play-seed") == str(header["seed"])
    assert pg.get_attribute("#play", "data-session")
    assert ev["replay_id"] in pg.text_content(panel)
    # repeat the agent's actions: the two returns stay equal step after step
    n = min(len(frames) - 1, 60)
    exact = 0.0
    for t in range(1, n + 1):
        action = frames[t]["action"]
        if action == 68:  # cash out: the first click only arms it
            pg.click('.action-pad button[data-action="68"]')
        r = press_and_answer(pg, action=action)
        exact += frames[t]["reward"]
        assert r["reward"] == frames[t]["reward"] and r["episode_return"] == exact
        # the agent's return (summed by the page from the site's replay JSON) equals the player's exactly
        assert float(pg.get_attribute(panel, "data-human")) == exact, t
        assert float(pg.get_attribute(panel, "data-agent")) == exact, t
        assert pg.text_content(f"{panel} .vs-human") == pg.text_content(f"{panel} .vs-agent")
    assert "Level with the agent" in pg.text_content(panel)
    pg.screenshot(path=str(shots / "play-challenge.png"))
    # a different action than the agent's: the returns part
    wrong = next(a for a in (6, 33, 11) if a != frames[n + 1]["action"]) if n + 1 < len(frames) else 6
    if not pg.evaluate("window.__play.s.done"):
        r = press_and_answer(pg, action=wrong)
        assert float(pg.get_attribute(panel, "data-human")) == r["episode_return"]
        assert pg.get_attribute(panel, "data-step") == str(n + 1)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "query, text",
    [
        ("?seed=abc", 'seed "abc" is not a whole number'),
        ("?seed=18446744073709551616", "is not a whole number 0..2^64-1"),
        ("?time_max=0", 'time_max "0" is not a whole number'),
        ("?run=only-a-run", "needs both run and replay"),
        ("?run=no-such-run&replay=w000000-0-x", 'Unknown run "no-such-run"'),
        ("?bogus=1", 'Unknown URL parameter "bogus"'),
        ("?run=RUN&replay=no-such-replay", 'has no replay "no-such-replay"'),
        ("?seed=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", 'seed "<img src=x onerror=alert(1)>"'),
    ],
)
def test_bad_urls_give_a_message_and_a_game(browser, site, query, text):
    p = Page(browser, site["base"], allow=("404",))
    try:
        pg = p.goto("play/" + query.replace("RUN", site["run"].name))
        assert text in pg.text_content(".play-notes")
        assert pg.is_visible(".play-notes")
        assert state(pg) == "playing" and pg.query_selector("img[src=x]") is None
        assert not p.errors, p.errors
    finally:
        p.close()


def test_big_seeds_are_sent_exactly(page):
    big = 2**64 - 1
    pg = page.goto(f"play/?seed={big}")
    assert state(pg) == "playing" and pg.text_content(".play-seed") == str(big)
    env = ProspectorEnv()
    env.reset(seed=big)
    check_hud(pg, env.render_state())


def test_unreachable_service_says_so_and_recovers(browser, site):
    port = free_port()
    out = site["root"] / "public-offline"
    build_site(site["runs"], out, docs=False, play_url=f"http://127.0.0.1:{port}")
    server, base = serve_in_thread(out)
    p = Page(browser, base, allow=("ERR_CONNECTION_REFUSED",))
    try:
        pg = p.goto("play/?seed=5")
        assert state(pg) == "offline"
        msg = pg.text_content(".play-message")
        assert f"http://127.0.0.1:{port} cannot be reached" in msg and "prospector play-server" in msg
        assert pg.is_visible(".play-message") and pg.is_visible(".action-pad") and pg.is_visible("nav")
        with PlayServer(port=port):
            pg.click(".play-message .msg-action")
            pg.wait_for_function("document.querySelector('#play').dataset.state === 'playing'", timeout=15000)
            assert pg.is_hidden(".play-message") and pg.text_content(".play-seed") == "5"
            assert not p.errors, p.errors
    finally:
        p.close()
        server.shutdown()


def test_every_page_links_play(page, site):
    for path in ("", "replays/", "analytics/", "runs/", f"runs/{site['run'].name}/"):
        page.page.goto(page.base + "/" + path)
        links = page.page.eval_on_selector_all("nav a", "as => as.map(a => [a.textContent, a.getAttribute('href')])")
        assert ["Play", "/play/"] in links, (path, links)
