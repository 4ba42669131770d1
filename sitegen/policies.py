"""The site build's policy exports: every window's checkpoint as files the page runs.

Per run (docs/site.md#the-agent-in-the-browser)::

    data/runs/{run}/policies.json                   catalog: window, status, urls, bytes
    data/runs/{run}/policies/w{window:06d}.v1.json  header (pipeline/store/policy_file.py)
    data/runs/{run}/policies/w{window:06d}.v1.bin   float32 weights

Like replays, the files of a window are immutable (a window's checkpoint never
changes; the format version is in the name) and written once: a later build whose key
(format, exporter source, checkpoint sha256) is unchanged does not even read the
checkpoint. A checkpoint that is missing, does not match its sha256 or does not load
is listed with that status and no files, and the build goes on.

The checkpoint is read by the trainer's exporter, found through the ``prospector.hooks``
entry point ``policy_from_checkpoint`` (pipeline/policy_export.py), not imported: the
site imports nothing of the pipeline but the run store, and where the exporter cannot be
loaded (a ``site``-only install has no torch) the windows are listed as ``no_torch``
(docs/design-choices.md#the-site-reaches-the-checkpoint-reader-through-an-entry-point).

Replays do not record the observation, so for "what would window N do here?" in the
replay player the build rebuilds it: it plays each replay's actions again in the game
(deterministic: same seed, config and actions give the same states), checks every
step's reward against the recorded one, and writes the observations, delta-encoded, to
``data/runs/{run}/obs/{replay_id}.v1.bin`` (once per replay file: the key is its sha256)::

    "POBS", uint32 frames, uint32 obs_dim, float32[obs_dim] of frame 0, then per frame:
    uint16 k, uint16[k] indices that changed, float32[k] their new values   (little-endian)
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import struct
from importlib import metadata
from pathlib import Path

import numpy as np

from prospector.envs import ProspectorEnv

from ..pipeline.store import layout as R
from ..pipeline.store import policy_file as PE
from ..pipeline.store.replays import ReplayError, decode_replay

SCHEMA = 1
OBS_VERSION = 1
OBS_MAGIC = b"POBS"
#: Checkpoint statuses that are problems of the build (``--strict`` fails on them): the file
#: is there but damaged or not a checkpoint. A missing file or a site-only install (no
#: torch) is a note: runs are often published without their checkpoints.
DAMAGED = ("sha_mismatch", "bad_checkpoint")


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def emit_policies(builder, run) -> None:
    """Write (or keep) the exports of every window of ``run`` and its policies.json."""
    base = f"data/runs/{run.run_id}"
    entries = []
    for window_id, ev in sorted(run.checkpoints.items()):
        entries.append(_emit_window(builder, run, base, window_id, ev))
    from .build import Problem  # here: build.py imports this module

    for e in entries:
        if e["status"] in DAMAGED:
            why = e["reason"].split(": ", 1)[-1]  # the reason without its "status: " prefix
            run.problems.append(Problem(run.run_id, e["status"], why, window_id=e["window_id"]))
    failed = [e for e in entries if e["status"] not in ("ok", "unsupported", *DAMAGED)]
    if failed:  # one line per run, not one per window (a run may have thousands)
        more = f" (and {len(failed) - 1} more windows)" if len(failed) > 1 else ""
        builder.report.notes.append(
            f"{run.run_id}: window {failed[0]['window_id']} policy not exported: {failed[0]['reason']}{more}"
        )
    replay_obs = {
        item.replay_id: _emit_replay_obs(builder, run, base, item) for item in run.replays if item.status == "ok"
    }
    doc = {
        "schema": SCHEMA,
        "run_id": run.run_id,
        "format_version": PE.VERSION,
        "policies": entries,
        "replay_obs": replay_obs,
        "best": best_policy(run, entries),  # /play's hints (docs/site.md#the-agent-in-the-browser)
    }
    builder._emit(
        f"{base}/policies.json",
        _key("policies", run.identity, doc),
        lambda: json.dumps(doc, separators=(",", ":")).encode(),
        seqs=[e["seq"] for e in entries],
    )


#: What makes a window the best for /play's hints: the mean net profit of its training episodes.
BEST_BY = "net_profit_mean"


def best_policy(run, entries: list[dict]) -> dict | None:
    """The window /play's hints use: of the windows whose policy runs in the page, the one
    whose training episodes earned the highest mean net profit (the latest of equals); None
    when no window has both a usable policy and that figure."""
    scored = []
    for entry in entries:
        value = (run.row(entry["window_id"]) or {}).get(BEST_BY)
        if entry["status"] == "ok" and isinstance(value, (int, float)) and not isinstance(value, bool):
            scored.append((float(value), entry["window_id"], entry))
    if not scored:
        return None
    value, window_id, entry = max(scored, key=lambda s: (s[0], s[1]))
    return {"window_id": window_id, "by": BEST_BY, "value": value, "env_steps_total": entry["env_steps_total"]}


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
    key = _key(PE.VERSION, exporter_version(), run.identity, window_id, ev.get("sha256"))
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

    # a checkpoint that could not be exported is not read again until its file changes
    try:
        st = R.resolve_in_run(run.dir, str(ev.get("path", ""))).stat()
        sig = [st.st_size, st.st_mtime_ns]
    except (ValueError, OSError):
        sig = None
    failed_rel = f"{head_rel}#failed"
    old_failure = builder.old.get("outputs", {}).get(failed_rel)
    if old_failure and old_failure.get("key") == key and old_failure.get("sig") == sig:
        builder.outputs[failed_rel] = old_failure
        return {**entry, **old_failure["entry"]}
    header, weights, problem = _export(run, ev)
    if problem is not None:
        failure = {"status": problem.split(":", 1)[0], "reason": problem}
        builder.outputs[failed_rel] = {"key": key, "sig": sig, "entry": failure}
        return {**entry, **failure}
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


#: The ``prospector.hooks`` entry point that exports a checkpoint (pipeline/policy_export.py).
EXPORTER_HOOK = "policy_from_checkpoint"
NO_TORCH = "no_torch: reading checkpoints needs torch (pip install 'asteroid-prospector[train]')"


def _exporter_entry_point():
    hooks = [ep for ep in metadata.entry_points(group="prospector.hooks") if ep.name == EXPORTER_HOOK]
    return hooks[0] if hooks else None


@functools.cache
def exporter_version() -> str:
    """Part of every export's cache key: a digest of the exporter's module file and of the
    format's (found without importing the exporter, which needs torch), so that a changed
    exporter writes the files again."""
    digest = hashlib.sha256(Path(PE.__file__).read_bytes())
    entry_point = _exporter_entry_point()
    try:
        spec = importlib.util.find_spec(entry_point.module) if entry_point else None
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin and Path(spec.origin).is_file():
        digest.update(Path(spec.origin).read_bytes())
    else:
        digest.update(b"no exporter")
    return digest.hexdigest()[:16]


@functools.cache
def _exporter():
    """The exporter function, or None where it cannot be loaded (no torch, no entry point)."""
    entry_point = _exporter_entry_point()
    if entry_point is None:
        return None
    try:
        return entry_point.load()
    except ImportError:
        return None


def _export(run, ev: dict) -> tuple[dict | None, bytes | None, str | None]:
    """(header, weights, None), or (None, None, "status: why") when the checkpoint is
    unusable. It is read as data only, through the trainer's own reader (the exporter hook)."""
    name = str(ev.get("path", ""))[:200]  # the run-relative path: the message goes on a public page
    try:
        path = R.resolve_in_run(run.dir, name)
    except ValueError as exc:
        return None, None, f"missing_file: checkpoint {name}: {exc}"
    sha256 = ev.get("sha256")
    export = _exporter()
    if export is None:
        return None, None, NO_TORCH
    try:
        return export(
            path,
            sha256=sha256 if isinstance(sha256, str) else "",
            name=name,
            run_id=run.run_id,
            window_id=ev["window_id"],
        )
    except ImportError:  # a site-only install: the checkpoints need the train extra
        return None, None, NO_TORCH
    except Exception as exc:  # the hook reports what it knows; anything else is never a failed build
        return None, None, f"bad_checkpoint: checkpoint {name}: {type(exc).__name__}: {str(exc)[:160]}"


