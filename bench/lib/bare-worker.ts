/**
 * The baselines' worker process: a bare BullMQ worker with no ticket store, no rate limiter and no
 * state machine. `BENCH_MODE`:
 * - `calls`: the server flow's HTTP calls per job with the same clients as ours (pop-core through
 *   `CloudauthClient`, ali-oss through `OssMaterialUploader`) and the same image bytes, carried in
 *   the job's payload: GetVerifyToken, PutObject, SubmitMaterials, GetStatus while under review
 *   (no GetMaterials: the orchestrator does not call it either).
 * - `sleep`: waits `BENCH_SLEEP_MS` per job (plain BullMQ at a fixed latency).
 * - `noop`: completes at once.
 *
 * Environment: BENCH_REDIS_URL, BENCH_QUEUE, BENCH_PREFIX, BENCH_CONCURRENCY, BENCH_MODE,
 * BENCH_SLEEP_MS, and for `calls` CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID,
 * CLOUDAUTH_ACCESS_KEY_SECRET. Stops on SIGTERM once its active jobs are done.
 */
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import { OssMaterialUploader, stsLeaseOf } from '../../src/adapters/oss/uploader.js';
import { dataUriBytes, type BareJobData } from './bench-tickets.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

const mode = env('BENCH_MODE');
const connection = new Redis(env('BENCH_REDIS_URL'), { maxRetriesPerRequest: null });
const processor = mode === 'calls' ? serverFlow() : mode === 'sleep' ? sleeper() : noop;
const worker = new Worker(env('BENCH_QUEUE'), processor, {
  connection,
  prefix: env('BENCH_PREFIX'),
  concurrency: Number(env('BENCH_CONCURRENCY')),
});
worker.on('error', (err) => process.stderr.write(`worker error: ${err.message}\n`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void worker
      .close()
      .then(() => connection.quit())
      .finally(() => process.exit(0));
  });
}

function noop(): Promise<string> {
  return Promise.resolve('done');
}

function sleeper(): () => Promise<string> {
  const ms = Number(env('BENCH_SLEEP_MS'));
  return () => new Promise((resolve) => setTimeout(() => resolve('done'), ms));
}

function serverFlow(): (job: Job<BareJobData>) => Promise<number> {
  const cloudauth = new CloudauthClient({
    endpoint: env('CLOUDAUTH_ENDPOINT'),
    accessKeyId: env('CLOUDAUTH_ACCESS_KEY_ID'),
    accessKeySecret: env('CLOUDAUTH_ACCESS_KEY_SECRET'),
    timeoutMs: 10_000,
  });
  const uploader = new OssMaterialUploader({ timeoutMs: 30_000 });
  return async (job) => {
    const { ticketId, biz, name, idNumber, face } = job.data;
    const token = await cloudauth.getVerifyToken({
      biz,
      ticketId,
      binding: { Name: name, IdentificationNumber: idNumber },
    });
    const bytes = dataUriBytes(face);
    const ref = await uploader.upload(stsLeaseOf(token), {
      field: 'FacePic',
      bytes,
      type: 'jpeg',
      width: 0,
      height: 0,
    });
    const submitted = await cloudauth.submitMaterials({
      verifyToken: token.verifyToken.token,
      materials: [
        { type: 'Name', value: name },
        { type: 'IdentificationNumber', value: idNumber },
        { type: 'FacePic', value: ref },
      ],
    });
    let status = submitted.statusCode;
    while (status === 0 || status === -1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await cloudauth.getStatus({ biz, ticketId })).statusCode;
    }
    return status;
  };
}
