import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  ossAuthorization,
  ossCanonicalizedResource,
  ossSignature,
  ossStringToSign,
  stringToSignBytes,
  type OssRequestToSign,
} from '../../src/emulator/oss/oss-signature.js';

interface AliOssSignUtils {
  buildCanonicalString(
    method: string,
    resourcePath: string,
    request: { headers: Record<string, string>; parameters?: Record<string, string> },
    expires?: string,
  ): string;
  computeSignature(accessKeySecret: string, canonicalString: string, encoding?: string): string;
  authorization(
    accessKeyId: string,
    accessKeySecret: string,
    canonicalString: string,
    encoding?: string,
  ): string;
}

const aliOss = createRequire(import.meta.url)('ali-oss/lib/common/signUtils.js') as AliOssSignUtils;

const SECRET = 'sts-secret-Wq3p9';
const X_OSS_DATE = 'Sat, 28 Nov 2026 08:58:25 GMT';

interface Case {
  name: string;
  method: string;
  bucket: string;
  key: string;
  headers: Record<string, string>;
  /** ali-oss `subres`: the signed sub-resources. */
  subres?: Record<string, string>;
  /** Query parameters the server sees besides the sub-resources (never signed). */
  unsigned?: Record<string, string>;
  /** A `Date` header: ali-oss puts it in the date slot through its `expires` argument. */
  date?: string;
}

const cases: Case[] = [
  {
    name: 'a PUT with STS token, Content-MD5 and Content-Type',
    method: 'PUT',
    bucket: 'verify-img',
    key: 'rp/abc/face.jpg',
    headers: {
      'x-oss-date': X_OSS_DATE,
      'x-oss-security-token': 'CAIS6AF1q6Ft5B2yfSjIr5DfLu7biatEgfaNSF7UsnEHT8NKmP3s',
      'Content-Type': 'image/jpeg',
      'Content-MD5': 'XrY7u+Ae7tCTyyK7j1rNww==',
      'Content-Length': '11',
      'User-Agent': 'aliyun-sdk-nodejs/6.23.0',
    },
  },
  {
    name: 'a GET without Content-MD5 or Content-Type',
    method: 'get',
    bucket: 'verify-img',
    key: 'rp/abc/face.jpg',
    headers: { 'x-oss-date': X_OSS_DATE, 'x-oss-security-token': 'token-1' },
  },
  {
    name: 'sub-resources, sorted, with and without values; other query parameters ignored',
    method: 'GET',
    bucket: 'verify-img',
    key: 'rp/abc/face.jpg',
    headers: { 'x-oss-date': X_OSS_DATE },
    subres: {
      'response-content-type': 'image/png',
      acl: '',
      'x-oss-process': 'image/resize,w_100',
      versionId: 'CAEQNhiBgM0BYiIDc4MGZjZGI2OTBjOTRmNTE5NmU5NmFmZjY2NWQ2',
    },
    unsigned: { foo: 'bar', 'max-keys': '10' },
  },
  {
    name: 'a unicode key with spaces and +',
    method: 'PUT',
    bucket: 'verify-img',
    key: 'rp/张三/证件 正面+1.jpg',
    headers: {
      'x-oss-date': X_OSS_DATE,
      'Content-Type': 'image/jpeg',
      'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==',
    },
  },
  {
    name: 'x-oss-* headers in mixed case with padded values, sorted by lower-cased name',
    method: 'PUT',
    bucket: 'b-1',
    key: 'a/b',
    headers: {
      'X-OSS-Meta-Zeta': '  last  ',
      'x-oss-meta-alpha': 'first',
      'X-Oss-Date': X_OSS_DATE,
      'x-oss-object-acl': 'private',
      'content-type': 'application/octet-stream',
    },
  },
  {
    name: 'a Date header in the date slot (as the Go and Java SDKs sign)',
    method: 'DELETE',
    bucket: 'verify-img',
    key: 'rp/abc/face.jpg',
    headers: { 'x-oss-security-token': 'token-2' },
    date: 'Sun, 29 Nov 2026 01:02:03 GMT',
  },
];

describe('ossStringToSign agrees with ali-oss buildCanonicalString', () => {
  it.each(cases)('$name', (c) => {
    const headers = c.date === undefined ? c.headers : { ...c.headers, Date: c.date };
    const request: OssRequestToSign = {
      method: c.method,
      bucket: c.bucket,
      key: c.key,
      headers,
      query: new URLSearchParams({ ...c.unsigned, ...c.subres }),
    };
    const theirs = aliOss.buildCanonicalString(
      c.method.toUpperCase(),
      `/${c.bucket}/${c.key}`,
      c.subres ? { headers: c.headers, parameters: c.subres } : { headers: c.headers },
      c.date,
    );
    const ours = ossStringToSign(request);
    expect(ours).toBe(theirs);
    expect(ossSignature(SECRET, ours)).toBe(aliOss.computeSignature(SECRET, theirs));
    expect(ossAuthorization('STS.NSjeTodte64f', SECRET, ours)).toBe(
      aliOss.authorization('STS.NSjeTodte64f', SECRET, theirs),
    );
  });

  it('prefers Date over x-oss-date when both are present', () => {
    const s = ossStringToSign({
      method: 'GET',
      bucket: 'b-1',
      key: 'k',
      headers: { date: 'Sun, 29 Nov 2026 01:02:03 GMT', 'x-oss-date': X_OSS_DATE },
    });
    expect(s.split('\n')[3]).toBe('Sun, 29 Nov 2026 01:02:03 GMT');
  });
});

describe('ossCanonicalizedResource', () => {
  it('accepts a plain record and keeps the first of repeated parameters', () => {
    expect(ossCanonicalizedResource('b-1', 'k', { uploadId: 'u1', partNumber: '2' })).toBe(
      '/b-1/k?partNumber=2&uploadId=u1',
    );
    expect(
      ossCanonicalizedResource('b-1', 'k', [
        ['acl', ''],
        ['acl', 'x'],
      ]),
    ).toBe('/b-1/k?acl');
  });
});

describe('stringToSignBytes', () => {
  it('spells the UTF-8 bytes in upper-case hex, each followed by a space, as OSS does', () => {
    expect(stringToSignBytes('PUT\n\n')).toBe('50 55 54 0A 0A ');
    expect(stringToSignBytes('张')).toBe('E5 BC A0 ');
  });
});
