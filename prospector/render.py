"""Frames of a game for ``render_mode="rgb_array"`` and ``"ansi"`` (docs/envs.md#rendering).

The ``rgb_array`` frame is the site player's sector view (sitegen/static/render.js) drawn
from the same ``render_state``: the same 960x540 layout (station, asteroids placed by the
player's own seeded generator, ship, exits, caption, mini-map, end banner), the player's
colours (``NODE_COLORS``, ``COMMODITY_COLORS``, ``BAR_COLORS``; tests/test_render.py holds
them equal to the JavaScript's) and, over the scene, the HUD's essentials (credits, net
profit, time, the five bars, cargo by commodity).  With the Kenney packs
(prospector/art.py: an explicit folder, ``$PROSPECTOR_KENNEY_DIR`` or ../shared/kenney)
it draws their sprites; without them, the player's simple shapes.  The frame is still:
a video of it shows one frame per step, without the player's in-between animation.

Drawing uses Pillow, imported only for ``rgb_array`` (the ``render`` extra); ``ansi``
needs nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from gymnasium import error

from . import spec as S
from .art import default_assets_dir, resolve

W, H = 960, 540
RENDER_MODES = ["rgb_array", "ansi"]
NODE_COLORS = {"station": "#ffd36b", "cluster": "#8fb8ff", "hazard": "#c77dff"}
COMMODITY_COLORS = {
    "iron": "#b0643c",
    "nickel": "#9aa7b1",
    "water_ice": "#7fd3ff",
    "pge": "#f2d16b",
    "rare_isotopes": "#b58cff",
    "volatiles": "#6be39a",
}
BAR_COLORS = {"fuel": "#ffd36b", "hull": "#9fe3ff", "heat": "#ff6b3d", "tool": "#c7d0e0", "alert": "#ff5252"}
SHIP_COLOR, SELECT_COLOR, TEXT_COLOR = "#ff8a3d", "#ffc94d", "#e8eefc"
TAU = 2 * math.pi


def check_render_mode(mode) -> str | None:
    """``None``, ``"rgb_array"`` or ``"ansi"``; anything else raises Gymnasium's UnsupportedMode."""
    if mode is None or mode in RENDER_MODES:
        return mode
    raise error.UnsupportedMode(f"Prospector-v0 has no render mode {mode!r}; choose one of {', '.join(RENDER_MODES)}")


def mulberry32(seed: int):
    """render.js's ``rng(seed)``: the same numbers, so the scene is laid out the same."""
    state = (seed & 0xFFFFFFFF) or 1

    def imul(a: int, b: int) -> int:
        return (a * b) & 0xFFFFFFFF

    def draw() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return draw


def scene_layout(rs: dict) -> dict:
    """render.js's ``sceneLayout``: where the station, the ship and the asteroids are."""
    node = rs.get("node") or {}
    kind, index = node.get("type", "cluster"), node.get("index", 0)
    layout = {"type": kind, "station": None, "ship": None, "asteroids": []}
    if kind == "station":
        layout["station"] = (W * 0.4, H * 0.52, 150)
        layout["ship"] = (
            (W * 0.4 + 92, H * 0.52 - 6, -math.pi / 2) if rs.get("docked") else (W * 0.64, H * 0.58, -math.pi / 2)
        )
        return layout
    layout["ship"] = (W * 0.13, H * 0.5, 0.0)
    rocks = rs.get("asteroids") or []
    if not rocks:
        return layout
    x0, x1, y0, y1 = W * 0.27, W * 0.74, H * 0.1, H * 0.9
    cols = max(1, math.ceil(math.sqrt(len(rocks) * 1.7)))
    rows = max(1, math.ceil(len(rocks) / cols))
    cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
    values = [max(0.0, rock.get("value_est") or 0.0) for rock in rocks]
    vmax = max(1e-9, *values)
    for i, rock in enumerate(rocks):
        slot = rock.get("slot", i)
        r = mulberry32(index * 7919 + slot * 104729 + 17)
        col, row = i % cols, i // cols
        x = x0 + cw * (col + 0.5) + (r() - 0.5) * cw * 0.35
        y = y0 + ch * (row + 0.5) + (r() - 0.5) * ch * 0.3
        radius = min(max(14 + 34 * math.sqrt(values[i] / vmax), 12), min(cw, ch) * 0.46)
        r()  # spin (the player's animation)
        angle0, variant = r() * TAU, int(r() * 4)
        layout["asteroids"].append(
            {"slot": slot, "x": x, "y": y, "radius": radius, "angle0": angle0, "variant": variant, "rock": rock}
        )
    target = next((a for a in layout["asteroids"] if a["rock"].get("selected")), None)
    if target is not None:  # the ship faces the asteroid it works on
        sx, sy, _ = layout["ship"]
        layout["ship"] = (sx, sy, math.atan2(target["y"] - sy, target["x"] - sx))
    return layout


