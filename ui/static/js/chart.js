// Small SVG charts for the reports: horizontal bars, one row per category (a stage, a month),
// each row one or more bars of stacked segments, optionally with a whisker (a p90 beyond a
// median) and a note at its end (a conversion rate). The SVG is built node by node with
// createElementNS — no markup strings — and carries no style: colours come from app.css through
// the series classes (.series-<name>), sizes from presentation attributes, which the CSP allows.
//
// Every chart is an image with an accessible name and description (<title>, <desc>); the views
// put the same figures in a table next to it, so that nothing is shown by the picture alone.

import { h, newId } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

// Geometry in viewBox units; the SVG scales to its container's width (app.css).
const WIDTH = 720;
const LABEL_W = 132; // the category labels, right-aligned against the plot
const NOTE_W = 96; // the notes after the bars, when any row has one
const END_PAD = 36; // else room for half of the last tick's label
const BAR_H = 16;
const BAR_GAP = 3; // between the bars of one row
const ROW_PAD = 12; // between rows
const TOP = 8;
const AXIS_H = 26;

/** svg builds an SVG element: attrs are set as attributes (class included), children appended. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * niceScale picks the axis of values from 0 to max: an upper bound and a tick step that are
 * 1, 2, 2.5 or 5 times a power of ten, about `count` ticks; with integer, whole steps only. A
 * max of 0 gives the axis 0–1.
 */
export function niceScale(max, count = 4, integer = false) {
  if (!(max > 0)) return integer ? { max: 1, step: 1 } : { max: 1, step: 0.25 };
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  if (integer) step = Math.max(1, Math.round(step)); // counts: no tick at 2.5 deals
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

/**
 * barChart draws the chart of spec:
 *
 *   title, desc   the accessible name and description (required: the chart is an image)
 *   rows          [{ key, label, note, bars: [{ segments: [{ value, series, text }], whisker }] }]
 *                 a segment's text is its tooltip (a <title>); a whisker is { to, series, text },
 *                 a line from the end of the bar to `to`
 *   format        formats an axis value (Intl, in the UI's language)
 *   max           the axis maximum; by default the largest bar or whisker end
 *   integer       whole-number ticks (counts)
 *   id, className of the <svg>
 *
 * Each row is a <g class="chart-row" data-key=…>, each segment a <rect class="chart-bar
 * series-…">, so that tests and stylesheets find them.
 */
export function barChart(spec) {
  const { rows, format = String } = spec;
  const hasNotes = rows.some((r) => r.note);
  const x0 = LABEL_W + 8;
  const x1 = WIDTH - (hasNotes ? NOTE_W : END_PAD);
  const ends = rows.flatMap((r) => r.bars.map((b) => Math.max(sum(b.segments), b.whisker ? b.whisker.to : 0)));
  const scale = niceScale(spec.max ?? Math.max(0, ...ends), 4, spec.integer);
  const px = (v) => x0 + (Math.max(0, v) / scale.max) * (x1 - x0);

  const rowHeights = rows.map((r) => Math.max(1, r.bars.length) * (BAR_H + BAR_GAP) - BAR_GAP + ROW_PAD);
  const plotH = rowHeights.reduce((a, b) => a + b, 0);
  const height = TOP + plotH + AXIS_H;

  const titleId = newId('ct');
  const descId = newId('cd');
  const root = svg('svg', {
    class: ['chart', spec.className].filter(Boolean).join(' '), id: spec.id,
    viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    focusable: 'false',
  }, svg('title', { id: titleId }, spec.title), svg('desc', { id: descId }, spec.desc));

  // Grid lines and tick labels first, so that the bars are drawn over them.
  const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  const ticks = Math.round(scale.max / scale.step);
  for (let i = 0; i <= ticks; i += 1) {
    const v = i * scale.step;
    const x = px(v);
    grid.append(
      svg('line', { x1: x, x2: x, y1: TOP, y2: TOP + plotH, class: v === 0 ? 'chart-axis' : 'chart-gridline' }),
      svg('text', { x, y: TOP + plotH + 17, 'text-anchor': 'middle', class: 'chart-tick' }, format(v)));
  }
  root.append(grid);

  let y = TOP + ROW_PAD / 2;
  rows.forEach((r, i) => {
    const g = svg('g', { class: 'chart-row', 'data-key': r.key });
    const h = rowHeights[i] - ROW_PAD;
    g.append(svg('text', { x: LABEL_W, y: y + h / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-label' }, r.label));
    r.bars.forEach((b, j) => {
      const by = y + j * (BAR_H + BAR_GAP);
      let at = 0;
      for (const s of b.segments) {
        if (s.value > 0) {
          g.append(svg('rect', {
            x: px(at), y: by, width: Math.max(0.5, px(at + s.value) - px(at)), height: BAR_H,
            class: `chart-bar series-${s.series}`, 'data-series': s.series,
          }, s.text ? svg('title', null, s.text) : null));
        }
        at += s.value;
      }
      if (b.whisker && b.whisker.to > at) {
        const wy = by + BAR_H / 2;
        g.append(svg('g', { class: `chart-whisker series-${b.whisker.series}`, 'data-series': b.whisker.series },
          b.whisker.text ? svg('title', null, b.whisker.text) : null,
          svg('line', { x1: px(at), x2: px(b.whisker.to), y1: wy, y2: wy }),
          svg('line', { x1: px(b.whisker.to), x2: px(b.whisker.to), y1: by + 2, y2: by + BAR_H - 2 })));
      }
    });
    if (r.note) {
      g.append(svg('text', { x: x1 + 8, y: y + h / 2, 'dominant-baseline': 'middle', class: 'chart-note' }, r.note));
    }
    root.append(g);
    y += rowHeights[i];
  });
  return root;
}

function sum(segments) {
  return segments.reduce((a, s) => a + Math.max(0, s.value), 0);
}

/** legend lists the series of a chart with their colour swatches: [{ series, label }]. */
export function legend(items) {
  return h('ul', { class: 'chart-legend' }, items.map((it) => h('li', { data: { series: it.series } },
    h('span', { class: `swatch series-${it.series}`, 'aria-hidden': 'true' }), it.label)));
}
