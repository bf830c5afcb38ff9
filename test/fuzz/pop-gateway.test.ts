/**
 * Fuzzing the Cloudauth emulator's POP gateway (fast-check, over loopback): random query strings
 * and form bodies, random V1 parameter sets signed by pop-core (an independent signer) with the
 * right and a wrong secret, signed requests tampered with afterwards, and random V3 Authorization
 * headers. Never a 5xx (but for injected faults, which only an authenticated call can meet),
 * never an unexpected error logged, and never a success for a request whose signature was not
 * made with the key's secret.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import { signV1 } from '../../src/emulator/pop/signature-v1.js';
import { authorizationV3, hashPayloadV3 } from '../../src/emulator/pop/signature-v3.js';
import {
  TEST_KEY_ID,
  TEST_KEY_SECRET,
  commonParams,
  popClient,
  popTimestamp,
  startTestEmulator,
} from '../support/emulator.js';

let emu: CloudauthEmulator;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  emu = await startTestEmulator({ logger: pino({ level: 'info' }, sink) });
});

afterAll(async () => {
  await emu?.close();
});

interface Answer {
  status: number;
  text: string;
}

async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${emu.url}${path}`, init);
  return { status: res.status, text: await res.text() };
}

/** The error code of a JSON or XML answer. */
function codeOf(a: Answer): string | undefined {
  try {
    const json = JSON.parse(a.text) as { Code?: unknown };
    return typeof json.Code === 'string' ? json.Code : undefined;
  } catch {
    return /<Code>([^<]*)<\/Code>/.exec(a.text)?.[1];
  }
}

/** A refusal: a 4xx with a code, never a success, never a server error. */
function expectRefused(a: Answer): void {
  expect(a.status, a.text).toBeGreaterThanOrEqual(400);
  expect(a.status, a.text).toBeLessThan(500);
  expect(codeOf(a), a.text).toBeDefined();
}

