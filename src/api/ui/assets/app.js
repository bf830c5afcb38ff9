/* global document, window, location, fetch, sessionStorage, URLSearchParams, confirm */
// The operations page: reads the authenticated JSON API with the token the operator enters (kept
// in sessionStorage, and in a cookie scoped to /ui/queues for bull-board), and polls every 2 s
// while the tab is visible; each poll redraws the charts and the batch list from
// `GET /v1/ops/overview`, and adds a sample to the queue's waiting-time series kept while open.
import { rolling } from './chart-math.js';
import { drawCalls, drawFinished, drawQueue, drawTroubles } from './charts.js';
import {
  $,
  h,
  label,
  renderBatches,
  renderDetail,
  renderList,
  renderSummary,
  STATES,
  time,
} from './render.js';

const TOKEN_KEY = 'cloudauth-orchestrator.api-token';
const BOARD_COOKIE = 'ca_ops_token';
const BOARD_PATH = '/ui/queues';
const POLL_MS = 2000;
/** How much of the queue's waiting-time series the page keeps. */
const QUEUE_KEEP_MS = 15 * 60_000;
const PAGE_SIZE = Math.min(
  Math.max(Number(new URLSearchParams(location.search).get('limit')) || 25, 1),
  500,
);

const view = {
  token: sessionStorage.getItem(TOKEN_KEY),
  filter: { state: '', batch: '' },
  cursors: [undefined],
  nextCursor: undefined,
  selected: undefined,
  notice: undefined,
  busy: false,
  timer: undefined,
  /** Samples of the queue, `{ at, ms, waiting }`, oldest first. */
  queueSeries: [],
};

class Unauthorized extends Error {}

async function api(method, path) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${view.token}`, accept: 'application/json' },
    cache: 'no-store',
  });
  if (res.status === 401) throw new Unauthorized('The API refused the token.');
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = new Error(body?.detail ?? `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const ticketPath = (id) => `/v1/tickets/${encodeURIComponent(id)}`;

function setBoardCookie(token) {
  const value = token === undefined ? '' : encodeURIComponent(token);
  const attributes = [`Path=${BOARD_PATH}`, 'SameSite=Strict'];
  if (token === undefined) attributes.push('Max-Age=0');
  if (location.protocol === 'https:') attributes.push('Secure');
  document.cookie = [`${BOARD_COOKIE}=${value}`, ...attributes].join('; ');
}

function showSignIn(message) {
  stopPolling();
  view.token = null;
  view.queueSeries = [];
  sessionStorage.removeItem(TOKEN_KEY);
  setBoardCookie(undefined);
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('live').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message ?? '';
  $('token').value = '';
  $('token').focus();
}

function showDashboard() {
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  $('live').hidden = false;
  startPolling();
}

