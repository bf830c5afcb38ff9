/**
 * Fuzzing the OSS emulator's request and signature checks (fast-check): random Authorization,
 * date, Content-MD5 and security-token headers on random paths, correctly formed requests signed
 * with a wrong secret, signed uploads with random digests, the real ali-oss client (an independent
 * signer) over random object keys, and the pure `authenticate` over random headers. Never a 5xx
 * (but for injected faults, met only once authenticated), never a success without the secret.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import OSS from 'ali-oss';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startOssEmulator,
  type OssCredential,
  type OssEmulator,
} from '../../src/emulator/oss/index.js';
import { OssError } from '../../src/emulator/oss/oss-errors.js';
import { authenticate, parseTarget } from '../../src/emulator/oss/oss-request.js';
import { ossAuthorization, ossStringToSign } from '../../src/emulator/oss/oss-signature.js';

const BUCKET = 'fuzz-bucket';
const HOST = `${BUCKET}.oss-cn-hangzhou.aliyuncs.com`;
const STS = {
  accessKeyId: 'STS.fuzzKeyId00000001',
  accessKeySecret: 'sts-fuzz-secret-9f8e7d',
  securityToken: 'CAISfuzzSecurityToken0123456789',
  path: 'rp/fuzz/',
};
const PERMANENT = { accessKeyId: 'LTAIfuzzPermanent', accessKeySecret: 'permanent-fuzz-secret' };
const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9,
]);

const credentials = new Map<string, OssCredential>([
  [
    STS.accessKeyId,
    {
      accessKeySecret: STS.accessKeySecret,
      securityToken: STS.securityToken,
      bucket: BUCKET,
      path: STS.path,
      expiresAt: Date.now() + 3_600_000,
    },
  ],
  [PERMANENT.accessKeyId, { accessKeySecret: PERMANENT.accessKeySecret }],
]);

let emu: OssEmulator;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  emu = await startOssEmulator({
    buckets: [BUCKET],
    credentials: (id) => credentials.get(id),
    logger: pino({ level: 'info' }, sink),
  });
});

afterAll(async () => {
  await emu?.close();
});

interface RawResponse {
  status: number;
  body: string;
  code: string | undefined;
}

/** One request exactly as given: raw path, the virtual-host Host unless one is given. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  const url = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: { host: HOST, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const fromHeader = res.headers['x-oss-err'];
          const xml =
            typeof fromHeader === 'string' ? Buffer.from(fromHeader, 'base64').toString() : text;
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            code: /<Code>([^<]*)<\/Code>/.exec(xml)?.[1],
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function expectRefused(r: RawResponse): void {
  expect(r.status, r.body).toBeGreaterThanOrEqual(400);
  expect(r.status, r.body).toBeLessThan(500);
}

/** Headers a client signs: date, token, the given ones, and Authorization over them. */
function signed(
  method: string,
  key: string,
  headers: Record<string, string>,
  secret = STS.accessKeySecret,
): Record<string, string> {
  const all = {
    'x-oss-date': new Date().toUTCString(),
    'x-oss-security-token': STS.securityToken,
    ...headers,
  };
  const stringToSign = ossStringToSign({ method, bucket: BUCKET, key, headers: all });
  return { ...all, authorization: ossAuthorization(STS.accessKeyId, secret, stringToSign) };
}

const method = fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST');
const path = fc.oneof(
  fc.constantFrom(`/${STS.path}face.jpg`, '/', `/${BUCKET}/${STS.path}a.jpg`, '/../x', '/%E0%A4%A'),
  fc.string({ maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
  fc.stringMatching(/^\/[A-Za-z0-9%./?=&-]{0,40}$/),
);
const dateValue = fc.oneof(
  fc.constant(new Date().toUTCString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.string(),
);
const md5Value = fc.oneof(
  fc.constant(createHash('md5').update(JPEG).digest('base64')),
  fc.base64String({ minLength: 24, maxLength: 24 }),
  fc.stringMatching(/^[A-Za-z0-9+/]{22}==$/),
  fc.string(),
);
const authorizationValue = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.constantFrom(STS.accessKeyId, PERMANENT.accessKeyId), fc.string()),
      fc.oneof(fc.base64String({ minLength: 28, maxLength: 28 }), fc.string()),
    )
    .map(([id, sig]) => `OSS ${id}:${sig}`),
  fc.string().map((s) => `OSS ${s}`),
  fc.string(),
);

