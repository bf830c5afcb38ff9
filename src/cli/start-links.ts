/**
 * Start links in direct mode (no `--api`): the CLI makes a financial-grade ID_PRO ticket's start
 * link as the API does (`StartLinks` of `src/flow/start-links.ts`), from the same ENCRYPTION_KEY
 * and the API's public URL. It does so only where it knows that URL: `API_PUBLIC_URL`, or, in
 * embedded mode, `http://API_HOST:API_PORT` (the API's own). In production without API_PUBLIC_URL
 * (the API requires it there, the command line does not) and on a free port (API_PORT=0) it
 * cannot: a link on a guessed address would be one the person cannot open; `--api` asks the API.
 */
import type { Config } from '../config.js';
import type { Ticket } from '../domain/ticket.js';
import type { StartLinkMaker } from '../api/views.js';
import { loadOrCreateKey } from '../adapters/redis/crypto.js';
import { StartLinks } from '../flow/start-links.js';

/** The HTTP API's public base URL as this process knows it, or undefined when it does not. */
export function apiPublicUrlOf(config: Pick<Config, 'mode' | 'api'>): string | undefined {
  if (config.api.publicUrl !== undefined) return config.api.publicUrl;
  if (config.mode !== 'embedded' || config.api.port === 0) return undefined;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  return `http://${host}:${config.api.port}`;
}

/**
 * The start links of this configuration, or undefined when its public URL is unknown (see above).
 * Call it where the app runs: in embedded mode the key may come from ENCRYPTION_KEY_FILE, which the
 * app has created by then.
 */
export function cliStartLinks(
  config: Pick<Config, 'mode' | 'api' | 'store'>,
): StartLinkMaker | undefined {
  const url = apiPublicUrlOf(config);
  if (url === undefined) return undefined;
  return new StartLinks(loadOrCreateKey(config), () => url);
}

/**
 * True while a ticket's start link is of use, as the API's ticket view shows it: a financial ID_PRO
 * ticket (it has a link's end) that has not ended.
 */
export function hasStartLink(t: Pick<Ticket, 'startBy' | 'state'>): boolean {
  return t.startBy !== undefined && (t.state === 'queued' || t.state === 'awaiting_user');
}

/** Why direct mode shows no start link for a ticket that has one. */
export const START_LINK_UNKNOWN =
  'the start link is not shown: API_PUBLIC_URL is not set here (or API_PORT is 0); set it as the API has it, or give --api';
