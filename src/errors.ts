/**
 * The error hierarchy. Every error the orchestrator raises is an {@link OrchestratorError} with a
 * code from {@link ERROR_CODES}; provider answers reach it through one table
 * (`src/adapters/cloudauth/error-table.ts`), never through string matching elsewhere.
 *
 * A verification verdict (passed / not passed) is a ticket outcome, never an error.
 * No I/O here. Messages never carry secrets, signed URLs or personal data.
 */

/** Who is at fault: the caller's input, the provider (Cloudauth/OSS/network), or us. */
export type Fault = 'client' | 'provider' | 'internal';

/**
 * Every error code, with what it means and whether the operation may be retried as it is.
 * A test checks that each code is documented here and raised somewhere.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, fault: 'internal', doc: 'Configuration failed validation.' },
  VALIDATION_FAILED: {
    retryable: false,
    fault: 'client',
    doc: 'Input failed validation; `field` names the offending field.',
  },
  ILLEGAL_TRANSITION: {
    retryable: false,
    fault: 'internal',
    doc: "The ticket's state does not accept the event (see `src/domain/ticket-machine.ts`): a bug, or an operator command on a ticket in the wrong state.",
  },
  PROVIDER_INTERNAL: {
    retryable: true,
    fault: 'provider',
    doc: 'Cloudauth answered `Error.InternalError`, `InternalError` or `ServiceUnavailable` (5xx); for 2019-03-07, body Code 500, or 402 from Id2MetaVerify (authority source failed).',
  },
  PROVIDER_THROTTLED: {
    retryable: true,
    fault: 'provider',
    doc: 'Cloudauth answered a `Throttling*` code, or 403 from Id2MetaVerify (abnormal repeated calls, 2019-03-07); retry after `retryAfterMs` (longer than for other retryable errors).',
  },
  PROVIDER_TIMEOUT: {
    retryable: true,
    fault: 'provider',
    doc: 'The call did not complete within the configured timeout; or (2019-03-07 body Code 422) Cloudauth could not download the photo within its 3 s.',
  },
  PROVIDER_UNREACHABLE: {
    retryable: true,
    fault: 'provider',
    doc: 'Connection refused, reset or DNS failure before an answer.',
  },
  PROVIDER_BAD_RESPONSE: {
    retryable: true,
    fault: 'provider',
    doc: 'The answer was not JSON (a proxy error page, a truncated body).',
  },
  PROVIDER_NONCE_REUSED: {
    retryable: true,
    fault: 'provider',
    doc: '`SignatureNonceUsed`: a retry signs with a fresh nonce.',
  },
  PROVIDER_INVALID_PARAM: {
    retryable: false,
    fault: 'client',
    doc: '`InvalidParam.*`, `MissingParameter`, `InvalidParameter`, and the 2019-03-07 body Codes 400, 401, 406, 414–416, 419–421, 423: the request is wrong and will stay wrong.',
  },
  PROVIDER_INVALID_BIZ: {
    retryable: false,
    fault: 'client',
    doc: '`InvalidParam.InvalidBiz`: the Biz scenario is not registered; for 2019-03-07, body Code 404 (unknown SceneId) or 402 (application configuration missing).',
  },
  PROVIDER_NO_PERMISSION: {
    retryable: false,
    fault: 'client',
    doc: '`Error.NoPermissionAccess`, `Forbidden.*`, and the 2019-03-07 body Codes 410 (not activated), 411 (RAM permission), 412 (arrears): the account may not call this action.',
  },
  PROVIDER_AUTH_FAILED: {
    retryable: false,
    fault: 'client',
    doc: 'Signature, access key, STS token or clock-skew rejection by the POP gateway: fix the credentials or the clock.',
  },
  PROVIDER_UNKNOWN_ACTION: {
    retryable: false,
    fault: 'internal',
    doc: '`InvalidAction*`, `InvalidVersion`: the action or API version is unknown to the endpoint.',
  },
  VERIFY_TOKEN_INVALID: {
    retryable: true,
    fault: 'provider',
    doc: 'The VerifyToken is unknown or expired: retry only after a new GetVerifyToken for the same TicketId.',
  },
  STS_CREDENTIALS_INVALID: {
    retryable: true,
    fault: 'provider',
    doc: 'OSS refused the STS credentials (expired, unknown or mismatched token): retry only after a new GetVerifyToken, which issues new ones.',
  },
  OSS_DIGEST_MISMATCH: {
    retryable: true,
    fault: 'provider',
    doc: 'OSS answered `InvalidDigest`: the upload arrived different from what was sent; sending it again may succeed.',
  },
  INTERNAL_ERROR: {
    retryable: true,
    fault: 'internal',
    doc: 'An unexpected failure inside the orchestrator (a Redis outage, a bug); retried, and failed after the configured attempts.',
  },
  STORE_UNAVAILABLE: {
    retryable: true,
    fault: 'internal',
    doc: 'Redis (the ticket store and queues) could not be reached within a few seconds (connection refused or closed, a timeout, a server still loading its data, a Sentinel or Cluster failover under way), or fewer replicas than `REDIS_WAIT_REPLICAS` acknowledged a write within `REDIS_WAIT_TIMEOUT_MS`: the HTTP API answers 503 with `Retry-After`, the CLI exits with code 1 saying so, workers retry the job; send the request again (a ticket already written stays, and the same TicketId answers as a repeat).',
  },
  TICKET_NOT_FOUND: {
    retryable: false,
    fault: 'client',
    doc: 'No ticket has this TicketId: it was never created, or it finished and expired after `TICKET_RETENTION_SECONDS`. The HTTP API answers 404, the CLI exits with code 5.',
  },
  STORE_FULL: {
    retryable: true,
    fault: 'internal',
    doc: "Redis refused a write for want of memory (`maxmemory` reached under the `noeviction` policy). A refused intake keeps no new ticket (a batch's ticket whose job was added before the refusal stays, and answers as a duplicate when the batch is sent again). The HTTP API answers 503 with `Retry-After`, the CLI's enqueue stops with exit code 7, workers retry the job; free memory or raise Redis's `maxmemory`, then send again.",
  },
  STAGING_UNAVAILABLE: {
    retryable: true,
    fault: 'internal',
    doc: 'The material staging store (`STAGING_DIR` or the `STAGING_OSS_BUCKET` bucket) failed or refused an operation: unreachable, denied, misconfigured. Intake keeps nothing of the refused request and the HTTP API answers 503 with `Retry-After`; workers retry the job. `retryable` is false when only configuration can fix it (a denied write).',
  },
  STAGING_FULL: {
    retryable: true,
    fault: 'internal',
    doc: 'The material staging store ran out of space (a full disk, a quota): intake keeps nothing of the refused request and the HTTP API answers 503 with `Retry-After`; free space, then send again.',
  },
  STAGED_OBJECT_MISSING: {
    retryable: false,
    fault: 'internal',
    doc: "A ticket's staged material (`field` names it) is gone from the staging store: erased, removed by someone else, or lost with the medium. The ticket fails; stage the bytes again by sending the ticket again under a new TicketId, or restore the object and `retry` it.",
  },
  STAGED_OBJECT_UNREADABLE: {
    retryable: false,
    fault: 'internal',
    doc: "A ticket's staged material (`field` names it) does not decrypt to the bytes it was staged as: altered, truncated, or written under another `ENCRYPTION_KEY`. The ticket fails; an operator may `retry` it once the object is restored.",
  },
  PERSONAL_DATA_ERASED: {
    retryable: false,
    fault: 'client',
    doc: "The ticket's personal data (name, ID number, staged photos) was erased: when it finished, after `MATERIAL_RETENTION_SECONDS` in `failed` or `expired`, or on request (`erase`). It cannot be run again; send the applicant's data again under a new TicketId. The HTTP API answers 409.",
  },
  SUBMISSION_OUTCOME_UNKNOWN: {
    retryable: false,
    fault: 'provider',
    doc: 'ContrastFaceVerify (financial-grade `ID_MIN`) was sent but its answer was lost: a worker stopped during the call, the call timed out, or the connection broke after the request left. Cloudauth may have judged (and billed) it, and a ContrastFaceVerify cannot be looked up afterwards, so it is not sent again on its own (`UNKNOWN_SUBMISSION=fail`, the default). `retry` the ticket to send it again, knowing it may be billed twice; `UNKNOWN_SUBMISSION=resubmit` sends it again without asking.',
  },
  JOB_FAILED: {
    retryable: false,
    fault: 'internal',
    doc: "The ticket's job failed outside the processor: it stalled more than the limit (the workers holding it kept dying) or the failure could not be recorded. Set by the reconciler; `cloudauth-orchestrator retry` runs the ticket again.",
  },
  VERIFICATION_PENDING: {
    retryable: true,
    fault: 'client',
    doc: 'DescribeFaceVerify (2019-03-07) answered Code 424 (no submission yet) or 403 (not finished): the applicant has not completed the flow. Ask again after `retryAfterMs`; the CertifyUrl stays usable 30 minutes.',
  },
  APPLICANT_REFUSED: {
    retryable: false,
    fault: 'client',
    doc: 'Cloudauth 2019-03-07 refused to verify this applicant by a business rule (body Code 405 under 14, 417 no usable authority photo, 418 too many failed attempts today, 427 risk policy): no verdict; the same request stays refused (418 lifts the next day).',
  },
  PROVIDER_UNKNOWN_CODE: {
    retryable: false,
    fault: 'provider',
    doc: 'A code missing from the table. Not retried; logged at warn so that the table can grow.',
  },
  WEBHOOK_UNDELIVERED: {
    retryable: true,
    fault: 'client',
    doc: 'A webhook delivery attempt failed in a way worth retrying: the receiver answered 5xx or 429 (its `Retry-After` becomes `retryAfterMs`), did not answer within `WEBHOOK_TIMEOUT_MS`, or could not be reached. Dead-lettered after `WEBHOOK_ATTEMPTS`.',
  },
  WEBHOOK_REJECTED: {
    retryable: false,
    fault: 'client',
    doc: 'The webhook receiver answered a 4xx other than 429, or a redirect (never followed): not retried; the delivery is dead-lettered at once.',
  },
  WEBHOOK_HOST_UNRESOLVED: {
    retryable: true,
    fault: 'client',
    doc: "A callback URL's host name did not resolve (DNS). Retried at delivery, since DNS can recover.",
  },
} as const satisfies Record<string, { retryable: boolean; fault: Fault; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface OrchestratorErrorOptions {
  /** Overrides the code's default. */
  retryable?: boolean;
  /** Minimum wait before a retry, in ms; wins over the computed backoff. */
  retryAfterMs?: number;
  /** The provider's own code, e.g. `Error.InternalError`. */
  providerCode?: string;
  /** The provider's RequestId, for support tickets. */
  requestId?: string;
  /** HTTP status of the provider's answer, when there was one. */
  httpStatus?: number;
  /** The underlying error. Must itself be free of secrets (see `src/adapters/cloudauth/client.ts`). */
  cause?: unknown;
}

