import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OSS from 'ali-oss';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  startOssEmulator,
  type OssCredential,
  type OssEmulator,
  type OssEmulatorOptions,
} from '../../src/emulator/oss/index.js';
import { ossAuthorization, ossStringToSign } from '../../src/emulator/oss/oss-signature.js';
import { startEmulators } from '../../src/emulator/start.js';
import { popClient } from '../support/emulator.js';

const BUCKET = 'verify-img';
const OTHER_BUCKET = 'other-bucket';
const STS = {
  accessKeyId: 'STS.NSjeTodte64fJxeVqRCLfw8Gf',
  accessKeySecret: 'sts-secret-Wq3p9',
  securityToken: 'CAIS6AF1q6Ft5B2yfSjIr5DfLu7biatEgfaNSF7UsnEHT8NKmP3s',
  path: 'rp/ticket-1/',
};
const PERMANENT = { accessKeyId: 'LTAIpermanent', accessKeySecret: 'permanent-secret' };
const REQUEST_ID = /^[0-9A-F]{24}$/;
const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9,
]);

interface OssClientError {
  name: string;
  code: string;
  status: number;
  requestId: string;
  ecCode?: string;
  message: string;
}

interface Fixture {
  emu: OssEmulator;
  credentials: Map<string, OssCredential>;
  /** The emulator's clock, ms; tests move it. */
  clock: { now: number };
}

async function startFixture(overrides: Partial<OssEmulatorOptions> = {}): Promise<Fixture> {
  const clock = { now: Date.now() };
  const credentials = new Map<string, OssCredential>([
    [
      STS.accessKeyId,
      {
        accessKeySecret: STS.accessKeySecret,
        securityToken: STS.securityToken,
        bucket: BUCKET,
        path: STS.path,
        expiresAt: clock.now + 30 * 60_000,
      },
    ],
    [PERMANENT.accessKeyId, { accessKeySecret: PERMANENT.accessKeySecret }],
  ]);
  const emu = await startOssEmulator({
    buckets: [BUCKET, OTHER_BUCKET],
    credentials: (id) => credentials.get(id),
    clock: () => clock.now,
    ...overrides,
  });
  onTestFinished(() => emu.close());
  return { emu, credentials, clock };
}

/** The real ali-oss client, STS credentials by default. */
function stsClient(emu: OssEmulator, overrides: Record<string, unknown> = {}): OSS {
  const options = {
    endpoint: emu.url,
    accessKeyId: STS.accessKeyId,
    accessKeySecret: STS.accessKeySecret,
    stsToken: STS.securityToken,
    bucket: BUCKET,
    region: 'oss-cn-hangzhou',
    timeout: 5000,
    ...overrides,
  };
  return new OSS(options);
}

function permanentClient(emu: OssEmulator, overrides: Record<string, unknown> = {}): OSS {
  return stsClient(emu, { ...PERMANENT, stsToken: undefined, ...overrides });
}

