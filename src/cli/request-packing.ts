/**
 * How `enqueue --api` cuts its tickets into `POST /v1/tickets/batch` requests: each request body
 * stays under the API's body limit (`API_BODY_LIMIT_BYTES`) less a margin, and carries at most the
 * API's `API_BATCH_MAX` tickets. Sizes are those of the encoded JSON, in bytes, computed exactly
 * (the body is the tickets' JSON joined into one envelope); a ticket too large to go even alone is
 * set aside. Pure; no I/O.
 */

/** `API_BODY_LIMIT_BYTES`'s default (`src/config.ts`): what the CLI assumes of the API. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** `API_BATCH_MAX`'s default (`src/config.ts`), when the API's OpenAPI document does not say. */
export const DEFAULT_BATCH_MAX = 1000;

/**
 * The most bytes a request body is given out of a body limit: the limit less 1/32 of it (512 KiB
 * of 16 MiB), at least 1 KiB, so that a proxy's or the server's own counting never tips it over.
 */
export function requestBudget(bodyLimitBytes: number): number {
  return Math.max(1, bodyLimitBytes - Math.max(1024, Math.ceil(bodyLimitBytes / 32)));
}

/** The body of one batch request, from tickets already encoded as JSON. */
export function batchBody(batchId: string, ticketsJson: readonly string[]): string {
  return `{"batchId":${JSON.stringify(batchId)},"tickets":[${ticketsJson.join(',')}]}`;
}

/** The bytes of {@link batchBody} around the tickets (its envelope). */
export function envelopeBytes(batchId: string): number {
  return Buffer.byteLength(batchBody(batchId, []), 'utf8');
}

/** What a request may hold. */
export interface PackLimits {
  /** Most bytes of one body (see {@link requestBudget}). */
  maxBytes: number;
  /** Most tickets of one request. */
  maxItems: number;
  /** Bytes of the envelope around the tickets ({@link envelopeBytes}). */
  envelopeBytes: number;
}

/** What the packer hands back: a request to send, or an item that fits in none. */
export type Packed<T> =
  { kind: 'request'; items: T[]; bytes: number } | { kind: 'oversize'; item: T; bytes: number };

/**
 * Packs items, in order, into requests: an item joins the open request while the body stays within
 * `maxBytes` and `maxItems`; otherwise the open request is handed back and the item opens the next
 * one. An item whose body alone is over `maxBytes` is handed back at once as oversize (the open
 * request stays open).
 */
export class RequestPacker<T> {
  #items: T[] = [];
  #bytes = 0;

  constructor(private limits: PackLimits) {}

  /** Lowers the body size for the requests still to come (an API with a smaller limit). */
  shrink(maxBytes: number): void {
    this.limits = { ...this.limits, maxBytes: Math.min(this.limits.maxBytes, maxBytes) };
  }

  /** Adds an item of `bytes` (its JSON); answers what is ready to send, in order. */
  add(item: T, bytes: number): Packed<T>[] {
    const { maxBytes, maxItems, envelopeBytes: envelope } = this.limits;
    if (envelope + bytes > maxBytes) return [{ kind: 'oversize', item, bytes }];
    const out: Packed<T>[] = [];
    const grown = this.#bytes + (this.#items.length > 0 ? 1 : 0) + bytes;
    if (this.#items.length >= maxItems || envelope + grown > maxBytes) out.push(...this.flush());
    this.#bytes += (this.#items.length > 0 ? 1 : 0) + bytes;
    this.#items.push(item);
    return out;
  }

  /** Hands back the open request, if any. */
  flush(): Packed<T>[] {
    if (this.#items.length === 0) return [];
    const request: Packed<T> = {
      kind: 'request',
      items: this.#items,
      bytes: this.limits.envelopeBytes + this.#bytes,
    };
    this.#items = [];
    this.#bytes = 0;
    return [request];
  }
}

/** Every item packed at once (what {@link RequestPacker} does over a stream). */
export function packRequests<T>(
  items: readonly { item: T; bytes: number }[],
  limits: PackLimits,
): Packed<T>[] {
  const packer = new RequestPacker<T>(limits);
  const out = items.flatMap(({ item, bytes }) => packer.add(item, bytes));
  return [...out, ...packer.flush()];
}
