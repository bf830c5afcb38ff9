/**
 * The webhook signing secret: `WEBHOOK_SECRET` when set; otherwise (embedded mode only) a secret
 * generated on first use and kept in `WEBHOOK_SECRET_FILE`, so that receivers configured with it
 * keep verifying across restarts.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config.js';
import { ConfigError } from '../../errors.js';

/** The shortest secret accepted from the secret file, in characters. */
export const MIN_SECRET_LENGTH = 16;

function readSecretFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `WEBHOOK_SECRET_FILE ${path} must hold a secret of at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  return secret;
}

/**
 * The signing secret. Without `WEBHOOK_SECRET`, embedded mode reads `WEBHOOK_SECRET_FILE` or
 * creates it (parent directory 0700, file 0600, 32 random bytes as hex on one line); safe when
 * several processes start at once. Throws {@link ConfigError} in production mode without
 * `WEBHOOK_SECRET`, or for a secret file holding too short a secret.
 */
export function loadOrCreateWebhookSecret(config: Pick<Config, 'mode' | 'webhooks'>): string {
  const { secret, secretFile: path } = config.webhooks;
  if (secret !== undefined) return secret;
  if (config.mode === 'production') {
    throw new ConfigError('ORCHESTRATOR_MODE=production requires WEBHOOK_SECRET');
  }
  const existing = readSecretFile(path);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, path);
  } catch (err) {
    if (!(err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST')) throw err;
  } finally {
    unlinkSync(temp);
  }
  const created = readSecretFile(path);
  if (created === undefined) throw new ConfigError(`WEBHOOK_SECRET_FILE ${path} vanished`);
  return created;
}
