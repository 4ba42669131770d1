// /play's agent panel: a trained window's policy runs in the page (policy.js) beside the
// player (docs/site.md#the-agent-in-the-browser).
//
// - Which agent: a run and window selector from the site's data (runs.json, then the
//   run's policies.json); by default the best window of the newest run with a policy
//   (policies.json's `best`: the highest mean net profit), the replay's own in challenge mode.
// - Hints (off by default): the policy's top-3 actions and probabilities for the current
//   observation (the service's `obs`), the action buttons highlighted.
// - Let the agent fly: N steps, each the policy's choice (argmax, or a sample from a
//   seeded stream) for the state the service last returned, sent through the page's own
//   press() as any player action (the service validates it). Any key or click takes the
//   controls back, at any step.
// - Challenge mode: the first step where the player's action differs from the replay's
//   recorded one is marked on a timeline; at every step the panel says what the agent
//   would do in the player's state, and the return difference since the parting step.
//
// A policy that cannot be loaded (missing, truncated, wrong shape, unknown version, an
// LSTM window) is reported in the panel; play goes on without the agent.

import { el, fetchJSON, fmt, url } from './util.js';
import { load, rng } from './policy.js';

const FLY_DELAY_MS = 250;       // between the agent's steps, so each one can be seen
const FLY_MAX = 1000;

