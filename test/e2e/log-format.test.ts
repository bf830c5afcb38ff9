/**
 * The log format of a process role as an operator starts it (`cloudauth-orchestrator emulator`,
 * its output into a file, so stdout is no terminal): JSON lines by default, pino-pretty's text
 * with `LOG_FORMAT=pretty`. (Pretty by default on a terminal needs a pseudo-terminal, which the
 * choice's own tests stand in for: test/unit/errors-and-logger.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRoleProcess, waitForOutput, type RoleProcess } from '../support/role-process.js';

const dir = mkdtempSync(join(tmpdir(), 'log-format-'));
const started: RoleProcess[] = [];

/** An emulator on free ports, logging at info, with `env` over that. */
async function emulatorOutput(name: string, env: Record<string, string>): Promise<string> {
  const proc = startRoleProcess(
    'emulator',
    {
      CLOUDAUTH_BIZ: 'RPMin=RPMin',
      EMULATOR_CLOUDAUTH_PORT: '0',
      EMULATOR_OSS_PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: '',
      ...env,
    },
    dir,
    name,
  );
  started.push(proc);
  // the last line the emulator logs as it starts
  await waitForOutput(proc, /EMULATORS running: no real identity checks are made/);
  await proc.stop('SIGTERM');
  return proc.output();
}

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

describe('LOG_FORMAT', () => {
  it('unset, and stdout no terminal: every log line is a JSON object', async () => {
    const output = await emulatorOutput('json', {});
    const logLines = output.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThanOrEqual(3);
    for (const line of logLines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    }
    // the rest is the banner the emulator prints for a person, never a log line in text
    expect(output).not.toMatch(/\] (INFO|WARN) /);
  }, 60_000);

  it('pretty: pino-pretty text, no JSON lines', async () => {
    const output = await emulatorOutput('pretty', { LOG_FORMAT: 'pretty' });
    expect(output).toMatch(
      /\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(cloudauth-orchestrator-emulator\): Cloudauth and OSS EMULATORS running/,
    );
    expect(output).toMatch(/INFO \(cloudauth-orchestrator-emulator\): Server listening at/);
    expect(output.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    // into a file: no colour
    expect(output).not.toContain('\x1b[');
  }, 60_000);
});
