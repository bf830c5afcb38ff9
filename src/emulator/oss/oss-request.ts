/**
 * What the OSS emulator checks from a request's line and headers alone, before any body is read:
 * where it goes (bucket and key), who sent it (signature V1, security token, expiry, clock skew),
 * whether the credential's policy covers it, and the upload headers. Pure: no I/O.
 */
import { timingSafeEqual } from 'node:crypto';
import type { OssCredential } from './index.js';
import { isServerSideEncryption, type ServerSideEncryption } from './object-store.js';
import { ossErrors } from './oss-errors.js';
import { ossSignature, ossStringToSign, type OssHeaderValue } from './oss-signature.js';

/** Where a request goes. */
export interface OssTarget {
  bucket: string;
  /** Percent-decoded object key; may be empty or invalid (checked later). */
  key: string;
  /**
   * When the Host names the bucket and the path also starts with `/<bucket>/` (ali-oss with an IP
   * endpoint and `sldEnable: true` sends both), the key read path style; the signature decides
   * which of the two the client meant.
   */
  pathStyleKey?: string;
  query: URLSearchParams;
}

/** Largest accepted difference between the request's date and the emulator's clock. */
export const OSS_MAX_SKEW_MS = 15 * 60 * 1000;

/** Sub-resources that keep a request a plain object operation; any other is not emulated. */
const PASSIVE_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'security-token',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
]);

/** Sub-resources that keep a GET of the bucket a plain ListObjectsV2. */
export const LIST_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'security-token',
  'continuation-token',
]);

/** Sub-resources of a DeleteMultipleObjects (`POST /?delete`). */
export const DELETE_SUB_RESOURCES: ReadonlySet<string> = new Set(['security-token', 'delete']);

/** GetObject overrides of response headers: query parameter → header. */
export const RESPONSE_HEADER_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** Host without port or IPv6 brackets, lower-cased; empty when absent. */
export function hostName(host: string | undefined): string {
  if (host === undefined) return '';
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, Math.max(1, h.indexOf(']')));
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/**
 * Bucket and key of a request. Virtual-host style when the Host is `<bucket>.<endpoint>.aliyuncs.com`
 * (what ali-oss sends, also to an IP endpoint), else path style `/<bucket>/<key>` (ali-oss with
 * `sldEnable: true`, or any client on a plain host).
 */
export function parseTarget(url: string, host: string | undefined): OssTarget {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/^\//, '');
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const slash = path.indexOf('/');
  const first = decode(slash < 0 ? path : path.slice(0, slash));
  const rest = slash < 0 ? '' : decode(path.slice(slash + 1));
  const name = hostName(host);
  if (name.endsWith('.aliyuncs.com') && name.split('.').length >= 4) {
    const bucket = name.slice(0, name.indexOf('.'));
    const key = decode(path);
    return first === bucket && slash >= 0
      ? { bucket, key, pathStyleKey: rest, query }
      : { bucket, key, query };
  }
  if (first === '') throw ossErrors.invalidBucketName();
  return { bucket: first, key: rest, query };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw ossErrors.invalidObjectName('the URL path is not valid percent-encoding');
  }
}

/** The request as the signature check sees it. */
export interface OssAuthRequest {
  method: string;
  headers: Readonly<Record<string, OssHeaderValue>>;
  target: OssTarget;
}

/** Who sent a request, and which key it signed (see {@link OssTarget.pathStyleKey}). */
export interface Authenticated {
  accessKeyId: string;
  key: string;
}

/**
 * Authenticates and authorizes a request.
 * Order: Authorization present and well formed → AccessKeyId known → security token →
 * expiry → date present and within {@link OSS_MAX_SKEW_MS} → signature → bucket and path policy.
 * @throws OssError
 */
