import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ossClientRegion, ossSigningOptions } from '../../src/adapters/oss/uploader.js';
import { endpointRegion } from '../../src/emulator/oss/oss-request.js';
import {
  formatOssV4Date,
  isStandardRegion,
  parseOssV4Date,
  parseV4Authorization,
  v4AdditionalHeaders,
  v4Authorization,
  v4CanonicalQuery,
  v4CanonicalRequest,
  v4CanonicalUri,
  v4Signature,
  v4SignaturesEqual,
  v4SigningKey,
  v4StringToSign,
  type OssV4RequestToSign,
} from '../../src/emulator/oss/oss-signature-v4.js';

/** ali-oss 6.23.0's own V4 signer, an independent second oracle besides the published vectors. */
interface AliOssSignUtils {
  authorizationV4(
    accessKeyId: string,
    accessKeySecret: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries?: Record<string, string | null> },
    bucketName?: string,
    objectName?: string,
    additionalHeaders?: string[],
  ): string;
}
const aliOss = createRequire(import.meta.url)('ali-oss/lib/common/signUtils.js') as AliOssSignUtils;

// The official known-answer tests (aliyun-oss-php-sdk SignerTest.php testSignerV4Header*,
// reproduced in the SDKs of the other languages); spec oss-v4.md §5.
const HEADERS = {
  'x-oss-head1': 'value',
  abc: 'value',
  ZAbc: 'value',
  XYZ: 'value',
  'content-type': 'text/plain',
  'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
};
const QUERY: [string, string][] = [
  ['param1', 'value1'],
  ['+param1', 'value3'],
  ['|param1', 'value4'],
  ['+param2', ''],
  ['|param2', ''],
  ['param2', ''],
];
const KAT = { accessKeyId: 'ak', secret: 'sk', region: 'cn-hangzhou' };