const paramName = fc.oneof(
  fc.constantFrom(
    'Action',
    'Version',
    'AccessKeyId',
    'Signature',
    'SignatureMethod',
    'SignatureVersion',
    'SignatureNonce',
    'Timestamp',
    'Format',
    'Biz',
    'TicketId',
    'Binding',
    'Material.1.Value',
    '__proto__',
    'constructor',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const paramValue = fc.oneof(
  fc.constantFrom(
    'GetStatus',
    'GetVerifyToken',
    '2018-09-16',
    TEST_KEY_ID,
    'HMAC-SHA1',
    '1.0',
    'JSON',
    'XML',
    'RPMin',
    popTimestamp(),
    '2026-02-30T25:61:61Z',
    '',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const paramSet = fc.dictionary(paramName, paramValue, { maxKeys: 12 });

describe('the POP gateway under random requests', () => {
  it('refuses random query strings and form bodies with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          paramSet.map((p) => new URLSearchParams(p).toString()),
          fc.string({ maxLength: 200 }),
          fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|[&=+A-Za-z0-9])*$/),
        ),
        fc.constantFrom('GET', 'POST'),
        async (text, method) => {
          const a =
            method === 'GET'
              ? await send(`/?${text}`)
              : await send('/', {
                  method: 'POST',
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                  body: text,
                });
          expectRefused(a);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts exactly the V1 requests signed with the secret, whatever the extra parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,10}$/),
          fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 })),
          { maxKeys: 4 },
        ),
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.option(fc.string({ minLength: 1, maxLength: 24 })),
        async (extra, ticketId, wrong) => {
          const secret = wrong === null || wrong === TEST_KEY_SECRET ? TEST_KEY_SECRET : wrong;
          const client = popClient(emu.url, TEST_KEY_ID, secret);
          const params: Record<string, string> = { Biz: 'RPMin', TicketId: ticketId };
          for (const [k, v] of Object.entries(extra)) {
            if (
              !(k in params) &&
              !/^(Action|Version|Signature.*|AccessKeyId|Timestamp|Format|RegionId)$/.test(k)
            ) {
              params[k] = v;
            }
          }
          let code: string | undefined;
          try {
            await client.request('GetStatus', params, { method: 'POST' });
          } catch (err) {
            code = (err as { code?: string }).code;
          }
          if (secret === TEST_KEY_SECRET) {
            expect(code === undefined || code === 'InvalidParam.ParamMissing', code).toBe(true);
          } else {
            expect(code).toBe('SignatureDoesNotMatch');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses a signed request once any parameter is changed, added or removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        fc.constantFrom('change', 'add', 'remove'),
        fc.constantFrom('Action', 'Biz', 'TicketId', 'Timestamp', 'SignatureNonce', 'Format'),
        fc.string({ maxLength: 20 }),
        async (method, how, name, value) => {
          const params = commonParams('GetStatus', { Biz: 'RPMin', TicketId: `t-${randomUUID()}` });
          const signed: Record<string, string> = {
            ...params,
            Signature: signV1(TEST_KEY_SECRET, method, params),
          };
          if (how === 'remove') delete signed[name];
          else if (how === 'add') signed[`X${name}${value}`] = value;
          else if (signed[name] === value) return;
          else signed[name] = value;
          const body = new URLSearchParams(signed).toString();
          const a =
            method === 'GET'
              ? await send(`/?${body}`)
              : await send('/', {
                  method: 'POST',
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                  body,
                });
          expectRefused(a);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses random V3 Authorization headers with a 4xx', async () => {
    const header = fc.oneof(
      fc
        .record({
          algorithm: fc.oneof(
            fc.constantFrom('ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3', 'ACS3-RSA-SHA256'),
            fc.string().map((s) => `ACS3-${s}`),
          ),
          credential: fc.oneof(fc.constant(TEST_KEY_ID), fc.string()),
          signed: fc.oneof(
            fc.constant(
              'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version',
            ),
            fc.string(),
          ),
          signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()),
          sep: fc.constantFrom(',', ', ', ',,', ' '),
        })
        .map(
          (h) =>
            `${h.algorithm} Credential=${h.credential}${h.sep}SignedHeaders=${h.signed}${h.sep}Signature=${h.signature}`,
        ),
      fc.string().map((s) => `ACS3-HMAC-SHA256 ${s}`),
      fc.string().map((s) => `ACS3-${s}`),
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.record(
          {
            'x-acs-action': fc.oneof(fc.constant('GetStatus'), fc.string()),
            'x-acs-version': fc.oneof(fc.constant('2018-09-16'), fc.string()),
            'x-acs-date': fc.oneof(fc.constant(popTimestamp()), fc.string()),
            'x-acs-signature-nonce': fc.string(),
            'x-acs-content-sha256': fc.oneof(
              fc.constant(hashPayloadV3('ACS3-HMAC-SHA256', '')),
              fc.stringMatching(/^[0-9a-f]{64}$/),
              fc.string(),
            ),
            'x-acs-security-token': fc.string(),
          },
          { requiredKeys: [] },
        ),
        fc.constantFrom('GET', 'POST'),
        async (authorization, acs, method) => {
          const headers: Record<string, string> = { authorization };
          for (const [k, v] of Object.entries(acs)) headers[k] = v.trim();
          const a = await send('/?Biz=RPMin&TicketId=t-1', { method, headers });
          expectRefused(a);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts a V3 request only when it was signed with the secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ minLength: 1, maxLength: 24 })),
        fc.string({ minLength: 1, maxLength: 30 }),
        async (wrong, ticketId) => {
          const secret = wrong === null || wrong === TEST_KEY_SECRET ? TEST_KEY_SECRET : wrong;
          const query = { Biz: 'RPMin', TicketId: ticketId };
          const host = new URL(emu.url).host;
          const headers: Record<string, string> = {
            host,
            'x-acs-action': 'GetStatus',
            'x-acs-version': '2018-09-16',
            'x-acs-date': popTimestamp(),
            'x-acs-signature-nonce': randomUUID(),
            'x-acs-content-sha256': createHash('sha256').update('').digest('hex'),
          };
          const authorization = authorizationV3(
            { method: 'GET', path: '/', query, headers },
            TEST_KEY_ID,
            secret,
          );
          const a = await send(`/?${new URLSearchParams(query).toString()}`, {
            headers: { ...headers, authorization },
          });
          if (secret === TEST_KEY_SECRET) expect(a.status, a.text).toBe(200);
          else {
            expectRefused(a);
            expect(codeOf(a)).toBe('SignatureDoesNotMatch');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('meets injected faults only once authenticated', async () => {
    emu.setFaults({ '*': { internalErrorRate: 0.5, throttleRate: 0.2 } });
    try {
      await fc.assert(
        fc.asyncProperty(paramSet, fc.boolean(), async (junk, signed) => {
          if (signed) {
            const params = commonParams('GetStatus', { Biz: 'RPMin', TicketId: 't-faults' });
            const body = new URLSearchParams({
              ...params,
              Signature: signV1(TEST_KEY_SECRET, 'POST', params),
            }).toString();
            const a = await send('/', {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body,
            });
            if (a.status >= 500) expect(codeOf(a)).toBe('Error.InternalError');
            else expect([200, 400], a.text).toContain(a.status);
          } else {
            expectRefused(await send(`/?${new URLSearchParams(junk).toString()}`));
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      emu.setFaults({});
    }
  });

  it('logged no failed action while fuzzed', () => {
    expect(logLines.filter((l) => l.includes('action failed'))).toEqual([]);
  });
});
