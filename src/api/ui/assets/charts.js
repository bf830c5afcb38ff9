/* global document */
// The operations page's charts as inline SVG built with DOM calls (no library, nothing parsed as
// markup; colours and dashes are classes and presentation attributes, as the CSP forbids style
// attributes). Each chart has a <title> and <desc> for screen readers, axes with round ticks and a
// legend; every drawn series carries its values in `data-values` (bars in `data-value`), which the
// browser test compares with the API's answer.
import { areaPath, barSlot, linePath, niceScale, stack, sum, yOf } from './chart-math.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 190;
const PAD = { left: 40, right: 12, top: 10, bottom: 24 };
export const OUTCOMES = ['passed', 'not_passed', 'expired', 'failed', 'cancelled'];

let ids = 0;

/** An SVG element with attributes and children (text children become text nodes). */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return el;
}

const tip = (text) => s('title', {}, text);
const label = (name) => name.replaceAll('_', ' ');

/** The drawing's frame: the svg sized to its container, and the plotting box inside it. */
function frame(container, name, title, desc) {
  const width = Math.max(280, Math.round(container.clientWidth || 600));
  const titleId = `chart-title-${++ids}`;
  const svg = s(
    'svg',
    {
      viewBox: `0 0 ${width} ${HEIGHT}`,
      width,
      height: HEIGHT,
      role: 'img',
      'aria-labelledby': titleId,
      'data-chart': name,
      class: 'chart-svg',
    },
    s('title', { id: titleId }, title),
    s('desc', {}, desc),
  );
  const box = {
    x: PAD.left,
    y: PAD.top,
    width: width - PAD.left - PAD.right,
    height: HEIGHT - PAD.top - PAD.bottom,
  };
  return { svg, box };
}

/** Y ticks with grid lines and labels, and the x labels given as `[fraction, text]`. */
function axes(svg, box, scale, xLabels, format = String) {
  const g = s('g', { class: 'axis' });
  for (const tick of scale.ticks) {
    const y = yOf(box, tick, scale.max);
    g.append(
      s('line', { x1: box.x, x2: box.x + box.width, y1: y, y2: y, class: 'grid' }),
      s('text', { x: box.x - 6, y: y + 4, 'text-anchor': 'end' }, format(tick)),
    );
  }
  for (const [fraction, text] of xLabels) {
    const x = box.x + box.width * fraction;
    const anchor = fraction <= 0 ? 'start' : fraction >= 1 ? 'end' : 'middle';
    g.append(s('text', { x, y: box.y + box.height + 16, 'text-anchor': anchor }, text));
  }
  g.append(
    s('line', {
      x1: box.x,
      x2: box.x + box.width,
      y1: box.y + box.height,
      y2: box.y + box.height,
      class: 'baseline',
    }),
  );
  svg.append(g);
}

/** A legend under the chart: `[className, text, dashed]` entries. */
function legend(entries) {
  return entries.map(([cls, text, dashed]) => {
    const el = document.createElement('span');
    el.className = 'legend-item';
    const key = document.createElement('span');
    key.className = `key ${cls}${dashed ? ' dashed' : ''}`;
    el.append(key, document.createTextNode(text));
    return el;
  });
}

function place(container, svg, legendEntries, note) {
  const keys = document.createElement('div');
  keys.className = 'legend';
  keys.append(...legend(legendEntries));
  const parts = [svg, keys];
  if (note) {
    const p = document.createElement('p');
    p.className = 'muted chart-note';
    p.textContent = note;
    parts.push(p);
  }
  container.replaceChildren(...parts);
}

const minuteLabels = [
  [0, '−60 min'],
  [0.25, '−45'],
  [0.5, '−30'],
  [0.75, '−15'],
  [1, 'now'],
];

const clock = (ms) => new Date(ms).toTimeString().slice(0, 5);

/** Tickets finished per minute by outcome, last hour: stacked bars. */
export function drawFinished(container, finished) {
  const series = OUTCOMES.map((o) => finished.byOutcome[o] ?? []);
  const { spans, totals } = stack(series);
  const totalsByOutcome = OUTCOMES.map((o, i) => `${label(o)} ${sum(series[i])}`);
  const { svg, box } = frame(
    container,
    'finished',
    'Tickets finished per minute by outcome, last hour',
    `In the last hour: ${totalsByOutcome.join(', ')}.`,
  );
  const scale = niceScale(Math.max(...totals, 0));
  axes(svg, box, scale, minuteLabels);
  const start = Date.parse(finished.start);
  OUTCOMES.forEach((outcome, k) => {
    const g = s('g', {
      class: `series o-${outcome}`,
      'data-series': outcome,
      'data-values': series[k].join(','),
    });
    spans[k].forEach(([from, to], i) => {
      if (to === from) return;
      const { x, width } = barSlot(box, i, totals.length);
      const yTop = yOf(box, to, scale.max);
      const height = yOf(box, from, scale.max) - yTop;
      g.append(
        s(
          'rect',
          { x, y: yTop, width, height: Math.max(height, 0.5), 'data-value': to - from },
          tip(`${clock(start + i * 60_000)} · ${to - from} ${label(outcome)}`),
        ),
      );
    });
    svg.append(g);
  });
  place(
    container,
    svg,
    OUTCOMES.map((o, i) => [`o-${o}`, `${label(o)} (${sum(series[i])})`]),
  );
}