/** Base of every error the orchestrator raises. */
export class OrchestratorError extends Error {
  /** Registry code (SCREAMING_SNAKE). */
  readonly code: ErrorCode;
  /** Whether repeating the same operation may succeed. */
  readonly retryable: boolean;
  /** Minimum wait before a retry, in ms. */
  readonly retryAfterMs: number | undefined;
  readonly fault: Fault;
  readonly providerCode: string | undefined;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;

  constructor(code: ErrorCode, message: string, options: OrchestratorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    const entry = ERROR_CODES[code];
    this.retryable = options.retryable ?? entry.retryable;
    this.fault = entry.fault;
    this.retryAfterMs = options.retryAfterMs;
    this.providerCode = options.providerCode;
    this.requestId = options.requestId;
    this.httpStatus = options.httpStatus;
  }

  /** A plain, log-safe object (no stack, no cause chain beyond codes). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      fault: this.fault,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.providerCode === undefined ? {} : { providerCode: this.providerCode }),
      ...(this.requestId === undefined ? {} : { requestId: this.requestId }),
      ...(this.httpStatus === undefined ? {} : { httpStatus: this.httpStatus }),
    };
  }
}

/** Configuration failed validation at start-up. */
export class ConfigError extends OrchestratorError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Input failed validation. `field` is a dotted path, e.g. `Binding.IdentificationNumber`. */
export class ValidationError extends OrchestratorError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('VALIDATION_FAILED', `${field}: ${message}`);
    this.field = field;
  }
}

