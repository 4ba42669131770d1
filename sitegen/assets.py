"""The one semantic art manifest: keys the site uses -> files in Kenney's CC0 packs.

This module is the ONLY place where a pack's file name appears. Everything else
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
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "PROSPECTOR_KENNEY_DIR"

#: Pack directory names as Kenney's downloads unpack them (also accepted: the pack's
#: folder name without the ``kenney_`` prefix).
PACKS = {
    "redux": "kenney_space-shooter-redux",
    "extension": "kenney_space-shooter-extension",
    "simple": "kenney_simpleSpace",
    "planets": "kenney_planets",
    "ui": "kenney_ui-pack",
}

_R = "redux"
_X = "extension"
_S = "simple"
_P = "planets"
_U = "ui"

#: key -> (pack, path inside the pack). Images are .png, sounds .ogg, fonts .ttf.
MANIFEST: dict[str, tuple[str, str]] = {
    # ships and station
    "entity.ship.agent": (_R, "PNG/playerShip1_orange.png"),
    "entity.ship.pirate": (_R, "PNG/Enemies/enemyBlack3.png"),
    "entity.station": (_R, "PNG/ufoBlue.png"),
    "entity.decoy": (_S, "PNG/Default/satellite_C.png"),
    # asteroids: size classes x variants (brown in clusters, grey in hazard fields)
    "entity.asteroid.large.0": (_R, "PNG/Meteors/meteorBrown_big1.png"),
    "entity.asteroid.large.1": (_R, "PNG/Meteors/meteorBrown_big2.png"),
    "entity.asteroid.large.2": (_R, "PNG/Meteors/meteorBrown_big3.png"),
    "entity.asteroid.large.3": (_R, "PNG/Meteors/meteorBrown_big4.png"),
    "entity.asteroid.medium.0": (_R, "PNG/Meteors/meteorBrown_med1.png"),
    "entity.asteroid.medium.1": (_R, "PNG/Meteors/meteorBrown_med3.png"),
    "entity.asteroid.small.0": (_R, "PNG/Meteors/meteorBrown_small1.png"),
    "entity.asteroid.small.1": (_R, "PNG/Meteors/meteorBrown_small2.png"),
    "entity.asteroid.hazard.large.0": (_R, "PNG/Meteors/meteorGrey_big1.png"),
    "entity.asteroid.hazard.large.1": (_R, "PNG/Meteors/meteorGrey_big2.png"),
    "entity.asteroid.hazard.large.2": (_R, "PNG/Meteors/meteorGrey_big3.png"),
    "entity.asteroid.hazard.large.3": (_R, "PNG/Meteors/meteorGrey_big4.png"),
    "entity.asteroid.hazard.medium.0": (_R, "PNG/Meteors/meteorGrey_med1.png"),
    "entity.asteroid.hazard.medium.1": (_R, "PNG/Meteors/meteorGrey_med2.png"),
    "entity.asteroid.hazard.small.0": (_R, "PNG/Meteors/meteorGrey_small1.png"),
    "entity.asteroid.hazard.small.1": (_R, "PNG/Meteors/meteorGrey_small2.png"),
    "entity.shard.0": (_R, "PNG/Meteors/meteorBrown_tiny1.png"),
    "entity.shard.1": (_R, "PNG/Meteors/meteorBrown_tiny2.png"),
    # backgrounds and scenery
    "bg.space": (_R, "Backgrounds/black.png"),
    "bg.station": (_R, "Backgrounds/blue.png"),
    "bg.hazard": (_R, "Backgrounds/darkPurple.png"),
    "scenery.planet.station": (_P, "Planets/planet03.png"),
    "scenery.planet.hazard": (_P, "Planets/planet07.png"),
    "scenery.star.0": (_S, "PNG/Default/star_small.png"),
    "scenery.star.1": (_S, "PNG/Default/star_tiny.png"),
    # effects
    "fx.beam.mine": (_R, "PNG/Lasers/laserGreen10.png"),
    "fx.beam.scan": (_R, "PNG/Lasers/laserBlue16.png"),
    "fx.beam.pirate": (_R, "PNG/Lasers/laserRed16.png"),
    "fx.scan.ring": (_R, "PNG/Effects/shield2.png"),
    "fx.shield": (_R, "PNG/Effects/shield1.png"),
    "fx.flash": (_R, "PNG/Effects/star3.png"),
    "fx.spark": (_R, "PNG/Lasers/laserRed08.png"),
    "fx.hit": (_R, "PNG/Lasers/laserBlue08.png"),
    "fx.smoke.0": (_X, "PNG/Sprites/Effects/spaceEffects_008.png"),
    "fx.smoke.1": (_X, "PNG/Sprites/Effects/spaceEffects_012.png"),
    "fx.smoke.2": (_X, "PNG/Sprites/Effects/spaceEffects_016.png"),
    "fx.thrust": (_R, "PNG/Effects/fire13.png"),
    "fx.speed": (_R, "PNG/Effects/speed.png"),
    # HUD icons
    "ui.icon.fuel": (_R, "PNG/Power-ups/bolt_gold.png"),
    "ui.icon.hull": (_R, "PNG/Power-ups/shield_silver.png"),
    "ui.icon.heat": (_R, "PNG/Power-ups/powerupRed_bolt.png"),
    "ui.icon.tool": (_R, "PNG/Power-ups/things_silver.png"),
    "ui.icon.alert": (_S, "PNG/Default/icon_exclamationSmall.png"),
    "ui.icon.credits": (_R, "PNG/Power-ups/star_gold.png"),
    "ui.icon.cargo": (_R, "PNG/Power-ups/things_gold.png"),
    "ui.icon.time": (_R, "PNG/Power-ups/powerupBlue_star.png"),
    "ui.icon.kit": (_R, "PNG/Power-ups/pill_green.png"),
    "ui.icon.stabilizer": (_R, "PNG/Power-ups/shield_bronze.png"),
    "ui.icon.decoy": (_S, "PNG/Default/satellite_C.png"),
    "ui.arrow.up": (_U, "PNG/Green/Default/arrow_basic_n_small.png"),
    "ui.arrow.down": (_U, "PNG/Red/Default/arrow_basic_s_small.png"),
    "ui.life": (_R, "PNG/UI/playerLife1_orange.png"),
    # sounds (muted by default in the player)
    "sfx.mine": (_R, "Bonus/sfx_laser1.ogg"),
    "sfx.scan": (_R, "Bonus/sfx_zap.ogg"),
    "sfx.pirate": (_R, "Bonus/sfx_laser2.ogg"),
    "sfx.hazard": (_R, "Bonus/sfx_shieldDown.ogg"),
    "sfx.fracture": (_R, "Bonus/sfx_twoTone.ogg"),
    "sfx.dock": (_R, "Bonus/sfx_shieldUp.ogg"),
    "sfx.travel": (_U, "Sounds/switch-a.ogg"),
    "sfx.sell": (_U, "Sounds/click-a.ogg"),
    "sfx.buy": (_U, "Sounds/click-b.ogg"),
    "sfx.end": (_R, "Bonus/sfx_lose.ogg"),
    "sfx.ui.click": (_U, "Sounds/tap-a.ogg"),
    # fonts
    "font.title": (_U, "Font/Kenney Future.ttf"),
    "font.narrow": (_U, "Font/Kenney Future Narrow.ttf"),
}

KINDS = {".png": "images", ".ogg": "sounds", ".ttf": "fonts"}


def kind_of(key: str) -> str:
    return KINDS[Path(MANIFEST[key][1]).suffix.lower()]


def output_name(key: str) -> str:
    """The file name a key gets under ``public/assets/`` (pack names never leak)."""
    return key + Path(MANIFEST[key][1]).suffix.lower()


def default_assets_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """``explicit`` if given, else ``$PROSPECTOR_KENNEY_DIR``, else ``../shared/kenney``
    next to the repository when present, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    guess = Path(__file__).resolve().parents[2] / "shared" / "kenney"
    return guess if guess.is_dir() else None


def _pack_dir(root: Path, pack: str) -> Path | None:
    name = PACKS[pack]
    for candidate in (root / name, root / name.removeprefix("kenney_")):
        if candidate.is_dir():
            return candidate
    return None


def resolve(root: Path | None) -> tuple[dict[str, Path], list[str]]:
    """(key -> source file) for every key found under ``root``, and the missing keys."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for key, (pack, rel) in MANIFEST.items():
        base = _pack_dir(root, pack) if root is not None and root.is_dir() else None
        src = base / rel if base is not None else None
        if src is not None and src.is_file():
            found[key] = src
        else:
            missing.append(key)
    return found, missing


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