describe('the OSS emulator under random requests', () => {
  it('refuses random Authorization, date, digest and token headers with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        path,
        fc.record(
          {
            authorization: authorizationValue,
            date: dateValue,
            'x-oss-date': dateValue,
            'content-md5': md5Value,
            'x-oss-security-token': fc.oneof(fc.constant(STS.securityToken), fc.string()),
            'content-type': fc.oneof(fc.constant('image/jpeg'), fc.string()),
          },
          { requiredKeys: [] },
        ),
        async (m, p, headers) => {
          const clean: Record<string, string> = {};
          for (const [k, v] of Object.entries(headers)) clean[k] = v.trim();
          const r = await raw(m, p, clean, m === 'PUT' || m === 'POST' ? JPEG : undefined);
          expectRefused(r);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('accepts a well-formed request only when it was signed with the secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ minLength: 1, maxLength: 30 })),
        fc.stringMatching(/^[a-z0-9]{1,12}\.jpg$/),
        async (wrong, name) => {
          const secret =
            wrong === null || wrong === STS.accessKeySecret ? STS.accessKeySecret : wrong;
          const key = `${STS.path}${name}`;
          const headers = signed('PUT', key, { 'content-type': 'image/jpeg' }, secret);
          const r = await raw('PUT', `/${key}`, headers, JPEG);
          if (secret === STS.accessKeySecret) expect(r.status, r.body).toBe(200);
          else {
            expectRefused(r);
            expect(r.code).toBe('SignatureDoesNotMatch');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses signed uploads whose Content-MD5 is malformed or wrong, never with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(md5Value, async (md5) => {
        const key = `${STS.path}digest.jpg`;
        const value = md5.trim();
        const r = await raw('PUT', `/${key}`, signed('PUT', key, { 'content-md5': value }), JPEG);
        if (value === createHash('md5').update(JPEG).digest('base64')) expect(r.status).toBe(200);
        else {
          expectRefused(r);
          expect(['InvalidDigest', 'BadDigest', 'SignatureDoesNotMatch']).toContain(r.code);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with ali-oss on any object key, and refuses its calls made with a wrong secret', async () => {
    // built once: ali-oss warns on each client made with an stsToken and no refresher
    const client = (secret: string) =>
      new OSS({
        endpoint: emu.url,
        accessKeyId: STS.accessKeyId,
        accessKeySecret: secret,
        stsToken: STS.securityToken,
        bucket: BUCKET,
        region: 'oss-cn-hangzhou',
        timeout: 5000,
      });
    const clients = {
      right: client(STS.accessKeySecret),
      wrong: client(`${STS.accessKeySecret}x`),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 30 }),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
        ),
        fc.boolean(),
        async (name, right) => {
          const client = right ? clients.right : clients.wrong;
          let code: string | undefined;
          let status: number | undefined;
          try {
            await client.put(`${STS.path}${name}`, JPEG);
          } catch (err) {
            code = (err as { code?: string }).code;
            status = (err as { status?: number }).status;
          }
          if (status !== undefined) expect(status).toBeLessThan(500);
          // an invalid key is refused before the signature is checked
          if (!right) expect(['SignatureDoesNotMatch', 'InvalidObjectName']).toContain(code);
          else expect([undefined, 'InvalidObjectName'], `${name}: ${code}`).toContain(code);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('authenticates in process: random headers raise OssError or pass only with the secret', () => {
    fc.assert(
      fc.property(
        method,
        path,
        fc.dictionary(
          fc.constantFrom(
            'authorization',
            'date',
            'x-oss-date',
            'content-md5',
            'content-type',
            'x-oss-security-token',
            'x-oss-meta-a',
            'Authorization',
          ),
          fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 20 }), authorizationValue),
        ),
        (m, p, headers) => {
          let target;
          try {
            target = parseTarget(p, HOST);
          } catch (err) {
            expect(err).toBeInstanceOf(OssError);
            return;
          }
          try {
            authenticate({ method: m, headers, target }, (id) => credentials.get(id), Date.now());
            throw new Error(`authenticated without the secret: ${JSON.stringify(headers)}`);
          } catch (err) {
            expect(err, String(err)).toBeInstanceOf(OssError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('meets injected faults only once authenticated', async () => {
    emu.setFaults({ '*': { internalErrorRate: 0.5, throttleRate: 0.2 } });
    try {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), authorizationValue, async (good, authorization) => {
          const key = `${STS.path}faults.jpg`;
          const headers = good
            ? signed('PUT', key, {})
            : { authorization, date: new Date().toUTCString() };
          const r = await raw('PUT', `/${key}`, headers, JPEG);
          if (!good) expectRefused(r);
          else if (r.status >= 500)
            expect(['InternalError', 'ServiceUnavailable']).toContain(r.code);
          else expect(r.status).toBe(200);
        }),
        { numRuns: 200 },
      );
    } finally {
      emu.setFaults({});
    }
  });

  it('logged no failed operation while fuzzed', () => {
    expect(logLines.filter((l) => l.includes('operation failed'))).toEqual([]);
  });
});
