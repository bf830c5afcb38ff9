import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { expect, it } from 'vitest';
import { OssStagingStore } from '../../src/adapters/staging/oss-staging-store.js';
import { popClient } from '../support/emulator.js';

/** `npm run emulator` with `env`; resolves with its start-up banner once the demo keys are printed. */
async function startEmulatorCli(
  env: Record<string, string>,
): Promise<{ banner: string; stop: () => Promise<void> }> {
  const child = spawn('npm', ['run', '--silent', 'emulator'], {
    env: { ...process.env, EMULATOR_CLOUDAUTH_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await once(child, 'exit');
  };
  try {
    let out = '';
    const banner = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner; got: ${out}`)), 15_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/demo AccessKeySecret .*\n/.test(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    return { banner, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

it('`npm run emulator` prints its URL and demo keys, and serves pop-core with them', async () => {
  const { banner, stop } = await startEmulatorCli({});
  try {
    const url = /Cloudauth emulator \(API 2018-09-16\)\s+(http:\/\/\S+)/.exec(banner)?.[1];
    const keyId = /demo AccessKeyId\s+(\S+)/.exec(banner)?.[1];
    const secret = /demo AccessKeySecret\s+(\S+)/.exec(banner)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await popClient(url ?? '', keyId, secret).request<{ Data: unknown }>('GetStatus', {
      Biz: 'RPBasic',
      TicketId: 'cli',
    });
    expect(res.Data).toEqual({ StatusCode: -1 });
  } finally {
    await stop();
  }
});

it('`npm run emulator` serves a bucket of your own to an OSS-only key pair (EMULATOR_OSS_BUCKETS, EMULATOR_OSS_ACCESS_KEYS)', async () => {
  const ossSecret = randomBytes(18).toString('base64url');
  const { banner, stop } = await startEmulatorCli({
    EMULATOR_OSS_PORT: '0',
    EMULATOR_OSS_BUCKETS: 'staging-own',
    EMULATOR_OSS_ACCESS_KEYS: `LTAIstagingOwn:${ossSecret}`,
  });
  try {
    expect(banner).not.toContain(ossSecret);
    const oss = /OSS emulator\s+(http:\/\/\S+)\s+bucket (.+)\n/.exec(banner);
    expect(oss?.[2]).toBe('cloudauth-emulator, staging-own');
    const store = new OssStagingStore({
      endpoint: oss?.[1] ?? '',
      bucket: 'staging-own',
      accessKeyId: 'LTAIstagingOwn',
      accessKeySecret: ossSecret,
      key: randomBytes(32),
    });
    const photo = Buffer.from('a photo of someone, staged');
    const ref = await store.put('t-staged', photo);
    expect(await store.get('t-staged', ref)).toEqual(photo);

    // the Cloudauth emulator does not know the OSS-only key
    const url = /Cloudauth emulator \(API 2018-09-16\)\s+(http:\/\/\S+)/.exec(banner)?.[1] ?? '';
    const refused = await popClient(url, 'LTAIstagingOwn', ossSecret)
      .request('GetStatus', { Biz: 'RPBasic', TicketId: 'oss-only' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toMatchObject({ code: expect.stringMatching(/^InvalidAccessKeyId/) });
  } finally {
    await stop();
  }
});
