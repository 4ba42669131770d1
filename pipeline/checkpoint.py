"""Checkpoints as data: the one place that writes and reads a window's ``.pt`` file.

A checkpoint is a torch zip file whose pickle holds tensors and plain data only (dicts,
lists, tuples, str, int, float, bool, None): the policy's and the optimiser's state
dicts, the scheduler's, counters, and the run's env and train settings. It is read with
``torch.load(weights_only=True)``, whose unpickler builds those types and refuses every
other global, so a crafted file cannot run code when a run is resumed, evaluated or
published (docs/design-choices.md#checkpoints-are-data). Every reader (trainer resume,
evaluator, benchmark, policy export, site build) comes through :func:`read_checkpoint`
or :func:`load_checkpoint_bytes`, and a file that is not a checkpoint of this project is
refused with one :class:`CheckpointError` line naming it.

Checkpoints written by the project's earlier versions hold the same plain dict, so they
load unchanged through the same restricted reader (tests/test_hostile_checkpoints.py
writes one the old way; its history: docs/design-choices.md#checkpoints-are-data).

torch is imported when a function runs: the site build imports this module and works
without the train extra.
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from pathlib import Path

#: What torch.save writes since torch 1.6 (a zip archive). The legacy format starts with a
#: bare pickle; refusing it up front keeps every byte of a non-zip file away from any unpickler.
ZIP_MAGIC = b"PK\x03\x04"

#: Keys every checkpoint of this project holds (since the first one), and their types.
REQUIRED = {
    "policy": dict,
    "optimizer": dict,
    "scheduler": dict,
    "epoch": int,
    "global_step": int,
    "window_id": int,
    "policy_kind": str,
    "hidden_size": int,
    "env_config": dict,
    "train_config": dict,
}
#: Keys added later, with the value an older checkpoint means.
OPTIONAL = {"action_mask": (bool, False)}


class CheckpointError(ValueError):
    """A checkpoint that is missing, does not match its sha256 or is not one of ours.

    ``kind`` is the site build's status for it: missing_file, sha_mismatch, bad_checkpoint."""

    def __init__(self, message: str, kind: str = "bad_checkpoint"):
        super().__init__(message)
        self.kind = kind


# ------------------------------------------------------------------ writing


def _check_plain(value, where: str) -> None:
    """Raise TypeError naming the first value a weights_only reader would refuse."""
    import torch

    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint key {where}[{key!r}] is a {type(key).__name__}, not str or int")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"checkpoint value {where} is a {type(value).__name__}: checkpoints hold tensors and plain data only"
    )


def checkpoint_bytes(state: dict) -> bytes:
    """The file of a checkpoint dict; a TypeError (a bug, not bad input) when any value is
    not a tensor or plain data, so that no checkpoint is ever written that readers refuse."""
    import torch

    _check_plain(state, "checkpoint")
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise TypeError(f"checkpoint lacks {', '.join(missing)}")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ reading


def _unpickle_reason(exc: Exception) -> str:
    """The line of torch's many-line refusal that says what the file held."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines if "GLOBAL" in line or "Unsupported" in line), lines[-1] if lines else "")
    return detail[:160]


def load_checkpoint_bytes(data: bytes, name: str | Path) -> dict:
    """The checkpoint dict in ``data`` (the file ``name``), read as data only; a
    CheckpointError naming the file when it is not a checkpoint of this project."""
    import pickle

    import torch

    if not data.startswith(ZIP_MAGIC):
        raise CheckpointError(f"checkpoint {name} is not a checkpoint (not a torch zip file); it was not read")
    _check_archive(data, name)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols: our line says it all
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"checkpoint {name} holds more than tensors and plain data ({_unpickle_reason(exc)}); it was not loaded"
        ) from None
    except Exception as exc:  # a damaged archive: torch raises RuntimeError, KeyError, EOFError, ...
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise CheckpointError(f"checkpoint {name} cannot be read ({type(exc).__name__}: {first})") from None
    return check_checkpoint(state, name)


def _check_archive(data: bytes, name: str | Path) -> None:
    """torch.save writes every entry stored (uncompressed), so a checkpoint never expands
    past its own size; a compressed entry could (a zip bomb), and is refused unread."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:  # truncated, or a damaged directory
        raise CheckpointError(f"checkpoint {name} cannot be read (not a whole zip archive: {exc})") from None
    if any(e.compress_type != zipfile.ZIP_STORED for e in entries) or sum(e.file_size for e in entries) > len(data):
        raise CheckpointError(f"checkpoint {name} is not a checkpoint (compressed entries; torch stores them)")


