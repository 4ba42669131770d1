// Art and sound by semantic key (entity.ship.agent, ui.icon.fuel, sfx.mine, ...).
// assets/manifest.json (written by the build from sitegen/assets.py) maps keys to
// files; without the Kenney packs it is empty and everything falls back to shapes.

import { url } from './util.js';

export class Assets {
  constructor(manifest) {
    this.manifest = manifest || { packs: false, images: {}, sounds: {}, fonts: {} };
    this.packs = !!this.manifest.packs;
    this.images = new Map();
    this.onload = null;
    this.loadedCount = 0;
    for (const [key, path] of Object.entries(this.manifest.images || {})) {
      const img = new Image();
      img.decoding = 'async';
      img.addEventListener('load', () => { this.loadedCount += 1; if (this.onload) this.onload(key); });
      img.src = url(path);
      this.images.set(key, img);
    }
  }

  // The image for a key when it has loaded, else null (callers draw a shape).
  img(key) {
    const img = this.images.get(key);
    return img && img.complete && img.naturalWidth > 0 ? img : null;
  }

  has(key) { return this.images.has(key); }

  iconURL(key) {
    const path = (this.manifest.images || {})[key];
    return path ? url(path) : null;
  }

  soundURL(key) {
    const path = (this.manifest.sounds || {})[key];
    return path ? url(path) : null;
  }

  ready(timeoutMs = 3000) {
    const waits = [...this.images.values()].map((img) =>
      img.complete ? Promise.resolve() : new Promise((res) => {
        img.addEventListener('load', res, { once: true });
        img.addEventListener('error', res, { once: true });
      }));
    return Promise.race([Promise.all(waits), new Promise((res) => setTimeout(res, timeoutMs))]);
  }
}

let cached = null;
export function loadAssets() {
  if (!cached) {
    cached = fetch(url('assets/manifest.json'), { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null)
      .then((m) => new Assets(m));
  }
  return cached;
}

// Event sounds; muted until the person turns sound on.
export class SoundBoard {
  constructor(assets) {
    this.assets = assets;
    this.muted = true;
    this.last = new Map();
  }

  play(key, volume = 0.5) {
    if (this.muted) return;
    const src = this.assets.soundURL(key);
    if (!src) return;
    const now = performance.now();
    if (now - (this.last.get(key) || 0) < 120) return; // no machine-gun repeats
    this.last.set(key, now);
    const audio = new Audio(src);
    audio.volume = volume;
    audio.play().catch(() => {});
  }
}

export const EVENT_SOUNDS = {
  mine: 'sfx.mine', scan: 'sfx.scan', pirate: 'sfx.pirate', hazard_damage: 'sfx.hazard',
  fracture: 'sfx.fracture', dock: 'sfx.dock', travel: 'sfx.travel', sell: 'sfx.sell',
  buy: 'sfx.buy', end: 'sfx.end', listen: 'sfx.scan', undock: 'sfx.travel',
};
