/**
 * Every Redis connection of every role is built here, for the configured topology:
 * - **one node** (`REDIS_URL`, `redis://` or `rediss://`): `new Redis(url)`;
 * - **Sentinel** (`REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`): ioredis asks the Sentinels for the
 *   primary, and again after each lost connection, so it follows a failover;
 * - **Cluster** (`REDIS_CLUSTER_NODES`): ioredis's `Cluster`, which learns the slot map from the
 *   seeds, follows `MOVED`/`ASK`, and refreshes the map after a failover.
 * High availability is Redis's own: the orchestrator holds no state of its own outside Redis and
 * builds no failover logic; it picks the client settings that let ioredis ride one out.
 *
 * Roles (see {@link RedisRole}) differ in BullMQ's documented requirements: a Worker's connection
 * must have `maxRetriesPerRequest: null` (it blocks on BZPOPMIN and must never give up a command);
 * the others answer within a few seconds or fail, so that the HTTP API answers 503 instead of
 * hanging.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ConfigError, StoreUnavailableError } from '../../errors.js';
import { storeUnavailableOf } from './store-unavailable.js';
import type { Logger } from '../../logger.js';

/** A client of any topology: BullMQ and every store module take either. */
export type RedisClient = Redis | Cluster;

/** A server address. */
export interface HostPort {
  host: string;
  port: number;
}

/** TLS to the servers: on, with the CA that signed their certificates when not a public one. */
export interface RedisTls {
  /** PEM text of the CA; undefined: Node's trusted CAs. */
  ca?: string | undefined;
}

/** The configured topology and its credentials. */
export type RedisTopology =
  | {
      kind: 'single';
      url: string;
      username?: string | undefined;
      password?: string | undefined;
      /** With a `rediss://` URL: the CA; TLS itself comes from the scheme. */
      tls?: RedisTls | undefined;
    }
  | {
      kind: 'sentinel';
      sentinels: readonly HostPort[];
      /** The name the Sentinels monitor the primary under. */
      name: string;
      username?: string | undefined;
      password?: string | undefined;
      sentinelPassword?: string | undefined;
      tls?: RedisTls | undefined;
    }
  | {
      kind: 'cluster';
      nodes: readonly HostPort[];
      username?: string | undefined;
      password?: string | undefined;
      tls?: RedisTls | undefined;
    };

/**
 * What a connection is for:
 * - `commands`: the ticket store, the rate limiter, the reconciler's lock, health checks, the CLI.
 *   Auto-pipelined (commands issued in one tick leave in one write; on a Cluster, one per node).
 * - `queue`: a BullMQ `Queue` (intake's job adds, operator commands). Not auto-pipelined: BullMQ
 *   defines some fifty scripts on it, and each auto-pipeline would copy them.
 * - `worker`: a BullMQ `Worker` (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
export type RedisRole = 'commands' | 'queue' | 'worker';

/** The settings of `Config` the topology comes from (`REDIS_*`). */
export interface RedisSettings {
  redisUrl: string | undefined;
  redis: {
    sentinels?: readonly HostPort[] | undefined;
    sentinelName: string;
    sentinelPassword?: string | undefined;
    clusterNodes?: readonly HostPort[] | undefined;
    username?: string | undefined;
    password?: string | undefined;
    tls: boolean;
    tlsCaFile?: string | undefined;
  };
}

/** `REDIS_URL`'s default. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The topology the settings name. At most one of `REDIS_URL`, `REDIS_SENTINELS` and
 * `REDIS_CLUSTER_NODES` may be set (loadConfig refuses more); none: {@link DEFAULT_REDIS_URL}.
 * Reads `REDIS_TLS_CA_FILE` (a {@link ConfigError} naming the setting when it cannot).
 */
