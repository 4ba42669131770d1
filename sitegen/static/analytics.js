// Analytics: one uPlot chart per window metric, across windows; a second run can be
// overlaid. uPlot comes from npm (pinned in package.json), copied to /vendor/.
import { el, fetchJSON, params, showMessage, url } from './util.js';

const message = document.querySelector('.analytics-message');
const status = document.getElementById('analytics-status');
const selA = document.getElementById('run-a');
const selB = document.getElementById('run-b');
const selX = document.getElementById('x-axis');
const box = document.getElementById('charts');
const COLORS = ['#ff9f43', '#54a0ff'];
const REF_COLORS = ['#a4b0be', '#2ed573', '#eccc68', '#ff6b81', '#70a1ff'];
const cache = new Map();
window.__charts = [];

let uPlot = null;
try {
  uPlot = (await import(url('vendor/uPlot.esm.js'))).default;
} catch (err) {
  showMessage(message, 'The charting library (uPlot) is not installed on this site: run `make site` (npm ci) and build again.');
}

async function windows(runId) {
  if (!cache.has(runId)) cache.set(runId, fetchJSON(`data/runs/${encodeURIComponent(runId)}/windows.json`));
  return cache.get(runId);
}

// Join two runs' columns on a shared x axis (nulls where a run has no window there).
function join(xKey, metric, docs) {
  const xs = new Set();
  for (const d of docs) for (const x of d.columns[xKey]) if (x !== null) xs.add(x);
  const xAxis = [...xs].sort((a, b) => a - b);
  const series = docs.map((d) => {
    const m = new Map();
    d.columns[xKey].forEach((x, i) => { if (x !== null) m.set(x, d.columns[metric][i]); });
    return xAxis.map((x) => (m.has(x) ? m.get(x) : null));
  });
  return [xAxis, ...series];
}

function compact(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toPrecision(4));
}

// Rates (survival, stranded, destroyed) share one scale, 0–100 %, whatever their values:
// uPlot's automatic range for a flat 0 is 0–100 and for a flat 1 about 0–2.
const isRate = (metric) => metric.endsWith('_rate');
const percent = (v) => (v === null || v === undefined ? v : v * 100);

// Window ids are whole numbers: ticks only at whole steps.
const WINDOW_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

function chartWidth() {
  const w = box.clientWidth || 900;
  const cols = w > 1100 ? 3 : w > 700 ? 2 : 1;
  return Math.floor((w - (cols - 1) * 16) / cols) - 20; // minus the card's padding and border
}

