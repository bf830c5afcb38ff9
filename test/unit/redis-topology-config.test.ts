/**
 * The Redis topology settings: `REDIS_URL`, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` (one of
 * them), their credentials and TLS, how they select production mode, what they warn about, and the
 * topology the connection factory is given.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configWarnings } from '../../src/config-checks.js';
import { defaultWaitReplicas, redisTopologyOf } from '../../src/adapters/redis/connection.js';

const embedded = { ORCHESTRATOR_MODE: 'embedded' };

describe('the Redis topology settings', () => {
  it('is one node at 127.0.0.1:6379 with nothing set, with no replica to wait for', () => {
    const topology = redisTopologyOf(loadConfig(embedded));
    expect(topology).toEqual({
      kind: 'single',
      url: 'redis://127.0.0.1:6379',
      tls: undefined,
      username: undefined,
      password: undefined,
    });
    expect(defaultWaitReplicas(topology)).toBe(0);
  });

  it('reads Sentinel addresses, the primary name and both passwords', () => {
    const config = loadConfig({
      ...embedded,
      REDIS_SENTINELS: '127.0.0.1:26379, 127.0.0.1:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'orders',
      REDIS_PASSWORD: 'data-nodes-password',
      REDIS_SENTINEL_PASSWORD: 'sentinel-password',
    });
    const topology = redisTopologyOf(config);
    expect(topology).toMatchObject({
      kind: 'sentinel',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'orders',
      password: 'data-nodes-password',
      sentinelPassword: 'sentinel-password',
    });
    expect(defaultWaitReplicas(topology)).toBe(1);
  });

  it('reads Cluster seed nodes, TLS and the CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-ca-'));
    try {
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const config = loadConfig({
        ...embedded,
        REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
        REDIS_TLS: 'true',
        REDIS_TLS_CA_FILE: caFile,
      });
      const topology = redisTopologyOf(config);
      expect(topology.kind).toBe('cluster');
      expect(topology.tls?.ca).toContain('BEGIN CERTIFICATE');
      expect(defaultWaitReplicas(topology)).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names REDIS_TLS_CA_FILE when it cannot be read, never its contents', () => {
    const config = loadConfig({ ...embedded, REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' });
    expect(() => redisTopologyOf(config)).toThrow(/^REDIS_TLS_CA_FILE cannot be read \(ENOENT\)$/);
  });

  it('refuses two topologies at once, naming both', () => {
    expect(() =>
      loadConfig({
        ...embedded,
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_CLUSTER_NODES: '127.0.0.1:7000',
      }),
    ).toThrow(/^REDIS_URL, REDIS_CLUSTER_NODES are set together: .*set only one of them$/);
  });

  it.each([
    ['REDIS_SENTINELS', 'localhost'],
    ['REDIS_SENTINELS', '10.0.0.5:'],
    ['REDIS_CLUSTER_NODES', 'host:99999'],
    ['REDIS_CLUSTER_NODES', ','],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
  ])('refuses %s=%s, naming the setting', (key, value) => {
    expect(() => loadConfig({ ...embedded, [key]: value })).toThrow(
      new RegExp(`^invalid configuration: ${key}=`),
    );
  });

  it('selects production for Sentinels or Cluster nodes off this machine, not for loopback ones', () => {
    expect(loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379,localhost:26380' }).mode).toBe(
      'embedded',
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-0.internal:6379' })).toThrow(
      /^Setting REDIS_CLUSTER_NODES \(not loopback\) selects ORCHESTRATOR_MODE=production/,
    );
  });

  it('takes Sentinel or Cluster settings for REDIS_URL in production', () => {
    const production = {
      ORCHESTRATOR_MODE: 'production',
      ENCRYPTION_KEY: 'mJ0Q1u8c3Vf3sPZx4dW7r6bK2nL9yT5aE1gH0iO4uRk=',
    };
    expect(() => loadConfig(production, 'cli')).toThrow(
      /requires REDIS_URL \(or REDIS_SENTINELS, or REDIS_CLUSTER_NODES\) for the command line/,
    );
    const config = loadConfig(
      { ...production, REDIS_SENTINELS: '10.0.0.5:26379', REDIS_TLS: 'true' },
      'cli',
    );
    expect(redisTopologyOf(config).kind).toBe('sentinel');
  });

  it('warns about Sentinel or Cluster nodes off this machine without TLS, naming one host', () => {
    const plain = loadConfig({ ...embedded, REDIS_CLUSTER_NODES: '127.0.0.1:7000,10.0.0.7:7001' });
    expect(configWarnings(plain)).toEqual([
      'REDIS_CLUSTER_NODES reaches 10.0.0.7 without TLS: set REDIS_TLS=true (the password, ticket ids and job payloads cross the network in clear)',
    ]);
    const tls = loadConfig({
      ...embedded,
      REDIS_CLUSTER_NODES: '10.0.0.7:7001',
      REDIS_TLS: 'true',
    });
    expect(configWarnings(tls)).toEqual([]);
  });
});
