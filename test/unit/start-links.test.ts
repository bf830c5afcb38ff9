import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StartLinks } from '../../src/flow/start-links.js';

const key = randomBytes(32);
const links = new StartLinks(key, () => 'https://kyc.example.com');
const NOW = Date.UTC(2026, 10, 29);

describe('start links', () => {
  it('names the ticket and its end, and verifies until the end', () => {
    const url = links.startUrlOf({ ticketId: 'order/42 #1', startBy: NOW + 1000 });
    expect(url).toMatch(/^https:\/\/kyc\.example\.com\/v1\/start\/[\w-]+\.\d+\.[\w-]+$/);
    const token = url!.split('/').at(-1)!;
    expect(links.verify(token, NOW)).toEqual({ ticketId: 'order/42 #1', startBy: NOW + 1000 });
    expect(links.verify(token, NOW + 1000)).toEqual({ problem: 'expired' });
  });

  it('refuses a token moved to another ticket, a later end, another key, or garbage', () => {
    const token = links.tokenOf('ticket-a', NOW + 1000);
    const [, end, sig] = token.split('.');
    const other = `${Buffer.from('ticket-b').toString('base64url')}.${end}.${sig}`;
    expect(links.verify(other, NOW)).toEqual({ problem: 'forged' });
    const later = token.replace(`.${end}.`, `.${NOW + 99_000}.`);
    expect(links.verify(later, NOW)).toEqual({ problem: 'forged' });
    const elsewhere = new StartLinks(randomBytes(32), () => 'https://kyc.example.com');
    expect(elsewhere.verify(token, NOW)).toEqual({ problem: 'forged' });
    for (const bad of ['', 'a.b', 'a.1.b.c', '!!.1.x', `a.${'9'.repeat(20)}.x`, 'x'.repeat(500)]) {
      expect(links.verify(bad, NOW)).toEqual({ problem: 'malformed' });
    }
    // one spelling per token: no junk after the signature, no leading zero, no other base64url
    // spelling of the same TicketId (Node's decoder would take all of these)
    const a = links.tokenOf('a', NOW + 1000);
    const [id, end2, sig2] = a.split('.') as [string, string, string];
    expect(links.verify(a, NOW)).toEqual({ ticketId: 'a', startBy: NOW + 1000 });
    for (const altered of [`${a}!`, `${a}?`, `${id}.0${end2}.${sig2}`, `YR.${end2}.${sig2}`]) {
      expect(links.verify(altered, NOW)).toEqual({ problem: 'malformed' });
    }
  });

  it('has no link for a ticket without a start (legacy, ID_MIN)', () => {
    expect(links.startUrlOf({ ticketId: 't' })).toBeUndefined();
  });

  it('authenticates a callback by its CallbackToken', () => {
    const t = Buffer.from('ticket-a').toString('base64url');
    const token = links.callbackToken({ ticketId: 'ticket-a' });
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(links.callbackUrl({ ticketId: 'ticket-a' })).toBe(
      `https://kyc.example.com/v1/provider/face-verify/callback?t=${t}`,
    );
    expect(links.verifyCallback(t, token)).toBe('ticket-a');
    const other = Buffer.from('ticket-b').toString('base64url');
    expect(links.verifyCallback(other, token)).toBeUndefined();
    expect(links.verifyCallback(t, '0'.repeat(32))).toBeUndefined();
    expect(links.verifyCallback(t, 'not-hex')).toBeUndefined();
    // another spelling of the same TicketId is not taken
    expect(
      links.verifyCallback(`${t.slice(0, -1)}${t.endsWith('E') ? 'F' : 'E'}`, token),
    ).toBeUndefined();
  });
});
