/**
 * `webhooks dead-letters` and `webhooks replay`: list and send again dead-lettered webhook events.
 * `--json`: `{"events": [{"id", "type", "attempts"}], "count"}` and `{"replayed"}`.
 */
import { listDeadLetters, replayDeadLetters } from '../webhooks/dead-letters.js';
import { unavailableWhenDown } from '../adapters/redis/store-unavailable.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { ExitCode } from './exit-codes.js';
import { writeJson } from './output.js';

export interface WebhooksOptions {
  ticket?: string;
  /** One JSON document on stdout. */
  json?: boolean;
}

/** Lists dead-lettered events (no URLs, no page links). */
export async function deadLettersCommand(options: WebhooksOptions, io: CliIo): Promise<ExitCode> {
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    const dead = await unavailableWhenDown(() =>
      listDeadLetters(
        app.webhookQueue,
        options.ticket === undefined ? {} : { ticketId: options.ticket },
      ),
    );
    const events = dead.map((job) => ({
      id: job.data.event.id,
      type: job.data.event.type,
      attempts: job.attemptsMade,
    }));
    if (options.json) {
      writeJson(io.stdout, { events, count: events.length });
      return ExitCode.ok;
    }
    for (const e of events) io.stdout.write(`${e.id}  ${e.type}  attempts ${e.attempts}\n`);
    io.stdout.write(`${dead.length} dead-lettered event(s).\n`);
    return ExitCode.ok;
  });
}

/** Sends dead-lettered events again. */
export async function replayCommand(options: WebhooksOptions, io: CliIo): Promise<ExitCode> {
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    const n = await unavailableWhenDown(() =>
      replayDeadLetters(
        app.webhookQueue,
        options.ticket === undefined ? {} : { ticketId: options.ticket },
      ),
    );
    if (options.json) writeJson(io.stdout, { replayed: n });
    else io.stdout.write(`${n} dead-lettered event(s) queued for delivery again.\n`);
    return ExitCode.ok;
  });
}