export function redisTopologyOf(settings: RedisSettings): RedisTopology {
  const r = settings.redis;
  const ca = r.tlsCaFile === undefined ? undefined : readCa(r.tlsCaFile);
  const tls = r.tls || ca !== undefined ? { ca } : undefined;
  const credentials = { username: r.username, password: r.password };
  if (r.sentinels !== undefined) {
    return {
      kind: 'sentinel',
      sentinels: r.sentinels,
      name: r.sentinelName,
      sentinelPassword: r.sentinelPassword,
      tls,
      ...credentials,
    };
  }
  if (r.clusterNodes !== undefined) {
    return { kind: 'cluster', nodes: r.clusterNodes, tls, ...credentials };
  }
  return { kind: 'single', url: settings.redisUrl ?? DEFAULT_REDIS_URL, tls, ...credentials };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const { code } = err as { code?: unknown };
    const why = typeof code === 'string' ? code : 'unreadable';
    throw new ConfigError(`REDIS_TLS_CA_FILE cannot be read (${why})`);
  }
}

/** Reconnect and resend on READONLY: the node answering was a primary and is now a replica. */
function reconnectOnReadOnly(err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false;
}

/** Reconnection backoff of a node connection: 50 ms doubling to 500 ms, with jitter. */
function retryStrategy(times: number): number {
  return Math.min(50 * 2 ** (times - 1), 500) + Math.floor(Math.random() * 50);
}

/** The per-connection options of a role, whatever the topology. */
function roleOptions(role: RedisRole) {
  return {
    // a command waits through at most 3 failed reconnections (about 1.5 s) and then fails, so
    // the API answers 503 quickly; a Worker's never gives up (BullMQ's requirement)
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    connectTimeout: 2000,
    retryStrategy,
    reconnectOnError: reconnectOnReadOnly,
  } satisfies RedisOptions;
}

function tlsOptions(tls: RedisTls | undefined): TlsOptions | undefined {
  if (tls === undefined) return undefined;
  return tls.ca === undefined ? {} : { ca: tls.ca };
}

/**
 * A new client of `role` for `topology`; it connects at once and reconnects by itself. With a
 * `logger`, its connection errors are logged at warn (the message only: an error may carry a
 * command's arguments).
 */
export function connectRedis(
  topology: RedisTopology,
  role: RedisRole,
  logger?: Pick<Logger, 'warn'>,
): RedisClient {
  const client = newClient(topology, role);
  if (logger !== undefined) {
    const warn = (err: unknown) =>
      logger.warn(
        { err: { message: err instanceof Error ? err.message : String(err) } },
        'redis error',
      );
    client.on('error', warn);
    // a Cluster reports a node's connection errors apart
    if (isCluster(client)) client.on('node error', warn);
  }
  return client;
}

function newClient(topology: RedisTopology, role: RedisRole): RedisClient {
  const autoPipelining = role === 'commands';
  const credentials = {
    ...(topology.username === undefined ? {} : { username: topology.username }),
    ...(topology.password === undefined ? {} : { password: topology.password }),
  };
  switch (topology.kind) {
    case 'single': {
      const tls = topology.url.startsWith('rediss:') ? tlsOptions(topology.tls ?? {}) : undefined;
      // a URL's own user and password win (ioredis takes the URL's first); these fill them in
      return new Redis(topology.url, {
        ...roleOptions(role),
        ...credentials,
        ...(tls === undefined ? {} : { tls }),
        enableAutoPipelining: autoPipelining,
      });
    }
    case 'sentinel': {
      const tls = tlsOptions(topology.tls);
      return new Redis({
        ...roleOptions(role),
        ...credentials,
        sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: topology.name,
        role: 'master',
        ...(topology.sentinelPassword === undefined
          ? {}
          : { sentinelPassword: topology.sentinelPassword }),
        ...(tls === undefined ? {} : { tls, sentinelTLS: tls, enableTLSForSentinelMode: true }),
        // No `failoverDetector` (following +switch-master from the Sentinels): in ioredis 6.0.0 a
        // +switch-master that arrives while the client is reconnecting (its primary just died)
        // disconnects the connector mid-connect, the connect rejects "Connection is closed." and
        // the client ends for good (status `end`, never retried); a chaos run's API lost its store
        // that way. Without it the client learns of a failover as ioredis always did: the dead
        // primary's socket closes (a killed or rebooted host), or the Sentinels close the clients
        // of a primary they demote (CLIENT KILL TYPE normal), or it answers READONLY
        // (reconnectOnError).

        // while no Sentinel answers: try again every 100 ms rising to 1 s, never give up
        sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        enableAutoPipelining: autoPipelining,
      });
    }
    case 'cluster': {
      const tls = tlsOptions(topology.tls);
      const { retryStrategy: _nodesReconnectAsTheClusterSays, ...nodeOptions } = roleOptions(role);
      const options = {
        redisOptions: {
          ...nodeOptions,
          ...credentials,
          ...(tls === undefined ? {} : { tls }),
        },
        enableAutoPipelining: autoPipelining,
        // a managed cluster's nodes announce names its certificates are issued for: with TLS,
        // connect by the name (no lookup here), as the services document
        ...(tls === undefined ? {} : { dnsLookup: (address, done) => done(null, address) }),
        // after a primary dies, its replica takes a few seconds to be promoted (cluster-node-
        // timeout); commands meanwhile wait and are retried against the refreshed slot map
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        retryDelayOnTryAgain: 100,
        maxRedirections: 32,
        slotsRefreshTimeout: 2000,
        clusterRetryStrategy: (times: number) =>
          Math.min(100 * times, 1000) + Math.floor(Math.random() * 50),
      } satisfies ClusterOptions;
      return new Cluster(
        topology.nodes.map((n) => ({ host: n.host, port: n.port })),
        options,
      );
    }
  }
}

