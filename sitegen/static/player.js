// The replay player: sector view + mini-map (render.js), HUD and market (hud.js),
// timeline with event markers, value and belief strips (strips.js), controls, keyboard
// shortcuts, sounds, URL sync. The timelapse and embed pages drive the same class.

import { el, fetchJSON, fmt, showMessage, url } from './util.js';
import { loadAssets, SoundBoard, EVENT_SOUNDS } from './assets.js';
import { GameView } from './view.js';
import { FrameStore, eventMarkers, describeEvent, explainMissingReplay, checkReplay, checkReplayIndex, checkReplayPart } from './replay.js';
import { PolicyCompare } from './compare.js';
import { Strips } from './strips.js';

const SPEEDS = [1, 2, 4, 8, 15, 30, 60];

export class ReplayPlayer {
  // keys: the keyboard shortcuts (off for the second player of a side-by-side view);
  // onFrame(index): called whenever another frame is shown (the timelapse's lockstep).
  constructor(root, { assets, urlSync = false, loop = false, keys = true, onFrame = null } = {}) {
    this.root = root;
    this.keys = keys;
    this.onFrame = onFrame;
    this.shownIndex = -1;
    this.assets = assets;
    this.urlSync = urlSync;
    this.loop = loop;
    this.frames = { length: 0, get: () => undefined };
    this.index = 0;
    this.playing = false;
    this.fps = 8;
    this.acc = 0;
    this.last = 0;
    this.showTruth = false;
    this.showProbs = true;
    this.doc = null;
    this.runId = null;
    this.replayId = null;
    this.lastUrlSync = 0;
    this.stats = { draws: 0, drawMs: [], intervals: [], loadedAt: null, firstPlayAt: null };
    const q = (sel) => root.querySelector(sel);
    this.dom = {
      message: q('.player-message'), sector: q('canvas.sector'), minimap: q('canvas.minimap'),
      scrub: q('.scrub'), markers: q('.markers'), play: q('.btn-play'), counter: q('.frame-counter'),
      speed: q('.speed'), probsToggle: q('.tg-probs'), truthToggle: q('.tg-truth'), soundToggle: q('.tg-sound'),
      share: q('.share'), challenge: q('.challenge'), hud: q('.hud'), action: q('.action-panel'), probs: q('.probs-panel'),
      truth: q('.truth-panel'), market: q('.market'), log: q('.event-log'),
    };
    // the one drawing path shared with the /play page (view.js)
    this.view = new GameView({ sector: this.dom.sector, minimap: this.dom.minimap, hud: this.dom.hud,
      market: this.dom.market }, assets);
    this.renderer = this.view.renderer;
    const strips = root.querySelector('.strips');
    this.strips = strips ? new Strips(strips, { onSeek: (i) => { this.pause(); this.seek(i); } }) : null;
    this.sounds = new SoundBoard(assets);
    assets.onload = () => { this.view.dirty = true; };
    this.bind();
    // "what would another window do here?" beside the recorded top-3 (compare.js)
    this.compare = this.dom.probs ? new PolicyCompare(this) : null;
    this.drawWaiters = []; // loads waiting for the first frame to be on screen (firstDraw)
    document.addEventListener('visibilitychange', () => { if (document.hidden) this.releaseDrawWaiters(); });
    this.loopFn = (now) => this.tick(now);
    requestAnimationFrame(this.loopFn);
  }

