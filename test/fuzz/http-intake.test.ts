/**
 * Fuzzing the HTTP intake (fast-check, through `inject`) over a real store and queue: random and
 * malformed JSON, ticket-shaped bodies with random fields, random content types, bearer headers,
 * methods and paths. Never a 5xx, never an unexpected error logged, every error a problem+json
 * whose status matches, every validation problem naming its field, and no refusal repeating the
 * identity number it refused.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERDATA_MAX_BYTES, USERDATA_MAX_DEPTH } from '../../src/domain/user-data.js';
import { checkCallbackUrl } from '../../src/webhooks/allowlist.js';
import { bmpClaiming, jpegClaiming, pngClaiming, smallJpeg } from '../support/images.js';
import {
  startTestOrchestrator,
  testHttpApi,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { deepText } from '../support/hostile-json.js';

const TOKEN = 'fuzz-token-0123456789abcdef';
const VALID_ID = '11010519491231002X';

let o: TestOrchestrator;
let api: FastifyInstance;
let facePic: string;
const logLines: string[] = [];

/** DNS without the network: a host resolves to a public, a private or no address by its hash. */
const fakeLookup = (host: string): Promise<string[]> => {
  const byte = createHash('sha256').update(host).digest()[0] ?? 0;
  if (byte < 64) return Promise.reject(new Error('ENOTFOUND'));
  return Promise.resolve(byte < 128 ? ['10.1.2.3'] : ['93.184.216.34']);
};

beforeAll(async () => {
  facePic = `data:image/jpeg;base64,${(await smallJpeg('#406080')).toString('base64')}`;
  o = await startTestOrchestrator({ workers: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  api = testHttpApi(o, {
    tokens: [TOKEN],
    bodyLimitBytes: 256 * 1024,
    batchMax: 20,
    logger: pino({ level: 'info' }, sink),
    checkCallbackUrl: (url) => checkCallbackUrl(url, [], fakeLookup),
  });
  await api.ready();
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

interface ProblemBody {
  type?: unknown;
  title?: unknown;
  status?: unknown;
  detail?: unknown;
  errors?: { field?: unknown; message?: unknown }[];
}

/** The invariants every answer keeps; `secrets` must not appear in an error body. */
function expectWellFormed(res: LightMyRequestResponse, secrets: readonly string[] = []): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode < 400) return;
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<ProblemBody>();
  expect(body.status).toBe(res.statusCode);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(typeof body.type).toBe('string');
  if (res.statusCode === 422) expect(body.errors?.length ?? 0).toBeGreaterThan(0);
  for (const e of body.errors ?? []) {
    expect(typeof e.field === 'string' && e.field.length > 0, JSON.stringify(e)).toBe(true);
    expect(typeof e.message === 'string' && e.message.length > 0, JSON.stringify(e)).toBe(true);
  }
  for (const secret of secrets) expect(res.body).not.toContain(secret);
}

function expectBatchResults(res: LightMyRequestResponse, items: number): void {
  if (res.statusCode !== 200) return;
  const body = res.json<{
    results: { index: number; outcome: string; problems?: { field: string }[] }[];
  }>();
  expect(body.results).toHaveLength(items);
  for (const r of body.results) {
    if (r.outcome !== 'invalid') continue;
    expect(r.problems?.length ?? 0).toBeGreaterThan(0);
    for (const p of r.problems ?? []) expect(p.field.length).toBeGreaterThan(0);
  }
}

const inject = (options: InjectOptions) => api.inject(options);
const auth = { authorization: `Bearer ${TOKEN}` };

/** Strings that have broken parsers before: prototype keys, paths, schemes, odd unicode. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  'oss://',
  'oss://bucket:',
  'oss://b:../x',
  'data:',
  'data:image/jpeg;base64,',
  'data:image/jpeg;base64,!!!!',
  'base64://',
  'base64://AAAA',
  'http://',
  'https://127.0.0.1/',
  'https://user:pw@example.com/',
  'javascript:alert(1)',
  'file:///etc/passwd',
  '\u0000',
  '\ud800',
  '李三\u200b',
  '🙂'.repeat(40),
  'A'.repeat(5000),
  '0'.repeat(18),
  VALID_ID.toLowerCase(),
);

const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 80 }), nasty);
const anyValue = fc.oneof(anyString, fc.jsonValue({ maxDepth: 2 }));

/** An identity number that looks real enough to be worth leaking (never repeated back). */
const idLike = fc.oneof(
  fc.constant(VALID_ID),
  fc.stringMatching(/^[1-6]\d{16}[\dXx]$/),
  fc.stringMatching(/^\d{15,20}$/),
);

/** A JPEG, PNG or BMP header claiming any size (bombs among them), with the size it claims. */
const claimedImage = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
    .map(([w, h]) => ({ bytes: jpegClaiming(w, h), w, h })),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
    .map(([w, h]) => ({ bytes: pngClaiming(w, h), w, h })),
  fc
    .tuple(
      fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    )
    .map(([w, h]) => ({ bytes: bmpClaiming(w, h), w, h: Math.abs(h) })),
);

/** Image bytes as a request carries them: bomb headers, whole or cut anywhere, in each encoding. */
const imageBytes = fc
  .tuple(
    claimedImage,
    fc.option(fc.nat()),
    fc.constantFrom('data:image/png;base64,', 'data:image/bmp;base64,', 'base64://', ''),
  )
  .map(([{ bytes }, cut, scheme]) => {
    const kept = cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
    return `${scheme}${kept.toString('base64')}`;
  });

const image = () =>
  fc.oneof(
    fc.constant(facePic),
    fc.constant('https://example.com/face.jpg'),
    fc.constant('oss://cloudauth-emulator:faces/a.jpg'),
    imageBytes,
    anyValue,
  );

const binding = fc.oneof(
  fc.record(
    {
      Name: fc.oneof(fc.constantFrom('李三', '王五', 'Reject Me'), anyValue),
      IdentificationNumber: fc.oneof(idLike, anyValue),
      FacePic: image(),
      IdCardFrontPic: image(),
      IdCardBackPic: image(),
      FaceRetainedPic: image(),
      IDPic: image(),
      [`Extra${'Field'}`]: anyValue,
    },
    { requiredKeys: [] },
  ),
  anyValue,
);

/** A ticket-shaped body: each field well formed, random, or missing. */
const ticketLike = fc.record(
  {
    TicketId: fc.oneof(
      fc.stringMatching(/^fz-[A-Za-z0-9._:%-]{1,20}$/),
      fc.string({ minLength: 1, maxLength: 140 }),
      anyValue,
    ),
    Biz: fc.oneof(fc.constantFrom('RPMin', 'RPH5BioOnly', 'RPBasic', 'Unknown'), anyValue),
    Binding: binding,
    UserData: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 })), anyValue),
    callbackUrl: fc.oneof(
      fc.webUrl(),
      fc.constantFrom('http://127.0.0.1/cb', 'ftp://example.com/', 'https://[::1]/x'),
      anyValue,
    ),
    unknownField: anyValue,
  },
  { requiredKeys: [] },
);