def check_checkpoint(state, name: str | Path) -> dict:
    """``state`` when it has the keys and types of a checkpoint (older ones get the
    defaults of later keys), else a CheckpointError naming the file."""
    import torch

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {name} is not a training checkpoint: {why}")

    if not isinstance(state, dict):
        raise bad(f"it holds a {type(state).__name__}, not a dict")
    for key, kind in REQUIRED.items():
        if key not in state:
            raise bad(f"it has no {key!r}")
        if not isinstance(state[key], kind) or (kind is int and isinstance(state[key], bool)):
            raise bad(f"{key!r} is a {type(state[key]).__name__}, not {kind.__name__}")
    negative = [key for key in ("epoch", "global_step", "window_id") if state[key] < 0]
    if negative:
        raise bad(f"{negative[0]!r} is negative")
    state = dict(state)
    for key, (kind, default) in OPTIONAL.items():
        state.setdefault(key, default)
        if not isinstance(state[key], kind):
            raise bad(f"{key!r} is a {type(state[key]).__name__}, not {kind.__name__}")
    weights = state["policy"]
    if not weights or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise bad("'policy' is not a state dict of named tensors")
    if not all(v.is_floating_point() for v in weights.values()):
        raise bad("'policy' holds a tensor that is not floating point")
    # The policy readers build is hidden_size x hidden_size at least: a size the weights in
    # the file cannot fill is a crafted one (it would make the reader allocate without bound).
    if not 1 <= state["hidden_size"] or state["hidden_size"] ** 2 > sum(v.numel() for v in weights.values()):
        raise bad(f"hidden_size {state['hidden_size']} does not fit its weights")
    return state


def read_checkpoint(path: str | Path, sha256: str | None = None, name: str | None = None) -> dict:
    """The checkpoint in the file ``path``, checked against the ``sha256`` of its
    checkpoint_saved event when given; a CheckpointError (with its ``kind``) otherwise.
    Messages name the file as ``name`` (the site build: its run-relative path), else ``path``."""
    path = Path(path)
    name = path if name is None else name
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise CheckpointError(f"checkpoint {name} is missing or unreadable ({why})", "missing_file") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise CheckpointError(f"checkpoint {name} does not match the sha256 in the event log", "sha_mismatch")
    return load_checkpoint_bytes(data, name)


# ------------------------------------------------------------------ using one


def checkpoint_policy(state: dict, name: str | Path):
    """A policy module (eval mode) with the checkpoint's weights; a CheckpointError when
    the weights do not fit the architecture the checkpoint names."""
    from .policy import policy_for_checkpoint

    try:
        kind, hidden_size, masked = state["policy_kind"], state["hidden_size"], state["action_mask"]
        policy = policy_for_checkpoint(kind, hidden_size, masked, state.get("env_config"))
        policy.load_state_dict(state["policy"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise CheckpointError(
            f"checkpoint {name} does not fit a {state['policy_kind']!r} policy of hidden size "
            f"{state['hidden_size']} ({first})"
        ) from None
    policy.eval()
    return policy


def check_resumable(state: dict, name: str | Path, policy_kind: str, hidden_size: int, action_mask: bool) -> None:
    """A CheckpointError unless the checkpoint is the run's architecture, its weights fit
    it and its optimiser state covers those parameters with tensors of their shapes: what
    the trainer loads into PuffeRL after it has logged the resume, checked before."""
    if (state["policy_kind"], state["hidden_size"], state["action_mask"]) != (policy_kind, hidden_size, action_mask):
        raise CheckpointError(
            f"checkpoint {name} is a {state['policy_kind']!r} policy of hidden size {state['hidden_size']} "
            f"(action mask {state['action_mask']}); this run trains {policy_kind!r}, {hidden_size}, {action_mask}"
        )
    params = [tuple(p.shape) for p in checkpoint_policy(state, name).parameters()]
    if not _optimizer_fits(state["optimizer"], params):
        raise CheckpointError(f"checkpoint {name} has an optimizer state that does not fit its policy's parameters")
    scheduler = state["scheduler"]
    if "optimizer" in scheduler or not all(_scalar_or_scalars(v) for v in scheduler.values()):
        raise CheckpointError(f"checkpoint {name} has a scheduler state that is not numbers")


def _optimizer_fits(opt: dict, params: list[tuple]) -> bool:
    """An optimiser state dict whose groups name every parameter once and whose
    per-parameter tensors have that parameter's shape (or are scalars, like Adam's step)."""
    groups, per_param = opt.get("param_groups"), opt.get("state")
    if not isinstance(groups, list) or not isinstance(per_param, dict):
        return False
    if not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups):
        return False
    ids = [i for g in groups for i in g["params"]]
    if not all(type(i) is int for i in ids) or sorted(ids) != list(range(len(params))):
        return False
    for key, entry in per_param.items():
        if type(key) is not int or not 0 <= key < len(params) or not isinstance(entry, dict):
            return False
        for value in entry.values():
            if getattr(value, "ndim", 0) != 0 and tuple(value.shape) != params[key]:
                return False
    return True


def _scalar_or_scalars(value) -> bool:
    scalar = lambda v: v is None or isinstance(v, (bool, int, float))  # noqa: E731
    return scalar(value) or (isinstance(value, list) and all(scalar(v) for v in value))
