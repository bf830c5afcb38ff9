/**
 * What fastify and Node refuse before any route runs (a path that is not percent-encoding, a
 * parameter over `maxParamLength`, content types, bodies that are not JSON or too large, requests
 * that are not HTTP, a server shutting down) is answered as our problem details, never as
 * fastify's own JSON, and never repeating the refused input. Over a real store, through `inject`
 * and, for what only a socket can send, a listening server.
 */
import { connect, type AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildHttpApi,
  startHttpApi,
  type HttpApiDeps,
  type RunningHttpApi,
} from '../../src/api/index.js';
import { problemOf } from '../../src/api/problems.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { within } from '../../testkit/waiting.js';

const TOKEN = 'framework-token-0123456789abcdef';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
const BODY_LIMIT = 4096;
const auth = { authorization: `Bearer ${TOKEN}` };
const PROBLEM_KEYS = ['type', 'title', 'status', 'code', 'detail', 'errors', 'instance'];

let o: TestOrchestrator;
let api: FastifyInstance;
let deps: HttpApiDeps;

beforeAll(async () => {
  o = await startTestOrchestrator({ workers: false });
  deps = {
    intake: o.app.intake,
    operations: o.app.operations,
    store: o.app.store,
    biz: o.app.config.cloudauth.biz,
    tokens: [TOKEN],
    bodyLimitBytes: BODY_LIMIT,
    batchMax: 10,
    logger: pino({ level: 'silent' }),
  };
  api = buildHttpApi(deps);
  await api.ready();
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

interface Answer {
  status: number;
  contentType: string | undefined;
  /** The `x-request-id` answered. */
  requestId: string | undefined;
  body: string;
}

/**
 * `answer` is a problem of `status` and `type` (the last part of its URI), in our shape only,
 * naming none of `refused`, whose `instance` is the request id it was answered with.
 */
function expectProblem(
  answer: Answer,
  status: number,
  type: string,
  refused: readonly string[] = [],
): Record<string, unknown> {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.contentType).toBe('application/problem+json; charset=utf-8');
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(body).toMatchObject({
    type: `urn:cloudauth-orchestrator:problem:${type}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  expect(answer.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(body.instance).toBe(`urn:cloudauth-orchestrator:request:${answer.requestId}`);
  for (const key of Object.keys(body)) expect(PROBLEM_KEYS).toContain(key);
  expect(answer.body).not.toMatch(/FST_ERR|statusCode/);
  for (const text of refused) expect(answer.body).not.toContain(text);
  return body;
}

async function injected(options: InjectOptions): Promise<Answer> {
  const res = await api.inject(options);
  const contentType = res.headers['content-type'];
  const requestId = res.headers['x-request-id'];
  return {
    status: res.statusCode,
    contentType: typeof contentType === 'string' ? contentType : undefined,
    requestId: typeof requestId === 'string' ? requestId : undefined,
    body: res.body,
  };
}

/** Sends `text` on a fresh connection and reads the raw answer until the server closes it. */
function rawExchange(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(text);
  });
}

/** The last HTTP/1.1 answer in `raw` (status, content type, body). */
function parseRaw(raw: string): Answer & { headers: Record<string, string> } {
  const start = raw.lastIndexOf('HTTP/1.1 ');
  const [head = '', body = ''] = raw.slice(start).split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    contentType: headers['content-type'],
    requestId: headers['x-request-id'],
    body,
    headers,
  };
}

const postJson = (payload: string | Buffer, headers: Record<string, string> = {}) =>
  injected({
    method: 'POST',
    url: '/v1/tickets',
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    payload,
  });

describe('paths fastify cannot route', () => {
  it('answers a path that is not valid percent-encoding with a 400 problem (FST_ERR_BAD_URL)', async () => {
    for (const url of [
      '/v1/tickets/%E0%A4%A',
      '/v1/tickets/%zz',
      '/v1/tickets/%',
      `/v1/tickets/${ID_NUMBER}%zz/retry`,
    ]) {
      for (const headers of [auth, {}]) {
        const body = expectProblem(
          await injected({ method: 'GET', url, headers }),
          400,
          'malformed-request',
          [url, url.slice('/v1/tickets/'.length), ID_NUMBER],
        );
        expect(body.errors).toEqual([
          { field: '(path)', message: 'is not valid percent-encoding' },
        ]);
      }
    }
  });

  it('answers a path parameter longer than any TicketId with a 414 problem (FST_ERR_MAX_PARAM_LENGTH)', async () => {
    const long = `${ID_NUMBER}${'x'.repeat(600)}`;
    expectProblem(
      await injected({ method: 'GET', url: `/v1/tickets/${long}`, headers: auth }),
      414,
      'uri-too-long',
      [ID_NUMBER, 'xxxxxxxx'],
    );
  });
});

describe('bodies fastify refuses', () => {
  it('answers a content type other than JSON with a 415 problem (FST_ERR_CTP_INVALID_MEDIA_TYPE)', async () => {
    for (const contentType of [
      'text/plain',
      `application/x-www-form-urlencoded; name=${ID_NUMBER}`,
      'multipart/form-data; boundary=x',
      ';',
      '///',
    ]) {
      expectProblem(
        await postJson('{}', { 'content-type': contentType }),
        415,
        'unsupported-media-type',
        [ID_NUMBER, 'form-data', 'text/plain'],
      );
    }
    const none = await injected({
      method: 'POST',
      url: '/v1/tickets',
      headers: auth,
      payload: Buffer.from('{}'),
    });
    expectProblem(none, 415, 'unsupported-media-type');
  });

  it('answers a body that is not JSON with a 400 problem, without its content (FST_ERR_CTP_INVALID_JSON_BODY)', async () => {
    for (const text of [
      `{"TicketId":"t-1","Binding":{"Name":"${NAME}","IdentificationNumber":"${ID_NUMBER}"`,
      `{"Binding": ${ID_NUMBER}X}`,
      "{'single': 'quotes'}",
      '{"a":1}{"b":2}',
    ]) {
      const body = expectProblem(await postJson(text), 400, 'malformed-request', [
        NAME,
        ID_NUMBER,
        'quotes',
      ]);
      expect(body.errors).toEqual([{ field: '(body)', message: 'is not valid JSON' }]);
    }
  });

  it('answers prototype poisoning in JSON with a 400 problem', async () => {
    for (const text of ['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"a":1}}}']) {
      expectProblem(await postJson(text), 400, 'malformed-request', ['admin']);
    }
  });

  it('answers an empty JSON body with a 422 problem naming the body (no FST_ERR_CTP_EMPTY_JSON_BODY)', async () => {
    const body = expectProblem(await postJson(''), 422, 'validation-failed');
    expect(body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(body.errors).toEqual([{ field: '(body)', message: expect.any(String) }]);
  });

  it('answers a body over the limit with a 413 problem (FST_ERR_CTP_BODY_TOO_LARGE)', async () => {
    const big = JSON.stringify({ TicketId: 't-big', pad: ID_NUMBER.repeat(BODY_LIMIT / 8) });
    expectProblem(await postJson(big), 413, 'body-too-large', [ID_NUMBER]);
  });

  it('answers a body shorter than its Content-Length with a 400 problem (FST_ERR_CTP_INVALID_CONTENT_LENGTH)', async () => {
    expectProblem(await postJson('{}', { 'content-length': '5' }), 400, 'malformed-request');
  });

  it('answers any other refusal of fastify with its status, never its message', () => {
    const refusal = Object.assign(new Error(`body/Binding/Name must not be "${NAME}"`), {
      code: 'FST_ERR_VALIDATION',
      statusCode: 400,
    });
    const { problem } = problemOf(refusal, pino({ level: 'silent' }), {
      method: 'POST',
      route: '/v1/tickets',
    });
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request was refused (FST_ERR_VALIDATION).',
    });
  });
});

describe('requests Node refuses, on a listening server', () => {
  let running: RunningHttpApi | undefined;
  let url: string;

  beforeAll(async () => {
    running = await startHttpApi({ ...deps, host: '127.0.0.1', port: 0 });
    url = running.url;
  });

  afterAll(async () => {
    await running?.close();
  });

  it('answers a request that is not valid HTTP with a 400 problem (clientError)', async () => {
    for (const text of [
      `GET /v1/tickets HTTP/1.1\r\nHost: a\r\nName ${ID_NUMBER}\r\n\r\n`,
      `GET /v1/tickets/${ID_NUMBER} HTTP/9.9\r\n\r\n`,
      'HELLO\r\n\r\n',
    ]) {
      const answer = parseRaw(await rawExchange(url, text));
      expectProblem(answer, 400, 'malformed-request', [ID_NUMBER]);
      expect(answer.headers.connection).toBe('close');
    }
  });

  it('answers headers over the limit with a 431 problem (HPE_HEADER_OVERFLOW)', async () => {
    const text = `GET /v1/tickets HTTP/1.1\r\nHost: a\r\nX-Pad: ${ID_NUMBER.repeat(2000)}\r\n\r\n`;
    const answer = parseRaw(await rawExchange(url, text));
    expectProblem(answer, 431, 'headers-too-large', [ID_NUMBER]);
  });

  it('still answers a path that is not valid percent-encoding with a 400 problem', async () => {
    const text = 'GET /v1/tickets/%E0%A4%A HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    expectProblem(parseRaw(await rawExchange(url, text)), 400, 'malformed-request', ['%E0']);
  });
});

describe('a server shutting down', () => {
  it('answers a request that arrives on an open connection with a 503 problem and Retry-After', async () => {
    // what startHttpApi does (build, listen; close is the app's), with two hooks of the test's own
    // that tell when the server holds the first request and when it has begun to close
    const app = buildHttpApi(deps);
    let reached!: () => void;
    const firstRequestReached = new Promise<void>((resolve) => (reached = resolve));
    let began!: () => void;
    const closingBegan = new Promise<void>((resolve) => (began = resolve));
    app.addHook('onRequest', (_request, _reply, done) => {
      reached();
      done();
    });
    // after the API's own preClose hook (hooks run in the order they were added)
    app.addHook('preClose', (done) => {
      began();
      done();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.on('connect', resolve));
    const body = '{"TicketId":"shutdown-1"}';
    const head = (length: number) =>
      `POST /v1/tickets HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // the first request is in flight (its body half sent) when the server starts closing
    socket.write(head(body.length) + body.slice(0, 5));
    await within('the first request reaches the server', firstRequestReached, 5000);
    const closing = app.close();
    await within('the server begins to close', closingBegan, 5000);
    socket.write(body.slice(5) + head(2) + '{}');
    await within('the server closes the connection', closed, 5000);
    socket.destroy();
    await closing;

    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(2);
    expect(received.slice(0, received.indexOf('\r\n'))).toBe('HTTP/1.1 422 Unprocessable Entity');
    const answer = parseRaw(received);
    expectProblem(answer, 503, 'shutting-down');
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.headers.connection).toBe('close');
  });
});
