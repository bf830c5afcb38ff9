/**
 * The process roles as an operator deploys them: `cloudauth-orchestrator emulator`, `api` and
 * `worker`, each in a process of its own sharing only Redis, and `all` as `npm start` runs it.
 * Each serves /healthz, /readyz and /metrics over HTTP; readiness means "can do its job now", so
 * a backlog older than the old 300 s threshold leaves it ready and shows up as a metric.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TICKET_QUEUE, bullPrefix } from '../../src/adapters/bullmq/queues.js';
import { smallJpeg } from '../support/images.js';
import { deleteKeys } from '../support/orchestrator.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOk,
  waitForOutput,
  type RoleProcess,
} from '../support/role-process.js';
import { waitFor, waitUntil } from '../../testkit/waiting.js';

const P = 'cloudauth_orchestrator_';
const TOKEN = randomBytes(16).toString('hex');
const prefix = `roles-${randomUUID().slice(0, 8)}`;
const dir = mkdtempSync(join(tmpdir(), 'roles-'));
const started: RoleProcess[] = [];
let redis: Redis;
let face: string;
let common: Record<string, string>;
const urls = { emulator: '', api: '', worker: '' };
let workerEnv: Record<string, string>;

function start(role: string, env: Record<string, string>, name = role): RoleProcess {
  const proc = startRoleProcess(role, env, dir, name);
  started.push(proc);
  return proc;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json() };
}

/** The value of one sample in a Prometheus text exposition. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  face = (await smallJpeg('#8a6a50')).toString('base64');
  common = {
    ORCHESTRATOR_MODE: 'embedded',
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CLOUDAUTH_BIZ: 'RPMin=RPMin',
    LOG_LEVEL: 'info',
  };
  // every role on a free port (0), read from what it prints, as an operator would
  const emulator = start('emulator', {
    CLOUDAUTH_BIZ: common.CLOUDAUTH_BIZ!,
    EMULATOR_CLOUDAUTH_PORT: '0',
    EMULATOR_OSS_PORT: '0',
    EMULATOR_REVIEW_MS: '0',
  });
  const api = start('api', { ...common, API_PORT: '0', API_TOKENS: TOKEN });
  [urls.emulator, urls.api] = await Promise.all([
    printedUrl(emulator, /Cloudauth emulator \(API [\d-]+\) +(http:\/\/\S+)/),
    printedUrl(api, /HTTP API +(http:\/\/\S+)/),
  ]);
  await Promise.all([
    waitForOk(emulator, `${urls.emulator}/readyz`),
    waitForOk(api, `${urls.api}/readyz`),
  ]);
  workerEnv = {
    ...common,
    CLOUDAUTH_ENDPOINT: urls.emulator,
    CLOUDAUTH_ACCESS_KEY_ID: 'LTAIdemoOrchestrator',
    CLOUDAUTH_ACCESS_KEY_SECRET: 'demo-secret-change-me',
    CLOUDAUTH_QPS: '*=0',
    CLOUDAUTH_TIMEOUT_MS: '120000',
    WEBHOOK_SECRET: randomBytes(16).toString('hex'),
    POLL_INITIAL_MS: '100',
    POLL_MAX_MS: '300',
    SHUTDOWN_TIMEOUT_MS: '120000',
    // a free port, which the worker prints (as several workers on one host would use)
    WORKER_OPS_PORT: '0',
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await deleteKeys(redis, [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(dir, { recursive: true, force: true });
});

describe('cloudauth-orchestrator emulator, api and worker, each in its own process', () => {
  it('the emulator serves its probes and metrics on its own port', async () => {
    expect(await getJson(`${urls.emulator}/healthz`)).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await getJson(`${urls.emulator}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ok', checks: {} },
    });
    const metrics = await fetch(`${urls.emulator}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(await metrics.text(), 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('the api stays ready under a backlog older than 300 s, which its metrics show', async () => {
    // no worker runs yet: a job waiting for an hour is a backlog, not a reason to stop intake
    const queue = new Queue(TICKET_QUEUE, { connection: redis, prefix: bullPrefix(prefix) });
    try {
      const job = await queue.add(
        'backlog',
        { ticketId: 'backlog-1' },
        { timestamp: Date.now() - 3_600_000 },
      );
      expect(await getJson(`${urls.api}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await getJson(`${urls.api}/readyz`)).toEqual({
        status: 200,
        body: { status: 'ok', checks: { redis: 'ok' } },
      });
      const metrics = await fetch(`${urls.api}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(
        sample(text, `${P}queue_oldest_waiting_age_seconds`, `{queue="${TICKET_QUEUE}"}`),
      ).toBeGreaterThanOrEqual(3600);
      expect(sample(text, `${P}queue_jobs`, `{queue="${TICKET_QUEUE}",state="waiting"}`)).toBe(1);
      await job.remove();
    } finally {
      await queue.close();
    }
  });

  it('the worker serves its probes and metrics on WORKER_OPS_PORT', async () => {
    const worker = start('worker', workerEnv);
    urls.worker = await printedUrl(worker, /worker probes +(http:\/\/\S+)\/healthz/);
    await waitForOk(worker, `${urls.worker}/readyz`);
    expect(await getJson(`${urls.worker}/healthz`)).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await getJson(`${urls.worker}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ok', checks: { redis: 'ok', workers: 'ok' } },
    });
    const metrics = await fetch(`${urls.worker}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(`# TYPE ${P}provider_calls_total counter`);
  });

  it('a ticket posted to the api process is finished by the worker process', async () => {
    const ticketId = `role-${randomUUID()}`;
    const posted = await fetch(`${urls.api}/v1/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        TicketId: ticketId,
        Biz: 'RPMin',
        Binding: { Name: '张三', IdentificationNumber: '11010519491231002X', FacePic: face },
      }),
    });
    expect(posted.status).toBe(202);
    const view = await waitFor(
      `${ticketId} passed`,
      async () =>
        (await getJson(`${urls.api}/v1/tickets/${ticketId}`)).body as {
          state?: string;
          emulated?: boolean;
        },
      (v) => v.state === 'passed',
      { timeoutMs: 30_000, everyMs: 100 },
    );
    expect(view).toMatchObject({ state: 'passed', emulated: true });
    const metrics = await (await fetch(`${urls.worker}/metrics`)).text();
    expect(
      sample(metrics, `${P}provider_calls_total`, '{action="SubmitMaterials",outcome="ok"}'),
    ).toBe(1);
  });

  it('SIGTERM lets active work finish; a second SIGTERM exits at once', async () => {
    const worker = started.find((p) => p.name === 'worker' && p.running());
    if (!worker) throw new Error('the worker of the previous test is not running');
    // hold every GetVerifyToken for two minutes: the next ticket stays active in the worker
    const faults = await fetch(`${urls.emulator}/__admin/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ GetVerifyToken: { latencyMs: 120_000 } }),
    });
    expect(faults.status).toBeLessThan(300);
    const queue = new Queue(TICKET_QUEUE, { connection: redis, prefix: bullPrefix(prefix) });
    try {
      const posted = await fetch(`${urls.api}/v1/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          TicketId: `held-${randomUUID()}`,
          Biz: 'RPMin',
          Binding: { Name: '李四', IdentificationNumber: '11010519491231002X', FacePic: face },
        }),
      });
      expect(posted.status).toBe(202);
      await waitUntil(
        'the ticket held by the worker',
        async () => (await queue.getActiveCount()) > 0,
        {
          timeoutMs: 20_000,
          everyMs: 50,
        },
      );
      expect(await queue.getActiveCount()).toBe(1);
      process.kill(worker.pid!, 'SIGTERM');
      await waitForOutput(worker, /shutting down/);
      expect(worker.running()).toBe(true); // waiting for the held ticket (deadline 120 s)
      process.kill(worker.pid!, 'SIGTERM');
      expect(await worker.exited).toBe('exit 143');
      expect(worker.output()).toContain('SIGTERM again: exiting now');
    } finally {
      await queue.close();
      await fetch(`${urls.emulator}/__admin/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    }
  });

  it('one SIGTERM stops an idle api process cleanly (exit 0)', async () => {
    const api = started.find((p) => p.name === 'api');
    if (!api) throw new Error('no api process');
    await api.stop('SIGTERM', 20_000);
    expect(await api.exited).toBe('exit 0');
  });
});
