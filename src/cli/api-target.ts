/**
 * `--api <URL>` and its bearer token: the commands that can talk to a remote deployment over the
 * HTTP API instead of Redis take these, and need nothing else (no REDIS_URL, no ENCRYPTION_KEY, no
 * configuration). The token comes from `--token-file`, else from {@link API_TOKEN_ENV}; it is never
 * printed: messages name where it came from, never what it is.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BATCH_ID_PATTERN } from '../api/schemas.js';
import { usageError } from './exit-codes.js';

/**
 * The environment variable holding the bearer token when `--token-file` is not given. Outside the
 * `CLOUDAUTH_` and `ORCHESTRATOR_` prefixes on purpose: the process roles and the CLI in direct
 * mode refuse an unknown variable with those prefixes (`unknownSettings`), and an operator's shell
 * that exports this one may run them too. CAO: cloudauth-orchestrator.
 */
export const API_TOKEN_ENV = 'CAO_API_TOKEN';

/** The options every command that talks to the API takes. */
export interface ApiOptions {
  /** Base URL of the HTTP API, e.g. `https://10.0.0.5:8080`. */
  api?: string;
  /** A file holding the bearer token (one line). */
  tokenFile?: string;
}

/** Where the API is and how to authenticate to it. */
export interface ApiTarget {
  /** The base URL, without a trailing slash, query or fragment. */
  base: string;
  /** The bearer token. Never printed or logged. */
  token: string;
  /** Where the token came from, for messages: `--token-file <path>` or the variable's name. */
  tokenSource: string;
}

/** One token: printable ASCII without spaces, as the API's `Authorization: Bearer` takes it. */
const TOKEN = /^[\x21-\x7e]+$/;

/** `--api` checked and normalised: http(s), no credentials, no query or fragment. */
export function apiBaseUrl(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw usageError('--api must be a URL such as https://10.0.0.5:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError('--api must be an http:// or https:// URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw usageError('--api must not carry credentials: give the token with --token-file');
  }
  if (url.search !== '' || url.hash !== '') {
    throw usageError('--api must be a base URL, without a query or fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The token in `text` (a file's content, or the variable's value), or undefined if it is none. */
export function parseToken(text: string): string | undefined {
  const token = text.trim();
  return TOKEN.test(token) ? token : undefined;
}

async function tokenFromFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw usageError(`cannot read --token-file ${path} (${code})`);
  }
  const token = parseToken(text);
  if (token === undefined) {
    throw usageError(
      `--token-file ${path} must hold one bearer token: one line of printable ASCII without spaces`,
    );
  }
  return token;
}

/**
 * The API target of `options`, or undefined when `--api` is not given (the command then talks to
 * Redis). A usage error for `--token-file` without `--api`, a bad URL, or a missing or malformed
 * token.
 */
export async function resolveApiTarget(
  options: ApiOptions,
  env: Record<string, string | undefined>,
  cwd: string,
  stderr?: { write(text: string): unknown },
): Promise<ApiTarget | undefined> {
  if (options.api === undefined) {
    if (options.tokenFile !== undefined) throw usageError('--token-file goes with --api');
    return undefined;
  }
  const base = apiBaseUrl(options.api);
  const warning = plainHttpWarning(base);
  if (warning !== undefined) stderr?.write(`${warning}\n`);
  if (options.tokenFile !== undefined) {
    const path = resolve(cwd, options.tokenFile);
    return { base, token: await tokenFromFile(path), tokenSource: `--token-file ${path}` };
  }
  const value = env[API_TOKEN_ENV];
  if (value === undefined || value === '') {
    throw usageError(
      `--api needs the API's bearer token: give --token-file <path>, or set ${API_TOKEN_ENV}`,
    );
  }
  const token = parseToken(value);
  if (token === undefined) {
    throw usageError(`${API_TOKEN_ENV} must hold one bearer token: printable ASCII without spaces`);
  }
  return { base, token, tokenSource: API_TOKEN_ENV };
}

/** A usage error unless `batchId` is one the API's routes take (`BATCH_ID_PATTERN`). */
export function checkApiBatchId(batchId: string): void {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw usageError(
      '--batch with --api must be 1–64 characters among letters, digits, ".", "_" and "-" (as the API takes it)',
    );
  }
}

/**
 * A warning for a plain `http://` API on another machine: the token, names, ID numbers and photos
 * would cross the network in clear. Loopback (a tunnel, the same host) is not warned about.
 */
export function plainHttpWarning(base: string): string | undefined {
  const url = new URL(base);
  if (url.protocol !== 'http:') return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return undefined;
  return `warning: --api ${url.origin} is plain http: the API token and the applicants' data cross the network unencrypted; use https:// (or a tunnel to 127.0.0.1)`;
}
