/**
 * The one table that turns every provider failure into an {@link OrchestratorError}: Cloudauth and
 * POP gateway codes, OSS codes (see `src/adapters/oss/oss-errors.ts`), transport error names (httpx,
 * json-bigint, ali-oss) and Node socket error codes. Nothing else in the code base inspects
 * provider codes.
 *
 * pop-core errors carry the whole signed URL (AccessKeyId, Signature, SecurityToken) in
 * `message`, `url` and `entry`, and Node socket errors get the URL appended by httpx. The errors
 * built here are rebuilt from codes, the provider's `Message` (scrubbed) and the HTTP status only;
 * their `cause` is a {@link SanitizedCause}, never the original error.
 */
import {
  OrchestratorError,
  ProviderError,
  StsCredentialsInvalidError,
  ThrottledError,
  TransportError,
  NotSentError,
  VerifyTokenInvalidError,
  type ErrorCode,
  type OrchestratorErrorOptions,
} from '../../errors.js';

/** Wait before retrying a throttled call, in ms: longer than the default backoff's first step. */
export const THROTTLE_RETRY_AFTER_MS = 2000;

/** A class of the error hierarchy that a row produces. */
export type FailureClass = new (
  code: ErrorCode,
  message: string,
  options?: OrchestratorErrorOptions,
) => OrchestratorError;

/** One row of {@link CLOUDAUTH_CODE_TABLE}. */
export interface FailureRow {
  /**
   * What `match` is compared with: `providerCode` the `Code` of an error answer, `errorName` the
   * `name` of a transport error thrown before a usable answer, `socketCode` the `code` of a Node
   * socket / DNS error, `ossCode` the `Code` of an OSS error answer (as ali-oss reports it).
   */
  on: 'providerCode' | 'errorName' | 'socketCode' | 'ossCode';
  /** An exact value, or a prefix when it ends in `.*` (`Throttling.*` matches `Throttling.User`). */
  match: string;
  errorCode: ErrorCode;
  errorClass: FailureClass;
  /** Minimum wait before a retry, in ms. */
  retryAfterMs?: number;
}

const code = (
  match: string,
  errorCode: ErrorCode,
  errorClass: FailureClass,
  extra: Pick<FailureRow, 'retryAfterMs'> = {},
): FailureRow => ({ on: 'providerCode', match, errorCode, errorClass, ...extra });

const socket = (match: string): FailureRow => ({
  on: 'socketCode',
  match,
  errorCode: 'PROVIDER_UNREACHABLE',
  errorClass: TransportError,
});

/** A socket failure before the connection was made: the request never left. */
const unsent = (match: string): FailureRow => ({ ...socket(match), errorClass: NotSentError });

const oss = (match: string, errorCode: ErrorCode, errorClass: FailureClass): FailureRow => ({
  on: 'ossCode',
  match,
  errorCode,
  errorClass,
});

const throttled = { retryAfterMs: THROTTLE_RETRY_AFTER_MS };

/**
 * Every known failure. Exact rows win over prefix rows, and a longer prefix over a shorter one.
 * Anything unmatched becomes `PROVIDER_UNKNOWN_CODE` (not retried; the client logs it at warn).
 * A comment above a row says where its code comes from when that is not the public error tables.
 */
