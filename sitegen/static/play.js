// /play: a person plays the game against the play service (prospector play-server).
//
// The page is a thin client: every action goes to POST /api/play/session/{id}/step and
// the page shows what comes back (render_state through the same GameView as the replay
// player, reward, events, valid_actions). Actions the response's valid_actions leave
// out are greyed, but they can still be sent: the service decides, and answers an
// invalid action as HOLD with `invalid: true`, which the page then shows.
//
// Challenge mode: ?run=RUN&replay=REPLAY starts the replay's world (its seed and env
// config) and shows the agent's return at the same step beside the player's.
//
// Everything from the service or the URL reaches the page as text (textContent).

import { el, fetchJSON, fmt, money, showMessage, params, COMMODITY_LABELS } from './util.js';
import { loadAssets, SoundBoard, EVENT_SOUNDS } from './assets.js';
import { GameView } from './view.js';
import { describeEvent, explainMissingReplay, checkReplay, checkReplayPart } from './replay.js';
import { AgentPanel } from './agent.js';
import { SPEC } from './spec.js';

// ------------------------------------------------------------------ the actions (docs/game.md#3-actions)
// Names, ids, button groups and hotkeys come from static/spec.js, which the site build
// generates from prospector/spec.py and prospector/controls.py: this page has no copy.

export const ACTION_NAMES = SPEC.action_names;
const CASH_OUT = SPEC.ids.CASH_OUT;
const SEED_MAX = 18446744073709551615n; // 2^64 - 1, as the service accepts
const TIME_MAX_LIMIT = 1000000;
const REQUEST_TIMEOUT_MS = 10000;
const EVENT_HISTORY = 5000;     // events kept for the events panel (an episode rarely has more)

// Hotkeys that send an action (from the spec), then the page's own commands.
// Letters match ev.key (mnemonics survive other layouts); digits match ev.code.
export const HOTKEYS = [
  ...SPEC.hotkeys,
  { key: 'a', label: 'A', command: 'next-rock', what: 'select the next rock (Shift: previous); or click a rock' },
  { key: 'a', shift: true, label: 'Shift+A', command: 'prev-rock', what: 'select the previous rock', hidden: true },
  { key: 'q', label: 'Q Q', command: 'cash-out', what: 'cash out: end the episode (press twice)' },
  { key: '?', label: '?', command: 'help', what: 'this help' },
  { key: 'm', label: 'M', command: 'sound', what: 'sound on / off' },
];

function keyLabel(action) {
  const h = HOTKEYS.find((k) => k.action === action);
  return h ? h.label : null;
}

// Button groups: spec.ACTION_GROUPS, in order; the sell buttons form one row per commodity.
function groups() {
  return SPEC.groups.map((g) => {
    if (!g.items.every((item) => item.row)) return g;
    const rows = [...new Set(g.items.map((item) => item.row))];
    return { ...g, items: [], sell: rows.map((row) => ({ row: COMMODITY_LABELS[row],
      actions: g.items.filter((item) => item.row === row) })) };
  });
}

// ------------------------------------------------------------------ the service

class ServiceError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;   // 0 when the service could not be reached
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function api(base, method, path, bodyText = null) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(base + path, {
      method, body: bodyText, cache: 'no-store', signal: ctrl.signal,
      headers: bodyText === null ? {} : { 'Content-Type': 'application/json' },
    });
  } catch (err) {
    throw new ServiceError(0, ctrl.signal.aborted ? 'timeout' : 'unreachable',
      ctrl.signal.aborted ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : String(err.message || err));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const e = data && data.error;
    throw new ServiceError(response.status, (e && e.code) || `http_${response.status}`,
      (e && e.message) || `HTTP ${response.status}`, response.headers.get('Retry-After'));
  }
  if (!data || typeof data !== 'object') throw new ServiceError(response.status, 'bad_answer', 'the service answered something that is not JSON');
  return data;
}

// A JSON body with an exact seed: seeds go up to 2^64-1, past what a JS number holds,
// so the validated digit string is written into the JSON text as it is.
function sessionBody(seed, config) {
  const parts = [];
  if (seed !== null) parts.push(`"seed":${seed}`);
  if (config) parts.push(`"config":${JSON.stringify(config)}`);
  return `{${parts.join(',')}}`;
}

function randomSeed() {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return String(a[0]);
}

// ------------------------------------------------------------------ the URL