/** A ticket was asked to take an event that its state does not accept. Not retryable. */
export class IllegalTransitionError extends OrchestratorError {
  /** The ticket's state when the event arrived. */
  readonly from: string;
  /** The refused event type. */
  readonly event: string;
  constructor(from: string, event: string) {
    super('ILLEGAL_TRANSITION', `illegal transition: state '${from}' does not accept '${event}'`);
    this.from = from;
    this.event = event;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), from: this.from, event: this.event };
  }
}

/**
 * Redis is out of memory (`maxmemory` under `noeviction`) and refused a write: `STORE_FULL`,
 * retryable after `retryAfterMs`. Raised by the store and the intake (see `src/adapters/redis/store-full.ts`);
 * `cause` is Redis's reply.
 */
export class StoreFullError extends OrchestratorError {
  constructor(options: { retryAfterMs: number; cause?: unknown }) {
    super('STORE_FULL', 'Redis is out of memory (maxmemory): the write was refused', options);
  }
}

/**
 * Redis could not be reached (connection refused or closed, a timeout, a server still loading its
 * AOF): `STORE_UNAVAILABLE`, retryable after `retryAfterMs`. Raised by the ticket store at its
 * boundary, and by the queue calls of the intake and the operator commands (see
 * `src/adapters/redis/store-unavailable.ts`, the one place that recognises ioredis's outage errors);
 * `cause` is the client's error.
 */
