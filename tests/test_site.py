"""The static site generator: JSON API, pages, incremental builds, bad input,
HTML escaping, art manifest, Vercel config and deploy up to the CLI call."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness.synth import SyntheticRun
from harness.testing import train_tiny_run
from prospector.pipeline.store.log import EventLog, read_events
from prospector.pipeline.store.replays import read_replay
from prospector.sitegen import assets as A
from prospector.sitegen import deploy as D
from prospector.sitegen import replaydata
from prospector.sitegen.build import Builder, build_site, safe_url
from prospector.sitegen.metrics import CHARTED, COLUMNS

from prospector import art

ROOT = Path(__file__).resolve().parents[1]
KENNEY = A.default_assets_dir()


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A real 3-window training run (tiny settings, serial backend)."""
    runs = tmp_path_factory.mktemp("real_runs")
    return train_tiny_run(runs, windows=3)


@pytest.fixture(scope="module")
def real_site(real_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("real_site")
    report = build_site(real_run.parent, out, docs=False)
    return out, report


def synth(tmp_path, windows=4, run_id=None, **kw) -> SyntheticRun:
    run = SyntheticRun(tmp_path / "runs", run_id=run_id, frames=kw.pop("frames", 60), **kw)
    run.create(windows)
    return run


def load(path: Path):
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------ tiny schema checker

NUM = (int, float)
NUM_OR_NULL = (int, float, type(None))
STR_OR_NULL = (str, type(None))


def check(value, schema, where="$"):
    """A small structural schema check: dict of key -> type/tuple/nested schema/[item schema]."""
    if isinstance(schema, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {type(value).__name__}"
        for key, sub in schema.items():
            assert key in value, f"{where}: missing key {key!r}"
            check(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), f"{where}: expected a list"
        for i, item in enumerate(value):
            check(item, schema[0], f"{where}[{i}]")
    else:
        assert isinstance(value, schema) and not (isinstance(value, bool) and schema in (NUM, NUM_OR_NULL)), (
            f"{where}: {value!r} is not {schema}"
        )


PROBLEM = {"kind": str, "message": str}
RUNS_SCHEMA = {
    "schema": int,
    "base_url": str,
    "play_url": STR_OR_NULL,
    "latest": (dict, type(None)),
    "runs": [
        {
            "run_id": str,
            "started": STR_OR_NULL,
            "wandb_url": STR_OR_NULL,
            "status": str,
            "n_windows": int,
            "n_replays": int,
            "windows_url": str,
            "replays_url": str,
            "page_url": str,
            "latest_replay": (dict, type(None)),
            "problems": [PROBLEM],
            "last_seq": int,
        }
    ],
}
REPLAYS_SCHEMA = {
    "schema": int,
    "run_id": str,
    "tags": [str],
    "replays": [
        {
            "replay_id": str,
            "window_id": int,
            "tags": [str],
            "status": str,
            "url": STR_OR_NULL,
            "return": NUM_OR_NULL,
            "steps": (int, type(None)),
        }
    ],
}
WINDOWS_SCHEMA = {"schema": int, "run_id": str, "n": int, "metrics": [str], "labels": dict, "columns": dict}
FRAME_SCHEMA = {"t": int, "action": (int, type(None)), "reward": NUM, "dt": int, "rs": dict}
REPLAY_SCHEMA = {
    "schema": int,
    "run_id": str,
    "replay_id": str,
    "window_id": int,
    "tags": [str],
    "totals": dict,
    "action_names": [str],
    "commodities": [str],
    "n_frames": int,
    "frames": [FRAME_SCHEMA],
}
RENDER_STATE_KEYS = {
    "t",
    "time_remaining",
    "time_max",
    "ship",
    "limits",
    "cargo",
    "docked",
    "node",
    "neighbors",
    "asteroids",
    "selected",
    "market",
    "map",
    "done",
    "end_reason",
}


# ------------------------------------------------------------------ real run


def test_build_from_real_run_writes_the_json_api(real_run, real_site):
    out, report = real_site
    assert not report.problems, [str(p) for p in report.problems]
    run_id = real_run.name
    runs = load(out / "data/runs.json")
    check(runs, RUNS_SCHEMA)
    assert [r["run_id"] for r in runs["runs"]] == [run_id]
    assert runs["latest"]["run_id"] == run_id
    events = read_events(real_run).events
    closed = [e for e in events if e["type"] == "window_closed"]
    recorded = [e for e in events if e["type"] == "replay_recorded"]
    assert len(closed) == 3 and len(recorded) == 3 * 2  # per window: the eval seed's and the showcase seed's
    # the home pick is the latest window's every_window replay
    latest = max((e for e in recorded if "every_window" in e["tags"]), key=lambda e: e["window_id"])
    assert runs["latest"]["replay_id"] == latest["replay_id"]

    windows = load(out / f"data/runs/{run_id}/windows.json")
    check(windows, WINDOWS_SCHEMA)
    assert windows["n"] == 3 and windows["metrics"] == list(COLUMNS)
    for key in COLUMNS:
        assert len(windows["columns"][key]) == 3
    assert windows["columns"]["window_id"] == [0, 1, 2]
    assert windows["columns"]["return_mean"] == [e["return_mean"] for e in closed]

    catalog = load(out / f"data/runs/{run_id}/replays.json")
    check(catalog, REPLAYS_SCHEMA)
    assert "every_window" in catalog["tags"]
    assert {r["replay_id"] for r in catalog["replays"]} == {e["replay_id"] for e in recorded}
    assert all(r["status"] == "ok" for r in catalog["replays"])


def test_replay_json_round_trips_the_replay_file(real_run, real_site):
    out, _ = real_site
    for ev in (e for e in read_events(real_run).events if e["type"] == "replay_recorded"):
        header, frames = read_replay(real_run / ev["path"])
        doc = load(out / f"data/runs/{real_run.name}/replays/{ev['replay_id']}.json")
        check(doc, REPLAY_SCHEMA)
        assert doc["n_frames"] == len(frames) == ev["steps"] + 1
        assert set(doc["frames"][0]["rs"]) == RENDER_STATE_KEYS
        parts = [load(out / f"data/runs/{real_run.name}/replays/{p}") for p in doc.get("parts", [])]
        full = replaydata.expand_frames(replaydata.join_parts(doc, parts))  # a long one comes in parts
        assert len(full) == len(frames)
        for a, b in zip(frames, full):
            assert same_render_state(b["render_state"], a["render_state"])
            assert b["truth"] == a["truth"]
            assert b["valid"] == a["valid"]
            assert b.get("events", []) == [
                {k: round(v, 4) if isinstance(v, float) else v for k, v in e.items()} for e in a["events"]
            ]
            assert b["action"] == a["action"]
            assert (doc["action_names"][b["action"]] if b["action"] is not None else None) == a["action_name"]
            assert b.get("probs") == a["probs"]
        # compact: much smaller than the frames as recorded
        raw = len(json.dumps(frames, separators=(",", ":")))
        pieces = (out / f"data/runs/{real_run.name}/replays").glob(f"{ev['replay_id']}*.json")
        assert sum(f.stat().st_size for f in pieces) < raw / 2


def same_render_state(got: dict, want: dict) -> bool:
    """Equal, but for the asteroids' value_est, which the reader recomputes (within 0.05)."""
    strip = lambda rs: {
        **rs,
        "asteroids": [
            {k: v for k, v in a.items() if k != "value_est"}  # noqa: E731
            for a in rs["asteroids"]
        ],
    }
    assert strip(got) == strip(want)
    for a, b in zip(got["asteroids"], want["asteroids"]):
        assert abs(a["value_est"] - b["value_est"]) <= 0.05, (a, b)
    return True


def test_long_replays_come_in_parts(tmp_path, monkeypatch):
    from prospector.sitegen import build as B

    monkeypatch.setattr(B, "CHUNK_FRAMES", 100)
    run = SyntheticRun(tmp_path / "runs", run_id="long", frames=250, keep_going=True)
    run.create(1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    rec = [e for e in read_events(run.dir).events if e["type"] == "replay_recorded"][0]
    main = load(out / f"data/runs/long/replays/{rec['replay_id']}.json")
    assert main["n_frames"] == 251 and len(main["frames"]) == 100 and main["chunk"] == 100
    assert main["parts"] == [f"{rec['replay_id']}.1.json", f"{rec['replay_id']}.2.json"]
    # the index: the whole timeline's event types and the strips' series (docs/site.md#progressive-loading)
    assert main["index"] == f"{rec['replay_id']}.index.json" and "series" not in main
    index = load(out / f"data/runs/long/replays/{main['index']}")
    assert len(index["events"]) == 251 and len(index["series"]["rtg"]) == 251 and index["n_frames"] == 251
    parts = [load(out / f"data/runs/long/replays/{p}") for p in main["parts"]]
    assert [p["first"] for p in parts] == [100, 200] and len(parts[1]["frames"]) == 51
    _, frames = read_replay(run.dir / rec["path"])
    full = replaydata.expand_frames(replaydata.join_parts(main, parts))
    assert len(full) == len(frames) == 251
    for a, b in zip(frames, full):
        assert same_render_state(b["render_state"], a["render_state"]) and b["truth"] == a["truth"]
    # an unchanged rebuild keeps all four files; the manifest lists the index and the parts
    again = build_site(run.runs_dir, out, docs=False)
    assert again.rendered == []
    assert load(out / ".sitegen/manifest.json")["outputs"][f"data/runs/long/replays/{rec['replay_id']}.json"][
        "files"
    ] == [f"data/runs/long/replays/{p}" for p in [main["index"], *main["parts"]]]


def test_a_long_replay_starts_with_a_small_main_document_then_a_short_first_part():
    from prospector.sitegen import replaychunks

    frames = [{"t": i, "rs": {}, "events": [{"type": "mine"}] if i % 7 == 0 else []} for i in range(11_501)]
    doc = {"schema": 1, "n_frames": len(frames), "series": {"rtg": [0.0] * len(frames)}, "frames": frames}
    main, pieces = replaychunks.split(doc, "r", 2000)
    assert len(main["frames"]) == replaychunks.FIRST_FRAMES == 200 and "series" not in main
    names = [name for name, _ in pieces]
    assert names[0] == main["index"] == "r.index.json" and names[1:] == main["parts"]
    spans = [(p["first"], p["first"] + len(p["frames"])) for _, p in pieces[1:]]
    assert spans[0] == (200, 1000) and spans[1] == (1000, 3000) and spans[-1] == (11_000, 11_501)
    assert all(a == b for (_, b), (a, _) in zip(spans, spans[1:]))  # contiguous, in order
    index = pieces[0][1]
    assert index["series"] == doc["series"] and index["events"][7] == ["mine"] and index["events"][8] == []
    short = {**doc, "frames": frames[:150]}
    assert replaychunks.split(short, "r", 2000) == (short, [])  # one document, series and all


def test_a_window_with_few_episodes_gives_counts_and_says_what_ended_means():
    import jinja2
    from prospector.sitegen import build as B

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(B.TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    table = env.get_template("_summary.html").module.summary_table

    def summary(episodes):
        return {
            "window_id": 2,
            "previous_window_id": None,
            "metrics": [
                {"key": "episodes", "label": "Episodes", "value": episodes, "text": str(episodes), "change": None},
                {"key": "survival_rate", "label": "Survival rate", "value": 0.0, "text": "0.0%", "change": None},
                {"key": "destroyed_rate", "label": "Destroyed", "value": 0.75, "text": "75.0%", "change": None},
            ],
        }

    few = " ".join(str(table(summary(4))).split())
    assert '0.0% <span class="of-n muted">(0 of 4)</span>' in few and "(3 of 4)" in few
    assert "Only 4 training episodes ended in this window" in few and "steps of 25 %" in few
    assert "cashes out" in few  # what ending means
    many = str(table(summary(200)))
    assert "of-n" not in many and "Only" not in many


def test_pages_of_real_run(real_run, real_site):
    out, _ = real_site
    home = (out / "index.html").read_text()
    assert real_run.name in home and 'id="player"' in home
    assert 'href="/docs/"' in home  # docs link on every page
    for page in (
        "replays/index.html",
        "analytics/index.html",
        "runs/index.html",
        f"runs/{real_run.name}/index.html",
        "404.html",
    ):
        text = (out / page).read_text()
        assert 'href="/docs/"' in text, page
    # the window summary: every section 5 metric with its change vs the previous window
    for label in ("Return (mean)", "Survival rate", "Steps per second", "Entropy"):
        assert label in home
    assert 'class="chg' in home and "vs window 1" in home


def test_assets_are_only_the_manifest_files(real_site):
    out, report = real_site
    manifest = load(out / "assets/manifest.json")
    files = {p.name for p in (out / "assets").iterdir()}
    if KENNEY is None:
        assert manifest["packs"] is False and files == {"manifest.json"}
        assert any("simple shapes" in n for n in report.notes)
        return
    assert manifest["packs"] is True and not manifest["missing"]
    assert files == {A.output_name(k) for k in A.MANIFEST} | {"manifest.json"}
    assert set(manifest["images"]) | set(manifest["sounds"]) | set(manifest["fonts"]) == set(A.MANIFEST)
    assert "entity.ship.agent" in manifest["images"] and "sfx.mine" in manifest["sounds"]


# ------------------------------------------------------------------ synthetic runs + incremental


def test_synthetic_run_build_and_incremental_rebuild(tmp_path):
    run = synth(tmp_path, windows=5, wandb_url="https://wandb.ai/team/asteroid-prospector/runs/abc")
    out = tmp_path / "public"
    first = build_site(run.runs_dir, out, docs=False)
    assert not first.problems and first.windows == 5 and first.replays == 5
    assert len(first.rendered) > 20

    again = build_site(run.runs_dir, out, docs=False)
    assert again.rendered == [], again.rendered  # nothing changed, nothing rendered
    assert again.skipped == len(first.rendered)

    window_id = run.append_window()  # one new window
    new_id = [e for e in read_events(run.dir).events if e["type"] == "replay_recorded"][-1]["replay_id"]
    third = build_site(run.runs_dir, out, docs=False)
    rid = run.run_id
    assert set(third.rendered) == {
        f"data/runs/{rid}/replays/{new_id}.json",
        f"data/runs/{rid}/windows.json",
        f"data/runs/{rid}/replays.json",
        f"data/runs/{rid}/policies.json",
        f"data/runs/{rid}/obs/{new_id}.v1.bin",
        "data/runs.json",
        "index.html",
        "runs/index.html",
        f"runs/{rid}/index.html",
    }
    assert load(out / f"data/runs/{rid}/windows.json")["n"] == window_id + 1
    # the manifest says which events rendered which outputs
    manifest = load(out / ".sitegen/manifest.json")
    entry = manifest["outputs"][f"data/runs/{rid}/replays/{new_id}.json"]
    assert entry["seq"] == read_events(run.dir).events[-1]["seq"]
    assert len(manifest["outputs"][f"data/runs/{rid}/windows.json"]["seqs"]) == window_id + 1
    assert manifest["runs"][rid]["last_seq"] == read_events(run.dir).last_seq

    clean = Builder(run.runs_dir, out, docs=False, clean=True).build()
    assert len(clean.rendered) == len(first.rendered) + 2 and clean.skipped == 0  # the new replay and its obs
    # the W&B link is on the run page
    assert 'href="https://wandb.ai/team/asteroid-prospector/runs/abc"' in (out / f"runs/{rid}/index.html").read_text()


def test_replays_converted_in_a_process_pool_match_the_serial_build(tmp_path):
    run = synth(tmp_path, windows=18, frames=60)
    bad = sorted((run.dir / "replays").rglob("*.jsonl.zst"))[3]
    raw = bad.read_bytes()
    # same sha256 recorded, so only the conversion (in a worker) can find it broken
    import zstandard

    body = zstandard.ZstdDecompressor().decompress(raw).split(b"\n")
    body[2] = b"{not json"
    broken = zstandard.ZstdCompressor().compress(b"\n".join(body))
    bad.write_bytes(broken)
    log = (
        (run.dir / "events.jsonl")
        .read_text()
        .replace(hashlib.sha256(raw).hexdigest(), hashlib.sha256(broken).hexdigest())
    )
    (run.dir / "events.jsonl").write_text(log)

    outs = {}
    for jobs in (1, 2):
        out = tmp_path / f"public{jobs}"
        report = Builder(run.runs_dir, out, docs=False, jobs=jobs).build()
        assert [p.kind for p in report.problems] == ["bad_replay"], report.problems
        outs[jobs] = {str(f.relative_to(out)): f.read_bytes() for f in (out / "data").rglob("*") if f.is_file()}
    assert outs[1].keys() == outs[2].keys() and len(outs[1]) > 18
    assert all(outs[1][k] == outs[2][k] for k in outs[1])


def test_removed_run_removes_its_outputs(tmp_path):
    a = synth(tmp_path, windows=2, run_id="run-a")
    synth(tmp_path, windows=2, run_id="run-b")
    out = tmp_path / "public"
    build_site(a.runs_dir, out, docs=False)
    assert (out / "data/runs/run-b/windows.json").is_file()
    import shutil

    shutil.rmtree(a.runs_dir / "run-b")
    report = build_site(a.runs_dir, out, docs=False)
    assert "data/runs/run-b/windows.json" in report.removed
    assert not (out / "data/runs/run-b").exists() and not (out / "runs/run-b/index.html").exists()
    assert [r["run_id"] for r in load(out / "data/runs.json")["runs"]] == ["run-a"]


def test_clean_refuses_a_foreign_directory(tmp_path):
    foreign = tmp_path / "stuff"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    from prospector.sitegen.build import BuildError

    with pytest.raises(BuildError, match="refusing"):
        Builder(tmp_path / "runs", foreign, clean=True, docs=False).build()
    assert (foreign / "precious.txt").is_file()


def test_base_url_and_play_url(tmp_path):
    run = synth(tmp_path, windows=2)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False, base_url="/prospector", play_url="https://play.example.org/")
    home = (out / "index.html").read_text()
    assert 'href="/prospector/static/site.css"' in home and 'content="/prospector/"' in home
    assert 'href="/prospector/docs/"' in home
    runs = load(out / "data/runs.json")
    assert runs["base_url"] == "/prospector/" and runs["play_url"] == "https://play.example.org"
    # every page links /play; the play page talks to the play service named at build time
    for page in (
        "index.html",
        "replays/index.html",
        "analytics/index.html",
        "runs/index.html",
        "404.html",
        f"runs/{run.run_id}/index.html",
        "play/index.html",
    ):
        assert '<a href="/prospector/play/"' in (out / page).read_text(), page
    play = (out / "play/index.html").read_text()
    assert 'data-play-url="https://play.example.org"' in play and 'src="/prospector/static/play.js"' in play
    assert 'aria-current="page">Play</a>' in play


def test_play_url_default_and_bad_values(tmp_path):
    run = synth(tmp_path, windows=1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    assert 'data-play-url="http://127.0.0.1:8001"' in (out / "play/index.html").read_text()
    assert load(out / "data/runs.json")["play_url"] == "http://127.0.0.1:8001"
    from prospector.sitegen.build import BuildError

    for bad in ("javascript:alert(1)", "/play", "ftp://x.example", "https://x.example/?a=1", 'http://a" onload="x'):
        with pytest.raises(BuildError, match="--play-url"):
            build_site(run.runs_dir, tmp_path / "other", docs=False, play_url=bad)
    out2 = _cli_build(run.runs_dir, tmp_path / "cli", "--play-url", "javascript:alert(1)")
    assert out2.returncode == 2 and "--play-url" in out2.stderr and "Traceback" not in out2.stderr


# ------------------------------------------------------------------ bad input


def _cli_build(runs, out, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "site",
            "build",
            "--runs",
            str(runs),
            "--out",
            str(out),
            "--no-docs",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_bad_input_is_reported_skipped_and_marked(tmp_path):
    good = synth(tmp_path, windows=3, run_id="good")
    bad = synth(tmp_path, windows=4, run_id="bad")
    events = read_events(bad.dir).events
    recs = [e for e in events if e["type"] == "replay_recorded"]
    # a missing replay file, and a replay whose bytes do not match their sha256
    (bad.dir / recs[0]["path"]).unlink()
    target = bad.dir / recs[1]["path"]
    target.write_bytes(target.read_bytes() + b"x")
    # a replay file that matches its event but is not a replay
    junk = b"not zstd"
    (bad.dir / recs[2]["path"]).write_bytes(junk)
    lines = (bad.dir / "events.jsonl").read_bytes().split(b"\n")
    obj = json.loads(lines[recs[2]["seq"]])
    obj["sha256"], obj["bytes"] = hashlib.sha256(junk).hexdigest(), len(junk)
    lines[recs[2]["seq"]] = json.dumps(obj, separators=(",", ":")).encode()
    # and a torn last line (a crash mid-append)
    (bad.dir / "events.jsonl").write_bytes(b"\n".join(lines) + b'{"seq": 99, "ts": "2026')

    out = tmp_path / "public"
    proc = _cli_build(good.runs_dir, out)
    assert proc.returncode == 0, proc.stderr
    assert "problem:" in proc.stderr and "site:" in proc.stdout.splitlines()[-1]
    kinds = {
        p["kind"]
        for p in load(out / "data/runs.json")["runs"][0]["problems"]
        + load(out / "data/runs.json")["runs"][1]["problems"]
    }
    assert kinds == {"missing_file", "sha_mismatch", "bad_replay", "torn_log"}
    catalog = {r["replay_id"]: r for r in load(out / "data/runs/bad/replays.json")["replays"]}
    assert catalog[recs[0]["replay_id"]]["status"] == "missing_file"
    assert catalog[recs[1]["replay_id"]]["status"] == "sha_mismatch"
    assert catalog[recs[2]["replay_id"]]["status"] == "bad_replay"
    assert catalog[recs[3]["replay_id"]]["status"] == "ok"  # only the bad items are skipped
    assert (out / f"data/runs/bad/replays/{recs[3]['replay_id']}.json").is_file()
    assert not (out / f"data/runs/bad/replays/{recs[0]['replay_id']}.json").exists()
    page = (out / "runs/bad/index.html").read_text()
    assert "sha_mismatch" in page and "missing_file" in page and "Problems in this run" in page
    assert load(out / "data/runs/good/replays.json")["replays"][0]["status"] == "ok"
    # --strict turns problems into a failing exit code
    assert _cli_build(good.runs_dir, out, "--strict").returncode == 1


def test_corrupt_log_keeps_the_events_before_the_bad_line(tmp_path):
    run = synth(tmp_path, windows=4, run_id="corrupt")
    path = run.dir / "events.jsonl"
    lines = path.read_bytes().split(b"\n")
    bad_seq = next(i for i, line in enumerate(lines) if b'"window_id":2' in line)
    lines[bad_seq] = b'{"this is": not json'
    path.write_bytes(b"\n".join(lines))
    out = tmp_path / "public"
    report = build_site(run.runs_dir, out, docs=False)
    assert [p.kind for p in report.problems] == ["corrupt_log"]
    assert f"line {bad_seq + 1}" in report.problems[0].message
    windows = load(out / "data/runs/corrupt/windows.json")
    assert windows["columns"]["window_id"] == [0, 1]  # what came before the bad line
    assert "corrupt_log" in (out / "runs/corrupt/index.html").read_text()
    assert _cli_build(run.runs_dir, out, "--strict").returncode == 1
    assert _cli_build(run.runs_dir, out).returncode == 0


def test_sha_mismatch_found_after_an_incremental_build(tmp_path):
    run = synth(tmp_path, windows=2, run_id="later")
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    rec = [e for e in read_events(run.dir).events if e["type"] == "replay_recorded"][0]
    p = run.dir / rec["path"]
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))  # same size, new mtime: re-hashed
    report = build_site(run.runs_dir, out, docs=False)
    assert [pr.kind for pr in report.problems] == ["sha_mismatch"]
    assert not (out / f"data/runs/later/replays/{rec['replay_id']}.json").exists()


def test_html_from_run_data_is_escaped(tmp_path):
    run = SyntheticRun(tmp_path / "runs", run_id="evil", frames=30, wandb_url="javascript:alert(1)")
    started = run.run_started
    run.run_started = lambda: {
        **started(),
        "git_sha": "<script>alert('sha')</script>",
        "config": {"train": {"experiment": "<img src=x onerror=alert(1)>", "policy": '"><script>alert(2)</script>'}},
    }
    run.create(2)
    with EventLog(run.dir, exclusive=False, create=False) as log:
        log.append(
            "replay_recorded",
            window_id=1,
            replay_id="w000001-9-evil",
            tags=["<b>bold</b>", "milestone:<i>x</i>"],
            seed=1,
            steps=1,
            path="replays/../../../etc/passwd",
            bytes=1,
            sha256="0" * 64,
            net_profit=0,
            survival=1,
            **{"return": 0.0},
        )
    out = tmp_path / "public"
    report = build_site(run.runs_dir, out, docs=False)
    assert {p.kind for p in report.problems} == {"bad_path"}
    for page in ("index.html", "runs/index.html", "runs/evil/index.html"):
        html = (out / page).read_text()
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold</b>" not in html, page
        assert "javascript:" not in html, page
    run_page = (out / "runs/evil/index.html").read_text()
    assert "&lt;script&gt;alert(&#39;sha&#39;)&lt;/script&gt;" in run_page
    assert "&lt;img src=x onerror=alert(1)&gt;" in run_page
    assert load(out / "data/runs.json")["runs"][0]["wandb_url"] is None
    assert safe_url("https://wandb.ai/x") == "https://wandb.ai/x" and safe_url("javascript:alert(1)") is None


def test_player_scripts_never_inject_html():
    """Run data reaches the page only as text: no innerHTML / insertAdjacentHTML / document.write."""
    for js in (ROOT / "sitegen/static").glob("*.js"):
        text = js.read_text()
        for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert bad not in text, f"{js.name} uses {bad}"


# ------------------------------------------------------------------ art manifest


def test_no_pack_file_name_outside_the_manifest():
    files = [Path(rel) for _, rel in A.MANIFEST.values()]
    # whole file names, and stems distinctive enough not to be plain words ("speed", "black")
    names = {f.name for f in files} | {f.stem for f in files if re.search(r"[0-9_A-Z-]", f.stem)}
    names |= set(A.PACKS.values())
    assert len(names) > 40
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    offenders = []
    for base in ("sitegen", "prospector", "pipeline", "docs"):
        for p in (ROOT / base).rglob("*"):
            if (
                not p.is_file()
                or p.suffix not in (".py", ".js", ".css", ".html", ".md", ".json", ".yml")
                or p.resolve() == Path(art.__file__).resolve()  # the manifest (sitegen/assets.py imports it)
            ):
                continue
            m = pattern.search(p.read_text(errors="replace"))
            if m:
                offenders.append(f"{p.relative_to(ROOT)}: {m.group(0)}")
    assert not offenders, offenders


def test_build_without_the_packs_draws_shapes(tmp_path, monkeypatch):
    run = synth(tmp_path, windows=1)
    monkeypatch.delenv(A.ENV_VAR, raising=False)
    out = tmp_path / "public"
    report = build_site(run.runs_dir, out, docs=False, assets_dir=tmp_path / "no-packs-here")
    assert not report.problems
    assert sum("simple shapes" in n for n in report.notes) == 1
    assert load(out / "assets/manifest.json")["packs"] is False
    assert [p.name for p in (out / "assets").iterdir()] == ["manifest.json"]
    assert "@font-face" not in (out / "index.html").read_text()


@pytest.mark.skipif(KENNEY is None, reason="Kenney packs not available on this machine")
def test_assets_copied_once_and_kept(tmp_path):
    run = synth(tmp_path, windows=1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False, assets_dir=KENNEY)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "assets").iterdir()}
    build_site(run.runs_dir, out, docs=False, assets_dir=KENNEY)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "assets").iterdir()}
    assert before == after


