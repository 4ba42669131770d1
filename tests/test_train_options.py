"""Every combination of training options either trains or is refused up front.

Three layers, each with the real parts:

* the whole grid (games, window steps, workers, backend, policy) through
  ``make_train_config``: refused with a ValueError naming the setting, or derived into a
  config that meets every constraint PuffeRL and PufferLib's vectorization assert
  (pufferlib/pufferl.py, pufferlib/vector.py; docs/training.md#derived-settings);
* for every distinct accepted shape, PuffeRL itself is built on the real vector env and
  policy (its constructor is where ``--envs 64`` used to crash);
* a handful of real ``prospector train`` runs of one tiny window, and refusals through
  the CLI: exit 2, one line naming the option, no run directory left behind.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prospector.pipeline.config import MAX_ENVS, TrainConfig, make_train_config, physical_cores
from prospector.pipeline.store.log import read_events

REPO = Path(__file__).resolve().parents[1]

ENVS = (1, 2, 7, 64, 100, 1024, 8192)
WORKERS = (1, 2, 3)
BACKENDS = ("serial", "multiprocessing")
POLICIES = ("mlp", "lstm")


def window_choices(batch: int) -> tuple:
    """None (the default), exactly one batch, odd values around and past it."""
    return (None, batch, batch + 1, 2 * batch - 1, 12_345, 3 * batch + 7)


def grid():
    for envs, workers, backend, policy in itertools.product(ENVS, WORKERS, BACKENDS, POLICIES):
        for window_steps in window_choices(envs * 32):
            yield dict(envs=envs, workers=workers, backend=backend, policy=policy, window_steps=window_steps)


def puffer_constraints_hold(cfg) -> list[str]:
    """What PuffeRL's constructor and pufferlib.vector.make check, in our terms."""
    batch = cfg.envs * cfg.bptt_horizon
    broken = []
    if cfg.batch_size != batch:
        broken.append("batch is games x bptt_horizon")
    if not cfg.bptt_horizon <= cfg.minibatch_size <= batch:
        broken.append("minibatch within [bptt_horizon, batch]")
    if cfg.minibatch_size % cfg.bptt_horizon:
        broken.append("minibatch a multiple of bptt_horizon")
    if batch % cfg.minibatch_size:
        broken.append("minibatch divides the batch")
    if cfg.window_steps % batch or cfg.window_steps < batch:
        broken.append("window a whole number of batches")
    if cfg.envs % cfg.workers:
        broken.append("workers divide the games")
    if cfg.backend == "multiprocessing" and cfg.workers > physical_cores():
        broken.append("no more multiprocessing workers than physical cores")
    if cfg.planned_steps // batch < 1:
        broken.append("at least one PPO update planned")
    return broken


def test_the_option_grid_trains_or_is_refused_naming_the_option():
    accepted = refused = 0
    for options in grid():
        wanted_window = options["window_steps"]
        try:
            cfg = make_train_config(**options)
        except ValueError as exc:
            refused += 1
            message = str(exc)
            assert "\n" not in message
            assert message.startswith(("workers (--workers)", "envs (--envs)")), (options, message)
            assert "must" in message
            continue
        accepted += 1
        assert puffer_constraints_hold(cfg) == [], (options, cfg)
        # never shorter than asked, never longer by a batch or more
        asked = TrainConfig().window_steps if wanted_window is None else wanted_window
        assert asked <= cfg.window_steps < max(asked, 1) + cfg.batch_size
        assert cfg.minibatch_size <= 8192
        assert cfg.to_dict()["minibatch_size"] == cfg.minibatch_size  # what run_started records
        again = make_train_config(**cfg.to_dict())  # a resume derives the same
        assert again.to_dict() == cfg.to_dict() and not again.derived
    assert accepted and refused


