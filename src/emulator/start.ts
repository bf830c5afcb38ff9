/**
 * Starts the emulators from the configuration (Cloudauth and OSS, sharing the STS credentials the
 * one issues and the other checks) and prints how to reach them.
 */
import { describeBiz, financialSceneIds, legacyBiz } from '../domain/biz.js';
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
  /**
   * Buckets the OSS emulator serves besides Cloudauth's (`ossBucket`), e.g. the material staging
   * store's own. Default: none.
   */
  ossBuckets?: readonly string[];
  /**
   * Key pairs (AccessKeyId → AccessKeySecret) the OSS emulator alone accepts, with full access to
   * every bucket, as a RAM user's key of the staging store would have to its own; the Cloudauth
   * emulator does not know them. The Cloudauth key pairs and STS credentials stay accepted; an id
   * that is one of the Cloudauth key pairs is refused at start. Default: none.
   */
  ossAccessKeys?: Readonly<Record<string, string>>;
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
  const ossKeys = pair.ossAccessKeys ?? {};
  // One id, two secrets would make which one signs depend on lookup order.
  const shared = Object.keys(ossKeys).filter((id) => Object.hasOwn(cloudauth.accessKeys, id));
  if (shared.length > 0) {
    throw new Error(`OSS access key ids also among the Cloudauth key pairs: ${shared.join(', ')}`);
  }
  const oss = await startOssEmulator({
    host: pair.host ?? cloudauth.host ?? '127.0.0.1',
    port: pair.ossPort ?? 0,
    buckets: [...new Set([bucket, ...(pair.ossBuckets ?? [])])],
    credentials: (id) => {
      const sts = registry.stsCredential(id);
      if (sts) return sts;
      const keys = Object.hasOwn(ossKeys, id) ? ossKeys : cloudauth.accessKeys;
      const secret = Object.hasOwn(keys, id) ? keys[id] : undefined;
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
      biz: legacyBiz(config.cloudauth.biz),
      sceneIds: financialSceneIds(config.cloudauth.biz),
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
      ...(e.ossBuckets ? { ossBuckets: e.ossBuckets } : {}),
      ...(e.ossAccessKeys ? { ossAccessKeys: e.ossAccessKeys } : {}),
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
      `  OSS emulator                         ${oss.url}   bucket ${[e.ossBucket, ...(e.ossBuckets ?? [])].join(', ')}`,
      `  H5 page                              ${cloudauth.url}/h5/verify?token=<VerifyToken>`,
      `  admin                                ${cloudauth.url}/__admin/counters`,
      `  demo AccessKeyId                     ${demo[0]}`,
      `  demo AccessKeySecret                 ${demo[1]}   (emulator only, set by EMULATOR_ACCESS_KEYS)`,
      `  Cloudauth emulator (API 2019-03-07)  the same endpoint: Id2MetaVerify, ContrastFaceVerify, InitFaceVerify, DescribeFaceVerify`,
      `  Biz scenarios                        ${Object.entries(config.cloudauth.biz)
        .map(([b, s]) => `${b}=${describeBiz(s)}`)
        .join(', ')}`,
      '',
    ].join('\n') + '\n',
  );
  return { ...started, demoKey: { accessKeyId: demo[0], accessKeySecret: demo[1] } };
}
