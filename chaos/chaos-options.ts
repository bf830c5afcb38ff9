/** The options, presets and figures of a chaos run. */
import type { DuplicateBilling } from './checks.js';
import type { ChaosTopologyKind } from './chaos-topology.js';

/** What a run does; see {@link fullRun} and {@link quickRun} for the two presets. */
export interface ChaosOptions {
  /** The Redis topology (`chaos-topology.ts`): its disruption is a restart or failovers. */
  topology: ChaosTopologyKind;
  /** Tickets planned (about 1% are invalid on purpose and must be refused). */
  tickets: number;
  /** Worker SIGKILLs, each followed by a restart. */
  kills: number;
  /** Worker processes. */
  workers: number;
  /** Mean time between two worker kills, in ms (each drawn in [0.5, 1.5] of it). */
  killEveryMs: number;
  /** The intake is spread over this long, in ms. */
  enqueueMs: number;
  /** Tickets per `POST /v1/tickets/batch`. */
  batchSize: number;
  /** `EMULATOR_TOKEN_SECONDS` (and STS lifetime): short, to force renewals and expiries. */
  tokenSeconds: number;
  /** `CLOUDAUTH_TIMEOUT_MS` of the workers; injected hangs last 2 s longer. */
  clientTimeoutMs: number;
  /** From the Redis kill to its restart, in ms. */
  redisOutageMs: number;
  /** Simulate a machine crash: cut the AOF back to its length this many ms before the kill. */
  powerLossMs?: number;
  /** How long the tickets may take to end after the intake, in ms. */
  settleTimeoutMs: number;
  /** Seeds the ticket plan and the kill schedule. */
  seed: number;
  /** Keep the run's directory (logs, AOF) instead of deleting it. */
  keepDir: boolean;
  /** `LOG_LEVEL` of the API and the workers (their logs are in the run's directory). */
  logLevel: string;
  /** Progress lines. */
  log: (line: string) => void;
}

/** The figures of a run. */
export interface ChaosFigures {
  planned: number;
  accepted: number;
  rejected: number;
  /** Accepted tickets of the server flow (RPMin, FaceServer). */
  server: number;
  /** Accepted tickets of a person's flow (RPH5BioOnly, FaceH5). */
  interactive: number;
  /** Accepted tickets by Biz (RPMin, RPH5BioOnly: 2018-09-16; FaceServer, FaceH5: 2019-03-07). */
  acceptedByBiz: Record<string, number>;
  states: Record<string, number>;
  /** Biz → final state → tickets. */
  statesByBiz: Record<string, Record<string, number>>;
  workerKills: number;
  topology: ChaosTopologyKind;
  /** Each Sentinel or Cluster failover, and what the intake saw of it. */
  failovers: FailoverFigures[];
  redisRestarts: number;
  /** Acknowledged writes the Redis crash lost (probe). */
  redisLostAckedWrites: number;
  /** AOF bytes cut to simulate a power loss. */
  aofBytesCut: number;
  redisDownMs: number;
  /** Sum of the tickets' `attempts`. */
  retries: number;
  /** History entries `token_renewed`. */
  renewals: number;
  /** GetVerifyToken calls the emulator answered. */
  tokensIssued: number;
  /** SubmitMaterials calls the emulator answered OK (billable). */
  submitMaterialsCalls: number;
  /** ContrastFaceVerify calls the emulator answered OK (billable). */
  contrastFaceVerifyCalls: number;
  /** FaceServer tickets a ContrastFaceVerify judged (past their pre-check). */
  contrastTicketsJudged: number;
  /** Id2MetaVerify calls answered OK (the FaceServer pre-check; a repeat follows a crash). */
  precheckCalls: number;
  /** InitFaceVerify calls answered OK (FaceH5; a repeat follows a crash). */
  initFaceVerifyCalls: number;
  /** Billable calls beyond one per ticket that needs one, every kind (any fails the run). */
  duplicateBillableCalls: number;
  /** By kind: SubmitMaterials, ContrastFaceVerify (per OuterOrderNo), Id2MetaVerify (per identity). */
  duplicateBillable: DuplicateBilling;
  /** FaceServer tickets a worker kill or the Redis outage met between lease and verdict. */
  contrastExposed: number;
  /** FaceServer tickets failed `SUBMISSION_OUTCOME_UNKNOWN`: a face call's answer lost, not sent twice. */
  outcomeUnknown: number;
  /** Reject-list FaceServer tickets judged by the face call, their pre-check's answer lost. */
  precheckLost: number;
  /** Accepted TicketIds the orchestrator does not know. */
  lost: number;
  /** Accepted tickets not terminal at the end. */
  stuck: number;
  verdictMismatches: number;
  brokenHistories: number;
  h5: Record<string, number>;
  /** FaceH5 people by outcome (see `face-driver.ts`). */
  faceH5: Record<string, number>;
  /** From the MetaInfo POST to a ready CertifyUrl (InitFaceVerify under the faults), in ms. */
  faceReadyMs: { median: number; max: number }; /** Emulator answers by action and outcome. */
  emulatorCalls: Record<string, Record<string, number>>;
  /** API requests the run retried (5xx, timeouts, refused connections: the Redis outage). */
  apiRetries: number;
  elapsedMs: number;
}

/** One failover of a run. */
export interface FailoverFigures {
  /** From the SIGKILL of the primary until a replica was promoted and took writes, in ms. */
  promotedMs: number;
  /** From the SIGKILL until the killed node was back as a replica, in ms. */
  rejoinedMs: number;
  /** Intake requests answered 503 from the kill until the next disruption. */
  intake503Answers: number;
  /** From the kill to the last such 503 answer, in ms (0: none). */
  intake503ForMs: number;
  /** The longest an intake request sent from the kill until the next disruption waited for its answer (its retries included), in ms. */
  intakeSlowestMs: number;
}

/** A run's outcome. */
export interface ChaosReport {
  ok: boolean;
  /** Why it is not ok: each loss, mismatch, broken history or duplicate billing (first ones only). */
  failures: string[];
  figures: ChaosFigures;
  /** The run's directory (logs, AOF), when kept. */
  dir: string | undefined;
}

/** The full run of `npm run chaos`. */
export function fullRun(overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  return {
    topology: 'single',
    tickets: 5000,
    kills: 30,
    workers: 3,
    killEveryMs: 4000,
    enqueueMs: 40_000,
    batchSize: 250,
    tokenSeconds: 20,
    clientTimeoutMs: 1500,
    redisOutageMs: 1500,
    settleTimeoutMs: 600_000,
    seed: Date.now() % 1_000_000,
    keepDir: false,
    logLevel: 'warn',
    log: (line) => process.stdout.write(`${line}\n`),
    ...overrides,
  };
}

/** The short run of CI and `--quick`: 500 tickets, a few kills, the Redis restart. */
export function quickRun(overrides: Partial<ChaosOptions> = {}): ChaosOptions {
  return fullRun({
    tickets: 500,
    kills: 4,
    killEveryMs: 3000,
    enqueueMs: 6000,
    batchSize: 50,
    settleTimeoutMs: 150_000,
    ...overrides,
  });
}
