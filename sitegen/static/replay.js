// The compact replay JSON (sitegen/replaydata.py) back into full frames, and the
// timeline's event markers.

function patch(prev, delta) {
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

export function decodeFrames(doc) {
  const names = doc.action_names || [];
  const frames = new Array(doc.frames.length);
  let rs = null, truth = null, valid = null;
  doc.frames.forEach((f, i) => {
    rs = rs === null ? f.rs : patch(rs, f.rs);
    if (f.tr !== undefined) truth = truth === null ? f.tr : patch(truth, f.tr);
    if (f.valid !== undefined) valid = f.valid;
    frames[i] = {
      index: i, t: f.t, action: f.action, action_name: f.action === null || f.action === undefined ? null : (names[f.action] || `#${f.action}`),
      reward: f.reward || 0, dt: f.dt || 0, invalid: !!f.invalid, events: f.events || [], probs: f.probs || null,
      valid, rs, truth,
    };
  });
  return frames;
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
export function eventMarkers(frames, buckets = 240) {
  const n = frames.length;
  const best = new Map();
  let prevTypes = new Set();
  for (let i = 0; i < n; i++) {
    const types = new Set(frames[i].events.map((e) => e.type));
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
