"""The browser tests' page: a request that fails is an error, a request cancelled because
the page was left while it loaded is not (on a busy machine images are often still
loading when a test clicks a link; a round of make stress failed on exactly that)."""

from __future__ import annotations

import http.server
import threading

import pytest
from harness.procs import free_port
from harness.testing import BrowserPage, require_chromium

require_chromium()


class Page(BrowserPage):
    record_failed_requests = True


@pytest.fixture(scope="module")
def server():
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow.png":  # answers only once the test is over
                release.wait(60)
            body = (
                b'<!doctype html><img src="/slow.png"><a id="next" href="/next.html">next</a>'
                if self.path == "/"
                else b"<!doctype html><title>next</title>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()


def test_leaving_a_page_while_it_loads_is_not_an_error(browser, server):
    page = Page(browser, server)
    try:
        pg = page.page
        seen = []
        pg.on("request", lambda r: seen.append(r.url))
        pg.goto(server + "/", wait_until="domcontentloaded")
        while not any(url.endswith("/slow.png") for url in seen):
            pg.wait_for_timeout(20)
        with pg.expect_event("requestfailed") as failed:
            pg.click("#next")
        assert failed.value.url.endswith("/slow.png") and failed.value.failure == "net::ERR_ABORTED"
        pg.wait_for_selector("title", state="attached")
        assert page.errors == []
    finally:
        page.close()


def test_a_request_that_fails_is_an_error(browser, server):
    page = Page(browser, server)
    try:
        dead = f"http://127.0.0.1:{free_port()}/nothing.png"  # nobody listens there
        page.page.goto(server + "/next.html")
        load = "url => new Promise(done => { const image = new Image(); image.onerror = done; image.src = url; })"
        page.page.evaluate(load, dead)
        failed = [e for e in page.errors if e.startswith("requestfailed:")]
        assert failed == [f"requestfailed: {dead} (net::ERR_CONNECTION_REFUSED)"], page.errors
    finally:
        page.close()
