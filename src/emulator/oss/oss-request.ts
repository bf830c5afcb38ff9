/**
 * What the OSS emulator checks from a request's line and headers alone, before any body is read:
 * where it goes (bucket and key), who sent it (signature V1 or V4, security token, expiry, clock
 * skew), whether the credential's policy covers it, and the upload headers. Pure: no I/O.
 */
import { timingSafeEqual } from 'node:crypto';
import type { OssCredential } from './index.js';
import { isServerSideEncryption, type ServerSideEncryption } from './object-store.js';
import { ossErrors } from './oss-errors.js';
import { ossSignature, ossStringToSign, type OssHeaderValue } from './oss-signature.js';
import {
  OSS_V4_ALGORITHM,
  UNSIGNED_PAYLOAD,
  isStandardRegion,
  parseOssV4Date,
  parseV4Authorization,
  v4CanonicalRequest,
  v4Signature,
  v4SignaturesEqual,
  v4SigningKey,
  v4StringToSign,
} from './oss-signature-v4.js';

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
 * Authenticates and authorizes a request signed with V1 (`OSS <id>:<signature>`) or V4
 * (`OSS4-HMAC-SHA256 …`, see {@link authenticateV4}).
 * V1 order: Authorization present and well formed → AccessKeyId known → security token →
 * expiry → date present and within {@link OSS_MAX_SKEW_MS} → signature → bucket and path policy.
 * @throws OssError
 */
export function authenticate(
  request: OssAuthRequest,
  credentials: (accessKeyId: string) => OssCredential | undefined,
  now: number,
): Authenticated {
  const authorization = header(request.headers, 'authorization')?.trim() ?? '';
  if (authorization === '') throw ossErrors.accessDeniedAnonymous();
  if (authorization.startsWith(`${OSS_V4_ALGORITHM} `)) {
    return authenticateV4(request, authorization, credentials, now);
  }
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (!match) throw ossErrors.invalidAuthorization();
  const accessKeyId = match[1] ?? '';
  const provided = match[2] ?? '';
  const credential = checkCredential(request, credentials(accessKeyId), accessKeyId, now);

  const date = header(request.headers, 'date') ?? header(request.headers, 'x-oss-date');
  const time = date === undefined ? Number.NaN : Date.parse(date);
  if (date === undefined || Number.isNaN(time)) throw ossErrors.missingDate();
  checkSkew(date, time, now);

  const { target } = request;
  const signed = (key: string) =>
    ossStringToSign({
      method: request.method,
      bucket: target.bucket,
      key,
      headers: request.headers,
      query: target.query,
    });
  const key = keysOf(target).find((k) =>
    constantTimeEqual(ossSignature(credential.accessKeySecret, signed(k)), provided),
  );
  if (key === undefined) {
    throw ossErrors.signatureMismatch(accessKeyId, provided, signed(target.key));
  }
  authorize(credential, accessKeyId, target.bucket, key);
  return { accessKeyId, key };
}

/**
 * Signature V4. Order: Authorization well formed (fields, Credential, its `YYYYMMDD` date) →
 * region → AccessKeyId known → security token → expiry → `x-oss-date` present, well formed, of
 * the Credential's date and within {@link OSS_MAX_SKEW_MS} → `x-oss-content-sha256:
 * UNSIGNED-PAYLOAD` → signature → bucket and path policy.
 *
 * Region (emulator choice: the emulator has no region of its own): the scope must carry a
 * standard region id ({@link isStandardRegion}: `cn-hangzhou`, never `oss-cn-hangzhou`) and,
 * when the Host is an OSS endpoint name (`<bucket>.oss-<region>[-internal].aliyuncs.com`, what
 * ali-oss sends, also to an IP endpoint), that Host's region, as the OSS endpoint of a region
 * accepts only its own; on any other Host (path style on a private name) any standard id.
 */
