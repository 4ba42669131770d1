"""Soak: long training with the site rebuilt every window and the play service under
light load; the resident memory of every process sampled to a CSV.

    python -m tests.harness.soak --seconds 3600            # make soak (SOAK_SECONDS=3600)
    python -m tests.harness.soak --seconds 1200 --out soak/short

What runs, all real processes on this machine:

* ``prospector train --site OUT/site`` on a fresh run in ``OUT/runs`` (one
  ``prospector eval`` per window, a detached site rebuild after every recorded replay);
* ``prospector play-server`` on a free loopback port, and a light load on it: one
  client at a time playing a session of 20-200 steps, deleting it or leaving it to the TTL,
  plus one bad request a second;
* a sampler that every ``--sample-every`` seconds writes the RSS of the trainer, the
  play server, every evaluator and site build alive, and itself to ``OUT/rss.csv``.

At the end (``--seconds`` after the start) the trainer gets SIGINT, windows whose
evaluator the interrupt stopped are evaluated again (``prospector eval`` is idempotent),
and the run is checked: every closed window has its checkpoint, its metrics row and its
replay, each file with its sha256. ``OUT/report.json`` holds the checks and the RSS
growth of the long-lived processes (median of the last tenth minus the median of the
tenth after the warm-up, and a least-squares slope in MiB per hour after the warm-up).
Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from prospector.pipeline.config import TrainConfig
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import read_events

from .procs import PlayServer, die_with_parent, rss_bytes

REPO = Path(__file__).resolve().parents[1]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class Soak:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.runs_dir = self.out / "runs"
        self.site_dir = self.out / "site"
        self.stop = threading.Event()
        self.eval_budget = args.eval_budget
        self.play_stats = {"sessions": 0, "steps": 0, "bad_requests": 0, "5xx": 0, "errors": 0}
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "WANDB_MODE": "disabled",
            "PYTHONUNBUFFERED": "1",
        }

    # ------------------------------------------------------------ processes

    def start(self):
        self.out.mkdir(parents=True, exist_ok=True)
        self.play = PlayServer(
            "--ttl", "20", "--max-sessions", "50", log_path=self.out / "play-server.log", env=self.env
        )
        self.port, self.server = self.play.port, self.play.proc
        self.trainer_log = open(self.out / "train.log", "w")
        a = self.args
        config = self.out / "train.toml"  # PuffeRL wants a minibatch no bigger than the batch
        config.write_text(f"minibatch_size = {min(8192, a.envs * 32)}\n")
        self.trainer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prospector.cli",
                "train",
                "--config",
                str(config),
                "--runs-dir",
                str(self.runs_dir),
                "--site",
                str(self.site_dir),
                "--windows",
                "100000",
                "--window-steps",
                str(a.window_steps),
                "--envs",
                str(a.envs),
                "--no-wandb",
                "--no-dashboard",
                "--run-id",
                a.run_id,
            ],
            cwd=REPO,
            env=self.env,
            stdout=self.trainer_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.run_dir = self.runs_dir / a.run_id

    def processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process of the soak alive now."""
        found = [("soak", os.getpid()), ("trainer", self.trainer.pid), ("play_server", self.server.pid)]
        out = str(self.out)
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (self.trainer.pid, self.server.pid, os.getpid()):
                continue
            cmd = _cmdline(int(entry))
            if out not in cmd:
                continue
            if " eval " in cmd:
                found.append(("evaluator", int(entry)))
            elif "sitegen.hook" in cmd:
                found.append(("site_build", int(entry)))
        return found

    # ------------------------------------------------------------ threads

    def sampler(self, writer, t0: float):
        while not self.stop.is_set():
            t = round(time.monotonic() - t0, 1)
            for role, pid in self.processes():
                rss = rss_bytes(pid)
                rss = None if rss is None else rss / 2**20
                if rss is not None:
                    writer.writerow([t, role, pid, round(rss, 2)])
            self.csv_file.flush()
            self.stop.wait(self.args.sample_every)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, dict | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"content-type": content_type} if body else {})
            r = conn.getresponse()
            raw = r.read()
            if r.status >= 500:
                self.play_stats["5xx"] += 1
            return r.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def player(self):
        """Light play load: one game at a time, and one bad request a second."""
        rng = random.Random(self.args.seed)
        last_bad = 0.0
        while not self.stop.is_set():
            try:
                status, doc = self.request("POST", "/api/play/session", b'{"seed": %d}' % rng.randrange(2**32))
                if status != 201:
                    self.stop.wait(1.0)
                    continue
                self.play_stats["sessions"] += 1
                sid, valid = doc["session_id"], doc["valid_actions"]
                for _ in range(rng.randint(20, 200)):
                    if self.stop.is_set():
                        break
                    action = rng.choice([a for a in valid if a != 68] or [6])
                    status, doc = self.request("POST", f"/api/play/session/{sid}/step", b'{"action": %d}' % action)
                    if status != 200:
                        break
                    self.play_stats["steps"] += 1
                    if doc["terminated"] or doc["truncated"]:
                        self.request("POST", f"/api/play/session/{sid}/reset", b"{}")
                    valid = doc["valid_actions"]
                    if time.monotonic() - last_bad > 1.0:
                        last_bad = time.monotonic()
                        self.request(
                            "POST",
                            f"/api/play/session/{sid}/step",
                            rng.choice([b"{", b'{"action": 69}', b'{"action": "x"}']),
                        )
                        self.play_stats["bad_requests"] += 1
                    self.stop.wait(rng.uniform(0.01, 0.1))
                if rng.random() < 0.5:
                    self.request("DELETE", f"/api/play/session/{sid}")
            except (OSError, ValueError, KeyError):
                self.play_stats["errors"] += 1
                self.stop.wait(1.0)

    # ------------------------------------------------------------ the run

    def run(self) -> dict:
        started = datetime.now(UTC)
        self.start()
        t0 = time.monotonic()
        self.csv_file = open(self.out / "rss.csv", "w", newline="")
        writer = csv.writer(self.csv_file)
        writer.writerow(["t_s", "role", "pid", "rss_mib"])
        threads = [
            threading.Thread(target=self.sampler, args=(writer, t0), daemon=True),
            threading.Thread(target=self.player, daemon=True),
        ]
        try:
            for _ in range(600):  # the play server first
                try:
                    if self.request("GET", "/api/health")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            for t in threads:
                t.start()
            deadline = t0 + self.args.seconds
            while time.monotonic() < deadline and self.trainer.poll() is None:
                time.sleep(1.0)
            trainer_died = self.trainer.poll() is not None
            if not trainer_died:
                os.kill(self.trainer.pid, signal.SIGINT)
            try:
                self.trainer.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(self.trainer.pid, signal.SIGKILL)
                self.trainer.wait()
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=60)
            self.csv_file.close()
            self.play.stop()
            self.trainer_log.close()
        elapsed = time.monotonic() - t0
        report = {
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(elapsed, 1),
            "trainer_exit": self.trainer.returncode,
            "trainer_died_early": trainer_died,
            "play_server_exit": self.server.returncode,
            "play": self.play_stats,
            "machine": f"{os.cpu_count()} CPUs, {platform_line()}",
        }
        report["run"] = self.check_run()
        report["site"] = self.check_site()
        report["rss"] = rss_growth(self.out / "rss.csv", self.args.warmup_fraction)
        report["ok"] = bool(
            report["run"]["ok"] and not trainer_died and self.play_stats["5xx"] == 0 and report["site"]["ok"]
        )
        (self.out / "report.json").write_text(json.dumps(report, indent=2))
        return report

    def check_run(self) -> dict:
        """Every closed window: checkpoint, row, replay; every referenced file whole.

        Windows the stop left without a replay are evaluated again (``prospector eval`` is
        idempotent), two at a time, for at most ``eval_budget`` seconds; the ones still
        without a replay then are reported as the evaluation backlog.
        """
        events = read_events(self.run_dir).events
        windows = [e["window_id"] for e in events if e["type"] == "window_closed"]
        replayed_in_soak = {
            e["window_id"] for e in events if e["type"] == "replay_recorded" and "every_window" in e["tags"]
        }
        todo = [w for w in windows if w not in replayed_in_soak]
        t0, running, started = time.monotonic(), [], []
        while (todo or running) and time.monotonic() - t0 < self.eval_budget:
            running = [p for p in running if p.poll() is None]
            while todo and len(running) < 2:
                w = todo.pop()  # newest first
                running.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "prospector.cli",
                            "eval",
                            "--runs-dir",
                            str(self.runs_dir),
                            "--run",
                            self.run_dir.name,
                            "--window",
                            str(w),
                        ],
                        cwd=REPO,
                        env=self.env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                started.append(w)
            time.sleep(1.0)
        for p in running:  # out of budget
            p.kill()
            p.wait()
        events = read_events(self.run_dir).events
        problems = []
        have = {e["window_id"] for e in events if e["type"] == "checkpoint_saved"}
        missing = [w for w in windows if w not in have]
        if missing:
            problems.append(f"windows without checkpoint_saved: {missing}")
        replayed = {e["window_id"] for e in events if e["type"] == "replay_recorded" and "every_window" in e["tags"]}
        backlog = [w for w in windows if w not in replayed]
        for e in events:
            if "sha256" in e:
                path = runs.resolve_in_run(self.run_dir, e["path"])
                if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != e["sha256"]:
                    problems.append(f"seq {e['seq']}: {e['path']} missing or not matching its sha256")
        if windows != list(range(len(windows))):
            problems.append(f"window ids not 0, 1, 2 ...: {windows[:10]}...")
        closed = [e for e in events if e["type"] == "window_closed"]
        steps = [e["steps"] for e in events if e["type"] == "replay_recorded"]
        return {
            "run_id": self.run_dir.name,
            "windows": len(windows),
            "events": len(events),
            "env_steps": closed[-1]["env_steps_total"] if closed else 0,
            "windows_with_replay_during_soak": len(replayed_in_soak & set(windows)),
            "re_evaluated_after_stop": sorted(set(started) & replayed),
            "windows_without_replay": backlog,
            "replay_steps_max": max(steps, default=0),
            "eval_failed_events": sum(e["type"] == "eval_failed" for e in events),
            "problems": problems[:20],
            "ok": not problems and not backlog and bool(windows),
        }

    def check_site(self) -> dict:
        """The hook's builds: none failed, and the last one (after the trainer ended) shows every window."""
        meta = self.site_dir / ".sitegen"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and meta.is_dir():  # the last build may still run
            fd = os.open(meta / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                idle = not (meta / "build.pending").exists()
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                idle = False
            finally:
                os.close(fd)
            if idle:
                break
            time.sleep(1.0)
        log = self.site_dir / ".sitegen" / "build.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        data = self.site_dir / "data" / "runs" / self.run_dir.name / "windows.json"
        shown = None
        if data.exists():
            try:  # the site's chart data: {"n": rows, "columns": {"window_id": [...], ...}}
                shown = len(json.loads(data.read_text())["columns"]["window_id"])
            except (ValueError, KeyError, TypeError):
                shown = None
        builds = sum(1 for line in text.splitlines() if line.startswith("site: "))
        windows = sum(e["type"] == "window_closed" for e in read_events(self.run_dir))
        return {
            "builds": builds,
            "tracebacks": text.count("Traceback"),
            "windows_on_site": shown,
            "windows_in_log": windows,
            "ok": text.count("Traceback") == 0 and shown == windows,
        }


def platform_line() -> str:
    import platform

    return f"{platform.machine()}, {platform.platform()}"


def rss_growth(csv_path: Path, warmup_fraction: float) -> dict:
    """Per long-lived role: RSS after the warm-up, at the end, growth and slope; peaks of the rest."""
    rows = list(csv.DictReader(open(csv_path)))
    if not rows:
        return {}
    t_end = max(float(r["t_s"]) for r in rows)
    out = {}
    for role in sorted({r["role"] for r in rows}):
        samples = [(float(r["t_s"]), float(r["rss_mib"])) for r in rows if r["role"] == role]
        if role in ("evaluator", "site_build"):  # short-lived: many pids
            out[role] = {
                "samples": len(samples),
                "pids": len({r["pid"] for r in rows if r["role"] == role}),
                "peak_mib": max(v for _, v in samples),
            }
            continue
        warm = t_end * warmup_fraction
        after = [(t, v) for t, v in samples if t >= warm]
        if len(after) < 4:
            out[role] = {"samples": len(samples), "note": "too few samples after the warm-up"}
            continue
        tenth = max(1, len(after) // 10)
        first, last = statistics.median(v for _, v in after[:tenth]), statistics.median(v for _, v in after[-tenth:])
        n = len(after)
        mt, mv = sum(t for t, _ in after) / n, sum(v for _, v in after) / n
        var = sum((t - mt) ** 2 for t, _ in after)
        slope = sum((t - mt) * (v - mv) for t, v in after) / var * 3600 if var else 0.0
        out[role] = {
            "samples": len(samples),
            "start_mib": samples[0][1],
            "after_warmup_mib": round(first, 1),
            "end_mib": round(last, 1),
            "growth_mib": round(last - first, 1),
            "growth_pct": round(100 * (last - first) / first, 1) if first else None,
            "slope_mib_per_hour": round(slope, 2),
            "peak_mib": max(v for _, v in samples),
            "warmup_s": round(warm, 1),
        }
    return out


def report_only(out: Path, warmup_fraction: float, eval_budget: float) -> int:
    """The checks and RSS figures of a finished soak, from its files (report.json updated)."""
    soak = Soak.__new__(Soak)
    soak.out, soak.runs_dir, soak.site_dir = out.resolve(), out.resolve() / "runs", out.resolve() / "site"
    soak.env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    soak.run_dir = next(p for p in soak.runs_dir.iterdir() if (p / runs.EVENTS_FILE).is_file())
    soak.eval_budget = eval_budget
    path = out / "report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report["run"], report["site"] = soak.check_run(), soak.check_site()
    report["rss"] = rss_growth(out / "rss.csv", warmup_fraction)
    report["ok"] = bool(
        report["run"]["ok"]
        and report["site"]["ok"]
        and not report.get("trainer_died_early")
        and report.get("play", {}).get("5xx", 0) == 0
    )
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.harness.soak", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", 3600)),
        help="how long to train (default $SOAK_SECONDS or 3600)",
    )
    p.add_argument("--out", default=None, help="output directory (default soak/{UTC time})")
    p.add_argument("--run-id", default=None)
    p.add_argument(
        "--envs", type=int, default=TrainConfig.envs, help=f"games (default {TrainConfig.envs}, the trainer's)"
    )
    p.add_argument(
        "--window-steps",
        type=int,
        default=TrainConfig.window_steps,
        help=f"env steps per window (default {TrainConfig.window_steps}, the trainer's)",
    )
    p.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling period in s (default 5)")
    p.add_argument("--warmup-fraction", type=float, default=0.1, help="share of the run that is warm-up (0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--eval-budget",
        type=float,
        default=900.0,
        help="seconds to evaluate windows the stop left without a replay (default 900)",
    )
    p.add_argument(
        "--report", metavar="OUT", default=None, help="only (re)compute OUT/report.json from a finished soak's files"
    )
    args = p.parse_args(argv)
    if args.report:
        return report_only(Path(args.report), args.warmup_fraction, args.eval_budget)
    if not 10 <= args.seconds <= 7 * 24 * 3600:
        p.error("--seconds must be in 10 .. 604800")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    args.out = args.out or str(REPO / "soak" / stamp)
    args.run_id = args.run_id or f"{stamp}-soak"
    report = Soak(args).run()
    print(json.dumps({k: report[k] for k in ("seconds", "run", "site", "play", "rss", "ok")}, indent=2))
    print(
        f"soak: {'OK' if report['ok'] else 'FAILED'}; RSS samples in {Path(args.out) / 'rss.csv'}, "
        f"report in {Path(args.out) / 'report.json'}"
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
