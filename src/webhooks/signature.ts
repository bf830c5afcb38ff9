/**
 * The legacy webhook signature, deprecated: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")>` in {@link SIGNATURE_HEADER}, over the UTF-8 bytes of that text, the secret's text
 * as written being the key. Deliveries are signed the Standard Webhooks way
 * (`standard-signature.ts`); this header is sent besides only with `WEBHOOK_LEGACY_SIGNATURE=true`,
 * for receivers that still verify it while they switch, and goes in the next release.
 *
 * The timestamp is inside the signed text, so a captured delivery cannot be replayed outside the
 * tolerance; several `v1=` values may appear (one per secret while a secret is being rotated) and
 * one match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The header carrying the legacy signature.
 * @deprecated Sent only with `WEBHOOK_LEGACY_SIGNATURE=true`, and removed in the next release:
 * verify the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * with the `standardwebhooks` package instead.
 */
export const SIGNATURE_HEADER = 'x-cloudauth-orchestrator-signature';

/** Default largest difference between the signature's timestamp and now, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const MAX_HEADER_LENGTH = 4096;
/** The most `v1` values a legacy header may carry. */
export const MAX_SIGNATURES = 8;

function hmac(secret: string, body: string, timestampSeconds: number): Buffer {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest();
}

/**
 * The legacy signature header value for `body` sent at `timestampSeconds` (unix seconds).
 * @deprecated The legacy scheme goes in the next release; deliveries are signed the Standard
 * Webhooks way (verify them with the `standardwebhooks` package).
 */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return legacySignatureHeader([secret], body, timestampSeconds);
}

/**
 * The legacy header value signed by each of `secrets` in turn: `t=<t>,v1=<hex>,v1=<hex>…`. At
 * most {@link MAX_SIGNATURES} secrets, what {@link verifyWebhook} reads.
 */
export function legacySignatureHeader(
  secrets: readonly string[],
  body: string,
  timestampSeconds: number,
): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('timestampSeconds must be a non-negative integer');
  }
  if (secrets.length === 0 || secrets.length > MAX_SIGNATURES) {
    throw new RangeError(`1 to ${MAX_SIGNATURES} secrets sign a legacy header`);
  }
  const signatures = secrets.map((s) => `v1=${hmac(s, body, timestampSeconds).toString('hex')}`);
  return `t=${timestampSeconds},${signatures.join(',')}`;
}

export interface VerifyWebhookInput {
  /** The shared signing secret. */
  secret: string;
  /** The raw request body, exactly as received. */
  body: string;
  /**
   * The {@link SIGNATURE_HEADER} value, as a framework hands it over (Node's `req.headers[name]`
   * is typed `string | string[] | undefined`); undefined when absent. A header sent twice
   * (an array) is refused.
   */
  header: string | readonly string[] | undefined;
  /** Largest accepted distance between `t` and `now`, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The current time in unix seconds. Default: the system clock. */
  now?: number;
}

function parseHeader(header: string): { t: number; signatures: Buffer[] } | undefined {
  if (header.length > MAX_HEADER_LENGTH) return undefined;
  let t: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      t = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value) || signatures.length >= MAX_SIGNATURES) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  // No `v1` is refused too: verifyWebhook finds no match among no signatures.
  return t === undefined ? undefined : { t, signatures };
}

/**
 * True when `header` carries a `v1` signature of `body` by `secret` whose timestamp is within the
 * tolerance of `now`. Compares in constant time; false on any malformed header (no `t`, two `t`,
 * no `v1`, a `v1` that is not 64 hex digits, a part without `=`). Unknown schemes are ignored.
 * @deprecated Verifies the legacy `x-cloudauth-orchestrator-signature`, which is sent only with
 * `WEBHOOK_LEGACY_SIGNATURE=true` and goes in the next release. Verify the Standard Webhooks
 * headers with the `standardwebhooks` package instead: `new Webhook(secret).verify(rawBody,
 * headers)` (docs/reference/webhooks.md).
 */
export function verifyWebhook(input: VerifyWebhookInput): boolean {
  if (typeof input.header !== 'string') return false;
  const parsed = parseHeader(input.header);
  if (parsed === undefined) return false;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - parsed.t) > tolerance) return false;
  const expected = hmac(input.secret, input.body, parsed.t);
  let matched = false;
  for (const candidate of parsed.signatures) {
    if (timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}
