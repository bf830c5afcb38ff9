import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import OSS from 'ali-oss';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import { leaseOf } from '../../src/adapters/cloudauth/provider-2018.js';
import { OssMaterialUploader } from '../../src/adapters/oss/uploader.js';
import { OssStagingStore } from '../../src/adapters/staging/oss-staging-store.js';
import {
  startOssEmulator,
  type OssCredential,
  type OssEmulator,
} from '../../src/emulator/oss/index.js';
import {
  formatOssV4Date,
  v4Authorization,
  v4CanonicalRequest,
  v4StringToSign,
} from '../../src/emulator/oss/oss-signature-v4.js';
import { startEmulators } from '../../src/emulator/start.js';

const BUCKET = 'verify-img';
const OTHER_BUCKET = 'other-bucket';
const HOST = `${BUCKET}.oss-cn-hangzhou.aliyuncs.com`;
const REGION = 'cn-hangzhou';
const STS = {
  accessKeyId: 'STS.NV4eTodte64fJxeVqRCLfw8Gf',
  accessKeySecret: 'sts-secret-v4-Wq3p9',
  securityToken: 'CAIS6AF1q6Ft5B2yfSjIr5DfLu7biatEgfaNSF7UsnEHT8NKmP3s-v4',
  path: 'rp/ticket-1/',
};
const PERMANENT = { accessKeyId: 'LTAIpermanentV4', accessKeySecret: 'permanent-secret-v4' };
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9]);

interface OssClientError {
  code: string;
  status: number;
  ecCode?: string;
  requestId: string;
  message: string;
}

async function startFixture() {
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
  });
  onTestFinished(() => emu.close());
  return { emu, clock };
}

/** The real ali-oss client signing V4, with the STS credential unless overridden. */
function v4Client(endpoint: string, overrides: Record<string, unknown> = {}): OSS {
  return new OSS({
    endpoint,
    accessKeyId: STS.accessKeyId,
    accessKeySecret: STS.accessKeySecret,
    stsToken: STS.securityToken,
    refreshSTSToken: () =>
      Promise.resolve({
        accessKeyId: STS.accessKeyId,
        accessKeySecret: STS.accessKeySecret,
        stsToken: STS.securityToken,
      }),
    refreshSTSTokenInterval: 24 * 60 * 60_000,
    bucket: BUCKET,
    region: 'oss-cn-hangzhou',
    authorizationV4: true,
    timeout: 5000,
    ...overrides,
  });
}

