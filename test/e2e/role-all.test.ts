/**
 * `cloudauth-orchestrator all` (what `npm start` runs) in a process of its own on embedded
 * defaults: it drives its demo ticket to `passed` on the in-process emulators and serves the
 * probes and metrics on the API's port; and every role refuses to start, saying what is missing,
 * where a deployment looks like production but is not configured as one (it fails closed).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { deleteKeys } from '../support/orchestrator.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOk,
  waitForOutput,
  type RoleProcess,
} from '../support/role-process.js';

const dir = mkdtempSync(join(tmpdir(), 'role-all-'));
const prefix = `all-${randomUUID().slice(0, 8)}`;
const started: RoleProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await deleteKeys(new Redis(inject('redisUrl')), [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(dir, { recursive: true, force: true });
});

describe('cloudauth-orchestrator all', () => {
  it('runs its demo ticket to passed and serves /healthz, /readyz and /metrics', async () => {
    const all = startRoleProcess(
      'all',
      {
        // nothing production-like is set: embedded mode, the emulators in process
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: prefix,
        API_PORT: '0',
        EMULATOR_CLOUDAUTH_PORT: '0',
        EMULATOR_OSS_PORT: '0',
        ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
        WEBHOOK_SECRET_FILE: join(dir, 'webhook.secret'),
        API_TOKEN_FILE: join(dir, 'api.token'),
        CLOUDAUTH_QPS: '*=0',
        POLL_INITIAL_MS: '100',
        EMULATOR_REVIEW_MS: '0',
      },
      dir,
    );
    started.push(all);
    await waitForOutput(all, /"state":"passed"[^\n]*demo: ticket finished/, 60_000);
    const api = await printedUrl(all, /HTTP API +(http:\/\/\S+)/);
    await waitForOk(all, `${api}/healthz`);
    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { redis: 'ok', workers: 'ok' } });
    // the financial-grade demo: a start link that serves its page, with the emulator's script
    const link = await printedUrl(all, /open this start link in a browser\n +(http:\/\/\S+)/);
    expect(link.startsWith(`${api}/v1/start/`)).toBe(true);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(
      /<script src="http:\/\/127\.0\.0\.1:\d+\/face-verify\/jsvm_all\.js">/,
    );
    const metrics = await fetch(`${api}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(
      /^cloudauth_orchestrator_provider_calls_total\{action="SubmitMaterials",outcome="ok"\} 1$/m,
    );
    await all.stop('SIGTERM', 20_000);
    expect(await all.exited).toBe('exit 0');
  }, 90_000);
});

/** Starts `role` with `env` and waits for it to exit; answers its exit and its output. */
async function refusal(role: string, env: Record<string, string>, name: string) {
  const proc = startRoleProcess(role, env, dir, name);
  started.push(proc);
  return { exit: await proc.exited, output: proc.output() };
}

describe('every role fails closed', () => {
  const fix = 'or ask for embedded mode explicitly with ORCHESTRATOR_MODE=embedded';

  it('NODE_ENV=production alone: the worker refuses, naming what it lacks', async () => {
    const { exit, output } = await refusal('worker', { NODE_ENV: 'production' }, 'node-env');
    expect(exit).toBe('exit 2');
    expect(output).toContain(
      'NODE_ENV=production selects ORCHESTRATOR_MODE=production (ORCHESTRATOR_MODE is unset); it requires CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET for the worker role',
    );
    expect(output).toContain(fix);
  });

  it('Cloudauth credentials without an endpoint: refused even in embedded mode, never echoed', async () => {
    const secret = 'a-real-looking-secret-9f8e7d6c5b4a';
    const { exit, output } = await refusal(
      'all',
      {
        ORCHESTRATOR_MODE: 'embedded',
        CLOUDAUTH_ACCESS_KEY_ID: 'LTAI5tRealLookingKeyId',
        CLOUDAUTH_ACCESS_KEY_SECRET: secret,
      },
      'credentials',
    );
    expect(exit).toBe('exit 2');
    expect(output).toContain(
      'CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET are set but CLOUDAUTH_ENDPOINT is not: refusing to start',
    );
    expect(output).not.toContain(secret);
    expect(output).not.toContain('LTAI5tRealLookingKeyId');
  });

  it('ORCHESTRATOR_MODE=production: the api refuses without its own settings only', async () => {
    const { exit, output } = await refusal('api', { ORCHESTRATOR_MODE: 'production' }, 'prod-api');
    expect(exit).toBe('exit 2');
    expect(output).toContain(
      'ORCHESTRATOR_MODE=production requires REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, API_TOKENS for the api role',
    );
    expect(output).not.toContain('CLOUDAUTH_ENDPOINT');
  });

  it('a Cloudauth endpoint without a mode selects production, which refuses what is missing', async () => {
    const { exit, output } = await refusal(
      'worker',
      { CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test' },
      'endpoint',
    );
    expect(exit).toBe('exit 2');
    expect(output).toContain(
      'Setting CLOUDAUTH_ENDPOINT selects ORCHESTRATOR_MODE=production (ORCHESTRATOR_MODE is unset); it requires CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET for the worker role',
    );
  });

  it('the emulator role, a test double, starts under NODE_ENV=production', async () => {
    const emulator = startRoleProcess(
      'emulator',
      { NODE_ENV: 'production', EMULATOR_CLOUDAUTH_PORT: '0', EMULATOR_OSS_PORT: '0' },
      dir,
      'emulator-prod',
    );
    started.push(emulator);
    const url = await printedUrl(emulator, /Cloudauth emulator \(API [\d-]+\) +(http:\/\/\S+)/);
    await waitForOk(emulator, `${url}/readyz`);
    await emulator.stop('SIGTERM', 10_000);
    expect(await emulator.exited).toBe('exit 0');
  });
});
