"""The agent in the browser: policy.js in headless Chromium, and /play's agent panel
against a real ``prospector play-server`` process.

The site is built from a real tiny training run. policy.js's probabilities match torch's
(the checkpoint itself) on 1,200 observations from real play; bad policy files reject
with a clear message. On /play: hints are off by default, then show the policy's top-3
for each state the service returns; "let the agent fly" sends N actions, each the
policy's choice for the state before it (argmax checked against the checkpoint in
numpy, sampled against the page's own seeded stream); any key or click takes the
controls back; challenge mode marks the first step where the player left the replay's
actions; a missing or corrupt policy file is reported and play goes on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from harness.observations import real_observations
from harness.testing import BrowserPage, require_chromium, tiny_config, train_tiny_run
from prospector.pipeline.evaluator import load_checkpoint
from prospector.pipeline.store import policy_file as PF
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import read_replay
from prospector.sitegen.build import build_site
from prospector.sitegen.policies import replay_observations
from prospector.sitegen.serve import serve_in_thread

from prospector import spec as S

require_chromium()

SEED = 7
PANEL = ".agent-panel"


@pytest.fixture(scope="module")
def site(tmp_path_factory, play):
    root = tmp_path_factory.mktemp("policy_browser")
    runs = root / "runs"
    run = train_tiny_run(runs, windows=2)
    out = root / "public"
    report = build_site(runs, out, docs=False, play_url=play.url)
    assert not report.problems, [str(p) for p in report.problems]
    catalog = json.loads((out / f"data/runs/{run.name}/policies.json").read_text())
    server, base = serve_in_thread(out)
    yield {"out": out, "base": base, "run": run, "catalog": catalog}
    server.shutdown()


class Page(BrowserPage):
    ready = 'body[data-page-ready="1"]'


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    p.close()
    assert not p.errors, p.errors


def exported(site, window_id: int) -> PF.ExportedPolicy:
    entry = next(p for p in site["catalog"]["policies"] if p["window_id"] == window_id)
    return PF.load_exported(
        (site["out"] / entry["header_url"]).read_bytes(), (site["out"] / entry["weights_url"]).read_bytes()
    )


def header_url(site, window_id: int) -> str:
    return next(p for p in site["catalog"]["policies"] if p["window_id"] == window_id)["header_url"]


def ready_agent(pg, state="ready"):
    pg.wait_for_selector(f'{PANEL}[data-policy-state="{state}"]', timeout=30000)


def step_of(pg) -> int:
    return int(pg.get_attribute("#play", "data-step"))


def obs_now(pg) -> np.ndarray:
    return np.asarray(pg.evaluate("window.__play.s.obs"), dtype=np.float32)


def wait_idle(pg, step: int):
    pg.wait_for_function(
        f"Number(document.querySelector('#play').dataset.step) === {step}"
        " && document.querySelector('#play').dataset.busy === '0'",
        timeout=10000,
    )


# ------------------------------------------------------------------ policy.js


def plain_page(browser, site, allow=()):
    """A site page for running policy.js by itself (no page script to wait for)."""
    p = BrowserPage(browser, site["base"], allow=allow)
    p.goto("404.html")
    return p


def test_js_probabilities_match_torch_on_real_observations(browser, site):
    obs = real_observations(1200, seed=5)
    p = plain_page(browser, site)
    pg = p.page
    for ev in (e for e in read_events(site["run"]).events if e["type"] == "checkpoint_saved"):
        policy, _ = load_checkpoint(site["run"] / ev["path"], ev["sha256"])
        with torch.no_grad():
            want = torch.softmax(policy.forward_eval(torch.as_tensor(obs))[0], dim=-1).numpy()
        got = np.asarray(
            pg.evaluate(
                """async ([src, obs]) => {
            const { load } = await import(src);
            const policy = await load(obs.url);
            return obs.rows.map((o) => Array.from(policy.probs(Float32Array.from(o))));
        }""",
                [
                    site["base"] + "/static/policy.js",
                    {"url": f"{site['base']}/{header_url(site, ev['window_id'])}", "rows": obs.tolist()},
                ],
            )
        )
        assert got.shape == (1200, S.N_ACTIONS)
        assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()
        assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
    p.close()
    assert not p.errors, p.errors


@pytest.mark.parametrize(
    "name,make,message",
    [
        ("missing", None, "is missing (HTTP 404)"),
        ("truncated", lambda h, w: (h, w[:-100]), "(truncated)"),
        ("version", lambda h, w: ({**h, "version": 99}, w), "version 99 is not supported"),
        (
            "shape",
            lambda h, w: ({**h, "layers": [h["layers"][0], {**h["layers"][1], "in": 64}, h["layers"][2]]}, w),
            "takes 64 inputs but the layer before gives 128",
        ),
        (
            "size",
            lambda h, w: ({**h, "layers": [{**h["layers"][0], "out": 64}, *h["layers"][1:]]}, w),
            "does not fit the weights file",
        ),
        (
            "lstm",
            lambda h, w: (
                {
                    "format": PF.FORMAT,
                    "version": PF.VERSION,
                    "supported": False,
                    "reason": "the LSTM policy needs its recurrent state",
                },
                w,
            ),
            "cannot run in the page: the LSTM policy",
        ),
        ("json", lambda h, w: ("{not json", w), "is not JSON"),
    ],
)
def test_js_rejects_bad_policy_files(browser, site, name, make, message):
    good = site["out"] / header_url(site, 1)
    bad = site["out"] / "bad" / name
    bad.mkdir(parents=True, exist_ok=True)
    header, weights = json.loads(good.read_bytes()), (good.parent / PF.file_names(1)[1]).read_bytes()
    if make is not None:
        h, w = make(header, weights)
        (bad / good.name).write_text(h if isinstance(h, str) else json.dumps(h))
        (bad / PF.file_names(1)[1]).write_bytes(w)
    p = plain_page(browser, site, allow=("404",))
    try:
        pg = p.page
        result = pg.evaluate(
            """async ([src, url]) => {
            const { load } = await import(src);
            return load(url).then(() => 'loaded', (e) => `${e.name}: ${e.message}`);
        }""",
            [site["base"] + "/static/policy.js", f"{site['base']}/bad/{name}/{good.name}"],
        )
        assert result.startswith("PolicyError: ") and message in result, result
    finally:
        p.close()
    assert not p.errors, p.errors


# ------------------------------------------------------------------ /play: hints


def test_hints_are_off_then_follow_the_state(page, site):
    pg = page.goto(f"play/?seed={SEED}")
    ready_agent(pg)
    assert pg.get_attribute(PANEL, "data-window") == "1"  # the latest window by default
    assert pg.get_attribute(PANEL, "data-hints") == "0" and not pg.is_visible(".agent-hints")
    assert pg.eval_on_selector_all(".action-pad button.hint", "bs => bs.length") == 0
    policy = exported(site, 1)
    pg.check(".tg-hints")
    seen = set()
    for key in (None, "w", "1", "a", "h", "l"):
        if key is not None:
            before = step_of(pg)
            pg.keyboard.press(key)
            wait_idle(pg, before + 1)
        probs = policy.probs(obs_now(pg))[0]
        top = list(np.argsort(-probs, kind="stable")[:3])
        shown = [int(a) for a in pg.get_attribute(PANEL, "data-hint-actions").split(",")]
        assert shown == top, (key, shown, top)
        assert pg.get_attribute(PANEL, "data-hint-step") == str(step_of(pg))
        lit = pg.eval_on_selector_all(
            ".action-pad button.hint", "bs => bs.map(b => [Number(b.dataset.action), Number(b.dataset.hint)])"
        )
        assert sorted(lit, key=lambda x: x[1]) == [[a, i + 1] for i, a in enumerate(top)]
        texts = pg.eval_on_selector_all(".agent-hints li .hint-p", "ls => ls.map(l => l.textContent)")
        assert len(texts) == 3 and abs(float(texts[0].rstrip("%")) - 100 * probs[top[0]]) <= 0.5
        seen.add((tuple(top), tuple(round(float(probs[a]), 3) for a in top)))
    assert len(seen) > 1  # the hints changed with the state
    pg.uncheck(".tg-hints")
    assert pg.eval_on_selector_all(".action-pad button.hint", "bs => bs.length") == 0


# ------------------------------------------------------------------ /play: let the agent fly


def record_steps(pg) -> list:
    sent = []
    pg.on(
        "response",
        lambda r: (
            sent.append((json.loads(r.request.post_data)["action"], r))
            if r.url.endswith("/step") and r.request.method == "POST"
            else None
        ),
    )
    return sent


def test_the_agent_flies_n_argmax_steps_of_its_policy(page, site):
    pg = page.goto(f"play/?seed={SEED}")
    ready_agent(pg)
    policy = exported(site, 1)
    states = [obs_now(pg)]
    sent = record_steps(pg)
    pg.fill(".fly-steps", "6")
    pg.select_option(".fly-mode", "argmax")
    pg.click(".btn-fly")
    pg.wait_for_function("document.querySelector('.agent-panel').dataset.flying === '0'", timeout=30000)
    assert pg.get_attribute(PANEL, "data-flown") == "6" and step_of(pg) == 6
    assert len(sent) == 6
    for action, response in sent:
        body = response.json()
        want = int(policy.probs(states[-1])[0].argmax())
        assert action == want
        states.append(np.asarray(body["obs"], dtype=np.float32))
    assert "flew 6 steps" in pg.text_content(".fly-status")


def test_sampled_flight_follows_the_seeded_stream(page, site):
    pg = page.goto(f"play/?seed={SEED}")
    ready_agent(pg)
    states = [pg.evaluate("window.__play.s.obs")]
    sent = record_steps(pg)
    pg.fill(".fly-steps", "5")
    pg.fill(".fly-seed", "42")
    pg.click(".btn-fly")
    pg.wait_for_function("document.querySelector('.agent-panel').dataset.flying === '0'", timeout=30000)
    assert len(sent) == 5 and step_of(pg) == 5
    states += [r.json()["obs"] for _, r in sent[:-1]]
    # the page's policy with a fresh stream of the same seed picks the same actions on those states
    again = pg.evaluate(
        """async ([src, states]) => {
        const { rng } = await import(src);
        const draw = rng(42);
        return states.map((o) => window.__play.agent.policy.sample(Float32Array.from(o), draw()));
    }""",
        [site["base"] + "/static/policy.js", states],
    )
    assert [a for a, _ in sent] == again
    # ... and they are the policy's: every one has some probability there
    policy = exported(site, 1)
    for obs, (action, _) in zip(states, sent):
        assert policy.probs(np.asarray(obs, dtype=np.float32))[0][action] > 0


def test_any_key_or_click_takes_the_controls_back(page, site):
    pg = page.goto(f"play/?seed={SEED}")
    ready_agent(pg)
    sent = record_steps(pg)
    pg.fill(".fly-steps", "500")
    for how in ("key", "click"):
        start = step_of(pg)
        # the count shown is this flight's from its start (the second flight once waited on
        # the first one's count and was taken back before it had flown)
        shown_at_start = pg.evaluate(
            "() => { document.querySelector('.btn-fly').click();"
            " return document.querySelector('.agent-panel').dataset.flown; }"
        )
        assert shown_at_start == "0"
        pg.wait_for_function(
            "Number(document.querySelector('.agent-panel').dataset.flown || 0) >= 2"
            " && document.querySelector('.agent-panel').dataset.flying === '1'",
            timeout=30000,
        )
        if how == "key":
            pg.keyboard.press("x")  # a hotkey: it takes the controls, it does not mine
        else:
            pg.click('.action-pad button[data-action="6"]')
        pg.wait_for_function("document.querySelector('.agent-panel').dataset.flying === '0'", timeout=10000)
        pg.wait_for_function("document.querySelector('#play').dataset.busy === '0'")
        pg.wait_for_timeout(1000)  # nothing more is sent after that
        flown = int(pg.get_attribute(PANEL, "data-flown"))
        assert 2 <= flown < 500
        assert step_of(pg) == start + flown
        pg.wait_for_timeout(500)
        assert step_of(pg) == start + flown
        assert "took the controls back" in pg.text_content(".fly-status")
    assert len(sent) == step_of(pg)
    # the player has the controls: a key steps again
    before = step_of(pg)
    pg.keyboard.press("h")
    wait_idle(pg, before + 1)


# ------------------------------------------------------------------ /play: challenge mode


def test_challenge_marks_where_the_player_parted_from_the_agent(page, site):
    run = site["run"]
    # an every_window replay: its eval seed is small (a showcase seed may exceed what the page can challenge)
    ev = max(
        (e for e in read_events(run).events if e["type"] == "replay_recorded" and "every_window" in e["tags"]),
        key=lambda e: (e["steps"], -e["window_id"]),
    )
    header, frames = read_replay(run / ev["path"])
    assert len(frames) > 8
    pg = page.goto(f"play/?run={run.name}&replay={ev['replay_id']}")
    ready_agent(pg)
    panel = ".challenge-panel"
    assert pg.get_attribute(PANEL, "data-window") == str(ev["window_id"])  # the replay's own window
    policy = exported(site, ev["window_id"])
    returns, human = [0.0], [0.0]
    for t in range(1, len(frames)):
        returns.append(returns[-1] + frames[t]["reward"])
    for t in range(1, 4):  # the agent's own first actions: no parting yet
        pg.evaluate("a => window.__play.press(a, null, true)", frames[t]["action"])
        wait_idle(pg, t)
        human.append(pg.evaluate("window.__play.s.ret"))
        assert pg.get_attribute(panel, "data-parted") == ""
        assert int(pg.get_attribute(panel, "data-agent-would")) == int(policy.probs(obs_now(pg))[0].argmax())
    other = next(a for a in (6, 33, 11, 8) if a != frames[4]["action"])
    for t, action in ((4, other), (5, 6), (6, 33)):
        pg.evaluate("a => window.__play.press(a, null, true)", action)
        wait_idle(pg, t)
        human.append(pg.evaluate("window.__play.s.ret"))
        assert pg.get_attribute(panel, "data-parted") == "4"  # the first divergent step stays marked
        since = (human[t] - human[3]) - (returns[min(t, len(frames) - 1)] - returns[3])
        assert float(pg.get_attribute(panel, "data-since-diff")) == pytest.approx(since, abs=1e-9)
        assert int(pg.get_attribute(panel, "data-agent-would")) == int(policy.probs(obs_now(pg))[0].argmax())
    assert pg.is_visible(f"{panel} .vs-part")
    assert "parted ways at step 4" in pg.text_content(f"{panel} .vs-parted")
    # playing the same world again starts a fresh comparison
    pg.click(".btn-restart")
    pg.wait_for_function("document.querySelector('#play').dataset.step === '0'")
    assert pg.get_attribute(panel, "data-parted") == ""


# ------------------------------------------------------------------ bad policy files on /play


@pytest.mark.parametrize(
    "damage,text",
    [
        ("truncate", "truncated"),
        ("delete", "is missing (HTTP 404)"),
        ("version", "version 7 is not supported"),
    ],
)
def test_a_bad_policy_file_is_reported_and_play_goes_on(browser, site, damage, text):
    head = site["out"] / header_url(site, 1)
    weights = head.parent / PF.file_names(1)[1]
    saved = {p: p.read_bytes() for p in (head, weights)}
    try:
        if damage == "truncate":
            weights.write_bytes(saved[weights][: len(saved[weights]) // 2])
        elif damage == "delete":
            weights.unlink()
        else:
            head.write_text(json.dumps({**json.loads(saved[head]), "version": 7}))
        p = Page(browser, site["base"], allow=("404",))
        try:
            pg = p.goto(f"play/?seed={SEED}")
            ready_agent(pg, "error")
            assert text in pg.text_content(".agent-status") and "Play goes on" in pg.text_content(".agent-status")
            assert pg.is_disabled(".btn-fly")
            pg.check(".tg-hints")
            assert pg.eval_on_selector_all(".action-pad button.hint", "bs => bs.length") == 0
            pg.keyboard.press("h")  # the game itself is unaffected
            wait_idle(pg, 1)
            # an older window still loads
            pg.select_option(".agent-window", "0")
            ready_agent(pg)
            assert pg.get_attribute(PANEL, "data-window") == "0"
        finally:
            p.close()
        assert not p.errors, p.errors
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


# ------------------------------------------------------------------ the replay player: another window's policy


def test_replay_player_shows_another_windows_policy_on_the_replays_states(page, site):
    run = site["run"]
    ev = next(
        e
        for e in read_events(run).events
        if e["type"] == "replay_recorded" and e["window_id"] == 1 and "every_window" in e["tags"]
    )
    header, frames = read_replay(run / ev["path"])
    states = replay_observations(header, frames)
    pg = page.goto(f"replays/?run={run.name}&replay={ev['replay_id']}")
    pg.wait_for_selector('#player[data-state="ready"]')
    compare = "#player .compare-panel"
    pg.wait_for_function("!document.querySelector('#player .compare-window').disabled", timeout=30000)
    for window_id in (1, 0):
        pg.select_option("#player .compare-window", str(window_id))
        pg.wait_for_selector(f'{compare}[data-state="ready"][data-window="{window_id}"]', timeout=30000)
        policy = exported(site, window_id)
        for _ in range(3):
            pg.click("#player .btn-next")
            pg.wait_for_function(
                "document.querySelector('#player .compare-panel').dataset.frame"
                " === document.querySelector('#player').dataset.frame"
            )
            i = int(pg.get_attribute("#player", "data-frame"))
            if i == 0:
                continue
            shown = [int(a) for a in pg.get_attribute(compare, "data-actions").split(",")]
            probs = policy.probs(states[i - 1])[0]
            assert shown == list(np.argsort(-probs, kind="stable")[:3])
            if window_id == 1:  # the replay's own window: its recorded top-3 on the same state
                assert shown == [a for a, _ in frames[i]["probs"]]


def test_an_lstm_run_says_why_it_cannot_fly(browser, play, tmp_path):
    from prospector.pipeline.trainer import train

    train(tiny_config(tmp_path / "runs", windows=1, time_max=40, eval_episodes=1, policy="lstm"))
    build_site(tmp_path / "runs", tmp_path / "public", docs=False, play_url=play.url)
    server, base = serve_in_thread(tmp_path / "public")
    p = Page(browser, base)
    try:
        pg = p.goto(f"play/?seed={SEED}")
        ready_agent(pg, "error")
        assert "can run in the page: the LSTM policy" in pg.text_content(".agent-status")
        assert "LSTM" in pg.text_content(".agent-status")
        assert pg.is_disabled(".btn-fly")
        assert pg.eval_on_selector(".agent-window option", "o => o.disabled")
        before = step_of(pg)
        pg.keyboard.press("h")  # the game plays on
        wait_idle(pg, before + 1)
    finally:
        p.close()
        server.shutdown()
    assert not p.errors, p.errors
