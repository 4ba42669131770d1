// The timelapse (docs/site.md#timelapse): every window's policy plays the run's showcase
// seed, so its `showcase` replays are one world. One window at a time: a window slider
// switches replays at the same step. Side by side: two windows (or two runs with the
// same showcase seed) in lockstep by step, the first step where their actions differ
// marked on both timelines, and both cumulative returns and net profits overlaid.
// The URL (?run=&mode=&a=&b=&run_b=&step=) holds the whole view. Both lanes are the
// site's replay player (player.js): one drawing code path.

import { el, fetchJSON, fmt, params, showMessage } from './util.js';
import { loadAssets } from './assets.js';
import { ReplayPlayer } from './player.js';

const $ = (id) => document.getElementById(id);
const message = document.querySelector('.timelapse-message');
const q = params();
const state = {
  run: q.get('run') || '', runB: q.get('run_b') || '', mode: q.get('mode') === 'side' ? 'side' : 'slider',
  a: q.get('a'), b: q.get('b'), step: 0, notes: [], lists: {}, runs: [], diverge: null, token: 0,
};
{
  const s = Number(q.get('step'));
  state.step = Number.isInteger(s) && s >= 0 ? s : 0;
  if (q.get('step') !== null && !(Number.isInteger(s) && s >= 0)) state.notes.push(`Step "${q.get('step')}" is not a step number; starting at step 0.`);
}

const assets = await loadAssets();
let syncing = false;
// A leads; B follows A's frame, and a click on B's timeline or strips moves A too.
const A = new ReplayPlayer($('player-a'), { assets, onFrame: (i) => follow(B, i) });
const B = new ReplayPlayer($('player-b'), { assets, keys: false, onFrame: (i) => { if (!syncing) A.pause(); follow(A, i); } });
window.__timelapse = { A, B, state };

function follow(other, i) {
  if (syncing) return;
  syncing = true;
  try {
    if (state.mode === 'side' && other.frames.length) other.seek(i, { sync: false });
  } finally {
    syncing = false;
  }
  state.step = i;
  drawOverlay();
  syncURL(false);
}

