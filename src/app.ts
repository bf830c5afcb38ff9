/**
 * The composition root: builds the parts from the configuration and releases them in reverse
 * order. In embedded mode without a Cloudauth endpoint it starts the emulators and signs with
 * their demo key.
 */
import { CloudauthClient } from './cloudauth/client.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { startConfiguredEmulators, type Emulators } from './emulator/start.js';
import { OssMaterialUploader } from './oss/uploader.js';

export interface App {
  cloudauth: CloudauthClient;
  uploader: OssMaterialUploader;
  /** Present when the app runs on the embedded emulator. */
  emulators: Emulators | undefined;
  close(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger): Promise<App> {
  const releasers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const release of releasers.reverse()) await release();
  };
  try {
    let emulators: Emulators | undefined;
    let endpoint = config.cloudauth.endpoint;
    let accessKeyId = config.cloudauth.accessKeyId;
    let accessKeySecret = config.cloudauth.accessKeySecret;
    if (endpoint === undefined) {
      emulators = await startConfiguredEmulators(config, logger);
      releasers.push(() => emulators?.close());
      endpoint = emulators.cloudauth.url;
      accessKeyId = emulators.demoKey.accessKeyId;
      accessKeySecret = emulators.demoKey.accessKeySecret;
    }
    const cloudauth = new CloudauthClient({
      endpoint,
      accessKeyId: accessKeyId ?? '',
      accessKeySecret: accessKeySecret ?? '',
      securityToken: config.cloudauth.securityToken,
      timeoutMs: config.cloudauth.timeoutMs,
      logger,
    });
    releasers.push(() => cloudauth.close());
    const uploader = new OssMaterialUploader({ timeoutMs: config.oss.timeoutMs, logger });
    return { cloudauth, uploader, emulators, close };
  } catch (err) {
    await close();
    throw err;
  }
}
