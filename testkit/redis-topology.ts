/**
 * Real Redis topologies on loopback, for tests, benchmarks and the chaos run: a Sentinel set (a
 * primary, two replicas, three Sentinels) and a Redis Cluster (three primaries with a replica each).
 * The data servers are testkit/redis.ts servers (own directory, no RDB, no AOF); a primary is killed
 * with SIGKILL and the kit waits until the topology has failed over, timing it; killed servers
 * come back from their directories and rejoin as replicas.
 *
 * Passwords: `startRedisServer` probes its server with an unauthenticated INFO, so `requirepass`
 * cannot be among its arguments. The kit starts the servers open and sets `requirepass` and
 * `masterauth` with CONFIG SET as soon as each (re)started server answers: an open window of a few
 * milliseconds on loopback, and the password stays out of every argv (`ps`). Sentinels get theirs
 * in their config file; redis-cli gets it from REDISCLI_AUTH.
 *
 * The processes die with the process that started them: testkit/processes.ts kills its children on
 * `exit`, but a vitest fork is ended with SIGTERM, on which Node exits without an `exit` event; so
 * while a topology runs, this module also SIGKILLs its processes and removes their directories on
 * SIGTERM/SIGINT (then lets the signal do what it would have done).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  exitedReason,
  freePort,
  freePorts,
  startProcess,
  type ManagedProcess,
} from './processes.js';
import { startRedisServer, type RedisServer } from './redis.js';
import { waitFor } from './waiting.js';
import type { RedisTopology } from '../src/adapters/redis/connection.js';

/** `host:port,host:port`, as `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES` list servers. */
export function hostPortList(nodes: readonly Address[]): string {
  return nodes.map((n) => `${n.host}:${n.port}`).join(',');
}

/**
 * The settings a process of the orchestrator reads to reach `topology` (`REDIS_URL`,
 * `REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`, or `REDIS_CLUSTER_NODES`), as a deployment sets them.
 */
export function topologyEnv(topology: RedisTopology): Record<string, string> {
  switch (topology.kind) {
    case 'single':
      return { REDIS_URL: topology.url };
    case 'sentinel':
      return {
        REDIS_SENTINELS: hostPortList(topology.sentinels),
        REDIS_SENTINEL_NAME: topology.name,
      };
    case 'cluster':
      return { REDIS_CLUSTER_NODES: hostPortList(topology.nodes) };
  }
}

/** A TCP endpoint on loopback, as ioredis takes it (`sentinels`, cluster seed nodes). */
export interface Address {
  host: string;
  port: number;
}

const HOST = '127.0.0.1';
/** A cluster node's bus listens on its port + 10 000. */
const BUS_OFFSET = 10_000;
const CLUSTER_SLOTS = 16_384;
/**
 * Data servers' arguments common to both topologies. A primary waits `repl-diskless-sync-delay`
 * (5 s by default) for more replicas before it streams a full sync: it would hold every start and
 * every rejoin back by 5 s.
 */
const DATA_ARGS = ['--repl-diskless-sync-delay', '0'];

// ------------------------------------------------------------------------------------------------
// Sentinel

/** Options of {@link startSentinelSet}. */
export interface SentinelSetOptions {
  /** The master name the Sentinels monitor. Default `orchestrator`. */
  name?: string;
  /** `requirepass` and `masterauth` of the data servers; the Sentinels get `sentinel auth-pass`. */
  password?: string;
  /** `requirepass` of the Sentinels (they also use it with one another). */
  sentinelPassword?: string;
  /**
   * `sentinel down-after-milliseconds`. Default 2000. Not less than about 1500: a Sentinel that
   * switches to a new primary connects to it up to 1 s (its fixed reconnect period) plus a timer
   * tick later, and counts that time as unanswered; at 1000 it now and then declares the new
   * primary down at once, and the Sentinels fail over a second time (seen in about 1 run in 5).
   */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. Default 3000. */
  failoverTimeoutMs?: number;
  /** How long to wait for the whole set to be up and known to every Sentinel. Default 30 000. */
  startTimeoutMs?: number;
}