def rgb(color: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), int(round(255 * alpha))


class Sprites:
    """The manifest's images, scaled and rotated on demand and cached."""

    def __init__(self, assets_dir):
        from PIL import Image

        self.Image = Image
        root = default_assets_dir(assets_dir)
        self.files = resolve(Path(root))[0] if root is not None else {}
        self.cache: dict = {}

    def get(self, key: str, width: int, height: int | None = None, angle: float = 0.0):
        """The sprite of ``key`` at that size, rotated by ``angle`` radians (None without it)."""
        path = self.files.get(key)
        if path is None or not path.suffix == ".png":
            return None
        degrees = int(round(math.degrees(angle))) % 360
        cache_key = (key, width, height, degrees)
        if cache_key not in self.cache:
            image = self.Image.open(path).convert("RGBA")
            h = height if height is not None else max(1, round(width * image.height / image.width))
            image = image.resize((max(1, width), max(1, h)), self.Image.Resampling.BILINEAR)
            if degrees:
                image = image.rotate(-degrees, expand=True, resample=self.Image.Resampling.BILINEAR)
            if len(self.cache) > 512:
                self.cache.clear()
            self.cache[cache_key] = image
        return self.cache[cache_key]

    def tile(self, key: str):
        path = self.files.get(key)
        return None if path is None else self.Image.open(path).convert("RGBA")


