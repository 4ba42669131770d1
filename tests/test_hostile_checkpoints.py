"""Checkpoints are data: a crafted or damaged ``.pt`` file never runs code and is refused
in one line by every reader (pipeline/checkpoint.py; docs/reliability.md#hostile-inputs).

A real tiny run gives the checkpoints. Each test copies it and plants a file in a
window's place, with that window's ``checkpoint_saved`` event given the file's sha256
and size (as an attacker who edits the run directory would), then runs the real
commands: ``train --resume``, ``site build`` and ``eval``.

Before checkpoints were read with ``weights_only=True``, the crafted pickles below ran
their command in all three; a truncated file, a dict of the wrong shape or a checkpoint
whose weights do not fit the run ended ``train --resume`` with a traceback; and a
checkpoint failing its sha256 was only a note of the site build (``--strict`` exited 0).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from harness.testing import tiny_config
from prospector.pipeline.checkpoint import CheckpointError, load_checkpoint_bytes, read_checkpoint
from prospector.pipeline.evaluator import load_checkpoint
from prospector.pipeline.policy import policy_for_checkpoint
from prospector.pipeline.store import layout as R
from prospector.pipeline.store.log import encode_event, read_events
from prospector.pipeline.trainer import train

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
LAST = 1  # the run has windows 0 and 1; resume reads window 1's checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_runs")
    return train(tiny_config(root, windows=2, hidden_size=32, time_max=40, eval_episodes=1))


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A fresh copy of the trained run, under tmp_path/runs."""
    target = tmp_path / "runs" / trained.name
    shutil.copytree(trained, target, ignore=shutil.ignore_patterns("*.lock", "wandb"))
    return target


def saved_event(run_dir: Path, window_id: int) -> dict:
    return [e for e in read_events(run_dir) if e["type"] == "checkpoint_saved" and e["window_id"] == window_id][-1]