  bind() {
    const d = this.dom;
    const on = (node, ev, fn) => node && node.addEventListener(ev, fn);
    on(this.root.querySelector('.btn-first'), 'click', () => this.seek(0));
    on(this.root.querySelector('.btn-last'), 'click', () => this.seek(this.frames.length - 1));
    on(this.root.querySelector('.btn-prev'), 'click', () => { this.pause(); this.step(-1); });
    on(this.root.querySelector('.btn-next'), 'click', () => { this.pause(); this.step(1); });
    on(d.play, 'click', () => this.toggle());
    on(d.scrub, 'input', () => this.seek(Number(d.scrub.value)));
    on(d.speed, 'change', () => this.setSpeed(Number(d.speed.value)));
    on(d.probsToggle, 'change', () => { this.showProbs = d.probsToggle.checked; this.updatePanels(); });
    on(d.truthToggle, 'change', () => { this.setTruth(d.truthToggle.checked); });
    on(d.soundToggle, 'change', () => { this.sounds.muted = !d.soundToggle.checked; });
    on(d.share, 'click', (ev) => { ev.preventDefault(); this.toggleShare(); });
    for (const btn of this.root.querySelectorAll('.share-copy')) {
      on(btn, 'click', () => {
        const field = this.root.querySelector(btn.dataset.copy === 'embed' ? '.share-embed' : '.share-link');
        field.select();
        if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(() => {});
        btn.textContent = 'copied';
      });
    }
    on(this.root.querySelector('.share-close'), 'click', () => this.toggleShare(false));
    // keyboard shortcuts (not while typing in a field)
    if (this.keys) document.addEventListener('keydown', (ev) => {
      const tag = (ev.target && ev.target.tagName) || '';
      if (['INPUT', 'SELECT', 'TEXTAREA'].includes(tag) && !(tag === 'INPUT' && ev.target.type === 'range') && !(tag === 'INPUT' && ev.target.type === 'checkbox')) return;
      if (ev.ctrlKey || ev.metaKey || ev.altKey || !this.frames.length) return;
      const k = ev.key;
      let handled = true;
      if (k === ' ' || k === 'k') this.toggle();
      else if (k === 'ArrowRight') { this.pause(); this.step(ev.shiftKey ? 10 : 1); }
      else if (k === 'ArrowLeft') { this.pause(); this.step(ev.shiftKey ? -10 : -1); }
      else if (k === 'Home') this.seek(0);
      else if (k === 'End') this.seek(this.frames.length - 1);
      else if (k === '+' || k === '=') this.bumpSpeed(1);
      else if (k === '-' || k === '_') this.bumpSpeed(-1);
      else if (k === 't' || k === 'T') this.setTruth(!this.showTruth);
      else if (k === 'p' || k === 'P') { d.probsToggle.checked = !d.probsToggle.checked; this.showProbs = d.probsToggle.checked; this.updatePanels(); }
      else if (k === 'm' || k === 'M') { d.soundToggle.checked = !d.soundToggle.checked; this.sounds.muted = !d.soundToggle.checked; }
      else if (k === 'n' || k === 'N') this.jumpToNextMarker(ev.shiftKey ? -1 : 1);
      else handled = false;
      if (handled) ev.preventDefault();
    });
  }

  message(text, kind = 'error') { showMessage(this.dom.message, text, kind); }