export const CLOUDAUTH_CODE_TABLE: readonly FailureRow[] = [
  code('Error.InternalError', 'PROVIDER_INTERNAL', ProviderError),
  code('InternalError', 'PROVIDER_INTERNAL', ProviderError),
  code('ServiceUnavailable', 'PROVIDER_INTERNAL', ProviderError),

  code('Throttling', 'PROVIDER_THROTTLED', ThrottledError, throttled),
  // Throttling.User, Throttling.Api and any other variant.
  code('Throttling.*', 'PROVIDER_THROTTLED', ThrottledError, throttled),

  code('SignatureNonceUsed', 'PROVIDER_NONCE_REUSED', ProviderError),

  // Answered by our emulator for an unknown VerifyToken; the real code is unknown (spec §7).
  code('InvalidParam.VerifyTokenInvalid', 'VERIFY_TOKEN_INVALID', VerifyTokenInvalidError),
  // Answered by our emulator for an expired VerifyToken; the real code is unknown (spec §7).
  code('InvalidParam.VerifyTokenExpired', 'VERIFY_TOKEN_INVALID', VerifyTokenInvalidError),
  code('InvalidParam.InvalidBiz', 'PROVIDER_INVALID_BIZ', ProviderError),
  // ParamMissing, JsonFormatError, ImageValuePatternError, ImageTooLarge, RequestTooLarge,
  // MaterialTypeInvalid, …
  code('InvalidParam.*', 'PROVIDER_INVALID_PARAM', ProviderError),
  code('MissingParameter', 'PROVIDER_INVALID_PARAM', ProviderError),
  code('InvalidParameter', 'PROVIDER_INVALID_PARAM', ProviderError),
  code('IllegalTimestamp', 'PROVIDER_INVALID_PARAM', ProviderError),
  code('IncompleteSignature', 'PROVIDER_INVALID_PARAM', ProviderError),

  code('Error.NoPermissionAccess', 'PROVIDER_NO_PERMISSION', ProviderError),
  code('Forbidden.*', 'PROVIDER_NO_PERMISSION', ProviderError),

  code('SignatureDoesNotMatch', 'PROVIDER_AUTH_FAILED', ProviderError),
  code('InvalidAccessKeyId.*', 'PROVIDER_AUTH_FAILED', ProviderError),
  // InvalidTimeStamp.Expired: the clock is more than 15 minutes off.
  code('InvalidTimeStamp.*', 'PROVIDER_AUTH_FAILED', ProviderError),
  code('InvalidSecurityToken.*', 'PROVIDER_AUTH_FAILED', ProviderError),
  code('MissingSecurityToken', 'PROVIDER_AUTH_FAILED', ProviderError),

  code('InvalidAction.NotFound', 'PROVIDER_UNKNOWN_ACTION', ProviderError),
  code('InvalidAction', 'PROVIDER_UNKNOWN_ACTION', ProviderError),
  code('InvalidVersion', 'PROVIDER_UNKNOWN_ACTION', ProviderError),
  code('UnsupportedHTTPMethod', 'PROVIDER_UNKNOWN_ACTION', ProviderError),
  code('UnsupportedOperation', 'PROVIDER_UNKNOWN_ACTION', ProviderError),

  // httpx connect or read timeout (opts.timeout).
  {
    on: 'errorName',
    match: 'RequestTimeoutError',
    errorCode: 'PROVIDER_TIMEOUT',
    errorClass: TransportError,
  },
  // json-bigint could not parse the body (a proxy error page, a truncated body).
  {
    on: 'errorName',
    match: 'SyntaxError',
    errorCode: 'PROVIDER_BAD_RESPONSE',
    errorClass: TransportError,
  },
  unsent('ECONNREFUSED'),
  // Also "socket hang up" and a body cut short ("aborted"): the request may have arrived.
  socket('ECONNRESET'),
  socket('ECONNABORTED'),
  socket('EPIPE'),
  unsent('ENOTFOUND'),
  unsent('EAI_AGAIN'),
  // A connect or a read that timed out at the socket: which one, the code does not say.
  socket('ETIMEDOUT'),
  unsent('EHOSTUNREACH'),
  unsent('ENETUNREACH'),
  unsent('ENETDOWN'),

  oss('SecurityTokenExpired', 'STS_CREDENTIALS_INVALID', StsCredentialsInvalidError),
  // Also what OSS answers for an STS key it no longer knows.
  oss('InvalidAccessKeyId', 'STS_CREDENTIALS_INVALID', StsCredentialsInvalidError),
  oss('InvalidSecurityToken', 'STS_CREDENTIALS_INVALID', StsCredentialsInvalidError),
  oss('AccessKeyIdAndSecurityTokenNotMatch', 'STS_CREDENTIALS_INVALID', StsCredentialsInvalidError),
  oss('InternalError', 'PROVIDER_INTERNAL', ProviderError),
  oss('ServiceUnavailable', 'PROVIDER_INTERNAL', ProviderError),
  oss('InvalidDigest', 'OSS_DIGEST_MISMATCH', ProviderError),
  oss('SignatureDoesNotMatch', 'PROVIDER_AUTH_FAILED', ProviderError),
  // The clock is more than 15 minutes off.
  oss('RequestTimeTooSkewed', 'PROVIDER_AUTH_FAILED', ProviderError),
  // A key outside the STS token's Path: a defect, not retried.
  oss('AccessDenied', 'PROVIDER_NO_PERMISSION', ProviderError),
  oss('EntityTooLarge', 'PROVIDER_INVALID_PARAM', ProviderError),
  oss('MissingContentLength', 'PROVIDER_INVALID_PARAM', ProviderError),
  oss('InvalidObjectName', 'PROVIDER_INVALID_PARAM', ProviderError),
  // The BucketName Cloudauth handed out does not exist at the EndPoint.
  oss('NoSuchBucket', 'PROVIDER_INVALID_PARAM', ProviderError),
  // ali-oss (urllib): the connection failed before an answer.
  {
    on: 'errorName',
    match: 'RequestError',
    errorCode: 'PROVIDER_UNREACHABLE',
    errorClass: TransportError,
  },
  // ali-oss: connect timeout.
  {
    on: 'errorName',
    match: 'ConnectionTimeoutError',
    errorCode: 'PROVIDER_TIMEOUT',
    errorClass: TransportError,
  },
  // ali-oss: response timeout.
  {
    on: 'errorName',
    match: 'ResponseTimeoutError',
    errorCode: 'PROVIDER_TIMEOUT',
    errorClass: TransportError,
  },
];

