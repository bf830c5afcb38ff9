/**
 * The API's OpenAPI document and what is made of it: the committed `openapi/openapi.json` is what
 * a running orchestrator serves, the committed types are what openapi-typescript makes of it (both
 * written by `npm run openapi`), `redocly lint` finds nothing in it, and it describes what the
 * server and the webhook deliveries actually send: the examples, the webhook events of every type,
 * and a ticket's life through the package's own typed client over a listening server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../src/index.js';
import { webhookEventSchema } from '../../src/api/webhook-schema.js';
import type { Ticket } from '../../src/domain/ticket.js';
import { WEBHOOK_EVENT_TYPES, webhookEventOf } from '../../src/webhooks/events.js';
import {
  DOCUMENT_FILE,
  REGENERATE,
  TYPES_FILE,
  committed,
  documentText,
  typesText,
} from '../../testkit/openapi.js';
import {
  conformance,
  nonConformities,
  schemaProblems,
  type OpenApiDocument,
} from '../support/api-client.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const TOKEN = 'openapi-document-token-0123456789';
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};

let o: TestOrchestrator;
let served: OpenApiDocument & Record<string, unknown>;
let servedText: string;

beforeAll(async () => {
  o = await startTestOrchestrator({ http: true, env: { API_TOKENS: TOKEN } });
  const res = await fetch(`${o.app.apiUrl}/openapi.json`);
  expect(res.status).toBe(200);
  served = (await res.json()) as typeof served;
  servedText = await documentText(served);
});

afterAll(async () => {
  await o?.close();
});

describe('the committed artifacts', () => {
  it('openapi/openapi.json is the document the server serves', () => {
    const file = committed(DOCUMENT_FILE);
    expect(file, `${DOCUMENT_FILE} is missing: run \`${REGENERATE}\``).toBeDefined();
    expect(
      file === servedText,
      `${DOCUMENT_FILE} differs from GET /openapi.json: run \`${REGENERATE}\` and commit the result`,
    ).toBe(true);
  });

  it('src/api/generated/openapi.ts is what openapi-typescript makes of it', async () => {
    const file = committed(TYPES_FILE);
    expect(file, `${TYPES_FILE} is missing: run \`${REGENERATE}\``).toBeDefined();
    expect(
      file === (await typesText(served)),
      `${TYPES_FILE} differs from what openapi-typescript makes of the document: run \`${REGENERATE}\``,
    ).toBe(true);
  });
});

describe('redocly lint', () => {
  it('finds no error and no warning in the served document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(served));
      const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
      // redocly exits 1 when it finds a problem; the report is on stdout either way
      const stdout = await new Promise<string>((resolve) => {
        execFile(
          process.execPath,
          [cli, 'lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json'],
          {
            cwd: root,
            // nothing leaves the machine: no usage data, no look-up of a newer version
            env: {
              ...process.env,
              REDOCLY_TELEMETRY: 'off',
              REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
            },
            maxBuffer: 16 * 1024 * 1024,
          },
          (_err, out) => resolve(out),
        );
      });
      const report = JSON.parse(stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string }[];
      };
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the document', () => {
  it("carries the package's version and license, a server, and the bearer scheme", () => {
    expect(served).toMatchObject({
      openapi: '3.1.0',
      info: { version: pkg.version, license: { name: pkg.license, identifier: pkg.license } },
      servers: [{ url: '/' }],
      security: [{ bearerAuth: [] }],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    });
  });

  it('gives every operation a tag and an operationId, and every answer x-request-id', () => {
    const tags = new Set((served.tags as { name: string }[]).map((t) => t.name));
    for (const [path, item] of Object.entries(served.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const what = `${method.toUpperCase()} ${path}`;
        expect(operation.operationId, what).toEqual(expect.any(String));
        expect(operation.tags, what).toHaveLength(1);
        expect(tags.has((operation.tags as string[])[0] ?? ''), what).toBe(true);
        const responses = operation.responses as Record<string, { headers?: object }>;
        for (const [status, answer] of Object.entries(responses)) {
          expect(answer.headers, `${what} ${status}`).toHaveProperty('x-request-id');
        }
      }
    }
  });

  it('documents Location on creation, Retry-After on 503 and problems as application/problem+json', () => {
    const create = served.paths['/v1/tickets']?.post?.responses as Record<
      string,
      Record<string, object>
    >;
    expect(create['202']?.headers).toHaveProperty('Location');
    expect(create['200']?.headers).toHaveProperty('Location');
    expect(create['503']?.headers).toHaveProperty('Retry-After');
    expect(create['401']?.headers).toHaveProperty('WWW-Authenticate');
    for (const status of ['400', '401', '409', '413', '415', '422', '500', '503']) {
      expect(Object.keys(create[status]?.content ?? {}), status).toEqual([
        'application/problem+json',
      ]);
    }
    expect(served.components.schemas.Problem?.properties).toEqual(
      expect.objectContaining({
        type: expect.anything(),
        title: expect.anything(),
        status: expect.anything(),
        detail: expect.anything(),
        instance: expect.anything(),
      }),
    );
  });

  it('has a webhook for every event type, with the Standard Webhooks headers', () => {
    const webhooks = served.webhooks ?? {};
    expect(Object.keys(webhooks)).toEqual([...WEBHOOK_EVENT_TYPES]);
    for (const [type, item] of Object.entries(webhooks)) {
      const post = item.post as {
        parameters: { name: string; in: string; required: boolean; deprecated?: boolean }[];
      };
      const headers = post.parameters.filter((p) => p.in === 'header');
      expect(
        headers.filter((p) => p.required).map((p) => p.name),
        type,
      ).toEqual(expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature']));
      // the legacy signature only when asked for, and on its way out
      expect(headers.find((p) => p.name === 'x-cloudauth-orchestrator-signature')).toMatchObject({
        required: false,
        deprecated: true,
      });
    }
    expect(Object.keys(served.components.schemas.WebhookEvent?.properties ?? {})).toContain(
      'schemaVersion',
    );
  });
});

describe('the check of answers against the document (test/support/api-client.ts)', () => {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'x-request-id': 'r-1', ...headers },
    });
  /** The example of a passed ticket, from the document. */
  const viewOf = () =>
    (
      served.paths['/v1/tickets/{id}']?.get?.responses as Record<
        string,
        { content: { 'application/json': { examples: Record<string, { value: unknown }> } } }
      >
    )['200']?.content['application/json'].examples.passed?.value;

  it('passes an answer the document describes', async () => {
    const view = viewOf();
    expect(view).toBeDefined();
    expect(await nonConformities(served, 'GET', '/v1/tickets/{id}', answer(200, view))).toEqual([]);
    expect(
      await nonConformities(
        served,
        'POST',
        '/v1/tickets',
        answer(202, view, { location: '/v1/tickets/x' }),
      ),
    ).toEqual([]);
  });

  it('reports a status, a header, a media type or a body the document does not describe', async () => {
    const view = viewOf();
    const problems = async (method: string, path: string, res: Response) =>
      (await nonConformities(served, method, path, res)).join('\n');
    expect(await problems('GET', '/v1/tickets/{id}', answer(418, {}))).toMatch(
      /a status the document does not list/,
    );
    expect(await problems('POST', '/v1/tickets', answer(202, view))).toMatch(
      /without its required header Location/,
    );
    const noId = new Response(JSON.stringify(view), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
    expect(await problems('GET', '/v1/tickets/{id}', noId)).toMatch(/x-request-id/);
    const text = new Response('ok', {
      status: 200,
      headers: { 'content-type': 'text/plain', 'x-request-id': 'r-1' },
    });
    expect(await problems('GET', '/v1/tickets/{id}', text)).toMatch(/text\/plain/);
    expect(
      await problems('GET', '/v1/tickets/{id}', answer(200, { ...(view as object), extra: 1 })),
    ).toMatch(/a body the document does not describe/);
    expect(await problems('GET', '/v2/nothing', answer(200, {}))).toMatch(/not in the document/);
  });
});

