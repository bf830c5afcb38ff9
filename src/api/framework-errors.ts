/**
 * The refusals fastify and Node's HTTP server make before any route or hook runs, answered as
 * problem details like every other error: a path that is not valid percent-encoding
 * (`FST_ERR_BAD_URL`), a path parameter over `maxParamLength` (`FST_ERR_MAX_PARAM_LENGTH`), and
 * requests that are not valid HTTP, whose headers are too large or that arrive too slowly
 * (`clientError`). None repeats the refused input. Each carries a request id (`x-request-id` and
 * the problem's `instance`) like every other answer; one refused by Node's parser never became a
 * request, so its id is new, and logged with it.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import {
  PROBLEM_CONTENT_TYPE,
  problemError,
  problemInstance,
  problemOf,
  sendProblem,
  type ProblemError,
} from './problems.js';

/**
 * fastify's `frameworkErrors` option: the router's refusals as problems (with the request's id,
 * as `sendProblem` gives every problem), logged on the request's logger.
 */
export function frameworkErrorHandler(): (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => void {
  return (error, request, reply) => {
    void sendProblem(
      reply,
      problemOf(error, request.log, { method: request.method, route: undefined }),
    );
  };
}

/** What Node passes to `clientError`: an error with its llhttp or Node code. */
interface ClientError extends Error {
  code?: string;
}

function clientProblem(err: ClientError): ProblemError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return problemError('REQUEST_TIMEOUT', 'The request did not arrive completely in time.');
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return problemError('HEADERS_TOO_LARGE', 'The request headers are over the size limit.');
  }
  return problemError('MALFORMED_REQUEST', 'The request is not valid HTTP/1.1.');
}

/**
 * fastify's `clientErrorHandler` option: a request Node's parser refused, answered on the raw
 * socket with a problem and the connection closed (as Node and fastify do by default, but in
 * `application/problem+json`).
 */
export function clientErrorHandler(
  logger: Pick<Logger, 'debug'>,
): (error: ClientError, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { problem } = clientProblem(err);
    const requestId = randomUUID();
    logger.debug(
      { code: err.code, status: problem.status, reqId: requestId },
      'http api: client error',
    );
    if (socket.writable) {
      const body = JSON.stringify({ ...problem, instance: problemInstance(requestId) });
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
          `X-Request-Id: ${requestId}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy(err);
  };
}