async function failure(p: Promise<unknown>): Promise<OssClientError> {
  try {
    await p;
  } catch (err) {
    return err as OssClientError;
  }
  throw new Error('expected the OSS call to fail');
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request exactly as given (no URL normalisation), Host `<bucket>.oss-cn-hangzhou…`. */
function raw(
  emu: OssEmulator,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  const url = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { host: `${BUCKET}.oss-cn-hangzhou.aliyuncs.com`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Headers of a request signed with the STS credential over `key` and the given headers. */
function stsSigned(method: string, key: string, headers: Record<string, string>) {
  const all = {
    'x-oss-date': new Date().toUTCString(),
    'x-oss-security-token': STS.securityToken,
    ...headers,
  };
  const stringToSign = ossStringToSign({ method, bucket: BUCKET, key, headers: all });
  return {
    ...all,
    authorization: ossAuthorization(STS.accessKeyId, STS.accessKeySecret, stringToSign),
  };
}

/** Headers of a request signed with the permanent key over `key`, the headers and the query. */
function permanentSigned(
  method: string,
  key: string,
  headers: Record<string, string>,
  query: Record<string, string> = {},
) {
  const all = { 'x-oss-date': new Date().toUTCString(), ...headers };
  const stringToSign = ossStringToSign({ method, bucket: BUCKET, key, headers: all, query });
  return {
    ...all,
    authorization: ossAuthorization(PERMANENT.accessKeyId, PERMANENT.accessKeySecret, stringToSign),
  };
}

/** Every page of a ListObjectsV2 listing through ali-oss, `maxKeys` at a time. */
async function listAll(oss: OSS, query: OSS.ListV2ObjectsQuery, maxKeys: number) {
  const pages: OSS.ListV2ObjectResult[] = [];
  let token: string | undefined;
  do {
    const page = await oss.listV2({
      ...query,
      'max-keys': maxKeys,
      ...(token === undefined ? {} : { 'continuation-token': token }),
    });
    pages.push(page);
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token !== undefined);
  return pages;
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

describe('the OSS emulator with the real ali-oss client', () => {
  it('puts with STS credentials, reads back bytes and content type, heads, deletes', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu);
    const key = `${STS.path}face.jpg`;

    const put = await oss.put(key, JPEG);
    expect(put.res.status).toBe(200);
    const md5 = createHash('md5').update(JPEG).digest('hex').toUpperCase();
    expect(put.res.headers).toMatchObject({ etag: `"${md5}"`, server: 'AliyunOSS' });
    expect((put.res.headers as Record<string, string>)['x-oss-request-id']).toMatch(REQUEST_ID);

    const got = await oss.get(key);
    expect(Buffer.compare(got.content as Buffer, JPEG)).toBe(0);
    expect(got.res.headers).toMatchObject({
      'content-type': 'image/jpeg',
      'content-length': String(JPEG.length),
      etag: `"${md5}"`,
    });
    expect(await emu.getObject(BUCKET, key)).toEqual(JPEG);

    const head = await oss.head(key);
    expect(head.status).toBe(200);
    expect(head.res.headers).toMatchObject({
      'content-length': String(JPEG.length),
      'content-type': 'image/jpeg',
      etag: `"${md5}"`,
    });
    expect((head.res.headers as Record<string, string>)['last-modified']).toMatch(/ GMT$/);

    expect((await oss.delete(key)).res.status).toBe(204);
    expect(await emu.getObject(BUCKET, key)).toBeUndefined();
    expect(emu.counters()).toMatchObject({
      PutObject: { ok: 1 },
      GetObject: { ok: 1 },
      HeadObject: { ok: 1 },
      DeleteObject: { ok: 1 },
    });
  });

  it('keeps an explicit mime type and a unicode key', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu);
    const key = `${STS.path}张三 证件+1.bin`;
    await oss.put(key, Buffer.from('证件'), { mime: 'text/plain; charset=utf-8' });
    const got = await oss.get(key);
    expect((got.content as Buffer).toString('utf8')).toBe('证件');
    expect((got.res.headers as Record<string, string>)['content-type']).toBe(
      'text/plain; charset=utf-8',
    );
  });

  it('serves path-style requests (sldEnable) too', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu, { sldEnable: true });
    const key = `${STS.path}back.jpg`;
    await oss.put(key, JPEG);
    expect(Buffer.compare((await oss.get(key)).content as Buffer, JPEG)).toBe(0);
  });

  it('tells a key that starts with the bucket name from a path-style request by its signature', async () => {
    const { emu } = await startFixture();
    await permanentClient(emu).put(`${BUCKET}/nested.bin`, Buffer.from('virtual'));
    await permanentClient(emu, { sldEnable: true }).put('nested.bin', Buffer.from('path'));
    expect(await emu.getObject(BUCKET, `${BUCKET}/nested.bin`)).toEqual(Buffer.from('virtual'));
    expect(await emu.getObject(BUCKET, 'nested.bin')).toEqual(Buffer.from('path'));
  });

  it('answers SignatureDoesNotMatch 403 to a wrong secret, on GET and HEAD', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu, { accessKeySecret: 'not-the-secret' });
    const err = await failure(oss.put(`${STS.path}face.jpg`, JPEG));
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(err.requestId).toMatch(REQUEST_ID);
    const head = await failure(oss.head(`${STS.path}face.jpg`));
    expect(head).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403 });
  });

  it('answers SecurityTokenExpired 403 (EC 0002-00000007) once the credential expired', async () => {
    const { emu, clock } = await startFixture();
    const oss = stsClient(emu);
    await oss.put(`${STS.path}face.jpg`, JPEG);
    clock.now += 31 * 60_000;
    const err = await failure(oss.get(`${STS.path}face.jpg`));
    expect(err).toMatchObject({
      code: 'SecurityTokenExpired',
      status: 403,
      ecCode: '0002-00000007',
    });
    expect(err.requestId).toMatch(REQUEST_ID);
  });

  it("answers AccessDenied 403 outside the token's path or bucket", async () => {
    const { emu } = await startFixture();
    const outside = await failure(stsClient(emu).put('rp/ticket-2/face.jpg', JPEG));
    expect(outside).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(outside.message).toBe("Access denied by authorizer's policy.");
    const otherBucket = await failure(
      stsClient(emu, { bucket: OTHER_BUCKET }).get(`${STS.path}face.jpg`),
    );
    expect(otherBucket).toMatchObject({ code: 'AccessDenied', status: 403 });
  });

  it('gives a permanent key full access', async () => {
    const { emu } = await startFixture();
    const oss = permanentClient(emu, { bucket: OTHER_BUCKET });
    await oss.put('anywhere/x.bin', Buffer.from('x'));
    expect(await emu.getObject(OTHER_BUCKET, 'anywhere/x.bin')).toEqual(Buffer.from('x'));
  });

  it('answers InvalidDigest 400 to a Content-MD5 that does not match, or is malformed', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu);
    const emptyMd5 = createHash('md5').update('').digest('base64');
    const mismatch = await failure(
      oss.put(`${STS.path}face.jpg`, JPEG, { headers: { 'Content-MD5': emptyMd5 } }),
    );
    expect(mismatch).toMatchObject({ code: 'InvalidDigest', status: 400 });
    expect(mismatch.message).toContain('did not match');
    const malformed = await failure(
      oss.put(`${STS.path}face.jpg`, JPEG, { headers: { 'Content-MD5': 'not-base64-md5' } }),
    );
    expect(malformed).toMatchObject({ code: 'InvalidDigest', status: 400 });
    expect(await emu.getObject(BUCKET, `${STS.path}face.jpg`)).toBeUndefined();
  });

  it('answers InvalidAccessKeyId 403 to an unknown AccessKeyId', async () => {
    const { emu } = await startFixture();
    const err = await failure(stsClient(emu, { accessKeyId: 'STS.unknown' }).get('rp/x'));
    expect(err).toMatchObject({ code: 'InvalidAccessKeyId', status: 403 });
  });

  it('answers InvalidAccessKeyId 403 to STS credentials sent without the security token', async () => {
    const { emu } = await startFixture();
    const err = await failure(stsClient(emu, { stsToken: undefined }).get(`${STS.path}face.jpg`));
    expect(err).toMatchObject({ code: 'InvalidAccessKeyId', status: 403 });
    expect(err.message).toContain('The Security Token may be lost');
  });

  it('answers InvalidSecurityToken 403 to a token that is not the credential’s', async () => {
    const { emu } = await startFixture();
    const err = await failure(
      stsClient(emu, { stsToken: 'CAIS-some-other-token' }).get(`${STS.path}face.jpg`),
    );
    expect(err).toMatchObject({ code: 'InvalidSecurityToken', status: 403 });
  });

  it('answers EntityTooLarge 400 above maxObjectBytes, by Content-Length or chunked', async () => {
    const { emu } = await startFixture({ maxObjectBytes: 1024 });
    const oss = stsClient(emu);
    const sized = await failure(oss.put(`${STS.path}big.bin`, Buffer.alloc(2048)));
    expect(sized).toMatchObject({ code: 'EntityTooLarge', status: 400 });
    const chunked = await failure(
      oss.putStream(`${STS.path}big.bin`, Readable.from([Buffer.alloc(700), Buffer.alloc(700)])),
    );
    expect(chunked).toMatchObject({ code: 'EntityTooLarge', status: 400 });
    expect((await oss.put(`${STS.path}ok.bin`, Buffer.alloc(1024))).res.status).toBe(200);
  });

  it('answers NoSuchKey 404 to GET and HEAD of a missing object', async () => {
    const { emu } = await startFixture();
    const oss = stsClient(emu);
    const get = await failure(oss.get(`${STS.path}missing.jpg`));
    expect(get).toMatchObject({ code: 'NoSuchKey', status: 404 });
    expect(get.requestId).toMatch(REQUEST_ID);
    expect(await failure(oss.head(`${STS.path}missing.jpg`))).toMatchObject({
      code: 'NoSuchKey',
      status: 404,
    });
  });

  it('answers NoSuchBucket 404 to an unknown bucket', async () => {
    const { emu } = await startFixture();
    const err = await failure(stsClient(emu, { bucket: 'no-such-bucket' }).get('k'));
    expect(err).toMatchObject({ code: 'NoSuchBucket', status: 404 });
  });

  it('answers InternalError 500 when the fault is injected, and counts it', async () => {
    const { emu } = await startFixture();
    emu.setFaults({ PutObject: { internalErrorRate: 1 } });
    const oss = stsClient(emu);
    const err = await failure(oss.put(`${STS.path}face.jpg`, JPEG));
    expect(err).toMatchObject({ code: 'InternalError', status: 500 });
    emu.setFaults({});
    await oss.put(`${STS.path}face.jpg`, JPEG);
    expect(emu.counters().PutObject).toEqual({ InternalError: 1, ok: 1 });
  });

  it('answers RequestTimeTooSkewed 403 to a date 16 minutes off', async () => {
    const { emu, clock } = await startFixture();
    clock.now += 16 * 60_000;
    const err = await failure(permanentClient(emu).get('k'));
    expect(err).toMatchObject({ code: 'RequestTimeTooSkewed', status: 403 });
  });
});

