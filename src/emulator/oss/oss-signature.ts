/**
 * OSS signature V1 (header form), as the OSS server checks it and ali-oss 6.x computes it
 * (`lib/common/signUtils.js` `buildCanonicalString` / `computeSignature`):
 *
 * ```
 * StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
 *                CanonicalizedOSSHeaders CanonicalizedResource
 * Signature    = Base64(HMAC-SHA1(AccessKeySecret, UTF-8(StringToSign)))
 * ```
 *
 * The Date slot holds the `Date` header when present, else `x-oss-date` (ali-oss sends only
 * `x-oss-date`; the Go and Java SDKs send `Date`). Pure: no I/O.
 */
import { createHmac } from 'node:crypto';

/**
 * The query parameters that belong to the CanonicalizedResource (the sub-resources the OSS
 * server signs; the same list as aliyun-oss-go-sdk's `signKeyList`). Other query parameters are
 * not signed. ali-oss itself signs whatever it passes as `subres`, which is always drawn from
 * this list.
 */
export const OSS_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'uploads',
  'location',
  'cors',
  'logging',
  'website',
  'referer',
  'lifecycle',
  'delete',
  'append',
  'tagging',
  'objectMeta',
  'uploadId',
  'partNumber',
  'security-token',
  'position',
  'img',
  'style',
  'styleName',
  'replication',
  'replicationProgress',
  'replicationLocation',
  'cname',
  'bucketInfo',
  'comp',
  'qos',
  'live',
  'status',
  'vod',
  'startTime',
  'endTime',
  'symlink',
  'x-oss-process',
  'response-content-type',
  'x-oss-traffic-limit',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'udf',
  'udfName',
  'udfImage',
  'udfId',
  'udfImageDesc',
  'udfApplication',
  'udfApplicationLog',
  'restore',
  'callback',
  'callback-var',
  'qosInfo',
  'policy',
  'stat',
  'encryption',
  'versions',
  'versioning',
  'versionId',
  'requestPayment',
  'x-oss-request-payer',
  'sequential',
  'inventory',
  'inventoryId',
  'continuation-token',
  'asyncFetch',
  'worm',
  'wormId',
  'wormExtend',
  'withHashContext',
  'x-oss-enable-md5',
  'x-oss-enable-sha1',
  'x-oss-enable-sha256',
  'x-oss-hash-ctx',
  'x-oss-md5-ctx',
  'transferAcceleration',
  'regionList',
  'cloudboxes',
  'x-oss-ac-source-ip',
  'x-oss-ac-subnet-mask',
  'x-oss-ac-vpc-id',
  'x-oss-ac-forward-allow',
  'metaQuery',
  'resourceGroup',
  'rtc',
  'x-oss-async-process',
  'responseHeader',
]);

/** A header value as Node or a client library holds it; arrays are joined with `,`. */
export type OssHeaderValue = string | number | readonly string[] | undefined;

/** The parts of a request that the V1 signature covers. */
export interface OssRequestToSign {
  /** HTTP method; upper-cased when signed. */
  method: string;
  bucket: string;
  /** The object key, raw (percent-decoded), without a leading `/`. Empty for bucket requests. */
  key: string;
  /** Request headers, names in any case. */
  headers: Readonly<Record<string, OssHeaderValue>>;
  /**
   * Decoded query parameters. Only {@link OSS_SUB_RESOURCES} are signed; an empty value signs
   * as the bare name. Default: none.
   */
  query?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>;
}

/** Header names lower-cased; `undefined` values dropped; arrays joined with `,`. */
export function lowerCaseHeaders(
  headers: Readonly<Record<string, OssHeaderValue>>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out.set(name.toLowerCase(), Array.isArray(value) ? value.join(',') : String(value));
  }
  return out;
}

/** `name:value\n` for every `x-oss-*` header, names lower-cased, values trimmed, sorted by name. */
export function ossCanonicalizedHeaders(headers: Readonly<Record<string, OssHeaderValue>>): string {
  return [...lowerCaseHeaders(headers)]
    .filter(([name]) => name.startsWith('x-oss-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value.trim()}\n`)
    .join('');
}

/** `/<bucket>/<raw key>`, then the signed sub-resources sorted by name as `?k[=v]&…`. */
export function ossCanonicalizedResource(
  bucket: string,
  key: string,
  query: OssRequestToSign['query'] = [],
): string {
  const entries: Iterable<readonly [string, string]> =
    Symbol.iterator in query ? query : Object.entries(query);
  const signed = new Map<string, string>();
  for (const [name, value] of entries) {
    if (OSS_SUB_RESOURCES.has(name) && !signed.has(name)) signed.set(name, value);
  }
  const sub = [...signed.keys()]
    .sort()
    .map((name) => {
      const value = signed.get(name) ?? '';
      return value === '' ? name : `${name}=${value}`;
    })
    .join('&');
  return `/${bucket}/${key}${sub === '' ? '' : `?${sub}`}`;
}

/** The V1 StringToSign of a request (see the module comment). */
export function ossStringToSign(request: OssRequestToSign): string {
  const headers = lowerCaseHeaders(request.headers);
  return (
    [
      request.method.toUpperCase(),
      headers.get('content-md5') ?? '',
      headers.get('content-type') ?? '',
      headers.get('date') ?? headers.get('x-oss-date') ?? '',
    ].join('\n') +
    '\n' +
    ossCanonicalizedHeaders(request.headers) +
    ossCanonicalizedResource(request.bucket, request.key, request.query)
  );
}

/** Base64(HMAC-SHA1(secret, UTF-8 bytes of stringToSign)). */
export function ossSignature(accessKeySecret: string, stringToSign: string): string {
  return createHmac('sha1', accessKeySecret).update(stringToSign, 'utf8').digest('base64');
}

/** `OSS <AccessKeyId>:<Signature>`, the value of the `Authorization` header. */
export function ossAuthorization(
  accessKeyId: string,
  accessKeySecret: string,
  stringToSign: string,
): string {
  return `OSS ${accessKeyId}:${ossSignature(accessKeySecret, stringToSign)}`;
}

/** The UTF-8 bytes of a StringToSign as OSS echoes them: upper-case hex, each followed by a space. */
export function stringToSignBytes(stringToSign: string): string {
  let out = '';
  for (const byte of Buffer.from(stringToSign, 'utf8')) {
    out += `${byte.toString(16).toUpperCase().padStart(2, '0')} `;
  }
  return out;
}
