/**
 * `npm start`: the orchestrator on the configured (or embedded) defaults. On the embedded emulator
 * it drives one demo ticket through the flow, then serves until SIGINT/SIGTERM.
 */
import { startApp } from './app.js';
import { loadConfig } from './config.js';
import { runDemoTicket } from './demo.js';
import { createLogger } from './logger.js';
import { runProcess } from './process.js';

await runProcess(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const app = await startApp(config, logger);
  const biz = Object.keys(config.cloudauth.biz)[0];
  if (app.emulators && biz !== undefined) {
    const demo = await runDemoTicket(app.cloudauth, app.uploader, biz, logger);
    logger.info(demo, 'demo ticket done; the emulator keeps serving (Ctrl-C to stop)');
  } else {
    logger.info({ mode: config.mode }, 'Cloudauth client ready');
  }
  return app;
});
