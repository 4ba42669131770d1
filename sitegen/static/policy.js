// A window's trained policy, run in the page: observation (260 floats) -> 69 action
// probabilities, the same forward pass and action mask as training.
//
// The files come from the site build (the format: pipeline/store/policy_file.py; see
// docs/site.md#the-agent-in-the-browser): a JSON header (layer sizes, activation, the
// action-mask rule as data, the action names) and the weights as little-endian float32.
// Dependency-free: typed arrays, float64 arithmetic.
//
//   const policy = await load('data/runs/RUN/policies/w000002.v1.json');
//   const p = policy.probs(obsFloat32Array);       // Float32Array[69]
//
// Anything wrong with the files (missing, truncated, wrong shape, unknown version, a
// policy the page cannot run) rejects with a PolicyError whose message says what.

export const FORMAT = 'prospector-policy';
export const VERSION = 1;

export class PolicyError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PolicyError';
  }
}

// ------------------------------------------------------------------ erf and GELU

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

// erfc(x) for x >= 3 by its continued fraction, evaluated from the tail (converged to
// double precision well before 60 terms there).
function erfcLarge(x) {
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + (k / 2) / f;
  return Math.exp(-x * x) * INV_SQRT_PI / f;
}

// 1 + erf(z), without cancellation for large negative z.
function onePlusErf(z) {
  if (z <= -3) return erfcLarge(-z);
  if (z >= 3) return 2 - erfcLarge(z);
  // Maclaurin series: |z| < 3 keeps the largest term below ~200, so ~1e-14 absolute.
  const z2 = z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= -z2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return 1 + TWO_OVER_SQRT_PI * sum;
}

// torch's nn.GELU() (the exact, erf form)
export function gelu(x) {
  return 0.5 * x * onePlusErf(x * Math.SQRT1_2);
}

// ------------------------------------------------------------------ the mask rule

// Bounds of a header's sizes (pipeline/store/policy_file.py has the same): far above any
// policy the project trains, low enough that a crafted header cannot make the page
// allocate without bound or recurse off the stack.
const MAX_DIM = 1 << 16;
const MAX_FLOATS = 1 << 28;
const MAX_LAYERS = 16;
const MAX_RULE_DEPTH = 64;
const MAX_RULE_NODES = 100000;

const whole = (v, low, high) => Number.isInteger(v) && v >= low && v <= high;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
// A short picture of a header value for a message (never throws).
function show(value) {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 60);
  } catch (err) {
    return typeof value;
  }
}

// One expression of the header's action_mask (pipeline/store/policy_file.py) as a function;
// budget.nodes counts the terms of every rule of the header.
function compileRule(expr, obsDim, where, depth, budget) {
  budget.nodes += 1;
  if (depth > MAX_RULE_DEPTH || budget.nodes > MAX_RULE_NODES) throw new PolicyError(`the action-mask rule at ${where} is too large or too deep`);
  if (!Array.isArray(expr) || typeof expr[0] !== 'string') throw new PolicyError(`bad action-mask rule at ${where}`);
  const [op, ...args] = expr;
  if (op === 'gt' || op === 'lt') {
    const [i, v] = args;
    if (args.length !== 2 || !whole(i, 0, obsDim - 1) || typeof v !== 'number') {
      throw new PolicyError(`bad action-mask term at ${where}: ${show(expr)}`);
    }
    return op === 'gt' ? (obs) => obs[i] > v : (obs) => obs[i] < v;
  }
  if (op === 'not' && args.length === 1) {
    const inner = compileRule(args[0], obsDim, where, depth + 1, budget);
    return (obs) => !inner(obs);
  }
  if (op === 'and' || op === 'or') {
    const terms = args.map((e) => compileRule(e, obsDim, where, depth + 1, budget));
    return op === 'and' ? (obs) => terms.every((t) => t(obs)) : (obs) => terms.some((t) => t(obs));
  }
  throw new PolicyError(`bad action-mask operator at ${where}: ${show(expr).slice(0, 40)}`);
}

// The checked fields of one layer entry; a PolicyError unless it fits the layer before
// (width) and the weights (floats).
function checkLayer(spec, k, width, floats) {
  if (!isObject(spec)) throw new PolicyError(`layer ${k} of the policy header is not an object`);
  const name = typeof spec.name === 'string' ? spec.name.slice(0, 40) : String(k);
  for (const [key, low, high] of [['in', 1, MAX_DIM], ['out', 1, MAX_DIM], ['weight_offset', 0, floats], ['bias_offset', 0, floats]]) {
    if (!whole(spec[key], low, high)) throw new PolicyError(`layer ${k} (${name}): ${key} is ${show(spec[key])}, not a whole number in ${low}..${high}`);
  }
  const { in: nIn, out: nOut, weight_offset: wAt, bias_offset: bAt } = spec;
  if (nIn !== width) throw new PolicyError(`layer ${k} (${name}) takes ${nIn} inputs but the layer before gives ${width}`);
  if (bAt !== wAt + nIn * nOut || bAt + nOut > floats) throw new PolicyError(`layer ${k} (${name}) does not fit the weights file`);
  if (spec.activation !== null && spec.activation !== 'gelu') {
    throw new PolicyError(`layer ${k} (${name}) has an unknown activation ${show(spec.activation).slice(0, 20)}`);
  }
  return { nIn, nOut, wAt, bAt, gelu: spec.activation === 'gelu' };
}