// {seed, timeMax, run, replay, problems: [text]}; bad values are reported and dropped.
export function parseQuery(q) {
  const out = { seed: null, timeMax: null, run: null, replay: null, problems: [] };
  for (const key of q.keys()) {
    if (!['seed', 'time_max', 'run', 'replay'].includes(key)) {
      out.problems.push(`Unknown URL parameter "${key.slice(0, 40)}" ignored (this page takes seed, time_max, run and replay).`);
    }
  }
  const seed = q.get('seed');
  if (seed !== null) {
    if (/^\d{1,20}$/.test(seed) && BigInt(seed) <= SEED_MAX) out.seed = String(BigInt(seed));
    else out.problems.push(`seed "${seed.slice(0, 40)}" is not a whole number 0..2^64-1; playing a random world instead.`);
  }
  const tm = q.get('time_max');
  if (tm !== null) {
    const n = Number(tm);
    if (/^\d{1,7}$/.test(tm) && n >= 1 && n <= TIME_MAX_LIMIT) out.timeMax = n;
    else out.problems.push(`time_max "${tm.slice(0, 40)}" is not a whole number 1..${TIME_MAX_LIMIT}; using the default episode length.`);
  }
  const run = q.get('run');
  const replay = q.get('replay');
  if ((run === null) !== (replay === null)) {
    out.problems.push('Challenge mode needs both run and replay in the URL (a replay page\'s "play this seed" link has them); playing a free game instead.');
  } else if (run !== null) {
    if (!run || !replay || run.length > 200 || replay.length > 200) {
      out.problems.push('The run or replay in the URL is empty or too long; playing a free game instead.');
    } else {
      out.run = run;
      out.replay = replay;
    }
  }
  return out;
}

// ------------------------------------------------------------------ challenge data

// The replay's per-step returns from its site JSON (all parts), for the comparison.
async function loadChallenge(run, replay) {
  const base = `data/runs/${encodeURIComponent(run)}/replays/`;
  let doc;
  try {
    doc = await fetchJSON(`${base}${encodeURIComponent(replay)}.json`, { cache: 'default' });
  } catch (err) {
    throw new Error(await explainMissingReplay(run, replay, err));
  }
  // a URL can name any JSON file of the site: only a replay is used (replay.js says why not)
  checkReplay(doc, `"${replay}"`);
  const frames = doc.frames.slice();
  for (const name of doc.parts || []) {
    const part = checkReplayPart(await fetchJSON(`${base}${encodeURIComponent(name)}`, { cache: 'default' }), frames.length, name);
    frames.push(...part.frames);
  }
  if (!Number.isSafeInteger(doc.seed) || doc.seed < 0) {
    throw new Error(`Replay ${replay} has no usable seed (${String(doc.seed).slice(0, 30)}), so its world cannot be rebuilt.`);
  }
  const returns = [0];
  for (let i = 1; i < frames.length; i++) returns.push(returns[i - 1] + (frames[i].reward || 0));
  let config = doc.env_config && typeof doc.env_config === 'object' && Object.keys(doc.env_config).length ? doc.env_config : null;
  if (!config && doc.time_max) config = { time_max: doc.time_max };
  return {
    run, replay, doc, seed: String(doc.seed), config, returns, steps: frames.length - 1,
    actions: frames.map((f) => f.action), first: frames[0] && frames[0].rs, totals: doc.totals || {},
    window: doc.window_id,
  };
}

// ------------------------------------------------------------------ the page

class PlayPage {
  constructor(root, assets) {
    this.root = root;
    this.serviceUrl = (root.dataset.playUrl || '').replace(/\/+$/, '');
    this.assets = assets;
    const q = (sel) => root.querySelector(sel);
    this.dom = {
      message: q('.play-message'), notes: q('.play-notes'), sector: q('canvas.sector'), minimap: q('canvas.minimap'),
      hud: q('.hud'), market: q('.market'), feedback: q('.feedback'), log: q('.event-log'), pad: q('.action-pad'),
      challenge: q('.challenge-panel'), end: q('.end-panel'), seed: q('.play-seed'), step: q('.play-step'),
      ret: q('.play-return'), restart: q('.btn-restart'), newWorld: q('.btn-new'), sound: q('.tg-sound'),
      helpBtn: q('.btn-help'), mode: q('.play-mode'),
    };
    this.help = document.getElementById('play-help');
    this.view = new GameView({ sector: this.dom.sector, minimap: this.dom.minimap, hud: this.dom.hud,
      market: this.dom.market }, assets);
    this.sounds = new SoundBoard(assets);
    assets.onload = () => { this.view.dirty = true; };
    this.s = {
      sessionId: null, seed: null, config: null, rs: null, valid: new Set(), step: 0, ret: 0, done: false,
      busy: false, frame: null, stepAt: 0, last: null, info: null, events: [], challenge: null, cashArmedUntil: 0,
      endHidden: false,
    };
    this.buttons = new Map();
    this.buildPad();
    this.buildHelp();
    this.bind();
    this.loopFn = (now) => this.tick(now);
    requestAnimationFrame(this.loopFn);
  }

