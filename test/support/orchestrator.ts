/**
 * An orchestrator in process for e2e tests: the emulators on port 0, a unique Redis prefix, the
 * app with (or without) workers, and a cleanup that deletes every key under the prefix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildHttpApi, type HttpApiDeps } from '../../src/api/http-api.js';
import type { CloudauthEmulatorOptions } from '../../src/emulator/cloudauth/index.js';
import type { Emulators } from '../../src/emulator/start.js';
import type { Tracing } from '../../src/ops/tracing.js';
import { isTerminal, type HistoryEntry } from '../../src/domain/ticket.js';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from './emulator.js';
import { startTestEmulators } from './emulators.js';
import { waitUntil } from '../../testkit/waiting.js';
import { deleteKeys, redisEnv, testRedis } from './redis.js';

export { deleteKeys } from './redis.js';

export interface TestOrchestrator {
  emu: Omit<Emulators, 'demoKey'>;
  app: App;
  prefix: string;
  /** The environment the app was configured from (for worker processes). */
  env: Record<string, string>;
  /** Its staging directory (`STAGING_DIR`, a private temp dir removed by `close`). */
  stagingDir: string;
  waitFor(
    ticketId: string,
    until?: (t: StoredTicket) => boolean,
    timeoutMs?: number,
  ): Promise<StoredTicket>;
  close(): Promise<void>;
}

export const TEST_BIZ = 'RPMin=RPMin,RPBasic=RPBasic,RPH5BioOnly=RPH5BioOnly';

export async function startTestOrchestrator(
  options: {
    emulator?: Partial<CloudauthEmulatorOptions>;
    env?: Record<string, string>;
    workers?: boolean;
    /** Serve the HTTP API on a free port (`app.apiUrl`); set API_TOKENS in `env`. */
    http?: boolean;
    /**
     * Trace through the provider the test registered (`tracingOn()`): BullMQ's telemetry on every
     * queue and worker. Default off.
     */
    tracing?: Tracing;
  } = {},
): Promise<TestOrchestrator> {
  const emu = await startTestEmulators(options.emulator);
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const stagingDir = mkdtempSync(join(tmpdir(), `${prefix}-staging-`));
  const env: Record<string, string> = {
    STAGING_DIR: stagingDir,
    // the Cloudauth endpoint is the emulator's: embedded mode, asked for (an endpoint alone
    // would select production); its verdicts are marked emulated
    ORCHESTRATOR_MODE: 'embedded',
    // the run's topology, unless the test brings its own Redis
    ...(['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some((k) => options.env?.[k])
      ? {}
      : redisEnv()),
    REDIS_PREFIX: prefix,
    CLOUDAUTH_ENDPOINT: emu.cloudauth.url,
    CLOUDAUTH_ACCESS_KEY_ID: TEST_KEY_ID,
    CLOUDAUTH_ACCESS_KEY_SECRET: TEST_KEY_SECRET,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CLOUDAUTH_BIZ: TEST_BIZ,
    CLOUDAUTH_QPS: '*=0',
    POLL_INITIAL_MS: '100',
    POLL_MAX_MS: '300',
    BACKOFF_BASE_MS: '50',
    BACKOFF_CAP_MS: '400',
    WORKER_CONCURRENCY: '20',
    SHUTDOWN_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    API_PORT: '0',
    // worker processes started with this environment each serve their probes on a free port
    WORKER_OPS_PORT: '0',
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = pino({ level: 'silent' });
  let app: App;
  try {
    app = await startApp(config, logger, {
      embedEmulators: false,
      workers: options.workers ?? true,
      http: options.http ?? false,
      tracing: options.tracing,
    });
  } catch (err) {
    await emu.close();
    rmSync(stagingDir, { recursive: true, force: true });
    throw err;
  }
  return {
    emu,
    app,
    prefix,
    env,
    stagingDir,
    async waitFor(ticketId, until = (t) => isTerminal(t.state), timeoutMs = 20_000) {
      // the message names the last state only: a ticket holds its lease's secrets
      const seen: { last?: StoredTicket } = {};
      const there = async () => {
        const t = await app.store.get(ticketId);
        if (t) seen.last = t;
        return t !== undefined && until(t);
      };
      try {
        await waitUntil(`ticket ${ticketId}`, there, { timeoutMs, everyMs: 50 });
      } catch (err) {
        throw new Error(
          `ticket ${ticketId} did not get there in time; last state ${seen.last?.state}`,
          { cause: err },
        );
      }
      return seen.last as StoredTicket;
    },
    async close() {
      await app.close();
      await emu.close();
      await deleteKeys(testRedis(), [`${prefix}:*`, `{${prefix}:q}:*`]);
      rmSync(stagingDir, { recursive: true, force: true });
    },
  };
}

/** True when the history is one chain from `queued`: no transition was applied twice. */
export function isOneChain(history: readonly HistoryEntry[]): boolean {
  if (history[0]?.from !== 'queued') return false;
  return history.every((h, i) => i === 0 || history[i - 1]?.to === h.from);
}

/** A valid applicant binding with a small face photo as bytes. */
export function aBinding(
  face: Buffer,
  name = '李三',
  idNumber = '11010519491231002X',
): { name: string; idNumber: string; materials: { FacePic: { kind: 'bytes'; base64: string } } } {
  return {
    name,
    idNumber,
    materials: { FacePic: { kind: 'bytes', base64: face.toString('base64') } },
  };
}

/**
 * The HTTP API over a test orchestrator's intake, operations and store, built in process
 * (`inject`), with the orchestrator's limits; `overrides` replace any of its deps.
 */
export function testHttpApi(
  o: TestOrchestrator,
  overrides: Partial<HttpApiDeps> & Pick<HttpApiDeps, 'tokens'>,
): FastifyInstance {
  return buildHttpApi({
    intake: o.app.intake,
    operations: o.app.operations,
    store: o.app.store,
    biz: o.app.config.cloudauth.biz,
    bodyLimitBytes: o.app.config.api.bodyLimitBytes,
    batchMax: o.app.config.api.batchMax,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
}
