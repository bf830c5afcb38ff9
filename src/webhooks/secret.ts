/**
 * The webhook signing secret: `WEBHOOK_SECRET` when set; otherwise (embedded mode only) a secret
 * generated on first use and kept in `WEBHOOK_SECRET_FILE`, so that receivers configured with it
 * keep verifying across restarts.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { readOrCreateSecretFile } from '../secret-file.js';

/** The shortest secret accepted from the secret file, in characters. */
export const MIN_SECRET_LENGTH = 16;

function parseSecret(text: string, path: string): string {
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
  return readOrCreateSecretFile({
    path,
    key: 'WEBHOOK_SECRET_FILE',
    generate: () => randomBytes(32).toString('hex'),
    parse: (text) => parseSecret(text, path),
  });
}
