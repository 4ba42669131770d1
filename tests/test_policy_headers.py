"""Malformed policy headers give the policy error, never another exception, in the
Python reader (pipeline/store/policy_file.py ``load_exported``). The same cases go through
policy.js in tests/test_policy_headers_browser.py; they come from tests/harness/policy_fuzz.py.

Before the header was checked as a whole, these raised ValueError, TypeError, KeyError,
IndexError or RecursionError from inside the reader.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from harness.observations import real_observations
from harness.policy_fuzz import malformed_headers, mutated_headers
from prospector.pipeline import policy_export as PE
from prospector.pipeline.policy import policy_for_checkpoint
from prospector.pipeline.store import policy_file as PF
from prospector.sitegen.build import ROOT


@pytest.fixture(scope="module")
def exported():
    """(header, weights) of a small masked MLP: no training needed for the file format."""
    policy = policy_for_checkpoint("mlp", 8, True)
    state = {"policy": policy.state_dict(), "policy_kind": "mlp", "hidden_size": 8, "action_mask": True}
    return PE.export_checkpoint(state, run_id="fuzz", window_id=0)


def test_the_good_header_loads(exported):
    header, weights = exported
    probs = PF.load_exported(PF.header_bytes(header), weights).probs(real_observations(50))
    assert np.allclose(probs.sum(axis=1), 1)


def test_every_malformed_header_is_refused_with_the_policy_error(exported):
    header, weights = exported
    cases = malformed_headers(header)
    assert len(cases) > 200
    for name, raw in cases:
        with pytest.raises(PF.PolicyFileError) as caught:
            PF.load_exported(raw.encode(), weights)
        message = str(caught.value)
        assert "\n" not in message and len(message) < 400, (name, message)


def test_random_mutations_give_the_policy_error_or_a_working_policy(exported):
    header, weights = exported
    obs = real_observations(20)
    loaded = 0
    for name, raw in mutated_headers(header, 600, seed=18):
        try:
            policy = PF.load_exported(raw.encode(), weights)
        except PF.PolicyFileError:
            continue
        except Exception as exc:  # the defect: any other exception escapes the reader
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
        assert np.isfinite(policy.probs(obs)).all(), name  # a harmless change: the policy still runs
        loaded += 1
    assert 0 < loaded < 600  # some mutations are harmless (a name, the run id), most are not


def test_policy_js_has_the_same_bounds():
    """The page's limits on a header are the Python reader's (one rule, two readers)."""
    js = (ROOT / "sitegen/static/policy.js").read_text()
    for name in ("MAX_DIM", "MAX_FLOATS", "MAX_LAYERS", "MAX_RULE_DEPTH", "MAX_RULE_NODES"):
        found = re.search(rf"^const {name} = (\d+)(?: << (\d+))?;$", js, re.M)  # 100000 or 1 << 16
        assert found, name
        value = int(found.group(1)) << int(found.group(2) or 0)
        assert value == getattr(PF, name), (name, value)


def test_header_bytes_round_trip(exported):
    header, _ = exported
    assert PF.check_header(json.loads(PF.header_bytes(header))) == header
