import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { pino } from 'pino';
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
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/webhooks/signature.js';
import { startWebhookWorker, type RunningWebhookWorker } from '../../src/webhooks/worker.js';
import { bullPrefix } from '../../src/adapters/bullmq/queues.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { waitUntil } from '../../testkit/waiting.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const SECRET = 'whsec-integration-test-secret';
const logger = pino({ level: 'silent' });

interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  status: number;
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
      const header = req.headers[SIGNATURE_HEADER];
      const verified = verifyWebhook({
        secret: SECRET,
        body,
        header: typeof header === 'string' ? header : undefined,
      });
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
    secret: SECRET,
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
    expect(log).not.toContain('v1=');
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
