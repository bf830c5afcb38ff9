/**
 * The HTTP API's bearer tokens: `API_TOKENS` when set; otherwise (embedded mode only) a token
 * generated on first use and kept in `API_TOKEN_FILE`, so that scripts using it keep working
 * across restarts.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { readOrCreateSecretFile } from '../secret-file.js';

/** The tokens the API accepts, and where they come from. */
export interface ApiTokens {
  /** Bearer tokens accepted. Never logged. */
  tokens: string[];
  /**
   * `API_TOKEN_FILE` when the token is embedded mode's own (print it at start-up so that the
   * operator can use it); undefined when the tokens come from `API_TOKENS`.
   */
  file: string | undefined;
}

const TOKEN = /^[\x21-\x2b\x2d-\x7e]{16,}$/;

function parseToken(text: string, path: string): string {
  const token = text.trim();
  if (!TOKEN.test(token)) {
    throw new ConfigError(
      `API_TOKEN_FILE ${path} must hold one token of at least 16 printable ASCII characters`,
    );
  }
  return token;
}

/**
 * The API tokens. Without `API_TOKENS`, embedded mode reads `API_TOKEN_FILE` or creates it
 * (parent directory 0700, file 0600, 32 random bytes as base64url on one line); safe when several
 * processes start at once. Throws {@link ConfigError} in production mode without `API_TOKENS`, or
 * for a token file holding no valid token.
 */
export function loadOrCreateApiToken(config: Pick<Config, 'mode' | 'api'>): ApiTokens {
  const { tokens, tokenFile: path } = config.api;
  if (tokens.length > 0) return { tokens: [...tokens], file: undefined };
  if (config.mode === 'production') {
    throw new ConfigError('ORCHESTRATOR_MODE=production requires API_TOKENS');
  }
  const token = readOrCreateSecretFile({
    path,
    key: 'API_TOKEN_FILE',
    generate: () => randomBytes(32).toString('base64url'),
    parse: (text) => parseToken(text, path),
  });
  return { tokens: [token], file: path };
}
