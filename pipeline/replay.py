"""Replay files (docs/site.md): zstd-compressed JSON Lines.

Line 1 is the header (schema_version, ids, seed, env config, checkpoint, tags,
totals, and since the showcase seed ``gamma`` and ``reward_scale``); every further line
is one frame.  Frame 0 is the state after reset (action null); frame t is the state
after step t, and carries the critic's ``value`` of the state its action was chosen in
(frame t-1's). The additions are optional fields of schema 1: replays recorded without
them still decode and play (docs/site.md#value-strip).
"""

from __future__ import annotations

import io
import json

import zstandard

SCHEMA_VERSION = 1
ZSTD_LEVEL = 10


def encode_replay(header: dict, frames: list[dict]) -> bytes:
    """The whole file as bytes (written atomically by the caller)."""
    lines = [json.dumps({"schema_version": SCHEMA_VERSION, **header}, separators=(",", ":"))]
    lines += [json.dumps(frame, separators=(",", ":")) for frame in frames]
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(("\n".join(lines) + "\n").encode())


class ReplayError(ValueError):
    pass


def decode_replay(data: bytes) -> tuple[dict, list[dict]]:
    """(header, frames); a clear ReplayError for a file that is not a replay."""
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            text = reader.read().decode()
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise ReplayError(f"not a zstd-compressed replay: {exc}") from None
    lines = text.splitlines()
    if not lines:
        raise ReplayError("empty replay")
    try:
        header = json.loads(lines[0])
        frames = [json.loads(line) for line in lines[1:]]
    except json.JSONDecodeError as exc:
        raise ReplayError(f"replay line is not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("schema_version") != SCHEMA_VERSION:
        raise ReplayError(
            f"unsupported replay schema: {header.get('schema_version') if isinstance(header, dict) else header!r}"
        )
    return header, frames


def read_replay(path) -> tuple[dict, list[dict]]:
    with open(path, "rb") as f:
        return decode_replay(f.read())
