"""``prospector replay export``: a replay as an MP4 or GIF (docs/site.md#video).

The frames are drawn by the site's own player: headless Chromium (Debian's
``/usr/bin/chromium`` driven by Playwright) opens the embed page (``/embed/``) and calls
its ``__exportFrames``, which draws each frame with the player's view (render.js) and
hands it back as a JPEG. Nothing is served over the network: Playwright answers the
page's requests from the package's templates and static files, the Kenney art and the
replay converted as the site build converts it. PyAV encodes the video (H.264 in MP4,
or a GIF). The output appears whole or not at all (written to a temporary name, then
renamed).

The ``prospector.hooks`` entry point ``replay_video`` (:func:`video_hook`) gives the
trainer the same renderer for ``train --wandb-video`` without importing the site.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from prospector.pipeline.store import layout as R
from prospector.pipeline.store.replays import ReplayError, read_replay
from prospector.pipeline.store.run import Run

from . import assets as A
from . import replaydata

FORMATS = {".mp4": "mp4", ".gif": "gif"}
DEFAULT_FPS = 15
DEFAULT_SIZE = (960, 540)  # the sector view's own size (render.js W x H)
MAX_SIDE = 3840
#: Frames drawn per call into the page (fewer round trips; a batch is ~25 JPEGs in memory).
BATCH = 25
JPEG_QUALITY = 0.85
ORIGIN = "http://prospector.export"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


class ExportError(Exception):
    """Bad input or a missing tool: one line for the user (exit status 2)."""


def find_chromium() -> str | None:
    """Debian's chromium, or $PROSPECTOR_CHROMIUM when set (then only that one); never a
    browser Playwright downloaded."""
    explicit = os.environ.get("PROSPECTOR_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def no_chromium() -> str:
    """Why there is no Chromium, in one line."""
    explicit = os.environ.get("PROSPECTOR_CHROMIUM")
    if explicit:
        return f"no Chromium at PROSPECTOR_CHROMIUM={explicit}"
    return "no Chromium to draw the frames with: install Debian's chromium (apt-get install chromium)"


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` with even sides (H.264's 4:2:0 needs them) in 16..3840."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ExportError(f"--size must be WIDTHxHEIGHT like 960x540, got {text!r}") from None
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE) or w % 2 or h % 2:
        raise ExportError(f"--size {text}: both sides must be even numbers in 16..{MAX_SIDE}")
    return w, h


@dataclass
class Job:
    """One export, checked: the replay's site document and where the video goes."""

    doc: dict
    out: Path
    fmt: str
    fps: int
    size: tuple[int, int]
    first: int
    last: int
    chromium: str

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


def check_output(out: str | os.PathLike) -> tuple[Path, str]:
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ExportError(f"{out}: unknown extension {out.suffix or '(none)'!r}; use .mp4 or .gif")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"{out}: the directory {parent} does not exist")
    if out.is_dir() or not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ExportError(f"{out}: cannot write there")
    # access() says yes to root everywhere, and to places like /proc where no file can be
    # made: create (and remove) a file beside the output, as render's temporary one will be,
    # so that the answer comes now and not after every frame was drawn
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=parent)
    except OSError as exc:
        raise ExportError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return out, fmt


def prepare(
    replay_path: str | os.PathLike,
    out,
    *,
    fps: int = DEFAULT_FPS,
    size=DEFAULT_SIZE,
    first: int | None = None,
    last: int | None = None,
) -> Job:
    """Check everything before any frame is drawn (ExportError with one line otherwise)."""
    out, fmt = check_output(out)
    if not isinstance(fps, int) or not 1 <= fps <= 60:
        raise ExportError(f"--fps must be a whole number in 1..60, got {fps}")
    chromium = find_chromium()
    if chromium is None:
        raise ExportError(no_chromium())
    try:
        import av  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise ExportError(
            f"video export needs the site extra ({exc.name} is missing): pip install 'asteroid-prospector[site]'"
        ) from None
    try:
        header, frames = read_replay(replay_path)
    except OSError as exc:
        raise ExportError(f"cannot read replay {replay_path}: {exc.strerror or exc}") from None
    except ReplayError as exc:
        raise ExportError(f"{replay_path}: {exc}") from None
    n = len(frames)
    first = 0 if first is None else first
    last = n - 1 if last is None else last
    if not (0 <= first <= last <= n - 1):
        raise ExportError(f"frames {first}..{last} are outside this replay (frames 0..{n - 1}, --from <= --to)")
    doc = replaydata.compact_replay(header, frames)
    return Job(doc=doc, out=out, fmt=fmt, fps=fps, size=tuple(size), first=first, last=last, chromium=chromium)