// -- data ---------------------------------------------------------------------------
async function showcases(runId) {
  if (!state.lists[runId]) {
    const cat = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays.json`);
    state.lists[runId] = cat.replays.filter((r) => (r.tags || []).includes('showcase') && r.status === 'ok')
      .sort((x, y) => x.window_id - y.window_id);
  }
  return state.lists[runId];
}

// The showcase replay of the window asked for, else the nearest window that has one (and a note).
function pick(list, wanted, runId, fallback) {
  if (wanted === null || wanted === undefined || wanted === '') wanted = fallback;
  if (wanted === 'latest') return list[list.length - 1];
  if (wanted === 'first') return list[0];
  const w = Number(wanted);
  if (!Number.isInteger(w) || w < 0) {
    state.notes.push(`"${wanted}" is not a window number; showing window ${list[0].window_id}.`);
    return list[0];
  }
  let best = list[0];
  for (const r of list) if (Math.abs(r.window_id - w) < Math.abs(best.window_id - w)) best = r;
  if (best.window_id !== w) {
    state.notes.push(`Window ${w} of run ${runId} has no showcase replay; showing window ${best.window_id}, the nearest that has one.`);
  }
  return best;
}

// -- URL ------------------------------------------------------------------------------
let lastSync = 0;
function viewURL() {
  const u = new URLSearchParams({ run: state.run, mode: state.mode, a: String(state.a) });
  if (state.mode === 'side') {
    u.set('b', String(state.b));
    if (state.runB && state.runB !== state.run) u.set('run_b', state.runB);
  }
  u.set('step', String(state.step));
  return `${window.location.pathname}?${u}`;
}

function syncURL(force) {
  const now = performance.now();
  if (!force && A.playing && now - lastSync < 500) return;   // while playing: twice a second
  lastSync = now;
  const link = viewURL();
  $('tl-link').href = link;
  window.history.replaceState(null, '', link);
}

// -- loading -------------------------------------------------------------------------
async function loadInto(player, runId, entry, step) {
  const ok = await player.load(runId, entry.replay_id, { frame: null });
  if (ok) player.seek(Math.min(step, player.frames.length - 1), { sync: false });
  return ok;
}

function say() {
  showMessage(message, state.notes.join(' '), 'warn');
}

async function render() {
  const token = ++state.token;
  const step = state.step;
  const wasPlaying = A.playing;
  document.querySelectorAll('input[name="tl-mode"]').forEach((r) => { r.checked = r.value === state.mode; });
  document.querySelector('.tl-slider-box').hidden = state.mode !== 'slider';
  document.querySelector('.tl-side-box').hidden = state.mode !== 'side';
  $('lane-b').hidden = state.mode !== 'side';
  $('overlay').hidden = state.mode !== 'side';
  $('lanes').classList.toggle('side-by-side', state.mode === 'side');
  const list = await showcases(state.run).catch((err) => { state.notes.push(`Could not load run ${state.run}: ${err.message}`); return []; });
  if (token !== state.token) return;
  if (!list.length) {
    state.notes.push(`Run ${state.run} has no showcase replays (it was trained before every window played a showcase seed).`);
    say();
    document.body.dataset.state = 'empty';
    return;
  }
  const a = pick(list, state.a, state.run, state.mode === 'side' ? 'first' : 'latest');
  state.a = a.window_id;
  $('tl-window').max = String(list.length - 1);
  $('tl-window').value = String(list.indexOf(a));
  $('tl-window-label').textContent = String(a.window_id);
  $('tl-a').replaceChildren(...list.map((r) => el('option', { value: String(r.window_id) }, `window ${r.window_id}`)));
  $('tl-a').value = String(a.window_id);
  $('lane-a-title').textContent = `${state.mode === 'side' ? 'A: ' : ''}run ${state.run} · window ${a.window_id}`;
  if (state.mode === 'slider') {
    say();
    await loadInto(A, state.run, a, step);
    if (token !== state.token) return;
    if (wasPlaying) A.play();
    state.step = A.index;
    document.body.dataset.state = 'ready';
    document.body.dataset.window = String(a.window_id);
    syncURL(true);
    return;
  }
  state.runB = state.runB || state.run;
  const listB = await showcases(state.runB).catch(() => []);
  if (token !== state.token) return;
  if (!listB.length) {
    state.notes.push(`Run ${state.runB} has no showcase replays.`);
    say();
    return;
  }
  const b = pick(listB, state.b, state.runB, 'latest');
  state.b = b.window_id;
  $('tl-b').replaceChildren(...listB.map((r) => el('option', { value: String(r.window_id) }, `window ${r.window_id}`)));
  $('tl-b').value = String(b.window_id);
  $('tl-run-b').value = state.runB;
  $('lane-b-title').textContent = `B: run ${state.runB} · window ${b.window_id}`;
  if (state.runB !== state.run && String(a.seed) !== String(b.seed)) {
    state.notes.push(`Runs ${state.run} and ${state.runB} have different showcase seeds: the two lanes are different worlds.`);
  }
  say();
  await Promise.all([loadInto(A, state.run, a, step), loadInto(B, state.runB, b, step)]);
  if (token !== state.token) return;
  A.seek(Math.min(step, A.frames.length - 1), { sync: false });
  markDivergence();
  overlayPicture = null;
  drawOverlay();
  if (wasPlaying) A.play();
  document.body.dataset.state = 'ready';
  syncURL(true);
}

// -- side by side: divergence and overlay ---------------------------------------------
function firstDivergence(x, y) {
  const n = Math.min(x.length, y.length);
  for (let i = 1; i < n; i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? null : n;   // same actions until one episode ended
}

function markDivergence() {
  const sa = A.doc && A.doc.series;
  const sb = B.doc && B.doc.series;
  const note = $('diverge-note');
  state.diverge = sa && sb ? firstDivergence(sa.action, sb.action) : null;
  for (const p of [A, B]) {
    p.root.dataset.diverge = state.diverge === null ? '' : String(state.diverge);
    p.root.querySelectorAll('.diverge-mark').forEach((m) => m.remove());
    if (state.diverge === null || !p.frames.length) continue;
    const n = Math.max(1, p.frames.length - 1);
    const at = Math.min(state.diverge, p.frames.length - 1);
    p.dom.markers.append(el('button', {
      type: 'button', class: 'marker diverge-mark', title: `step ${state.diverge}: the first different action`,
      'aria-label': `jump to step ${state.diverge}, the first different action`, dataset: { frame: String(at) },
      style: { left: `${(at / n) * 100}%` }, onclick: () => { A.pause(); A.seek(state.diverge); },
    }));
  }
  if (!sa || !sb) {
    note.textContent = 'These replays carry no per-step series (rebuild the site): no divergence or curves.';
  } else if (state.diverge === null) {
    note.textContent = `A and B take the same action at every step (${sa.action.length - 1} steps).`;
  } else {
    const names = (A.doc && A.doc.action_names) || [];
    const act = (s) => (s.action[state.diverge] === undefined || s.action[state.diverge] === null ? 'nothing (episode over)'
      : names[s.action[state.diverge]] || `#${s.action[state.diverge]}`);
    note.textContent = `First different action at step ${state.diverge}: A ${act(sa)}, B ${act(sb)}.`;
  }
}

function cumulative(rewards) {
  let total = 0;
  return rewards.map((r) => (total += r || 0));
}

