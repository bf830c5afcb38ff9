/**
 * Every sample marked runnable in README.md and docs/**\/*.md runs, so that no guide can rot.
 *
 * The test does what a newcomer does: it starts what `npm start` starts (`cloudauth-orchestrator
 * all`, on embedded defaults: the emulators in process, generated secrets under `data/`) in a
 * scratch directory that looks like a project with the package installed (`node_modules/` links
 * to this checkout, `examples/` copied in), waits for the demo ticket to pass, then runs each
 * runnable block there in page order, the README's first. The blocks see what the guides tell
 * their reader to set: `API_URL`, `API_TOKEN` (the embedded token, `data/api.token`),
 * `RECEIVER_PORT` (a free port for a webhook receiver), and, where the process was given its own
 * rather than the defaults, `REDIS_URL`, `REDIS_PREFIX` and the emulators' ports.
 *
 * How a block is marked (its info string):
 * - ```` ```sh runnable ````: run with `bash -euo pipefail`;
 * - ```` ```python runnable ````, ```` ```js runnable ````, ```` ```ts runnable ````: run with
 *   `python3`, `node`, or `node` under tsx (types are stripped, not checked);
 * - `file=NAME` added: written to NAME in the scratch directory instead, for a later sh block to
 *   run (a receiver, a verifier);
 * - `timeout=SECONDS`: longer than the default 60 s;
 * - an `<!-- expect: REGEX -->` line right after the block: its output must match.
 * A block fails on a non-zero exit, a timeout or a missed expectation, named by page and line.
 *
 * Not runnable here, and so not marked (the pages say so where it is not plain): the two commands of
 * the quick start (`npm ci` would rebuild the checkout under the running tests; this test is what
 * `npm start` starts) and the development commands (the suite itself, Node 24 from the registry);
 * docker and docker compose (no Docker engine here); a Sentinel set or Cluster of your own, an
 * OTLP collector, real Alibaba Cloud endpoints; Java (a JDK is not among the tests' needs; the
 * backend guide's Java was checked by hand); `npm run bench`, `npm run chaos` and `npm run mutate`
 * (minutes each; the chaos run's quick form has a test of its own); the CLI reference's synopsis
 * (placeholders; the back-office guide runs each command); and the `export API_URL=…` lines that
 * tell a reader what this test sets.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, REPO_ROOT } from '../../testkit/processes.js';
import { deleteKeys } from '../support/orchestrator.js';
import { docPages, parsePage, type CodeBlock } from '../support/markdown.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOutput,
  type RoleProcess,
} from '../support/role-process.js';

const scratch = mkdtempSync(join(tmpdir(), 'docs-samples-'));
const logs = mkdtempSync(join(tmpdir(), 'docs-samples-logs-'));
const prefix = `docs-${randomUUID().slice(0, 8)}`;
let all: RoleProcess | undefined;
/** What the blocks see besides the runner's own environment. */
const sampleEnv: Record<string, string> = {};

/** The variables a block must not inherit from the test runner (they would change its mode). */
const NOT_INHERITED =
  /^(NODE_ENV|ORCHESTRATOR_MODE|CLOUDAUTH_|REDIS_|API_|WEBHOOK_|ENCRYPTION_|EMULATOR_|STAGING_|OTEL_|CAO_)/;

const blocks: CodeBlock[] = docPages().flatMap((page) =>
  parsePage(page).blocks.filter((b) => b.flags.has('runnable')),
);

/** How each language runs; `file` is where the block was written. */
const RUNNERS: Record<string, { ext: string; argv: (file: string) => string[] }> = {
  sh: { ext: 'sh', argv: (f) => ['bash', '-euo', 'pipefail', f] },
  bash: { ext: 'sh', argv: (f) => ['bash', '-euo', 'pipefail', f] },
  python: { ext: 'py', argv: (f) => ['python3', f] },
  js: { ext: 'mjs', argv: (f) => [process.execPath, f] },
  ts: {
    ext: 'ts',
    argv: (f) => [process.execPath, join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), f],
  },
};

/**
 * A project with the package installed, as a reader's would be (an ES module project):
 * `npx cloudauth-orchestrator`, `npx tsx`, `import … from 'cloudauth-orchestrator'` and
 * `'standardwebhooks'` resolve to this checkout.
 */
function makeScratchProject(): void {
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'docs-samples', private: true, type: 'module' }),
  );
  cpSync(join(REPO_ROOT, 'examples'), join(scratch, 'examples'), { recursive: true });
  mkdirSync(join(scratch, 'node_modules/.bin'), { recursive: true });
  mkdirSync(join(scratch, '.samples'));
  symlinkSync(REPO_ROOT, join(scratch, 'node_modules/cloudauth-orchestrator'), 'dir');
  symlinkSync(
    join(REPO_ROOT, 'node_modules/standardwebhooks'),
    join(scratch, 'node_modules/standardwebhooks'),
    'dir',
  );
  symlinkSync(
    join(REPO_ROOT, 'bin/cloudauth-orchestrator.js'),
    join(scratch, 'node_modules/.bin/cloudauth-orchestrator'),
  );
  symlinkSync(
    join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'),
    join(scratch, 'node_modules/.bin/tsx'),
  );
}