/** A ticket with every field an event may copy, in `state`. */
function fullTicket(state: Ticket['state']): Ticket {
  const t0 = Date.UTC(2026, 2, 1, 8, 0, 0);
  return {
    ticketId: 'order/2026#1',
    biz: 'FaceH5',
    flow: 'interactive',
    family: 'financial',
    startBy: t0 + 86_400_000,
    state,
    version: 4,
    attempts: 1,
    batchId: 'b-20260301-0a1b2c3d',
    lease: {
      verifyToken: 'certify-1',
      tokenExpiresAt: t0 + 1_800_000,
      pageUrl: 'https://provider.test/page?certifyId=certify-1',
      issuedAt: t0,
    },
    verdict: {
      statusCode: 1,
      trustedScore: 99,
      similarityScore: 95,
      authorityComparisonScore: 97,
      auditConclusions: 'ok',
      subCode: '200',
      certifyId: 'certify-1',
      emulated: true,
    },
    lastError: { code: 'PROVIDER_INVALID_BIZ', message: 'unknown Biz', retryable: false, at: t0 },
    createdAt: t0,
    updatedAt: t0 + 4000,
  };
}

describe('the webhook events', () => {
  const links = { startUrlOf: () => 'https://orchestrator.test/v1/start/token' };
  const stateOf = {
    'ticket.start_link_issued': 'queued',
    'ticket.token_issued': 'awaiting_user',
    'ticket.passed': 'passed',
    'ticket.not_passed': 'not_passed',
    'ticket.expired': 'expired',
    'ticket.failed': 'failed',
    'ticket.cancelled': 'cancelled',
  } as const satisfies Record<(typeof WEBHOOK_EVENT_TYPES)[number], Ticket['state']>;

  it.each(WEBHOOK_EVENT_TYPES)('%s: every field the event carries is documented', (type) => {
    const event = webhookEventOf(fullTicket(stateOf[type]), type, links);
    expect(event).toBeDefined();
    // the schema drops what it does not describe: nothing may be dropped
    expect(webhookEventSchema.parse(event)).toEqual(event);
    // and the document's webhook of that type takes it as its body, and no other type's
    const schemaOf = (t: string) =>
      (
        served.webhooks?.[t]?.post as {
          requestBody: { content: { 'application/json': { schema: unknown } } };
        }
      ).requestBody.content['application/json'].schema;
    expect(schemaProblems(served, schemaOf(type), event)).toEqual([]);
    const other = type === 'ticket.passed' ? 'ticket.failed' : 'ticket.passed';
    expect(schemaProblems(served, schemaOf(other), event)).not.toEqual([]);
  });
});

