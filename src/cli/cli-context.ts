/**
 * What every command runs with: the process's streams and environment, the configuration (read
 * as the workers read it: same Redis, same REDIS_PREFIX), and the app without workers or
 * emulators. Logs go to stderr at warn (or quieter when LOG_LEVEL says so); user output to stdout.
 */
import { pino } from 'pino';
import type { App } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { ConfigError, StoreUnavailableError, TicketNotFoundError } from '../errors.js';
import { createLogger } from '../logger.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { boundHeapGrowth } from './heap-growth.js';

/** The process as a command sees it. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where relative output paths resolve and the invalid-row log falls back to. */
  cwd: string;
  /**
   * Called as a batch command (enqueue, report) starts: the process's own sets V8's heap growth
   * for it (see `heap-growth.ts`); a test running commands in its own process passes none.
   */
  batchStarting?: () => void;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    batchStarting: () => void boundHeapGrowth(),
  };
}

/**
 * The configuration as the command line needs it (in production only `REDIS_URL` and
 * `ENCRYPTION_KEY`); a configuration error becomes a usage error (exit 2).
 */
export function loadCliConfig(io: CliIo): Config {
  try {
    return loadConfig(io.env, 'cli');
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}

const QUIETER_THAN_WARN = new Set(['error', 'fatal', 'silent']);

/**
 * Runs `f` with the app (no workers, no emulators), and closes it whatever happens. The app's
 * modules are loaded here, so that help and argument errors answer at once. An unknown TicketId
 * ends the command with exit code 5; an unreachable Redis with exit code 1, saying so.
 */
export async function withApp<T>(config: Config, f: (app: App) => Promise<T>): Promise<T> {
  const level = QUIETER_THAN_WARN.has(config.logLevel) ? config.logLevel : 'warn';
  const logger = createLogger(
    { level, name: 'cloudauth-orchestrator-cli' },
    pino.destination({ fd: 2, sync: true }),
  );
  const { startApp } = await import('../app.js');
  let app: App;
  try {
    app = await startApp(config, logger, { embedEmulators: false, workers: false });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
  for (const queue of [app.queue, app.webhookQueue]) {
    queue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));
  }
  try {
    return await f(app);
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      const cause = err.cause instanceof Error ? err.cause.message : err.message;
      throw new Error(`Redis does not answer (REDIS_URL): ${cause}`);
    }
    if (err instanceof TicketNotFoundError) {
      throw new CliError(ExitCode.unknown, `no ticket ${JSON.stringify(err.ticketId)}`);
    }
    throw err;
  } finally {
    await app.close();
  }
}
