/**
 * `npm start`: the orchestrator on the configured (or embedded) defaults: ticket workers, and the
 * emulators in process where no Cloudauth endpoint is configured. On the embedded emulators it
 * drives one demo ticket to its verdict, then serves until SIGINT/SIGTERM.
 */
import { startApp } from './app.js';
import { loadConfig } from './config.js';
import { runDemoTicket } from './demo.js';
import { createLogger } from './logger.js';
import { runProcess } from './process.js';

await runProcess(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const app = await startApp(config, logger, { embedEmulators: true, workers: true });
  const serverBiz = Object.entries(config.cloudauth.biz).find(([, s]) => s === 'RPMin')?.[0];
  if (app.emulators && serverBiz !== undefined) {
    await runDemoTicket(app, serverBiz, logger);
    logger.info('workers running; the emulators keep serving (Ctrl-C to stop)');
  } else {
    logger.info({ mode: config.mode }, 'workers running');
  }
  return app;
});
