/** Runs one role as this process: started from the environment, stopped by signals. */
import { runProcess } from '../process.js';
import { startRole, type Role } from './roles.js';

/** Starts `role` from `process.env` and serves until SIGINT/SIGTERM. */
export function runRole(role: Role): Promise<void> {
  return runProcess(() => startRole(role, process.env));
}
