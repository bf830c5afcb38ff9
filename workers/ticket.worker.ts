/**
 * A ticket worker process: `tsx workers/ticket.worker.ts`. Scale by running more of them on the
 * same Redis. Without CLOUDAUTH_ENDPOINT it signs with the emulator's demo key against
 * EMULATOR_HOST:EMULATOR_CLOUDAUTH_PORT (start `npm run emulator` or `npm start` first).
 */
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runProcess } from '../src/process.js';

await runProcess(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'ticket-worker' });
  const app = await startApp(config, logger, { embedEmulators: false, workers: true });
  logger.info({ concurrency: config.queue.concurrency }, 'ticket worker running');
  return app;
});
