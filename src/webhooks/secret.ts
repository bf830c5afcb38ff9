/**
 * Webhook signing secrets: their format, the HMAC key each stands for, and where the orchestrator
 * gets them.
 *
 * The format is the Standard Webhooks one (https://www.standardwebhooks.com): `whsec_` followed by
 * the base64 of 24 to 64 random bytes; the key is those bytes. A secret without the prefix is a
 * *text* secret, what earlier versions used (a hex string from `openssl rand -hex 32`, or any text
 * of at least 16 characters): its key is its UTF-8 bytes, the key the legacy
 * `x-cloudauth-orchestrator-signature` always used. Text secrets stay accepted in embedded mode,
 * from `WEBHOOK_SECRET` or from a secret file an earlier version generated (so that receivers
 * configured with it keep verifying), and as `WEBHOOK_PREVIOUS_SECRETS` (the secret being retired);
 * production refuses a text `WEBHOOK_SECRET` (`config-checks.ts`), and `WEBHOOK_SECRETS_BY_HOST`
 * takes `whsec_` secrets only.
 *
 * The signing secret is `WEBHOOK_SECRET` when set; otherwise (embedded mode only) a secret
 * generated on first use and kept in `WEBHOOK_SECRET_FILE`. Secrets are never logged, and no message here
 * quotes one.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { readOrCreateSecretFile } from '../secret-file.js';

/** The prefix of a Standard Webhooks symmetric secret. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** The fewest key bytes a `whsec_` secret may hold (the specification's minimum, 192 bits). */
export const MIN_KEY_BYTES = 24;

/** The most key bytes a `whsec_` secret may hold (the specification's maximum, 512 bits). */
export const MAX_KEY_BYTES = 64;

/** The shortest text secret (one without `whsec_`) accepted, in characters. */
export const MIN_SECRET_LENGTH = 16;

/** Random bytes in a generated secret: 256 bits, above the specification's minimum. */
const GENERATED_KEY_BYTES = 32;

/** Padded standard base64 (the alphabet the Standard Webhooks libraries decode). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for a secret in the Standard Webhooks format's shape (`whsec_…`), valid or not. */
export function isStandardSecret(secret: string): boolean {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX);
}

/**
 * What is wrong with `secret` as a signing secret, in words that never quote it; undefined when it
 * is a valid `whsec_` secret, or (unless `standardOnly`) a text secret of at least
 * {@link MIN_SECRET_LENGTH} characters.
 */
export function webhookSecretProblem(secret: string, standardOnly = false): string | undefined {
  if (!isStandardSecret(secret)) {
    if (standardOnly) {
      return `must be a Standard Webhooks secret: ${WEBHOOK_SECRET_PREFIX} followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes`;
    }
    return secret.length >= MIN_SECRET_LENGTH
      ? undefined
      : `must be ${WEBHOOK_SECRET_PREFIX}<base64> or a text of at least ${MIN_SECRET_LENGTH} characters`;
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) {
    return `must be ${WEBHOOK_SECRET_PREFIX} followed by padded standard base64 (A-Z a-z 0-9 + /, = padding)`;
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    return `its base64 holds ${bytes} bytes; a ${WEBHOOK_SECRET_PREFIX} secret holds ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES}`;
  }
  return undefined;
}

/**
 * The HMAC-SHA256 key of the Standard Webhooks signature: the bytes of a `whsec_` secret, or the
 * UTF-8 bytes of a text secret. Throws {@link ConfigError} for an invalid secret, naming `setting`.
 */
export function standardWebhookKey(secret: string, setting = 'the webhook secret'): Buffer {
  const problem = webhookSecretProblem(secret);
  if (problem !== undefined) throw new ConfigError(`${setting}: ${problem}`);
  return isStandardSecret(secret)
    ? Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** A new secret: `whsec_` and the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(GENERATED_KEY_BYTES).toString('base64')}`;
}

function parseSecretFile(text: string, path: string): string {
  const secret = text.trim();
  const problem = webhookSecretProblem(secret);
  if (problem !== undefined)
    throw new ConfigError(`WEBHOOK_SECRET_FILE ${path} holds an invalid secret (${problem})`);
  return secret;
}

/**
 * The signing secret. Without `WEBHOOK_SECRET`, embedded mode reads `WEBHOOK_SECRET_FILE` or
 * creates it (parent directory 0700, file 0600, a new `whsec_` secret on one line); safe when
 * several processes start at once. A file an earlier version made holds 64 hex digits: it is read
 * as it is, a text secret (see the module comment), so its receivers keep verifying; delete the
 * file to get a `whsec_` one. Throws {@link ConfigError} in production mode without
 * `WEBHOOK_SECRET`, or for a secret file holding an invalid secret.
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
    generate: generateWebhookSecret,
    parse: (text) => parseSecretFile(text, path),
  });
}

/** Everything that signs deliveries, as the worker takes it (see `signer.ts`). */
export interface WebhookSigningSettings {
  /** The signing secret (`WEBHOOK_SECRET`, or the embedded secret file). Never logged. */
  secret: string;
  /** Older secrets that sign too, after `secret`, while receivers switch (rotation). */
  previousSecrets?: readonly string[] | undefined;
  /**
   * Secrets by destination host (canonical, see `canonicalHost`): a delivery to a listed host is
   * signed with that host's secrets only, never with `secret` or `previousSecrets`.
   */
  secretsByHost?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Also send the deprecated `x-cloudauth-orchestrator-signature` header. Default false. */
  legacySignature?: boolean | undefined;
}

/** The signing settings of a configuration, the secret file read or created as needed. */
export function loadWebhookSigning(
  config: Pick<Config, 'mode' | 'webhooks'>,
): WebhookSigningSettings {
  return {
    secret: loadOrCreateWebhookSecret(config),
    previousSecrets: config.webhooks.previousSecrets,
    secretsByHost: config.webhooks.secretsByHost,
    legacySignature: config.webhooks.legacySignature,
  };
}
