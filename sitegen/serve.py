"""``prospector site serve``: serve public/ on localhost (stdlib only).

Directory URLs get their ``index.html`` (``/analytics`` redirects to ``/analytics/``),
unknown paths get ``404.html``, and JavaScript modules are sent as text/javascript.
Only for local viewing: the deployed site is plain static files on Vercel.
"""

from __future__ import annotations

import functools
import os
import http.server
import threading
from pathlib import Path


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
                      ".ogg": "audio/ogg", ".ttf": "font/ttf", ".css": "text/css", ".svg": "image/svg+xml"}
    quiet = False

    def send_head(self):
        """A ``.json`` with a ``.json.gz`` twin goes out gzip-encoded when the client accepts it."""
        path = self.translate_path(self.path)
        gz = path + ".gz"
        if (path.endswith(".json") and "gzip" in self.headers.get("Accept-Encoding", "")
                and os.path.isfile(path) and os.path.isfile(gz)
                and os.path.getmtime(gz) >= os.path.getmtime(path)):
            f = open(gz, "rb")
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(size))
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return f
        return super().send_head()

    def send_error(self, code, message=None, explain=None):
        if code == 404:
            page = Path(self.directory) / "404.html"
            if page.is_file():
                body = page.read_bytes()
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
            super().log_message(format, *args)


def make_server(directory, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False):
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist: run `prospector site build` first")
    handler = functools.partial(type("H", (SiteHandler,), {"quiet": quiet}), directory=str(directory))
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_thread(directory, host: str = "127.0.0.1", port: int = 0):
    """Start a server in a daemon thread; returns (server, base URL). For tests."""
    server = make_server(directory, host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_address[1]}"


def serve(directory, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = make_server(directory, host, port)
    print(f"serving {Path(directory).resolve()} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