def find_replay(runs_dir, run_id: str, replay_id: str) -> Path:
    """The file of ``replay_id`` in run ``run_id`` (ExportError naming what is unknown)."""
    try:
        run_dir = R.run_dir(run_id, runs_dir)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if not (run_dir / R.EVENTS_FILE).is_file():
        raise ExportError(f"no run {run_id!r} in {runs_dir}/")
    for event in Run.open(run_dir).replays():
        if event.replay_id == replay_id:
            try:
                return R.resolve_in_run(run_dir, event.path)
            except ValueError as exc:
                raise ExportError(str(exc)) from None
    raise ExportError(f"run {run_id!r} has no replay {replay_id!r} (`prospector runs show {run_id}` lists them)")


# ------------------------------------------------------------------ drawing and encoding


def player_site(doc: dict, out_dir: Path) -> str:
    """The least of a site that shows one replay in the embed page: ``embed/index.html``,
    the static files, the Kenney art and the replay's JSON, written into ``out_dir``
    (also used by sitegen/notebook.py). Returns the embed page's path and query."""
    import jinja2

    from .build import spec_module

    out_dir = Path(out_dir)
    result, _ = A.copy_assets(A.default_assets_dir(None), out_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(base="/", title_font=result.manifest["fonts"].get("font.title"))
    (out_dir / "embed").mkdir(parents=True, exist_ok=True)
    (out_dir / "embed" / "index.html").write_text(env.get_template("embed.html").render(page="embed/index.html"))
    shutil.copytree(HERE / "static", out_dir / "static", dirs_exist_ok=True)
    (out_dir / "static" / "spec.js").write_text(spec_module())
    replays = out_dir / "data" / "runs" / str(doc["run_id"]) / "replays"
    replays.mkdir(parents=True, exist_ok=True)
    (replays / f"{doc['replay_id']}.json").write_bytes(replaydata.dumps(doc))
    # no window policies travel with one replay: the player's window comparison says so (compare.js)
    (replays.parent / "policies.json").write_text(
        json.dumps({"schema": 1, "run_id": doc["run_id"], "policies": [], "replay_obs": {}})
    )
    return f"embed/?{urlencode({'run': doc['run_id'], 'replay': doc['replay_id']})}"


class _Files:
    """Answers the embed page's requests from a :func:`player_site` directory."""

    TYPES = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".png": "image/png",
        ".ttf": "font/ttf",
        ".ogg": "audio/ogg",
        ".svg": "image/svg+xml",
        ".html": "text/html",
    }

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def answer(self, route) -> None:
        from urllib.parse import unquote, urlparse

        path = unquote(urlparse(route.request.url).path)
        file = (self.root / path.lstrip("/")).resolve()
        if file.is_dir():
            file = file / "index.html"
        if file.is_file() and self.root in file.parents:
            return route.fulfill(
                status=200, body=file.read_bytes(), content_type=self.TYPES.get(file.suffix, "application/octet-stream")
            )
        return route.fulfill(status=404, body=b"not found", content_type="text/plain")


