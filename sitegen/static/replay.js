// The compact replay JSON (sitegen/replaydata.py) back into full frames, the
// timeline's event markers, and why a replay could not be loaded.

import { fetchJSON, HttpError } from './util.js';

// A sentence for a replay that failed to load (shared by the player and /play).
export async function explainMissingReplay(runId, replayId, err) {
  if (!(err instanceof HttpError) || err.status !== 404) return `Could not load replay ${replayId}: ${err.message}`;
  try {
    const runs = await fetchJSON('data/runs.json');
    if (!runs.runs.some((r) => r.run_id === runId)) return `Unknown run "${runId}": it is not on this site.`;
    const cat = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays.json`);
    const entry = cat.replays.find((r) => r.replay_id === replayId);
    if (!entry) return `Run ${runId} has no replay "${replayId}".`;
    if (entry.status !== 'ok') return `Replay ${replayId} cannot be shown: ${entry.status.replace(/_/g, ' ')} (${entry.problem || 'see the run page'}).`;
  } catch (e2) {
    /* fall through */
  }
  return `Replay ${replayId} of run ${runId} was not found.`;
}

// ------------------------------------------------------------------ is it a replay?
// A fetched file is checked before the player uses it: a URL can name any JSON file of
// the site (`?replay=../windows`), and a damaged or foreign file must give a sentence on
// the page, never an exception in the middle of drawing.

export class ReplayFormatError extends Error {}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const PIECE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.json$/;

function checkFrames(frames, bad) {
  if (!Array.isArray(frames)) bad('it has no list of frames');
  frames.forEach((f, i) => {
    if (!isObject(f) || !isObject(f.rs)) bad(`frame ${i} is not a replay frame`);
    if (f.events !== undefined && !(Array.isArray(f.events) && f.events.every((e) => isObject(e) && typeof e.type === 'string'))) {
      bad(`the events of frame ${i} are malformed`);
    }
  });
}

// Throws ReplayFormatError naming `what` unless `doc` is a replay document the player can show.
export function checkReplay(doc, what) {
  const bad = (why) => { throw new ReplayFormatError(`${what} is not a replay the player can show: ${why}.`); };
  if (!isObject(doc)) bad('the file is not a JSON object');
  if (doc.schema !== 1) bad(`its schema is ${JSON.stringify(doc.schema ?? null).slice(0, 20)}, not 1`);
  if (!Array.isArray(doc.frames) || !doc.frames.length) bad('it has no frames');
  checkFrames(doc.frames, bad);
  const n = doc.n_frames ?? doc.frames.length;
  if (!Number.isInteger(n) || n < doc.frames.length) bad('its frame count does not match its frames');
  const parts = doc.parts ?? [];
  if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string' && PIECE_NAME.test(p))) bad('its list of parts is malformed');
  if (!parts.length && n !== doc.frames.length) bad(`it says ${n} frames but holds ${doc.frames.length}`);
  if (doc.index !== undefined && !(typeof doc.index === 'string' && PIECE_NAME.test(doc.index))) bad('its index file name is malformed');
  if (doc.events !== undefined && !(Array.isArray(doc.events) && doc.events.length === n)) bad('its event list does not cover every frame');
  if (doc.series !== undefined && doc.series !== null && !isObject(doc.series)) bad('its series are malformed');
  if (doc.action_names !== undefined && !Array.isArray(doc.action_names)) bad('its action names are malformed');
  return doc;
}

// A part of a long replay: frames `first`.. in order.
export function checkReplayPart(part, first, what) {
  const bad = (why) => { throw new ReplayFormatError(`${what} is not a part of this replay: ${why}.`); };
  if (!isObject(part) || part.schema !== 1) bad('the file is not a replay part');
  if (part.first !== first) bad(`it starts at frame ${String(part.first).slice(0, 20)}, not ${first}`);
  if (!Array.isArray(part.frames) || !part.frames.length) bad('it has no frames');
  checkFrames(part.frames, bad);
  return part;
}

// A long replay's index: the strips' series and every frame's event types.
export function checkReplayIndex(index, n, what) {
  const bad = (why) => { throw new ReplayFormatError(`${what} is not this replay's index: ${why}.`); };
  if (!isObject(index) || index.schema !== 1 || index.n_frames !== n) bad('it does not describe this replay\'s frames');
  if (!Array.isArray(index.events) || index.events.length !== n || !index.events.every(Array.isArray)) bad('its event list is malformed');
  if (index.series !== null && index.series !== undefined && !isObject(index.series)) bad('its series are malformed');
  return index;
}

function patch(prev, delta) {
  if (Array.isArray(prev) && delta && typeof delta === 'object' && !Array.isArray(delta) && delta.$l) {
    const out = prev.slice();
    for (const [i, d] of Object.entries(delta.$l)) out[Number(i)] = patch(prev[Number(i)], d);
    return out;
  }
  if (delta && typeof delta === 'object' && !Array.isArray(delta) && prev && typeof prev === 'object' && !Array.isArray(prev)) {
    const out = { ...prev };
    for (const key of Object.keys(delta)) {
      if (key === '$del') {
        for (const k of delta[key]) delete out[k];
      } else {
        out[key] = patch(prev[key], delta[key]);
      }
    }
    return out;
  }
  return delta;
}

// Full frames, rebuilt from the deltas on demand: frames 0..i are patched the first time
// frame i is asked for (sequential playback costs one patch per frame; startup none).
// A long replay comes in parts (doc.parts): addPart() appends them in order; until a
// frame's part has arrived, get() returns undefined and `loaded` says how far it goes.
export class FrameStore {
  constructor(doc) {
    this.doc = doc;
    this.raw = doc.frames.slice();
    this.total = doc.n_frames ?? doc.frames.length;
    this.names = doc.action_names || [];
    this.full = [];
    this.rs = null;
    this.truth = null;
    this.valid = null;
  }

  get length() { return this.total; }

  get loaded() { return this.raw.length; }

  addPart(part) {
    if (part.first !== this.raw.length) throw new ReplayFormatError(`replay part starting at ${part.first} arrived out of order`);
    for (const f of part.frames) this.raw.push(f);
  }

  // the event types of frame i (known for every frame, loaded or not)
  types(i) {
    if (this.doc.events) return this.doc.events[i] || [];
    if (this.doc.index) return []; // a long replay's index has not arrived yet
    const f = this.raw[i];
    return f && f.events ? f.events.map((e) => e.type) : [];
  }

  get(i) {
    if (i < 0 || i >= this.raw.length) return undefined;
    for (let k = this.full.length; k <= i; k++) this.full.push(this.build(k));
    return this.full[i];
  }

  build(i) {
    const f = this.raw[i];
    this.rs = withDerived(this.rs === null ? f.rs : patch(this.rs, f.rs));
    if (f.tr !== undefined) this.truth = this.truth === null ? f.tr : patch(this.truth, f.tr);
    if (f.valid !== undefined) this.valid = f.valid;
    return {
      index: i, t: f.t, action: f.action,
      action_name: f.action === null || f.action === undefined ? null : (this.names[f.action] || `#${f.action}`),
      reward: f.reward || 0, dt: f.dt || 0, invalid: !!f.invalid, events: f.events || [], probs: f.probs || null,
      valid: this.valid, rs: this.rs, truth: this.truth,
    };
  }
}

// asteroids[].value_est is left out of the JSON (doc.derived): value at current prices.
function withDerived(rs) {
  const rocks = rs && rs.asteroids;
  if (!rocks || !rocks.length) return rs;
  const price = (rs.market && rs.market.price) || [];
  const asteroids = rocks.map((a) => {
    let v = 0;
    (a.comp_est || []).forEach((c, k) => { v += c * (price[k] || 0); });
    return { ...a, value_est: Math.round(v * 100) / 100 };
  });
  return { ...rs, asteroids };
}

export const MARKER_TYPES = {
  end: { priority: 10, color: '#ffffff', label: 'end' },
  fracture: { priority: 9, color: '#ffb36b', label: 'fracture' },
  pirate: { priority: 8, color: '#ff4d4d', label: 'pirates' },
  overheat: { priority: 7, color: '#ff6b3d', label: 'overheat' },
  dock: { priority: 6, color: '#ffd36b', label: 'dock' },
  sell: { priority: 5, color: '#7dff9b', label: 'sell' },
  travel: { priority: 4, color: '#8fb8ff', label: 'travel' },
  hazard_damage: { priority: 3, color: '#c77dff', label: 'hazard' },
  scan: { priority: 2, color: '#78dcff', label: 'scan' },
  mine: { priority: 1, color: '#6be39a', label: 'mining' },
};

// At most `buckets` markers: per bucket of the timeline the most important event;
// runs of the same event (hazard, mining) mark only where they start.
// At most `buckets` markers over n frames (typesAt(i): event types of frame i): per
// bucket of the timeline the most important event; runs of the same event (hazard,
// mining) mark only where they start.
export function eventMarkers(n, typesAt, buckets = 240) {
  const best = new Map();
  let prevTypes = new Set();
  for (let i = 0; i < n; i++) {
    const types = new Set(typesAt(i));
    for (const type of types) {
      const spec = MARKER_TYPES[type];
      if (!spec) continue;
      if ((type === 'hazard_damage' || type === 'mine' || type === 'scan') && prevTypes.has(type)) continue;
      const b = Math.floor((i / Math.max(1, n)) * buckets);
      const cur = best.get(b);
      if (!cur || spec.priority > cur.priority) best.set(b, { frame: i, type, priority: spec.priority, color: spec.color, label: spec.label });
    }
    prevTypes = types;
  }
  return [...best.values()].sort((a, b) => a.frame - b.frame);
}

export function describeEvent(e) {
  const parts = [e.type.replace(/_/g, ' ')];
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type') continue;
    parts.push(`${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`);
  }
  return parts.join(' · ');
}
