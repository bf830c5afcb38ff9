/** Both emulators in process, wired together, with the test key pair. */
import { startEmulators, type Emulators } from '../../src/emulator/start.js';
import type { CloudauthEmulatorOptions } from '../../src/emulator/cloudauth/index.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from './emulator.js';

export function startTestEmulators(
  overrides: Partial<CloudauthEmulatorOptions> = {},
  ossDir?: string,
): Promise<Omit<Emulators, 'demoKey'>> {
  return startEmulators(
    {
      port: 0,
      accessKeys: { [TEST_KEY_ID]: TEST_KEY_SECRET },
      biz: {
        RPBasic: 'RPBasic',
        RPBioOnly: 'RPBioOnly',
        RPH5BioOnly: 'RPH5BioOnly',
        RPMin: 'RPMin',
      },
      rejectNames: ['拒绝'],
      ...overrides,
    },
    ossDir === undefined ? {} : { ossDir },
  );
}
