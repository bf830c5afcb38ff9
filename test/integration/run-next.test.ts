/**
 * A woken ticket runs next, not behind a back-office batch: `runNext` promotes a delayed job to
 * the front of the wait list (real Redis, real BullMQ queue and worker).
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, expect, it } from 'vitest';
import { bullPrefix, runNext } from '../../src/adapters/bullmq/queues.js';
import { deleteKeys, testRedis } from '../support/redis.js';
import { waitUntil } from '../../testkit/waiting.js';

// the product's queue prefix, a hash tag: on a Cluster every key of the queue is in one slot
const prefix = bullPrefix(`test-run-next-${randomUUID().slice(0, 8)}`);
const connection = testRedis('queue');
const queue = new Queue('q', { connection, prefix });

afterAll(async () => {
  await queue.close();
  await deleteKeys(connection, [`${prefix}:*`]);
});

it('promotes a delayed job ahead of every waiting one', async () => {
  await queue.addBulk(
    Array.from({ length: 200 }, (_, i) => ({ name: 'batch', data: {}, opts: { jobId: `b${i}` } })),
  );
  const woken = await queue.add('woken', {}, { jobId: 'woken', delay: 3_600_000 });
  expect(await woken.getState()).toBe('delayed');
  await runNext(woken);
  expect(await woken.getState()).toBe('waiting');
  // a job that is not delayed any more is left alone
  await runNext(await queue.getJob('b5'));
  await runNext(undefined);

  const order: string[] = [];
  const workerConnection = testRedis('worker');
  const worker = new Worker(
    'q',
    (job) => {
      order.push(job.id ?? '');
      return Promise.resolve();
    },
    { connection: workerConnection, prefix, concurrency: 1 },
  );
  await waitUntil('three jobs processed', () => order.length >= 3);
  await worker.close();
  await workerConnection.quit();
  expect(order[0]).toBe('woken');
  expect(order.slice(1, 3)).toEqual(['b0', 'b1']);
});
