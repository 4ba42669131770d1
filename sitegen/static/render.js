// The one drawing code path for a game scene: given a render_state (what the ship
// knows, prospector/state.py render_state) it draws the sector view and the graph
// mini-map. The replay player uses it, and so can a live /play page:
//
//   import { SectorRenderer, drawMinimap } from '/static/render.js';
//   const r = new SectorRenderer(canvas, assets);
//   r.draw(renderState, { events, phase, truth, showTruth, time });
//
// Art comes by semantic key from assets.js; without the Kenney packs every sprite
// falls back to a simple shape.

import { COMMODITY_COLORS } from './util.js';

export const W = 960;
export const H = 540;
const TAU = Math.PI * 2;
const NODE_COLORS = { station: '#ffd36b', cluster: '#8fb8ff', hazard: '#c77dff' };

// Deterministic pseudo-random numbers (mulberry32) so a scene looks the same every time.
export function rng(seed) {
  let a = (seed >>> 0) || 1;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const ease = (p) => 1 - (1 - p) * (1 - p);

// Where things are in the sector view (also for hit-testing on a play page).
export function sceneLayout(rs) {
  const type = rs.node ? rs.node.type : 'cluster';
  const nodeIndex = rs.node ? rs.node.index : 0;
  const layout = { type, station: null, ship: null, asteroids: [] };
  if (type === 'station') {
    layout.station = { x: W * 0.4, y: H * 0.52, size: 150 };
    layout.ship = rs.docked ? { x: W * 0.4 + 92, y: H * 0.52 - 6, angle: -Math.PI / 2 }
      : { x: W * 0.64, y: H * 0.58, angle: -Math.PI / 2 };
    return layout;
  }
  layout.ship = { x: W * 0.13, y: H * 0.5, angle: 0 };
  const rocks = rs.asteroids || [];
  const n = rocks.length;
  if (!n) return layout;
  // x1: rocks and their labels stay left of the mini-map in the top-right corner (site.css)
  const x0 = W * 0.27, x1 = W * 0.74, y0 = H * 0.1, y1 = H * 0.9;
  const cols = Math.max(1, Math.ceil(Math.sqrt(n * 1.7)));
  const rows = Math.max(1, Math.ceil(n / cols));
  const cw = (x1 - x0) / cols, ch = (y1 - y0) / rows;
  const values = rocks.map((a) => Math.max(0, a.value_est || 0));
  const vmax = Math.max(1e-9, ...values);
  rocks.forEach((rock, i) => {
    const slot = rock.slot ?? i;
    const r = rng(nodeIndex * 7919 + slot * 104729 + 17);
    const col = i % cols, row = Math.floor(i / cols);
    const x = x0 + cw * (col + 0.5) + (r() - 0.5) * cw * 0.35;
    const y = y0 + ch * (row + 0.5) + (r() - 0.5) * ch * 0.3;
    const rel = Math.sqrt(values[i] / vmax);
    const radius = clamp(14 + 34 * rel, 12, Math.min(cw, ch) * 0.46);
    layout.asteroids.push({ slot, x, y, radius, spin: (r() - 0.5) * 0.0004, angle0: r() * TAU,
      variant: Math.floor(r() * 4), rock });
  });
  return layout;
}

export class SectorRenderer {
  constructor(canvas, assets) {
    this.canvas = canvas;
    this.assets = assets;
    this.ctx = canvas.getContext('2d');
    this.patterns = new Map();
    this.dpr = 0;
    this.resize();
  }

  resize() {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    if (dpr === this.dpr) return;
    this.dpr = dpr;
    this.canvas.width = W * dpr;
    this.canvas.height = H * dpr;
  }

  // -- primitives ----------------------------------------------------------
  sprite(key, x, y, w, h, angle = 0, alpha = 1, fallback = null) {
    const ctx = this.ctx;
    const img = this.assets ? this.assets.img(key) : null;
    ctx.save();
    ctx.globalAlpha *= alpha;
    ctx.translate(x, y);
    if (angle) ctx.rotate(angle);
    if (img) ctx.drawImage(img, -w / 2, -h / 2, w, h);
    else if (fallback) fallback(ctx, w, h);
    ctx.restore();
    return !!img;
  }

  // The sprite's aspect ratio (height / width), 1 without art.
  aspect(key) {
    const img = this.assets ? this.assets.img(key) : null;
    return img ? img.naturalHeight / img.naturalWidth : 1;
  }

  pattern(key) {
    if (this.patterns.has(key)) return this.patterns.get(key);
    const img = this.assets ? this.assets.img(key) : null;
    if (!img) return null;
    const p = this.ctx.createPattern(img, 'repeat');
    this.patterns.set(key, p);
    return p;
  }

  text(str, x, y, { size = 13, color = '#e8eefc', align = 'left', weight = 500, alpha = 1, shadow = true } = {}) {
    const ctx = this.ctx;
    ctx.save();
    ctx.globalAlpha *= alpha;
    ctx.font = `${weight} ${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
    ctx.textAlign = align;
    ctx.textBaseline = 'middle';
    if (shadow) {
      ctx.fillStyle = 'rgba(0,0,0,0.7)';
      ctx.fillText(str, x + 1, y + 1);
    }
    ctx.fillStyle = color;
    ctx.fillText(str, x, y);
    ctx.restore();
  }

  // -- the scene -----------------------------------------------------------
  // opts: events (this frame's), phase (0..1 through the frame; 1 = settled),
  //       truth (frame.truth), showTruth, time (ms, for ambient motion), prev (previous render_state)
  draw(rs, opts = {}) {
    this.resize();
    const ctx = this.ctx;
    const time = opts.time ?? performance.now();
    const phase = clamp(opts.phase ?? 1, 0, 1);
    const events = opts.events || [];
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    if (!rs) {
      ctx.drawImage(this.backdrop('cluster', 0), 0, 0, W, H);
      this.text('no frame', W / 2, H / 2, { align: 'center', size: 18 });
      this.layerKey = null;
      return;
    }
    const layout = sceneLayout(rs);
    const kinds = new Set(events.map((e) => e.type));
    // a little screen shake for hits
    let shake = 0;
    if (kinds.has('fracture') || kinds.has('hazard_damage') || (kinds.has('pirate') && events.some((e) => e.type === 'pirate' && e.outcome !== 'evaded'))) {
      shake = (1 - phase) * 5;
    }
    ctx.save();
    if (shake > 0.2) ctx.translate(Math.sin(time * 0.09) * shake, Math.cos(time * 0.11) * shake);
    // what does not move within a frame is drawn once per frame into a layer
    ctx.drawImage(this.sceneLayer(rs, layout, events, opts), 0, 0, W, H);
    this.ambient(layout.type, rs.node ? rs.node.index : 0, time);
    for (const a of layout.asteroids) if (a.rock.selected) this.selectionRing(a, time);
    const ship = this.shipPose(layout, rs, events, phase);
    this.drawEffectsUnder(layout, ship, events, phase, time);
    this.drawShip(ship, rs, events, phase, time);
    this.drawEffectsOver(layout, ship, rs, events, phase, time);
    ctx.restore();
    this.drawBanners(rs, events, phase);
  }

  // The frame's still scene (backdrop, station, asteroids, labels, exits, truth) in an
  // offscreen canvas, redrawn only when the frame, the truth toggle or the art changes:
  // the animation on top of it then costs a handful of sprites per screen refresh.
  sceneLayer(rs, layout, events, opts) {
    const loaded = this.assets ? this.assets.loadedCount : 0;
    const key = [rs, events, !!opts.showTruth, opts.truth, loaded, this.dpr];
    if (this.layer && this.layerKey && key.every((v, i) => v === this.layerKey[i])) return this.layer;
    if (!this.layer) this.layer = document.createElement('canvas');
    if (this.layer.width !== W * this.dpr) {
      this.layer.width = W * this.dpr;
      this.layer.height = H * this.dpr;
    }
    const saved = this.ctx;
    this.ctx = this.layer.getContext('2d');
    this.ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.ctx.clearRect(0, 0, W, H);
    try {
      this.ctx.drawImage(this.backdrop(layout.type, rs.node ? rs.node.index : 0), 0, 0, W, H);
      if (layout.station) this.drawStation(layout.station);
      for (const a of layout.asteroids) this.drawAsteroid(a, layout.type, events);
      this.drawExits(rs);
      this.drawCaption(rs, events);
      if (opts.showTruth && opts.truth) this.drawTruth(layout, rs, opts.truth);
    } finally {
      this.ctx = saved;
    }
    this.layerKey = key;
    return this.layer;
  }

  // The still part of a node's backdrop (tiles, planet, stars), drawn once per node into
  // an offscreen canvas; redrawn when its images finish loading.
  backdrop(type, nodeIndex) {
    const key = type === 'hazard' ? 'bg.hazard' : type === 'station' ? 'bg.station' : 'bg.space';
    const planetKey = type === 'station' ? 'scenery.planet.station' : type === 'hazard' ? 'scenery.planet.hazard' : null;
    const loaded = !!(this.assets && this.assets.img(key)) && (!planetKey || !!(this.assets && this.assets.img(planetKey)));
    this.backdrops = this.backdrops || new Map();
    const id = `${type}:${nodeIndex}:${this.dpr}`;
    const hit = this.backdrops.get(id);
    if (hit && (hit.loaded || !loaded)) return hit.canvas;
    const canvas = document.createElement('canvas');
    canvas.width = W * this.dpr;
    canvas.height = H * this.dpr;
    const saved = this.ctx;
    this.ctx = canvas.getContext('2d');
    this.ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    try {
      this.paintBackdrop(type, nodeIndex, key, planetKey);
    } finally {
      this.ctx = saved;
    }
    if (this.backdrops.size > 48) this.backdrops.clear();
    this.backdrops.set(id, { canvas, loaded });
    return canvas;
  }

  // What moves over the still scene: a few twinkling stars, hazard haze.
  ambient(type, nodeIndex, time) {
    const ctx = this.ctx;
    // a few twinkling, drifting stars over the still ones
    const r = rng(nodeIndex * 13 + 977);
    ctx.save();
    ctx.fillStyle = '#ffffff';
    for (let i = 0; i < 18; i++) {
      const x = r() * W, y = r() * H;
      ctx.globalAlpha = 0.35 + 0.65 * Math.abs(Math.sin(time * 0.0013 + i));
      ctx.fillRect((x + time * 0.006) % W, y, 2, 2);
    }
    ctx.restore();
    if (type === 'hazard') {
      // drifting haze
      for (let i = 0; i < 3; i++) {
        const hr = rng(nodeIndex * 17 + i);
        const x = (hr() * W + time * 0.01 * (i + 1)) % (W + 200) - 100;
        const y = hr() * H;
        const sz = 160 + hr() * 120;
        this.sprite(`fx.smoke.${i % 3}`, x, y, sz, sz, hr() * TAU, 0.14, (c, w) => {
          c.fillStyle = 'rgba(199,125,255,0.5)'; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.fill();
        });
      }
    }
  }

  paintBackdrop(type, nodeIndex, key, planetKey) {
    const ctx = this.ctx;
    const pat = this.pattern(key);
    if (pat) {
      ctx.fillStyle = pat;
      ctx.fillRect(0, 0, W, H);
      ctx.fillStyle = type === 'station' ? 'rgba(5,10,30,0.55)' : 'rgba(0,0,10,0.25)';
      ctx.fillRect(0, 0, W, H);
    } else {
      const g = ctx.createLinearGradient(0, 0, W, H);
      g.addColorStop(0, type === 'hazard' ? '#24102f' : '#070b1a');
      g.addColorStop(1, type === 'hazard' ? '#3a1240' : '#101a33');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, W, H);
    }
    // scenery planet
    if (planetKey) {
      const r = rng(nodeIndex * 31 + 5);
      this.sprite(planetKey, W * (0.78 + r() * 0.1), H * (0.2 + r() * 0.1), 230, 230, 0, type === 'hazard' ? 0.5 : 0.8,
        (c, w) => { c.fillStyle = type === 'hazard' ? '#5b2a6e' : '#2f6f8f'; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.fill(); });
    }
    // still stars
    const r = rng(nodeIndex * 13 + 101);
    ctx.save();
    ctx.fillStyle = '#ffffff';
    for (let i = 0; i < 90; i++) {
      const x = r() * W, y = r() * H, sz = r() < 0.15 ? 2 : 1;
      ctx.globalAlpha = sz === 2 ? 0.8 : 0.5;
      ctx.fillRect(x, y, sz, sz);
    }
    ctx.restore();
  }

  // Red edges when the hull takes damage: one gradient, drawn once, then reused.
  vignette() {
    if (!this.vignetteCanvas) {
      const c = document.createElement('canvas');
      c.width = W / 2;
      c.height = H / 2;
      const g2 = c.getContext('2d');
      const g = g2.createRadialGradient(W / 4, H / 4, H * 0.175, W / 4, H / 4, W * 0.35);
      g.addColorStop(0, 'rgba(255,30,60,0)');
      g.addColorStop(1, 'rgba(255,30,60,1)');
      g2.fillStyle = g;
      g2.fillRect(0, 0, W / 2, H / 2);
      this.vignetteCanvas = c;
    }
    return this.vignetteCanvas;
  }

  drawStation(st) {
    const h = st.size * this.aspect('entity.station');
    this.sprite('entity.station', st.x, st.y, st.size, h, 0, 1, (c, w) => {
      c.strokeStyle = '#ffd36b'; c.lineWidth = 8; c.beginPath(); c.arc(0, 0, w / 2 - 6, 0, TAU); c.stroke();
      c.fillStyle = '#4d6a8a'; c.beginPath(); c.arc(0, 0, w / 4, 0, TAU); c.fill();
    });
    this.text('STATION', st.x, st.y + st.size / 2 + 16, { align: 'center', size: 12, color: '#ffd36b', weight: 700 });
  }

  asteroidKey(a, type) {
    const hz = type === 'hazard' ? 'hazard.' : '';
    if (a.radius >= 34) return `entity.asteroid.${hz}large.${a.variant % 4}`;
    if (a.radius >= 22) return `entity.asteroid.${hz}medium.${a.variant % 2}`;
    return `entity.asteroid.${hz}small.${a.variant % 2}`;
  }

  drawAsteroid(a, type, events) {
    const ctx = this.ctx;
    const rock = a.rock;
    const depletion = clamp(rock.depletion || 0, 0, 1);
    let alpha = 0.22 + 0.78 * (1 - depletion);
    const fractured = events.some((e) => e.type === 'fracture' && e.asteroid === a.slot);
    if (fractured) alpha *= 0.5;
    const size = a.radius * 2;
    const angle = a.angle0;
    this.sprite(this.asteroidKey(a, type), a.x, a.y, size, size * this.aspect(this.asteroidKey(a, type)), angle, alpha, (c, w) => {
      const r = rng(a.slot * 977 + 3);
      c.fillStyle = type === 'hazard' ? '#8b8f99' : '#8a5a3b';
      c.beginPath();
      for (let k = 0; k < 9; k++) {
        const ang = (k / 9) * TAU, rr = (w / 2) * (0.75 + r() * 0.25);
        if (k === 0) c.moveTo(Math.cos(ang) * rr, Math.sin(ang) * rr); else c.lineTo(Math.cos(ang) * rr, Math.sin(ang) * rr);
      }
      c.closePath(); c.fill();
    });
    // scan confidence arc
    if (rock.scan_conf > 0) {
      ctx.save();
      ctx.strokeStyle = 'rgba(120,220,255,0.85)';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(a.x, a.y, a.radius + 5, -Math.PI / 2, -Math.PI / 2 + TAU * clamp(rock.scan_conf, 0, 1));
      ctx.stroke();
      ctx.restore();
    }
    if (rock.selected) {
      this.text(`#${a.slot} · ~${Math.round(rock.value_est)}/u`, a.x, a.y - a.radius - 20,
        { align: 'center', size: 12, color: '#ffc94d', weight: 700 });
    } else {
      this.text(`#${a.slot}`, a.x, a.y + a.radius + 10, { align: 'center', size: 10, color: 'rgba(230,236,255,0.7)' });
    }
    if (depletion >= 0.999) this.text('depleted', a.x, a.y, { align: 'center', size: 10, color: '#ff9a9a' });
  }

  selectionRing(a, time) {
    const ctx = this.ctx;
    ctx.save();
    ctx.strokeStyle = '#ffc94d';
    ctx.lineWidth = 2;
    ctx.setLineDash([6, 5]);
    ctx.lineDashOffset = -time * 0.02;
    ctx.beginPath();
    ctx.arc(a.x, a.y, a.radius + 11, 0, TAU);
    ctx.stroke();
    ctx.restore();
  }

  shipPose(layout, rs, events, phase) {
    const base = layout.ship;
    const pose = { x: base.x, y: base.y, angle: base.angle, scale: 1 };
    const p = ease(phase);
    for (const e of events) {
      if (e.type === 'travel') {
        // arriving from off-screen
        const k = clamp(phase / 0.7, 0, 1);
        pose.x = -80 + (base.x + 80) * ease(k);
        pose.angle = layout.type === 'station' ? -Math.PI / 2 + (1 - k) * Math.PI / 2 : 0;
      } else if (e.type === 'dock' && layout.station) {
        const from = { x: W * 0.64, y: H * 0.58 };
        pose.x = from.x + (base.x - from.x) * p;
        pose.y = from.y + (base.y - from.y) * p;
      } else if (e.type === 'undock' && layout.station) {
        const from = { x: W * 0.4 + 92, y: H * 0.52 - 6 };
        pose.x = from.x + (base.x - from.x) * p;
        pose.y = from.y + (base.y - from.y) * p;
      } else if (e.type === 'burn') {
        pose.x += Math.sin(phase * Math.PI) * 30;
      }
    }
    // ship's heading: towards the selected asteroid when working
    const target = layout.asteroids.find((a) => a.rock.selected);
    if (target && layout.type !== 'station' && !events.some((e) => e.type === 'travel' && phase < 0.7)) {
      pose.angle = Math.atan2(target.y - pose.y, target.x - pose.x);
    }
    return pose;
  }

  drawShip(pose, rs, events, phase, time) {
    const ctx = this.ctx;
    const ship = rs.ship || {};
    const heat = ship.heat || 0;
    const size = 58;
    const moving = events.some((e) => e.type === 'travel' || e.type === 'burn' || e.type === 'dock' || e.type === 'undock');
    // thrust flame
    if (moving && phase < 0.95) {
      const back = pose.angle + Math.PI;
      const fx = pose.x + Math.cos(back) * size * 0.55, fy = pose.y + Math.sin(back) * size * 0.55;
      this.sprite('fx.thrust', fx, fy, 18, 44, back - Math.PI / 2 + Math.PI, 0.9, (c) => {
        c.fillStyle = '#ffb347'; c.beginPath(); c.moveTo(-6, -16); c.lineTo(6, -16); c.lineTo(0, 18); c.fill();
      });
    }
    // heat glow
    if (heat > 60) {
      const g = ctx.createRadialGradient(pose.x, pose.y, 4, pose.x, pose.y, size);
      const a = clamp((heat - 60) / 40, 0, 1) * (0.45 + 0.2 * Math.sin(time * 0.01));
      g.addColorStop(0, `rgba(255,80,40,${a})`);
      g.addColorStop(1, 'rgba(255,80,40,0)');
      ctx.fillStyle = g;
      ctx.beginPath(); ctx.arc(pose.x, pose.y, size, 0, TAU); ctx.fill();
    }
    this.sprite('entity.ship.agent', pose.x, pose.y, size, size * this.aspect('entity.ship.agent') , pose.angle + Math.PI / 2, 1, (c, w, h) => {
      c.fillStyle = '#ff8a3d'; c.beginPath(); c.moveTo(0, -h / 2); c.lineTo(w / 3, h / 2); c.lineTo(0, h / 4); c.lineTo(-w / 3, h / 2); c.closePath(); c.fill();
    });
    // alert marker
    if ((ship.alert || 0) > 50) {
      const a = 0.5 + 0.5 * Math.sin(time * 0.012);
      this.sprite('ui.icon.alert', pose.x + 30, pose.y - 32, 20, 20, 0, a, (c) => {
        c.fillStyle = '#ff5252'; c.beginPath(); c.arc(0, 0, 9, 0, TAU); c.fill();
      });
    }
    if ((ship.hull || 100) < 30) {
      // smoking hull
      for (let i = 0; i < 3; i++) {
        const t = ((time * 0.0008 + i / 3) % 1);
        this.sprite(`fx.smoke.${i}`, pose.x - 10 - t * 40, pose.y - 6 - t * 20, 14 + t * 20, 14 + t * 20, t * 3, (1 - t) * 0.6,
          (c, w) => { c.fillStyle = 'rgba(150,150,150,0.6)'; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.fill(); });
      }
    }
  }

  beam(key, x0, y0, x1, y1, width, alpha, color) {
    const ctx = this.ctx;
    const dx = x1 - x0, dy = y1 - y0;
    const len = Math.hypot(dx, dy);
    const img = this.assets ? this.assets.img(key) : null;
    ctx.save();
    ctx.globalAlpha *= alpha;
    ctx.translate(x0, y0);
    ctx.rotate(Math.atan2(dy, dx) - Math.PI / 2);
    if (img) {
      ctx.drawImage(img, -width / 2, 0, width, len);
    } else {
      ctx.fillStyle = color;
      ctx.fillRect(-width / 4, 0, width / 2, len);
    }
    ctx.restore();
  }

  drawEffectsUnder(layout, ship, events, phase, time) {
    const ctx = this.ctx;
    for (const e of events) {
      if (e.type === 'scan') {
        const target = layout.asteroids.find((a) => a.slot === e.asteroid);
        if (e.mode === 'wide' || !target) {
          const s = 40 + 420 * ease(phase);
          this.sprite('fx.scan.ring', ship.x, ship.y, s, s, 0, 0.8 * (1 - phase) + 0.1, (c, w) => {
            c.strokeStyle = 'rgba(120,220,255,0.8)'; c.lineWidth = 4; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.stroke();
          });
        } else {
          // a cone of light to the target
          const ang = Math.atan2(target.y - ship.y, target.x - ship.x);
          const spread = e.mode === 'deep' ? 0.05 : 0.12;
          const dist = Math.hypot(target.x - ship.x, target.y - ship.y);
          const g = ctx.createLinearGradient(ship.x, ship.y, target.x, target.y);
          g.addColorStop(0, 'rgba(120,220,255,0.55)');
          g.addColorStop(1, 'rgba(120,220,255,0.05)');
          ctx.save();
          ctx.globalAlpha = 0.4 + 0.6 * Math.abs(Math.sin(time * 0.02));
          ctx.fillStyle = g;
          ctx.beginPath();
          ctx.moveTo(ship.x, ship.y);
          ctx.lineTo(ship.x + Math.cos(ang - spread) * dist * 1.05, ship.y + Math.sin(ang - spread) * dist * 1.05);
          ctx.lineTo(ship.x + Math.cos(ang + spread) * dist * 1.05, ship.y + Math.sin(ang + spread) * dist * 1.05);
          ctx.closePath();
          ctx.fill();
          ctx.restore();
          if (e.mode === 'deep') this.beam('fx.beam.scan', ship.x, ship.y, target.x, target.y, 10, 0.8, '#78dcff');
          const s = target.radius * 2 + 20 + 20 * Math.sin(phase * Math.PI);
          this.sprite('fx.scan.ring', target.x, target.y, s, s, 0, 0.8, (c, w) => {
            c.strokeStyle = 'rgba(120,220,255,0.8)'; c.lineWidth = 3; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.stroke();
          });
        }
      } else if (e.type === 'mine') {
        const target = layout.asteroids.find((a) => a.slot === e.asteroid);
        if (!target) continue;
        const nose = { x: ship.x + Math.cos(ship.angle) * 26, y: ship.y + Math.sin(ship.angle) * 26 };
        const width = e.mode === 'aggressive' ? 18 : e.mode === 'conservative' ? 8 : 12;
        const flicker = 0.65 + 0.35 * Math.sin(time * 0.05);
        this.beam('fx.beam.mine', nose.x, nose.y, target.x, target.y, width, flicker, '#6be39a');
        // ore particles flying to the ship
        const comp = target.rock.comp_est || [];
        const names = Object.keys(COMMODITY_COLORS);
        for (let i = 0; i < 8; i++) {
          const t = (phase + i / 8 + time * 0.0004) % 1;
          const k = i % Math.max(1, comp.length);
          ctx.fillStyle = COMMODITY_COLORS[names[k]] || '#fff';
          const px = target.x + (nose.x - target.x) * t + Math.sin(i * 3 + t * 9) * 6;
          const py = target.y + (nose.y - target.y) * t + Math.cos(i * 5 + t * 7) * 6;
          ctx.fillRect(px - 2, py - 2, 4, 4);
        }
        const s = 24 + 10 * Math.sin(time * 0.03);
        this.sprite('fx.hit', target.x - Math.cos(ship.angle) * target.radius * 0.6, target.y - Math.sin(ship.angle) * target.radius * 0.6,
          s, s, time * 0.01, 0.9, (c, w) => { c.fillStyle = '#b6ffd0'; c.beginPath(); c.arc(0, 0, w / 4, 0, TAU); c.fill(); });
      } else if (e.type === 'stabilize') {
        const target = layout.asteroids.find((a) => a.slot === e.asteroid);
        if (!target) continue;
        const s = target.radius * 2 + 30;
        this.sprite('fx.shield', target.x, target.y, s, s, time * 0.002, 0.7, (c, w) => {
          c.strokeStyle = '#6be39a'; c.lineWidth = 3; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.stroke();
        });
      } else if (e.type === 'listen') {
        ctx.save();
        ctx.strokeStyle = 'rgba(255,190,90,0.7)';
        ctx.lineWidth = 2;
        for (let i = 0; i < 3; i++) {
          const t = (phase + i / 3) % 1;
          ctx.globalAlpha = 1 - t;
          ctx.beginPath(); ctx.arc(ship.x, ship.y, 30 + t * 200, 0, TAU); ctx.stroke();
        }
        ctx.restore();
      }
    }
  }

  drawEffectsOver(layout, ship, rs, events, phase, time) {
    const ctx = this.ctx;
    for (const e of events) {
      if (e.type === 'fracture') {
        const target = layout.asteroids.find((a) => a.slot === e.asteroid) || { x: W * 0.55, y: H * 0.5, radius: 30 };
        const p = ease(phase);
        const flash = target.radius * 2 * (0.6 + 2.4 * p);
        this.sprite('fx.flash', target.x, target.y, flash, flash, p * 2, (1 - phase) * 0.95, (c, w) => {
          c.fillStyle = '#fff3b0'; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.fill();
        });
        const r = rng(e.asteroid * 311 + 7);
        for (let i = 0; i < 10; i++) {
          const ang = r() * TAU, dist = (20 + r() * 110) * p;
          const key = i % 2 ? `fx.smoke.${i % 3}` : `entity.shard.${i % 4 === 0 ? 0 : 1}`;
          const s = i % 2 ? 26 + 40 * p : 14;
          this.sprite(key, target.x + Math.cos(ang) * dist, target.y + Math.sin(ang) * dist, s, s, ang + p * 4,
            (1 - phase) * 0.9 + 0.05, (c, w) => { c.fillStyle = i % 2 ? 'rgba(200,200,200,0.6)' : '#8a5a3b'; c.beginPath(); c.arc(0, 0, w / 3, 0, TAU); c.fill(); });
        }
        this.text('FRACTURE', target.x, target.y - target.radius - 34, { align: 'center', size: 14, color: '#ffb36b', weight: 800, alpha: 1 - phase * 0.5 });
      } else if (e.type === 'hazard_damage') {
        ctx.save();
        ctx.globalAlpha = 0.45 * (1 - phase) + 0.08;
        ctx.drawImage(this.vignette(), 0, 0, W, H);
        ctx.restore();
        const r = rng(Math.floor(time / 90));
        for (let i = 0; i < 4; i++) {
          this.sprite('fx.spark', ship.x + (r() - 0.5) * 50, ship.y + (r() - 0.5) * 50, 20, 20, r() * TAU, (1 - phase) * 0.9 + 0.1,
            (c) => { c.fillStyle = '#ff5a5a'; c.fillRect(-3, -3, 6, 6); });
        }
      } else if (e.type === 'pirate') {
        const p = phase;
        const enter = clamp(p / 0.45, 0, 1);
        const leave = clamp((p - 0.75) / 0.25, 0, 1);
        const px = W + 60 - (W + 60 - (ship.x + 200)) * ease(enter) + leave * 400;
        const py = 60 + (ship.y - 110 - 60) * ease(enter) - leave * 200;
        const ang = Math.atan2(ship.y - py, ship.x - px);
        this.sprite('entity.ship.pirate', px, py, 54, 54 * this.aspect('entity.ship.pirate'), ang + Math.PI / 2, 1, (c, w, h) => {
          c.fillStyle = '#ff4d4d'; c.beginPath(); c.moveTo(0, -h / 2); c.lineTo(w / 2, h / 2); c.lineTo(-w / 2, h / 2); c.closePath(); c.fill();
        });
        if (e.outcome !== 'evaded' && p > 0.3 && p < 0.85) {
          const alpha = 0.6 + 0.4 * Math.sin(time * 0.06);
          this.beam('fx.beam.pirate', px, py, ship.x, ship.y, 9, alpha, '#ff4d4d');
        }
        if (e.outcome === 'evaded') {
          this.sprite('fx.shield', ship.x, ship.y, 90, 90, 0, 0.5 + 0.3 * Math.sin(time * 0.02), (c, w) => {
            c.strokeStyle = 'rgba(120,200,255,0.8)'; c.lineWidth = 3; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.stroke();
          });
        }
        const label = e.outcome === 'evaded' ? 'PIRATES EVADED' : `PIRATES ${String(e.outcome || '').toUpperCase()}${e.loss ? ` · −${Math.round(e.loss)} cargo value` : ''}`;
        this.text(label, ship.x + 40, ship.y + 58, { size: 13, color: e.outcome === 'evaded' ? '#9fe3ff' : '#ff7070', weight: 800 });
      } else if (e.type === 'cooldown') {
        for (let i = 0; i < 5; i++) {
          const t = (phase + i / 5) % 1;
          this.sprite(`fx.smoke.${i % 3}`, ship.x + Math.cos(i * 1.3) * 30 * t, ship.y + Math.sin(i * 1.3) * 30 * t, 30 + 30 * t, 30 + 30 * t, i, (1 - t) * 0.5,
            (c, w) => { c.fillStyle = 'rgba(140,200,255,0.5)'; c.beginPath(); c.arc(0, 0, w / 2, 0, TAU); c.fill(); });
        }
      } else if (e.type === 'overheat') {
        this.text('OVERHEAT', ship.x, ship.y - 46, { align: 'center', size: 13, color: '#ff6b3d', weight: 800 });
      } else if (e.type === 'travel') {
        if (phase < 0.7) {
          ctx.save();
          ctx.strokeStyle = 'rgba(200,230,255,0.5)';
          ctx.lineWidth = 2;
          const r = rng(7);
          for (let i = 0; i < 24; i++) {
            const y = r() * H, x = ((r() * W) - phase * 2000) % W;
            const xx = x < 0 ? x + W : x;
            ctx.globalAlpha = (0.7 - phase) * r();
            ctx.beginPath(); ctx.moveTo(xx, y); ctx.lineTo(xx + 60 + r() * 80, y); ctx.stroke();
          }
          ctx.restore();
        }
      } else if (e.type === 'sell' || e.type === 'buy' || e.type === 'repair') {
        const anchor = layout.station || ship;
        const credits = e.type === 'sell' ? e.credits : -(e.credits || 0);
        if (!credits) continue;
        const label = `${credits > 0 ? '+' : '−'}$${Math.abs(Math.round(credits))}`;
        this.text(label, anchor.x + 60, anchor.y - 40 - 40 * phase, { size: 16, weight: 800,
          color: credits > 0 ? '#7dff9b' : '#ffb0b0', alpha: 1 - phase * 0.6 });
      } else if (e.type === 'jettison') {
        for (let i = 0; i < 4; i++) {
          ctx.fillStyle = COMMODITY_COLORS[e.commodity] || '#ccc';
          ctx.fillRect(ship.x - 20 - phase * 60 - i * 10, ship.y + 10 + i * 6 + phase * 20, 6, 6);
        }
      }
    }
  }

  drawExits(rs) {
    const exits = rs.neighbors || [];
    if (!exits.length) return;
    const ctx = this.ctx;
    const x = W - 12, h = 22, gap = 5;
    let y = H - 12 - exits.length * (h + gap);
    ctx.save();
    for (const n of exits) {
      const label = `→ ${n.slot}: node ${n.node} ${n.type} · ${n.travel_time}t · ${Math.round(n.fuel_cost)} fuel`;
      ctx.font = '500 11px system-ui, sans-serif';
      const w = ctx.measureText(label).width + 46;
      ctx.fillStyle = 'rgba(8,14,32,0.72)';
      ctx.fillRect(x - w, y, w, h);
      ctx.fillStyle = NODE_COLORS[n.type] || '#ccc';
      ctx.fillRect(x - w, y, 3, h);
      // threat estimate bar
      const t = clamp(n.threat_est ?? 0.5, 0, 1);
      ctx.fillStyle = 'rgba(255,255,255,0.15)';
      ctx.fillRect(x - 34, y + 8, 26, 6);
      ctx.fillStyle = t > 0.5 ? '#ff6b6b' : t > 0.25 ? '#ffc94d' : '#6be39a';
      ctx.fillRect(x - 34, y + 8, 26 * t, 6);
      ctx.fillStyle = '#dfe7ff';
      ctx.textBaseline = 'middle';
      ctx.fillText(label, x - w + 8, y + h / 2 + 1);
      y += h + gap;
    }
    ctx.restore();
  }

  drawCaption(rs, events) {
    const node = rs.node || {};
    const where = `Node ${node.index} · ${node.type}${node.steps_to_station ? ` · ${node.steps_to_station} hop${node.steps_to_station > 1 ? 's' : ''} to station` : ''}${rs.docked ? ' · docked' : ''}`;
    const ctx = this.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(8,14,32,0.65)';
    ctx.fillRect(10, 10, 330, 26);
    ctx.restore();
    this.text(where, 20, 23, { size: 13, weight: 700, color: NODE_COLORS[node.type] || '#fff' });
    if (events.some((e) => e.type === 'invalid')) {
      this.text('invalid action (held instead)', 20, 50, { size: 12, color: '#ff9a9a', weight: 700 });
    }
  }

  drawBanners(rs, events, phase) {
    const end = events.find((e) => e.type === 'end') || (rs.done ? { reason: rs.end_reason } : null);
    if (!end) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(5,8,20,0.6)';
    ctx.fillRect(0, H / 2 - 34, W, 68);
    ctx.restore();
    const reason = String(end.reason || 'end').replace(/_/g, ' ');
    const good = end.reason === 'cash_out' || end.reason === 'timeout';
    this.text(`EPISODE OVER · ${reason.toUpperCase()}`, W / 2, H / 2 - 6, { align: 'center', size: 24, weight: 800,
      color: good ? '#7dff9b' : '#ff7070' });
    const ship = rs.ship || {};
    this.text(`net profit ${Math.round(ship.net_profit || 0)} · credits ${Math.round(ship.credits || 0)}`, W / 2, H / 2 + 20,
      { align: 'center', size: 13 });
  }

  // Hidden truth next to the ship's estimates (replays only).
  drawTruth(layout, rs, truth) {
    const ctx = this.ctx;
    const names = Object.keys(COMMODITY_COLORS);
    const bar = (x, y, w, comp) => {
      let acc = 0;
      const total = comp.reduce((s, v) => s + Math.max(0, v), 0) || 1;
      comp.forEach((v, k) => {
        const ww = (Math.max(0, v) / total) * w;
        ctx.fillStyle = COMMODITY_COLORS[names[k]] || '#ccc';
        ctx.fillRect(x + acc, y, ww, 6);
        acc += ww;
      });
      ctx.strokeStyle = 'rgba(0,0,0,0.6)';
      ctx.strokeRect(x, y, w, 6);
    };
    (truth.asteroids || []).forEach((t, i) => {
      const a = layout.asteroids[i];
      if (!a) return;
      const w = 64, x = a.x - w / 2, y = a.y + a.radius + 16;
      ctx.fillStyle = 'rgba(5,8,20,0.78)';
      ctx.fillRect(x - 22, y - 3, w + 26, 34);
      this.text('est', x - 18, y + 3, { size: 9, color: '#9fb0d0', shadow: false });
      bar(x, y, w, a.rock.comp_est || []);
      this.text('true', x - 18, y + 13, { size: 9, color: '#ffd36b', shadow: false });
      bar(x, y + 10, w, t.comp || []);
      this.text(`stab ${(a.rock.stability_est ?? 0).toFixed(2)} / ${(t.stability ?? 0).toFixed(2)}`, x - 18, y + 25,
        { size: 9, color: '#dfe7ff', shadow: false });
    });
    const node = truth.node || {};
    ctx.fillStyle = 'rgba(40,28,0,0.82)';
    ctx.fillRect(10, H - 62, 250, 52);
    ctx.strokeStyle = '#ffd36b';
    ctx.strokeRect(10.5, H - 61.5, 249, 51);
    this.text('TRUTH (hidden from the agent)', 20, H - 50, { size: 11, weight: 800, color: '#ffd36b' });
    this.text(`pirate ${fmt3(node.pirate)} · hazard ${fmt3(node.hazard)} · richness ${fmt3(node.richness)}`, 20, H - 30,
      { size: 12, color: '#fff4cf' });
  }
}

