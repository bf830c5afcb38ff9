/**
 * Webhook deliveries over loopback, from the real worker to real HTTP receivers: signed the
 * Standard Webhooks way (checked with the official `standardwebhooks` package, and by
 * test/fixtures/standard-webhooks/verify.py, a verifier written from the specification with
 * Python's standard library), the secrets rotated, per-host secrets, the legacy header only when
 * enabled; retries, dead letters, the callback policy and DNS rebinding.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer as createTlsServer } from 'node:tls';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackPolicy, HostLookup } from '../../src/webhooks/allowlist.js';
import { replayDeadLetters } from '../../src/webhooks/dead-letters.js';
import {
  webhookEventId,
  type WebhookEvent,
  type WebhookEventType,
} from '../../src/webhooks/events.js';
import {
  WEBHOOK_QUEUE,
  WebhookPublisher,
  sealedPageUrlAad,
  webhookJobId,
  webhookJobOptions,
  type WebhookJobData,
} from '../../src/webhooks/publisher.js';
import type { WebhookSigningSettings } from '../../src/webhooks/secret.js';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/webhooks/signature.js';
import { startWebhookWorker, type RunningWebhookWorker } from '../../src/webhooks/worker.js';
import { bullPrefix } from '../../src/adapters/bullmq/queues.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { waitUntil } from '../../testkit/waiting.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const SECRET = whsec();
const logger = pino({ level: 'silent' });
const VERIFY_PY = fileURLToPath(
  new URL('../fixtures/standard-webhooks/verify.py', import.meta.url),
);

interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Verified with {@link SECRET} by the official `standardwebhooks` package. */
  verified: boolean;
  status: number;
}

