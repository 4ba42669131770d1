"""``prospector site build``: runs/ -> public/ (pages + the static JSON API), incrementally.

Inputs are only the runs' event logs and the files their events point to (replay
files, verified against the sha256 in their ``replay_recorded`` event). Outputs::

    public/index.html                         latest replay playing + its window summary
    public/replays/index.html                 replay browser + player
    public/timelapse/index.html               one world (the showcase seed) across windows, side by side
    public/embed/index.html                   the player alone, for iframes
    public/analytics/index.html               uPlot charts of every window metric
    public/play/index.html                    human play against the play service (challenge mode too)
    public/runs/index.html, runs/{run}/index.html
    public/data/runs.json                     every run, latest window, where things are
    public/data/runs/{run}/windows.json       chart data (columns)
    public/data/runs/{run}/replays.json       replay catalog with tags and status
    public/sweeps/, sweeps/{sweep}/index.html  every sweep, its Constellation page (sitegen/sweeps.py)
    public/data/sweeps/{sweep}.json           its trials, scores, costs, front, learning curves
    public/data/runs/{run}/replays/{id}.json  frames for the player (compact, immutable)
    public/static/*, public/vendor/*, public/assets/* (Kenney art by manifest key)
    public/docs/                              mkdocs build (when its sources changed)

Incremental: ``public/.sitegen/manifest.json`` records, for every output, the key it
was rendered from (the event seqs, replay sha256 or page context it depends on, and the
generator version); an output whose key did not change is not rendered again, and
outputs nobody produces any more are removed. ``clean=True`` renders everything.
The build writes only into a directory it made (``.sitegen/``) or an empty one, and
deletes only what its manifest lists (docs/site.md#output-directory).

Bad input never stops the build: a corrupt log (the events before the bad line are
still used), a torn last line, a missing replay file, a sha256 mismatch or a replay
that does not decode is reported, marked on the pages, and that item alone skipped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import jinja2
from prospector.pipeline.store import layout as R
from prospector.pipeline.store.log import CorruptLogError, LogRead
from prospector.pipeline.store.replays import ReplayError, decode_replay
from prospector.pipeline.store.run import Run

from prospector.controls import page_spec

from . import assets as A
from . import metrics as M
from . import policies as P
from . import replaychunks, replaydata
from . import sweeps as SW

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MANIFEST_DIR = ".sitegen"
MANIFEST_FILE = f"{MANIFEST_DIR}/manifest.json"
MANIFEST_VERSION = 1
VENDOR_FILES = {  # npm package file -> public/vendor/ name
    "uplot/dist/uPlot.esm.js": "uPlot.esm.js",
    "uplot/dist/uPlot.min.css": "uPlot.min.css",
    "uplot/LICENSE": "uPlot.LICENSE.txt",
}
SCHEMA = 1
#: Replay JSON at least this big also gets a ``.json.gz`` twin, which ``site serve`` sends
#: to browsers that accept gzip (Vercel compresses by itself, so .vercelignore skips them).
GZIP_MIN = 256 * 1024
#: Frames per replay file: a longer replay is split into parts (the player starts after
#: the first part and fetches the rest in the background).
CHUNK_FRAMES = 2000
TAG_ORDER = ("every_window", "best_so_far")
#: The play service the /play page talks to unless ``play_url`` says otherwise: the one
#: ``prospector play-server`` (and ``site serve --with-play``) starts on this machine.
DEFAULT_PLAY_URL = "http://127.0.0.1:8001"


def play_service_url(url: str | None) -> str:
    """The play service's base URL (http or https, no trailing slash); a clear error otherwise."""
    if url is None or not str(url).strip():
        return DEFAULT_PLAY_URL
    good = safe_url(str(url))
    if good is None:
        raise BuildError(f"--play-url must be the play service's http(s) URL (like {DEFAULT_PLAY_URL}), got {url!r}")
    parsed = urlparse(good)
    if (
        parsed.query
        or parsed.fragment
        or not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", parsed.netloc)
    ):
        raise BuildError(f"--play-url must be a plain http(s)://host[:port][/path] URL, got {url!r}")
    return good.rstrip("/")


