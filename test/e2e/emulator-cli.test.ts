import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';
import { popClient } from '../support/emulator.js';

it('`npm run emulator` prints its URL and demo keys, and serves pop-core with them', async () => {
  const child = spawn('npm', ['run', '--silent', 'emulator'], {
    env: { ...process.env, EMULATOR_CLOUDAUTH_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
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
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await once(child, 'exit');
  }
});
