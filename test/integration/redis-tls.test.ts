/**
 * `rediss://` as a deployment configures it: a `redis-server` of the test's own with a TLS port
 * (`--tls-port`; its plain port serves the kit's readiness probe), a certificate from a private CA (test/fixtures/redis-tls) and a
 * password. The configuration names the URL, the password apart (`REDIS_PASSWORD`) and the CA
 * (`REDIS_TLS_CA_FILE`); the product's connection factory then reaches it, and intake stores a
 * ticket through it. Without the CA the server's certificate is refused; without the password the
 * server refuses.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, redisTopologyOf } from '../../src/adapters/redis/connection.js';
import { loadConfig } from '../../src/config.js';
import { aBinding, startTestOrchestrator } from '../support/orchestrator.js';
import { smallJpeg } from '../support/images.js';
import { REPO_ROOT, freePort } from '../../testkit/processes.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';

const TLS_DIR = join(REPO_ROOT, 'test/fixtures/redis-tls');
const CA_FILE = join(TLS_DIR, 'ca.pem');
const PASSWORD = `tls-${randomUUID()}`;

let server: RedisServer;
let url: string;
let port: number;

beforeAll(async () => {
  const tlsPort = await freePort();
  server = await startRedisServer({
    name: 'redis-tls',
    // the kit's readiness probe speaks plain TCP: it gets a port of its own on loopback, and the
    // clients under test get the TLS port
    args: [
      ...['--tls-port', String(tlsPort)],
      ...['--tls-cert-file', join(TLS_DIR, 'server.pem')],
      ...['--tls-key-file', join(TLS_DIR, 'server.key')],
      ...['--tls-ca-cert-file', CA_FILE],
      ...['--tls-auth-clients', 'no'],
    ],
  });
  // the password once the kit has seen the server answer (its probe knows none)
  const admin = new Redis(server.url);
  await admin.config('SET', 'requirepass', PASSWORD);
  admin.disconnect();
  url = `rediss://127.0.0.1:${tlsPort}`;
  port = tlsPort;
});

afterAll(async () => {
  await server?.stop();
});

const embedded = { ORCHESTRATOR_MODE: 'embedded' };

describe('a Redis reached over TLS', () => {
  it('answers through the factory with the CA file and the password from the settings', async () => {
    const config = loadConfig({
      ...embedded,
      REDIS_URL: url,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_FILE: CA_FILE,
    });
    const client = connectRedis(redisTopologyOf(config), 'commands');
    try {
      expect(await client.ping()).toBe('PONG');
      // connected to the port that speaks only TLS
      expect(await client.client('INFO')).toContain(`laddr=127.0.0.1:${port} `);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a server whose certificate no trusted CA signed', async () => {
    const config = loadConfig({ ...embedded, REDIS_URL: url, REDIS_PASSWORD: PASSWORD });
    const client = connectRedis(redisTopologyOf(config), 'commands');
    const errors: string[] = [];
    client.on('error', (err: Error) => errors.push(err.message));
    try {
      await expect(client.ping()).rejects.toThrow();
      expect(errors.join('\n')).toMatch(/self[- ]signed certificate|unable to verify/i);
    } finally {
      client.disconnect();
    }
  });

  it('is refused by the server without the password', async () => {
    const config = loadConfig({ ...embedded, REDIS_URL: url, REDIS_TLS_CA_FILE: CA_FILE });
    const client = connectRedis(redisTopologyOf(config), 'commands');
    client.on('error', () => undefined);
    try {
      await expect(client.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      client.disconnect();
    }
  });

  it('stores a ticket accepted by intake', async () => {
    const o = await startTestOrchestrator({
      workers: false,
      env: { REDIS_URL: url, REDIS_PASSWORD: PASSWORD, REDIS_TLS_CA_FILE: CA_FILE },
    });
    try {
      const ticketId = `tls-${randomUUID().slice(0, 8)}`;
      const result = await o.app.intake.enqueue({
        ticketId,
        biz: 'RPMin',
        binding: aBinding(await smallJpeg()),
      });
      expect(result.created).toBe(true);
      expect((await o.app.store.get(ticketId))?.state).toBe('queued');
    } finally {
      await o.close();
    }
  });
});
