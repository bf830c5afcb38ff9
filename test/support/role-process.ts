/**
 * A role of the orchestrator as an operator runs it: `node bin/cloudauth-orchestrator.js <role>`
 * (the compiled JS the tests' global setup builds) in a process of its own, its output in a log
 * file, with the environment given over a clean one (no NODE_ENV, no Cloudauth credentials leak in
 * from the test's own environment).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exitedReason,
  REPO_ROOT,
  startProcess,
  type ManagedProcess,
} from '../../testkit/processes.js';
import { waitUntil } from '../../testkit/waiting.js';

/** A started role process. */
export interface RoleProcess extends ManagedProcess {
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/** The variables a role must not inherit from the test runner's environment. */
const NOT_INHERITED = /^(NODE_ENV|ORCHESTRATOR_MODE|CLOUDAUTH_|REDIS_|API_|WEBHOOK_|ENCRYPTION_)/;

/**
 * Starts `cloudauth-orchestrator <role>` with `env`, logging to `<dir>/<name>.log`, in `cwd`
 * (default: the repository root).
 */
export function startRoleProcess(
  role: string,
  env: Record<string, string>,
  dir: string,
  name: string = role,
  cwd?: string,
): RoleProcess {
  const logFile = join(dir, `${name}.log`);
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [join(REPO_ROOT, 'bin/cloudauth-orchestrator.js'), role],
    ...(cwd === undefined ? {} : { cwd }),
    // startProcess puts process.env under these; blank the ones a role must not inherit
    env: {
      ...Object.fromEntries(
        Object.keys(process.env)
          .filter((k) => NOT_INHERITED.test(k))
          .map((k) => [k, '']),
      ),
      ...env,
    },
    logFile,
  });
  return Object.assign(proc, {
    output: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  });
}

/** Waits until `url` answers 200 (or throws with the process's output after `timeoutMs`). */
export async function waitForOk(proc: RoleProcess, url: string, timeoutMs = 30_000) {
  try {
    await waitUntil(`${proc.name} at ${url}`, async () => (await fetch(url)).status === 200, {
      timeoutMs,
      everyMs: 100,
      abortIf: exitedReason(proc),
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${proc.name} output:\n${proc.output()}`);
  }
}

/** Waits until the process's output matches `pattern` (or throws with the output). */
export async function waitForOutput(proc: RoleProcess, pattern: RegExp, timeoutMs = 30_000) {
  try {
    await waitUntil(`${proc.name} output ${String(pattern)}`, () => pattern.test(proc.output()), {
      timeoutMs,
      everyMs: 100,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${proc.name} output:\n${proc.output()}`);
  }
}

/** Waits until the process prints `pattern` and answers its first group (a URL it listens on). */
export async function printedUrl(proc: RoleProcess, pattern: RegExp): Promise<string> {
  await waitForOutput(proc, pattern);
  const url = pattern.exec(proc.output())?.[1];
  if (url === undefined) throw new Error(`${String(pattern)} has no group`);
  return url;
}
