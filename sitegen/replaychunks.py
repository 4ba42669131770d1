"""A long replay's player JSON in pieces, so that the first frame is drawn early.

The player needs only a replay's header and its first frame to draw (docs/site.md#progressive-loading).
A whole 11,500-frame replay is about 11 MB of JSON, and its per-frame ``series`` (the
strips) and ``events`` (the timeline's markers) alone about 1 MB, so a replay longer than
:data:`FIRST_FRAMES` frames is written as:

* ``{id}.json``, the main document: the header and the first :data:`FIRST_FRAMES` frames,
  ``n_frames`` (all of them), ``index`` (the name of the index file) and ``parts``;
* ``{id}.index.json``: ``{schema, n_frames, series, events}``, the strips' curves and every
  frame's event types, fetched once the first frame is on screen;
* ``{id}.{k}.json``: ``{schema, first, frames}``, the following frames in order: the first
  part ends at frame :data:`SECOND_END` (it must arrive before playback at 8 frames a second
  reaches the end of the main document), the others hold ``chunk`` frames each.

Deltas run on across the pieces (``sitegen/replaydata.py``), so parts are applied in
order; ``replaydata.join_parts`` puts a main document and its parts back together.
Replays of at most :data:`FIRST_FRAMES` frames stay one document with ``series`` in it.
"""

from __future__ import annotations

from . import replaydata

#: Frames in the main document of a long replay: 25 s of playback at the default 8 fps,
#: about 200 KB of JSON.
FIRST_FRAMES = 200
#: Where the first part ends (a smaller first part arrives sooner).
SECOND_END = 1000


def _bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """[start, end) of the main document's frames and of every part."""
    first = min(FIRST_FRAMES, chunk)
    out = [(0, first)]
    start = first
    while start < n:
        end = min(n, SECOND_END if start < SECOND_END and SECOND_END - start <= chunk else start + chunk)
        out.append((start, end))
        start = end
    return out


def split(doc: dict, name: str, chunk: int) -> tuple[dict, list[tuple[str, dict]]]:
    """The main document and ``[(file name, document)]`` of the index and the parts."""
    frames = doc["frames"]
    if len(frames) <= min(FIRST_FRAMES, chunk):
        return doc, []
    bounds = _bounds(len(frames), chunk)
    parts = [
        (f"{name}.{k}.json", {"schema": replaydata.SCHEMA, "first": a, "frames": frames[a:b]})
        for k, (a, b) in enumerate(bounds[1:], start=1)
    ]
    index_name = f"{name}.index.json"
    index = {
        "schema": replaydata.SCHEMA,
        "n_frames": len(frames),
        "series": doc.get("series"),
        "events": [[e["type"] for e in f.get("events", [])] for f in frames],
    }
    main = {k: v for k, v in doc.items() if k != "series"}
    main.update(frames=frames[: bounds[0][1]], chunk=chunk, index=index_name, parts=[p for p, _ in parts])
    return main, [(index_name, index), *parts]
