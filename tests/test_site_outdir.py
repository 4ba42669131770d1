"""The site build writes only into a directory it made, and deletes only what its own
manifest lists (docs/site.md#output-directory).

Before: ``site build --out s`` into a folder holding ``assets/MY_PHOTO.png``,
``MY_NOTES.md`` under ``docs`` and ``index.html`` exited 0 with the photo deleted and the page
replaced; an incremental build kept a damaged output as "unchanged"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness.synth import SyntheticRun
from prospector.sitegen.build import MANIFEST_FILE, Builder, BuildError
from prospector.sitegen.hook import main as hook_main

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}


def prospector(*args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "prospector.cli", *args]
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=600)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def run(tmp_path) -> SyntheticRun:
    made = SyntheticRun(tmp_path / "runs", frames=60)
    made.create(2)
    return made


def users_folder(path: Path) -> Path:
    (path / "assets").mkdir(parents=True)
    (path / "docs").mkdir()
    (path / "assets/MY_PHOTO.png").write_bytes(b"x\n")
    (path / "docs" / "MY_NOTES.md").write_text("x\n")
    (path / "index.html").write_text("<h1>mine</h1>\n")
    return path


def test_site_build_refuses_a_folder_that_is_not_a_site(run, tmp_path):
    folder = users_folder(tmp_path / "s")
    before = tree(folder)
    line = one_line_error(prospector("site", "build", "--runs", str(run.runs_dir), "--out", str(folder), "--no-docs"))
    assert "not made by the site build" in line and "empty or new directory" in line
    assert tree(folder) == before and not (folder / ".sitegen").exists()
    with pytest.raises(BuildError, match="not made by the site build"):  # --clean too, as before
        Builder(run.runs_dir, folder, clean=True, docs=False).build()
    assert tree(folder) == before


def test_train_site_refuses_such_a_folder_before_its_run(tmp_path):
    folder = users_folder(tmp_path / "s")
    line = one_line_error(
        prospector("train", "--runs-dir", str(tmp_path / "runs"), "--run-id", "x", "--site", str(folder), "--no-wandb")
    )
    assert line.startswith("prospector train: error: --site:") and "not made by the site build" in line
    assert not (tmp_path / "runs").exists() and not (folder / ".sitegen").exists()
    ranks = prospector(
        "train", "--runs-dir", str(tmp_path / "runs"), "--site", str(folder), "--nproc", "2", "--no-wandb"
    )
    assert one_line_error(ranks) == line  # said once, by the launcher, before any rank
    assert hook_main(["--runs", str(tmp_path / "runs"), "--out", str(folder)]) == 2  # the background rebuild
    assert not (folder / ".sitegen").exists()


@pytest.mark.parametrize("content", [[], [".gitkeep"]])
def test_an_empty_folder_or_one_with_a_gitkeep_is_taken(run, tmp_path, content):
    out = tmp_path / "public"
    out.mkdir()
    for name in content:
        (out / name).write_text("")
    report = Builder(run.runs_dir, out, docs=False).build()
    assert report.runs == 1 and (out / MANIFEST_FILE).is_file()


def test_files_the_build_did_not_write_survive_rebuilds_and_clean(run, tmp_path):
    out = tmp_path / "public"
    Builder(run.runs_dir, out, docs=False).build()
    mine = {"CNAME": b"example.org\n", "assets/MY_PHOTO.png": b"x\n", "data/mine.json": b"{}\n"}
    for rel, data in mine.items():
        (out / rel).write_bytes(data)
    Builder(run.runs_dir, out, docs=False).build()
    Builder(run.runs_dir, out, docs=False, clean=True).build()
    Builder(tmp_path / "no-runs-now", out, docs=False).build()  # every run's outputs removed
    assert {rel: (out / rel).read_bytes() for rel in mine} == mine


def test_a_crafted_manifest_deletes_nothing_outside_the_site(run, tmp_path):
    out = tmp_path / "public"
    Builder(run.runs_dir, out, docs=False).build()
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    for rel in ("../victim.txt", str(victim), "data/../../victim.txt"):
        manifest["outputs"][rel] = {"key": "k"}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    Builder(run.runs_dir, out, docs=False).build()  # outputs nobody produces are removed
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    Builder(run.runs_dir, out, docs=False, clean=True).build()
    assert victim.read_text() == "mine\n"


def test_damaged_outputs_are_written_again(run, tmp_path):
    out = tmp_path / "public"
    first = Builder(run.runs_dir, out, docs=False).build()
    replay = next(rel for rel in first.rendered if "/replays/" in rel and rel.endswith(".json"))
    damaged = ["index.html", "data/runs.json", replay]
    good = {rel: (out / rel).read_bytes() for rel in damaged}
    for rel in damaged:  # same size, other bytes: only the content can tell
        data = bytearray(good[rel])
        data[len(data) // 2] ^= 0x01
        (out / rel).write_bytes(bytes(data))
    again = Builder(run.runs_dir, out, docs=False).build()
    assert {rel: (out / rel).read_bytes() for rel in damaged} == good
    assert set(damaged) <= set(again.rendered) and set(damaged) <= set(again.damaged)
    assert any("written again" in note for note in again.notes)
    quiet = Builder(run.runs_dir, out, docs=False).build()
    assert quiet.rendered == [] and quiet.damaged == []
    os.utime(out / "index.html", ns=(1, 1))  # touched, same bytes: hashed, found intact
    touched = Builder(run.runs_dir, out, docs=False).build()
    assert touched.rendered == [] and touched.damaged == []


def test_runs_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "runs"
    afile.write_text("not runs\n")
    line = one_line_error(prospector("site", "build", "--runs", str(afile), "--out", str(tmp_path / "s"), "--no-docs"))
    assert "is a file" in line
    assert not (tmp_path / "s").exists()