class FrameRenderer:
    """Draws a ``render_state`` as an H x W x 3 uint8 frame (``width`` x ``height``,
    drawn at 960 x 540 and scaled)."""

    def __init__(self, width: int = W, height: int = H, assets_dir=None):
        try:
            from PIL import Image, ImageDraw, ImageFont
        except ImportError:  # without the render extra (tests/test_packaging.py checks the message)
            raise error.DependencyNotInstalled(
                "render_mode='rgb_array' needs Pillow: pip install 'asteroid-prospector[render]'"
            ) from None
        self.Image, self.ImageDraw, self.ImageFont = Image, ImageDraw, ImageFont
        self.size = (int(width), int(height))
        self.sprites = Sprites(assets_dir)
        self.fonts: dict = {}
        self.labels: dict = {}
        self.widths: dict = {}
        self.backdrops: dict = {}

    def font(self, size: int):
        if size not in self.fonts:
            self.fonts[size] = self.ImageFont.load_default(size)
        return self.fonts[size]

    def text(self, draw, xy, text, size=13, color=TEXT_COLOR, anchor="lm", shadow=True):
        """Draws text as the player does (a dark shadow 1 px down-right); each label is
        rasterised once and then pasted (FreeType is most of a frame's cost otherwise)."""
        key = (text, size, color, anchor, shadow)
        if key not in self.labels:
            font = self.font(size)
            left, top, right, bottom = font.getbbox(text, anchor=anchor)
            label = self.Image.new("RGBA", (right - left + 2, bottom - top + 2), (0, 0, 0, 0))
            pen = self.ImageDraw.Draw(label)
            if shadow:
                pen.text((1 - left, 1 - top), text, font=font, fill=(0, 0, 0, 178), anchor=anchor)
            pen.text((-left, -top), text, font=font, fill=rgb(color), anchor=anchor)
            if len(self.labels) > 4096:
                self.labels.clear()
            self.labels[key] = (label, left, top)
        label, left, top = self.labels[key]
        self.canvas.paste(label, (int(xy[0] + left), int(xy[1] + top)), label)

    def paste(self, image, key, x, y, width, height=None, angle=0.0) -> bool:
        sprite = self.sprites.get(key, int(width), None if height is None else int(height), angle)
        if sprite is None:
            return False
        image.paste(sprite, (int(x - sprite.width / 2), int(y - sprite.height / 2)), sprite)
        return True

    def frame(self, rs: dict) -> np.ndarray:
        layout = scene_layout(rs)
        node = rs.get("node") or {}
        image = self.backdrop(layout["type"], node.get("index", 0)).copy()
        self.canvas = image  # what text() pastes its labels into
        draw = self.ImageDraw.Draw(image, "RGBA")
        if layout["station"] is not None:
            self.draw_station(image, draw, *layout["station"])
        for a in layout["asteroids"]:
            self.draw_asteroid(image, draw, a, layout["type"])
        self.draw_ship(image, draw, layout["ship"], rs.get("ship") or {})
        self.draw_exits(draw, rs.get("neighbors") or [])
        self.draw_caption(draw, rs)
        self.draw_minimap(draw, rs)
        self.draw_hud(draw, rs)
        if rs.get("done"):
            self.draw_banner(draw, rs)
        if image.size != self.size:
            image = image.resize(self.size, self.Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)

    def backdrop(self, kind: str, index: int):
        """The still backdrop of a node (tiles or gradient, planet, stars), drawn once."""
        if (kind, index) in self.backdrops:
            return self.backdrops[(kind, index)]
        key = {"hazard": "bg.hazard", "station": "bg.station"}.get(kind, "bg.space")
        tile = self.sprites.tile(key)
        if tile is not None:
            image = self.Image.new("RGB", (W, H))
            for x in range(0, W, tile.width):
                for y in range(0, H, tile.height):
                    image.paste(tile, (x, y))
            veil = rgb("#050a1e", 0.55) if kind == "station" else rgb("#00000a", 0.25)
            image = self.Image.alpha_composite(image.convert("RGBA"), self.Image.new("RGBA", (W, H), veil)).convert(
                "RGB"
            )
        else:
            image = self.gradient(kind).copy()
        draw = self.ImageDraw.Draw(image, "RGBA")
        planet = {"station": "scenery.planet.station", "hazard": "scenery.planet.hazard"}.get(kind)
        if planet:
            r = mulberry32(index * 31 + 5)
            x, y = W * (0.78 + r() * 0.1), H * (0.2 + r() * 0.1)
            sprite = self.sprites.get(planet, 230)
            if sprite is not None:
                sprite = sprite.copy()
                sprite.putalpha(sprite.getchannel("A").point(lambda v: int(v * (0.5 if kind == "hazard" else 0.8))))
                image.paste(sprite, (int(x - 115), int(y - 115)), sprite)
            else:
                color = "#5b2a6e" if kind == "hazard" else "#2f6f8f"
                draw.ellipse((x - 115, y - 115, x + 115, y + 115), fill=rgb(color, 0.5 if kind == "hazard" else 0.8))
        r = mulberry32(index * 13 + 101)
        for _ in range(90):
            x, y, big = r() * W, r() * H, r() < 0.15
            draw.rectangle(
                (x, y, x + (1 if big else 0), y + (1 if big else 0)), fill=(255, 255, 255, 204 if big else 128)
            )
        if len(self.backdrops) > 48:
            self.backdrops.clear()
        self.backdrops[(kind, index)] = image
        return image

    def gradient(self, kind: str):
        """The player's backdrop without art: a gradient, top-left to bottom-right (one per kind)."""
        key = ("gradient", kind == "hazard")
        if key not in self.backdrops:
            start, end = ("#24102f", "#3a1240") if kind == "hazard" else ("#070b1a", "#101a33")
            t = (np.arange(W)[None, :] / W + np.arange(H)[:, None] / H)[..., None] / 2
            pixels = np.array(rgb(start)[:3]) * (1 - t) + np.array(rgb(end)[:3]) * t
            self.backdrops[key] = self.Image.fromarray(pixels.astype(np.uint8))
        return self.backdrops[key]

    def draw_station(self, image, draw, x, y, size):
        if not self.paste(image, "entity.station", x, y, size):
            r = size / 2 - 6
            draw.ellipse((x - r, y - r, x + r, y + r), outline=rgb(NODE_COLORS["station"]), width=8)
            draw.ellipse((x - size / 4, y - size / 4, x + size / 4, y + size / 4), fill=rgb("#4d6a8a"))
        self.text(draw, (x, y + size / 2 + 16), "STATION", size=12, color=NODE_COLORS["station"], anchor="mm")

    def draw_asteroid(self, image, draw, a, kind):
        rock, x, y, radius = a["rock"], a["x"], a["y"], a["radius"]
        alpha = 0.22 + 0.78 * (1 - min(max(rock.get("depletion") or 0.0, 0.0), 1.0))
        hazard = "hazard." if kind == "hazard" else ""
        if radius >= 34:
            key = f"entity.asteroid.{hazard}large.{a['variant'] % 4}"
        else:
            key = f"entity.asteroid.{hazard}{'medium' if radius >= 22 else 'small'}.{a['variant'] % 2}"
        sprite = self.sprites.get(key, int(radius * 2), None, a["angle0"])
        if sprite is not None:
            if alpha < 0.99:
                sprite = sprite.copy()
                sprite.putalpha(sprite.getchannel("A").point(lambda v: int(v * alpha)))
            image.paste(sprite, (int(x - sprite.width / 2), int(y - sprite.height / 2)), sprite)
        else:
            r = mulberry32(a["slot"] * 977 + 3)
            points = []
            for k in range(9):
                angle, rr = k / 9 * TAU, radius * (0.75 + r() * 0.25)
                points.append((x + math.cos(angle) * rr, y + math.sin(angle) * rr))
            draw.polygon(points, fill=rgb("#8b8f99" if kind == "hazard" else "#8a5a3b", alpha))
        conf = min(max(rock.get("scan_conf") or 0.0, 0.0), 1.0)
        if conf > 0:  # scan confidence arc, clockwise from the top
            box = (x - radius - 5, y - radius - 5, x + radius + 5, y + radius + 5)
            draw.arc(box, -90, -90 + 360 * conf, fill=(120, 220, 255, 217), width=2)
        if rock.get("selected"):
            ring = radius + 11
            draw.ellipse((x - ring, y - ring, x + ring, y + ring), outline=rgb(SELECT_COLOR), width=2)
            label = f"#{a['slot']} · ~{round(rock.get('value_est') or 0)}/u"
            self.text(draw, (x, y - radius - 20), label, size=12, color=SELECT_COLOR, anchor="mm")
        else:
            self.text(draw, (x, y + radius + 10), f"#{a['slot']}", size=10, color="#e6ecff", anchor="mm")
        if (rock.get("depletion") or 0.0) >= 0.999:
            self.text(draw, (x, y), "depleted", size=10, color="#ff9a9a", anchor="mm")

    def draw_ship(self, image, draw, pose, ship):
        x, y, angle = pose
        size = 58
        heat = ship.get("heat") or 0.0
        if heat > 60:  # heat glow
            glow = min(max((heat - 60) / 40, 0.0), 1.0) * 0.45
            for k in range(4):
                r = size * (1 - k / 4)
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 80, 40, int(255 * glow / 4)))
        if not self.paste(image, "entity.ship.agent", x, y, size, None, angle + math.pi / 2):
            c, s = math.cos(angle + math.pi / 2), math.sin(angle + math.pi / 2)
            shape = [(0, -size / 2), (size / 3, size / 2), (0, size / 4), (-size / 3, size / 2)]
            draw.polygon([(x + px * c - py * s, y + px * s + py * c) for px, py in shape], fill=rgb(SHIP_COLOR))
        if (ship.get("alert") or 0.0) > 50:
            if not self.paste(image, "ui.icon.alert", x + 30, y - 32, 20, 20):
                draw.ellipse((x + 21, y - 41, x + 39, y - 23), fill=rgb("#ff5252"))

    def draw_exits(self, draw, exits):
        x, h, gap = W - 12, 22, 5
        y = H - 12 - len(exits) * (h + gap)
        font = self.font(11)
        for n in exits:
            fuel = round(n.get("fuel_cost") or 0)
            label = f"> {n['slot']}: node {n['node']} {n['type']} · {n['travel_time']}t · {fuel} fuel"
            if label not in self.widths:
                self.widths[label] = draw.textlength(label, font=font) + 46
            w = self.widths[label]
            draw.rectangle((x - w, y, x, y + h), fill=rgb("#080e20", 0.72))
            draw.rectangle((x - w, y, x - w + 3, y + h), fill=rgb(NODE_COLORS.get(n["type"], "#cccccc")))
            threat = min(max(n.get("threat_est", 0.5), 0.0), 1.0)
            draw.rectangle((x - 34, y + 8, x - 8, y + 14), fill=(255, 255, 255, 38))
            color = "#ff6b6b" if threat > 0.5 else "#ffc94d" if threat > 0.25 else "#6be39a"
            draw.rectangle((x - 34, y + 8, x - 34 + 26 * threat, y + 14), fill=rgb(color))
            self.text(draw, (x - w + 8, y + h / 2 + 1), label, size=11, color="#dfe7ff", shadow=False)
            y += h + gap

    def draw_caption(self, draw, rs):
        node = rs.get("node") or {}
        hops = node.get("steps_to_station") or 0
        where = f"Node {node.get('index')} · {node.get('type')}"
        if hops:
            where += f" · {hops} hop{'s' if hops > 1 else ''} to station"
        if rs.get("docked"):
            where += " · docked"
        draw.rectangle((10, 10, 340, 36), fill=rgb("#080e20", 0.65))
        self.text(draw, (20, 23), where, size=13, color=NODE_COLORS.get(node.get("type"), "#ffffff"))

    def draw_minimap(self, draw, rs):
        """render.js's ``drawMinimap`` in the player's place (top right, 22% of the width)."""
        size, pad = int(W * 0.22), 16
        x0, y0 = W - 10 - size, 10
        draw.rectangle((x0, y0, x0 + size, y0 + size), fill=rgb("#060a18", 0.82), outline=(140, 170, 255, 89))
        graph = rs.get("map") or {}
        pos = {
            n["index"]: (x0 + pad + n["x"] * (size - 2 * pad), y0 + pad + n["y"] * (size - 2 * pad))
            for n in graph.get("nodes", [])
        }
        for a, b in graph.get("edges", []):
            if a in pos and b in pos:
                draw.line((pos[a], pos[b]), fill=(170, 190, 255, 115), width=1)
        for n in graph.get("nodes", []):
            x, y = pos[n["index"]]
            r = 6 if n["type"] == "station" else 4.5
            color = rgb(NODE_COLORS.get(n["type"], "#cccccc"))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color if n.get("visited") else None, outline=color, width=2)
        here = (rs.get("node") or {}).get("index", -1)
        if here in pos:
            x, y = pos[here]
            draw.ellipse((x - 9, y - 9, x + 9, y + 9), outline=rgb(SHIP_COLOR), width=2)
        self.text(draw, (x0 + 6, y0 + size - 8), "map", size=10, color="#dfe7ff", shadow=False)

    def draw_hud(self, draw, rs):
        """The HUD panel's essentials (sitegen/static/hud.js) in the bottom-left corner."""
        ship, limits = rs.get("ship") or {}, rs.get("limits") or {}
        x0, y0, w = 10, H - 150, 250
        draw.rectangle((x0, y0, x0 + w, H - 10), fill=rgb("#080e20", 0.72))
        credits, profit = ship.get("credits") or 0.0, ship.get("net_profit") or 0.0
        self.text(draw, (x0 + 8, y0 + 12), f"$ {credits:,.0f}", size=12, color="#ffe38a")
        self.text(
            draw, (x0 + 96, y0 + 12), f"net {profit:+,.0f}", size=12, color="#7dff9b" if profit >= 0 else "#ff7070"
        )
        self.text(draw, (x0 + w - 8, y0 + 12), f"t {rs.get('time_remaining', 0):,}", size=12, anchor="rm")
        y = y0 + 30
        for key, color in BAR_COLORS.items():
            value, top = ship.get(key) or 0.0, limits.get(key) or 100.0
            self.text(draw, (x0 + 8, y + 4), key.capitalize(), size=11, color="#c3cde6", shadow=False)
            draw.rectangle((x0 + 52, y, x0 + 200, y + 8), fill=(255, 255, 255, 30))
            draw.rectangle((x0 + 52, y, x0 + 52 + 148 * min(max(value / top, 0.0), 1.0), y + 8), fill=rgb(color))
            self.text(draw, (x0 + w - 8, y + 4), f"{value:.0f}", size=11, anchor="rm", shadow=False)
            y += 16
        cargo = rs.get("cargo") or []
        self.text(draw, (x0 + 8, y + 4), "Cargo", size=11, color="#c3cde6", shadow=False)
        draw.rectangle((x0 + 52, y, x0 + 200, y + 8), fill=(255, 255, 255, 30))
        left, capacity = x0 + 52.0, limits.get("cargo") or S.CARGO_MAX
        for stack in cargo:
            units = (stack.get("raw") or 0.0) + (stack.get("refined") or 0.0)
            width = 148 * units / capacity
            if width > 0:
                draw.rectangle((left, y, left + width, y + 8), fill=rgb(COMMODITY_COLORS[stack["commodity"]]))
                left += width
        self.text(draw, (x0 + w - 8, y + 4), f"{ship.get('cargo_volume') or 0:.0f}", size=11, anchor="rm", shadow=False)
        items = (
            f"kits {ship.get('repair_kits', 0)} · stab {ship.get('stabilizers', 0)} · decoys {ship.get('decoys', 0)}"
        )
        self.text(draw, (x0 + 8, y + 22), items + (" · docked" if rs.get("docked") else ""), size=11, color="#c3cde6")

    def draw_banner(self, draw, rs):
        reason = str(rs.get("end_reason") or "end")
        good = reason in ("cash_out", "timeout")
        draw.rectangle((0, H / 2 - 34, W, H / 2 + 34), fill=rgb("#050814", 0.6))
        title = f"EPISODE OVER · {reason.replace('_', ' ').upper()}"
        self.text(draw, (W / 2, H / 2 - 6), title, size=24, color="#7dff9b" if good else "#ff7070", anchor="mm")
        ship = rs.get("ship") or {}
        summary = f"net profit {round(ship.get('net_profit') or 0)} · credits {round(ship.get('credits') or 0)}"
        self.text(draw, (W / 2, H / 2 + 20), summary, size=13, anchor="mm")


