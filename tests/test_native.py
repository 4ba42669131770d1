"""The C core under AddressSanitizer + UBSan, valgrind memcheck and libFuzzer.

Bounded forms of `make sanitize`, `make valgrind` and `make fuzz` (the long forms
and their figures are in docs/reliability.md, "C core").  Every program here is
built from tests/native/ with -DPROSPECTOR_CHECK_INVARIANTS, so the core also checks
its invariants after every reset and step; any sanitizer finding, valgrind error,
leak or invariant violation makes the program exit non-zero and the test fail.
The canary tests prove that: each makes one deliberate mistake and expects the
matching checker to stop the run.

valgrind and clang (with libFuzzer) come from Debian through `make test-deps`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from prospector import spec as S

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / "native" / "build.sh"
pytestmark = pytest.mark.native

# Sanitizer runtime options: every finding is fatal and says so in the exit code.
SAN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87",
}
VALGRIND_ARGS = [
    "--tool=memcheck",
    "--error-exitcode=99",
    "--leak-check=full",
    "--show-leak-kinds=all",
    "--errors-for-leak-kinds=all",
    "--track-origins=yes",
    "-q",
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: `make test-deps` installs it from Debian")
        pytest.skip(f"{name} is not installed (`make native-deps` installs it)")
    return path


def _build(variant: str, out: Path) -> None:
    proc = subprocess.run(["sh", str(BUILD), variant, str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"build.sh {variant} failed:\n{proc.stdout}\n{proc.stderr}"


def _run(cmd: list[str], timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **SAN_ENV, **(env or {})}
    )


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    _tool("gcc")
    out = tmp_path_factory.mktemp("native")
    _build("asan", out)
    return out


def test_stress_under_sanitizers(native):
    """1000 seeds x 12 config kinds x 6 policies, every step checked (bounded form of `make sanitize`)."""
    proc = _run([str(native / "stress-asan"), "--seeds", "1000", "--steps-per-run", "50"])
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert proc.stderr == ""
    assert "stress: 300000 steps, 1000 seeds" in proc.stdout and ", 0 findings" in proc.stdout
    ends = re.search(r"destroyed (\d+), stranded (\d+), cash_out (\d+), timeout (\d+)", proc.stdout)
    assert ends and all(int(n) > 0 for n in ends.groups()), proc.stdout  # every way an episode ends was reached
    counts = dict(item.split("=") for item in proc.stdout.split("events by type:")[1].split())
    assert tuple(counts) == S.EVENT_TYPES  # the harness names events as the spec does
    assert all(int(n) > 0 for n in counts.values()), counts  # and every kind of event happened


@pytest.mark.parametrize(
    "canary, expect",
    [
        ("asan", "AddressSanitizer: heap-buffer-overflow"),
        ("ubsan", "runtime error: index 16 out of bounds"),
        ("invariant", "prospector invariant violated: 0 <= kits <= ITEM_CAP"),
        ("leak", "LeakSanitizer: detected memory leaks"),
    ],
)
def test_sanitizer_run_fails_on_a_finding(native, canary, expect):
    """Each deliberate mistake stops the run with a non-zero exit and names itself."""
    proc = _run([str(native / "stress-asan"), "--seeds", "2", "--steps-per-run", "20", "--canary", canary])
    assert proc.returncode != 0
    assert expect in proc.stderr, proc.stderr[-4000:]


@pytest.fixture(scope="module")
def valgrind_build(tmp_path_factory) -> tuple[str, Path]:
    valgrind = _tool("valgrind")
    out = tmp_path_factory.mktemp("valgrind")
    _build("valgrind", out)
    return valgrind, out / "stress-valgrind"


def test_valgrind_memcheck(valgrind_build):
    """No invalid access, no uninitialised read, no leak (bounded form of `make valgrind`)."""
    valgrind, binary = valgrind_build
    proc = _run([valgrind, *VALGRIND_ARGS, str(binary), "--seeds", "120", "--steps-per-run", "60"])
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    assert proc.stderr == "", proc.stderr[-4000:]
    assert "stress: 43200 steps, 120 seeds" in proc.stdout


@pytest.mark.parametrize("canary, expect", [("asan", "Invalid read of size 4"), ("leak", "definitely lost")])
def test_valgrind_fails_on_a_finding(valgrind_build, canary, expect):
    valgrind, binary = valgrind_build
    proc = _run([valgrind, *VALGRIND_ARGS, str(binary), "--seeds", "1", "--steps-per-run", "5", "--canary", canary])
    assert proc.returncode == 99
    assert expect in proc.stderr


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory) -> Path:
    _tool("clang")
    out = tmp_path_factory.mktemp("fuzz")
    _build("fuzz", out)
    return out


FUZZ_SECONDS = int(os.environ.get("PROSPECTOR_FUZZ_SECONDS", "40"))


def test_fuzz_step(fuzzer):
    """Coverage-guided fuzzing of reset/step for a bounded time (longer: `make fuzz`)."""
    corpus = fuzzer / "corpus"
    corpus.mkdir()
    proc = _run(
        [
            str(fuzzer / "fuzz-step"),
            f"-max_total_time={FUZZ_SECONDS}",
            "-seed=1",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            f"-artifact_prefix={fuzzer}/",
            str(corpus),
        ],
        timeout=FUZZ_SECONDS + 120,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    runs = int(re.search(r"stat::number_of_executed_units:\s+(\d+)", proc.stderr).group(1))
    assert runs > 1000, proc.stderr[-2000:]
    assert not list(fuzzer.glob("crash-*")) and not list(fuzzer.glob("leak-*"))


def test_fuzz_fails_on_a_finding(fuzzer, tmp_path):
    """With the canary on, the first long enough input breaks an invariant: the fuzzer must stop and fail."""
    proc = _run(
        [str(fuzzer / "fuzz-step"), "-max_total_time=60", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        env={"PROSPECTOR_FUZZ_CANARY": "1"},
        timeout=180,
    )
    assert proc.returncode != 0
    assert "prospector invariant violated: 0 <= kits <= ITEM_CAP" in proc.stderr
    assert list(tmp_path.glob("crash-*"))