function katRequest(
  ossDate: string,
  extra: { headers?: Record<string, string>; additionalHeaders?: string[] } = {},
): OssV4RequestToSign {
  return {
    method: 'PUT',
    bucket: 'bucket',
    key: '1234+-/123/1.txt',
    headers: { ...HEADERS, 'x-oss-date': ossDate, ...extra.headers },
    query: QUERY,
    ...(extra.additionalHeaders ? { additionalHeaders: extra.additionalHeaders } : {}),
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('signature V4 against the official known-answer tests', () => {
  it('case 1: builds the canonical request, string to sign, signing key and signature', () => {
    const request = katRequest('20231216T162057Z');
    expect(formatOssV4Date(1702743657_000)).toBe('20231216T162057Z');
    const canonical = v4CanonicalRequest(request);
    expect(canonical).toBe(
      [
        'PUT',
        '/bucket/1234%2B-/123/1.txt',
        '%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2',
        'content-type:text/plain',
        'x-oss-content-sha256:UNSIGNED-PAYLOAD',
        'x-oss-date:20231216T162057Z',
        'x-oss-head1:value',
        '',
        '',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    );
    const stringToSign = v4StringToSign('20231216T162057Z', KAT.region, canonical);
    expect(stringToSign).toBe(
      [
        'OSS4-HMAC-SHA256',
        '20231216T162057Z',
        '20231216/cn-hangzhou/oss/aliyun_v4_request',
        'f4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4',
      ].join('\n'),
    );
    const signingKey = v4SigningKey(KAT.secret, '20231216', KAT.region);
    expect(signingKey.toString('hex')).toBe(
      'b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f',
    );
    expect(v4Signature(signingKey, stringToSign)).toBe(
      'e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe',
    );
    expect(v4Authorization(KAT.accessKeyId, KAT.secret, KAT.region, request)).toBe(
      'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe',
    );
  });

  it('case 2 (STS): signs x-oss-security-token after x-oss-head1', () => {
    const request = katRequest('20231217T034736Z', {
      headers: { 'x-oss-security-token': 'token' },
    });
    expect(formatOssV4Date(1702784856_000)).toBe('20231217T034736Z');
    const canonical = v4CanonicalRequest(request);
    expect(canonical).toContain('x-oss-head1:value\nx-oss-security-token:token\n\n\n');
    expect(sha256(canonical)).toBe(
      '69494678fb11579d4ee12996e2796d9e2ba43c34aa4c723c4aec018f3d6b86b8',
    );
    expect(v4Authorization(KAT.accessKeyId, KAT.secret, KAT.region, request)).toBe(
      'OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request,Signature=b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea',
    );
  });

  it.each([[['ZAbc', 'abc']], [['ZAbc', 'x-oss-no-exist', 'abc', 'x-oss-head1']]])(
    'case 3 (AdditionalHeaders %j): signs abc and zabc, drops x-oss-* names',
    (additional) => {
      const request = katRequest('20231216T172512Z', { additionalHeaders: additional });
      expect(formatOssV4Date(1702747512_000)).toBe('20231216T172512Z');
      const canonical = v4CanonicalRequest(request);
      expect(canonical.split('\n').slice(3)).toEqual([
        'abc:value',
        'content-type:text/plain',
        'x-oss-content-sha256:UNSIGNED-PAYLOAD',
        'x-oss-date:20231216T172512Z',
        'x-oss-head1:value',
        'zabc:value',
        '',
        'abc;zabc',
        'UNSIGNED-PAYLOAD',
      ]);
      expect(v4Authorization(KAT.accessKeyId, KAT.secret, KAT.region, request)).toBe(
        'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=abc;zabc,Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f',
      );
    },
  );
});

describe('signature V4 against ali-oss 6.23.0', () => {
  const headers = {
    'content-type': 'image/jpeg',
    'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==',
    'x-oss-date': '20261129T042800Z',
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-oss-security-token': 'CAIS-token',
    'content-disposition': 'inline',
  };
  it.each([
    ['an object key with reserved characters', "rp/abc/face+1 (2)!*'.jpg", {}, []],
    ['a unicode key', 'rp/证件/正面.jpg', {}, []],
    ['a listing', '', { 'list-type': '2', prefix: 'rp/a b/', 'max-keys': '1000' }, []],
    ['a signed extra header', 'rp/x.bin', {}, ['Content-Disposition']],
  ] as const)('agrees on %s', (_name, key, query, additional) => {
    const expected = aliOss.authorizationV4(
      'STS.ak',
      'secret',
      'cn-shanghai',
      'PUT',
      { headers: { ...headers }, queries: { ...query } },
      'verify-img',
      key,
      [...additional],
    );
    const got = v4Authorization('STS.ak', 'secret', 'cn-shanghai', {
      method: 'PUT',
      bucket: 'verify-img',
      key,
      headers,
      query: Object.entries(query),
      additionalHeaders: additional,
    });
    expect(got).toBe(expected);
  });
});

describe('the parts of signature V4', () => {
  it('encodes the URI as RFC 3986 with / kept, bucket always first, / alone for the service', () => {
    expect(v4CanonicalUri('b', "a/b c/(x)!*'~.txt")).toBe('/b/a/b%20c/%28x%29%21%2A%27~.txt');
    expect(v4CanonicalUri('b', '')).toBe('/b/');
    expect(v4CanonicalUri('', '')).toBe('/');
  });

  it('sorts the query by encoded name bytewise and writes an empty value as the bare name', () => {
    expect(
      v4CanonicalQuery([
        ['b', ''],
        ['B', '1'],
        ['a b', 'x/y'],
      ]),
    ).toBe('B=1&a%20b=x%2Fy&b');
    expect(v4CanonicalQuery([])).toBe('');
  });

  it('normalises AdditionalHeaders: lower case, once each, sorted, never the always-signed ones', () => {
    expect(v4AdditionalHeaders(['Host', 'host', 'Content-Type', 'x-oss-meta-a', 'Abc'])).toEqual([
      'abc',
      'host',
    ]);
  });

  it('parses the Authorization header with or without a space after each comma', () => {
    const want = {
      accessKeyId: 'STS.ak',
      date: '20231216',
      region: 'cn-hangzhou',
      additionalHeaders: ['abc', 'zabc'],
      signature: 'f'.repeat(64),
    };
    const cred = 'Credential=STS.ak/20231216/cn-hangzhou/oss/aliyun_v4_request';
    const sig = `Signature=${'f'.repeat(64)}`;
    expect(
      parseV4Authorization(`OSS4-HMAC-SHA256 ${cred},AdditionalHeaders=abc;zabc,${sig}`),
    ).toEqual(want);
    expect(
      parseV4Authorization(`OSS4-HMAC-SHA256 ${cred}, AdditionalHeaders=abc;zabc, ${sig}`),
    ).toEqual(want);
    expect(parseV4Authorization(`OSS4-HMAC-SHA256 ${cred}, ${sig}`)).toEqual({
      ...want,
      additionalHeaders: [],
    });
  });

  it.each([
    [
      'no Signature',
      'OSS4-HMAC-SHA256 Credential=a/20231216/cn-hangzhou/oss/aliyun_v4_request',
      'format',
    ],
    [
      'an unknown field',
      'OSS4-HMAC-SHA256 Credential=a/20231216/cn-hangzhou/oss/aliyun_v4_request,SignedHeaders=host,Signature=ab',
      'format',
    ],
    [
      'a repeated field',
      'OSS4-HMAC-SHA256 Signature=ab,Credential=a/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=ab',
      'format',
    ],
    [
      'a wrong terminator',
      'OSS4-HMAC-SHA256 Credential=a/20231216/cn-hangzhou/oss/abc,Signature=ab',
      'credential',
    ],
    [
      'another product',
      'OSS4-HMAC-SHA256 Credential=a/20231216/cn-hangzhou/s3/aliyun_v4_request,Signature=ab',
      'credential',
    ],
    [
      'a missing date',
      'OSS4-HMAC-SHA256 Credential=a/cn-hangzhou/oss/aliyun_v4_request,Signature=ab',
      'credential',
    ],
    [
      'a hyphenated date',
      'OSS4-HMAC-SHA256 Credential=a/2023-12-16/cn-hangzhou/oss/aliyun_v4_request,Signature=ab',
      'credential-date',
    ],
  ])('refuses %s', (_name, header, problem) => {
    expect(parseV4Authorization(header)).toEqual({ problem });
  });

  it('takes standard region ids only, and reads the region of an OSS endpoint Host', () => {
    for (const r of ['cn-hangzhou', 'ap-southeast-1', 'rg-china-mainland']) {
      expect(isStandardRegion(r)).toBe(true);
    }
    for (const r of ['oss-cn-hangzhou', 'cn_hangzhou', 'CN-HANGZHOU', 'hangzhou', '']) {
      expect(isStandardRegion(r)).toBe(false);
    }
    expect(endpointRegion('b.oss-cn-hangzhou.aliyuncs.com')).toBe('cn-hangzhou');
    expect(endpointRegion('b.oss-cn-beijing-internal.aliyuncs.com:80')).toBe('cn-beijing');
    expect(endpointRegion('b.cn-hangzhou.aliyuncs.com')).toBeUndefined();
    expect(endpointRegion('127.0.0.1:8788')).toBeUndefined();
  });

  it('reads x-oss-date only as ISO 8601 basic UTC naming a real instant', () => {
    expect(parseOssV4Date('20231216T162057Z')).toBe(1702743657_000);
    for (const bad of [
      'Sat, 16 Dec 2023 16:20:57 GMT',
      '2023-12-16T16:20:57Z',
      '20231332T000000Z',
      '20231216T246000Z',
      '20231216T162057',
    ]) {
      expect(parseOssV4Date(bad)).toBeUndefined();
    }
  });

  it('compares signatures of unequal length or content as different', () => {
    expect(v4SignaturesEqual('ab'.repeat(32), 'ab'.repeat(32))).toBe(true);
    expect(v4SignaturesEqual('ab'.repeat(32), 'ab'.repeat(31))).toBe(false);
    expect(v4SignaturesEqual('ab'.repeat(32), `${'ab'.repeat(31)}ac`)).toBe(false);
  });
});

describe('the signing options of our OSS clients', () => {
  // endpoint names as a lease's StsToken.EndPoint carries them (no scheme): only parsed, never dialled
  it.each([
    ['oss-cn-zhangjiakou.aliyuncs.com', 'oss-cn-zhangjiakou'],
    ['oss-cn-hangzhou-internal.aliyuncs.com', 'oss-cn-hangzhou'],
    ['verify-img.oss-ap-southeast-1.aliyuncs.com', 'oss-ap-southeast-1'],
    ['oss-accelerate.aliyuncs.com', 'oss-us-west-1'],
    ['oss-accelerate-overseas.aliyuncs.com', 'oss-us-west-1'],
    ['http://127.0.0.1:8788', 'oss-us-west-1'],
    ['http://emulator:8788', 'oss-us-west-1'],
  ])('signs for the region of %s: %s', (endPoint, region) => {
    expect(ossClientRegion(endPoint, 'oss-us-west-1')).toBe(region);
  });

  it('signs V4 unless told v1, with the default region oss-cn-hangzhou', () => {
    expect(ossSigningOptions('http://127.0.0.1:8788')).toEqual({
      region: 'oss-cn-hangzhou',
      authorizationV4: true,
    });
    expect(ossSigningOptions('http://127.0.0.1:8788', 'v1')).toMatchObject({
      authorizationV4: false,
    });
  });
});
