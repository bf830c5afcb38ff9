/**
 * Input that must stop at the intake: `UserData` nested 20,000 levels deep or over its size, deep
 * JSON anywhere else in a body, and an unknown Biz, through the HTTP API (real store and queue,
 * `inject`), the producer library and the intake itself. Each is refused naming the field, never
 * with a 500, and never echoing the value.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  USERDATA_MAX_BYTES,
  USERDATA_MAX_DEPTH,
  nestsDeeperThan,
  userDataProblem,
} from '../../src/domain/user-data.js';
import { ValidationError } from '../../src/errors.js';
import { TicketRejectedError, createTicketProducer } from '../../src/index.js';
import { CANONICAL_MAX_DEPTH, canonicalJson } from '../../src/flow/ticket-intake.js';
import { smallJpeg } from '../support/images.js';
import {
  aBinding,
  startTestOrchestrator,
  testHttpApi,
  type TestOrchestrator,
} from '../support/orchestrator.js';

const TOKEN = 'hostile-token-0123456789abcdef';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
const DEEP = 20_000;

let o: TestOrchestrator;
let api: FastifyInstance;
let facePic: string;
const logLines: string[] = [];

const newId = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

/** `levels` objects nested in one another, as JSON text: `{"a":{"a":…1…}}`. */
const deepObjectText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
/** `levels` arrays nested in one another, as JSON text. */
const deepArrayText = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** A value nested exactly `levels` deep (a lone object is one level). */
function nested(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

function ticketText(TicketId: string, userDataText: string, Biz = 'RPMin'): string {
  const head = JSON.stringify({
    TicketId,
    Biz,
    Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: facePic },
  });
  return `${head.slice(0, -1)},"UserData":${userDataText}}`;
}

async function postText(url: string, payload: string) {
  const res = await api.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    payload,
  });
  return {
    res,
    body: res.json<{ errors?: { field: string; message: string }[]; results?: unknown[] }>(),
  };
}

