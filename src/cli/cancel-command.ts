/** `cancel <TicketId>`: cancels a ticket that has not ended. */
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { ExitCode } from './exit-codes.js';
import { operationError } from './operation-error.js';

/** Runs `cancel`; answers the exit code. */
export async function cancelCommand(ticketId: string, io: CliIo): Promise<ExitCode> {
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    try {
      await app.operations.cancel(ticketId);
    } catch (err) {
      throw operationError(err, 'cancel');
    }
    io.stdout.write(`Ticket ${ticketId} is cancelled.\n`);
    return ExitCode.ok;
  });
}
