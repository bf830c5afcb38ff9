/**
 * Tickets announce themselves: a receiver on loopback gets `ticket.token_issued` (with the page
 * URL) and `ticket.passed` for an interactive ticket, and `ticket.cancelled` for one an operator
 * cancels, each once, each signed the Standard Webhooks way (checked with the official
 * `standardwebhooks` package) and naming its `schemaVersion`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, expect, it } from 'vitest';
import { SIGNATURE_HEADER, type WebhookEvent } from '../../src/webhooks/index.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  events: WebhookEvent[];
  headers: IncomingHttpHeaders[];
  badSignatures: number;
  url: string;
  close(): void;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A receiver that keeps the events whose signature the official package verifies. */
async function receiver(): Promise<Received> {
  const got: Received = { events: [], headers: [], badSignatures: 0, url: '', close: () => {} };
  const wh = new Webhook(secret);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      try {
        got.events.push(wh.verify(body, headers) as WebhookEvent);
        got.headers.push(req.headers);
      } catch {
        got.badSignatures++;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  got.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  got.close = () => server.close();
  cleanups.push(() => got.close());
  return got;
}

async function orchestrator(): Promise<TestOrchestrator> {
  const o = await startTestOrchestrator({
    env: { WEBHOOK_SECRET: secret, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
  });
  cleanups.push(() => o.close());
  return o;
}

/**
 * Once the ticket's job has settled nothing publishes again, and once the webhook queue has
 * nothing left to deliver no event can still arrive: what was received is then all there is.
 */
async function allDelivered(o: TestOrchestrator, ticketId: string): Promise<void> {
  await waitUntil(
    'the ticket job settled and every webhook delivered',
    async () => {
      const state = await o.app.queue.getJobState(jobIdOf(ticketId));
      if (state !== 'completed' && state !== 'unknown') return false;
      const pending = await o.app.webhookQueue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'prioritized',
      );
      return Object.values(pending).every((n) => n === 0);
    },
    { timeoutMs: 15_000 },
  );
}

it('sends signed token_issued and passed events for an interactive ticket', async () => {
  const r = await receiver();
  const o = await orchestrator();
  await o.app.intake.enqueue({
    ticketId: 'w-1',
    biz: 'RPH5BioOnly',
    binding: { name: '李三', idNumber: '11010519491231002X', materials: {} },
    callbackUrl: r.url,
  });
  await waitUntil(
    'ticket.token_issued received',
    () => r.events.some((e) => e.type === 'ticket.token_issued'),
    { timeoutMs: 15_000 },
  );
  const issued = r.events.find((e) => e.type === 'ticket.token_issued');
  expect(issued?.pageUrl).toContain('/h5/verify?token=');
  const token = new URL(issued?.pageUrl ?? 'http://x').searchParams.get('token') ?? '';
  await fetch(`${o.emu.cloudauth.url}/h5/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, outcome: 'complete' }).toString(),
  });
  await allDelivered(o, 'w-1');
  expect(r.events.map((e) => e.type)).toEqual(['ticket.token_issued', 'ticket.passed']);
  expect(r.events[1]).toMatchObject({
    ticketId: 'w-1',
    schemaVersion: 1,
    verdict: { statusCode: 1 },
    emulated: true,
  });
  expect(r.events.every((e) => e.schemaVersion === 1)).toBe(true);
  expect(r.headers.map((h) => h['webhook-id'])).toEqual(r.events.map((e) => e.id));
  // no legacy header unless WEBHOOK_LEGACY_SIGNATURE=true
  expect(r.headers.every((h) => h[SIGNATURE_HEADER] === undefined)).toBe(true);
  expect(JSON.stringify(r.events)).not.toContain('11010519491231002X');
  expect(r.badSignatures).toBe(0);
});

it('sends one signed ticket.cancelled when an operator cancels a waiting ticket', async () => {
  const r = await receiver();
  const o = await orchestrator();
  await o.app.intake.enqueue({
    ticketId: 'w-cancel',
    biz: 'RPH5BioOnly',
    binding: { name: '李三', idNumber: '11010519491231002X', materials: {} },
    callbackUrl: r.url,
  });
  await waitUntil(
    'ticket.token_issued received',
    () => r.events.some((e) => e.type === 'ticket.token_issued'),
    { timeoutMs: 15_000 },
  );
  const cancelled = await o.app.operations.cancel('w-cancel');
  expect(cancelled.state).toBe('cancelled');
  await waitUntil(
    'ticket.cancelled received',
    () => r.events.some((e) => e.type === 'ticket.cancelled'),
    { timeoutMs: 15_000 },
  );
  await allDelivered(o, 'w-cancel');
  expect(r.events.map((e) => e.type)).toEqual(['ticket.token_issued', 'ticket.cancelled']);
  // the event describes the version the cancellation wrote; erasing the personal data on arrival
  // (src/flow/personal-data.ts) keeps it (no event leaves `cancelled`), so a worker that finds
  // the ticket ended re-publishes the same event, not a second one
  expect(cancelled.erasedAt).toBeDefined();
  const version = cancelled.version;
  expect(r.events[1]).toEqual({
    id: `w-cancel:${version}:ticket.cancelled`,
    type: 'ticket.cancelled',
    schemaVersion: 1,
    ticketId: 'w-cancel',
    biz: 'RPH5BioOnly',
    family: 'legacy',
    outerOrderNo: null,
    state: 'cancelled',
    version,
    occurredAt: new Date(cancelled.updatedAt).toISOString(),
  });
  expect(r.headers[1]?.['webhook-id']).toBe(r.events[1]?.id);
  expect(r.badSignatures).toBe(0);
});
