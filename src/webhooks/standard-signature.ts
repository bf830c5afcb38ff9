/**
 * The Standard Webhooks signature (https://www.standardwebhooks.com, symmetric scheme), what every
 * delivery carries: `webhook-id` (the event id, the same on every attempt), `webhook-timestamp`
 * (unix seconds of the attempt) and `webhook-signature`, a space-separated list of
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one per signing key (several while a
 * secret is rotated: a receiver accepts any one that its own key matches). The keys come from
 * `secret.ts` (`standardWebhookKey`).
 *
 * Receivers verify it with the official libraries (`standardwebhooks` on npm and PyPI, Go's
 * `github.com/standard-webhooks/libraries/go`, Java's `com.standardwebhooks:standardwebhooks`),
 * so the orchestrator ships no verifier of its own for it.
 */
import { createHmac } from 'node:crypto';

/** The header carrying the event id; receivers deduplicate on it. */
export const WEBHOOK_ID_HEADER = 'webhook-id';
/** The header carrying the attempt's time, in unix seconds. */
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
/** The header carrying the signatures, space separated. */
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** One `v1,<base64>` signature of `body` sent as event `id` at `timestampSeconds`. */
function signOne(key: Uint8Array, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8');
  return `v1,${mac.digest('base64')}`;
}

/**
 * The `webhook-signature` value: one `v1,` signature per key, in the keys' order, space separated.
 * Throws RangeError for a timestamp that is not whole non-negative seconds, for no key, and for an
 * id holding whitespace (the header would not carry it as it is signed).
 */
export function signStandardWebhook(
  keys: readonly Uint8Array[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('timestampSeconds must be a non-negative integer');
  }
  if (keys.length === 0) throw new RangeError('at least one signing key is needed');
  if (id === '' || /\s/.test(id))
    throw new RangeError('the webhook id must be non-empty, without whitespace');
  return keys.map((key) => signOne(key, id, timestampSeconds, body)).join(' ');
}
