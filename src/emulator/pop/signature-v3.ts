/**
 * Alibaba Cloud OpenAPI signature V3 (`ACS3-HMAC-SHA256`, and `ACS3-HMAC-SM3`), as
 * @alicloud/openapi-util 0.3.x `getAuthorization` computes it and the "V3版本请求体&签名机制" doc
 * describes it:
 *
 * ```
 * CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
 *                    SignedHeaders \n HashedRequestPayload
 * StringToSign     = Algorithm \n hex(hash(CanonicalRequest))
 * Signature        = hex(HMAC(AccessKeySecret, StringToSign))       (no trailing "&", unlike V1)
 * Authorization    = Algorithm Credential=<AccessKeyId>,SignedHeaders=<h1;h2>,Signature=<hex>
 * ```
 *
 * The timestamp window and nonce reuse are not checked here: the gateway checks them for V1 and
 * V3 alike with the values {@link verifyV3} returns.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { PopError, gatewayErrors } from './pop-error.js';
import { percentEncode } from './signature-v1.js';

/** The V3 algorithms the emulator verifies, with their node:crypto digest names. */
const digests = { 'ACS3-HMAC-SHA256': 'sha256', 'ACS3-HMAC-SM3': 'sm3' } as const;

/** A V3 signature algorithm the emulator accepts. `ACS3-RSA-SHA256` is not supported. */
export type V3Algorithm = keyof typeof digests;

/** Node's lower-cased incoming headers. */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

/** A request as the gateway received it, before any parameter parsing beyond the query. */
export interface IncomingSignedRequest {
  /** HTTP method as received (node gives it upper-case). */
  method: string;
  /** Raw request path without the query string, e.g. `/`. */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  headers: IncomingHeaders;
  /** The raw body bytes, exactly as received (empty for GET). */
  body: Buffer;
}

/** What a valid V3 request says about itself; the gateway checks date and nonce. */
export interface VerifiedV3 {
  accessKeyId: string;
  algorithm: V3Algorithm;
  /** `x-acs-action`. */
  action: string;
  /** `x-acs-version`. */
  version: string;
  /** `x-acs-signature-nonce`. */
  nonce: string;
  /** `x-acs-date`, unparsed (the SDK sends `YYYY-MM-DDThh:mm:ssZ`). */
  date: string;
  /** `x-acs-security-token`, for STS credentials. */
  securityToken?: string;
  /** Lower-cased, sorted names from the Authorization header. */
  signedHeaders: string[];
}

/** Headers every V3 request carries; their absence is a MissingParameter. */
const requiredHeaders = [
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
] as const;

/** Common headers that must be signed whenever present (doc: all but Authorization). */
const mustSignWhenPresent = ['host', ...requiredHeaders, 'x-acs-security-token'] as const;

const v3Errors = {
  incompleteSignature: (detail: string) =>
    new PopError(
      'IncompleteSignature',
      400,
      `${gatewayErrors.incompleteSignature().message} ${detail}`,
    ),
  /**
   * The real gateway's answer is not documented. A body that does not hash to the declared value
   * changes the payload line of the canonical request, so the natural server outcome is a
   * signature mismatch: same code, with a message that names the two hashes.
   */
  contentHashMismatch: (declared: string, actual: string) =>
    new PopError(
      'SignatureDoesNotMatch',
      400,
      `Specified signature is not matched with our calculation. x-acs-content-sha256 is ${declared} but the request body hashes to ${actual}.`,
    ),
  signatureMismatch: (stringToSign: string, canonicalRequest: string) =>
    new PopError(
      'SignatureDoesNotMatch',
      400,
      `${gatewayErrors.signatureMismatch(stringToSign).message} canonical request is:${canonicalRequest}`,
    ),
} as const;

function header(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function isAlgorithm(s: string): s is V3Algorithm {
  return Object.hasOwn(digests, s);
}

/** True when the request carries an `Authorization: ACS3-…` header (V1 requests carry none). */
export function isV3(headers: IncomingHeaders): boolean {
  return header(headers, 'authorization')?.trimStart().startsWith('ACS3-') ?? false;
}

interface ParsedAuthorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string | undefined): ParsedAuthorization {
  const match = /^\s*(\S+)\s+(.+?)\s*$/.exec(value ?? '');
  if (!match?.[1] || !match[2]) {
    throw v3Errors.incompleteSignature('The Authorization header is missing or malformed.');
  }
  const fields = new Map<string, string>();
  for (const part of match[2].split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) {
    throw v3Errors.incompleteSignature(
      'The Authorization header needs Credential, SignedHeaders and Signature.',
    );
  }
  const names = signedHeaders.split(';').map((h) => h.trim().toLowerCase());
  if (names.some((h) => h === '')) {
    throw v3Errors.incompleteSignature('SignedHeaders has an empty header name.');
  }
  return {
    algorithm: match[1],
    accessKeyId,
    signedHeaders: [...new Set(names)].sort(),
    signature,
  };
}

/**
 * Query parameters sorted by raw name (code-unit order), `enc(name)=enc(value)` joined with `&`,
 * with the V1 RFC 3986 encoding. The SDK leaves names unencoded; for the names POP uses
 * (`[A-Za-z0-9.]`) the two agree.
 */