  // ---------------------------------------------------------------- building
  buildPad() {
    const pad = this.dom.pad;
    pad.replaceChildren();
    for (const g of groups()) {
      const box = el('fieldset', { class: `act-group act-${g.id}` }, el('legend', {}, g.title));
      const row = el('div', { class: 'act-row' });
      for (const item of g.items) row.append(this.button(item));
      box.append(row);
      if (g.sell) {
        // the group's legend already says "Sell": no second heading over the rows
        const table = el('div', { class: 'sell-grid', role: 'group', 'aria-label': 'sell' });
        for (const r of g.sell) {
          table.append(el('span', { class: 'sell-name' }, r.row), ...r.actions.map((item) => this.button(item)));
        }
        box.append(table);
      }
      pad.append(box);
    }
  }

  button(item) {
    const label = keyLabel(item.a);
    const name = ACTION_NAMES[item.a];
    const btn = el('button', {
      type: 'button', class: 'act' + (item.a === CASH_OUT ? ' act-cashout' : ''),
      dataset: { action: String(item.a) }, title: `${name} (action ${item.a})${label ? ` · key ${label}` : ''}`,
      'aria-label': `${name.replace(/_/g, ' ').toLowerCase()}`,
      onclick: () => this.press(item.a, btn),
    }, el('span', { class: 'act-text' }, item.text), label ? el('kbd', {}, label) : null);
    this.buttons.set(item.a, btn);
    return btn;
  }

  buildHelp() {
    if (!this.help) return;
    const body = this.help.querySelector('.hotkey-table tbody');
    if (!body) return;
    body.replaceChildren(...HOTKEYS.filter((k) => !k.hidden).map((k) => el('tr', {},
      el('td', {}, el('kbd', {}, k.label)), el('td', {}, k.what))),
    el('tr', {}, el('td', {}, el('kbd', {}, 'Shift+1…6')), el('td', {}, 'sell all of commodity 1…6 (iron … volatiles)')),
    el('tr', {}, el('td', {}, el('kbd', {}, 'Enter / N')), el('td', {}, 'after the end: play this world again / a new world')),
    el('tr', {}, el('td', {}, el('kbd', {}, 'Esc')), el('td', {}, 'close this help or the end panel')));
  }

  bind() {
    const d = this.dom;
    d.restart.addEventListener('click', () => this.restart(false));
    d.newWorld.addEventListener('click', () => this.restart(true));
    d.helpBtn.addEventListener('click', () => this.toggleHelp(true));
    d.sound.addEventListener('change', () => { this.sounds.muted = !d.sound.checked; });
    if (this.help) {
      this.help.querySelector('.help-close').addEventListener('click', () => this.toggleHelp(false));
      this.help.addEventListener('click', (ev) => { if (ev.target === this.help) this.toggleHelp(false); });
    }
    d.sector.addEventListener('click', (ev) => {
      const slot = this.view.asteroidAt(this.s.rs, ev.clientX, ev.clientY);
      if (slot !== null) this.press(12 + slot, this.buttons.get(12 + slot));
    });
    document.addEventListener('keydown', (ev) => this.onKey(ev));
    window.addEventListener('pagehide', () => this.dropSession());
  }

