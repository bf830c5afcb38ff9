/**
 * Before any test runs: builds the package (`npm run build`: the compiled JS and declarations that
 * the command, the role processes and the packed-tarball test run, as users run them), and makes
 * sure a Redis answers: REDIS_URL, else 127.0.0.1:6379, else a `redis-server` started here on a
 * free port with nothing on disk (stopped at the end). Tests read the URL with `inject('redisUrl')`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../chaos/processes.js';
import { redisAnswers } from '../src/embedded-redis.js';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let child: ChildProcess | undefined;

/** `npm run build` on this process's node, so a suite run on Node 24 builds with Node 24. */
function build(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, ['scripts/build.js'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `npm run build failed before the tests:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`,
    );
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  build();
  const candidate = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let url = candidate;
  if (!(await redisAnswers(candidate))) {
    if (process.env.REDIS_URL) throw new Error(`REDIS_URL=${candidate} does not answer PING`);
    const port = await freePort();
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    child.on('error', (err) => {
      throw new Error(
        `no Redis on 127.0.0.1:6379 and redis-server could not start (${err.message}); install redis-server`,
      );
    });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50 && !(await redisAnswers(url)); i++)
      await new Promise((r) => setTimeout(r, 100));
    if (!(await redisAnswers(url))) throw new Error('redis-server started but does not answer');
  }
  project.provide('redisUrl', url);
  return () => {
    child?.kill('SIGTERM');
    return Promise.resolve();
  };
}