/** A running Sentinel set. */
export interface SentinelSet {
  /** The master name (ioredis's `name`). */
  readonly name: string;
  /** The three Sentinels (ioredis's `sentinels`). */
  readonly sentinels: readonly Address[];
  /** The three data servers, the first one the initial primary. */
  readonly nodes: readonly RedisServer[];
  /** The server a Sentinel names as the current primary. */
  primary(): Promise<RedisServer>;
  /**
   * Waits until the Sentinels are ready to fail over (they know one another and the live replicas),
   * then SIGKILLs the current primary and waits until every live Sentinel names another server as
   * primary and that server answers ROLE as master. Resolves with the time from the kill to then,
   * in ms.
   */
  killPrimary(timeoutMs?: number): Promise<number>;
  /**
   * Restarts every killed data server as a replica of the current primary; resolves once each has
   * `master_link_status:up` and every Sentinel sees two healthy replicas.
   */
  restartKilled(timeoutMs?: number): Promise<void>;
  /** Stops the Sentinels and the servers; removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts a primary, two replicas (`--replicaof`) and three Sentinels on loopback; resolves once the
 * replicas' links are up and every Sentinel knows the primary, the two replicas and the two other
 * Sentinels. Stops whatever it started when it cannot finish.
 */
export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = options.name ?? 'orchestrator';
  const password = options.password;
  const sentinelPassword = options.sentinelPassword;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const nodes: RedisServer[] = [];
  const sentinels: SentinelProcess[] = [];
  const guard = guardOnSignals(() => ({
    pids: [
      ...nodes.filter((n) => n.running()).map((n) => n.pid),
      ...sentinels.filter((s) => s.process.running()).map((s) => s.process.pid),
    ],
    dirs: [...nodes.map((n) => n.dir), ...sentinels.map((s) => s.dir)],
  }));

  const stop = async () => {
    guard.release();
    // The Sentinels first, so that none of them acts on the servers going away.
    await Promise.all(
      sentinels.map(async (s) => {
        await s.process.stop('SIGTERM');
        rmSync(s.dir, { recursive: true, force: true });
      }),
    );
    await Promise.all(nodes.map((n) => n.stop()));
  };