# ------------------------------------------------------------------ replay observations


def encode_obs(obs: np.ndarray) -> bytes:
    """[frames, obs_dim] float32 -> the delta-encoded file (see the module docstring)."""
    obs = np.asarray(obs, dtype="<f4")
    n, dim = obs.shape
    parts = [OBS_MAGIC, struct.pack("<II", n, dim), obs[0].tobytes()]
    for t in range(1, n):
        changed = np.flatnonzero(obs[t] != obs[t - 1]).astype("<u2")
        parts += [struct.pack("<H", changed.size), changed.tobytes(), obs[t][changed].tobytes()]
    return b"".join(parts)


def decode_obs(data: bytes) -> np.ndarray:
    """The inverse of :func:`encode_obs` (for the tests)."""
    if data[:4] != OBS_MAGIC:
        raise ValueError("not an observation file")
    n, dim = struct.unpack_from("<II", data, 4)
    out = np.empty((n, dim), dtype=np.float32)
    at = 12
    out[0] = np.frombuffer(data, "<f4", dim, at)
    at += 4 * dim
    for t in range(1, n):
        (k,) = struct.unpack_from("<H", data, at)
        idx = np.frombuffer(data, "<u2", k, at + 2)
        out[t] = out[t - 1]
        out[t, idx] = np.frombuffer(data, "<f4", k, at + 2 + 2 * k)
        at += 2 + 6 * k
    return out


