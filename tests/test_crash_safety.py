"""Run store crash safety: SIGKILL the trainer and the evaluator at
random points, many times, and a disk that fills up.

The kill campaign drives real processes: ``prospector train`` (tiny settings, serial
backend) on one run, resumed with ``--resume`` after every kill, and standalone
``prospector eval`` processes on the same run at the same time. Kill times come from a
seeded RNG (``CRASH_SEED``; printed, and named in every failure). After every kill:

* the log parses (a torn tail is ignored by the reader, repaired by the next writer),
* seqs are 0, 1, 2 ... with no gap, and what was read before is a prefix of what is
  read now (an acknowledged event is never rewritten or lost),
* every event's file (checkpoint, replay) exists with its bytes and sha256,
* the projections update from the log.

At the end ``prospector train --resume`` must close further windows, every closed
window must have its checkpoint and a replay, and the projections rebuilt from
scratch must equal the incrementally maintained ones.

A SIGKILL cannot tear a single ``write()`` of one line to a local file (the kernel
finishes the call first), so a torn tail -- what a power cut mid-append leaves -- is
also written by the test on some rounds, under the append lock as a dying writer
would hold it, and the next writer must repair it.

Knobs: CRASH_SEED, CRASH_KILLS (default 50), CRASH_MAX_SECONDS (default 240: the
campaign fails if it cannot reach its kills in that time).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.procs import die_with_parent
from harness.testing import tiny_config
from prospector.pipeline.store import layout as runs
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.projections import (
    projection_snapshot,
    read_replays,
    read_windows,
    rebuild_projections,
    update_projections,
)
from prospector.pipeline.store.run import Run

REPO = Path(__file__).resolve().parents[1]
RUN = "crash"
EVAL_SLOTS = 2  # standalone evaluators running beside the trainer
TINY_TOML = "bptt_horizon = 16\nminibatch_size = 512\nhidden_size = 32\n"
TRAIN_ARGS = [
    "--envs",
    "32",
    "--workers",
    "1",
    "--backend",
    "serial",
    "--window-steps",
    "1024",
    "--time-max",
    "400",
    "--no-wandb",
    "--no-dashboard",
]


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1", **extra}


def train_cmd(root: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prospector.cli",
        "train",
        "--runs-dir",
        str(root),
        "--config",
        str(root / "tiny.toml"),
        *TRAIN_ARGS,
        *extra,
    ]


def eval_cmd(root: Path, window: int, episodes: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prospector.cli",
        "eval",
        "--runs-dir",
        str(root),
        "--run",
        RUN,
        "--window",
        str(window),
        "--episodes",
        str(episodes),
    ]


def group_members(*pgids: int) -> list[int]:
    """Live pids whose process group is one of ``pgids`` (a trainer and its evaluators)."""
    wanted = set(pgids)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in wanted and fields[0] != "Z":
            pids.append(int(entry))
    return pids


# ------------------------------------------------------------------ the checks


class StoreChecker:
    """Everything that must hold for the run directory at any moment, crash or not."""

    def __init__(self, run_dir: Path, seed: int):
        self.run_dir = run_dir
        self.seed = seed
        self.acknowledged: list[dict] = []
        self.verified: dict[str, tuple] = {}  # path -> (sha256, stat key) already hashed
        self.checks = 0
        self.files_checked = 0

    def why(self, what: str) -> str:
        return f"CRASH_SEED={self.seed}: {what}"

    def check(self, context: str) -> list[dict]:
        if not self.run_dir.is_dir():  # killed before it made the run directory
            return []
        log = read_events(self.run_dir)  # raises CorruptLogError on a bad line
        events = log.events
        if not events and not self.acknowledged:
            # killed between making the directory and run_started: nothing to check, and
            # projecting would leave files that a run which never started does not hold,
            # so the next --run-id would (rightly) refuse the directory
            return []
        assert [e["seq"] for e in events] == list(range(len(events))), self.why(f"seq gap ({context})")
        assert events[: len(self.acknowledged)] == self.acknowledged, self.why(
            f"an acknowledged event changed or vanished ({context})"
        )
        self.acknowledged = events
        for event in events:
            if "path" in event and "sha256" in event:
                self._check_file(event, context)
        update_projections(self.run_dir)
        rows = read_windows(self.run_dir).num_rows
        projected = {r["replay_id"] for r in read_replays(self.run_dir)}
        # Writers may still be live (an orphaned evaluator, a trainer between kills): they
        # can append and project after our read, so the projections must lie between the
        # log as we read it and the log as it is now.
        later = read_events(self.run_dir).events
        closed = [sum(e["type"] == "window_closed" for e in log) for log in (events, later)]
        assert closed[0] <= rows <= closed[1], self.why(f"window rows {rows}, log says {closed} ({context})")
        replay_ids = [{e["replay_id"] for e in log if e["type"] == "replay_recorded"} for log in (events, later)]
        assert replay_ids[0] <= projected <= replay_ids[1], self.why(f"replay index ({context})")
        self.checks += 1
        return events

    def _check_file(self, event: dict, context: str) -> None:
        path = runs.resolve_in_run(self.run_dir, event["path"])
        assert path.is_file(), self.why(f"seq {event['seq']} ({event['type']}) points at missing {path} ({context})")
        st = path.stat()
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self.verified.get(event["path"]) == (event["sha256"], key):
            return
        data = path.read_bytes()
        assert len(data) == event["bytes"], self.why(
            f"{event['path']}: {len(data)} bytes, event says {event['bytes']} ({context})"
        )
        assert hashlib.sha256(data).hexdigest() == event["sha256"], self.why(
            f"{event['path']} does not match the sha256 of seq {event['seq']} ({context})"
        )
        self.verified[event["path"]] = (event["sha256"], key)
        self.files_checked += 1


def tear_tail(run_dir: Path, rng: random.Random):
    """Leave what a writer that died mid-append leaves: part of a line, no newline.

    Written under the append lock (a dying writer held it; evaluators may be waiting
    for it), fsynced. Returns the log as a reader sees it then.
    """
    line = json.dumps(
        {
            "seq": 10**6,
            "ts": "2026-01-01T00:00:00.000Z",
            "run_id": RUN,
            "type": "replay_recorded",
            "window_id": 0,
            "note": "x" * 200,
        }
    ).encode()
    part = line[: rng.randrange(1, len(line))]
    lock = os.open(run_dir / runs.APPEND_LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(run_dir / runs.EVENTS_FILE, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, part)
            os.fsync(fd)
        finally:
            os.close(fd)
        return read_events(run_dir)
    finally:
        os.close(lock)


# ------------------------------------------------------------ the kill campaign


class Campaign:
    def __init__(self, root: Path, seed: int, kills: int, max_seconds: float):
        self.root, self.seed, self.target, self.max_seconds = root, seed, kills, max_seconds
        self.rng = random.Random(seed)
        self.run_dir = root / RUN
        self.checker = StoreChecker(self.run_dir, seed)
        self.kills = {"trainer": 0, "evaluator (trainer's child)": 0, "evaluator (standalone)": 0}
        self.modes: dict[str, int] = {}
        self.torn = {"injected": 0, "repaired": 0}
        self.groups: list[int] = []
        self.evals_finished = 0
        self.trainer_starts = 0
        self.pending_tear = False
        self.evaluators: list[tuple[subprocess.Popen, float, set | None]] = []

    @property
    def total(self) -> int:
        return sum(self.kills.values())

    def spawn(self, cmd: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.groups.append(proc.pid)
        return proc

    def closed_windows(self) -> list[int]:
        return [e["window_id"] for e in self.checker.acknowledged if e["type"] == "window_closed"]

    def log_size(self) -> int:
        try:
            return (self.run_dir / runs.EVENTS_FILE).stat().st_size
        except FileNotFoundError:
            return 0

    def run(self) -> None:
        t0 = time.monotonic()
        while self.total < self.target:
            assert time.monotonic() - t0 < self.max_seconds, self.checker.why(
                f"only {self.total} kills in {self.max_seconds:.0f} s (machine too slow?)"
            )
            resume = bool(read_events(self.run_dir).events)  # else it never started: --run-id again
            trainer = self.spawn(
                train_cmd(self.root, "--windows", "1000", *(["--resume", RUN] if resume else ["--run-id", RUN]))
            )
            self.trainer_starts += 1
            mode = self.rng.choice(("time", "time", "event", "checkpoint"))
            self.modes[mode] = self.modes.get(mode, 0) + 1
            # time: a uniform moment; event: shortly after the log grew by 1..4 events;
            # checkpoint: the moment a new checkpoint_saved appears (before its window_closed)
            kill_at = time.monotonic() + (self.rng.uniform(0.2, 8.0) if mode == "time" else 40.0)
            start_events = len(read_events(self.run_dir).events)
            start_ckpts = sum(e["type"] == "checkpoint_saved" for e in read_events(self.run_dir))
            growth = self.rng.randint(1, 4)
            seen_size = self.log_size()
            armed = False
            while time.monotonic() < kill_at and trainer.poll() is None:
                self.tend_evaluators()
                size = self.log_size()
                if mode != "time" and not armed and size != seen_size:
                    seen_size = size
                    events = read_events(self.run_dir).events
                    if mode == "event" and len(events) >= start_events + growth:
                        kill_at, armed = time.monotonic() + self.rng.uniform(0.0, 0.3), True
                    elif mode == "checkpoint" and sum(e["type"] == "checkpoint_saved" for e in events) > start_ckpts:
                        kill_at, armed = time.monotonic(), True
                time.sleep(0.002 if mode == "checkpoint" else 0.02)
            self.kill_trainer(trainer)
            self.checker.check(f"after trainer kill #{self.kills['trainer']}")
            if self.pending_tear and self.log_size() and not read_events(self.run_dir).torn_tail:
                self.torn["repaired"] += 1
                self.pending_tear = False
            if not self.pending_tear and self.checker.acknowledged and self.rng.random() < 0.3:
                assert tear_tail(self.run_dir, self.rng).torn_tail, self.checker.why("injected tail not torn")
                self.torn["injected"] += 1
                self.pending_tear = True
        self.stop_all()
        self.checker.check("after the campaign")

    def replay_files(self) -> set[str]:
        try:
            return set(os.listdir(self.run_dir / runs.REPLAYS_DIR))
        except FileNotFoundError:
            return set()

    def tend_evaluators(self) -> None:
        """Standalone evaluators (EVAL_SLOTS at a time) on closed windows. Each is killed at
        a uniform random moment, or just after a replay file (or its temporary) appears,
        unless it finishes first."""
        for item in list(self.evaluators):
            proc, deadline, files = item
            if proc.poll() is not None:
                assert proc.returncode == 0, self.checker.why(f"an evaluator failed with {proc.returncode}")
                self.evals_finished += 1
                self.evaluators.remove(item)
            elif files is not None and self.replay_files() - files:
                self.evaluators[self.evaluators.index(item)] = (
                    proc,
                    time.monotonic() + self.rng.uniform(0.0, 0.05),
                    None,
                )
            elif time.monotonic() >= deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                self.kills["evaluator (standalone)"] += 1
                self.evaluators.remove(item)
                self.checker.check("after killing a standalone evaluator")
        closed = self.closed_windows()
        while len(self.evaluators) < EVAL_SLOTS and closed:
            window = self.rng.choice(closed)
            proc = self.spawn(eval_cmd(self.root, window, self.rng.randint(2, 3)))
            if self.rng.random() < 0.5:
                self.evaluators.append((proc, time.monotonic() + self.rng.uniform(0.3, 8.0), None))
            else:
                self.evaluators.append((proc, time.monotonic() + 30.0, self.replay_files()))

    def kill_trainer(self, trainer: subprocess.Popen) -> None:
        if trainer.poll() is not None:
            out = f"trainer exited by itself with code {trainer.returncode}"
            assert trainer.returncode == 0, self.checker.why(out)
            return
        members = [p for p in group_members(trainer.pid) if p != trainer.pid]
        if self.rng.random() < 0.7 or not members:
            os.killpg(trainer.pid, signal.SIGKILL)  # the trainer and its evaluators
            self.kills["evaluator (trainer's child)"] += len(members)
        else:
            os.kill(trainer.pid, signal.SIGKILL)  # its evaluators live on and append
        trainer.wait()
        self.kills["trainer"] += 1

    def stop_all(self) -> None:
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while group_members(*self.groups) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def campaign_root(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    yield tmp_path


def test_sigkill_trainer_and_evaluator_at_random_points(campaign_root):
    seed = int(os.environ.get("CRASH_SEED", secrets.randbits(32)))
    kills = int(os.environ.get("CRASH_KILLS", 50))
    print(f"\ncrash safety: CRASH_SEED={seed} (set it to replay these kill times)", flush=True)
    t0 = time.monotonic()
    campaign = Campaign(campaign_root, seed, kills, float(os.environ.get("CRASH_MAX_SECONDS", 240)))
    try:
        campaign.run()
        campaign_seconds = time.monotonic() - t0
        checker = campaign.checker
        before = checker.acknowledged
        closed_before = campaign.closed_windows()

        # resume once more, to the end: further windows close, windows left without a
        # replay by a kill get one, nothing acknowledged changes
        out = subprocess.run(
            train_cmd(campaign_root, "--resume", RUN, "--windows", "2"),
            cwd=campaign_root,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, checker.why(f"final resume failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
        events = checker.check("after the final resume")
        assert events[: len(before)] == before
        closed = [e["window_id"] for e in events if e["type"] == "window_closed"]
        # a kill between checkpoint_saved and window_closed: the resume closes that window
        # from its checkpoint (a row marked recovered), then trains two more
        last = closed_before[-1] if closed_before else -1
        orphan = [e["window_id"] for e in before if e["type"] == "checkpoint_saved" and e["window_id"] > last]
        first = (orphan[-1] if orphan else last) + 1
        assert closed[len(closed_before) :] == orphan[-1:] + [first, first + 1], checker.why(
            f"windows after resume: {closed}"
        )
        assert closed == list(range(len(closed))), checker.why(f"window ids not 0, 1, 2 ...: {closed}")
        assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "completed"
        for window in closed:
            saved = [e for e in events if e["type"] == "checkpoint_saved" and e["window_id"] == window]
            assert saved, checker.why(f"window {window} has no checkpoint_saved")
            replays = [
                e
                for e in events
                if e["type"] == "replay_recorded" and e["window_id"] == window and "every_window" in e["tags"]
            ]
            assert len(replays) == 1, checker.why(f"window {window}: {len(replays)} every_window replays")
        replay_ids = [e["replay_id"] for e in events if e["type"] == "replay_recorded"]
        assert len(replay_ids) == len(set(replay_ids)), checker.why("a replay was recorded twice")
        recovered = [e for e in events if e["type"] == "window_closed" and e.get("recovered")]
        for row in recovered:  # only what the checkpoint knew; never invented metrics
            assert row["return_mean"] is None and row["episodes"] is None
            assert any(
                e["type"] == "checkpoint_saved" and e["window_id"] == row["window_id"] and e["seq"] < row["seq"]
                for e in events
            )

        # projections: rebuilt from nothing == maintained incrementally through every crash
        incremental = projection_snapshot(campaign.run_dir)
        (campaign.run_dir / runs.WINDOWS_PARQUET).unlink()
        (campaign.run_dir / runs.REPLAY_INDEX).unlink()
        rebuild_projections(campaign.run_dir)
        assert projection_snapshot(campaign.run_dir) == incremental, checker.why("projections differ")
        assert len(incremental["windows"]) == len(closed)
        assert campaign.torn["injected"] == 0 or campaign.torn["repaired"] >= campaign.torn["injected"] - 1
        assert not read_events(campaign.run_dir).torn_tail
        leftovers = sorted(p.name for d in ("checkpoints", "replays") for p in (campaign.run_dir / d).glob(".*.tmp"))
        summary = {
            "seed": seed,
            "kills": campaign.kills,
            "total_kills": campaign.total,
            "trainer_starts": campaign.trainer_starts + 1,
            "trainer_kill_modes": campaign.modes,
            "standalone_evaluators_finished": campaign.evals_finished,
            "torn_tails": campaign.torn,
            "checks": checker.checks,
            "file_hashes_checked": checker.files_checked,
            "events": len(events),
            "windows_closed": len(closed),
            "windows_recovered": len(recovered),
            "replays": len(replay_ids),
            "temp_files_left_by_kills": len(leftovers),
            "campaign_seconds": round(campaign_seconds, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
        }
        print("crash safety: " + json.dumps(summary), flush=True)
        assert campaign.total >= kills
    finally:
        campaign.stop_all()


# ---------------------------------------------------------------- disk full


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], capture_output=True, text=True
    )
    return out.returncode == 0


def _fill(path: Path, leave: int) -> Path:
    """A file that takes all of the file system's free space but ``leave`` bytes."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    filler = path / "filler"
    with open(filler, "wb") as f:
        try:
            f.write(b"\0" * max(0, free - leave))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.parametrize("leave", [0, 6000])
