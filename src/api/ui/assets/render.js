/* global document, window */
// DOM building for the operations page. Every value from the API goes in as a text node or an
// attribute value (createTextNode, setAttribute): nothing is ever parsed as HTML.
import { etaText, percent } from './chart-math.js';

export const STATES = [
  'queued',
  'token_issued',
  'submitted',
  'awaiting_user',
  'passed',
  'not_passed',
  'expired',
  'failed',
  'cancelled',
];
const TERMINAL = new Set(['passed', 'not_passed', 'expired', 'failed', 'cancelled']);
const RETRYABLE = new Set(['failed', 'expired']);

export const $ = (id) => document.getElementById(id);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const label = (state) => state.replaceAll('_', ' ');
const chip = (state, extra) => h('span', { class: `chip s-${state}` }, label(state), extra);
const count = (n) => h('span', { class: 'count' }, n);
const pad = (n, width = 2) => String(n).padStart(width, '0');

export function time(iso, withMs = false) {
  if (!iso) return '';
  const d = new Date(iso);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${day} ${clock}${withMs ? `.${pad(d.getMilliseconds(), 3)}` : ''}`;
}

export function renderSummary(summary, { activeState, onState }) {
  const chips = STATES.map((state) =>
    h(
      'button',
      {
        type: 'button',
        class: `chip s-${state}${activeState === state ? ' active' : ''}`,
        'data-state': state,
        title: `Show ${label(state)} tickets`,
        onclick: () => onState(state),
      },
      count(summary.byState[state] ?? 0),
      label(state),
    ),
  );
  chips.push(h('span', { class: 'chip total' }, count(summary.total), 'total'));
  $('summary').replaceChildren(...chips);

  const batch = summary.batch;
  $('batch').hidden = !batch;
  if (!batch) return;
  $('batch-name').textContent = `Batch ${batch.batchId}`;
  const percent = batch.total === 0 ? 0 : Math.round((100 * batch.finished) / batch.total);
  $('batch-text').textContent =
    `${batch.finished} of ${batch.total} finished (${percent}%), ${batch.byState.passed} passed`;
  $('batch-bar').max = Math.max(batch.total, 1);
  $('batch-bar').value = batch.finished;
  $('batch-chips').replaceChildren(
    ...STATES.filter((s) => batch.byState[s] > 0).map((s) => chip(s, count(batch.byState[s]))),
  );
}

/** The batch list: each batch with a progress bar; its name opens its tickets. */
export function renderBatches(batches, { active, onOpen }) {
  $('batches-empty').hidden = batches.length > 0;
  $('batches').replaceChildren(
    ...batches.map((b) =>
      h(
        'li',
        { class: `batch-row${b.batchId === active ? ' active' : ''}`, 'data-batch': b.batchId },
        h(
          'div',
          { class: 'batch-head' },
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              title: `Show the tickets of batch ${b.batchId}`,
              onclick: () => onOpen(b.batchId),
            },
            b.batchId,
          ),
          h(
            'span',
            { class: 'batch-counts muted' },
            `${b.finished} / ${b.total} finished (${percent(b.finished, b.total)}%)`,
            b.failed > 0 ? h('span', { class: 'error' }, ` · ${b.failed} failed`) : '',
            ` · ${etaText(b.eta)}`,
          ),
        ),
        h('progress', {
          max: Math.max(b.total, 1),
          value: b.finished,
          'aria-label': `Batch ${b.batchId}: ${b.finished} of ${b.total} finished`,
        }),
      ),
    ),
  );
}

function outcome(t) {
  // a verdict is the outcome; an error recorded on the way to it (a retried attempt) is not
  const score = t.verdict?.similarityScore ?? t.verdict?.trustedScore;
  if (score !== undefined) return `score ${score}`;
  if (t.lastError) {
    return h('span', { class: 'error-code', title: t.lastError.message }, t.lastError.code);
  }
  return '';
}

export function renderList(page, { selected, pageNo, onSelect }) {
  $('rows').replaceChildren(
    ...page.tickets.map((t) =>
      h(
        'tr',
        { class: t.TicketId === selected ? 'selected' : undefined, 'data-ticket': t.TicketId },
        h(
          'td',
          {},
          h('button', { type: 'button', class: 'link', onclick: () => onSelect(t.TicketId) }, [
            t.TicketId,
          ]),
        ),
        h('td', {}, t.Biz),
        h('td', {}, chip(t.state)),
        h('td', { class: 'num' }, t.attempts),
        h('td', { class: 'muted' }, t.batchId ?? ''),
        h('td', { class: 'muted', title: t.updatedAt }, time(t.updatedAt).slice(5)),
        h('td', {}, outcome(t)),
      ),
    ),
  );
  $('empty').hidden = page.tickets.length > 0;
  $('page-no').textContent = `page ${pageNo}`;
  $('prev').disabled = pageNo === 1;
  $('next').disabled = page.nextCursor === undefined;
}

function field(name, value) {
  return [h('dt', {}, name), h('dd', {}, value === undefined || value === null ? '—' : value)];
}

function verdictText(v) {
  if (!v) return null;
  const scores = [
    ['similarity', v.similarityScore],
    ['trusted', v.trustedScore],
    ['authority', v.authorityComparisonScore],
  ]
    .filter(([, s]) => s !== undefined)
    .map(([n, s]) => `${n} ${s}`);
  const head = v.statusCode === 1 ? 'passed' : 'not passed';
  return [head, ...scores, v.auditConclusions].filter(Boolean).join(' · ');
}

function timeline(history) {
  const rows = history.map((e) =>
    h(
      'tr',
      {},
      h('td', { class: 'muted', title: e.at }, time(e.at, true).slice(11)),
      h('td', {}, chip(e.from), h('span', { class: 'arrow' }, '→'), chip(e.to)),
      h(
        'td',
        {},
        e.event,
        e.attempt > 0 ? h('span', { class: 'muted' }, ` · attempt ${e.attempt}`) : '',
      ),
      h('td', {}, e.cause ?? ''),
    ),
  );
  const head = ['Time', 'Transition', 'Event', 'Cause'].map((name) => h('th', {}, name));
  return h('table', { class: 'timeline' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows));
}

export function renderDetail(selected, t, { notice, onAct, onClose }) {
  const panel = $('detail');
  panel.hidden = selected === undefined;
  if (selected === undefined) return;
  const close = h('button', { type: 'button', class: 'quiet', onclick: onClose }, 'Close');
  if (!t) {
    panel.replaceChildren(
      h('p', { class: 'muted' }, `Ticket ${selected} no longer exists.`),
      close,
    );
    return;
  }
  const actions = [];
  if (RETRYABLE.has(t.state)) {
    actions.push(
      h('button', { type: 'button', id: 'retry', onclick: () => onAct('retry') }, 'Retry'),
    );
  }
  if (!TERMINAL.has(t.state)) {
    const props = { type: 'button', id: 'cancel', class: 'danger', onclick: () => onAct('cancel') };
    actions.push(h('button', props, 'Cancel'));
  }
  actions.push(close);
  panel.replaceChildren(
    h(
      'div',
      { class: 'detail-head' },
      h('h2', { id: 'detail-id' }, t.TicketId),
      chip(t.state),
      h('div', { class: 'actions' }, actions),
    ),
    h('p', { class: 'error', role: 'alert' }, notice ?? ''),
    h(
      'dl',
      {},
      field('Applicant', t.applicant.name),
      field('ID number', t.applicant.idNumber),
      field('Biz', `${t.Biz} (${t.flow})`),
      field('Batch', t.batchId),
      field('Attempts', t.attempts),
      field('Created', time(t.createdAt)),
      field('Finished', t.finishedAt ? time(t.finishedAt) : null),
      field('Verdict', verdictText(t.verdict)),
      field('Last error', t.lastError ? `${t.lastError.code}: ${t.lastError.message}` : null),
    ),
    h('h3', {}, 'Timeline'),
    timeline(t.history),
  );
}