export function authenticate(
  request: OssAuthRequest,
  credentials: (accessKeyId: string) => OssCredential | undefined,
  now: number,
): Authenticated {
  const authorization = header(request.headers, 'authorization');
  if (authorization === undefined || authorization.trim() === '') {
    throw ossErrors.accessDeniedAnonymous();
  }
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!match) throw ossErrors.invalidAuthorization();
  const accessKeyId = match[1] ?? '';
  const provided = match[2] ?? '';

  const credential = credentials(accessKeyId);
  if (credential === undefined) throw ossErrors.invalidAccessKeyId(accessKeyId);
  const token = header(request.headers, 'x-oss-security-token');
  if (credential.securityToken !== undefined) {
    if (token === undefined) throw ossErrors.securityTokenMissing(accessKeyId);
    if (!constantTimeEqual(token.trim(), credential.securityToken)) {
      throw ossErrors.invalidSecurityToken(accessKeyId);
    }
  } else if (token !== undefined) {
    throw ossErrors.invalidSecurityToken(accessKeyId);
  }
  if (credential.expiresAt !== undefined && now >= credential.expiresAt) {
    throw ossErrors.securityTokenExpired(accessKeyId);
  }

  const date = header(request.headers, 'date') ?? header(request.headers, 'x-oss-date');
  const time = date === undefined ? Number.NaN : Date.parse(date);
  if (date === undefined || Number.isNaN(time)) throw ossErrors.missingDate();
  if (Math.abs(now - time) > OSS_MAX_SKEW_MS) {
    throw ossErrors.timeTooSkewed(date, new Date(now).toUTCString());
  }

  const { target } = request;
  const candidates =
    target.pathStyleKey === undefined ? [target.key] : [target.key, target.pathStyleKey];
  const signed = (key: string) =>
    ossStringToSign({
      method: request.method,
      bucket: target.bucket,
      key,
      headers: request.headers,
      query: target.query,
    });
  const key = candidates.find((k) =>
    constantTimeEqual(ossSignature(credential.accessKeySecret, signed(k)), provided),
  );
  if (key === undefined) {
    throw ossErrors.signatureMismatch(accessKeyId, provided, signed(target.key));
  }

  if (credential.bucket !== undefined && credential.bucket !== target.bucket) {
    throw ossErrors.accessDeniedPolicy(accessKeyId);
  }
  if (credential.path !== undefined && !key.startsWith(credential.path)) {
    throw ossErrors.accessDeniedPolicy(accessKeyId);
  }
  return { accessKeyId, key };
}

/**
 * Rejects sub-resource operations (acl, tagging, append, x-oss-process…): only the plain object
 * operations, the GetObject `response-*` overrides ({@link PASSIVE_SUB_RESOURCES}, the default)
 * ListObjectsV2's `continuation-token` ({@link LIST_SUB_RESOURCES}) and DeleteMultipleObjects'
 * `delete` ({@link DELETE_SUB_RESOURCES}) are emulated.
 * @throws OssError NotImplemented 501
 */
export function checkSubResources(
  query: URLSearchParams,
  signed: ReadonlySet<string>,
  passive: ReadonlySet<string> = PASSIVE_SUB_RESOURCES,
): void {
  for (const name of query.keys()) {
    if (signed.has(name) && !passive.has(name)) {
      throw ossErrors.notImplemented(name);
    }
  }
}

/** What a PutObject's headers ask for besides the body. */
export interface UploadOptions {
  /** `x-oss-forbid-overwrite: true`: refuse to replace an existing object. */
  forbidOverwrite: boolean;
  /** `x-oss-server-side-encryption`, stored with the object and echoed on PUT, GET and HEAD. */
  serverSideEncryption?: ServerSideEncryption;
}

/**
 * PutObject headers: a Content-Length (or chunked transfer) at most `maxBytes`, a well-formed
 * Content-MD5 when one is given, `x-oss-forbid-overwrite` `true` or `false` (exactly: OSS
 * documents only those two values, EC 0017-00000279; the code InvalidArgument is the emulator's
 * reading), and `x-oss-server-side-encryption` among AES256, KMS and SM4 (case-sensitive, as
 * OSS echoes them). The KMS key id and data-encryption headers are not emulated (ignored).
 * @throws OssError MissingContentLength 411, EntityTooLarge 400, InvalidDigest 400,
 *   InvalidArgument 400, InvalidEncryptionAlgorithmError 400
 */
export function checkUploadHeaders(
  headers: Readonly<Record<string, OssHeaderValue>>,
  maxBytes: number,
): UploadOptions {
  const length = header(headers, 'content-length');
  const chunked = /\bchunked\b/i.test(header(headers, 'transfer-encoding') ?? '');
  if (length === undefined && !chunked) throw ossErrors.missingContentLength();
  if (length !== undefined && Number(length) > maxBytes) throw ossErrors.entityTooLarge(maxBytes);
  const md5 = header(headers, 'content-md5');
  if (md5 !== undefined && contentMd5Bytes(md5) === undefined) throw ossErrors.invalidDigest();
  const forbid = header(headers, 'x-oss-forbid-overwrite');
  if (forbid !== undefined && forbid !== 'true' && forbid !== 'false') {
    throw ossErrors.invalidArgument(
      'x-oss-forbid-overwrite',
      forbid,
      'The x-oss-forbid-overwrite header must be true or false.',
      '0017-00000279',
    );
  }
  const sse = header(headers, 'x-oss-server-side-encryption');
  if (sse !== undefined && !isServerSideEncryption(sse)) {
    throw ossErrors.invalidEncryptionAlgorithm();
  }
  return {
    forbidOverwrite: forbid === 'true',
    ...(sse === undefined ? {} : { serverSideEncryption: sse }),
  };
}

/** The 16 bytes of a Content-MD5 header (base64), or undefined when it is malformed. */
export function contentMd5Bytes(value: string): Buffer | undefined {
  const v = value.trim();
  if (!/^[A-Za-z0-9+/]{22}==$/.test(v)) return undefined;
  return Buffer.from(v, 'base64');
}

function header(
  headers: Readonly<Record<string, OssHeaderValue>>,
  name: string,
): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
