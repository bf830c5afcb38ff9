/**
 * The quota benchmark's driver of the browser flow's actions (ID_PRO: InitFaceVerify, then
 * DescribeFaceVerify), one child process of several. A ticket of that flow needs a person's browser
 * to open its start link before InitFaceVerify; rather than fake a browser per ticket, this process
 * makes the two calls the worker makes for such a ticket, with the same parts: the official SDK
 * through `Cloudauth2019Client`, each call in its action's slot of the shared `ProviderRateLimiter`
 * (same Redis, same prefix, same `CLOUDAUTH_QPS` and headroom as the workers, read by `loadConfig`
 * from the workers' environment), and a Throttling answer blocking the action for every process
 * as the worker's step failures do. Between the two calls it completes the emulator's page behind
 * the CertifyUrl (the person's part, no API call), so that DescribeFaceVerify answers a verdict.
 *
 * Environment: the workers' (ORCHESTRATOR_MODE, REDIS_URL, REDIS_PREFIX, CLOUDAUTH_*), and
 * BENCH_FACE_BIZ (a configured `financial:ID_PRO` Biz), BENCH_SESSIONS, BENCH_CONCURRENCY,
 * BENCH_DRIVERS (processes that wait for each other before the first call), BENCH_DRIVER_INDEX,
 * BENCH_REPORT_KEY. At the end it pushes one JSON report onto the list BENCH_REPORT_KEY (counts,
 * error codes and the session window; no personal data) and exits. Only its type is for importing:
 * the module runs when loaded.
 */
import { Redis } from 'ioredis';
import { Cloudauth2019Client } from '../../src/adapters/cloudauth/client-2019.js';
import { ProviderRateLimiter } from '../../src/adapters/redis/rate-limiter.js';
import { loadConfig } from '../../src/config.js';
import { OrchestratorError, ThrottledError } from '../../src/errors.js';
import { anIdNumber, seededRandom } from '../../testkit/generators.js';

/** What one driver process reports. */
export interface DriverReport {
  index: number;
  sessions: number;
  /** DescribeFaceVerify answered a verdict, passed or not. */
  verdicts: number;
  passed: number;
  /** Sessions that ended with an error (codes in `errors`). */
  failed: number;
  /** Throttling answers seen (each retried after blocking the action). */
  throttled: number;
  errors: Record<string, number>;
  /** Epoch ms: the first session's start and the last one's end. */
  firstStartMs: number;
  lastEndMs: number;
}

/** A MetaInfo shaped like the one Alibaba's script makes in a browser (no person in it). */
const META_INFO = JSON.stringify({
  apdidToken: '',
  appName: 'cloudauth-bench',
  appVersion: '1.0.0',
  bioMetaInfo: 'bench:driver',
  deviceType: 'h5',
  ua: 'cloudauth-bench',
});
/** Tries of one call before the session gives up on Throttling answers. */
const THROTTLE_TRIES = 8;

const SURNAMES = ['张', '王', '刘', '陈', '杨', '赵', '黄', '周'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军'];

const envNumber = (name: string): number => {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
};

const config = loadConfig(process.env, 'worker');
const bizName = process.env.BENCH_FACE_BIZ ?? '';
const scene = config.cloudauth.biz[bizName];
if (scene === undefined || typeof scene === 'string' || scene.productCode !== 'ID_PRO') {
  throw new Error('BENCH_FACE_BIZ must name a configured financial:ID_PRO Biz');
}
const endpoint = config.cloudauth.endpoint;
const { accessKeyId, accessKeySecret } = config.cloudauth;
if (endpoint === undefined || accessKeyId === undefined || accessKeySecret === undefined) {
  throw new Error('the driver needs CLOUDAUTH_ENDPOINT and its key pair');
}
const index = envNumber('BENCH_DRIVER_INDEX');
const sessions = envNumber('BENCH_SESSIONS');
const concurrency = Math.max(1, envNumber('BENCH_CONCURRENCY'));
const drivers = Math.max(1, envNumber('BENCH_DRIVERS'));
const reportKey = process.env.BENCH_REPORT_KEY ?? '';
if (reportKey === '') throw new Error('BENCH_REPORT_KEY is not set');

const redis = new Redis(config.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
const limiter = new ProviderRateLimiter({
  redis,
  prefix: config.redisPrefix,
  qps: config.queue.qps,
  headroom: config.queue.qpsHeadroom,
});
const client = new Cloudauth2019Client({
  endpoint,
  accessKeyId,
  accessKeySecret,
  timeoutMs: config.cloudauth.timeoutMs,
});
const sceneId = Number(scene.sceneId);

const report: DriverReport = {
  index,
  sessions,
  verdicts: 0,
  passed: 0,
  failed: 0,
  throttled: 0,
  errors: {},
  firstStartMs: 0,
  lastEndMs: 0,
};

/** One call in its action's slot; a Throttling answer blocks the action and the call is retried. */
async function limited<T>(action: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await limiter.run(action, call);
    } catch (err) {
      if (!(err instanceof ThrottledError) || attempt >= THROTTLE_TRIES) throw err;
      report.throttled++;
      await limiter.block(action, err.retryAfterMs ?? 1000);
    }
  }
}

/** The person completes the page behind the CertifyUrl (the emulator's form; no API call). */
async function completePage(certifyUrl: string): Promise<void> {
  const answer = await fetch(certifyUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'outcome=complete',
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await answer.arrayBuffer();
  if (answer.status !== 303 && answer.status !== 200) {
    throw new OrchestratorError('INTERNAL_ERROR', `the CertifyUrl page answered ${answer.status}`);
  }
}

async function session(n: number): Promise<void> {
  const random = seededRandom(1000 * (index + 1) + n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const applicant = { name: `${pick(SURNAMES)}${pick(GIVEN)}`, idNumber: anIdNumber(random) };
  const init = await limited('InitFaceVerify', () =>
    client.initFaceVerify({
      sceneId,
      outerOrderNo: `qfv${index}x${n}`,
      applicant,
      metaInfo: META_INFO,
      returnUrl: 'http://127.0.0.1/bench-return',
      model: 'MOVE_ACTION',
      certifyUrlType: 'H5',
    }),
  );
  await completePage(init.certifyUrl);
  const verdict = await limited('DescribeFaceVerify', () =>
    client.describeFaceVerify({ sceneId, certifyId: init.certifyId }),
  );
  report.verdicts++;
  if (verdict.passed) report.passed++;
}

/** Every driver counts itself in, then waits for the others, so they start together. */
async function barrier(): Promise<void> {
  const key = `${reportKey}:ready`;
  await redis.incr(key);
  const deadline = Date.now() + 60_000;
  while (Number(await redis.get(key)) < drivers) {
    if (Date.now() > deadline) throw new Error('the other drivers did not start in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(): Promise<void> {
  await barrier();
  let next = 0;
  report.firstStartMs = Date.now();
  const lane = async () => {
    for (let n = next++; n < sessions; n = next++) {
      try {
        await session(n);
      } catch (err) {
        report.failed++;
        const code = err instanceof OrchestratorError ? err.code : 'UNEXPECTED';
        report.errors[code] = (report.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, sessions) }, lane));
  report.lastEndMs = Date.now();
  await redis.rpush(reportKey, JSON.stringify(report));
}

try {
  await main();
} catch (err) {
  process.stderr.write(
    `driver ${index} failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
// the SDK's keep-alive sockets would hold the process open
process.exit(process.exitCode ?? 0);
