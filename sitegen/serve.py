"""``prospector site serve``: serve public/ on localhost (stdlib only).

Directory URLs get their ``index.html`` (``/analytics`` redirects to ``/analytics/``),
unknown paths get ``404.html``, and JavaScript modules are sent as text/javascript.
Only for local viewing: the deployed site is plain static files on Vercel.

Only regular files under the site directory are served (docs/site.md#what-site-serve-serves):
no directory listings, nothing under a name that starts with a dot (``.sitegen/``), no
symlink that leads out of the directory; a URL with an encoded separator, a backslash,
a NUL or a dot segment is a 400.

``site serve --with-play`` (the end of ``make demo``) also runs the play service
(``prospector play-server``) as a child process, on the port the site was built to
call, and stops both on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import http.server
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit

# Handler threads log to one stderr. print() writes the text and the newline in two calls,
# so two threads could interleave into one garbled line; every line goes out whole, under
# this lock.
_STDERR_LOCK = threading.Lock()


# In a URL's path as sent: an encoded "/" or "\\", a backslash, an encoded or raw NUL.
_REFUSED_IN_URL = ("%2f", "%5c", "\\", "%00", "\x00")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def _log_line(line: str) -> None:
    with _STDERR_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".ogg": "audio/ogg",
        ".ttf": "font/ttf",
        ".css": "text/css",
        ".svg": "image/svg+xml",
    }
    quiet = False

    def send_head(self):
        """Headers of the file the URL names (its body left to do_GET), or an error sent.

        A ``.json`` with a ``.json.gz`` twin goes out gzip-encoded when the client accepts it.
        """
        path, error = self.site_path()
        if error is not None:
            self.send_error(*error)
            return None
        url_path = urlsplit(self.path).path
        if os.path.isdir(path):  # (os.path: False for a name too long, where Path raises)
            if not url_path.endswith("/"):  # relative links in its index.html need the slash
                query = urlsplit(self.path).query
                self.send_response(301)
                self.send_header("Location", url_path + "/" + (f"?{query}" if query else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = path / "index.html"
        gz = path.with_name(path.name + ".gz")
        if path.suffix == ".json" and "gzip" in self.headers.get("Accept-Encoding", ""):
            f = self.open_site_file(gz)
            if f is not None and os.fstat(f.fileno()).st_mtime >= _mtime(path):
                return self.send_file_headers(f, "application/json", {"Content-Encoding": "gzip"})
            if f is not None:
                f.close()
        f = self.open_site_file(path)
        if f is None:
            self.send_error(404, "File not found")
            return None
        return self.send_file_headers(f, self.guess_type(str(path)), {})

    def site_path(self) -> tuple[Path | None, tuple[int, str] | None]:
        """The URL as a path under the site directory, or the (status, reason) to answer.

        Checked on the URL as sent, before any decoding: ``%2F`` or a backslash would let a
        name carry a separator (``..%2Fwindows.json``), a NUL cannot be in a file name."""
        raw = urlsplit(self.path).path
        lowered = raw.lower()
        if not raw.startswith("/") or any(bad in lowered for bad in _REFUSED_IN_URL):
            return None, (400, "Bad path: encoded separators, backslashes and NUL are refused")
        parts = [unquote(part) for part in raw.split("/") if part]
        if any(part in (".", "..") or "\x00" in part for part in parts):
            return None, (400, "Bad path: dot segments and NUL are refused")
        if any(part.startswith(".") for part in parts):  # .sitegen/ and any other hidden name
            return None, (404, "File not found")
        return Path(self.directory).joinpath(*parts), None

    def open_site_file(self, path: Path):
        """``path`` opened for reading when it is a regular file inside the site directory
        (after following any symlinks), else None."""
        root = Path(self.directory)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a symlink loop
            return None
        if real != root and root not in real.parents:
            return None
        try:  # O_NONBLOCK: opening a FIFO for reading would wait for a writer
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")  # do_GET copies it to the socket and closes it

    def send_file_headers(self, f, content_type: str, extra: dict):
        fs = os.fstat(f.fileno())
        if self.not_modified_since(fs.st_mtime):  # the browser revalidates (Cache-Control: no-cache)
            f.close()
            self.send_response(304)
            self.end_headers()
            return None
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        if "Content-Encoding" in extra:
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(fs.st_size))
        self.send_header("Last-Modified", self.date_time_string(fs.st_mtime))
        self.end_headers()
        return f

    def not_modified_since(self, mtime: float) -> bool:
        """The request's If-Modified-Since is at or after ``mtime`` (as http.server decides)."""
        since = self.headers.get("If-Modified-Since")
        if since is None or "If-None-Match" in self.headers:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since)
        except (TypeError, IndexError, OverflowError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        modified = datetime.datetime.fromtimestamp(mtime, datetime.UTC).replace(microsecond=0)
        return modified <= when

    def send_error(self, code, message=None, explain=None):
        if code == 404:
            f = self.open_site_file(Path(self.directory) / "404.html")
            if f is not None:
                with f:
                    body = f.read()
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return
        super().send_error(code, message, explain)

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if not self.quiet:
            # control characters escaped as the stdlib does: a URL must not drive the terminal
            message = (format % args).translate(self._control_char_table)
            _log_line(f"{self.address_string()} - - [{self.log_date_time_string()}] {message}")


class SiteServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    quiet = False

    def handle_error(self, request, client_address):
        """A browser that drops a connection (a closed tab, a cancelled fetch, a reload) is
        ordinary: one quiet line, not socketserver's traceback. Anything else is a bug and
        keeps its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            if not self.quiet:
                _log_line(f"{client_address[0]} closed the connection early ({type(error).__name__})")
            return
        super().handle_error(request, client_address)


def make_server(directory, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False):
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist: run `prospector site build` first")
    handler = functools.partial(type("H", (SiteHandler,), {"quiet": quiet}), directory=str(directory))
    server_class = type("Server", (SiteServer,), {"quiet": quiet})
    return server_class((host, port), handler)


def serve_in_thread(directory, host: str = "127.0.0.1", port: int = 0):
    """Start a server in a daemon thread; returns (server, base URL). For tests."""
    server = make_server(directory, host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_address[1]}"


def _stop_on_signals() -> tuple[threading.Event, Callable[[], None]]:
    """An event that SIGINT or SIGTERM sets, and a function that puts the previous handlers back.

    Installed explicitly rather than left to KeyboardInterrupt: a shell starts a script's
    background jobs (``prospector site serve &``) with SIGINT ignored, and Python then
    never raises KeyboardInterrupt, so Ctrl-C and ``kill -INT`` would not stop the server.
    The play service's Sanic installs its own handlers the same way.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return stop, restore


def serve(directory, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``directory`` until SIGINT or SIGTERM (Ctrl-C, ``kill``), then close the port."""
    server = make_server(directory, host, port)
    stop, restore_signals = _stop_on_signals()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(
        f"serving {Path(directory).resolve()} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True
    )
    try:
        while not stop.wait(0.25):
            pass
    finally:
        server.shutdown()
        server.server_close()
        restore_signals()
    print("stopped the site", flush=True)


# ---------------------------------------------------------------- site + play service

DEFAULT_PLAY_PORT = 8001
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ServeError(Exception):
    """A clear, one-line reason why ``site serve --with-play`` cannot run."""


def built_play_port(directory) -> int | None:
    """The port of the loopback play service the site in ``directory`` was built to call."""
    try:
        doc = json.loads((Path(directory) / "data" / "runs.json").read_text())
        url = urlparse(doc.get("play_url") or "")
    except (OSError, ValueError, AttributeError):
        return None
    if url.scheme != "http" or url.hostname not in LOOPBACK:
        return None
    try:
        return url.port or 80
    except ValueError:
        return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM if this process dies without stopping it (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait_healthy(proc: subprocess.Popen, url: str, timeout: float, stop: threading.Event) -> None:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        if proc.poll() is not None:
            raise ServeError(
                f"the play service exited with status {proc.returncode} before it answered "
                "(is its port already in use? see its message above)"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise ServeError(f"the play service did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


def _stop_child(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # Sanic stops cleanly on SIGINT
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve_with_play(
    directory, host: str = "127.0.0.1", port: int = 8000, play_port: int | None = None, startup_timeout: float = 60.0
) -> int:
    """Serve the site and run the play service beside it until SIGINT/SIGTERM; returns the exit status.

    The play service is ``prospector play-server`` in a child process (in its own session,
    so a terminal's Ctrl-C reaches only this process, which stops the child and waits for
    it: no orphan). Its port defaults to the one the site was built to call.
    """
    built = built_play_port(directory)
    if play_port is None:
        play_port = built or DEFAULT_PLAY_PORT
    elif built is not None and built != play_port:
        print(
            f"note: the site was built to call the play service on port {built}, not {play_port}; "
            f"rebuild it with --play-url http://127.0.0.1:{play_port} or /play will not connect",
            file=sys.stderr,
        )
    if play_port == port:
        raise ServeError(f"the site and the play service cannot share port {port}")
    server = make_server(directory, host, port)  # a busy site port fails here, before anything starts
    stop, restore_signals = _stop_on_signals()
    proc = None
    thread = None
    try:
        cmd = [sys.executable, "-m", "prospector.cli", "play-server", "--host", host, "--port", str(play_port)]
        proc = subprocess.Popen(
            cmd,
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        shown = f"[{host}]" if ":" in host else host
        _wait_healthy(proc, f"http://{shown}:{play_port}/api/health", startup_timeout, stop)
        if stop.is_set():
            return 0
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        site = f"http://{shown}:{server.server_address[1]}/"
        print(f"site:         {site}", flush=True)
        print(f"play:         {site}play/", flush=True)
        print(f"play service: http://{shown}:{play_port}/api/health", flush=True)
        print("Ctrl-C stops both.", flush=True)
        while not stop.wait(0.25):
            if proc.poll() is not None:
                print(
                    f"site serve: error: the play service stopped (status {proc.returncode}); stopping the site",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
        return 0
    finally:
        if thread is not None:
            server.shutdown()
        server.server_close()
        if proc is not None:
            _stop_child(proc)
        restore_signals()
        if stop.is_set():
            print("stopped the site and the play service", flush=True)
