/**
 * The chaos run's own `redis-server` (testkit/redis.ts): AOF with `appendfsync everysec` in the
 * run's directory, on a free port. It is killed with SIGKILL and restarted from its AOF on the same port, and a probe
 * measures how many acknowledged writes the kill lost.
 *
 * A SIGKILL of the Redis process alone loses no acknowledged write: Redis write(2)s the AOF buffer
 * before it answers the clients, and the kernel keeps those pages when the process dies; only the
 * fsync is deferred. `powerLossMs` simulates what a machine crash (power loss, kernel panic) does
 * with `everysec`: the AOF is cut back to its length `powerLossMs` before the kill, as if the last
 * writes had never reached the disk.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../testkit/redis.js';
import { sleep } from '../testkit/waiting.js';

/** The running server. */
export interface ChaosRedis {
  readonly url: string;
  /** SIGKILL, an outage of `outageMs`, then a restart from the AOF; resolves once it answers. */
  crashAndRestart(outageMs: number): Promise<CrashReport>;
  /** Stops the server (SIGTERM) and the probe. */
  stop(): Promise<void>;
}

/** What one crash did. */
export interface CrashReport {
  /** Acknowledged probe writes missing after the restart (0 when nothing was lost). */
  lostAckedWrites: number;
  /** Bytes cut from the AOF to simulate a power loss (0 without `powerLossMs`). */
  truncatedBytes: number;
  /** From the kill until the server answered again, in ms. */
  downMs: number;
}

/** Options of {@link startChaosRedis}. */
export interface ChaosRedisOptions {
  port: number;
  /** Holds the AOF (`appendonlydir/`) and the server's log. */
  dir: string;
  /** Simulate a machine crash: cut the AOF back to its length this many ms before the kill. */
  powerLossMs?: number;
}

const PROBE_KEY = 'chaos:probe';

/** Starts the server and its write probe; resolves once it answers PING. */
export async function startChaosRedis(options: ChaosRedisOptions): Promise<ChaosRedis> {
  const server = await startRedisServer({
    name: 'redis',
    port: options.port,
    dir: options.dir,
    aof: { fsync: 'everysec' },
    // one AOF file between kills: the power-loss cut needs a file that only grows
    args: ['--auto-aof-rewrite-percentage', '0'],
  });
  const url = server.url;

  const probe = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  let acked = 0;
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      try {
        acked = Math.max(acked, await probe.incr(PROBE_KEY));
      } catch {
        // down: the crash report compares what was acknowledged before the kill
      }
      await sleep(20);
    }
  })();

  const sizes: { at: number; size: number }[] = [];
  const sampler =
    options.powerLossMs === undefined
      ? undefined
      : setInterval(() => {
          const file = incrAofFile(options.dir);
          if (file === undefined) return;
          sizes.push({ at: Date.now(), size: statSync(file).size });
          while (sizes.length > 0 && (sizes[0]?.at ?? 0) < Date.now() - 30_000) sizes.shift();
        }, 50);

  return {
    url,
    async crashAndRestart(outageMs) {
      const killedAt = Date.now();
      await server.kill();
      const ackedBeforeKill = acked;
      let truncatedBytes = 0;
      if (options.powerLossMs !== undefined) {
        const file = incrAofFile(options.dir);
        const cutAt = killedAt - options.powerLossMs;
        const before = [...sizes].reverse().find((s) => s.at <= cutAt);
        if (file !== undefined && before !== undefined) {
          const size = statSync(file).size;
          truncateSync(file, before.size);
          truncatedBytes = size - before.size;
        }
      }
      await sleep(outageMs);
      await server.restart(60_000);
      const downMs = Date.now() - killedAt;
      const checker = new Redis(url, { maxRetriesPerRequest: 1 });
      checker.on('error', () => undefined);
      const restored = Number((await checker.get(PROBE_KEY)) ?? '0');
      checker.disconnect();
      return { lostAckedWrites: Math.max(0, ackedBeforeKill - restored), truncatedBytes, downMs };
    },
    async stop() {
      probing = false;
      if (sampler) clearInterval(sampler);
      await probeLoop;
      probe.disconnect();
      await server.stop();
    },
  };
}

/** The incremental AOF file named by the manifest of Redis 7's multi-part AOF. */
function incrAofFile(dir: string): string | undefined {
  const aofDir = join(dir, 'appendonlydir');
  let manifest: string;
  try {
    manifest = readFileSync(join(aofDir, 'appendonly.aof.manifest'), 'utf8');
  } catch {
    return undefined;
  }
  const line = manifest
    .split('\n')
    .filter((l) => / type i\b/.test(l))
    .at(-1);
  const name = line === undefined ? undefined : /^file (\S+)/.exec(line)?.[1];
  return name === undefined ? undefined : join(aofDir, name);
}
