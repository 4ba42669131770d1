"""Rebuild (and deploy) the site in the background after a window: for ``prospector
train --site DIR [--deploy]``.

    from prospector.sitegen.hook import rebuild_in_background
    rebuild_in_background(runs_dir, site_dir, deploy=False)   # returns at once

The caller never waits: a detached process runs ``python -m prospector.sitegen.hook``, which
takes ``DIR/.sitegen/build.lock``; if another rebuild holds it, it leaves a "pending"
mark and exits, and the holder builds once more when it is done, so a burst of
windows costs at most two builds and builds never overlap. Output goes to
``DIR/.sitegen/build.log``.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
from pathlib import Path


def rebuild_in_background(
    runs_dir, site_dir, deploy: bool = False, base_url: str = "/", play_url: str | None = None
) -> subprocess.Popen:
    from .build import BuildError, claim_out_dir

    site_dir = Path(site_dir)
    try:
        claim_out_dir(site_dir)  # never a directory that is not a site (the trainer reports the OSError)
    except BuildError as exc:
        raise OSError(str(exc)) from None
    cmd = [
        sys.executable,
        "-m",
        "prospector.sitegen.hook",
        "--runs",
        str(runs_dir),
        "--out",
        str(site_dir),
        "--base-url",
        base_url,
    ]
    if play_url:
        cmd += ["--play-url", play_url]
    if deploy:
        cmd.append("--deploy")
    log = open(site_dir / ".sitegen" / "build.log", "ab")
    try:
        return subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parents[1],
            start_new_session=True,
        )
    finally:
        log.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base-url", default="/")
    ap.add_argument("--play-url", default=None)
    ap.add_argument("--deploy", action="store_true")
    args = ap.parse_args(argv)
    from .build import BuildError, claim_out_dir

    try:
        claim_out_dir(Path(args.out))
    except BuildError as exc:
        print(f"site build: error: {exc}", flush=True)
        return 2
    meta = Path(args.out) / ".sitegen"
    pending = meta / "build.pending"
    rc = 0
    while True:
        fd = os.open(meta / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pending.touch()  # the running build will go once more
            return rc
        try:
            while True:
                pending.unlink(missing_ok=True)
                rc = max(rc, _build_once(args))
                if not pending.exists():
                    break
        finally:
            os.close(fd)  # releases the lock
        if not pending.exists():  # nobody asked while we were letting go
            return rc


def _build_once(args) -> int:
    from .build import Builder

    report = Builder(args.runs, args.out, base_url=args.base_url, play_url=args.play_url).build()
    print(report.summary(), flush=True)
    for problem in report.problems:
        print(f"problem: {problem}", flush=True)
    if args.deploy:
        from .deploy import DeployError, deploy

        try:
            deploy(args.out, prod=True)
        except DeployError as exc:
            print(f"deploy: {exc}", flush=True)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