async function signIn(token) {
  view.token = token;
  try {
    await api('GET', '/v1/summary');
  } catch (err) {
    showSignIn(err instanceof Unauthorized ? 'This token is not valid.' : err.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  setBoardCookie(token);
  showDashboard();
}

function setLive(text, failed = false) {
  $('live').textContent = document.hidden ? 'Paused while the tab is hidden' : text;
  $('live').classList.toggle('failed', failed);
}

async function refresh() {
  if (view.busy || !view.token) return;
  view.busy = true;
  try {
    const { state, batch } = view.filter;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state) query.set('state', state);
    if (batch) query.set('batch', batch);
    const cursor = view.cursors.at(-1);
    if (cursor) query.set('cursor', cursor);
    const selected = view.selected;
    const [summary, page, ticket, overview] = await Promise.all([
      api('GET', batch ? `/v1/summary?${new URLSearchParams({ batch })}` : '/v1/summary'),
      api('GET', `/v1/tickets?${query}`),
      selected === undefined
        ? undefined
        : api('GET', ticketPath(selected)).catch((err) => {
            if (err.status === 404) return undefined;
            throw err;
          }),
      // the charts failing leave the rest of the page working
      api('GET', '/v1/ops/overview').catch((err) => {
        if (err instanceof Unauthorized) throw err;
        return { failed: err.message };
      }),
    ]);
    view.nextCursor = page.nextCursor;
    renderSummary(summary, {
      activeState: state,
      onState: (s) => applyFilter({ ...view.filter, state: s }),
    });
    renderList(page, { selected: view.selected, pageNo: view.cursors.length, onSelect: select });
    renderOverview(overview);
    if (selected === view.selected) {
      renderDetail(selected, ticket, {
        notice: view.notice,
        onAct: (verb) => act(verb, selected),
        onClose: () => select(undefined),
      });
    }
    setLive(`Live · updated ${time(new Date().toISOString()).slice(11)}`);
  } catch (err) {
    if (err instanceof Unauthorized) showSignIn('The API refused the token; sign in again.');
    else setLive(`Refresh failed: ${err.message}`, true);
  } finally {
    view.busy = false;
  }
}

function renderOverview(overview) {
  $('charts-error').textContent = overview.failed ? `Charts unavailable: ${overview.failed}` : '';
  if (overview.failed) return;
  const sample = {
    at: Date.parse(overview.at),
    ms: overview.queue.oldestWaitingMs ?? 0,
    waiting: overview.queue.waiting,
  };
  view.queueSeries = rolling(view.queueSeries, sample, QUEUE_KEEP_MS);
  drawFinished($('chart-finished'), overview.finished);
  drawCalls($('chart-calls'), overview.calls);
  drawTroubles($('chart-troubles'), overview.troubles);
  drawQueue($('chart-queue'), view.queueSeries, overview.queue);
  renderBatches(overview.batches, {
    active: view.filter.batch,
    onOpen: (batchId) => {
      applyFilter({ state: '', batch: batchId });
      document.querySelector('.list').scrollIntoView({ block: 'start' });
    },
  });
}

function startPolling() {
  stopPolling();
  void refresh();
  view.timer = window.setInterval(() => void refresh(), POLL_MS);
}

function stopPolling() {
  if (view.timer !== undefined) window.clearInterval(view.timer);
  view.timer = undefined;
}

async function refreshNow() {
  while (view.busy) await new Promise((r) => window.setTimeout(r, 50));
  await refresh();
}

function select(ticketId) {
  view.selected = ticketId;
  view.notice = undefined;
  void refreshNow();
}

function applyFilter(filter) {
  view.filter = filter;
  view.cursors = [undefined];
  $('filter-state').value = filter.state;
  $('filter-batch').value = filter.batch;
  void refreshNow();
}

async function act(verb, ticketId) {
  if (verb === 'cancel' && !confirm(`Cancel ticket ${ticketId}? This cannot be undone.`)) return;
  for (const id of ['retry', 'cancel']) if ($(id)) $(id).disabled = true;
  try {
    await api('POST', `${ticketPath(ticketId)}/${verb}`);
    view.notice = undefined;
  } catch (err) {
    if (err instanceof Unauthorized) return showSignIn('The API refused the token; sign in again.');
    view.notice = `${verb === 'retry' ? 'Retry' : 'Cancel'} refused: ${err.message}`;
  }
  await refreshNow();
}

function init() {
  $('filter-state').append(...STATES.map((s) => h('option', { value: s }, label(s))));
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn($('token').value.trim());
  });
  $('sign-out').addEventListener('click', () => showSignIn());
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilter({ state: $('filter-state').value, batch: $('filter-batch').value.trim() });
  });
  $('filter-clear').addEventListener('click', () => applyFilter({ state: '', batch: '' }));
  $('prev').addEventListener('click', () => {
    if (view.cursors.length > 1) view.cursors.pop();
    void refreshNow();
  });
  $('next').addEventListener('click', () => {
    if (view.nextCursor === undefined) return;
    view.cursors.push(view.nextCursor);
    void refreshNow();
  });
  document.addEventListener('visibilitychange', () => {
    if (!view.token) return;
    if (document.hidden) {
      stopPolling();
      setLive('');
    } else startPolling();
  });
  if (view.token) {
    setBoardCookie(view.token);
    showDashboard();
  } else showSignIn();
}

init();
