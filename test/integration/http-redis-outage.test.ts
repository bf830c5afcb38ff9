/**
 * The HTTP API while its Redis is down: an orchestrator on its own `redis-server` (a free port,
 * nothing on disk, never the shared one), killed with SIGKILL and started again on the same
 * port. Requests must get 503 `STORE_UNAVAILABLE` with `Retry-After` within a few seconds, not a
 * 500 or a hang, and succeed again once Redis is back.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';
import { sleep, waitFor } from '../../testkit/waiting.js';

const TOKEN = 'outage-token-0123456789abcdef';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
/**
 * How long an answer may take while Redis is down before the request is abandoned (and the test
 * fails): well above the ~2 s the command connection takes to give up, well below a hang.
 */
const FAIL_FAST_MS = 5000;

let redis: RedisServer;
let o: TestOrchestrator;
let api: string;

beforeAll(async () => {
  redis = await startRedisServer({ name: 'redis-outage' });
  o = await startTestOrchestrator({
    workers: false,
    http: true,
    env: { REDIS_URL: redis.url, API_TOKENS: TOKEN },
  });
  api = o.app.apiUrl ?? '';
}, 30_000);

afterAll(async () => {
  if (redis && !redis.running()) await redis.restart();
  await o?.close();
  await redis?.stop();
}, 30_000);

const newTicket = () => ({
  TicketId: `outage-${randomUUID().slice(0, 8)}`,
  Biz: 'RPH5BioOnly',
  Binding: { Name: NAME, IdentificationNumber: ID_NUMBER },
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function request(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<Answer> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function expectStoreUnavailable(answer: Answer): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  expect(answer.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  expect(JSON.parse(answer.text)).toEqual({
    type: 'urn:cloudauth-orchestrator:problem:store-unavailable',
    title: 'The ticket store is unavailable',
    status: 503,
    code: 'STORE_UNAVAILABLE',
    detail: expect.any(String),
    instance: expect.stringMatching(/^urn:cloudauth-orchestrator:request:/),
  });
  for (const secret of [NAME, ID_NUMBER, '127.0.0.1', String(redis.port), 'MaxRetries']) {
    expect(answer.text).not.toContain(secret);
  }
}

describe('the HTTP API while Redis is down', () => {
  it('answers 503 STORE_UNAVAILABLE with Retry-After within seconds, and serves again once Redis is back', async () => {
    const before = newTicket();
    expect((await request('POST', '/v1/tickets', before)).status).toBe(202);
    expect((await request('GET', `/v1/tickets/${before.TicketId}`)).status).toBe(200);

    await redis.kill();
    // at once, and after ioredis's reconnection delay has grown to its cap (a stated outage
    // window, not a wait for an outcome)
    for (const pause of [0, 3000]) {
      await sleep(pause);
      expectStoreUnavailable(await request('POST', '/v1/tickets', newTicket(), FAIL_FAST_MS));
      expectStoreUnavailable(
        await request('GET', `/v1/tickets/${before.TicketId}`, undefined, FAIL_FAST_MS),
      );
    }
    const ready = await request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ checks: { redis: 'fail' } });

    await redis.restart();
    const after = newTicket();
    const created = await waitFor(
      'intake once Redis is back',
      () => request('POST', '/v1/tickets', after),
      (answer) => answer.status !== 503,
      { timeoutMs: 10_000, everyMs: 100 },
    );
    expect(created.status, created.text).toBe(202);
    const got = await request('GET', `/v1/tickets/${after.TicketId}`);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toMatchObject({ TicketId: after.TicketId, state: 'queued' });
    // the restarted server kept nothing (no persistence): the earlier ticket is unknown, not 503
    expect((await request('GET', `/v1/tickets/${before.TicketId}`)).status).toBe(404);
  }, 60_000);
});
