/**
 * The financial-grade family (API 2019-03-07) end to end beside the legacy one: real Redis, real
 * BullMQ workers, the official `@alicloud/cloudauth20190307` SDK against the Cloudauth emulator,
 * the HTTP API's start link and the provider's callback over loopback HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallJpeg } from '../support/images.js';
import { outerOrderNoOf } from '../../src/domain/biz.js';
import { jobIdOf, runNext } from '../../src/adapters/bullmq/queues.js';
import { CALLBACK_DEBOUNCE_MS } from '../../src/api/start-routes.js';
import {
  aBinding,
  isOneChain,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';
import { idNumberBornOn } from '../../testkit/generators.js';

const TOKEN = 'financial-flow-test-token-0123456789';
let o: TestOrchestrator;
let face: Buffer;
let receiver: Server;
let hooksUrl = '';
const events: { type: string; ticketId: string; pageUrl?: string }[] = [];

/** `POST /v1/tickets` with `body` as JSON. */
const createTicket = (body: Record<string, unknown>) =>
  api('/v1/tickets', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${o.app.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) },
  });

beforeAll(async () => {
  face = await smallJpeg('#7a5b3e');
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      events.push(JSON.parse(body) as (typeof events)[number]);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hooksUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  o = await startTestOrchestrator({
    http: true,
    emulator: { rejectNames: ['王拒绝'] },
    env: {
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      API_TOKENS: TOKEN,
      CLOUDAUTH_BIZ: `${TEST_BIZ},FaceH5=financial:ID_PRO:1000000006,FaceServer=financial:ID_MIN:1000000007:precheck,FaceServerNoCheck=financial:ID_MIN:1000000007`,
    },
  });
});
afterAll(async () => {
  await o.close();
  await new Promise((r) => receiver.close(r));
});

const counts = (action: string) => o.emu.cloudauth.counters()[action]?.ok ?? 0;

describe('server flow (ID_MIN)', () => {
  it('passes: Id2MetaVerify, then ContrastFaceVerify with the staged face photo', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 'fin/server-pass#1',
      biz: 'FaceServer',
      binding: aBinding(face),
    });
    const t = await o.waitFor('fin/server-pass#1');
    expect(t.state).toBe('passed');
    expect(t.family).toBe('financial');
    expect(t.verdict).toMatchObject({
      statusCode: 1,
      subCode: '200',
      certifyId: expect.stringMatching(/^[0-9a-f]{32}$/),
      similarityScore: expect.any(Number),
      emulated: true,
    });
    expect(counts('Id2MetaVerify')).toBe(1);
    expect(counts('ContrastFaceVerify')).toBe(1);
    const history = await o.app.store.history('fin/server-pass#1');
    expect(isOneChain(history)).toBe(true);
    expect(history.map((h) => h.to)).toEqual(['token_issued', 'passed']);
    // a TicketId that is no OuterOrderNo is hashed to one; one that is, is used as it is
    expect(outerOrderNoOf('fin/server-pass#1')).toMatch(/^[0-9a-f]{32}$/);
    expect(outerOrderNoOf('abc123')).toBe('abc123');
  });

  it('ends not_passed at the pre-check when name and number do not match: no face call', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 'fin-precheck-mismatch',
      biz: 'FaceServer',
      binding: aBinding(face, '王拒绝'),
    });
    const t = await o.waitFor('fin-precheck-mismatch');
    expect(t.state).toBe('not_passed');
    expect(t.verdict).toMatchObject({ statusCode: 2, subCode: '201' });
    expect(t.verdict?.auditConclusions).toMatch(/^Id2MetaVerify: /);
    expect(counts('Id2MetaVerify')).toBe(1);
    expect(counts('ContrastFaceVerify')).toBe(0);
    const history = await o.app.store.history('fin-precheck-mismatch');
    expect(history.map((h) => `${h.from}>${h.to}`)).toEqual(['queued>not_passed']);
  });

  it('without the pre-check, the face call itself says not passed', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 'fin-nocheck-mismatch',
      biz: 'FaceServerNoCheck',
      binding: aBinding(face, '王拒绝'),
    });
    const t = await o.waitFor('fin-nocheck-mismatch');
    expect(t.state).toBe('not_passed');
    expect(t.verdict).toMatchObject({ statusCode: 2, subCode: '201' });
    expect(counts('Id2MetaVerify')).toBe(0);
    expect(counts('ContrastFaceVerify')).toBe(1);
  });

  it('runs beside a legacy ticket in the same deployment', async () => {
    await o.app.intake.enqueue({
      ticketId: 'legacy-beside',
      biz: 'RPMin',
      binding: aBinding(face),
    });
    const t = await o.waitFor('legacy-beside');
    expect(t.state).toBe('passed');
    expect(t.family).toBe('legacy');
    expect(t.verdict?.subCode).toBeUndefined();
  });
});