describe('ListObjectsV2 on the OSS emulator, with the real ali-oss client', () => {
  // U+E000 sorts before U+1F600 in UTF-8 (OSS's order), after it in UTF-16 (JavaScript's).
  const KEYS = ['list/a.bin', 'list/b/1.bin', 'list/b/2.bin', 'list/\uE000.bin', 'list/😀.bin'];

  async function withObjects(emu: OssEmulator): Promise<OSS> {
    const oss = permanentClient(emu);
    for (const key of [...KEYS, 'other/x.bin', 'lisz.bin']) await oss.put(key, Buffer.from(key));
    return oss;
  }

  it('lists a prefix page by page in UTF-8 byte order, each page with its KeyCount and token', async () => {
    const { emu } = await startFixture();
    const oss = await withObjects(emu);
    const pages = await listAll(oss, { prefix: 'list/' }, 2);
    expect(pages.map((p) => p.objects.map((o) => o.name))).toEqual([
      KEYS.slice(0, 2),
      KEYS.slice(2, 4),
      KEYS.slice(4),
    ]);
    expect(pages.map((p) => [p.keyCount, p.isTruncated])).toEqual([
      [2, true],
      [2, true],
      [1, false],
    ]);
    expect(pages[2]?.nextContinuationToken).toBeNull();
    const md5 = createHash('md5').update('list/a.bin').digest('hex').toUpperCase();
    expect(pages[0]?.objects[0]).toMatchObject({
      name: 'list/a.bin',
      size: 'list/a.bin'.length,
      etag: `"${md5}"`,
      type: 'Normal',
      storageClass: 'Standard',
    });
    expect(Date.parse(pages[0]?.objects[0]?.lastModified ?? '')).toBeGreaterThan(0);
    expect(emu.counters().ListObjectsV2).toEqual({ ok: 3 });
  });

  it('lists the whole bucket without a prefix', async () => {
    const { emu } = await startFixture();
    const oss = await withObjects(emu);
    const all = await oss.listV2({});
    expect(all.objects.map((o) => o.name)).toEqual([...KEYS, 'lisz.bin', 'other/x.bin']);
    expect(all.isTruncated).toBe(false);
  });

  it('rolls keys up into common prefixes at the delimiter, counting each once', async () => {
    const { emu } = await startFixture();
    const oss = await withObjects(emu);
    const pages = await listAll(oss, { prefix: 'list/', delimiter: '/' }, 1);
    expect(pages.map((p) => [...p.objects.map((o) => o.name), ...(p.prefixes ?? [])])).toEqual([
      ['list/a.bin'],
      ['list/b/'],
      ['list/\uE000.bin'],
      ['list/😀.bin'],
    ]);
  });

  it('starts after start-after, and lists path-style requests (sldEnable) too', async () => {
    const { emu } = await startFixture();
    await withObjects(emu);
    const oss = permanentClient(emu, { sldEnable: true });
    const page = await oss.listV2({ prefix: 'list/', 'start-after': 'list/b/1.bin' });
    expect(page.objects.map((o) => o.name)).toEqual(KEYS.slice(2));
  });

  it('refuses max-keys outside 1–1000 and a continuation token it did not make, with InvalidArgument 400', async () => {
    const { emu } = await startFixture();
    const oss = await withObjects(emu);
    for (const maxKeys of [0, 1001, 'ten']) {
      const err = await failure(oss.listV2({ 'max-keys': maxKeys }));
      expect(err).toMatchObject({ code: 'InvalidArgument', status: 400 });
      expect(err.message).toBe('Argument max-keys must be an integer between 1 and 1000.');
    }
    expect((await oss.listV2({ 'max-keys': 1000 })).keyCount).toBe(7);
    const token = await failure(oss.listV2({ 'continuation-token': 'bogus' }));
    expect(token).toMatchObject({ code: 'InvalidArgument', status: 400 });
  });

  it('answers ListObjects V1 with NotImplemented 501 and a listing by a path-scoped STS key with AccessDenied 403', async () => {
    const { emu } = await startFixture();
    const v1 = await failure(permanentClient(emu).list({ prefix: 'list/', 'max-keys': 10 }, {}));
    expect(v1).toMatchObject({ code: 'NotImplemented', status: 501 });
    const sts = await failure(stsClient(emu).listV2({ prefix: STS.path }));
    expect(sts).toMatchObject({ code: 'AccessDenied', status: 403 });
    const wrong = await failure(
      permanentClient(emu, { accessKeySecret: 'not-the-secret' }).listV2({}),
    );
    expect(wrong).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403 });
  });

  it('counts a listing under ListObjectsV2 for faults too', async () => {
    const { emu } = await startFixture();
    emu.setFaults({ ListObjectsV2: { internalErrorRate: 1 } });
    const err = await failure(permanentClient(emu).listV2({}));
    expect(err).toMatchObject({ code: 'InternalError', status: 500 });
    expect(emu.counters().ListObjectsV2).toEqual({ InternalError: 1 });
  });
});

