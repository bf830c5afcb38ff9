/**
 * A verdict reached on the Cloudauth emulator (embedded mode) carries `emulated: true` wherever a
 * ticket is shown outside: the HTTP ticket view and listing, and the webhook event. A real verdict
 * is not marked.
 */
import { describe, expect, it } from 'vitest';
import { transition } from '../../src/domain/ticket-machine.js';
import type { Ticket, Verdict } from '../../src/domain/ticket.js';
import { ticketSummarySchema, ticketViewSchema } from '../../src/api/schemas.js';
import { ticketSummaryView, ticketViewOf } from '../../src/api/views.js';
import { webhookEventOf } from '../../src/webhooks/events.js';

const T0 = Date.UTC(2025, 2, 1, 8, 0, 0);

function aTicketWith(verdict: Verdict | undefined): Ticket {
  const submitted: Ticket = {
    ticketId: 't-1',
    biz: 'RPMin',
    flow: 'server',
    state: 'submitted',
    version: 3,
    attempts: 0,
    createdAt: T0,
    updatedAt: T0,
  };
  return verdict === undefined
    ? submitted
    : transition(submitted, { type: 'verdict', verdict }, T0 + 1000).ticket;
}

const EMULATED: Verdict = { statusCode: 1, similarityScore: 95, emulated: true };
const REAL: Verdict = { statusCode: 2, similarityScore: 12, auditConclusions: 'no match' };

describe('the emulated mark', () => {
  it('is kept on the ticket by the verdict transition', () => {
    expect(aTicketWith(EMULATED)).toMatchObject({ state: 'passed', verdict: { emulated: true } });
    expect(aTicketWith(REAL).verdict).not.toHaveProperty('emulated');
  });

  it('shows in the HTTP ticket view and listing, as a boolean beside the verdict', () => {
    const view = ticketViewOf(aTicketWith(EMULATED), undefined, []);
    expect(view).toMatchObject({ verdict: { statusCode: 1, similarityScore: 95 }, emulated: true });
    expect(view.verdict).not.toHaveProperty('emulated');
    expect(ticketViewSchema.parse(view).emulated).toBe(true);
    const real = ticketSummaryView(aTicketWith(REAL));
    expect(real.emulated).toBe(false);
    expect(ticketSummarySchema.parse(real).emulated).toBe(false);
    expect(ticketSummaryView(aTicketWith(undefined)).emulated).toBe(false);
  });

  it('shows in the passed and not_passed webhook events, and is absent for a real verdict', () => {
    expect(webhookEventOf(aTicketWith(EMULATED))).toMatchObject({
      type: 'ticket.passed',
      verdict: { statusCode: 1, similarityScore: 95 },
      emulated: true,
    });
    expect(webhookEventOf(aTicketWith(EMULATED))?.verdict).not.toHaveProperty('emulated');
    expect(webhookEventOf(aTicketWith({ ...EMULATED, statusCode: 2 }))).toMatchObject({
      type: 'ticket.not_passed',
      emulated: true,
    });
    const real = webhookEventOf(aTicketWith(REAL));
    expect(real?.type).toBe('ticket.not_passed');
    expect(real).not.toHaveProperty('emulated');
  });
});