# ------------------------------------------------------------------ vercel + deploy


def test_vercel_json():
    cfg = load(ROOT / "vercel.json")
    assert cfg["cleanUrls"] is True
    rules = {h["source"]: h["headers"][0]["value"] for h in cfg["headers"]}
    assert "immutable" in rules["/data/runs/:run/replays/(.*)"] and "31536000" in rules["/data/runs/:run/replays/(.*)"]
    assert "max-age=30" in rules["/data/runs.json"]
    assert "max-age=0" in rules["/(.*)"]  # pages


def test_deploy_dry_run_and_cli_call(tmp_path, monkeypatch, capsys):
    run = synth(tmp_path, windows=2)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    errors, _ = D.validate_site(out)
    assert errors == []
    lines = []
    assert D.deploy(out, prod=True, dry_run=True, env={"VERCEL_TOKEN": "tok-123"}, echo=lines.append) == 0
    cmd_line = next(line for line in lines if line.startswith("would run:"))
    assert "vercel deploy" in cmd_line and "--prod" in cmd_line and str(out) in cmd_line
    assert "tok-123" not in "\n".join(lines)
    with pytest.raises(D.DeployError, match="VERCEL_TOKEN"):
        D.deploy(out, dry_run=True, env={}, echo=lines.append)
    with pytest.raises(D.DeployError, match="VERCEL_TOKEN"):
        D.deploy(out, dry_run=False, env={}, echo=lines.append)
    # the real call: the token travels in the environment, never on the command line
    calls = []
    monkeypatch.setattr(D, "VERCEL_BIN", tmp_path / "vercel")
    (tmp_path / "vercel").write_text("#!/bin/sh\n")
    monkeypatch.setattr(
        D.subprocess, "run", lambda cmd, env, cwd: calls.append((cmd, env)) or subprocess.CompletedProcess(cmd, 0)
    )
    assert (
        D.deploy(out, prod=False, env={"VERCEL_TOKEN": "tok-456", "PATH": os.environ["PATH"]}, echo=lines.append) == 0
    )
    ((cmd, env),) = calls
    assert cmd[1:] == ["deploy", str(out), "--yes"] and env["VERCEL_TOKEN"] == "tok-456"
    assert all("tok-456" not in c for c in cmd)
    # an unbuilt or broken site is refused before any CLI call
    (out / "index.html").unlink()
    with pytest.raises(D.DeployError, match="index.html is missing"):
        D.deploy(out, dry_run=True, env={"VERCEL_TOKEN": "x"}, echo=lines.append)


