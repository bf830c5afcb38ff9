/**
 * The operations page in a real browser: Debian's chromium driven by playwright-core against an
 * orchestrator with workers and the HTTP API on loopback (real Redis, the emulators, real
 * tickets). Without /usr/bin/chromium the suite fails: CI installs it (`.ci/run`). The first two
 * GetVerifyToken calls are answered Throttling (the emulator's fault, drawn from a fixed sequence),
 * so the charts of retries and throttling have something to draw.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.js';
import type { TicketState } from '../../src/domain/ticket.js';
import { overviewSchema, type OverviewView } from '../../src/api/ui/overview-route.js';
import { smallJpeg } from '../support/images.js';
import { expectNothingWithin, waitFor } from '../../testkit/waiting.js';
import {
  aBinding,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';

const TOKEN = 'ui-e2e-token-0123456789abcdefghi';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
const BATCH = 'ui-batch-1';
const XSS_ID = 'ui-<img/src=x/onerror=window.__xss=1>';
const PASSING = ['ui-pass-1', 'ui-pass-2', 'ui-pass-3', XSS_ID];
const SCREENSHOT = join('test-results', 'ui.png');
const CHARTS_SCREENSHOT = join('test-results', 'ui-charts.png');
const PHONE_SCREENSHOT = join('test-results', 'ui-phone.png');
const QPS = 50;

let o: TestOrchestrator;
let base: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

/** What the page shows once `ok` holds of it (read every 100 ms, for 10 s unless told). */
const until = <T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> => waitFor(what, read, ok, { timeoutMs, everyMs: 100 });

const text = (selector: string) => page.locator(selector).innerText();
/** What `GET /v1/ops/overview` answers now. */
const overviewNow = async (): Promise<OverviewView> => {
  const res = await fetch(`${base}/v1/ops/overview`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(200);
  return overviewSchema.parse(await res.json());
};
const count = async (state: TicketState) =>
  Number(await text(`#summary [data-state="${state}"] .count`));
const rowIds = () => page.locator('#rows tr button.link').allTextContents();
const setHidden = (hidden: boolean) =>
  page.evaluate(
    `Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
     document.dispatchEvent(new Event('visibilitychange'));`,
  );

async function filterBy(state: string, batch = '') {
  await page.selectOption('#filter-state', state);
  await page.fill('#filter-batch', batch);
  await page.click('#filters button[type="submit"]');
}

async function open(ticketId: string) {
  await page.click(`#rows tr[data-ticket="${ticketId}"] button.link`);
  await until(
    'detail',
    () => text('#detail-id').catch(() => ''),
    (id) => id === ticketId,
  );
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Debian's chromium is missing at ${CHROMIUM}: apt-get install chromium (.ci/run installs it)`,
    );
  }
  const face = await smallJpeg('#8a6b4e');
  let draws = 0;
  o = await startTestOrchestrator({
    http: true,
    // one number drawn per GetVerifyToken call: the first two are throttled
    emulator: {
      faults: { GetVerifyToken: { throttleRate: 0.5 } },
      random: () => (draws++ < 2 ? 0 : 0.99),
    },
    env: {
      API_TOKENS: TOKEN,
      CLOUDAUTH_BIZ: `${TEST_BIZ},Ghost=RPMin`,
      // GetStatus has no limit: its calls are not counted, and the chart says so
      CLOUDAUTH_QPS: `GetVerifyToken=${QPS},SubmitMaterials=${QPS}`,
    },
  });
  base = o.app.apiUrl ?? '';
  expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const enqueue = (ticketId: string, biz: string, binding = aBinding(face), batchId = BATCH) =>
    o.app.intake.enqueue({ ticketId, biz, binding, batchId });
  for (const id of PASSING) await enqueue(id, 'RPMin');
  await enqueue('ui-reject', 'RPMin', aBinding(face, '拒绝'));
  await enqueue('ui-ghost', 'Ghost', aBinding(face), 'ui-batch-2');
  await o.app.intake.enqueue({
    ticketId: 'ui-wait',
    biz: 'RPH5BioOnly',
    binding: { name: NAME, idNumber: ID_NUMBER, materials: {} },
  });
  for (const id of [...PASSING, 'ui-reject', 'ui-ghost']) await o.waitFor(id);
  await o.waitFor('ui-wait', (t) => t.state === 'awaiting_user');

  profile = mkdtempSync(join(tmpdir(), 'ui-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1440, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('401')) problems.push(m.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await o?.close();
});

