// The strips under a replay's timeline (docs/site.md#value-strip): the critic's value,
// the actual discounted return-to-go, reward spikes with the timeline's event markers and
// the steepest value drops; below, the ship's belief error. Both are clickable to seek.
// The curves come from the replay JSON's `series` (sitegen/replaydata.py computes them;
// nothing is recomputed here).

import { el, fmt } from './util.js';

const COLORS = {
  value: '#54a0ff', rtg: '#ff9f43', up: '#4cd992', down: '#ff6b6b', drop: '#ff4d4d',
  belief: '#c77dff', cursor: '#ffffff', grid: 'rgba(140,170,255,0.18)', text: '#8f9bb8',
};

function finite(v) { return typeof v === 'number' && Number.isFinite(v); }

function range(lists) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const list of lists) for (const v of list || []) if (finite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return [0, 1];
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

// One strip: a canvas whose static picture is drawn once per data/size change and the
// current-frame cursor on top of it at every frame.
class Strip {
  constructor(canvas, onSeek) {
    this.canvas = canvas;
    this.n = 0;
    this.index = 0;
    this.picture = null;
    this.paint = null;
    canvas.addEventListener('click', (ev) => {
      if (this.n < 1) return;
      const box = canvas.getBoundingClientRect();
      const frac = Math.min(1, Math.max(0, (ev.clientX - box.left) / Math.max(1, box.width)));
      onSeek(Math.round(frac * Math.max(0, this.n - 1)));
    });
  }

  x(i, w) { return this.n > 1 ? (i / (this.n - 1)) * (w - 1) : 0; }

  set(n, paint) {
    this.n = n;
    this.paint = paint;
    this.picture = null;
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr)) || c.width;
    const h = Math.max(1, Math.round(c.clientHeight * dpr)) || c.height;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; this.picture = null; }
    const ctx = c.getContext('2d');
    if (!this.picture) {
      ctx.clearRect(0, 0, w, h);
      if (this.paint) this.paint(ctx, w, h, dpr);
      this.picture = ctx.getImageData(0, 0, w, h);
    } else {
      ctx.putImageData(this.picture, 0, 0);
    }
    if (this.n > 0) {
      const x = Math.round(this.x(this.index, w)) + 0.5;
      ctx.strokeStyle = COLORS.cursor;
      ctx.lineWidth = Math.max(1, dpr);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
      ctx.stroke();
    }
  }

  setIndex(i) {
    if (i === this.index) return;
    this.index = i;
    this.draw();
  }
}

function line(ctx, strip, values, y, w, color, dpr) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5 * dpr;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (!finite(v)) { pen = false; return; }
    const px = strip.x(i, w);
    if (pen) ctx.lineTo(px, y(v)); else ctx.moveTo(px, y(v));
    pen = true;
  });
  ctx.stroke();
}

export class Strips {
  // root: the player's `.strips` element; onSeek(frame) when a strip is clicked.
  constructor(root, { onSeek }) {
    this.root = root;
    const q = (sel) => root.querySelector(sel);
    this.note = q('.strip-note');
    this.readout = q('.strip-readout');
    this.value = new Strip(q('canvas.value-strip'), onSeek);
    this.belief = new Strip(q('canvas.belief-strip'), onSeek);
    this.series = null;
    window.addEventListener('resize', () => { this.value.set(this.value.n, this.value.paint); this.belief.set(this.belief.n, this.belief.paint); });
  }

  // series: the replay JSON's `series` (may be missing); markers: the timeline's event markers.
  set(series, markers, n) {
    this.series = series || null;
    const notes = [];
    if (!series) {
      notes.push('This replay has no value or belief data (the site was built before strips existed: rebuild it).');
      this.value.set(n, null);
      this.belief.set(n, null);
      this.root.dataset.missing = 'series';
      this.showNote(notes);
      return;
    }
    const hasValue = !(series.missing || []).includes('value');
    this.root.dataset.missing = (series.missing || []).join(',');
    if (!hasValue) notes.push('No critic values in this replay (recorded before replays carried them): the strip shows the return-to-go and rewards only.');
    const drops = new Set(series.drops || []);
    this.value.set(n, (ctx, w, h, dpr) => {
      const band = Math.round(h * 0.28);        // reward spikes at the bottom
      const top = 8 * dpr;                      // event ticks at the top
      const [lo, hi] = range([hasValue ? series.value : [], series.rtg]);
      const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (h - band - top - 2 * dpr);
      if (lo < 0 && hi > 0) {
        ctx.strokeStyle = COLORS.grid;
        ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(w, y(0)); ctx.stroke();
      }
      // rewards: bars from the band's middle (up: gains, down: costs), scaled to the largest
      const rewards = series.reward || [];
      const rmax = Math.max(1e-9, ...rewards.map((r) => Math.abs(r || 0)));
      const mid = h - band / 2;
      rewards.forEach((r, i) => {
        if (!r) return;
        const len = Math.max(dpr, Math.sqrt(Math.abs(r) / rmax) * (band / 2 - dpr));  // sqrt: small ones show
        ctx.fillStyle = r > 0 ? COLORS.up : COLORS.down;
        ctx.fillRect(this.value.x(i, w), r > 0 ? mid - len : mid, Math.max(dpr, 1), len);
      });
      for (const m of markers || []) {
        ctx.fillStyle = m.color;
        ctx.fillRect(this.value.x(m.frame, w) - dpr, 0, 2 * dpr, 6 * dpr);
      }
      line(ctx, this.value, series.rtg, y, w, COLORS.rtg, dpr);
      if (hasValue) {
        line(ctx, this.value, series.value, y, w, COLORS.value, dpr);
        for (const i of drops) {            // the steepest drops: a red triangle under the curve
          const px = this.value.x(i, w);
          const py = y(series.value[i]);
          ctx.fillStyle = COLORS.drop;
          ctx.beginPath();
          ctx.moveTo(px - 5 * dpr, py + 4 * dpr); ctx.lineTo(px + 5 * dpr, py + 4 * dpr); ctx.lineTo(px, py + 12 * dpr);
          ctx.closePath(); ctx.fill();
        }
      }
    });
    const hasBelief = (series.belief || []).some(finite);
    if (!hasBelief) notes.push('No belief error in this replay: the ship never saw an asteroid (or the replay has no truth block).');
    this.belief.set(n, (ctx, w, h, dpr) => {
      const [, hi] = range([series.belief, [0]]);
      const y = (v) => 3 * dpr + (1 - v / hi) * (h - 6 * dpr);
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(w, y(0)); ctx.stroke();
      line(ctx, this.belief, series.belief || [], y, w, COLORS.belief, dpr);
    });
    this.showNote(notes);
  }

  showNote(notes) {
    if (!this.note) return;
    this.note.hidden = !notes.length;
    this.note.textContent = notes.join(' ');
  }

  setIndex(i) {
    this.value.setIndex(i);
    this.belief.setIndex(i);
    this.root.dataset.index = String(i);
    const s = this.series;
    if (this.readout && s) {
      const v = s.value ? s.value[i] : null;
      this.readout.replaceChildren(
        el('span', { class: 'k-value' }, `value ${fmt(v, 1)}`), ' · ',
        el('span', { class: 'k-rtg' }, `return-to-go ${fmt(s.rtg ? s.rtg[i] : null, 1)}`), ' · ',
        el('span', { class: 'k-belief' }, `belief error ${fmt(s.belief ? s.belief[i] : null, 3)}`));
    }
  }
}
