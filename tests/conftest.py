"""Shared fixtures for the engine test-suite.

Nothing here skips: a missing or broken C build makes the import below fail, and
with it every test (docs/game.md#7-parity-and-determinism says the C core is the product; the reference is its spec).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the repo root
    sys.path.insert(0, str(ROOT))

from harness.procs import PlayServer  # noqa: E402

from prospector import _core  # noqa: E402,F401  (fails loudly when the C core is not built)
from prospector import spec as S  # noqa: E402
from prospector.envs import ProspectorEnv  # noqa: E402
from prospector.reference import ReferenceEnv  # noqa: E402

IMPLEMENTATIONS = {"reference": ReferenceEnv, "native": ProspectorEnv}

# A world without chance events away from the station: no hazard anywhere, pirates
# (logit -50) and fractures (logit -50) practically impossible, no price shocks.
# The mechanics under test keep their docs/game.md#6-mechanics defaults.
CALM = {
    "pirate_base": -50.0,
    "cluster_hazard_scale": 0.0,
    "hazard_node_hazard_base": 0.0,
    "hazard_node_hazard_span": 0.0,
    "fracture_base": -50.0,
    "shock_rate": 0.0,
}


class Game:
    """An env (either implementation) plus the bookkeeping the action tests need."""

    def __init__(self, env, seed: int):
        self.env = env
        self.obs, self.info = env.reset(seed=seed)
        self.reward = None
        self.terminated = self.truncated = False

    # ------------------------------------------------------------ state
    def snap(self) -> dict:
        return self.env.snapshot()

    def here(self) -> dict:
        s = self.snap()
        return s["nodes"][s["node"]]

    def mask(self):
        return self.env.action_mask()

    # ------------------------------------------------------------ acting
    def step(self, action, *, expect_valid: bool | None = True):
        if expect_valid is True:
            assert self.mask()[action], f"{S.ACTION_NAMES[action]} should be valid here"
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.obs, self.reward, self.terminated, self.truncated, self.info = (obs, reward, terminated, truncated, info)
        if expect_valid is True:
            assert info["invalid"] is False, f"{S.ACTION_NAMES[action]} was executed as invalid"
        return info

    def events(self, kind: str | None = None) -> list[dict]:
        evs = self.info["events"]
        return [e for e in evs if e["type"] == kind] if kind else evs

    def travel_to(self, node: int):
        here = self.here()
        assert node in here["neighbors"], f"node {node} is not a neighbour of the current node"
        return self.step(here["neighbors"].index(node))

    def go_to_cluster(self) -> int:
        """From the station to node 1 (the spanning tree always links node 1 to the
        station, and node 1 is always a cluster)."""
        s = self.snap()
        assert s["node"] == 0
        assert s["nodes"][1]["type"] == S.CLUSTER
        self.travel_to(1)
        return 1

    def return_to_station(self):
        while self.snap()["node"] != 0:
            s = self.snap()
            here = s["nodes"][s["node"]]
            k = min(range(len(here["neighbors"])), key=lambda k: s["nodes"][here["neighbors"][k]]["dist"])
            self.step(k)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def impl(request):
    """The implementation under test: 'native' (C core) or 'reference' (Python)."""
    return request.param


@pytest.fixture
def make_game(impl):
    """make_game(seed=..., **config) -> Game on the parametrized implementation."""

    def factory(seed: int = 1, calm: bool = True, **config) -> Game:
        cfg = dict(CALM) if calm else {}
        cfg.update(config)
        return Game(IMPLEMENTATIONS[impl](**cfg), seed)

    return factory


@pytest.fixture
def make_env(impl):
    """make_env(**config) -> a fresh env of the parametrized implementation."""

    def factory(**config):
        return IMPLEMENTATIONS[impl](**config)

    return factory


# ------------------------------------------------------------ browser tests (the site, /play)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, one per test module (modules that use it
    importorskip playwright first)."""
    from harness.testing import launch_chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go: $SITE_SCREENSHOTS_DIR, or a pytest tmp dir."""
    d = Path(os.environ.get("SITE_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def play():
    """``prospector play-server`` as a real process, one per test module that asks for it."""
    with PlayServer() as server:
        yield server