/** Provider calls per second by action, last five minutes, with each action's QPS dashed. */
export function drawCalls(container, calls) {
  const counted = calls.actions.filter((a) => a.counted);
  const uncounted = calls.actions.filter((a) => !a.counted).map((a) => a.action);
  const top = Math.max(0, ...counted.flatMap((a) => [...a.perSecond, a.qps]));
  const { svg, box } = frame(
    container,
    'calls',
    'Provider calls per second by action, last five minutes, against the configured QPS',
    counted.length === 0
      ? 'No action has a QPS limit: calls are not counted.'
      : counted
          .map(
            (a) =>
              `${a.action}: ${sum(a.perSecond)} calls, peak ${Math.max(...a.perSecond)} per second, QPS ${a.qps}`,
          )
          .join('; '),
  );
  const scale = niceScale(top);
  axes(svg, box, scale, [
    [0, '−5 min'],
    [0.4, '−3'],
    [0.8, '−1'],
    [1, 'now'],
  ]);
  counted.forEach((a, k) => {
    const cls = `c${k % 8}`;
    const y = yOf(box, a.qps, scale.max);
    svg.append(
      s(
        'line',
        {
          x1: box.x,
          x2: box.x + box.width,
          y1: y,
          y2: y,
          class: `qps ${cls}`,
          'stroke-dasharray': '6 4',
          'data-qps': a.qps,
          'data-action': a.action,
        },
        tip(`${a.action}: ${a.qps} QPS configured`),
      ),
      s(
        'path',
        {
          d: linePath(a.perSecond, box, scale.max),
          class: `series line ${cls}`,
          'data-series': a.action,
          'data-values': a.perSecond.join(','),
        },
        tip(`${a.action}: ${sum(a.perSecond)} calls in 5 min, peak ${Math.max(...a.perSecond)}/s`),
      ),
    );
  });
  const entries = counted.flatMap((a, k) => [
    [`c${k % 8}`, a.action],
    [`c${k % 8}`, `${a.qps} QPS`, true],
  ]);
  const note =
    uncounted.length > 0 ? `No QPS limit, calls not counted: ${uncounted.join(', ')}.` : undefined;
  place(container, svg, entries, note);
}

/** Retried attempts and Throttling answers per minute, last hour. */
export function drawTroubles(container, troubles) {
  const series = [
    ['retried', 'retried attempts', troubles.retried],
    ['throttled', 'Throttling answers', troubles.throttled],
  ];
  const by = Object.entries(troubles.throttledBy)
    .map(([action, v]) => `${action} ${sum(v)}`)
    .join(', ');
  const { svg, box } = frame(
    container,
    'troubles',
    'Retries and throttling per minute, last hour',
    `In the last hour: ${sum(troubles.retried)} retried attempts, ${sum(troubles.throttled)} Throttling answers${by ? ` (${by})` : ''}.`,
  );
  const scale = niceScale(Math.max(0, ...troubles.retried, ...troubles.throttled));
  axes(svg, box, scale, minuteLabels);
  for (const [name, text, values] of series) {
    svg.append(
      s(
        'path',
        {
          d:
            name === 'retried'
              ? areaPath(values, box, scale.max)
              : linePath(values, box, scale.max),
          class: `series ${name === 'retried' ? 'area' : 'line'} t-${name}`,
          'data-series': name,
          'data-values': values.join(','),
        },
        tip(`${sum(values)} ${text} in the last hour`),
      ),
    );
  }
  place(
    container,
    svg,
    series.map(([name, text, values]) => [`t-${name}`, `${text} (${sum(values)})`]),
  );
}

/** How long the job next in line has waited, over the samples the page took while open. */
export function drawQueue(container, samples, queue) {
  const values = samples.map((p) => Math.round((p.ms ?? 0) / 100) / 10);
  const now = `${queue.waiting} waiting, ${queue.delayed} delayed, ${queue.active} active`;
  const oldest =
    queue.oldestWaitingMs === null
      ? 'none waits'
      : `next in line waited ${queue.oldestWaitingMs / 1000} s`;
  const { svg, box } = frame(
    container,
    'queue',
    'Queue waiting time: how long the job next in line has waited, while this page is open',
    `Now: ${now}; ${oldest}.`,
  );
  const scale = niceScale(Math.max(0, ...values), 4, false);
  const first = samples[0]?.at ?? 0;
  const last = samples[samples.length - 1]?.at ?? 0;
  axes(
    svg,
    box,
    scale,
    samples.length > 1
      ? [
          [0, clock(first)],
          [1, clock(last)],
        ]
      : [[1, 'now']],
    (v) => `${v}s`,
  );
  svg.append(
    s(
      'path',
      {
        d: areaPath(values, box, scale.max),
        class: 'series area q-wait',
        'data-series': 'oldestWaitingSeconds',
        'data-values': values.join(','),
      },
      tip(`${samples.length} samples; now ${oldest}`),
    ),
  );
  place(container, svg, [['q-wait', `seconds waited by the next in line · now ${now}`]]);
}
