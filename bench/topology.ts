/**
 * Benchmark `cluster` (issue 17): our server-flow tickets on a Redis Cluster against the same on
 * the run's single node. The Cluster is the test kit's (testkit/redis-topology.ts): three
 * primaries with a replica each, on loopback, started here and stopped at the end (also when a
 * round fails). Each side runs the `overhead` benchmark's "ours" side unchanged: the same ticket
 * mix (the same seeds per round), our producer library for the intake, one fresh worker process at
 * concurrency 50, the emulators at zero latency, CLOUDAUTH_QPS `*=0`; only the topology differs:
 * the worker reads `REDIS_CLUSTER_NODES` instead of `REDIS_URL`, and the intake's client is the
 * product's Cluster client.
 *
 * Both compared sides run as the product does by default, so the Cluster side also pays for
 * `WAIT`: `REDIS_WAIT_REPLICAS` is left unset, which is 1 on a Cluster (the intake waits for a
 * replica before an `enqueueMany` call answers, the worker before each paid call) and 0 on one
 * node, which has no replica to wait for. To say what WAIT costs in figures, a third side runs on
 * the same Cluster with `REDIS_WAIT_REPLICAS=0` (the producer's `waitReplicas: 0` likewise); it is
 * context in each row's detail, never the row's figure. The three sides' rounds are interleaved,
 * the order rotated each round (A B C, B C A, C A B, …), each round a fresh worker process, and
 * each side is summarised by its medians.
 *
 * Rows, from the same rounds:
 * 1. tickets/s, Cluster over single (goal: at least 0.8), with each side's CPU per ticket (worker,
 *    emulator, Redis primaries, Cluster replicas) to say where a difference comes from: on two
 *    cores, six `redis-server`s, the worker and the emulators share the CPU;
 * 2. Redis commands per finished ticket, intake included: INFO commandstats summed over the
 *    Cluster's three primaries (its replicas' re-run of the replication stream left out, as the
 *    single node has none) and on the single node; the replicas' `REPLCONF ACK`s, which land in the
 *    primaries' counts, are counted apart;
 * 3. each ticket's time in the worker (its job's `processedOn` → `finishedOn`, the worker's own
 *    stamps), p50 and p99 per round. The worker is saturated (the queue is filled before it
 *    starts), so a ticket's wall time is about concurrency ÷ throughput (Little's law): this row
 *    is row 1 seen from a ticket, plus the tail.
 */
import { loadavg } from 'node:os';
import { primariesOf, type RedisClient } from '../src/adapters/redis/connection.js';
import { startRedisCluster, type RedisCluster } from '../testkit/redis-topology.js';
import { BenchTickets } from './lib/bench-tickets.js';
import { emulatorAdmin, failedCalls, okCalls } from './lib/bench-emulator.js';
import { connectReady, primaryPids, redisEnvOf, type BenchTopology } from './lib/bench-topology.js';
import { newRoundContext, runLoggedRound, type RoundResult } from './lib/drain-round.js';
import { interleaveSides, medianOf, ratioOf } from './lib/interleave.js';
import { spreadOf, type Spread } from './lib/percentiles.js';
import { completedJobs } from './lib/queue-progress.js';
import {
  perUnitDifference,
  splitReplication,
  sumCounts,
  topCommands,
  totalCalls,
  type CommandCounts,
} from './lib/redis-stats.js';
import {
  OUR_QUEUE,
  newSecrets,
  ourWorkerEnv,
  produceOurs,
  startOurWorkers,
  type OurSecrets,
} from './lib/sides.js';
import type { Benchmark, BenchOptions, BenchRow } from './types.js';

const CONCURRENCY = 50;
/** Issue 17's goal: Cluster throughput at least this share of the single node's. */
const THROUGHPUT_GOAL = 0.8;
/** CPU groups measured per ticket besides the worker and the emulator. */
const PRIMARIES = 'redisPrimaries';
const REPLICAS = 'redisReplicas';

/** One round of one side. */
interface TopologyRound {
  result: RoundResult;
  /** Per job that ran once: its `finishedOn − processedOn`, in ms. */
  wallMs: number[];
  /** Jobs left out of `wallMs`: they ran more than once (their first start is lost). */
  multiRun: number;
  /** The processing phase's calls on each primary (the benchmark's own polls included). */
  callsByPrimary: Record<string, number>;
  /** The machine's 1-minute load average as the round ended (other work on a shared machine). */
  loadAfter: number;
}

