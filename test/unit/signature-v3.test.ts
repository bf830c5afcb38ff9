import { stringify } from 'node:querystring';
import OpenApiUtilModule from '@alicloud/openapi-util';
import { describe, expect, it } from 'vitest';
import { PopError } from '../../src/emulator/pop/pop-error.js';
import {
  authorizationV3,
  canonicalQueryV3,
  hashPayloadV3,
  isV3,
  verifyV3,
  type IncomingSignedRequest,
} from '../../src/emulator/pop/signature-v3.js';

type OpenApiUtilClass = typeof OpenApiUtilModule.default;
/** Node's ESM loader gives module.exports as the default import; vitest unwraps it to `.default`. */
const loaded: unknown = OpenApiUtilModule;
const OpenApiUtil = (
  typeof loaded === 'function' ? loaded : OpenApiUtilModule.default
) as OpenApiUtilClass;
type TeaRequest = Parameters<typeof OpenApiUtil.getAuthorization>[0];

const keys: Record<string, string> = {
  'test-key-id': 'test-key-secret',
  'STS.test-sts-id': 'test-sts-secret',
  YourAccessKeyId: 'YourAccessKeySecret',
};
const lookup = (id: string) => keys[id];

interface SdkCall {
  method?: string;
  action?: string;
  version?: string;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  algorithm?: string;
  accessKeyId?: string;
  secret?: string;
  securityToken?: string;
  date?: string;
  nonce?: string;
  omitHeaders?: string[];
}

/**
 * Builds the request the way openapi-client 0.4.15 `doRequest` does (style RPC, reqBodyType
 * formData), signs it with openapi-util's own `getAuthorization`, and returns what node's HTTP
 * server would hand the gateway: lower-cased headers, the query decoded from the wire form.
 */
