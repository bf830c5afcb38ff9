/**
 * A ticket worker process (the `worker` role): `cloudauth-orchestrator worker`, or this file under
 * tsx in development. Scale by running more of them on the same Redis.
 */
import { runRole } from '../src/roles/run-role.js';

await runRole('worker');
