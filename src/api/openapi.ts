/**
 * The OpenAPI 3.1 document of the API (`GET /openapi.json`), generated from the route declarations
 * and the zod schemas the handlers validate with (`z.toJSONSchema`, JSON Schema 2020-12, which
 * OpenAPI 3.1 uses). Beside the routes it describes what they share: the bearer scheme, the
 * `x-request-id` every answer carries, RFC 9457 problems (with `Retry-After` on a 503 and
 * `WWW-Authenticate` on a 401), the operations routes (`/healthz`, `/readyz`, `/metrics`), and the
 * webhook deliveries (`webhooks`: one entry per event type, with the Standard Webhooks headers).
 *
 * It is committed as `openapi/openapi.json`, with the TypeScript types `openapi-typescript` makes
 * of it (`src/api/generated/openapi.ts`, the typed client's); `npm run openapi` writes both, and
 * test/integration/openapi-document.test.ts fails when either differs from what the server serves
 * or when `redocly lint` finds a problem.
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { ticketRequestSchema } from '../flow/ticket-request.js';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/events.js';
import {
  EXAMPLE_REQUEST_ID,
  REQUEST_EXAMPLES,
  RESPONSE_EXAMPLES,
  problemExample,
  webhookExample,
  type Example,
} from './openapi-examples.js';
import { PROBLEM_TYPES, type ProblemType } from './problems.js';
import type { RouteSpec } from './route-spec.js';
import {
  batchResultSchema,
  fieldProblemSchema,
  problemSchema,
  ticketListSchema,
  ticketSummarySchema,
  ticketViewSchema,
} from './schemas.js';
import { summarySchema } from './ui/summary-route.js';
import { WEBHOOK_EVENT_DOCS, WEBHOOK_HEADERS, webhookEventSchema } from './webhook-schema.js';

/** A JSON object of the document. */
type Json = Record<string, unknown>;

/**
 * The package's own `package.json` (by its name, which `exports` maps): the document's version
 * and license are the package's, from the source tree, the build and an installed copy alike.
 */
const PACKAGE = createRequire(import.meta.url)('cloudauth-orchestrator/package.json') as {
  version: string;
  license?: string;
};

/** Problems any route may answer. */
const PUBLIC_PROBLEMS: readonly ProblemType[] = ['INTERNAL', 'SHUTTING_DOWN'];
/** Problems any authenticated route may answer (each reads or writes Redis). */
const COMMON_PROBLEMS: readonly ProblemType[] = [
  'UNAUTHORIZED',
  'STORE_UNAVAILABLE',
  'STORE_FULL',
  ...PUBLIC_PROBLEMS,
];
/** Problems any route with a body may answer. */
const BODY_PROBLEMS: readonly ProblemType[] = ['BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** Problems any route with a path parameter may answer (a parameter longer than any TicketId). */
const PARAM_PROBLEMS: readonly ProblemType[] = ['URI_TOO_LONG'];

/** The answers that carry `Location` (the ticket's path), by operationId. */
const LOCATION_ANSWERS: Readonly<Record<string, readonly number[]>> = { createTicket: [200, 202] };

/** The tags, in the order a reader meets them. */
const TAGS = [
  { name: 'Tickets', description: 'Accept, read, list, retry, cancel and erase tickets.' },
  { name: 'Batches', description: 'Many tickets in one request, each judged on its own.' },
  { name: 'Summary', description: 'Tickets per state, and the progress of a batch.' },
  {
    name: 'Operations',
    description:
      'Liveness, readiness and Prometheus metrics on the API’s port, without a token (`/metrics` asks for one with METRICS_AUTH=true); the overview the operations page draws, with one.',
  },
  { name: 'Document', description: 'This OpenAPI document.' },
  {
    name: 'Webhooks',
    description:
      'What the orchestrator POSTs to a ticket’s `callbackUrl`, signed the Standard Webhooks way. Any 2xx ends a delivery; 429, 5xx, a timeout or no connection are tried again with backoff (a `Retry-After` is a minimum); any other answer dead-letters it. Redirects are not followed.',
  },
] as const;
type Tag = (typeof TAGS)[number]['name'];

/** The tag of a route, by its path. */
function tagOf(route: RouteSpec): Tag {
  if (route.url === '/v1/tickets/batch') return 'Batches';
  if (route.url.startsWith('/v1/tickets')) return 'Tickets';
  if (route.url === '/v1/summary') return 'Summary';
  if (route.url.startsWith('/v1/ops/')) return 'Operations';
  return 'Document';
}

const ref = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });
const headerRef = (id: string): Json => ({ $ref: `#/components/headers/${id}` });

