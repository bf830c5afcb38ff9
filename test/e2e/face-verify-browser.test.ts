/**
 * The financial-grade browser flow (ID_PRO) in a real browser: Debian's chromium driven by
 * playwright-core, phone-sized, against an orchestrator with workers and the HTTP API on loopback
 * and the Cloudauth emulator (its MetaInfo stand-in script and its CertifyUrl page). The person
 * opens the start link only; the page does MetaInfo, waits for InitFaceVerify and goes on to the
 * CertifyUrl; the emulator calls back, the worker asks DescribeFaceVerify, the ticket ends.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.js';
import { startTestOrchestrator, TEST_BIZ, type TestOrchestrator } from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const TOKEN = 'face-verify-browser-token-0123456789';
const SCREENSHOT = join('test-results', 'face-verify-start.png');
const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

let o: TestOrchestrator;
let profile: string;
let context: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's chromium is missing at ${CHROMIUM}: apt-get install chromium`);
  }
  o = await startTestOrchestrator({
    http: true,
    env: { API_TOKENS: TOKEN, CLOUDAUTH_BIZ: `${TEST_BIZ},FaceH5=financial:ID_PRO:1000000006` },
  });
  expect(o.app.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  profile = mkdtempSync(join(tmpdir(), 'face-verify-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await o?.close();
});

/** A browser-flow ticket made over the API; its start link. */
async function newTicket(ticketId: string): Promise<string> {
  const created = await fetch(`${o.app.apiUrl}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      TicketId: ticketId,
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    }),
  });
  expect(created.status).toBe(202);
  return ((await created.json()) as { startUrl: string }).startUrl;
}

/**
 * The person opens the start link, lands on the emulator's CertifyUrl page and clicks `outcome`;
 * the browser ends where the emulator sends it. Every URL the page requested, and every CSP
 * report or script error, are returned.
 */
async function personFlow(ticketId: string, outcome: 'complete' | 'fail', screenshot?: string) {
  const startUrl = await newTicket(ticketId);
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => {
    // the browser's own favicon.ico request: the API answers 401 to a path it does not serve
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text());
  });
  try {
    const start = await page.goto(startUrl);
    expect(start?.status()).toBe(200);
    // the redirect to the CertifyUrl: MetaInfo posted, a worker called InitFaceVerify
    await page.waitForURL((u) => u.href.startsWith(`${o.emu.cloudauth.url}/face-verify/`), {
      timeout: 15_000,
    });
    await page.getByTestId(outcome).waitFor();
    if (screenshot !== undefined) {
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    await page.getByTestId(outcome).click();
    // the emulator answers the POST with 303 to the ReturnUrl, the orchestrator's done page
    await page.waitForURL((u) => u.href.startsWith(`${o.app.apiUrl}/v1/start/done?`));
    const response = JSON.parse(new URL(page.url()).searchParams.get('response') ?? '{}') as {
      passed?: string;
      subCode?: string;
    };
    const doneTitle = await page.locator('h1').innerText();
    return { startUrl, requests, problems, response, doneTitle };
  } finally {
    await page.close();
  }
}

const delivered = (certifyId: string | undefined) =>
  o.emu.cloudauth
    .faceVerifyCallbacks()
    .some((d) => d.certifyId === certifyId && d.status === 200 && d.delivered);

describe('the start link in a phone browser', () => {
  it('MetaInfo → CertifyUrl → "complete" → callback → passed, back on the done page', async () => {
    o.emu.cloudauth.resetCounters();
    const run = await personFlow('fvb-pass', 'complete', SCREENSHOT);
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(run.response).toMatchObject({ passed: 'T', subCode: '200' });
    expect(run.doneTitle).toContain('Done');
    const t = await o.waitFor('fvb-pass');
    expect(t.state).toBe('passed');
    expect(t.family).toBe('financial');
    expect(t.verdict).toMatchObject({ statusCode: 1, subCode: '200' });
    await waitUntil('the callback answered 200', () => delivered(t.verdict?.certifyId));
    expect(o.emu.cloudauth.counters().InitFaceVerify?.ok).toBe(1);
    expect(run.problems).toEqual([]);
    // the link is dead once the ticket ended
    expect((await fetch(run.startUrl)).status).toBe(410);
  });

  it('"fail" on the provider page: not_passed with SubCode 205', async () => {
    const run = await personFlow('fvb-fail', 'fail');
    expect(run.response).toMatchObject({ passed: 'F', subCode: '205' });
    const t = await o.waitFor('fvb-fail');
    expect(t.state).toBe('not_passed');
    expect(t.verdict).toMatchObject({ statusCode: 2, subCode: '205' });
    await waitUntil('the callback answered 200', () => delivered(t.verdict?.certifyId));
    expect(run.problems).toEqual([]);
  });

  it('makes no request that leaves loopback', async () => {
    const run = await personFlow('fvb-loopback', 'complete');
    const paths = run.requests.map((u) => `${new URL(u).origin}${new URL(u).pathname}`);
    // the whole journey was seen: both origins, the stand-in script, the CertifyUrl, the return
    expect(paths).toContain(`${o.emu.cloudauth.url}/face-verify/jsvm_all.js`);
    expect(paths).toContain(`${o.app.apiUrl}/v1/start/start.js`);
    expect(paths).toContain(`${o.app.apiUrl}/v1/start/done`);
    expect(paths.some((p) => p.startsWith(`${o.emu.cloudauth.url}/face-verify/`))).toBe(true);
    const hosts = new Set(run.requests.map((u) => new URL(u).hostname));
    expect([...hosts].filter((h) => !LOOPBACK.has(h))).toEqual([]);
    expect((await o.waitFor('fvb-loopback')).state).toBe('passed');
  });

  it("allows scripts from 'self' and the emulator's origin only", async () => {
    const startUrl = await newTicket('fvb-csp');
    const res = await fetch(startUrl);
    expect(res.status).toBe(200);
    const directives = new Map(
      (res.headers.get('content-security-policy') ?? '')
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name = '', ...values]) => [name, values] as const),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(new Set(directives.get('script-src'))).toEqual(
      new Set(["'self'", new URL(o.emu.cloudauth.url).origin]),
    );
    // and the page's scripts are all within it: the stand-in and its own, none inline
    const html = await res.text();
    const srcs = [...html.matchAll(/<script([^>]*)>/g)].map((m) =>
      /src="([^"]+)"/.exec(m[1] ?? ''),
    );
    expect(srcs.map((s) => s?.[1])).toEqual([
      `${o.emu.cloudauth.url}/face-verify/jsvm_all.js`,
      '/v1/start/start.js',
    ]);
  });
});