describe('DeleteMultipleObjects on the OSS emulator', () => {
  /** A signed `POST /?delete` with `body`, through the permanent key. */
  function deleteRequest(
    emu: OssEmulator,
    body: string,
    options: { md5?: string | null; query?: string } = {},
  ) {
    const bytes = Buffer.from(body, 'utf8');
    const md5 =
      options.md5 === undefined ? createHash('md5').update(bytes).digest('base64') : options.md5;
    const headers = {
      'content-type': 'application/xml',
      'content-length': String(bytes.length),
      ...(md5 === null ? {} : { 'content-md5': md5 }),
    };
    const query = `delete${options.query === undefined ? '' : `&${options.query}`}`;
    return raw(
      emu,
      'POST',
      `/?${query}`,
      permanentSigned('POST', '', headers, { delete: '' }),
      bytes,
    );
  }

  const objects = (keys: string[]) => keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('');

  it('deletes the keys given through ali-oss, naming each one, those already gone too', async () => {
    const { emu } = await startFixture();
    const oss = permanentClient(emu);
    for (const key of ['dm/a.bin', 'dm/b&<c>.bin', 'dm/keep.bin']) {
      await oss.put(key, Buffer.from(key));
    }
    const verbose = await oss.deleteMulti(['dm/a.bin', 'dm/b&<c>.bin', 'dm/never.bin']);
    expect(verbose.res.status).toBe(200);
    expect(verbose.deleted).toEqual([
      { Key: 'dm/a.bin' },
      { Key: 'dm/b&<c>.bin' },
      { Key: 'dm/never.bin' },
    ]);
    expect((await oss.listV2({ prefix: 'dm/' })).objects.map((o) => o.name)).toEqual([
      'dm/keep.bin',
    ]);
    const quiet = await oss.deleteMulti(['dm/keep.bin'], { quiet: true });
    expect(quiet.deleted).toEqual([]);
    expect(await emu.getObject(BUCKET, 'dm/keep.bin')).toBeUndefined();
    expect(emu.counters().DeleteMultipleObjects).toEqual({ ok: 2 });
  });

  it('answers a DeleteResult in OSS’s shape, url-encoded on request, and no body when quiet', async () => {
    const { emu } = await startFixture();
    await permanentClient(emu).put('a&b.bin', Buffer.from('x'));
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Delete>\n  <Quiet>false</Quiet>\n  <Object>\n    <Key>a&amp;b.bin</Key>\n  </Object>\n  <Object><Key>&#x41;&#66;.bin</Key></Object>\n</Delete>\n`;
    const res = await deleteRequest(emu, body);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.headers['x-oss-request-id']).toMatch(REQUEST_ID);
    expect(res.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult><Deleted><Key>a&amp;b.bin</Key></Deleted>' +
        '<Deleted><Key>AB.bin</Key></Deleted></DeleteResult>',
    );
    expect(await emu.getObject(BUCKET, 'a&b.bin')).toBeUndefined();
    const encoded = await deleteRequest(emu, `<Delete>${objects(['a b/ü.bin'])}</Delete>`, {
      query: 'encoding-type=url',
    });
    expect(xmlField(encoded.body, 'EncodingType')).toBe('url');
    expect(xmlField(encoded.body, 'Key')).toBe('a%20b%2F%C3%BC.bin');
    const quiet = await deleteRequest(
      emu,
      `<Delete><Quiet>true</Quiet>${objects(['x.bin'])}</Delete>`,
    );
    expect([quiet.status, quiet.body]).toEqual([200, '']);
  });

  it('refuses a request without Content-MD5 or with a wrong one, before deleting anything', async () => {
    const { emu } = await startFixture();
    await permanentClient(emu).put('kept.bin', Buffer.from('x'));
    const body = `<Delete>${objects(['kept.bin'])}</Delete>`;
    const missing = await deleteRequest(emu, body, { md5: null });
    expect(missing.status).toBe(400);
    expect(xmlField(missing.body, 'Code')).toBe('InvalidRequest');
    expect(missing.headers['x-oss-ec']).toBe('0016-00000606');
    const wrong = await deleteRequest(emu, body, {
      md5: createHash('md5').update('other').digest('base64'),
    });
    expect([wrong.status, xmlField(wrong.body, 'Code')]).toEqual([400, 'InvalidDigest']);
    expect(await emu.getObject(BUCKET, 'kept.bin')).toEqual(Buffer.from('x'));
  });

  it('refuses a body that is not a Delete document of 1 to 1000 objects with MalformedXML 400', async () => {
    const { emu } = await startFixture();
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `k/${i}`);
    const cases: Array<[string, string | undefined]> = [
      ['<Delete></Delete>', undefined],
      [`<Delete>${objects(keys(1001))}</Delete>`, undefined],
      [`<Delete><Quiet>yes</Quiet>${objects(['a'])}</Delete>`, '0016-00000610'],
      [`<Delete>${objects(['a'])}<Other/></Delete>`, undefined],
      [`<Delete>${objects(['a & b'])}</Delete>`, undefined],
      ['not xml', undefined],
    ];
    for (const [body, ec] of cases) {
      const res = await deleteRequest(emu, body);
      expect([res.status, xmlField(res.body, 'Code')]).toEqual([400, 'MalformedXML']);
      expect(res.headers['x-oss-ec']).toBe(ec);
    }
    const most = await deleteRequest(emu, `<Delete>${objects(keys(1000))}</Delete>`);
    expect(most.body.match(/<Deleted>/g)).toHaveLength(1000);
    const dotted = await deleteRequest(emu, `<Delete>${objects(['a/../b'])}</Delete>`);
    expect(xmlField(dotted.body, 'Code')).toBe('InvalidObjectName');
  });

  it('refuses a path-scoped STS key with AccessDenied 403, and other POSTs with MethodNotAllowed 405', async () => {
    const { emu } = await startFixture();
    const sts = await failure(stsClient(emu).deleteMulti([`${STS.path}face.jpg`]));
    expect(sts).toMatchObject({ code: 'AccessDenied', status: 403 });
    const post = await raw(emu, 'POST', '/', permanentSigned('POST', '', {}));
    expect([post.status, xmlField(post.body, 'Code')]).toEqual([405, 'MethodNotAllowed']);
    emu.setFaults({ DeleteMultipleObjects: { internalErrorRate: 1 } });
    const injected = await failure(permanentClient(emu).deleteMulti(['a.bin']));
    expect(injected).toMatchObject({ code: 'InternalError', status: 500 });
    expect(emu.counters().DeleteMultipleObjects).toEqual({ AccessDenied: 1, InternalError: 1 });
  });
});