describe('createApiClient (the package export) over a listening server', () => {
  it('creates, reads, lists and cancels a ticket, every answer as the document says', async () => {
    const api = createApiClient({ baseUrl: o.app.apiUrl ?? '', token: TOKEN });
    api.use(conformance(served));
    const TicketId = `typed-${Date.now()}`;
    const body = {
      TicketId,
      Biz: 'RPH5BioOnly',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    };
    const created = await api.POST('/v1/tickets', { body });
    expect(created.response.status).toBe(202);
    expect(created.response.headers.get('location')).toBe(`/v1/tickets/${TicketId}`);
    expect(created.data?.TicketId).toBe(TicketId);

    const got = await api.GET('/v1/tickets/{id}', { params: { path: { id: TicketId } } });
    expect(got.data?.applicant).toEqual({ name: '李*', idNumber: '1101**********002X' });

    const listed = await api.GET('/v1/tickets', { params: { query: { limit: 500 } } });
    expect(listed.data?.tickets.map((t) => t.TicketId)).toContain(TicketId);

    const cancelled = await api.POST('/v1/tickets/{id}/cancel', {
      params: { path: { id: TicketId } },
    });
    expect(cancelled.data?.state).toBe('cancelled');
    const again = await api.POST('/v1/tickets/{id}/cancel', {
      params: { path: { id: TicketId } },
    });
    expect(again.response.status).toBe(409);
    expect(again.error?.type).toBe('urn:cloudauth-orchestrator:problem:illegal-transition');
    expect(again.error?.instance).toBe(
      `urn:cloudauth-orchestrator:request:${again.response.headers.get('x-request-id')}`,
    );

    const anonymous = createApiClient({ baseUrl: o.app.apiUrl ?? '' });
    anonymous.use(conformance(served));
    const refused = await anonymous.GET('/v1/tickets', {});
    expect(refused.response.status).toBe(401);
    expect(refused.error?.status).toBe(401);
  });
});