/** A request id a client may send: what `x-request-id` takes. */
const REQUEST_ID_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' };

/** The headers the answers share. */
const HEADERS: Record<string, Json> = {
  RequestId: {
    description:
      'The id of the request: the `x-request-id` it came with when that was 1–128 characters of letters, digits and `.` `_` `:` `-`, else a new UUID. On every answer, as the `instance` of every problem, and on the server’s log lines of the request.',
    required: true,
    schema: REQUEST_ID_SCHEMA,
    example: EXAMPLE_REQUEST_ID,
  },
  Location: {
    description: 'The path of the ticket, its TicketId percent-encoded: `/v1/tickets/{id}`.',
    required: true,
    schema: { type: 'string', format: 'uri-reference' },
    example: '/v1/tickets/order-20260301-0001',
  },
  RetryAfter: {
    description:
      'Whole seconds to wait before sending the request again. Absent when waiting cannot help (a staging store refused by its configuration).',
    required: false,
    schema: { type: 'integer', minimum: 1 },
    example: 2,
  },
  WWWAuthenticate: {
    description: 'The bearer challenge (RFC 6750); `error="invalid_token"` when a token was sent.',
    required: true,
    schema: { type: 'string' },
    example: 'Bearer realm="cloudauth-orchestrator", error="invalid_token"',
  },
};

/** `schema` without the keys a standalone JSON Schema has and an embedded one must not. */
function bare(schema: object): Json {
  const out: Json = { ...schema };
  delete out.$schema;
  delete out.$id;
  return out;
}

/** `schema` with every `additionalProperties: false` removed: receivers ignore unknown fields. */
function open(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(open);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = open(value);
  }
  return out;
}

function components(
  named: Record<string, z.ZodType>,
  io: 'input' | 'output',
): { registry: z.core.$ZodRegistry<{ id: string }>; schemas: Record<string, Json> } {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) out[id] = bare(schema);
  return { registry, schemas: out };
}

function schemaFor(
  schema: z.ZodType,
  registry: z.core.$ZodRegistry<{ id: string }>,
  io: 'input' | 'output',
): Json {
  const id = registry.get(schema)?.id;
  return id === undefined ? bare(z.toJSONSchema(schema, { io })) : ref(id);
}

function parameters(where: 'path' | 'query', shape: z.ZodObject | undefined): Json[] {
  if (!shape) return [];
  return Object.entries(shape.shape).map(([name, schema]) => {
    const json = bare(z.toJSONSchema(schema, { io: 'input' }));
    const { description, ...rest } = json;
    return {
      name,
      in: where,
      required: where === 'path' || !(schema as z.ZodType).safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
      ...(where === 'path' && name === 'id' ? { example: 'order-20260301-0001' } : {}),
    };
  });
}

/**
 * The `examples` of a body, when there are any. A route without them is still described (the
 * document never fails for want of an example); `redocly lint` refuses the document then.
 */
function examplesOf(examples: Record<string, Example> | undefined): Json {
  return examples === undefined || Object.keys(examples).length === 0 ? {} : { examples };
}

function problemResponses(types: readonly ProblemType[]): Record<string, Json> {
  const byStatus = new Map<number, Set<ProblemType>>();
  for (const type of types) {
    const { status } = PROBLEM_TYPES[type];
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(type));
  }
  const out: Record<string, Json> = {};
  for (const [status, kinds] of [...byStatus].sort(([a], [b]) => a - b)) {
    const titles = new Set([...kinds].map((k) => PROBLEM_TYPES[k].title));
    out[String(status)] = {
      description: [...titles].join('; '),
      headers: {
        'x-request-id': headerRef('RequestId'),
        ...(status === 401 ? { 'WWW-Authenticate': headerRef('WWWAuthenticate') } : {}),
        ...(status === 503 || status === 429 ? { 'Retry-After': headerRef('RetryAfter') } : {}),
      },
      content: {
        'application/problem+json': {
          schema: ref('Problem'),
          examples: Object.fromEntries([...kinds].map((k) => [k, problemExample(k)])),
        },
      },
    };
  }
  return out;
}

