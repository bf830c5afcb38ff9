/**
 * The CLI as an operator runs it: `src/cli/main.ts` in a process of its own (through tsx), from
 * the project's root, with the environment given over this process's.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project's root: the CLI runs from there. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
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
