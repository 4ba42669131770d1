"""The site build's policy exports: every window's checkpoint as files the page runs.

Per run (docs/site.md#the-agent-in-the-browser)::

    data/runs/{run}/policies.json                   catalog: window, status, urls, bytes
    data/runs/{run}/policies/w{window:06d}.v1.json  header (pipeline/policy_export.py)
    data/runs/{run}/policies/w{window:06d}.v1.bin   float32 weights

Like replays, the files of a window are immutable (a window's checkpoint never
changes; the format version is in the name) and written once: a later build whose key
(format, exporter source, checkpoint sha256) is unchanged does not even read the
checkpoint. A checkpoint that is missing, does not match its sha256 or does not load
is listed with that status and no files, and the build goes on.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from ..pipeline import policy_export as PE
from ..pipeline import runs as R

SCHEMA = 1
_EXPORTER = hashlib.sha256(Path(PE.__file__).read_bytes()).hexdigest()[:16]


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def checkpoints(events: list[dict]) -> dict[int, dict]:
    """window_id -> its last checkpoint_saved event."""
    out: dict[int, dict] = {}
    for ev in events:
        if ev.get("type") == "checkpoint_saved" and isinstance(ev.get("window_id"), int):
            out[ev["window_id"]] = ev
    return out


def emit_policies(builder, run) -> None:
    """Write (or keep) the exports of every window of ``run`` and its policies.json."""
    base = f"data/runs/{run.run_id}"
    entries = []
    for window_id, ev in sorted(checkpoints(run.events).items()):
        entries.append(_emit_window(builder, run, base, window_id, ev))
    doc = {"schema": SCHEMA, "run_id": run.run_id, "format_version": PE.VERSION, "policies": entries}
    builder._emit(
        f"{base}/policies.json",
        _key("policies", run.identity, doc),
        lambda: json.dumps(doc, separators=(",", ":")).encode(),
        seqs=[e["seq"] for e in entries],
    )


def _emit_window(builder, run, base: str, window_id: int, ev: dict) -> dict:
    head_name, bin_name = PE.file_names(window_id)
    head_rel, bin_rel = f"{base}/policies/{head_name}", f"{base}/policies/{bin_name}"
    row = run.row(window_id) or {}
    entry = {
        "window_id": window_id,
        "seq": ev.get("seq"),
        "env_steps_total": row.get("env_steps_total"),
        "status": "ok",
        "reason": None,
        "header_url": None,
        "weights_url": None,
        "bytes": None,
    }
    key = _key(PE.VERSION, _EXPORTER, run.identity, window_id, ev.get("sha256"))
    old = builder.old.get("outputs", {}).get(head_rel)
    if (
        old
        and old.get("key") == key
        and (builder.out / head_rel).is_file()
        and (not old.get("weights") or (builder.out / bin_rel).is_file())
    ):
        # written by an earlier build from the same checkpoint: keep, without reading it
        for rel in (head_rel, bin_rel) if old.get("weights") else (head_rel,):
            builder.outputs[rel] = builder.old["outputs"].get(rel, {"key": key})
            builder.report.skipped += 1
        return {**entry, **old.get("entry", {})}

    @cache
    def exported():
        return _export(run, ev)

    header, weights, problem = exported()
    if problem is not None:
        builder.report.notes.append(f"{run.run_id}: window {window_id} policy not exported: {problem}")
        return {**entry, "status": problem.split(":", 1)[0], "reason": problem}
    made = {
        "status": "ok" if header["supported"] else "unsupported",
        "reason": header.get("reason"),
        "header_url": head_rel,
        "weights_url": bin_rel if weights is not None else None,
        "bytes": len(weights) if weights is not None else None,
    }
    builder._emit(head_rel, key, lambda: PE.header_bytes(header), entry=made, weights=weights is not None)
    if weights is not None:
        builder._emit(bin_rel, key, lambda: weights)
    return {**entry, **made}


def _export(run, ev: dict) -> tuple[dict | None, bytes | None, str | None]:
    """(header, weights, None), or (None, None, "status: why") when the checkpoint is unusable."""
    try:
        path = R.resolve_in_run(run.dir, str(ev.get("path", "")))
        data = path.read_bytes()
    except (ValueError, OSError) as exc:
        return None, None, f"missing_file: checkpoint {ev.get('path')} cannot be read ({exc})"
    if hashlib.sha256(data).hexdigest() != ev.get("sha256"):
        return None, None, f"sha_mismatch: checkpoint {ev.get('path')} does not match its sha256 in the log"
    import io

    try:
        import torch
    except ImportError:  # a site-only install: the checkpoints need the train extra
        return None, None, "no_torch: reading checkpoints needs torch (pip install 'asteroid-prospector[train]')"
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
        header, weights = PE.export_checkpoint(
            state, run_id=run.run_id, window_id=ev["window_id"], checkpoint_sha256=ev.get("sha256")
        )
    except Exception as exc:  # any unreadable checkpoint: reported, never a failed build
        return None, None, f"bad_checkpoint: {ev.get('path')}: {type(exc).__name__}: {exc}"
    return header, weights, None