function fmt3(v) {
  return typeof v === 'number' ? v.toFixed(2) : '–';
}

// The graph mini-map: nodes at render_state.map.nodes[i].x/y in [0,1].
export function drawMinimap(canvas, rs, { truth = null, showTruth = false, time = 0 } = {}) {
  const ctx = canvas.getContext('2d');
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const cw = Number(canvas.getAttribute('width')) || 220, chh = Number(canvas.getAttribute('height')) || 220;
  if (canvas.dataset.cw === undefined) {
    canvas.dataset.cw = String(cw);
    canvas.dataset.ch = String(chh);
  }
  const w = Number(canvas.dataset.cw), h = Number(canvas.dataset.ch);
  if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = 'rgba(6,10,24,0.82)';
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = 'rgba(140,170,255,0.35)';
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  if (!rs || !rs.map) return;
  const pad = 16;
  const pos = new Map();
  for (const n of rs.map.nodes) pos.set(n.index, [pad + n.x * (w - 2 * pad), pad + n.y * (h - 2 * pad)]);
  ctx.lineWidth = 1.2;
  ctx.strokeStyle = 'rgba(170,190,255,0.45)';
  for (const [a, b] of rs.map.edges) {
    const pa = pos.get(a), pb = pos.get(b);
    if (!pa || !pb) continue;
    ctx.beginPath(); ctx.moveTo(pa[0], pa[1]); ctx.lineTo(pb[0], pb[1]); ctx.stroke();
  }
  const here = rs.node ? rs.node.index : -1;
  for (const n of rs.map.nodes) {
    const [x, y] = pos.get(n.index);
    let color = NODE_COLORS[n.type] || '#ccc';
    if (showTruth && truth && truth.threat) {
      const t = clamp(truth.threat[n.index] ?? 0, 0, 1);
      color = `rgb(${Math.round(120 + 135 * t)},${Math.round(200 - 160 * t)},${Math.round(120 - 80 * t)})`;
    }
    ctx.beginPath();
    ctx.arc(x, y, n.type === 'station' ? 6 : 4.5, 0, TAU);
    if (n.visited) { ctx.fillStyle = color; ctx.fill(); }
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    if (showTruth && truth && truth.threat) {
      ctx.fillStyle = '#fff';
      ctx.font = '9px system-ui, sans-serif';
      ctx.fillText((truth.threat[n.index] ?? 0).toFixed(2), x + 6, y - 5);
    }
  }
  if (pos.has(here)) {
    const [x, y] = pos.get(here);
    const pulse = 9 + 3 * Math.sin(time * 0.006);
    ctx.strokeStyle = '#ff8a3d';
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, pulse, 0, TAU); ctx.stroke();
  }
  ctx.fillStyle = 'rgba(223,231,255,0.8)';
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText(showTruth && truth ? 'map · true threat' : 'map', 6, h - 6);
}
