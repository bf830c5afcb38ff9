/**
 * What the material staging store raises, with the registry's codes (`src/errors.ts`):
 * `STAGED_OBJECT_MISSING` and `STAGED_OBJECT_UNREADABLE` for one object, `STAGING_UNAVAILABLE` and
 * `STAGING_FULL` for the medium. Callers test for the classes, never for messages. Messages carry
 * the digest (a keyed hash, not personal data) and the material's field when the caller named it,
 * never bytes, TicketIds, paths or credentials.
 */
import { OrchestratorError } from '../../errors.js';

/** Options of the errors about one staged object. */
export interface StagedObjectErrorOptions {
  /** The material the object holds, e.g. `Binding.FacePic`: it prefixes the message. */
  field?: string;
}

/** Base of the errors about one staged object; `digest` names it, `field` the material. */
export abstract class StagedObjectError extends OrchestratorError {
  /** The object's digest (see `StagedRef.digest`). */
  readonly digest: string;
  /** The material field the object holds, when the caller said (`withField`). */
  readonly field: string | undefined;

  protected constructor(
    code: 'STAGED_OBJECT_MISSING' | 'STAGED_OBJECT_UNREADABLE',
    digest: string,
    message: string,
    field: string | undefined,
  ) {
    // Not retryable as it is: reading the same object again gives the same answer.
    super(code, field === undefined ? message : `${field}: ${message}`, { retryable: false });
    this.digest = digest;
    this.field = field;
  }

  /** The same error naming the material `field` (the store does not know which one it read). */
  abstract withField(field: string): StagedObjectError;

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      digest: this.digest,
      ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

/**
 * Nothing is staged for the ticket under this digest: never staged, already erased, or removed
 * by someone else. `STAGED_OBJECT_MISSING`, not retryable; only staging the bytes again (a new
 * intake) brings it back.
 */
export class StagedObjectMissingError extends StagedObjectError {
  constructor(digest: string, options: StagedObjectErrorOptions = {}) {
    super('STAGED_OBJECT_MISSING', digest, `no staged object has digest ${digest}`, options.field);
  }

  override withField(field: string): StagedObjectMissingError {
    return new StagedObjectMissingError(this.digest, { field });
  }
}

/**
 * The object under this digest is there but does not decrypt to bytes with this digest: altered,
 * truncated, stored under another digest, written under another key, or not a regular file.
 * `reason` says which. `STAGED_OBJECT_UNREADABLE`, not retryable.
 */
export class StagedObjectUnreadableError extends StagedObjectError {
  /** Why, in a few words, e.g. `authentication failed`. */
  readonly reason: string;

  constructor(digest: string, reason: string, options: StagedObjectErrorOptions = {}) {
    super(
      'STAGED_OBJECT_UNREADABLE',
      digest,
      `staged object ${digest} cannot be read: ${reason}`,
      options.field,
    );
    this.reason = reason;
  }

  override withField(field: string): StagedObjectUnreadableError {
    return new StagedObjectUnreadableError(this.digest, this.reason, { field });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/** How long a caller is asked to wait after a retryable failure of the medium, in ms. */
export const STAGING_RETRY_AFTER_MS = 2000;
/** How long a caller is asked to wait after the medium ran out of space, in ms. */
export const STAGING_FULL_RETRY_AFTER_MS = 10_000;

/** Options of {@link StagingUnavailableError}. */
export interface StagingUnavailableOptions {
  /** Whether the same call may succeed later: false for a refusal that only configuration fixes. */
  retryable: boolean;
  /** The medium is out of space (a full disk or quota): code `STAGING_FULL`. */
  full?: boolean;
  /** Minimum wait before a retry, in ms. */
  retryAfterMs?: number;
  /** A log-safe stand-in for the original error (name, code, status), never the error itself. */
  cause?: unknown;
}

/**
 * The staging medium (the directory or the bucket) refused or failed an operation: unreachable,
 * full, denied, misconfigured. Code `STAGING_FULL` when it is out of space, else
 * `STAGING_UNAVAILABLE`; `retryable` says whether waiting may help. Intake answers 503 for it.
 */
export class StagingUnavailableError extends OrchestratorError {
  /**
   * The store operation that failed: `put`, `get`, `exists`, `deleteTicket`, `tickets` or
   * `check`.
   */
  readonly operation: string;

  constructor(operation: string, detail: string, options: StagingUnavailableOptions) {
    super(
      options.full === true ? 'STAGING_FULL' : 'STAGING_UNAVAILABLE',
      `staging store: ${detail}`,
      {
        retryable: options.retryable,
        ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
        ...(options.cause === undefined ? {} : { cause: options.cause }),
      },
    );
    this.operation = operation;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), operation: this.operation };
  }
}
