/**
 * Before any test runs: builds the package (`npm run build`: the compiled JS and declarations that
 * the command, the role processes and the packed-tarball test run, as users run them), and makes
 * sure a Redis answers: REDIS_URL, else 127.0.0.1:6379, else a `redis-server` started here
 * (testkit/redis.ts) on a free port with nothing on disk (stopped at the end). Tests read the URL with `inject('redisUrl')`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { redisAnswers } from '../src/embedded-redis.js';
import { startRedisServer, type RedisServer } from '../testkit/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: RedisServer | undefined;

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
    server = await startRedisServer({ name: "the tests' redis-server" });
    url = server.url;
  }
  project.provide('redisUrl', url);
  return async () => {
    await server?.stop();
  };
}
