"""``prospector site serve`` stays in its directory (docs/site.md#what-site-serve-serves).

A real ``site serve`` process on loopback, asked over raw sockets (so that no client
library normalises the URL first) for what a hostile page or person would ask: symlinks
out of the site, directory listings, the build's hidden ``.sitegen/`` folder, an encoded
``../`` and a NUL. Only regular files under the site root are served.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from harness.procs import free_port, start_site_serve

REPO = Path(__file__).resolve().parents[1]
SECRET = b"outside-the-site-secret"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site with the shapes a build leaves (a replay, its gzip twin, the manifest) and
    every hostile link beside them; a ``site serve`` of it, with its log collected."""
    root = tmp_path_factory.mktemp("hostile")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    site = root / "public"
    replays = site / "data/runs/RUN/replays"
    replays.mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>home</title>")
    (site / "404.html").write_text("<!doctype html><title>not here</title>")
    (site / "data/runs/RUN/windows.json").write_text('{"windows": true}')
    (replays / "r.json").write_text('{"replay": true}')
    (replays / "r.json.gz").write_bytes(gzip.compress(b'{"replay": true}'))
    (site / "listing").mkdir()
    (site / "listing/file.txt").write_text("in a folder without index.html")
    (site / "embed").mkdir()
    (site / "embed/index.html").write_text("<!doctype html><title>embed</title>")
    (site / ".sitegen").mkdir()
    (site / ".sitegen/manifest.json").write_text('{"outputs": {}}')
    (site / ".hidden.json").write_text("{}")
    (site / "passwd.txt").symlink_to(outside / "secret.txt")  # a file symlink leaving the site
    (site / "elsewhere").symlink_to(outside, target_is_directory=True)  # a folder symlink leaving it
    (site / "alias.json").symlink_to(replays / "r.json")  # a symlink inside the site is fine
    (site / "fifo").mkdir()
    os.mkfifo(site / "fifo/index.html")  # not a regular file: never opened for reading
    port = free_port()
    proc = start_site_serve(site, port)
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "".join(log)
        try:
            if get(port, "/")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "site serve never answered"
        time.sleep(0.1)
    yield port, log
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    reader.join(timeout=30)


def get(port: int, target: str, headers: str = "") -> tuple[int, dict, bytes]:
    """(status, headers, body) of ``GET target`` sent byte for byte as given."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n{headers}\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


def test_regular_files_inside_the_site_are_served(site):
    port, _ = site
    assert get(port, "/data/runs/RUN/replays/r.json")[2] == b'{"replay": true}'
    assert get(port, "/alias.json")[2] == b'{"replay": true}'
    assert b"embed" in get(port, "/embed/?run=RUN&replay=r")[2]
    status, headers, _ = get(port, "/embed?run=RUN")
    assert status == 301 and headers["location"] == "/embed/?run=RUN"
    status, headers, body = get(port, "/data/runs/RUN/replays/r.json", "Accept-Encoding: gzip\r\n")
    assert status == 200 and headers["content-encoding"] == "gzip" and gzip.decompress(body) == b'{"replay": true}'
    # a browser revalidating what it has (the site is sent with Cache-Control: no-cache)
    status, headers, body = get(port, "/index.html")
    assert status == 200 and headers["cache-control"] == "no-cache"
    again = get(port, "/index.html", f"If-Modified-Since: {headers['last-modified']}\r\n")
    assert again[0] == 304 and again[2] == b""


@pytest.mark.parametrize(
    "target",
    ["/passwd.txt", "/elsewhere/secret.txt", "/elsewhere/", "/elsewhere", "/listing/", "/fifo/"],
)
def test_nothing_outside_the_site_and_no_listing(site, target):
    port, _ = site
    status, _, body = get(port, target)
    assert status in (301, 404) and SECRET not in body and b"file.txt" not in body, (status, body[:200])
    if status == 301:  # the slash added, then refused
        assert get(port, target + "/")[0] == 404


@pytest.mark.parametrize(
    "target", ["/.sitegen/manifest.json", "/.sitegen/", "/.hidden.json", "/%2esitegen/manifest.json"]
)
def test_hidden_names_are_not_served(site, target):
    port, _ = site
    status, _, body = get(port, target)
    assert status == 404 and b"outputs" not in body


@pytest.mark.parametrize(
    "target",
    [
        "/data/runs/RUN/replays/..%2Fwindows.json",
        "/data/runs/RUN/replays/..%2fwindows.json",
        "/data/runs/RUN/replays/..%5Cwindows.json",
        "/data/runs/RUN/replays/..\\windows.json",
        "/data/runs/RUN/replays/%2e%2e/windows.json",
        "/data/runs/RUN/replays/../windows.json",
        "/index.html%00.json",
        "/%00",
    ],
)
def test_encoded_separators_dot_segments_and_nul_are_400(site, target):
    port, log = site
    status, _, body = get(port, target)
    assert status == 400 and b"windows" not in body, (status, body[:200])


def test_the_log_has_no_traceback(site):
    port, log = site
    get(port, "/index.html%00.json")
    get(port, "/" + "a" * 5000)  # a name longer than any file system takes
    assert get(port, "/")[0] == 200  # still serving, and the lines above are logged by now
    text = "".join(log)
    assert "Traceback" not in text and "embedded null byte" not in text, text
