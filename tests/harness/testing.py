"""Helpers shared by the site's tests, benchmark and screenshot scripts.

* :func:`train_tiny_run` -- a real (short) training run through the CLI.
* :func:`launch_chromium` -- Playwright driving Debian's ``/usr/bin/chromium`` (never a
  downloaded browser: ``playwright install`` is not used anywhere).
* :class:`BrowserPage` -- a page in a fresh browser context that records its errors.
* :class:`PlayServer` -- ``prospector play-server`` as a real process on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from prospector.pipeline.store import layout as R
from prospector.pipeline.store.log import read_events
from prospector.sitegen.export import CHROMIUM_ARGS  # the flags video export runs it with

from .procs import PlayServer, free_port  # noqa: F401  (re-exported for the tests)

TINY_TRAIN = {"bptt_horizon": 16, "minibatch_size": 512}

# The smallest training that still goes through every part of a window (32 games on one
# serial worker, 1,024-step windows, a checkpoint, a row, an evaluator), shared by the
# tests that train in-process. No dashboard and no W&B unless a test asks for them.
TINY_SETTINGS = dict(
    envs=32,
    workers=1,
    backend="serial",
    bptt_horizon=16,
    minibatch_size=512,
    window_steps=1024,
    dashboard=False,
    wandb=False,
)


def tiny_config(runs_dir: str | os.PathLike, **overrides):
    """A checked ``TrainConfig``: TINY_SETTINGS, the runs directory, then ``overrides``."""
    from prospector.pipeline.config import make_train_config

    return make_train_config(**{**TINY_SETTINGS, "runs_dir": str(runs_dir), **overrides})


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("PROSPECTOR_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


CHROMIUM_MISSING = "Debian's chromium is not installed: `make test-deps` (apt-get install chromium) installs it"


def require_chromium() -> None:
    """For a browser test module: Playwright importable and Debian's chromium present, else a
    clear failure (never a skip: make test installs both)."""
    import pytest

    pytest.importorskip("playwright.sync_api", reason="playwright (requirements.txt) is not installed")
    if chromium_path() is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)


def launch_chromium(playwright):
    path = chromium_path()
    if path is None:
        raise RuntimeError(CHROMIUM_MISSING)
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


class BrowserPage:
    """A page (in its own 1440x1000 browser context) that records what went wrong in it.

    ``errors`` collects console errors and uncaught page errors; a console error holding
    any of the strings in ``allow`` (HTTP errors the test provokes) is not recorded.
    Subclasses may set ``ready`` (a selector :meth:`goto` waits for, 30 s) and
    ``record_failed_requests`` (failed requests count as errors too).
    """

    ready: str | None = None
    record_failed_requests = False

    def __init__(self, browser, base: str, allow=()):
        self.ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        self.page = self.ctx.new_page()
        self.base = base
        self.allow = allow
        self.errors: list[str] = []
        self.page.on("console", lambda m: self._console(m))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        if self.record_failed_requests:
            self._documents = 0  # main-frame navigations started so far
            self._requested_in: dict = {}  # request -> the document that asked for it
            self.page.on("request", self._request)
            self.page.on("requestfailed", self._request_failed)
            self.page.on("requestfinished", lambda r: self._requested_in.pop(r, None))

    def _request(self, request):
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self._documents += 1
        self._requested_in[request] = self._documents

    def _request_failed(self, request):
        # Leaving a page cancels what it was still loading (net::ERR_ABORTED): ordinary, and
        # on a busy machine images are often still loading when a test clicks a link.
        asked_by = self._requested_in.pop(request, None)
        if request.failure == "net::ERR_ABORTED" and asked_by is not None and asked_by < self._documents:
            return
        self.errors.append(f"requestfailed: {request.url} ({request.failure})")

    def _console(self, m):
        if m.type == "error" and not any(a in m.text for a in self.allow):
            self.errors.append(f"console.{m.type}: {m.text}")

    def goto(self, path: str):
        self.page.goto(self.base + "/" + path.lstrip("/"))
        if self.ready is not None:
            self.page.wait_for_selector(self.ready, timeout=30000)
        return self.page

    def close(self):
        self.ctx.close()


_TRAINED: dict[int, Path] = {}


def train_tiny_run(runs_dir: str | os.PathLike, windows: int = 3, timeout: float = 600, reuse: bool = True) -> Path:
    """``prospector train`` with tiny settings (serial backend, no W&B); returns the run dir.

    Waits for ``run_finished`` and every window's replay; a trainer that has finished
    its log but does not exit within 60 s after that is stopped (its work is done).
    With ``reuse``, a run trained earlier in this process is copied instead (a run
    directory can be moved or copied as a whole: its events hold relative paths).
    """
    runs_dir = Path(runs_dir)
    done = _TRAINED.get(windows)
    if reuse and done is not None and done.is_dir():
        target = runs_dir / done.name
        shutil.copytree(done, target, ignore=shutil.ignore_patterns("*.lock", "wandb"))
        return target
    run = _train(runs_dir, windows, timeout)
    _TRAINED[windows] = run
    return run


def _train(runs_dir: Path, windows: int, timeout: float) -> Path:
    runs_dir.mkdir(parents=True, exist_ok=True)
    cfg = runs_dir / "tiny-train.json"
    cfg.write_text(json.dumps(TINY_TRAIN))
    cmd = [
        sys.executable,
        "-m",
        "prospector.cli",
        "train",
        "--config",
        str(cfg),
        "--runs-dir",
        str(runs_dir),
        "--windows",
        str(windows),
        "--window-steps",
        "4096",
        "--envs",
        "64",
        "--workers",
        "1",
        "--backend",
        "serial",
        "--no-wandb",
        "--no-dashboard",
        "--time-max",
        "2000",
    ]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).resolve().parents[1]
    )
    deadline = time.monotonic() + timeout
    finished_at = None
    run_dir = None
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"training did not finish in {timeout:.0f} s")
        names = R.list_runs(runs_dir)
        if names and finished_at is None:
            run_dir = runs_dir / names[-1]
            events = read_events(run_dir).events
            done = any(e["type"] == "run_finished" for e in events)
            replays = sum(e["type"] == "replay_recorded" for e in events)
            if done and replays >= windows:
                finished_at = time.monotonic()
        if finished_at is not None and time.monotonic() - finished_at > 60:
            proc.kill()  # the run is complete; the process just did not exit
            break
        time.sleep(0.5)
    out = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    if proc.returncode not in (0, None, -9):
        raise RuntimeError(f"training failed ({proc.returncode}):\n{out[-3000:]}")
    names = R.list_runs(runs_dir)
    if not names:
        raise RuntimeError(f"training made no run:\n{out[-3000:]}")
    return runs_dir / names[-1]