def test_why_each_refusal_happens():
    cores = physical_cores()
    cases = [
        (
            dict(envs=7, workers=2),
            "workers (--workers) = 2: must divide the games evenly (7 games are not divisible by 2)",
        ),
        (dict(envs=2, workers=3), "workers (--workers) = 3: must be in 1..2"),
        (
            dict(envs=cores + 1, workers=cores + 1, backend="multiprocessing"),
            f"must be in 1..{cores} with the multiprocessing backend",
        ),
        (dict(envs=MAX_ENVS + 1), f"envs (--envs) = {MAX_ENVS + 1}: must be in 1..{MAX_ENVS}"),
        (dict(envs=64, total_steps=100, windows=None), "total_steps (--total-steps) = 100: must be at least one batch"),
        (dict(bptt_horizon=0), "config setting bptt_horizon = 0: must be in 1..1024"),
        (dict(minibatch_size=0), "config setting minibatch_size = 0: must be at least 1"),
        (dict(window_steps=0), "window_steps (--window-steps) = 0: must be at least 1"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError) as info:
            make_train_config(**options)
        assert message in str(info.value), (options, str(info.value))


def test_config_file_values_are_derived_like_flags(tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text("envs = 100\nbptt_horizon = 48\nminibatch_size = 1000\nwindow_steps = 5000\n")
    cfg = make_train_config(str(path))
    # batch 4,800; multiples of 48 dividing it and at most 1,000: 960 (20 segments of 100 games)
    assert (cfg.batch_size, cfg.minibatch_size, cfg.window_steps) == (4800, 960, 9600)
    assert [line.split()[0] for line in cfg.derived] == ["minibatch_size", "window_steps"]
    # flags beat the file, and the derivation follows the flags
    cfg = make_train_config(str(path), envs=64)
    assert (cfg.batch_size, cfg.minibatch_size, cfg.window_steps) == (3072, 768, 6144)


def test_puffe_rl_accepts_every_derived_shape():
    """Build PuffeRL on the real vector env and policy for each distinct accepted shape."""
    from prospector.pipeline.policy import make_policy
    from prospector.pipeline.puffer_trainer import WindowedPuffeRL
    from prospector.pipeline.trainer import LastLogs, make_vecenv, puffer_config

    from prospector import spec as S

    shapes = {}
    for options in grid():
        if options["backend"] == "multiprocessing" and options["workers"] > 1:
            continue  # same batch shapes as serial; real multiprocessing training is tested below
        try:
            cfg = make_train_config(**options, hidden_size=16)
        except ValueError:
            continue
        shapes.setdefault((cfg.envs, cfg.workers, cfg.policy, cfg.minibatch_size), cfg)
    assert len(shapes) >= 20
    for cfg in shapes.values():
        vecenv = make_vecenv(cfg, S.make_config(time_max=50))
        try:
            policy = make_policy(cfg.policy, cfg.hidden_size, vecenv.driver_env, cfg.action_mask)
            trainer = WindowedPuffeRL(puffer_config(cfg), vecenv, policy, logger=LastLogs())
            trainer.utilization.stop()
            assert trainer.minibatch_size == cfg.minibatch_size
        finally:
            vecenv.close()


# ------------------------------------------------------------- through the CLI


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "prospector.cli",
            "train",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-wandb",
            "--no-dashboard",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


TRAININGS = [
    # the crash of the report: 64 games with the default minibatch of 8,192
    ("--envs", "64", "--window-steps", "2048"),
    # odd games, odd window, an LSTM, three serial workers
    ("--envs", "21", "--workers", "3", "--policy", "lstm", "--window-steps", "1001"),
    # the multiprocessing backend with two workers (both cores here)
    ("--envs", "2", "--workers", "2", "--backend", "multiprocessing", "--window-steps", "65"),
]


@pytest.mark.parametrize("options", TRAININGS, ids=lambda o: " ".join(o))
def test_cli_trains_one_tiny_window(tmp_path, options):
    out = cli(tmp_path, "--run-id", "t", "--windows", "1", "--time-max", "60", *options)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    events = list(read_events(tmp_path / "runs" / "t"))
    closed = [e for e in events if e["type"] == "window_closed"]
    assert len(closed) == 1
    started = events[0]["config"]["train"]
    assert closed[0]["env_steps_total"] == started["window_steps"]
    assert started["window_steps"] % (started["envs"] * started["bptt_horizon"]) == 0
    assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "completed"


def test_cli_trains_with_config_file_values(tmp_path):
    config = tmp_path / "odd.toml"
    config.write_text("envs = 7\nbptt_horizon = 8\nminibatch_size = 100\nhidden_size = 16\n")
    out = cli(
        tmp_path, "--config", str(config), "--run-id", "c", "--windows", "1", "--window-steps", "57", "--time-max", "60"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    started = read_events(tmp_path / "runs" / "c").events[0]["config"]["train"]
    assert (started["minibatch_size"], started["window_steps"]) == (56, 112)
    assert "note: minibatch_size 100 -> 56" in out.stderr


REFUSALS = [
    (("--envs", "7", "--workers", "2"), "--workers"),
    (("--envs", "2", "--workers", "3"), "--workers"),
    (("--envs", "3", "--workers", "3", "--backend", "multiprocessing"), "--workers"),
    (("--envs", str(MAX_ENVS + 1)), "--envs"),
    (("--envs", "64", "--total-steps", "1000"), "--total-steps"),
]


def test_cli_refusals_are_one_line_exit_2_and_leave_no_run(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("bptt_horizon = 0\n")
    cases = list(REFUSALS) + [(("--config", str(config)), "bptt_horizon")]
    if physical_cores() >= 3:  # the multiprocessing refusal needs more workers than cores
        cases = [c for c in cases if "multiprocessing" not in c[0]]
    for options, named in cases:
        out = cli(tmp_path, "--run-id", "r", *options)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2, (options, out.stderr)
        assert len(lines) == 1 and lines[0].startswith("prospector train: error: "), (options, out.stderr)
        assert named in lines[0] and "must" in lines[0], (options, lines)
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), options


def test_no_cuda_runtime_warning_on_a_machine_without_a_gpu(tmp_path):
    """torch warns "No CUDA runtime is found" when PufferLib imports torch.utils.cpp_extension
    on a machine with a CUDA toolkit but no GPU (here: CUDA_HOME set, no visible device)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-c", "import prospector.pipeline, pufferlib.pufferl"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "CUDA" not in out.stderr, out.stderr
