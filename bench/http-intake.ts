/**
 * Issue 7, item 5: `POST /v1/tickets` of the orchestrator's HTTP API (its own process, no
 * workers, on the bench Redis) against a bare fastify route answering the same 202 (its own
 * process, `http-intake-baseline.ts`), both under autocannon from this process with the same
 * connections, pipelining, duration, headers and body, and the same log level. Every request
 * carries a new TicketId (autocannon's id replacement), so each is a real new ticket, not an
 * idempotent repeat. Each round (A B, then B A, …) loads both, after a FLUSHALL; both
 * servers are started afresh and warmed up for every round (with --quick, once for all rounds).
 * The figure is the median of responses per second.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix, TICKET_QUEUE } from '../src/adapters/bullmq/queues.js';
import { ticketStoreKeys } from '../src/adapters/redis/ticket-index.js';
import {
  loadFigures,
  loadProblem,
  ticketRequestBody,
  type LoadFigures,
} from './http-intake-support.js';
import { median, type Benchmark, type BenchOptions, type BenchRow } from './types.js';
import {
  exitedReason,
  freePorts,
  startTsxProcess,
  type ManagedProcess,
} from '../testkit/processes.js';
import { waitUntil } from '../testkit/waiting.js';

const PREFIX = 'bench';
const LOG_LEVEL = 'warn';
const CREATED = 202;
const GOAL = 0.5;

/** The load of each run. */
export interface HttpBenchLoad {
  connections: number;
  pipelining: number;
  /** Measured seconds per run. */
  durationS: number;
  /** Unmeasured seconds on each freshly started server before its first measured run. */
  warmupS: number;
  rounds: number;
  /** Start both servers afresh for every round (else once for all rounds). */
  freshServers: boolean;
}

/** The load for a quick or a full run. */
export function httpBenchLoad(quick: boolean): HttpBenchLoad {
  return quick
    ? { connections: 50, pipelining: 1, durationS: 2, warmupS: 1, rounds: 2, freshServers: false }
    : { connections: 50, pipelining: 1, durationS: 5, warmupS: 2, rounds: 3, freshServers: true };
}

interface Servers {
  api: ManagedProcess;
  bare: ManagedProcess;
  apiUrl: string;
  bareUrl: string;
}

/** Starts the API and the bare server (fresh processes) and waits until both answer. */
async function startServers(
  options: BenchOptions,
  round: number,
  env: Readonly<Record<string, string>>,
): Promise<Servers> {
  const [apiPort, barePort] = await freePorts(2);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const api = startTsxProcess(
    'api',
    'testkit/api-process.ts',
    { ...env, API_PORT: String(apiPort) },
    join(options.dir, `http-intake-api-r${round}.log`),
  );
  const bare = startTsxProcess(
    'bare-fastify',
    'bench/http-intake-baseline.ts',
    { ...env, API_PORT: String(barePort) },
    join(options.dir, `http-intake-bare-r${round}.log`),
  );
  const servers = { api, bare, apiUrl, bareUrl };
  try {
    await Promise.all(
      [[api, apiUrl] as const, [bare, bareUrl] as const].map(([proc, url]) =>
        waitUntil(
          url,
          async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok,
          { timeoutMs: 60_000, everyMs: 200, abortIf: exitedReason(proc) },
        ),
      ),
    );
  } catch (err) {
    await stopServers(servers);
    throw err;
  }
  return servers;
}

async function stopServers(servers: Servers): Promise<void> {
  await Promise.all([servers.api.stop('SIGTERM', 5000), servers.bare.stop('SIGTERM', 5000)]);
}

/** One autocannon run of `seconds` against `url`. */
async function load(
  url: string,
  token: string,
  body: string,
  seconds: number,
  shape: HttpBenchLoad,
): Promise<LoadFigures> {
  const result = await autocannon({
    url: `${url}/v1/tickets`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
    idReplacement: true,
    connections: shape.connections,
    pipelining: shape.pipelining,
    duration: seconds,
  });
  return loadFigures(result);
}

interface HttpRound {
  round: number;
  ours: LoadFigures & { ticketsCreated: number };
  bare: LoadFigures;
}

