/**
 * The HTTP API while its Redis is down: an orchestrator on its own `redis-server` (a free port,
 * nothing on disk, never the shared one), killed with SIGKILL and started again on the same
 * port. Requests must get 503 `STORE_UNAVAILABLE` with `Retry-After` within a few seconds, not a
 * 500 or a hang, and succeed again once Redis is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../chaos/processes.js';
import { redisAnswers } from '../../src/embedded-redis.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const TOKEN = 'outage-token-0123456789abcdef';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
/**
 * How long an answer may take while Redis is down before the request is abandoned (and the test
 * fails): well above the ~2 s the command connection takes to give up, well below a hang.
 */
const FAIL_FAST_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `redis-server` of this test only, that can be killed and started again on its port. */
class OwnRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const exited = new Promise<never>((_resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
    });
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (!(await Promise.race([redisAnswers(this.url), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} does not answer`);
      await sleep(50);
    }
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }
}

let redis: OwnRedis;
let o: TestOrchestrator;
let api: string;

beforeAll(async () => {
  redis = new OwnRedis(await freePort());
  await redis.start();
  o = await startTestOrchestrator({
    workers: false,
    http: true,
    env: { REDIS_URL: redis.url, API_TOKENS: TOKEN },
  });
  api = o.app.apiUrl ?? '';
}, 30_000);

afterAll(async () => {
  if (redis && !redis.running) await redis.start();
  await o?.close();
  await redis?.kill();
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
    // at once, and after ioredis's reconnection delay has grown to its cap
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

    await redis.start();
    const back = Date.now();
    let created: Answer | undefined;
    const after = newTicket();
    while (Date.now() - back < 10_000) {
      created = await request('POST', '/v1/tickets', after);
      if (created.status !== 503) break;
      await sleep(100);
    }
    expect(created?.status, created?.text).toBe(202);
    const got = await request('GET', `/v1/tickets/${after.TicketId}`);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toMatchObject({ TicketId: after.TicketId, state: 'queued' });
    // the restarted server kept nothing (no persistence): the earlier ticket is unknown, not 503
    expect((await request('GET', `/v1/tickets/${before.TicketId}`)).status).toBe(404);
  }, 60_000);
});