describe('PutObject with x-oss-forbid-overwrite and x-oss-server-side-encryption', () => {
  it('refuses to overwrite with FileAlreadyExists 409 when forbidden, and keeps the first object', async () => {
    const { emu } = await startFixture();
    const oss = permanentClient(emu);
    const forbid = { headers: { 'x-oss-forbid-overwrite': 'true' } };
    expect((await oss.put('once.bin', Buffer.from('first'), forbid)).res.status).toBe(200);
    const err = await failure(oss.put('once.bin', Buffer.from('second'), forbid));
    expect(err).toMatchObject({ code: 'FileAlreadyExists', status: 409 });
    expect(err.requestId).toMatch(REQUEST_ID);
    expect(await emu.getObject(BUCKET, 'once.bin')).toEqual(Buffer.from('first'));
    await oss.put('once.bin', Buffer.from('third'), {
      headers: { 'x-oss-forbid-overwrite': 'false' },
    });
    expect(await emu.getObject(BUCKET, 'once.bin')).toEqual(Buffer.from('third'));
    expect(emu.counters().PutObject).toEqual({ ok: 2, FileAlreadyExists: 1 });
  });

  it('lets one of 10 racing forbid-overwrite PUTs of a key win', async () => {
    const { emu } = await startFixture();
    const oss = permanentClient(emu);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        oss
          .put('race.bin', Buffer.from(`writer ${i}`), {
            headers: { 'x-oss-forbid-overwrite': 'true' },
          })
          .then(
            () => 'ok',
            (err: OssClientError) => err.code,
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'FileAlreadyExists')).toHaveLength(9);
  });

  it('refuses an x-oss-forbid-overwrite that is neither true nor false with InvalidArgument 400', async () => {
    const { emu } = await startFixture();
    const err = await failure(
      permanentClient(emu).put('x.bin', Buffer.from('x'), {
        headers: { 'x-oss-forbid-overwrite': 'yes' },
      }),
    );
    expect(err).toMatchObject({ code: 'InvalidArgument', status: 400, ecCode: '0017-00000279' });
    expect(await emu.getObject(BUCKET, 'x.bin')).toBeUndefined();
  });

  it('echoes x-oss-server-side-encryption on the PUT and on every GET and HEAD of the object', async () => {
    const { emu } = await startFixture();
    const oss = permanentClient(emu);
    for (const sse of ['AES256', 'KMS', 'SM4']) {
      const key = `sse/${sse}.bin`;
      const put = await oss.put(key, Buffer.from(sse), {
        headers: { 'x-oss-server-side-encryption': sse },
      });
      expect(put.res.headers).toMatchObject({ 'x-oss-server-side-encryption': sse });
      expect((await oss.head(key)).res.headers).toMatchObject({
        'x-oss-server-side-encryption': sse,
      });
      expect((await oss.get(key)).res.headers).toMatchObject({
        'x-oss-server-side-encryption': sse,
      });
    }
    await oss.put('plain.bin', Buffer.from('plain'));
    const plain = (await oss.head('plain.bin')).res.headers as Record<string, string>;
    expect(plain['x-oss-server-side-encryption']).toBeUndefined();
  });

  it('refuses an unknown x-oss-server-side-encryption with InvalidEncryptionAlgorithmError 400', async () => {
    const { emu } = await startFixture();
    for (const sse of ['DES', 'aes256']) {
      const err = await failure(
        permanentClient(emu).put('x.bin', Buffer.from('x'), {
          headers: { 'x-oss-server-side-encryption': sse },
        }),
      );
      expect(err).toMatchObject({ code: 'InvalidEncryptionAlgorithmError', status: 400 });
    }
    expect(await emu.getObject(BUCKET, 'x.bin')).toBeUndefined();
  });
});

