/**
 * The emulator's memory: tickets by (Biz, TicketId), VerifyTokens and the STS credentials issued
 * with them. A token and its credential are forgotten `TOKEN_GRACE_MS` after both expired (then
 * they are unknown rather than expired); tickets live as long as the emulator.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Scheme } from '../../config.js';
import type { Verdict } from './verdict.js';

export const TOKEN_GRACE_MS = 60 * 60 * 1000;

/** STS credentials for OSS uploads under `path` in `bucket`. */
export interface StsCredential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  bucket: string;
  /** Prefix the credential may write under, ending in `/`. */
  path: string;
  /** ms since the epoch. */
  expiresAt: number;
}

export interface IssuedToken {
  token: string;
  biz: string;
  ticketId: string;
  issuedAt: number;
  expiresAt: number;
  binding: Record<string, string>;
  sts: StsCredential;
}

export interface Submission {
  at: number;
  via: 'SubmitMaterials' | 'SubmitVerification' | 'H5';
  materials: Record<string, string>;
  verdict: Verdict;
}

export interface EmulatedTicket {
  biz: string;
  scheme: Scheme;
  ticketId: string;
  tokensIssued: number;
  submissions: Submission[];
}

export interface TokenSettings {
  tokenMs: number;
  stsMs: number;
  bucket: string;
}

export class EmulatorRegistry {
  private readonly tickets = new Map<string, EmulatedTicket>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly sts = new Map<string, StsCredential>();

  ticket(biz: string, ticketId: string): EmulatedTicket | undefined {
    return this.tickets.get(ticketKey(biz, ticketId));
  }

  /** The ticket, created on first sight. */
  ensureTicket(biz: string, scheme: Scheme, ticketId: string): EmulatedTicket {
    const key = ticketKey(biz, ticketId);
    let ticket = this.tickets.get(key);
    if (!ticket) {
      ticket = { biz, scheme, ticketId, tokensIssued: 0, submissions: [] };
      this.tickets.set(key, ticket);
    }
    return ticket;
  }

  /** Issues a new token (and STS credential) for the ticket, creating the ticket if new. */
  issue(
    biz: string,
    scheme: Scheme,
    ticketId: string,
    binding: Record<string, string>,
    settings: TokenSettings,
    now: number,
  ): IssuedToken {
    this.purge(now);
    const key = ticketKey(biz, ticketId);
    this.ensureTicket(biz, scheme, ticketId).tokensIssued++;
    const token = randomBytes(16).toString('hex');
    const ticketHash = createHash('sha256').update(key).digest('hex').slice(0, 16);
    const sts: StsCredential = {
      accessKeyId: `STS.${randomBytes(12).toString('base64url')}`,
      accessKeySecret: randomBytes(24).toString('base64url'),
      securityToken: `CAIS${randomBytes(48).toString('base64url')}`,
      bucket: settings.bucket,
      path: `verify/${ticketHash}/${token.slice(0, 12)}/`,
      expiresAt: now + settings.stsMs,
    };
    const issued: IssuedToken = {
      token,
      biz,
      ticketId,
      issuedAt: now,
      expiresAt: now + settings.tokenMs,
      binding,
      sts,
    };
    this.tokens.set(token, issued);
    this.sts.set(sts.accessKeyId, sts);
    return issued;
  }

  /** The token, `expired` when past its expiry, or undefined when unknown. */
  token(token: string, now: number): IssuedToken | 'expired' | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    return now >= t.expiresAt ? 'expired' : t;
  }

  /** The ticket a token was issued for, expired or not, while the token is remembered. */
  tokenOwner(token: string): { biz: string; ticketId: string } | undefined {
    const t = this.tokens.get(token);
    return t === undefined ? undefined : { biz: t.biz, ticketId: t.ticketId };
  }

  /** An STS credential issued with a token (the OSS emulator authenticates with it). */
  stsCredential(accessKeyId: string): StsCredential | undefined {
    return this.sts.get(accessKeyId);
  }

  record(biz: string, ticketId: string, submission: Submission): EmulatedTicket {
    const ticket = this.tickets.get(ticketKey(biz, ticketId));
    if (!ticket) throw new Error('submission for a ticket that was never issued a token');
    ticket.submissions.push(submission);
    return ticket;
  }

  /** Every ticket, for the admin endpoint. */
  allTickets(): IterableIterator<EmulatedTicket> {
    return this.tickets.values();
  }

  private purge(now: number): void {
    for (const [token, t] of this.tokens) {
      if (Math.max(t.expiresAt, t.sts.expiresAt) + TOKEN_GRACE_MS > now) break;
      this.tokens.delete(token);
      this.sts.delete(t.sts.accessKeyId);
    }
  }
}

/** The latest submission's verdict, if any. */
export function latestSubmission(ticket: EmulatedTicket | undefined): Submission | undefined {
  return ticket?.submissions.at(-1);
}

function ticketKey(biz: string, ticketId: string): string {
  return `${biz}\u0000${ticketId}`;
}
