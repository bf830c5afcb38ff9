/**
 * The package exactly as a user gets it: the project is packed with `npm pack`, the tarball is
 * installed into a fresh project outside the repository, a strict TypeScript consumer imports
 * every export by the package's name and type-checks against the shipped declarations (and a
 * wrong call does not), and the compiled consumer runs under plain node: its producer enqueues a
 * ticket that the installed package's own `emulator` and `worker` processes finish, and
 * `verifyWebhook` checks the delivery it receives.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  WRONG_LINES,
  errorLines,
  packProject,
  run,
  writeConsumerProject,
  type ChildRun,
  type PackedTarball,
} from '../support/package-consumer.js';
import { smallJpeg } from '../support/images.js';
import {
  REPO_ROOT,
  exitedReason,
  freePorts,
  startProcess,
  type ManagedProcess,
} from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/waiting.js';

/** The runtime exports of src/index.ts; a new export must be added here and to the consumer. */
const RUNTIME_EXPORTS = [
  'CLOUDAUTH_API_VERSION',
  'CloudauthClient',
  'ERROR_CODES',
  'OrchestratorError',
  'PersonalDataErasedError',
  'ProviderError',
  'SIGNATURE_HEADER',
  'StagingUnavailableError',
  'StoreFullError',
  'StoreUnavailableError',
  'ThrottledError',
  'TicketRejectedError',
  'TransportError',
  'ValidationError',
  'WEBHOOK_EVENT_TYPES',
  'connectRedis',
  'createApiClient',
  'createTicketProducer',
  'isRetryable',
  'signWebhook',
  'ticketRequestSchema',
  'verifyWebhook',
];

const DEMO_KEY_ID = 'LTAIdemoOrchestrator';
const DEMO_KEY_SECRET = 'demo-secret-change-me';

