import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../src/intake/webhooks/signature.js';

const secret = 'whsec-0123456789abcdef';
const body = JSON.stringify({ id: 't-1:3:ticket.passed', type: 'ticket.passed' });
const t = 1_760_000_000;

function v1(key: string, text: string, at: number): string {
  return createHmac('sha256', key).update(`${at}.${text}`).digest('hex');
}

describe('webhook signatures', () => {
  it('round-trips: a signed body verifies at the same time and within the tolerance', () => {
    const header = signWebhook(secret, body, t);
    expect(header).toBe(`t=${t},v1=${v1(secret, body, t)}`);
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(true);
    expect(verifyWebhook({ secret, body, header, now: t + 300 })).toBe(true);
    expect(verifyWebhook({ secret, body, header, now: t - 300 })).toBe(true);
  });

  it("takes Node's req.headers value as is: a header sent twice (an array) is refused", () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhook({ secret, body, header: [header, header], now: t })).toBe(false);
    expect(verifyWebhook({ secret, body, header: undefined, now: t })).toBe(false);
  });

  it('refuses a tampered body, a tampered timestamp, and another secret', () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhook({ secret, body: body.replace('passed', 'failed'), header, now: t })).toBe(
      false,
    );
    expect(
      verifyWebhook({ secret, body, header: header.replace(`t=${t}`, `t=${t + 1}`), now: t }),
    ).toBe(false);
    expect(verifyWebhook({ secret: `${secret}x`, body, header, now: t })).toBe(false);
  });

  it('refuses a signature outside the tolerance, in the past or the future', () => {
    const header = signWebhook(secret, body, t);
    expect(verifyWebhook({ secret, body, header, now: t + 301 })).toBe(false);
    expect(verifyWebhook({ secret, body, header, now: t - 301 })).toBe(false);
    expect(verifyWebhook({ secret, body, header, now: t + 60, toleranceSeconds: 59 })).toBe(false);
    expect(verifyWebhook({ secret, body, header, now: t + 60, toleranceSeconds: 60 })).toBe(true);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['no timestamp', `v1=${v1(secret, body, t)}`],
    ['no signature', `t=${t}`],
    ['two timestamps', `t=${t},t=${t},v1=${v1(secret, body, t)}`],
    ['a timestamp that is not a number', `t=soon,v1=${v1(secret, body, t)}`],
    ['a negative timestamp', `t=-${t},v1=${v1(secret, body, t)}`],
    ['a short signature', `t=${t},v1=${v1(secret, body, t).slice(2)}`],
    ['a signature that is not hex', `t=${t},v1=${'z'.repeat(64)}`],
    ['a part without "="', `t=${t},v1=${v1(secret, body, t)},garbage`],
    ['an empty name', `t=${t},=${v1(secret, body, t)}`],
    ['an oversized header', `t=${t},v1=${v1(secret, body, t)},x=${'a'.repeat(5000)}`],
  ])('refuses a malformed header: %s', (_name, header) => {
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(false);
  });

  it('ignores unknown schemes and spaces around parts', () => {
    const header = ` t=${t} , v0=deadbeef , v1=${v1(secret, body, t)} `;
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(true);
  });

  it('accepts any of several v1 values, so a secret can be rotated', () => {
    const previous = 'whsec-previous-secret-0000';
    const header = `t=${t},v1=${v1(previous, body, t)},v1=${v1(secret, body, t)}`;
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(true);
    expect(verifyWebhook({ secret: previous, body, header, now: t })).toBe(true);
    expect(verifyWebhook({ secret: 'whsec-some-other-secret', body, header, now: t })).toBe(false);
  });

  it('uses the system clock by default', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(verifyWebhook({ secret, body, header: signWebhook(secret, body, now) })).toBe(true);
    expect(verifyWebhook({ secret, body, header: signWebhook(secret, body, now - 3600) })).toBe(
      false,
    );
  });

  it('refuses to sign with a timestamp that is not whole seconds', () => {
    expect(() => signWebhook(secret, body, 1.5)).toThrow(RangeError);
  });
});