/** The sides: the two compared, and the Cluster without WAIT for context. */
type SideId = 'cluster' | 'single' | 'clusterNoWait';
type Results = Record<SideId, TopologyRound[]>;

/** One side: where it runs and how its worker and intake are told so. */
interface Side {
  name: string;
  client: RedisClient;
  env: Record<string, string>;
  /** The producer's `waitReplicas`; undefined: its default for the client. */
  waitReplicas: number | undefined;
  watchedPids: Record<string, number[]>;
  /** Each primary's label (`port`, `port (queue)` for the one serving the queue's slot). */
  primaryLabels: string[];
}

export const benchTopology: Benchmark = async (options) => {
  const sizes = options.quick ? { rounds: 1, tickets: 250 } : { rounds: 4, tickets: 1500 };
  const clients: RedisClient[] = [];
  let cluster: RedisCluster | undefined;
  try {
    options.log('  starting a Redis Cluster (3 primaries, a replica each)');
    cluster = await startRedisCluster();
    const secrets = newSecrets();
    const onCluster = await clusterSidesOf(options, cluster, secrets, clients);
    const single = await singleSideOf(options, secrets, clients);
    const tickets = await BenchTickets.create();
    const run = (side: Side, code: string) => {
      const ctx = { ...newRoundContext(side.client, options), watchedPids: side.watchedPids };
      return async (round: number): Promise<TopologyRound> => {
        const requests = tickets.requests(`cl-${code}${round}`, sizes.tickets, round + 1);
        const result = await runLoggedRound(
          ctx,
          {
            name: `${side.name} #${round + 1}`,
            count: requests.length,
            keys: OUR_QUEUE,
            produce: () => produceOurs(side.client, secrets, requests, side.waitReplicas),
            startWorkers: () => startOurWorkers(options, side.env, 1, `cluster-${code}-${round}`),
            timeoutMs: 600_000,
          },
          'tickets/s',
        );
        const byPrimary = ctx.meter.lastTotalsByPrimary();
        const loadAfter = round2(loadavg()[0] ?? Number.NaN);
        return {
          loadAfter,
          ...(await wallTimes(side.client, result)),
          callsByPrimary: Object.fromEntries(
            side.primaryLabels.map((label, i) => [label, byPrimary[i] ?? 0]),
          ),
        };
      };
    };
    await emulatorAdmin(options.emulatorUrl).setFaults({});
    const results = await interleaveSides<SideId, TopologyRound>(sizes.rounds, {
      cluster: run(onCluster.withWait, 'c'),
      single: run(single, 's'),
      clusterNoWait: run(onCluster.withoutWait, 'n'),
    });
    const wait = waitCost(results);
    if (wait.commands.cluster.processing === 0) {
      options.log('  the Cluster side sent no WAIT: REDIS_WAIT_REPLICAS was not 1 there');
    }
    return [
      throughputRow(results, sizes.tickets, wait),
      commandsRow(results, wait),
      latencyRow(results, wait),
    ];
  } finally {
    for (const client of clients) client.disconnect();
    if (cluster !== undefined) {
      // SIGKILL, then stop() (which removes the nodes' directories): testkit/processes.ts ends a
      // child's log stream at its 'exit', when Node may not have read the child's last output
      // yet, and six redis-servers stopped with SIGTERM all log their shutdown as they exit (a
      // write after end crashed the run). A killed server says nothing; these hold nothing to keep.
      await Promise.all(cluster.servers.map((server) => server.kill()));
      await cluster.stop();
    }
  }
};

/**
 * The two Cluster sides: the kit's cluster through a ready Cluster client, its primaries and
 * replicas; one with REDIS_WAIT_REPLICAS at its default (1), one with it 0.
 */