beforeAll(async () => {
  makeScratchProject();
  all = startRoleProcess(
    'all',
    {
      // embedded defaults, but for what must not collide with other tests: this run's Redis and
      // key prefix, free ports; and loopback webhook receivers allowed, as the backend guide says
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: prefix,
      API_PORT: '0',
      EMULATOR_CLOUDAUTH_PORT: '0',
      EMULATOR_OSS_PORT: '0',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    },
    logs,
    'all',
    scratch,
  );
  const api = await printedUrl(all, /HTTP API +(http:\/\/\S+)/);
  const cloudauth = await printedUrl(all, /Cloudauth emulator \(API 2018-09-16\) +(http:\/\/\S+)/);
  const oss = await printedUrl(all, /OSS emulator +(http:\/\/\S+)/);
  Object.assign(sampleEnv, {
    API_URL: api,
    API_TOKEN: readFileSync(join(scratch, 'data/api.token'), 'utf8').trim(),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    EMULATOR_CLOUDAUTH_PORT: new URL(cloudauth).port,
    EMULATOR_OSS_PORT: new URL(oss).port,
    RECEIVER_PORT: String(await freePort()),
    NO_COLOR: '1',
    // npx finds the package's command in node_modules/.bin: nothing to fetch, no update check
    NPM_CONFIG_OFFLINE: 'true',
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
  });
}, 60_000);

afterAll(async () => {
  await all?.stop('SIGTERM', 20_000);
  await deleteKeys(new Redis(inject('redisUrl')), [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(logs, { recursive: true, force: true });
}, 30_000);

/** Runs one block to its end in the scratch project; answers its exit and output. */
async function run(block: CodeBlock): Promise<{ exit: string; output: string }> {
  const runner = RUNNERS[block.lang === 'python3' ? 'python' : block.lang];
  if (runner === undefined)
    throw new Error(`${block.page}:${block.line}: no runner for ${block.lang}`);
  const named = block.attrs.get('file');
  const file = join(
    scratch,
    named ?? `.samples/${block.page.replaceAll('/', '_')}-${block.line}.${runner.ext}`,
  );
  writeFileSync(file, block.code);
  if (named !== undefined) return { exit: 'exit 0', output: '' };
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !NOT_INHERITED.test(e[0]),
    ),
  );
  const [command = '', ...args] = runner.argv(file);
  // a group of its own, so that whatever the block leaves running is stopped with it
  const child = spawn(command, args, {
    cwd: scratch,
    env: { ...inherited, ...sampleEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };
  const seconds = Number(block.attrs.get('timeout') ?? 60);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, seconds * 1000);
  const exit = await new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`spawn error: ${err.message}`));
    child.once('exit', (code, signal) => resolve(signal ?? `exit ${code ?? '?'}`));
  });
  clearTimeout(timer);
  killGroup();
  // the pipes close once nothing of the group holds them
  await new Promise<void>((resolve) => {
    if (child.stdout.closed && child.stderr.closed) resolve();
    else child.once('close', () => resolve());
  });
  return { exit: timedOut ? `timed out after ${seconds} s` : exit, output };
}

describe('the runnable samples of the README and the guides', () => {
  it('npm start (the all role on embedded defaults) drives its demo ticket to passed', async () => {
    if (all === undefined) throw new Error('the all role did not start');
    await waitForOutput(all, /"state":"passed"[^\n]*demo: ticket finished/, 60_000);
  }, 70_000);

  it('are many, the README among them, each in a language the test runs', () => {
    expect(blocks.filter((b) => b.page === 'README.md').length).toBeGreaterThan(0);
    expect(new Set(blocks.map((b) => b.page)).size).toBeGreaterThan(4);
    expect(blocks.length).toBeGreaterThan(20);
    const langs = new Set(blocks.map((b) => (b.lang === 'python3' ? 'python' : b.lang)));
    expect([...langs].filter((l) => RUNNERS[l] === undefined)).toEqual([]);
    expect(langs).toEqual(new Set(['sh', 'python', 'js', 'ts']));
  });

  it.each(blocks.map((b) => [`${b.page}:${b.line}`, b] as const))(
    '%s runs',
    async (where, block) => {
      const { exit, output } = await run(block);
      const shown = output.length > 6000 ? `…${output.slice(-6000)}` : output;
      expect(exit, `${where} (${block.lang}) ended with ${exit}:\n${shown}`).toBe('exit 0');
      if (block.expect) {
        expect(
          block.expect.test(output),
          `${where}: output does not match ${String(block.expect)}:\n${shown}`,
        ).toBe(true);
      }
    },
    180_000,
  );
});
