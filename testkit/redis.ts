/**
 * A `redis-server` child of its own, for tests, benchmarks and the chaos run: loopback only, on a
 * given or a free port, in its own directory (its log, and its AOF when asked for), RDB snapshots
 * off, `noeviction`. Started and waited for until it answers PING; stopped gracefully (SIGTERM:
 * Redis flushes its AOF and exits), or killed with SIGKILL and started again on the same port from
 * the same directory, for outages. Killed with the process that started it (testkit/processes.ts).
 *
 * `src/embedded-redis.ts` starts a redis-server too, for `npm start`. It stays separate: it is
 * product code, shipped in the package, and the product must not import the test kit (a lint rule
 * in eslint.config.js keeps it so). Its PING probe, `redisAnswers`, does not fit here: a PONG must
 * come from the process this kit started, not from another server on the port (the port taken in
 * the meantime, an old server not gone yet), so the kit asks for the server's `process_id`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { exitedReason, freePort, startProcess, type ManagedProcess } from './processes.js';
import { waitUntil } from './waiting.js';

/** `appendfsync`: when Redis fsyncs its AOF. */
export type AppendFsync = 'always' | 'everysec' | 'no';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Port on 127.0.0.1, kept across restarts. Default: a free port. */
  port?: number;
  /**
   * Holds `redis.log` and, with `aof`, `appendonlydir/`. Default: a new temporary directory, removed
   * by `stop()`.
   */
  dir?: string;
  /** An append-only file fsynced with this policy. Default: no AOF (nothing on disk). */
  aof?: { fsync: AppendFsync };
  /** `maxmemory`, in bytes, under `noeviction`. Default: no limit. */
  maxmemoryBytes?: number;
  /** More `redis-server` arguments, after the others (so they win). */
  args?: readonly string[];
  /** Names the process in errors. Default `redis-server`. */
  name?: string;
  /** How long to wait for the first PONG, in ms. Default 15 000. */
  startTimeoutMs?: number;
}

/** A running (or killed, to be restarted) server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Of the current process (a restart changes it). */
  readonly pid: number | undefined;
  running(): boolean;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s); removes the directory the kit made. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: no shutdown, the directory kept for {@link restart}. */
  kill(): Promise<void>;
  /** Starts the server again on its port and directory; resolves once it answers PING. */
  restart(timeoutMs?: number): Promise<void>;
}

/** Starts `redis-server` from PATH; resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'testkit-redis-'));
  const name = options.name ?? 'redis-server';
  const url = `redis://127.0.0.1:${port}`;
  const logFile = join(dir, 'redis.log');
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
    ...(options.aof
      ? ['--appendonly', 'yes', '--appendfsync', options.aof.fsync]
      : ['--appendonly', 'no']),
    ...(options.maxmemoryBytes === undefined
      ? []
      : ['--maxmemory', String(options.maxmemoryBytes)]),
    ...['--maxmemory-policy', 'noeviction'],
    ...(options.args ?? []),
  ];

  let server: ManagedProcess | undefined;
  const start = async (timeoutMs: number) => {
    if (server?.running()) throw new Error(`${name} on ${port} is running already`);
    server = startProcess({ name, command: 'redis-server', args, env: {}, logFile });
    try {
      const pid = server.pid;
      await waitUntil(`${name} on ${port}`, () => answersAs(url, pid), {
        timeoutMs,
        everyMs: 50,
        abortIf: exitedReason(server),
      });
    } catch (err) {
      const how = server.running() ? 'no answer from it' : await server.exited;
      await server.stop('SIGKILL');
      const hint = how.startsWith('spawn error')
        ? ': it must be on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)'
        : `; its log ends:\n${logTail(logFile)}`;
      throw new Error(`${name} did not start on ${port} (${how})${hint}`, { cause: err });
    }
  };
  await start(options.startTimeoutMs ?? 15_000);

  return {
    url,
    port,
    dir,
    get pid() {
      return server?.pid;
    },
    running: () => server?.running() ?? false,
    async stop() {
      await server?.stop('SIGTERM');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await server?.stop('SIGKILL');
    },
    restart: (timeoutMs = 60_000) => start(timeoutMs),
  };
}

/** Does the server at `url` answer, and is it the process `pid`? */
async function answersAs(url: string, pid: number | undefined): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return /^process_id:(\d+)/m.exec(await redis.info('server'))?.[1] === String(pid);
  } finally {
    redis.disconnect();
  }
}

/** The last lines of the server's log, for an error. */
function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}
