/**
 * Credentials of the queue dashboard (bull-board under `/ui/queues`), which a browser opens as a
 * page and so cannot send a bearer header. Two ways in, both with an API token, compared in
 * constant time like the API's bearer tokens:
 * - the cookie {@link BOARD_COOKIE}, set by the operations page (path `/ui/queues`,
 *   `SameSite=Strict`, a session cookie) once the API accepted the token; the page clears it when
 *   the operator signs out or the API refuses the token;
 * - HTTP basic authentication with the token as password (any user name), for scripts and for a
 *   browser that never went through the page: a refused request is answered 401 with
 *   `WWW-Authenticate: Basic`, so the browser asks.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tokenMatcher } from '../auth.js';
import { problemError, sendProblem } from '../problems.js';

/** The cookie holding the API token for the queue dashboard. */
export const BOARD_COOKIE = 'ca_ops_token';

const REALM = 'Basic realm="cloudauth-orchestrator queues", charset="UTF-8"';

/** The value of cookie `name` in a `Cookie` header, percent-decoded; undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The password of an `Authorization: Basic` header; undefined for any other header. */
export function basicPassword(header: string | undefined): string | undefined {
  const encoded =
    header === undefined ? undefined : /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * An `onRequest` hook that lets through requests carrying one of `tokens` in {@link BOARD_COOKIE}
 * or as basic-auth password, and answers the others itself (bull-board's own error handler would
 * turn a thrown error into a 500) with a 401 problem and a basic challenge.
 */
export function boardAuth(
  tokens: readonly string[],
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const matches = tokenMatcher(tokens);
  return async (request, reply) => {
    const given = [
      cookieValue(request.headers.cookie, BOARD_COOKIE),
      basicPassword(request.headers.authorization),
    ].filter((t): t is string => t !== undefined && t !== '');
    let ok = false;
    for (const token of given) ok = matches(token) || ok;
    if (ok) return;
    await sendProblem(
      reply,
      problemError(
        'UNAUTHORIZED',
        'Sign in on /ui first, or use HTTP basic authentication with an API token as password.',
        { headers: { 'www-authenticate': REALM } },
      ),
    );
  };
}
