/**
 * Embedded mode's generated secrets (the encryption key, the API token, the webhook secret): read
 * from their file, or created there on first use so that they survive restarts. Creation is safe
 * when several processes start at once: each writes a private temporary file (0600, in a 0700
 * directory) and links it into place; the first link wins and every process reads the winner.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';

/** How one secret file is named, made and read. */
export interface SecretFileSpec<T> {
  path: string;
  /** The configuration key naming the file, for messages (`API_TOKEN_FILE`). */
  key: string;
  /** A new secret, as one line of text. */
  generate: () => string;
  /** The secret from the file's text; throws {@link ConfigError} for a bad file. */
  parse: (text: string) => T;
}

/** The file's secret, or undefined when there is no file. */
export function readSecretFile<T>(spec: SecretFileSpec<T>): T | undefined {
  let text: string;
  try {
    text = readFileSync(spec.path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  return spec.parse(text);
}

/** The file's secret, creating the file first when there is none. */
export function readOrCreateSecretFile<T>(spec: SecretFileSpec<T>): T {
  const existing = readSecretFile(spec);
  if (existing !== undefined) return existing;
  const { path } = spec;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${spec.generate()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, path);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  } finally {
    unlinkSync(temp);
  }
  const created = readSecretFile(spec);
  if (created === undefined) throw new ConfigError(`${spec.key} ${path} vanished`);
  return created;
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