beforeAll(async () => {
  facePic = `data:image/jpeg;base64,${aBinding(await smallJpeg('#305070')).materials.FacePic.base64}`;
  o = await startTestOrchestrator({ workers: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  api = testHttpApi(o, {
    tokens: [TOKEN],
    logger: pino({ level: 'info' }, sink),
  });
  await api.ready();
});

afterAll(async () => {
  await api?.close();
  await o?.close();
});

describe('UserData limits', () => {
  it('measures depth without recursion, stopping at the limit, cycles included', () => {
    expect(nestsDeeperThan(nested(8), 8)).toBe(false);
    expect(nestsDeeperThan(nested(9), 8)).toBe(true);
    expect(nestsDeeperThan({ a: [[[[[[[1]]]]]]] }, 8)).toBe(false);
    expect(nestsDeeperThan({ a: [[[[[[[[1]]]]]]]] }, 8)).toBe(true);
    expect(nestsDeeperThan(JSON.parse(deepArrayText(1_000_000)), 8)).toBe(true);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(nestsDeeperThan(cycle, 8)).toBe(true);
    expect(userDataProblem({ n: 1n })).toBe('is not JSON');
    expect(userDataProblem({ s: 'x'.repeat(USERDATA_MAX_BYTES - 8) })).toBeUndefined();
    expect(userDataProblem({ s: 'x'.repeat(USERDATA_MAX_BYTES - 7) })).toBe(
      `is over ${USERDATA_MAX_BYTES} bytes as JSON`,
    );
    expect(userDataProblem({ s: '李'.repeat(USERDATA_MAX_BYTES / 3) })).toBe(
      `is over ${USERDATA_MAX_BYTES} bytes as JSON`,
    );
  });

  it('keeps canonicalJson from overflowing the stack for a value that skipped the checks', () => {
    expect(canonicalJson({ b: [1, { d: 2, c: 3 }], a: 'x' })).toBe(
      '{"a":"x","b":[1,{"c":3,"d":2}]}',
    );
    expect(() => canonicalJson(JSON.parse(deepObjectText(DEEP)))).toThrow(RangeError);
    expect(() => canonicalJson(nested(CANONICAL_MAX_DEPTH + 2))).toThrow(
      /nested more than 32 levels/,
    );
  });
});

describe('deep and large UserData over HTTP', () => {
  it(`answers ${DEEP} levels of UserData (a ${Math.round(deepObjectText(DEEP).length / 1024)} KB body) with 422 naming UserData, not 500`, async () => {
    for (const userData of [deepObjectText(DEEP), `{"a":${deepArrayText(DEEP)}}`]) {
      const id = newId('deep');
      const { res, body } = await postText('/v1/tickets', ticketText(id, userData));
      expect(res.statusCode, res.body).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(body.errors).toEqual([
        {
          field: 'UserData',
          message: `nests objects or arrays more than ${USERDATA_MAX_DEPTH} levels deep`,
        },
      ]);
      expect(await o.app.store.get(id)).toBeUndefined();
    }
  });

  it('accepts UserData at the limits and refuses one level or one byte more', async () => {
    const atDepth = newId('at-depth');
    const ok = await postText('/v1/tickets', ticketText(atDepth, JSON.stringify(nested(8))));
    expect(ok.res.statusCode, ok.res.body).toBe(202);
    const deeper = await postText(
      '/v1/tickets',
      ticketText(newId('d9'), JSON.stringify(nested(9))),
    );
    expect(deeper.res.statusCode).toBe(422);
    const big = JSON.stringify({ s: 'x'.repeat(USERDATA_MAX_BYTES - 8) });
    expect(Buffer.byteLength(big)).toBe(USERDATA_MAX_BYTES);
    const atSize = await postText('/v1/tickets', ticketText(newId('at-size'), big));
    expect(atSize.res.statusCode, atSize.res.body).toBe(202);
    const over = await postText('/v1/tickets', ticketText(newId('over'), big.replace('"x', '"xx')));
    expect(over.res.statusCode).toBe(422);
    expect(over.body.errors).toEqual([
      { field: 'UserData', message: `is over ${USERDATA_MAX_BYTES} bytes as JSON` },
    ]);
  });

  it('answers deep JSON anywhere else in a body with a problem, never a 5xx', async () => {
    const ticket = JSON.stringify({
      TicketId: newId('elsewhere'),
      Biz: 'RPMin',
      Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: facePic },
    }).slice(0, -1);
    const bodies = [
      deepArrayText(DEEP),
      deepObjectText(DEEP),
      `${ticket},"Extra":${deepObjectText(DEEP)}}`,
      `${ticket.replace('"Binding":{', `"Binding":{"Deep":${deepObjectText(DEEP)},`)}}`,
      `${ticket.replace(`"Biz":"RPMin"`, `"Biz":${deepArrayText(DEEP)}`)}}`,
    ];
    for (const payload of bodies) {
      for (const url of ['/v1/tickets', '/v1/tickets/batch']) {
        const { res } = await postText(url, payload);
        expect(res.statusCode, `${url} ${payload.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
        expect(res.statusCode, res.body).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    const batch = await postText(
      '/v1/tickets/batch',
      `{"tickets":[${ticketText(newId('b-deep'), deepObjectText(DEEP))},${deepArrayText(DEEP)}]}`,
    );
    expect(batch.res.statusCode, batch.res.body).toBe(200);
    expect(batch.body.results).toMatchObject([
      {
        outcome: 'invalid',
        problems: [
          {
            field: 'UserData',
            message: `nests objects or arrays more than ${USERDATA_MAX_DEPTH} levels deep`,
          },
        ],
      },
      { outcome: 'invalid' },
    ]);
    expect(logLines.filter((l) => l.includes('unexpected error'))).toEqual([]);
  });
});

describe('an unknown Biz', () => {
  it('is refused naming the field and the configured Biz names, never the value given', async () => {
    for (const biz of ['Nope', ID_NUMBER, NAME]) {
      const { res, body } = await postText('/v1/tickets', ticketText(newId('biz'), '{}', biz));
      expect(res.statusCode).toBe(422);
      expect(body.errors).toEqual([
        {
          field: 'Biz',
          message: 'is not a configured Biz (configured: RPMin, RPBasic, RPH5BioOnly)',
        },
      ]);
      expect(res.body).not.toContain(biz);
    }
  });
});

describe('an unknown key', () => {
  it('is named when it reads as a field name, and never repeated when it is personal data', async () => {
    const base = JSON.parse(ticketText(newId('key'), '{}')) as Record<string, unknown>;
    const binding = base.Binding as Record<string, unknown>;
    const body = {
      ...base,
      Nickname: 'x',
      [ID_NUMBER]: 'x',
      Binding: { ...binding, [NAME]: 'x', '': 'x' },
    };
    for (const url of ['/v1/tickets', '/v1/tickets/batch']) {
      const payload = url.endsWith('batch') ? { tickets: [body] } : body;
      const { res } = await postText(url, JSON.stringify(payload));
      expect(res.body, url).toContain('Nickname');
      expect(res.body, url).toContain('(unknown field)');
      expect(res.body, url).not.toContain(ID_NUMBER);
      expect(res.body, url).not.toContain(NAME);
    }
  });
});

describe('the producer library and the intake itself', () => {
  it('refuse deep UserData and an unknown Biz naming the field, storing nothing', async () => {
    const producer = createTicketProducer({
      redis: o.app.redis,
      prefix: o.prefix,
      encryptionKey: randomBytes(32).toString('base64'),
      biz: { kyc: 'RPMin' },
      staging: { dir: o.stagingDir },
    });
    try {
      const request = {
        TicketId: newId('producer'),
        Biz: 'kyc',
        Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: facePic },
      };
      const deep = producer.enqueue({ ...request, UserData: JSON.parse(deepObjectText(DEEP)) });
      await expect(deep).rejects.toBeInstanceOf(TicketRejectedError);
      await expect(deep).rejects.toMatchObject({ field: 'UserData' });
      const unknown = producer.enqueue({ ...request, Biz: ID_NUMBER });
      await expect(unknown).rejects.toMatchObject({
        field: 'Biz',
        message: 'Biz: is not a configured Biz (configured: kyc)',
      });
      expect(await o.app.store.get(request.TicketId)).toBeUndefined();
    } finally {
      await producer.close();
    }
    const direct = o.app.intake.enqueue({
      ticketId: newId('direct'),
      biz: 'RPMin',
      binding: aBinding(await smallJpeg()),
      userData: JSON.parse(deepObjectText(DEEP)) as Record<string, unknown>,
    });
    await expect(direct).rejects.toBeInstanceOf(ValidationError);
    await expect(direct).rejects.toMatchObject({ field: 'UserData' });
    const unknownBiz = o.app.intake.enqueue({
      ticketId: newId('direct'),
      biz: NAME,
      binding: aBinding(await smallJpeg()),
    });
    await expect(unknownBiz).rejects.toMatchObject({ field: 'Biz' });
    await expect(unknownBiz).rejects.not.toMatchObject({ message: expect.stringContaining(NAME) });
  });
});
