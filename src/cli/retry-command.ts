/**
 * `retry <TicketId>` sends a failed or expired ticket back to `queued`; `retry --failed
 * [--batch <id>]` does so for every failed ticket (of the batch). With `--api` the same over the
 * HTTP API: one ticket through `POST /v1/tickets/:id/retry`, `--failed` by listing the failed
 * tickets (`GET /v1/tickets?state=failed`) and retrying each, as direct mode does. A retried
 * financial ID_PRO ticket has a new start link (the ones sent before no longer open): `retry
 * <TicketId>` prints it, to be sent to the person again. `--json`: `{"ticketId", "state",
 * "startUrl"?}` for one ticket, `{"retried", "batch"}` for `--failed`.
 */
import { ApiError, ApiFailure, type ApiClient } from './api-client.js';
import { withApi } from './api-context.js';
import { checkApiBatchId, resolveApiTarget, type ApiOptions } from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { apiOperationError, operationError } from './operation-error.js';
import { writeJson } from './output.js';
import { cliStartLinks, hasStartLink, START_LINK_UNKNOWN } from './start-links.js';

/** The options of `retry`. */
export interface RetryOptions extends ApiOptions {
  /** Retry every failed ticket (of --batch). */
  failed?: boolean;
  batch?: string;
  /** One JSON document on stdout. */
  json?: boolean;
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

/** What `retry` does, wherever the tickets are. */
interface RetryBackend {
  /**
   * `startUrl`: the new start link of a financial ID_PRO ticket; null when it has one that this
   * process cannot make (direct mode without the API's public URL).
   */
  retry(ticketId: string): Promise<{ state: string; startUrl?: string | null }>;
  /** Tickets of the batch (every state). */
  countBatch(batchId: string): Promise<Record<string, number>>;
  retryFailed(batchId: string | undefined): Promise<number>;
}

/** Runs `retry`; answers the exit code. */
export async function retryCommand(
  ticketId: string | undefined,
  options: RetryOptions,
  io: CliIo,
): Promise<ExitCode> {
  checkRetryArguments(ticketId, options);
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    if (options.batch !== undefined) checkApiBatchId(options.batch);
    return withApi(target, (client) => runRetry(ticketId, options, apiBackend(client), io));
  }
  const config = loadCliConfig(io);
  return withApp(config, (app) =>
    runRetry(
      ticketId,
      options,
      {
        retry: async (id) => {
          let t;
          try {
            t = await app.operations.retry(id);
          } catch (err) {
            throw operationError(err, 'retry');
          }
          if (!hasStartLink(t)) return { state: t.state };
          return { state: t.state, startUrl: cliStartLinks(config)?.startUrlOf(t) ?? null };
        },
        countBatch: (id) => app.store.countBatch(id),
        retryFailed: (batchId) =>
          app.operations.retryFailed(batchId === undefined ? {} : { batchId }),
      },
      io,
    ),
  );
}

async function runRetry(
  ticketId: string | undefined,
  options: Pick<RetryOptions, 'batch' | 'json'>,
  backend: RetryBackend,
  io: CliIo,
): Promise<ExitCode> {
  const batchId = options.batch;
  if (ticketId !== undefined) {
    const t = await backend.retry(ticketId);
    if (options.json) {
      // the new start link is a bearer link, printed (as in text) because it was asked for
      const startUrl = typeof t.startUrl === 'string' ? { startUrl: t.startUrl } : {};
      writeJson(io.stdout, { ticketId, state: t.state, ...startUrl });
    } else {
      io.stdout.write(`Ticket ${ticketId} is ${t.state} again.\n`);
      if (typeof t.startUrl === 'string') {
        io.stdout.write(`New start link (the ones sent before no longer open): ${t.startUrl}\n`);
      }
    }
    if (t.startUrl === null) {
      io.stderr.write(
        `retry: the ticket has a new start link (the ones sent before no longer open); ${START_LINK_UNKNOWN}\n`,
      );
    }
    return ExitCode.ok;
  }
  if (batchId !== undefined) {
    const counts = await backend.countBatch(batchId);
    if (Object.values(counts).every((n) => n === 0)) {
      throw new CliError(ExitCode.unknown, `no batch ${JSON.stringify(batchId)}`);
    }
  }
  const n = await backend.retryFailed(batchId);
  if (options.json) {
    writeJson(io.stdout, { retried: n, batch: batchId ?? null });
    return ExitCode.ok;
  }
  const scope = batchId === undefined ? '' : ` of batch ${batchId}`;
  io.stdout.write(`Retried ${n} failed ticket${n === 1 ? '' : 's'}${scope}.\n`);
  return ExitCode.ok;
}

function apiBackend(client: ApiClient): RetryBackend {
  return {
    retry: async (id) => {
      try {
        const view = await client.command(id, 'retry');
        return {
          state: view.state,
          ...(view.startUrl === null ? {} : { startUrl: view.startUrl }),
        };
      } catch (err) {
        throw await apiOperationError(err, client, id, 'retry');
      }
    },
    countBatch: (id) => client.countBatch(id),
    retryFailed: (batchId) => retryFailedOverApi(client, batchId),
  };
}

/**
 * Every failed ticket (of the batch) retried one by one, page after page, as
 * `TicketOperations.retryFailed` does in direct mode: one that another operator retried or that
 * is gone meanwhile is skipped. Answers how many were retried.
 */
export async function retryFailedOverApi(
  client: Pick<ApiClient, 'tickets' | 'command'>,
  batchId: string | undefined,
): Promise<number> {
  let count = 0;
  for await (const t of client.tickets({
    state: 'failed',
    ...(batchId === undefined ? {} : { batch: batchId }),
  })) {
    try {
      await client.command(t.TicketId, 'retry');
      count++;
    } catch (err) {
      const skipped =
        err instanceof ApiError &&
        (err.failure === ApiFailure.illegalState || err.failure === ApiFailure.unknownTicket);
      if (!skipped) throw err;
    }
  }
  return count;
}
