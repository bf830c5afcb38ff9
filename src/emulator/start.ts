/**
 * Starts the emulators from the configuration (Cloudauth and OSS, sharing the STS credentials the
 * one issues and the other checks) and prints how to reach them.
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { OpsRoutesOptions } from '../api/ops-routes.js';
import { startCloudauthEmulator, type CloudauthEmulator } from './cloudauth/index.js';
import { EmulatorRegistry } from './cloudauth/registry.js';
import { faultConfigSchema, type FaultConfig } from './faults.js';
import { startOssEmulator, type OssEmulator } from './oss/index.js';

export interface Emulators {
  cloudauth: CloudauthEmulator;
  oss: OssEmulator;
  /** The first configured key pair: what the orchestrator signs with in embedded mode. */
  demoKey: { accessKeyId: string; accessKeySecret: string };
  close(): Promise<void>;
}

/** Options of {@link startEmulators} besides the Cloudauth emulator's own. */
export interface EmulatorPairOptions {
  host?: string;
  ossPort?: number;
  /** `StsToken.EndPoint`; default the OSS emulator's URL. */
  ossEndpoint?: string;
  ossDir?: string;
  faults?: FaultConfig;
  logger?: Logger;
}

/** Both emulators, wired together, in process. */
export async function startEmulators(
  cloudauth: Omit<
    Parameters<typeof startCloudauthEmulator>[0],
    'registry' | 'readOss' | 'ossEndpoint'
  >,
  pair: EmulatorPairOptions = {},
): Promise<Omit<Emulators, 'demoKey'>> {
  const registry = new EmulatorRegistry();
  const bucket = cloudauth.ossBucket ?? 'cloudauth-emulator';
  const oss = await startOssEmulator({
    host: pair.host ?? cloudauth.host ?? '127.0.0.1',
    port: pair.ossPort ?? 0,
    buckets: [bucket],
    credentials: (id) => {
      const sts = registry.stsCredential(id);
      if (sts) return sts;
      const secret = Object.hasOwn(cloudauth.accessKeys, id) ? cloudauth.accessKeys[id] : undefined;
      return secret === undefined ? undefined : { accessKeySecret: secret };
    },
    ...(pair.ossDir ? { dataDir: pair.ossDir } : {}),
    ...(pair.faults ? { faults: pair.faults } : {}),
    ...(cloudauth.clock ? { clock: cloudauth.clock } : {}),
    ...(pair.logger ? { logger: pair.logger } : {}),
  });
  try {
    const ca = await startCloudauthEmulator({
      ...cloudauth,
      registry,
      ossBucket: bucket,
      ossEndpoint: pair.ossEndpoint ?? oss.url,
      readOss: (b, key) => oss.getObject(b, key),
      ...(pair.faults ? { faults: pair.faults } : {}),
      ...(pair.logger ? { logger: pair.logger } : {}),
    });
    return {
      cloudauth: ca,
      oss,
      close: async () => {
        await ca.close();
        await oss.close();
      },
    };
  } catch (err) {
    await oss.close();
    throw err;
  }
}

export async function startConfiguredEmulators(
  config: Config,
  logger: Logger,
  overrides: {
    cloudauthPort?: number;
    /** Serve `/healthz`, `/readyz` and `/metrics` on the Cloudauth emulator's port. */
    ops?: OpsRoutesOptions;
  } = {},
): Promise<Emulators> {
  const e = config.emulator;
  const [demo] = Object.entries(e.accessKeys);
  if (!demo) throw new Error('EMULATOR_ACCESS_KEYS has no key pair');
  const faults = e.faults === undefined ? undefined : faultConfigSchema.parse(JSON.parse(e.faults));
  const started = await startEmulators(
    {
      host: e.host,
      port: overrides.cloudauthPort ?? e.cloudauthPort,
      ...(e.publicUrl ? { publicUrl: e.publicUrl } : {}),
      accessKeys: e.accessKeys,
      biz: config.cloudauth.biz,
      tokenSeconds: e.tokenSeconds,
      stsSeconds: e.stsSeconds,
      ossBucket: e.ossBucket,
      rejectNames: e.rejectNames,
      reviewNames: e.reviewNames,
      reviewMs: e.reviewMs,
      adminEnabled: e.adminEnabled,
      ...(overrides.ops ? { ops: overrides.ops } : {}),
    },
    {
      host: e.host,
      ossPort: e.ossPort,
      ...(e.ossEndpoint ? { ossEndpoint: e.ossEndpoint } : {}),
      ...(e.ossDir ? { ossDir: e.ossDir } : {}),
      ...(faults ? { faults } : {}),
      logger,
    },
  );
  const { cloudauth, oss } = started;
  logger.warn(
    { endpoint: cloudauth.url, oss: oss.url, biz: Object.keys(config.cloudauth.biz) },
    'Cloudauth and OSS EMULATORS running: no real identity checks are made',
  );
  process.stdout.write(
    [
      '',
      `  Cloudauth emulator (API 2018-09-16)  ${cloudauth.url}`,
      `  OSS emulator                         ${oss.url}   bucket ${e.ossBucket}`,
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
  return { ...started, demoKey: { accessKeyId: demo[0], accessKeySecret: demo[1] } };
}
