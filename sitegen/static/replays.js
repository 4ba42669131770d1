// The replay browser: run -> window -> replay, a tag filter, and the player.
// The URL holds ?run=&replay=&frame= so a moment can be shared.
import { el, fetchJSON, fmt, params, showMessage } from './util.js';
import { createPlayer } from './player.js';

const runSelect = document.getElementById('run-select');
const windowSelect = document.getElementById('window-select');
const tagBox = document.getElementById('tag-filter');
const tbody = document.querySelector('#replay-list tbody');
const message = document.querySelector('.browser-message');
const playerRoot = document.getElementById('player');

const state = { runs: [], run: null, catalog: null, tag: '', window: '' };
const player = await createPlayer(playerRoot, { urlSync: true });
window.__player = player;

function setURL(run, replay, frame) {
  const q = new URLSearchParams();
  if (run) q.set('run', run);
  if (replay) q.set('replay', replay);
  if (frame !== undefined && frame !== null) q.set('frame', String(frame));
  window.history.replaceState(null, '', `${window.location.pathname}${q.toString() ? '?' + q : ''}`);
}

function filtered() {
  if (!state.catalog) return [];
  return state.catalog.replays.filter((r) =>
    (state.window === '' || String(r.window_id) === state.window) &&
    (state.tag === '' || (r.tags || []).includes(state.tag)));
}

function renderTags() {
  const tags = ['', ...(state.catalog ? state.catalog.tags : [])];
  tagBox.replaceChildren(el('span', { class: 'muted' }, 'tag: '), ...tags.map((t) => el('button', {
    type: 'button', class: 'chip' + (state.tag === t ? ' on' : ''), dataset: { tag: t },
    'aria-pressed': state.tag === t ? 'true' : 'false',
    onclick: () => { state.tag = t; renderTags(); renderList(); },
  }, t || 'all')));
}

function renderWindows() {
  const ids = [...new Set((state.catalog ? state.catalog.replays : []).map((r) => r.window_id))].sort((a, b) => b - a);
  windowSelect.replaceChildren(el('option', { value: '' }, 'all windows'),
    ...ids.map((w) => el('option', { value: String(w) }, `window ${w}`)));
  windowSelect.value = state.window;
}

function renderList() {
  const rows = filtered().slice().reverse();
  tbody.replaceChildren(...rows.map((r) => {
    const ok = r.status === 'ok';
    const tr = el('tr', { class: (ok ? '' : 'bad ') + (player.replayId === r.replay_id ? 'current' : ''), dataset: { replay: r.replay_id } },
      el('td', {}, String(r.window_id)),
      el('td', {}, ok ? el('a', { href: `?run=${encodeURIComponent(state.run)}&replay=${encodeURIComponent(r.replay_id)}`,
        onclick: (ev) => { ev.preventDefault(); open(r.replay_id, null, true); } }, r.replay_id)
        : el('span', { title: r.problem || '' }, `⚠ ${r.replay_id} (${String(r.status).replace(/_/g, ' ')})`)),
      el('td', {}, ...(r.tags || []).map((t) => el('span', { class: 'tag' + (t === 'best_so_far' ? ' tag-best' : t.startsWith('milestone:') ? ' tag-milestone' : '') }, t))),
      el('td', { class: 'num' }, fmt(r.return, 2)),
      el('td', { class: 'num' }, fmt(r.net_profit, 0)),
      el('td', { class: 'num' }, String(r.steps ?? '–')),
      el('td', {}, r.end_reason || '–'));
    return tr;
  }));
  if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: '7', class: 'muted' }, 'No replay matches this filter.')));
}

async function open(replayId, frame, autoplay) {
  const entry = state.catalog && state.catalog.replays.find((r) => r.replay_id === replayId);
  if (!entry) {
    showMessage(message, `Run ${state.run} has no replay "${replayId}".`);
    player.message(`Unknown replay "${replayId}" in run ${state.run}. Pick one from the list above.`);
    player.drawEmpty();
    return;
  }
  showMessage(message, '');
  setURL(state.run, replayId, frame);
  if (entry.status !== 'ok') {
    player.message(`Replay ${replayId} cannot be shown: ${entry.status.replace(/_/g, ' ')} (${entry.problem || ''}).`);
    return;
  }
  await player.load(state.run, replayId, { frame, autoplay });
  renderList();
}

async function selectRun(runId, replayId = null, frame = null) {
  state.run = runId;
  state.window = '';
  runSelect.value = runId;
  try {
    state.catalog = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays.json`);
  } catch (err) {
    state.catalog = { replays: [], tags: [] };
    showMessage(message, `Could not load the replays of run ${runId}: ${err.message}`);
  }
  renderWindows();
  renderTags();
  renderList();
  const ok = state.catalog.replays.filter((r) => r.status === 'ok');
  const target = replayId || (ok.length ? ok[ok.length - 1].replay_id : null);
  if (target) await open(target, frame, false);
  else player.message('This run has no replay yet.', 'info');
}

async function main() {
  let doc;
  try {
    doc = await fetchJSON('data/runs.json');
  } catch (err) {
    showMessage(message, `Could not load the list of runs: ${err.message}`);
    return;
  }
  state.runs = doc.runs || [];
  if (!state.runs.length) {
    showMessage(message, 'No runs yet.', 'info');
    player.message('No runs yet.', 'info');
    return;
  }
  runSelect.replaceChildren(...state.runs.map((r) => el('option', { value: r.run_id },
    `${r.run_id} (${r.n_windows} windows${r.problems.length ? ', ⚠' : ''})`)));
  runSelect.addEventListener('change', () => { setURL(runSelect.value); selectRun(runSelect.value); });
  windowSelect.addEventListener('change', () => { state.window = windowSelect.value; renderList(); });
  const p = params();
  const wanted = p.get('run');
  const replay = p.get('replay');
  const frame = p.get('frame');
  if (wanted && !state.runs.some((r) => r.run_id === wanted)) {
    // the messages go up after the latest replay is open: opening it clears messages
    runSelect.value = state.runs[0].run_id;
    await selectRun(state.runs[0].run_id);
    showMessage(message, `Unknown run "${wanted}": it is not on this site. Showing the latest run instead.`);
    player.message(`Unknown run "${wanted}": showing the latest run's latest replay instead.`, 'warn');
    return;
  }
  const run = wanted || (doc.latest && doc.latest.run_id) || state.runs[0].run_id;
  if (replay) {
    state.run = run;
    await selectRun(run, replay, frame);
  } else {
    await selectRun(run, null, null);
    if (frame !== null) player.message('A frame was given without a replay; showing the latest replay from its start.', 'warn');
  }
}

await main();
// tests (and anyone scripting the page) wait for this: every message is final now
document.body.dataset.pageReady = '1';
