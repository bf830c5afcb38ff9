/**
 * OSS signature V4 (`OSS4-HMAC-SHA256`, header form), as the OSS server checks it and ali-oss
 * ≥ 6.20 computes it with `authorizationV4: true` (`lib/common/signUtils.js`):
 *
 * ```
 * CanonicalRequest = VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                    AdditionalHeaders \n x-oss-content-sha256
 * StringToSign     = OSS4-HMAC-SHA256 \n x-oss-date \n <YYYYMMDD>/<region>/oss/aliyun_v4_request \n
 *                    hex(SHA-256(CanonicalRequest))
 * SigningKey       = HMAC(HMAC(HMAC(HMAC("aliyun_v4" + secret, YYYYMMDD), region), "oss"),
 *                    "aliyun_v4_request")
 * Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
 * ```
 *
 * The canonical URI always names the bucket (`/<bucket>/<key>`), also for virtual-host requests;
 * every query parameter is signed (V1 signs only sub-resources); the region is the standard id
 * (`cn-hangzhou`, not the endpoint label `oss-cn-hangzhou`). Pure: no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { lowerCaseHeaders, type OssHeaderValue } from './oss-signature.js';

/** The algorithm named at the start of the `Authorization` header and of the string to sign. */
export const OSS_V4_ALGORITHM = 'OSS4-HMAC-SHA256';
/** The only `x-oss-content-sha256` OSS accepts on header-signed requests (EC 0002-00000214). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** The product in the scope; CloudBox buckets (`oss-cloudbox`) are not emulated. */
export const OSS_V4_PRODUCT = 'oss';
/** The last part of the scope and of the signing key's derivation. */
export const OSS_V4_TERMINATOR = 'aliyun_v4_request';

/** The parts of a request that the V4 signature covers. */
export interface OssV4RequestToSign {
  /** HTTP method; upper-cased when signed. */
  method: string;
  /** Empty for a service-level request (`/`). */
  bucket: string;
  /** The object key, raw (percent-decoded), without a leading `/`. Empty for bucket requests. */
  key: string;
  /** Request headers, names in any case. */
  headers: Readonly<Record<string, OssHeaderValue>>;
  /** Decoded query parameters, all of them signed. Default: none. */
  query?: Iterable<readonly [string, string]>;
  /** The `AdditionalHeaders=` names, as sent (normalised here). Default: none. */
  additionalHeaders?: readonly string[];
}

/** `encodeURIComponent` plus `! ' ( ) *`: only RFC 3986's unreserved characters stay as they are. */
export function v4Encode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `/<bucket>/<key>` percent-encoded with `/` kept; `/` alone for a service-level request. */
export function v4CanonicalUri(bucket: string, key: string): string {
  if (bucket === '') return '/';
  return v4Encode(`/${bucket}/${key}`).replace(/%2F/g, '/');
}

/**
 * Every parameter, name and value encoded by {@link v4Encode}, sorted by encoded name (bytewise;
 * then by value), `name=value` joined by `&`, an empty value as the bare name.
 */
export function v4CanonicalQuery(query: Iterable<readonly [string, string]> = []): string {
  return [...query]
    .map(([name, value]) => [v4Encode(name), v4Encode(value)] as const)
    .sort(([a, x], [b, y]) => compare(a, b) || compare(x, y))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
}

/**
 * The AdditionalHeaders list as both ends sign it: lower-cased, de-duplicated, sorted, without
 * `content-type`, `content-md5` and `x-oss-*` (those are always signed).
 */
export function v4AdditionalHeaders(names: readonly string[] = []): string[] {
  return [...new Set(names.map((n) => n.trim().toLowerCase()))]
    .filter((n) => n !== '' && !isAlwaysSigned(n))
    .sort(compare);
}

/**
 * `name:value\n` for `content-type`, `content-md5`, every `x-oss-*` header and the additional
 * headers that are present; names lower-cased, values trimmed, sorted by name.
 */
export function v4CanonicalHeaders(
  headers: Readonly<Record<string, OssHeaderValue>>,
  additionalHeaders: readonly string[] = [],
): string {
  const additional = new Set(v4AdditionalHeaders(additionalHeaders));
  return [...lowerCaseHeaders(headers)]
    .filter(([name]) => isAlwaysSigned(name) || additional.has(name))
    .sort(([a], [b]) => compare(a, b))
    .map(([name, value]) => `${name}:${value.trim()}\n`)
    .join('');
}

/** The V4 canonical request (see the module comment). */
export function v4CanonicalRequest(request: OssV4RequestToSign): string {
  const headers = lowerCaseHeaders(request.headers);
  return [
    request.method.toUpperCase(),
    v4CanonicalUri(request.bucket, request.key),
    v4CanonicalQuery(request.query),
    v4CanonicalHeaders(request.headers, request.additionalHeaders),
    v4AdditionalHeaders(request.additionalHeaders).join(';'),
    headers.get('x-oss-content-sha256') ?? UNSIGNED_PAYLOAD,
  ].join('\n');
}

/** `<YYYYMMDD>/<region>/oss/aliyun_v4_request`. */
export function v4Scope(date: string, region: string): string {
  return `${date}/${region}/${OSS_V4_PRODUCT}/${OSS_V4_TERMINATOR}`;
}