  /** The address the first Sentinel that answers gives for the primary. */
  const primaryPort = async (): Promise<number> => {
    let last: unknown;
    for (const s of sentinels) {
      if (!s.process.running()) continue;
      try {
        return await masterPortFrom(s.address, sentinelPassword, name);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no Sentinel of ${name} named a primary`, { cause: last });
  };
  const nodeOn = (port: number): RedisServer => {
    const node = nodes.find((n) => n.port === port);
    if (!node)
      throw new Error(`the primary of ${name} is on ${port}, not one of the set's servers`);
    return node;
  };

  /** After each (re)start of a data server: its password, and (restarts) its current primary. */
  const settle = async (server: RedisServer, follow: boolean) => {
    await applyPassword(server, password);
    if (!follow) return;
    const port = await primaryPort();
    // Sentinel would turn a restarted old primary into a replica by itself, but only after it has
    // seen it report role:master for 8 s (SENTINEL_PUBLISH_PERIOD * 4): the kit does it at once.
    if (port !== server.port) await ask(address(server.port), password, ['REPLICAOF', HOST, port]);
  };

  try {
    const [primaryPortAtStart, ...replicaPorts] = await freePorts(3);
    if (primaryPortAtStart === undefined) throw new Error('no ports');
    for (const port of [primaryPortAtStart, ...replicaPorts]) {
      const replicaOf =
        port === primaryPortAtStart ? [] : ['--replicaof', HOST, String(primaryPortAtStart)];
      const inner = await startRedisServer({
        port,
        name: `${name} data server on ${port}`,
        args: [...DATA_ARGS, ...replicaOf],
      });
      const node = followingRestarts(inner, () => settle(inner, true));
      nodes.push(node);
      await settle(inner, false);
    }
    await waitFor(
      `${name}: replicas linked`,
      () => replicasNotLinked(nodes.slice(1), password),
      isNothing,
      { timeoutMs: startTimeoutMs, everyMs: 50 },
    );

    for (const port of await freePorts(3)) {
      sentinels.push(
        await startSentinel(port, {
          name,
          primaryPort: primaryPortAtStart,
          password,
          sentinelPassword,
          downAfterMs: options.downAfterMs ?? 2000,
          failoverTimeoutMs: options.failoverTimeoutMs ?? 3000,
        }),
      );
    }
    await waitFor(
      `${name}: every Sentinel knows the primary, 2 replicas and 2 Sentinels`,
      () =>
        sentinelsNotSettled(sentinels, sentinelPassword, name, primaryPortAtStart, {
          replicas: 2,
          peers: true,
        }),
      isNothing,
      { timeoutMs: startTimeoutMs, everyMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    name,
    sentinels: sentinels.map((s) => s.address),
    nodes,
    primary: async () => nodeOn(await primaryPort()),
    async killPrimary(timeoutMs = 30_000) {
      const before = nodeOn(await primaryPort());
      const replicas = nodes.filter((n) => n !== before && n.running()).length;
      if (replicas === 0) throw new Error(`${name}: no replica left to promote`);
      // Not timed: a Sentinel that has just switched primaries forgets its peers until their next
      // hello (every 2 s), and a failover needs them for the quorum and the vote.
      await waitFor(
        `${name}: Sentinels ready for a failover`,
        () =>
          sentinelsNotSettled(sentinels, sentinelPassword, name, before.port, {
            replicas,
            peers: true,
          }),
        isNothing,
        { timeoutMs, everyMs: 50 },
      );
      const started = performance.now();
      await before.kill();
      await waitFor(
        `${name}: a replica promoted after the kill of ${before.port}`,
        async () => {
          const live = sentinels.filter((s) => s.process.running());
          const ports = await Promise.all(
            live.map((s) => masterPortFrom(s.address, sentinelPassword, name)),
          );
          const [port] = ports;
          if (port === undefined || port === before.port) return `primary still ${before.port}`;
          if (ports.some((p) => p !== port)) return `Sentinels disagree: ${ports.join(', ')}`;
          const role = await ask(address(port), password, ['ROLE']);
          return Array.isArray(role) && role[0] === 'master' ? undefined : `${port} not master yet`;
        },
        isNothing,
        { timeoutMs, everyMs: 50 },
      );
      return Math.round(performance.now() - started);
    },
    async restartKilled(timeoutMs = 30_000) {
      const killed = nodes.filter((n) => !n.running());
      for (const node of killed) await node.restart();
      const port = await primaryPort();
      await waitFor(
        `${name}: restarted servers replicate from ${port}`,
        async () =>
          (await replicasNotLinked(killed, password, port)) ??
          (await sentinelsNotSettled(sentinels, sentinelPassword, name, port, {
            replicas: 2,
            peers: false,
          })),
        isNothing,
        { timeoutMs, everyMs: 50 },
      );
    },
    stop,
  };
}

/** A Sentinel process and the directory holding its config file (Sentinel rewrites it). */
interface SentinelProcess {
  readonly address: Address;
  readonly dir: string;
  readonly process: ManagedProcess;
}

/** `redis-server <conf> --sentinel`, waited for until it answers as itself. */
async function startSentinel(
  port: number,
  set: {
    name: string;
    primaryPort: number;
    password: string | undefined;
    sentinelPassword: string | undefined;
    downAfterMs: number;
    failoverTimeoutMs: number;
  },
): Promise<SentinelProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'testkit-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  const lines = [
    `port ${port}`,
    `bind ${HOST}`,
    `dir ${dir}`,
    'sentinel resolve-hostnames no',
    `sentinel monitor ${set.name} ${HOST} ${set.primaryPort} 2`,
    `sentinel down-after-milliseconds ${set.name} ${set.downAfterMs}`,
    `sentinel failover-timeout ${set.name} ${set.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${set.name} 1`,
    ...(set.password === undefined ? [] : [`sentinel auth-pass ${set.name} ${set.password}`]),
    ...(set.sentinelPassword === undefined ? [] : [`requirepass ${set.sentinelPassword}`]),
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
  const proc = startProcess({
    name: `Sentinel on ${port}`,
    command: 'redis-server',
    args: [conf, '--sentinel'],
    env: {},
    logFile: join(dir, 'sentinel.log'),
  });
  const addr = address(port);
  try {
    await waitFor(
      `Sentinel on ${port}`,
      async () => processIdOf(await ask(addr, set.sentinelPassword, ['INFO', 'server'])),
      (pid) => pid === String(proc.pid),
      { timeoutMs: 15_000, everyMs: 50, abortIf: exitedReason(proc) },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { address: addr, dir, process: proc };
}

/**
 * What keeps the Sentinels from agreeing on the set (undefined once they all do): each names
 * `primaryPort`, sees `expected.replicas` healthy replicas and, with `expected.peers`, the two
 * other Sentinels.
 */
async function sentinelsNotSettled(
  sentinels: readonly SentinelProcess[],
  sentinelPassword: string | undefined,
  name: string,
  primaryPort: number,
  expected: { replicas: number; peers: boolean },
): Promise<string | undefined> {
  for (const { address: addr } of sentinels) {
    const port = await masterPortFrom(addr, sentinelPassword, name);
    if (port !== primaryPort) return `Sentinel ${addr.port} names ${port} as primary`;
    const replicas = records(await ask(addr, sentinelPassword, ['SENTINEL', 'REPLICAS', name]));
    // flags exactly `slave`: not s_down, not disconnected. Its `master-link-status` is left to the
    // replicas' own INFO (replicasNotLinked): a Sentinel refreshes it only every 10 s.
    const healthy = replicas.filter((r) => r.flags === 'slave').length;
    if (healthy !== expected.replicas) {
      return `Sentinel ${addr.port} sees ${healthy} healthy replicas`;
    }
    if (!expected.peers) continue;
    const peers = records(await ask(addr, sentinelPassword, ['SENTINEL', 'SENTINELS', name]));
    const known = peers.filter((p) => p.flags === 'sentinel').length;
    if (known !== 2) return `Sentinel ${addr.port} knows ${known} other Sentinels`;
  }
  return undefined;
}

async function masterPortFrom(
  sentinel: Address,
  sentinelPassword: string | undefined,
  name: string,
): Promise<number> {
  const reply = await ask(sentinel, sentinelPassword, [
    'SENTINEL',
    'get-master-addr-by-name',
    name,
  ]);
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new Error(`Sentinel ${sentinel.port} does not know ${name}`);
  }
  return Number(reply[1]);
}

// ------------------------------------------------------------------------------------------------
// Cluster

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** `requirepass` and `masterauth` of every node; redis-cli gets it through REDISCLI_AUTH. */
  password?: string;
  /** `cluster-node-timeout`, in ms. Default 2000. */
  nodeTimeoutMs?: number;
  /** How long to wait for the cluster to be formed and agreed on. Default 30 000. */
  startTimeoutMs?: number;
}

/** A primary of the cluster and the slots it serves. */
export interface ClusterPrimary {
  readonly server: RedisServer;
  /** Inclusive slot ranges. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/** A running cluster. */
export interface RedisCluster {
  /** The six nodes (ioredis's `Cluster` seed list). */
  readonly nodes: readonly Address[];
  readonly servers: readonly RedisServer[];
  /** The primaries and their slots, as a live node's `CLUSTER NODES` gives them. */
  primaries(): Promise<ClusterPrimary[]>;
  /** The slot of `key` (`CLUSTER KEYSLOT` of a live node). */
  keySlot(key: string): Promise<number>;
  /**
   * SIGKILLs the primary serving `slotOrKey` (a slot number or a key) and waits until its replica
   * is promoted and every live node is `cluster_state:ok` and agrees on the slot map. Resolves with
   * the time that took, in ms.
   */
  killPrimaryOf(slotOrKey: number | string, timeoutMs?: number): Promise<number>;
  /** {@link killPrimaryOf} the `index`-th primary (by slot order). Default the first. */
  killPrimary(index?: number, timeoutMs?: number): Promise<number>;
  /**
   * Restarts every killed node from its directory (its nodes.conf); resolves once each has rejoined
   * as a replica with `master_link_status:up` and every node agrees on six healthy nodes.
   */
  restartKilled(timeoutMs?: number): Promise<void>;
  /** Stops the six nodes and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts six cluster-enabled servers on loopback and makes them a cluster of three primaries with
 * a replica each (`redis-cli --cluster create`); resolves once every node is `cluster_state:ok`,
 * agrees on the slot map, knows six nodes, and every replica's link is up. Stops whatever it
 * started when it cannot finish.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const password = options.password;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const servers: RedisServer[] = [];
  const guard = guardOnSignals(() => ({
    pids: servers.filter((s) => s.running()).map((s) => s.pid),
    dirs: servers.map((s) => s.dir),
  }));
  const stop = async () => {
    guard.release();
    await Promise.all(servers.map((s) => s.stop()));
  };
  const args = [
    ...DATA_ARGS,
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', String(nodeTimeoutMs)],
  ];

  /** A node with its bus port free too: a port taken in the meantime is given up for another. */
  const startNode = async (taken: Set<number>): Promise<RedisServer> => {
    for (let attempt = 1; ; attempt++) {
      const port = await clusterPort(taken);
      let inner: RedisServer | undefined;
      try {
        inner = await startRedisServer({ port, name: `cluster node on ${port}`, args });
        await applyPassword(inner, password);
        const started = inner;
        return followingRestarts(started, () => applyPassword(started, password));
      } catch (err) {
        await inner?.stop();
        if (attempt === 3) throw err;
      }
    }
  };

  const live = () => servers.filter((s) => s.running());
  const viewOfLive = async (): Promise<ClusterView> => {
    let last: unknown;
    for (const server of live()) {
      try {
        return parseClusterNodes(await askText(server, password, ['CLUSTER', 'NODES']));
      } catch (err) {
        last = err;
      }
    }
    throw new Error('no live cluster node answered CLUSTER NODES', { cause: last });
  };
  const serverOn = (port: number): RedisServer => {
    const server = servers.find((s) => s.port === port);
    if (!server) throw new Error(`cluster node on ${port} is not one of the kit's`);
    return server;
  };
  const primaries = async (): Promise<ClusterPrimary[]> =>
    (await viewOfLive()).entries
      .filter((e) => e.role === 'master' && !e.failed && e.slots.length > 0)
      .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0))
      .map((e) => ({ server: serverOn(e.port), slots: e.slots }));
  const keySlot = async (key: string): Promise<number> => {
    const [server] = live();
    if (!server) throw new Error('no live cluster node');
    return Number(await ask(address(server.port), password, ['CLUSTER', 'KEYSLOT', key]));
  };
  const killPrimaryOf = async (slotOrKey: number | string, timeoutMs = 30_000) => {
    const slot = typeof slotOrKey === 'number' ? slotOrKey : await keySlot(slotOrKey);
    const owner = (await primaries()).find((p) => p.slots.some(([a, b]) => a <= slot && slot <= b));
    if (!owner) throw new Error(`no live primary serves slot ${slot}`);
    const view = await viewOfLive();
    const standby = view.entries.find(
      (e) => e.role === 'replica' && e.primaryPort === owner.server.port && !e.failed,
    );
    if (!standby) throw new Error(`the primary of slot ${slot} has no live replica to promote`);
    const started = performance.now();
    await owner.server.kill();
    await waitFor(
      `cluster: slot ${slot} failed over from ${owner.server.port}`,
      async () => {
        const missing = await clusterNotSettled(live(), password, { allowFailed: true });
        if (missing !== undefined) return missing;
        const port = (await viewOfLive()).ownerOf(slot);
        if (port === undefined || port === owner.server.port)
          return `slot ${slot} still on ${port}`;
        const role = await ask(address(port), password, ['ROLE']);
        return Array.isArray(role) && role[0] === 'master' ? undefined : `${port} not master yet`;
      },
      isNothing,
      { timeoutMs, everyMs: 50 },
    );
    return Math.round(performance.now() - started);
  };

  try {
    const taken = new Set<number>();
    for (let i = 0; i < 6; i++) servers.push(await startNode(taken));
    await createCluster(servers, password);
    await waitFor(
      'cluster formed',
      () => clusterNotSettled(servers, password, { allowFailed: false }),
      isNothing,
      { timeoutMs: startTimeoutMs, everyMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes: servers.map((s) => address(s.port)),
    servers,
    primaries,
    keySlot,
    killPrimaryOf,
    async killPrimary(index = 0, timeoutMs?: number) {
      const primary = (await primaries())[index];
      const slot = primary?.slots[0]?.[0];
      if (slot === undefined) throw new Error(`no primary #${index}`);
      return killPrimaryOf(slot, timeoutMs);
    },
    async restartKilled(timeoutMs = 30_000) {
      for (const server of servers.filter((s) => !s.running())) await server.restart();
      await waitFor(
        'cluster: restarted nodes rejoined',
        () => clusterNotSettled(servers, password, { allowFailed: false }),
        isNothing,
        { timeoutMs, everyMs: 100 },
      );
    },
    stop,
  };
}

/** A port under 55 535 whose bus port (+10 000) is free too, neither among `taken` (added to it). */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (port >= 65_535 - BUS_OFFSET || taken.has(port) || taken.has(port + BUS_OFFSET)) continue;
    if (!(await portFree(port + BUS_OFFSET))) continue;
    taken.add(port).add(port + BUS_OFFSET);
    return port;
  }
  throw new Error('no free port with a free cluster bus port (port + 10000) below 55535');
}

/** `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`. */
async function createCluster(servers: readonly RedisServer[], password: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password !== undefined) env.REDISCLI_AUTH = password;
  const args = [
    ...['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`)],
    ...['--cluster-replicas', '1', '--cluster-yes'],
  ];
  await new Promise<void>((resolve, reject) => {
    execFile('redis-cli', args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const tail = `${stdout}${stderr}`.trim().split('\n').slice(-10).join('\n');
      reject(new Error(`redis-cli --cluster create failed (${err.message}):\n${tail}`));
    });
  });
}

/** One line of `CLUSTER NODES`, reduced to what every node must agree on. */
interface ClusterEntry {
  port: number;
  role: 'master' | 'replica';
  /** Flagged `fail` (not the local `fail?`). */
  failed: boolean;
  /** The port of its primary, for a replica. */
  primaryPort: number | undefined;
  slots: Array<[number, number]>;
  /** Other flags that a settled cluster has none of (`handshake`, `noaddr`). */
  odd: boolean;
}

interface ClusterView {
  entries: ClusterEntry[];
  /** A canonical text of the entries, equal on nodes that agree. */
  canonical: string;
  ownerOf(slot: number): number | undefined;
}

function parseClusterNodes(text: string): ClusterView {
  const raw = text
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((parts) => parts.length >= 8);
  const portOf = new Map(raw.map((p) => [p[0] ?? '', Number(/:(\d+)@/.exec(p[1] ?? '')?.[1])]));
  const entries = raw.map((parts): ClusterEntry => {
    const flags = (parts[2] ?? '').split(',');
    const slots = parts
      .slice(8)
      .filter((s) => !s.startsWith('[')) // a slot being migrated or imported
      .map((s): [number, number] => {
        const [a, b = a] = s.split('-').map(Number);
        return [a ?? 0, b ?? 0];
      });
    return {
      port: portOf.get(parts[0] ?? '') ?? 0,
      role: flags.includes('master') ? 'master' : 'replica',
      failed: flags.includes('fail'),
      primaryPort: parts[3] === '-' ? undefined : portOf.get(parts[3] ?? ''),
      slots,
      odd: flags.some((f) => f === 'handshake' || f === 'noaddr'),
    };
  });
  entries.sort((a, b) => a.port - b.port);
  return {
    entries,
    canonical: entries
      .map((e) =>
        [e.port, e.role, e.failed ? 'fail' : 'up', e.primaryPort ?? '-', ...e.slots].join(' '),
      )
      .join('\n'),
    ownerOf: (slot) =>
      entries.find((e) => e.role === 'master' && e.slots.some(([a, b]) => a <= slot && slot <= b))
        ?.port,
  };
}

/**
 * What keeps the cluster seen from `observers` from being settled (undefined once it is): every
 * observer `cluster_state:ok` with all slots and six known nodes, all showing the same map, each
 * live replica linked to its primary; with `allowFailed: false`, no node flagged failing either.
 */
async function clusterNotSettled(
  observers: readonly RedisServer[],
  password: string | undefined,
  { allowFailed }: { allowFailed: boolean },
): Promise<string | undefined> {
  let agreed: ClusterView | undefined;
  for (const server of observers) {
    const info = fields(await askText(server, password, ['CLUSTER', 'INFO']));
    if (info.cluster_state !== 'ok') return `${server.port}: cluster_state:${info.cluster_state}`;
    if (info.cluster_slots_assigned !== String(CLUSTER_SLOTS)) {
      return `${server.port}: ${info.cluster_slots_assigned} slots assigned`;
    }
    if (info.cluster_known_nodes !== '6') {
      return `${server.port}: knows ${info.cluster_known_nodes} nodes`;
    }
    const view = parseClusterNodes(await askText(server, password, ['CLUSTER', 'NODES']));
    if (agreed !== undefined && view.canonical !== agreed.canonical) {
      return `${server.port} and ${observers[0]?.port} disagree on the map`;
    }
    agreed = view;
  }
  if (agreed === undefined) return 'no node to ask';
  const wrong = agreed.entries.find((e) => e.odd || (!allowFailed && e.failed));
  if (wrong) return `node ${wrong.port} is not healthy yet`;
  const replicas = observers.filter((s) =>
    agreed.entries.some((e) => e.port === s.port && e.role === 'replica'),
  );
  return replicasNotLinked(replicas, password);
}

// ------------------------------------------------------------------------------------------------
// Shared

/** `waitFor`'s test for "nothing missing". */
function isNothing(missing: string | undefined): missing is undefined {
  return missing === undefined;
}

function address(port: number): Address {
  return { host: HOST, port };
}

/** The first of `replicas` whose link to its primary (at `primaryPort`, when given) is not up. */
async function replicasNotLinked(
  replicas: readonly RedisServer[],
  password: string | undefined,
  primaryPort?: number,
): Promise<string | undefined> {
  for (const replica of replicas) {
    const info = fields(await askText(replica, password, ['INFO', 'replication']));
    if (info.role !== 'slave') return `${replica.port} is ${info.role}, not a replica`;
    if (primaryPort !== undefined && info.master_port !== String(primaryPort)) {
      return `${replica.port} replicates from ${info.master_port}, not ${primaryPort}`;
    }
    if (info.master_link_status !== 'up') return `${replica.port}: master_link_status down`;
  }
  return undefined;
}

/**
 * Sets `requirepass` and `masterauth` on a server that has just (re)started open (see the module
 * comment for why not in its arguments).
 */
async function applyPassword(server: RedisServer, password: string | undefined): Promise<void> {
  if (password === undefined) return;
  const args = ['SET', 'masterauth', password, 'requirepass', password];
  await ask(address(server.port), undefined, ['CONFIG', ...args]);
}

/** `server`, with `afterRestart` run after each of its restarts. */
function followingRestarts(server: RedisServer, afterRestart: () => Promise<void>): RedisServer {
  return {
    url: server.url,
    port: server.port,
    dir: server.dir,
    get pid() {
      return server.pid;
    },
    running: () => server.running(),
    stop: () => server.stop(),
    kill: () => server.kill(),
    async restart(timeoutMs) {
      await server.restart(timeoutMs);
      await afterRestart();
    },
  };
}

/**
 * One command on a connection of its own, given up at once when the server does not answer: the
 * polls of the waits above ask servers that may be dead or restarting.
 */
async function ask(
  addr: Address,
  password: string | undefined,
  [command, ...args]: readonly [string, ...(string | number)[]],
): Promise<unknown> {
  const redis = new Redis({
    ...addr,
    ...(password === undefined ? {} : { password }),
    protocol: 2,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    disableClientInfo: true,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(command, ...args);
  } finally {
    redis.disconnect();
  }
}

async function askText(
  server: RedisServer,
  password: string | undefined,
  command: readonly [string, ...string[]],
): Promise<string> {
  const reply = await ask(address(server.port), password, command);
  if (typeof reply !== 'string' && !Buffer.isBuffer(reply)) {
    throw new Error(`${command.join(' ')} on ${server.port}: not a text reply`);
  }
  return reply.toString();
}

/** `key:value` lines (INFO, CLUSTER INFO) as a record. */
function fields(text: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

function processIdOf(info: unknown): string | undefined {
  return typeof info === 'string' ? fields(info).process_id : undefined;
}

/** A RESP2 array of flat `[key, value, …]` arrays (SENTINEL REPLICAS and SENTINELS) as records. */
function records(reply: unknown): Array<Record<string, string | undefined>> {
  if (!Array.isArray(reply)) return [];
  return reply.map((flat: unknown) => {
    const out: Record<string, string | undefined> = {};
    if (Array.isArray(flat)) {
      for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
    }
    return out;
  });
}

/** Is `port` free on 127.0.0.1 at the time of asking? (freePort picks a port; this checks one.) */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** What a running topology leaves behind if this process is ended by a signal. */
interface Leftovers {
  /** Of the processes still running. */
  pids: ReadonlyArray<number | undefined>;
  dirs: readonly string[];
}

const guarded = new Set<() => Leftovers>();
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Until `release()`, SIGKILLs the processes `leftovers()` lists and removes its directories when
 * this process gets SIGTERM or SIGINT (testkit/processes.ts only handles `exit`, which Node does
 * not emit on those signals). Once nothing is guarded the handlers go; a signal that no one else
 * handles is raised again, so the process still ends as the signal meant.
 */
function guardOnSignals(leftovers: () => Leftovers): { release(): void } {
  if (guarded.size === 0) for (const signal of SIGNALS) process.on(signal, onSignal);
  guarded.add(leftovers);
  return {
    release() {
      if (!guarded.delete(leftovers)) return;
      if (guarded.size === 0) for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}

function onSignal(signal: NodeJS.Signals): void {
  const all = [...guarded].map((leftovers) => leftovers());
  for (const pid of all.flatMap((l) => l.pids)) {
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const dir of all.flatMap((l) => l.dirs)) rmSync(dir, { recursive: true, force: true });
  guarded.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
