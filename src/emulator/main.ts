/**
 * `npm run emulator`: the Cloudauth emulator on EMULATOR_HOST:EMULATOR_CLOUDAUTH_PORT, with the
 * Biz scenarios of CLOUDAUTH_BIZ and the key pairs of EMULATOR_ACCESS_KEYS.
 */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startConfiguredEmulators } from './start.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: 'cloudauth-emulator' });
const emulators = await startConfiguredEmulators(config, logger);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping emulators');
    void emulators.close().then(() => process.exit(0));
  });
}
