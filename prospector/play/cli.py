"""``prospector play-server``, plugged into the command frame (prospector/cli.py)."""

from __future__ import annotations

import sys

from prospector.cli import CliError, add_command, port_number, positive_float, positive_int


def cmd_play_server(args) -> int:
    from .server import serve

    if args.workers > 1:
        print(
            "prospector play-server: note: sessions live in one worker's memory; with --workers > 1 a "
            "client may reach a worker that does not know its session",
            file=sys.stderr,
        )
    try:
        serve(
            host=args.host,
            port=args.port,
            workers=args.workers,
            ttl_seconds=args.ttl,
            max_sessions=args.max_sessions,
            max_sessions_per_client=args.max_sessions_per_client,
            request_timeout=args.request_timeout,
            allow_origins=tuple(args.allow_origin),
            max_body_bytes=args.max_body_bytes,
            allow_localhost=args.localhost_origins,
        )
    except OSError as exc:
        raise CliError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return 0


def add_commands(sub) -> None:
    """Entry point ``prospector.commands``: the play service."""
    p = add_command(
        sub,
        "play-server",
        help="the human-play HTTP service (Sanic), sessions in memory",
        extra="play",
        examples="prospector play-server\nprospector play-server --port 9000 --allow-origin https://example.org",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8001, help="port (default 8001)")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="URL",
        help="a site origin allowed to call the API from a browser (repeatable; '*' for any; default none)",
    )
    p.add_argument(
        "--no-localhost-origins",
        dest="localhost_origins",
        action="store_false",
        help="do not allow http://localhost:* and http://127.0.0.1:* origins (allowed by default)",
    )
    p.add_argument(
        "--ttl", type=positive_float, default=900.0, help="idle seconds before a session expires (default 900)"
    )
    p.add_argument("--max-sessions", type=positive_int, default=1000, help="live sessions at most (default 1000)")
    p.add_argument(
        "--max-sessions-per-client",
        type=positive_int,
        default=32,
        metavar="N",
        help="live sessions one client address (an IPv6 /64) may hold (default 32)",
    )
    p.add_argument("--max-body-bytes", type=positive_int, default=8192, help="request body limit (default 8192)")
    p.add_argument(
        "--request-timeout",
        type=positive_float,
        default=15.0,
        metavar="SECONDS",
        help="a request's headers and body must arrive within this, from its first byte (default 15)",
    )
    p.set_defaults(func=cmd_play_server)