/** One route as an Operation Object. */
function operationOf(
  route: RouteSpec,
  inputs: { registry: z.core.$ZodRegistry<{ id: string }> },
  outputs: { registry: z.core.$ZodRegistry<{ id: string }> },
): Json {
  const problems = [
    ...route.problems,
    ...(route.public ? PUBLIC_PROBLEMS : COMMON_PROBLEMS),
    ...(route.body ? BODY_PROBLEMS : []),
    ...(route.params ? PARAM_PROBLEMS : []),
  ];
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    const location = LOCATION_ANSWERS[route.operationId]?.includes(Number(status)) === true;
    responses[status] = {
      description: answer.description,
      headers: {
        'x-request-id': headerRef('RequestId'),
        ...(location ? { Location: headerRef('Location') } : {}),
      },
      content: {
        'application/json': {
          schema: schemaFor(answer.schema, outputs.registry, 'output'),
          ...examplesOf(RESPONSE_EXAMPLES[route.operationId]?.[Number(status)]),
        },
      },
    };
  }
  const params = [
    ...parameters('path', route.params),
    ...parameters('query', route.query),
    { $ref: '#/components/parameters/RequestId' },
  ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [tagOf(route)],
    ...(route.public ? { security: [] } : {}),
    parameters: params,
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: schemaFor(route.body, inputs.registry, 'input'),
                ...examplesOf(REQUEST_EXAMPLES[route.operationId]),
              },
            },
          },
        }
      : {}),
    responses: { ...responses, ...problemResponses([...new Set(problems)]) },
  };
}

/** A JSON answer of the operations routes, with its example. */
const opsAnswer = (description: string, schema: Json, example: unknown): Json => ({
  description,
  headers: { 'x-request-id': headerRef('RequestId') },
  content: { 'application/json': { schema, example } },
});

/**
 * The operations routes (`ops-routes.ts`, a fastify plugin rather than route declarations): served
 * on the API's port by every role that serves the API.
 */
function operationsPaths(): Record<string, Json> {
  const readiness = {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ok', 'unavailable'] },
      checks: {
        type: 'object',
        description:
          'Each check `ok` or `fail`: `redis` (a PING), `workers` (this process’s workers, when it runs any).',
        additionalProperties: { type: 'string', enum: ['ok', 'fail'] },
      },
    },
  };
  return {
    '/healthz': {
      get: {
        operationId: 'getHealth',
        summary: 'Liveness: 200 while the process answers.',
        tags: ['Operations'],
        security: [],
        parameters: [{ $ref: '#/components/parameters/RequestId' }],
        responses: {
          200: opsAnswer(
            'The process answers.',
            { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
            { status: 'ok' },
          ),
          ...problemResponses(PUBLIC_PROBLEMS),
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'getReadiness',
        summary: 'Readiness: 200 when Redis answers and this process’s workers run, else 503.',
        tags: ['Operations'],
        security: [],
        parameters: [{ $ref: '#/components/parameters/RequestId' }],
        responses: {
          200: opsAnswer('Ready.', readiness, {
            status: 'ok',
            checks: { redis: 'ok', workers: 'ok' },
          }),
          503: {
            description: 'Not ready (a check failed), or shutting down (a problem).',
            headers: {
              'x-request-id': headerRef('RequestId'),
              'Retry-After': headerRef('RetryAfter'),
            },
            content: {
              'application/json': {
                schema: readiness,
                example: { status: 'unavailable', checks: { redis: 'fail', workers: 'ok' } },
              },
              'application/problem+json': {
                schema: ref('Problem'),
                examples: { SHUTTING_DOWN: problemExample('SHUTTING_DOWN') },
              },
            },
          },
          ...problemResponses(['INTERNAL']),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary:
          'Prometheus metrics: counts by state, action, error code and route pattern; no ticket ids, no personal data.',
        tags: ['Operations'],
        // public unless METRICS_AUTH=true
        security: [{}, { bearerAuth: [] }],
        parameters: [{ $ref: '#/components/parameters/RequestId' }],
        responses: {
          200: {
            description: 'The registry in Prometheus’s text format.',
            headers: { 'x-request-id': headerRef('RequestId') },
            content: {
              'text/plain': {
                schema: { type: 'string' },
                example:
                  '# HELP cloudauth_orchestrator_tickets Tickets per state in the store (read at scrape time; every process sees the same store).\n# TYPE cloudauth_orchestrator_tickets gauge\ncloudauth_orchestrator_tickets{state="passed"} 1210\n',
              },
            },
          },
          ...problemResponses(['UNAUTHORIZED', ...PUBLIC_PROBLEMS]),
        },
      },
    },
  };
}

/** `ticket.start_link_issued` → `onTicketStartLinkIssued`. */
const webhookOperationId = (type: string): string =>
  `on${type
    .split(/[._]/)
    .map((w) => `${w.charAt(0).toUpperCase()}${w.slice(1)}`)
    .join('')}`;

/** The `webhooks` section: one POST per event type, as deliveries make it. */
function webhooks(): Record<string, Json> {
  const headers = WEBHOOK_HEADERS.map((h) => ({
    name: h.name,
    in: 'header',
    required: h.required,
    ...(h.deprecated === true ? { deprecated: true } : {}),
    description: h.description,
    schema: { type: 'string', ...(h.pattern === undefined ? {} : { pattern: h.pattern }) },
    example: h.example,
  }));
  const retried =
    'Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour.';
  return Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => {
      const { summary, description } = WEBHOOK_EVENT_DOCS[type];
      return [
        type,
        {
          post: {
            operationId: webhookOperationId(type),
            summary,
            description,
            tags: ['Webhooks'],
            security: [],
            parameters: headers,
            requestBody: {
              required: true,
              description: `The event, \`type\` \`${type}\`. Verify \`webhook-signature\` over the raw body before parsing it.`,
              content: {
                'application/json': {
                  schema: {
                    allOf: [
                      ref('WebhookEvent'),
                      { type: 'object', required: ['type'], properties: { type: { const: type } } },
                    ],
                  },
                  examples: { [type]: { summary, value: webhookExample(type) } },
                },
              },
            },
            responses: {
              '2XX': { description: 'Delivered: the event is not sent again.' },
              '429': { description: retried },
              '5XX': { description: retried },
              default: {
                description:
                  'Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once.',
              },
            },
          },
        },
      ];
    }),
  );
}

