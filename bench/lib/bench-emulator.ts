/**
 * The emulators (Cloudauth and OSS) in their own process (`src/emulator/main.ts`), so that their
 * CPU is not the benchmark's; faults are set at run time (`PUT /__admin/faults`) on the Cloudauth
 * emulator only: the OSS emulator keeps the faults it started with, which are none.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exitedReason, freePorts, startTsxProcess } from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/waiting.js';

/** Calls by action and outcome (`ok` or the error code), as `/__admin/counters` answers. */
export type EmulatorCounters = Record<string, Record<string, number>>;

/** The Cloudauth emulator's admin endpoints. */
export interface EmulatorAdmin {
  /** Replaces the Cloudauth emulator's faults (`{}`: none). */
  setFaults(faults: Record<string, Record<string, number>>): Promise<void>;
  counters(): Promise<EmulatorCounters>;
  /** Per action, the most calls admitted in any one-second window since the last reset. */
  peaks(): Promise<Record<string, number>>;
  /** Clears the counters and the peaks. */
  resetCounters(): Promise<void>;
  /**
   * Per Biz and TicketId, the ms the emulator spent answering the ticket's calls (arrival to
   * answer, the injected latency included) since the counters were last reset.
   */
  answerTimes(): Promise<Record<string, Record<string, number>>>;
}

/** The running emulators and their admin endpoints. */
export interface BenchEmulator extends EmulatorAdmin {
  readonly url: string;
  readonly ossUrl: string;
  readonly pid: number | undefined;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  stop(): Promise<void>;
}

/** Starts both emulators on free loopback ports with a generated key pair. */
export async function startBenchEmulator(dir: string): Promise<BenchEmulator> {
  const [cloudauthPort = 0, ossPort = 0] = await freePorts(2);
  const accessKeyId = `LTAIbench${randomBytes(4).toString('hex')}`;
  const accessKeySecret = randomBytes(18).toString('base64url');
  const child = startTsxProcess(
    'emulator',
    'src/emulator/main.ts',
    {
      LOG_LEVEL: 'warn',
      EMULATOR_HOST: '127.0.0.1',
      EMULATOR_CLOUDAUTH_PORT: String(cloudauthPort),
      EMULATOR_OSS_PORT: String(ossPort),
      EMULATOR_ACCESS_KEYS: `${accessKeyId}:${accessKeySecret}`,
      EMULATOR_REVIEW_MS: '0',
    },
    join(dir, 'emulator.log'),
  );
  const url = `http://127.0.0.1:${cloudauthPort}`;
  await waitUntil('the emulator', async () => (await adminCall(`${url}/__admin/counters`)).ok, {
    timeoutMs: 60_000,
    everyMs: 200,
    abortIf: exitedReason(child),
  });
  return {
    ...emulatorAdmin(url),
    url,
    ossUrl: `http://127.0.0.1:${ossPort}`,
    pid: child.pid,
    accessKeyId,
    accessKeySecret,
    stop: () => child.stop('SIGTERM', 5000),
  };
}

/** The admin endpoints of the Cloudauth emulator at `url`. */
export function emulatorAdmin(url: string): EmulatorAdmin {
  const admin = (path: string, init?: RequestInit) => adminCall(`${url}/__admin/${path}`, init);
  return {
    async setFaults(faults) {
      const answer = await admin('faults', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      if (!answer.ok) throw new Error(`PUT /__admin/faults answered ${answer.status}`);
    },
    counters: async () => (await (await admin('counters')).json()) as EmulatorCounters,
    peaks: async () => (await (await admin('peaks')).json()) as Record<string, number>,
    answerTimes: async () =>
      (await (await admin('answer-times')).json()) as Record<string, Record<string, number>>,
    async resetCounters() {
      await admin('counters', { method: 'DELETE' });
    },
  };
}

async function adminCall(url: string, init?: RequestInit): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

/** Successful calls (`ok`) per action. */
export function okCalls(counters: EmulatorCounters): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).map(([a, o]) => [a, o.ok ?? 0]));
}

/** Calls answered with anything but `ok`, by `action:code`. */
export function failedCalls(counters: EmulatorCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [action, outcomes] of Object.entries(counters)) {
    for (const [code, n] of Object.entries(outcomes))
      if (code !== 'ok') out[`${action}:${code}`] = n;
  }
  return out;
}
