/**
 * Metrics and health over a running orchestrator: real Redis, BullMQ workers and the HTTP API in
 * process, the emulators on loopback. `/metrics` is parsed line by line as Prometheus text.
 */
import { createServer } from 'node:net';
import { Queue } from 'bullmq';
import fastify from 'fastify';
import { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerAuth } from '../../src/api/auth.js';
import { installProblemHandlers } from '../../src/api/problems.js';
import { HealthCheck } from '../../src/ops/health.js';
import { Telemetry } from '../../src/ops/metrics.js';
import { opsRoutes, type OpsRoutesOptions } from '../../src/api/ops-routes.js';
import { oldestWaitingAgeSeconds } from '../../src/adapters/bullmq/queue-stats.js';
import { bullPrefix } from '../../src/adapters/bullmq/queues.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const TOKEN = 'metrics-test-token-0123456789';
const P = 'cloudauth_orchestrator_';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const m = LABEL.exec(rest);
    if (!m?.[1] || m[2] === undefined) throw new Error(`bad labels: ${line}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value: ${line}`);
  return Number(text);
}

/** Prometheus text format 0.0.4, strictly: HELP and TYPE before samples, every sample typed. */
function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name = '', rest = ''] = comment;
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`bad type: ${line}`);
        if (types.has(name)) throw new Error(`second TYPE: ${line}`);
        types.set(name, rest);
      }
      continue;
    }
    if (line.startsWith('#')) throw new Error(`bad comment: ${line}`);
    const m = SAMPLE.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`bad sample: ${line}`);
    const name = m[1];
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    if (family === undefined) throw new Error(`sample without TYPE: ${line}`);
    const type = types.get(family);
    if (family !== name && type !== 'histogram' && type !== 'summary') {
      throw new Error(`suffixed sample of a ${type}: ${line}`);
    }
    samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3], line) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