function sdkSigned(call: SdkCall = {}): IncomingSignedRequest {
  const algorithm = call.algorithm ?? 'ACS3-HMAC-SHA256';
  const accessKeyId = call.accessKeyId ?? 'test-key-id';
  const query = call.query ?? { BizType: 'FVBioOnly', BizId: 'biz-1' };
  const headers: Record<string, string> = {
    host: '127.0.0.1:8000',
    'x-acs-version': call.version ?? '2019-03-07',
    'x-acs-action': call.action ?? 'DescribeVerifyToken',
    'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/1',
    'x-acs-date': call.date ?? '2026-01-02T03:04:05Z',
    'x-acs-signature-nonce': call.nonce ?? '852ada84b8908e6ac3cfe02e17a2c7a1',
    accept: 'application/json',
  };
  let body = Buffer.alloc(0);
  let hashed = OpenApiUtil.hexEncode(OpenApiUtil.hash(Buffer.from(''), algorithm));
  if (call.body) {
    const form = OpenApiUtil.toForm(call.body);
    body = Buffer.from(form);
    hashed = OpenApiUtil.hexEncode(OpenApiUtil.hash(body, algorithm));
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  headers['x-acs-content-sha256'] = hashed;
  headers['x-acs-credentials-provider'] = 'static_ak';
  if (call.securityToken) {
    headers['x-acs-accesskey-id'] = accessKeyId;
    headers['x-acs-security-token'] = call.securityToken;
  }
  for (const name of call.omitHeaders ?? []) delete headers[name];
  const method = call.method ?? 'POST';
  const tea = { protocol: 'http', method, pathname: '/', query: { ...query }, headers };
  const authorization = OpenApiUtil.getAuthorization(
    tea as unknown as TeaRequest,
    algorithm,
    hashed,
    accessKeyId,
    call.secret ?? keys[accessKeyId] ?? 'unknown-secret',
  );
  return {
    method,
    path: '/',
    query: Object.fromEntries(new URLSearchParams(stringify(query))),
    headers: { ...headers, authorization },
    body,
  };
}

function rejection(run: () => unknown): PopError {
  try {
    run();
  } catch (err) {
    if (err instanceof PopError) return err;
    throw err;
  }
  throw new Error('expected a PopError');
}

function withHeaders(
  req: IncomingSignedRequest,
  headers: Record<string, string | undefined>,
): IncomingSignedRequest {
  return { ...req, headers: { ...req.headers, ...headers } };
}

const tricky = {
  query: { BizType: 'FVBioOnly', Name: "张三 *(o)!'~+&=/", Empty: '' },
  body: {
    FaceRetainedImageUrl: 'https://bucket.oss.example.test/a b.jpg?x=1&y=*',
    Material: [
      { MaterialType: 'Name', Value: '李四' },
      { MaterialType: 'IdentificationNumber', Value: '330103201912011234' },
    ],
  },
};

describe('verifyV3 accepts what openapi-util signs', () => {
  it('a POST with query and form-body params, and returns the common headers', () => {
    const verified = verifyV3(sdkSigned(tricky), lookup);
    expect(verified).toEqual({
      accessKeyId: 'test-key-id',
      algorithm: 'ACS3-HMAC-SHA256',
      action: 'DescribeVerifyToken',
      version: '2019-03-07',
      nonce: '852ada84b8908e6ac3cfe02e17a2c7a1',
      date: '2026-01-02T03:04:05Z',
      signedHeaders: [
        'content-type',
        'host',
        'x-acs-action',
        'x-acs-content-sha256',
        'x-acs-credentials-provider',
        'x-acs-date',
        'x-acs-signature-nonce',
        'x-acs-version',
      ],
    });
  });

  it('a GET without a body (hash of the empty string)', () => {
    const req = sdkSigned({ method: 'GET', query: tricky.query });
    expect(req.headers['x-acs-content-sha256']).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(verifyV3(req, lookup).action).toBe('DescribeVerifyToken');
  });

  it('a POST with no query at all', () => {
    expect(verifyV3(sdkSigned({ query: {}, body: tricky.body }), lookup).accessKeyId).toBe(
      'test-key-id',
    );
  });

  it('STS credentials, returning the security token', () => {
    const req = sdkSigned({ ...tricky, accessKeyId: 'STS.test-sts-id', securityToken: 'tok/+=' });
    expect(verifyV3(req, lookup)).toMatchObject({
      accessKeyId: 'STS.test-sts-id',
      securityToken: 'tok/+=',
    });
  });

  it('ACS3-HMAC-SM3', () => {
    const req = sdkSigned({ ...tricky, algorithm: 'ACS3-HMAC-SM3' });
    expect(verifyV3(req, lookup).algorithm).toBe('ACS3-HMAC-SM3');
  });

  it('a changed header that is not signed (user-agent, accept)', () => {
    const req = withHeaders(sdkSigned(tricky), { 'user-agent': 'other', accept: 'text/xml' });
    expect(verifyV3(req, lookup).action).toBe('DescribeVerifyToken');
  });
});

describe('verifyV3 rejects', () => {
  it('a tampered body', () => {
    const req = sdkSigned(tricky);
    const err = rejection(() => verifyV3({ ...req, body: Buffer.from('BizType=other') }, lookup));
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
    expect(err.message).toContain(
      `x-acs-content-sha256 is ${String(req.headers['x-acs-content-sha256'])}`,
    );
  });

  it('a tampered body with a recomputed x-acs-content-sha256', () => {
    const body = Buffer.from('BizType=other');
    const req = withHeaders(sdkSigned(tricky), {
      'x-acs-content-sha256': hashPayloadV3('ACS3-HMAC-SHA256', body),
    });
    const err = rejection(() => verifyV3({ ...req, body }, lookup));
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
    expect(err.message).toContain('server string to sign is:ACS3-HMAC-SHA256\n');
    expect(err.message).toContain('canonical request is:POST\n/\n');
  });

  it.each([
    ['x-acs-action', 'DescribeVerifyResult'],
    ['x-acs-version', '2018-09-16'],
    ['x-acs-date', '2026-01-02T03:04:06Z'],
    ['x-acs-signature-nonce', 'another-nonce'],
    ['x-acs-credentials-provider', 'env'],
    ['host', 'cloudauth.aliyuncs.com'],
    ['content-type', 'application/json'],
  ])('a tampered signed header %s', (name, value) => {
    const err = rejection(() =>
      verifyV3(withHeaders(sdkSigned(tricky), { [name]: value }), lookup),
    );
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
  });

  it('a tampered query value, an added and a removed query param', () => {
    const req = sdkSigned(tricky);
    const tampered = [
      { ...req.query, Name: '张三' },
      { ...req.query, Extra: '1' },
      { BizType: 'FVBioOnly', Name: req.query.Name ?? '' },
    ];
    for (const query of tampered) {
      const err = rejection(() => verifyV3({ ...req, query }, lookup));
      expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
    }
  });

  it('another method or path', () => {
    const req = sdkSigned(tricky);
    for (const changed of [{ method: 'PUT' }, { path: '/x' }]) {
      const err = rejection(() => verifyV3({ ...req, ...changed }, lookup));
      expect(err.code).toBe('SignatureDoesNotMatch');
    }
  });

  it('a request signed with the wrong secret', () => {
    const err = rejection(() => verifyV3(sdkSigned({ ...tricky, secret: 'wrong' }), lookup));
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
  });

  it('a tampered security token', () => {
    const req = sdkSigned({ accessKeyId: 'STS.test-sts-id', securityToken: 'tok' });
    const err = rejection(() =>
      verifyV3(withHeaders(req, { 'x-acs-security-token': 'other' }), lookup),
    );
    expect(err.code).toBe('SignatureDoesNotMatch');
  });

  it('an unknown access key with InvalidAccessKeyId.NotFound 400', () => {
    const err = rejection(() => verifyV3(sdkSigned({ accessKeyId: 'nobody' }), lookup));
    expect(err).toMatchObject({ code: 'InvalidAccessKeyId.NotFound', status: 400 });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['algorithm only', 'ACS3-HMAC-SHA256'],
    ['no Signature', 'ACS3-HMAC-SHA256 Credential=test-key-id,SignedHeaders=host'],
    ['no Credential', 'ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00'],
    ['no SignedHeaders', 'ACS3-HMAC-SHA256 Credential=test-key-id,Signature=00'],
    ['an empty signed header', 'ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;;x,Signature=00'],
    ['an unsupported algorithm', 'ACS3-RSA-SHA256 Credential=k,SignedHeaders=host,Signature=00'],
  ])('a malformed Authorization (%s) with IncompleteSignature 400', (_, authorization) => {
    const req = withHeaders(sdkSigned(tricky), { authorization });
    const err = rejection(() => verifyV3(req, lookup));
    expect(err).toMatchObject({ code: 'IncompleteSignature', status: 400 });
  });

  it.each([
    'x-acs-action',
    'x-acs-version',
    'x-acs-date',
    'x-acs-signature-nonce',
    'x-acs-content-sha256',
  ])('a request without %s with MissingParameter naming it', (name) => {
    const req = sdkSigned({ ...tricky, omitHeaders: [name] });
    const err = rejection(() => verifyV3(req, lookup));
    expect(err).toMatchObject({ code: 'MissingParameter', status: 400 });
    expect(err.message).toContain(`"${name}"`);
  });

  it('a common header present but left out of SignedHeaders', () => {
    const req = sdkSigned({ ...tricky, omitHeaders: ['x-acs-date'] });
    const err = rejection(() =>
      verifyV3(withHeaders(req, { 'x-acs-date': '2026-01-02T03:04:05Z' }), lookup),
    );
    expect(err).toMatchObject({ code: 'IncompleteSignature', status: 400 });
    expect(err.message).toContain('x-acs-date');
  });
});

describe('fixed V3 vectors', () => {
  it('reproduces the example of the V3 signature doc (POST RunInstances, empty body)', () => {
    const query = {
      ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd',
      RegionId: 'cn-shanghai',
    };
    const headers = {
      host: 'ecs.cn-shanghai.aliyuncs.com',
      'x-acs-action': 'RunInstances',
      'x-acs-version': '2014-05-26',
      'x-acs-date': '2023-10-26T09:01:01Z',
      'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
      'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    };
    const expected =
      'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;' +
      'x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,' +
      'Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804';
    const tea = { method: 'POST', pathname: '/', query, headers };
    expect(
      OpenApiUtil.getAuthorization(
        tea as unknown as TeaRequest,
        'ACS3-HMAC-SHA256',
        headers['x-acs-content-sha256'],
        'YourAccessKeyId',
        'YourAccessKeySecret',
      ),
    ).toBe(expected);
    const req = { method: 'POST', path: '/', query, headers };
    expect(authorizationV3(req, 'YourAccessKeyId', 'YourAccessKeySecret')).toBe(expected);
    const verified = verifyV3(
      { ...req, headers: { ...headers, authorization: expected }, body: Buffer.alloc(0) },
      lookup,
    );
    expect(verified.action).toBe('RunInstances');
  });

  it('reproduces an SDK-computed STS POST with a UTF-8 form body', () => {
    const req = sdkSigned({ ...tricky, accessKeyId: 'STS.test-sts-id', securityToken: 'tok' });
    expect(req.body.toString()).toBe(
      'FaceRetainedImageUrl=https%3A%2F%2Fbucket.oss.example.test%2Fa%20b.jpg%3Fx%3D1%26y%3D*' +
        '&Material.1.MaterialType=Name&Material.1.Value=%E6%9D%8E%E5%9B%9B' +
        '&Material.2.MaterialType=IdentificationNumber&Material.2.Value=330103201912011234',
    );
    const expected =
      'ACS3-HMAC-SHA256 Credential=STS.test-sts-id,SignedHeaders=content-type;host;' +
      'x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;' +
      'x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,' +
      'Signature=0590f38418436beeb90cdc414550d2ce22e888241c8f5f2a8e52ceb3be9ad92a';
    expect(req.headers.authorization).toBe(expected);
    expect(authorizationV3(req, 'STS.test-sts-id', 'test-sts-secret')).toBe(expected);
    expect(verifyV3(req, lookup).securityToken).toBe('tok');
  });
});

describe('canonicalQueryV3', () => {
  it('sorts by raw name and RFC 3986-encodes values once', () => {
    expect(canonicalQueryV3({ b: "x y*(!)'~", B: '', a: '张' })).toBe(
      'B=&a=%E5%BC%A0&b=x%20y%2A%28%21%29%27~',
    );
  });
});

describe('isV3', () => {
  it.each([
    [{ authorization: 'ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=0' }, true],
    [{ authorization: 'ACS3-HMAC-SM3 Credential=a' }, true],
    [{ authorization: 'acs test:abc' }, false],
    [{ 'x-acs-action': 'DescribeVerifyToken', 'x-acs-version': '2019-03-07' }, false],
    [{}, false],
  ])('%j → %s', (headers, expected) => {
    expect(isV3(headers)).toBe(expected);
  });
});
