/**
 * The Standard Webhooks signature as the orchestrator makes it, checked against the official
 * `standardwebhooks` package (its `sign` and `verify`); the secret format (`whsec_` and the base64
 * of 24 to 64 bytes, or an earlier version's text secret); and which secrets sign which
 * destination (`WebhookSigner`: a listed host's own secrets only, else the default and the previous
 * ones), with the legacy header only when asked for.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  MAX_KEY_BYTES,
  MIN_KEY_BYTES,
  generateWebhookSecret,
  standardWebhookKey,
  webhookSecretProblem,
} from '../../src/webhooks/secret.js';
import {
  SIGNATURE_HEADER,
  legacySignatureHeader,
  signWebhook,
  verifyWebhook,
} from '../../src/webhooks/signature.js';
import { WebhookSigner } from '../../src/webhooks/signer.js';
import { signStandardWebhook } from '../../src/webhooks/standard-signature.js';

const whsec = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;
const id = 'order-7:4:ticket.passed';
const body = JSON.stringify({ id, type: 'ticket.passed', note: 'café ✓ 张' });

/** The official package's verdict on a delivery, at the current time. */
function officialVerifies(secret: string, headers: Record<string, string>, text = body): boolean {
  try {
    new Webhook(secret).verify(text, headers);
    return true;
  } catch {
    return false;
  }
}

