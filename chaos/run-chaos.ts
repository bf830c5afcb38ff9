/**
 * One chaos run: its own Redis (AOF, everysec), the emulators in their own process with injected
 * faults and short-lived tokens, worker processes and the HTTP API; a paced batch intake through
 * the API of tickets of both API families (see `chaos-tickets.ts`), the legacy interactive tickets
 * completed (or not) through the H5 page (`h5-driver.ts`), the financial browser tickets through
 * their start link and the CertifyUrl page (`face-driver.ts`), workers killed with SIGKILL and
 * restarted, and Redis disrupted as its topology allows (`chaos-topology.ts`: one node killed and
 * restarted from its AOF; a Sentinel primary killed twice, a Cluster primary once, and failed
 * over); then every accepted ticket is checked (see `checks.ts`) and the figures are returned.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrchestratorApi, request } from './api-client.js';
import { startChaosTopology, type Disruption } from './chaos-topology.js';
import {
  CHAOS_BIZ_NAMES,
  CHAOS_BIZ_SETTING,
  REJECT_NAME,
  REVIEW_NAME,
  isServerFlow,
  planTickets,
  type PlannedTicket,
} from './chaos-tickets.js';
import {
  billingProblems,
  checkTickets,
  duplicateBillableCalls,
  exposedSpans,
  type CheckResult,
  type Span,
} from './checks.js';
import { startFaceDriver } from './face-driver.js';
import { startH5Driver } from './h5-driver.js';
import { enqueueTickets } from './producer.js';
import type { ChaosFigures, ChaosOptions, ChaosReport, FailoverFigures } from './chaos-options.js';
import { settleRound } from './settle.js';
import { faceJpegs, seededRandom } from '../testkit/generators.js';
import {
  exitedReason,
  freePorts,
  startTsxProcess,
  type ManagedProcess,
} from '../testkit/processes.js';
import { sleep, waitUntil } from '../testkit/waiting.js';

export * from './chaos-options.js';

/** Both families: RPMin, RPH5BioOnly (2018-09-16), FaceServer, FaceH5 (2019-03-07). */
const BIZ = CHAOS_BIZ_SETTING;
const MAX_LISTED_FAILURES = 20;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = (line: string) =>
    options.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
  const dir = mkdtempSync(join(tmpdir(), 'cloudauth-chaos-'));
  const releasers: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const r of releasers.reverse()) await r().catch(() => undefined);
  };
  try {
    return await run(options, dir, log, started, releasers);
  } finally {
    await release();
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

async function run(
  options: ChaosOptions,
  dir: string,
  log: (line: string) => void,
  started: number,
  releasers: (() => Promise<void>)[],
): Promise<ChaosReport> {
  const random = seededRandom(options.seed ^ 0x5eed);
  const [redisPort = 0, cloudauthPort = 0, ossPort = 0, apiPort = 0] = await freePorts(4);
  const runId = randomBytes(3).toString('hex');
  const batchId = `chaos-${runId}`;
  log(`run ${runId}, seed ${options.seed}, directory ${dir}`);

  const redis = await startChaosTopology({
    kind: options.topology,
    port: redisPort,
    dir,
    powerLossMs: options.powerLossMs,
    outageMs: options.redisOutageMs,
  });
  releasers.push(() => redis.stop());

  const keyId = `LTAIchaos${randomBytes(4).toString('hex')}`;
  const keySecret = randomBytes(18).toString('base64url');
  const apiToken = randomBytes(24).toString('base64url');
  const emulatorUrl = `http://127.0.0.1:${cloudauthPort}`;
  const faults = {
    '*': {
      internalErrorRate: 0.2,
      throttleRate: 0.05,
      hangRate: 0.02,
      hangMs: options.clientTimeoutMs + 2000,
      // carried out and billed, then the connection cut: the answer lost on its way back
      lostAnswerRate: 0.01,
    },
  };
  const emulator = startTsxProcess(
    'emulator',
    'src/emulator/main.ts',
    {
      LOG_LEVEL: 'warn',
      CLOUDAUTH_BIZ: BIZ,
      // the lists the plan draws names from (chaos-tickets.ts)
      EMULATOR_REJECT_NAMES: REJECT_NAME,
      EMULATOR_REVIEW_NAMES: REVIEW_NAME,
      EMULATOR_HOST: '127.0.0.1',
      EMULATOR_CLOUDAUTH_PORT: String(cloudauthPort),
      EMULATOR_OSS_PORT: String(ossPort),
      EMULATOR_ACCESS_KEYS: `${keyId}:${keySecret}`,
      EMULATOR_TOKEN_SECONDS: String(options.tokenSeconds),
      EMULATOR_STS_SECONDS: String(options.tokenSeconds),
      EMULATOR_REVIEW_MS: '2000',
      EMULATOR_FAULTS: JSON.stringify(faults),
    },
    join(dir, 'emulator.log'),
  );
  releasers.push(() => emulator.stop());

  const common: Record<string, string> = {
    // the Cloudauth endpoint is the emulator's: embedded mode, asked for (an endpoint alone
    // would select production)
    ORCHESTRATOR_MODE: 'embedded',
    LOG_LEVEL: options.logLevel,
    ...redis.env,
    REDIS_PREFIX: 'chaos',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    API_TOKENS: apiToken,
    CLOUDAUTH_BIZ: BIZ,
    // the API's address for the start links and Cloudauth's callback: the workers build the
    // callback URL of InitFaceVerify, and they do not listen themselves
    API_PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    CLOUDAUTH_ENDPOINT: emulatorUrl,
    CLOUDAUTH_ACCESS_KEY_ID: keyId,
    CLOUDAUTH_ACCESS_KEY_SECRET: keySecret,
    // job options are set by the process that enqueues (the API), read by the workers
    JOB_ATTEMPTS: '50',
  };
  const workerEnv: Record<string, string> = {
    ...common,
    // several workers on one host: each serves its probes on a free port
    WORKER_OPS_PORT: '0',
    CLOUDAUTH_TIMEOUT_MS: String(options.clientTimeoutMs),
    OSS_TIMEOUT_MS: String(options.clientTimeoutMs * 2),
    CLOUDAUTH_QPS: '*=0',
    WORKER_CONCURRENCY: '50',
    WORKER_LOCK_MS: '3000',
    WORKER_STALLED_INTERVAL_MS: '1500',
    BACKOFF_BASE_MS: '250',
    BACKOFF_CAP_MS: '3000',
    POLL_INITIAL_MS: '500',
    POLL_MAX_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '2000',
    // after the Redis restart, tickets whose job was lost are found within seconds
    RECONCILE_INTERVAL_SECONDS: '5',
  };
  const api = startTsxProcess(
    'api',
    'testkit/api-process.ts',
    { ...common, API_HOST: '127.0.0.1', API_PORT: String(apiPort) },
    join(dir, 'api.log'),
  );
  releasers.push(() => api.stop());

  const workers: ManagedProcess[] = [];
  const startWorker = (slot: number) =>
    startTsxProcess(
      `worker-${slot}`,
      'workers/ticket.worker.ts',
      workerEnv,
      join(dir, `worker-${slot}.log`),
    );
  for (let slot = 0; slot < options.workers; slot++) workers.push(startWorker(slot));
  releasers.push(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGTERM', 5000)));
  });

  const faces = await faceJpegs(16);
  const tickets = planTickets(
    { count: options.tickets, runId, seed: options.seed, tokenMs: options.tokenSeconds * 1000 },
    faces,
  );
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const client = new OrchestratorApi(apiUrl, apiToken);
  await waitUntil(
    'the emulator',
    async () =>
      (await request(`${emulatorUrl}/__admin/counters`, { timeoutMs: 1000 })).status === 200,
    { timeoutMs: 60_000, everyMs: 200, abortIf: exitedReason(emulator) },
  );
  await waitUntil(
    'the API',
    async () => (await request(`${apiUrl}/openapi.json`, { timeoutMs: 1000 })).status === 200,
    { timeoutMs: 60_000, everyMs: 200, abortIf: exitedReason(api) },
  );
  log(`emulator ${emulatorUrl}, API ${apiUrl}, ${redis.description}, ${options.workers} workers`);

  // When a worker kill or the Redis outage could cut a call in flight (the ContrastFaceVerify check).
  const disruptions: Span[] = [];

  // Worker kills: a random worker every few seconds, restarted at once.
  let kills = 0;
  let chaosOn = true;
  const killer = (async () => {
    while (chaosOn && kills < options.kills) {
      await sleep(options.killEveryMs * (0.5 + random()));
      if (!chaosOn) break;
      const slot = Math.floor(random() * workers.length);
      const victim = workers[slot];
      if (!victim) continue;
      const killFrom = Date.now();
      await victim.stop('SIGKILL');
      disruptions.push({ from: killFrom, to: Date.now() });
      kills++;
      workers[slot] = startWorker(slot);
      log(
        `SIGKILL ${victim.name} (pid ${victim.pid ?? '?'}), restarted (${kills}/${options.kills})`,
      );
    }
  })();
  releasers.push(async () => {
    chaosOn = false;
    await killer;
  });

  // Redis: disrupted (killed and restarted, or its primary killed and failed over) as the intake
  // passes 1/(n+1), …, n/(n+1) of the tickets, one disruption after the other.
  const validCount = tickets.filter((t) => t.valid).length;
  const disrupted: Disruption[] = [];
  let disrupting: Promise<void> = Promise.resolve();
  let planned = 0;
  const maybeCrash = (accepted: number) => {
    while (
      planned < redis.disruptions &&
      accepted >= (validCount * (planned + 1)) / (redis.disruptions + 1)
    ) {
      planned++;
      const which = `${planned}/${redis.disruptions}`;
      disrupting = disrupting.then(async () => {
        log(
          redis.kind === 'single'
            ? `SIGKILL redis-server (${accepted} tickets accepted so far)`
            : `SIGKILL the ${redis.kind} primary, failover ${which} (${accepted} tickets accepted so far)`,
        );
        const d = await redis.disrupt();
        disrupted.push(d);
        // writes a power loss cut are lost from before the kill; clients reconnect a little after
        disruptions.push({
          from: d.killedAt - (options.powerLossMs ?? 0),
          to: d.killedAt + d.recoveredMs + 1000,
        });
        log(
          d.crash === undefined
            ? `failover ${which}: a replica took writes ${d.recoveredMs} ms after the kill; the killed node rejoined as a replica after ${d.rejoinedMs} ms`
            : `redis-server restarted from its AOF after ${d.crash.downMs} ms; acknowledged writes lost: ${d.crash.lostAckedWrites}` +
                (options.powerLossMs === undefined
                  ? ''
                  : `; AOF cut by ${d.crash.truncatedBytes} bytes`),
        );
      });
    }
  };

  const h5 = startH5Driver({ api: client, batchId, tickets });
  releasers.push(() => h5.stop());
  const face = startFaceDriver({ api: client, batchId, tickets, log });
  releasers.push(() => face.stop());
  log(`enqueueing ${tickets.length} tickets in batches of ${options.batchSize}`);
  const intake = await enqueueTickets(tickets, {
    api: client,
    batchId,
    batchSize: options.batchSize,
    spreadMs: options.enqueueMs,
    onProgress: maybeCrash,
  });
  maybeCrash(Number.POSITIVE_INFINITY);
  log(`intake done: ${intake.accepted.size} accepted, ${intake.rejected.size} refused`);
  await disrupting;
  const crashReport = disrupted.find((d) => d.crash !== undefined)?.crash;
  const failovers = failoverFigures(disrupted, client.unavailableAt, client.posts);

  const pending = new Set(intake.accepted);
  const settleDeadline = Date.now() + options.settleTimeoutMs;
  let lastLog = 0;
  while (pending.size > 0 && Date.now() < settleDeadline) {
    await settleRound(client, batchId, pending);
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(
        `terminal ${intake.accepted.size - pending.size}/${intake.accepted.size}, worker kills ${kills}`,
      );
    }
    if (pending.size > 0) await sleep(1500);
  }
  chaosOn = false;
  await killer;
  await h5.stop();
  await face.stop();
  log(
    pending.size === 0
      ? 'every accepted ticket has ended; checking'
      : `${pending.size} tickets still open; checking`,
  );

  const checks = await checkTickets({
    api: client,
    emulatorUrl,
    tickets,
    accepted: intake.accepted,
    faceOutcomes: face.outcomes,
    // a power loss can take a lease's transition with it: spans then start at the intake
    ...(options.powerLossMs === undefined ? {} : { acceptedAt: intake.acceptedAt }),
  });
  const counters = await request<Record<string, Record<string, number>>>(
    `${emulatorUrl}/__admin/counters`,
  );
  const emulatorCalls = counters.status === 200 ? counters.body : {};
  const bill = await request<{
    ContrastFaceVerify: { repeatedKeys: number };
    Id2MetaVerify: { repeatedKeys: number };
  }>(`${emulatorUrl}/__admin/face-verify/billed`);
  if (bill.status !== 200) throw new Error(`the emulator's billing record answered ${bill.status}`);
  const billed = {
    submitMaterials: emulatorCalls.SubmitMaterials?.ok ?? 0,
    contrastFaceVerify: emulatorCalls.ContrastFaceVerify?.ok ?? 0,
    contrastRepeatedOrders: bill.body.ContrastFaceVerify.repeatedKeys,
    id2MetaRepeatedIdentities: bill.body.Id2MetaVerify.repeatedKeys,
  };
  const duplicates = duplicateBillableCalls(billed, checks);
  const contrastExposed = exposedSpans(checks.contrastSpans, disruptions);
  const acceptedOf = (t: PlannedTicket) => intake.accepted.has(t.ticketId);

  const h5Counts: Record<string, number> = { completed: 0, failed: 0, too_late: 0, refused: 0 };
  for (const outcome of h5.outcomes.values()) h5Counts[outcome] = (h5Counts[outcome] ?? 0) + 1;
  h5Counts.left = tickets.filter((t) => acceptedOf(t) && t.h5?.plan === 'leave').length;
  h5Counts.never_seen = tickets.filter(
    (t) => acceptedOf(t) && t.h5 && !h5.seen.has(t.ticketId),
  ).length;
  const faceCounts: Record<string, number> = { completed: 0, failed: 0 };
  for (const outcome of face.outcomes.values())
    faceCounts[outcome] = (faceCounts[outcome] ?? 0) + 1;
  faceCounts.never_seen = tickets.filter(
    (t) => acceptedOf(t) && t.face && !face.seen.has(t.ticketId),
  ).length;
  const acceptedByBiz: Record<string, number> = {};
  for (const biz of CHAOS_BIZ_NAMES) {
    acceptedByBiz[biz] = tickets.filter((t) => acceptedOf(t) && t.biz === biz).length;
  }

  const failures = [
    ...intake.problems.map((p) => `intake: ${p}`),
    ...checks.lost.map((id) => `lost: ${id}`),
    ...checks.stuck.map((s) => `not terminal: ${s}`),
    ...checks.mismatches.map((m) => `verdict: ${m}`),
    ...checks.brokenHistories.map((h) => `advanced twice: ${h}`),
    ...billingProblems(billed, checks).map((b) => `billed twice: ${b}`),
    ...leftButNotExpired(tickets, intake.accepted, checks),
  ];
  const figures: ChaosFigures = {
    planned: tickets.length,
    accepted: intake.accepted.size,
    rejected: intake.rejected.size,
    server: tickets.filter((t) => acceptedOf(t) && isServerFlow(t.biz)).length,
    interactive: tickets.filter((t) => acceptedOf(t) && !isServerFlow(t.biz)).length,
    acceptedByBiz,
    states: checks.states,
    statesByBiz: checks.statesByBiz,
    workerKills: kills,
    topology: options.topology,
    failovers,
    redisRestarts: crashReport === undefined ? 0 : 1,
    redisLostAckedWrites: crashReport?.lostAckedWrites ?? 0,
    aofBytesCut: crashReport?.truncatedBytes ?? 0,
    redisDownMs: crashReport?.downMs ?? 0,
    retries: checks.retries,
    renewals: checks.renewals,
    tokensIssued: checks.tokensIssued,
    submitMaterialsCalls: billed.submitMaterials,
    contrastFaceVerifyCalls: billed.contrastFaceVerify,
    contrastTicketsJudged: checks.contrastTicketsJudged,
    precheckCalls: emulatorCalls.Id2MetaVerify?.ok ?? 0,
    initFaceVerifyCalls: emulatorCalls.InitFaceVerify?.ok ?? 0,
    duplicateBillableCalls:
      duplicates.SubmitMaterials + duplicates.ContrastFaceVerify + duplicates.Id2MetaVerify,
    duplicateBillable: duplicates,
    contrastExposed,
    outcomeUnknown: checks.outcomeUnknown.length,
    precheckLost: checks.precheckLost,
    lost: checks.lost.length,
    stuck: checks.stuck.length,
    verdictMismatches: checks.mismatches.length,
    brokenHistories: checks.brokenHistories.length,
    h5: h5Counts,
    faceH5: faceCounts,
    faceReadyMs: spread(face.readyMs),
    emulatorCalls,
    apiRetries: client.retried,
    elapsedMs: Date.now() - started,
  };
  return {
    ok: failures.length === 0,
    failures: failures
      .slice(0, MAX_LISTED_FAILURES)
      .concat(
        failures.length > MAX_LISTED_FAILURES
          ? [`… and ${failures.length - MAX_LISTED_FAILURES} more`]
          : [],
      ),
    figures,
    dir: options.keepDir ? dir : undefined,
  };
}