describe('the OSS emulator on the wire', () => {
  it('refuses anonymous requests with AccessDenied 403 as OSS error XML', async () => {
    const { emu } = await startFixture();
    const res = await raw(emu, 'GET', `/${STS.path}face.jpg`, {});
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.headers['x-oss-request-id']).toMatch(REQUEST_ID);
    expect(res.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Error><Code>AccessDenied</);
    expect(xmlField(res.body, 'RequestId')).toBe(res.headers['x-oss-request-id']);
    expect(xmlField(res.body, 'HostId')).toBe(`${BUCKET}.oss-cn-hangzhou.aliyuncs.com`);
  });

  it('details SignatureDoesNotMatch with StringToSign, its bytes and the signature provided', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}face.jpg`;
    const headers = stsSigned('GET', key, {});
    headers.authorization = `OSS ${STS.accessKeyId}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
    const res = await raw(emu, 'GET', `/${key}`, headers);
    expect(res.status).toBe(403);
    expect(xmlField(res.body, 'Code')).toBe('SignatureDoesNotMatch');
    expect(xmlField(res.body, 'OSSAccessKeyId')).toBe(STS.accessKeyId);
    expect(xmlField(res.body, 'SignatureProvided')).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    const stringToSign = ossStringToSign({ method: 'GET', bucket: BUCKET, key, headers });
    expect(xmlField(res.body, 'StringToSign')).toBe(stringToSign);
    expect(xmlField(res.body, 'StringToSignBytes')).toMatch(/^47 45 54 0A /);
  });

  it('sends the EC in x-oss-ec and the body', async () => {
    const { emu, clock } = await startFixture();
    clock.now += 31 * 60_000;
    const key = `${STS.path}face.jpg`;
    const headers = stsSigned('GET', key, { 'x-oss-date': new Date(clock.now).toUTCString() });
    const res = await raw(emu, 'GET', `/${key}`, headers);
    expect(res.headers['x-oss-ec']).toBe('0002-00000007');
    expect(xmlField(res.body, 'EC')).toBe('0002-00000007');
  });

  it('answers MissingContentLength 411 to a PUT with neither Content-Length nor chunking', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}face.jpg`;
    const headers = stsSigned('PUT', key, {});
    const url = new URL(emu.url);
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        const lines = [
          `PUT /${key} HTTP/1.1`,
          `Host: ${BUCKET}.oss-cn-hangzhou.aliyuncs.com`,
          'Connection: close',
          ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        ];
        socket.end(`${lines.join('\r\n')}\r\n\r\n`);
      });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 411 /);
    expect(response).toContain('<Code>MissingContentLength</Code>');
  });

  it('refuses keys with .. segments and empty keys with InvalidObjectName 400', async () => {
    const { emu } = await startFixture();
    const dotted = await raw(emu, 'GET', '/rp/ticket-1/../../etc/passwd', {});
    expect(dotted.status).toBe(400);
    expect(xmlField(dotted.body, 'Code')).toBe('InvalidObjectName');
    const encoded = await raw(emu, 'GET', '/rp/ticket-1/%2E%2E/x', {});
    expect(xmlField(encoded.body, 'Code')).toBe('InvalidObjectName');
    const empty = await raw(emu, 'PUT', '/', { 'content-length': '0' });
    expect(empty.status).toBe(400);
    expect(xmlField(empty.body, 'Code')).toBe('InvalidObjectName');
  });

  it('answers ListObjectsV2 with a ListBucketResult in OSS’s shape', async () => {
    const { emu } = await startFixture();
    await permanentClient(emu).put('a&b/<c>.bin', Buffer.from('abc'));
    await permanentClient(emu).put('a&b/d.bin', Buffer.from('d'));
    const res = await raw(
      emu,
      'GET',
      '/?list-type=2&prefix=a%26b%2F&max-keys=1&start-after=a',
      permanentSigned('GET', '', {}),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.headers['x-oss-request-id']).toMatch(REQUEST_ID);
    const token = xmlField(res.body, 'NextContinuationToken') ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    const md5 = createHash('md5').update('abc').digest('hex').toUpperCase();
    expect(res.body).toMatch(
      new RegExp(
        '^<\\?xml version="1.0" encoding="UTF-8"\\?>\\n<ListBucketResult><Name>verify-img</Name>' +
          '<Prefix>a&amp;b/</Prefix><StartAfter>a</StartAfter><MaxKeys>1</MaxKeys>' +
          `<IsTruncated>true</IsTruncated><NextContinuationToken>${token}</NextContinuationToken>` +
          '<Contents><Key>a&amp;b/&lt;c&gt;.bin</Key><LastModified>\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z</LastModified>' +
          `<ETag>"${md5}"</ETag><Type>Normal</Type><Size>3</Size><StorageClass>Standard</StorageClass>` +
          '</Contents><KeyCount>1</KeyCount></ListBucketResult>$',
      ),
    );

    const query = { 'continuation-token': token };
    const next = await raw(
      emu,
      'GET',
      `/?list-type=2&prefix=a%26b%2F&continuation-token=${token}&encoding-type=url`,
      permanentSigned('GET', '', {}, query),
    );
    expect(next.status).toBe(200);
    expect(xmlField(next.body, 'ContinuationToken')).toBe(token);
    expect(xmlField(next.body, 'MaxKeys')).toBe('100');
    expect(xmlField(next.body, 'EncodingType')).toBe('url');
    expect(xmlField(next.body, 'Key')).toBe('a%26b%2Fd.bin');
    expect(xmlField(next.body, 'IsTruncated')).toBe('false');
    expect(next.body).not.toContain('<NextContinuationToken>');

    const unsigned = await raw(
      emu,
      'GET',
      `/?list-type=2&continuation-token=${token}`,
      permanentSigned('GET', '', {}),
    );
    expect(xmlField(unsigned.body, 'Code')).toBe('SignatureDoesNotMatch');
  });

  it('answers DELETE of a missing key with 204, as OSS does', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}never-written.jpg`;
    const res = await raw(emu, 'DELETE', `/${key}`, stsSigned('DELETE', key, {}));
    expect(res.status).toBe(204);
    expect(res.headers['x-oss-request-id']).toMatch(REQUEST_ID);
  });
});

