// A sweep's Constellation page (docs/tuning.md#reading-the-constellation-page): every
// trial as a point of score against cost with the Pareto front, each setting against the
// score (log axes where the space is log), parallel coordinates of all settings coloured
// by score, the best trial's learning curve against the default's, and side-by-side links
// into the timelapse (all trials played the sweep's showcase seed). Plain SVG; the data is
// data/sweeps/{sweep}.json, written by the site build from the sweep's log
// (pipeline/store/sweeps.py). Hover a point or line: the trial's full config. Click: its run.

import { el, fetchJSON, fmt, showMessage, url } from './util.js';

const NS = 'http://www.w3.org/2000/svg';
const message = document.querySelector('.cs-message');
const root = document.getElementById('constellation');
const tip = document.querySelector('.cs-tip');
// Every plot is drawn at its container's width in pixels (one SVG unit = one pixel, so
// text keeps its size); W and H are set by plot() before each one is drawn.
let W = 640;
let H = 300;
const M = { l: 64, r: 40, t: 14, b: 40 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// -- scales and ticks -------------------------------------------------------------------
function scale(values, lo, hi, log) {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (log) { min = Math.log10(min); max = Math.log10(max); }
  if (!(max > min)) { const pad = Math.abs(min) * 0.1 || 1; min -= pad; max += pad; }
  const pad = (max - min) * 0.05;
  min -= pad; max += pad;
  const f = (v) => lo + ((log ? Math.log10(v) : v) - min) / (max - min) * (hi - lo);
  f.log = log;
  f.domain = [log ? 10 ** min : min, log ? 10 ** max : max];
  return f;
}

function ticks(s, n = 5) {
  const [a, b] = s.domain;
  if (s.log) {
    // 1-2-5 per decade; over more than two decades the labels of a small chart run into
    // each other ("0.0010.002"), so then only the powers of ten
    const decades = (mantissas) => {
      const out = [];
      for (let e = Math.floor(Math.log10(a)); e <= Math.ceil(Math.log10(b)); e++) {
        for (const m of mantissas) { const v = m * 10 ** e; if (v >= a && v <= b) out.push(v); }
      }
      return out;
    };
    let out = decades([1, 2, 5]);
    if (out.length > n && decades([1]).length >= 2) out = decades([1]);
    return out.length >= 2 ? out : [a, b];
  }
  const step0 = (b - a) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(a / step) * step; v <= b; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function short(v) {
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);   // 8192 games, not 8190
  return String(+v.toPrecision(3));
}

function frame(box, x, y, xLabel, yLabel, xNames) {
  const g = svg('g', { class: 'cs-axis' });
  for (const v of ticks(y)) {
    g.append(svg('line', { class: 'cs-grid-line', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
    g.append(svg('text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, short(v)));
  }
  const xs = xNames ? xNames.map((_, i) => i) : ticks(x);
  for (const v of xs) g.append(svg('text', { x: x(v), y: H - M.b + 16, 'text-anchor': 'middle' }, xNames ? xNames[v] : short(v)));
  g.append(svg('line', { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  g.append(svg('line', { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  g.append(svg('text', { class: 'cs-label', x: (M.l + W - M.r) / 2, y: H - 6, 'text-anchor': 'middle' }, xLabel));
  g.append(svg('text', { class: 'cs-label', x: 12, y: (M.t + H - M.b) / 2, transform: `rotate(-90 12 ${(M.t + H - M.b) / 2})`, 'text-anchor': 'middle' }, yLabel));
  box.append(g);
}

function plot(container, label) {
  W = Math.max(320, Math.round(container.clientWidth || 640));
  H = Math.round(Math.min(360, Math.max(220, W * 0.42)));
  const box = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label });
  container.append(box);
  return box;
}

// -- hover and click --------------------------------------------------------------------
function showTip(doc, t, ev) {
  const rows = [['trial', `${t.trial}${t.default ? ' (the default)' : ''}${t.trial === doc.best ? ' (best)' : ''}`],
    ['run', t.run_id], ['status', t.status], ['score', fmt(t.score, 0)], [`cost (${doc.cost_metric})`, fmt(t.cost, 1)],
    ['env steps', fmt(t.env_steps, 0)], ['mean net profit', fmt(t.mean_net_profit, 0)],
    ['survival', t.survival_rate === null ? '–' : `${(100 * t.survival_rate).toFixed(0)}%`]];
  for (const [k, v] of Object.entries(t.settings)) rows.push([k, typeof v === 'number' ? short(v) : String(v)]);
  for (const [k, v] of Object.entries(doc.base || {})) rows.push([`${k} (all trials)`, String(v)]);
  if (t.reason) rows.push(['note', t.reason]);
  tip.replaceChildren(el('table', {}, ...rows.map(([k, v]) => el('tr', {}, el('td', { class: 'muted' }, k), el('td', {}, v)))));
  tip.hidden = false;
  const x = Math.min(ev.clientX + 14, window.innerWidth - 370);
  tip.style.left = `${Math.max(0, x)}px`;
  tip.style.top = `${Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8)}px`;
}

function interactive(doc, t, shape) {
  shape.addEventListener('mousemove', (ev) => showTip(doc, t, ev));
  shape.addEventListener('mouseleave', () => { tip.hidden = true; });
  shape.dataset.trial = String(t.trial);
  if (!t.run_url) return shape;
  const link = svg('a', { href: url(t.run_url), class: 'cs-run-link' });
  link.append(shape);
  return link;
}

function point(doc, t, cx, cy) {
  const cls = ['cs-point', t.on_front ? 'on-front' : '', t.default ? 'is-default' : '', t.trial === doc.best ? 'is-best' : ''];
  return interactive(doc, t, svg('circle', { class: cls.join(' ').trim(), cx, cy, r: 6 }));
}

// -- the views ---------------------------------------------------------------------------
function scoreCost(doc, done) {
  const box = plot(document.getElementById('cs-score-cost'), 'score against cost');
  const costs = done.map((t) => t.cost);
  const logX = costs.every((c) => c > 0) && Math.max(...costs) / Math.min(...costs) > 20;
  const x = scale(costs, M.l, W - M.r, logX);
  const y = scale(done.map((t) => t.score), H - M.b, M.t, false);
  frame(box, x, y, `cost (${doc.cost_metric.replace('_', ' ')}${logX ? ', log' : ''})`, 'score');
  const front = doc.front.map((id) => done.find((t) => t.trial === id));
  if (front.length) {
    let d = `M${x(front[0].cost)},${y(front[0].score)}`;
    for (const t of front.slice(1)) d += ` H${x(t.cost)} V${y(t.score)}`;
    box.append(svg('path', { class: 'cs-front', d }));
  }
  for (const t of done) box.append(point(doc, t, x(t.cost), y(t.score)));
}

function settingViews(doc, done) {
  const grid = document.getElementById('cs-settings');
  for (const e of doc.space) {
    const card = el('div', { class: 'cs-setting', dataset: { setting: e.name } });
    grid.append(card);
    const box = plot(card, `${e.name} against the score`);
    const y = scale(done.map((t) => t.score), H - M.b, M.t, false);   // after plot(): H is this chart's
    const names = e.values ? e.values.map(String) : null;
    const at = (t) => (names ? e.values.indexOf(t.settings[e.name]) : t.settings[e.name]);
    const x = names ? scale([0, names.length - 1], M.l + 30, W - M.r - 30, false)
      : scale([e.min, e.max], M.l, W - M.r, e.log);
    x.log = !names && e.log;
    frame(box, x, y, `${e.name}${x.log ? ' (log)' : ''}`, 'score', names);
    for (const t of done) box.append(point(doc, t, x(at(t)), y(t.score)));
  }
}

function colour(f) {   // 0 (low score): blue, 1 (high): orange
  const a = [84, 160, 255];
  const b = [255, 159, 67];
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * f)).join(',')})`;
}

function parallel(doc, done) {
  const box = plot(document.getElementById('cs-parallel'), 'parallel coordinates');
  const axes = [...doc.space.map((e) => ({ e, name: e.name })), { name: 'score' }];
  const step = (W - M.l - M.r) / Math.max(1, axes.length - 1);
  const scales = axes.map((a) => {
    if (!a.e) return scale(done.map((t) => t.score), H - M.b, M.t, false);
    if (a.e.values) return scale([0, a.e.values.length - 1], H - M.b, M.t, false);
    return scale([a.e.min, a.e.max], H - M.b, M.t, a.e.log);
  });
  const value = (a, t) => (!a.e ? t.score : a.e.values ? a.e.values.indexOf(t.settings[a.name]) : t.settings[a.name]);
  const scores = done.map((t) => t.score);
  const lo = Math.min(...scores);
  const span = Math.max(...scores) - lo || 1;
  for (const t of [...done].sort((p, q) => p.score - q.score)) {
    const d = axes.map((a, i) => `${i ? 'L' : 'M'}${M.l + i * step},${scales[i](value(a, t))}`).join(' ');
    box.append(interactive(doc, t, svg('path', { class: 'cs-line', d, stroke: colour((t.score - lo) / span) })));
  }
  axes.forEach((a, i) => {
    const xPos = M.l + i * step;
    const g = svg('g', { class: 'cs-axis' });
    g.append(svg('line', { x1: xPos, x2: xPos, y1: M.t, y2: H - M.b }));
    const labelY = H - M.b + 16 + (i % 2) * 13;   // every other name a line lower: long names do not collide
    g.append(svg('text', { class: 'cs-title', x: xPos, y: labelY, 'text-anchor': 'middle' }, a.name.replaceAll('_', ' ')));
    const [top, bottom] = [scales[i].domain[1], scales[i].domain[0]];
    const label = (v) => (a.e && a.e.values ? String(a.e.values[Math.round(v)] ?? '') : short(v));
    g.append(svg('text', { x: xPos + 3, y: M.t + 10 }, label(a.e && a.e.values ? a.e.values.length - 1 : top)));
    g.append(svg('text', { x: xPos + 3, y: H - M.b - 4 }, label(a.e && a.e.values ? 0 : bottom)));
    box.append(g);
  });
}

function curves(doc) {
  const container = document.getElementById('cs-curves');
  const lines = [['best', doc.best, '#ff9f43'], ['default', doc.default, '#54a0ff']]
    .filter(([, id]) => id !== null && doc.curves[String(id)])
    .map(([name, id, c]) => ({ name, id, c, data: doc.curves[String(id)] }));
  const pts = (l) => l.data.env_steps_total.map((s, i) => [s, l.data.net_profit_mean[i]]).filter(([s, v]) => s !== null && v !== null);
  const all = lines.flatMap(pts);
  if (!all.length) { container.append(el('p', { class: 'muted' }, 'No trial has closed a window yet.')); return; }
  const box = plot(container, 'learning curves');
  const x = scale(all.map((p) => p[0]), M.l, W - M.r, false);
  const y = scale(all.map((p) => p[1]), H - M.b, M.t, false);
  frame(box, x, y, 'env steps', 'mean net profit of the training episodes');
  for (const l of lines) {
    const p = pts(l);
    if (!p.length) continue;
    box.append(svg('path', { class: 'cs-curve', stroke: l.c, d: p.map(([s, v], i) => `${i ? 'L' : 'M'}${x(s)},${y(v)}`).join(' ') }));
    for (const [s, v] of p) box.append(svg('circle', { cx: x(s), cy: y(v), r: 3.5, fill: l.c }));
  }
  const same = doc.best === doc.default;
  container.append(el('p', { class: 'small' }, ...lines.map((l) => el('span', { style: { color: l.c, marginRight: '14px' } },
    `${l.name}: trial ${l.id}`)), same ? ' (the default is also the best trial)' : ''));
}

function sideBySide(doc) {
  const link = document.querySelector('.cs-side-link');
  if (doc.side_by_side_url) { link.href = url(doc.side_by_side_url); link.hidden = false; }
  const withRuns = doc.trials.filter((t) => t.run_url);
  const selA = document.getElementById('cs-a');
  const selB = document.getElementById('cs-b');
  for (const sel of [selA, selB]) sel.replaceChildren(...withRuns.map((t) => el('option', { value: t.run_id }, `trial ${t.trial}${t.score === null ? '' : ` (${Math.round(t.score)})`}`)));
  const byId = (id) => withRuns.find((t) => t.trial === id);
  if (byId(doc.best)) selA.value = byId(doc.best).run_id;
  if (byId(doc.worst)) selB.value = byId(doc.worst).run_id;
  const pick = document.querySelector('.cs-pick-link');
  const update = () => {
    pick.href = url(`timelapse/?run=${encodeURIComponent(selA.value)}&mode=side&a=latest&b=latest&run_b=${encodeURIComponent(selB.value)}&step=0`);
  };
  selA.addEventListener('change', update);
  selB.addEventListener('change', update);
  if (withRuns.length) update();
}

function table(doc) {
  const names = doc.space.map((e) => e.name);
  const head = ['trial', 'status', 'score', 'cost', 'env steps', 'net profit', 'survival', ...names, 'note'];
  const rows = doc.trials.map((t) => el('tr', { dataset: { trial: String(t.trial) } },
    el('td', {}, t.run_url ? el('a', { href: url(t.run_url) }, `${t.trial}`) : `${t.trial}`, t.default ? ' (default)' : '', t.trial === doc.best ? ' ★' : ''),
    el('td', {}, t.status + (t.early_stopped ? ' (stopped early)' : '') + (t.on_front ? ', front' : '')),
    el('td', { class: 'num' }, fmt(t.score, 0)), el('td', { class: 'num' }, fmt(t.cost, 1)),
    el('td', { class: 'num' }, fmt(t.env_steps, 0)), el('td', { class: 'num' }, fmt(t.mean_net_profit, 0)),
    el('td', { class: 'num' }, t.survival_rate === null ? '–' : `${(100 * t.survival_rate).toFixed(0)}%`),
    ...names.map((n) => el('td', { class: 'num' }, typeof t.settings[n] === 'number' ? short(t.settings[n]) : String(t.settings[n]))),
    el('td', { class: 'small' }, t.reason || '')));
  document.getElementById('cs-table').replaceChildren(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

async function main() {
  let doc;
  try {
    doc = await fetchJSON(root.dataset.url);
  } catch (err) {
    showMessage(message, `The sweep's data cannot be read: ${err.message}`);
    return;
  }
  document.querySelector('.cs-score-text').textContent = `Score: ${doc.score_text}; cost: ${doc.cost_metric.replace('_', ' ')} of training. The dashed line is the Pareto front; the white ring is the default, the gold one the best trial.`;
  const done = doc.trials.filter((t) => t.status === 'finished' && typeof t.score === 'number' && typeof t.cost === 'number');
  if (!done.length) showMessage(message, 'No trial of this sweep has been scored yet.', 'warn');
  else {
    scoreCost(doc, done);
    settingViews(doc, done);
    parallel(doc, done);
  }
  curves(doc);
  sideBySide(doc);
  table(doc);
  window.__constellation = { doc, ready: true };
  root.dataset.ready = 'true';
}

main();
