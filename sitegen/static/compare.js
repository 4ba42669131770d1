// The replay player's "what would another window do here?" panel: the policy of any
// window of the replay's run (policy.js), run in the page on the replay's own states
// (docs/site.md#the-agent-in-the-browser). The states come from the site build, which
// plays each replay's actions again in the game and writes every frame's observation.
//
// Frame i shows the state after step i; its recorded top-3 were computed on the state
// before (frame i-1), so the other window is asked about that same state.

import { el, fetchJSON, url } from './util.js';
import { load, loadObservations } from './policy.js';

const pct = (p) => `${(100 * p).toFixed(1)}%`;

export class PolicyCompare {
  constructor(player) {
    this.player = player;
    this.select = el('select', { class: 'compare-window', 'aria-label': 'window to compare with',
      onchange: () => this.choose(this.select.value) });
    this.status = el('p', { class: 'compare-status small muted' });
    this.rows = el('div', { class: 'probs compare-probs' });
    this.panel = el('div', { class: 'panel compare-panel', 'aria-label': 'another window on these states' },
      el('h3', {}, 'What would another window do?'), this.select, this.rows, this.status);
    player.dom.probs.after(this.panel);
    // &compare=W of the URL the page was opened with (replays.js rewrites the URL before the replay loads)
    this.wanted = player.urlSync ? new URLSearchParams(window.location.search).get('compare') : null;
    this.reset();
  }

  reset() {
    this.token = (this.token || 0) + 1;
    this.policy = null;
    this.obs = null;
    this.obsEntry = null;
    this.entries = [];
    this.cache = new Map();
    this.select.replaceChildren(el('option', { value: '' }, 'choose a window'));
    this.select.disabled = true;
    this.rows.replaceChildren();
    this.panel.dataset.state = 'none';
  }

  say(text) { this.status.textContent = text; }

  // A new replay: its run's windows and its observation file (from policies.json).
  async setReplay(runId, replayId) {
    this.reset();
    const token = this.token;
    let catalog;
    try {
      catalog = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/policies.json`);
    } catch (err) {
      if (token === this.token) this.say(`No policies for this run (${err.message}).`);
      return;
    }
    if (token !== this.token) return;
    this.obsEntry = (catalog.replay_obs || {})[replayId] || null;
    this.entries = (Array.isArray(catalog.policies) ? catalog.policies : []).filter((p) => p && Number.isInteger(p.window_id));
    if (!this.obsEntry || this.obsEntry.status !== 'ok') {
      this.say(`This replay's states are not available to the page${this.obsEntry && this.obsEntry.reason ? ` (${this.obsEntry.reason})` : ''}.`);
      return;
    }
    this.select.append(...this.entries.map((p) => el('option', { value: String(p.window_id), disabled: p.status !== 'ok',
      title: p.status === 'ok' ? '' : p.reason || p.status }, `window ${p.window_id}${p.status === 'ok' ? '' : ` (${p.status})`}`)));
    this.select.disabled = false;
    this.say('Pick a window to see its top-3 on these same states.');
    // the choice is kept in the page's URL (&compare=W), so a shared link shows it too
    const want = this.wanted;
    this.wanted = null;
    if (want && this.entries.some((p) => String(p.window_id) === want && p.status === 'ok')) {
      this.select.value = want;
      await this.choose(want);
    }
  }

  async choose(value) {
    const token = ++this.token;
    this.policy = null;
    this.render(this.player.index);
    this.player.syncURL(true);
    if (value === '') return;
    const entry = this.entries.find((p) => String(p.window_id) === value);
    if (!entry || entry.status !== 'ok') return;
    this.panel.dataset.state = 'loading';
    this.say(`Loading window ${value} …`);
    try {
      if (!this.obs) this.obs = await loadObservations(url(this.obsEntry.url));
      if (!this.cache.has(value)) {
        this.cache.set(value, await load(url(entry.header_url),
          { weightsUrl: entry.weights_url ? url(entry.weights_url) : null }));
      }
      if (token !== this.token) return;
      this.policy = this.cache.get(value);
      this.panel.dataset.state = 'ready';
      this.panel.dataset.window = value;
      this.say(`Window ${value}'s policy on the state each action was chosen in.`);
    } catch (err) {
      if (token !== this.token) return;
      this.panel.dataset.state = 'error';
      this.say(`Window ${value} cannot be shown: ${err.message}`);
    }
    this.render(this.player.index);
  }

  // After every frame the player shows.
  render(index) {
    this.panel.hidden = !this.player.showProbs;
    if (!this.policy || !this.obs) {
      this.rows.replaceChildren();
      delete this.panel.dataset.frame;
      return;
    }
    this.panel.dataset.frame = String(index);
    if (index < 1 || index - 1 >= this.obs.frames) {
      this.rows.replaceChildren(el('p', { class: 'muted' }, 'no action at the first frame'));
      delete this.panel.dataset.actions;
      return;
    }
    const frame = this.player.frames.get(index);
    const top = this.policy.top(this.obs.at(index - 1), 3);
    this.panel.dataset.actions = top.map((t) => t.action).join(',');
    this.rows.replaceChildren(...top.map((t) => el('div', { class: 'prob' + (frame && t.action === frame.action ? ' chosen' : '') },
      el('span', { class: 'prob-name' }, t.name),
      el('span', { class: 'prob-track' }, el('span', { class: 'prob-fill', style: { width: `${(t.p * 100).toFixed(1)}%` } })),
      el('span', { class: 'prob-value' }, pct(t.p)))));
  }
}