/**
 * True for a Cluster client. By ioredis's own flag, as BullMQ tells them apart: a producer's
 * caller may build its Cluster from another copy of ioredis, which `instanceof` would miss.
 */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/**
 * The clients to run a per-node command on (SCAN): each primary of a Cluster, else the client
 * itself. Sorted by address, so that a walk over them keeps its order between calls.
 */
export function primariesOf(client: RedisClient): Redis[] {
  if (!isCluster(client)) return [client];
  return client.nodes('master').sort((a, b) => nodeKey(a).localeCompare(nodeKey(b)));
}

/** A node client's `host:port`. */
export function nodeKey(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}

/** A pipeline's results, as ioredis's `exec` answers them. */
export type BatchResults = [error: Error | null, result: unknown][];

/**
 * A pipeline over keys of any slots. On one node (or through Sentinel) it is the client's own
 * pipeline: one write, one read. A Cluster pipeline must keep to one node (ioredis refuses one
 * whose keys live on two), so there the same commands are sent one by one on the client, where
 * its auto-pipelining (the `commands` role) groups those of one tick into one write per node. The
 * order between commands on different nodes is then not kept; no caller relies on it (each
 * keeps a ticket's own commands on its one slot, in order).
 *
 * ioredis has no cross-node pipeline; this small adapter exists for that reason. It records the
 * calls through a Proxy so that the store's custom commands (its scripts) work on it as on a
 * pipeline.
 */
export function multiSlotBatch<T extends object>(client: RedisClient): T {
  if (!isCluster(client)) return client.pipeline() as unknown as T;
  const calls: [name: string, args: unknown[]][] = [];
  const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const batch: object = new Proxy(
    {},
    {
      get(_, name) {
        if (name === 'exec') {
          return async (): Promise<BatchResults> =>
            Promise.all(
              calls.map(([command, args]) => {
                const run = target[command];
                if (run === undefined) {
                  return Promise.resolve<[Error, null]>([new Error(`no command ${command}`), null]);
                }
                return run.apply(client, args).then(
                  (result): [null, unknown] => [null, result],
                  (err: unknown): [Error, null] => [
                    err instanceof Error ? err : new Error(String(err)),
                    null,
                  ],
                );
              }),
            );
        }
        if (name === 'length') return calls.length;
        if (typeof name !== 'string' || name === 'then') return undefined;
        return (...args: unknown[]) => {
          calls.push([name, args]);
          return batch;
        };
      },
    },
  );
  return batch as T;
}

/** A pipeline of a connection. */
type Pipeline = ReturnType<RedisClient['pipeline']>;

