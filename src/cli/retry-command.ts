/**
 * `retry <TicketId>` sends a failed or expired ticket back to `queued`; `retry --failed
 * [--batch <id>]` does so for every failed ticket (of the batch).
 */
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { operationError } from './operation-error.js';

/** The options of `retry`. */
export interface RetryOptions {
  /** Retry every failed ticket (of --batch). */
  failed?: boolean;
  batch?: string;
}

/** Checks how `retry` was called; a usage error for a wrong combination. */
export function checkRetryArguments(ticketId: string | undefined, options: RetryOptions): void {
  if (ticketId !== undefined && options.failed) {
    throw usageError('give either a TicketId or --failed, not both');
  }
  if (ticketId === undefined && !options.failed) {
    throw usageError('give a TicketId, or --failed to retry every failed ticket');
  }
  if (options.batch !== undefined && !options.failed) {
    throw usageError('--batch goes with --failed');
  }
}

/** Runs `retry`; answers the exit code. */
export async function retryCommand(
  ticketId: string | undefined,
  options: RetryOptions,
  io: CliIo,
): Promise<ExitCode> {
  checkRetryArguments(ticketId, options);
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    if (ticketId !== undefined) {
      try {
        const t = await app.operations.retry(ticketId);
        io.stdout.write(`Ticket ${ticketId} is ${t.state} again.\n`);
      } catch (err) {
        throw operationError(err, 'retry');
      }
      return ExitCode.ok;
    }
    const batchId = options.batch;
    if (batchId !== undefined) {
      const counts = await app.store.countBatch(batchId);
      if (Object.values(counts).every((n) => n === 0)) {
        throw new CliError(ExitCode.unknown, `no batch ${JSON.stringify(batchId)}`);
      }
    }
    const n = await app.operations.retryFailed(batchId === undefined ? {} : { batchId });
    const scope = batchId === undefined ? '' : ` of batch ${batchId}`;
    io.stdout.write(`Retried ${n} failed ticket${n === 1 ? '' : 's'}${scope}.\n`);
    return ExitCode.ok;
  });
}
