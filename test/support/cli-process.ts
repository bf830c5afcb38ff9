/**
 * The CLI as an operator runs it: the package's command (`bin/cloudauth-orchestrator.js`, the
 * compiled JS that the tests' global setup builds) under plain node in a process of its own, from
 * the project's root, with the environment given over this process's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../testkit/processes.js';

/** What a CLI run ended with. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` to its end. */
export function runCliProcess(
  env: Record<string, string>,
  args: readonly string[],
): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/cloudauth-orchestrator.js', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs the CLI with `args` to its end in `cwd`, as an operator on another machine would: with
 * only `env` and PATH for environment (none of this process's Redis, Cloudauth or API settings).
 */
export function runCliIsolated(
  cwd: string,
  env: Record<string, string>,
  args: readonly string[],
): Promise<CliRun> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/cloudauth-orchestrator.js'), ...args],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