const pct = (p) => `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;

export class AgentPanel {
  constructor(page, box) {
    this.page = page;
    this.box = box;
    this.policy = null;
    this.runs = [];
    this.flying = false;
    this.flyToken = 0;
    this.flown = [];
    this.history = [];           // the player's steps this episode: history[k] = {action, ret} of step k
    this.loadToken = 0;
    this.build();
  }

  // ---------------------------------------------------------------- building
  build() {
    const d = {};
    d.run = el('select', { class: 'agent-run', 'aria-label': 'run', onchange: () => this.chooseRun(d.run.value, null) });
    d.window = el('select', { class: 'agent-window', 'aria-label': 'window',
      onchange: () => this.chooseWindow(Number(d.window.value)) });
    d.status = el('p', { class: 'agent-status small muted', role: 'status' }, 'Looking for trained agents …');
    d.hintsToggle = el('input', { type: 'checkbox', class: 'tg-hints', onchange: () => this.refresh() });
    d.hints = el('ol', { class: 'agent-hints', hidden: true });
    d.steps = el('input', { type: 'number', class: 'fly-steps', min: 1, max: FLY_MAX, value: 20, 'aria-label': 'steps to fly' });
    d.mode = el('select', { class: 'fly-mode', 'aria-label': 'how the agent picks' },
      el('option', { value: 'sample' }, 'sampled'), el('option', { value: 'argmax' }, 'most likely'));
    d.seed = el('input', { type: 'number', class: 'fly-seed', min: 0, value: 1, 'aria-label': 'sampling seed' });
    d.fly = el('button', { type: 'button', class: 'btn-fly', disabled: true, onclick: () => this.fly() }, 'let the agent fly');
    d.takeBack = el('button', { type: 'button', class: 'btn-take-back', hidden: true }, 'take the controls (any key)');
    d.flyStatus = el('p', { class: 'fly-status small muted', role: 'status' });
    this.box.replaceChildren(
      el('h3', {}, 'The agent'),
      el('div', { class: 'agent-pick' }, d.run, d.window),
      d.status,
      el('label', { class: 'agent-hint-toggle', title: 'the agent\'s three most likely actions here' }, d.hintsToggle, ' hints'),
      d.hints,
      el('div', { class: 'agent-fly' }, d.fly, ' for ', d.steps, ' steps, ', d.mode, ' seed ', d.seed, d.takeBack),
      d.flyStatus,
    );
    this.dom = d;
    this.setState('none');
    // Any key or click takes the controls back from the agent (and does nothing else).
    const takeBack = (ev) => {
      if (!this.flying || (ev.type === 'click' && ev.target.closest && ev.target.closest('.btn-fly'))) return;
      ev.preventDefault();
      ev.stopPropagation();
      this.takeBack(ev.type === 'keydown' ? `key ${ev.key}` : 'a click');
    };
    window.addEventListener('keydown', takeBack, true);
    window.addEventListener('click', takeBack, true);
  }

  setState(state) {
    this.box.dataset.policyState = state;
  }

  say(text, kind = 'muted') {
    this.dom.status.className = `agent-status small ${kind === 'muted' ? 'muted' : `msg-${kind}`}`;
    this.dom.status.textContent = text;
  }

  // ---------------------------------------------------------------- which agent
  // Never throws: whatever goes wrong is said in the panel and play goes on.
  async init() {
    let doc;
    try {
      doc = await fetchJSON('data/runs.json');
    } catch (err) {
      this.say(`No trained agents: the site's run list cannot be read (${err.message}).`, 'warn');
      return;
    }
    this.runs = (Array.isArray(doc.runs) ? doc.runs : []).filter((r) => r && typeof r.run_id === 'string' && r.policies_url);
    if (!this.runs.length) {
      this.say('No trained agents on this site yet (train a run, then build the site).');
      return;
    }
    this.dom.run.replaceChildren(...this.runs.map((r) => el('option', { value: r.run_id }, r.run_id)));
    const c = this.page.s.challenge;
    const challenged = c && this.runs.find((r) => r.run_id === c.run);
    if (challenged) {
      await this.chooseRun(challenged.run_id, Number.isInteger(c.window) ? c.window : null);
      return;
    }
    // Hints come from the best window of the newest run with a policy file, not its latest
    // window (docs/site.md#the-agent-in-the-browser); the panel says so.
    this.best = await this.bestAgent();
    const run = this.best ? this.best.run : this.runs[0];
    await this.chooseRun(run.run_id, this.best ? this.best.window_id : null);
  }

  // The newest run (runs.json lists the newest first) whose policies.json names a best window.
  async bestAgent() {
    for (const run of this.runs.slice(0, 20)) {
      try {
        const best = (await fetchJSON(run.policies_url)).best;
        if (best && Number.isInteger(best.window_id)) return { run, ...best };
      } catch (err) {
        continue;  // chooseRun reports an unreadable catalog of the run it lands on
      }
    }
    return null;
  }

  async chooseRun(runId, windowId) {
    const run = this.runs.find((r) => r.run_id === runId);
    if (!run) return;
    this.dom.run.value = runId;
    this.unload();
    let catalog;
    try {
      catalog = await fetchJSON(run.policies_url);
    } catch (err) {
      this.dom.window.replaceChildren();
      this.say(`Run ${runId} has no policy list (${err.message}); play goes on without the agent.`, 'warn');
      this.setState('error');
      return;
    }
    const entries = (Array.isArray(catalog.policies) ? catalog.policies : []).filter((p) => p && Number.isInteger(p.window_id));
    this.entries = entries;
    this.dom.window.replaceChildren(...entries.slice().reverse().map((p) => el('option', {
      value: String(p.window_id), disabled: p.status !== 'ok',
      title: p.status === 'ok' ? `${fmt(p.env_steps_total, 0)} steps` : p.reason || p.status,
    }, `window ${p.window_id}${p.status === 'ok' ? '' : ` (${p.status})`}`)));
    const usable = entries.filter((p) => p.status === 'ok');
    const pick = entries.find((p) => p.window_id === windowId) || usable[usable.length - 1];
    if (!pick) {
      const why = entries.length ? entries[entries.length - 1].reason || entries[entries.length - 1].status : 'no window has a checkpoint yet';
      this.say(`No agent of run ${runId} can run in the page: ${why}.`, 'warn');
      this.setState('error');
      return;
    }
    await this.chooseWindow(pick.window_id);
  }

  async chooseWindow(windowId) {
    const entry = (this.entries || []).find((p) => p.window_id === windowId);
    if (!entry) return;
    this.dom.window.value = String(windowId);
    this.unload();
    const runId = this.dom.run.value;
    if (entry.status !== 'ok') {
      this.say(`Window ${windowId} of ${runId} cannot run in the page: ${entry.reason || entry.status}.`, 'warn');
      this.setState('error');
      return;
    }
    const token = ++this.loadToken;
    this.setState('loading');
    this.say(`Loading the agent of window ${windowId} …`);
    try {
      const policy = await load(url(entry.header_url), { weightsUrl: entry.weights_url ? url(entry.weights_url) : null });
      if (token !== this.loadToken) return;
      this.policy = policy;
      this.box.dataset.run = runId;
      this.box.dataset.window = String(windowId);
      this.setState('ready');
      const best = this.best && this.best.run.run_id === runId && this.best.window_id === windowId ? this.best : null;
      this.box.dataset.pick = best ? 'best' : 'chosen';
      this.say(`Window ${windowId} of ${runId} (${fmt(entry.env_steps_total, 0)} training steps), running in this page.`
        + (best ? ` Hints come from this window: the best of the newest run with a policy (mean net profit ${fmt(best.value, 0)} in its training episodes, the run's highest).` : ''));
    } catch (err) {
      if (token !== this.loadToken) return;
      this.setState('error');
      this.say(`The agent of window ${windowId} cannot be used: ${err.message}. Play goes on without it.`, 'warn');
    }
    this.refresh();
  }

  unload() {
    this.takeBack('a new agent');
    this.policy = null;
    this.loadToken++;
    delete this.box.dataset.window;
    this.refresh();
  }

  // ---------------------------------------------------------------- every answer
  // Called by the page after every state it shows (play.js refresh()).
  refresh() {
    const s = this.page.s;
    if (s.step === 0 || s.step < this.history.length - 1) this.history = [{ action: null, ret: 0 }];
    if (s.last && s.step === this.history.length) this.history.push({ action: s.last.action, ret: s.ret });
    const ready = !!this.policy && !!s.obs;
    this.dom.fly.disabled = !ready || s.done || this.flying;
    this.renderHints(ready && this.dom.hintsToggle.checked && !s.done);
    this.renderChallenge();
  }

  choice(obs) {
    return this.policy.top(Float32Array.from(obs), 3);
  }

  renderHints(on) {
    const d = this.dom;
    for (const btn of this.page.buttons.values()) {
      btn.classList.remove('hint', 'hint-1', 'hint-2', 'hint-3');
      delete btn.dataset.hint;
    }
    d.hints.hidden = !on;
    this.box.dataset.hints = on ? '1' : '0';
    if (!on) {
      delete this.box.dataset.hintActions;
      d.hints.replaceChildren();
      return;
    }
    const top = this.choice(this.page.s.obs);
    this.box.dataset.hintActions = top.map((t) => t.action).join(',');
    this.box.dataset.hintStep = String(this.page.s.step);
    // each hint is a button beside the view that plays its action (the palette's may be scrolled away)
    d.hints.replaceChildren(...top.map((t, i) => {
      const padButton = this.page.buttons.get(t.action);
      const key = padButton && padButton.querySelector('kbd');
      return el('li', { class: `agent-hint hint-${i + 1}`, dataset: { action: String(t.action) } },
        el('button', { type: 'button', class: 'hint-act', dataset: { action: String(t.action) },
          title: `play ${t.name}${key ? ` (key ${key.textContent})` : ''}`,
          onclick: () => this.page.press(t.action, padButton) },
        el('span', { class: 'hint-name' }, t.name.replace(/_/g, ' ').toLowerCase()), ' ', el('b', { class: 'hint-p' }, pct(t.p)),
        key ? el('kbd', {}, key.textContent) : null));
    }));
    top.forEach((t, i) => {
      const btn = this.page.buttons.get(t.action);
      if (btn) { btn.classList.add('hint', `hint-${i + 1}`); btn.dataset.hint = String(i + 1); }
    });
  }

  // ---------------------------------------------------------------- flying
  async fly() {
    const page = this.page;
    if (!this.policy || this.flying || !page.s.sessionId || page.s.done) return;
    const d = this.dom;
    const n = Math.max(1, Math.min(FLY_MAX, Math.floor(Number(d.steps.value)) || 1));
    d.steps.value = String(n);
    const argmax = d.mode.value === 'argmax';
    const seed = Math.max(0, Math.floor(Number(d.seed.value)) || 0);
    const draw = rng(seed);
    const policy = this.policy;
    const token = ++this.flyToken;
    this.flying = true;
    this.flown = [];
    this.box.dataset.flown = '0';   // not the last flight's count until this one's first step
    this.box.dataset.flying = '1';
    d.takeBack.hidden = false;
    this.refresh();
    let why = `${n} steps done`;
    for (let i = 0; i < n; i++) {
      const s = page.s;
      if (token !== this.flyToken) return;        // taken back (takeBack said so)
      if (!s.sessionId || s.done || !s.obs) { why = s.done ? 'the episode is over' : 'no game to fly'; break; }
      while (page.s.busy && token === this.flyToken) await new Promise((r) => setTimeout(r, 20));
      const obs = Float32Array.from(s.obs);
      const action = argmax ? policy.argmax(obs) : policy.sample(obs, draw());
      const before = s.step;
      d.flyStatus.textContent = `The agent is flying: step ${i + 1} of ${n}, ${policy.actionNames[action] || action}. Any key or click takes the controls back.`;
      await page.press(action, page.buttons.get(action), true);
      const went = page.s.step === before + 1;
      if (went) {
        this.flown.push({ step: before, action });
        this.box.dataset.flown = String(this.flown.length);
      }
      if (token !== this.flyToken) {            // taken back while this step was on its way: it counts
        this.dom.flyStatus.textContent = this.tookBackText();
        return;
      }
      if (!went) { why = 'the step did not go through'; break; }
      if (i + 1 < n) await new Promise((r) => setTimeout(r, FLY_DELAY_MS));
    }
    if (token === this.flyToken) this.landed(`The agent flew ${this.flown.length} step${this.flown.length === 1 ? '' : 's'} (${why}); you have the controls.`);
  }

  takeBack(how) {
    if (!this.flying) return;
    this.flyToken++;
    this.tookBackHow = how;
    this.landed(this.tookBackText());
  }

  tookBackText() {
    const n = this.flown.length;
    return `You took the controls back (${this.tookBackHow}) after the agent's ${n} step${n === 1 ? '' : 's'}.`;
  }

  landed(text) {
    this.flying = false;
    this.box.dataset.flying = '0';
    this.box.dataset.flown = String(this.flown.length);
    this.dom.takeBack.hidden = true;
    this.dom.flyStatus.textContent = text;
    this.refresh();
  }

  // ---------------------------------------------------------------- challenge
  renderChallenge() {
    const c = this.page.s.challenge;
    const box = this.page.dom.challenge;
    if (!c || !box) return;
    const s = this.page.s;
    const h = this.history;
    let parted = null;
    for (let k = 1; k < h.length && k <= c.steps; k++) {
      if (h[k].action !== c.actions[k]) { parted = k; break; }
    }
    if (parted === null && h.length - 1 > c.steps) parted = c.steps + 1;   // played on after the agent's end
    box.dataset.parted = parted === null ? '' : String(parted);
    const total = Math.max(c.steps, s.step, 1);
    const mark = (step, cls, title) => el('span', { class: cls, title, style: { left: `${(100 * step) / total}%` } });
    const timeline = el('div', { class: 'vs-timeline', 'aria-label': 'your timeline against the agent\'s' },
      el('span', { class: 'vs-track-agent', style: { width: `${(100 * c.steps) / total}%` } }),
      el('span', { class: 'vs-track-human', style: { width: `${(100 * s.step) / total}%` } }),
      parted !== null ? mark(parted, 'vs-part', `step ${parted}: you and the agent parted ways`) : null);
    const lines = [timeline];
    if (parted !== null && parted <= c.steps) {
      const names = (c.doc && c.doc.action_names) || (this.policy && this.policy.actionNames) || [];
      const said = (a) => String(names[a] || `action ${a}`).replace(/_/g, ' ').toLowerCase();
      const mine = said(h[parted].action);
      const its = said(c.actions[parted]);
      const humanSince = s.ret - h[parted - 1].ret;
      const agentSince = c.returns[Math.min(s.step, c.steps)] - c.returns[parted - 1];
      const d = humanSince - agentSince;
      box.dataset.sinceDiff = String(d);
      lines.push(el('p', { class: 'vs-parted small' }, `You parted ways at step ${parted}: you ${mine}, the agent ${its}.`),
        el('p', { class: 'vs-since small ' + (d >= 0 ? 'pos' : 'neg') },
          `Since then: you ${humanSince >= 0 ? '+' : ''}${humanSince.toFixed(2)}, the agent ${agentSince >= 0 ? '+' : ''}`
          + `${agentSince.toFixed(2)} (${d >= 0 ? '+' : ''}${d.toFixed(2)} for you).`));
    } else {
      delete box.dataset.sinceDiff;
      lines.push(el('p', { class: 'vs-parted small muted' }, parted === null
        ? 'So far you made every move the agent made.' : 'You matched the agent to its end.'));
    }
    if (this.policy && s.obs && !s.done) {
      const top = this.choice(s.obs)[0];
      box.dataset.agentWould = String(top.action);
      lines.push(el('p', { class: 'vs-would small' }, `In your state the agent (window ${this.box.dataset.window}) would `,
        el('b', {}, top.name.replace(/_/g, ' ').toLowerCase()), ` (${pct(top.p)}).`));
    } else {
      delete box.dataset.agentWould;
    }
    const old = box.querySelector('.vs-agent-view');
    if (old) old.remove();
    box.append(el('div', { class: 'vs-agent-view' }, ...lines));
  }
}
