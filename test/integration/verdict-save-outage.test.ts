/**
 * A verdict paid for is not paid for twice because Redis went away while it was being saved: an
 * ID_MIN ticket's ContrastFaceVerify answers, then Redis dies (SIGKILL) before the worker writes the
 * verdict and comes back from its AOF a few seconds later, longer than the store's commands wait.
 * The worker keeps the answer and saves it once Redis is back, instead of giving the run up (the
 * next run could only submit again: ContrastFaceVerify cannot be looked up). Real redis-server,
 * the ticket's real BullMQ job, the official 2019-03-07 SDK against the emulator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Cloudauth2019Client } from '../../src/adapters/cloudauth/client-2019.js';
import { CloudauthFinancialProvider } from '../../src/adapters/cloudauth/provider-financial.js';
import { RoutingProvider } from '../../src/adapters/cloudauth/routing-provider.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
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
  // the processor runs the ticket's real job itself, as a worker would: a BullMQ worker's blocking
  // connection may not come back from a server restart (taskforcesh/bullmq#2466), which is not
  // what this test is about
  const processTicket = testProcessor(o, [], { provider });
  o.emu.cloudauth.resetCounters();
  await o.app.intake.enqueue({
    ticketId: 'outage-1',
    biz: 'FaceServer',
    binding: aBinding(await smallJpeg('#6a4b3e')),
  });
  const job = await o.app.queue.getJob(jobIdOf('outage-1'));
  if (job === undefined) throw new Error('the ticket has no job');
  // the run that meets the outage saves the verdict itself: the ticket passed, no failed attempt
  expect(await processTicket(job)).toBe('passed');
  await outage;
  const t = await o.app.store.get('outage-1');
  expect(t).toMatchObject({ state: 'passed', attempts: 0 });
  // and ContrastFaceVerify was billed once
  expect(o.emu.cloudauth.counters().ContrastFaceVerify?.ok).toBe(1);
}, 60_000);