def test_deploy_cli_without_token(tmp_path):
    run = synth(tmp_path, windows=1)
    out = tmp_path / "public"
    build_site(run.runs_dir, out, docs=False)
    env = {k: v for k, v in os.environ.items() if k != "VERCEL_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "prospector.cli", "deploy", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2 and "VERCEL_TOKEN is not set" in proc.stderr


# ------------------------------------------------------------------ pieces


def test_replay_delta_round_trip():
    a = {"ship": {"fuel": 1.0, "hull": 2.0}, "map": {"nodes": [1, 2]}, "gone": 1, "same": [1]}
    b = {"ship": {"fuel": 0.5, "hull": 2.0}, "map": {"nodes": [1, 2, 3]}, "same": [1], "new": {"x": None}}
    d = replaydata.diff(a, b)
    assert d == {"ship": {"fuel": 0.5}, "map": {"nodes": [1, 2, 3]}, "new": {"x": None}, "$del": ["gone"]}
    assert replaydata.patch(a, d) == b
    assert replaydata.diff(b, b) is replaydata._MISSING


def test_summary_metrics_cover_section_5():
    from prospector.pipeline.store.events import LOSS_KEYS, WINDOW_METRICS

    assert set(CHARTED) == set(WINDOW_METRICS + LOSS_KEYS) - {"window_id"}


def test_background_rebuild_hook(tmp_path):
    from prospector.sitegen.hook import rebuild_in_background

    run = synth(tmp_path, windows=2)
    out = tmp_path / "public"
    procs = [rebuild_in_background(run.runs_dir, out) for _ in range(3)]  # a burst: no overlap, no loss
    for p in procs:
        assert p.wait(timeout=300) == 0
    assert load(out / "data/runs.json")["runs"][0]["n_windows"] == 2
    assert "site:" in (out / ".sitegen/build.log").read_text()
    assert not (out / ".sitegen/build.pending").exists()