function authenticateV4(
  request: OssAuthRequest,
  authorization: string,
  credentials: (accessKeyId: string) => OssCredential | undefined,
  now: number,
): Authenticated {
  const auth = parseV4Authorization(authorization);
  if ('problem' in auth) {
    if (auth.problem === 'credential') throw ossErrors.invalidCredential();
    if (auth.problem === 'credential-date') throw ossErrors.invalidCredentialDate();
    throw ossErrors.invalidAuthorization();
  }
  const hostRegion = endpointRegion(header(request.headers, 'host'));
  if (!isStandardRegion(auth.region) || (hostRegion !== undefined && hostRegion !== auth.region)) {
    throw ossErrors.invalidSigningRegion();
  }
  const { accessKeyId } = auth;
  const credential = checkCredential(request, credentials(accessKeyId), accessKeyId, now);

  const ossDate = header(request.headers, 'x-oss-date')?.trim();
  if (ossDate === undefined) throw ossErrors.missingV4Date();
  const time = parseOssV4Date(ossDate);
  if (time === undefined) throw ossErrors.invalidV4Date();
  if (ossDate.slice(0, 8) !== auth.date) throw ossErrors.credentialDateMismatch();
  checkSkew(ossDate, time, now);
  const payload = header(request.headers, 'x-oss-content-sha256')?.trim() ?? '';
  if (payload !== UNSIGNED_PAYLOAD) throw ossErrors.unsupportedContentSha256(payload);

  const { target } = request;
  const signingKey = v4SigningKey(credential.accessKeySecret, auth.date, auth.region);
  const signed = (key: string) => {
    const canonicalRequest = v4CanonicalRequest({
      method: request.method,
      bucket: target.bucket,
      key,
      headers: request.headers,
      query: target.query,
      additionalHeaders: auth.additionalHeaders,
    });
    return {
      canonicalRequest,
      stringToSign: v4StringToSign(ossDate, auth.region, canonicalRequest),
    };
  };
  const key = keysOf(target).find((k) =>
    v4SignaturesEqual(v4Signature(signingKey, signed(k).stringToSign), auth.signature),
  );
  if (key === undefined) {
    const { stringToSign, canonicalRequest } = signed(target.key);
    throw ossErrors.signatureMismatchV4(
      accessKeyId,
      auth.signature,
      stringToSign,
      canonicalRequest,
    );
  }
  authorize(credential, accessKeyId, target.bucket, key);
  return { accessKeyId, key };
}

/**
 * The region of an OSS endpoint Host (`b.oss-cn-hangzhou.aliyuncs.com` → `cn-hangzhou`); none for
 * the acceleration endpoints (`oss-accelerate[-overseas]`), which serve every region.
 */
export function endpointRegion(host: string | undefined): string | undefined {
  const m = /^[^.]+\.oss-(?!accelerate)([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(
    hostName(host),
  );
  return m?.[1];
}

/** The keys a request may have signed (see {@link OssTarget.pathStyleKey}). */
function keysOf(target: OssTarget): string[] {
  return target.pathStyleKey === undefined ? [target.key] : [target.key, target.pathStyleKey];
}

/**
 * The credential of an AccessKeyId once it is known, its security token is the one issued with it
 * (STS) or absent (a permanent key), and it has not expired.
 */
function checkCredential(
  request: OssAuthRequest,
  credential: OssCredential | undefined,
  accessKeyId: string,
  now: number,
): OssCredential {
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
  return credential;
}

function checkSkew(requestTime: string, time: number, now: number): void {
  if (Math.abs(now - time) > OSS_MAX_SKEW_MS) {
    throw ossErrors.timeTooSkewed(requestTime, new Date(now).toUTCString());
  }
}

/** An STS credential's policy: its one bucket, and keys under its path. */
function authorize(
  credential: OssCredential,
  accessKeyId: string,
  bucket: string,
  key: string,
): void {
  if (credential.bucket !== undefined && credential.bucket !== bucket) {
    throw ossErrors.accessDeniedPolicy(accessKeyId);
  }
  if (credential.path !== undefined && !key.startsWith(credential.path)) {
    throw ossErrors.accessDeniedPolicy(accessKeyId);
  }
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