// The header when every value the policy uses is there and consistent; else a
// PolicyError saying the first thing wrong (tests/test_policy_headers_browser.py).
export function checkHeader(header) {
  if (!isObject(header) || header.format !== FORMAT) throw new PolicyError('this is not a prospector policy header');
  if (header.version !== VERSION) {
    throw new PolicyError(`policy format version ${show(header.version)} is not supported (this page reads version ${VERSION})`);
  }
  if (header.supported !== true) {
    const reason = typeof header.reason === 'string' && header.reason ? header.reason.slice(0, 200) : 'no reason given';
    throw new PolicyError(`this policy cannot run in the page: ${reason}`);
  }
  if (!Array.isArray(header.layers) || !whole(header.floats, 1, MAX_FLOATS) || !whole(header.obs_dim, 1, MAX_DIM)
      || !whole(header.n_actions, 1, MAX_DIM) || typeof header.masked_logit !== 'number') {
    throw new PolicyError('the policy header lacks its layers, sizes or masked logit');
  }
  if (header.bytes !== header.floats * 4) throw new PolicyError(`the policy header says ${show(header.bytes)} bytes for ${header.floats} floats`);
  if (header.dtype !== 'float32' || header.byte_order !== 'little') {
    throw new PolicyError(`the policy weights are ${show(header.dtype)} (${show(header.byte_order)} endian); this page reads little-endian float32`);
  }
  if (header.layers.length < 1 || header.layers.length > MAX_LAYERS) throw new PolicyError(`the policy header's layers are not 1..${MAX_LAYERS} layers`);
  let width = header.obs_dim;
  for (let k = 0; k < header.layers.length; k++) width = checkLayer(header.layers[k], k, width, header.floats).nOut;
  if (width !== header.n_actions) throw new PolicyError(`the policy gives ${width} outputs, not ${header.n_actions} action logits`);
  const rule = header.action_mask;
  if (rule !== null && rule !== undefined && (!Array.isArray(rule) || rule.length !== header.n_actions)) {
    throw new PolicyError('the action-mask rule does not cover every action');
  }
  return header;
}

// ------------------------------------------------------------------ the policy

export class Policy {
  // header: a parsed JSON header that passed checkHeader; weights: Float32Array of header.floats values.
  constructor(header, weights) {
    this.header = header;
    this.obsDim = header.obs_dim;
    this.nActions = header.n_actions;
    this.actionNames = Array.isArray(header.action_names) ? header.action_names : [];
    this.runId = header.run_id;
    this.windowId = header.window_id;
    this.maskedLogit = header.masked_logit;
    let width = this.obsDim;
    this.layers = header.layers.map((spec, k) => {
      const { nIn, nOut, wAt, bAt, gelu: isGelu } = checkLayer(spec, k, width, weights.length);
      width = nOut;
      return {
        nIn, nOut, gelu: isGelu,
        w: weights.subarray(wAt, bAt), b: weights.subarray(bAt, bAt + nOut),
        out: new Float64Array(nOut),
      };
    });
    const rule = header.action_mask;
    const budget = { nodes: 0 };
    this.mask = rule === null || rule === undefined ? null : rule.map((e, a) => compileRule(e, this.obsDim, `action ${a}`, 0, budget));
    this.input = new Float64Array(this.obsDim);
  }

  checkObs(obs) {
    if (!obs || typeof obs.length !== 'number' || obs.length !== this.obsDim) {
      throw new PolicyError(`an observation has ${this.obsDim} values, got ${obs && obs.length}`);
    }
  }

  // bool[69]: the actions the mask leaves possible (all of them without a mask)
  allowed(obs) {
    this.checkObs(obs);
    const f32 = obs instanceof Float32Array ? obs : Float32Array.from(obs);
    return this.mask ? this.mask.map((t) => t(f32)) : new Array(this.nActions).fill(true);
  }

  // Float64Array[69] of logits, masked actions at masked_logit (as in training).
  logits(obs) {
    this.checkObs(obs);
    // the service sends float32 values; rounding through Float32Array keeps any array exact
    const f32 = obs instanceof Float32Array ? obs : Float32Array.from(obs);
    this.input.set(f32);
    let x = this.input;
    for (const L of this.layers) {
      const { nIn, nOut, w, b, out } = L;
      for (let o = 0; o < nOut; o++) {
        let s = b[o];
        const row = o * nIn;
        for (let i = 0; i < nIn; i++) s += w[row + i] * x[i];
        out[o] = L.gelu ? gelu(s) : s;
      }
      x = out;
    }
    const logits = Float64Array.from(x);
    if (this.mask) for (let a = 0; a < this.nActions; a++) if (!this.mask[a](f32)) logits[a] = this.maskedLogit;
    return logits;
  }