/** The benchmark; see the module comment. */
export const benchHttpIntake: Benchmark = async (options) => {
  const shape = httpBenchLoad(options.quick);
  const token = randomBytes(24).toString('base64url');
  const env: Record<string, string> = {
    ORCHESTRATOR_MODE: 'embedded',
    LOG_LEVEL,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: PREFIX,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    API_TOKENS: token,
    API_HOST: '127.0.0.1',
    CLOUDAUTH_BIZ: 'RPMin=RPMin',
    CLOUDAUTH_ENDPOINT: options.emulatorUrl,
    CLOUDAUTH_ACCESS_KEY_ID: options.accessKeyId,
    CLOUDAUTH_ACCESS_KEY_SECRET: options.accessKeySecret,
  };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  const queue = new Queue(TICKET_QUEUE, { connection: redis, prefix: bullPrefix(PREFIX) });
  const keys = ticketStoreKeys(PREFIX);
  const rounds: HttpRound[] = [];
  let servers: Servers | undefined;
  try {
    for (let round = 1; round <= shape.rounds; round++) {
      await redis.flushall();
      if (servers === undefined || shape.freshServers) {
        if (servers !== undefined) await stopServers(servers);
        servers = await startServers(options, round, env);
        const body = ticketRequestBody(`bench-w${round}-`);
        for (const url of [servers.apiUrl, servers.bareUrl]) {
          const warm = await load(url, token, body, shape.warmupS, shape);
          const problem = loadProblem(warm, CREATED);
          if (problem !== undefined) throw new Error(`http intake warm-up of ${url}: ${problem}`);
        }
        await redis.flushall();
      }
      const body = ticketRequestBody(`bench-r${round}-`);
      // the order flips every round, so that going first costs both sides alike
      const runOurs = () => load(servers?.apiUrl ?? '', token, body, shape.durationS, shape);
      const runBare = () => load(servers?.bareUrl ?? '', token, body, shape.durationS, shape);
      const oursFirst = round % 2 === 1;
      const first = await (oursFirst ? runOurs() : runBare());
      const second = await (oursFirst ? runBare() : runOurs());
      const [ours, bare] = oursFirst ? [first, second] : [second, first];
      for (const [side, figures] of [
        ['ours', ours],
        ['bare fastify', bare],
      ] as const) {
        const problem = loadProblem(figures, CREATED);
        if (problem !== undefined)
          throw new Error(`http intake round ${round}, ${side}: ${problem}`);
      }
      // requests in flight when autocannon stops are served after it stopped counting: let them
      // settle (when our side ran last) before the store and the queue are compared
      await settled(async () => (await redis.zcard(keys.all)) + (await queue.getWaitingCount()));
      const ticketsCreated = await redis.zcard(keys.all);
      const inFlight = shape.connections * shape.pipelining;
      if (ticketsCreated < ours.responses || ticketsCreated > ours.responses + inFlight) {
        throw new Error(
          `http intake round ${round}: ${ticketsCreated} tickets stored for ${ours.responses} answers 202`,
        );
      }
      const waiting = await queue.getWaitingCount();
      if (waiting !== ticketsCreated) {
        throw new Error(
          `http intake round ${round}: ${waiting} jobs for ${ticketsCreated} tickets`,
        );
      }
      rounds.push({ round, ours: { ...ours, ticketsCreated }, bare });
      options.log(
        `intake.http round ${round}: POST /v1/tickets ${ours.rps} req/s (p99 ${ours.p99Ms} ms), ` +
          `bare fastify ${bare.rps} req/s (p99 ${bare.p99Ms} ms)`,
      );
    }
  } finally {
    if (servers !== undefined) await stopServers(servers);
    await redis.flushall().catch(() => undefined);
    await queue.close();
    await redis.quit();
  }
  return [rpsRow(shape, rounds)];
};

function rpsRow(shape: HttpBenchLoad, rounds: readonly HttpRound[]): BenchRow {
  const value = median(rounds.map((r) => r.ours.rps));
  const base = median(rounds.map((r) => r.bare.rps));
  const ratio = value / base;
  return {
    id: 'intake.http.rps',
    label: 'POST /v1/tickets (new tickets) vs a bare fastify route answering 202',
    value,
    baseline: base,
    unit: 'req/s',
    ratio: Math.round(ratio * 1000) / 1000,
    goal: `ratio >= ${GOAL}`,
    met: ratio >= GOAL,
    detail: {
      load: `autocannon in the bench process, ${shape.connections} connections, pipelining ${shape.pipelining}, ${shape.durationS} s per run`,
      servers: shape.freshServers
        ? `both started afresh for each round, each warmed up for ${shape.warmupS} s`
        : `both started once, each warmed up for ${shape.warmupS} s`,
      logLevel: LOG_LEVEL,
      rounds,
    },
  };
}

/**
 * Waits until `count` answers the same twice 200 ms apart, at most 10 s: then goes on, and the
 * comparison after it says what is wrong.
 */
async function settled(count: () => Promise<number>): Promise<void> {
  let last: number | undefined;
  const unchanged = async () => {
    const now = await count();
    const same = now === last;
    last = now;
    return same;
  };
  await waitUntil('the store to settle', unchanged, { timeoutMs: 10_000, everyMs: 200 }).catch(
    () => undefined,
  );
}
