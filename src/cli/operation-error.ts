/**
 * How the CLI reports an operator command's refusal: an unknown TicketId is exit 5, a ticket
 * whose state does not allow the command exit 6; the same over `--api`.
 */
import { IllegalTransitionError, PersonalDataErasedError, TicketNotFoundError } from '../errors.js';
import { ApiError, ApiFailure, type ApiClient } from './api-client.js';
import { CliError, ExitCode } from './exit-codes.js';

type Command = 'retry' | 'cancel' | 'erase';

const ALLOWED: Record<Command, string> = {
  retry: 'only a failed or expired ticket can be retried',
  cancel: 'only a ticket that has not ended can be cancelled',
  erase: 'a ticket in any state can be erased',
};

/** An operation's error as the CLI reports it: unknown (5), wrong state (6), or as it is. */
export function operationError(err: unknown, command: Command): unknown {
  if (err instanceof TicketNotFoundError) {
    return new CliError(ExitCode.unknown, `no ticket ${JSON.stringify(err.ticketId)}`);
  }
  if (err instanceof PersonalDataErasedError) {
    return new CliError(ExitCode.illegalState, err.message);
  }
  if (err instanceof IllegalTransitionError) {
    return new CliError(ExitCode.illegalState, `the ticket is ${err.from}: ${ALLOWED[command]}`);
  }
  return err;
}

/**
 * The API's refusal of `command` as direct mode reports it. The 409 problem names no state the
 * CLI could read without parsing its prose, so the ticket is read once more to name it.
 */
export async function apiOperationError(
  err: unknown,
  client: Pick<ApiClient, 'ticket'>,
  ticketId: string,
  command: Command,
): Promise<unknown> {
  if (!(err instanceof ApiError)) return err;
  if (err.failure === ApiFailure.unknownTicket) {
    return new CliError(ExitCode.unknown, `no ticket ${JSON.stringify(ticketId)}`);
  }
  if (err.details.code === 'PERSONAL_DATA_ERASED') {
    return new CliError(
      ExitCode.illegalState,
      "the ticket's personal data was erased: it cannot run again; send the applicant's data again under a new TicketId",
    );
  }
  if (err.failure !== ApiFailure.illegalState) return err;
  const state = await client.ticket(ticketId).then(
    (t) => t?.state,
    () => undefined,
  );
  const now =
    state === undefined ? "the ticket's state does not allow it" : `the ticket is ${state}`;
  return new CliError(ExitCode.illegalState, `${now}: ${ALLOWED[command]}`);
}
