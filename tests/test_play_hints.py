"""/play's hints come from the best window of the newest run with a policy file, and say so.

policies.json names the run's best window (the highest mean net profit of its training
episodes among the windows whose policy runs in the page); the agent panel on /play
loads that window of the newest such run by default and its message says why. Challenge
mode still loads the replay's own window.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.testing import BrowserPage, require_chromium, train_tiny_run
from prospector.pipeline.store.log import LogRead
from prospector.sitegen.build import RunData, build_site
from prospector.sitegen.policies import best_policy
from prospector.sitegen.serve import serve_in_thread

require_chromium()

PANEL = ".agent-panel"


def run_with_rows(profits: list[float | None]) -> RunData:
    rows = [{"window_id": i, "net_profit_mean": p, "env_steps_total": 1000 * (i + 1)} for i, p in enumerate(profits)]
    return RunData("r", Path("r"), LogRead(path=Path("r/events.jsonl")), "r", windows=rows)


def entries(n: int, status: dict | None = None) -> list[dict]:
    status = status or {}
    return [{"window_id": i, "status": status.get(i, "ok"), "env_steps_total": 1000 * (i + 1)} for i in range(n)]


def test_the_best_window_is_the_highest_mean_net_profit_not_the_latest():
    run = run_with_rows([50.0, 300.0, 120.0, None])
    assert best_policy(run, entries(4))["window_id"] == 1
    assert best_policy(run, entries(4))["value"] == 300.0
    # a window whose policy cannot run in the page is never the hints' window
    assert best_policy(run, entries(4, {1: "unsupported"}))["window_id"] == 2
    assert best_policy(run_with_rows([10.0, 10.0]), entries(2))["window_id"] == 1  # the latest of equals
    assert best_policy(run_with_rows([None, None]), entries(2)) is None


@pytest.fixture(scope="module")
def site(tmp_path_factory, play):
    root = tmp_path_factory.mktemp("play_hints")
    runs = root / "runs"
    run = train_tiny_run(runs, windows=3)
    out = root / "public"
    report = build_site(runs, out, docs=False, play_url=play.url)
    assert not report.problems, [str(p) for p in report.problems]
    catalog = json.loads((out / f"data/runs/{run.name}/policies.json").read_text())
    server, base = serve_in_thread(out)
    yield {"base": base, "run": run, "catalog": catalog}
    server.shutdown()


class Page(BrowserPage):
    ready = 'body[data-page-ready="1"]'


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    p.close()
    assert not p.errors, p.errors


def test_play_loads_the_best_window_and_says_so(page, site):
    catalog = site["catalog"]
    rows = {}
    for line in (site["run"] / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["type"] == "window_closed" and event["net_profit_mean"] is not None:
            rows[event["window_id"]] = event["net_profit_mean"]
    ok = [p["window_id"] for p in catalog["policies"] if p["status"] == "ok" and p["window_id"] in rows]
    assert ok, "the tiny run needs a window with episodes and a policy"
    expected = max(ok, key=lambda w: (rows[w], w))
    assert catalog["best"]["window_id"] == expected
    pg = page.goto("play/?seed=7")
    pg.wait_for_selector(f'{PANEL}[data-policy-state="ready"]', timeout=30000)
    assert pg.get_attribute(PANEL, "data-window") == str(expected)
    assert pg.get_attribute(PANEL, "data-pick") == "best"
    text = pg.inner_text(PANEL)
    assert "Hints come from this window: the best of the newest run with a policy" in text