/** The string to sign of a canonical request, `ossDate` the `x-oss-date` (`YYYYMMDD'T'HHMMSS'Z'`). */
export function v4StringToSign(ossDate: string, region: string, canonicalRequest: string): string {
  return [
    OSS_V4_ALGORITHM,
    ossDate,
    v4Scope(ossDate.slice(0, 8), region),
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
}

/** The signing key of a secret for one day (`YYYYMMDD`) and region. */
export function v4SigningKey(accessKeySecret: string, date: string, region: string): Buffer {
  let key = hmac(`aliyun_v4${accessKeySecret}`, date);
  for (const part of [region, OSS_V4_PRODUCT, OSS_V4_TERMINATOR]) key = hmac(key, part);
  return key;
}

/** 64 lower-case hex characters. */
export function v4Signature(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/** The value of the `Authorization` header for a request, as ali-oss builds it (no spaces). */
export function v4Authorization(
  accessKeyId: string,
  accessKeySecret: string,
  region: string,
  request: OssV4RequestToSign,
): string {
  const ossDate = lowerCaseHeaders(request.headers).get('x-oss-date') ?? '';
  const date = ossDate.slice(0, 8);
  const stringToSign = v4StringToSign(ossDate, region, v4CanonicalRequest(request));
  const signature = v4Signature(v4SigningKey(accessKeySecret, date, region), stringToSign);
  const additional = v4AdditionalHeaders(request.additionalHeaders);
  return (
    `${OSS_V4_ALGORITHM} Credential=${accessKeyId}/${v4Scope(date, region)},` +
    (additional.length > 0 ? `AdditionalHeaders=${additional.join(';')},` : '') +
    `Signature=${signature}`
  );
}

/** Whether two signatures are equal, in time that does not depend on where they differ. */
export function v4SignaturesEqual(expected: string, provided: string): boolean {
  const x = Buffer.from(expected);
  const y = Buffer.from(provided);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A parsed `OSS4-HMAC-SHA256 …` header. */
export interface OssV4Authorization {
  accessKeyId: string;
  /** `YYYYMMDD` (checked: eight digits). */
  date: string;
  /** As given; {@link isStandardRegion} tells whether OSS would accept it. */
  region: string;
  /** As given (not normalised). */
  additionalHeaders: string[];
  signature: string;
}

/**
 * Why an `OSS4-HMAC-SHA256` header is refused before any key is looked up: `format` (fields
 * missing, repeated or unknown), `credential` (not `AK/date/region/oss/aliyun_v4_request`),
 * `credential-date` (the date not `YYYYMMDD`, e.g. `2022-12-20`).
 */
export type OssV4AuthorizationProblem = 'format' | 'credential' | 'credential-date';

/**
 * Parses `OSS4-HMAC-SHA256 Credential=…[,AdditionalHeaders=…],Signature=…`; a space after each
 * comma is tolerated (OSS's documentation shows one, ali-oss sends none).
 */
export function parseV4Authorization(
  value: string,
): OssV4Authorization | { problem: OssV4AuthorizationProblem } {
  const prefix = `${OSS_V4_ALGORITHM} `;
  if (!value.startsWith(prefix)) return { problem: 'format' };
  const fields = new Map<string, string>();
  for (const part of value.slice(prefix.length).split(',')) {
    const field = /^\s*(Credential|AdditionalHeaders|Signature)=(\S*)$/.exec(part);
    if (!field?.[1] || fields.has(field[1])) return { problem: 'format' };
    fields.set(field[1], field[2] ?? '');
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (credential === undefined || !signature) return { problem: 'format' };
  const parts = credential.split('/');
  const [accessKeyId, date, region, product, terminator] = parts;
  if (
    parts.length !== 5 ||
    !accessKeyId ||
    !region ||
    product !== OSS_V4_PRODUCT ||
    terminator !== OSS_V4_TERMINATOR
  ) {
    return { problem: 'credential' };
  }
  if (date === undefined || !/^\d{8}$/.test(date)) return { problem: 'credential-date' };
  const additional = fields.get('AdditionalHeaders');
  return {
    accessKeyId,
    date,
    region,
    additionalHeaders: additional ? additional.split(';') : [],
    signature,
  };
}

/**
 * A standard region id as the scope carries it (`cn-hangzhou`, `ap-southeast-1`,
 * `rg-china-mainland`): not the endpoint label `oss-cn-hangzhou`.
 */
export function isStandardRegion(region: string): boolean {
  return /^[a-z]{2,}(?:-[a-z0-9]+)+$/.test(region) && !region.startsWith('oss-');
}

/**
 * ms since the epoch of an `x-oss-date` in ISO 8601 basic UTC (`20231216T162057Z`); undefined
 * when it has another form or names no real instant (`20231332T…`).
 */
export function parseOssV4Date(value: string): number | undefined {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const same =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  return same ? ms : undefined;
}

/** `YYYYMMDD'T'HHMMSS'Z'` of an instant, as `x-oss-date` carries it. */
export function formatOssV4Date(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

function isAlwaysSigned(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
