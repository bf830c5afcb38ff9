/**
 * The emulators alone (the `emulator` role): `cloudauth-orchestrator emulator`, or this file under
 * tsx in development (bench and chaos start it so).
 */
import { runRole } from '../roles/run-role.js';

await runRole('emulator');