let workDir: string;
let consumerDir: string;
let packed: PackedTarball;
let compiled: ChildRun;
const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'package-consumer-'));
  consumerDir = join(workDir, 'consumer');
  packed = await packProject(workDir);
  const typesNode = JSON.parse(
    readFileSync(join(REPO_ROOT, 'node_modules/@types/node/package.json'), 'utf8'),
  ) as { version: string };
  await writeConsumerProject(consumerDir, packed.tarball, typesNode.version);
  const installed = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    { cwd: consumerDir, timeoutMs: 170_000 },
  );
  if (installed.code !== 0) {
    throw new Error(`npm install of the tarball failed (${installed.code}):\n${installed.stderr}`);
  }
  compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: consumerDir,
  });
}, 180_000);

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships compiled JS, declarations and the command, and no TypeScript sources or tests', () => {
    const files = packed.files;
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'docs/index.md',
        'docs/reference/http-api.md',
        'bin/cloudauth-orchestrator.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/cli/main.js',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(
      files.filter((f) => /^(src|test|bench|chaos|examples|scripts|deploy)\//.test(f)),
    ).toEqual([]);
    // every compiled file has its source: a file left in dist/ by an earlier build is not shipped
    const orphans = files
      .filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
      .map((f) => f.slice('dist/'.length))
      .filter((f) => {
        const source = join(REPO_ROOT, f.replace(/\.js$/, '.ts'));
        return !existsSync(source) && !existsSync(join(REPO_ROOT, f));
      });
    expect(orphans).toEqual([]);
  });

  it('type-checks a strict consumer against its declarations, and refuses wrong calls', async () => {
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    const wrong = await run(
      process.execPath,
      [tsc, '-p', 'tsconfig.wrong.json', '--pretty', 'false'],
      {
        cwd: consumerDir,
      },
    );
    expect(wrong.code).not.toBe(0);
    expect([...new Set(errorLines(wrong.stdout, 'wrong.ts'))]).toEqual(WRONG_LINES);
    // the errors are all in the consumer's file, none in the package's declarations
    expect(
      wrong.stdout.split('\n').filter((l) => /error TS/.test(l) && !l.startsWith('wrong.ts')),
    ).toEqual([]);
  });

  describe('at run time, with the installed orchestrator', () => {
    const prefix = `pkg-${randomUUID().slice(0, 8)}`;
    const encryptionKey = randomBytes(32).toString('base64');
    const webhookSecret = randomBytes(24).toString('hex');
    const children: ManagedProcess[] = [];
    let redis: Redis;
    let emulatorUrl: string;
    let bin: string;

    beforeAll(async () => {
      redis = new Redis(inject('redisUrl'));
      bin = join(consumerDir, 'node_modules/.bin/cloudauth-orchestrator');
      const [cloudauthPort = 0, ossPort = 0, workerOpsPort = 0] = await freePorts(3);
      emulatorUrl = `http://127.0.0.1:${cloudauthPort}`;
      const common = {
        NODE_OPTIONS: '',
        LOG_LEVEL: 'warn',
        ORCHESTRATOR_MODE: 'embedded',
        CLOUDAUTH_BIZ: 'RPMin=RPMin',
      };
      const emulator = startProcess({
        name: 'emulator',
        command: bin,
        args: ['emulator'],
        env: {
          ...common,
          EMULATOR_HOST: '127.0.0.1',
          EMULATOR_CLOUDAUTH_PORT: String(cloudauthPort),
          EMULATOR_OSS_PORT: String(ossPort),
        },
        logFile: join(workDir, 'emulator.log'),
      });
      const worker = startProcess({
        name: 'worker',
        command: bin,
        args: ['worker'],
        env: {
          ...common,
          REDIS_URL: inject('redisUrl'),
          REDIS_PREFIX: prefix,
          ENCRYPTION_KEY: encryptionKey,
          WEBHOOK_SECRET: webhookSecret,
          // the consumer checks the delivery with the exported (deprecated) verifyWebhook, which
          // reads the legacy header: sent only when asked for
          WEBHOOK_LEGACY_SIGNATURE: 'true',
          WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
          CLOUDAUTH_ENDPOINT: emulatorUrl,
          CLOUDAUTH_ACCESS_KEY_ID: DEMO_KEY_ID,
          CLOUDAUTH_ACCESS_KEY_SECRET: DEMO_KEY_SECRET,
          CLOUDAUTH_QPS: '*=0',
          STAGING_DIR: join(workDir, 'staging'),
          POLL_INITIAL_MS: '100',
          POLL_MAX_MS: '300',
          WORKER_OPS_HOST: '127.0.0.1',
          WORKER_OPS_PORT: String(workerOpsPort),
        },
        logFile: join(workDir, 'worker.log'),
      });
      children.push(emulator, worker);
      const ready = (url: string) => async () => (await fetch(url)).status === 200;
      await Promise.all([
        waitUntil('the emulator /readyz', ready(`${emulatorUrl}/readyz`), {
          timeoutMs: 30_000,
          everyMs: 100,
          abortIf: exitedReason(emulator),
        }),
        waitUntil('the worker /readyz', ready(`http://127.0.0.1:${workerOpsPort}/readyz`), {
          timeoutMs: 30_000,
          everyMs: 100,
          abortIf: exitedReason(worker),
        }),
      ]).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logs(workDir)}`);
      });
    }, 60_000);

    afterAll(async () => {
      await Promise.all(children.map((c) => c.stop('SIGTERM', 5000)));
      if (redis !== undefined) {
        for (const match of [`${prefix}:*`, `{${prefix}:*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
            if (keys.length > 0) await redis.del(...keys);
            cursor = next;
          } while (cursor !== '0');
        }
        redis.disconnect();
      }
    });

    it('enqueues a ticket that the installed worker passes, and verifies its signed delivery', async () => {
      // the roles ran from the tarball's dependencies alone: no TypeScript runner, no compiler
      for (const dev of ['tsx', 'typescript', 'vitest']) {
        expect(existsSync(join(consumerDir, 'node_modules', dev)), dev).toBe(false);
      }
      const ticketId = `${prefix}-1`;
      const faceFile = join(workDir, 'face.jpg');
      await writeFile(faceFile, await smallJpeg('#8a6b4e'));
      const consumer = await run(process.execPath, [join(consumerDir, 'out/consumer.js')], {
        cwd: consumerDir,
        timeoutMs: 100_000,
        env: {
          REDIS_URL: inject('redisUrl'),
          REDIS_PREFIX: prefix,
          ENCRYPTION_KEY: encryptionKey,
          WEBHOOK_SECRET: webhookSecret,
          CLOUDAUTH_ENDPOINT: emulatorUrl,
          CLOUDAUTH_ACCESS_KEY_ID: DEMO_KEY_ID,
          CLOUDAUTH_ACCESS_KEY_SECRET: DEMO_KEY_SECRET,
          TICKET_ID: ticketId,
          FACE_FILE: faceFile,
          STAGING_DIR: join(workDir, 'staging'),
        },
      });
      expect(consumer.stderr + (consumer.code === 0 ? '' : logs(workDir))).toBe('');
      expect(consumer.code).toBe(0);
      const seen = JSON.parse(consumer.stdout) as Record<string, unknown>;
      expect(seen.namespaceKeys).toEqual(RUNTIME_EXPORTS);
      expect(seen.kinds).toEqual({
        CLOUDAUTH_API_VERSION: 'string',
        CloudauthClient: 'function',
        ERROR_CODES: 'object',
        OrchestratorError: 'function',
        PersonalDataErasedError: 'function',
        ProviderError: 'function',
        SIGNATURE_HEADER: 'string',
        StagingUnavailableError: 'function',
        StoreFullError: 'function',
        StoreUnavailableError: 'function',
        ThrottledError: 'function',
        TicketRejectedError: 'function',
        TransportError: 'function',
        ValidationError: 'function',
        WEBHOOK_EVENT_TYPES: 'object',
        connectRedis: 'function',
        createApiClient: 'function',
        createTicketProducer: 'function',
        isRetryable: 'function',
        signWebhook: 'function',
        ticketRequestSchema: 'object',
        verifyWebhook: 'function',
      });
      expect(seen).toMatchObject({
        apiVersion: '2018-09-16',
        schemaAccepts: true,
        created: true,
        acceptedState: 'queued',
        rejection: {
          name: 'TicketRejectedError',
          code: 'VALIDATION_FAILED',
          fields: ['Binding.IdentificationNumber'],
          retryable: false,
        },
        event: {
          type: 'ticket.passed',
          ticketId,
          biz: 'RPMin',
          state: 'passed',
          verdict: { statusCode: 1 },
          emulated: true,
        },
        verified: true,
        tampered: false,
        wrongSecret: false,
        signedHere: true,
        action: 'GetStatus',
        statusCode: 1,
        errors: {
          storeFull: { code: 'STORE_FULL', retryable: true, retryAfterMs: 1000 },
          throttledIsProvider: true,
          transportRetryable: true,
          plainErrorRetryable: false,
          storeFullFault: 'internal',
        },
      });
      expect(JSON.stringify(seen.event)).not.toContain('11010519491231002X');

      const status = await run(bin, ['status', ticketId, '--json'], {
        cwd: consumerDir,
        env: {
          ORCHESTRATOR_MODE: 'embedded',
          // the test's Redis runs without an AOF, which the CLI warns about on stderr
          LOG_LEVEL: 'error',
          REDIS_URL: inject('redisUrl'),
          REDIS_PREFIX: prefix,
          ENCRYPTION_KEY: encryptionKey,
          CLOUDAUTH_BIZ: 'RPMin=RPMin',
        },
      });
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        ticketId,
        state: 'passed',
        emulated: true,
        verdict: { statusCode: 1 },
      });
    }, 120_000);
  });
});

/** The children's logs, for a failure message. */
function logs(dir: string): string {
  return ['emulator.log', 'worker.log']
    .map((name) => {
      try {
        return `--- ${name}\n${readFileSync(join(dir, name), 'utf8')}`;
      } catch {
        return `--- ${name}: none`;
      }
    })
    .join('\n');
}
