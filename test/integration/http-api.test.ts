/**
 * The HTTP API over a running orchestrator: real Redis, BullMQ workers in process, the emulators
 * on loopback. Requests go through the typed client generated from the OpenAPI document
 * (`createApiClient`) over `inject`, and over a listening server once: each call is one the
 * document has, and each answer is checked against the document the API serves (status, media
 * type, required headers such as `Location` and `x-request-id`, body schema), so the document
 * cannot drift from the server. Requests the client cannot make (a body that is not JSON, another
 * content type, a route the document does not have) go through `inject` itself.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import {
  buildHttpApi,
  loadOrCreateApiToken,
  startHttpApi,
  type HttpApiDeps,
} from '../../src/api/index.js';
import { createApiClient, type ApiSchemas, type TypedApiClient } from '../../src/api/client.js';
import { checkCallbackUrl } from '../../src/webhooks/allowlist.js';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';
import { conformance, documentOf, injectClient } from '../support/api-client.js';
import { smallJpeg } from '../support/images.js';
import {
  aBinding,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';

const TOKEN = 'test-token-0123456789abcdef';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
const SEED_ID_NUMBER = '630546198009090099';

let o: TestOrchestrator;
let api: FastifyInstance;
/** The typed client of `api`, with {@link TOKEN}. */
let client: TypedApiClient;
let deps: HttpApiDeps;
let facePic: string;
const logLines: string[] = [];

const newId = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

type TicketRequest = ApiSchemas['TicketRequest'];

function rpMin(TicketId: string, extra: Partial<TicketRequest> = {}) {
  return {
    TicketId,
    Biz: 'RPMin',
    Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: facePic },
    ...extra,
  };
}

function interactive(TicketId: string): TicketRequest {
  return { TicketId, Biz: 'RPH5BioOnly', Binding: { Name: NAME, IdentificationNumber: ID_NUMBER } };
}

/** A body the document does not allow, sent as it is to see it refused. */
const invalid = (body: object): TicketRequest => body as TicketRequest;

const ticketPath = (id: string) => ({ params: { path: { id } } });

async function call(options: InjectOptions & { token?: string | null }) {
  const { token = TOKEN, ...rest } = options;
  const res = await api.inject({
    ...rest,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...rest.headers,
    },
  });
  return { res, body: res.body === '' ? undefined : res.json<Record<string, unknown>>() };
}

function withoutTicketId(payload: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...payload };
  delete copy.TicketId;
  return copy;
}

function fieldsOf(body: { errors?: unknown } | undefined): string[] {
  return ((body?.errors ?? []) as { field: string }[]).map((e) => e.field);
}

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown> },
  status: number,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/** `expectProblem` of an answer the typed client got. */
