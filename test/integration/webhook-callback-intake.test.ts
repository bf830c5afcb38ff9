/**
 * The HTTP intake applies the production callback URL policy: a plain http callback URL (which
 * would carry the `token_issued` page URL, a bearer link, in clear) is a 422 on `callbackUrl`,
 * unless its host is allow-listed.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackPolicyOf, checkCallbackUrl } from '../../src/webhooks/allowlist.js';
import {
  startTestOrchestrator,
  testHttpApi,
  type TestOrchestrator,
} from '../support/orchestrator.js';

const TOKEN = 'callback-policy-token-0123456789';
const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'receiver.internal': ['10.1.2.3'],
};
const lookup = (host: string) => Promise.resolve(DNS[host] ?? []);

let o: TestOrchestrator;
let api: FastifyInstance;

beforeAll(async () => {
  o = await startTestOrchestrator({ workers: false });
  const policy = callbackPolicyOf({
    mode: 'production',
    webhooks: { allowedHosts: ['receiver.internal'] },
  });
  api = testHttpApi(o, {
    tokens: [TOKEN],
    logger: pino({ level: 'silent' }),
    checkCallbackUrl: (url) => checkCallbackUrl(url, policy, lookup),
  });
  await api.ready();
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

async function create(callbackUrl: string) {
  const TicketId = `cb-${randomUUID().slice(0, 8)}`;
  const res = await api.inject({
    method: 'POST',
    url: '/v1/tickets',
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: {
      TicketId,
      Biz: 'RPH5BioOnly',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
      callbackUrl,
    },
  });
  return { TicketId, res, body: res.json<Record<string, unknown>>() };
}

describe('callback URLs at intake in production mode', () => {
  it('answers a plain http callback URL with 422 naming callbackUrl, and stores nothing', async () => {
    const { TicketId, res, body } = await create('http://hooks.example.com/cb?key=s3cr3t');
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const errors = body.errors as { field: string; message: string }[];
    expect(errors.map((e) => e.field)).toEqual(['callbackUrl']);
    expect(errors[0]?.message).toMatch(/must be https in production/);
    expect(res.body).not.toContain('s3cr3t');
    expect(await o.app.store.get(TicketId)).toBeUndefined();
  });

  it('accepts an https callback URL', async () => {
    const { TicketId, res } = await create('https://hooks.example.com/cb?key=s3cr3t');
    expect(res.statusCode).toBe(202);
    expect((await o.app.store.get(TicketId))?.callbackUrl).toBe(
      'https://hooks.example.com/cb?key=s3cr3t',
    );
  });

  it('accepts plain http to a host on WEBHOOK_ALLOWED_HOSTS', async () => {
    const { res } = await create('http://receiver.internal:8080/cb');
    expect(res.statusCode).toBe(202);
  });
});
