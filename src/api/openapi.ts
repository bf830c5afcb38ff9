/**
 * The OpenAPI 3.1 document of the API, generated from the route declarations and the zod schemas
 * the handlers validate with (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses).
 */
import { z } from 'zod';
import { ticketRequestSchema } from '../flow/ticket-request.js';
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

/** A JSON object of the document. */
type Json = Record<string, unknown>;

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

const ref = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });

function bare(schema: object): Json {
  const out: Json = { ...schema };
  delete out.$schema;
  delete out.$id;
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
    };
  });
}

function problemResponses(types: readonly ProblemType[]): Record<string, Json> {
  const byStatus = new Map<number, string[]>();
  for (const type of types) {
    const { status, title } = PROBLEM_TYPES[type];
    byStatus.set(status, [...(byStatus.get(status) ?? []), title]);
  }
  const out: Record<string, Json> = {};
  for (const [status, titles] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: [...new Set(titles)].join('; '),
      content: { 'application/problem+json': { schema: ref('Problem') } },
    };
  }
  return out;
}

/** The OpenAPI 3.1 document describing `routes`. */
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
      FieldProblem: fieldProblemSchema,
      Problem: problemSchema,
    },
    'output',
  );
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const problems = [
      ...route.problems,
      ...(route.public ? PUBLIC_PROBLEMS : COMMON_PROBLEMS),
      ...(route.body ? BODY_PROBLEMS : []),
    ];
    const responses: Record<string, Json> = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      responses[status] = {
        description: answer.description,
        content: {
          'application/json': { schema: schemaFor(answer.schema, outputs.registry, 'output') },
        },
      };
    }
    const params = [...parameters('path', route.params), ...parameters('query', route.query)];
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: schemaFor(route.body, inputs.registry, 'input') },
              },
            },
          }
        : {}),
      responses: { ...responses, ...problemResponses(problems) },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cloudauth-orchestrator',
      version: '1.0.0',
      description:
        'Identity-verification tickets for Alibaba Cloud Cloudauth (实人认证). Errors are RFC 9457 problem details; personal data is masked in every answer.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: { ...inputs.schemas, ...outputs.schemas },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from API_TOKENS (embedded mode: the one in API_TOKEN_FILE).',
        },
      },
    },
  };
}
