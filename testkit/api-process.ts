/**
 * The orchestrator's HTTP API alone (no workers, no emulators) as a process of its own, started
 * from source with `startTsxProcess('…', 'testkit/api-process.ts', env, log)` by the chaos run and
 * the HTTP intake benchmark, on the Redis and the emulator named by the environment. Prints one
 * JSON line with its URL.
 */
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runProcess } from '../src/process.js';

await runProcess(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'chaos-api' });
  const app = await startApp(config, logger, { embedEmulators: false, workers: false, http: true });
  process.stdout.write(`${JSON.stringify({ apiUrl: app.apiUrl })}\n`);
  return app;
});
