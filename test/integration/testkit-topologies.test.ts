/**
 * The test kit's Redis topologies (testkit/redis-topology.ts), used the way the product will use
 * them: through ioredis's own Sentinel and Cluster clients. A primary is SIGKILLed; the client goes
 * on writing to the promoted replica, and what was acknowledged before the kill (by `WAIT 1`, so a
 * replica had it) is still there. The password variant shows that the set runs with `requirepass`
 * on the data servers and on the Sentinels, and that a client without the password is refused.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startRedisCluster,
  startSentinelSet,
  type RedisCluster,
  type SentinelSet,
} from '../../testkit/redis-topology.js';
import type { RedisServer } from '../../testkit/redis.js';
import { waitFor, waitUntil, within } from '../../testkit/waiting.js';

const clients: Array<Redis | Cluster> = [];

/** A client closed in afterAll. */
function track<T extends Redis | Cluster>(client: T): T {
  client.on('error', () => undefined); // refused connections while a primary is down
  clients.push(client);
  return client;
}

/** A plain connection to one server, past Sentinel and Cluster routing. */
function direct(server: RedisServer, password?: string): Redis {
  return track(
    new Redis({
      port: server.port,
      host: '127.0.0.1',
      ...(password === undefined ? {} : { password }),
      maxRetriesPerRequest: 1,
    }),
  );
}

async function replicationOf(server: RedisServer, password?: string) {
  const info = await direct(server, password).info('replication');
  return {
    role: /^role:(\w+)/m.exec(info)?.[1],
    masterPort: Number(/^master_port:(\d+)/m.exec(info)?.[1]),
    link: /^master_link_status:(\w+)/m.exec(info)?.[1],
  };
}

/**
 * Before a topology stops: a client still connected would reconnect to the servers going away, and
 * the Sentinel client's own connections to the Sentinels have no error listener to take that.
 */
function closeClients(): void {
  for (const client of clients.splice(0)) client.disconnect();
}

afterAll(closeClients);

/**
 * The scenario both Sentinel sets go through: writes acknowledged by a replica, a primary kill,
 * the same client writing to the promoted replica, and the killed server back as its replica.
 */
async function failOverUnderAClient(
  set: SentinelSet,
  auth: { password?: string; sentinelPassword?: string },
): Promise<{ failoverMs: number }> {
  const client = track(
    new Redis({
      sentinels: [...set.sentinels],
      name: set.name,
      failoverDetector: true,
      ...auth,
    } satisfies RedisOptions),
  );
  const keys = Array.from({ length: 20 }, (_, i) => `topology:sentinel:${i}`);
  for (const key of keys) await client.set(key, `before-${key}`);
  expect(await client.wait(1, 5000)).toBeGreaterThanOrEqual(1);

  const first = await set.primary();
  expect(await direct(first, auth.password).get(keys[0] ?? '')).toBe(`before-${keys[0]}`);

  const failoverMs = await set.killPrimary();
  expect(first.running()).toBe(false);
  const second = await set.primary();
  expect(second.port).not.toBe(first.port);

  // The same client object, no reconnect by hand: its next write lands on the promoted replica.
  let attempt = 0;
  await waitUntil(
    'the Sentinel client writes to the new primary',
    async () => {
      const token = `after-${++attempt}`;
      await within(
        'a write through the Sentinel client',
        client.set('topology:after', token),
        3000,
      );
      return (await direct(second, auth.password).get('topology:after')) === token;
    },
    { timeoutMs: 20_000, everyMs: 100 },
  );
  expect(await client.mget(keys)).toEqual(keys.map((key) => `before-${key}`));

  await set.restartKilled();
  expect(first.running()).toBe(true);
  expect(await replicationOf(first, auth.password)).toEqual({
    role: 'slave',
    masterPort: second.port,
    link: 'up',
  });
  expect((await set.primary()).port).toBe(second.port); // no second failover on the way
  // Its data came back with the resync from the new primary.
  expect(await direct(first, auth.password).get('topology:after')).toBe(`after-${attempt}`);
  return { failoverMs };
}

