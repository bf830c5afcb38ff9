/**
 * Bearer-token authentication (RFC 6750). Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured token without stopping at a match, so that neither
 * a token's length nor its position in the list shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { problemError } from './problems.js';

const REALM = 'Bearer realm="cloudauth-orchestrator"';
const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * An `onRequest` hook that refuses, with a 401 problem and `WWW-Authenticate: Bearer`, every
 * request without one of `tokens`, except those to the routes in `publicRoutes`.
 */
export function bearerAuth(
  tokens: readonly string[],
  publicRoutes: ReadonlySet<string>,
): (request: FastifyRequest) => Promise<void> {
  const digests = tokens.map(digest);
  return (request) => {
    const route = request.routeOptions.url;
    if (route !== undefined && publicRoutes.has(route)) return Promise.resolve();
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
    if (given === undefined) {
      return Promise.reject(
        problemError('UNAUTHORIZED', 'Send Authorization: Bearer <token>.', {
          headers: { 'www-authenticate': REALM },
        }),
      );
    }
    const candidate = digest(given);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok;
    if (ok) return Promise.resolve();
    return Promise.reject(
      problemError('UNAUTHORIZED', 'The bearer token is not valid.', {
        headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
      }),
    );
  };
}