def generator_version() -> str:
    """Hash of the generator's own code, templates and static files: a change re-renders all."""
    h = hashlib.sha256()
    for base in (HERE,):
        for p in sorted(base.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".html", ".js", ".css", ".json"):
                h.update(p.relative_to(base).as_posix().encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()[
        :24
    ]


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def spec_module() -> str:
    """``static/spec.js``: the interface as the pages see it (also served by sitegen/export.py)."""
    return "export const SPEC = " + _dumps(page_spec()).decode() + ";\n"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _file_sha256(path: Path) -> str | None:
    """sha256 hex of a file's bytes, None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def _written(path: Path, digest: str | None) -> dict:
    """What the manifest keeps of an output just written: its sha256 and its file's
    size, mtime and inode (any rewrite changes them)."""
    st = path.stat()
    return {"out_sha256": digest, "out_sig": [st.st_size, st.st_mtime_ns, st.st_ino]}


def check_out_dir(out: Path) -> None:
    """Refuse (BuildError) an output directory that the site build did not make: one that
    is not empty (a ``.gitkeep`` aside) and has no ``.sitegen/`` of a build in it. Building
    into such a directory overwrote and deleted its owner's files (docs/site.md#output-directory)."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} is a file, not a directory")
    if not out.is_dir() or (out / MANIFEST_DIR).is_dir():
        return
    entries = sorted(p.name for p in out.iterdir() if p.name != ".gitkeep")
    if entries:
        raise BuildError(
            f"refusing to build into {out}: it is not empty and was not made by the site build "
            f"(it holds {entries[0]!r} and no {MANIFEST_DIR}/); give --out an empty or new directory"
        )


def claim_out_dir(out: Path) -> None:
    """Check ``out`` (check_out_dir) and mark it as the site build's (``.sitegen/``) before
    anything is written, so that a build stopped half-way can be run again."""
    check_out_dir(out)
    (out / MANIFEST_DIR).mkdir(parents=True, exist_ok=True)


def safe_url(url) -> str | None:
    """Only http(s) URLs become links (a ``javascript:`` URL in run data must not)."""
    if not isinstance(url, str):
        return None
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return None
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


# ------------------------------------------------------------------ reading runs


@dataclass
class Problem:
    run_id: str
    kind: str  # corrupt_log | torn_log | no_run_started | missing_file | sha_mismatch | bad_replay | bad_path | docs
    # | bad_checkpoint (sitegen/policies.py: a checkpoint's problems carry its window_id, no replay_id)
    message: str
    replay_id: str | None = None
    window_id: int | None = None

    def as_dict(self) -> dict:
        d = {"kind": self.kind, "message": self.message}
        if self.replay_id is not None:
            d["replay_id"] = self.replay_id
        if self.window_id is not None:
            d["window_id"] = self.window_id
        return d

    def __str__(self) -> str:
        what = (
            f"replay {self.replay_id}"
            if self.replay_id
            else f"window {self.window_id}"
            if self.window_id is not None
            else "log"
        )
        return f"{self.run_id}: {what}: {self.kind}: {self.message}"


@dataclass
class ReplayItem:
    event: dict
    status: str = "ok"  # ok | missing_file | sha_mismatch | bad_replay | bad_path
    message: str | None = None
    path: Path | None = None

    @property
    def replay_id(self) -> str:
        return str(self.event.get("replay_id"))

    @property
    def window_id(self):
        return self.event.get("window_id")


@dataclass
class RunData:
    run_id: str
    dir: Path
    log: LogRead
    identity: str
    problems: list[Problem] = field(default_factory=list)
    started: dict | None = None
    finished: dict | None = None
    windows: list[dict] = field(default_factory=list)  # window_closed events by window_id
    replays: list[ReplayItem] = field(default_factory=list)
    benchmark: dict | None = None  # the latest valid benchmark event
    checkpoints: dict[int, dict] = field(default_factory=dict)  # window_id -> its last checkpoint_saved

    @property
    def events(self) -> list[dict]:
        return self.log.events

    @property
    def started_ts(self) -> str:
        return (self.started or {}).get("ts") or (self.events[0]["ts"] if self.events else "")

    @property
    def wandb_url(self) -> str | None:
        return safe_url((self.started or {}).get("wandb_url"))

    def row(self, window_id) -> dict | None:
        for w in self.windows:
            if w.get("window_id") == window_id:
                return w
        return None


def read_run(run_dir: Path) -> RunData:
    """A run's log, salvaged when corrupt, with its problems listed; its views come from
    the run store (pipeline/store/run.py), the events kept as the log's plain dicts."""
    run_id = run_dir.name
    path = run_dir / R.EVENTS_FILE
    data = path.read_bytes()
    problems: list[Problem] = []
    try:
        view = Run.from_bytes(run_dir, data)
    except CorruptLogError as exc:
        problems.append(
            Problem(
                run_id,
                "corrupt_log",
                f"events.jsonl line {exc.line}: {exc.reason}; events from that line on are not shown",
            )
        )
        lines = data.split(b"\n")
        prefix = b"".join(line + b"\n" for line in lines[: max(0, exc.line - 1)])
        try:
            view = Run.from_bytes(run_dir, prefix)
        except CorruptLogError:  # cannot happen (prefix was valid), but never crash
            view = Run.from_bytes(run_dir, b"")
    log = view.log
    if log.torn_tail:
        problems.append(
            Problem(
                run_id,
                "torn_log",
                f"events.jsonl line {log.torn_line} is incomplete (a crash or a write in progress); ignored",
            )
        )
    identity = hashlib.sha256(data.split(b"\n", 1)[0]).hexdigest()[:16]
    run = RunData(run_id=run_id, dir=run_dir, log=log, identity=identity, problems=problems)
    plain = log.events  # by seq: the typed records' own lines

    def raw(record):
        return None if record is None else plain[record.seq]

    run.started, run.finished = raw(view.started), raw(view.finished)
    run.windows = [raw(w) for w in view.windows]
    run.checkpoints = {window_id: raw(c) for window_id, c in view.checkpoints.items()}
    benchmarks = [b for b in view.benchmarks if benchmark_doc(raw(b)) is not None]
    run.benchmark = raw(benchmarks[-1]) if benchmarks else None
    if run.started is None and log.events:
        problems.append(Problem(run_id, "no_run_started", "the log has no run_started event"))
    replays = {r.replay_id: ReplayItem(raw(r)) for r in view.replays()}
    run.replays = sorted(replays.values(), key=lambda r: (r.window_id, r.replay_id))
    return run


# ------------------------------------------------------------------ the build


@dataclass
class BuildReport:
    out: Path
    runs: int = 0
    windows: int = 0
    replays: int = 0
    rendered: list[str] = field(default_factory=list)
    skipped: int = 0
    removed: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # outputs changed since their build: written again
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    docs: str = "skipped"

    def summary(self) -> str:
        probs = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return (
            f"site: {self.runs} run{'s' if self.runs != 1 else ''}, {self.windows} windows, {self.replays} replays; "
            f"rendered {len(self.rendered)}, unchanged {self.skipped}, removed {len(self.removed)}; "
            f"docs {self.docs}; {probs}; {self.seconds:.2f} s -> {self.out}"
        )


class BuildError(Exception):
    pass


class Builder:
    def __init__(
        self,
        runs_dir="runs",
        out_dir="public",
        *,
        base_url: str = "/",
        play_url: str | None = None,
        assets_dir=None,
        clean: bool = False,
        docs: bool = True,
        progress: Callable[[str], None] | None = None,
        node_modules=None,
        jobs: int | None = None,
    ):
        self.runs_dir = Path(runs_dir)
        self.out = Path(out_dir)
        base = (base_url or "/").strip()
        if not base.startswith("/") and not safe_url(base):
            base = "/" + base
        self.base = base if base.endswith("/") else base + "/"
        self.play_url = play_service_url(play_url)
        self.assets_dir = A.default_assets_dir(assets_dir)
        self.clean = clean
        self.jobs = max(1, jobs if jobs is not None else min(4, os.cpu_count() or 1))
        self.docs = docs
        self.say = progress or (lambda msg: None)
        self.node_modules = Path(node_modules) if node_modules else ROOT / "node_modules"
        self.version = generator_version()
        self.report = BuildReport(out=self.out)
        self.old: dict = {}
        self.outputs: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["fmt"] = M.fmt
        self.env.globals.update(
            base=self.base,
            play_url=self.play_url,
            metric_label=lambda k: M.METRIC_INFO.get(k, (k, 0))[0],
            title_font=None,
        )

    # ---------------------------------------------------------------- manifest
    def _load_manifest(self) -> None:
        path = self.out / MANIFEST_FILE
        if self.clean or not path.is_file():
            self.old = {}
            return
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = {}
        self.old = old if old.get("version") == MANIFEST_VERSION else {}

    def _clean_out(self) -> None:
        """``--clean``: remove what the last build's manifest lists (its outputs, the docs
        tree, the copied assets) and the manifest; nothing else in the directory is touched."""
        path = self.out / MANIFEST_FILE
        if not path.is_file():
            return  # a new directory, or a first build stopped before its manifest
        try:
            old = json.loads(path.read_text())
            outputs, assets = dict(old.get("outputs") or {}), dict(old.get("assets") or {})
        except (OSError, ValueError, TypeError, AttributeError):
            raise BuildError(
                f"cannot --clean {self.out}: its manifest {path} is unreadable; rebuild without --clean"
            ) from None
        owned = [(rel, bool(isinstance(meta, dict) and meta.get("tree"))) for rel, meta in outputs.items()]
        owned += [(f"assets/{A.output_name(key)}", False) for key in assets if key in A.MANIFEST]
        owned += [("assets/manifest.json", False), (MANIFEST_FILE, False)]
        for rel, tree in owned:
            target = self._owned_path(rel)
            if target is None:
                continue
            if tree and target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.is_file() or target.is_symlink():
                target.unlink()
                self._prune_empty_dirs(target.parent)

    def _owned_path(self, rel) -> Path | None:
        """``OUT/rel`` for a path from the manifest, None when it would leave OUT (a manifest
        is data: a crafted one must not delete anything outside the site)."""
        if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
            return None
        parts = Path(rel.rstrip("/")).parts
        if not parts or any(part in ("..", ".") for part in parts):
            return None
        target = self.out.joinpath(*parts)
        parent = target.parent.resolve()
        root = self.out.resolve()
        return target if parent == root or root in parent.parents else None

    def _prune_empty_dirs(self, directory: Path) -> None:
        """Remove ``directory`` and its parents up to OUT while they are empty."""
        root = self.out.resolve()
        while directory.resolve() != root and root in directory.resolve().parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _emit(self, rel: str, key: str, produce: Callable[[], bytes | str], **meta) -> bool:
        """Write ``rel`` unless the last build wrote it from the same key and the file still
        has the bytes it wrote then (its sha256 in the manifest: a damaged file is rendered again)."""
        self.outputs[rel] = {"key": key, **meta}
        old = self.old.get("outputs", {}).get(rel)
        path = self.out / rel
        kept = self._intact(rel, old) if old and old.get("key") == key else None
        if kept:
            self.outputs[rel].update(kept)
            self.report.skipped += 1
            return False
        data = produce()
        data = data.encode("utf-8") if isinstance(data, str) else data
        _atomic_write(path, data)
        self.outputs[rel].update(_written(path, hashlib.sha256(data).hexdigest()))
        self.report.rendered.append(rel)
        return True

    def _intact(self, rel: str, old: dict) -> dict | None:
        """The record of output ``rel`` when its file still holds the bytes the last build
        wrote (its sha256 in the manifest), else None. The file is hashed only when its
        size, mtime or inode changed since, as the replay files are (docs/site.md#incremental-builds)."""
        digest, path = old.get("out_sha256"), self.out / rel
        try:
            st = path.lstat()
        except OSError:
            return None
        if not digest or not stat.S_ISREG(st.st_mode):
            return None
        sig = [st.st_size, st.st_mtime_ns, st.st_ino]
        if old.get("out_sig") == sig or _file_sha256(path) == digest:
            return {"out_sha256": digest, "out_sig": sig}
        self.report.damaged.append(rel)
        return None

    def _copy(self, src: Path, rel: str) -> None:
        st = src.stat()
        self._emit(rel, _key("copy", str(src), st.st_size, st.st_mtime_ns), src.read_bytes)

    def _page(self, rel: str, template: str, **ctx) -> None:
        key = _key(self.version, self.base, self.env.globals["play_url"], self.env.globals["title_font"], template, ctx)
        self._emit(rel, key, lambda: self.env.get_template(template).render(page=rel, **ctx))

    # ---------------------------------------------------------------- verification
    def _verify(self, run: RunData, item: ReplayItem) -> bytes | None:
        """Check a replay's file against its event; returns its bytes when they had to be read."""
        ev = item.event
        try:
            path = R.resolve_in_run(run.dir, str(ev.get("path", "")))
        except ValueError as exc:
            item.status, item.message = "bad_path", str(exc)
            return None
        item.path = path
        try:
            st = path.stat()
        except OSError:
            item.status, item.message = "missing_file", f"{ev.get('path')} is missing"
            return None
        rel = f"{run.run_id}/{ev.get('path')}"
        sig = [st.st_size, st.st_mtime_ns, st.st_ino]
        cached = self.old.get("files", {}).get(rel)
        if cached and cached.get("sig") == sig and cached.get("sha256") == ev.get("sha256"):
            self.files[rel] = cached
            return None
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != ev.get("sha256"):
            item.status = "sha_mismatch"
            item.message = (
                f"{ev.get('path')}: sha256 {digest[:12]}… does not match the event's {str(ev.get('sha256'))[:12]}…"
            )
            return None
        self.files[rel] = {"sig": sig, "sha256": digest}
        return data

    # ---------------------------------------------------------------- per run
    def _run_outputs(self, run: RunData) -> None:
        rid = run.run_id
        base = f"data/runs/{rid}"
        todo = []  # (item, key, data) of replays whose files must be (re)written
        for item in run.replays:
            data = self._verify(run, item)
            if item.status != "ok":
                run.problems.append(
                    Problem(rid, item.status, item.message or item.status, item.replay_id, item.window_id)
                )
                continue
            key = self._replay_key(run, item)
            if not self._replay_current(run, item, key):
                todo.append((item, key, data))
        # converting replays is the only heavy part of a build: many go to a process pool
        workers = min(len(todo) // 8, self.jobs)
        if workers >= 2:
            import concurrent.futures as cf
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
                futures = [
                    (item, key, pool.submit(_replay_files, str(self.out), rid, item.replay_id, str(item.path)))
                    for item, key, _ in todo
                ]
                for i, (item, key, fut) in enumerate(futures):
                    self._record_replay(run, item, key, fut.result)
                    if (i + 1) % 50 == 0:
                        self.say(f"  {rid}: replays {i + 1}/{len(todo)}")
        else:
            for item, key, data in todo:
                self._record_replay(
                    run,
                    item,
                    key,
                    lambda item=item, data=data: _replay_files(
                        str(self.out), rid, item.replay_id, str(item.path), data
                    ),
                )

        # windows.json: columns of every window metric (and the benchmark's bot lines)
        seqs = [w["seq"] for w in run.windows]
        bench_seq = run.benchmark["seq"] if run.benchmark else None
        self._emit(
            f"{base}/windows.json",
            _key(self.version, run.identity, "windows", seqs, bench_seq),
            lambda: _dumps(self._windows_doc(run)),
            seqs=seqs,
        )
        # benchmark.json: the latest `prospector benchmark` table of the run
        if run.benchmark:
            self._emit(
                f"{base}/benchmark.json",
                _key(self.version, run.identity, "benchmark", bench_seq),
                lambda: _dumps({"schema": SCHEMA, "run_id": rid, **benchmark_doc(run.benchmark)}),
                seqs=[bench_seq],
            )
        # replays.json: the catalog
        cat = [(r.event["seq"], r.status) for r in run.replays]
        self._emit(
            f"{base}/replays.json",
            _key(self.version, run.identity, "replays", cat),
            lambda: _dumps(self._replays_doc(run)),
            seqs=[c[0] for c in cat],
        )
        # policies.json and every window's policy export (sitegen/policies.py)
        P.emit_policies(self, run)

    def _replay_key(self, run: RunData, item: ReplayItem) -> str:
        """All of a replay's files share one key: generator version, run, replay id,
        sha256 of the replay file, part size."""
        return _key(self.version, run.identity, item.replay_id, item.event.get("sha256"), CHUNK_FRAMES)

    def _replay_current(self, run: RunData, item: ReplayItem, key: str) -> bool:
        """True (and recorded as unchanged) when the last build wrote all of this
        replay's files from the same key and they are all still there."""
        rel = f"data/runs/{run.run_id}/replays/{item.replay_id}.json"
        old_outputs = self.old.get("outputs", {})
        old = old_outputs.get(rel)
        if not old or old.get("key") != key:
            return False
        files = [rel] + old.get("files", [])
        kept = [self._intact(f, old_outputs.get(f) or {}) for f in files]
        if not all(kept):
            return False
        for f, record in zip(files, kept):
            self.outputs[f] = {**old_outputs[f], **record}
        self.report.skipped += len(files)
        return True

    def _record_replay(self, run: RunData, item: ReplayItem, key: str, result) -> None:
        """Record the files :func:`_replay_files` wrote (``result()`` gives them), or
        mark the replay bad when it could not be converted."""
        rel = f"data/runs/{run.run_id}/replays/{item.replay_id}.json"
        try:
            written, n_frames = result()
        except Exception as exc:  # noqa: BLE001 - whatever one replay holds, it stops only that replay
            reason = str(exc) if isinstance(exc, (ReplayError, OSError)) else f"{type(exc).__name__}: {exc}"
            item.status, item.message = "bad_replay", f"{item.event.get('path')}: {reason}"
            run.problems.append(Problem(run.run_id, "bad_replay", item.message, item.replay_id, item.window_id))
            return
        for f in written:
            self.outputs[f] = {"key": key, **_written(self.out / f, _file_sha256(self.out / f))}
        self.outputs[rel] = {
            **self.outputs.get(rel, {}),
            "key": key,
            "seq": item.event["seq"],
            "sha256": item.event.get("sha256"),
            "frames": n_frames,
            "files": [f for f in written if f != rel],
        }
        self.report.rendered.extend(written)

    def _windows_doc(self, run: RunData) -> dict:
        columns = {k: [w.get(k) if M.is_number(w.get(k)) else None for w in run.windows] for k in M.COLUMNS}
        return {
            "schema": SCHEMA,
            "run_id": run.run_id,
            "n": len(run.windows),
            "metrics": list(M.COLUMNS),
            "labels": {k: M.METRIC_INFO[k][0] for k in M.COLUMNS},
            "better": {k: M.METRIC_INFO[k][1] for k in M.COLUMNS},
            "units": {k: M.METRIC_UNITS[k] for k in M.COLUMNS},
            "columns": columns,
            "ts": [w.get("ts") for w in run.windows],
            "reference": benchmark_reference(run.benchmark),
        }

    def _replay_entry(self, run: RunData, r: ReplayItem) -> dict:
        ev = r.event
        entry = {
            k: ev.get(k)
            for k in (
                "replay_id",
                "window_id",
                "seed",
                "return",
                "net_profit",
                "survival",
                "steps",
                "end_reason",
                "bytes",
            )
        }
        entry["tags"] = [t for t in ev.get("tags") or [] if isinstance(t, str)]
        entry["status"] = r.status
        entry["problem"] = r.message
        entry["url"] = f"data/runs/{run.run_id}/replays/{r.replay_id}.json" if r.status == "ok" else None
        return entry

    def _replays_doc(self, run: RunData) -> dict:
        entries = [self._replay_entry(run, r) for r in run.replays]
        tags = sorted(
            {t for e in entries for t in e["tags"]},
            key=lambda t: (TAG_ORDER.index(t) if t in TAG_ORDER else len(TAG_ORDER), t),
        )
        return {"schema": SCHEMA, "run_id": run.run_id, "tags": tags, "replays": entries}

    def _home_pick(self, run: RunData) -> tuple[ReplayItem | None, dict | None]:
        """The run's latest window with a playable every_window replay (or any replay)."""
        ok = [r for r in run.replays if r.status == "ok"]
        for pool in ([r for r in ok if "every_window" in (r.event.get("tags") or [])], ok):
            if pool:
                item = max(pool, key=lambda r: (r.window_id if isinstance(r.window_id, int) else -1, r.event["seq"]))
                return item, run.row(item.window_id)
        return None, (run.windows[-1] if run.windows else None)

    def _summary(self, run: RunData, row: dict | None) -> dict | None:
        if row is None:
            return None
        prev = None
        for w in run.windows:
            if w["window_id"] < row["window_id"]:
                prev = w
        items = []
        for k in M.CHARTED:
            value = row.get(k)
            items.append(
                {
                    "key": k,
                    "label": M.METRIC_INFO[k][0],
                    "value": value if M.is_number(value) else None,
                    "text": M.fmt(value, k),
                    "change": M.change(k, value, prev.get(k)) if prev else None,
                }
            )
        return {
            "window_id": row["window_id"],
            "previous_window_id": prev["window_id"] if prev else None,
            "ts": row.get("ts"),
            "metrics": items,
        }

    def _run_entry(self, run: RunData) -> dict:
        started = run.started or {}
        cfg = started.get("config") if isinstance(started.get("config"), dict) else {}
        train = cfg.get("train") if isinstance(cfg.get("train"), dict) else {}
        last = run.windows[-1] if run.windows else None
        rets = [r.event.get("return") for r in run.replays if M.is_number(r.event.get("return"))]
        pick, row = self._home_pick(run)
        status = "finished" if run.finished else ("unreadable" if not run.events else "running")
        return {
            "run_id": run.run_id,
            "started": run.started_ts or None,
            "git_sha": started.get("git_sha"),
            "experiment": train.get("experiment"),
            "policy": train.get("policy"),
            "wandb_url": run.wandb_url,
            "status": status,
            "finished_reason": (run.finished or {}).get("reason"),
            "n_windows": len(run.windows),
            "n_replays": len(run.replays),
            "env_steps_total": last.get("env_steps_total") if last else None,
            "last_window_id": last.get("window_id") if last else None,
            "last_return_mean": last.get("return_mean") if last else None,
            "best_replay_return": max(rets) if rets else None,
            "last_seq": run.log.last_seq,
            "latest_replay": (
                {
                    "replay_id": pick.replay_id,
                    "window_id": pick.window_id,
                    "url": f"data/runs/{run.run_id}/replays/{pick.replay_id}.json",
                }
                if pick
                else None
            ),
            "windows_url": f"data/runs/{run.run_id}/windows.json",
            "replays_url": f"data/runs/{run.run_id}/replays.json",
            "policies_url": f"data/runs/{run.run_id}/policies.json",
            "benchmark_url": f"data/runs/{run.run_id}/benchmark.json" if run.benchmark else None,
            "page_url": f"runs/{run.run_id}/",
            "problems": [p.as_dict() for p in run.problems],
        }

    # ---------------------------------------------------------------- static parts
    def _static(self) -> None:
        for src in sorted(STATIC.iterdir()):
            if src.is_file():
                self._copy(src, f"static/{src.name}")
        # The interface as the pages see it, generated from prospector.spec (one source).
        spec_js = spec_module()
        self._emit("static/spec.js", _key(self.version, spec_js), lambda: spec_js)
        found = False
        for name, dst in VENDOR_FILES.items():
            src = self.node_modules / name
            if not src.is_file():  # an installed package ships uPlot in sitegen/vendor/ (Makefile)
                src = HERE / "vendor" / dst
            if src.is_file():
                self._copy(src, f"vendor/{dst}")
                found = True
        if not found:
            self.report.notes.append(
                "uPlot is not installed (run `npm ci --omit=dev` or `make site`): "
                "the analytics page will say so instead of drawing charts"
            )
        vercel = ROOT / "vercel.json"
        if vercel.is_file():
            self._copy(vercel, "vercel.json")
        self._emit(".vercelignore", _key("vercelignore", 1), lambda: f"{MANIFEST_DIR}\n*.gz\n")

    def _assets(self) -> bool:
        result, record = A.copy_assets(self.assets_dir, self.out, self.old.get("assets", {}))
        self.asset_record = record
        self.env.globals["title_font"] = result.manifest["fonts"].get("font.title")
        if result.copied:
            self.say(f"  assets: copied {len(result.copied)} Kenney files into {self.out / 'assets'}")
        if not result.manifest["packs"]:
            where = self.assets_dir or f"${A.ENV_VAR} / --assets"
            self.report.notes.append(f"Kenney art packs not found ({where}): the player draws simple shapes instead")
        elif result.missing:
            self.report.notes.append(
                f"{len(result.missing)} art keys not found in the packs "
                f"(drawn as shapes): {', '.join(result.missing[:5])}"
            )
        return bool(result.manifest["packs"])

    def _docs(self) -> None:
        if not self.docs:
            self.report.docs = "skipped"
            return
        mk = ROOT / "mkdocs.yml"
        docs_dir = ROOT / "docs"
        if not mk.is_file():
            self.report.docs = "no mkdocs.yml"
            return
        h = hashlib.sha256(mk.read_bytes())
        for p in sorted(docs_dir.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(docs_dir)}|{st.st_size}|{st.st_mtime_ns}".encode())
        key = h.hexdigest()[:24]
        target = self.out / "docs"
        self.outputs["docs/"] = {"key": key, "tree": True}
        old = self.old.get("outputs", {}).get("docs/")
        if old and old.get("key") == key and (target / "index.html").is_file():
            self.report.docs = "unchanged"
            self.report.skipped += 1
            return
        self.say("  docs: mkdocs build ...")
        cmd = [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(mk), "-d", str(target.resolve())]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            proc = None
            err = str(exc)
        if proc is None or proc.returncode != 0:
            err = err if proc is None else (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            self.outputs.pop("docs/", None)
            self.report.docs = "failed"
            self.report.problems.append(Problem("-", "docs", f"mkdocs build failed: {err}"))
            return
        self.report.docs = "built"
        self.report.rendered.append("docs/")

    # ---------------------------------------------------------------- main
    def build(self) -> BuildReport:
        t0 = time.perf_counter()
        if self.runs_dir.exists() and not self.runs_dir.is_dir():
            raise BuildError(f"--runs {self.runs_dir} is a file, not a directory of runs")
        claim_out_dir(self.out)
        if self.clean:
            self._clean_out()
        self._load_manifest()
        self.say(f"site build: {self.runs_dir} -> {self.out}{' (clean)' if self.clean else ''}")
        self._static()
        packs = self._assets()

        names = R.list_runs(self.runs_dir)
        runs: list[RunData] = []
        for i, name in enumerate(names):
            try:
                run = read_run(self.runs_dir / name)
            except OSError as exc:
                self.report.problems.append(Problem(name, "unreadable", str(exc)))
                continue
            self._run_outputs(run)
            runs.append(run)
            self.report.problems.extend(run.problems)
            self.report.windows += len(run.windows)
            self.report.replays += len(run.replays)
            self.say(
                f"  [{i + 1}/{len(names)}] {name}: {len(run.windows)} windows, {len(run.replays)} replays"
                + (f", {len(run.problems)} problem(s)" if run.problems else "")
            )
        self.report.runs = len(runs)
        runs.sort(key=lambda r: (r.started_ts, r.run_id))
        entries = [self._run_entry(r) for r in runs]

        # the home pick: the latest run that has a playable replay, else the latest run
        home_run = next((r for r in reversed(runs) if self._home_pick(r)[0] is not None), runs[-1] if runs else None)
        home = None
        if home_run is not None:
            item, row = self._home_pick(home_run)
            home = {
                "run_id": home_run.run_id,
                "replay_id": item.replay_id if item else None,
                "window_id": item.window_id if item else (row or {}).get("window_id"),
                "summary": self._summary(home_run, row),
                "wandb_url": home_run.wandb_url,
                "problems": [p.as_dict() for p in home_run.problems],
                # the timelapse link ("the same world, window 0 vs now"): docs/site.md#timelapse
                "showcase": any(
                    "showcase" in (r.event.get("tags") or []) and r.status == "ok" for r in home_run.replays
                ),
            }
        doc = {
            "schema": SCHEMA,
            "base_url": self.base,
            "play_url": self.env.globals["play_url"],
            "latest": (
                {"run_id": home["run_id"], "replay_id": home["replay_id"], "window_id": home["window_id"]}
                if home
                else None
            ),
            "runs": list(reversed(entries)),
        }
        self._emit(
            "data/runs.json",
            _key(self.version, doc),
            lambda: _dumps(doc),
            runs={r.run_id: r.log.last_seq for r in runs},
        )
        self.run_record = {
            r.run_id: {
                "identity": r.identity,
                "last_seq": r.log.last_seq,
                "log_bytes": r.log.valid_bytes,
                "problems": [p.as_dict() for p in r.problems],
            }
            for r in runs
        }
        self._pages(runs, entries, home, packs)
        SW.emit_sweeps(self, runs)  # the Constellation page of every sweep (sitegen/sweeps.py)
        self._docs()
        self._finish()
        if self.report.damaged:
            self.report.notes.append(
                f"{len(self.report.damaged)} output file(s) no longer held what the last build wrote "
                f"and were written again: {', '.join(self.report.damaged[:3])}"
            )
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def _pages(self, runs: list[RunData], entries: list[dict], home: dict | None, packs: bool) -> None:
        newest_first = list(reversed(entries))
        self._page("index.html", "home.html", home=home, runs=newest_first[:8], packs=packs)
        self._page("replays/index.html", "replays.html", packs=packs)
        self._page("timelapse/index.html", "timelapse.html", packs=packs)  # docs/site.md#timelapse
        self._page("embed/index.html", "embed.html", packs=packs)  # docs/site.md#embed
        self._page("analytics/index.html", "analytics.html")
        self._page("play/index.html", "play.html", packs=packs)
        self._page("runs/index.html", "runs.html", runs=newest_first)
        self._page("404.html", "404.html")
        for run, entry in zip(runs, entries):
            started = run.started or {}
            cfg = started.get("config") if isinstance(started.get("config"), dict) else {}
            train = cfg.get("train") if isinstance(cfg.get("train"), dict) else {}
            replays_by_window: dict = {}
            for r in run.replays:
                replays_by_window.setdefault(r.window_id, []).append(self._replay_entry(run, r))
            recent = list(reversed(run.windows[-100:]))
            rows = [
                {
                    "window_id": w["window_id"],
                    "ts": w.get("ts"),
                    "cells": [
                        M.fmt(w.get(k), k)
                        for k in ("env_steps_total", "return_mean", "net_profit_mean", "survival_rate", "sps")
                    ],
                    "replays": replays_by_window.get(w["window_id"], []),
                }
                for w in recent
            ]
            pick, row = self._home_pick(run)
            self._page(
                f"runs/{run.run_id}/index.html",
                "run.html",
                run=entry,
                config=sorted((str(k), json.dumps(v) if not isinstance(v, str) else v) for k, v in train.items()),
                versions=sorted((str(k), str(v)) for k, v in (started.get("versions") or {}).items())
                if isinstance(started.get("versions"), dict)
                else [],
                rows=rows,
                n_windows=len(run.windows),
                summary=self._summary(run, row),
                benchmark=benchmark_table(run.benchmark),
                orphan_replays=[e for k, v in replays_by_window.items() if run.row(k) is None for e in v],
            )

    def _finish(self) -> None:
        old_outputs = self.old.get("outputs", {})
        for rel in old_outputs:
            if rel in self.outputs or not isinstance(old_outputs[rel], dict) or old_outputs[rel].get("tree"):
                continue
            path = self._owned_path(rel)
            if path is not None and path.is_file():
                path.unlink()
                self.report.removed.append(rel)
        # drop empty run data dirs
        data_runs = self.out / "data" / "runs"
        if data_runs.is_dir():
            for d in sorted(data_runs.rglob("*"), reverse=True):
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
        manifest = {
            "version": MANIFEST_VERSION,
            "generator": self.version,
            "base_url": self.base,
            "runs": getattr(self, "run_record", {}),
            "outputs": self.outputs,
            "files": self.files,
            "assets": getattr(self, "asset_record", {}),
        }
        _atomic_write(self.out / MANIFEST_FILE, json.dumps(manifest, separators=(",", ":")).encode())


# ------------------------------------------------------------------ benchmark (prospector benchmark)

#: benchmark column -> (window metric it is drawn on in /analytics, heading, number format)
BENCH_COLUMNS = {
    "mean_net_profit": ("net_profit_mean", "mean net profit", "{:,.0f}"),
    "median_net_profit": (None, "median net profit", "{:,.0f}"),
    "survival_rate": ("survival_rate", "survival", "{:.1%}"),
    "profit_per_tick_mean": ("profit_per_tick_mean", "profit / tick", "{:,.2f}"),
    "overheat_ticks_mean": ("overheat_ticks_mean", "overheat ticks", "{:,.0f}"),
    "pirate_encounters_mean": ("pirate_encounters_mean", "pirate encounters", "{:,.1f}"),
}


def _num(v) -> float | None:
    return float(v) if M.is_number(v) and not isinstance(v, bool) else None


def benchmark_doc(ev: dict | None) -> dict | None:
    """The JSON API form of a ``benchmark`` event (None when it is not usable)."""
    if not isinstance(ev, dict) or not isinstance(ev.get("rows"), list) or not isinstance(ev.get("columns"), list):
        return None
    columns = [c for c in ev["columns"] if isinstance(c, str)]
    rows = []
    for r in ev["rows"]:
        if not isinstance(r, dict) or not isinstance(r.get("policy"), str):
            continue
        row = {
            "policy": r["policy"],
            "kind": r.get("kind") if isinstance(r.get("kind"), str) else None,
            "episodes": _num(r.get("episodes")),
        }
        for c in columns:
            ci = r.get(c + "_ci95")
            row[c] = _num(r.get(c))
            row[c + "_ci95"] = [_num(ci[0]), _num(ci[1])] if isinstance(ci, list) and len(ci) == 2 else None
        rows.append(row)
    if not rows:
        return None
    beats = ev.get("ppo_beats") if isinstance(ev.get("ppo_beats"), dict) else {}
    return {
        "seq": ev.get("seq"),
        "ts": ev.get("ts"),
        "window_id": ev.get("window_id"),
        "env_steps_total": _num(ev.get("env_steps_total")),
        "episodes": _num(ev.get("episodes")),
        "time_max": _num(ev.get("time_max")),
        "seeds_file": ev.get("seeds_file"),
        "seeds_sha256": ev.get("seeds_sha256"),
        "policy_eval": ev.get("policy_eval"),
        "ci_method": ev.get("ci_method"),
        "columns": columns,
        "rows": rows,
        "ppo_beats": {str(k): bool(v) for k, v in beats.items()},
        "ppo_beats_all_bots": bool(ev.get("ppo_beats_all_bots")),
    }


def benchmark_reference(ev: dict | None) -> dict:
    """windows.json ``reference``: per window metric, each bot's benchmark mean (a
    horizontal line on that metric's chart)."""
    doc = benchmark_doc(ev)
    if doc is None:
        return {}
    out: dict = {}
    for col in doc["columns"]:
        metric = BENCH_COLUMNS.get(col, (None,))[0]
        if metric is None:
            continue
        lines = [
            {"label": r["policy"], "value": r[col]} for r in doc["rows"] if r["kind"] == "bot" and r[col] is not None
        ]
        if lines:
            out[metric] = lines
    return out


def benchmark_table(ev: dict | None) -> dict | None:
    """The run page's benchmark table: headings and formatted cells (value and 95% CI)."""
    doc = benchmark_doc(ev)
    if doc is None:
        return None
    cols = [c for c in doc["columns"] if c in BENCH_COLUMNS]

    def cell(row, c):
        fmt = BENCH_COLUMNS[c][2]
        value, ci = row[c], row[c + "_ci95"]
        if value is None:
            return {"value": "–", "ci": ""}
        return {
            "value": fmt.format(value),
            "ci": f"[{fmt.format(ci[0])}, {fmt.format(ci[1])}]" if ci and None not in ci else "",
        }

    rows = [
        {
            "policy": r["policy"],
            "kind": r["kind"],
            "cells": [cell(r, c) for c in cols],
            "beaten": doc["ppo_beats"].get(r["policy"]),
        }
        for r in doc["rows"]
    ]
    steps = doc["env_steps_total"]
    return {
        "headings": [BENCH_COLUMNS[c][1] for c in cols],
        "rows": rows,
        "window_id": doc["window_id"],
        "env_steps": f"{steps:,.0f}" if steps is not None else "–",
        "episodes": f"{doc['episodes']:,.0f}" if doc["episodes"] is not None else "–",
        "time_max": doc["time_max"],
        "seeds_file": doc["seeds_file"],
        "ci_method": doc["ci_method"],
        "policy_eval": doc["policy_eval"],
        "ppo_beats_all_bots": doc["ppo_beats_all_bots"],
        "ts": doc["ts"],
    }


def _replay_files(out: str, run_id: str, replay_id: str, path: str, data: bytes | None = None) -> tuple[list[str], int]:
    """Convert one replay file into the player's JSON (and its parts and gzip twins);
    returns the files written (relative to ``out``) and the number of frames. Runs in
    a worker process during big builds."""
    raw = data if data is not None else Path(path).read_bytes()
    header, frames = decode_replay(raw)
    doc = replaydata.compact_replay(header, frames)
    main, parts = replaychunks.split(doc, replay_id, CHUNK_FRAMES)  # docs/site.md#progressive-loading
    written = []
    for name, body in [(f"{replay_id}.json", main)] + parts:
        rel = f"data/runs/{run_id}/replays/{name}"
        blob = replaydata.dumps(body)
        _atomic_write(Path(out) / rel, blob)
        written.append(rel)
        if len(blob) >= GZIP_MIN:  # a gzip twin for `site serve`
            _atomic_write(Path(out) / (rel + ".gz"), gzip.compress(blob, 6, mtime=0))
            written.append(rel + ".gz")
    return written, len(frames)


def build_site(runs_dir="runs", out_dir="public", **kw) -> BuildReport:
    return Builder(runs_dir, out_dir, **kw).build()
