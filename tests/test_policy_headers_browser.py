"""Malformed policy headers give a PolicyError in the page (sitegen/static/policy.js),
never a RangeError, a TypeError or a stack overflow: the cases of
tests/harness/policy_fuzz.py (the Python reader's, tests/test_policy_headers.py) in
headless Chromium, parsed as ``load()`` parses them and passed to ``fromParts``.

Before policy.js checked the header as a whole, a null layer gave "Cannot destructure
property 'in' of null", a negative size "Invalid typed array length" and a deeply nested
mask rule "Maximum call stack size exceeded".
"""

from __future__ import annotations

import shutil

import pytest
from harness.policy_fuzz import malformed_headers, mutated_headers
from harness.testing import BrowserPage, require_chromium
from prospector.pipeline import policy_export as PE
from prospector.pipeline.policy import policy_for_checkpoint
from prospector.pipeline.store import policy_file as PF
from prospector.sitegen.build import ROOT
from prospector.sitegen.serve import serve_in_thread

require_chromium()

# In the page: parse each raw header as load() does (a parse failure is load()'s
# PolicyError), build the policy, run it on one observation. Returns per case
# "loaded", or the error's name and message.
RUN_CASES = """async ([src, cases, weights]) => {
    const { fromParts } = await import(src);
    const bytes = Uint8Array.from(weights);
    const obs = new Float32Array(260).fill(0.25);
    return cases.map((raw) => {
        let header;
        try {
            header = JSON.parse(raw);
        } catch (err) {
            return 'PolicyError: the policy header is not JSON';
        }
        try {
            const p = fromParts(header, bytes).probs(obs);
            return p.every((v) => Number.isFinite(v)) ? 'loaded' : 'loaded, not finite';
        } catch (err) {
            return `${err.name}: ${err.message}`;
        }
    });
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """policy.js by itself under a static server (no site build needed)."""
    root = tmp_path_factory.mktemp("policy_js")
    (root / "static").mkdir()
    shutil.copy(ROOT / "sitegen/static/policy.js", root / "static/policy.js")
    (root / "index.html").write_text('<!doctype html><title>policy.js</title><link rel="icon" href="data:,">')
    server, base = serve_in_thread(root)
    yield base
    server.shutdown()


@pytest.fixture(scope="module")
def exported():
    policy = policy_for_checkpoint("mlp", 8, True)
    state = {"policy": policy.state_dict(), "policy_kind": "mlp", "hidden_size": 8, "action_mask": True}
    return PE.export_checkpoint(state, run_id="fuzz", window_id=0)


def run_in_page(browser, base: str, cases: list[tuple[str, str]], weights: bytes) -> list[str]:
    page = BrowserPage(browser, base)
    try:
        page.goto("index.html")
        results = page.page.evaluate(RUN_CASES, [base + "/static/policy.js", [raw for _, raw in cases], list(weights)])
    finally:
        page.close()
    assert not page.errors, page.errors  # nothing escaped into the page
    return results


def test_every_malformed_header_is_a_policy_error_in_the_page(browser, served, exported):
    header, weights = exported
    cases = [("the good header", PF.header_bytes(header).decode())] + malformed_headers(header)
    results = run_in_page(browser, served, cases, weights)
    assert results[0] == "loaded"
    outcomes = list(zip([name for name, _ in cases[1:]], results[1:]))
    escaped = [(name, got) for name, got in outcomes if not got.startswith(("PolicyError: ", "loaded"))]
    assert not escaped, escaped[:10]  # an error other than the policy's
    accepted = [name for name, got in outcomes if got.startswith("loaded")]
    assert not accepted, accepted[:10]  # a malformed header taken for a policy


def test_random_mutations_are_a_policy_error_or_a_working_policy_in_the_page(browser, served, exported):
    header, weights = exported
    cases = mutated_headers(header, 600, seed=18)
    results = run_in_page(browser, served, cases, weights)
    wrong = [
        (name, got) for (name, _), got in zip(cases, results) if got != "loaded" and not got.startswith("PolicyError: ")
    ]
    assert not wrong, wrong[:10]
    assert 0 < results.count("loaded") < len(cases)
