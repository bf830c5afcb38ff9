/**
 * Errors as RFC 9457 problem details (`application/problem+json`): one table of problem types,
 * one error class carrying a problem, and the mapping of every other error (domain, fastify,
 * unexpected) to one. Details and field messages never carry personal data or secrets:
 * validation messages name the field and the failed check, never the value.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { IllegalTransitionError, OrchestratorError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { UnknownTicketError } from '../../queue/ticket-operations.js';
import { TicketNotFoundError } from '../../store/ticket-store.js';
import { TicketRejectedError } from '../ticket-request.js';
import type { FieldProblem, Problem } from './schemas.js';

/** The media type of every error answer. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Every problem type the API answers, with its status and title. */
export const PROBLEM_TYPES = {
  MALFORMED_REQUEST: { status: 400, title: 'The request is malformed' },
  UNAUTHORIZED: { status: 401, title: 'A valid bearer token is required' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  UNKNOWN_TICKET: { status: 404, title: 'No such ticket' },
  TICKET_CONFLICT: { status: 409, title: 'The TicketId exists with a different payload' },
  ILLEGAL_TRANSITION: { status: 409, title: "The ticket's state does not allow this" },
  BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  VALIDATION_FAILED: { status: 422, title: 'The request failed validation' },
  INTERNAL: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

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
  const { status, title } = PROBLEM_TYPES[type];
  return new ProblemError(
    {
      type: problemTypeUri(type),
      title,
      status,
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
      return issue.keys.map((k) => ({
        field: pathOf(prefix, [...issue.path, k]),
        message: 'is not a known field',
      }));
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
  message?: unknown;
}

function fromFastify(err: FastifyLikeError): ProblemError | undefined {
  switch (err.code) {
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

/** The problem answered for `err`; unexpected errors are logged and answered without detail. */
export function problemOf(
  err: unknown,
  logger: Pick<Logger, 'error'>,
  context: { method: string; route: string | undefined },
): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err instanceof ValidationError) {
    return problemError('VALIDATION_FAILED', 'The request failed validation.', {
      errors: fieldProblems(err),
    });
  }
  if (err instanceof UnknownTicketError || err instanceof TicketNotFoundError) {
    return problemError('UNKNOWN_TICKET', 'There is no ticket with this TicketId.');
  }
  if (err instanceof IllegalTransitionError) {
    return problemError(
      'ILLEGAL_TRANSITION',
      `A ticket in state '${err.from}' does not accept '${err.event}'.`,
    );
  }
  if (typeof err === 'object' && err !== null && !(err instanceof OrchestratorError)) {
    const known = fromFastify(err);
    if (known) return known;
    const { statusCode, code, message } = err as FastifyLikeError;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const fastifyOwn = typeof code === 'string' && code.startsWith('FST_');
      return new ProblemError({
        type: 'about:blank',
        title: STATUS_CODES[statusCode] ?? 'Error',
        status: statusCode,
        detail: fastifyOwn && typeof message === 'string' ? message : 'The request was refused.',
      });
    }
  }
  logger.error({ err, ...context }, 'http api: unexpected error');
  return problemError('INTERNAL', 'The request could not be completed; it has been logged.');
}

/** Answers every error and unknown route of `app` with problem details. */
export function installProblemHandlers(app: FastifyInstance, logger: Pick<Logger, 'error'>): void {
  app.setErrorHandler((err, request, reply) => {
    const problem = problemOf(err, logger, {
      method: request.method,
      route: request.routeOptions.url,
    });
    return reply
      .code(problem.problem.status)
      .headers(problem.headers)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(problem.problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(
        problemError('ROUTE_NOT_FOUND', `There is no route ${request.method} for this path.`)
          .problem,
      ),
  );
}
