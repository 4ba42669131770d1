"""Show a replay inline in Jupyter (docs/site.md#embed): the site's embed page in an iframe.

    from prospector.notebook import show_replay        # or prospector.sitegen.notebook
    show_replay("runs/RUN/replays/w000002-0-1a2b3c4d.jsonl.zst")            # a replay file
    show_replay(site="public", run="RUN", replay="w000002-0-1a2b3c4d")     # a built site
    show_replay(site="https://example.org/prospector/", run="RUN", replay="w000002-0-1a2b3c4d", frame=120)

A replay file becomes a one-replay site in a temporary directory (the embed page, the
static files, the art, the replay's JSON: sitegen/export.py's ``player_site``); a local
site directory or that temporary site is served on 127.0.0.1 by a server thread (one per
directory, for as long as the kernel runs), so the notebook's browser must run on the
same machine. A site URL is embedded as it is. Returns a :class:`ReplayView`, which
Jupyter displays as the iframe (no IPython import needed).
"""

from __future__ import annotations

import atexit
import html
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from prospector.pipeline.store.replays import ReplayError, read_replay

from . import replaydata

_SERVERS: dict[str, str] = {}  # served directory -> base URL
_TEMP_DIRS: list[str] = []


class ReplayView:
    """An embed-page URL that Jupyter shows as an iframe (``_repr_html_``)."""

    def __init__(self, url: str, width: int = 980, height: int = 760):
        self.url, self.width, self.height = url, width, height

    def _repr_html_(self) -> str:
        return (
            f'<iframe src="{html.escape(self.url, quote=True)}" width="{self.width}" height="{self.height}" '
            f'style="border:0" allow="autoplay" loading="lazy"></iframe>'
        )

    def __repr__(self) -> str:
        return f"ReplayView({self.url!r})"


def _serve(directory: Path) -> str:
    from .serve import serve_in_thread

    key = str(Path(directory).resolve())
    if key not in _SERVERS:
        _, base = serve_in_thread(key)
        _SERVERS[key] = base + "/"
    return _SERVERS[key]


def _cleanup() -> None:
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def show_replay(
    replay_file=None,
    *,
    site=None,
    run: str | None = None,
    replay: str | None = None,
    frame: int = 0,
    autoplay: bool = False,
    width: int = 980,
    height: int = 760,
) -> ReplayView:
    """The embed page for a replay file, or for ``run``/``replay`` of a built site (a
    directory made by ``prospector site build`` or the site's URL). ValueError with one
    line for bad arguments."""
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        raise ValueError(f"frame must be a whole number >= 0, got {frame!r}")
    query = {"frame": str(frame)}
    if autoplay:  # an embed starts paused unless asked (docs/site.md#embed)
        query["autoplay"] = "1"
    if replay_file is not None:
        if site is not None:
            raise ValueError("give a replay file or site= with run= and replay=, not both")
        try:
            header, frames = read_replay(replay_file)
        except OSError as exc:
            raise ValueError(f"cannot read replay {replay_file}: {exc.strerror or exc}") from None
        except ReplayError as exc:
            raise ValueError(f"{replay_file}: {exc}") from None
        from .export import player_site

        doc = replaydata.compact_replay(header, frames)
        folder = tempfile.mkdtemp(prefix="prospector-replay-")
        _TEMP_DIRS.append(folder)
        page = player_site(doc, Path(folder))
        return ReplayView(f"{_serve(Path(folder))}{page}&{urlencode(query)}", width, height)
    if site is None or not run or not replay:
        raise ValueError("show_replay needs a replay file, or site= with run= and replay=")
    query = {"run": run, "replay": replay, **query}
    site = str(site)
    if site.startswith(("http://", "https://")):
        return ReplayView(f"{site.rstrip('/')}/embed/?{urlencode(query)}", width, height)
    directory = Path(site)
    if not (directory / "embed" / "index.html").is_file():
        raise ValueError(f"{site} is not a built site with an embed page: run `prospector site build --out {site}`")
    if not (directory / "data" / "runs" / run / "replays" / f"{replay}.json").is_file():
        raise ValueError(f"the site in {site} has no replay {replay!r} of run {run!r}")
    return ReplayView(f"{_serve(directory)}embed/?{urlencode(query)}", width, height)
