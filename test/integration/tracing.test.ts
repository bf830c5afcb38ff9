/**
 * OpenTelemetry tracing (`src/ops/tracing.ts`): off without an OTLP endpoint (no SDK, the API's
 * no-op tracer, no BullMQ telemetry, jobs carry nothing); exported over OTLP/HTTP to a receiver
 * on loopback when one is set, flushed on shutdown; and, through an in-memory exporter, one trace
 * per ticket from intake through BullMQ, the run, the Cloudauth calls and the OSS upload to the
 * webhook delivery, with no personal data or secret in any attribute.
 *
 * The suites run in this order: the global provider is registered by the later ones only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SpanStatusCode,
  context,
  propagation,
  trace,
  type AttributeValue,
} from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
import {
  ATTR,
  TRACING_OFF,
  inSpan,
  startTracing,
  tracesEndpointOf,
  tracingOn,
} from '../../src/ops/tracing.js';
import { startRole } from '../../src/roles/roles.js';
import { smallJpeg } from '../support/images.js';
import { deleteKeys, redisEnv, testRedis } from '../support/redis.js';
import { TEST_KEY_SECRET } from '../support/emulator.js';
import {
  aBinding,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const NAME = '李三';
const ID_NUMBER = '11010519491231002X';

/** A span the API's tracer makes now: recording only when a provider is registered. */
function probe(): { recording: boolean; valid: boolean } {
  const span = trace.getTracer('probe').startSpan('probe');
  const seen = {
    recording: span.isRecording(),
    valid: trace.isSpanContextValid(span.spanContext()),
  };
  span.end();
  return seen;
}

/** A loopback HTTP server recording the bodies POSTed to it (an OTLP or webhook receiver). */
async function receiver(
  status: number,
): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      bodies.push(
        (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'),
      );
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? '' : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
  };
}

describe('tracing off (no OTLP endpoint)', () => {
  it('reads the endpoint variables as the specification says and refuses a non-URL', () => {
    expect(tracesEndpointOf({})).toBeUndefined();
    expect(tracesEndpointOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracesEndpointOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      }),
    ).toBe('https://traces.example/otlp');
    expect(() => tracesEndpointOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      ConfigError,
    );
    // the error names the variable, never the value (it may hold a token)
    expect(() =>
      tracesEndpointOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://secret-token@c' }),
    ).toThrow(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http/);
  });

  it('registers no SDK, gives BullMQ no telemetry, and the jobs carry no trace context', async () => {
    expect(await startTracing({ OTEL_SERVICE_NAME: 'x' }, 'worker')).toBe(TRACING_OFF);
    expect(
      await startTracing(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' },
        'worker',
      ),
    ).toBe(TRACING_OFF);
    expect(probe()).toEqual({ recording: false, valid: false });

    const o = await startTestOrchestrator();
    try {
      // the OTEL_* variables are the specification's, not settings: never refused as misspelt
      expect(() =>
        loadConfig({
          ...o.env,
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
          OTEL_SERVICE_NAME: 'svc',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        }),
      ).not.toThrow();
      expect(o.app.queue.opts.telemetry).toBeUndefined();
      expect(o.app.webhookQueue.opts.telemetry).toBeUndefined();
      expect(o.app.worker?.worker.opts.telemetry).toBeUndefined();
      expect(o.app.webhookWorker?.worker.opts.telemetry).toBeUndefined();
      const face = await smallJpeg('#6b4e3a');
      await o.app.intake.enqueue({ ticketId: 'untraced', biz: 'RPMin', binding: aBinding(face) });
      const job = await o.app.queue.getJob(jobIdOf('untraced'));
      expect(job?.opts.telemetry).toBeUndefined();
      expect((await o.waitFor('untraced')).state).toBe('passed');
      expect(probe()).toEqual({ recording: false, valid: false });
    } finally {
      await o.close();
    }
  });
});

