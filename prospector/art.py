"""The Kenney art manifest: semantic keys -> files in Kenney's CC0 packs.

The one place where a pack's file name appears.  The site build (sitegen/assets.py)
copies these files into ``public/assets/`` under their keys, and the env's
``rgb_array`` renderer (prospector/render.py) draws with the same files when the packs
are given.  The packs are never committed: they are read from an explicit folder,
``$PROSPECTOR_KENNEY_DIR`` or ``../shared/kenney`` next to the repository.

Packs (all CC0, https://kenney.nl/assets): Space Shooter Redux, Space Shooter
Extension, Simple Space, Planets, UI Pack.
"""

from __future__ import annotations

import os
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


def pack_dir(root: Path, pack: str) -> Path | None:
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
        base = pack_dir(root, pack) if root is not None and root.is_dir() else None
        src = base / rel if base is not None else None
        if src is not None and src.is_file():
            found[key] = src
        else:
            missing.append(key)
    return found, missing