/**
 * The row for a value, or undefined. Exact rows first, then the longest matching `.*` prefix.
 */
export function findFailureRow(on: FailureRow['on'], value: string): FailureRow | undefined {
  let best: FailureRow | undefined;
  for (const row of CLOUDAUTH_CODE_TABLE) {
    if (row.on !== on) continue;
    if (row.match === value) return row;
    if (row.match.endsWith('.*')) {
      const prefix = row.match.slice(0, -1);
      if (value.startsWith(prefix) && (!best || best.match.length < row.match.length)) best = row;
    }
  }
  return best;
}

/** The log-safe stand-in for the original error, attached as `cause`. */
export interface SanitizedCause {
  /** The original error's `name`, e.g. `ThrottlingError`, `RequestTimeoutError`. */
  name: string;
  /** Provider code or socket error code. */
  code?: string;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** `HostId` of the answer. */
  hostId?: string;
}

interface Extracted {
  name: string;
  providerCode: string | undefined;
  socketCode: string | undefined;
  requestId: string | undefined;
  hostId: string | undefined;
  httpStatus: number | undefined;
  providerMessage: string | undefined;
  timeoutMs: number | undefined;
}

const SAFE_TOKEN = /^[A-Za-z0-9_.:-]{1,80}$/;
const MAX_MESSAGE = 300;

function safeToken(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && SAFE_TOKEN.test(v) ? v : undefined;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/**
 * The provider's `Message`, without the `server string to sign is:…` tail of
 * `SignatureDoesNotMatch` (the canonical query string, personal data included), URLs or signed
 * parameters, and capped in length.
 */
export function scrubProviderMessage(message: unknown): string | undefined {
  if (typeof message !== 'string') return undefined;
  let m = message;
  const cut = m.search(/(,\s*)?(server\s+)?string\s*to\s*sign|,\s*URL:/i);
  if (cut >= 0) m = m.slice(0, cut);
  m = m
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')
    .replace(
      /(AccessKeyId|AccessKeySecret|Signature|SecurityToken|Token)\s*[=:]\s*\S+/gi,
      '[redacted]',
    )
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.,:;]+$/, '');
  if (m.length > MAX_MESSAGE) m = `${m.slice(0, MAX_MESSAGE)}…`;
  return m === '' || m === 'undefined' ? undefined : m;
}