describe('browser flow (ID_PRO): one start link', () => {
  it('start link → MetaInfo → InitFaceVerify → CertifyUrl → callback → passed', async () => {
    o.emu.cloudauth.resetCounters();
    const created = await createTicket({
      TicketId: 'fin-h5-1',
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
      callbackUrl: hooksUrl,
    });
    expect(created.status).toBe(202);
    const view = (await created.json()) as { startUrl: string; family: string; state: string };
    expect(view.family).toBe('financial');
    expect(view.state).toBe('queued');
    expect(view.startUrl).toMatch(/\/v1\/start\/[\w-]+\.\d+\.[\w-]+$/);

    // the ticket waits for the person: no InitFaceVerify before the link is opened
    const page = await fetch(view.startUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain(`${o.emu.cloudauth.url}/face-verify/jsvm_all.js`);
    expect(counts('InitFaceVerify')).toBe(0);
    // an event-driven business hears the link too
    await waitUntil('ticket.start_link_issued', () =>
      events.some((e) => e.ticketId === 'fin-h5-1' && e.type === 'ticket.start_link_issued'),
    );
    expect(events.find((e) => e.type === 'ticket.start_link_issued')?.pageUrl).toBe(view.startUrl);

    // what the page's script posts: getMetaInfo()'s object as JSON text
    const posted = await fetch(view.startUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metaInfo: JSON.stringify({ deviceType: 'h5', ua: 'test' }) }),
    });
    expect(posted.status).toBe(202);
    let certifyUrl = '';
    await waitUntil('the CertifyUrl', async () => {
      const s = (await (await fetch(`${view.startUrl}/state`)).json()) as {
        state: string;
        certifyUrl?: string;
      };
      certifyUrl = s.certifyUrl ?? '';
      return s.state === 'ready';
    });
    expect(certifyUrl.startsWith(`${o.emu.cloudauth.url}/face-verify/`)).toBe(true);
    expect(counts('InitFaceVerify')).toBe(1);

    // the person completes the provider's page; its callback wakes the ticket
    const done = await fetch(certifyUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=complete',
      redirect: 'manual',
    });
    expect(done.status).toBeLessThan(400);
    const t = await o.waitFor('fin-h5-1');
    expect(t.state).toBe('passed');
    expect(t.verdict).toMatchObject({ statusCode: 1, subCode: '200' });
    const delivered = o.emu.cloudauth.faceVerifyCallbacks();
    expect(delivered.some((d) => d.status === 200)).toBe(true);
    // the link is dead once the ticket ended
    expect((await fetch(view.startUrl)).status).toBe(410);
    await waitUntil('ticket.passed', () =>
      events.some((e) => e.ticketId === 'fin-h5-1' && e.type === 'ticket.passed'),
    );
    expect(events.filter((e) => e.ticketId === 'fin-h5-1').map((e) => e.type)).toEqual([
      'ticket.start_link_issued',
      'ticket.token_issued',
      'ticket.passed',
    ]);
    // the browser's MetaInfo went with the applicant when the ticket passed
    await o.waitFor('fin-h5-1', (x) => x.erasedAt !== undefined);
    const fields = await o.app.redis.hkeys(`${o.prefix}:t:{fin-h5-1}`);
    expect(fields).not.toContain('metaInfo');
    expect(fields).not.toContain('binding');
  });

  it('a refused applicant fails the ticket; a retry makes a new link and voids the old one', async () => {
    const create = await createTicket({
      TicketId: 'fin-h5-child',
      Biz: 'FaceH5',
      // valid, but under 14: InitFaceVerify answers Code 405
      Binding: { Name: '李小', IdentificationNumber: idNumberBornOn('20200101') },
    });
    const first = ((await create.json()) as { startUrl: string }).startUrl;
    const posted = await fetch(first, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metaInfo: '{"deviceType":"h5"}' }),
    });
    expect(posted.status).toBe(202);
    const failed = await o.waitFor('fin-h5-child');
    expect(failed.state).toBe('failed');
    expect(failed.lastError).toMatchObject({ code: 'APPLICANT_REFUSED', providerCode: '405' });
    const state = (await (await fetch(`${first}/state`)).json()) as { state: string };
    expect(state.state).toBe('ended');

    const retried = await api('/v1/tickets/fin-h5-child/retry', { method: 'POST' });
    expect(retried.status).toBe(200);
    const second = ((await retried.json()) as { startUrl: string }).startUrl;
    expect(second).not.toBe(first);
    expect((await fetch(first)).status).toBe(404);
    expect((await fetch(second)).status).toBe(200);
    const t = await o.app.store.get('fin-h5-child');
    expect(t).toMatchObject({ state: 'queued' });
    expect(t?.startedAt).toBeUndefined();
  });

  it('takes one MetaInfo per start, refuses a hostile one naming the field, bounds callbacks', async () => {
    o.emu.cloudauth.resetCounters();
    const created = await createTicket({
      TicketId: 'fin-h5-hostile',
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    });
    const { startUrl } = (await created.json()) as { startUrl: string };
    const post = (metaInfo: unknown) =>
      fetch(startUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metaInfo }),
      });
    let deep = '1';
    for (let i = 0; i < 40; i++) deep = `{"a":${deep}}`;
    for (const [bad, why] of [
      [deep, /nested deeper/],
      ['[1,2]', /not the JSON text of an object/],
      ['{"a":', /not JSON text/],
      [42, /missing, or not text/],
    ] as const) {
      const r = await post(bad);
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const body = (await r.json()) as { errors: { field: string; message: string }[] };
      expect(body.errors[0]?.field).toBe('metaInfo');
      expect(body.errors[0]?.message).toMatch(why);
    }
    expect((await o.app.store.get('fin-h5-hostile'))?.startedAt).toBeUndefined();
    // four browsers at once: all told it started, one MetaInfo kept, one InitFaceVerify
    const answers = await Promise.all(
      [1, 2, 3, 4].map((n) => post(JSON.stringify({ deviceType: 'h5', n }))),
    );
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const waiting = await o.waitFor('fin-h5-hostile', (x) => x.state === 'awaiting_user');
    expect(counts('InitFaceVerify')).toBe(1);
    // the MetaInfo went once it served InitFaceVerify
    expect(await o.app.redis.hkeys(`${o.prefix}:t:{fin-h5-hostile}`)).not.toContain('metaInfo');
    // a replayed callback (the right token, the right CertifyId) wakes the ticket once per
    // debounce period at most, so it costs one DescribeFaceVerify, whoever holds its URL
    const url = o.app.links.callbackUrl({ ticketId: 'fin-h5-hostile' });
    const token = o.app.links.callbackToken({ ticketId: 'fin-h5-hostile' });
    const replays = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${url}&certifyId=${waiting.lease?.verifyToken}&passed=200&callbackToken=${token}`),
      ),
    );
    expect(replays.every((r) => r.status === 200)).toBe(true);
    const debounce = `${o.prefix}:t:{fin-h5-hostile}:wake:debounce`;
    expect(await o.app.redis.pttl(debounce)).toBeGreaterThan(0);
    // the store's debounce: one wake in the period, the others dropped
    expect(await o.app.store.wake('fin-h5-hostile', CALLBACK_DEBOUNCE_MS)).toBe(false);
    expect(await o.app.store.wake('debounce-probe', 60_000)).toBe(true);
    expect(await o.app.store.wake('debounce-probe', 60_000)).toBe(false);
    await o.app.redis.del(
      `${o.prefix}:t:{debounce-probe}:wake`,
      `${o.prefix}:t:{debounce-probe}:wake:debounce`,
    );
  });

  it('expires a ticket whose start link ran out unopened; the link then answers 410', async () => {
    o.emu.cloudauth.resetCounters();
    const created = await createTicket({
      TicketId: 'fin-h5-unopened',
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    });
    expect(created.status).toBe(202);
    // the link's week, passed: its end moved to a moment ago, the delayed job run now
    const end = Date.now() - 1;
    await o.app.redis.hset(`${o.prefix}:t:{fin-h5-unopened}`, 'startBy', String(end));
    await o.app.store.wake('fin-h5-unopened');
    await runNext(await o.app.queue.getJob(jobIdOf('fin-h5-unopened')));
    const t = await o.waitFor('fin-h5-unopened');
    expect(t.state).toBe('expired');
    expect(counts('InitFaceVerify')).toBe(0);
    const history = await o.app.store.history('fin-h5-unopened');
    expect(history.map((h) => `${h.from}>${h.to}`)).toEqual(['queued>expired']);
    const link = o.app.links.startUrlOf({ ticketId: 'fin-h5-unopened', startBy: end });
    expect((await fetch(link ?? '')).status).toBe(410);
  });

  it('refuses a forged or altered start link', async () => {
    const created = await createTicket({
      TicketId: 'fin-h5-forged',
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    });
    const { startUrl } = (await created.json()) as { startUrl: string };
    const other = startUrl.replace(
      /\/v1\/start\/[\w-]+\./,
      `/v1/start/${Buffer.from('fin-h5-1').toString('base64url')}.`,
    );
    expect((await fetch(other)).status).toBe(404);
    const forgedCallback = await fetch(
      `${o.app.apiUrl}/v1/provider/face-verify/callback?t=${Buffer.from('fin-h5-forged').toString('base64url')}&certifyId=x&passed=200&callbackToken=${'0'.repeat(32)}`,
    );
    expect(forgedCallback.status).toBe(403);
    expect((await o.app.store.get('fin-h5-forged'))?.state).toBe('queued');
  });
});
