// The pure part of the operations page's charts: scales, axis ticks, SVG path data, stacking,
// the rolling queue series and the texts of durations. No DOM, so the unit tests import it as it
// is (types beside it in chart-math.d.ts); charts.js draws with it.

/** The smallest of 1, 2, 2.5, 5 × 10^k at least `value` (1 for 0 or less). */
export function niceCeil(value) {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value - power * 1e-9) return step * power;
  }
  return 10 * power;
}

/**
 * A y scale from 0 with about `count` round ticks covering `max`: `{ max, step, ticks }`, the
 * ticks from 0 to `max` inclusive. Counts (`integers`) never get a step below 1.
 */
export function niceScale(max, count = 4, integers = true) {
  let step = niceCeil(Math.max(max, 0) / count);
  if (integers) step = Math.max(1, Math.ceil(step));
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return { max: top, step, ticks };
}

/** A plotting box: `x`, `y` of its top left corner, `width`, `height`. */
export function xOf(box, i, n) {
  return n <= 1 ? box.x + box.width : box.x + (box.width * i) / (n - 1);
}

export function yOf(box, value, max) {
  const v = Math.min(Math.max(value, 0), max);
  return box.y + box.height - (box.height * v) / max;
}

const r = (n) => Math.round(n * 10) / 10;

/** The points of `values` spread over the box's width, scaled to `max`. */
export function points(values, box, max) {
  return values.map((v, i) => [r(xOf(box, i, values.length)), r(yOf(box, v, max))]);
}

/** SVG path data of a line through `values` (empty for no values). */
export function linePath(values, box, max) {
  const pts = points(values, box, max);
  return pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x} ${y}`).join(' ');
}

/** SVG path data of the area under `values`, closed on the box's bottom. */
export function areaPath(values, box, max) {
  if (values.length === 0) return '';
  const pts = points(values, box, max);
  const bottom = r(box.y + box.height);
  const first = pts[0];
  const last = pts[pts.length - 1];
  return `M${first[0]} ${bottom} ${pts.map(([x, y]) => `L${x} ${y}`).join(' ')} L${last[0]} ${bottom} Z`;
}

/**
 * Stacked bars: for each index, each series' `[from, to]` (cumulative, in the order given), and
 * the totals. `series` is a list of equal-length arrays.
 */
export function stack(series) {
  const n = Math.max(0, ...series.map((s) => s.length));
  const totals = new Array(n).fill(0);
  const spans = series.map((s) =>
    Array.from({ length: n }, (_, i) => {
      const from = totals[i];
      totals[i] += s[i] ?? 0;
      return [from, totals[i]];
    }),
  );
  return { spans, totals };
}

/** Slot `i` of `n` equal bar slots across the box: `{ x, width }` with a gap between bars. */
export function barSlot(box, i, n, gap = 0.2) {
  const slot = box.width / Math.max(n, 1);
  const width = Math.max(1, slot * (1 - gap));
  return { x: r(box.x + slot * i + (slot - width) / 2), width: r(width) };
}

export const sum = (values) => values.reduce((a, b) => a + b, 0);

/**
 * The rolling series of the queue the page keeps while open: `sample` (`{ at, ...}`, `at` in ms)
 * appended, samples older than `keepMs` before it dropped; a sample not newer than the last one
 * replaces nothing and is ignored.
 */
export function rolling(series, sample, keepMs) {
  const last = series[series.length - 1];
  if (last !== undefined && sample.at <= last.at) return series;
  return [...series.filter((s) => s.at >= sample.at - keepMs), sample];
}

/** `45 s`, `12 min 5 s`, `3 h 20 min`; `0 s` for nothing. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.round((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/** What a batch's `eta` from the overview says. */
export function etaText(eta) {
  switch (eta.kind) {
    case 'done':
      return 'done';
    case 'limited':
      return `ETA ${duration(eta.seconds)} (${eta.action} at ${eta.qps} QPS)`;
    case 'unlimited':
      return 'ETA: no QPS limit configured';
    default:
      return 'waiting for the provider or people';
  }
}

/** `finished / total` as a whole percentage (0 for an empty batch). */
export const percent = (finished, total) => (total > 0 ? Math.floor((100 * finished) / total) : 0);