function extract(err: unknown): Extracted {
  const e = record(err) ?? {};
  const data = record(e.data);
  const response = record(record(e.entry)?.response);
  const status = response?.statusCode;
  const name = safeToken(e.name) ?? (err instanceof Error ? 'Error' : typeof err);
  const answered = data !== undefined && data.Code !== undefined && data.Code !== null;
  let socketCode = answered ? undefined : safeToken(e.code);
  if (!answered && socketCode === undefined && Array.isArray(e.errors)) {
    socketCode = safeToken(record(e.errors[0])?.code);
  }
  const timeout = typeof e.message === 'string' ? /Timeout(?:\(|:\s*)(\d+)/.exec(e.message) : null;
  return {
    name,
    providerCode: answered ? (safeToken(data.Code) ?? '[unprintable]') : undefined,
    socketCode,
    requestId: safeToken(data?.RequestId),
    hostId: safeToken(data?.HostId),
    httpStatus: typeof status === 'number' && Number.isInteger(status) ? status : undefined,
    providerMessage: answered ? scrubProviderMessage(data.Message) : undefined,
    timeoutMs: timeout?.[1] === undefined ? undefined : Number(timeout[1]),
  };
}

function causeOf(x: Extracted): SanitizedCause {
  const codeValue = x.providerCode ?? x.socketCode;
  return {
    name: x.name,
    ...(codeValue === undefined ? {} : { code: codeValue }),
    ...(x.httpStatus === undefined ? {} : { status: x.httpStatus }),
    ...(x.hostId === undefined ? {} : { hostId: x.hostId }),
  };
}

function describe(action: string, x: Extracted, row: FailureRow | undefined): string {
  if (x.providerCode !== undefined) {
    const status = x.httpStatus === undefined ? '' : ` (HTTP ${x.httpStatus})`;
    const text = x.providerMessage === undefined ? '' : `: ${x.providerMessage}`;
    return `${action} failed: ${x.providerCode}${status}${text}`;
  }
  const what = x.socketCode ?? x.name;
  if (row?.errorCode === 'PROVIDER_TIMEOUT') {
    const within = x.timeoutMs === undefined ? 'the timeout' : `${x.timeoutMs} ms`;
    return `${action} failed: no answer within ${within}`;
  }
  if (row?.errorCode === 'PROVIDER_BAD_RESPONSE') return `${action} failed: the answer is not JSON`;
  if (row?.errorCode === 'PROVIDER_UNREACHABLE')
    return `${action} failed: connection error ${what}`;
  return `${action} failed: unexpected ${what}`;
}

/**
 * Maps any failure of a Cloudauth call to the orchestrator's error hierarchy through
 * {@link CLOUDAUTH_CODE_TABLE}. The result carries `providerCode`, `requestId` and `httpStatus`
 * when the provider answered, a message built only from safe parts, and a {@link SanitizedCause}.
 * An {@link OrchestratorError} is returned as it is.
 */
export function toOrchestratorError(err: unknown, action: string): OrchestratorError {
  if (err instanceof OrchestratorError) return err;
  const x = extract(err);
  let row: FailureRow | undefined;
  if (x.providerCode !== undefined) row = findFailureRow('providerCode', x.providerCode);
  else {
    row = findFailureRow('errorName', x.name);
    if (!row && x.socketCode !== undefined) row = findFailureRow('socketCode', x.socketCode);
  }
  const options: OrchestratorErrorOptions = {
    cause: causeOf(x),
    ...(row?.retryAfterMs === undefined ? {} : { retryAfterMs: row.retryAfterMs }),
    ...(x.providerCode === undefined ? {} : { providerCode: x.providerCode }),
    ...(x.requestId === undefined ? {} : { requestId: x.requestId }),
    ...(x.httpStatus === undefined ? {} : { httpStatus: x.httpStatus }),
  };
  const ErrorClass = row?.errorClass ?? ProviderError;
  return new ErrorClass(
    row?.errorCode ?? 'PROVIDER_UNKNOWN_CODE',
    describe(action, x, row),
    options,
  );
}
