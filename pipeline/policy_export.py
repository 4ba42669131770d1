"""The exporter of a window's policy: a checkpoint (read with torch, pipeline/checkpoint.py)
as the static policy files the browser runs, in the format of pipeline/store/policy_file.py
(docs/site.md#the-agent-in-the-browser).

The site generator reaches it through the ``prospector.hooks`` entry point
``policy_from_checkpoint`` (:func:`policy_from_checkpoint`), never by import, so that a
``site``-only install without torch builds its pages without in-page policies
(docs/design-choices.md#the-site-reaches-the-checkpoint-reader-through-an-entry-point).
"""

from __future__ import annotations

import hashlib

from prospector import spec as S

from .store.policy_file import FORMAT, MASKED_LOGIT, VERSION, file_names, mask_rule

#: The MLP's linear layers in forward order: state-dict prefix, activation after it.
MLP_LAYERS = (("encoder.0", "gelu"), ("encoder.2", "gelu"), ("decoder", None))


# ------------------------------------------------------------------ export


def export_checkpoint(
    state: dict, *, run_id: str | None = None, window_id: int | None = None, checkpoint_sha256: str | None = None
) -> tuple[dict, bytes | None]:
    """(header, weights) of a loaded checkpoint dict (:func:`pipeline.checkpoint.read_checkpoint` of a window's .pt).

    An unsupported policy gives ``(header with supported=False and reason, None)``.
    """
    header: dict = {
        "format": FORMAT,
        "version": VERSION,
        "run_id": run_id,
        "window_id": window_id,
        "checkpoint_sha256": checkpoint_sha256,
        "policy_kind": state.get("policy_kind"),
    }
    kind = state.get("policy_kind")
    if kind != "mlp":
        reason = (
            "the LSTM policy needs its recurrent state carried through the episode, which the in-page "
            "forward pass does not do"
            if kind == "lstm"
            else f"unknown policy kind {kind!r}"
        )
        return {**header, "supported": False, "reason": reason}, None
    weights = state["policy"]
    blobs, layers, offset = [], [], 0
    for name, activation in MLP_LAYERS:
        w = weights[f"{name}.weight"].detach().cpu().float().numpy()
        b = weights[f"{name}.bias"].detach().cpu().float().numpy()
        layer = {
            "name": name,
            "in": int(w.shape[1]),
            "out": int(w.shape[0]),
            "activation": activation,
            "weight_offset": offset,
            "bias_offset": offset + w.size,
        }
        offset += w.size + b.size
        blobs += [w.astype("<f4").tobytes(), b.astype("<f4").tobytes()]
        layers.append(layer)
    data = b"".join(blobs)
    masked = bool(state.get("action_mask", False))
    header.update(
        {
            "supported": True,
            "obs_dim": S.OBS_DIM,
            "n_actions": S.N_ACTIONS,
            "hidden_size": int(state.get("hidden_size", layers[0]["out"])),
            "dtype": "float32",
            "byte_order": "little",
            "weight_layout": "row-major [out][in], then bias [out]",
            "weights_file": file_names(window_id)[1] if window_id is not None else None,
            "floats": offset,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "layers": layers,
            "gelu": "exact (erf)",
            "obs_normalization": None,
            "masked_logit": MASKED_LOGIT,
            "action_mask": mask_rule(state.get("env_config")) if masked else None,
            "action_names": list(S.ACTION_NAMES),
        }
    )
    return header, data


def export_checkpoint_file(path, **ids) -> tuple[dict, bytes | None]:
    """:func:`export_checkpoint` of a checkpoint file, checked against ``checkpoint_sha256``
    when given; a one-line ``CheckpointError`` (pipeline/checkpoint.py) naming the file when
    it is not a checkpoint whose weights fit the policy it names."""
    from .checkpoint import checkpoint_policy, read_checkpoint

    state = read_checkpoint(path, ids.get("checkpoint_sha256"))
    checkpoint_policy(state, path)  # the weights fit the architecture, or one line says why
    return export_checkpoint(state, **ids)


def policy_from_checkpoint(
    path, *, sha256: str, name: str, run_id: str, window_id: int
) -> tuple[dict | None, bytes | None, str | None]:
    """Entry point ``prospector.hooks`` ``policy_from_checkpoint``, the site build's exporter:
    ``(header, weights, None)`` of the checkpoint file ``path``, checked against its event's
    ``sha256``; or ``(None, None, "status: why")`` when it is unusable (``status`` is the
    CheckpointError's kind, or ``bad_checkpoint``). The checkpoint is read as data only,
    through the trainer's own reader; messages name the file as ``name`` (its run-relative
    path: they go on a public page). An ImportError (no torch) reaches the caller."""
    from .checkpoint import CheckpointError, checkpoint_policy, read_checkpoint

    try:
        state = read_checkpoint(path, sha256, name=name)
        checkpoint_policy(state, name)
        header, weights = export_checkpoint(state, run_id=run_id, window_id=window_id, checkpoint_sha256=sha256)
    except CheckpointError as exc:
        return None, None, f"{exc.kind}: {exc}"
    except ImportError:
        raise
    except Exception as exc:  # an export that fails on a checkpoint that loaded: reported, never a failed build
        return None, None, f"bad_checkpoint: checkpoint {name}: {type(exc).__name__}: {str(exc)[:160]}"
    return header, weights, None
