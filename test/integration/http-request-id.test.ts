/**
 * Request ids over a real store: a well-formed `x-request-id` is kept and answered, an ill-formed
 * one (too long, CR/LF, spaces, other characters) replaced by a new UUID, and none generated; the
 * id is answered on every response (success, 401, 404, framework refusals) and is the `instance`
 * of every problem and the `reqId` of the access-log line.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApi } from '../../src/api/index.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const TOKEN = 'request-id-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const INSTANCE = 'urn:cloudauth-orchestrator:request:';

let o: TestOrchestrator;
let api: FastifyInstance;
const logLines: string[] = [];

beforeAll(async () => {
  o = await startTestOrchestrator({ workers: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  api = buildHttpApi({
    intake: o.app.intake,
    operations: o.app.operations,
    store: o.app.store,
    biz: o.app.config.cloudauth.biz,
    tokens: [TOKEN],
    bodyLimitBytes: 1024,
    batchMax: 10,
    logger: pino({ level: 'info' }, sink),
  });
  await api.ready();
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

function idOf(res: LightMyRequestResponse): string {
  const id = res.headers['x-request-id'];
  expect(typeof id).toBe('string');
  return id as string;
}

/** `res` is a problem whose `instance` is its answered request id; answers the id. */
function problemId(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const id = idOf(res);
  expect(res.json<{ instance?: string }>().instance).toBe(`${INSTANCE}${id}`);
  return id;
}

const get = (url: string, headers: InjectOptions['headers'] = {}) =>
  api.inject({ method: 'GET', url, headers: { ...auth, ...headers } });

describe('x-request-id', () => {
  it('keeps a well-formed id: answered on a success and as the instance of a problem', async () => {
    const id = `caller.trace_1:${randomUUID()}-X`;
    const ok = await get('/v1/tickets?limit=1', { 'x-request-id': id });
    expect(ok.statusCode).toBe(200);
    expect(idOf(ok)).toBe(id);

    const unknown = await get(`/v1/tickets/no-such-${randomUUID()}`, { 'x-request-id': id });
    expect(problemId(unknown, 404)).toBe(id);
    const longest = 'a'.repeat(128);
    expect(idOf(await get('/healthz', { 'x-request-id': longest }))).toBe(longest);
  });

  it('replaces an ill-formed id with a new UUID, never echoing it', async () => {
    const hostile = [
      'a'.repeat(129),
      'two words',
      'line\r\nSet-Cookie: x=1',
      'line\nbreak',
      '<script>alert(1)</script>',
      'id/with/slashes',
      '李三',
      '',
    ];
    for (const value of hostile) {
      const res = await api.inject({
        method: 'GET',
        url: '/v1/tickets/missing',
        // light-my-request sends the header as given, as a raw client could
        headers: { ...auth, 'x-request-id': value },
      });
      const id = problemId(res, 404);
      expect(id, JSON.stringify(value)).toMatch(UUID);
      expect(res.body).not.toContain('script');
      expect(res.body).not.toContain('Set-Cookie');
    }
  });

  it('generates a UUID when none is given, unique per request', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await api.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
      const id = idOf(res);
      expect(id).toMatch(UUID);
      ids.add(id);
    }
    expect(ids.size).toBe(5);
  });

  it('is answered on refusals before any route runs: 401, unknown route, bad JSON, 413, bad path', async () => {
    const id = 'refusals-1';
    const withId = { 'x-request-id': id };
    const noToken = await api.inject({ method: 'GET', url: '/v1/tickets', headers: withId });
    expect(problemId(noToken, 401)).toBe(id);
    expect(problemId(await get('/no/such/route', withId), 404)).toBe(id);
    const post = (payload: string) =>
      api.inject({
        method: 'POST',
        url: '/v1/tickets',
        headers: { ...auth, ...withId, 'content-type': 'application/json' },
        payload,
      });
    expect(problemId(await post('{"TicketId": '), 400)).toBe(id);
    expect(problemId(await post(JSON.stringify({ pad: 'x'.repeat(2048) })), 413)).toBe(id);
    expect(problemId(await get('/v1/tickets/%zz', withId), 400)).toBe(id);
  });

  it('labels the access-log line of the request (reqId), with the route pattern, not the path', async () => {
    const id = `log-${randomUUID()}`;
    const ticketId = `secret-ish-${randomUUID()}`;
    const res = await get(`/v1/tickets/${ticketId}`, { 'x-request-id': id });
    expect(res.statusCode).toBe(404);
    const line = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'http request' && l.reqId === id);
    expect(line).toMatchObject({
      reqId: id,
      method: 'GET',
      route: '/v1/tickets/:id',
      status: 404,
    });
    expect(logLines.join('\n')).not.toContain(ticketId);
  });
});
