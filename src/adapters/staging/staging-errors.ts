/**
 * What the material staging store raises. The codes are the closest ones the registry has today
 * (`src/errors.ts`); dedicated ones (`STAGED_OBJECT_MISSING`, `STAGED_OBJECT_UNREADABLE`,
 * `STAGING_UNAVAILABLE`, `STAGING_FULL`) are proposed for when the store is wired into the flow.
 * Callers test for the classes, never for messages or codes. Messages carry the digest (a hash of
 * an image, not personal data), never bytes, paths of other files or credentials.
 */
import { OrchestratorError } from '../../errors.js';

/** Base of the errors about one staged object; `digest` names it. */
export abstract class StagedObjectError extends OrchestratorError {
  /** Hex sha256 of the object's plaintext. */
  readonly digest: string;

  protected constructor(digest: string, message: string) {
    // Not retryable as it is: reading the same object again gives the same answer.
    super('INTERNAL_ERROR', message, { retryable: false });
    this.digest = digest;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), digest: this.digest };
  }
}

/**
 * No object is staged under this digest: never staged, already erased, or removed by someone else.
 * Not retryable; only staging the bytes again (a new intake) brings it back.
 */
export class StagedObjectMissingError extends StagedObjectError {
  constructor(digest: string) {
    super(digest, `no staged object has digest ${digest}`);
  }
}

/**
 * The object under this digest is there but does not decrypt to bytes with this digest: altered,
 * truncated, stored under another digest, written under another key, or not a regular file.
 * `reason` says which. Not retryable.
 */
export class StagedObjectUnreadableError extends StagedObjectError {
  /** Why, in a few words, e.g. `authentication failed`. */
  readonly reason: string;

  constructor(digest: string, reason: string) {
    super(digest, `staged object ${digest} cannot be read: ${reason}`);
    this.reason = reason;
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
  /** The medium is out of space (a full disk or quota): code `STORE_FULL`. */
  full?: boolean;
  /** Minimum wait before a retry, in ms. */
  retryAfterMs?: number;
  /** A log-safe stand-in for the original error (name, code, status), never the error itself. */
  cause?: unknown;
}

/**
 * The staging medium (the directory or the bucket) refused or failed an operation: unreachable,
 * full, denied, misconfigured. Code `STORE_FULL` when it is out of space, else `STORE_UNAVAILABLE`;
 * `retryable` says whether waiting may help. Intake is meant to answer 503 for it.
 */
export class StagingUnavailableError extends OrchestratorError {
  /** The store operation that failed: `put`, `get`, `exists`, `delete` or `list`. */
  readonly operation: string;

  constructor(operation: string, detail: string, options: StagingUnavailableOptions) {
    super(options.full === true ? 'STORE_FULL' : 'STORE_UNAVAILABLE', `staging store: ${detail}`, {
      retryable: options.retryable,
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.operation = operation;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), operation: this.operation };
  }
}
