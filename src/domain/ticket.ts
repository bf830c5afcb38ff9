/**
 * Glossary
 * - Ticket: one identity verification, keyed by the business's `TicketId` (unique per Biz in
 *   Cloudauth; unique across the orchestrator here). It moves through {@link TicketState}s.
 * - Biz: a verification scenario registered in the Cloudauth console, bound to one scheme.
 * - Flow: `server` (we hold the materials: token → upload → SubmitMaterials → status) or
 *   `interactive` (the person completes an H5/SDK page: token → status polled), chosen by the
 *   Biz's scheme ({@link flowOf}).
 * - Lease: the VerifyToken and the STS credentials of one GetVerifyToken, each with an expiry.
 *   A lease that would run out within a margin is renewed by a new GetVerifyToken.
 * - Verdict: Cloudauth's StatusCode 1 (passed) or 2 (not passed), with scores; a ticket outcome,
 *   never an error. One reached in embedded mode (on the emulator) is marked emulated.
 * - Version: bumped by every transition and every recorded attempt error; the store advances a
 *   ticket only from the version the worker read (compare-and-set), so two workers can never both
 *   advance it, and a transition computed before an error was recorded cannot erase it.
 *
 * Pure types; no I/O.
 */
import type { ApiFamily } from './biz.js';
/** Scheme names a Biz scenario can be bound to (spec §1.10). */
export const SCHEMES = [
  'RPBasic',
  'RPManual',
  'RPBioID',
  'RPBioOnly',
  'RPBioOnlyPro',
  'RPH5BioOnly',
  'FVBioOnly',
  'FDBioOnly',
  'RPMin',
] as const;
export type Scheme = (typeof SCHEMES)[number];

/** Every state. Terminal: passed, not_passed, expired, failed, cancelled. */
export const TicketState = {
  /** Accepted; waiting for a worker to ask for a token. */
  queued: 'queued',
  /** Server flow: a lease is held; materials are to be uploaded and submitted. */
  token_issued: 'token_issued',
  /** Server flow: materials submitted, the verdict is not in yet (StatusCode 0). */
  submitted: 'submitted',
  /** Interactive flow: the page URL is out; waiting for the person, status polled. */
  awaiting_user: 'awaiting_user',
  passed: 'passed',
  not_passed: 'not_passed',
  /** Interactive flow: the token ran out before the person finished. */
  expired: 'expired',
  /** A permanent error, or retries exhausted; `lastError` holds the cause. */
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type TicketState = (typeof TicketState)[keyof typeof TicketState];

export const TERMINAL_STATES: readonly TicketState[] = [
  'passed',
  'not_passed',
  'expired',
  'failed',
  'cancelled',
];

export function isTerminal(state: TicketState): boolean {
  return TERMINAL_STATES.includes(state);
}

export type Flow = 'server' | 'interactive';

/** Schemes whose materials the orchestrator holds and submits itself. */
const SERVER_SCHEMES: readonly Scheme[] = ['RPMin'];

export function flowOf(scheme: Scheme): Flow {
  return SERVER_SCHEMES.includes(scheme) ? 'server' : 'interactive';
}

/**
 * What the provider gave the ticket to go on with. Held encrypted at rest (it carries secrets).
 * - legacy: a VerifyToken with its STS credentials (and the H5 page);
 * - financial `ID_PRO`: the CertifyId as `verifyToken`, the CertifyUrl as `pageUrl`, valid 30
 *   minutes, no STS credentials;
 * - financial `ID_MIN`: leave to submit, after the optional Id2MetaVerify pre-check (the
 *   OuterOrderNo as `verifyToken`, no page, no STS credentials).
 */
export interface Lease {
  verifyToken: string;
  /** ms since the epoch. */
  tokenExpiresAt: number;
  /** Legacy only: where and how the materials are uploaded. */
  sts?: {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken: string;
    endPoint: string;
    bucketName: string;
    path: string;
    /** ms since the epoch. */
    expiresAt: number;
  };
  /** The page for the person (interactive flow; empty otherwise). A bearer link: never logged. */
  pageUrl: string;
  issuedAt: number;
}

/** Cloudauth's verdict and scores. */
export interface Verdict {
  statusCode: 1 | 2;
  trustedScore?: number;
  similarityScore?: number;
  authorityComparisonScore?: number;
  auditConclusions?: string;
  /**
   * Financial family: the provider's reason code (`SubCode`: 200 passed, 201 name and number do
   * not match, 204 face mismatch, 205 liveness risk, …; spec `cloudauth-2019.md` §8.2).
   */
  subCode?: string;
  /** Financial family: the provider's CertifyId of the verification that reached the verdict. */
  certifyId?: string;
  /**
   * Reached by a worker in embedded mode, on the Cloudauth emulator: no real check of the person
   * was made. Absent for a verdict reached in production. Stored with the verdict (one field of
   * the ticket's hash), so it goes wherever the verdict goes.
   */
  emulated?: true;
}

/** The log-safe form of the error that failed a ticket, or the last one retried. */
export interface TicketError {
  code: string;
  message: string;
  retryable: boolean;
  providerCode?: string;
  requestId?: string;
  at: number;
}

/** A ticket as the store holds it (personal data and secrets decrypted). */
export interface Ticket {
  ticketId: string;
  biz: string;
  flow: Flow;
  /**
   * The API family the ticket runs on (`src/domain/biz.ts`), recorded at intake; absent on a ticket
   * an earlier version created, which is `legacy`.
   */
  family?: ApiFamily;
  /**
   * Financial `ID_PRO`: the end of the ticket's start link (ms since the epoch). A ticket the
   * person has not started by then expires.
   */
  startBy?: number;
  /** Financial `ID_PRO`: when the person's browser handed in its MetaInfo (the start link opened). */
  startedAt?: number;
  state: TicketState;
  /** Bumped by every transition and every recorded attempt error (which adds no history). */
  version: number;
  /** Failed processing attempts so far (status re-checks do not count). */
  attempts: number;
  lease?: Lease;
  verdict?: Verdict;
  lastError?: TicketError;
  batchId?: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
}

/** What happens to a ticket. Each event names the transition it asks for. */
export type TicketEvent =
  | { type: 'token_issued'; lease: Lease }
  | { type: 'token_renewed'; lease: Lease }
  | { type: 'submitted' }
  | { type: 'verdict'; verdict: Verdict }
  | { type: 'token_expired' }
  | { type: 'failed'; error: TicketError }
  | { type: 'cancelled' }
  /** A terminal ticket run again; `startBy` is the new start link's end (financial `ID_PRO`). */
  | { type: 'retried'; startBy?: number };

export type TicketEventType = TicketEvent['type'];

/** One line of a ticket's append-only history. */
export interface HistoryEntry {
  from: TicketState;
  to: TicketState;
  event: TicketEventType;
  /** Error code or conclusion, when the event carries one. */
  cause?: string;
  at: number;
  attempt: number;
}
