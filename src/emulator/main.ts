/**
 * `npm run emulator`: the Cloudauth emulator on EMULATOR_HOST:EMULATOR_CLOUDAUTH_PORT, with the
 * Biz scenarios of CLOUDAUTH_BIZ and the key pairs of EMULATOR_ACCESS_KEYS.
 */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { runProcess } from '../process.js';
import { startConfiguredEmulators } from './start.js';

await runProcess(() => {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'cloudauth-emulator' });
  return startConfiguredEmulators(config, logger);
});