async function draw() {
  if (!uPlot) return;
  const a = selA.value, b = selB.value;
  const runs = [a, ...(b && b !== a ? [b] : [])];
  let docs;
  try {
    docs = await Promise.all(runs.map(windows));
  } catch (err) {
    showMessage(message, `Could not load window metrics: ${err.message}`);
    return;
  }
  showMessage(message, '');
  for (const c of window.__charts) c.destroy();
  window.__charts = [];
  box.replaceChildren();
  const xKey = selX.value;
  const first = docs[0];
  status.textContent = `${first.n} windows${docs[1] ? ` vs ${docs[1].n}` : ''}`;
  if (!first.n) {
    showMessage(message, `Run ${a} has no closed window yet.`, 'info');
    return;
  }
  const width = chartWidth();
  const sync = uPlot.sync('windows');
  for (const metric of first.metrics) {
    if (metric === 'window_id' || metric === xKey) continue;
    const rate = isRate(metric);
    const data = join(xKey, metric, docs);
    if (rate) for (let i = 1; i < data.length; i++) data[i] = data[i].map(percent);
    const lastIdx = data[0].length - 1;
    const card = el('div', { class: 'chart', dataset: { metric } });
    const unit = rate ? '%' : ((first.units || {})[metric] || ''); // sitegen/metrics.py METRIC_UNITS
    const title = first.labels[metric] || metric;
    const said = unit && title.toLowerCase().includes(unit.toLowerCase()); // "Episodes (episodes)"
    card.append(el('h3', {}, title + (unit && !said ? ` (${unit})` : '')));
    card.dataset.unit = unit;
    box.append(card);
    const points = docs[0].columns[metric].filter((v) => v !== null).length;
    card.dataset.points = String(points);
    card.dataset.windows = String(first.n);
    const opts = {
      width, height: 190,
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
      scales: {
        // one window alone: w..w+1, not uPlot's 0..100 around a single point
        x: {
          time: false,
          ...(xKey === 'window_id' ? { range: (u, lo, hi) => (u.data[0].length === 1 ? [u.data[0][0], u.data[0][0] + 1] : [lo, hi]) } : {}),
        },
        ...(rate ? { y: { range: [0, 100] } } : {}),
      },
      legend: { show: true, live: true },
      // Without the cursor on a chart, its legend shows the latest window (not uPlot's "--").
      hooks: {
        ready: [(u) => u.setLegend({ idx: lastIdx })],
        setCursor: [(u) => { if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: lastIdx }); }],
      },
      axes: [
        {
          stroke: '#9fb0d0', grid: { stroke: 'rgba(160,180,220,0.12)' }, label: xKey === 'window_id' ? 'window' : 'env steps',
          ...(xKey === 'window_id' ? { incrs: WINDOW_INCRS } : {}),
          values: (u, splits) => splits.map((v) => (xKey === 'window_id' && !Number.isInteger(v) ? '' : compact(v))),
        },
        {
          stroke: '#9fb0d0', grid: { stroke: 'rgba(160,180,220,0.12)' }, size: 56,
          ...(unit ? { label: unit, labelSize: 16, labelFont: '11px system-ui, sans-serif' } : {}),
          values: (u, splits) => splits.map((v) => (rate ? `${compact(v)} %` : compact(v))),
        },
      ],
      series: [
        { label: xKey === 'window_id' ? 'window' : 'steps', value: (u, v) => (v === null || v === undefined ? '--' : compact(v)) },
        ...runs.map((r, i) => ({
          label: r, stroke: COLORS[i], width: 2, spanGaps: true,
          points: { show: data[0].length <= 300, size: 5, fill: COLORS[i] },
          value: (u, v) => (v === null || v === undefined ? '--' : rate ? `${v.toFixed(1)} %` : compact(v)),
        })),
      ],
    };
    // The benchmark's bots (`prospector benchmark` on run A): one dashed horizontal line each.
    const refs = (first.reference || {})[metric] || [];
    refs.forEach((ref, i) => {
      data.push(data[0].map(() => (rate ? percent(ref.value) : ref.value)));
      opts.series.push({
        label: `${ref.label} (benchmark)`, stroke: REF_COLORS[i % REF_COLORS.length], width: 1.5,
        dash: [6, 4], points: { show: false }, value: (u, v) => (rate ? `${(+v).toFixed(1)} %` : compact(v)),
      });
    });
    card.dataset.references = String(refs.length);
    const chart = new uPlot(opts, data, card);
    chart.metric = metric;
    window.__charts.push(chart);
  }
  const q = new URLSearchParams({ run: a });
  if (b) q.set('compare', b);
  if (xKey !== 'window_id') q.set('x', xKey);
  window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
  document.body.dataset.chartsReady = '1';
}

async function main() {
  let doc;
  try {
    doc = await fetchJSON('data/runs.json');
  } catch (err) {
    showMessage(message, `Could not load the list of runs: ${err.message}`);
    return;
  }
  const runs = doc.runs || [];
  if (!runs.length) {
    showMessage(message, 'No runs yet.', 'info');
    return;
  }
  const label = (r) => `${r.run_id} (${r.n_windows} windows)`;
  selA.replaceChildren(...runs.map((r) => el('option', { value: r.run_id }, label(r))));
  // "compare with" offers the other runs only (a run against itself is one line twice)
  const fillB = () => {
    const keep = selB.value;
    selB.replaceChildren(el('option', { value: '' }, runs.length > 1 ? '(none)' : '(no other run)'),
      ...runs.filter((r) => r.run_id !== selA.value).map((r) => el('option', { value: r.run_id }, label(r))));
    selB.value = keep !== selA.value && runs.some((r) => r.run_id === keep) ? keep : '';
    selB.disabled = runs.length < 2;
  };
  fillB();
  const p = params();
  const want = p.get('run');
  if (want && !runs.some((r) => r.run_id === want)) {
    showMessage(message, `Unknown run "${want}": showing the latest run instead.`, 'warn');
  } else if (want) {
    selA.value = want;
  }
  fillB();
  const cmp = p.get('compare');
  if (cmp && cmp !== selA.value && runs.some((r) => r.run_id === cmp)) selB.value = cmp;
  selA.addEventListener('change', fillB);
  if (p.get('x') === 'env_steps_total') selX.value = 'env_steps_total';
  for (const s of [selA, selB, selX]) s.addEventListener('change', draw);
  let timer = null;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(draw, 200); });
  await draw();
  if (want && !runs.some((r) => r.run_id === want)) showMessage(message, `Unknown run "${want}": showing the latest run instead.`, 'warn');
}

await main();
