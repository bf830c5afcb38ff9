/**
 * `cancel <TicketId> [--json] [--api <URL>]`: cancels a ticket that has not ended. `--json`:
 * `{"ticketId", "state": "cancelled"}`.
 */
import { withApi } from './api-context.js';
import { resolveApiTarget, type ApiOptions } from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { ExitCode } from './exit-codes.js';
import { apiOperationError, operationError } from './operation-error.js';
import { writeJson } from './output.js';

/** Runs `cancel`; answers the exit code. */
export async function cancelCommand(
  ticketId: string,
  io: CliIo,
  options: { json?: boolean } & ApiOptions = {},
): Promise<ExitCode> {
  const done = () => {
    if (options.json) writeJson(io.stdout, { ticketId, state: 'cancelled' });
    else io.stdout.write(`Ticket ${ticketId} is cancelled.\n`);
    return ExitCode.ok;
  };
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    return withApi(target, async (client) => {
      try {
        await client.command(ticketId, 'cancel');
      } catch (err) {
        throw await apiOperationError(err, client, ticketId, 'cancel');
      }
      return done();
    });
  }
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    try {
      await app.operations.cancel(ticketId);
    } catch (err) {
      throw operationError(err, 'cancel');
    }
    return done();
  });
}
