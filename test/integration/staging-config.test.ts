/**
 * The staging store the configuration builds: `STAGING_BACKEND=oss` without an endpoint, in
 * embedded mode, is the OSS emulator at its configured address (EMULATOR_HOST, EMULATOR_OSS_PORT).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmulators } from '../../src/emulator/start.js';
import { stagingStoreOf } from '../../src/adapters/staging/staging-config.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from '../support/emulator.js';

const OWN_ID = 'LTAIstagingConfig';
const OWN_SECRET = `own-${randomBytes(12).toString('hex')}`;
let emulators: Awaited<ReturnType<typeof startEmulators>>;

beforeAll(async () => {
  emulators = await startEmulators(
    { port: 0, accessKeys: { [TEST_KEY_ID]: TEST_KEY_SECRET }, biz: { RPMin: 'RPMin' } },
    { ossBuckets: ['staging-own'], ossAccessKeys: { [OWN_ID]: OWN_SECRET } },
  );
});
afterAll(async () => {
  await emulators?.close();
});

describe('stagingStoreOf', () => {
  it('in embedded mode, an oss store without an endpoint is the OSS emulator at its configured port', async () => {
    const port = new URL(emulators.oss.url).port;
    const config = loadConfig(
      {
        ORCHESTRATOR_MODE: 'embedded',
        EMULATOR_HOST: '127.0.0.1',
        EMULATOR_OSS_PORT: port,
        STAGING_BACKEND: 'oss',
        STAGING_OSS_BUCKET: 'staging-own',
        STAGING_OSS_ACCESS_KEY_ID: OWN_ID,
        STAGING_OSS_ACCESS_KEY_SECRET: OWN_SECRET,
      },
      'worker',
    );
    expect(config.staging.ossEndpoint).toBeUndefined();
    const store = stagingStoreOf(config, randomBytes(32));
    await store.check();
    const photo = randomBytes(2048);
    const ref = await store.put('t-config', photo);
    expect(await store.get('t-config', ref)).toEqual(photo);
    expect(await store.deleteTicket('t-config')).toBe(1);
  });

  it('refuses an oss store without its bucket or key pair, naming the settings', () => {
    expect(() =>
      loadConfig({ ORCHESTRATOR_MODE: 'embedded', STAGING_BACKEND: 'oss' }, 'api'),
    ).toThrow(
      /STAGING_BACKEND=oss needs STAGING_OSS_BUCKET, STAGING_OSS_ACCESS_KEY_ID, STAGING_OSS_ACCESS_KEY_SECRET/,
    );
  });
});
