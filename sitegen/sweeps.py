"""The site build's sweep pages: the Constellation view of every ``prospector sweep``.

Per sweep (docs/tuning.md#reading-the-constellation-page)::

    sweeps/index.html                 every sweep: method, trials, best score
    sweeps/{sweep}/index.html         its Constellation page (static/constellation.js)
    data/sweeps/{sweep}.json          the page's data: pipeline/store/sweeps.py's document,
                                      plus where each trial's run page is on this site

The document is computed from the sweep's log and the rows of its trial runs that the
build has already read; like every output it is rewritten only when it changes. A sweep
whose log cannot be read is reported and skipped; the build goes on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..pipeline.store.log import CorruptLogError
from ..pipeline.store.sweeps import SweepError, constellation, list_sweeps, sweeps_root

SCHEMA = 1


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def sweep_doc(sweep_dir: Path, runs_dir: Path, runs_by_id: dict) -> dict:
    """The Constellation document with the site's links (run pages, side-by-side view)."""
    doc = constellation(sweep_dir, runs_dir, rows_of=lambda run_id: _rows(runs_by_id.get(run_id)))
    for trial in doc["trials"]:
        on_site = trial["run_id"] in runs_by_id
        trial["run_url"] = f"runs/{trial['run_id']}/" if on_site else None
    by_id = {t["trial"]: t for t in doc["trials"]}
    best, worst = by_id.get(doc["best"]), by_id.get(doc["worst"])
    doc["side_by_side_url"] = (
        side_by_side(best["run_id"], worst["run_id"]) if best and worst and best is not worst else None
    )
    return doc


def side_by_side(run_a: str, run_b: str) -> str:
    """The timelapse's side-by-side view of two trials' last showcase replays: the same
    world (the sweep's showcase seed), docs/site.md#timelapse."""
    return f"timelapse/?run={run_a}&mode=side&a=latest&b=latest&run_b={run_b}&step=0"


def _rows(run) -> list[dict]:
    return list(run.windows) if run is not None else []


def emit_sweeps(builder, runs: list) -> None:
    """Write every sweep's data and page, and the sweeps index."""
    from .build import Problem  # the build imports this module: a late import

    runs_by_id = {run.run_id: run for run in runs}
    entries = []
    for name in list_sweeps(builder.runs_dir):
        try:
            doc = sweep_doc(sweeps_root(builder.runs_dir) / name, builder.runs_dir, runs_by_id)
        except (SweepError, CorruptLogError, OSError, KeyError, TypeError, ValueError) as exc:
            builder.report.problems.append(Problem(name, "sweep", f"sweep {name} cannot be shown: {exc}"))
            continue
        data_rel = f"data/sweeps/{name}.json"
        builder._emit(data_rel, _key("sweep", builder.version, doc), lambda doc=doc: _dumps(doc))
        entry = summary(doc, data_rel)
        builder._page(f"sweeps/{name}/index.html", "sweep.html", sweep=entry)
        entries.append(entry)
    entries.sort(key=lambda e: e["started"], reverse=True)
    builder._page("sweeps/index.html", "sweeps.html", sweeps=entries)


def summary(doc: dict, data_rel: str) -> dict:
    done = [t for t in doc["trials"] if t["status"] == "finished"]
    best = next((t for t in done if t["trial"] == doc["best"]), None)
    return {
        "sweep_id": doc["sweep_id"],
        "started": doc["started"],
        "status": doc["status"],
        "method": doc["method"],
        "trials": len(doc["trials"]),
        "finished": len(done),
        "failed": sum(t["status"] == "failed" for t in doc["trials"]),
        "budget": doc["budget"],
        "best_score": best["score"] if best else None,
        "best_run": best["run_id"] if best else None,
        "data_url": data_rel,
        "page_url": f"sweeps/{doc['sweep_id']}/",
    }


def _dumps(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
