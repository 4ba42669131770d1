// A window's trained policy, run in the page: observation (260 floats) -> 69 action
// probabilities, the same forward pass and action mask as training.
//
// The files come from the site build (pipeline/policy_export.py writes them; see
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

// One expression of the header's action_mask (pipeline/policy_export.py) as a function.
function compileRule(expr, obsDim, where) {
  if (!Array.isArray(expr) || typeof expr[0] !== 'string') throw new PolicyError(`bad action-mask rule at ${where}`);
  const [op, ...args] = expr;
  if (op === 'gt' || op === 'lt') {
    const [i, v] = args;
    if (!Number.isInteger(i) || i < 0 || i >= obsDim || typeof v !== 'number') {
      throw new PolicyError(`bad action-mask term at ${where}: ${JSON.stringify(expr).slice(0, 60)}`);
    }
    return op === 'gt' ? (obs) => obs[i] > v : (obs) => obs[i] < v;
  }
  if (op === 'not') {
    const inner = compileRule(args[0], obsDim, where);
    return (obs) => !inner(obs);
  }
  if (op === 'and' || op === 'or') {
    const terms = args.map((e, k) => compileRule(e, obsDim, `${where}.${k}`));
    return op === 'and' ? (obs) => terms.every((t) => t(obs)) : (obs) => terms.some((t) => t(obs));
  }
  throw new PolicyError(`unknown action-mask operator "${String(op).slice(0, 20)}" at ${where}`);
}

// ------------------------------------------------------------------ the policy

export class Policy {
  // header: the parsed JSON header; weights: Float32Array of header.floats values.
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
      const { in: nIn, out: nOut } = spec;
      if (nIn !== width) throw new PolicyError(`layer ${k} (${spec.name}) takes ${nIn} inputs but the layer before gives ${width}`);
      if (spec.bias_offset !== spec.weight_offset + nIn * nOut || spec.bias_offset + nOut > weights.length) {
        throw new PolicyError(`layer ${k} (${spec.name}) does not fit the weights file`);
      }
      if (spec.activation !== null && spec.activation !== 'gelu') {
        throw new PolicyError(`layer ${k} has an unknown activation "${String(spec.activation).slice(0, 20)}"`);
      }
      width = nOut;
      return {
        nIn, nOut, gelu: spec.activation === 'gelu',
        w: weights.subarray(spec.weight_offset, spec.bias_offset), b: weights.subarray(spec.bias_offset, spec.bias_offset + nOut),
        out: new Float64Array(nOut),
      };
    });
    if (!this.layers.length || width !== this.nActions) {
      throw new PolicyError(`the policy gives ${width} outputs, not ${this.nActions} action logits`);
    }
    const rule = header.action_mask;
    if (rule !== null && rule !== undefined) {
      if (!Array.isArray(rule) || rule.length !== this.nActions) throw new PolicyError('the action-mask rule does not cover every action');
      this.mask = rule.map((e, a) => compileRule(e, this.obsDim, `action ${a}`));
    } else {
      this.mask = null;
    }
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
  if (!header || typeof header !== 'object' || header.format !== FORMAT) throw new PolicyError('this is not a prospector policy header');
  if (header.version !== VERSION) {
    throw new PolicyError(`policy format version ${JSON.stringify(header.version)} is not supported (this page reads version ${VERSION})`);
  }
  if (header.supported === false) throw new PolicyError(`this policy cannot run in the page: ${header.reason || 'no reason given'}`);
  if (!Array.isArray(header.layers) || !Number.isInteger(header.floats) || !Number.isInteger(header.obs_dim)
      || !Number.isInteger(header.n_actions) || typeof header.masked_logit !== 'number') {
    throw new PolicyError('the policy header lacks its layers, sizes or masked logit');
  }
  if (header.dtype !== 'float32' || header.byte_order !== 'little') {
    throw new PolicyError(`the policy weights are ${header.dtype} (${header.byte_order} endian); this page reads little-endian float32`);
  }
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
  if (!header || typeof header !== 'object') throw new PolicyError(`the policy header ${headerUrl} is not a JSON object`);
  if (header.format === FORMAT && header.version === VERSION && header.supported !== false && !weightsUrl) {
    if (typeof header.weights_file !== 'string' || !/^[\w.-]+$/.test(header.weights_file)) {
      throw new PolicyError('the policy header does not name its weights file');
    }
    weightsUrl = new URL(header.weights_file, new URL(headerUrl, globalThis.location ? globalThis.location.href : undefined)).href;
  }
  const bytes = header.supported === false || header.version !== VERSION || header.format !== FORMAT
    ? new Uint8Array(0) : await fetchBytes(weightsUrl, 'weights');
  return fromParts(header, bytes);
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
