// One game view: the sector view and mini-map (render.js) plus the HUD and market
// panels (hud.js), fed a *frame* = { rs: render_state, events, truth }. The replay
// player feeds it replay frames; the /play page feeds it the play service's step
// responses. Both pages draw through this class and nothing else.

import { SectorRenderer, drawMinimap, sceneLayout, W, H } from './render.js';
import { Hud, MarketPanel } from './hud.js';

export class GameView {
  // parts: { sector: canvas, minimap: canvas, hud: element, market: element }
  constructor(parts, assets) {
    this.parts = parts;
    this.assets = assets;
    this.renderer = new SectorRenderer(parts.sector, assets);
    this.hud = new Hud(parts.hud, assets);
    this.market = new MarketPanel(parts.market, assets);
    this.minimapFrame = null;
    this.minimapAt = 0;
    this.dirty = true;
  }

  // The DOM panels of a frame; `light` skips the market (fast replay playback).
  panels(frame, { light = false } = {}) {
    if (!frame || !frame.rs) return;
    this.hud.update(frame.rs);
    if (!light) this.market.update(frame.rs);
  }

  // The canvases of a frame. phase: 0..1 through the frame's animation (1 = settled).
  // The mini-map is redrawn when the frame changed, when marked dirty (art loaded, truth
  // toggled) or ~20 times a second for its pulse.
  draw(frame, { phase = 1, showTruth = false, time = performance.now() } = {}) {
    if (!frame || !frame.rs) {
      this.renderer.draw(null, {});
      return;
    }
    this.renderer.draw(frame.rs, { events: frame.events || [], phase, truth: frame.truth || null, showTruth, time });
    if (this.dirty || frame !== this.minimapFrame || time - this.minimapAt > 50) {
      drawMinimap(this.parts.minimap, frame.rs, { truth: frame.truth || null, showTruth, time });
      this.minimapFrame = frame;
      this.minimapAt = time;
      this.dirty = false;
    }
  }

  clear() {
    this.renderer.draw(null, {});
    drawMinimap(this.parts.minimap, null, {});
  }

  // The asteroid slot under a click on the sector canvas (null when none).
  asteroidAt(rs, clientX, clientY) {
    if (!rs) return null;
    const box = this.parts.sector.getBoundingClientRect();
    if (!box.width || !box.height) return null;
    const x = ((clientX - box.left) / box.width) * W;
    const y = ((clientY - box.top) / box.height) * H;
    let best = null;
    for (const a of sceneLayout(rs).asteroids) {
      const d = Math.hypot(a.x - x, a.y - y);
      if (d <= a.radius + 8 && (!best || d < best.d)) best = { slot: a.slot, d };
    }
    return best ? best.slot : null;
  }
}
