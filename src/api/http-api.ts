/**
 * The HTTP API on fastify: JSON in and out, bearer tokens, RFC 9457 problems for every error,
 * requests validated with zod in the handlers, and `GET /openapi.json` generated from the same
 * schemas. `buildHttpApi` gives the instance (for `inject` in tests), `startHttpApi` a listening
 * server.
 *
 * Every request has an id: the `x-request-id` it came with when well formed, else a new UUID. It
 * is answered in `x-request-id` on every response, is the `instance` of every problem, and labels
 * every log line of the request (`reqId`), the access-log line included. Every answered request
 * is counted in `http_requests_total` and `http_request_duration_seconds` by its route pattern.
 */
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { opsRoutes, type OpsRoutesOptions } from './ops-routes.js';
import { operationsUi, UI_PREFIX, type OperationsUiOptions } from './ui/operations-ui.js';
import { summaryRoute, type SummaryRouteDeps } from './ui/summary-route.js';
import { overviewRoutes } from './ui/overview-route.js';
import { TICKET_ID_MAX } from '../flow/ticket-intake.js';
import { UNMATCHED_ROUTE } from '../ops/metrics.js';
import { bearerAuth } from './auth.js';
import { batchRoute, type BatchRouteDeps } from './batch-route.js';
import { clientErrorHandler, frameworkErrorHandler } from './framework-errors.js';
import { openApiDocument } from './openapi.js';
import {
  installProblemHandlers,
  problemError,
  REQUEST_ID_HEADER,
  requestIdOf,
  sendProblem,
} from './problems.js';
import type { RouteSpec } from './route-spec.js';
import { startRoutes, type StartRoutesOptions } from './start-routes.js';
import { ticketRoutes } from './ticket-routes.js';

/** What the API needs. */
export interface HttpApiDeps extends BatchRouteDeps, SummaryRouteDeps {
  /** What the ticket, batch and summary routes read and write. */
  store: BatchRouteDeps['store'] & SummaryRouteDeps['store'];
  /** Accepted bearer tokens (`API_TOKENS`, or {@link loadOrCreateApiToken}); at least one. */
  tokens: readonly string[];
  /** Largest request body, in bytes (`API_BODY_LIMIT_BYTES`); larger ones get a 413 problem. */
  bodyLimitBytes: number;
  logger: Logger;
  /** `/healthz`, and `/readyz` and `/metrics` when their parts are given (see `opsRoutes`). */
  ops?: OpsRoutesOptions;
  /** Queues the dashboard under `/ui/queues` shows; absent: the page only (see `operationsUi`). */
  queues?: OperationsUiOptions['queues'];
  /** The start pages and provider callback of financial ID_PRO tickets; absent: not served. */
  start?: Omit<StartRoutesOptions, 'logger'> | undefined;
}

/** A listening API. */
export interface RunningHttpApi {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

function installJsonParser(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else void json(request, text, done);
  });
}

/**
 * While the server closes, a request that still arrives on an open connection is answered 503
 * with `Retry-After` and `Connection: close` as a problem (fastify's own answer is plain JSON).
 */
function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    const problem = problemError('SHUTTING_DOWN', 'The server is shutting down.', {
      headers: { 'retry-after': '1', connection: 'close' },
    });
    return sendProblem(reply, problem);
  });
}

/** The API, routes registered, not listening. Throws {@link ConfigError} without tokens. */
export function buildHttpApi(deps: HttpApiDeps): FastifyInstance {
  if (deps.tokens.length === 0) {
    throw new ConfigError('the HTTP API needs at least one bearer token (API_TOKENS)');
  }
  const logger: FastifyBaseLogger = deps.logger.child({ component: 'http-api' });
  const app = fastify({
    loggerInstance: logger,
    // the access-log line is our own (onResponse below); each request's lines carry its id
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: deps.bodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: TICKET_ID_MAX * 3 },
    // fastify would take a `requestIdHeader` as it comes (any length, any characters): the id is
    // checked in genReqId instead, and an ill-formed one replaced
    requestIdHeader: false,
    genReqId: (raw) => requestIdOf(raw.headers[REQUEST_ID_HEADER]),
    frameworkErrors: frameworkErrorHandler(),
    clientErrorHandler: clientErrorHandler(logger),
    return503OnClosing: false,
  });
  // first of the hooks, so that an answer any later hook sends (401, 503) carries it too
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  installJsonParser(app);
  installProblemHandlers(app);
  refuseWhileClosing(app);

  const routes: RouteSpec[] = [
    ...ticketRoutes({ ...deps, links: deps.start?.links }),
    batchRoute(deps),
    summaryRoute(deps),
    ...overviewRoutes(deps),
  ];
  let document: Record<string, unknown> | undefined;
  const openapi: RouteSpec = {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document.',
    public: true,
    responses: {
      200: { description: 'The OpenAPI 3.1 document.', schema: z.record(z.string(), z.unknown()) },
    },
    problems: [],
    handler: () => Promise.resolve((document ??= openApiDocument([...routes, openapi]))),
  };
  routes.push(openapi);

  const publicRoutes = new Set(routes.filter((r) => r.public).map((r) => r.url));
  app.addHook('onRequest', bearerAuth(deps.tokens, publicRoutes, [UI_PREFIX]));
  const telemetry = deps.ops?.telemetry;
  app.addHook('onResponse', (request, reply, done) => {
    // the route's pattern, never the path: a path holds a TicketId
    const route = request.routeOptions.url;
    request.log.info(
      {
        method: request.method,
        route: route ?? UNMATCHED_ROUTE,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
    telemetry?.observeHttpRequest({
      method: request.method,
      route,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
    done();
  });
  for (const route of routes) {
    app.route({ method: route.method, url: route.url, handler: route.handler });
  }
  void app.register(opsRoutes, deps.ops ?? {});
  void app.register(operationsUi, { tokens: deps.tokens, queues: deps.queues });
  if (deps.start !== undefined)
    void app.register(startRoutes, { ...deps.start, logger: deps.logger });
  return app;
}

/** Builds the API and listens on `host:port` (port 0 picks a free one). */
export async function startHttpApi(
  deps: HttpApiDeps & { host: string; port: number },
): Promise<RunningHttpApi> {
  const app = buildHttpApi(deps);
  try {
    await app.listen({ host: deps.host, port: deps.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : deps.port;
  const host = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
