/**
 * A verdict paid for is not paid for twice because Redis went away while it was being saved: an
 * ID_MIN ticket's ContrastFaceVerify answers, then Redis dies (SIGKILL) before the worker writes the
 * verdict and comes back from its AOF a few seconds later, longer than the store's commands wait.
 * The worker keeps the answer and saves it once Redis is back, instead of giving the run up (the
 * next run could only submit again: ContrastFaceVerify cannot be looked up). Real redis-server,
 * real BullMQ worker, the official 2019-03-07 SDK against the emulator.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Cloudauth2019Client } from '../../src/adapters/cloudauth/client-2019.js';
import { CloudauthFinancialProvider } from '../../src/adapters/cloudauth/provider-financial.js';
import { RoutingProvider } from '../../src/adapters/cloudauth/routing-provider.js';
import { startTicketWorker } from '../../src/adapters/bullmq/ticket-worker.js';
import type { VerificationProvider } from '../../src/flow/provider.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';
import { smallJpeg } from '../support/images.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from '../support/emulator.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { testProcessor } from '../support/processor.js';

/** Longer than a store command waits for Redis (about 2 s), shorter than the worker's patience. */
const OUTAGE_MS = 4000;

let redis: RedisServer;
let o: TestOrchestrator;

beforeAll(async () => {
  redis = await startRedisServer({ name: 'verdict-outage', aof: { fsync: 'always' } });
  o = await startTestOrchestrator({
    workers: false,
    env: { REDIS_URL: redis.url, CLOUDAUTH_BIZ: 'FaceServer=financial:ID_MIN:1000000007' },
  });
}, 30_000);

afterAll(async () => {
  if (!redis.running()) await redis.restart();
  await o.close();
  await redis.stop();
}, 30_000);

it('saves a ContrastFaceVerify verdict after an outage, with one call billed', async () => {
  const client = new Cloudauth2019Client({
    endpoint: o.emu.cloudauth.url,
    accessKeyId: TEST_KEY_ID,
    accessKeySecret: TEST_KEY_SECRET,
    timeoutMs: 5000,
  });
  const financial = new CloudauthFinancialProvider({
    client,
    catalogue: o.app.config.cloudauth.biz,
    links: o.app.links,
  });
  let outage: Promise<void> | undefined;
  // the provider as it is, but Redis dies the moment ContrastFaceVerify has answered
  const provider: VerificationProvider = new RoutingProvider({
    financial: new Proxy(financial, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (prop !== 'submit') {
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        }
        return async (...args: Parameters<VerificationProvider['submit']>) => {
          const answer = await target.submit(...args);
          await redis.kill();
          outage = new Promise<void>((resolve, reject) => {
            setTimeout(() => {
              redis.restart().then(resolve, reject);
            }, OUTAGE_MS);
          });
          return answer;
        };
      },
    }),
  });
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const worker = startTicketWorker({
    connection,
    prefix: o.prefix,
    processor: testProcessor(o, [], { provider }),
    concurrency: 1,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    backoff: { baseMs: 50, capMs: 400 },
    logger: pino({ level: 'silent' }),
  });
  try {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 'outage-1',
      biz: 'FaceServer',
      binding: aBinding(await smallJpeg('#6a4b3e')),
    });
    const t = await o.waitFor('outage-1', undefined, 30_000);
    await outage;
    expect(t.state).toBe('passed');
    expect(o.emu.cloudauth.counters().ContrastFaceVerify?.ok).toBe(1);
    // the run that met the outage saved the verdict itself: no failed attempt, no second submit
    expect(t.attempts).toBe(0);
  } finally {
    // BullMQ's Worker.close() may never resolve once its blocking connection went through a
    // server restart (taskforcesh/bullmq#2466, #4656): bounded here, then the sockets dropped
    await Promise.race([worker.close(2000), new Promise((r) => setTimeout(r, 5000))]);
    await worker.worker.disconnect().catch(() => undefined);
    connection.disconnect();
  }
}, 60_000);
