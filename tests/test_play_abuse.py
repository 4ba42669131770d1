"""Play service under load and abuse, the bounded form.

``python -m tests.harness.abuse --spawn`` starts a real ``prospector play-server``
(TTL 2 s, cap 48 sessions), drives 60 concurrent raw-socket clients through valid play
and every bad input of the play API plus session churn past the cap, for 3 rounds of
8 s, waits after each round until every session expired, and reads the server's RSS.
The long form (docs/reliability.md) is the same command with longer rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.abuse import SCENARIOS

REPO = Path(__file__).resolve().parents[1]
RSS_GROWTH_LIMIT_MIB = 6.0  # ~350 sessions a round at ~68 KiB each: a leak of them all is ~23 MiB


def test_load_and_abuse_no_5xx_and_memory_flat_after_expiry():
    cmd = [
        sys.executable,
        "-m",
        "tests.harness.abuse",
        "--spawn",
        "--ttl",
        "2",
        "--max-sessions",
        "48",
        "--clients",
        "60",
        "--seconds",
        "8",
        "--rounds",
        "3",
        "--json",
    ]
    out = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert out.stdout.strip(), out.stderr
    result = json.loads(out.stdout)
    print(
        f"\nabuse (seed {result['seed']}): {result['requests']} requests, {result['requests_per_s']} req/s, "
        f"p99 {result['latency_ms']['p99']} ms, statuses {result['statuses']}, RSS after expiry "
        f"{result['rss_after_expiry_mib']} MiB"
    )
    assert result["server_errors"] == 0, result["problems"]
    assert result["unexpected"] == 0, result["problems"]
    assert result["server_exit"] == 0 and result["server_tracebacks"] == 0, out.stderr
    assert out.returncode == 0, out.stderr
    # every kind of abuse was sent, and the answers show it was refused the promised way
    assert set(result["scenarios"]) == set(SCENARIOS)
    for status in ("200", "201", "400", "404", "409", "410", "413", "415", "429"):
        assert result["statuses"].get(status, 0) > 0, (status, result["statuses"])
    assert result["sessions_expired"] > 0  # abandoned sessions were reclaimed by the TTL...
    after = result["rss_after_expiry_mib"]  # ...and the memory they held with them
    assert after[-1] - after[0] <= RSS_GROWTH_LIMIT_MIB, after
