/**
 * The CLI's client of the HTTP API (`--api`): the typed client generated from the API's OpenAPI
 * document (`createApiClient`, openapi-fetch), so that every call is one the document has, over
 * Node's global fetch with a dispatcher of its own (direct connections only: no proxy from the
 * environment or a replaced global dispatcher, no redirects followed, so the bearer token goes to
 * the given host and nowhere else). Answers are checked against the API's own schemas
 * (`src/api/schemas.ts`) as well: the types say what the server should answer, the check that it
 * did. Every failure is an {@link ApiError} of one {@link ApiFailure} kind, whose message names the
 * API by its base URL and never carries the token.
 */
import { Agent } from 'undici';
import type { z } from 'zod';
import { createApiClient, type ApiSchemas, type TypedApiClient } from '../api/client.js';
import { problemTypeUri } from '../api/problems.js';
import {
  batchResultSchema,
  LIST_LIMIT_MAX,
  problemSchema,
  ticketListSchema,
  ticketViewSchema,
  type BatchResultView,
  type Problem,
  type TicketListView,
  type TicketSummaryView,
  type TicketView,
} from '../api/schemas.js';
import { summarySchema } from '../api/ui/summary-route.js';
import { TicketState } from '../domain/ticket.js';
import type { ApiTarget } from './api-target.js';

/** Why a call failed. */
export const ApiFailure = {
  /** No answer: connection refused, DNS, reset, timeout. Nothing is known to have been done. */
  unreachable: 'unreachable',
  /** 401 or 403: the token is not one the API accepts. */
  unauthorized: 'unauthorized',
  /** 503 `STORE_FULL` or `STAGING_FULL`: the API cannot keep more until space is freed. */
  full: 'full',
  /** Any other 503 (`STORE_UNAVAILABLE`, `STAGING_UNAVAILABLE`, shutting down), 502, 504. */
  unavailable: 'unavailable',
  /** 413: the request body is over the API's `API_BODY_LIMIT_BYTES`. */
  tooLarge: 'too_large',
  /** 404 `UNKNOWN_TICKET`. */
  unknownTicket: 'unknown_ticket',
  /** 409 `ILLEGAL_TRANSITION`: the ticket's state does not allow the command. */
  illegalState: 'illegal_state',
  /** Any other answer, or one that is not what the API answers. */
  refused: 'refused',
} as const;
export type ApiFailure = (typeof ApiFailure)[keyof typeof ApiFailure];

/** The error codes of a 503 that mean "full" rather than "unavailable". */
const FULL_CODES: ReadonlySet<string> = new Set(['STORE_FULL', 'STAGING_FULL']);
const UNKNOWN_TICKET_TYPE = problemTypeUri('UNKNOWN_TICKET');

/** A failed call. The message is safe to print: no token, no personal data. */
export class ApiError extends Error {
  constructor(
    readonly failure: ApiFailure,
    message: string,
    readonly details: {
      status?: number;
      /** The problem's `code` (an orchestrator error code), when it has one. */
      code?: string;
      /** The answer's `Retry-After`, in seconds. */
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Options of the client; the defaults suit a deployment on the same network. */
export interface ApiClientOptions {
  /** Longest wait for a TCP connection, in ms. Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest wait for an answer (headers, then each part of the body), in ms. Default 120 s. */
  answerTimeoutMs?: number;
  /** Requests in flight at once when checking many TicketIds. Default 16. */
  concurrency?: number;
}

/** The query of `GET /v1/tickets`. */
export interface ListQuery {
  batch?: string;
  state?: TicketState;
  cursor?: string;
  limit?: number;
}

/** How a network error reads in a message: its code (`ECONNREFUSED`), never its text. */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; name?: unknown } }).cause;
  for (const v of [cause?.code, cause?.name, (err as { name?: unknown }).name]) {
    if (typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(v)) return v;
  }
  return 'network error';
}

function retryAfterOf(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  return value !== null && /^\d{1,9}$/.test(value.trim()) ? Number(value) : undefined;
}

