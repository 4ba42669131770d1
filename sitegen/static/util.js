// Small helpers shared by every page. Data from runs is only ever put into the page
// as text (textContent / attribute values), never as HTML.
import { SPEC } from './spec.js';

export function siteBase() {
  const meta = document.querySelector('meta[name="site-base"]');
  const base = meta ? meta.getAttribute('content') : '/';
  return base.endsWith('/') ? base : base + '/';
}

export function url(path) {
  return siteBase() + String(path).replace(/^\//, '');
}

// el('div', {class: 'x', onclick: fn, dataset: {a: 1}}, 'text', childNode, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'style' && typeof value === 'object') Object.assign(node.style, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export class HttpError extends Error {
  constructor(status, path) {
    super(`${path}: HTTP ${status}`);
    this.status = status;
    this.path = path;
  }
}

// `cache`: 'no-cache' (revalidate: catalogs that grow) or 'default' (immutable replays).
export async function fetchJSON(path, { cache = 'no-cache' } = {}) {
  let response;
  try {
    response = await fetch(url(path), { cache });
  } catch (err) {
    throw new Error(`${path}: ${err.message}`);
  }
  if (!response.ok) throw new HttpError(response.status, path);
  try {
    return await response.json();
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err.message})`);
  }
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (typeof value !== 'number') return String(value);
  const a = Math.abs(value);
  if (a >= 1e6) return (value / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return Math.round(value).toLocaleString('en-US');
  if (a >= 100) return value.toFixed(Math.min(digits, 1));
  if (a === 0) return '0';
  if (a < 0.01) return value.toPrecision(2);
  return value.toFixed(digits);
}

export function money(value) {
  if (value === null || value === undefined) return '–';
  const sign = value < 0 ? '−' : '';
  return `${sign}$${Math.abs(value).toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
}

export function showMessage(node, text, kind = 'error') {
  if (!node) return;
  node.hidden = !text;
  node.className = node.className.replace(/\bmsg-\w+\b/g, '').trim() + (text ? ` msg-${kind}` : '');
  node.textContent = text || '';
}

export function params() {
  return new URLSearchParams(window.location.search);
}

export const COMMODITY_COLORS = {
  iron: '#b0643c', nickel: '#9aa7b1', water_ice: '#7fd3ff', pge: '#f2d16b',
  rare_isotopes: '#b58cff', volatiles: '#6be39a',
};

export const COMMODITY_LABELS = SPEC.commodity_labels;  // generated from prospector/controls.py
