"""Every script in examples/ runs at a tiny budget: it trains, saves, loads the saved
model back and evaluates it (the learning figures are on docs/ecosystem.md, from the
long runs; these only check that the recipes work)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "sb3_maskable_ppo.py": ["--timesteps", "4096", "--n-envs", "8", "--n-steps", "256", "--batch-size", "512",
                            "--reward-scale-end", "0.05", "--reward-clip-end", "5", "--ent-coef-end", "0",
                            "--verbose", "0"],
    "cleanrl_ppo.py": ["--timesteps", "4096", "--num-envs", "8", "--num-steps", "256", "--verbose", "0"],
    "puffer_train.py": ["--timesteps", "8192", "--num-envs", "64", "--horizon", "32"],
}  # fmt: skip


@pytest.mark.parametrize("script", sorted(TINY))
def test_example_trains_saves_loads_and_evaluates(script, tmp_path):
    out = tmp_path / "model"
    args = [*TINY[script], "--out", str(out), "--eval-episodes", "3", "--eval-time-max", "150"]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["episodes"] == 3 and sum(result["end_reasons"].values()) == 3
    assert set(result["end_reasons"]) <= {"destroyed", "stranded", "cash_out", "timeout"}
    assert 0.0 <= result["ship_intact"] <= 1.0 and isinstance(result["mean_net_profit"], float)
    assert list(tmp_path.glob("model*")), "the model was saved"


def test_examples_are_all_tested():
    scripts = {p.name for p in (ROOT / "examples").glob("*.py")} - {"prospector_sb3.py"}  # a module, not a script
    assert scripts == set(TINY)
