/**
 * The child processes of a chaos run: each spawned with its own log file in the run's directory,
 * stopped by its own pid (never by name), and killed with SIGKILL when the run's process exits
 * whatever the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (chaos/ is one level below it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A child process of the run. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves when the process has exited, with its exit code or signal. */
  readonly exited: Promise<string>;
  running(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` for other signals). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** How to start one child. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Appended with the child's stdout and stderr. */
  logFile: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

/** Starts a child with its output appended to `spec.logFile`. */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  installExitHook();
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const child = spawn(spec.command, [...spec.args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<string>((resolveExit) => {
    const done = (how: string) => {
      live.delete(child);
      log.end();
      resolveExit(how);
    };
    child.once('exit', (code, signal) => done(signal ?? `exit ${code ?? '?'}`));
    child.once('error', (err) => done(`spawn error: ${err.message}`));
  });
  const running = () => child.exitCode === null && child.signalCode === null && live.has(child);
  return {
    name: spec.name,
    pid: child.pid,
    exited,
    running,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!running()) return;
      child.kill(signal);
      if (signal === 'SIGKILL') {
        await exited;
        return;
      }
      const timer = setTimeout(() => {
        if (running()) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A `node --import tsx <entry>` child (what `npm run worker` and friends amount to). */
export function startTsxProcess(
  name: string,
  entry: string,
  env: Readonly<Record<string, string>>,
  logFile: string,
): ManagedProcess {
  return startProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', entry],
    env,
    logFile,
  });
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr !== null
          ? resolvePort(addr.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Polls `probe` every `everyMs` until it answers true; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