describe('tracing on: OTLP over HTTP', () => {
  it('exports spans to the endpoint, named for the role, flushed by shutdown', async () => {
    const collector = await receiver(200);
    const tracing = await startTracing(
      { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/` },
      'worker',
    );
    try {
      expect(tracing.enabled).toBe(true);
      expect(tracing.queueTelemetry).toBeDefined();
      expect(probe()).toMatchObject({ recording: true, valid: true });
      await inSpan('exported-span', { attributes: { [ATTR.ticketId]: 'otlp-1' } }, () =>
        Promise.resolve(),
      );
      // batched: nothing need have left yet; shutdown flushes
      await tracing.shutdown();
      const sent = collector.bodies.join('\n');
      expect(sent).toContain('exported-span');
      expect(sent).toContain('cloudauth-orchestrator-worker');
      expect(sent).toContain('otlp-1');
      // and the global provider is gone again
      expect(probe()).toEqual({ recording: false, valid: false });
    } finally {
      await tracing.shutdown();
      collector.server.close();
    }
  });

  it('the api role traces its intake and flushes the spans when it closes', async () => {
    const collector = await receiver(200);
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const stagingDir = mkdtempSync(join(tmpdir(), `${prefix}-staging-`));
    const token = 'tracing-test-token-0123456789abcdef';
    try {
      const role = await startRole('api', {
        ...redisEnv(),
        REDIS_PREFIX: prefix,
        ORCHESTRATOR_MODE: 'embedded',
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        API_TOKENS: token,
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        CLOUDAUTH_BIZ: TEST_BIZ,
        STAGING_DIR: stagingDir,
        LOG_LEVEL: 'silent',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
      });
      let closed = false;
      try {
        const created = await fetch(`${role.opsUrl}/v1/tickets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            TicketId: 'role-traced',
            Biz: 'RPH5BioOnly',
            Binding: { Name: NAME, IdentificationNumber: ID_NUMBER },
          }),
        });
        expect(created.status).toBe(202);
        await role.close();
        closed = true;
      } finally {
        if (!closed) await role.close();
      }
      // the close flushed the batch: the intake and BullMQ's add, under the role's service name
      const sent = collector.bodies.join('\n');
      expect(sent).toContain('ticket.intake');
      expect(sent).toContain('add tickets.ticket');
      expect(sent).toContain('role-traced');
      expect(sent).toContain('cloudauth-orchestrator-api');
      expect(sent).not.toContain(NAME);
      expect(sent).not.toContain(ID_NUMBER);
      expect(probe()).toEqual({ recording: false, valid: false });
    } finally {
      collector.server.close();
      await deleteKeys(testRedis(), [`${prefix}:*`, `{${prefix}:q}:*`]);
      rmSync(stagingDir, { recursive: true, force: true });
    }
  });
});

