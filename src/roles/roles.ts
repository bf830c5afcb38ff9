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
 *
 * Every role but `emulator` traces when an OTLP endpoint is set (`src/ops/tracing.ts`); its spans
 * are flushed on shutdown, after the role's parts have closed.
 */
import { startApp, type App } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { chooseLogFormat, createLogger, type Logger } from '../logger.js';
import { HealthCheck, type Readiness } from '../ops/health.js';
import { Telemetry } from '../ops/metrics.js';
import { startTracing, TRACING_OFF, type Tracing } from '../ops/tracing.js';
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
  const format = chooseLogFormat({
    setting: config.logFormat,
    tty: process.stdout.isTTY === true,
    production: config.mode === 'production',
  });
  const logger = createLogger({
    level: config.logLevel,
    name: `cloudauth-orchestrator-${role}`,
    format,
  });
  // the emulator records no spans of its own: nothing to export
  const tracing = role === 'emulator' ? TRACING_OFF : await startTracing(env, role, logger);
  let running: RunningRole;
  try {
    running = await startRoleParts(role, config, logger, tracing);
  } catch (err) {
    await tracing.shutdown();
    throw err;
  }
  // the parts first (their last spans end as they close), then the exporter's flush
  return {
    ...running,
    close: () => releaseInReverse([() => tracing.shutdown(), () => running.close()]),
  };
}

function startRoleParts(
  role: Role,
  config: Config,
  logger: Logger,
  tracing: Tracing,
): Promise<RunningRole> {
  switch (role) {
    case 'api':
      return startApi(config, logger, tracing);
    case 'worker':
      return startWorker(config, logger, tracing);
    case 'emulator':
      return startEmulator(config, logger);
    case 'all':
      return import('./all-role.js').then(({ startAll }) => startAll(config, logger, tracing));
  }
}

async function startApi(config: Config, logger: Logger, tracing: Tracing): Promise<RunningRole> {
  const app = await startApp(config, logger, {
    embedEmulators: false,
    workers: false,
    http: true,
    tracing,
  });
  const apiUrl = app.apiUrl ?? '';
  process.stdout.write(
    `\n  HTTP API  ${apiUrl}   (OpenAPI at /openapi.json; /healthz, /readyz, /metrics)\n` +
      (app.apiTokenFile ? `  API token in ${app.apiTokenFile}\n` : '') +
      '\n',
  );
  return { logger, opsUrl: apiUrl, close: () => app.close() };
}

async function startWorker(config: Config, logger: Logger, tracing: Tracing): Promise<RunningRole> {
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
    app = await startApp(config, logger, {
      embedEmulators: false,
      workers: true,
      telemetry,
      tracing,
    });
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
