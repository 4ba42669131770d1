"""The package as a user installs it (docs/architecture.md#packaging).

One sdist and wheel are built from this checkout. The wheel holds one import name,
``prospector``, with the site's templates, static files and the play service inside and
none of the test harness. The sdist is then installed into a fresh virtual environment
of every Python 3.11-3.13 this machine has, with the game's dependencies only, where
``gymnasium.make`` and the native ``gymnasium.make_vec`` must work without torch, and
the commands of the missing extras must say which extra to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = {v: Path.home() / ".pyenv" / "versions" / v / "bin" / "python3" for v in ("3.11.7", "3.12.1", "3.13.0")}


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_wheel_has_one_import_name_and_its_data(dists):
    names = zipfile.ZipFile(dists["wheel"]).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"prospector"}, top
    files = set(names)
    for needed in (
        "prospector/_core",
        "prospector/pipeline/trainer.py",
        "prospector/sitegen/build.py",
        "prospector/play/server.py",
        "prospector/play/openapi.py",
        "prospector/sitegen/templates/base.html",
        "prospector/sitegen/templates/play.html",
        "prospector/sitegen/static/play.js",
        "prospector/sitegen/static/site.css",
    ):
        assert any(n.startswith(needed) for n in files), f"{needed} missing from the wheel"
    harness = ("abuse", "loadtest", "soak", "synth", "screenshots", "invariants", "testing", "site_bench")
    shipped = [n for n in files if Path(n).stem in harness]
    assert not shipped, f"test harness in the wheel: {shipped}"
    entry_points = (
        zipfile.ZipFile(dists["wheel"]).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    )
    assert "prospector = prospector.cli:main" in entry_points
    assert "[prospector.commands]" in entry_points


USE_THE_GAME = r"""
import sys
import gymnasium, numpy as np
import prospector
env = gymnasium.make("Prospector-v0")
obs, info = env.reset(seed=3)
assert obs.shape == (260,), obs.shape
obs, reward, terminated, truncated, info = env.step(0)
vec = gymnasium.make_vec("Prospector-v0", num_envs=8)
assert isinstance(vec, gymnasium.vector.VectorEnv), type(vec)
assert not isinstance(vec, (gymnasium.vector.SyncVectorEnv, gymnasium.vector.AsyncVectorEnv)), type(vec)
obs, info = vec.reset(seed=1)
assert obs.shape == (8, 260)
for _ in range(50):
    obs, rewards, terms, truncs, infos = vec.step(vec.action_space.sample())
# the ecosystem's pieces that need nothing more (docs/ecosystem.md): masks, ansi frames,
# Gymnasium's vector wrappers in NEXT_STEP mode; rgb_array names the extra it needs
from prospector.masks import obs_action_mask
env = gymnasium.make("prospector:Prospector-v0", render_mode="ansi")
obs, info = env.reset(seed=3)
assert obs_action_mask(obs)[env.unwrapped.action_masks()[:-1].nonzero()[0]].all()
assert "credits" in env.render()
vec = gymnasium.make_vec("prospector:Prospector-v0", num_envs=4, autoreset_mode="NextStep", time_max=20)
vec = gymnasium.wrappers.vector.NormalizeObservation(gymnasium.wrappers.vector.RecordEpisodeStatistics(vec))
vec.reset(seed=0)
ended = sum("episode" in vec.step(vec.action_space.sample())[4] for _ in range(40))
assert ended >= 1, ended
try:
    gymnasium.make("prospector:Prospector-v0", render_mode="rgb_array")
    raise AssertionError("rgb_array without Pillow")
except gymnasium.error.DependencyNotInstalled as e:
    assert "asteroid-prospector[render]" in str(e), e