/**
 * Each failover's figures: how long until a replica took writes and the killed node was back, the
 * intake's 503 answers from the kill until the next disruption (the client retried them), and the
 * longest wait of an intake request in flight then.
 */
function failoverFigures(
  disrupted: readonly Disruption[],
  unavailableAt: readonly number[],
  posts: readonly { at: number; ms: number }[],
): FailoverFigures[] {
  return disrupted
    .filter((d) => d.kind === 'failover')
    .map((d, i, all) => {
      const until = all[i + 1]?.killedAt ?? Number.POSITIVE_INFINITY;
      const answers = unavailableAt.filter((t) => t >= d.killedAt && t < until);
      const last = answers.length === 0 ? d.killedAt : Math.max(...answers);
      const during = posts.filter((p) => p.at + p.ms >= d.killedAt && p.at < until);
      return {
        intakeSlowestMs: Math.max(0, ...during.map((p) => p.ms)),
        promotedMs: d.recoveredMs,
        rejoinedMs: d.rejoinedMs,
        intake503Answers: answers.length,
        intake503ForMs: last - d.killedAt,
      };
    });
}

/** Median and largest of some durations, in ms (0 when there are none). */
function spread(ms: readonly number[]): { median: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
}

/** The `leave` tickets must all have expired (they are the run's known expiring subset). */
function leftButNotExpired(
  tickets: readonly PlannedTicket[],
  accepted: ReadonlySet<string>,
  checks: CheckResult,
): string[] {
  return tickets
    .filter((t) => accepted.has(t.ticketId) && t.h5?.plan === 'leave')
    .filter((t) => {
      const state = checks.stateOf.get(t.ticketId);
      return state !== undefined && state !== 'expired';
    })
    .map((t) => `left alone but ${checks.stateOf.get(t.ticketId)}: ${t.ticketId}`);
}
