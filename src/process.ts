/**
 * Process plumbing shared by the long-running roles: start, report a bad configuration in one line
 * (exit 2), release everything on the first SIGINT/SIGTERM and exit at once on a second one, and
 * log an uncaught error before exiting 1.
 */
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

/** What a started process releases on shutdown. */
export interface Running {
  close(): Promise<void>;
  /** Where uncaught errors are logged; stderr until there is one. */
  logger?: Logger;
}

/**
 * Runs every release in the reverse order of `releasers` (the order things were acquired in), each
 * one even when an earlier one failed; then throws the failure, or an AggregateError of several.
 */
export async function releaseInReverse(
  releasers: readonly (() => Promise<unknown> | void)[],
): Promise<void> {
  const errors: unknown[] = [];
  for (const release of [...releasers].reverse()) {
    try {
      await release();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'several parts failed to close');
}

/** Exit code of a process ended by `signal` (128 + its number), as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs `start`. On SIGINT/SIGTERM closes what it returned (active tickets get their shutdown
 * deadline) and exits 0; a signal during start-up closes as soon as start-up ends. A second
 * signal exits at once with 130/143. An uncaught exception or unhandled rejection is logged
 * (message and stack, no data) and exits 1: the state of the process is unknown, and BullMQ hands
 * its jobs to another worker once their locks lapse.
 */
export async function runProcess(start: () => Promise<Running>): Promise<void> {
  let running: Running | undefined;
  let stopping = false;
  const fatal = (kind: string) => (err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    if (running?.logger) running.logger.fatal({ err: error }, `${kind}: exiting`);
    else process.stderr.write(`${kind}: ${error.stack ?? error.message}\n`);
    process.exit(1);
  };
  const stop = (started: Running) => {
    void started.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  // before start-up, so that a signal while starting is not lost (nor kills without cleanup)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting now, without waiting for active work\n`);
        process.exit(SIGNAL_EXIT[signal]);
      }
      stopping = true;
      if (running === undefined) {
        process.stderr.write(
          `${signal}: stopping once start-up ends (send it again to exit now)\n`,
        );
        return;
      }
      running.logger?.info({ signal }, 'shutting down (send it again to exit at once)');
      stop(running);
    });
  }
  try {
    running = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (stopping) {
    running.logger?.info('shutting down: a signal came during start-up');
    stop(running);
  }
}
