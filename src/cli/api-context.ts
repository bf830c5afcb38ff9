/**
 * What a command run with `--api` runs with: a client of the HTTP API, closed whatever happens, and
 * one table from the API's failures to the CLI's exit codes (those of direct mode: a full store is
 * 7 as a Redis out of memory is, an unreachable one 1 as an unreachable Redis is; a refused token
 * is a configuration error, 2).
 */
import { ApiClient, ApiError, ApiFailure } from './api-client.js';
import type { ApiTarget } from './api-target.js';
import { CliError, ExitCode } from './exit-codes.js';

/** The exit code of each failure. */
export const API_EXIT_CODES: Readonly<Record<ApiFailure, ExitCode>> = {
  [ApiFailure.unreachable]: ExitCode.unexpected,
  [ApiFailure.unauthorized]: ExitCode.usage,
  [ApiFailure.full]: ExitCode.storeFull,
  [ApiFailure.unavailable]: ExitCode.unexpected,
  [ApiFailure.tooLarge]: ExitCode.unexpected,
  [ApiFailure.unknownTicket]: ExitCode.unknown,
  [ApiFailure.illegalState]: ExitCode.illegalState,
  [ApiFailure.refused]: ExitCode.unexpected,
};

/** What the message adds to the API's own words, by failure. */
function advice(err: ApiError, target: ApiTarget): string {
  const after =
    err.details.retryAfterSeconds === undefined
      ? ''
      : ` (it asks to wait ${err.details.retryAfterSeconds} s)`;
  switch (err.failure) {
    case ApiFailure.unauthorized:
      return `. The bearer token from ${target.tokenSource} is not one the API accepts (one of its API_TOKENS)`;
    case ApiFailure.full:
      return `. Its store is full${after}: free space (Redis memory, or the staging store), then run the same command again`;
    case ApiFailure.unavailable:
      return `. Try again later${after}`;
    case ApiFailure.unreachable:
    case ApiFailure.tooLarge:
    case ApiFailure.unknownTicket:
    case ApiFailure.illegalState:
    case ApiFailure.refused:
      return '';
  }
}

/** An API failure as the CLI reports it. */
export function apiCliError(err: ApiError, target: ApiTarget): CliError {
  return new CliError(API_EXIT_CODES[err.failure], `${err.message}${advice(err, target)}`);
}

/** Runs `f` with a client of the API at `target`; an API failure ends the command as a CliError. */
export async function withApi<T>(
  target: ApiTarget,
  f: (client: ApiClient) => Promise<T>,
): Promise<T> {
  const client = new ApiClient(target);
  try {
    return await f(client);
  } catch (err) {
    throw err instanceof ApiError ? apiCliError(err, target) : err;
  } finally {
    await client.close();
  }
}
