/** `webhooks dead-letters` and `webhooks replay`: list and send again dead-lettered webhook events. */
import { listDeadLetters, replayDeadLetters } from '../webhooks/dead-letters.js';
import { unavailableWhenDown } from '../adapters/redis/store-unavailable.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { ExitCode } from './exit-codes.js';

export interface WebhooksOptions {
  ticket?: string;
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
    for (const job of dead) {
      const e = job.data.event;
      io.stdout.write(`${e.id}  ${e.type}  attempts ${job.attemptsMade}\n`);
    }
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
    io.stdout.write(`${n} dead-lettered event(s) queued for delivery again.\n`);
    return ExitCode.ok;
  });
}
