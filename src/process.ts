/**
 * Process plumbing shared by the entry points: start, report a bad configuration in one line
 * (exit 2), and release everything on SIGINT/SIGTERM.
 */
import { ConfigError } from './errors.js';

export interface Running {
  close(): Promise<void>;
}

/** Runs `start`; on SIGINT/SIGTERM closes what it returned and exits 0. */
export async function runProcess(start: () => Promise<Running>): Promise<void> {
  let running: Running;
  try {
    running = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
}