  probs(obs) {
    const z = this.logits(obs);
    let max = -Infinity;
    for (const v of z) if (v > max) max = v;
    let sum = 0;
    for (let a = 0; a < z.length; a++) { z[a] = Math.exp(z[a] - max); sum += z[a]; }
    const p = new Float32Array(z.length);
    for (let a = 0; a < z.length; a++) p[a] = z[a] / sum;
    return p;
  }

  // [{action, name, p}] of the k most likely actions, most likely first.
  top(obs, k = 3) {
    const p = this.probs(obs);
    return [...p.keys()].sort((a, b) => p[b] - p[a] || a - b).slice(0, k)
      .map((a) => ({ action: a, name: this.actionNames[a] || `#${a}`, p: p[a] }));
  }

  argmax(obs) {
    const p = this.probs(obs);
    let best = 0;
    for (let a = 1; a < p.length; a++) if (p[a] > p[best]) best = a;
    return best;
  }

  // A sample with u in [0, 1) from a seeded stream (rng() below): the first action whose
  // cumulative probability passes u.
  sample(obs, u) {
    const p = this.probs(obs);
    let acc = 0;
    let last = 0;
    for (let a = 0; a < p.length; a++) {
      if (p[a] <= 0) continue;
      acc += p[a];
      last = a;
      if (u < acc) return a;
    }
    return last;
  }
}

// A seeded stream of uniforms in [0, 1) (mulberry32): the same seed, the same choices.
export function rng(seed) {
  let s = (Number(seed) >>> 0) || 0;
  return () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------ loading

async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url, { cache: 'default' });
  } catch (err) {
    throw new PolicyError(`the policy ${what} ${url} cannot be fetched (${err.message})`);
  }
  if (!response.ok) throw new PolicyError(`the policy ${what} ${url} is missing (HTTP ${response.status})`);
  return new Uint8Array(await response.arrayBuffer());
}

// The Policy of a header and its weights; a PolicyError says what is wrong with them.
export function fromParts(header, bytes) {
  checkHeader(header);
  if (bytes.length !== header.floats * 4) {
    throw new PolicyError(`the policy weights file is ${bytes.length} bytes, but its header says ${header.floats * 4}`
      + (bytes.length < header.floats * 4 ? ' (truncated)' : ''));
  }
  // little-endian float32 read through a DataView: right on any machine
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const weights = new Float32Array(header.floats);
  for (let i = 0; i < weights.length; i++) weights[i] = view.getFloat32(4 * i, true);
  return new Policy(header, weights);
}

// load(headerUrl[, {weightsUrl}]) -> Promise<Policy>. The weights are found next to the
// header (its weights_file) unless weightsUrl says otherwise.
export async function load(headerUrl, { weightsUrl = null } = {}) {
  const raw = await fetchBytes(headerUrl, 'header');
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(raw));
  } catch (err) {
    throw new PolicyError(`the policy header ${headerUrl} is not JSON (${err.message})`);
  }
  checkHeader(header); // before the weights are fetched: a bad header costs no download
  if (!weightsUrl) {
    if (typeof header.weights_file !== 'string' || !/^[\w.-]+$/.test(header.weights_file)) {
      throw new PolicyError('the policy header does not name its weights file');
    }
    weightsUrl = new URL(header.weights_file, new URL(headerUrl, globalThis.location ? globalThis.location.href : undefined)).href;
  }
  return fromParts(header, await fetchBytes(weightsUrl, 'weights'));
}

// ------------------------------------------------------------------ a replay's observations

// The observation of every frame of a replay, as the site build writes it
// (sitegen/policies.py: "POBS", frames, obs_dim, frame 0, then per frame the changed
// entries). Resolves to {frames, dim, at(i) -> Float32Array}.
export async function loadObservations(url) {
  const bytes = await fetchBytes(url, 'observations');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why) => new PolicyError(`the replay's observation file ${url} ${why}`);
  if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'POBS') throw bad('is not an observation file');
  const frames = view.getUint32(4, true);
  const dim = view.getUint32(8, true);
  const all = new Float32Array(frames * dim);
  let at = 12;
  try {
    for (let i = 0; i < dim; i++, at += 4) all[i] = view.getFloat32(at, true);
    for (let t = 1; t < frames; t++) {
      all.copyWithin(t * dim, (t - 1) * dim, t * dim);
      const k = view.getUint16(at, true);
      const idx = at + 2;
      const val = idx + 2 * k;
      for (let j = 0; j < k; j++) all[t * dim + view.getUint16(idx + 2 * j, true)] = view.getFloat32(val + 4 * j, true);
      at = val + 4 * k;
    }
  } catch (err) {
    throw bad(`is truncated (${err.message})`);
  }
  return { frames, dim, at: (i) => all.subarray(i * dim, (i + 1) * dim) };
}
