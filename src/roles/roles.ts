/**
 * The process roles: what `cloudauth-orchestrator api|worker|emulator|all` runs. Each builds only
 * what it needs, loads only its own settings (`loadConfig(env, role)`), and serves `/healthz`,
 * `/readyz` and `/metrics`:
 *
 * - `api`: the HTTP API (intake, operations page); the probes on the API's port.
 * - `worker`: ticket and webhook workers and the reconciler; the probes on
 *   `WORKER_OPS_HOST:WORKER_OPS_PORT`.
 * - `emulator`: the Cloudauth and OSS emulators; the probes on the Cloudauth emulator's port.
 * - `all` (`npm start`): everything in one process, with an embedded Redis and the emulators on
 *   embedded defaults, and one demo ticket.
 */
import { startApp, type App } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { HealthCheck, type Readiness } from '../ops/health.js';
import { Telemetry } from '../ops/metrics.js';
import { releaseInReverse, type Running } from '../process.js';
import { startOpsServer } from './ops-server.js';

/** The role names, as the command line takes them. */
export const ROLES = ['all', 'api', 'worker', 'emulator'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** A started role. */
export interface RunningRole extends Running {
  logger: Logger;
  /** Where this role serves `/healthz`, `/readyz` and `/metrics`. */
  opsUrl: string;
}

/** Starts `role` configured from `env`. */
export async function startRole(
  role: Role,
  env: Record<string, string | undefined>,
): Promise<RunningRole> {
  const config = loadConfig(env, role);
  const logger = createLogger({ level: config.logLevel, name: `cloudauth-orchestrator-${role}` });
  switch (role) {
    case 'api':
      return startApi(config, logger);
    case 'worker':
      return startWorker(config, logger);
    case 'emulator':
      return startEmulator(config, logger);
    case 'all': {
      const { startAll } = await import('./all-role.js');
      return startAll(config, logger);
    }
  }
}

async function startApi(config: Config, logger: Logger): Promise<RunningRole> {
  const app = await startApp(config, logger, { embedEmulators: false, workers: false, http: true });
  const apiUrl = app.apiUrl ?? '';
  process.stdout.write(
    `\n  HTTP API  ${apiUrl}   (OpenAPI at /openapi.json; /healthz, /readyz, /metrics)\n` +
      (app.apiTokenFile ? `  API token in ${app.apiTokenFile}\n` : '') +
      '\n',
  );
  return { logger, opsUrl: apiUrl, close: () => app.close() };
}

async function startWorker(config: Config, logger: Logger): Promise<RunningRole> {
  // The probes first: a port already taken fails the start before any job is taken, and /readyz
  // answers 503 until the workers run.
  const telemetry = new Telemetry({ logger });
  let app: App | undefined;
  const ops = await startOpsServer({
    host: config.ops.workerHost,
    port: config.ops.workerPort,
    logger,
    telemetry,
    health: {
      readiness: () => (app ? app.health.readiness() : Promise.resolve(STARTING)),
    },
  });
  try {
    app = await startApp(config, logger, { embedEmulators: false, workers: true, telemetry });
  } catch (err) {
    await ops.close();
    throw err;
  }
  const started = app;
  process.stdout.write(`\n  worker probes  ${ops.url}/healthz, /readyz, /metrics\n\n`);
  logger.info({ concurrency: config.queue.concurrency }, 'ticket worker running');
  return {
    logger,
    opsUrl: ops.url,
    close: () => releaseInReverse([() => ops.close(), () => started.close()]),
  };
}

/** What a worker's /readyz answers while it starts. */
const STARTING: Readiness = { ready: false, checks: { workers: 'fail' } };

async function startEmulator(config: Config, logger: Logger): Promise<RunningRole> {
  const { startConfiguredEmulators } = await import('../emulator/start.js');
  const telemetry = new Telemetry({ logger });
  const emulators = await startConfiguredEmulators(config, logger, {
    ops: { telemetry, health: new HealthCheck({}) },
  });
  return { logger, opsUrl: emulators.cloudauth.url, close: () => emulators.close() };
}
