/**
 * The staging store the configuration asks for (`STAGING_BACKEND` and its settings), built for a
 * process that stages (the API, the CLI in direct mode) or reads (the workers).
 */
import type { Config } from '../../config.js';
import { DirectoryStagingStore } from './directory-staging-store.js';
import { OssStagingStore } from './oss-staging-store.js';
import type { MaterialStagingStore } from './staging-store.js';

/**
 * The configured store, encrypting under `key` (the project's 32-byte key). With `oss` and no
 * `STAGING_OSS_ENDPOINT` (embedded mode only: production refuses it), the OSS emulator at its
 * configured address.
 */
export function stagingStoreOf(config: Config, key: Uint8Array): MaterialStagingStore {
  const s = config.staging;
  if (s.backend === 'directory') return new DirectoryStagingStore({ dir: s.dir, key });
  // loadConfig refuses `oss` without these
  if (s.ossBucket === undefined || !s.ossAccessKeyId || !s.ossAccessKeySecret) {
    throw new Error('STAGING_BACKEND=oss without its bucket or key pair');
  }
  return new OssStagingStore({
    endpoint: s.ossEndpoint ?? `http://${config.emulator.host}:${config.emulator.ossPort}`,
    bucket: s.ossBucket,
    prefix: s.ossPrefix,
    accessKeyId: s.ossAccessKeyId,
    accessKeySecret: s.ossAccessKeySecret,
    timeoutMs: config.oss.timeoutMs,
    signatureVersion: config.oss.signatureVersion,
    region: config.oss.region,
    key,
  });
}
