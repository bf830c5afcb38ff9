/**
 * The process plumbing of every long-running role (`src/process.ts`, compiled, under plain node):
 * an uncaught exception or unhandled rejection is logged and exits 1; a configuration error
 * exits 2 with its message.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `body` as an ES module that can import runProcess; answers its exit code and stderr. With
 * `signalOn`, sends SIGTERM once stderr matches it.
 */
function runScript(
  body: string,
  signalOn?: RegExp,
): Promise<{ code: number | null; stderr: string }> {
  const script = `
    import { runProcess } from './dist/src/process.js';
    import { ConfigError } from './dist/src/errors.js';
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let signalled = false;
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (signalOn && !signalled && signalOn.test(stderr)) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const serving = `
  const timer = setInterval(() => undefined, 1000);
  await runProcess(async () => ({ close: async () => clearInterval(timer) }));
`;

describe('runProcess', () => {
  it('logs an uncaught exception and exits 1', async () => {
    const { code, stderr } = await runScript(
      `${serving} setTimeout(() => { throw new Error('boom in a timer'); }, 10);`,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('uncaught exception: Error: boom in a timer');
  });

  it('logs an unhandled rejection and exits 1', async () => {
    const { code, stderr } = await runScript(
      `${serving} setTimeout(() => { void Promise.reject(new Error('nobody awaited')); }, 10);`,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('unhandled rejection: Error: nobody awaited');
  });

  it('a signal during start-up stops the process gracefully once start-up ends', async () => {
    const { code, stderr } = await runScript(
      `await runProcess(async () => {
        // start-up ends only after the signal has come
        const signalled = new Promise((r) => process.once('SIGTERM', r));
        const alive = setInterval(() => undefined, 1000);
        process.stderr.write('starting\\n');
        await signalled;
        return { close: async () => { clearInterval(alive); process.stderr.write('closed\\n'); } };
      });`,
      /starting/,
    );
    expect(code).toBe(0);
    expect(stderr).toContain('SIGTERM: stopping once start-up ends');
    expect(stderr).toMatch(/closed\n$/);
  });

  it('exits 1 when closing fails', async () => {
    const { code, stderr } = await runScript(
      `await runProcess(async () => ({ close: async () => { throw new Error('could not close'); } }));
       process.stderr.write('serving\\n');
       setInterval(() => undefined, 1000);`,
      /serving/,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('shutdown failed: Error: could not close');
  });

  it('reports a configuration error in one line and exits 2', async () => {
    const { code, stderr } = await runScript(
      `await runProcess(async () => { throw new ConfigError('API_TOKENS is required'); });`,
    );
    expect(code).toBe(2);
    expect(stderr).toBe('API_TOKENS is required\n');
  });
});
