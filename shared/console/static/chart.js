// SVG charts built with DOM calls: axes, gridlines, a legend in words and a
// <title>/<desc> for screen readers. Colours are presentation attributes
// (allowed by the CSP); every series also differs by its dash pattern, so
// colour is never the only cue.

import { h, s, num } from './dom.js';

// The drawing's size in its own units. A phone gets a narrower drawing with
// larger type, so that scaled to 360 px its labels stay readable.
function frame() {
  const narrow = typeof matchMedia === 'function' && matchMedia('(max-width: 640px)').matches;
  return narrow ? { W: 420, H: 240, font: 15, dayEvery: 2 } : { W: 960, H: 260, font: 12, dayEvery: 1 };
}

// niceScale picks gridlines on round numbers: a step of 1, 2 or 5 times a
// power of ten giving about four lines, and the top as the first step at or
// above the maximum.
export function niceScale(max, lines = 4) {
  if (!(max > 0)) return { top: lines, step: 1 };
  const raw = max / lines;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = 10 * p;
  for (const m of [1, 2, 5]) if (raw <= m * p) { step = m * p; break; }
  if (step < 1) step = 1;
  return { top: step * Math.ceil(max / step), step };
}

// lineChart draws series over hours. opts: {title, desc, hours: [iso],
// series: [{name, values: [number|null], color, dash}], format(v), empty (the
// text when there is nothing to draw), zeroIsData (a 0 is a value, not none)}.
export function lineChart(opts) {
  const { hours, series } = opts;
  const format = opts.format || num;
  const { W, H, font, dayEvery } = frame();
  const n = hours.length;
  let max = 0;
  for (const sr of series) for (const v of sr.values) if (v !== null && v > max) max = v;
  const { top, step } = niceScale(max);
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  // Room on the left for the longest y label.
  const widest = Math.max(...ticks.map((v) => String(format(v)).length));
  const PAD = { top: 16, right: 16, bottom: 20 + font * 1.4, left: Math.ceil(widest * font * 0.62) + 12 };
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (n <= 1 ? innerW / 2 : (i * innerW) / (n - 1));
  const y = (v) => PAD.top + innerH - (v / top) * innerH;

  const id = 'chart-' + Math.random().toString(36).slice(2, 9);
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart', 'data-test': 'health-chart',
  });
  svg.append(s('title', { id: `${id}-t` }, opts.title));
  svg.append(s('desc', { id: `${id}-d` }, opts.desc || summary(series, format)));

  // Gridlines and y labels.
  for (const v of ticks) {
    const yy = y(v);
    svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: yy, y2: yy, stroke: v === 0 ? '#8a94a3' : '#e3e7ed', 'stroke-width': 1 }));
    svg.append(s('text', { x: PAD.left - 8, y: yy + font / 3, 'text-anchor': 'end', class: 'chart-label', 'font-size': font }, format(v)));
  }
  // x labels: each day's midnight (UTC), every other one on a phone.
  let day = 0;
  hours.forEach((iso, i) => {
    const d = new Date(iso);
    if (d.getUTCHours() !== 0) return;
    const xx = x(i);
    svg.append(s('line', { x1: xx, x2: xx, y1: PAD.top, y2: PAD.top + innerH, stroke: '#eef1f5', 'stroke-width': 1 }));
    if (day++ % dayEvery !== 0) return;
    svg.append(s('text', { x: xx, y: H - 8, 'text-anchor': 'middle', class: 'chart-label', 'font-size': font },
      d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })));
  });

  for (const sr of series) {
    // A null (no data, such as lag in an hour with no delivery) breaks the
    // line instead of drawing a false zero.
    let d = '';
    let pen = false;
    sr.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1);
      pen = true;
    });
    if (d) {
      svg.append(s('path', { d, fill: 'none', stroke: sr.color, 'stroke-width': 2, 'stroke-dasharray': sr.dash || null, 'stroke-linejoin': 'round', 'vector-effect': 'non-scaling-stroke' }));
    }
    // Lone points of a broken line would be invisible: mark them.
    sr.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const prev = i > 0 ? sr.values[i - 1] : null;
      const next = i < n - 1 ? sr.values[i + 1] : null;
      if ((prev === null || prev === undefined) && (next === null || next === undefined)) {
        svg.append(s('circle', { cx: x(i), cy: y(v), r: 2.5, fill: sr.color }));
      }
    });
  }

  if (!series.some((sr) => sr.values.some((v) => v !== null && v !== undefined && (v !== 0 || opts.zeroIsData)))) {
    svg.append(s('text', { x: PAD.left + innerW / 2, y: PAD.top + innerH / 2, 'text-anchor': 'middle', class: 'chart-empty', 'font-size': font + 3 }, opts.empty || 'Nothing to show in these 7 days'));
  }

  // One transparent column per hour whose <title> is a native tooltip with
  // that hour's figures.
  const colW = innerW / Math.max(n, 1);
  hours.forEach((iso, i) => {
    const label = new Date(iso).toISOString().slice(0, 13).replace('T', ' ') + ':00 UTC — ' +
      series.map((sr) => `${sr.name}: ${sr.values[i] === null || sr.values[i] === undefined ? 'none' : format(sr.values[i])}`).join(', ');
    svg.append(s('rect', { x: x(i) - colW / 2, y: PAD.top, width: colW, height: innerH, fill: 'transparent', class: 'chart-hit' }, s('title', {}, label)));
  });

  const legend = h('ul', { class: 'legend', 'aria-label': opts.title + ' legend' },
    series.map((sr) => h('li', {},
      s('svg', { width: 28, height: 10, viewBox: '0 0 28 10', 'aria-hidden': 'true' },
        s('line', { x1: 1, x2: 27, y1: 5, y2: 5, stroke: sr.color, 'stroke-width': 3, 'stroke-dasharray': sr.dash || null })),
      ' ', sr.name)));

  return h('figure', { class: 'chart-figure' }, h('figcaption', { class: 'chart-title' }, opts.title), svg, legend);
}

