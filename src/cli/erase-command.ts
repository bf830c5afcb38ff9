/**
 * `erase <TicketId> [--api <URL>]`: erases one applicant's personal data on request (name, ID
 * number, staged photos), whatever the ticket's state; a ticket still running is cancelled first.
 * The ticket records when and why (`status` shows it); its masked applicant, verdict and history
 * stay until `TICKET_RETENTION_SECONDS`. `--json`: `{"ticketId", "state", "personalDataErasedAt"}`
 * (ISO 8601, or null when the store did not say).
 */
import { withApi } from './api-context.js';
import { resolveApiTarget, type ApiOptions } from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { ExitCode } from './exit-codes.js';
import { apiOperationError, operationError } from './operation-error.js';
import { writeJson } from './output.js';

/** Runs `erase`; answers the exit code. */
export async function eraseCommand(
  ticketId: string,
  io: CliIo,
  options: { json?: boolean } & ApiOptions = {},
): Promise<ExitCode> {
  const done = (state: string, at: string | undefined) => {
    if (options.json) {
      writeJson(io.stdout, { ticketId, state, personalDataErasedAt: at ?? null });
      return ExitCode.ok;
    }
    io.stdout.write(
      `Ticket ${ticketId} (${state}): the applicant's name, ID number and photos are erased${at === undefined ? '' : ` (${at})`}.\n`,
    );
    return ExitCode.ok;
  };
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    return withApi(target, async (client) => {
      try {
        const view = await client.command(ticketId, 'erase');
        return done(view.state, view.personalDataErasedAt ?? undefined);
      } catch (err) {
        throw await apiOperationError(err, client, ticketId, 'erase');
      }
    });
  }
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    try {
      const t = await app.operations.erase(ticketId);
      return done(
        t.state,
        t.erasedAt === undefined ? undefined : new Date(t.erasedAt).toISOString(),
      );
    } catch (err) {
      throw operationError(err, 'erase');
    }
  });
}