function permanentV4Client(endpoint: string, overrides: Record<string, unknown> = {}): OSS {
  return v4Client(endpoint, {
    ...PERMANENT,
    stsToken: undefined,
    refreshSTSToken: undefined,
    ...overrides,
  });
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
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request exactly as given, Host `verify-img.oss-cn-hangzhou.aliyuncs.com` by default. */
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
      { host: url.hostname, port: url.port, method, path, headers: { host: HOST, ...headers } },
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

interface SignedGet {
  key: string;
  headers: Record<string, string>;
}

/**
 * A GET of `key` signed V4 with the STS credential by the emulator's own pure functions, over the
 * given x-oss-date, region and extra headers.
 */
function stsSignedGet(
  options: {
    key?: string;
    ossDate?: string;
    region?: string;
    headers?: Record<string, string>;
  } = {},
): SignedGet {
  const key = options.key ?? `${STS.path}face.jpg`;
  const headers: Record<string, string> = {
    'x-oss-date': options.ossDate ?? formatOssV4Date(Date.now()),
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-oss-security-token': STS.securityToken,
    ...options.headers,
  };
  headers.authorization = v4Authorization(
    STS.accessKeyId,
    STS.accessKeySecret,
    options.region ?? REGION,
    { method: 'GET', bucket: BUCKET, key, headers },
  );
  return { key, headers };
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

/**
 * A loopback forwarder in front of the emulator that notes the scheme of every Authorization
 * header (`OSS4-HMAC-SHA256` or `OSS`): how a test sees which signature our clients send.
 */
async function schemeRecorder(emu: OssEmulator) {
  const upstream = new URL(emu.url);
  const schemes: string[] = [];
  const server = createServer((req, res) => {
    schemes.push(String(req.headers.authorization ?? '').split(' ')[0] ?? '');
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, schemes };
}

describe('signature V4 on the OSS emulator, with the real ali-oss client', () => {
  it('puts, gets, heads and deletes with STS credentials (Host-named bucket, IP endpoint)', async () => {
    const { emu } = await startFixture();
    const oss = v4Client(emu.url);
    const key = `${STS.path}face (1)+证件.jpg`;
    expect((await oss.put(key, JPEG)).res.status).toBe(200);
    expect(await emu.getObject(BUCKET, key)).toEqual(JPEG);
    const got = await oss.get(key);
    expect(got.content).toEqual(JPEG);
    const head = await oss.head(key);
    expect((head.res.headers as Record<string, string>)['content-length']).toBe(
      String(JPEG.length),
    );
    expect((await oss.delete(key)).res.status).toBe(204);
    expect(await emu.getObject(BUCKET, key)).toBeUndefined();
  });

  it('lists page by page and deletes many with a permanent key', async () => {
    const { emu } = await startFixture();
    const oss = permanentV4Client(emu.url);
    const keys = ['list/a b.bin', 'list/b+c.bin', "list/(d)!*'.bin"];
    for (const key of keys) await oss.put(key, Buffer.from(key));
    const first = await oss.listV2({ prefix: 'list/', 'max-keys': 2 });
    expect(first.isTruncated).toBe(true);
    const second = await oss.listV2({
      prefix: 'list/',
      'max-keys': 2,
      'continuation-token': first.nextContinuationToken,
    });
    expect([...first.objects, ...second.objects].map((o) => o.name)).toEqual(
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const deleted = await oss.deleteMulti(keys, { quiet: false });
    expect(deleted.deleted).toHaveLength(3);
    expect((await oss.listV2({ prefix: 'list/' })).objects ?? []).toEqual([]);
  });

  it('serves path-style V4 requests, on an IP endpoint and on a plain host name', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}back.jpg`;
    await v4Client(emu.url, { sldEnable: true }).put(key, JPEG);
    expect(await emu.getObject(BUCKET, key)).toEqual(JPEG);
    // `localhost` names no region: any standard region id signs.
    const local = emu.url.replace('127.0.0.1', 'localhost');
    const shanghai = v4Client(local, { sldEnable: true, region: 'oss-cn-shanghai' });
    expect((await shanghai.get(key)).content).toEqual(JPEG);
  });

  it('signs and checks AdditionalHeaders, and takes a space after each comma', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}doc.pdf`;
    const oss = v4Client(emu.url);
    await oss.put(key, JPEG, {
      headers: { 'Content-Disposition': 'inline' },
      additionalHeaders: ['content-disposition'],
    } as OSS.PutObjectOptions);
    expect(await emu.getObject(BUCKET, key)).toEqual(JPEG);

    const { headers } = stsSignedGet({ key });
    const spaced = headers.authorization?.replace(/,/g, ', ') ?? '';
    expect(spaced).toContain(', Signature=');
    const res = await raw(emu, 'GET', `/${key}`, { ...headers, authorization: spaced });
    expect(res.status).toBe(200);
  });
});

describe('signature V4 refusals, provoked for real', () => {
  it('answers SignatureDoesNotMatch 403 to a wrong secret, on PUT, GET and HEAD', async () => {
    const { emu } = await startFixture();
    const oss = v4Client(emu.url, { accessKeySecret: 'not-the-secret' });
    const key = `${STS.path}face.jpg`;
    expect(await failure(oss.put(key, JPEG))).toMatchObject({
      code: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await failure(oss.get(key))).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await failure(oss.head(key))).toMatchObject({
      code: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await emu.getObject(BUCKET, key)).toBeUndefined();
  });

  it('echoes the V4 string to sign and canonical request of a mismatch, with their bytes', async () => {
    const { emu } = await startFixture();
    const { key, headers } = stsSignedGet();
    const provided = '0'.repeat(64);
    const tampered = {
      ...headers,
      authorization:
        headers.authorization?.replace(/Signature=\w+$/, `Signature=${provided}`) ?? '',
    };
    const res = await raw(emu, 'GET', `/${key}`, tampered);
    expect(res.status).toBe(403);
    expect(xmlField(res.body, 'Code')).toBe('SignatureDoesNotMatch');
    expect(xmlField(res.body, 'OSSAccessKeyId')).toBe(STS.accessKeyId);
    expect(xmlField(res.body, 'SignatureProvided')).toBe(provided);
    const canonical = v4CanonicalRequest({ method: 'GET', bucket: BUCKET, key, headers });
    const ossDate = headers['x-oss-date'] ?? '';
    expect(xmlField(res.body, 'CanonicalRequest')).toBe(canonical);
    expect(xmlField(res.body, 'StringToSign')).toBe(v4StringToSign(ossDate, REGION, canonical));
    expect(xmlField(res.body, 'StringToSignBytes')).toMatch(/^4F 53 53 34 2D /); // "OSS4-"
    expect(xmlField(res.body, 'CanonicalRequestBytes')).toMatch(/^47 45 54 0A 2F /); // "GET\n/"
  });

  it('answers SecurityTokenExpired 403 once the STS credential Cloudauth issued has expired', async () => {
    const clock = { now: Date.now() };
    const started = await startEmulators(
      {
        port: 0,
        accessKeys: { LTAIv4Orchestrator: 'v4-secret' },
        biz: { RPBasic: 'RPBasic' },
        stsSeconds: 60,
        clock: () => clock.now,
      },
      {},
    );
    onTestFinished(() => started.close());
    const cloudauth = new CloudauthClient({
      endpoint: started.cloudauth.url,
      accessKeyId: 'LTAIv4Orchestrator',
      accessKeySecret: 'v4-secret',
      timeoutMs: 5000,
    });
    onTestFinished(() => cloudauth.close());
    const { sts } = leaseOf(
      await cloudauth.getVerifyToken({ biz: 'RPBasic', ticketId: 'v4-expiry-1' }),
      clock.now,
    );
    const oss = v4Client(sts.endPoint, {
      accessKeyId: sts.accessKeyId,
      accessKeySecret: sts.accessKeySecret,
      stsToken: sts.securityToken,
      refreshSTSToken: undefined,
      bucket: sts.bucketName,
    });
    const key = `${sts.path}face.jpg`;
    expect((await oss.put(key, JPEG)).res.status).toBe(200);
    clock.now += 61_000;
    expect(await failure(oss.put(key, JPEG))).toMatchObject({
      code: 'SecurityTokenExpired',
      status: 403,
      ecCode: '0002-00000007',
    });
  });

  it('answers InvalidSecurityToken 403 to another token, InvalidAccessKeyId 403 to none or an unknown id', async () => {
    const { emu } = await startFixture();
    const key = `${STS.path}face.jpg`;
    const other = v4Client(emu.url, {
      stsToken: 'CAIS-some-other-token',
      refreshSTSToken: undefined,
    });
    expect(await failure(other.get(key))).toMatchObject({
      code: 'InvalidSecurityToken',
      status: 403,
      ecCode: '0002-00000006',
    });
    const none = v4Client(emu.url, { stsToken: undefined, refreshSTSToken: undefined });
    const lost = await failure(none.get(key));
    expect(lost).toMatchObject({ code: 'InvalidAccessKeyId', status: 403 });
    expect(lost.message).toContain('The Security Token may be lost');
    const unknown = v4Client(emu.url, { accessKeyId: 'STS.unknown' });
    expect(await failure(unknown.get(key))).toMatchObject({
      code: 'InvalidAccessKeyId',
      status: 403,
    });
  });

  it('answers AccessDenied 403 to a key outside the STS Path or in another bucket', async () => {
    const { emu } = await startFixture();
    const outside = await failure(v4Client(emu.url).put('rp/ticket-2/face.jpg', JPEG));
    expect(outside).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(outside.message).toBe("Access denied by authorizer's policy.");
    const bucket = await failure(
      v4Client(emu.url, { bucket: OTHER_BUCKET }).get(`${STS.path}face.jpg`),
    );
    expect(bucket).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(await failure(v4Client(emu.url).listV2({ prefix: STS.path }))).toMatchObject({
      code: 'AccessDenied',
    });
  });

  it('answers RequestTimeTooSkewed 403 to a client clock 16 minutes off, and to a signed date off', async () => {
    const { emu } = await startFixture();
    const oss = v4Client(emu.url);
    // ali-oss dates its requests by Date.now() plus options.amendTimeSkewed.
    (oss as unknown as { options: { amendTimeSkewed: number } }).options.amendTimeSkewed =
      -16 * 60_000;
    expect(await failure(oss.get(`${STS.path}face.jpg`))).toMatchObject({
      code: 'RequestTimeTooSkewed',
      status: 403,
    });
    const { key, headers } = stsSignedGet({ ossDate: formatOssV4Date(Date.now() + 16 * 60_000) });
    const res = await raw(emu, 'GET', `/${key}`, headers);
    expect(res.status).toBe(403);
    expect(xmlField(res.body, 'Code')).toBe('RequestTimeTooSkewed');
    expect(xmlField(res.body, 'RequestTime')).toBe(headers['x-oss-date']);
  });

  it('answers a missing x-oss-date (EC 0002-00000503) and a malformed one (EC 0002-00000502) with AccessDenied 403', async () => {
    const { emu } = await startFixture();
    const signed = stsSignedGet();
    const { 'x-oss-date': _date, ...withoutDate } = signed.headers;
    const missing = await raw(emu, 'GET', `/${signed.key}`, withoutDate);
    expect(missing.status).toBe(403);
    expect(xmlField(missing.body, 'Code')).toBe('AccessDenied');
    expect(missing.headers['x-oss-ec']).toBe('0002-00000503');

    // Signed over a well-formed date, then sent with the RFC 1123 form V1 uses.
    const malformed = await raw(emu, 'GET', `/${signed.key}`, {
      ...signed.headers,
      'x-oss-date': new Date().toUTCString(),
    });
    expect(malformed.status).toBe(403);
    expect(xmlField(malformed.body, 'Code')).toBe('AccessDenied');
    expect(malformed.headers['x-oss-ec']).toBe('0002-00000502');
  });

  it('answers InvalidArgument 400 to a Credential date other than the x-oss-date date', async () => {
    const { emu } = await startFixture();
    const { key, headers } = stsSignedGet();
    const today = headers['x-oss-date']?.slice(0, 8) ?? '';
    const yesterday = formatOssV4Date(Date.now() - 24 * 3600_000).slice(0, 8);
    const authorization = headers.authorization?.replace(`/${today}/`, `/${yesterday}/`) ?? '';
    expect(authorization).toContain(`/${yesterday}/${REGION}/`);
    const res = await raw(emu, 'GET', `/${key}`, { ...headers, authorization });
    expect(res.status).toBe(400);
    expect(xmlField(res.body, 'Code')).toBe('InvalidArgument');
    expect(xmlField(res.body, 'Message')).toContain('not the date of x-oss-date');
  });

  it('answers InvalidArgument 400 (EC 0002-00000214) to an x-oss-content-sha256 other than UNSIGNED-PAYLOAD', async () => {
    const { emu } = await startFixture();
    const hash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const { key, headers } = stsSignedGet({ headers: { 'x-oss-content-sha256': hash } });
    const res = await raw(emu, 'GET', `/${key}`, headers);
    expect(res.status).toBe(400);
    expect(xmlField(res.body, 'Code')).toBe('InvalidArgument');
    expect(xmlField(res.body, 'ArgumentName')).toBe('x-oss-content-sha256');
    expect(xmlField(res.body, 'ArgumentValue')).toBe(hash);
    expect(res.headers['x-oss-ec']).toBe('0002-00000214');
    const { 'x-oss-content-sha256': _sha, ...withoutSha } = stsSignedGet().headers;
    expect((await raw(emu, 'GET', `/${key}`, withoutSha)).headers['x-oss-ec']).toBe(
      '0002-00000214',
    );
  });

  it.each([
    ['the endpoint label oss-cn-hangzhou', 'oss-cn-hangzhou'],
    ["another region than the Host's", 'cn-beijing'],
  ])(
    'answers InvalidArgument 400 (EC 0002-00000226) to a scope region of %s',
    async (_n, region) => {
      const { emu } = await startFixture();
      const { key, headers } = stsSignedGet({ region });
      const res = await raw(emu, 'GET', `/${key}`, headers);
      expect(res.status).toBe(400);
      expect(xmlField(res.body, 'Code')).toBe('InvalidArgument');
      expect(xmlField(res.body, 'Message')).toBe('Invalid signing region in Authorization header.');
      expect(res.headers['x-oss-ec']).toBe('0002-00000226');
    },
  );

  it('answers InvalidArgument 400 to a malformed OSS4-HMAC-SHA256 header', async () => {
    const { emu } = await startFixture();
    const { key, headers } = stsSignedGet();
    const suffix = headers.authorization?.replace('/aliyun_v4_request', '/abc') ?? '';
    const badSuffix = await raw(emu, 'GET', `/${key}`, { ...headers, authorization: suffix });
    expect(badSuffix.status).toBe(400);
    expect(badSuffix.headers['x-oss-ec']).toBe('0002-00000213');
    const noSignature = headers.authorization?.replace(/,Signature=\w+$/, '') ?? '';
    const res = await raw(emu, 'GET', `/${key}`, { ...headers, authorization: noSignature });
    expect(res.status).toBe(400);
    expect(xmlField(res.body, 'Code')).toBe('InvalidArgument');
  });
});

describe('our OSS clients sign V4 by default', () => {
  const FITTED = { field: 'FacePic', bytes: JPEG, type: 'jpeg' as const, width: 1, height: 1 };

  it('uploads materials under an STS lease with V4, and with V1 when told', async () => {
    const { emu } = await startFixture();
    const recorder = await schemeRecorder(emu);
    const lease = {
      ...STS,
      endPoint: recorder.url,
      bucketName: BUCKET,
    };
    const ref = await new OssMaterialUploader({ timeoutMs: 5000 }).upload(lease, FITTED);
    expect(ref).toBe(`oss://${BUCKET}:${OssMaterialUploader.keyFor(lease, FITTED)}`);
    expect(await emu.getObject(BUCKET, OssMaterialUploader.keyFor(lease, FITTED))).toEqual(JPEG);
    expect(recorder.schemes).toEqual(['OSS4-HMAC-SHA256']);

    await new OssMaterialUploader({ timeoutMs: 5000, signatureVersion: 'v1' }).upload(
      lease,
      FITTED,
    );
    expect(recorder.schemes).toEqual(['OSS4-HMAC-SHA256', 'OSS']);
  });

  it('stages, reads, lists and erases with V4 through the OSS staging store', async () => {
    const { emu } = await startFixture();
    const recorder = await schemeRecorder(emu);
    const store = new OssStagingStore({
      endpoint: recorder.url,
      bucket: OTHER_BUCKET,
      ...PERMANENT,
      prefix: 'staging/',
      timeoutMs: 5000,
      key: randomBytes(32),
    });
    const ref = await store.put('ticket-v4-1', JPEG);
    expect(await store.get('ticket-v4-1', ref)).toEqual(JPEG);
    expect(await store.exists('ticket-v4-1', ref)).toBe(true);
    expect(await store.deleteTicket('ticket-v4-1')).toBe(1);
    expect(recorder.schemes.length).toBeGreaterThanOrEqual(6);
    expect(new Set(recorder.schemes)).toEqual(new Set(['OSS4-HMAC-SHA256']));
  });
});
