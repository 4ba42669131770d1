// The HUD and the market panel, as DOM, from a render_state. Shared by the replay
// player and a live play page. Built once; update(rs) only changes text and widths.

import { el, fmt, money, COMMODITY_COLORS, COMMODITY_LABELS } from './util.js';

const BARS = [
  ['fuel', 'Fuel', 'ui.icon.fuel', '#ffd36b'],
  ['hull', 'Hull', 'ui.icon.hull', '#9fe3ff'],
  ['heat', 'Heat', 'ui.icon.heat', '#ff6b3d'],
  ['tool', 'Tool', 'ui.icon.tool', '#c7d0e0'],
  ['alert', 'Alert', 'ui.icon.alert', '#ff5252'],
];

// Change a node's text only when it differs (no needless layout and paint).
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function icon(assets, key, fallback) {
  const src = assets ? assets.iconURL(key) : null;
  return src ? el('img', { class: 'icon', src, alt: '' }) : el('span', { class: 'icon icon-fallback', 'aria-hidden': 'true' }, fallback);
}

export class Hud {
  constructor(container, assets) {
    this.root = container;
    this.bars = {};
    container.replaceChildren();
    const head = el('div', { class: 'hud-head' });
    this.credits = el('span', { class: 'hud-credits' });
    this.profit = el('span', { class: 'hud-profit' });
    this.time = el('span', { class: 'hud-time' });
    head.append(
      el('span', { class: 'hud-stat' }, icon(assets, 'ui.icon.credits', '$'), this.credits),
      el('span', { class: 'hud-stat' }, 'net ', this.profit),
      el('span', { class: 'hud-stat' }, icon(assets, 'ui.icon.time', '⏱'), this.time),
    );
    container.append(head);
    for (const [key, label, iconKey, color] of BARS) {
      const fill = el('div', { class: 'bar-fill', style: { background: color } });
      const value = el('span', { class: 'bar-value' });
      const row = el('div', { class: `bar bar-${key}`, dataset: { bar: key } },
        icon(assets, iconKey, label[0]), el('span', { class: 'bar-label' }, label),
        el('div', { class: 'bar-track' }, fill), value);
      this.bars[key] = { fill, value, row };
      container.append(row);
    }
    // cargo by commodity: one stacked bar + legend
    this.cargoTrack = el('div', { class: 'cargo-track' });
    this.cargoLegend = el('div', { class: 'cargo-legend' });
    this.cargoValue = el('span', { class: 'bar-value' });
    this.cargoSegs = {};
    this.cargoItems = {};
    for (const [name, color] of Object.entries(COMMODITY_COLORS)) {
      const seg = el('div', { class: 'cargo-seg', style: { background: color }, title: COMMODITY_LABELS[name] });
      this.cargoTrack.append(seg);
      this.cargoSegs[name] = seg;
      const item = el('span', { class: 'cargo-item' }, el('i', { style: { background: color } }), COMMODITY_LABELS[name], ' ',
        el('b', {}, '0'));
      this.cargoLegend.append(item);
      this.cargoItems[name] = item;
    }
    container.append(
      el('div', { class: 'bar bar-cargo' }, icon(assets, 'ui.icon.cargo', 'C'), el('span', { class: 'bar-label' }, 'Cargo'),
        this.cargoTrack, this.cargoValue),
      this.cargoLegend,
    );
    this.itemText = {};
    this.items = el('div', { class: 'hud-items' });
    for (const [key, iconKey, fallback] of [['kits', 'ui.icon.kit', '+'], ['stabilizers', 'ui.icon.stabilizer', 'S'],
      ['decoys', 'ui.icon.decoy', 'D']]) {
      this.itemText[key] = el('span', {});
      this.items.append(el('span', {}, icon(assets, iconKey, fallback), this.itemText[key]));
    }
    this.escape = el('span', { class: 'warn', hidden: true });
    this.docked = el('span', { class: 'docked', hidden: true }, 'docked');
    this.items.append(this.escape, this.docked);
    container.append(this.items);
    this.assets = assets;
  }

