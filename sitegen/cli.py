"""``prospector site build|serve`` and ``prospector deploy``, plugged into the command frame
(prospector/cli.py) through the ``prospector.commands`` entry point; also the
``prospector.hooks`` entry point ``after_replays`` that ``train --site`` uses."""

from __future__ import annotations

import sys
from pathlib import Path

from prospector.cli import add_command, add_run_options, port_number


def _fail(command: str, exc: Exception) -> int:
    """Errors are printed like the frame's own: one line, exit 2."""
    print(f"prospector {command}: error: {exc}", file=sys.stderr)
    return 2


def after_replays(site_dir, deploy: bool = False):
    """Entry point ``prospector.hooks`` ``after_replays``: for ``train --site DIR``, a hook that
    rebuilds (and deploys) the site in a detached process, so training never waits."""
    from prospector.cli import CliError

    from .build import BuildError, check_out_dir
    from .hook import rebuild_in_background

    try:
        check_out_dir(Path(site_dir))  # refused before the run starts, not after its first window
    except BuildError as exc:
        raise CliError(f"--site: {exc}") from None

    def rebuild(run_dir) -> None:
        rebuild_in_background(run_dir.parent, site_dir, deploy=deploy)

    return rebuild


def cmd_site(args) -> int:
    if args.site_command == "serve":
        from .serve import ServeError, serve, serve_with_play

        try:
            if args.with_play:
                return serve_with_play(args.out, host=args.host, port=args.port, play_port=args.play_port)
            serve(args.out, host=args.host, port=args.port)
        except (OSError, ServeError) as exc:
            return _fail("site serve", exc)
        return 0
    from .build import Builder, BuildError

    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, flush=True))
    try:
        report = Builder(
            args.runs,
            args.out,
            base_url=args.base_url,
            play_url=args.play_url,
            assets_dir=args.assets,
            clean=args.clean,
            docs=not args.no_docs,
            progress=say,
        ).build()
    except (BuildError, OSError) as exc:
        return _fail("site build", exc)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(report.summary(), flush=True)
    return 1 if (args.strict and report.problems) else 0


def cmd_deploy(args) -> int:
    from .deploy import DeployError, deploy

    try:
        return deploy(args.out, prod=args.prod, dry_run=args.dry_run)
    except (DeployError, OSError) as exc:
        return _fail("deploy", exc)


def cmd_replay(args) -> int:
    """``replay export``: a replay as MP4/GIF drawn by the site's player (sitegen/export.py)."""
    from .export import ExportError, find_replay, parse_size, prepare, render, terminal_progress

    try:
        size = parse_size(args.size)
        path = find_replay(args.runs_dir, args.run, args.replay)
        job = prepare(path, args.out, fps=args.fps, size=size, first=args.first, last=args.last)
        info = render(job, progress=None if args.quiet else terminal_progress())
    except ExportError as exc:
        return _fail("replay export", exc)
    except KeyboardInterrupt:
        print("prospector replay export: interrupted; no file written", file=sys.stderr)
        return 130
    print(
        f"{args.out}: {info['frames']} frames, {info['width']}x{info['height']}, {info['fps']} fps, "
        f"{info['seconds']:.1f} s"
    )
    return 0