describe('signStandardWebhook', () => {
  it("makes the official package's signature, over the UTF-8 bytes of id.timestamp.body", () => {
    const secret = whsec();
    const t = 1_760_000_000;
    const ours = signStandardWebhook([standardWebhookKey(secret)], id, t, body);
    expect(ours).toBe(new Webhook(secret).sign(id, new Date(t * 1000), body));
    expect(ours).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('joins one v1 signature per key with spaces, any of which the official package accepts', () => {
    const [a, b] = [whsec(), whsec(24)];
    const t = Math.floor(Date.now() / 1000);
    const signature = signStandardWebhook(
      [a, b].map((s) => standardWebhookKey(s)),
      id,
      t,
      body,
    );
    expect(signature.split(' ')).toHaveLength(2);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(t),
      'webhook-signature': signature,
    };
    expect(officialVerifies(a, headers)).toBe(true);
    expect(officialVerifies(b, headers)).toBe(true);
    expect(officialVerifies(whsec(), headers)).toBe(false);
    expect(officialVerifies(a, headers, body.replace('passed', 'failed'))).toBe(false);
  });

  it('refuses a timestamp that is not whole non-negative seconds, no key, and a blank id', () => {
    const key = [standardWebhookKey(whsec())];
    expect(() => signStandardWebhook(key, id, 1.5, body)).toThrow(RangeError);
    expect(() => signStandardWebhook(key, id, -1, body)).toThrow(RangeError);
    expect(() => signStandardWebhook([], id, 1, body)).toThrow(RangeError);
    expect(() => signStandardWebhook(key, '', 1, body)).toThrow(RangeError);
    expect(() => signStandardWebhook(key, 'a b', 1, body)).toThrow(RangeError);
  });
});

describe('webhook secrets', () => {
  it('generates whsec_ and the base64 of 32 random bytes, each one new', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(standardWebhookKey(a)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  it(`takes whsec_ secrets of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes, the key being the bytes`, () => {
    const bytes = randomBytes(MIN_KEY_BYTES);
    expect(standardWebhookKey(`whsec_${bytes.toString('base64')}`).equals(bytes)).toBe(true);
    expect(webhookSecretProblem(whsec(MAX_KEY_BYTES))).toBeUndefined();
    expect(webhookSecretProblem(whsec(MIN_KEY_BYTES - 1))).toMatch(/holds 23 bytes/);
    expect(webhookSecretProblem(whsec(MAX_KEY_BYTES + 1))).toMatch(/holds 65 bytes/);
  });

  it.each([
    ['unpadded base64', whsec(25).replace(/=+$/, '')],
    ['base64url', `whsec_${'-_'.repeat(16)}`],
    ['spaces', `whsec_${randomBytes(24).toString('base64').slice(0, 16)} ${'A'.repeat(15)}`],
    ['nothing after the prefix', 'whsec_'],
  ])('refuses a whsec_ secret with %s, without quoting it', (_what, secret) => {
    const problem = webhookSecretProblem(secret);
    expect(problem).toBeDefined();
    expect(problem).not.toContain(secret.slice(6, 14) || 'whsec_x');
    expect(() => standardWebhookKey(secret, 'WEBHOOK_SECRET')).toThrow(ConfigError);
  });

  it("takes an earlier version's text secret (16 characters or more), its UTF-8 bytes the key", () => {
    const hex = randomBytes(32).toString('hex');
    expect(standardWebhookKey(hex).equals(Buffer.from(hex, 'utf8'))).toBe(true);
    expect(webhookSecretProblem('fifteen-chars..')).toMatch(/at least 16 characters/);
    // where only Standard Webhooks secrets are taken (WEBHOOK_SECRETS_BY_HOST)
    expect(webhookSecretProblem(hex, true)).toMatch(/must be a Standard Webhooks secret/);
  });
});

describe('legacySignatureHeader', () => {
  it('carries one v1 per secret, each verifying with verifyWebhook', () => {
    const t = 1_760_000_000;
    const [a, b] = ['legacy-secret-aaaa-0001', whsec()];
    const header = legacySignatureHeader([a, b], body, t);
    expect(header.startsWith(`${signWebhook(a, body, t)},v1=`)).toBe(true);
    expect(verifyWebhook({ secret: a, body, header, now: t })).toBe(true);
    expect(verifyWebhook({ secret: b, body, header, now: t })).toBe(true);
    expect(verifyWebhook({ secret: 'legacy-secret-cccc-0003', body, header, now: t })).toBe(false);
    expect(() => legacySignatureHeader([], body, t)).toThrow(RangeError);
    expect(() => legacySignatureHeader(Array<string>(9).fill(a), body, t)).toThrow(RangeError);
  });
});

describe('WebhookSigner', () => {
  const t = () => Math.floor(Date.now() / 1000);
  const current = whsec();
  const previous = whsec();
  const hostA = whsec();
  const hostB = whsec();
  const signer = new WebhookSigner({
    secret: current,
    previousSecrets: [previous],
    secretsByHost: { 'hooks.a.example': [hostA], 'hooks.b.example': [hostB] },
  });

  it('signs a host without its own secret with the current and the previous secret', () => {
    const headers = signer.headers('https://elsewhere.example/cb', id, body, t());
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    for (const secret of [current, previous]) expect(officialVerifies(secret, headers)).toBe(true);
    for (const secret of [hostA, hostB]) expect(officialVerifies(secret, headers)).toBe(false);
  });

  it("signs a listed host with its own secret only, whatever the URL's case, port or path", () => {
    const headers = signer.headers('https://HOOKS.A.example.:8443/x?y=1', id, body, t());
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(officialVerifies(hostA, headers)).toBe(true);
    for (const secret of [hostB, current, previous]) {
      expect(officialVerifies(secret, headers)).toBe(false);
    }
    // a sub-domain is another host
    const sub = signer.headers('https://x.hooks.a.example/', id, body, t());
    expect(officialVerifies(hostA, sub)).toBe(false);
    expect(officialVerifies(current, sub)).toBe(true);
  });

  it('adds the legacy header only when asked, signed by the same secrets', () => {
    const now = t();
    expect(signer.headers('https://hooks.b.example/', id, body, now)).not.toHaveProperty(
      SIGNATURE_HEADER,
    );
    const legacy = new WebhookSigner({
      secret: current,
      secretsByHost: { 'hooks.b.example': [hostB] },
      legacySignature: true,
    });
    const header = legacy.headers('https://hooks.b.example/', id, body, now)[SIGNATURE_HEADER];
    expect(verifyWebhook({ secret: hostB, body, header, now })).toBe(true);
    expect(verifyWebhook({ secret: current, body, header, now })).toBe(false);
  });

  it('refuses an invalid secret when made, naming the setting and not the secret', () => {
    const bad = 'whsec_short';
    let err: unknown;
    try {
      new WebhookSigner({ secret: current, secretsByHost: { 'hooks.c.example': [bad] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('WEBHOOK_SECRETS_BY_HOST ("hooks.c.example")');
    expect((err as Error).message).not.toContain('short');
  });
});
