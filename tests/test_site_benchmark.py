"""The site shows `prospector benchmark` results: benchmark.json, the bots'
reference lines in windows.json (drawn on /analytics), the table on the run page,
incremental rebuilds, and a malformed benchmark event never breaking the build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from harness.synth import SyntheticRun
from prospector.pipeline import benchmark as B
from prospector.pipeline.store.log import EventLog
from prospector.sitegen.build import build_site

BOTS = ("random", "greedy_miner", "cautious_scanner", "market_timer")
NUM = (int, float)


def fake_infos(mean: float, n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        {
            "net_profit": float(v),
            "survival": 1.0,
            "profit_per_tick": float(v) / 1e4,
            "overheat_ticks": 3.0,
            "pirate_encounters": 4.0,
            "end_reason": "timeout",
            "episode_length": 100,
            "time_remaining": 0,
            "episode_return": 1.0,
        }
        for v in rng.normal(mean, 1000, n)
    ]


def benchmark_payload(window_id: int = 2) -> dict:
    rows = [{"policy": "ppo", "kind": "ppo", **B.bootstrap_rows(fake_infos(50_000))}]
    for i, name in enumerate(BOTS):
        rows.append({"policy": name, "kind": "bot", **B.bootstrap_rows(fake_infos(10_000 * (i + 1), seed=i + 1))})
    beats = {r["policy"]: rows[0]["mean_net_profit_ci95"][0] > r["mean_net_profit_ci95"][1] for r in rows[1:]}
    return {
        "window_id": window_id,
        "checkpoint": f"checkpoints/ckpt_{window_id:06d}.pt",
        "checkpoint_sha256": "0" * 64,
        "env_steps_total": 65536 * (window_id + 1),
        "episodes": 50,
        "time_max": 20000,
        "seeds_file": "benchmarks/eval_seeds.txt",
        "seeds_sha256": "a" * 64,
        "policy_eval": "seeded sampling",
        "ci_method": B.CI_METHOD,
        "columns": [c[0] for c in B.COLUMNS],
        "rows": rows,
        "ppo_beats": beats,
        "ppo_beats_all_bots": all(beats.values()),
    }


def make_run(tmp_path: Path, windows: int = 3) -> SyntheticRun:
    run = SyntheticRun(tmp_path / "runs", frames=30)
    run.create(windows)
    return run


def append(run: SyntheticRun, type_: str, payload: dict) -> None:
    with EventLog(run.dir, exclusive=False, create=False) as log:
        log.append(type_, **payload)


def load(path: Path):
    return json.loads(Path(path).read_text())


def test_benchmark_json_reference_lines_and_run_page(tmp_path):
    run = make_run(tmp_path)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    data = out / "data" / "runs" / run.run_id
    assert load(data / "windows.json")["reference"] == {}
    assert not (data / "benchmark.json").exists()
    entry = load(out / "data" / "runs.json")["runs"][0]
    assert entry["benchmark_url"] is None

    payload = benchmark_payload()
    append(run, "benchmark", payload)
    report = build_site(run.runs_dir, out, docs=False)
    assert f"data/runs/{run.run_id}/windows.json" in report.rendered  # the key covers the benchmark
    assert f"data/runs/{run.run_id}/benchmark.json" in report.rendered

    doc = load(data / "benchmark.json")
    assert doc["run_id"] == run.run_id and doc["window_id"] == 2 and doc["episodes"] == 50
    assert [r["policy"] for r in doc["rows"]] == ["ppo", *BOTS]
    assert doc["columns"] == [c[0] for c in B.COLUMNS]
    for row in doc["rows"]:
        for col in doc["columns"]:
            assert isinstance(row[col], NUM)
            lo, hi = row[col + "_ci95"]
            assert lo <= row[col] <= hi
    assert doc["ppo_beats_all_bots"] is True and set(doc["ppo_beats"]) == set(BOTS)

    ref = load(data / "windows.json")["reference"]
    assert set(ref) == {
        "net_profit_mean",
        "survival_rate",
        "profit_per_tick_mean",
        "overheat_ticks_mean",
        "pirate_encounters_mean",
    }
    lines = ref["net_profit_mean"]
    assert [r["label"] for r in lines] == list(BOTS)  # bots only, not PPO
    by_policy = {r["policy"]: r for r in payload["rows"]}
    for line in lines:
        assert line["value"] == by_policy[line["label"]]["mean_net_profit"]
    windows_doc = load(data / "windows.json")
    for metric in ref:
        assert metric in windows_doc["metrics"]  # each line has a chart

    entry = load(out / "data" / "runs.json")["runs"][0]
    assert entry["benchmark_url"] == f"data/runs/{run.run_id}/benchmark.json"
    page = (out / "runs" / run.run_id / "index.html").read_text()
    assert 'id="benchmark"' in page and "benchmark.json" in page
    for name in ("ppo", *BOTS):
        assert f'data-policy="{name}"' in page
    mean = f"{by_policy['greedy_miner']['mean_net_profit']:,.0f}"
    assert mean in page
    assert "PPO beats every bot on mean net profit" in page

    # nothing new: nothing rendered again
    again = build_site(run.runs_dir, out, docs=False)
    assert not [f for f in again.rendered if f.startswith("data/")]


def test_latest_benchmark_wins_and_a_bad_one_is_ignored(tmp_path):
    run = make_run(tmp_path)
    first = benchmark_payload(window_id=1)
    append(run, "benchmark", first)
    second = benchmark_payload(window_id=2)
    second["rows"][1]["mean_net_profit"] = 12_345.0
    second["rows"][1]["mean_net_profit_ci95"] = [12_000.0, 13_000.0]
    append(run, "benchmark", second)
    # a benchmark event in the log that the reader cannot use (written by hand, not validated)
    path = run.dir / "events.jsonl"
    last = json.loads(path.read_text().splitlines()[-1])
    bad = {"seq": last["seq"] + 1, "ts": last["ts"], "run_id": run.run_id, "type": "benchmark", "rows": "oops"}
    with open(path, "a") as f:
        f.write(json.dumps(bad) + "\n")
    out = tmp_path / "public"
    report = build_site(run.runs_dir, out, docs=False)
    doc = load(out / "data" / "runs" / run.run_id / "benchmark.json")
    assert doc["window_id"] == 2 and doc["rows"][1]["mean_net_profit"] == 12_345.0
    ref = load(out / "data" / "runs" / run.run_id / "windows.json")["reference"]
    assert ref["net_profit_mean"][0] == {"label": "random", "value": 12_345.0}
    assert (out / "runs" / run.run_id / "index.html").is_file()
    assert report.runs == 1


def test_analytics_script_draws_reference_series():
    """The analytics module reads windows.json's `reference` and adds one dashed series
    per bot to the matching chart (the browser test checks it draws)."""
    js = (Path(__file__).resolve().parents[1] / "sitegen" / "static" / "analytics.js").read_text()
    assert "first.reference" in js and "dash:" in js and "dataset.references" in js