/** A valid ticket (server or interactive), then zero to two fields replaced or removed. */
const nearlyValid = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((i) => `fz-pool-${i}`),
      fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
    ),
    fc.boolean(),
    fc.array(
      fc.tuple(
        fc.constantFrom(
          'TicketId',
          'Biz',
          'Binding',
          'Binding.Name',
          'Binding.IdentificationNumber',
          'Binding.FacePic',
          'Binding.IdCardFrontPic',
          'Binding.IDPic',
          'UserData',
          'callbackUrl',
          'extra',
        ),
        fc.option(fc.oneof(anyValue, idLike, image()), { freq: 4 }),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([TicketId, server, mutations]) => {
    const body: Record<string, unknown> = {
      TicketId,
      Biz: server ? 'RPMin' : 'RPH5BioOnly',
      Binding: server
        ? { Name: '李三', IdentificationNumber: VALID_ID, FacePic: facePic }
        : { Name: '王五', IdentificationNumber: VALID_ID },
      UserData: { orderId: 'o-1' },
    };
    for (const [path, value] of mutations) {
      const [head = '', leaf] = path.split('.');
      const target =
        leaf === undefined
          ? body
          : typeof body[head] === 'object' && body[head] !== null
            ? (body[head] as Record<string, unknown>)
            : undefined;
      if (target === undefined) continue;
      const key = leaf ?? head;
      if (value === null) delete target[key];
      else target[key] = value;
    }
    return body;
  });

describe('image bombs under random input', () => {
  it('refuses an image header over the pixel limit with 422 naming the field and its size', async () => {
    await fc.assert(
      fc.asyncProperty(
        claimedImage.filter(
          ({ w, h }) => w > 0 && h > 0 && w <= 0x7fffffff && h <= 0x7fffffff && w * h > 25_000_000,
        ),
        fc.constantFrom('FacePic', 'IdCardFrontPic', 'IDPic'),
        async ({ bytes, w, h }, field) => {
          const res = await inject({
            method: 'POST',
            url: '/v1/tickets',
            headers: auth,
            payload: {
              TicketId: 'fz-bomb',
              Biz: 'RPMin',
              Binding: {
                Name: '李三',
                IdentificationNumber: VALID_ID,
                FacePic: facePic,
                [field]: `base64://${bytes.toString('base64')}`,
              },
            },
          });
          expectWellFormed(res);
          expect(res.statusCode).toBe(422);
          const errors = res.json<ProblemBody>().errors ?? [];
          expect(errors).toHaveLength(1);
          expect(errors[0]?.field).toBe(`Binding.${field}`);
          expect(errors[0]?.message).toMatch(
            new RegExp(`^is ${w}×${h} px \\(.+\\), over the limit`),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** The identity numbers and names a body carries, to check that no refusal repeats them. */
function idNumbersIn(body: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'IdentificationNumber' && typeof x === 'string' && /^\d{15,}/.test(x)) {
          out.push(x);
        } else if (k === 'Name' && typeof x === 'string' && /\p{Script=Han}{2}/u.test(x)) {
          out.push(x.trim());
        } else visit(x);
      }
    }
  };
  visit(body);
  return out;
}

describe('the HTTP intake under random input', () => {
  it('answers ticket-shaped bodies with 2xx, 409 or a problem naming each bad field', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: nearlyValid, weight: 3 }, ticketLike),
        async (body) => {
          const res = await inject({
            method: 'POST',
            url: '/v1/tickets',
            headers: auth,
            payload: body,
          });
          expectWellFormed(res, idNumbersIn(body));
          expect([200, 202, 400, 409, 413, 422]).toContain(res.statusCode);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random batches with one result per item, each refusal naming its fields', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record(
            {
              batchId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), anyValue),
              tickets: fc.oneof(
                fc.array(fc.oneof(ticketLike, anyValue), { maxLength: 25 }),
                anyValue,
              ),
              extra: anyValue,
            },
            { requiredKeys: ['tickets'] },
          ),
          anyValue,
        ),
        async (body) => {
          const res = await inject({
            method: 'POST',
            url: '/v1/tickets/batch',
            headers: auth,
            payload: JSON.stringify(body),
          });
          expectWellFormed(res, idNumbersIn(body));
          const tickets = (body as { tickets?: unknown } | null)?.tickets;
          if (Array.isArray(tickets)) expectBatchResults(res, tickets.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers malformed JSON, any JSON value and odd encodings with a problem, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/tickets', '/v1/tickets/batch'),
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.json(),
          fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
          fc.constantFrom(
            '{',
            '{"TicketId":',
            '[',
            'null',
            '""',
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
            '\ufeff{}',
            '{"a":1}{"b":2}',
          ),
        ),
        async (url, text) => {
          const res = await inject({
            method: 'POST',
            url,
            headers: { ...auth, 'content-type': 'application/json' },
            payload: text,
          });
          expectWellFormed(res);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random content types, bearer headers and methods without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.constantFrom(
          '/v1/tickets',
          '/v1/tickets/batch',
          '/v1/tickets/x-1',
          '/openapi.json',
          '/',
        ),
        fc.option(
          fc.oneof(
            fc.constantFrom(
              'application/json',
              'application/json; charset=utf-8',
              'application/json; charset=latin1',
              'application/problem+json',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/octet-stream',
              '*/*',
              ';',
            ),
            fc.string(),
          ),
        ),
        fc.option(
          fc.oneof(
            fc.constant(`Bearer ${TOKEN}`),
            fc.constant(`bearer    ${TOKEN}   `),
            fc.string().map((s) => `Bearer ${s}`),
            fc.string(),
          ),
        ),
        fc.option(fc.oneof(fc.string(), fc.json())),
        async (method, url, contentType, authorization, payload) => {
          const headers: Record<string, string> = {};
          if (contentType !== null) headers['content-type'] = contentType;
          if (authorization !== null) headers.authorization = authorization;
          const res = await inject({
            method,
            url,
            headers,
            ...(payload === null || method === 'GET' || method === 'HEAD' ? {} : { payload }),
          });
          if (method === 'HEAD') expect(res.statusCode).toBeLessThan(500);
          else expectWellFormed(res);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers random paths, ids and queries without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }).map((id) => `/v1/tickets/${encodeURIComponent(id)}`),
          fc.string({ maxLength: 200 }).map((id) => `/v1/tickets/${encodeURIComponent(id)}/retry`),
          fc.string({ maxLength: 200 }).map((id) => `/v1/tickets/${encodeURIComponent(id)}/cancel`),
          fc.string({ maxLength: 200 }).map((q) => `/v1/tickets?${q}`),
          fc
            .record(
              {
                state: fc.oneof(fc.constantFrom('queued', 'passed', 'nope'), fc.string()),
                batch: fc.string(),
                cursor: fc.oneof(fc.base64String(), fc.string()),
                limit: fc.oneof(fc.integer().map(String), fc.string()),
              },
              { requiredKeys: [] },
            )
            .map((q) => `/v1/tickets?${new URLSearchParams(q).toString()}`),
          fc.stringMatching(/^\/v1\/tickets\/(%[0-9A-Fa-f]{0,2}|[A-Za-z%])*$/),
        ),
        fc.constantFrom('GET', 'POST'),
        async (url, method) => {
          const res = await inject({ method, url, headers: auth });
          expectWellFormed(res);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('logged no unexpected error while fuzzed', () => {
    const unexpected = logLines.filter((l) => l.includes('unexpected error'));
    expect(unexpected).toEqual([]);
  });
});

/** Where a generated JSON value goes in a request. */
type Spot =
  'UserData' | 'UserData.inner' | 'Binding.Deep' | 'Extra' | 'TicketId' | 'body' | 'batchItem';

/** Deep, wide and long JSON values, as text, with the depth and size they have. */
const hugeJson = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 30_000 })),
      fc.constantFrom('object', 'array', 'mixed'),
    )
    .map(([depth, kind]) => ({ text: deepText(depth, kind), depth })),
  fc.integer({ min: 0, max: 20_000 }).map((keys) => ({
    text: `{${Array.from({ length: keys }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    depth: 1,
  })),
  fc
    .integer({ min: 0, max: 300_000 })
    .map((n) => ({ text: JSON.stringify({ s: 'x'.repeat(n) }), depth: 1 })),
  fc
    .array(fc.integer({ min: 0, max: 100 }), { maxLength: 2_000 })
    .map((a) => ({ text: JSON.stringify([a, a, a]), depth: 2 })),
);

/** A valid server-flow ticket with `value` (JSON text) placed at `spot`. */
function placed(spot: Spot, value: string, i: number): { url: string; text: string } {
  const ticket = (userData: string) =>
    `{"TicketId":"fz-deep-${i}","Biz":"RPMin","Binding":{"Name":"李三","IdentificationNumber":"${VALID_ID}","FacePic":"${facePic}"},"UserData":${userData}}`;
  switch (spot) {
    case 'UserData':
      return { url: '/v1/tickets', text: ticket(value) };
    case 'UserData.inner':
      return { url: '/v1/tickets', text: ticket(`{"orderId":"o-1","x":${value}}`) };
    case 'Binding.Deep':
      return {
        url: '/v1/tickets',
        text: ticket('{}').replace('"Binding":{', `"Binding":{"Deep":${value},`),
      };
    case 'Extra':
      return { url: '/v1/tickets', text: `${ticket('{}').slice(0, -1)},"Extra":${value}}` };
    case 'TicketId':
      return { url: '/v1/tickets', text: ticket('{}').replace(`"fz-deep-${i}"`, value) };
    case 'body':
      return { url: '/v1/tickets', text: value };
    case 'batchItem':
      return { url: '/v1/tickets/batch', text: `{"tickets":[${ticket(value)},${value}]}` };
  }
}

let deepRun = 0;

describe('the HTTP intake under deep and wide JSON', () => {
  it('answers deep, wide and long JSON anywhere in a body with a problem naming the field, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        hugeJson,
        fc.constantFrom<Spot>(
          'UserData',
          'UserData.inner',
          'Binding.Deep',
          'Extra',
          'TicketId',
          'body',
          'batchItem',
        ),
        async ({ text, depth }, spot) => {
          const { url, text: payload } = placed(spot, text, deepRun++);
          const res = await inject({
            method: 'POST',
            url,
            headers: { ...auth, 'content-type': 'application/json' },
            payload,
          });
          expectWellFormed(res, [VALID_ID, '李三']);
          const tooBig = Buffer.byteLength(payload) > 256 * 1024;
          if (tooBig) {
            expect(res.statusCode).toBe(413);
            return;
          }
          const userDataDepth =
            spot === 'UserData' ? depth : spot === 'UserData.inner' ? depth + 1 : 0;
          const isObject = text.startsWith('{');
          if (spot === 'UserData' && !isObject) {
            expect(res.statusCode).toBe(422);
          } else if (userDataDepth > USERDATA_MAX_DEPTH) {
            expect(res.statusCode, res.body).toBe(422);
            expect(res.json<ProblemBody>().errors).toContainEqual({
              field: 'UserData',
              message: `nests objects or arrays more than ${USERDATA_MAX_DEPTH} levels deep`,
            });
          } else if (
            userDataDepth > 0 &&
            Buffer.byteLength(text) + (spot === 'UserData' ? 0 : 22) > USERDATA_MAX_BYTES
          ) {
            expect(res.statusCode).toBe(422);
            expect(res.json<ProblemBody>().errors?.map((e) => e.field)).toContain('UserData');
          }
          if (spot === 'batchItem' && res.statusCode === 200) {
            const results = res.json<{ results: { outcome: string }[] }>().results;
            expect(results).toHaveLength(2);
            expect(results[1]?.outcome).toBe('invalid');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('logged no unexpected error under deep and wide JSON', () => {
    expect(logLines.filter((l) => l.includes('unexpected error'))).toEqual([]);
  });
});