let overlayPicture = null;
function drawOverlay() {
  if (state.mode !== 'side') return;
  const c = $('overlay-chart');
  const sa = A.doc && A.doc.series;
  const sb = B.doc && B.doc.series;
  const ctx = c.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(c.clientWidth * dpr)) || c.width;
  const h = Math.max(1, Math.round(c.clientHeight * dpr)) || c.height;
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; overlayPicture = null; }
  const n = Math.max(sa ? sa.reward.length : 1, sb ? sb.reward.length : 1);
  const half = w / 2;
  const x = (i, left) => left + 6 * dpr + (n > 1 ? i / (n - 1) : 0) * (half - 12 * dpr);
  if (!overlayPicture) {
    ctx.clearRect(0, 0, w, h);
    if (sa && sb) {
      const panels = [[cumulative(sa.reward), cumulative(sb.reward), 'cumulative return', 0],
        [sa.net_profit, sb.net_profit, 'net profit', half]];
      for (const [ya, yb, title, left] of panels) {
        const vals = [...ya, ...yb].filter((v) => Number.isFinite(v));
        let lo = Math.min(0, ...vals);
        let hi = Math.max(0, ...vals);
        if (hi - lo < 1e-9) hi = lo + 1;
        // the panel's title and last values: on two lines where one does not fit (a phone)
        ctx.fillStyle = '#8f9bb8';
        ctx.font = `${11 * dpr}px sans-serif`;
        const values = `A ${fmt(ya[ya.length - 1], 1)} · B ${fmt(yb[yb.length - 1], 1)}`;
        let top = 16 * dpr;
        if (ctx.measureText(`${title}: ${values}`).width > half - 12 * dpr) {
          ctx.fillText(title, left + 6 * dpr, 11 * dpr);
          ctx.fillText(values, left + 6 * dpr, 24 * dpr);
          top = 30 * dpr;
        } else {
          ctx.fillText(`${title}: ${values}`, left + 6 * dpr, 11 * dpr);
        }
        const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (h - top - 8 * dpr);
        ctx.strokeStyle = 'rgba(140,170,255,0.18)';
        ctx.beginPath(); ctx.moveTo(left, y(0)); ctx.lineTo(left + half, y(0)); ctx.stroke();
        for (const [series, color] of [[ya, '#54a0ff'], [yb, '#ff9f43']]) {
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5 * dpr;
          ctx.beginPath();
          series.forEach((v, i) => { if (i === 0) ctx.moveTo(x(i, left), y(v ?? 0)); else ctx.lineTo(x(i, left), y(v ?? 0)); });
          ctx.stroke();
        }
        if (state.diverge !== null) {
          ctx.fillStyle = '#ff4d4d';
          ctx.fillRect(x(state.diverge, left) - dpr, 14 * dpr, 2 * dpr, h - 14 * dpr);
        }
      }
    }
    overlayPicture = ctx.getImageData(0, 0, w, h);
  } else {
    ctx.putImageData(overlayPicture, 0, 0);
  }
  ctx.fillStyle = '#ffffff';
  for (const left of [0, half]) ctx.fillRect(x(state.step, left), 14 * dpr, Math.max(1, dpr), h - 14 * dpr);
}

// -- controls ------------------------------------------------------------------------
function restart(changes) {
  Object.assign(state, changes);
  state.notes = [];
  render();
}

$('tl-window').addEventListener('input', async () => {
  const list = await showcases(state.run);
  const entry = list[Number($('tl-window').value)];
  if (entry) restart({ a: entry.window_id, step: A.frames.length ? A.index : state.step });
});
document.querySelectorAll('input[name="tl-mode"]').forEach((r) => r.addEventListener('change', () => {
  if (r.checked) restart({ mode: r.value, step: A.frames.length ? A.index : state.step, b: state.b ?? null });
}));
$('tl-a').addEventListener('change', () => restart({ a: $('tl-a').value, step: A.index }));
$('tl-b').addEventListener('change', () => restart({ b: $('tl-b').value, step: A.index }));
$('tl-run-b').addEventListener('change', () => restart({ runB: $('tl-run-b').value, b: 'latest', step: A.index }));
$('tl-run').addEventListener('change', () => restart({ run: $('tl-run').value, runB: '', a: null, b: null, step: 0 }));
$('tl-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  syncURL(true);
  if (navigator.clipboard) navigator.clipboard.writeText(new URL(viewURL(), window.location.href).href).catch(() => {});
});
window.addEventListener('resize', () => { overlayPicture = null; drawOverlay(); });

// -- start ---------------------------------------------------------------------------
try {
  const runs = await fetchJSON('data/runs.json');
  state.runs = runs.runs || [];
  const opts = () => state.runs.map((r) => el('option', { value: r.run_id }, r.run_id));
  $('tl-run').replaceChildren(...opts());
  $('tl-run-b').replaceChildren(...opts());
  if (!state.run) state.run = (runs.latest && runs.latest.run_id) || (state.runs[0] && state.runs[0].run_id) || '';
  if (!state.runs.some((r) => r.run_id === state.run)) {
    state.notes.push(`Unknown run "${state.run}": it is not on this site.`);
    say();
    document.body.dataset.state = 'empty';
  } else {
    $('tl-run').value = state.run;
    if (state.runB && !state.runs.some((r) => r.run_id === state.runB)) {
      state.notes.push(`Unknown run "${state.runB}"; B plays run ${state.run}.`);
      state.runB = '';
    }
    await render();
  }
} catch (err) {
  state.notes.push(`Could not load the runs: ${err.message}`);
  say();
}