assert "torch" not in sys.modules and "pufferlib" not in sys.modules and "PIL" not in sys.modules
print("game ok", sys.version_info[:2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_core_install_in_a_fresh_venv(version, dists, tmp_path):
    python = PYTHONS[version]
    if not python.exists():
        pytest.skip(f"Python {version} is not on this machine ({python})")
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--progress-bar",
            "off",
            "-c",
            str(ROOT / "requirements.txt"),
            str(dists["sdist"]),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    game = subprocess.run(
        [str(venv / "bin" / "python"), "-c", USE_THE_GAME],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert game.returncode == 0, game.stdout + game.stderr
    assert "game ok" in game.stdout
    for command, extra in (
        (["train", "--windows", "1"], "train"),
        (["site", "build"], "site"),
        (["play-server"], "play"),
    ):
        out = subprocess.run(
            [str(venv / "bin" / "prospector"), *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
        assert f"asteroid-prospector[{extra}]" in out.stderr, out.stderr
        assert not (tmp_path / "runs").exists(), "a refused command left a run directory"


SITE_ONLY_CHECK = r"""
import importlib.util
import sys
from importlib import metadata
missing = [m for m in ("torch", "pufferlib", "wandb") if importlib.util.find_spec(m) is not None]
assert not missing, missing
# the site imports nothing of the pipeline but the run store (docs/architecture.md);
# the checkpoint exporter is an entry point, listed here, that cannot run without torch
import prospector.sitegen.build, prospector.sitegen.policies, prospector.sitegen.sweeps
store = "prospector.pipeline.store"
others = [m for m in sys.modules if m.startswith("prospector.pipeline.") and not m.startswith(store)]
assert not others, others
hooks = {ep.name for ep in metadata.entry_points(group="prospector.hooks")}
assert "policy_from_checkpoint" in hooks, hooks
print("no torch")
"""


def recorded_run(runs_dir: Path) -> Path:
    """A small recorded run (tests/harness/synth.py: real replay files) whose window 0 has a
    checkpoint file that matches its event, so that the site reaches the checkpoint reader."""
    from harness.synth import make_synthetic_run
    from prospector.pipeline.store.log import encode_event, read_events

    run = make_synthetic_run(runs_dir, windows=3, frames=40)
    events = list(read_events(run.dir))
    saved = next(e for e in events if e["type"] == "checkpoint_saved" and e["window_id"] == 0)
    data = b"PK not a torch checkpoint, and never read without torch"
    (run.dir / saved["path"]).write_bytes(data)
    saved.update(bytes=len(data), sha256=__import__("hashlib").sha256(data).hexdigest())
    (run.dir / "events.jsonl").write_bytes(b"".join(encode_event(e) for e in events))
    return run.dir


@pytest.mark.slow
def test_a_site_only_install_builds_a_site_from_a_run_without_torch(dists, tmp_path):
    """The run store is torch-free (docs/architecture.md#the-run-store): the wheel with the
    `site` extra alone reads a recorded run and builds its pages; the checkpoints are listed
    as needing the train extra."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--progress-bar", "off"]
        + ["-c", str(ROOT / "requirements.txt"), f"{dists['wheel']}[site]"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    check = subprocess.run(  # not in the checkout, whose prospector/ would shadow the wheel's
        [str(venv / "bin" / "python"), "-c", SITE_ONLY_CHECK], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0 and "no torch" in check.stdout, check.stdout + check.stderr
    run_dir = recorded_run(tmp_path / "runs")
    out = tmp_path / "site"
    build = subprocess.run(
        [str(venv / "bin" / "prospector"), "site", "build", "--runs", str(tmp_path / "runs")]
        + ["--out", str(out), "--no-docs", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "Traceback" not in build.stderr, build.stderr
    assert (out / "index.html").is_file()
    run_data = out / "data" / "runs" / run_dir.name
    assert (run_data / "windows.json").is_file(), sorted(p.name for p in run_data.iterdir())
    policies = (run_data / "policies.json").read_text()
    assert "no_torch" in policies and "asteroid-prospector[train]" in policies, policies[:2000]