let o: TestOrchestrator;
let face: Buffer;

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${o.app.apiUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

function opsServer(options: OpsRoutesOptions) {
  const app = fastify();
  installProblemHandlers(app);
  app.addHook('onRequest', bearerAuth([TOKEN], new Set()));
  void app.register(opsRoutes, options);
  return app;
}

beforeAll(async () => {
  face = await smallJpeg('#7a5c43');
  o = await startTestOrchestrator({ workers: true, http: true, env: { API_TOKENS: TOKEN } });
});
afterAll(async () => {
  await o.close();
});

describe('GET /metrics', () => {
  it('serves strict Prometheus text, without a token, with process and queue metrics', async () => {
    const samples = await scrape();
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === `${P}tickets` && s.labels.state === 'queued')).toBe(true);
    for (const queue of ['tickets', 'webhooks']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
        expect(
          samples.some(
            (s) =>
              s.name === `${P}queue_jobs` && s.labels.queue === queue && s.labels.state === state,
          ),
          `${queue} ${state}`,
        ).toBe(true);
      }
      expect(valueOf(samples, `${P}queue_oldest_waiting_age_seconds`, { queue })).toBe(0);
    }
    const api = await fetch(`${o.app.apiUrl}/v1/tickets?limit=1`);
    expect(api.status).toBe(401);
  });

  it('moves as tickets flow: states, transitions, provider calls and their durations', async () => {
    const before = await scrape();
    const ids = ['m-1', 'm-2', 'm-3'];
    for (const ticketId of ids) {
      await o.app.intake.enqueue({ ticketId, biz: 'RPMin', binding: aBinding(face) });
    }
    for (const ticketId of ids) expect((await o.waitFor(ticketId)).state).toBe('passed');
    // A ticket is passed before BullMQ moves its job to `completed`: wait for the queue too.
    await waitUntil(
      'three jobs completed',
      async () => ((await o.app.queue.getJobCounts('completed')).completed ?? 0) >= 3,
      { timeoutMs: 5000 },
    );
    const after = await scrape();
    const grew = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    expect(grew(`${P}tickets`, { state: 'passed' })).toBe(3);
    expect(grew(`${P}transitions_total`)).toBeGreaterThanOrEqual(6);
    expect(grew(`${P}transitions_total`, { from: 'queued', to: 'token_issued' })).toBe(3);
    expect(
      valueOf(after, `${P}provider_calls_total`, { action: 'GetVerifyToken', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      valueOf(after, `${P}provider_calls_total`, { action: 'PutObject', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(3);
    expect(grew(`${P}provider_call_duration_seconds_count`)).toBeGreaterThanOrEqual(9);
    expect(
      valueOf(after, `${P}provider_call_duration_seconds_bucket`, {
        action: 'GetVerifyToken',
        le: '+Inf',
      }),
    ).toBe(
      valueOf(after, `${P}provider_call_duration_seconds_count`, { action: 'GetVerifyToken' }),
    );
    expect(
      valueOf(after, `${P}queue_jobs`, { queue: 'tickets', state: 'completed' }),
    ).toBeGreaterThanOrEqual(3);
  });

  it('counts a retried InternalError by its code', async () => {
    o.emu.cloudauth.setFaults({ GetVerifyToken: { internalErrorRate: 1 } });
    try {
      await o.app.intake.enqueue({ ticketId: 'm-retry', biz: 'RPMin', binding: aBinding(face) });
      await o.waitFor('m-retry', (t) => t.attempts >= 1);
    } finally {
      o.emu.cloudauth.setFaults({});
    }
    expect((await o.waitFor('m-retry')).state).toBe('passed');
    const samples = await scrape();
    expect(
      valueOf(samples, `${P}retries_total`, { code: 'PROVIDER_INTERNAL' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(samples, `${P}provider_calls_total`, {
        action: 'GetVerifyToken',
        outcome: 'PROVIDER_INTERNAL',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts HTTP requests by method, route pattern and status, never by the path asked for', async () => {
    const ticketId = `m-http-${Date.now()}`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${o.app.apiUrl}/v1/tickets/${ticketId}`, { headers })).status).toBe(404);
    expect((await fetch(`${o.app.apiUrl}/v1/tickets/${ticketId}/x`, { headers })).status).toBe(404);
    expect((await fetch(`${o.app.apiUrl}/v1/tickets/${ticketId}`)).status).toBe(401);
    expect((await fetch(`${o.app.apiUrl}/healthz`)).status).toBe(200);
    const res = await fetch(`${o.app.apiUrl}/metrics`);
    const text = await res.text();
    const samples = parseExposition(text);
    const requests = (route: string, status: string) =>
      valueOf(samples, `${P}http_requests_total`, { method: 'GET', route, status });
    expect(requests('/v1/tickets/:id', '404')).toBeGreaterThanOrEqual(1);
    expect(requests('/v1/tickets/:id', '401')).toBeGreaterThanOrEqual(1);
    expect(requests('(unmatched)', '404')).toBeGreaterThanOrEqual(1);
    expect(requests('/healthz', '200')).toBeGreaterThanOrEqual(1);
    const ticketRoute = { method: 'GET', route: '/v1/tickets/:id', status: '404' };
    expect(
      valueOf(samples, `${P}http_request_duration_seconds_bucket`, { ...ticketRoute, le: '+Inf' }),
    ).toBe(valueOf(samples, `${P}http_request_duration_seconds_count`, ticketRoute));
    expect(valueOf(samples, `${P}http_request_duration_seconds_sum`, ticketRoute)).toBeGreaterThan(
      0,
    );
    // no sample of either names a path
    const routes = samples
      .filter((s) => s.name.startsWith(`${P}http_request`))
      .map((s) => s.labels.route);
    for (const route of routes)
      expect(route === '(unmatched)' || route?.startsWith('/')).toBe(true);
    expect(text).not.toContain(ticketId);
  });

  it('asks for the bearer token when METRICS_AUTH is set, never for the probes', async () => {
    const app = opsServer({ telemetry: new Telemetry(), metricsAuth: true });
    try {
      expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
      const ok = await app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain(`# TYPE ${P}token_renewals_total counter`);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('GET /healthz and /readyz', () => {
  it('answers 200 while the process is alive and ready', async () => {
    const live = await fetch(`${o.app.apiUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${o.app.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { redis: 'ok', workers: 'ok' },
    });
  });

  it('answers 503 naming redis when Redis does not answer', async () => {
    const dead = new Redis(`redis://127.0.0.1:${await closedPort()}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    const health = new HealthCheck({
      redis: dead,
      workers: { tickets: o.app.worker?.worker },
      timeoutMs: 500,
    });
    const app = opsServer({ health });
    try {
      const res = await app.inject({ url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: 'unavailable',
        checks: { redis: 'fail', workers: 'ok' },
      });
    } finally {
      await app.close();
      dead.disconnect();
    }
  });

  it('spells a NaN sample NaN, as the exposition format does (prom-client writes Nan)', async () => {
    const telemetry = new Telemetry({ defaultMetrics: false });
    new Gauge({ name: 'test_not_a_number', help: 'NaN', registers: [telemetry.registry] }).set(NaN);
    const text = await telemetry.metrics();
    expect(text).toMatch(/^test_not_a_number NaN$/m);
    expect(Number.isNaN(valueOf(parseExposition(text), 'test_not_a_number', {}))).toBe(true);
  });

  it('stays ready under a backlog older than the old 300 s threshold; the age is a metric', async () => {
    const idle = new Queue('idle', { connection: o.app.redis, prefix: bullPrefix(o.prefix) });
    try {
      const hourAgo = Date.now() - 3_600_000;
      await idle.add('a', { n: 1 }, { timestamp: hourAgo });
      await idle.add('b', { n: 2 });
      expect(await oldestWaitingAgeSeconds(idle, Date.now())).toBeGreaterThanOrEqual(3600);

      const telemetry = new Telemetry({ defaultMetrics: false });
      telemetry.observe({ queues: { idle } });
      const samples = parseExposition(await telemetry.metrics());
      expect(valueOf(samples, `${P}queue_jobs`, { queue: 'idle', state: 'waiting' })).toBe(2);
      expect(
        valueOf(samples, `${P}queue_oldest_waiting_age_seconds`, { queue: 'idle' }),
      ).toBeGreaterThanOrEqual(3600);

      const app = opsServer({
        health: new HealthCheck({ redis: o.app.redis, workers: { tickets: o.app.worker?.worker } }),
      });
      try {
        const res = await app.inject({ url: '/readyz' });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ status: 'ok', checks: { redis: 'ok', workers: 'ok' } });
      } finally {
        await app.close();
      }
    } finally {
      await idle.obliterate({ force: true });
      await idle.close();
    }
  });
});
