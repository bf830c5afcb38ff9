/**
 * Errors as RFC 9457 problem details (`application/problem+json`): one table of problem types,
 * one error class carrying a problem, and the mapping of every other error (domain, fastify,
 * unexpected) to one. Details and field messages never carry personal data or secrets:
 * validation messages name the field and the failed check, never the value.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import {
  IllegalTransitionError,
  PersonalDataErasedError,
  OrchestratorError,
  StoreUnavailableError,
  TicketNotFoundError,
  ValidationError,
  type ErrorCode,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { STORE_FULL_RETRY_AFTER_MS, storeFullOf } from '../adapters/redis/store-full.js';
import { STORE_RETRY_AFTER_MS } from '../adapters/redis/store-unavailable.js';
import { StagingUnavailableError } from '../adapters/staging/staging-errors.js';
import { TicketRejectedError, unknownKeyProblems } from '../flow/ticket-request.js';
import type { FieldProblem, Problem } from './schemas.js';

/** The media type of every error answer. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The header that carries a request's id, in (when well formed) and out (always). */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A request id a client may choose: 1–128 letters, digits and `.`, `_`, `:`, `-`. Nothing that
 * could split a header or a log line, or smuggle markup into a page that shows it.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: the `x-request-id` it came with when that is well formed (so a caller's or
 * a proxy's id follows the request into our logs), else a new UUID. fastify's `genReqId`.
 */
export function requestIdOf(header: string | readonly string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * A problem's `instance` (RFC 9457): the URN of the request it answers, so that a problem a
 * caller reports leads to the access-log line and any error logged for it.
 */
export function problemInstance(requestId: string): string {
  return `urn:cloudauth-orchestrator:request:${requestId}`;
}

/**
 * Every problem type the API answers, with its status and title, and `code`, the registry code
 * (`src/errors.ts`) it reports, for the problems that have one.
 */
export const PROBLEM_TYPES = {
  MALFORMED_REQUEST: { status: 400, title: 'The request is malformed' },
  UNAUTHORIZED: { status: 401, title: 'A valid bearer token is required' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  UNKNOWN_TICKET: { status: 404, title: 'No such ticket' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  TICKET_CONFLICT: { status: 409, title: 'The TicketId exists with a different payload' },
  ILLEGAL_TRANSITION: {
    status: 409,
    title: "The ticket's state does not allow this",
    code: 'ILLEGAL_TRANSITION',
  },
  BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, title: 'The URL is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  VALIDATION_FAILED: {
    status: 422,
    title: 'The request failed validation',
    code: 'VALIDATION_FAILED',
  },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  SHUTTING_DOWN: { status: 503, title: 'The server is shutting down' },
  STORE_UNAVAILABLE: {
    status: 503,
    title: 'The ticket store is unavailable',
    code: 'STORE_UNAVAILABLE',
  },
  STORE_FULL: { status: 503, title: 'The ticket store is full', code: 'STORE_FULL' },
  STAGING_UNAVAILABLE: {
    status: 503,
    title: 'The material staging store is unavailable',
    code: 'STAGING_UNAVAILABLE',
  },
  STAGING_FULL: { status: 503, title: 'The material staging store is full', code: 'STAGING_FULL' },
  PERSONAL_DATA_ERASED: {
    status: 409,
    title: "The ticket's personal data was erased",
    code: 'PERSONAL_DATA_ERASED',
  },
} as const satisfies Record<string, { status: number; title: string; code?: ErrorCode }>;

export type ProblemType = keyof typeof PROBLEM_TYPES;

/** The `type` URI of a problem type. */
export function problemTypeUri(type: ProblemType): string {
  return `urn:cloudauth-orchestrator:problem:${type.toLowerCase().replaceAll('_', '-')}`;
}

/** An error that is answered as the given problem. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(problem.detail);
    this.name = 'ProblemError';
  }
}

/** A {@link ProblemError} of one of the {@link PROBLEM_TYPES}. */
export function problemError(
  type: ProblemType,
  detail: string,
  options: { errors?: readonly FieldProblem[]; headers?: Record<string, string> } = {},
): ProblemError {
  const { status, title, code }: { status: number; title: string; code?: ErrorCode } =
    PROBLEM_TYPES[type];
  return new ProblemError(
    {
      type: problemTypeUri(type),
      title,
      status,
      ...(code === undefined ? {} : { code }),
      detail,
      ...(options.errors === undefined ? {} : { errors: [...options.errors] }),
    },
    options.headers,
  );
}

/** A {@link ValidationError}'s message without the field name it starts with. */
export function fieldMessage(err: ValidationError): string {
  const prefix = `${err.field}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** The field problems of a validation error (one per field of a {@link TicketRejectedError}). */
export function fieldProblems(err: ValidationError): FieldProblem[] {
  const errors = err instanceof TicketRejectedError ? err.problems : [err];
  return errors.map((e) => ({ field: e.field, message: fieldMessage(e) }));
}

function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    // an empty key would name no field at all
    const name = String(part) === '' ? '""' : String(part);
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? name : `.${name}`;
  }
  return out;
}

/** Field problems of a zod error; an unknown key is named as a field of its own. */
export function zodProblems(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return unknownKeyProblems(issue.keys, (name) => pathOf(prefix, [...issue.path, name]));
    }
    return [{ field: pathOf(prefix, issue.path) || '(body)', message: issue.message }];
  });
}

/** Zod's error option for user input: a missing value is "required", never described. */
export const requiredMessage = (issue: { input?: unknown; code?: string }): string | undefined =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
}

/**
 * fastify's own refusals (its `FST_ERR_*` codes), from the error handler or `frameworkErrors`.
 * Details never repeat the refused path, content type or body.
 */
function fromFastify(err: FastifyLikeError): ProblemError | undefined {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return problemError('MALFORMED_REQUEST', 'The path is not valid percent-encoding.', {
        errors: [{ field: '(path)', message: 'is not valid percent-encoding' }],
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problemError('URI_TOO_LONG', 'A path parameter is longer than any TicketId.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json (UTF-8).');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemError('BODY_TOO_LARGE', 'The request body is over the configured limit.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problemError('MALFORMED_REQUEST', 'The body is not valid JSON.', {
        errors: [{ field: '(body)', message: 'is not valid JSON' }],
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problemError('MALFORMED_REQUEST', 'The body is empty.', {
        errors: [{ field: '(body)', message: 'is empty' }],
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemError('MALFORMED_REQUEST', 'The body length does not match Content-Length.');
    default:
      return undefined;
  }
}

/** A `STORE_UNAVAILABLE` error as a 503 problem with `Retry-After` (whole seconds, at least 1). */
function storeUnavailableProblem(err: StoreUnavailableError): ProblemError {
  const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? STORE_RETRY_AFTER_MS) / 1000));
  return problemError(
    'STORE_UNAVAILABLE',
    'The ticket store (Redis) cannot be reached; send the request again after Retry-After seconds.',
    { headers: { 'retry-after': String(seconds) } },
  );
}

/** A `STORE_FULL` error as a 503 problem with `Retry-After` (whole seconds, at least 1). */
function storeFullProblem(err: OrchestratorError): ProblemError {
  const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? STORE_FULL_RETRY_AFTER_MS) / 1000));
  return problemError(
    'STORE_FULL',
    'The ticket store (Redis) is out of memory and refused to store this request; send it again after Retry-After seconds (tickets of it stored before the refusal then answer as known).',
    { headers: { 'retry-after': String(seconds) } },
  );
}

/**
 * A staging store failure as a 503 problem: nothing of the request was kept (no ticket was
 * created). `Retry-After` when waiting may help; none when only its configuration can (a denied
 * write), which is said.
 */
function stagingProblem(err: StagingUnavailableError): ProblemError {
  const full = err.code === 'STAGING_FULL';
  const what = full
    ? 'The material staging store is out of space'
    : 'The material staging store cannot be reached or refused the write';
  if (!err.retryable) {
    return problemError(
      'STAGING_UNAVAILABLE',
      `${what}; its configuration must be fixed before this request can succeed. Nothing of the request was kept.`,
    );
  }
  const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? 2000) / 1000));
  return problemError(
    full ? 'STAGING_FULL' : 'STAGING_UNAVAILABLE',
    `${what}; nothing of the request was kept: send it again after Retry-After seconds.`,
    { headers: { 'retry-after': String(seconds) } },
  );
}

/**
 * The problem answered for `err`. A Redis outage or a full Redis is logged at warn, by its code
 * and message only; other unexpected errors are logged at error and answered without detail.
 */
export function problemOf(
  err: unknown,
  logger: Pick<Logger, 'error' | 'warn'>,
  context: { method: string; route: string | undefined },
): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err instanceof ValidationError) {
    return problemError('VALIDATION_FAILED', 'The request failed validation.', {
      errors: fieldProblems(err),
    });
  }
  if (err instanceof TicketNotFoundError) {
    return problemError('UNKNOWN_TICKET', 'There is no ticket with this TicketId.');
  }
  if (err instanceof IllegalTransitionError) {
    return problemError(
      'ILLEGAL_TRANSITION',
      `A ticket in state '${err.from}' does not accept '${err.event}'.`,
    );
  }
  if (err instanceof PersonalDataErasedError) {
    return problemError('PERSONAL_DATA_ERASED', err.message);
  }
  if (err instanceof StagingUnavailableError) {
    logger.warn({ err: err.toJSON(), ...context }, 'http api: the staging store failed');
    return stagingProblem(err);
  }
  const full = storeFullOf(err);
  if (full) {
    logger.warn({ err: full.toJSON(), ...context }, 'http api: the store is out of memory');
    return storeFullProblem(full);
  }
  if (err instanceof StoreUnavailableError) {
    const cause = err.cause instanceof Error ? err.cause : undefined;
    logger.warn(
      {
        err: err.toJSON(),
        cause: cause && { name: cause.name, message: cause.message },
        ...context,
      },
      'http api: the store is unreachable',
    );
    return storeUnavailableProblem(err);
  }
  if (typeof err === 'object' && err !== null && !(err instanceof OrchestratorError)) {
    const known = fromFastify(err);
    if (known) return known;
    const { statusCode, code } = err as FastifyLikeError;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const fastifyOwn = typeof code === 'string' && /^FST_[A-Z0-9_]+$/.test(code);
      return new ProblemError({
        type: 'about:blank',
        title: STATUS_CODES[statusCode] ?? 'Error',
        status: statusCode,
        detail: fastifyOwn ? `The request was refused (${code}).` : 'The request was refused.',
      });
    }
  }
  logger.error({ err, ...context }, 'http api: unexpected error');
  return problemError('INTERNAL', 'The request could not be completed; it has been logged.');
}

/**
 * Answers `problem` on `reply` as `application/problem+json`, its `instance` the request's URN
 * and its id in `x-request-id`.
 */
export function sendProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  const requestId = reply.request.id;
  return reply
    .code(problem.problem.status)
    .headers(problem.headers)
    .header(REQUEST_ID_HEADER, requestId)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send({ ...problem.problem, instance: problemInstance(requestId) });
}

/**
 * Answers every error and unknown route of `app` with problem details. Errors are logged on the
 * request's logger, so their lines carry its id as the problem's `instance` does.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) =>
    sendProblem(
      reply,
      problemOf(err, request.log, { method: request.method, route: request.routeOptions.url }),
    ),
  );
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problemError('ROUTE_NOT_FOUND', `There is no route ${request.method} for this path.`),
    ),
  );
}