def render(job: Job, progress: Callable[[int, int], None] | None = None) -> dict:
    """Draw and encode ``job``; the output file appears only when complete."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    w, h = job.size
    tmp = job.out.with_name(f".{job.out.name}.part{os.getpid()}")
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="prospector-export-") as site, sync_playwright() as pw:
            embed = player_site(job.doc, Path(site))
            files = _Files(Path(site))
            browser = pw.chromium.launch(executable_path=job.chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 800})
                page.route(f"{ORIGIN}/**", files.answer)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{ORIGIN}/{embed}&frame={job.first}&autoplay=0")
                try:
                    page.wait_for_function("typeof window.__exportFrames === 'function'", timeout=60000)
                except PlaywrightError:
                    raise ExportError(
                        f"the player did not start in Chromium: {'; '.join(errors) or 'timeout'}"
                    ) from None
                page.evaluate("document.fonts.ready.then(() => window.__player.assets.ready(10000))")
                encoder = _Encoder(tmp, job, progress)  # encodes a batch while Chromium draws the next
                try:
                    for start in range(job.first, job.last + 1, BATCH):
                        count = min(BATCH, job.last + 1 - start)
                        encoder.put(
                            page.evaluate(
                                "([a, n, w, h, fps, q]) => window.__exportFrames(a, n, w, h, fps, q)",
                                [start, count, w, h, job.fps, JPEG_QUALITY],
                            )
                        )
                finally:
                    done = encoder.close()
            finally:
                browser.close()
        if done != job.frames:
            raise ExportError(f"drew {done} of {job.frames} frames")
        os.replace(tmp, job.out)
    except OSError as exc:  # the encoder's file (a full disk, a directory gone): one line
        tmp.unlink(missing_ok=True)
        raise ExportError(f"{job.out}: cannot write the video: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {
        "frames": job.frames,
        "fps": job.fps,
        "width": w,
        "height": h,
        "format": job.fmt,
        "seconds": time.perf_counter() - t0,
    }


class _Encoder:
    """PyAV in a thread (it releases the GIL while encoding): batches of base64 JPEGs in,
    frames of the video out, in order."""

    def __init__(self, path: Path, job: Job, progress):
        import queue
        import threading

        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.path, self.job, self.progress = path, job, progress
        self.done = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="export-encoder", daemon=True)
        self.thread.start()

    def put(self, images: list[str]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(images)

    def close(self) -> int:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.done

    def _run(self) -> None:
        import av

        try:
            w, h = self.job.size
            with av.open(str(self.path), mode="w", format=self.job.fmt) as container:
                stream = _video_stream(container, self.job)
                jpeg = av.CodecContext.create("mjpeg", "r")
                while (images := self.queue.get()) is not None:
                    for text in images:
                        for picture in jpeg.decode(av.Packet(base64.b64decode(text))):
                            frame = picture.reformat(width=w, height=h, format=stream.pix_fmt)
                            frame.pts = self.done
                            container.mux(stream.encode(frame))
                            self.done += 1
                    if self.progress:
                        self.progress(self.done, self.job.frames)
                container.mux(stream.encode(None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.error = exc
            while self.queue.get() is not None:  # let put() / close() finish
                pass


def _video_stream(container, job: Job):
    from fractions import Fraction

    w, h = job.size
    if job.fmt == "gif":
        stream = container.add_stream("gif", rate=job.fps)
        stream.pix_fmt = "rgb8"
    else:
        stream = container.add_stream("libx264", rate=job.fps)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "ultrafast"}
    stream.width, stream.height = w, h
    stream.time_base = Fraction(1, job.fps)
    return stream


def terminal_progress(stream=sys.stderr) -> Callable[[int, int], None]:
    """``export: frame 250/1000 (25%)`` rewritten in place; a newline at the end."""

    def show(done: int, total: int) -> None:
        stream.write(f"\rexport: frame {done}/{total} ({100 * done // max(1, total)}%)")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


# ------------------------------------------------------------------ entry point for the trainer

#: train --wandb-video: smaller and a little faster than the default export
VIDEO_HOOK_SIZE = (640, 360)
VIDEO_HOOK_FPS = 15


def video_hook():
    """Entry point ``prospector.hooks`` ``replay_video``: ``render(replay_path, out_path) -> info``
    for ``train --wandb-video``. Raises RuntimeError now when it could never render
    (no Chromium, no PyAV or Playwright), so training is refused at start."""
    if find_chromium() is None:
        raise RuntimeError(no_chromium())
    try:
        import av  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"{exc.name} is not installed: pip install 'asteroid-prospector[site]'") from None

    def render_replay(replay_path, out_path) -> dict:
        info = render(prepare(replay_path, out_path, fps=VIDEO_HOOK_FPS, size=VIDEO_HOOK_SIZE))
        return {k: info[k] for k in ("frames", "fps", "width", "height")}

    return render_replay
