/**
 * Makes sure a Redis answers before any test runs: REDIS_URL, else 127.0.0.1:6379, else a
 * `redis-server` started here on a free port with nothing on disk (stopped at the end).
 * Tests read the URL with `inject('redisUrl')`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../chaos/processes.js';
import { redisAnswers } from '../src/embedded-redis.js';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let child: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
