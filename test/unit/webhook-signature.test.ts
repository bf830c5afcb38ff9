import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signWebhook, verifyWebhook } from '../../src/webhooks/signature.js';

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

  it('signs from the epoch on, and refuses a negative timestamp naming it', () => {
    expect(signWebhook(secret, body, 0)).toBe(`t=0,v1=${v1(secret, body, 0)}`);
    expect(() => signWebhook(secret, body, -1)).toThrow(
      new RangeError('timestampSeconds must be a non-negative integer'),
    );
  });

  it(`travels in the ${SIGNATURE_HEADER} header`, () => {
    expect(SIGNATURE_HEADER).toBe('x-cloudauth-orchestrator-signature');
  });

  it('signs the UTF-8 bytes of the body', () => {
    const text = JSON.stringify({ name: '张三', note: 'café ✓' });
    const header = signWebhook(secret, text, t);
    const utf8 = createHmac('sha256', secret)
      .update(Buffer.from(`${t}.${text}`, 'utf8'))
      .digest('hex');
    expect(header).toBe(`t=${t},v1=${utf8}`);
    expect(verifyWebhook({ secret, body: text, header, now: t })).toBe(true);
  });

  it('refuses a part without a name even beside a valid signature', () => {
    const header = `${signWebhook(secret, body, t)},=extra`;
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(false);
  });

  it.each([
    ['with a plus sign', `+${t}`],
    ['with a fraction', `${t}.0`],
    ['with an exponent', `${t}e0`],
    ['of more than 12 digits', `0${String(t).padStart(12, '0')}`],
  ])('refuses a timestamp written other than as plain digits: %s', (_what, written) => {
    const header = `t=${written},v1=${v1(secret, body, t)}`;
    expect(verifyWebhook({ secret, body, header, now: t })).toBe(false);
  });

  it('refuses a v1 value with anything before or after its 64 hex digits', () => {
    const good = v1(secret, body, t);
    expect(verifyWebhook({ secret, body, header: `t=${t},v1=${good}`, now: t })).toBe(true);
    for (const odd of [`${good}zz`, `zz${good}`, `${good}00`]) {
      expect(verifyWebhook({ secret, body, header: `t=${t},v1=${odd}`, now: t })).toBe(false);
    }
  });

  it('refuses a header without a timestamp even when its v1 signs the body alone', () => {
    const timeless = createHmac('sha256', secret).update(`undefined.${body}`).digest('hex');
    expect(verifyWebhook({ secret, body, header: `v1=${timeless}`, now: t })).toBe(false);
  });

  it('takes up to eight v1 values and refuses a ninth', () => {
    const others = Array.from({ length: 8 }, (_, i) => `v1=${v1(`old-${i}`, body, t)}`);
    const right = `v1=${v1(secret, body, t)}`;
    const eight = `t=${t},${others.slice(0, 7).join(',')},${right}`;
    const nine = `t=${t},${others.join(',')},${right}`;
    expect(verifyWebhook({ secret, body, header: eight, now: t })).toBe(true);
    expect(verifyWebhook({ secret, body, header: nine, now: t })).toBe(false);
  });

  it('reads a header of up to 4096 characters and refuses a longer one', () => {
    const signed = signWebhook(secret, body, t);
    const padded = (length: number) => {
      const prefix = `${signed},x=`;
      return `${prefix}${'a'.repeat(length - prefix.length)}`;
    };
    expect(padded(4096)).toHaveLength(4096);
    expect(verifyWebhook({ secret, body, header: padded(4096), now: t })).toBe(true);
    expect(verifyWebhook({ secret, body, header: padded(4097), now: t })).toBe(false);
  });
});
