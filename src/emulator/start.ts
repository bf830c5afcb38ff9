/** Starts the emulators from the configuration and prints how to reach them. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { faultConfigSchema } from './faults.js';
import { startCloudauthEmulator, type CloudauthEmulator } from './cloudauth/index.js';

export interface Emulators {
  cloudauth: CloudauthEmulator;
  /** The first configured key pair: what the orchestrator signs with in embedded mode. */
  demoKey: { accessKeyId: string; accessKeySecret: string };
  close(): Promise<void>;
}

export async function startConfiguredEmulators(
  config: Config,
  logger: Logger,
  overrides: { cloudauthPort?: number } = {},
): Promise<Emulators> {
  const e = config.emulator;
  const [demo] = Object.entries(e.accessKeys);
  if (!demo) throw new Error('EMULATOR_ACCESS_KEYS has no key pair');
  const faults = e.faults === undefined ? undefined : faultConfigSchema.parse(JSON.parse(e.faults));
  const cloudauth = await startCloudauthEmulator({
    host: e.host,
    port: overrides.cloudauthPort ?? e.cloudauthPort,
    ...(e.publicUrl ? { publicUrl: e.publicUrl } : {}),
    accessKeys: e.accessKeys,
    biz: config.cloudauth.biz,
    tokenSeconds: e.tokenSeconds,
    stsSeconds: e.stsSeconds,
    ossEndpoint: e.ossEndpoint,
    ossBucket: e.ossBucket,
    rejectNames: e.rejectNames,
    reviewNames: e.reviewNames,
    reviewMs: e.reviewMs,
    adminEnabled: e.adminEnabled,
    ...(faults ? { faults } : {}),
    logger,
  });
  logger.warn(
    { endpoint: cloudauth.url, biz: Object.keys(config.cloudauth.biz) },
    'Cloudauth EMULATOR running: no real identity checks are made',
  );
  process.stdout.write(
    [
      '',
      `  Cloudauth emulator (API 2018-09-16)  ${cloudauth.url}`,
      `  H5 page                              ${cloudauth.url}/h5/verify?token=<VerifyToken>`,
      `  admin                                ${cloudauth.url}/__admin/counters`,
      `  demo AccessKeyId                     ${demo[0]}`,
      `  demo AccessKeySecret                 ${demo[1]}   (emulator only, set by EMULATOR_ACCESS_KEYS)`,
      `  Biz scenarios                        ${Object.entries(config.cloudauth.biz)
        .map(([b, s]) => `${b}=${s}`)
        .join(', ')}`,
      '',
    ].join('\n') + '\n',
  );
  return {
    cloudauth,
    demoKey: { accessKeyId: demo[0], accessKeySecret: demo[1] },
    close: () => cloudauth.close(),
  };
}