/** The Standard Webhooks headers of a delivery, as a receiver hands them to a verifier. */
function standardHeaders(d: Delivery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = d.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The official package's verdict on a delivery (the raw body, its headers) under `secret`. */
function officialVerifies(secret: string, d: Pick<Delivery, 'headers' | 'body'>): boolean {
  try {
    new Webhook(secret).verify(d.body, standardHeaders(d as Delivery));
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs test/fixtures/standard-webhooks/verify.py on a delivery: the headers as JSON, the raw body
 * on stdin, the secret in its environment; `now` replaces its clock. Answers its exit code (0
 * valid, 1 no signature matches, 2 timestamp outside the tolerance, 3 bad input) and output.
 */
function verifyPy(
  secret: string,
  d: Pick<Delivery, 'headers' | 'body'>,
  now?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [VERIFY_PY, JSON.stringify(standardHeaders(d as Delivery))];
  if (now !== undefined) args.push('--now', String(now));
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { env: { ...process.env, WEBHOOK_SECRET: secret } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(Buffer.from(d.body, 'utf8'));
  });
}

/** What the receiver answers to the n-th request (0-based); undefined: never answers. */
type Answer = (n: number) => { status: number; headers?: Record<string, string> } | undefined;

interface Receiver {
  url: string;
  deliveries: Delivery[];
  answer: Answer;
  ok(): Delivery[];
  close(): Promise<void>;
}

async function startReceiver(
  answer: Answer = () => ({ status: 200 }),
  at: { host?: string; port?: number; urlHost?: string } = {},
): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    deliveries: [],
    answer,
    ok: () => receiver.deliveries.filter((d) => d.status >= 200 && d.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = officialVerifies(SECRET, { headers: req.headers, body });
      const reply = receiver.answer(receiver.deliveries.length);
      const status = reply?.status ?? 0;
      receiver.deliveries.push({ at: Date.now(), headers: req.headers, body, verified, status });
      if (reply === undefined) return;
      res.writeHead(reply.status, reply.headers).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port ?? 0, at.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://${at.urlHost ?? at.host ?? '127.0.0.1'}:${port}/hooks?key=k1`;
  return receiver;
}

interface Harness {
  queue: Queue<WebhookJobData>;
  publisher: WebhookPublisher;
  worker: RunningWebhookWorker;
  /** The publisher's cipher (and the worker's, unless the test gave it another). */
  cipher: FieldCipher;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(
  options: {
    allowedHosts?: string[];
    /** Replaces `allowedHosts`. */
    policy?: CallbackPolicy;
    lookup?: HostLookup;
    attempts?: number;
    timeoutMs?: number;
    logger?: typeof logger;
    /** The worker's cipher (default: the publisher's). */
    workerCipher?: FieldCipher;
    /** The worker's signing settings (default: {@link SECRET} alone). */
    signing?: WebhookSigningSettings;
  } = {},
): Harness {
  const cipher = new FieldCipher(randomBytes(32));
  const prefix = `test-wh-${randomUUID().slice(0, 8)}`;
  const redis = testRedis('queue');
  const connection = testRedis('worker');
  const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
    connection: redis,
    prefix: bullPrefix(prefix),
  });
  const worker = startWebhookWorker({
    connection,
    prefix,
    ...(options.signing ?? { secret: SECRET }),
    cipher: options.workerCipher ?? cipher,
    policy: options.policy ?? { allowedHosts: options.allowedHosts ?? ['127.0.0.1'] },
    lookup: options.lookup,
    timeoutMs: options.timeoutMs ?? 2000,
    concurrency: 5,
    backoff: { baseMs: 50, capMs: 200 },
    logger: options.logger ?? logger,
  });
  cleanups.push(async () => {
    await worker.close(2000);
    await queue.close();
    connection.disconnect();
    await deleteKeys(redis, [`${bullPrefix(prefix)}:*`]);
  });
  const publisher = new WebhookPublisher({
    queue,
    attempts: options.attempts ?? 10,
    cipher,
    logger: options.logger ?? logger,
  });
  return { queue, publisher, worker, cipher };
}

async function receiver(
  answer?: Answer,
  at?: { host?: string; port?: number; urlHost?: string },
): Promise<Receiver> {
  const r = await startReceiver(answer, at);
  cleanups.push(() => r.close());
  return r;
}

/**
 * Two receivers on one port: `vetted` on 127.0.0.2, which the tests allow-list in the role of a
 * public address, and `internal` on 127.0.0.1, which stays refused (loopback). Both answer to
 * the URL `http://localhost:<port>/hooks?key=k1`; the system resolver answers 127.0.0.1 for
 * `localhost`, as a rebinding resolver would on its second query.
 */
async function receiverPair(answer?: Answer): Promise<{ vetted: Receiver; internal: Receiver }> {
  for (let tries = 0; ; tries++) {
    const vetted = await receiver(answer, { host: '127.0.0.2', urlHost: 'localhost' });
    const port = Number(new URL(vetted.url).port);
    try {
      const internal = await receiver(answer, { host: '127.0.0.1', port, urlHost: 'localhost' });
      return { vetted, internal };
    } catch (err) {
      if (tries >= 5 || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
    }
  }
}

/** Answers each query with the next answer, the last one for ever; counts the queries. */
function scriptedResolver(...answers: string[][]): HostLookup & { asked: string[] } {
  const asked: string[] = [];
  return Object.assign(
    (host: string) => {
      asked.push(host);
      return Promise.resolve(answers[Math.min(asked.length - 1, answers.length - 1)] ?? []);
    },
    { asked },
  );
}

function anEvent(ticketId: string, type: WebhookEventType = 'ticket.passed'): WebhookEvent {
  return {
    id: webhookEventId(ticketId, 4, type),
    type,
    schemaVersion: 1,
    ticketId,
    biz: 'RPBasic',
    family: 'legacy',
    outerOrderNo: null,
    state: type.slice('ticket.'.length),
    version: 4,
    occurredAt: new Date(1_760_000_000_000).toISOString(),
    verdict: { statusCode: 1, similarityScore: 92.5, trustedScore: 97.1 },
  };
}

async function stateOf(queue: Queue<WebhookJobData>, event: WebhookEvent) {
  return (await queue.getJob(webhookJobId(event.id)))?.getState();
}

/**
 * True once the event's job has settled: delivered (`completed`) or dead-lettered (`failed`, which
 * BullMQ reaches only after the last attempt or an unrecoverable error). A settled job makes no
 * further delivery, so the receiver's record is then complete: no need to watch it for longer.
 */
async function settled(queue: Queue<WebhookJobData>, event: WebhookEvent): Promise<boolean> {
  const state = await stateOf(queue, event);
  return state === 'completed' || state === 'failed';
}

/** A `ticket.token_issued` event carrying a page URL. */
function aTokenIssuedEvent(ticketId: string, pageUrl: string): WebhookEvent {
  const event: WebhookEvent = {
    ...anEvent(ticketId, 'ticket.token_issued'),
    state: 'awaiting_user',
    pageUrl,
  };
  delete event.verdict;
  return event;
}

describe('webhook delivery', () => {
  it('delivers each of five events once, signed, with its event and delivery headers', async () => {
    const { publisher, queue } = start();
    const r = await receiver();
    const events = ['a', 'b', 'c', 'd', 'e'].map((x) => anEvent(`order:${x}`));
    for (const event of events) await publisher.publish(event, r.url);
    await waitUntil('five jobs delivered', async () => {
      const states = await Promise.all(events.map((e) => stateOf(queue, e)));
      return states.every((s) => s === 'completed');
    });
    expect(r.deliveries).toHaveLength(5);
    expect(r.deliveries.every((d) => d.verified)).toBe(true);
    const received = r.deliveries.map((d) => JSON.parse(d.body) as WebhookEvent);
    expect(received.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    for (const d of r.deliveries) {
      const event = JSON.parse(d.body) as WebhookEvent;
      expect(d.body).toBe(JSON.stringify(events.find((e) => e.id === event.id)));
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['user-agent']).toBe('cloudauth-orchestrator');
      expect(d.headers['x-cloudauth-orchestrator-event']).toBe('ticket.passed');
      expect(d.headers['x-cloudauth-orchestrator-delivery']).toBe(event.id);
      expect(d.headers['webhook-id']).toBe(event.id);
      expect(d.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
      expect(d.headers[SIGNATURE_HEADER]).toBeUndefined();
    }
  });

  it('logs outcomes without the callback URL, the page URL or the signature', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const { publisher, queue } = start({ logger: pino({ level: 'debug' }, sink) });
    const r = await receiver((n) => ({ status: n === 0 ? 503 : 200 }));
    const event: WebhookEvent = {
      ...anEvent('with-page', 'ticket.token_issued'),
      state: 'awaiting_user',
      pageUrl: 'https://h5.example.com/verify?token=bearer-page-token',
    };
    delete event.verdict;
    await publisher.publish(event, r.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(JSON.parse(r.ok()[0]?.body ?? '{}')).toEqual(event);
    const log = lines.join('');
    expect(log).toContain('webhook delivered');
    expect(log).toContain('will retry');
    expect(log).toContain(event.id);
    expect(log).not.toContain('bearer-page-token');
    expect(log).not.toContain('key=k1');
    expect(log).not.toContain('v1,');
    expect(log).not.toContain(r.deliveries[0]?.headers['webhook-signature']);
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(SECRET.slice('whsec_'.length));
    // the job kept in Redis holds the page URL only sealed
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.data.sealedPageUrl).toMatch(/^v\d/);
    expect(JSON.stringify(job?.data)).not.toContain('bearer-page-token');
    expect(job?.data.event.pageUrl).toBeUndefined();
  });

  it('dead-letters a token_issued event whose page URL no longer decrypts', async () => {
    const { publisher, queue } = start({ workerCipher: new FieldCipher(randomBytes(32)) });
    const r = await receiver();
    const event: WebhookEvent = {
      ...anEvent('rekeyed', 'ticket.token_issued'),
      state: 'awaiting_user',
      pageUrl: 'https://h5.example.com/verify?token=another-bearer-token',
    };
    delete event.verdict;
    await publisher.publish(event, r.url);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.failedReason).toContain('cannot be decrypted');
    expect(job?.failedReason).not.toContain('another-bearer-token');
    expect(job?.attemptsMade).toBe(1);
    expect(r.deliveries).toHaveLength(0);
  });

  it('opens a sealed page URL only under its own event id: moved to another event, it dead-letters', async () => {
    const { queue, cipher } = start();
    const r = await receiver();
    const pageUrl = 'https://h5.example.test/verify?token=bound-bearer-token';
    const own = aTokenIssuedEvent('sealed-own', pageUrl);
    const other = aTokenIssuedEvent('sealed-other', 'https://h5.example.test/unused');
    const sealed = cipher.encrypt(pageUrl, sealedPageUrlAad(own.id));
    // the same sealed value on its own event's job, and copied onto another event's job
    for (const event of [own, other]) {
      const { pageUrl: _, ...rest } = event;
      const data: WebhookJobData = { url: r.url, event: rest, sealedPageUrl: sealed };
      await queue.add(event.type, data, webhookJobOptions(event.id, 10));
    }
    await waitUntil('both jobs settled', async () => {
      const done = await Promise.all([settled(queue, own), settled(queue, other)]);
      return done.every(Boolean);
    });
    expect(await stateOf(queue, own)).toBe('completed');
    expect(await stateOf(queue, other)).toBe('failed');
    const job = await queue.getJob(webhookJobId(other.id));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('cannot be decrypted');
    expect(job?.failedReason).not.toContain('bound-bearer-token');
    expect(r.deliveries.map((d) => JSON.parse(d.body) as WebhookEvent)).toEqual([own]);
  });

  it('delivers an event published twice once', async () => {
    const { publisher, queue } = start();
    const r = await receiver();
    const event = anEvent('twice');
    await Promise.all([publisher.publish(event, r.url), publisher.publish(event, r.url)]);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    await publisher.publish(event, r.url);
    // the third publish added no job: the delivered one is the queue's only job, so no second
    // delivery can follow
    expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'completed')).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 1,
    });
    expect(r.deliveries).toHaveLength(1);
  });

  it('sends nothing without a callback URL or a default URL, and uses the default', async () => {
    const { queue } = start();
    const r = await receiver();
    const cipher = new FieldCipher(randomBytes(32));
    const none = new WebhookPublisher({ queue, attempts: 3, cipher, logger });
    await none.publish(anEvent('nowhere'), undefined);
    expect(await queue.count()).toBe(0);
    const withDefault = new WebhookPublisher({
      queue,
      attempts: 3,
      cipher,
      logger,
      defaultUrl: r.url,
    });
    await withDefault.publish(anEvent('default'), undefined);
    await waitUntil('delivery to the default URL', () => r.ok().length === 1);
  });

  it('retries 503 twice, then delivers exactly once', async () => {
    const { publisher, queue } = start();
    const r = await receiver((n) => ({ status: n < 2 ? 503 : 200 }));
    const event = anEvent('flaky');
    await publisher.publish(event, r.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(r.deliveries.map((d) => d.status)).toEqual([503, 503, 200]);
    expect(r.ok()).toHaveLength(1);
    expect(r.deliveries.every((d) => d.verified)).toBe(true);
    expect(
      new Set(r.deliveries.map((d) => d.headers['x-cloudauth-orchestrator-delivery'])),
    ).toEqual(new Set([event.id]));
    // webhook-id is the event id on every attempt; each attempt is signed at its own time
    expect(new Set(r.deliveries.map((d) => d.headers['webhook-id']))).toEqual(new Set([event.id]));
  });

  it('waits at least Retry-After after a 429', async () => {
    const { publisher, queue } = start();
    const r = await receiver((n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const event = anEvent('throttled');
    await publisher.publish(event, r.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    const [first, second] = r.deliveries;
    expect(r.deliveries.map((d) => d.status)).toEqual([429, 200]);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('retries a receiver that does not answer in time', async () => {
    const { publisher, queue } = start({ timeoutMs: 300 });
    const r = await receiver((n) => (n === 0 ? undefined : { status: 204 }));
    const event = anEvent('slow');
    await publisher.publish(event, r.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(r.deliveries.map((d) => d.status)).toEqual([0, 204]);
  });

  it('dead-letters a 400 after one attempt', async () => {
    const { publisher, queue } = start();
    const r = await receiver(() => ({ status: 400 }));
    const event = anEvent('refused');
    await publisher.publish(event, r.url);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    expect(r.deliveries).toHaveLength(1);
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/WEBHOOK_REJECTED/);
  });

  it.each([301, 302, 303, 307, 308])(
    'does not follow a %i to another address: it dead-letters at once',
    async (status) => {
      const { publisher, queue } = start({ allowedHosts: ['127.0.0.1', '127.0.0.2'] });
      const internal = await receiver();
      const r = await receiver(
        () => ({ status, headers: { location: internal.url.replace('?key=k1', '/admin') } }),
        { host: '127.0.0.2' },
      );
      const event = anEvent(`redirected-${status}`);
      await publisher.publish(event, r.url);
      await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
      expect(r.deliveries.map((d) => d.status)).toEqual([status]);
      expect(internal.deliveries).toHaveLength(0);
      const job = await queue.getJob(webhookJobId(event.id));
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/WEBHOOK_REJECTED.*redirects are not followed/);
    },
  );

  it('keeps a delivery that ran out of attempts as a dead letter, and replays it', async () => {
    const { publisher, queue } = start({ attempts: 3 });
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const event = anEvent('outage');
    await publisher.publish(event, r.url);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    expect(r.deliveries.map((d) => d.status)).toEqual([500, 500, 500]);
    expect((await queue.getFailed()).map((j) => j.id)).toEqual([webhookJobId(event.id)]);

    healthy = true;
    expect(await replayDeadLetters(queue, { ticketId: 'another' })).toBe(0);
    expect(await replayDeadLetters(queue, { ticketId: 'outage' })).toBe(1);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(r.ok()).toHaveLength(1);
    expect(await queue.getFailedCount()).toBe(0);
    expect(await replayDeadLetters(queue)).toBe(0);
  });

  it('refuses a callback to 127.0.0.1 without the allow list: dead-lettered, never called', async () => {
    const { publisher, queue } = start({ allowedHosts: [] });
    const r = await receiver();
    const event = anEvent('loopback');
    await publisher.publish(event, r.url);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    expect(r.deliveries).toHaveLength(0);
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/callbackUrl/);
    expect(job?.failedReason).not.toContain('key=k1');
  });
});

describe('Standard Webhooks signatures', () => {
  /** Waits for the event's job to complete; answers its one delivery. */
  async function deliveredOnce(
    harness: Harness,
    r: Receiver,
    event: WebhookEvent,
    url = r.url,
  ): Promise<Delivery> {
    await harness.publisher.publish(event, url);
    await waitUntil('completed', async () => (await stateOf(harness.queue, event)) === 'completed');
    expect(r.deliveries).toHaveLength(1);
    return r.deliveries[0] as Delivery;
  }

  it('verify with the official standardwebhooks package and with verify.py, written from the spec', async () => {
    const harness = start();
    const r = await receiver();
    const event: WebhookEvent = { ...anEvent('standard'), batchId: 'b-ü-张' };
    const d = await deliveredOnce(harness, r, event);
    expect(d.verified).toBe(true);
    expect(new Webhook(SECRET).verify(d.body, standardHeaders(d))).toEqual(event);
    expect(d.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    const valid = await verifyPy(SECRET, d);
    expect(valid.stderr).toBe('');
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout)).toEqual({ id: event.id, type: 'ticket.passed' });
    // a tampered body, another secret
    const tampered = { ...d, body: d.body.replace('"statusCode":1', '"statusCode":2') };
    expect(tampered.body).not.toBe(d.body);
    expect((await verifyPy(SECRET, tampered)).code).toBe(1);
    expect(officialVerifies(SECRET, tampered)).toBe(false);
    expect((await verifyPy(whsec(), d)).code).toBe(1);
    // the same delivery, judged later than the 5 minutes' tolerance, and just within it
    const sent = Number(d.headers['webhook-timestamp']);
    const late = await verifyPy(SECRET, d, sent + 301);
    expect(late.code).toBe(2);
    expect(late.stderr).toContain('outside the tolerance');
    expect((await verifyPy(SECRET, d, sent - 301)).code).toBe(2);
    expect((await verifyPy(SECRET, d, sent + 300)).code).toBe(0);
    // a timestamp moved forward to pass the clock check no longer matches the signature
    const moved = { ...d, headers: { ...d.headers, 'webhook-timestamp': String(sent + 1) } };
    expect((await verifyPy(SECRET, moved)).code).toBe(1);
  });

  it('sign with the previous secrets too while rotating: either secret verifies', async () => {
    const [current, previous, older] = [whsec(), whsec(), 'text-secret-of-an-earlier-version-0001'];
    const harness = start({ signing: { secret: current, previousSecrets: [previous, older] } });
    const r = await receiver();
    const d = await deliveredOnce(harness, r, anEvent('rotated'));
    expect(d.headers['webhook-signature']?.toString().split(' ')).toHaveLength(3);
    for (const secret of [current, previous]) {
      expect(officialVerifies(secret, d)).toBe(true);
      expect((await verifyPy(secret, d)).code).toBe(0);
    }
    // a text secret's key is its UTF-8 bytes: the official package takes them raw
    const raw = new Webhook(Buffer.from(older, 'utf8'), { format: 'raw' });
    expect(raw.verify(d.body, standardHeaders(d))).toEqual(anEvent('rotated'));
    expect(officialVerifies(SECRET, d)).toBe(false);
    expect(d.headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  it("sign a listed host's deliveries with its own secret only: host A's cannot verify host B's", async () => {
    const [a, b] = [whsec(), whsec()];
    const harness = start({
      signing: {
        secret: SECRET,
        previousSecrets: [whsec()],
        secretsByHost: { 'hooks-a.test': [a], 'hooks-b.test': [b] },
      },
      allowedHosts: ['hooks-a.test', 'hooks-b.test', '127.0.0.1'],
      lookup: scriptedResolver(['127.0.0.1']),
    });
    const ra = await receiver(undefined, { urlHost: 'hooks-a.test' });
    const rb = await receiver(undefined, { urlHost: 'hooks-b.test' });
    const rDefault = await receiver();
    const [da, db, dd] = await Promise.all([
      deliveredOnce(harness, ra, anEvent('to-a')),
      deliveredOnce(harness, rb, anEvent('to-b')),
      deliveredOnce(harness, rDefault, anEvent('to-default')),
    ]);
    expect(da.headers.host).toMatch(/^hooks-a\.test:/);
    expect(da.headers['webhook-signature']?.toString().split(' ')).toHaveLength(1);
    expect(officialVerifies(a, da)).toBe(true);
    expect((await verifyPy(a, da)).code).toBe(0);
    expect(officialVerifies(b, db)).toBe(true);
    // neither host's secret verifies the other's deliveries, nor the default's
    expect(officialVerifies(a, db)).toBe(false);
    expect((await verifyPy(a, db)).code).toBe(1);
    expect(officialVerifies(b, da)).toBe(false);
    expect(officialVerifies(a, dd)).toBe(false);
    // nor does the default secret verify a listed host's
    expect(officialVerifies(SECRET, da)).toBe(false);
    expect(dd.verified).toBe(true);
    expect(dd.headers['webhook-signature']?.toString().split(' ')).toHaveLength(2);
  });

  it('send the legacy header only when enabled, signed by the same secrets', async () => {
    const previous = 'legacy-text-secret-0123456789';
    const harness = start({
      signing: { secret: SECRET, previousSecrets: [previous], legacySignature: true },
    });
    const r = await receiver();
    const d = await deliveredOnce(harness, r, anEvent('legacy'));
    const header = d.headers[SIGNATURE_HEADER];
    expect(header).toMatch(/^t=\d{10},v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(header).toContain(`t=${standardHeaders(d)['webhook-timestamp']},`);
    for (const secret of [SECRET, previous]) {
      expect(verifyWebhook({ secret, body: d.body, header })).toBe(true);
    }
    expect(verifyWebhook({ secret: whsec(), body: d.body, header })).toBe(false);
    // the Standard Webhooks headers are there all the same
    expect(d.verified).toBe(true);
  });
});

describe('webhook delivery against DNS rebinding', () => {
  it('connects to the address it vetted, not to what the name resolves to next', async () => {
    const { vetted, internal } = await receiverPair();
    const resolver = scriptedResolver(['127.0.0.2'], ['127.0.0.1']);
    const { publisher, queue } = start({ allowedHosts: ['127.0.0.2'], lookup: resolver });
    const event = anEvent('rebound');
    await publisher.publish(event, vetted.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(internal.deliveries).toHaveLength(0);
    expect(vetted.ok()).toHaveLength(1);
    expect(vetted.deliveries[0]?.verified).toBe(true);
    expect(vetted.deliveries[0]?.headers.host).toBe(new URL(vetted.url).host);
    expect(resolver.asked).toEqual(['localhost']);
  });

  it('refuses a new connection once the name resolves to a refused address', async () => {
    const { vetted, internal } = await receiverPair(() => ({
      status: 200,
      headers: { connection: 'close' },
    }));
    const resolver = scriptedResolver(['127.0.0.2'], ['127.0.0.1']);
    const { publisher, queue } = start({ allowedHosts: ['127.0.0.2'], lookup: resolver });
    const first = anEvent('before-rebinding');
    await publisher.publish(first, vetted.url);
    await waitUntil('completed', async () => (await stateOf(queue, first)) === 'completed');
    const second = anEvent('after-rebinding');
    await publisher.publish(second, vetted.url);
    await waitUntil('failed', async () => (await stateOf(queue, second)) === 'failed');
    expect(vetted.deliveries).toHaveLength(1);
    expect(internal.deliveries).toHaveLength(0);
    expect(resolver.asked).toEqual(['localhost', 'localhost']);
    const job = await queue.getJob(webhookJobId(second.id));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(
      /callbackUrl: host "localhost" resolves to an address in 127\.0\.0\.0\/8 \(loopback\)/,
    );
    expect(job?.failedReason).not.toContain('key=k1');
  });

  it('keeps the URL host as the TLS server name while connecting to the vetted address', async () => {
    const names: string[] = [];
    const tls = createTlsServer({
      SNICallback: (name, done) => {
        names.push(name);
        done(new Error('no certificate here'));
      },
    });
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.2', resolve));
    cleanups.push(() => new Promise<void>((resolve) => tls.close(() => resolve())));
    const port = (tls.address() as AddressInfo).port;
    const resolver = scriptedResolver(['127.0.0.2']);
    const { publisher, queue } = start({
      allowedHosts: ['127.0.0.2'],
      lookup: resolver,
      attempts: 1,
    });
    const event = anEvent('over-tls');
    await publisher.publish(event, `https://hooks.example.test:${port}/hooks`);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    expect(names).toEqual(['hooks.example.test']);
    expect(resolver.asked).toEqual(['hooks.example.test']);
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.failedReason).toMatch(/^receiver unreachable/);
  });
});

describe('webhook delivery in production mode', () => {
  it('refuses a plain http callback URL whose host is not allow-listed: never called', async () => {
    const { vetted } = await receiverPair();
    const resolver = scriptedResolver(['127.0.0.2']);
    const { publisher, queue } = start({
      policy: { allowedHosts: ['127.0.0.2'], httpsOnly: true },
      lookup: resolver,
    });
    const event: WebhookEvent = {
      ...anEvent('plain-http', 'ticket.token_issued'),
      state: 'awaiting_user',
      pageUrl: 'https://h5.example.com/verify?token=bearer-page-token',
    };
    delete event.verdict;
    await publisher.publish(event, vetted.url);
    await waitUntil('failed', async () => (await stateOf(queue, event)) === 'failed');
    expect(vetted.deliveries).toHaveLength(0);
    expect(resolver.asked).toEqual([]);
    const job = await queue.getJob(webhookJobId(event.id));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/callbackUrl: must be https in production/);
    expect(job?.failedReason).not.toContain('key=k1');
  });

  it('delivers over plain http to a host on the allow list', async () => {
    const { vetted, internal } = await receiverPair();
    const { publisher, queue } = start({
      policy: { allowedHosts: ['localhost'], httpsOnly: true },
      lookup: scriptedResolver(['127.0.0.2']),
    });
    const event = anEvent('allowed-http');
    await publisher.publish(event, vetted.url);
    await waitUntil('completed', async () => (await stateOf(queue, event)) === 'completed');
    expect(vetted.ok()).toHaveLength(1);
    expect(internal.deliveries).toHaveLength(0);
  });
});