async function clusterSidesOf(
  options: BenchOptions,
  cluster: RedisCluster,
  secrets: OurSecrets,
  clients: RedisClient[],
): Promise<{ withWait: Side; withoutWait: Side }> {
  const topology: BenchTopology = { kind: 'cluster', nodes: cluster.nodes };
  const client = await connectReady(topology);
  clients.push(client);
  const primaries = await cluster.primaries();
  const primaryPorts = new Set(primaries.map((p) => p.server.port));
  const pidsOf = (ports: (port: number) => boolean) =>
    cluster.servers.flatMap((s) => (ports(s.port) && s.pid !== undefined ? [s.pid] : []));
  const queueSlot = await cluster.keySlot(OUR_QUEUE.completed);
  const queuePort = primaries.find((p) =>
    p.slots.some(([a, b]) => a <= queueSlot && queueSlot <= b),
  )?.server.port;
  const env = ourWorkerEnv(options, secrets, {
    WORKER_CONCURRENCY: String(CONCURRENCY),
    ...redisEnvOf(topology),
  });
  const withWait: Side = {
    name: 'Cluster',
    client,
    env,
    waitReplicas: undefined,
    watchedPids: {
      [PRIMARIES]: pidsOf((port) => primaryPorts.has(port)),
      [REPLICAS]: pidsOf((port) => !primaryPorts.has(port)),
    },
    // in primariesOf's order, which the meter's per-primary totals follow
    primaryLabels: primariesOf(client).map((node) =>
      node.options.port === queuePort ? `${queuePort} (queue)` : String(node.options.port),
    ),
  };
  return {
    withWait,
    withoutWait: {
      ...withWait,
      name: 'Cluster, WAIT off',
      env: { ...env, REDIS_WAIT_REPLICAS: '0' },
      waitReplicas: 0,
    },
  };
}

/** The single side: the run's own Redis, as the `overhead` benchmark uses it. */
async function singleSideOf(
  options: BenchOptions,
  secrets: OurSecrets,
  clients: RedisClient[],
): Promise<Side> {
  const topology: BenchTopology = { kind: 'single', url: options.redisUrl };
  const client = await connectReady(topology);
  clients.push(client);
  return {
    name: 'single',
    client,
    env: ourWorkerEnv(options, secrets, {
      WORKER_CONCURRENCY: String(CONCURRENCY),
      ...redisEnvOf(topology),
    }),
    waitReplicas: undefined,
    watchedPids: { [PRIMARIES]: await primaryPids(client) },
    primaryLabels: ['single node'],
  };
}

/** The round's jobs' wall times in the worker (read before the next round flushes them). */
async function wallTimes(
  client: RedisClient,
  result: RoundResult,
): Promise<Omit<TopologyRound, 'callsByPrimary' | 'loadAfter'>> {
  const jobs = await completedJobs(client, OUR_QUEUE);
  const once = jobs.filter((j) => j.runs === 1 && Number.isFinite(j.processedOn));
  return {
    result,
    wallMs: once.map((j) => j.finishedOn - j.processedOn),
    multiRun: jobs.length - once.length,
  };
}

/** A round's commands, intake included, the clients' and the replicas' apart. */
function commandsOf(r: RoundResult): { clients: CommandCounts; replication: CommandCounts } {
  return splitReplication(sumCounts([r.intakeCommands, r.processCommands]));
}

const clientCommandsPerTicket = (r: TopologyRound) =>
  totalCalls(commandsOf(r.result).clients) / r.result.completed;

/**
 * A side's clients' commands summed over its rounds (intake and processing, or the phase `of`
 * picks), and its tickets.
 */
function allCommands(
  rounds: readonly TopologyRound[],
  of: (r: RoundResult) => CommandCounts = (r) => sumCounts([r.intakeCommands, r.processCommands]),
): { counts: CommandCounts; tickets: number } {
  return {
    counts: sumCounts(rounds.map((r) => splitReplication(of(r.result)).clients)),
    tickets: rounds.reduce((n, r) => n + r.result.completed, 0),
  };
}