function summary(series, format) {
  return series.map((sr) => {
    const vals = sr.values.filter((v) => v !== null && v !== undefined);
    const total = vals.reduce((a, b) => a + b, 0);
    const peak = vals.length ? Math.max(...vals) : 0;
    return `${sr.name}: total ${format(total)}, peak ${format(peak)} in an hour`;
  }).join('; ') + '.';
}

// barChart draws horizontal bars with their values written beside them.
// opts: {title, bars: [{label, value}], color}.
export function barChart(opts) {
  const rowH = 28;
  const labelW = 130;
  const valueW = 80;
  const width = 560;
  const height = Math.max(opts.bars.length, 1) * rowH + 8;
  const max = Math.max(1, ...opts.bars.map((b) => b.value));
  const id = 'bar-' + Math.random().toString(36).slice(2, 9);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart chart-bars' });
  svg.append(s('title', { id: `${id}-t` }, opts.title + ': ' + opts.bars.map((b) => `${b.label} ${num(b.value)}`).join(', ')));
  opts.bars.forEach((b, i) => {
    const y0 = 4 + i * rowH;
    const w = ((width - labelW - valueW) * b.value) / max;
    svg.append(s('text', { x: labelW - 8, y: y0 + 17, 'text-anchor': 'end', class: 'chart-label', 'font-size': 13 }, b.label));
    svg.append(s('rect', { x: labelW, y: y0 + 4, width: Math.max(w, 1), height: rowH - 10, rx: 3, fill: opts.color || '#5b7083' }));
    svg.append(s('text', { x: labelW + w + 6, y: y0 + 17, class: 'chart-label', 'font-size': 13 }, num(b.value)));
  });
  return h('figure', { class: 'chart-figure' }, h('figcaption', { class: 'chart-title' }, opts.title), svg);
}
