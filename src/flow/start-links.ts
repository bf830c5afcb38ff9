/**
 * The links of a financial-grade `ID_PRO` ticket, all on `API_PUBLIC_URL`:
 * - the **start link** the business sends the person (`/v1/start/<token>`): the token names the
 *   ticket and the link's end and is signed (HMAC-SHA256, a key derived from `ENCRYPTION_KEY`), so
 *   it cannot be made for another ticket nor kept alive past its end; a retry of the ticket moves
 *   its end and so voids the links sent before;
 * - the **provider callback** (`/v1/provider/face-verify/callback?t=…`), with a `CallbackToken`
 *   derived from the ticket the same way: Cloudauth echoes it, which authenticates the call;
 * - the **return page** the provider's page sends the browser back to.
 * Written here rather than with a JWT library: one HMAC over three fields, checked in constant
 * time, is all it takes, and a JWT's header choices (algorithms, `none`) are attack surface.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Ticket } from '../domain/ticket.js';
import type { FaceVerifyLinks } from '../adapters/cloudauth/provider-financial.js';

/** Why a start token is refused. */
export type StartTokenProblem = 'malformed' | 'forged' | 'expired';

/** What makes a ticket's start link: the views, the CLI and the webhook events take this. */
export interface StartLinkMaker {
  startUrlOf(ticket: Pick<Ticket, 'ticketId' | 'startBy'>): string | undefined;
}

export interface StartToken {
  ticketId: string;
  /** The link's end, ms since the epoch. */
  startBy: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class StartLinks implements FaceVerifyLinks, StartLinkMaker {
  readonly #key: Buffer;

  /**
   * @param key the orchestrator's 32-byte ENCRYPTION_KEY (a key for links is derived from it)
   * @param publicUrl the API's public base URL, read when a link is made (it may be known only
   *   once the API listens)
   */
  constructor(
    key: Uint8Array,
    private readonly publicUrl: () => string,
  ) {
    this.#key = Buffer.from(
      hkdfSync('sha256', key, Buffer.alloc(0), 'cloudauth-orchestrator start links', 32),
    );
  }

  #mac(kind: string, ...parts: string[]): Buffer {
    return createHmac('sha256', this.#key)
      .update([kind, ...parts].join('\n'))
      .digest();
  }

  /** The token of a start link: `<base64url TicketId>.<startBy>.<signature>`. */
  tokenOf(ticketId: string, startBy: number): string {
    const sig = this.#mac('start', ticketId, String(startBy)).subarray(0, 16);
    return `${b64url(ticketId)}.${startBy}.${b64url(sig)}`;
  }

  /** The start link of a ticket that has one (financial ID_PRO, not finished). */
  startUrlOf(ticket: Pick<Ticket, 'ticketId' | 'startBy'>): string | undefined {
    if (ticket.startBy === undefined) return undefined;
    return `${this.publicUrl()}/v1/start/${this.tokenOf(ticket.ticketId, ticket.startBy)}`;
  }

  /** Checks a start token at `now`: the ticket and the link's end, or why it is refused. */
  verify(token: string, now: number): StartToken | { problem: StartTokenProblem } {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 400) return { problem: 'malformed' };
    const [idPart, endPart, sigPart] = parts as [string, string, string];
    // one spelling per token: Node's base64url decoder skips what is not base64url and ignores
    // trailing bits, so every part is checked for its exact form and the id re-encoded
    if (
      !/^[A-Za-z0-9_-]+$/.test(idPart) ||
      !/^[1-9]\d{0,14}$/.test(endPart) ||
      !/^[A-Za-z0-9_-]{22}$/.test(sigPart)
    ) {
      return { problem: 'malformed' };
    }
    const ticketId = Buffer.from(idPart, 'base64url').toString('utf8');
    if (b64url(ticketId) !== idPart) return { problem: 'malformed' };
    const startBy = Number(endPart);
    const given = Buffer.from(sigPart, 'base64url');
    const expected = this.#mac('start', ticketId, String(startBy)).subarray(0, 16);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { problem: 'forged' };
    }
    if (now >= startBy) return { problem: 'expired' };
    return { ticketId, startBy };
  }

  returnUrl(): string {
    return `${this.publicUrl()}/v1/start/done`;
  }

  callbackUrl(ticket: Pick<Ticket, 'ticketId'>): string {
    return `${this.publicUrl()}/v1/provider/face-verify/callback?t=${b64url(ticket.ticketId)}`;
  }

  /** The CallbackToken of a ticket: 32 hex digits, its HMAC. */
  callbackToken(ticket: Pick<Ticket, 'ticketId'>): string {
    return this.#mac('callback', ticket.ticketId).subarray(0, 16).toString('hex');
  }

  /** The ticket a callback names by its `t` and `callbackToken`, when the token is its own. */
  verifyCallback(t: string, callbackToken: string): string | undefined {
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(t) || !/^[0-9a-f]{32}$/.test(callbackToken))
      return undefined;
    const ticketId = Buffer.from(t, 'base64url').toString('utf8');
    if (b64url(ticketId) !== t) return undefined;
    const expected = Buffer.from(this.callbackToken({ ticketId }), 'hex');
    const given = Buffer.from(callbackToken, 'hex');
    return timingSafeEqual(given, expected) ? ticketId : undefined;
  }
}