/** The p50 and p99 of a side's ticket wall times: medians of the rounds' own. */
function wallPercentiles(rounds: readonly TopologyRound[]): { p50: number; p99: number } {
  const timed = rounds.filter((r) => r.wallMs.length > 0);
  if (timed.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  return {
    p50: medianOf(timed, (r) => spreadOf(r.wallMs).p50),
    p99: medianOf(timed, (r) => spreadOf(r.wallMs).p99),
  };
}

/** What WAIT cost, measured: the Cluster side against the same Cluster with WAIT off. */
interface WaitCost {
  commands: {
    /** WAITs per ticket on each Cluster side, by phase. */
    cluster: { intake: number; processing: number };
    clusterNoWait: { intake: number; processing: number };
    /** REPLCONF per ticket on the primaries (left out of the counts). */
    replconfPerTicket: { cluster: number; clusterNoWait: number };
    /**
     * What WAIT on adds per ticket, by phase and command: the Cluster side's counts less those of
     * the same Cluster with WAIT off (the WAITs and whatever the product sends with them).
     */
    added: { intake: Record<string, number>; processing: Record<string, number> };
  };
  throughput: { clusterNoWait: number; waitOnOverOff: number | null; offOverSingle: number | null };
  latency: { clusterNoWait: { p50: number; p99: number }; p50OnOverOff: number | null };
  text: string;
}

function waitCost(results: Results): WaitCost {
  const perTicket = (rounds: readonly TopologyRound[], figure: (r: RoundResult) => number) => {
    const tickets = rounds.reduce((n, r) => n + r.result.completed, 0);
    return round2(rounds.reduce((n, r) => n + figure(r.result), 0) / tickets);
  };
  const waits = (rounds: readonly TopologyRound[]) => ({
    intake: perTicket(rounds, (r) => r.intakeCommands.wait ?? 0),
    processing: perTicket(rounds, (r) => r.processCommands.wait ?? 0),
  });
  const replconf = (rounds: readonly TopologyRound[]) =>
    perTicket(rounds, (r) => totalCalls(commandsOf(r).replication));
  const tps = (rounds: readonly TopologyRound[]) => medianOf(rounds, (r) => r.result.perSecond);
  const on = { tps: tps(results.cluster), wall: wallPercentiles(results.cluster) };
  const off = { tps: tps(results.clusterNoWait), wall: wallPercentiles(results.clusterNoWait) };
  const added = (of: (r: RoundResult) => CommandCounts) => {
    const withWait = allCommands(results.cluster, of);
    const without = allCommands(results.clusterNoWait, of);
    return perUnitDifference(withWait.counts, withWait.tickets, without.counts, without.tickets);
  };
  const commands = {
    cluster: waits(results.cluster),
    clusterNoWait: waits(results.clusterNoWait),
    replconfPerTicket: {
      cluster: replconf(results.cluster),
      clusterNoWait: replconf(results.clusterNoWait),
    },
    added: {
      intake: added((r) => r.intakeCommands),
      processing: added((r) => r.processCommands),
    },
  };
  const throughput = {
    clusterNoWait: Math.round(off.tps),
    waitOnOverOff: ratioOf(on.tps, off.tps),
    offOverSingle: ratioOf(off.tps, tps(results.single)),
  };
  const latency = {
    clusterNoWait: { p50: round1(off.wall.p50), p99: round1(off.wall.p99) },
    p50OnOverOff: ratioOf(on.wall.p50, off.wall.p50),
  };
  return {
    commands,
    throughput,
    latency,
    text:
      `Cluster side: REDIS_WAIT_REPLICAS unset, so its default there (1): the intake, and the worker before each paid call, wait until the written keys' primary's replica acknowledges (WAIT). ` +
      `What that adds per ticket, against the same Cluster with REDIS_WAIT_REPLICAS=0 run interleaved with the other sides: intake ${listed(commands.added.intake)}; worker ${listed(commands.added.processing)}; the replicas' REPLCONF ACKs to their primaries, ${commands.replconfPerTicket.cluster} per ticket with WAIT and ${commands.replconfPerTicket.clusterNoWait} without (their heartbeat), left out of the command counts. ` +
      `In time: ${throughput.clusterNoWait} tickets/s without WAIT (with/without ${throughput.waitOnOverOff}; without WAIT over the single node ${throughput.offOverSingle}); ticket p50 ${round1(on.wall.p50)} ms with WAIT, ${latency.clusterNoWait.p50} ms without. ` +
      'Single node: no replica to wait for, and REDIS_WAIT_REPLICAS defaults to 0 there: no WAIT',
  };
}

function throughputRow(results: Results, ticketsPerRound: number, wait: WaitCost): BenchRow {
  const cluster = medianOf(results.cluster, (r) => r.result.perSecond);
  const single = medianOf(results.single, (r) => r.result.perSecond);
  const ratio = ratioOf(cluster, single);
  return {
    id: 'cluster.throughput',
    label:
      'server-flow tickets/s on a Redis Cluster (3 primaries + 3 replicas, WAIT 1) vs one node',
    value: Math.round(cluster),
    baseline: Math.round(single),
    unit: 'tickets/s',
    ratio,
    goal: `ratio >= ${THROUGHPUT_GOAL}`,
    met: ratio !== null && ratio >= THROUGHPUT_GOAL,
    detail: {
      rounds: [...results.cluster, ...results.single].map(roundDetail),
      cpuMsPerTicket: {
        cluster: cpuMedians(results.cluster),
        single: cpuMedians(results.single),
        clusterNoWait: cpuMedians(results.clusterNoWait),
        singleOverCluster: ratioOf(
          cpuMedians(results.single).total ?? Number.NaN,
          cpuMedians(results.cluster).total ?? Number.NaN,
        ),
        singleOverClusterMeans:
          "the single node's total CPU per ticket over the Cluster's: the throughput ratio if CPU were the only limit, steadier than tickets/s when other work shares the machine (see each round's loadAverageAfter)",
        measured:
          "median over the rounds of each group's CPU time (user + system, /proc) per ticket, from the first poll that saw a ticket completed to the round's end; redisPrimaries: the single node, or the Cluster's 3 primaries; redisReplicas: the Cluster's 3 replicas. Two cores in all",
      },
      waitCost: {
        ...wait.throughput,
        rounds: results.clusterNoWait.map(roundDetail),
        text: wait.text,
      },
      ticketsPerRound,
      concurrency: CONCURRENCY,
      workerProcesses: 1,
      window: "first job's processedOn to last job's finishedOn; queue filled before workers start",
      sides:
        'both: the overhead benchmark\'s "ours" side (same seeds, same worker settings); the worker reads REDIS_CLUSTER_NODES (Cluster) or REDIS_URL (single), the intake uses the product\'s connectRedis client of the same topology',
    },
  };
}

function roundDetail(r: TopologyRound) {
  const x = r.result;
  return {
    round: x.name,
    ticketsPerSecond: Math.round(x.perSecond),
    tickets: x.completed,
    windowSeconds: round2(x.window.seconds),
    intakeSeconds: round2(x.intakeSeconds),
    workerCpuMsPerTicket: round2(x.workerCpuMsPerJob),
    emulatorCpuMsPerTicket: round2(x.emulatorCpuMsPerJob),
    ...Object.fromEntries(
      Object.entries(x.watchedCpuMsPerJob).map(([k, v]) => [`${k}CpuMsPerTicket`, round2(v)]),
    ),
    cloudauthCalls: okCalls(x.calls),
    ...(Object.keys(failedCalls(x.calls)).length > 0 ? { failedCalls: failedCalls(x.calls) } : {}),
    loadAverageAfter: r.loadAfter,
  };
}

function cpuMedians(rounds: readonly TopologyRound[]): Record<string, number> {
  const groups = new Set(rounds.flatMap((r) => Object.keys(r.result.watchedCpuMsPerJob)));
  const out: Record<string, number> = {
    worker: round2(medianOf(rounds, (r) => r.result.workerCpuMsPerJob)),
    emulator: round2(medianOf(rounds, (r) => r.result.emulatorCpuMsPerJob)),
  };
  for (const g of groups) {
    out[g] = round2(medianOf(rounds, (r) => r.result.watchedCpuMsPerJob[g] ?? Number.NaN));
  }
  out.total = round2(Object.values(out).reduce((a, b) => a + b, 0));
  return out;
}

function commandsRow(results: Results, wait: WaitCost): BenchRow {
  const cluster = medianOf(results.cluster, clientCommandsPerTicket);
  const single = medianOf(results.single, clientCommandsPerTicket);
  const c = allCommands(results.cluster);
  const s = allCommands(results.single);
  const n = allCommands(results.clusterNoWait);
  const phase = (rounds: readonly TopologyRound[], of: (r: RoundResult) => CommandCounts) =>
    round1(
      medianOf(
        rounds,
        (r) => totalCalls(splitReplication(of(r.result)).clients) / r.result.completed,
      ),
    );
  return {
    id: 'cluster.commands',
    label: 'Redis commands per finished ticket, intake included: Cluster (3 primaries) vs one node',
    value: round1(cluster),
    baseline: round1(single),
    unit: 'commands',
    ratio: ratioOf(cluster, single),
    goal: 'context',
    met: null,
    detail: {
      cluster: results.cluster.map((r) => round1(clientCommandsPerTicket(r))),
      single: results.single.map((r) => round1(clientCommandsPerTicket(r))),
      intakePerTicket: {
        cluster: phase(results.cluster, (r) => r.intakeCommands),
        single: phase(results.single, (r) => r.intakeCommands),
      },
      processingPerTicket: {
        cluster: phase(results.cluster, (r) => r.processCommands),
        single: phase(results.single, (r) => r.processCommands),
      },
      clusterMinusSingleByCommand: perUnitDifference(c.counts, c.tickets, s.counts, s.tickets),
      clusterTop: topCommands(c.counts, c.tickets),
      singleTop: topCommands(s.counts, s.tickets),
      processingCallsByPrimary: results.cluster.map((r) => r.callsByPrimary),
      waitCost: {
        clusterNoWaitPerTicket: results.clusterNoWait.map((r) =>
          round1(clientCommandsPerTicket(r)),
        ),
        waitOnMinusOffByCommand: perUnitDifference(c.counts, c.tickets, n.counts, n.tickets),
        waitsPerTicket: wait.commands,
        text: wait.text,
      },
      counted:
        "INFO commandstats reset before the intake and before the worker starts, read after each; on the Cluster summed over its 3 primaries, each asked on its own connection. The replicas are not read: they re-run the primaries' writes from the replication stream, commands the system sent once (the single node has no replica). REPLCONF (the replicas' ACKs to their primaries) left out. The benchmark's own INFO, RESETSTAT and progress ZCARDs removed; Lua inner calls count",
      goal: 'none: the Cluster sends the same store and queue commands plus WAIT (behind an EXISTS) and its slot-map reads; this row shows what it adds, by command',
    },
  };
}

function latencyRow(results: Results, wait: WaitCost): BenchRow {
  const cluster = wallPercentiles(results.cluster);
  const single = wallPercentiles(results.single);
  const perRound = (r: TopologyRound) => ({
    round: r.result.name,
    ...spreadOrNull(r.wallMs),
    littleMs: Math.round((CONCURRENCY / r.result.perSecond) * 1000),
    ranMoreThanOnce: r.multiRun,
  });
  return {
    id: 'cluster.latency',
    label: `ms per ticket in the worker (processedOn→finishedOn) at concurrency ${CONCURRENCY}, p50; p99 ${round1(cluster.p99)} vs ${round1(single.p99)}`,
    value: round1(cluster.p50),
    baseline: round1(single.p50),
    unit: 'ms',
    ratio: ratioOf(cluster.p50, single.p50),
    goal: 'context',
    met: null,
    detail: {
      p99: { cluster: round1(cluster.p99), single: round1(single.p99) },
      p99Ratio: ratioOf(cluster.p99, single.p99),
      rounds: [...results.cluster, ...results.single].map(perRound),
      allRounds: {
        cluster: spreadOrNull(results.cluster.flatMap((r) => r.wallMs)),
        single: spreadOrNull(results.single.flatMap((r) => r.wallMs)),
      },
      waitCost: {
        ...wait.latency,
        rounds: results.clusterNoWait.map(perRound),
        text: wait.text,
      },
      measured:
        "per ticket: its job's finishedOn − processedOn (the worker's stamps) in the throughput rounds; p50 and p99 per round, the row's figures their medians over the rounds. Jobs that ran more than once left out (their first start is lost)",
      littleMs: `concurrency ÷ the round's tickets/s: the queue is full from the start, so the worker always holds ${CONCURRENCY} tickets and a ticket's wall time follows throughput; the tail (p99) is what this row adds`,
    },
  };
}

/** `{wait: 1, eval: 2}` as `wait +1, eval +2` (`none` when empty). */
function listed(perTicket: Record<string, number>): string {
  const parts = Object.entries(perTicket).map(([name, n]) => `${name} ${n > 0 ? '+' : ''}${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function spreadOrNull(values: readonly number[]): Spread | null {
  return values.length > 0 ? spreadOf(values) : null;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
