/**
 * The baseline of the CLI intake benchmark, run as a child process like the CLI itself: raw BullMQ
 * `addBulk` of the jobs `enqueue` would add for the same rows (same queue and key prefix, same job
 * ids, data and options, chunks of the CLI's size), with no ticket store, no file and no checks.
 *
 *   node --import tsx bench/intake-cli-baseline.ts <count>
 *
 * Configured from the environment like the CLI (REDIS_URL, REDIS_PREFIX, JOB_* settings); prints
 * one JSON line, a {@link BaselineReport}.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CHUNK_ROWS } from '../src/cli/preflight.js';
import { loadConfig } from '../src/config.js';
import {
  bullPrefix,
  ticketJobOptions,
  TICKET_QUEUE,
  type TicketJobData,
} from '../src/adapters/bullmq/queues.js';
import { benchTicketId, type BaselineReport } from './intake-cli-support.js';

const count = Number(process.argv[2]);
if (!Number.isSafeInteger(count) || count < 1) {
  process.stderr.write('usage: intake-cli-baseline.ts <count>\n');
  process.exit(2);
}
const config = loadConfig(process.env);
const redis = new Redis(config.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
const queue = new Queue<TicketJobData>(TICKET_QUEUE, {
  connection: redis,
  prefix: bullPrefix(config.redisPrefix),
});
const settings = {
  attempts: config.queue.attempts,
  keepCompletedSeconds: config.queue.keepCompletedSeconds,
  keepFailedSeconds: config.queue.keepFailedSeconds,
};
await queue.waitUntilReady();

const started = performance.now();
for (let first = 0; first < count; first += CHUNK_ROWS) {
  const jobs = [];
  for (let i = first; i < Math.min(count, first + CHUNK_ROWS); i++) {
    const ticketId = benchTicketId(i);
    jobs.push({ name: 'ticket', data: { ticketId }, opts: ticketJobOptions(ticketId, settings) });
  }
  await queue.addBulk(jobs);
}
const report: BaselineReport = {
  jobs: count,
  addMs: performance.now() - started,
  payloadBytes: Buffer.byteLength(JSON.stringify({ ticketId: benchTicketId(count - 1) })),
};
await queue.close();
await redis.quit();
process.stdout.write(`${JSON.stringify(report)}\n`);