  // Load a replay; `frame` may be a string from the URL. Returns true when playable.
  async load(runId, replayId, { frame = null, autoplay = false } = {}) {
    this.pause();
    this.message('');
    this.runId = runId;
    this.replayId = replayId;
    this.root.dataset.state = 'loading';
    const t0 = performance.now();
    let doc;
    try {
      doc = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays/${encodeURIComponent(replayId)}.json`,
        { cache: 'default' });
    } catch (err) {
      return this.failLoad(await this.explainMissing(runId, replayId, err));
    }
    try { // a file that is not a replay (a URL can name any JSON file of the site)
      checkReplay(doc, `"${replayId}"`);
      this.frames = new FrameStore(doc);
      this.frames.get(0);
    } catch (err) {
      return this.failLoad(`Could not show replay "${replayId}": ${err.message}`);
    }
    this.stats.fetchedAt = performance.now() - t0;
    this.doc = doc;
    this.stats.firstDrawAt = undefined;
    delete this.root.dataset.drawn;
    this.releaseDrawWaiters(); // a load still waiting for its first frame gives way to this one
    if (this.compare) this.compare.setReplay(runId, replayId);
    this.stats.loadedAt = performance.now() - t0;
    this.dom.scrub.max = String(Math.max(0, this.frames.length - 1));
    this.timeMax = doc.time_max;
    this.shownIndex = -1;
    this.indexReady(doc);
    let start = 0;
    if (frame !== null && frame !== undefined && frame !== '') {
      const n = Number(frame);
      if (!Number.isInteger(n) || n < 0) {
        this.message(`Frame "${frame}" is not a frame number; showing frame 0.`, 'warn');
      } else if (n >= this.frames.length) {
        start = this.frames.length - 1;
        this.message(`Frame ${n} is past the end of this replay (frames 0–${this.frames.length - 1}); showing the last frame.`, 'warn');
      } else {
        start = n;
      }
    }
    this.root.dataset.frames = String(this.frames.length);
    if (this.dom.challenge) { // challenge mode: the human plays this replay's world on /play
      this.dom.challenge.href = `${url('play/')}?${new URLSearchParams({ run: runId, replay: replayId })}`;
      this.dom.challenge.hidden = false;
    }
    this.seek(start, { sync: false });
    this.frameShown();
    if (autoplay) {
      this.play();
      this.stats.firstPlayAt = performance.now() - t0;
    }
    // A long replay's index (strips, markers) once the first frame is on screen, then its
    // parts in the background (docs/site.md#progressive-loading).
    const store = this.frames;
    if (doc.index && !(await this.loadIndex(runId, doc, store))) return false;
    if (this.frames !== store) return false; // another replay was loaded meanwhile
    this.root.dataset.state = 'ready';
    this.loadParts(runId, replayId, doc);
    this.stats.readyAt = performance.now(); // since navigation start
    return true;
  }

  failLoad(text) {
    this.frames = { length: 0, get: () => undefined };
    this.doc = null;
    this.root.dataset.state = 'error';
    this.message(text);
    this.drawEmpty();
    return false;
  }

  // The timeline's markers and the strips, from the document or its index.
  indexReady(doc) {
    this.markers = eventMarkers(this.frames.length, (i) => this.frames.types(i));
    this.buildMarkers();
    if (!this.strips) return;
    if (doc.index && !doc.events) { // still on its way: empty strips, no note yet
      this.strips.value.set(this.frames.length, null);
      this.strips.belief.set(this.frames.length, null);
      return;
    }
    this.strips.set(doc.series, this.markers, this.frames.length);
    this.strips.setIndex(this.index);
  }

  async loadIndex(runId, doc, store) {
    await this.firstDraw();
    if (this.frames !== store) return false; // another replay was loaded meanwhile
    let index;
    try {
      index = checkReplayIndex(await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays/${encodeURIComponent(doc.index)}`,
        { cache: 'default' }), store.length, doc.index);
    } catch (err) {
      if (this.frames !== store) return false;
      this.root.dataset.state = 'ready'; // the frames play on; only the strips and markers are missing
      this.message(`Could not load this replay's timeline (${doc.index}): ${err.message}`, 'warn');
      return true;
    }
    if (this.frames !== store) return false;
    doc.series = index.series;
    doc.events = index.events;
    this.indexReady(doc);
    return true;
  }

  // Resolves once a frame has been drawn, or at once in a hidden page (which draws nothing).
  // No timer: on a busy machine the first animation frame can come late, and the index must
  // not compete with the first frame's files (docs/site.md#progressive-loading).
  firstDraw() {
    if (this.stats.firstDrawAt !== undefined || document.hidden) return Promise.resolve();
    return new Promise((resolve) => { this.drawWaiters.push(resolve); });
  }

  releaseDrawWaiters() {
    const waiting = this.drawWaiters;
    this.drawWaiters = [];
    for (const resolve of waiting) resolve();
  }

  // A long replay's other parts, in order, in the background.
  async loadParts(runId, replayId, doc) {
    const store = this.frames;
    this.root.dataset.loaded = String(store.loaded);
    for (const name of doc.parts || []) {
      let part;
      try {
        part = await fetchJSON(`data/runs/${encodeURIComponent(runId)}/replays/${encodeURIComponent(name)}`, { cache: 'default' });
        if (this.frames !== store) return; // another replay was loaded meanwhile
        store.addPart(checkReplayPart(part, store.loaded, name));
      } catch (err) {
        if (this.frames === store) this.message(`Could not load the rest of this replay (${name}): ${err.message}`);
        return;
      }
      this.root.dataset.loaded = String(store.loaded);
      if (this.pendingSeek !== undefined && this.pendingSeek < store.loaded) {
        const target = this.pendingSeek;
        this.pendingSeek = undefined;
        this.seek(target, { sync: false });
      }
    }
  }

  explainMissing(runId, replayId, err) { return explainMissingReplay(runId, replayId, err); }

  drawEmpty() {
    this.view.clear();
    if (this.dom.challenge) this.dom.challenge.hidden = true;
    this.dom.counter.textContent = 't – · step – / –';
    this.dom.markers.replaceChildren();
  }

  buildMarkers() {
    const box = this.dom.markers;
    box.replaceChildren();
    const n = Math.max(1, this.frames.length - 1);
    for (const m of this.markers) {
      const btn = el('button', {
        type: 'button', class: `marker marker-${m.type}`, title: `frame ${m.frame}: ${m.label}`,
        'aria-label': `jump to frame ${m.frame} (${m.label})`,
        dataset: { frame: String(m.frame), type: m.type },
        style: { left: `${(m.frame / n) * 100}%`, background: m.color },
        onclick: () => { this.pause(); this.seek(m.frame); },
      });
      box.append(btn);
    }
  }

  jumpToNextMarker(dir) {
    if (!this.markers || !this.markers.length) return;
    const list = dir > 0 ? this.markers.filter((m) => m.frame > this.index) : this.markers.filter((m) => m.frame < this.index).reverse();
    if (list.length) { this.pause(); this.seek(list[0].frame); }
  }

  // -- playback --------------------------------------------------------------
  play() {
    if (!this.frames.length) return;
    if (this.index >= this.frames.length - 1) this.seek(0, { sync: false });
    this.playing = true;
    this.acc = 0;
    this.dom.play.setAttribute('aria-label', 'pause');
    this.root.dataset.playing = '1';
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this.dom.play.setAttribute('aria-label', 'play');
    this.root.dataset.playing = '0';
    this.syncURL(true);
  }

  toggle() { if (this.playing) this.pause(); else this.play(); }

  step(delta) { this.seek(this.index + delta); }

  setSpeed(fps) {
    this.fps = fps;
    if (this.dom.speed.value !== String(fps)) this.dom.speed.value = String(fps);
  }

  bumpSpeed(dir) {
    const i = SPEEDS.indexOf(this.fps);
    this.setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 3 : i) + dir))]);
  }

  setTruth(on) {
    this.showTruth = on;
    this.dom.truthToggle.checked = on;
    this.root.dataset.truth = on ? '1' : '0';
    this.updatePanels();
    this.view.dirty = true;
  }

  seek(i, { sync = true } = {}) {
    if (!this.frames.length) return;
    let n = Math.max(0, Math.min(this.frames.length - 1, Math.round(i)));
    if (n >= this.frames.loaded) { // that part of a long replay is still on its way
      this.pendingSeek = n;
      n = this.frames.loaded - 1;
    }
    this.index = n;
    this.acc = 0;
    this.dom.scrub.value = String(n);
    this.updatePanels();
    this.view.dirty = true;
    this.frameShown();
    if (sync) this.syncURL(true);
  }

  // The share / embed panel: this replay's link at the shown frame and an iframe snippet.
  toggleShare(open) {
    const panel = this.root.querySelector('.share-panel');
    if (!panel) return;
    const show = open ?? panel.hidden;
    const link = this.shareURL();
    if (show && link) {
      const q = new URLSearchParams({ run: this.runId, replay: this.replayId, frame: String(this.index) });
      const embed = new URL(`${url('embed/')}?${q}`, window.location.href).href;
      panel.querySelector('.share-link').value = new URL(link, window.location.href).href;
      panel.querySelector('.share-embed').value = `<iframe src="${embed}" width="800" height="600" style="border:0" `
        + 'title="Asteroid Belt Prospector replay" loading="lazy" allowfullscreen></iframe>';
      for (const b of panel.querySelectorAll('.share-copy')) b.textContent = b.dataset.copy === 'embed' ? 'copy embed code' : 'copy link';
    }
    panel.hidden = !(show && link);
    this.dom.share.setAttribute('aria-expanded', panel.hidden ? 'false' : 'true');
  }

  shareURL() {
    if (!this.runId || !this.replayId) return null;
    const q = new URLSearchParams({ run: this.runId, replay: this.replayId, frame: String(this.index) });
    if (this.compare && this.compare.select.value) q.set('compare', this.compare.select.value); // "another window"
    return `${url('replays/')}?${q}`;
  }

  syncURL(force = false) {
    const link = this.shareURL();
    if (!link) return;
    this.dom.share.href = link;
    if (!this.urlSync) return;
    const now = performance.now();
    if (!force && now - this.lastUrlSync < 1000) return;
    this.lastUrlSync = now;
    window.history.replaceState(null, '', link);
  }

  // After every change of the shown frame: the strips' cursor and the onFrame listener.
  frameShown() {
    if (this.index === this.shownIndex || !this.frames.length) return;
    this.shownIndex = this.index;
    if (this.strips) this.strips.setIndex(this.index);
    if (this.onFrame) this.onFrame(this.index);
  }

  tick(now) {
    requestAnimationFrame(this.loopFn);
    if (this.frozen) return;   // someone else draws (video export: embed.js)
    if (this.last) {
      const dt = now - this.last;
      this.stats.intervals.push(dt);
      if (this.stats.intervals.length > 600) this.stats.intervals.shift();
      if (this.playing && this.frames.length) {
        this.acc += Math.min(dt, 250);
        const dur = 1000 / this.fps;
        let advanced = 0;
        while (this.acc >= dur && this.playing) {
          this.acc -= dur;
          if (this.index >= this.frames.length - 1) {
            if (this.loop) { this.index = -1; } else { this.pause(); break; }
          }
          if (this.index + 1 >= this.frames.loaded) { this.acc = 0; break; } // wait for the next part
          this.index += 1;
          advanced += 1;
          if (advanced <= 3) this.playSounds(this.frames.raw[this.index]);
        }
        if (advanced) {
          this.dom.scrub.value = String(this.index);
          // fast playback: the HUD at most 20 times a second, the text panels 10 times
          const full = this.fps <= 10 || now - (this.lastFullPanels || 0) > 100;
          if (full || now - (this.lastLightPanels || 0) > 50) {
            this.updatePanels(!full);
            this.lastLightPanels = now;
            if (full) this.lastFullPanels = now;
          } else {
            this.showCounter(this.frames.get(this.index));
            this.root.dataset.frame = String(this.index);
          }
          this.syncURL(false);
        }
      }
    }
    this.last = now;
    this.frameShown();
    const frame = this.frames.get(this.index);
    if (!frame) return;
    const t0 = performance.now();
    const phase = this.playing ? Math.min(1, this.acc / (1000 / this.fps)) : 0.55;
    this.view.draw(frame, { phase, showTruth: this.showTruth, time: now });
    this.stats.draws += 1;
    if (this.stats.firstDrawAt === undefined) {
      this.stats.firstDrawAt = performance.now();
      this.root.dataset.drawn = '1';
      this.releaseDrawWaiters();
    }
    if (this.playing && this.stats.firstAdvanceAt === undefined && this.index > 0) this.stats.firstAdvanceAt = performance.now();
    this.stats.drawMs.push(performance.now() - t0);
    if (this.stats.drawMs.length > 600) this.stats.drawMs.shift();
  }

  playSounds(frame) {
    if (this.sounds.muted || !frame) return;
    for (const e of frame.events || []) {
      const key = EVENT_SOUNDS[e.type];
      if (key) this.sounds.play(key);
    }
  }

  // -- side panels -----------------------------------------------------------
  updatePanels(light = false) {
    const frame = this.frames.get(this.index);
    if (!frame) return;
    this.showCounter(frame);
    this.root.dataset.frame = String(this.index);
    this.view.panels(frame, { light });
    if (light) return;
    // action
    const a = this.dom.action;
    a.replaceChildren(
      el('h3', {}, 'Action'),
      el('div', { class: 'action-line' },
        el('span', { class: 'action-name' + (frame.invalid ? ' invalid' : '') }, frame.action_name || '(reset)'),
        frame.invalid ? el('span', { class: 'tag tag-problem' }, 'invalid') : null),
      el('div', { class: 'action-meta' },
        `reward ${frame.reward >= 0 ? '+' : ''}${fmt(frame.reward, 3)} · ${frame.dt} tick${frame.dt === 1 ? '' : 's'} · t ${frame.rs ? frame.rs.t : '?'}`),
    );
    // probabilities
    const p = this.dom.probs;
    p.hidden = !this.showProbs;
    if (this.showProbs) {
      const names = (this.doc && this.doc.action_names) || [];
      const rows = (frame.probs || []).map(([act, prob]) => el('div', { class: 'prob' + (act === frame.action ? ' chosen' : '') },
        el('span', { class: 'prob-name' }, names[act] || `#${act}`),
        el('span', { class: 'prob-track' }, el('span', { class: 'prob-fill', style: { width: `${(prob * 100).toFixed(1)}%` } })),
        el('span', { class: 'prob-value' }, `${(prob * 100).toFixed(1)}%`)));
      p.replaceChildren(el('h3', {}, 'Policy: top-3 actions'),
        rows.length ? el('div', { class: 'probs' }, rows) : el('p', { class: 'muted' }, 'no action at the first frame'),
        frame.valid ? el('p', { class: 'muted small' }, `${frame.valid.length} valid actions here`) : null);
    }
    if (this.compare) this.compare.render(this.index);
    // truth
    const tp = this.dom.truth;
    tp.hidden = !this.showTruth;
    if (this.showTruth) this.renderTruthPanel(tp, frame);
    // event log: recent frames' events, newest first
    const items = [];
    for (let i = this.index; i >= 0 && items.length < 14; i--) {
      const f = this.frames.raw[i];
      for (const e of f.events || []) {
        if (items.length >= 14) break;
        if (e.type === 'hold' && f.events.length > 1) continue;
        items.push(el('li', { class: `ev ev-${e.type}` + (i === this.index ? ' now' : ''), dataset: { frame: String(i) } },
          // the HUD's clock (game tick); the step is in the tooltip
          el('button', { type: 'button', class: 'ev-jump', title: `step ${i}: show this frame`,
            onclick: () => { this.pause(); this.seek(i); } }, `t ${f.t ?? '?'}`),
          ` ${describeEvent(e)}`));
      }
    }
    this.dom.log.replaceChildren(el('h3', {}, 'Events'), items.length ? el('ol', { class: 'ev-list' }, items) : el('p', { class: 'muted' }, 'no events yet'));
  }

  // One clock (the HUD's): the game tick first, the decision step (frame) second.
  showCounter(frame) {
    const t = frame && frame.rs ? frame.rs.t : '?';
    const tmax = (frame && frame.rs ? frame.rs.time_max : null) ?? this.timeMax ?? '?';
    this.dom.counter.textContent = `t ${t} / ${tmax} · step ${this.index} / ${this.frames.length - 1}`;
  }

  renderTruthPanel(node, frame) {
    const truth = frame.truth;
    if (!truth) {
      node.replaceChildren(el('h3', {}, 'Truth'), el('p', { class: 'muted' }, 'This replay has no truth block.'));
      return;
    }
    const commodities = (this.doc && this.doc.commodities) || [];
    const dom = (comp) => {
      if (!comp || !comp.length) return '–';
      if (Math.max(...comp) - Math.min(...comp) < 0.02) return 'unknown (flat prior)';
      let k = 0;
      comp.forEach((v, i) => { if (v > comp[k]) k = i; });
      return `${(commodities[k] || k).replace(/_/g, ' ')} ${(comp[k] * 100).toFixed(0)}%`;
    };
    const rocks = (frame.rs && frame.rs.asteroids) || [];
    const rows = rocks.map((a, i) => {
      const t = (truth.asteroids || [])[i] || {};
      return el('tr', {}, el('td', {}, `#${a.slot}`), el('td', {}, dom(a.comp_est)), el('td', { class: 'truth-val' }, dom(t.comp)),
        el('td', { class: 'num' }, `${fmt(a.stability_est, 2)} / `, el('span', { class: 'truth-val' }, fmt(t.stability, 2))));
    });
    const n = truth.node || {};
    node.replaceChildren(
      el('h3', {}, 'Truth vs the agent\'s estimates'),
      el('p', { class: 'small' }, 'Here: pirate ', el('b', { class: 'truth-val' }, fmt(n.pirate, 2)), ' · hazard ',
        el('b', { class: 'truth-val' }, fmt(n.hazard, 2)), ' · richness ', el('b', { class: 'truth-val' }, fmt(n.richness, 2))),
      rows.length ? el('table', { class: 'truth-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'rock'), el('th', {}, 'estimate'), el('th', {}, 'true'), el('th', { class: 'num' }, 'stability est / true'))),
        el('tbody', {}, rows)) : el('p', { class: 'muted small' }, 'No asteroids at this node.'),
    );
  }
}

export async function createPlayer(root, opts = {}) {
  const assets = await loadAssets();
  return new ReplayPlayer(root, { assets, ...opts });
}