def replay_observations(header: dict, frames: list[dict]) -> np.ndarray:
    """The observation of every frame, by playing the replay's actions again; a
    ValueError when the game does not give the recorded rewards (another game version)."""
    env = ProspectorEnv(header.get("env_config") or {})
    obs, _ = env.reset(seed=int(header["seed"]))
    out = [obs]
    for t, frame in enumerate(frames[1:], start=1):
        obs, reward, terminated, truncated, _ = env.step(int(frame["action"]))
        if reward != frame.get("reward"):
            raise ValueError(
                f"step {t} gives reward {reward!r} here, the replay recorded {frame.get('reward')!r}: "
                "this game version does not reproduce the replay"
            )
        out.append(obs)
        if (terminated or truncated) and t != len(frames) - 1:
            raise ValueError(f"the episode ends at step {t} here, the replay goes on to {len(frames) - 1}")
    return np.asarray(out, dtype=np.float32)


def _emit_replay_obs(builder, run, base: str, item) -> dict:
    """Write (or keep) one replay's observation file; its entry in policies.json."""
    rel = f"{base}/obs/{item.replay_id}.v{OBS_VERSION}.bin"
    key = _key("obs", OBS_VERSION, exporter_version(), run.identity, item.replay_id, item.event.get("sha256"))
    old = builder.old.get("outputs", {}).get(rel)
    if old and old.get("key") == key and (old.get("failed") or (builder.out / rel).is_file()):
        builder.outputs[rel] = old
        builder.report.skipped += 0 if old.get("failed") else 1
        return old.get("entry", {})
    try:
        header, frames = decode_replay(item.path.read_bytes())
        data = encode_obs(replay_observations(header, frames))
    except (ReplayError, OSError, ValueError, KeyError, TypeError) as exc:
        builder.report.notes.append(f"{run.run_id}: replay {item.replay_id}: no observations for the player: {exc}")
        entry = {"url": None, "status": "unavailable", "reason": str(exc)}
        # remembered without a file, so the next build does not replay it again
        builder.outputs[rel] = {"key": key, "entry": entry, "failed": True}
        return entry
    entry = {"url": rel, "status": "ok", "frames": len(frames), "bytes": len(data)}
    builder._emit(rel, key, lambda: data, entry=entry)
    return entry
