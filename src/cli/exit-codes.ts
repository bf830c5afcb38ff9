/**
 * The CLI's exit codes, one table for the help text and for every command:
 *
 * - 0 success (enqueue: every valid row enqueued and no invalid rows; with --wait also every
 *   ticket ended passed or not passed)
 * - 1 unexpected error; also Redis or (with --api) the API unreachable or unavailable
 * - 2 usage or configuration error (bad arguments, unknown file type, unreadable file, config,
 *   a bearer token the API refuses)
 * - 3 some rows invalid (the valid ones were enqueued unless --dry-run); wins over 4
 * - 4 with --wait: some tickets ended failed, expired or cancelled
 * - 5 unknown TicketId or batch (status, retry, cancel, report)
 * - 6 the ticket's state does not allow the command
 * - 7 Redis is out of memory (`maxmemory`), or with --api the API's store or staging store is
 *   full: enqueue stopped; free memory (space) and run it again
 *
 * Pure; no I/O.
 */
import type { TicketState } from '../domain/ticket.js';

/** Every exit code. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  invalidRows: 3,
  ticketsUnsuccessful: 4,
  unknown: 5,
  illegalState: 6,
  storeFull: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table as printed by `--help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success (enqueue: every valid row enqueued, no invalid rows; with --wait every ticket
     ended passed or not_passed)
  1  unexpected error; also Redis or (with --api) the API unreachable or unavailable
  2  usage or configuration error (bad arguments, unknown file type, unreadable file, config,
     a bearer token the API refuses)
  3  some rows invalid (the valid ones were enqueued unless --dry-run); takes precedence over 4
  4  with --wait: some tickets ended failed, expired or cancelled
  5  unknown TicketId or batch (status, retry, cancel, report)
  6  the ticket's state does not allow the command
  7  Redis is out of memory (maxmemory), or with --api the API answers STORE_FULL or
     STAGING_FULL: enqueue stopped; free memory in Redis (or space in the staging store) and
     run the same command again (the tickets already enqueued are skipped)`;

/** An expected failure of a command: its message goes to stderr, its code to the shell. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

/** States that count as an unsuccessful ending for `enqueue --wait`. */
const UNSUCCESSFUL: readonly TicketState[] = ['failed', 'expired', 'cancelled'];

/** What `enqueue` ended with, for {@link enqueueExitCode}. */
export interface EnqueueOutcome {
  /** Invalid rows, found by the preflight or when enqueuing. */
  invalid: number;
  /** The batch's final counts per state, when --wait followed it. */
  final?: Readonly<Record<TicketState, number>>;
}

/** The exit code of `enqueue`: invalid rows (3) over unsuccessful tickets (4) over success. */
export function enqueueExitCode(outcome: EnqueueOutcome): ExitCode {
  if (outcome.invalid > 0) return ExitCode.invalidRows;
  const final = outcome.final;
  if (final && UNSUCCESSFUL.some((s) => final[s] > 0)) return ExitCode.ticketsUnsuccessful;
  return ExitCode.ok;
}