/** The license of the package as the Info object takes it (`UNLICENSED` is not an SPDX id). */
function license(): Json {
  const id = PACKAGE.license;
  return id === undefined || id === 'UNLICENSED'
    ? { name: 'UNLICENSED' }
    : { name: id, identifier: id };
}

/** The OpenAPI 3.1 document describing `routes`, the operations routes and the webhooks. */
export function openApiDocument(routes: readonly RouteSpec[]): Json {
  const requestBodies: Record<string, z.ZodType> = { TicketRequest: ticketRequestSchema };
  const batch = routes.find((r) => r.operationId === 'createTicketBatch')?.body;
  if (batch) requestBodies.BatchRequest = batch;
  const inputs = components(requestBodies, 'input');
  const outputs = components(
    {
      TicketSummary: ticketSummarySchema,
      TicketView: ticketViewSchema,
      TicketList: ticketListSchema,
      BatchResult: batchResultSchema,
      Summary: summarySchema,
      FieldProblem: fieldProblemSchema,
      Problem: problemSchema,
    },
    'output',
  );
  const webhookEvent = bare(z.toJSONSchema(webhookEventSchema, { io: 'output' }));
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operationOf(route, inputs, outputs);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cloudauth-orchestrator',
      version: PACKAGE.version,
      summary: 'Identity-verification tickets for Alibaba Cloud Cloudauth (实人认证).',
      description:
        'Identity-verification tickets for Alibaba Cloud Cloudauth (实人认证): accept them one by one or in batches, follow them to a verdict, retry, cancel or erase them, and hear about them by webhook. Errors are RFC 9457 problem details (`application/problem+json`); every answer carries `x-request-id`; personal data is masked in every answer. The start pages of financial-grade `ID_PRO` tickets, the provider callback and the operations page (`/ui`) are for browsers and the provider, and are not described here.',
      license: license(),
    },
    servers: [{ url: '/', description: 'The orchestrator that served this document.' }],
    security: [{ bearerAuth: [] }],
    tags: TAGS,
    paths: { ...paths, ...operationsPaths() },
    webhooks: webhooks(),
    components: {
      schemas: {
        ...inputs.schemas,
        ...outputs.schemas,
        WebhookEvent: open(webhookEvent),
      },
      headers: HEADERS,
      parameters: {
        RequestId: {
          name: 'x-request-id',
          in: 'header',
          required: false,
          description:
            'Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).',
          schema: REQUEST_ID_SCHEMA,
          example: EXAMPLE_REQUEST_ID,
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token from API_TOKENS (embedded mode without it: the one in API_TOKEN_FILE), sent as `Authorization: Bearer <token>`.',
        },
      },
    },
  };
}