describe('the operations page', () => {
  it('is served without a token under a strict CSP, and asks for the token', async () => {
    const res = await page.goto(`${base}/ui`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.locator('#token').waitFor();
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    const data = await fetch(`${base}/v1/summary`);
    expect(data.status).toBe(401);
  });

  it('refuses a wrong token, then shows the counts by state', async () => {
    await page.fill('#token', 'not-the-token-0123456789');
    await page.click('#sign-in-form button[type="submit"]');
    await until(
      'error',
      () => text('#sign-in-error'),
      (t) => t.includes('not valid'),
    );
    await page.fill('#token', TOKEN);
    await page.click('#sign-in-form button[type="submit"]');
    await page.locator('#summary [data-state="passed"]').waitFor();
    expect(await count('passed')).toBeGreaterThanOrEqual(PASSING.length);
    expect(await count('not_passed')).toBe(1);
    expect(await count('failed')).toBe(1);
    expect(await count('awaiting_user')).toBe(1);
    expect(await text('#summary .chip.total .count')).toBe('7');
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    const cookie = (await context.cookies()).find((c) => c.name === 'ca_ops_token');
    expect(cookie).toMatchObject({ path: '/ui/queues', sameSite: 'Strict' });
  });

  it('draws the charts from the overview: finished, provider calls, retries, the queue', async () => {
    await page.locator('svg[data-chart="queue"]').waitFor();
    const overview = await overviewNow();
    const drawn = (chart: string, series: string) =>
      page
        .locator(`svg[data-chart="${chart}"] [data-series="${series}"]`)
        .getAttribute('data-values')
        .then((v) => (v ?? '').split(',').map(Number));
    const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

    // finished per minute: stacked bars whose values are the route's, the outcomes of the tickets
    const expected = { passed: 4, not_passed: 1, expired: 0, failed: 1, cancelled: 0 };
    for (const [outcome, n] of Object.entries(expected)) {
      const values = await drawn('finished', outcome);
      expect(values).toHaveLength(60);
      expect(sum(values)).toBe(n);
      expect(sum(overview.finished.byOutcome[outcome] ?? [])).toBe(n);
    }
    const barValues = await page.evaluate<[number, number][]>(
      `[...document.querySelectorAll('svg[data-chart="finished"] rect[data-value]')].map((el) =>
        [Number(el.getAttribute('data-value')), Number(el.getAttribute('height'))])`,
    );
    expect(sum(barValues.map(([v]) => v))).toBe(6);
    expect(barValues.every(([v, height]) => v > 0 && height > 0)).toBe(true);

    // provider calls per second: a line per limited action, its QPS dashed, as the emulator saw
    const calls = o.emu.cloudauth.counters();
    for (const action of ['GetVerifyToken', 'SubmitMaterials']) {
      const values = await drawn('calls', action);
      const route = overview.calls.actions.find((a) => a.action === action);
      expect(values).toHaveLength(300);
      expect(sum(values)).toBe(sum(route?.perSecond ?? []));
      expect(sum(values)).toBe(sum(Object.values(calls[action] ?? {})));
      const line = page.locator(`svg[data-chart="calls"] path[data-series="${action}"]`);
      expect(await line.getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){299}$/);
      const qps = page.locator(`svg[data-chart="calls"] line.qps[data-action="${action}"]`);
      expect(await qps.getAttribute('data-qps')).toBe(String(QPS));
      expect(await qps.getAttribute('stroke-dasharray')).toBeTruthy();
    }
    expect(sum(await drawn('calls', 'GetVerifyToken'))).toBe(9);
    expect(await text('#chart-calls .chart-note')).toContain('not counted: GetStatus');

    // retries and throttling: the two Throttling answers, each retried
    for (const series of ['retried', 'throttled'] as const) {
      const values = await drawn('troubles', series);
      expect(sum(values)).toBe(2);
      expect(sum(overview.troubles[series])).toBe(2);
    }
    expect(await page.locator('svg[data-chart="troubles"] title').first().textContent()).toContain(
      'Retries and throttling',
    );

    // the queue: the page's own series of samples, one per poll
    const samples = await until(
      'queue samples',
      () => drawn('queue', 'oldestWaitingSeconds'),
      (v) => v.length >= 2,
    );
    expect(samples.every((v) => v >= 0)).toBe(true);
    expect(await page.locator('svg[data-chart="queue"] desc').textContent()).toContain(
      `${overview.queue.waiting} waiting`,
    );
  });

  it('lists the batches with a progress bar each, and opens a batch on a click', async () => {
    const row = page.locator(`#batches li[data-batch="${BATCH}"]`);
    await row.waitFor();
    expect(await row.locator('progress').getAttribute('value')).toBe('5');
    expect(await row.locator('progress').getAttribute('max')).toBe('5');
    expect(await row.innerText()).toContain('5 / 5 finished (100%) · done');
    const ghost = page.locator('#batches li[data-batch="ui-batch-2"]');
    expect(await ghost.innerText()).toContain('1 / 1 finished (100%) · 1 failed');
    const order = await page.evaluate<string[]>(
      `[...document.querySelectorAll('#batches li')].map((el) => el.getAttribute('data-batch'))`,
    );
    expect(order).toEqual(['ui-batch-2', BATCH]);
    await row.locator('button.link').click();
    await until('batch rows', rowIds, (ids) => ids.length === PASSING.length + 1);
    expect(await page.inputValue('#filter-batch')).toBe(BATCH);
    expect(await text('#batch-text')).toContain('5 of 5 finished');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: CHARTS_SCREENSHOT, fullPage: true });
    expect(existsSync(CHARTS_SCREENSHOT)).toBe(true);
    await page.click('#filter-clear');
    await until('all rows', rowIds, (ids) => ids.length === 7);
  });

  it('stays usable on a phone: no horizontal scrolling, the charts on screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      // the charts are drawn to their box's width at the next poll
      await until(
        'charts redrawn narrow',
        () =>
          page.evaluate<number[]>(
            `[...document.querySelectorAll('svg.chart-svg')].map((el) => Number(el.getAttribute('width')))`,
          ),
        (widths) => widths.length === 4 && widths.every((w) => w > 0 && w <= 390),
      );
      const overflow = await page.evaluate<[number, number]>(
        `(() => { const s = document.scrollingElement; return [s.scrollWidth, s.clientWidth]; })()`,
      );
      expect(overflow[0]).toBeLessThanOrEqual(overflow[1]);
      for (const chart of ['finished', 'calls', 'troubles', 'queue']) {
        const svg = page.locator(`svg[data-chart="${chart}"]`);
        expect(await svg.isVisible()).toBe(true);
        const box = await svg.boundingBox();
        expect(box?.width).toBeGreaterThan(250);
        expect((box?.x ?? -1) + (box?.width ?? 999)).toBeLessThanOrEqual(390);
      }
      expect(await page.locator('#batches progress').first().isVisible()).toBe(true);
      await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true });
      expect(existsSync(PHONE_SCREENSHOT)).toBe(true);
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('lists the tickets, filters them by state and by batch with its progress', async () => {
    await until('rows', rowIds, (ids) => ids.length === 7);
    await filterBy('failed');
    await until('failed rows', rowIds, (ids) => ids.join() === 'ui-ghost');
    await filterBy('', BATCH);
    await until('batch rows', rowIds, (ids) => ids.length === PASSING.length + 1);
    expect(await page.locator('#batch').isVisible()).toBe(true);
    expect(await text('#batch-text')).toContain('5 of 5 finished (100%), 4 passed');
    await page.click('#summary [data-state="passed"]');
    await until('passed rows', rowIds, (ids) => ids.length === PASSING.length);
    await page.click('#filter-clear');
    await until('all rows', rowIds, (ids) => ids.length === 7);
    expect(await page.locator('#batch').isHidden()).toBe(true);
  });

  it('shows what the API sends as text, never as markup', async () => {
    expect(await rowIds()).toContain(XSS_ID);
    expect(await page.locator('#rows img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
  });

  it('pages through the list, older then newer', async () => {
    await page.goto(`${base}/ui?limit=3`);
    const pageOf = async () => ({ no: await text('#page-no'), ids: await rowIds() });
    const seen: string[][] = [];
    for (const [no, size] of [
      ['page 1', 3],
      ['page 2', 3],
      ['page 3', 1],
    ] as const) {
      if (no !== 'page 1') await page.click('#next');
      const { ids } = await until(no, pageOf, (p) => p.no === no && p.ids.length === size);
      seen.push(ids);
    }
    expect(await page.locator('#next').isDisabled()).toBe(true);
    expect(new Set(seen.flat()).size).toBe(7);
    await page.click('#prev');
    await until('back', pageOf, (p) => p.no === 'page 2' && p.ids.join() === seen[1]?.join());
    await page.goto(`${base}/ui`);
    await until('rows', rowIds, (ids) => ids.length === 7);
  });

  it("opens a ticket's timeline with the applicant masked, never the raw ID number", async () => {
    await open('ui-pass-1');
    const detail = await text('#detail');
    expect(detail).toContain('李*');
    expect(detail).toContain('1101**********002X');
    const steps = await page.locator('#detail .timeline tbody tr').allTextContents();
    expect(steps.map((s) => s.replace(/^[\d\s:.-]+/, '').slice(0, 40))).toEqual([
      expect.stringMatching(/^queued→token issuedtoken_issued/),
      expect.stringMatching(/^token issued→passedverdict/),
    ]);
    expect(await page.locator('#detail #retry').count()).toBe(0);
    expect(await page.locator('#detail #cancel').count()).toBe(0);
    for (const raw of [ID_NUMBER, NAME, TOKEN]) {
      expect(await text('body')).not.toContain(raw);
      expect(await page.content()).not.toContain(raw);
    }
  });

  it('retries the failed ticket: it goes back to the queue', async () => {
    await filterBy('failed');
    await until('failed rows', rowIds, (ids) => ids.join() === 'ui-ghost');
    await open('ui-ghost');
    expect(await page.locator('#detail #cancel').count()).toBe(0);
    await page.click('#detail #retry');
    await until(
      'timeline',
      () => text('#detail .timeline'),
      (t) => t.includes('retried'),
    );
    const history = await o.app.store.history('ui-ghost');
    expect(history.map((h) => h.event)).toContain('retried');
    expect(['queued', 'failed']).toContain((await o.app.store.get('ui-ghost'))?.state);
  });

  it('cancels the waiting interactive ticket', async () => {
    await filterBy('awaiting_user');
    await until('waiting rows', rowIds, (ids) => ids.join() === 'ui-wait');
    await open('ui-wait');
    expect(await page.locator('#detail #retry').count()).toBe(0);
    await page.click('#detail #cancel');
    await until(
      'state',
      () => text('#detail .detail-head .chip'),
      (t) => t === 'cancelled',
    );
    expect((await o.app.store.get('ui-wait'))?.state).toBe('cancelled');
    expect(await page.locator('#detail #cancel').count()).toBe(0);
  });

  it('polls every 2 s, and pauses while the tab is hidden', async () => {
    const calls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/')) calls.push(r.url());
    });
    await until(
      'polls',
      () => Promise.resolve(calls.length),
      (n) => n >= 4,
      6_000,
    );
    await setHidden(true);
    await until(
      'paused',
      () => text('#live'),
      (t) => t.startsWith('Paused'),
    );
    const before = calls.length;
    // an absence: watched for 2.5 s, longer than the 2 s poll period, so a poll that was not
    // paused would have been requested within the window
    await expectNothingWithin(2_500, 'a poll while the tab is hidden', () => calls.length > before);
    await setHidden(false);
    await until(
      'resumed',
      () => Promise.resolve(calls.length),
      (n) => n > before,
    );
  });

  it('saves a full-page screenshot of real tickets', async () => {
    await page.click('#filter-clear');
    await until('all rows', rowIds, (ids) => ids.length === 7);
    await open('ui-reject');
    await until(
      'live',
      () => text('#live'),
      (t) => t.startsWith('Live'),
    );
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(problems).toEqual([]);
  });
});

