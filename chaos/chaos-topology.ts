/**
 * The chaos run's Redis, of one of three topologies, and the disruption each one suffers:
 * - `single`: one `redis-server` with an AOF, SIGKILLed once and restarted from its AOF
 *   (`chaos-redis.ts`);
 * - `sentinel`: a primary, two replicas and three Sentinels (testkit/redis-topology.ts); the
 *   primary is SIGKILLed twice, each time the Sentinels promote a replica, and the killed server
 *   is started again (it rejoins as a replica of the new primary);
 * - `cluster`: three primaries with a replica each; a primary is SIGKILLed, its replica promoted,
 *   and the killed node started again (it rejoins as a replica).
 * The orchestrator's processes reach it through the settings {@link ChaosTopology.env} names, as
 * a deployment would (`REDIS_URL`, `REDIS_SENTINELS`, `REDIS_CLUSTER_NODES`).
 */
import {
  hostPortList,
  startRedisCluster,
  startSentinelSet,
  topologyEnv,
} from '../testkit/redis-topology.js';
import { startChaosRedis, type CrashReport } from './chaos-redis.js';

/** The three topologies a run can use. */
export const CHAOS_TOPOLOGIES = ['single', 'sentinel', 'cluster'] as const;
export type ChaosTopologyKind = (typeof CHAOS_TOPOLOGIES)[number];

/** One disruption: a crash and restart (single) or a failover. */
export interface Disruption {
  kind: 'restart' | 'failover';
  /** When the node was killed (ms since the epoch). */
  killedAt: number;
  /** Until Redis took writes again: the restart answered, or the promoted replica is primary. */
  recoveredMs: number;
  /** Until the killed node was back (restart from its AOF, or rejoined as a replica). */
  rejoinedMs: number;
  /** The single node's crash report (acknowledged writes lost, AOF cut). */
  crash?: CrashReport;
}

/** A running topology. */
export interface ChaosTopology {
  readonly kind: ChaosTopologyKind;
  /** The `REDIS_*` settings of the orchestrator's processes. */
  readonly env: Record<string, string>;
  /** How the run's log names it. */
  readonly description: string;
  /** Disruptions a run makes, spread over the intake. */
  readonly disruptions: number;
  /** Makes the next disruption; resolves once the killed node is back. */
  disrupt(): Promise<Disruption>;
  stop(): Promise<void>;
}

/** Options of {@link startChaosTopology}. */
export interface ChaosTopologyOptions {
  kind: ChaosTopologyKind;
  /** `single`: port of the server, and directory of its AOF and log. */
  port: number;
  dir: string;
  /** `single`: cut the AOF back this many ms before the kill (a machine crash). */
  powerLossMs?: number | undefined;
  /** `single`: from the kill to the restart, in ms. */
  outageMs: number;
}

/** Starts the topology; resolves once it takes writes. */
export async function startChaosTopology(options: ChaosTopologyOptions): Promise<ChaosTopology> {
  switch (options.kind) {
    case 'single': {
      const redis = await startChaosRedis({
        port: options.port,
        dir: options.dir,
        ...(options.powerLossMs === undefined ? {} : { powerLossMs: options.powerLossMs }),
      });
      return {
        kind: 'single',
        env: { REDIS_URL: redis.url },
        description: `Redis ${redis.url} (AOF everysec)`,
        disruptions: 1,
        async disrupt() {
          const killedAt = Date.now();
          const crash = await redis.crashAndRestart(options.outageMs);
          return {
            kind: 'restart',
            killedAt,
            recoveredMs: crash.downMs,
            rejoinedMs: crash.downMs,
            crash,
          };
        },
        stop: () => redis.stop(),
      };
    }
    case 'sentinel': {
      const set = await startSentinelSet({ name: 'chaos' });
      return {
        kind: 'sentinel',
        env: topologyEnv({ kind: 'sentinel', sentinels: set.sentinels, name: set.name }),
        description: `Sentinel set "${set.name}" (a primary, 2 replicas, 3 Sentinels ${hostPortList(set.sentinels)})`,
        disruptions: 2,
        async disrupt() {
          const killedAt = Date.now();
          const recoveredMs = await set.killPrimary(60_000);
          await set.restartKilled(60_000);
          return { kind: 'failover', killedAt, recoveredMs, rejoinedMs: Date.now() - killedAt };
        },
        stop: () => set.stop(),
      };
    }
    case 'cluster': {
      const cluster = await startRedisCluster();
      let next = 0;
      return {
        kind: 'cluster',
        env: topologyEnv({ kind: 'cluster', nodes: cluster.nodes }),
        description: `Cluster of 3 primaries with a replica each (${hostPortList(cluster.nodes)})`,
        disruptions: 1,
        async disrupt() {
          const killedAt = Date.now();
          const recoveredMs = await cluster.killPrimary(next++ % 3, 60_000);
          await cluster.restartKilled(60_000);
          return { kind: 'failover', killedAt, recoveredMs, rejoinedMs: Date.now() - killedAt };
        },
        stop: () => cluster.stop(),
      };
    }
  }
}
