/**
 * The HTTP API's typed client (`createApiClient`, generated from the OpenAPI document) for the
 * API's tests, over fastify's `inject` (the whole request pipeline, without a socket) or a
 * listening server. Every request is one the document has (the generated types), and every answer
 * is checked against the document the same API serves: its status is one the operation lists, its
 * media type one that status lists, the headers it marks required are there, and its body matches
 * the schema (converted to zod with `z.fromJSONSchema`). So the document cannot drift from the
 * server unnoticed: a test fails at the call whose answer the document does not describe.
 */
import type { FastifyInstance } from 'fastify';
import type { Middleware } from 'openapi-fetch';
import { z } from 'zod';
import { createApiClient, type TypedApiClient } from '../../src/api/client.js';

type Json = Record<string, unknown>;

/** The parts of an OpenAPI document the checks read. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; headers: Record<string, Json> };
  webhooks?: Record<string, Record<string, Json>>;
}

/** The document `app` serves. */
export async function documentOf(app: FastifyInstance): Promise<OpenApiDocument> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
  return res.json<OpenApiDocument>();
}

/** A fetch that hands each request to `app.inject` and its answer back as a `Response`. */
export function injectFetch(app: FastifyInstance): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const res = await app.inject({
      method: request.method as 'GET' | 'POST',
      url: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(request.headers),
      ...(body === undefined ? {} : { payload: body }),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v !== undefined) headers.append(name, String(v));
      }
    }
    return new Response(res.rawPayload, {
      status: res.statusCode,
      statusText: res.statusMessage,
      headers,
    });
  };
}

/** A schema of the document as zod, its `#/components/schemas/` references resolved. */
function zodOf(doc: OpenApiDocument, schema: unknown): z.ZodType {
  const text = JSON.stringify({ ...(schema as Json), $defs: doc.components.schemas });
  const rewritten = text.replaceAll('"#/components/schemas/', '"#/$defs/');
  return z.fromJSONSchema(JSON.parse(rewritten) as Parameters<typeof z.fromJSONSchema>[0]);
}

const deref = (doc: OpenApiDocument, value: Json): Json => {
  const ref = value.$ref;
  if (typeof ref !== 'string') return value;
  const name = ref.replace('#/components/headers/', '');
  const found = doc.components.headers[name];
  if (found === undefined) throw new Error(`the document has no header ${ref}`);
  return found;
};

/**
 * The problems of one answer against the document (empty when it conforms): its status, media
 * type, required headers and body.
 */
export async function nonConformities(
  doc: OpenApiDocument,
  method: string,
  schemaPath: string,
  response: Response,
): Promise<string[]> {
  const what = `${method} ${schemaPath} answered ${response.status}`;
  const operation = doc.paths[schemaPath]?.[method.toLowerCase()];
  if (operation === undefined) return [`${method} ${schemaPath} is not in the document`];
  const responses = operation.responses as Record<string, Json>;
  const status = String(response.status);
  const declared =
    responses[status] ?? responses[`${status.charAt(0)}XX`] ?? responses.default ?? undefined;
  if (declared === undefined) return [`${what}, a status the document does not list`];
  const problems: string[] = [];
  for (const [name, header] of Object.entries((declared.headers ?? {}) as Record<string, Json>)) {
    if (deref(doc, header).required === true && !response.headers.has(name)) {
      problems.push(`${what} without its required header ${name}`);
    }
  }
  const text = await response.clone().text();
  const content = declared.content as Record<string, { schema: unknown }> | undefined;
  if (content === undefined) {
    if (text !== '') problems.push(`${what} with a body the document does not describe`);
    return problems;
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const media = content[type];
  if (media === undefined) {
    problems.push(`${what} as ${type || '(no content type)'}, which the document does not list`);
    return problems;
  }
  let body: unknown = text;
  if (type.endsWith('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`${what} with a body that is not JSON`);
      return problems;
    }
  }
  const issues = schemaProblems(doc, media.schema, body);
  if (issues.length > 0) {
    problems.push(`${what} with a body the document does not describe: ${issues.join('; ')}`);
  }
  return problems;
}

/** What is wrong with `value` by `schema`, a schema of `doc` (empty when it matches). */
export function schemaProblems(doc: OpenApiDocument, schema: unknown, value: unknown): string[] {
  const parsed = zodOf(doc, schema).safeParse(value);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
}

/** A middleware that fails a call whose answer the document does not describe. */
export function conformance(doc: OpenApiDocument): Middleware {
  return {
    async onResponse({ request, response, schemaPath }) {
      const problems = await nonConformities(doc, request.method, schemaPath, response);
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return undefined;
    },
  };
}

/**
 * The typed client of `app` (through `inject`), authenticated with `token` (none: `null`), every
 * answer checked against the document `app` serves.
 */
export async function injectClient(
  app: FastifyInstance,
  token: string | null,
): Promise<TypedApiClient> {
  const client = createApiClient({
    baseUrl: 'http://api.test',
    ...(token === null ? {} : { token }),
    fetch: injectFetch(app),
  });
  client.use(conformance(await documentOf(app)));
  return client;
}
