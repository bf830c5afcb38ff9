/**
 * The webhook event of each API family: the same events, with the financial-grade family's own
 * fields (`family`, `outerOrderNo`, the verdict's `subCode` and `certifyId`) named as the HTTP
 * ticket view names them, and the start link of an ID_PRO ticket in `ticket.start_link_issued`;
 * every event names its payload's `schemaVersion`, and a cancelled ticket sends `ticket.cancelled`.
 */
import { describe, expect, it } from 'vitest';
import { ticketSummaryView } from '../../src/api/views.js';
import { outerOrderNoOf } from '../../src/domain/biz.js';
import { transition } from '../../src/domain/ticket-machine.js';
import type { Lease, Ticket, TicketEvent } from '../../src/domain/ticket.js';
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_SCHEMA_VERSION,
  webhookEventOf,
  webhookEventTypeOf,
} from '../../src/webhooks/events.js';
import { StartLinks } from '../../src/flow/start-links.js';
import { randomBytes } from 'node:crypto';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

function after(t: Ticket, ...events: TicketEvent[]): Ticket {
  let at = T0;
  for (const e of events) t = transition(t, e, (at += 1000)).ticket;
  return t;
}

const legacy: Ticket = {
  ticketId: 'order-1',
  biz: 'RPMin',
  flow: 'server',
  state: 'submitted',
  version: 3,
  attempts: 0,
  createdAt: T0,
  updatedAt: T0,
};

/** A financial ID_PRO ticket just accepted: queued until its person opens the start link. */
const idPro: Ticket = {
  ticketId: 'shop/order#2',
  biz: 'FaceH5',
  flow: 'interactive',
  family: 'financial',
  startBy: T0 + 7 * 86_400_000,
  state: 'queued',
  version: 0,
  attempts: 0,
  createdAt: T0,
  updatedAt: T0,
};

const CERTIFY_ID = '91707dc296d469ad38e4c5efa6a0f24b';
const certifyLease: Lease = {
  verifyToken: CERTIFY_ID,
  tokenExpiresAt: T0 + 30 * 60_000,
  pageUrl: `https://emulator.test/face-verify/page?certifyId=${CERTIFY_ID}`,
  issuedAt: T0,
};

describe('webhook events of both families', () => {
  it('say a legacy ticket is legacy, with no OuterOrderNo, and its verdict as before', () => {
    const event = webhookEventOf(
      after(legacy, { type: 'verdict', verdict: { statusCode: 1, similarityScore: 95 } }),
    );
    expect(event).toMatchObject({
      type: 'ticket.passed',
      family: 'legacy',
      outerOrderNo: null,
      verdict: { statusCode: 1, similarityScore: 95 },
    });
    expect(event?.verdict).not.toHaveProperty('subCode');
    expect(event?.verdict).not.toHaveProperty('certifyId');
  });

  it("carry a financial verdict's SubCode and CertifyId, and the ticket's OuterOrderNo", () => {
    const passed = after(
      idPro,
      { type: 'token_issued', lease: certifyLease },
      {
        type: 'verdict',
        verdict: { statusCode: 2, subCode: '204', certifyId: CERTIFY_ID, emulated: true },
      },
    );
    const event = webhookEventOf(passed);
    expect(event).toEqual({
      id: `shop/order#2:${passed.version}:ticket.not_passed`,
      type: 'ticket.not_passed',
      schemaVersion: 1,
      ticketId: 'shop/order#2',
      biz: 'FaceH5',
      family: 'financial',
      outerOrderNo: outerOrderNoOf('shop/order#2'),
      state: 'not_passed',
      version: passed.version,
      occurredAt: new Date(passed.updatedAt).toISOString(),
      verdict: { statusCode: 2, subCode: '204', certifyId: CERTIFY_ID },
      emulated: true,
    });
    // the same names and values as the HTTP API's ticket view
    const view = ticketSummaryView(passed);
    expect(event).toMatchObject({
      family: view.family,
      outerOrderNo: view.outerOrderNo,
      verdict: { subCode: view.verdict?.subCode, certifyId: view.verdict?.certifyId },
    });
  });

  it('send the pre-check verdict of a ticket that never got a token', () => {
    const refused = after(
      { ...idPro, ticketId: 'abc123' },
      { type: 'verdict', verdict: { statusCode: 2, subCode: '201' } },
    );
    expect(webhookEventOf(refused)).toMatchObject({
      type: 'ticket.not_passed',
      outerOrderNo: 'abc123',
      verdict: { statusCode: 2, subCode: '201' },
    });
  });

  it('send the start link while an ID_PRO ticket waits for it; ticket.token_issued once opened', () => {
    expect(webhookEventTypeOf('queued')).toBeUndefined();
    const links = new StartLinks(randomBytes(32), () => 'https://kyc.example.com');
    expect(webhookEventOf(idPro, undefined, links)).toMatchObject({
      id: `${idPro.ticketId}:0:ticket.start_link_issued`,
      type: 'ticket.start_link_issued',
      state: 'queued',
      family: 'financial',
      pageUrl: links.startUrlOf(idPro),
    });
    // without a link maker there is nothing to act on: no event; a legacy queued ticket has none
    expect(webhookEventOf(idPro)).toBeUndefined();
    expect(webhookEventOf({ ...legacy, state: 'queued' }, undefined, links)).toBeUndefined();
    // once the browser started it, no second start event
    expect(webhookEventOf({ ...idPro, startedAt: T0 + 1 }, undefined, links)).toBeUndefined();
    const issued = after(idPro, { type: 'token_issued', lease: certifyLease });
    const event = webhookEventOf(issued);
    expect(event).toMatchObject({
      type: 'ticket.token_issued',
      state: 'awaiting_user',
      family: 'financial',
      pageUrl: certifyLease.pageUrl,
    });
    expect(JSON.stringify(event)).not.toContain('/v1/start/');
    expect(event).not.toHaveProperty('startUrl');
    // a start link run out unopened
    expect(webhookEventOf(after(idPro, { type: 'token_expired' }))).toMatchObject({
      type: 'ticket.expired',
      family: 'financial',
      outerOrderNo: outerOrderNoOf('shop/order#2'),
    });
  });

  it('send ticket.cancelled for a cancelled ticket of either family, with schemaVersion 1', () => {
    expect(WEBHOOK_SCHEMA_VERSION).toBe(1);
    expect(WEBHOOK_EVENT_TYPES.at(-1)).toBe('ticket.cancelled');
    expect(webhookEventTypeOf('cancelled')).toBe('ticket.cancelled');
    for (const ticket of [legacy, idPro]) {
      const cancelled = after(ticket, { type: 'cancelled' });
      const event = webhookEventOf(cancelled);
      expect(event).toEqual({
        id: `${ticket.ticketId}:${cancelled.version}:ticket.cancelled`,
        type: 'ticket.cancelled',
        schemaVersion: 1,
        ticketId: ticket.ticketId,
        biz: ticket.biz,
        family: ticket.family ?? 'legacy',
        outerOrderNo: ticket.family === 'financial' ? outerOrderNoOf(ticket.ticketId) : null,
        state: 'cancelled',
        version: cancelled.version,
        occurredAt: new Date(cancelled.updatedAt).toISOString(),
      });
    }
  });
});
