"""The tests that involve processes, signals, timing and browsers, many rounds in a row
with both cores busy.

Two pytest loops run side by side, each the other's CPU hog: the crash, kill and resume
tests, and the browser and load tests. Every round's result, duration, load average and
slowest tests go to ``OUT/stress.log``; a failing round keeps its whole output as
``OUT/{set}-round{N}.out``. A test that passes alone and fails here is a race to find,
not a timeout to raise (docs/reliability.md#tests-under-load).

    python -m tests.harness.stress --rounds 20 --out stress       # make stress ROUNDS=20
    python -m tests.harness.stress --rounds 3 --sets browser-load
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from .procs import die_with_parent

REPO = Path(__file__).resolve().parents[2]

SETS = {
    "crash-kill-resume": [
        "tests/test_crash_safety.py",
        "tests/test_kill_resume.py",
        "tests/test_rank_faults.py",
        "tests/test_resume_repairs.py",
        "tests/test_store_property.py",
        "tests/test_eventlog.py::test_concurrent_appends_from_processes_do_not_interleave",
        "tests/test_pipeline.py::test_resume_continues_window_ids",
        "tests/test_pipeline.py::test_second_trainer_on_a_run_is_refused",
        "tests/test_harness_procs.py",
        "tests/test_serve.py",
    ],
    "browser-load": [
        "tests/test_play_browser.py",
        "tests/test_site_browser.py",
        "tests/test_timelapse_browser.py",
        "tests/test_policy_browser.py",
        "tests/test_play_site.py",
        "tests/test_site_first_contact.py",
        "tests/test_export.py",
        "tests/test_play_abuse.py",
        "tests/test_site_first_visit.py",
        "tests/test_serve_hostile.py",
    ],
}


class Log:
    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock, open(self.path, "a") as f:
            f.write(text + "\n")
        print(text, flush=True)


def run_set(name: str, tests: list[str], rounds: int, out: Path, log: Log, env: dict, results: dict) -> None:
    outcomes = results[name] = []
    for n in range(1, rounds + 1):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=8", *tests],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=die_with_parent,  # a stress run killed takes its pytest loop with it
        )
        seconds = time.monotonic() - started
        text = proc.stdout + proc.stderr
        summary = next((line for line in reversed(text.splitlines()) if re.search(r"\d+ (passed|failed)", line)), "")
        outcomes.append(proc.returncode == 0)
        log.line(
            f"{time.strftime('%H:%M:%S')} {name} round {n}: exit {proc.returncode}, {seconds:.0f} s,"
            f" load {os.getloadavg()[0]:.1f}: {summary.strip('= ')}"
        )
        if proc.returncode != 0:
            (out / f"{name}-round{n}.out").write_text(text)
        else:
            slowest = text.split("slowest 8 durations", 1)[-1].splitlines()[1:9]
            log.line("    " + "\n    ".join(line.strip() for line in slowest if line.strip()))


def longest_run(outcomes: list[bool]) -> int:
    best = current = 0
    for ok in outcomes:
        current = current + 1 if ok else 0
        best = max(best, current)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.harness.stress", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=20, help="rounds of every set (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("stress"), help="folder for the log (default: %(default)s)")
    p.add_argument(
        "--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS), help="which sets (default: all, side by side)"
    )
    p.add_argument(
        "--crash-kills",
        type=int,
        default=25,
        help="kills per crash campaign (CRASH_KILLS; make test: 50), more rounds in the time (default: %(default)s)",
    )
    args = p.parse_args(argv)
    if args.rounds < 1 or args.crash_kills < 1:
        p.error("--rounds and --crash-kills must be at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out / "stress.log")
    env = {**os.environ, "CRASH_KILLS": str(args.crash_kills), "PYTHONWARNINGS": "ignore::UserWarning"}
    log.line(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} stress: {args.rounds} rounds of {', '.join(args.sets)}"
        f" side by side, CRASH_KILLS={args.crash_kills}, {os.cpu_count()} CPUs"
    )
    results: dict[str, list[bool]] = {}
    threads = [
        threading.Thread(target=run_set, args=(name, SETS[name], args.rounds, args.out, log, env, results))
        for name in args.sets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, outcomes in results.items():
        log.line(
            f"{name}: {sum(outcomes)} of {len(outcomes)} rounds passed, longest run in a row {longest_run(outcomes)}"
        )
    return 0 if all(all(outcomes) for outcomes in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