describe('GET /v1/summary', () => {
  const get = (query = '', token = TOKEN) =>
    fetch(`${base}/v1/summary${query}`, { headers: { authorization: `Bearer ${token}` } });

  it('counts tickets per state, and one batch when asked', async () => {
    expect((await get('', 'wrong-token-0123456789')).status).toBe(401);
    const all = await get();
    expect(all.status).toBe(200);
    expect(await all.json()).toMatchObject({ total: 7, batch: null, byState: { passed: 4 } });
    const batch = await get(`?batch=${BATCH}`);
    expect(await batch.json()).toMatchObject({
      batch: { batchId: BATCH, total: 5, finished: 5, byState: { passed: 4, not_passed: 1 } },
    });
    const bad = await get('?batch=no%20spaces');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('bull-board under /ui/queues', () => {
  it('refuses requests without the token, asking for basic authentication', async () => {
    const bare = await fetch(`${base}/ui/queues/api/queues`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrong = await fetch(`${base}/ui/queues/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('ops:wrong-token').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${base}/ui/queues/api/queues`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(401);
    const basic = await fetch(`${base}/ui/queues/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  it('renders the tickets and webhooks queues with the cookie the page set', async () => {
    await page.goto(`${base}/ui`);
    await page.locator('#summary [data-state="passed"]').waitFor();
    await page.click('#queues-link');
    await page.waitForURL(/\/ui\/queues\/?$/);
    await until(
      'queues',
      () => page.locator('body').innerText(),
      (t) => t.includes('tickets') && t.includes('webhooks') && !t.includes('Loading'),
    );
    await page.screenshot({ path: join('test-results', 'ui-queues.png') });
    expect(problems.filter((p) => !p.includes('https://fonts.googleapis.com/'))).toEqual([]);
  });

  it('is closed again once the operator signs out on the page', async () => {
    expect((await context.request.get(`${base}/ui/queues/api/queues`)).status()).toBe(200);
    await page.goto(`${base}/ui`);
    await page.click('#sign-out');
    await page.locator('#token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect((await context.cookies()).map((c) => c.name)).not.toContain('ca_ops_token');
    const res = await context.request.get(`${base}/ui/queues/api/queues`);
    expect(res.status()).toBe(401);
  });
});