function expectProblemAnswer(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

beforeAll(async () => {
  facePic = `data:image/jpeg;base64,${aBinding(await smallJpeg('#8a6b4e')).materials.FacePic.base64}`;
  o = await startTestOrchestrator({ env: { CLOUDAUTH_BIZ: `${TEST_BIZ},Ghost=RPMin` } });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  deps = {
    intake: o.app.intake,
    operations: o.app.operations,
    store: o.app.store,
    biz: o.app.config.cloudauth.biz,
    tokens: ['another-token-for-rotation', TOKEN],
    bodyLimitBytes: o.app.config.api.bodyLimitBytes,
    batchMax: o.app.config.api.batchMax,
    logger: pino({ level: 'info' }, sink),
    checkCallbackUrl: (url) => checkCallbackUrl(url, []),
  };
  api = buildHttpApi(deps);
  await api.ready();
  client = await injectClient(api, TOKEN);
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

describe('POST /v1/tickets', () => {
  it('accepts a ticket with 202, and the ticket reaches passed', async () => {
    const id = newId('create');
    const { data, response } = await client.POST('/v1/tickets', { body: rpMin(id) });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/v1/tickets/${id}`);
    expect(data).toMatchObject({ TicketId: id, Biz: 'RPMin', flow: 'server', version: 0 });
    expect(['queued', 'token_issued', 'submitted', 'passed']).toContain(data?.state);
    await o.waitFor(id);
    const got = await client.GET('/v1/tickets/{id}', ticketPath(id));
    expect(got.response.status).toBe(200);
    expect(got.data).toMatchObject({
      state: 'passed',
      verdict: { statusCode: 1 },
      emulated: true,
      lastError: null,
      pageUrl: null,
      applicant: { name: '李*', idNumber: '1101**********002X' },
    });
    expect(got.data?.finishedAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect(got.data?.history.at(-1)?.to).toBe('passed');
    const text = JSON.stringify(got.data);
    for (const secret of [ID_NUMBER, NAME, 'AccessKeySecret', 'accessKeySecret', 'securityToken']) {
      expect(text).not.toContain(secret);
    }
  });

  it('takes a TicketId with reserved characters, percent-encoded in the path', async () => {
    const id = `order/${randomUUID().slice(0, 8)}?#%`;
    const { response } = await client.POST('/v1/tickets', { body: rpMin(id) });
    expect(response.status).toBe(202);
    const location = response.headers.get('location') ?? '';
    expect(location).toBe(`/v1/tickets/${encodeURIComponent(id)}`);
    // the client percent-encodes the TicketId in the path as the server's Location does
    const got = await client.GET('/v1/tickets/{id}', ticketPath(id));
    expect(got.response.status).toBe(200);
    expect(got.data?.TicketId).toBe(id);
    const byLocation = await call({ method: 'GET', url: location });
    expect(byLocation.body?.TicketId).toBe(id);
  });

  it('answers an identical repeat with 200 and the same ticket', async () => {
    const id = newId('repeat');
    const first = await client.POST('/v1/tickets', { body: rpMin(id) });
    const again = await client.POST('/v1/tickets', { body: rpMin(id) });
    expect(first.response.status).toBe(202);
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get('location')).toBe(`/v1/tickets/${id}`);
    expect(again.data?.TicketId).toBe(id);
    expect(again.data?.createdAt).toBe(first.data?.createdAt);
  });

  it('refuses the same TicketId with a different payload with 409', async () => {
    const id = newId('conflict');
    await client.POST('/v1/tickets', { body: rpMin(id) });
    const { response, error } = await client.POST('/v1/tickets', {
      body: rpMin(id, { UserData: { other: true } }),
    });
    expectProblemAnswer(response, 409);
    expect(error).toMatchObject({
      type: 'urn:cloudauth-orchestrator:problem:ticket-conflict',
      status: 409,
    });
  });

  it('names the missing TicketId', async () => {
    const body = invalid(withoutTicketId(rpMin('x')));
    const { response, error } = await client.POST('/v1/tickets', { body });
    expectProblemAnswer(response, 422);
    expect(error?.errors).toEqual([{ field: 'TicketId', message: 'is required' }]);
  });

  it('names a bad IdentificationNumber without repeating it', async () => {
    const payload = rpMin(newId('bad-id'));
    payload.Binding.IdentificationNumber = SEED_ID_NUMBER;
    const { response, error } = await client.POST('/v1/tickets', { body: payload });
    expectProblemAnswer(response, 422);
    expect(fieldsOf(error)).toEqual(['Binding.IdentificationNumber']);
    expect(JSON.stringify(error)).not.toContain(SEED_ID_NUMBER);
    expect(JSON.stringify(error)).not.toContain(NAME);
  });

  it('names unknown fields, at the top and inside the Binding', async () => {
    const payload = { ...rpMin(newId('unknown')), Extra: 1 };
    Object.assign(payload.Binding, { Nmae: 'typo' });
    const { response, error } = await client.POST('/v1/tickets', { body: invalid(payload) });
    expectProblemAnswer(response, 422);
    expect(fieldsOf(error).sort()).toEqual(['Binding.Nmae', 'Extra']);
  });

  it('refuses a local path as FacePic', async () => {
    const payload = rpMin(newId('path'));
    payload.Binding.FacePic = '/etc/passwd';
    const { response, error } = await client.POST('/v1/tickets', { body: payload });
    expectProblemAnswer(response, 422);
    expect(fieldsOf(error)).toEqual(['Binding.FacePic']);
    expect(await o.app.store.get(payload.TicketId)).toBeUndefined();
  });

  it('refuses a callback URL to an internal address', async () => {
    const payload = rpMin(newId('callback'), { callbackUrl: 'http://127.0.0.1:9/hook' });
    const { response, error } = await client.POST('/v1/tickets', { body: payload });
    expectProblemAnswer(response, 422);
    expect(fieldsOf(error)).toEqual(['callbackUrl']);
  });

  it('answers a body that is not JSON with 400 naming (body)', async () => {
    const { res, body } = await call({
      method: 'POST',
      url: '/v1/tickets',
      headers: { 'content-type': 'application/json' },
      payload: '{"TicketId": ',
    });
    expectProblem(res, 400);
    expect(fieldsOf(body)).toEqual(['(body)']);
  });

  it('answers an empty body with 422 naming (body)', async () => {
    const { res, body } = await call({
      method: 'POST',
      url: '/v1/tickets',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expectProblem(res, 422);
    expect(fieldsOf(body)).toEqual(['(body)']);
  });

  it('answers another content type with 415', async () => {
    const { res } = await call({
      method: 'POST',
      url: '/v1/tickets',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(rpMin(newId('text'))),
    });
    expectProblem(res, 415);
  });

  it('answers a body over the limit with 413', async () => {
    const small = buildHttpApi({ ...deps, bodyLimitBytes: 2048 });
    try {
      const { response } = await (
        await injectClient(small, TOKEN)
      ).POST('/v1/tickets', {
        body: rpMin(newId('large'), { UserData: { pad: 'x'.repeat(4096) } }),
      });
      expectProblemAnswer(response, 413);
    } finally {
      await small.close();
    }
  });
});

describe('POST /v1/tickets/batch', () => {
  it('accepts the valid items and reports each item', async () => {
    const [a, b, dup] = [newId('ba'), newId('bb'), newId('bdup')];
    await client.POST('/v1/tickets', { body: rpMin(dup) });
    const bad = rpMin(newId('bbad'));
    bad.Binding.IdentificationNumber = SEED_ID_NUMBER;
    const noId = invalid(withoutTicketId(rpMin('x')));
    const { response, data: body } = await client.POST('/v1/tickets/batch', {
      body: {
        tickets: [rpMin(a), bad, noId, rpMin(b), rpMin(dup), rpMin(dup, { UserData: { x: 1 } })],
      },
    });
    expect(response.status).toBe(200);
    expect(body?.batchId).toMatch(/^b-\d{8}-[0-9a-f]{8}$/);
    expect(body).toMatchObject({ accepted: 2, duplicates: 1, conflicts: 1, rejected: 2 });
    expect(body?.results).toEqual([
      { index: 0, TicketId: a, outcome: 'created' },
      {
        index: 1,
        TicketId: bad.TicketId,
        outcome: 'invalid',
        problems: [{ field: 'Binding.IdentificationNumber', message: expect.any(String) }],
      },
      {
        index: 2,
        TicketId: null,
        outcome: 'invalid',
        problems: [{ field: 'TicketId', message: 'is required' }],
      },
      { index: 3, TicketId: b, outcome: 'created' },
      { index: 4, TicketId: dup, outcome: 'duplicate' },
      { index: 5, TicketId: dup, outcome: 'conflict' },
    ]);
    expect(JSON.stringify(body)).not.toContain(SEED_ID_NUMBER);
    for (const id of [a, b]) {
      expect((await o.app.store.get(id))?.batchId).toBe(body?.batchId);
    }
    expect(await o.app.store.get(bad.TicketId)).toBeUndefined();
  });

  it('keeps a given batchId and refuses a bad envelope naming the field', async () => {
    const batchId = newId('given.batch');
    const ok = await client.POST('/v1/tickets/batch', {
      body: { batchId, tickets: [rpMin(newId('bg'))] },
    });
    expect(ok.data).toMatchObject({ batchId, accepted: 1 });
    const empty = await client.POST('/v1/tickets/batch', {
      body: { batchId: 'no spaces!', tickets: [] },
    });
    expectProblemAnswer(empty.response, 422);
    expect(fieldsOf(empty.error).sort()).toEqual(['batchId', 'tickets']);
    const few = buildHttpApi({ ...deps, batchMax: 1 });
    try {
      const { response, error } = await (
        await injectClient(few, TOKEN)
      ).POST('/v1/tickets/batch', {
        body: { tickets: [rpMin(newId('m1')), rpMin(newId('m2'))] },
      });
      expectProblemAnswer(response, 422);
      expect(fieldsOf(error)).toEqual(['tickets']);
    } finally {
      await few.close();
    }
  });
});

describe('GET /v1/tickets', () => {
  it('lists a batch page by page, and by state', async () => {
    const batchId = newId('list');
    const ids = Array.from({ length: 5 }, (_, i) => newId(`list${i}`));
    await client.POST('/v1/tickets/batch', {
      body: { batchId, tickets: ids.map((id) => rpMin(id)) },
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = { batch: batchId, limit: 2, ...(cursor === undefined ? {} : { cursor }) };
      const { response, data } = await client.GET('/v1/tickets', { params: { query } });
      expect(response.status).toBe(200);
      const tickets = data?.tickets ?? [];
      expect(tickets.length).toBeLessThanOrEqual(2);
      for (const t of tickets) {
        expect(t).not.toHaveProperty('history');
        expect(t).not.toHaveProperty('applicant');
        expect(t.batchId).toBe(batchId);
      }
      seen.push(...tickets.map((t) => t.TicketId));
      cursor = data?.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.sort()).toEqual([...ids].sort());

    await Promise.all(ids.map((id) => o.waitFor(id)));
    const passed = await client.GET('/v1/tickets', {
      params: { query: { state: 'passed', batch: batchId } },
    });
    expect(passed.data?.tickets.length).toBe(5);
    const byState = await client.GET('/v1/tickets', {
      params: { query: { state: 'passed', limit: 500 } },
    });
    const listed = byState.data?.tickets ?? [];
    expect(listed.every((t) => t.state === 'passed')).toBe(true);
    expect(listed.map((t) => t.TicketId)).toEqual(expect.arrayContaining(ids));
  });

  it('names a bad state, limit, cursor or unknown parameter', async () => {
    for (const [query, field] of [
      [{ state: 'done' }, 'state'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 501 }, 'limit'],
      [{ cursor: 'nonsense' }, 'cursor'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      // values and a parameter the document refuses, sent as they are
      const { response, error } = await client.GET('/v1/tickets', {
        params: { query: query as never },
      });
      expectProblemAnswer(response, 400);
      expect(fieldsOf(error), JSON.stringify(query)).toEqual([field]);
    }
  });
});

describe('GET /v1/tickets/:id', () => {
  it('answers 404 for an unknown ticket', async () => {
    const { response, error } = await client.GET('/v1/tickets/{id}', ticketPath(newId('none')));
    expectProblemAnswer(response, 404);
    expect(error?.type).toBe('urn:cloudauth-orchestrator:problem:unknown-ticket');
  });
});

describe('retry and cancel', () => {
  it('retries a failed ticket: back to queued, then failed again', async () => {
    const id = newId('ghost');
    await client.POST('/v1/tickets', { body: { ...rpMin(id), Biz: 'Ghost' } });
    const failed = await o.waitFor(id);
    expect(failed.state).toBe('failed');
    const { response, data } = await client.POST('/v1/tickets/{id}/retry', ticketPath(id));
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ TicketId: id, state: 'queued' });
    expect(data?.history.at(-1)?.event).toBe('retried');
    const again = await o.waitFor(
      id,
      (t: StoredTicket) => t.state === 'failed' && t.version > failed.version,
    );
    expect(again.lastError?.code).toBe('PROVIDER_INVALID_BIZ');
    const got = await client.GET('/v1/tickets/{id}', ticketPath(id));
    expect(got.data?.lastError).toMatchObject({ code: 'PROVIDER_INVALID_BIZ', retryable: false });
  });

  it('refuses to retry a passed ticket (409) and an unknown one (404)', async () => {
    const id = newId('passed');
    await client.POST('/v1/tickets', { body: rpMin(id) });
    await o.waitFor(id);
    const passed = await client.POST('/v1/tickets/{id}/retry', ticketPath(id));
    expectProblemAnswer(passed.response, 409);
    expect(passed.error?.type).toBe('urn:cloudauth-orchestrator:problem:illegal-transition');
    expect(passed.error?.code).toBe('ILLEGAL_TRANSITION');
    const unknown = await client.POST('/v1/tickets/{id}/retry', ticketPath(newId('none')));
    expectProblemAnswer(unknown.response, 404);
  });

  it('shows the page URL of a waiting interactive ticket and no secret, then cancels it once', async () => {
    const id = newId('h5');
    const created = await client.POST('/v1/tickets', { body: interactive(id) });
    expect(created.response.status).toBe(202);
    const waiting = await o.waitFor(id, (t) => t.state === 'awaiting_user');
    const lease = waiting.lease;
    expect(lease).toBeDefined();
    const got = await client.GET('/v1/tickets/{id}', ticketPath(id));
    expect(got.data).toMatchObject({ state: 'awaiting_user', flow: 'interactive' });
    expect(got.data?.pageUrl).toBe(lease?.pageUrl);
    const text = JSON.stringify(got.data);
    for (const secret of [
      ID_NUMBER,
      NAME,
      'AccessKeySecret',
      lease?.sts?.accessKeySecret ?? '-',
      lease?.sts?.securityToken ?? '-',
      lease?.verifyToken ?? '-',
    ]) {
      expect(text.replace(lease?.pageUrl ?? '-', '(pageUrl)')).not.toContain(secret);
    }

    const cancelled = await call({
      method: 'POST',
      url: `/v1/tickets/${id}/cancel`,
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(cancelled.res.statusCode).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', pageUrl: null });
    const twice = await client.POST('/v1/tickets/{id}/cancel', ticketPath(id));
    expectProblemAnswer(twice.response, 409);
  });

  it('cancels a queued ticket', async () => {
    const quiet = await startTestOrchestrator({ workers: false });
    const api2 = buildHttpApi({
      ...deps,
      intake: quiet.app.intake,
      operations: quiet.app.operations,
      store: quiet.app.store,
    });
    try {
      const id = newId('queued');
      const client2 = await injectClient(api2, TOKEN);
      const created = await client2.POST('/v1/tickets', { body: interactive(id) });
      expect(created.response.status).toBe(202);
      expect(created.data?.state).toBe('queued');
      const { response, data } = await client2.POST('/v1/tickets/{id}/cancel', ticketPath(id));
      expect(response.status).toBe(200);
      expect(data).toMatchObject({ state: 'cancelled' });
    } finally {
      await api2.close();
      await quiet.close();
    }
  });
});

describe('authentication', () => {
  it('refuses a request without a token, or with a wrong one, with 401', async () => {
    for (const token of [null, 'wrong-token-0123456789', `${TOKEN}x`]) {
      const { response, error } = await (await injectClient(api, token)).GET('/v1/tickets', {});
      expectProblemAnswer(response, 401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(error?.status).toBe(401);
      expect(JSON.stringify(error)).not.toContain(TOKEN);
    }
    const basic = await (
      await injectClient(api, null)
    ).GET('/v1/tickets', {
      headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
    });
    expectProblemAnswer(basic.response, 401);
  });

  it('accepts every configured token', async () => {
    const rotated = await injectClient(api, 'another-token-for-rotation');
    const { response } = await rotated.GET('/v1/tickets', {});
    expect(response.status).toBe(200);
  });

  it('answers an unknown route with a 404 problem once authenticated', async () => {
    expectProblem((await call({ method: 'GET', url: '/v2/nothing', token: null })).res, 401);
    const { res, body } = await call({ method: 'GET', url: '/v2/nothing' });
    expectProblem(res, 404);
    expect(body?.type).toBe('urn:cloudauth-orchestrator:problem:route-not-found');
  });
});

describe('errors', () => {
  it('answers an unexpected failure with a 500 problem without internals, and logs it', async () => {
    const broken = buildHttpApi({
      ...deps,
      store: {
        ...o.app.store,
        get: () => Promise.reject(new Error('redis exploded at 10.0.0.7:6379')),
        getBinding: (id) => o.app.store.getBinding(id),
        history: (id) => o.app.store.history(id),
        list: (q) => o.app.store.list(q),
        countByState: () => o.app.store.countByState(),
        countBatch: (b) => o.app.store.countBatch(b),
      },
    });
    try {
      const { response, error } = await (
        await injectClient(broken, TOKEN)
      ).GET('/v1/tickets/{id}', ticketPath('any'));
      expectProblemAnswer(response, 500);
      expect(JSON.stringify(error)).not.toContain('exploded');
      expect(logLines.join('')).toContain('redis exploded');
    } finally {
      await broken.close();
    }
  });
});

describe('GET /openapi.json', () => {
  it('is OpenAPI 3.1 from the zod schemas, without a token, listing every route', async () => {
    const { response, data } = await (await injectClient(api, null)).GET('/openapi.json', {});
    expect(response.status).toBe(200);
    const doc = data as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown }>
      >;
      components: {
        schemas: Record<string, { properties?: Record<string, unknown> }>;
        securitySchemes: Record<string, unknown>;
      };
    };
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'POST /v1/tickets',
        'GET /v1/tickets',
        'POST /v1/tickets/batch',
        'GET /v1/tickets/{id}',
        'POST /v1/tickets/{id}/retry',
        'POST /v1/tickets/{id}/cancel',
        'POST /v1/tickets/{id}/erase',
        'GET /openapi.json',
        'GET /v1/summary',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ].sort(),
    );
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(doc.paths['/openapi.json']?.get?.security).toEqual([]);
    expect(Object.keys(doc.components.schemas.TicketRequest?.properties ?? {})).toEqual(
      expect.arrayContaining(['TicketId', 'Biz', 'Binding', 'UserData', 'callbackUrl']),
    );
    expect(doc.components.schemas.TicketView?.properties).toHaveProperty('applicant');
    expect(doc.components.schemas.TicketView?.properties).toHaveProperty('emulated');
    expect(doc.components.schemas.Problem?.properties).toHaveProperty('errors');
    const create = doc.paths['/v1/tickets']?.post;
    expect(Object.keys(create?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '202', '401', '409', '413', '415', '422', '500']),
    );
    expect(create?.responses['409']).toMatchObject({
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
  });
});

describe('startHttpApi', () => {
  it('listens on a free port and serves the same API', async () => {
    const running = await startHttpApi({ ...deps, host: '127.0.0.1', port: 0 });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const doc = await documentOf(api);
      const anonymous = createApiClient({ baseUrl: running.url });
      anonymous.use(conformance(doc));
      const open = await anonymous.GET('/openapi.json', {});
      expect(open.response.status).toBe(200);
      expect(open.data).toEqual(doc);
      const refused = await anonymous.GET('/v1/tickets', {});
      expect(refused.response.status).toBe(401);
      const authorised = createApiClient({ baseUrl: running.url, token: TOKEN });
      authorised.use(conformance(doc));
      const listed = await authorised.GET('/v1/tickets', { params: { query: { limit: 1 } } });
      expect(listed.response.status).toBe(200);
      expect(listed.data?.tickets.length).toBeLessThanOrEqual(1);
    } finally {
      await running.close();
    }
  });
});

describe('loadOrCreateApiToken', () => {
  it('creates a 0600 token file in embedded mode and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-token-'));
    try {
      const file = join(dir, 'nested', 'api.token');
      const config = loadConfig({ API_TOKEN_FILE: file });
      const first = loadOrCreateApiToken(config);
      expect(first.file).toBe(file);
      expect(first.tokens[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(first.tokens[0]);
      expect(loadOrCreateApiToken(config)).toEqual(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes API_TOKENS when set, and requires them in production', () => {
    const config = loadConfig({
      ORCHESTRATOR_MODE: 'embedded',
      API_TOKENS: `${TOKEN},second-token-0123456789`,
    });
    expect(loadOrCreateApiToken(config)).toEqual({
      tokens: [TOKEN, 'second-token-0123456789'],
      file: undefined,
    });
    const production = { ...loadConfig({}), mode: 'production' as const };
    expect(() => loadOrCreateApiToken(production)).toThrow(ConfigError);
  });
});

describe('logs', () => {
  it('never carry the applicant or a token', () => {
    const text = logLines.join('');
    expect(text).toContain('http request');
    for (const secret of [ID_NUMBER, NAME, SEED_ID_NUMBER, TOKEN]) {
      expect(text).not.toContain(secret);
    }
  });
});