def ansi_frame(rs: dict) -> str:
    """A text HUD of a ``render_state``: where the ship is, its bars, cargo, exits, asteroids."""
    ship, limits, node = rs.get("ship") or {}, rs.get("limits") or {}, rs.get("node") or {}

    def bar(key: str) -> str:
        value, top = ship.get(key) or 0.0, limits.get(key) or 100.0
        filled = int(round(10 * min(max(value / top, 0.0), 1.0)))
        return f"{key:<5} [{'#' * filled}{'.' * (10 - filled)}] {value:6.1f}"

    hops = node.get("steps_to_station") or 0
    lines = [
        f"Node {node.get('index')} {node.get('type')}"
        + (f", {hops} hops to station" if hops else "")
        + (", docked" if rs.get("docked") else ""),
        f"credits {ship.get('credits', 0):,.0f}  net {ship.get('net_profit', 0):+,.0f}  "
        f"time left {rs.get('time_remaining', 0):,}/{rs.get('time_max', 0):,}",
        *(bar(key) for key in BAR_COLORS),
        "cargo "
        + " ".join(
            f"{c['commodity']}={c['raw'] + c['refined']:.1f}"
            for c in rs.get("cargo") or []
            if c["raw"] + c["refined"] > 0
        )
        + f" ({ship.get('cargo_volume', 0):.1f}/{limits.get('cargo', S.CARGO_MAX):.0f})",
        f"items kits {ship.get('repair_kits', 0)} stabilizers {ship.get('stabilizers', 0)} "
        f"decoys {ship.get('decoys', 0)}",
    ]
    for n in rs.get("neighbors") or []:
        lines.append(
            f"exit {n['slot']}: node {n['node']} {n['type']} {n['travel_time']}t "
            f"{n['fuel_cost']:.0f} fuel threat {n['threat_est']:.2f}"
        )
    for rock in rs.get("asteroids") or []:
        mark = "*" if rock.get("selected") else " "
        lines.append(
            f"{mark}rock {rock.get('slot')}: ~{rock.get('value_est', 0):.0f}/u "
            f"scan {rock.get('scan_conf', 0):.2f} depleted {rock.get('depletion', 0):.0%}"
        )
    if rs.get("done"):
        lines.append(f"EPISODE OVER: {rs.get('end_reason')}")
    return "\n".join(lines) + "\n"