export class StoreUnavailableError extends OrchestratorError {
  constructor(options: { retryAfterMs: number; cause?: unknown; message?: string }) {
    const { message = 'Redis is unreachable', ...rest } = options;
    super('STORE_UNAVAILABLE', message, rest);
  }
}

/**
 * No ticket has this TicketId (never created, or expired after it finished): `TICKET_NOT_FOUND`,
 * not retryable. The message does not repeat the TicketId (a caller's id may be anything); it is
 * in `ticketId`.
 */
export class TicketNotFoundError extends OrchestratorError {
  /** The TicketId asked for. */
  readonly ticketId: string;
  constructor(ticketId: string) {
    super('TICKET_NOT_FOUND', 'no such ticket');
    this.ticketId = ticketId;
  }
}

/** The provider answered with an error code (see the code table). */
export class ProviderError extends OrchestratorError {}

/** Throttled by the provider; `retryAfterMs` is always set. */
export class ThrottledError extends ProviderError {}

/** The call failed before any answer could be read: timeout, connection failure, non-JSON body. */
export class TransportError extends ProviderError {}

/**
 * The connection could not be made (refused, the host unknown or unreachable): the request never
 * left, so the provider cannot have acted on it.
 */
export class NotSentError extends TransportError {}

/**
 * Whether the provider may have acted on a call that failed with `err`: false only when it
 * answered (a refusal with its own code is an answer: nothing was judged or billed), when the
 * connection was never made ({@link NotSentError}), or when our own check refused the input before
 * sending ({@link ValidationError}). A timeout, a connection cut after sending, an unreadable
 * answer or anything unknown: it may have. Decides whether a call that cannot be looked up
 * afterwards (ContrastFaceVerify, Id2MetaVerify) may be made again.
 */
export function mayHaveReachedProvider(err: unknown): boolean {
  if (err instanceof NotSentError || err instanceof ValidationError) return false;
  if (err instanceof TransportError) return true;
  return !(err instanceof ProviderError);
}

/** The VerifyToken is unknown or expired: the ticket flow answers with a new GetVerifyToken. */
export class VerifyTokenInvalidError extends ProviderError {}

/** OSS refused the STS credentials: the ticket flow answers with a new GetVerifyToken. */
export class StsCredentialsInvalidError extends ProviderError {}

/** True for any error the orchestrator considers safe to retry as it is. */
export function isRetryable(err: unknown): boolean {
  return err instanceof OrchestratorError && err.retryable;
}

/** Why a ticket's personal data was erased. */
export type ErasureReason = 'finished' | 'retention' | 'request';

/**
 * The ticket's personal data (the binding: name, ID number, staged photos) was erased, so it cannot
 * be run again: `PERSONAL_DATA_ERASED`, not retryable. `reason` says why: it finished, it passed
 * `MATERIAL_RETENTION_SECONDS` in `failed` or `expired`, or an operator asked (`erase`).
 */
export class PersonalDataErasedError extends OrchestratorError {
  readonly ticketId: string;
  readonly reason: ErasureReason | undefined;
  constructor(ticketId: string, reason: ErasureReason | undefined) {
    const why =
      reason === 'retention'
        ? ' after MATERIAL_RETENTION_SECONDS'
        : reason === 'request'
          ? ' on request'
          : reason === 'finished'
            ? ' when it finished'
            : '';
    super(
      'PERSONAL_DATA_ERASED',
      `the ticket's personal data was erased${why}: it cannot run again; send the applicant's data again under a new TicketId`,
    );
    this.ticketId = ticketId;
    this.reason = reason;
  }
}