describe('startSentinelSet', () => {
  let set: SentinelSet | undefined;
  let startMs = 0;
  beforeAll(async () => {
    const started = performance.now();
    set = await startSentinelSet();
    startMs = Math.round(performance.now() - started);
  }, 40_000);
  afterAll(async () => {
    closeClients();
    await set?.stop();
  });

  it('gives ioredis a primary, two replicas and three Sentinels that know one another', async ({
    annotate,
  }) => {
    if (!set) throw new Error('no set');
    await annotate(`startup ${startMs} ms`);
    expect(set.name).toBe('orchestrator');
    expect(set.sentinels).toHaveLength(3);
    expect(set.nodes).toHaveLength(3);
    const primary = await set.primary();
    expect(primary.port).toBe(set.nodes[0]?.port);
    for (const replica of set.nodes.slice(1)) {
      expect(await replicationOf(replica)).toEqual({
        role: 'slave',
        masterPort: primary.port,
        link: 'up',
      });
    }
    for (const sentinel of set.sentinels) {
      const probe = track(new Redis({ ...sentinel, maxRetriesPerRequest: 1 }));
      const peers = (await probe.call('SENTINEL', 'SENTINELS', set.name)) as unknown[];
      expect(peers).toHaveLength(2);
    }
  });

  it('a Sentinel client keeps writing through a primary kill; WAIT-acknowledged writes survive', async ({
    annotate,
  }) => {
    if (!set) throw new Error('no set');
    const { failoverMs } = await failOverUnderAClient(set, {});
    await annotate(`failover ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(30_000);
  }, 60_000);
});

describe('startSentinelSet with passwords', () => {
  const password = 'topology-data-pass';
  const sentinelPassword = 'topology-sentinel-pass';
  let set: SentinelSet | undefined;
  beforeAll(async () => {
    set = await startSentinelSet({ name: 'orchestrator-auth', password, sentinelPassword });
  }, 40_000);
  afterAll(async () => {
    closeClients();
    await set?.stop();
  });

  it('refuses a client without the password, at the data servers and at the Sentinels', async () => {
    if (!set) throw new Error('no set');
    const primary = await set.primary();
    await expect(direct(primary).set('topology:open', 'no')).rejects.toThrow(/NOAUTH|WRONGPASS/);
    await expect(direct(primary, 'not-the-password').get('x')).rejects.toThrow(/WRONGPASS/);
    const sentinel = set.sentinels[0];
    if (!sentinel) throw new Error('no Sentinel');
    const anonymous = track(new Redis({ ...sentinel, maxRetriesPerRequest: 1 }));
    await expect(anonymous.call('SENTINEL', 'get-master-addr-by-name', set.name)).rejects.toThrow(
      /NOAUTH|WRONGPASS/,
    );
    const authed = track(new Redis({ ...sentinel, password: sentinelPassword }));
    expect(await authed.call('SENTINEL', 'get-master-addr-by-name', set.name)).toEqual([
      '127.0.0.1',
      String(primary.port),
    ]);
  });

  it('a Sentinel client given both passwords keeps writing through a primary kill', async ({
    annotate,
  }) => {
    if (!set) throw new Error('no set');
    const { failoverMs } = await failOverUnderAClient(set, { password, sentinelPassword });
    await annotate(`failover with passwords ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(30_000);
  }, 60_000);
});

describe('startRedisCluster', () => {
  let topology: RedisCluster | undefined;
  let startMs = 0;
  beforeAll(async () => {
    const started = performance.now();
    topology = await startRedisCluster();
    startMs = Math.round(performance.now() - started);
  }, 40_000);
  afterAll(async () => {
    closeClients();
    await topology?.stop();
  });

  it('an ioredis Cluster reads and writes the slots of a killed primary again once its replica took over', async ({
    annotate,
  }) => {
    if (!topology) throw new Error('no cluster');
    await annotate(`startup ${startMs} ms`);
    expect(topology.nodes).toHaveLength(6);
    const primaries = await topology.primaries();
    expect(primaries).toHaveLength(3);
    expect(primaries.flatMap((p) => p.slots)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);

    // One key on each primary.
    const keyOn = new Map<number, string>();
    for (let i = 0; keyOn.size < 3; i++) {
      const key = `topology:cluster:${i}`;
      const slot = await topology.keySlot(key);
      const owner = primaries.find((p) => p.slots.some(([a, b]) => a <= slot && slot <= b));
      if (owner && !keyOn.has(owner.server.port)) keyOn.set(owner.server.port, key);
    }
    const keys = [...keyOn.values()];

    const cluster = track(
      new Cluster([...topology.nodes], {
        redisOptions: { connectTimeout: 1000, maxRetriesPerRequest: 1 },
      }),
    );
    for (const key of keys) await cluster.set(key, `before-${key}`);
    // WAIT on each primary's own connection: the writes sent on it have reached its replica.
    for (const node of cluster.nodes('master')) expect(await node.wait(1, 5000)).toBe(1);

    const [victimPort, victimKey] = [...keyOn][0] ?? [0, ''];
    const victim = topology.servers.find((s) => s.port === victimPort);
    if (!victim) throw new Error('no victim');
    const failoverMs = await topology.killPrimaryOf(victimKey);
    await annotate(`failover ${failoverMs} ms`);
    expect(victim.running()).toBe(false);
    const slot = await topology.keySlot(victimKey);
    const after = await topology.primaries();
    expect(after).toHaveLength(3);
    const promoted = after.find((p) => p.slots.some(([a, b]) => a <= slot && slot <= b))?.server;
    expect(promoted).toBeDefined();
    expect(promoted?.port).not.toBe(victimPort);

    // The same client: it finds the promoted replica and reads what was acknowledged before.
    await waitFor(
      'the cluster client reads the killed primary’s key',
      () => within('a read through the cluster client', cluster.get(victimKey), 3000),
      (value) => value === `before-${victimKey}`,
      { timeoutMs: 20_000, everyMs: 100 },
    );
    await cluster.set(victimKey, 'after');
    expect(await cluster.get(victimKey)).toBe('after');
    if (promoted) expect(await direct(promoted).get(victimKey)).toBe('after');
    for (const key of keys.slice(1)) expect(await cluster.get(key)).toBe(`before-${key}`);

    // The killed node comes back from its nodes.conf as the replica of the one that replaced it.
    await topology.restartKilled();
    expect(victim.running()).toBe(true);
    expect(await replicationOf(victim)).toEqual({
      role: 'slave',
      masterPort: promoted?.port,
      link: 'up',
    });
    const replica = direct(victim);
    await replica.call('READONLY'); // a cluster replica answers reads only after READONLY
    expect(await replica.get(victimKey)).toBe('after');
  }, 60_000);
});