describe('the OSS emulator with a dataDir', () => {
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'oss-emulator-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it('persists objects as files that a second emulator on the same dir reads', async () => {
    const dataDir = await tempDir();
    const key = `${STS.path}face.jpg`;
    const first = await startFixture({ dataDir });
    await stsClient(first.emu).put(key, JPEG);
    expect(await readFile(join(dataDir, BUCKET, 'rp', 'ticket-1', 'face.jpg'))).toEqual(JPEG);
    await first.emu.close();

    const second = await startFixture({ dataDir });
    expect(await second.emu.getObject(BUCKET, key)).toEqual(JPEG);
    const got = await stsClient(second.emu).get(key);
    expect(Buffer.compare(got.content as Buffer, JPEG)).toBe(0);
    expect((got.res.headers as Record<string, string>)['content-type']).toBe('image/jpeg');

    await stsClient(second.emu).delete(key);
    expect(existsSync(join(dataDir, BUCKET, 'rp', 'ticket-1', 'face.jpg'))).toBe(false);
  });

  it('lists the files a first emulator left, with their server-side encryption kept', async () => {
    const dataDir = await tempDir();
    const first = await startFixture({ dataDir });
    const writer = permanentClient(first.emu);
    await writer.put('docs/b/2.bin', Buffer.from('22'), {
      headers: { 'x-oss-server-side-encryption': 'SM4' },
    });
    await writer.put('docs/a.bin', Buffer.from('1'));
    await writer.put('docs/b/1.bin', Buffer.from('333'));
    await writer.put('elsewhere/c.bin', Buffer.from('c'));
    await first.emu.close();

    const second = await startFixture({ dataDir });
    const oss = permanentClient(second.emu);
    const pages = await listAll(oss, { prefix: 'docs/' }, 2);
    expect(pages.flatMap((p) => p.objects.map((o) => [o.name, o.size]))).toEqual([
      ['docs/a.bin', 1],
      ['docs/b/1.bin', 3],
      ['docs/b/2.bin', 2],
    ]);
    const etag = `"${createHash('md5').update('22').digest('hex').toUpperCase()}"`;
    expect(pages[1]?.objects[0]?.etag).toBe(etag);
    expect((await oss.listV2({ prefix: 'docs/', delimiter: '/' })).prefixes).toEqual(['docs/b/']);
    expect((await oss.head('docs/b/2.bin')).res.headers).toMatchObject({
      'x-oss-server-side-encryption': 'SM4',
    });
    await oss.delete('docs/b/1.bin');
    const after = await oss.listV2({ prefix: 'docs/b/' });
    expect(after.objects.map((o) => o.name)).toEqual(['docs/b/2.bin']);
  });

  it('keeps the first object of a forbid-overwrite PUT across emulators on the same dir', async () => {
    const dataDir = await tempDir();
    const first = await startFixture({ dataDir });
    await permanentClient(first.emu).put('once.bin', Buffer.from('first'));
    await first.emu.close();
    const second = await startFixture({ dataDir });
    const err = await failure(
      permanentClient(second.emu).put('once.bin', Buffer.from('second'), {
        headers: { 'x-oss-forbid-overwrite': 'true' },
      }),
    );
    expect(err).toMatchObject({ code: 'FileAlreadyExists', status: 409 });
    expect(await second.emu.getObject(BUCKET, 'once.bin')).toEqual(Buffer.from('first'));
  });

  it('refuses a key whose file would sit where another object is, with InvalidObjectName 400', async () => {
    const dataDir = await tempDir();
    const { emu } = await startFixture({ dataDir });
    const oss = stsClient(emu);
    await oss.put(`${STS.path}a`, Buffer.from('a'));
    const err = await failure(oss.put(`${STS.path}a/b`, Buffer.from('b')));
    expect(err).toMatchObject({ code: 'InvalidObjectName', status: 400 });
  });
});