  update(rs) {
    if (!rs) return;
    const ship = rs.ship || {};
    const limits = rs.limits || {};
    setText(this.credits, money(ship.credits));
    setText(this.profit, money(ship.net_profit));
    this.profit.className = 'hud-profit ' + ((ship.net_profit || 0) >= 0 ? 'pos' : 'neg');
    setText(this.time, `t ${rs.t ?? 0} / ${rs.time_max ?? '?'}`);
    for (const [key] of BARS) {
      const max = limits[key] || 100;
      const v = ship[key] ?? 0;
      const b = this.bars[key];
      b.fill.style.width = `${Math.max(0, Math.min(100, (v / max) * 100)).toFixed(1)}%`;
      setText(b.value, `${fmt(v, 0)} / ${fmt(max, 0)}`);
      const warn = key === 'heat' || key === 'alert' ? v / max > 0.7 : v / max < 0.25;
      b.row.classList.toggle('warn', warn);
    }
    const cap = limits.cargo || 200;
    let total = 0;
    for (const c of rs.cargo || []) {
      const qty = (c.raw || 0) + (c.refined || 0);
      total += qty;
      if (this.cargoSegs[c.commodity]) {
        this.cargoSegs[c.commodity].style.width = `${Math.min(100, (qty / cap) * 100).toFixed(2)}%`;
        setText(this.cargoItems[c.commodity].querySelector('b'), c.refined > 0
          ? `${fmt(c.raw, 1)} + ${fmt(c.refined, 1)}r` : fmt(qty, 1));
        this.cargoItems[c.commodity].classList.toggle('is-empty', qty <= 0);
      }
    }
    setText(this.cargoValue, `${fmt(ship.cargo_volume ?? total, 0)} / ${fmt(cap, 0)}`);
    setText(this.itemText.kits, `kits ${ship.repair_kits ?? 0}`);
    setText(this.itemText.stabilizers, `stabilizers ${ship.stabilizers ?? 0}`);
    setText(this.itemText.decoys, `decoys ${ship.decoys ?? 0}`);
    this.escape.hidden = !ship.escape_ticks;
    if (ship.escape_ticks) setText(this.escape, `escape ${ship.escape_ticks}`);
    this.docked.hidden = !rs.docked;
  }
}

export class MarketPanel {
  constructor(container, assets) {
    this.root = container;
    this.assets = assets;
    container.replaceChildren(el('h3', {}, 'Market'));
    this.tbody = el('tbody');
    container.append(el('table', { class: 'market-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'commodity'), el('th', { class: 'num' }, 'price'), el('th', {}, ''),
        el('th', { class: 'num' }, 'station stock'))), this.tbody));
    this.rows = new Map();
  }

  update(rs) {
    const m = rs && rs.market;
    if (!m) return;
    m.commodities.forEach((name, k) => {
      let row = this.rows.get(name);
      if (!row) {
        const up = this.assets ? this.assets.iconURL('ui.arrow.up') : null;
        const down = this.assets ? this.assets.iconURL('ui.arrow.down') : null;
        row = {
          price: el('td', { class: 'num' }), arrow: el('td', { class: 'arrow' }), inv: el('td', { class: 'num' }),
          up: up ? el('img', { class: 'icon', src: up, alt: 'up' }) : el('span', {}, '▲'),
          down: down ? el('img', { class: 'icon', src: down, alt: 'down' }) : el('span', {}, '▼'),
          pct: el('span', {}), flat: el('span', {}, '·'),
        };
        row.arrow.append(row.up, row.down, row.pct, row.flat);
        row.tr = el('tr', {}, el('td', {}, el('i', { class: 'swatch', style: { background: COMMODITY_COLORS[name] || '#ccc' } }),
          COMMODITY_LABELS[name] || name), row.price, row.arrow, row.inv);
        this.tbody.append(row.tr);
        this.rows.set(name, row);
      }
      const p = m.price[k], prev = m.prev_price ? m.prev_price[k] : p;
      setText(row.price, fmt(p, 1));
      setText(row.inv, m.inventory ? fmt(m.inventory[k], 0) : '–');
      const d = p - prev;
      const pct = prev ? (d / prev) * 100 : 0;
      const moved = Math.abs(pct) >= 0.05;
      row.up.hidden = !(moved && d > 0);
      row.down.hidden = !(moved && d < 0);
      row.flat.hidden = moved;
      setText(row.pct, moved ? ` ${pct > 0 ? '+' : ''}${pct.toFixed(1)}%` : '');
      const cls = 'arrow ' + (moved ? (d > 0 ? 'up' : 'down') : 'flat');
      if (row.arrow.className !== cls) row.arrow.className = cls;
    });
  }
}
