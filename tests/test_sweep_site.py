"""A real tiny sweep on the site: its Constellation page in headless Chromium, and the
page's data equal to a recomputation from the sweep's log.

One sweep (PufferLib's Random, three trials of two 1,024-step windows, two at once),
then ``site build``: the page draws one point per scored trial and the Pareto front,
a click on a point opens the trial's run page, the side-by-side link opens the two
trials in the timelapse (one showcase world), with no console errors anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from harness.procs import REPO
from harness.sweeps import TINY_SPACE
from harness.testing import BrowserPage, require_chromium
from prospector.pipeline.store.log import read_events
from prospector.sitegen.build import build_site
from prospector.sitegen.serve import serve_in_thread

require_chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep-site")
    runs = root / "runs"
    space = root / "tiny.toml"
    space.write_text(TINY_SPACE.format(trials=3).replace("parallel = 1", "parallel = 2"))
    cmd = [sys.executable, "-m", "prospector.cli", "sweep", "--no-wandb", "--space", str(space)]
    done = subprocess.run(
        cmd + ["--runs-dir", str(runs), "--sweep-id", "sw"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = root / "public"
    report = build_site(runs, out, docs=False)
    assert not report.problems, [str(p) for p in report.problems]
    server, base = serve_in_thread(out)
    yield {"runs": runs, "out": out, "base": base, "doc": json.loads((out / "data/sweeps/sw.json").read_text())}
    server.shutdown()


class Page(BrowserPage):
    record_failed_requests = True


@pytest.fixture
def page(browser, site):
    p = Page(browser, site["base"])
    yield p
    p.close()


def test_the_page_data_equals_a_recomputation_from_the_sweep_log(site):
    events = read_events(site["runs"] / "sweeps" / "sw").events
    suggested = {e["trial"]: e for e in events if e["type"] == "trial_suggested"}
    finished = {e["trial"]: e for e in events if e["type"] == "trial_finished"}
    failed = {e["trial"]: e for e in events if e["type"] == "trial_failed"}
    doc = site["doc"]
    assert [t["trial"] for t in doc["trials"]] == sorted(suggested)
    for t in doc["trials"]:
        n = t["trial"]
        assert t["settings"] == suggested[n]["settings"] and t["run_id"] == suggested[n]["trial_run"]
        assert t["status"] == ("finished" if n in finished else "failed" if n in failed else "running")
        assert (t["score"], t["cost"]) == (
            (finished[n]["score"], finished[n]["cost"]) if n in finished else (None, None)
        )
        rows = [e for e in read_events(site["runs"] / t["run_id"]) if e["type"] == "window_closed"]
        assert doc["curves"][str(n)]["env_steps_total"] == [r["env_steps_total"] for r in rows]
        assert doc["curves"][str(n)]["net_profit_mean"] == [r["net_profit_mean"] for r in rows]
    points = {n: (e["score"], e["cost"]) for n, e in finished.items()}
    front = sorted(
        (c, n)
        for n, (s, c) in points.items()
        if not any(s2 >= s and c2 <= c and (s2, c2) != (s, c) for m, (s2, c2) in points.items() if m != n)
    )
    assert doc["front"] == [n for _, n in front]
    assert doc["best"] == max(points, key=lambda n: (points[n][0], -n))
    assert doc["default"] == 0 and suggested[0]["default"] is True


def test_the_constellation_page_draws_every_trial_and_opens_runs_without_errors(page, site, shots):
    doc = site["doc"]
    scored = [t for t in doc["trials"] if t["status"] == "finished"]
    assert len(scored) >= 2, "the tiny sweep needs two scored trials"
    pg = page.goto("/sweeps/sw/")
    pg.wait_for_selector("#constellation[data-ready='true']", timeout=30000)
    assert pg.locator("#cs-score-cost .cs-point").count() == len(scored)
    assert pg.locator("#cs-score-cost .cs-front").count() == 1
    assert pg.locator("#cs-settings .cs-setting").count() == len(doc["space"])
    assert pg.locator("#cs-parallel .cs-line").count() == len(scored)
    # every point lies inside its own chart (each chart is scaled to its own size)
    outside = pg.evaluate(
        """() => [...document.querySelectorAll('#constellation svg')].flatMap((s) => {
          const [, , w, h] = s.getAttribute('viewBox').split(' ').map(Number);
          return [...s.querySelectorAll('circle')].filter((c) => {
            const x = Number(c.getAttribute('cx')), y = Number(c.getAttribute('cy'));
            return !(x >= 0 && x <= w && y >= 0 && y <= h);
          }).map((c) => s.getAttribute('aria-label'));
        })"""
    )
    assert outside == []
    pg.screenshot(path=str(shots / "sweep-constellation.png"), full_page=True)
    # hover: the trial's whole config
    best = next(t for t in scored if t["trial"] == doc["best"])
    pg.hover(f"#cs-score-cost .cs-point[data-trial='{best['trial']}']")
    tip = pg.inner_text(".cs-tip")
    assert best["run_id"] in tip and all(name in tip for name in best["settings"])
    # click: the trial's run page
    pg.click(f"#cs-score-cost .cs-point[data-trial='{best['trial']}']")
    pg.wait_for_url(f"**/runs/{best['run_id']}/", timeout=20000)
    assert page.errors == []


def test_the_side_by_side_link_opens_two_trials_in_one_world(page, site):
    doc = site["doc"]
    assert doc["side_by_side_url"] is not None
    pg = page.goto("/sweeps/sw/")
    pg.wait_for_selector("#constellation[data-ready='true']", timeout=30000)
    href = pg.get_attribute(".cs-side-link", "href")
    best = next(t for t in doc["trials"] if t["trial"] == doc["best"])
    worst = next(t for t in doc["trials"] if t["trial"] == doc["worst"])
    assert f"run={best['run_id']}" in href and f"run_b={worst['run_id']}" in href and "mode=side" in href
    pg.click(".cs-side-link")
    for lane in ("#player-a", "#player-b"):
        pg.wait_for_selector(f"{lane}[data-state='ready']", timeout=30000)
    lanes = pg.evaluate(
        "[[__timelapse.A.runId, __timelapse.A.replayId], [__timelapse.B.runId, __timelapse.B.replayId]]"
    )
    assert [run for run, _ in lanes] == [best["run_id"], worst["run_id"]]
    seeds = set()
    for run, replay in lanes:
        catalog = json.loads((site["out"] / f"data/runs/{run}/replays.json").read_text())
        seeds |= {r["seed"] for r in catalog["replays"] if r["replay_id"] == replay}
    assert seeds == {doc["showcase_seed"]}  # both trials in the sweep's one showcase world
    assert page.errors == []


def test_the_sweeps_index_lists_the_sweep(page, site):
    pg = page.goto("/sweeps/")
    link = pg.locator("a[href$='sweeps/sw/']")
    assert link.count() == 1
    assert page.errors == []


def test_wandb_gets_the_same_table_as_the_page(site, tmp_path, monkeypatch):
    import shutil

    from prospector.pipeline.store.sweeps import constellation, read_sweep, table_rows
    from prospector.pipeline.sweep import SweepWandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    sweep_dir = tmp_path / "sw"
    shutil.copytree(site["runs"] / "sweeps" / "sw", sweep_dir, ignore=shutil.ignore_patterns("*.lock"))
    sink = SweepWandb(sweep_dir, read_sweep(sweep_dir), site["runs"])
    sink.finish()
    tables = sorted(sweep_dir.glob("wandb/*/files/media/table/sweep/trials_*.table.json"))
    assert tables
    logged = json.loads(tables[-1].read_text())
    columns, rows = table_rows(constellation(sweep_dir, site["runs"]))
    assert logged["columns"] == columns
    assert logged["data"] == json.loads(json.dumps(rows))
    page = {t["trial"]: (t["score"], t["cost"]) for t in site["doc"]["trials"]}
    assert {row[0]: (row[3], row[4]) for row in logged["data"]} == page


def test_the_sweep_pages_are_built_incrementally(site):
    again = build_site(site["runs"], site["out"], docs=False)
    sweep_outputs = [r for r in again.rendered if "sweeps/" in r]
    assert sweep_outputs == []  # nothing in the sweep or its runs changed: nothing rewritten