/**
 * Makes sure replicas hold writes before they are relied on (Redis `WAIT`), so that a write
 * answered before a failover is still there after it: replication is asynchronous, and a primary
 * that dies right after answering takes its last writes with it unless a replica already had them
 * (Sentinel and the Cluster promote the most up-to-date replica).
 *
 * `WAIT` counts the replicas holding every write sent *on the same connection* before it. So it
 * is never sent alone: a connection replaced since the writes (a reconnect, a failover, ioredis
 * resending an unanswered command on its new connection) would answer at once for writes it never
 * carried. Each key is first "touched" in the same pipeline, which goes out whole on one
 * connection: a write that changes nothing (the caller's script rewrites a field with the value it
 * holds) and that finds nothing when the data was lost with a dead primary. Replication keeps a
 * primary's order, so the replicas that acknowledge the touch hold everything written before it.
 */
export class ReplicaWait {
  constructor(
    /** Replicas that must acknowledge; 0 waits for nothing. */
    readonly replicas: number,
    /** How long to wait, in ms. */
    readonly timeoutMs: number,
  ) {}

  /**
   * For each primary holding any of `keys` (one, except on a Cluster), one pipeline on its
   * connection: `touch(pipeline, key)` for each of its keys (a script answering 1 when it found
   * and rewrote what it checks, 0 when not), then `WAIT`. Resolves when every touch answered 1 and
   * every `WAIT` counted {@link replicas}; else rejects with a {@link StoreUnavailableError}: the
   * data was lost in a failover, fewer replicas acknowledged within the timeout, or Redis could not
   * be reached (retry after a second); any other error (an ACL refusing WAIT) as it is.
   */
  async confirm(
    client: RedisClient,
    keys: readonly string[],
    touch: (pipeline: Pipeline, key: string) => void,
  ): Promise<void> {
    if (this.replicas === 0 || keys.length === 0) return;
    const groups = isCluster(client) ? byPrimary(client, keys) : [keys];
    let answers: BatchResults[];
    try {
      answers = await Promise.all(
        groups.map(async (group) => {
          const pipeline = client.pipeline();
          for (const key of group) touch(pipeline, key);
          pipeline.wait(this.replicas, this.timeoutMs);
          return (await pipeline.exec()) ?? [];
        }),
      );
    } catch (err) {
      throw storeUnavailableOf(err) ?? err;
    }
    for (const results of answers) {
      // an outage is retried; anything else (an ACL without WAIT or EVAL, WAIT sent to a
      // replica) is a configuration to fix, and says so as it is
      const failed = results.find(([err]) => err !== null)?.[0];
      if (failed) throw storeUnavailableOf(failed) ?? failed;
      if (results.slice(0, -1).some(([, touched]) => Number(touched) !== 1)) {
        throw new StoreUnavailableError({
          retryAfterMs: 1000,
          message: 'a Redis failover lost a write: it is not on the current primary',
        });
      }
      const acknowledged = Number(results.at(-1)?.[1] ?? 0);
      if (acknowledged < this.replicas) {
        throw new StoreUnavailableError({
          retryAfterMs: 1000,
          message: 'Redis replicas did not acknowledge the write in time',
          cause: new Error(
            `WAIT: ${acknowledged} of ${this.replicas} replicas acknowledged within ${this.timeoutMs} ms`,
          ),
        });
      }
    }
  }
}

/** `keys` grouped by the primary holding them, as the client's slot map says. */
function byPrimary(client: Cluster, keys: readonly string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const slot = calculateSlot(key);
    // an unknown slot (map not loaded yet): the slot is a group of its own
    const primary = client.slots[slot]?.[0] ?? `slot:${slot}`;
    const group = groups.get(primary);
    if (group) group.push(key);
    else groups.set(primary, [key]);
  }
  return [...groups.values()];
}

/** `REDIS_WAIT_REPLICAS`'s default: a replica to wait for exists on Sentinel and Cluster. */
export function defaultWaitReplicas(topology: RedisTopology): number {
  return topology.kind === 'single' ? 0 : 1;
}

/**
 * The same default for a client built elsewhere (the producer library's caller's): 1 for a
 * Cluster or a Sentinel client, else 0.
 */
export function defaultWaitReplicasOf(client: RedisClient): number {
  if (isCluster(client)) return 1;
  return (client.options.sentinels?.length ?? 0) > 0 ? 1 : 0;
}