export function canonicalQueryV3(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(query[k] ?? '')}`)
    .join('&');
}

/** The canonical request for the given signed header names (lower-case, sorted). */
export function canonicalRequestV3(
  req: Omit<IncomingSignedRequest, 'body'>,
  signedHeaders: readonly string[],
  hashedPayload: string,
): string {
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(req.headers, name) ?? '').trim()}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    req.path === '' ? '/' : req.path,
    canonicalQueryV3(req.query),
    canonicalHeaders,
    signedHeaders.join(';'),
    hashedPayload,
  ].join('\n');
}

/** Lower-case hex digest of the body (`x-acs-content-sha256`, whatever the algorithm). */
export function hashPayloadV3(algorithm: V3Algorithm, body: Buffer | string): string {
  return createHash(digests[algorithm]).update(body).digest('hex');
}

/** `Algorithm \n hex(hash(CanonicalRequest))`. */
export function stringToSignV3(algorithm: V3Algorithm, canonicalRequest: string): string {
  return `${algorithm}\n${hashPayloadV3(algorithm, canonicalRequest)}`;
}

/** Lower-case hex HMAC of the string to sign, keyed with the bare secret. */
export function signatureV3(algorithm: V3Algorithm, secret: string, stringToSign: string): string {
  return createHmac(digests[algorithm], secret).update(stringToSign).digest('hex');
}

/**
 * The Authorization header for a request whose headers already hold `x-acs-content-sha256`,
 * signing `host`, `content-type` and every `x-acs-*` header present, as the SDK does. For tests
 * that craft raw requests.
 */
export function authorizationV3(
  req: Omit<IncomingSignedRequest, 'body'>,
  accessKeyId: string,
  secret: string,
  algorithm: V3Algorithm = 'ACS3-HMAC-SHA256',
): string {
  const signedHeaders = Object.keys(req.headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h === 'host' || h === 'content-type' || h.startsWith('x-acs-'))
    .sort();
  const hashed = header(req.headers, 'x-acs-content-sha256') ?? hashPayloadV3(algorithm, '');
  const canonical = canonicalRequestV3(req, signedHeaders, hashed);
  const signature = signatureV3(algorithm, secret, stringToSignV3(algorithm, canonical));
  return `${algorithm} Credential=${accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a V3-signed request. Throws {@link PopError}:
 * - `IncompleteSignature` 400: Authorization missing or malformed, an unsupported algorithm, or
 *   a present common header (`host`, `x-acs-*` of the common set) left out of SignedHeaders;
 * - `MissingParameter` 400: no `x-acs-action`, `x-acs-version`, `x-acs-date`,
 *   `x-acs-signature-nonce` or `x-acs-content-sha256` header;
 * - `InvalidAccessKeyId.NotFound` 400: `lookupSecret` knows no such key;
 * - `SignatureDoesNotMatch` 400: the body does not hash to `x-acs-content-sha256`, or the
 *   signature differs (the message carries the server's string to sign and canonical request).
 */
export function verifyV3(
  req: IncomingSignedRequest,
  lookupSecret: (accessKeyId: string) => string | undefined,
): VerifiedV3 {
  const auth = parseAuthorization(header(req.headers, 'authorization'));
  const { algorithm } = auth;
  if (!isAlgorithm(algorithm)) {
    throw v3Errors.incompleteSignature(`Unsupported signature algorithm ${algorithm}.`);
  }
  const values = new Map<string, string>();
  for (const name of requiredHeaders) {
    const value = header(req.headers, name)?.trim();
    if (!value) throw gatewayErrors.missingParameter(name);
    values.set(name, value);
  }
  for (const name of mustSignWhenPresent) {
    if (header(req.headers, name) !== undefined && !auth.signedHeaders.includes(name)) {
      throw v3Errors.incompleteSignature(`The header ${name} must be signed.`);
    }
  }
  const secret = lookupSecret(auth.accessKeyId);
  if (secret === undefined) throw gatewayErrors.accessKeyNotFound();

  const declared = values.get('x-acs-content-sha256') ?? '';
  const actual = hashPayloadV3(algorithm, req.body);
  if (!sameHex(declared, actual)) throw v3Errors.contentHashMismatch(declared, actual);

  const canonical = canonicalRequestV3(req, auth.signedHeaders, declared);
  const stringToSign = stringToSignV3(algorithm, canonical);
  if (!sameHex(auth.signature, signatureV3(algorithm, secret, stringToSign))) {
    throw v3Errors.signatureMismatch(stringToSign, canonical);
  }
  const securityToken = header(req.headers, 'x-acs-security-token');
  return {
    accessKeyId: auth.accessKeyId,
    algorithm,
    action: values.get('x-acs-action') ?? '',
    version: values.get('x-acs-version') ?? '',
    nonce: values.get('x-acs-signature-nonce') ?? '',
    date: values.get('x-acs-date') ?? '',
    ...(securityToken !== undefined ? { securityToken } : {}),
    signedHeaders: auth.signedHeaders,
  };
}