  onKey(ev) {
    const tag = (ev.target && ev.target.tagName) || '';
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(tag) && !(tag === 'INPUT' && ev.target.type === 'checkbox')) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const helpOpen = this.help && !this.help.hidden;
    if (helpOpen) {
      if (ev.key === 'Escape' || ev.key === '?' || ev.key === 'Enter') { this.toggleHelp(false); ev.preventDefault(); }
      return;
    }
    if (ev.key === 'Escape') {
      if (!this.dom.end.hidden) { this.s.endHidden = true; this.dom.end.hidden = true; ev.preventDefault(); }
      return;
    }
    if (ev.key === 'F1') { this.toggleHelp(true); ev.preventDefault(); return; }
    if (this.s.done) {
      if (ev.key === 'Enter') { this.restart(false); ev.preventDefault(); return; }
      if (ev.key === 'n' || ev.key === 'N') { this.restart(true); ev.preventDefault(); return; }
    }
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    const hit = HOTKEYS.find((h) => (h.code ? h.code === ev.code && !!h.shift === ev.shiftKey
      : (h.key === '?' ? ev.key === '?' : h.key === key && !!h.shift === ev.shiftKey)));
    if (!hit) return;
    ev.preventDefault();
    if (ev.repeat && hit.command !== 'next-rock' && hit.command !== 'prev-rock') return; // no auto-repeat steps
    if (hit.action !== undefined) this.press(hit.action, this.buttons.get(hit.action));
    else this.command(hit.command);
  }

  command(name) {
    if (name === 'help') this.toggleHelp(true);
    else if (name === 'sound') { this.dom.sound.checked = !this.dom.sound.checked; this.sounds.muted = !this.dom.sound.checked; }
    else if (name === 'cash-out') this.press(CASH_OUT, this.buttons.get(CASH_OUT));
    else if (name === 'next-rock' || name === 'prev-rock') {
      const rocks = (this.s.rs && this.s.rs.asteroids) || [];
      if (!rocks.length) { this.press(12, this.buttons.get(12)); return; } // the service will say it is invalid
      const cur = this.s.rs.selected ?? -1;
      const slots = rocks.map((r) => r.slot);
      let i = slots.indexOf(cur);
      i = name === 'next-rock' ? (i + 1) % slots.length : (i <= 0 ? slots.length - 1 : i - 1);
      this.press(12 + slots[i], this.buttons.get(12 + slots[i]));
    }
  }

  toggleHelp(open) {
    if (!this.help) return;
    this.help.hidden = !open;
    this.root.dataset.help = open ? '1' : '0';
    if (open) this.help.querySelector('.help-close').focus();
    else this.root.focus({ preventScroll: true });
  }

  message(text, kind = 'error', retry = null) {
    showMessage(this.dom.message, text, kind);
    if (text && retry) {
      this.dom.message.append(' ', el('button', { type: 'button', class: 'msg-action', onclick: retry.fn }, retry.label));
    }
  }

  note(texts, kind = 'warn') {
    showMessage(this.dom.notes, texts.join(' '), kind);
  }

  // ---------------------------------------------------------------- the game
  async start(query) {
    this.query = query;
    const notes = [...query.problems];
    let seed = query.seed;
    let config = query.timeMax ? { time_max: query.timeMax } : null;
    if (query.run) {
      try {
        this.s.challenge = await loadChallenge(query.run, query.replay);
        if (seed !== null) notes.push('The URL\'s seed is ignored in challenge mode: the replay\'s world is played.');
        if (config) notes.push('The URL\'s time_max is ignored in challenge mode: the replay\'s episode length is used.');
        seed = this.s.challenge.seed;
        config = this.s.challenge.config;
      } catch (err) {
        notes.push(`Challenge mode is not available: ${err.message} Playing a free game instead.`);
        this.s.challenge = null;
      }
    }
    this.note(notes);
    await this.newSession(seed ?? randomSeed(), config);
  }

  async newSession(seed, config) {
    this.setState('starting');
    this.message(`Connecting to the play service at ${this.serviceUrl} …`, 'info');
    let r;
    try {
      r = await api(this.serviceUrl, 'POST', '/api/play/session', sessionBody(seed, config));
    } catch (err) {
      if (err.code === 'invalid_config' && this.s.challenge) {
        const replay = this.s.challenge.replay;
        this.s.challenge = null;
        this.note([`Replay ${replay} cannot be challenged here: its game settings differ from the defaults the play service allows (${err.message}). Playing a free game instead.`], 'error');
        return this.newSession(randomSeed(), null);
      }
      this.failed(err, () => this.newSession(seed, config));
      return false;
    }
    this.dropSession();
    this.s.sessionId = r.session_id;
    this.s.seed = seed;
    this.s.config = config;
    this.root.dataset.session = r.session_id;
    this.message('');
    this.syncURL();
    this.applyState(r, { fresh: true });
    this.checkChallengeWorld(r.render_state);
    return true;
  }

  // Play the same world again (reset on the seed) or a new random one. A new world
  // leaves challenge mode; a different config needs a new session (a reset keeps it).
  async restart(newWorld) {
    if (this.s.busy) return;
    if (this.s.challenge && newWorld) {
      this.s.challenge = null;
      this.note([]);
    }
    const seed = newWorld ? randomSeed() : this.s.seed;
    const config = newWorld ? (this.query.timeMax ? { time_max: this.query.timeMax } : null) : this.s.config;
    if (!this.s.sessionId || JSON.stringify(config) !== JSON.stringify(this.s.config)) {
      await this.newSession(seed, config);
      return;
    }
    this.s.busy = true;
    let r;
    try {
      r = await api(this.serviceUrl, 'POST', `/api/play/session/${this.s.sessionId}/reset`, sessionBody(seed, null));
    } catch (err) {
      this.s.busy = false;
      if (err.status === 404 || err.status === 410) await this.newSession(seed, config);
      else this.failed(err, () => this.restart(newWorld));
      return;
    }
    this.s.busy = false;
    this.s.seed = seed;
    this.syncURL();
    this.message('');
    this.applyState(r, { fresh: true });
  }

  // A click or a hotkey: one step, one request at a time (presses while waiting are dropped).
  async press(action, btn, byAgent = false) {
    const s = this.s;
    if (!s.sessionId || s.busy) return;
    if (s.done) { this.showEnd(true); return; }
    if (action === CASH_OUT && !byAgent && performance.now() > s.cashArmedUntil) {
      s.cashArmedUntil = performance.now() + 3000;
      const b = this.buttons.get(CASH_OUT);
      b.dataset.armed = '1';
      b.querySelector('.act-text').textContent = 'confirm cash out?';
      // Also over the sector view, where the player is looking (the button may be off screen).
      const confirm = this.root.querySelector('.stage-confirm');
      if (confirm) {
        confirm.textContent = 'Cash out and end the episode? Press Q again (or click cash out) within 3 s.';
        confirm.hidden = false;
      }
      setTimeout(() => this.disarmCashOut(), 3000);
      return;
    }
    if (action === CASH_OUT) this.disarmCashOut();
    s.busy = true;
    this.root.dataset.busy = '1';
    if (btn) btn.classList.add('sending');
    try {
      const r = await api(this.serviceUrl, 'POST', `/api/play/session/${s.sessionId}/step`, JSON.stringify({ action }));
      this.applyStep(action, r, btn);
    } catch (err) {
      if (err.code === 'episode_over') {
        s.done = true;
        this.showEnd(true);
      } else {
        this.failed(err, null);
      }
    } finally {
      s.busy = false;
      this.root.dataset.busy = '0';
      if (btn) btn.classList.remove('sending');
    }
  }

  disarmCashOut() {
    this.s.cashArmedUntil = 0;
    const confirm = this.root.querySelector('.stage-confirm');
    if (confirm) confirm.hidden = true;
    const b = this.buttons.get(CASH_OUT);
    if (!b) return;
    delete b.dataset.armed;
    b.querySelector('.act-text').textContent = 'cash out';
  }

  failed(err, retryFn) {
    if (err.status === 0) {
      this.setState(this.s.sessionId ? this.root.dataset.state : 'offline');
      this.message(`The play service at ${this.serviceUrl} cannot be reached (${err.message}). Start it with `
        + '"prospector play-server" (or "make demo"), then try again.', 'error',
      { label: 'try again', fn: () => (retryFn ? retryFn() : this.message('')) });
      if (!this.s.sessionId) { this.view.clear(); this.renderFeedback(null); }
      return;
    }
    if (err.status === 404 || err.status === 410) {
      this.s.sessionId = null;
      this.setState('expired');
      this.message(err.status === 410 ? 'This game was idle for too long and the service dropped it.'
        : 'The service no longer knows this game (it was restarted or the game was deleted).', 'warn',
      { label: 'start again on this seed', fn: () => this.newSession(this.s.seed || randomSeed(), this.s.config) });
      return;
    }
    if (err.status === 429) {
      this.setState(this.s.sessionId ? 'playing' : 'offline');
      this.message(`The play service is full right now (${err.message}).`, 'warn',
        { label: 'try again', fn: () => (retryFn ? retryFn() : this.message('')) });
      return;
    }
    this.message(`The play service refused the request: ${err.message} (${err.code}, HTTP ${err.status}).`, 'error',
      retryFn ? { label: 'try again', fn: retryFn } : null);
  }

  setState(state) { this.root.dataset.state = state; }

  syncURL() {
    const q = new URLSearchParams();
    if (this.s.challenge) {
      q.set('run', this.s.challenge.run);
      q.set('replay', this.s.challenge.replay);
    } else {
      q.set('seed', this.s.seed);
      if (this.s.config && this.s.config.time_max) q.set('time_max', String(this.s.config.time_max));
    }
    window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
  }

  // A session's state (create, reset): a fresh episode.
  applyState(r, { fresh = false } = {}) {
    const s = this.s;
    s.rs = r.render_state;
    s.obs = r.obs || null;
    s.valid = new Set(r.valid_actions || []);
    s.step = r.step || 0;
    s.ret = r.episode_return || 0;
    s.done = !!r.done;
    s.info = r.info || null;
    s.last = null;
    s.endHidden = false;
    if (fresh) s.events = [];
    s.frame = { rs: s.rs, events: [], truth: null };
    s.stepAt = performance.now();
    this.refresh();
  }

  applyStep(action, r, btn) {
    const s = this.s;
    s.rs = r.render_state;
    s.obs = r.obs || null;
    s.valid = new Set(r.valid_actions || []);
    s.step = r.step;
    s.ret = r.episode_return;
    s.done = !!(r.terminated || r.truncated);
    s.info = r.info;
    s.last = { action, reward: r.reward, invalid: !!(r.info && r.info.invalid), dt: r.info ? r.info.dt : null,
      events: r.events || [], terminated: r.terminated, truncated: r.truncated };
    // the episode's whole event history (a hold is not news; the cap only bounds memory)
    for (const e of r.events || []) if (e.type !== 'hold') s.events.push({ step: r.step, t: s.rs && s.rs.t, e });
    if (s.events.length > EVENT_HISTORY) s.events.splice(0, s.events.length - EVENT_HISTORY);
    s.frame = { rs: s.rs, events: r.events || [], truth: null };
    s.stepAt = performance.now();
    if (btn) {
      btn.classList.remove('flash-ok', 'flash-bad');
      void btn.offsetWidth; // restart the animation
      btn.classList.add(s.last.invalid ? 'flash-bad' : 'flash-ok');
    }
    if (!this.sounds.muted) for (const e of r.events || []) { const k = EVENT_SOUNDS[e.type]; if (k) this.sounds.play(k); }
    this.refresh();
  }

  refresh() {
    const s = this.s;
    this.view.panels(s.frame);
    this.view.dirty = true;
    this.setState(s.done ? 'over' : 'playing');
    this.root.dataset.step = String(s.step);
    this.root.dataset.invalid = s.last && s.last.invalid ? '1' : '0';
    this.dom.seed.textContent = s.seed || '–';
    this.dom.step.textContent = String(s.step);
    this.dom.ret.textContent = `${s.ret >= 0 ? '+' : ''}${s.ret.toFixed(2)}`;
    this.dom.ret.className = 'play-return ' + (s.ret >= 0 ? 'pos' : 'neg');
    this.dom.mode.textContent = s.challenge ? `challenge: replay ${s.challenge.replay}` : 'free play';
    this.updatePad();
    this.renderFeedback(s.last);
    this.renderChallenge();
    this.renderLog();
    this.showEnd(false);
    if (this.agent) this.agent.refresh();
  }

  updatePad() {
    const s = this.s;
    const rs = s.rs || {};
    const neighbors = rs.neighbors || [];
    const rocks = rs.asteroids || [];
    for (const [a, btn] of this.buttons) {
      const ok = !s.done && s.valid.has(a);
      btn.classList.toggle('unavailable', !ok);
      btn.setAttribute('aria-disabled', ok ? 'false' : 'true');
      if (a < 6) {
        const n = neighbors.find((x) => x.slot === a);
        btn.title = n ? `TRAVEL_${a}: to node ${n.node} (${n.type}), ${n.travel_time} ticks, ${Math.round(n.fuel_cost)} fuel, threat est. ${fmt(n.threat_est, 2)} · key ${a + 1}`
          : `TRAVEL_${a}: no exit ${a} here · key ${a + 1}`;
        btn.querySelector('.act-text').textContent = n ? `${n.type} ${n.node}` : `exit ${a}`;
      } else if (a >= 12 && a < 28) {
        const rock = rocks.find((x) => x.slot === a - 12);
        btn.classList.toggle('selected', !!rock && rock.selected);
        btn.title = rock ? `SELECT_${a - 12}: est. value ${fmt(rock.value_est, 1)}/unit, scan confidence ${fmt(rock.scan_conf, 2)}, depletion ${fmt(rock.depletion, 2)}`
          : `SELECT_${a - 12}: no rock #${a - 12} here`;
      }
    }
  }

  renderFeedback(last) {
    const box = this.dom.feedback;
    if (!last) {
      box.replaceChildren(el('h3', {}, 'Last step'), el('p', { class: 'muted small' },
        this.s.sessionId ? 'No step yet. Pick an action (a button or its key), or press ? for help.' : 'Not connected.'));
      return;
    }
    const shown = last.events.filter((e) => e.type !== 'invalid');
    box.replaceChildren(
      el('h3', {}, 'Last step'),
      el('div', { class: 'action-line' },
        el('span', { class: 'action-name' + (last.invalid ? ' invalid' : '') }, ACTION_NAMES[last.action] || `#${last.action}`),
        last.invalid ? el('span', { class: 'tag tag-problem feedback-invalid' }, 'invalid: played as HOLD') : null),
      el('div', { class: 'action-meta' },
        el('span', { class: 'feedback-reward ' + (last.reward >= 0 ? 'pos' : 'neg') }, `reward ${last.reward >= 0 ? '+' : ''}${fmt(last.reward, 3)}`),
        ` · ${last.dt ?? '?'} tick${last.dt === 1 ? '' : 's'} · step ${this.s.step}`),
      shown.length ? el('ul', { class: 'feedback-events' }, shown.map((e) => el('li', { class: `ev ev-${e.type}` }, describeEvent(e))))
        : el('p', { class: 'muted small' }, last.invalid ? 'That action is not possible here; the ship held instead.' : 'no events'),
    );
  }

  // Newest first, scrollable: every event of this episode (docs/site.md#layout).
  renderLog() {
    const events = this.s.events;
    const items = [];
    for (let k = events.length - 1; k >= 0; k--) {
      const x = events[k];
      items.push(el('li', { class: `ev ev-${x.e.type}`, dataset: { step: String(x.step) } },
        el('span', { class: 'ev-step', title: `step ${x.step}, game tick ${x.t ?? '?'}` }, `t ${x.t ?? '?'}`), ` ${describeEvent(x.e)}`));
    }
    this.dom.log.replaceChildren(el('h3', {}, `Events${events.length ? ` (${events.length})` : ''}`),
      items.length ? el('ol', { class: 'ev-list', tabindex: '0', 'aria-label': 'this episode\'s events, newest first' }, items)
        : el('p', { class: 'muted' }, 'no events yet this episode'));
  }

  // ---------------------------------------------------------------- challenge
  agentAt(step) {
    const c = this.s.challenge;
    const k = Math.min(step, c.steps);
    return { ret: c.returns[k], action: step >= 1 && step <= c.steps ? c.actions[step] : null, over: step > c.steps };
  }

  renderChallenge() {
    const c = this.s.challenge;
    const box = this.dom.challenge;
    box.hidden = !c;
    if (!c) return;
    const s = this.s;
    const agent = this.agentAt(s.step);
    const diff = s.ret - agent.ret;
    box.dataset.human = String(s.ret);
    box.dataset.agent = String(agent.ret);
    box.dataset.step = String(s.step);
    const totals = c.totals || {};
    box.replaceChildren(
      el('h3', {}, 'Challenge: you vs the agent'),
      el('p', { class: 'small muted' }, 'Replay ', el('code', {}, c.replay), ` · window ${c.window ?? '?'} · seed ${c.seed}`),
      el('table', { class: 'vs-table' },
        el('thead', {}, el('tr', {}, el('th', {}, `at step ${s.step}`), el('th', { class: 'num' }, 'you'), el('th', { class: 'num' }, 'agent'))),
        el('tbody', {},
          el('tr', {}, el('td', {}, 'return'),
            el('td', { class: 'num vs-human' }, `${s.ret >= 0 ? '+' : ''}${s.ret.toFixed(2)}`),
            el('td', { class: 'num vs-agent' }, `${agent.ret >= 0 ? '+' : ''}${agent.ret.toFixed(2)}`)),
          el('tr', {}, el('td', {}, 'action'),
            el('td', { class: 'num' }, s.last ? ACTION_NAMES[s.last.action] : '–'),
            el('td', { class: 'num' }, agent.over ? '(done)' : agent.action === null ? '–' : ACTION_NAMES[agent.action] || `#${agent.action}`)))),
      el('p', { class: 'vs-diff ' + (diff >= 0 ? 'pos' : 'neg') },
        Math.abs(diff) < 0.005 ? 'Level with the agent.' : diff > 0 ? `You lead by ${diff.toFixed(2)}.` : `The agent leads by ${(-diff).toFixed(2)}.`),
      el('p', { class: 'small muted' }, `The agent's episode: ${c.steps} steps, return ${c.returns[c.steps].toFixed(2)}`
        + `${totals.net_profit !== undefined ? `, net profit ${money(totals.net_profit)}` : ''}`
        + `${totals.end_reason ? `, ended by ${String(totals.end_reason).replace(/_/g, ' ')}` : ''}.`
        + (agent.over ? ' It is over; you play on.' : '')),
    );
  }

  checkChallengeWorld(rs) {
    const c = this.s.challenge;
    if (!c || !c.first || !rs) return;
    const a = c.first.ship || {}, b = rs.ship || {};
    const same = a.credits === b.credits && a.fuel === b.fuel && a.tool === b.tool
      && JSON.stringify((c.first.map || {}).edges) === JSON.stringify((rs.map || {}).edges);
    this.dom.challenge.dataset.sameWorld = same ? '1' : '0';
    if (!same) {
      this.note(['The play service started a world that differs from the replay\'s (a different game version?): the returns will not compare.'], 'warn');
    }
  }

  // ---------------------------------------------------------------- the end
  showEnd(force) {
    const s = this.s;
    const box = this.dom.end;
    if (!s.done) { box.hidden = true; return; }
    if (force) s.endHidden = false;
    if (s.endHidden) { box.hidden = true; return; }
    const info = s.info || {};
    const ship = (s.rs && s.rs.ship) || {};
    const reason = info.end_reason || (s.rs && s.rs.end_reason) || 'over';
    const profit = info.net_profit ?? ship.net_profit ?? 0;
    const rows = [
      ['Net profit', money(profit), profit >= 0 ? 'pos' : 'neg'],
      ['Ended by', reason.replace(/_/g, ' '), ''],
      ['Return', `${s.ret >= 0 ? '+' : ''}${s.ret.toFixed(2)}`, s.ret >= 0 ? 'pos' : 'neg'],
      ['Steps', String(s.step), ''],
      ['Credits', money(info.credits ?? ship.credits), ''],
    ];
    const c = s.challenge;
    let verdict = null;
    if (c) {
      const final = c.returns[c.steps];
      const d = s.ret - final;
      verdict = el('p', { class: 'end-verdict ' + (d >= 0 ? 'pos' : 'neg') },
        d >= 0 ? `You beat the agent's ${final.toFixed(2)} by ${d.toFixed(2)}.` : `The agent's ${final.toFixed(2)} beats you by ${(-d).toFixed(2)}.`);
    }
    box.replaceChildren(el('div', { class: 'end-card' },
      el('h2', {}, `Episode over: ${reason.replace(/_/g, ' ')}`),
      el('dl', { class: 'end-stats' }, rows.flatMap(([k, v, cls]) => [el('dt', {}, k), el('dd', { class: cls, dataset: { stat: k.toLowerCase().replace(/ /g, '_') } }, v)])),
      verdict,
      el('div', { class: 'end-buttons' },
        el('button', { type: 'button', class: 'btn-again', onclick: () => this.restart(false) },
          c ? 'Try the challenge again (Enter)' : 'Play this world again (Enter)'),
        el('button', { type: 'button', class: 'btn-new-world', onclick: () => this.restart(true) }, 'New world (N)'),
        el('button', { type: 'button', class: 'btn-look', onclick: () => { s.endHidden = true; box.hidden = true; } }, 'Look at the map (Esc)')),
    ));
    box.hidden = false;
  }

  dropSession() {
    const sid = this.s.sessionId;
    if (!sid) return;
    this.s.sessionId = null;
    try {
      fetch(`${this.serviceUrl}/api/play/session/${sid}`, { method: 'DELETE', keepalive: true }).catch(() => {});
    } catch (err) {
      /* best effort: the session expires by itself */
    }
  }

  // ---------------------------------------------------------------- drawing
  tick(now) {
    requestAnimationFrame(this.loopFn);
    const frame = this.s.frame;
    if (!frame) return;
    const phase = Math.min(1, (now - this.s.stepAt) / 700);
    this.view.draw(frame, { phase, time: now });
  }
}

async function main() {
  const root = document.getElementById('play');
  if (!root) return;
  const assets = await loadAssets();
  const page = new PlayPage(root, assets);
  window.__play = page;
  window.__playActions = ACTION_NAMES;
  if (!page.serviceUrl) {
    page.message('This site was built without a play service URL (prospector site build --play-url).', 'error');
    return;
  }
  page.agent = new AgentPanel(page, root.querySelector('.agent-panel'));
  await page.start(parseQuery(params()));
  await page.agent.init();
}

await main();
document.body.dataset.pageReady = '1';
