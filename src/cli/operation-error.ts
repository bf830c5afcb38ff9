/**
 * How the CLI reports an operator command's refusal: an unknown TicketId is exit 5, a ticket
 * whose state does not allow the command exit 6.
 */
import { IllegalTransitionError, TicketNotFoundError } from '../errors.js';
import { CliError, ExitCode } from './exit-codes.js';

const ALLOWED: Record<'retry' | 'cancel', string> = {
  retry: 'only a failed or expired ticket can be retried',
  cancel: 'only a ticket that has not ended can be cancelled',
};

/** An operation's error as the CLI reports it: unknown (5), wrong state (6), or as it is. */
export function operationError(err: unknown, command: 'retry' | 'cancel'): unknown {
  if (err instanceof TicketNotFoundError) {
    return new CliError(ExitCode.unknown, `no ticket ${JSON.stringify(err.ticketId)}`);
  }
  if (err instanceof IllegalTransitionError) {
    return new CliError(ExitCode.illegalState, `the ticket is ${err.from}: ${ALLOWED[command]}`);
  }
  return err;
}