describe('the OSS emulator started with the Cloudauth emulator', () => {
  const CLOUDAUTH_KEY = { accessKeyId: 'LTAIcloudauthKey', accessKeySecret: 'cloudauth-secret' };
  const STAGING_KEY = { accessKeyId: 'LTAIstagingKey', accessKeySecret: 'staging-secret' };

  function start(ossAccessKeys: Record<string, string>) {
    return startEmulators(
      {
        port: 0,
        accessKeys: { [CLOUDAUTH_KEY.accessKeyId]: CLOUDAUTH_KEY.accessKeySecret },
        biz: { RPBasic: 'RPBasic' },
        ossBucket: 'cloudauth-bucket',
      },
      { ossBuckets: ['staging-bucket', 'cloudauth-bucket'], ossAccessKeys },
    );
  }

  it('serves extra buckets to a key pair of its own, which the Cloudauth emulator does not know', async () => {
    const started = await start({ [STAGING_KEY.accessKeyId]: STAGING_KEY.accessKeySecret });
    onTestFinished(() => started.close());
    const { oss: emu, cloudauth } = started;
    const staging = new OSS({ endpoint: emu.url, bucket: 'staging-bucket', ...STAGING_KEY });
    await staging.put('staged/x.bin', Buffer.from('x'));
    expect((await staging.listV2({ prefix: 'staged/' })).objects.map((o) => o.name)).toEqual([
      'staged/x.bin',
    ]);
    const withCloudauthKey = new OSS({
      endpoint: emu.url,
      bucket: 'cloudauth-bucket',
      ...CLOUDAUTH_KEY,
    });
    await withCloudauthKey.put('rp/y.bin', Buffer.from('y'));
    expect(await emu.getObject('cloudauth-bucket', 'rp/y.bin')).toEqual(Buffer.from('y'));

    const pop = popClient(cloudauth.url, STAGING_KEY.accessKeyId, STAGING_KEY.accessKeySecret);
    const refused = await failure(
      pop.request('GetStatus', { Biz: 'RPBasic', TicketId: 'ticket-1' }, { method: 'POST' }),
    );
    expect(refused.code).toBe('InvalidAccessKeyId.NotFound');
  });

  it('refuses to start when an OSS key id is also a Cloudauth one', async () => {
    await expect(start({ [CLOUDAUTH_KEY.accessKeyId]: 'another-secret' })).rejects.toThrow(
      /LTAIcloudauthKey/,
    );
  });
});
