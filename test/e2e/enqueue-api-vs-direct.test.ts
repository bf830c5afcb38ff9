/**
 * The two ways to enqueue the sample batch reach the same verdicts: `enqueue --api` (the photos
 * sent as bytes to the HTTP API) and the direct mode (the CLI on Redis, staging the photos itself
 * into the directory the workers read), against what `npm start` runs: `cloudauth-orchestrator
 * all` on embedded defaults, in a directory of its own (its `data/`: the key, the API token and
 * the staging directory), on the tests' Redis under a private prefix. Each run enqueues
 * examples/applicants.csv and its photos from a directory of its own; the direct run's TicketIds
 * carry a suffix, since a TicketId is enqueued once. `npm start`'s own demo ticket is in neither
 * batch.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, it } from 'vitest';
import { runCliIsolated } from '../support/cli-process.js';
import { deleteKeys } from '../support/orchestrator.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOk,
  waitForOutput,
  type RoleProcess,
} from '../support/role-process.js';
import { REPO_ROOT } from '../../testkit/processes.js';

const root = mkdtempSync(join(tmpdir(), 'enqueue-api-vs-direct-'));
const prefix = `api-vs-direct-${randomUUID().slice(0, 8)}`;
const SUFFIX = '-direct';
let all: RoleProcess | undefined;

afterAll(async () => {
  await all?.stop('SIGKILL');
  await deleteKeys(new Redis(inject('redisUrl')), [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(root, { recursive: true, force: true });
});

/** A directory holding the sample photos and applicants.csv, its TicketIds given `suffix`. */
function sampleInput(name: string, suffix = ''): string {
  const dir = join(root, name);
  mkdirSync(dir);
  cpSync(join(REPO_ROOT, 'examples/photos'), join(dir, 'photos'), { recursive: true });
  const [header, ...rows] = readFileSync(join(REPO_ROOT, 'examples/applicants.csv'), 'utf8')
    .trim()
    .split('\n');
  const renamed = rows.map((row) => row.replace(/^([^,]+),/, `$1${suffix},`));
  writeFileSync(join(dir, 'applicants.csv'), [header, ...renamed].join('\n') + '\n');
  return dir;
}

interface ReportRow {
  TicketId: string;
  state: string;
  statusCode: number | string;
}

/** The verdict of each row of a JSONL report, keyed by the sample's TicketId. */
function verdicts(
  file: string,
  suffix = '',
): Record<string, { state: string; statusCode: unknown }> {
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ReportRow);
  return Object.fromEntries(
    rows.map((r) => [
      r.TicketId.slice(0, r.TicketId.length - suffix.length),
      { state: r.state, statusCode: r.statusCode },
    ]),
  );
}

it('enqueue --api of the sample CSV against `npm start` reaches the same verdicts as the direct mode', async () => {
  const startDir = join(root, 'npm-start');
  mkdirSync(startDir);
  // Nothing production-like is set: embedded defaults, as `npm start` in a fresh checkout.
  all = startRoleProcess(
    'all',
    {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: prefix,
      API_PORT: '0',
      EMULATOR_CLOUDAUTH_PORT: '0',
      EMULATOR_OSS_PORT: '0',
    },
    root,
    'npm-start',
    startDir,
  );
  await waitForOutput(all, /demo: ticket finished/, 60_000);
  const api = await printedUrl(all, /HTTP API +(http:\/\/\S+)/);
  // where it says the token is (data/api.token, relative to its working directory)
  const printedTokenFile = /API token +in (\S+), e\.g\./.exec(all.output())?.[1];
  expect(printedTokenFile).toBeDefined();
  const tokenFile = resolve(startDir, printedTokenFile ?? '');
  await waitForOk(all, `${api}/readyz`);

  const apiInput = sampleInput('api-run');
  const viaApi = await runCliIsolated(apiInput, {}, [
    'enqueue',
    'applicants.csv',
    '--api',
    api,
    '--token-file',
    tokenFile,
    '--biz',
    'RPMin',
    '--batch',
    'api-run',
    '--yes',
    '--wait',
  ]);
  expect(viaApi.code, viaApi.stderr).toBe(0);
  expect(viaApi.stdout).toContain('Enqueued 10 tickets into batch api-run.');

  // The direct mode on the same machine: the same Redis and prefix, the key `npm start` keeps,
  // and its staging directory, where the CLI stages the photos for the workers.
  const direct = {
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    ENCRYPTION_KEY_FILE: join(startDir, 'data/encryption.key'),
    STAGING_DIR: join(startDir, 'data/staging'),
  };
  const directInput = sampleInput('direct-run', SUFFIX);
  const viaRedis = await runCliIsolated(directInput, direct, [
    'enqueue',
    'applicants.csv',
    '--biz',
    'RPMin',
    '--batch',
    'direct-run',
    '--yes',
    '--wait',
  ]);
  expect(viaRedis.code, viaRedis.stderr).toBe(0);
  expect(viaRedis.stdout).toContain('Enqueued 10 tickets into batch direct-run.');

  const reports = join(root, 'reports');
  mkdirSync(reports);
  const apiReport = await runCliIsolated(reports, {}, [
    'report',
    '--batch',
    'api-run',
    '--out',
    'api-run.jsonl',
    '--api',
    api,
    '--token-file',
    tokenFile,
  ]);
  expect(apiReport.code, apiReport.stderr).toBe(0);
  const directReport = await runCliIsolated(reports, direct, [
    'report',
    '--batch',
    'direct-run',
    '--out',
    'direct-run.jsonl',
  ]);
  expect(directReport.code, directReport.stderr).toBe(0);

  const apiVerdicts = verdicts(join(reports, 'api-run.jsonl'));
  const directVerdicts = verdicts(join(reports, 'direct-run.jsonl'), SUFFIX);
  expect(Object.keys(apiVerdicts)).toHaveLength(10);
  expect(directVerdicts).toEqual(apiVerdicts);
  // and they are the sample's verdicts, not ten equal failures
  expect(apiVerdicts['example-0010']).toEqual({ state: 'not_passed', statusCode: 2 });
  expect(Object.values(apiVerdicts).filter((v) => v.state === 'passed')).toHaveLength(9);
  expect(viaApi.stdout).toContain('Final: 10 tickets: passed 9, not_passed 1');
  expect(viaRedis.stdout).toContain('Final: 10 tickets: passed 9, not_passed 1');
}, 180_000);
