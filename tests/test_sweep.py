"""``prospector sweep``: bad search spaces refused, and one real tiny sweep that is killed,
resumed, has a trial crash under it, and still ends with every trial counted once.

The sweep (module fixture, PufferLib's Random over a tiny config, trials of 2 windows of
1,024 steps): session 1 runs trial 0 to the end and is killed with SIGKILL while trial 1
trains; a second ``--resume`` started beside the first is refused; the resumed session
(two trials at once) continues trial 1 from its run's last window, the trainer of trial 2
is killed with SIGKILL (a crash: the trial fails, the sweep goes on) and trial 3 runs.
tests/test_sweep_site.py builds the site from a sweep like it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from harness.procs import REPO, die_with_parent
from harness.sweeps import TINY_SPACE
from prospector.pipeline.checkpoint import read_checkpoint
from prospector.pipeline.store.log import read_events
from prospector.pipeline.sweep import early_stop_reason, nan_windows, read_sweep, sweep_path
from prospector.pipeline.sweep_score import check_weights, episode_score, validation_seeds
from prospector.pipeline.sweep_space import SpaceError, load_space

from prospector.cli import main as cli_main


def sweep_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "prospector.cli", "sweep", "--no-wandb", *args]


def start_sweep(*args, log=None) -> subprocess.Popen:
    return subprocess.Popen(
        sweep_cmd(*args),
        cwd=REPO,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={**os.environ, "WANDB_MODE": "disabled"},
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def wait_for(what, check, proc=None, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sweep exited ({proc.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def events_of(path: Path, kind: str | None = None) -> list[dict]:
    if not (path / "events.jsonl").is_file():
        return []
    return [e for e in read_events(path) if kind is None or e["type"] == kind]


def trainer_pid(run_dir: Path) -> int | None:
    """The pid a trial's trainer wrote into its run's writer lock once it holds it."""
    try:
        return json.loads((run_dir / "writer.lock").read_text() or "null")["pid"]
    except (OSError, ValueError, TypeError, KeyError):
        return None


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    runs = root / "runs"
    space = root / "tiny.toml"
    space.write_text(TINY_SPACE.format(trials=4))
    sweep = sweep_path(runs, "s")
    log = open(root / "sweep.log", "ab")
    first = start_sweep("--space", str(space), "--runs-dir", str(runs), "--sweep-id", "s", log=log)
    wait_for("trial 0 to finish", lambda: events_of(sweep, "trial_finished"), first)
    wait_for("trial 1 to train", lambda: events_of(runs / "s-t001", "run_started"), first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    finished_before = [e["trial"] for e in events_of(sweep, "trial_finished")]

    second = start_sweep("--resume", "s", "--runs-dir", str(runs), "--parallel", "2", log=log)
    wait_for("the resumed sweep to take its log", lambda: events_of(sweep, "sweep_resumed"), second)
    refused = subprocess.run(
        sweep_cmd("--resume", "s", "--runs-dir", str(runs)), cwd=REPO, capture_output=True, text=True, timeout=120
    )
    wait_for("trial 2 to train", lambda: events_of(runs / "s-t002", "run_started"), second)
    pid = trainer_pid(runs / "s-t002")  # written when the trainer took the run, before run_started
    os.kill(pid, signal.SIGKILL)  # the trial crashes; the sweep must go on
    assert second.wait(timeout=600) == 0, (root / "sweep.log").read_text()[-3000:]
    log.close()
    return {"runs": runs, "sweep": sweep, "finished_before": finished_before, "refused": refused}


def test_finished_trials_are_not_rerun_and_the_optimiser_sees_each_once(killed_and_resumed):
    sweep, runs = killed_and_resumed["sweep"], killed_and_resumed["runs"]
    assert killed_and_resumed["finished_before"] == [0]
    resumed = events_of(sweep, "sweep_resumed")
    assert len(resumed) == 1 and resumed[0]["observed"] == [0] and resumed[0]["interrupted"] == [1]
    finished = [e["trial"] for e in events_of(sweep, "trial_finished")]
    assert sorted(finished) == [0, 1, 3] and len(set(finished)) == len(finished)
    # the last session's optimiser observed every finished trial exactly once
    last = events_of(sweep, "sweep_finished")[-1]
    assert last["reason"] == "budget" and sorted(last["observed_trials"]) == [0, 1, 3]
    assert len(last["observed_trials"]) == 3
    # trial 0 trained once; trial 1 went on from its run's last window instead of starting again
    assert len(events_of(runs / "s-t000", "run_started")) == 1 and not events_of(runs / "s-t000", "run_resumed")
    assert [e["trial"] for e in events_of(sweep, "trial_resumed")] == [1]
    assert len(events_of(runs / "s-t001", "run_started")) == 1
    assert [e["window_id"] for e in events_of(runs / "s-t001", "window_closed")] == [0, 1]


def test_a_crashed_trial_is_recorded_failed_and_the_sweep_goes_on(killed_and_resumed):
    failed = events_of(killed_and_resumed["sweep"], "trial_failed")
    assert [e["trial"] for e in failed] == [2]
    assert "killed by signal 9" in failed[0]["reason"]
    assert read_sweep(killed_and_resumed["sweep"]).trials[3].status == "finished"


def test_a_second_resume_of_a_running_sweep_is_refused(killed_and_resumed):
    refused = killed_and_resumed["refused"]
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "already running" in lines[0] and "pid" in lines[0], refused.stderr


def test_every_trial_is_a_run_of_the_sweep_in_one_world(killed_and_resumed):
    sweep, runs = killed_and_resumed["sweep"], killed_and_resumed["runs"]
    started = events_of(sweep, "sweep_started")[0]
    for trial in read_sweep(sweep).in_order():
        config = events_of(runs / trial.run_id, "run_started")[0]["config"]["train"]
        assert config["experiment"] == "s"  # also the W&B group
        assert config["showcase_seed"] == started["showcase_seed"]
        for name, value in trial.settings.items():
            assert config[name] == value
    assert events_of(sweep, "trial_suggested")[0]["settings"] == load_space_from(started).centre()


def load_space_from(started):
    from prospector.pipeline.sweep_space import Space

    return Space.from_dict(started["space"])


def test_a_policy_with_non_finite_weights_is_a_failure_not_a_score(killed_and_resumed, tmp_path):
    runs = killed_and_resumed["runs"]
    saved = events_of(runs / "s-t000", "checkpoint_saved")[-1]
    state = read_checkpoint(runs / "s-t000" / saved["path"])  # as data (pipeline/checkpoint.py)
    check_weights(runs / "s-t000" / saved["path"], saved["window_id"])  # the real one is finite
    first = next(iter(state["policy"]))
    state["policy"][first] = state["policy"][first] * float("nan")
    broken = tmp_path / "ckpt.pt"
    torch.save(state, broken)
    with pytest.raises(ValueError, match="NaN losses"):
        check_weights(broken, saved["window_id"])
    rows = [{"window_id": 0, "policy_loss": None, "value_loss": None}, {"window_id": 1, "policy_loss": 0.1}]
    rows.append({"window_id": 2, "policy_loss": 0.1, "value_loss": 0.2})
    rows.append({"window_id": 3, "policy_loss": None, "value_loss": None})
    assert nan_windows(rows) == [3]  # a first window without losses yet is not NaN


def test_the_score_counts_a_profit_in_full_only_when_the_ship_comes_home():
    home = {"net_profit": 500.0, "survival": 1.0, "time_remaining": 0}
    assert episode_score(home, 1000) == 500.0
    assert episode_score({**home, "time_remaining": 900}, 1000) == 500.0  # cashed out early: in full
    lost = {"net_profit": 500.0, "survival": 0.0, "time_remaining": 750}
    assert episode_score(lost, 1000) == 125.0  # lost at tick 250 of 1000: a quarter of its profit
    assert episode_score({**lost, "net_profit": -80.0}, 1000) == -80.0  # losses count in full
    from prospector.pipeline.benchmark import SEEDS_FILE, read_seeds

    assert not set(validation_seeds(1000)) & set(read_seeds(SEEDS_FILE))  # never the benchmark's worlds


# ------------------------------------------------------------------ bad input

BAD_SPACES = [
    ("[space.learnin_rate]\ndistribution = 'log_normal'\nmin = 0.001\nmax = 0.01\n", "learnin_rate", "unknown setting"),
    ("[space.clip_coef]\ndistribution = 'uniform'\nmin = 0.2\nmax = 0.2\n", "clip_coef", "empty range"),
    ("[space.clip_coef]\ndistribution = 'uniform'\nmin = 0.4\nmax = 0.1\n", "clip_coef", "inverted range"),
    ("[space.ent_coef]\ndistribution = 'log_normal'\nmin = 0.0\nmax = 0.01\n", "ent_coef", "log scale"),
    (
        "[sweep]\nmethod = 'Hyperband'\n[space.gamma]\ndistribution = 'logit_normal'\nmin = 0.9\nmax = 0.99\n",
        "method",
        "",
    ),
    ("[space.gamma]\ndistribution = 'logit_normal'\nmin = 0.9\nmax = 1.5\n", "gamma", "logit_normal"),
    ("[space.run_id]\nvalues = ['a', 'b']\n", "run_id", "cannot be tuned"),
    ("[space.envs]\ndistribution = 'uniform_pow2'\nmin = 8\nmax = 99999\n", "envs", "must be in"),
    # a bad [base] is named as such, not blamed on the first [space] entry
    ("[base]\neval_episodes = 0\n[space.gamma]\nvalues = [0.99, 0.995]\n", "[base]", "eval_episodes"),
]


@pytest.mark.parametrize("text,entry,why", BAD_SPACES, ids=[b[1] + ":" + (b[2] or "method") for b in BAD_SPACES])
def test_a_bad_search_space_is_refused_in_one_line_and_makes_nothing(tmp_path, capsys, text, entry, why):
    space = tmp_path / "bad.toml"
    space.write_text(text)
    runs = tmp_path / "runs"
    assert cli_main(["sweep", "--space", str(space), "--runs-dir", str(runs), "--no-wandb"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and entry in err[0] and why in err[0], err
    assert not runs.exists()


def test_the_default_space_is_valid_and_every_entry_a_real_setting():
    space = load_space()
    assert {e.name for e in space.entries} >= {"learning_rate", "ent_coef", "gamma", "gae_lambda", "policy"}
    assert space.centre()["learning_rate"] == 0.003  # the centre is TrainConfig's default
    with pytest.raises(SpaceError, match="method"):
        load_space(None, {"method": "Carbs"})


def test_resume_of_a_missing_or_damaged_sweep_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert cli_main(["sweep", "--resume", "nope", "--runs-dir", str(runs)]) == 2
    assert "no sweep 'nope'" in capsys.readouterr().err
    damaged = sweep_path(runs, "d")
    damaged.mkdir(parents=True)
    started = (REPO / "tests/fixtures/store/sweep-events-v1.jsonl").read_text().splitlines()[0]  # a whole sweep_started
    (damaged / "events.jsonl").write_text(started.replace('"run_id":"s"', '"run_id":"d"') + "\nnot json\n{}\n")
    assert cli_main(["sweep", "--resume", "d", "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0] and "line 2" in err[0], err
    # a sweep_started without its fields is damaged at line 1, and the message names the field
    (damaged / "events.jsonl").write_text('{"seq":0,"ts":"x","run_id":"d","type":"sweep_started"}\n')
    assert cli_main(["sweep", "--resume", "d", "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 1: sweep_started.sweep_seconds: missing" in err[0], err


def test_write_space_copies_the_default_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "space.toml"
    assert cli_main(["sweep", "--write-space", str(target)]) == 0
    assert load_space(target).to_dict() == load_space().to_dict()
    assert cli_main(["sweep", "--write-space", str(target)]) == 2
    assert "exists" in capsys.readouterr().err


def test_early_stopping_needs_enough_finished_trials_and_a_row_below_all_of_them():
    row = {"window_id": 1, "net_profit_mean": 50.0, "survival_rate": 0.0}  # no episode survived yet
    assert early_stop_reason(row, [60.0, 70.0], 3) is None  # only two finished trials
    assert early_stop_reason(row, [60.0, 70.0, 40.0], 3) is None  # not below all of them
    reason = early_stop_reason(row, [60.0, 70.0, 55.0, None], 3)
    assert reason is not None and "window 1" in reason and "below all 3" in reason
    assert early_stop_reason({**row, "net_profit_mean": None}, [60.0, 70.0, 55.0], 3) is None  # no figure yet
    # a trial that earns more than the finished ones is not stopped because nothing survives yet
    assert early_stop_reason({**row, "net_profit_mean": 80.0}, [60.0, 70.0, 55.0], 3) is None


def test_an_hours_budget_stops_new_trials(tmp_path):
    space = tmp_path / "tiny.toml"
    space.write_text(TINY_SPACE.format(trials=5))
    runs = tmp_path / "runs"
    done = subprocess.run(
        sweep_cmd("--space", str(space), "--runs-dir", str(runs), "--sweep-id", "h", "--hours", "0.0005"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    sweep = sweep_path(runs, "h")
    # 1.8 s of sweeping: trial 0 starts at once, and the budget is spent when it ends
    assert len(events_of(sweep, "trial_suggested")) == 1
    assert events_of(sweep, "sweep_finished")[-1]["reason"] == "budget"