def test_disk_full_ends_with_a_clear_error_and_a_valid_log(tmp_path, leave):
    """The runs directory on a small tmpfs (or, where mounting is not possible, a
    per-process write budget in the store's write path): the disk fills up while the
    trainer runs. It must stop with one clear line, and leave a log that parses, whose
    every event's file is whole; once space is back, --resume continues."""
    mount = tmp_path / "disk"
    mounted = not os.environ.get("CRASH_NO_TMPFS") and _mount_tmpfs(mount, "4m")
    root = mount if mounted else tmp_path / "runs"
    root.mkdir(exist_ok=True)
    (root / "tiny.toml").write_text(TINY_TOML)
    print(f"\ndisk full: {'tmpfs 4 MiB' if mounted else 'PROSPECTOR_WRITE_BUDGET'}; {leave} bytes left", flush=True)
    try:
        extra_env = {}
        if not mounted:  # the fault seam: ENOSPC after this many bytes written by the trainer
            extra_env["PROSPECTOR_WRITE_BUDGET"] = str(380_000 + leave)
        proc = subprocess.Popen(
            train_cmd(root, "--windows", "1000", "--run-id", RUN),
            cwd=root,
            env=_env(**extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        run_dir = root / RUN
        deadline = time.monotonic() + 120
        filler = None
        while proc.poll() is None and time.monotonic() < deadline:
            if mounted and filler is None and (run_dir / runs.EVENTS_FILE).exists():
                if any(e["type"] == "window_closed" for e in read_events(run_dir)):
                    filler = _fill(root, leave)
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the trainer kept running on a full disk")
        stdout, stderr = proc.communicate()
        print(f"disk full: exit {proc.returncode}; stderr tail: {stderr.strip().splitlines()[-1:]}", flush=True)
        assert proc.returncode == 2, stderr
        assert "Traceback" not in stderr, stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("prospector train: error:") and "No space left on device" in last, last
        assert "disk" in last.lower(), last

        # the log: parses, no torn tail, seq gapless, every event's file whole
        log = read_events(run_dir)
        assert not log.torn_tail
        events = log.events
        assert [e["seq"] for e in events] == list(range(len(events)))
        assert (run_dir / runs.EVENTS_FILE).stat().st_size == log.valid_bytes
        for event in events:
            if "sha256" in event:
                data = runs.resolve_in_run(run_dir, event["path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == event["sha256"], event["path"]
        assert not list(run_dir.glob("*/.*.tmp")), "a temporary file was left behind"
        assert events[0]["type"] == "run_started"
        closed = [e["window_id"] for e in events if e["type"] == "window_closed"]
        print(
            f"disk full: log ends {[e['type'] for e in events[-3:]]}; "
            f"{(run_dir / runs.EVENTS_FILE).stat().st_size} bytes, no torn tail",
            flush=True,
        )
        assert closed, "no window closed before the disk filled"
        finished = [e for e in events if e["type"] == "run_finished"]
        if finished:  # written when it still fitted, naming the cause
            assert "No space left on device" in finished[-1]["reason"]

        # space back: the run resumes and closes another window
        if filler is not None:
            filler.unlink()
        out = subprocess.run(
            train_cmd(root, "--resume", RUN, "--windows", "1"),
            cwd=root,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        after = read_events(run_dir).events
        assert after[: len(events)] == events
        assert [e["window_id"] for e in after if e["type"] == "window_closed"] == closed + [closed[-1] + 1]
    finally:
        if mounted:
            for pid in group_members(proc.pid) if "proc" in locals() else []:
                os.kill(pid, signal.SIGKILL)
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


# ------------------------------------------- the crash point of bug 1, every time


def test_resume_after_a_crash_between_checkpoint_and_row_keeps_the_checkpoint(tmp_path):
    """A log that ends with a window's checkpoint_saved (what a kill between that append
    and the window_closed leaves: every append is fsynced, so a crash leaves a prefix of
    the log). The resume must not rewrite that checkpoint: it continues from it, closes
    the window with a row marked recovered, evaluates it, and trains on."""
    from prospector.pipeline.trainer import train

    run_dir = train(tiny_config(tmp_path, time_max=400, hidden_size=32, windows=2, run_id="cut"))
    events = read_events(run_dir).events
    cut = next(i for i, e in enumerate(events) if e["type"] == "checkpoint_saved" and e["window_id"] == 1)
    kept = events[: cut + 1]
    data = (run_dir / runs.EVENTS_FILE).read_bytes()
    (run_dir / runs.EVENTS_FILE).write_bytes(b"".join(line + b"\n" for line in data.split(b"\n")[: cut + 1]))
    ckpt = runs.checkpoint_path(run_dir, 1)
    before = ckpt.read_bytes()
    assert hashlib.sha256(before).hexdigest() == kept[-1]["sha256"]

    train(tiny_config(tmp_path, time_max=400, hidden_size=32, windows=1), resume="cut")
    after = read_events(run_dir).events
    assert after[: len(kept)] == kept
    assert ckpt.read_bytes() == before  # the file its event describes, untouched
    rows = [e for e in after if e["type"] == "window_closed"]
    assert [r["window_id"] for r in rows] == [0, 1, 2]
    recovered = rows[1]
    assert recovered["recovered"] is True and recovered["seq"] == len(kept)  # before run_resumed
    assert recovered["env_steps_total"] == 2048 and recovered["return_mean"] is None
    resumed = next(e for e in after if e["type"] == "run_resumed")
    assert resumed["from_window"] == 2 and resumed["env_steps_total"] == 2048
    assert rows[2]["env_steps_total"] > 2048
    replayed = {e["window_id"] for e in after if e["type"] == "replay_recorded" and "every_window" in e["tags"]}
    assert replayed == {0, 1, 2}  # window 1's evaluator ran on the resume
    assert len([e for e in after if e["type"] == "checkpoint_saved"]) == 3
    for e in after:
        if "sha256" in e:
            assert hashlib.sha256(runs.resolve_in_run(run_dir, e["path"]).read_bytes()).hexdigest() == e["sha256"]


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_ends_the_run_cleanly(tmp_path):
    """SIGINT (Ctrl-C, a soak's stop) after a window: the trainer records run_finished
    "interrupted", exits 130, and leaves no evaluator behind. (pufferlib.pufferl, once
    imported, made SIGINT os._exit(0): none of that happened.)"""
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    proc = subprocess.Popen(
        train_cmd(tmp_path, "--windows", "1000", "--run-id", RUN),
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    run_dir = tmp_path / RUN
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (run_dir / runs.EVENTS_FILE).exists() and any(
                e["type"] == "window_closed" for e in read_events(run_dir)
            ):
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130, stderr[-2000:]
        events = read_events(run_dir).events
        assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "interrupted"
        deadline = time.monotonic() + 10
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_members(proc.pid), "an evaluator outlived the trainer"
    finally:
        for pid in group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


# A Ctrl-C that lands inside PuffeRL's ``try: np.mean(v) except: ...`` (mean_and_log, four
# times a second): one of the stats is an object whose conversion by numpy sends SIGINT to
# this process, so Python raises the KeyboardInterrupt inside that bare except. That is
# the moment a real Ctrl-C hit when test_ctrl_c_ends_the_run_cleanly timed out under load.
CTRL_C_INSIDE_PUFFERL = """
import os, signal, sys
from pathlib import Path

import numpy as np
from harness.testing import tiny_config
from prospector.pipeline.store.log import read_events
from prospector.pipeline.store.run import Run
from prospector.pipeline.puffer import import_pufferl
from prospector.pipeline.trainer import train

pufferl = import_pufferl()
stock = pufferl.PuffeRL.mean_and_log
pressed = []


class CtrlCInside:
    def __array__(self, dtype=None, copy=None):
        os.kill(os.getpid(), signal.SIGINT)
        total = 0
        for i in range(1000):  # Python runs the signal handler between two of these bytecodes
            total += i
        return np.zeros(1)


def mean_and_log(self):
    if self.global_step > 0 and not pressed:
        pressed.append(self.global_step)
        self.stats["ctrl_c"] = [CtrlCInside()]
    return stock(self)


pufferl.PuffeRL.mean_and_log = mean_and_log
runs = Path(sys.argv[1])
try:
    train(tiny_config(runs, windows=3, hidden_size=32, time_max=40, run_id="ctrl-c"))
    outcome = "completed"
except KeyboardInterrupt:
    outcome = "interrupted"
events = read_events(runs / "ctrl-c").events
closed = sum(e["type"] == "window_closed" for e in events)
print(outcome, events[-1]["reason"], closed, len(pressed))
"""


def test_a_ctrl_c_inside_pufferlibs_bare_except_still_stops_training(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CTRL_C_INSIDE_PUFFERL, str(tmp_path)],
        cwd=tmp_path,
        env=_env(PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests'}"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    outcome, reason, closed, pressed = out.stdout.split()
    assert pressed == "1"  # the Ctrl-C was delivered, inside PuffeRL's stats loop
    assert (outcome, reason) == ("interrupted", "interrupted"), out.stdout
    assert int(closed) < 3


def test_the_checker_leaves_a_run_that_never_started_startable(tmp_path):
    # a trainer killed after making the run directory but before run_started, checked, then
    # started again with --run-id: the checker must not have left projections there
    # (stress round 2 on 2757104, CRASH_SEED=2052053370: the restart exited with status 2)
    run = Run.create(tmp_path, RUN)
    run.close()
    assert StoreChecker(tmp_path / RUN, 0).check("before the first event") == []
    assert runs.reuse_refusal(tmp_path / RUN) is None
    Run.create(tmp_path, RUN).close()
