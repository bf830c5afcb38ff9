/**
 * The typed client of the HTTP API: openapi-fetch over the types generated from the API's OpenAPI
 * document (`./generated/openapi.ts`, from `openapi/openapi.json`), so that every path, parameter,
 * body and answer is typed as the document describes it, and a call the document does not have
 * does not compile. For business systems (exported by the package) and for the CLI's `--api` mode
 * (`src/cli/api-client.ts`).
 *
 * ```ts
 * const api = createApiClient({ baseUrl: 'https://orchestrator.internal:8080', token });
 * const { data, error, response } = await api.POST('/v1/tickets', { body: ticket });
 * if (error) console.error(response.status, error.type, error.detail); // a problem (RFC 9457)
 * else console.log(response.status, data.state); // 202 created, 200 known already
 * ```
 *
 * Answers are typed, not checked: the client trusts the server it was pointed at (the CLI checks
 * them against the API's zod schemas as well).
 */
import createClient, { mergeHeaders, type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths, webhooks } from './generated/openapi.js';

/** The API's paths and their operations, as openapi-typescript generated them. */
export type ApiPaths = paths;
/** The API's operations by operationId. */
export type ApiOperations = operations;
/** The request and answer bodies: `ApiSchemas['TicketView']`, `ApiSchemas['Problem']`, … */
export type ApiSchemas = components['schemas'];
/** The webhook deliveries, by event type (their bodies are `ApiSchemas['WebhookEvent']`). */
export type ApiWebhooks = webhooks;
/** A client of the API, as {@link createApiClient} makes it. */
export type TypedApiClient = Client<paths>;

/** Options of {@link createApiClient}: openapi-fetch's, with the base URL required. */
export interface CreateApiClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The API's base URL, e.g. `https://orchestrator.internal:8080`. */
  baseUrl: string;
  /**
   * A bearer token (one of API_TOKENS), sent as `Authorization: Bearer <token>` on every request
   * (a request's `headers: { authorization: null }` leaves it out). Absent: none is sent, and only
   * the public routes answer.
   */
  token?: string;
}

/**
 * A client of the API at `baseUrl`, typed with the document's paths. Every other option is
 * openapi-fetch's (`fetch`, `headers`, `redirect`, `requestInitExt` for an undici dispatcher, …).
 */
export function createApiClient(options: CreateApiClientOptions): TypedApiClient {
  const { token, headers, ...rest } = options;
  return createClient<paths>({
    ...rest,
    headers: mergeHeaders(token === undefined ? {} : { authorization: `Bearer ${token}` }, headers),
  });
}
