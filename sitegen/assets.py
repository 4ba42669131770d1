"""The site's art: the semantic manifest's files copied into the site.

The manifest (keys -> files in Kenney's CC0 packs) is ``prospector/art.py``, the ONLY
place where a pack's file name appears. Everything else
(templates, JavaScript, CSS) names art by key (``entity.ship.agent``, ``sfx.mine``,
...). The build copies exactly the files named here into ``public/assets/``, renamed
to ``{key}{ext}``, and writes ``public/assets/manifest.json`` (key -> URL) for the
browser. The packs themselves are never committed: they are read from ``--assets
DIR`` or ``$PROSPECTOR_KENNEY_DIR`` (on the project machines ``../shared/kenney``).
Without them the build still succeeds; the player draws simple shapes instead.

Packs (all CC0, https://kenney.nl/assets): Space Shooter Redux, Space Shooter
Extension, Simple Space, Planets, UI Pack.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# the manifest itself lives with the game, which draws with it too (the env's rgb_array frames)
from prospector.art import ENV_VAR, MANIFEST, PACKS, default_assets_dir, resolve  # noqa: F401

KINDS = {".png": "images", ".ogg": "sounds", ".ttf": "fonts"}


def kind_of(key: str) -> str:
    return KINDS[Path(MANIFEST[key][1]).suffix.lower()]


def output_name(key: str) -> str:
    """The file name a key gets under ``public/assets/`` (pack names never leak)."""
    return key + Path(MANIFEST[key][1]).suffix.lower()


@dataclass
class AssetResult:
    source: Path | None
    copied: list[str] = field(default_factory=list)  # keys copied this build
    kept: int = 0  # keys already up to date
    missing: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)  # what assets/manifest.json holds

    @property
    def available(self) -> bool:
        return not self.missing or len(self.missing) < len(MANIFEST)


def copy_assets(root: Path | None, out_dir: Path, previous: dict | None = None) -> tuple[AssetResult, dict]:
    """Copy the manifest's files into ``out_dir/assets/``; returns (result, record).

    ``previous`` is the record from the last build (source size and mtime per key):
    a file is copied again only when its source changed or its copy is gone.
    """
    previous = previous or {}
    assets = out_dir / "assets"
    found, missing = resolve(root)
    result = AssetResult(source=root, missing=missing)
    record: dict[str, list] = {}
    if found:
        assets.mkdir(parents=True, exist_ok=True)
    for key, src in found.items():
        st = src.stat()
        sig = [st.st_size, st.st_mtime_ns]
        dst = assets / output_name(key)
        if previous.get(key) == sig and dst.is_file() and dst.stat().st_size == st.st_size:
            result.kept += 1
        else:
            shutil.copyfile(src, dst)
            result.copied.append(key)
        record[key] = sig
    # the copies of keys that are gone (from the manifest or the packs): only those the last
    # build recorded, never another file in assets/ (docs/site.md#output-directory)
    for key in previous:
        if key not in found and key in MANIFEST and output_name(key) not in {output_name(k) for k in found}:
            (assets / output_name(key)).unlink(missing_ok=True)
    manifest = {"packs": bool(found), "images": {}, "sounds": {}, "fonts": {}, "missing": sorted(missing)}
    for key in found:
        manifest[kind_of(key)][key] = "assets/" + output_name(key)
    result.manifest = manifest
    assets.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, indent=1, sort_keys=True)
    target = assets / "manifest.json"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return result, record