describe('tracing on: one trace per ticket', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  let o: TestOrchestrator;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let face: Buffer;

  beforeAll(async () => {
    provider.register();
    face = await smallJpeg('#7a5b3e');
    hooks = await receiver(204);
    o = await startTestOrchestrator({
      tracing: tracingOn(),
      env: {
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        CLOUDAUTH_BIZ: `${TEST_BIZ},FaceServer=financial:ID_MIN:1000000007:precheck`,
      },
    });
  });
  afterAll(async () => {
    await o.close();
    hooks.server.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  const spans = () => exporter.getFinishedSpans();
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  const childrenOf = (all: readonly ReadableSpan[], s: ReadableSpan) =>
    all
      .filter((c) => parentOf(c) === s.spanContext().spanId)
      .sort((a, b) => hrMs(a.startTime) - hrMs(b.startTime));
  const hrMs = ([s, ns]: [number, number]) => s * 1e3 + ns / 1e6;

  /** The spans of the trace whose intake span names `ticketId`. */
  const traceOf = (ticketId: string): ReadableSpan[] => {
    const intake = spans().find(
      (s) => s.name === 'ticket.intake' && s.attributes[ATTR.ticketId] === ticketId,
    );
    if (!intake) return [];
    return spans().filter((s) => s.spanContext().traceId === intake.spanContext().traceId);
  };

  /** The trace as an indented tree of names (with a few attributes), for the eye and docs/reference/tracing.md. */
  const render = (all: readonly ReadableSpan[], s: ReadableSpan, depth = 0): string[] => {
    const shown = [ATTR.outcome, ATTR.runOutcome, ATTR.eventType, ATTR.httpStatus, ATTR.uploadBytes]
      .filter((k) => s.attributes[k] !== undefined)
      .map((k) => `${k.replace(/^.*\./, '')}=${String(s.attributes[k])}`);
    return [
      `${'  '.repeat(depth)}${s.name}${shown.length ? `  (${shown.join(', ')})` : ''}`,
      ...childrenOf(all, s).flatMap((c) => render(all, c, depth + 1)),
    ];
  };

  /** Waits until the ticket's trace holds a webhook delivery of `eventType` and every run ended. */
  async function completeTrace(ticketId: string, eventType: string): Promise<ReadableSpan[]> {
    await waitUntil(
      `the trace of ${ticketId} is complete`,
      async () => {
        if ((await o.app.queue.getJobState(jobIdOf(ticketId))) !== 'completed') return false;
        const all = traceOf(ticketId);
        const delivered = all.find(
          (s) => s.name === 'webhook.deliver' && s.attributes[ATTR.eventType] === eventType,
        );
        const processed = all.filter((s) => s.name === 'process webhooks');
        const settled = all.find(
          (s) => s.name === 'ticket.run' && s.attributes[ATTR.runOutcome] === 'settled',
        );
        return (
          delivered !== undefined &&
          processed.some((p) => p.spanContext().spanId === parentOf(delivered)) &&
          settled !== undefined &&
          all.some(
            (p) => p.name === 'process tickets' && p.spanContext().spanId === parentOf(settled),
          )
        );
      },
      { timeoutMs: 15_000 },
    );
    return traceOf(ticketId);
  }

  /** Checks the tree of one ticket's trace; answers its rendering. */
  function checkTree(all: readonly ReadableSpan[], ticketId: string, calls: string[]): string {
    const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
    const parent = (s: ReadableSpan) => byId.get(parentOf(s) ?? '');
    const [root, ...rest] = all.filter((s) => parent(s) === undefined);
    // one root: the intake, with no parent at all
    expect(rest.map((s) => s.name)).toEqual([]);
    expect(root?.name).toBe('ticket.intake');
    expect(root?.parentSpanContext).toBeUndefined();
    expect(root?.attributes[ATTR.ticketId]).toBe(ticketId);
    const add = all.filter((s) => s.name === 'add tickets.ticket');
    expect(add.map((s) => parent(s)?.name)).toEqual(['ticket.intake']);
    const runs = all.filter((s) => s.name === 'ticket.run');
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(parent(run)?.name).toBe('process tickets');
      expect(parent(parent(run) as ReadableSpan)?.name).toBe('add tickets.ticket');
      expect(run.attributes[ATTR.ticketId]).toBe(ticketId);
    }
    // every provider call and upload is a child of a run
    for (const name of calls) {
      const call = all.find((s) => s.name === name);
      expect(call, name).toBeDefined();
      expect(parent(call as ReadableSpan)?.name, name).toBe('ticket.run');
      expect(call?.attributes[ATTR.outcome], name).toBe('ok');
    }
    // the webhook: published in a run, delivered by the webhooks worker, same trace
    const deliver = all.find(
      (s) => s.name === 'webhook.deliver' && s.attributes[ATTR.eventType] === 'ticket.passed',
    ) as ReadableSpan;
    expect(parent(deliver)?.name).toBe('process webhooks');
    const published = parent(parent(deliver) as ReadableSpan);
    expect(published?.name).toBe('add webhooks.ticket.passed');
    expect(parent(published as ReadableSpan)?.name).toBe('ticket.run');
    expect(deliver.attributes[ATTR.httpStatus]).toBe(204);
    return render(all, root as ReadableSpan).join('\n');
  }

  /** Every attribute value of every span (events' and links' too), as text. */
  const attributeTexts = (all: readonly ReadableSpan[]): string[] => {
    const text = (v: AttributeValue | undefined) => (Array.isArray(v) ? v.join(' ') : String(v));
    return all.flatMap((s) => [
      s.name,
      s.status.message ?? '',
      ...Object.values(s.attributes).map(text),
      ...s.events.flatMap((e) => [e.name, ...Object.values(e.attributes ?? {}).map(text)]),
      ...s.links.flatMap((l) => Object.values(l.attributes ?? {}).map(text)),
      ...Object.values(s.resource.attributes).map(text),
    ]);
  };

  const noPersonalData = (all: readonly ReadableSpan[]) => {
    const texts = attributeTexts(all);
    expect(texts.length).toBeGreaterThan(all.length);
    for (const secret of [
      NAME,
      ID_NUMBER,
      TEST_KEY_SECRET,
      hooks.url,
      '/hooks',
      'oss://',
      face.toString('base64').slice(0, 24),
      o.stagingDir,
    ]) {
      expect(texts.filter((t) => t.includes(secret))).toEqual([]);
    }
  };

  it('a legacy server-flow ticket (RPMin): intake → BullMQ → run → calls and upload → webhook', async () => {
    await o.app.intake.enqueue({
      ticketId: 'traced-rpmin',
      biz: 'RPMin',
      binding: aBinding(face, NAME, ID_NUMBER),
      callbackUrl: `${hooks.url}/hooks`,
    });
    expect((await o.waitFor('traced-rpmin')).state).toBe('passed');
    const all = await completeTrace('traced-rpmin', 'ticket.passed');
    const tree = checkTree(all, 'traced-rpmin', [
      'Cloudauth/GetVerifyToken',
      'OSS/PutObject',
      'Cloudauth/SubmitMaterials',
    ]);
    // the job carries its trace's context (W3C traceparent, as bullmq-otel writes it)
    const job = await o.app.queue.getJob(jobIdOf('traced-rpmin'));
    expect(job?.opts.telemetry?.metadata).toMatch(/"traceparent":"00-[0-9a-f]{32}-/);
    const upload = all.find((s) => s.name === 'OSS/PutObject');
    expect(upload?.attributes[ATTR.uploadBytes]).toBeGreaterThan(0);
    noPersonalData(all);
    if (process.env.PRINT_TRACE) process.stdout.write(`${tree}\n`);
  });

  it('a financial-grade ID_MIN ticket: Id2MetaVerify and ContrastFaceVerify in its run', async () => {
    await o.app.intake.enqueue({
      ticketId: 'traced-idmin',
      biz: 'FaceServer',
      binding: aBinding(face, NAME, ID_NUMBER),
      callbackUrl: `${hooks.url}/hooks`,
    });
    expect((await o.waitFor('traced-idmin')).state).toBe('passed');
    const all = await completeTrace('traced-idmin', 'ticket.passed');
    const tree = checkTree(all, 'traced-idmin', [
      'Cloudauth/Id2MetaVerify',
      'Cloudauth/ContrastFaceVerify',
    ]);
    expect(
      all.find((s) => s.name === 'Cloudauth/ContrastFaceVerify')?.attributes[ATTR.httpStatus],
    ).toBe(200);
    noPersonalData(all);
    if (process.env.PRINT_TRACE) process.stdout.write(`${tree}\n`);
    // the two tickets' traces are apart
    const ids = new Set([...traceOf('traced-rpmin'), ...all].map((s) => s.spanContext().traceId));
    expect(ids.size).toBe(2);
  });

  it('a failed provider call: the call and the run marked with the error code, then a retry', async () => {
    o.emu.cloudauth.setFaults({ GetVerifyToken: { internalErrorRate: 1 } });
    try {
      await o.app.intake.enqueue({
        ticketId: 'traced-retry',
        biz: 'RPMin',
        binding: aBinding(face, NAME, ID_NUMBER),
      });
      await waitUntil('a run failed on GetVerifyToken', () =>
        traceOf('traced-retry').some(
          (s) => s.name === 'ticket.run' && s.attributes[ATTR.runOutcome] === 'retry',
        ),
      );
    } finally {
      o.emu.cloudauth.setFaults({});
    }
    expect((await o.waitFor('traced-retry')).state).toBe('passed');
    const all = traceOf('traced-retry');
    const call = all.find(
      (s) => s.name === 'Cloudauth/GetVerifyToken' && s.attributes[ATTR.outcome] !== 'ok',
    );
    expect(call?.attributes).toMatchObject({
      [ATTR.outcome]: 'PROVIDER_INTERNAL',
      [ATTR.httpStatus]: 500,
      [ATTR.errorType]: 'PROVIDER_INTERNAL',
    });
    expect(call?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'PROVIDER_INTERNAL' });
    const failed = all.find(
      (s) => s.name === 'ticket.run' && s.attributes[ATTR.runOutcome] === 'retry',
    );
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes[ATTR.errorType]).toBe('PROVIDER_INTERNAL');
    // the retry runs in the same trace, under the same add
    expect(all.filter((s) => s.name === 'add tickets.ticket')).toHaveLength(1);
    await waitUntil('the retry settled in the same trace', () =>
      traceOf('traced-retry').some(
        (s) => s.name === 'ticket.run' && s.attributes[ATTR.runOutcome] === 'settled',
      ),
    );
    noPersonalData(traceOf('traced-retry'));
  });

  it('a batch: each ticket a trace of its own, linked to the intake call', async () => {
    const tickets = ['traced-batch-1', 'traced-batch-2'];
    const batchId = 'b-traced';
    await o.app.intake.enqueueMany(
      tickets.map((ticketId) => ({
        ticketId,
        biz: 'RPMin',
        batchId,
        binding: aBinding(face, NAME, ID_NUMBER),
      })),
    );
    for (const id of tickets) expect((await o.waitFor(id)).state).toBe('passed');
    const intake = spans().find(
      (s) => s.name === 'ticket.intake' && s.attributes[ATTR.ticketCount] === 2,
    ) as ReadableSpan;
    expect(intake).toBeDefined();
    const roots = spans().filter(
      (s) => s.name === 'ticket.enqueue' && tickets.includes(String(s.attributes[ATTR.ticketId])),
    );
    expect(roots).toHaveLength(2);
    for (const root of roots) {
      expect(root.parentSpanContext).toBeUndefined();
      expect(root.spanContext().traceId).not.toBe(intake.spanContext().traceId);
      expect(root.links.map((l) => l.context.spanId)).toEqual([intake.spanContext().spanId]);
      await waitUntil('the batch ticket ran in its own trace', () =>
        spans().some(
          (s) =>
            s.name === 'ticket.run' &&
            s.spanContext().traceId === root.spanContext().traceId &&
            s.attributes[ATTR.runOutcome] === 'settled',
        ),
      );
    }
    noPersonalData(spans());
  });
});
