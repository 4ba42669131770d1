"""Human play on the site, outside the browser: challenge mode's exactness and the demo server.

* A real (tiny) training run's replays, replayed action by action through a real
  ``prospector play-server`` process on the replay's seed and env config, give exactly
  the replay's rewards, returns and render_states at every step (what challenge mode's
  "agent's return at the same step" rests on).
* ``prospector site serve --with-play`` (the end of ``make demo``) serves the site and
  the play service; SIGINT stops both with status 0 and leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from harness.procs import die_with_parent, port_refuses
from harness.synth import SyntheticRun
from harness.testing import free_port, train_tiny_run
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.replays import read_replay
from prospector.sitegen import replaydata
from prospector.sitegen.build import build_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("play_site") / "runs", windows=3)


# ------------------------------------------------------------------ challenge mode is exact


def test_replays_reproduce_exactly_through_the_play_api(real_run, play, tmp_path):
    out = tmp_path / "public"
    report = build_site(real_run.parent, out, docs=False)
    assert not report.problems, [str(p) for p in report.problems]
    recorded = [e for e in read_events(real_run).events if e["type"] == "replay_recorded"]
    assert len(recorded) == 6  # 3 windows x (eval seed, showcase seed)
    for ev in recorded:
        header, frames = read_replay(real_run / ev["path"])
        # the site's replay JSON carries what the /play page sends: the seed and the whole env config
        doc = json.loads((out / f"data/runs/{real_run.name}/replays/{ev['replay_id']}.json").read_text())
        assert doc["seed"] == header["seed"] == ev["seed"]
        assert doc["env_config"] == header["env_config"] and len(doc["env_config"]) > 100
        status, created = play.request("POST", "/api/play/session", {"seed": doc["seed"], "config": doc["env_config"]})
        assert status == 201, created
        assert created["time_max"] == header["env_config"]["time_max"]
        assert created["render_state"] == frames[0]["render_state"]
        assert created["valid_actions"] == frames[0]["valid"]
        sid = created["session_id"]
        agent_return = 0.0
        for t, frame in enumerate(frames[1:], start=1):
            status, r = play.request("POST", f"/api/play/session/{sid}/step", {"action": frame["action"]})
            assert status == 200, r
            agent_return += frame["reward"]
            # exact: bit for bit, at every step
            assert r["reward"] == frame["reward"], (ev["replay_id"], t)
            assert r["episode_return"] == agent_return, (ev["replay_id"], t)
            assert r["render_state"] == frame["render_state"], (ev["replay_id"], t)
            assert r["events"] == frame["events"] and r["info"]["invalid"] == frame["invalid"], t
            assert r["valid_actions"] == (frame["valid"] if t < len(frames) - 1 else []), t
            assert r["step"] == t
        assert r["terminated"] or r["truncated"]
        assert r["episode_return"] == header["totals"]["return"] == ev["return"]
        assert r["info"]["net_profit"] == header["totals"]["net_profit"]
        assert r["info"]["end_reason"] == header["totals"]["end_reason"]
        # the page's agent line sums the site JSON's rewards in order: the same floats, the same sum
        site_return = 0.0
        for f in replaydata.expand_frames(doc)[1:]:
            site_return += f["reward"]
        assert site_return == agent_return
        assert play.request("DELETE", f"/api/play/session/{sid}")[0] == 200


def test_a_replay_with_changed_game_settings_is_refused_clearly(play):
    from prospector import spec as S

    config = dict(S.make_config(time_max=2000))
    config["pirate_base"] = config["pirate_base"] + 1.0
    status, body = play.request("POST", "/api/play/session", {"seed": 3, "config": config})
    assert status == 400 and body["error"]["code"] == "invalid_config"
    assert "pirate_base" in body["error"]["message"]


# ------------------------------------------------------------------ site serve --with-play


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except OSError:
        return False


def _get(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_site")
    SyntheticRun(root / "runs", run_id="20260101-000000-5e5e5e5", frames=40).create(2)
    play_port = free_port()
    out = root / "public"
    build_site(root / "runs", out, docs=False, play_url=f"http://127.0.0.1:{play_port}")
    return out, play_port


def _start_demo(out: Path, site_port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "site",
            "serve",
            "--with-play",
            "--out",
            str(out),
            "--port",
            str(site_port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        preexec_fn=die_with_parent,  # a test killed from outside leaves no server behind
    )


def _wait_line(proc: subprocess.Popen, text: str, timeout: float = 90) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    proc.kill()
    raise AssertionError(f"no {text!r} in the output: {''.join(lines)}")


def test_site_serve_with_play_serves_both_and_sigint_stops_both(small_site):
    out, play_port = small_site
    site_port = free_port()
    proc = _start_demo(out, site_port)
    try:
        lines = "".join(_wait_line(proc, "Ctrl-C stops both."))
        # both URLs printed; the play service runs on the port the site was built to call
        assert f"site:         http://127.0.0.1:{site_port}/" in lines
        assert f"http://127.0.0.1:{site_port}/play/" in lines
        assert f"http://127.0.0.1:{play_port}/api/health" in lines
        status, page = _get(f"http://127.0.0.1:{site_port}/play/")
        assert status == 200 and f'data-play-url="http://127.0.0.1:{play_port}"'.encode() in page
        assert _get(f"http://127.0.0.1:{site_port}/")[0] == 200
        status, body = _get(f"http://127.0.0.1:{play_port}/api/health")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok"
        child = health["pid"]
        assert child != proc.pid and _alive(child)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert "stopped the site and the play service" in rest and "Traceback" not in lines + rest
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the play service outlived site serve"
    assert port_refuses(site_port) and port_refuses(play_port)


def test_site_serve_with_play_killed_hard_leaves_no_orphan(small_site):
    out, play_port = small_site
    proc = _start_demo(out, free_port())
    try:
        _wait_line(proc, "Ctrl-C stops both.")
        child = json.loads(_get(f"http://127.0.0.1:{play_port}/api/health")[1])["pid"]
        proc.kill()  # SIGKILL: no chance to clean up; the child must still go (PR_SET_PDEATHSIG)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphaned = _alive(child)
    if orphaned:
        os.kill(child, signal.SIGKILL)  # do not leave it behind when the test fails
    assert not orphaned, "the play service was orphaned"


def test_site_serve_with_play_busy_ports_fail_clearly(small_site):
    out, play_port = small_site
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # the site's port is taken: nothing starts
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "prospector.cli",
                "site",
                "serve",
                "--with-play",
                "--out",
                str(out),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert r.returncode == 2 and "site serve: error" in r.stderr and "Traceback" not in r.stderr
        # the play service's port is taken: a clear error, the site stops again
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "prospector.cli",
                "site",
                "serve",
                "--with-play",
                "--out",
                str(out),
                "--port",
                str(free_port()),
                "--play-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=ROOT,
        )
        assert r.returncode == 2, r.stderr
        assert "play service exited" in r.stderr and f"port {play_port}, not {port}" in r.stderr
        assert "Traceback" not in r.stderr