def add_commands(sub) -> None:
    """Entry point ``prospector.commands``: the site generator's subcommands."""
    from prospector.cli import non_negative_int

    p = add_command(
        sub,
        "replay",
        help="export a replay as a video drawn by the site's player",
        extra="site",
        examples="prospector replay export --run RUN_ID --replay w000002-0-1a2b3c4d --out replay.mp4\n"
        "prospector replay export --run RUN_ID --replay ID --out clip.gif --fps 10 "
        "--size 480x270 --from 100 --to 400",
    )
    replay_sub = p.add_subparsers(dest="replay_command", required=True, metavar="REPLAY_COMMAND")
    q = add_command(
        replay_sub,
        "export",
        help="MP4 or GIF of a replay (headless Chromium draws, PyAV encodes)",
        description="A replay as an MP4 (H.264) or GIF, drawn frame by frame by the site's "
        "own player in headless Chromium (docs/site.md#video).",
        extra="site",
        examples="prospector replay export --run RUN_ID --replay w000002-0-1a2b3c4d --out replay.mp4\n"
        "prospector replay export --run RUN_ID --replay ID --out clip.gif --fps 10 --from 100 --to 400",
    )
    add_run_options(q, run="required")
    q.add_argument("--replay", required=True, help="replay id (`prospector runs show RUN_ID` lists them)")
    q.add_argument("--out", required=True, metavar="FILE", help="output file, .mp4 or .gif")
    q.add_argument(
        "--fps", type=int, default=15, help="video frames per second, one replay frame each (1..60, default 15)"
    )
    q.add_argument("--size", default="960x540", metavar="WxH", help="video size, even sides (default 960x540)")
    q.add_argument(
        "--from", dest="first", type=non_negative_int, default=None, metavar="F", help="first replay frame (default 0)"
    )
    q.add_argument(
        "--to",
        dest="last",
        type=non_negative_int,
        default=None,
        metavar="F",
        help="last replay frame (default: the last)",
    )
    q.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_replay)

    p = add_command(
        sub,
        "site",
        help="build or serve the static site (runs/ -> public/)",
        extra="site",
        examples="prospector site build\nprospector site serve --with-play\n"
        "prospector site build --runs runs --out public --assets ../shared/kenney",
    )
    site_sub = p.add_subparsers(dest="site_command", required=True, metavar="SITE_COMMAND")
    q = add_command(
        site_sub,
        "build",
        help="render pages and the JSON API from the runs' event logs (incremental)",
        extra="site",
        examples="prospector site build\n"
        "prospector site build --runs runs --out public --assets ../shared/kenney\n"
        "prospector site build --base-url /prospector/ --play-url https://play.example.org --strict",
    )
    add_run_options(q, runs_dir_help="runs directory", runs_flag="--runs")
    q.add_argument("--out", default="public", help="output directory (default public/)")
    q.add_argument("--base-url", default="/", help="URL path the site is served under (default /)")
    q.add_argument(
        "--play-url",
        default=None,
        metavar="URL",
        help="the play service the /play page calls (default http://127.0.0.1:8001)",
    )
    q.add_argument(
        "--assets",
        default=None,
        metavar="DIR",
        help="Kenney packs directory (default $PROSPECTOR_KENNEY_DIR, else ../shared/kenney)",
    )
    q.add_argument("--clean", action="store_true", help="rebuild everything from scratch")
    q.add_argument("--strict", action="store_true", help="exit 1 when any input had a problem")
    q.add_argument("--no-docs", action="store_true", help="skip `mkdocs build` into OUT/docs/")
    q.add_argument("--quiet", action="store_true", help="only the summary line")
    q = add_command(
        site_sub,
        "serve",
        help="serve the built site on localhost",
        description="Serve the built site on localhost (and the play service with --with-play)\n"
        "until Ctrl-C or SIGTERM.",
        extra="site",
        examples="prospector site serve\nprospector site serve --with-play\n"
        "prospector site serve --port 0 --out public",
    )
    q.add_argument("--out", default="public", help="site directory (default public/)")
    q.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    q.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    q.add_argument(
        "--with-play",
        action="store_true",
        help="also run the play service (prospector play-server) until Ctrl-C stops both",
    )
    q.add_argument(
        "--play-port",
        type=port_number,
        default=None,
        help="play service port with --with-play (default: the port the site was built to call, else 8001)",
    )
    p.set_defaults(func=cmd_site)

    p = add_command(
        sub,
        "deploy",
        help="deploy the built site to Vercel (token from VERCEL_TOKEN)",
        extra="site",
        examples="prospector deploy --dry-run\nVERCEL_TOKEN=... prospector deploy --prod",
    )
    p.add_argument("--out", default="public", help="site directory (default public/)")
    p.add_argument("--prod", action="store_true", help="production deploy (default: preview)")
    p.add_argument("--dry-run", action="store_true", help="validate the site and print the command only")
    p.set_defaults(func=cmd_deploy)
