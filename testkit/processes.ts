/**
 * The child processes of tests, benchmarks and the chaos run: each spawned from the repository's
 * root (or a directory of its own) with its own log file, stopped by its own pid (never by name),
 * and killed with SIGKILL when the process that started it exits, whatever the reason. Free
 * loopback ports to give them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (testkit/ is one level below it); children start there. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A started child process. */
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
  /** Names the process in errors and logs. */
  name: string;
  command: string;
  args: readonly string[];
  /** Put over this process's environment (an empty string blanks an inherited variable). */
  env: Readonly<Record<string, string>>;
  /** Appended with the child's stdout and stderr. */
  logFile: string;
  /** Working directory. Default: the repository root. */
  cwd?: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** On exit of this process, SIGKILL every child still running: none outlives its test or run. */
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
    cwd: spec.cwd ?? REPO_ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // The log ends once the child's output has drained: 'close' comes after 'exit', when stdout and
  // stderr have ended. Ended at 'exit', a last chunk still on its way was written after the end
  // ("write after end", an uncaught error that failed a test run on a loaded machine). A log that
  // cannot be written never fails the run.
  let logEnded = false;
  const endLog = () => {
    if (logEnded) return;
    logEnded = true;
    log.end();
  };
  log.on('error', () => undefined);
  child.once('close', endLog);
  const exited = new Promise<string>((resolveExit) => {
    let ended = false;
    const done = (how: string) => {
      if (ended) return;
      ended = true;
      live.delete(child);
      resolveExit(how);
    };
    child.once('exit', (code, signal) => done(signal ?? `exit ${code ?? '?'}`));
    child.once('error', (err) => {
      endLog();
      done(`spawn error: ${err.message}`);
    });
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

/**
 * A reason to stop waiting for `proc` (for `abortIf` of testkit/waiting.ts): set once it has
 * exited.
 */
export function exitedReason(proc: ManagedProcess): () => string | undefined {
  return () => (proc.running() ? undefined : `${proc.name} exited`);
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

/** `n` distinct ports free on 127.0.0.1 at the time of asking (for children started together). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