def plant(run_dir: Path, window_id: int, data: bytes) -> Path:
    """Put ``data`` in the window's checkpoint file and give its event the matching sha256
    and size: the file passes every integrity check the log can make."""
    event = saved_event(run_dir, window_id)
    path = run_dir / event["path"]
    path.write_bytes(data)
    log = run_dir / R.EVENTS_FILE
    lines = log.read_bytes().splitlines(keepends=True)
    updated = {**event, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    lines[event["seq"]] = encode_event(updated)
    log.write_bytes(b"".join(lines))
    return path


# ------------------------------------------------------------------ crafted files


class RunsCommand:
    """Unpickled by a full pickle loader, this calls os.system(command)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def crafted(form: str, marker: Path, real: dict) -> bytes:
    """A checkpoint file that runs ``touch marker`` when loaded with weights_only=False."""
    evil = RunsCommand(f"touch {marker}")
    buffer = io.BytesIO()
    if form == "bare pickle":  # the file of the issue: a pickle, no torch container at all
        return pickle.dumps(evil)
    if form == "legacy torch file":
        torch.save({**real, "policy": evil}, buffer, _use_new_zipfile_serialization=False)
    elif form == "torch zip":
        torch.save(evil, buffer)
    else:  # "hidden in a real checkpoint": everything genuine but one optimiser entry
        state = {**real, "optimizer": {**real["optimizer"], "state": {0: {"step": evil}}}}
        torch.save(state, buffer)
    return buffer.getvalue()


FORMS = ["bare pickle", "legacy torch file", "torch zip", "hidden in a real checkpoint"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prospector.cli", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard: each command here takes seconds
    )


def resume_cli(run_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    runs_dir = str(run_dir.parent)
    return cli("train", "--resume", run_dir.name, "--runs-dir", runs_dir, "--windows", "1", "--no-wandb", cwd=cwd)


def one_line_refusal(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_the_crafted_files_are_live(run, tmp_path):
    """The payloads are real: the reader the project had (weights_only=False) runs them."""
    real = read_checkpoint(run / saved_event(run, LAST)["path"])
    for form in FORMS:
        marker = tmp_path / f"ran-{form.replace(' ', '-')}"
        data = crafted(form, marker, real)
        try:
            torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
        except Exception:
            pass  # the bare pickle is "not a checkpoint" to torch, after it has run the command
        assert marker.exists(), form


@pytest.mark.parametrize("form", FORMS)
def test_resume_refuses_a_crafted_checkpoint_without_running_it(run, tmp_path, form):
    marker = tmp_path / "code-ran"
    path = plant(run, LAST, crafted(form, marker, read_checkpoint(run / saved_event(run, LAST)["path"])))
    log_before = (run / R.EVENTS_FILE).read_bytes()
    proc = resume_cli(run, tmp_path)
    assert not marker.exists(), f"{form}: the checkpoint ran its command"
    one_line_refusal(proc, f"cannot resume {run.name!r}", str(path))
    assert (run / R.EVENTS_FILE).read_bytes() == log_before  # refused before anything was logged


@pytest.mark.parametrize("form", FORMS)
def test_site_build_lists_a_crafted_checkpoint_as_a_problem_without_running_it(run, tmp_path, form):
    marker = tmp_path / "code-ran"
    real = read_checkpoint(run / saved_event(run, LAST)["path"])
    plant(run, LAST, crafted(form, marker, real))
    out = tmp_path / "public"
    strict = cli("site", "build", "--runs", str(run.parent), "--out", str(out), "--no-docs", "--strict", cwd=tmp_path)
    assert not marker.exists(), f"{form}: the checkpoint ran its command"
    assert strict.returncode == 1, strict.stderr
    problems = [line for line in strict.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, strict.stderr
    assert problems[0].startswith(
        f"problem: {run.name}: window {LAST}: bad_checkpoint: checkpoint checkpoints/ckpt_{LAST:06d}.pt "
    ), problems
    assert "Traceback" not in strict.stderr
    catalog = json.loads((out / f"data/runs/{run.name}/policies.json").read_text())
    status = {p["window_id"]: p["status"] for p in catalog["policies"]}
    assert status == {0: "ok", LAST: "bad_checkpoint"}  # the rest of the run is published
    page_problems = json.loads((out / "data/runs.json").read_text())["runs"][0]["problems"]
    assert [p["kind"] for p in page_problems] == ["bad_checkpoint"]
    assert str(tmp_path) not in json.dumps(page_problems)  # a public page names the file, not the builder's disk
    # without --strict the build succeeds; a second (incremental) build still lists the problem
    again = cli("site", "build", "--runs", str(run.parent), "--out", str(out), "--no-docs", cwd=tmp_path)
    assert again.returncode == 0 and "bad_checkpoint" in again.stderr, again.stderr
    assert not marker.exists()


@pytest.mark.parametrize("form", FORMS)
def test_eval_refuses_a_crafted_checkpoint_without_running_it(run, tmp_path, form):
    marker = tmp_path / "code-ran"
    real = read_checkpoint(run / saved_event(run, LAST)["path"])
    path = plant(run, LAST, crafted(form, marker, real))
    proc = cli("eval", "--runs-dir", str(run.parent), "--run", run.name, "--window", str(LAST), cwd=tmp_path)
    assert not marker.exists(), f"{form}: the checkpoint ran its command"
    one_line_refusal(proc, str(path))


# ------------------------------------------------------------------ damaged files


def damaged(kind: str, good: bytes, real: dict) -> bytes:
    buffer = io.BytesIO()
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "zip of junk":
        return b"PK\x03\x04" + bytes(range(256)) * 4
    if kind == "a tensor, not a dict":
        torch.save(torch.zeros(3), buffer)
    elif kind == "no policy":
        torch.save({k: v for k, v in real.items() if k != "policy"}, buffer)
    elif kind == "weights of another size":
        torch.save({**real, "policy": policy_for_checkpoint("mlp", 16, True).state_dict()}, buffer)
    elif kind == "optimizer of another shape":
        state = {**real["optimizer"]["state"], 0: {**real["optimizer"]["state"][0], "exp_avg": torch.zeros(3)}}
        torch.save({**real, "optimizer": {**real["optimizer"], "state": state}}, buffer)
    elif kind == "hidden_size past its weights":
        torch.save({**real, "hidden_size": 10**6}, buffer)
    return buffer.getvalue()


DAMAGE = [
    "truncated",
    "zip of junk",
    "a tensor, not a dict",
    "no policy",
    "weights of another size",
    "optimizer of another shape",
    "hidden_size past its weights",
]


@pytest.mark.parametrize("kind", DAMAGE)
def test_resume_from_a_damaged_checkpoint_is_one_line(run, tmp_path, kind):
    event = saved_event(run, LAST)
    good = (run / event["path"]).read_bytes()
    path = plant(run, LAST, damaged(kind, good, read_checkpoint(run / event["path"])))
    log_before = (run / R.EVENTS_FILE).read_bytes()
    proc = resume_cli(run, tmp_path)
    one_line_refusal(proc, f"cannot resume {run.name!r}", str(path))
    assert (run / R.EVENTS_FILE).read_bytes() == log_before


def test_a_checkpoint_failing_its_sha256_is_a_problem_strict_fails(run, tmp_path):
    path = run / saved_event(run, LAST)["path"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # the event keeps the old sha256
    path.write_bytes(bytes(data))
    out = tmp_path / "public"
    args = ("site", "build", "--runs", str(run.parent), "--out", str(out), "--no-docs")
    for attempt in ("first build", "incremental build"):
        proc = cli(*args, "--strict", cwd=tmp_path)
        assert proc.returncode == 1, (attempt, proc.stderr)
        assert f"problem: {run.name}: window {LAST}: sha_mismatch: checkpoint checkpoints/ckpt_{LAST:06d}.pt" in (
            proc.stderr
        ), (attempt, proc.stderr)
    assert cli(*args, cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------ old checkpoints


def test_checkpoints_written_the_old_way_still_load_and_resume(run, tmp_path):
    """The checkpoint dict has always been tensors and plain data: a file torch.save wrote
    before this change (pickle protocol 2, the same keys) loads as data and resumes."""
    event = saved_event(run, LAST)
    real = read_checkpoint(run / event["path"])
    old = io.BytesIO()
    torch.save(dict(real), old)  # the writer the trainer had: torch.save of the dict
    plant(run, LAST, old.getvalue())
    resumed = train(tiny_config(run.parent, windows=1, hidden_size=32, time_max=40, eval_episodes=1), resume=run.name)
    closed = [e["window_id"] for e in read_events(resumed) if e["type"] == "window_closed"]
    assert closed == [0, 1, 2]
    # the first checkpoints had no action_mask (their policies had none): read as False
    first = {k: v for k, v in real.items() if k != "action_mask"}
    first["policy"] = policy_for_checkpoint("mlp", 32, False).state_dict()
    path = tmp_path / "first.pt"
    torch.save(first, path)
    policy, state = load_checkpoint(path)
    assert state["action_mask"] is False and not policy.action_mask


def test_a_compressed_archive_is_refused_unread(trained):
    """torch stores a checkpoint's entries uncompressed: a deflated one (which could expand
    without bound, a zip bomb) is refused before torch reads it."""
    path = trained / saved_event(trained, LAST)["path"]
    for bomb in (False, True):
        buffer = io.BytesIO()
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                target.writestr(entry.filename, source.read(entry))
            if bomb:
                target.writestr(entry.filename.split("/")[0] + "/data/999", bytes(20_000_000))
        with pytest.raises(CheckpointError, match="compressed entries"):
            load_checkpoint_bytes(buffer.getvalue(), "ckpt.pt")


def test_a_checkpoint_that_is_not_ours_is_one_checkpoint_error(tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=f"checkpoint {path} is not a checkpoint") as caught:
        read_checkpoint(path)
    assert caught.value.kind == "bad_checkpoint" and "\n" not in str(caught.value)
    with pytest.raises(CheckpointError, match="missing") as caught:
        read_checkpoint(tmp_path / "absent.pt")
    assert caught.value.kind == "missing_file"
