/**
 * Bearer-token authentication (RFC 6750). Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured token without stopping at a match, so that neither
 * a token's length nor its position in the list shows in the timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { problemError } from './problems.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a bearer token (set by plugins that register their own routes). */
    public?: boolean;
  }
}

const REALM = 'Bearer realm="cloudauth-orchestrator"';
const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * A check of a presented token against every one of `tokens`, in constant time (SHA-256 digests,
 * `timingSafeEqual`, no early exit).
 */
export function tokenMatcher(tokens: readonly string[]): (given: string) => boolean {
  const digests = tokens.map(digest);
  return (given) => {
    const candidate = digest(given);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok;
    return ok;
  };
}

/**
 * An `onRequest` hook that refuses, with a 401 problem and `WWW-Authenticate: Bearer`, every
 * request without one of `tokens`, except those to the routes in `publicRoutes` and to routes at
 * or under one of `publicPrefixes` (which are public or check credentials of their own), and to
 * routes registered with `config: { public: true }`.
 */
export function bearerAuth(
  tokens: readonly string[],
  publicRoutes: ReadonlySet<string>,
  publicPrefixes: readonly string[] = [],
): (request: FastifyRequest) => Promise<void> {
  const matches = tokenMatcher(tokens);
  const isPublic = (route: string): boolean =>
    publicRoutes.has(route) || publicPrefixes.some((p) => route === p || route.startsWith(`${p}/`));
  return (request) => {
    if (request.routeOptions.config.public === true) return Promise.resolve();
    const route = request.routeOptions.url;
    if (route !== undefined && isPublic(route)) return Promise.resolve();
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
    if (given === undefined) {
      return Promise.reject(
        problemError('UNAUTHORIZED', 'Send Authorization: Bearer <token>.', {
          headers: { 'www-authenticate': REALM },
        }),
      );
    }
    if (matches(given)) return Promise.resolve();
    return Promise.reject(
      problemError('UNAUTHORIZED', 'The bearer token is not valid.', {
        headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
      }),
    );
  };
}
