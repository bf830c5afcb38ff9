/**
 * Tickets announce themselves: a receiver on loopback gets `ticket.token_issued` (with the page
 * URL) and `ticket.passed` for an interactive ticket, each signed and each once.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { verifyWebhook, SIGNATURE_HEADER, type WebhookEvent } from '../../src/webhooks/index.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
import { startTestOrchestrator } from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

it('sends signed token_issued and passed events for an interactive ticket', async () => {
  const secret = 'webhook-secret-for-tests-0123456789';
  const received: WebhookEvent[] = [];
  let badSignatures = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const header = req.headers[SIGNATURE_HEADER];
      if (
        verifyWebhook({ secret, body, header: typeof header === 'string' ? header : undefined })
      ) {
        received.push(JSON.parse(body) as WebhookEvent);
      } else badSignatures++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  const o = await startTestOrchestrator({
    env: { WEBHOOK_SECRET: secret, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
  });
  try {
    await o.app.intake.enqueue({
      ticketId: 'w-1',
      biz: 'RPH5BioOnly',
      binding: { name: '李三', idNumber: '11010519491231002X', materials: {} },
      callbackUrl: `http://127.0.0.1:${port}/hooks`,
    });
    await waitUntil(
      'ticket.token_issued received',
      () => received.some((e) => e.type === 'ticket.token_issued'),
      { timeoutMs: 15_000 },
    );
    const issued = received.find((e) => e.type === 'ticket.token_issued');
    expect(issued?.pageUrl).toContain('/h5/verify?token=');
    const token = new URL(issued?.pageUrl ?? 'http://x').searchParams.get('token') ?? '';
    await fetch(`${o.emu.cloudauth.url}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, outcome: 'complete' }).toString(),
    });
    // Once the ticket's job has completed nothing publishes again, and once the webhook queue has
    // nothing left to deliver no event can still arrive: what was received is then all there is.
    await waitUntil(
      'the ticket job completed and every webhook delivered',
      async () => {
        if ((await o.app.queue.getJobState(jobIdOf('w-1'))) !== 'completed') return false;
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
    expect(received.map((e) => e.type)).toEqual(['ticket.token_issued', 'ticket.passed']);
    expect(received[1]).toMatchObject({
      ticketId: 'w-1',
      verdict: { statusCode: 1 },
      emulated: true,
    });
    expect(JSON.stringify(received)).not.toContain('11010519491231002X');
    expect(badSignatures).toBe(0);
  } finally {
    await o.close();
    receiver.close();
  }
});