/** The problem an error answer carries (openapi-fetch hands its JSON over parsed), if any. */
function problemOf(body: unknown): Problem | undefined {
  const parsed = problemSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** What an openapi-fetch call resolves to, whatever its path. */
interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The verbs of `POST /v1/tickets/{id}/<verb>`. */
type Command = 'retry' | 'cancel' | 'erase';

/** The failure kind of a non-2xx answer. */
export function failureOf(status: number, problem: Problem | undefined): ApiFailure {
  if (status === 401 || status === 403) return ApiFailure.unauthorized;
  if (status === 413) return ApiFailure.tooLarge;
  if (status === 404 && problem?.type === UNKNOWN_TICKET_TYPE) return ApiFailure.unknownTicket;
  if (status === 409 && problem?.code === 'ILLEGAL_TRANSITION') return ApiFailure.illegalState;
  if (status === 503 && problem?.code !== undefined && FULL_CODES.has(problem.code)) {
    return ApiFailure.full;
  }
  if (status === 502 || status === 503 || status === 504) return ApiFailure.unavailable;
  return ApiFailure.refused;
}

/** The client of one API. Close it when done. */
export class ApiClient {
  readonly #agent: Agent;
  readonly #concurrency: number;
  readonly #api: TypedApiClient;

  constructor(
    private readonly target: ApiTarget,
    options: ApiClientOptions = {},
  ) {
    const answer = options.answerTimeoutMs ?? 120_000;
    const agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 10_000 },
      headersTimeout: answer,
      bodyTimeout: answer,
    });
    this.#agent = agent;
    this.#concurrency = options.concurrency ?? 16;
    this.#api = createApiClient({
      baseUrl: target.base,
      token: target.token,
      headers: { accept: 'application/json' },
      redirect: 'manual',
      // a request that got no answer is unreachable; the message names the error's code only
      fetch: async (request) => {
        try {
          // @ts-expect-error Node's fetch takes an undici dispatcher; its RequestInit type omits it
          return await fetch(request, { dispatcher: agent });
        } catch (err) {
          throw new ApiError(
            ApiFailure.unreachable,
            `cannot reach the API at ${target.base} (${networkCause(err)})`,
          );
        }
      },
    });
  }

  /** The base URL, as messages name the API. */
  get base(): string {
    return this.target.base;
  }

  /** One ticket, or undefined when the API knows no such TicketId. */
  async ticket(ticketId: string): Promise<TicketView | undefined> {
    try {
      return await this.#call('GET /v1/tickets/:id', ticketViewSchema, () =>
        this.#api.GET('/v1/tickets/{id}', { params: { path: { id: ticketId } } }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.failure === ApiFailure.unknownTicket) return undefined;
      throw err;
    }
  }

  /** Those of `ticketIds` the API knows (a few GETs in flight at once). */
  async existing(ticketIds: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < ticketIds.length) {
        const id = ticketIds[next++];
        try {
          if (id !== undefined && (await this.ticket(id)) !== undefined) known.add(id);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
    return known;
  }

  /** `POST /v1/tickets/batch` with a body already encoded (see `request-packing.ts`). */
  createBatch(body: string): Promise<BatchResultView> {
    return this.#call('POST /v1/tickets/batch', batchResultSchema, () =>
      this.#api.POST('/v1/tickets/batch', {
        // the body is sent as request-packing.ts encoded it, byte for byte: its size was fitted
        // to the API's body limit, and encoding it again could change it
        body: PACKED,
        bodySerializer: () => body,
      }),
    );
  }

  /** One page of `GET /v1/tickets`. */
  listPage(query: ListQuery): Promise<TicketListView> {
    return this.#call('GET /v1/tickets', ticketListSchema, () =>
      this.#api.GET('/v1/tickets', { params: { query } }),
    );
  }

  /** Every ticket of the query, page after page (newest first). */
  async *tickets(query: Omit<ListQuery, 'cursor'>): AsyncIterable<TicketSummaryView> {
    let cursor: string | undefined;
    do {
      const page = await this.listPage({
        limit: LIST_LIMIT_MAX,
        ...query,
        ...(cursor === undefined ? {} : { cursor }),
      });
      yield* page.tickets;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** A batch's tickets per state (`GET /v1/summary?batch=`), as the store counts them. */
  async countBatch(batchId: string): Promise<Record<TicketState, number>> {
    const summary = await this.#call('GET /v1/summary', summarySchema, () =>
      this.#api.GET('/v1/summary', { params: { query: { batch: batchId } } }),
    );
    const counts = Object.fromEntries(Object.values(TicketState).map((s) => [s, 0])) as Record<
      TicketState,
      number
    >;
    return { ...counts, ...summary.batch?.byState };
  }

  /** `POST /v1/tickets/:id/retry`, `/cancel` or `/erase`. */
  command(ticketId: string, verb: Command): Promise<TicketView> {
    const params = { params: { path: { id: ticketId } } };
    return this.#call(`POST /v1/tickets/:id/${verb}`, ticketViewSchema, () => {
      switch (verb) {
        case 'retry':
          return this.#api.POST('/v1/tickets/{id}/retry', params);
        case 'cancel':
          return this.#api.POST('/v1/tickets/{id}/cancel', params);
        case 'erase':
          return this.#api.POST('/v1/tickets/{id}/erase', params);
      }
    });
  }

  /**
   * The most tickets one batch request may carry (`API_BATCH_MAX`), read from the public
   * `GET /openapi.json` (asked without the token); undefined when the document does not say.
   */
  async batchMax(): Promise<number | undefined> {
    try {
      const { data, response } = await this.#api.GET('/openapi.json', {
        headers: { authorization: null },
      });
      return response.status === 200 ? batchMaxIn(data) : undefined;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // an answer that is not JSON, or one cut short: the document does not say
      return undefined;
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  /**
   * The answer of `send` (a call of the typed client), checked against `schema`; `route` names the
   * call in messages (`GET /v1/tickets/:id`: the route, never a TicketId or a query value).
   */
  async #call<S extends z.ZodType>(
    route: string,
    schema: S,
    send: () => Promise<Answer>,
  ): Promise<z.output<S>> {
    let answer: Answer;
    try {
      answer = await send();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // a 2xx answer whose body is not JSON
      if (err instanceof SyntaxError) throw this.#foreign(route, undefined);
      // the body was cut short (a reset, a timeout) after its headers came
      throw new ApiError(
        ApiFailure.unreachable,
        `cannot reach the API at ${this.target.base} (${networkCause(err)})`,
      );
    }
    const { response } = answer;
    if (response.status < 200 || response.status > 299) {
      throw this.#failure(response.status, response.statusText, answer.error, response.headers);
    }
    const parsed = schema.safeParse(answer.data);
    if (!parsed.success) throw this.#foreign(route, response.status);
    return parsed.data;
  }

  /** A 2xx answer that is not the orchestrator's. */
  #foreign(route: string, status: number | undefined): ApiError {
    return new ApiError(
      ApiFailure.refused,
      `the answer of ${this.target.base} to ${route} is not the orchestrator's (is --api its base URL, and of a matching version?)`,
      status === undefined ? {} : { status },
    );
  }

  #failure(status: number, statusText: string, body: unknown, headers: Headers): ApiError {
    const problem = problemOf(body);
    const failure = failureOf(status, problem);
    const retryAfterSeconds = retryAfterOf(headers);
    const details = {
      status,
      ...(problem?.code === undefined ? {} : { code: problem.code }),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
    if (problem === undefined) {
      const hint =
        status >= 300 && status < 400
          ? ': a redirect, which is not followed; give the URL it leads to as --api'
          : status === 404
            ? ': is --api the base URL of the orchestrator?'
            : '';
      return new ApiError(
        failure,
        `the API at ${this.target.base} answered ${status} ${statusText}${hint}`,
        details,
      );
    }
    const code = problem.code === undefined ? '' : ` ${problem.code}`;
    return new ApiError(
      failure,
      `the API at ${this.target.base} answered ${status}${code}: ${problem.detail.replace(/\.$/, '')}`,
      details,
    );
  }
}

/**
 * What stands for a batch body already encoded: openapi-fetch types the body as the document's
 * `BatchRequest`, and `bodySerializer` sends the encoded text instead.
 */
const PACKED = {} as ApiSchemas['BatchRequest'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** `maxItems` of the batch request's `tickets` in an OpenAPI document, following one `$ref`. */
export function batchMaxIn(doc: unknown): number | undefined {
  if (!isObject(doc)) return undefined;
  const at = (v: unknown, ...keys: string[]): unknown =>
    keys.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);
  let schema = at(
    doc,
    'paths',
    '/v1/tickets/batch',
    'post',
    'requestBody',
    'content',
    'application/json',
    'schema',
  );
  const ref = at(schema, '$ref');
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    schema = at(doc, 'components', 'schemas', ref.slice('#/components/schemas/'.length));
  }
  const max = at(schema, 'properties', 'tickets', 'maxItems');
  return typeof max === 'number' && Number.isSafeInteger(max) && max >= 1 ? max : undefined;
}
