/**
 * Webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` in
 * {@link SIGNATURE_HEADER}, over the UTF-8 bytes of that text. The timestamp is inside the signed
 * text, so a captured delivery cannot be replayed outside the tolerance; several `v1=` values may
 * appear (one per secret while a secret is being rotated) and one match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying the signature. */
export const SIGNATURE_HEADER = 'x-cloudauth-orchestrator-signature';

/** Default largest difference between the signature's timestamp and now, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const MAX_HEADER_LENGTH = 4096;
const MAX_SIGNATURES = 8;

function hmac(secret: string, body: string, timestampSeconds: number): Buffer {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest();
}

/** The signature header value for `body` sent at `timestampSeconds` (unix seconds). */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('timestampSeconds must be a non-negative integer');
  }
  return `t=${timestampSeconds},v1=${hmac(secret, body, timestampSeconds).toString('hex')}`;
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
