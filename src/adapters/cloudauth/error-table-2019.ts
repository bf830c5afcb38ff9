/**
 * The code table of the Cloudauth 2019-03-07 body `Code`s (spec `cloudauth-2019.md` §7, §8.1), and
 * the two ways a 2019-03-07 call fails:
 *
 * - the gateway refused it (HTTP ≥ 400: signature, key, throttling) or no answer came (timeout,
 *   connection refused): the SDK throws, and the error goes through the POP gateway rows of
 *   {@link CLOUDAUTH_CODE_TABLE} (`error-table.ts`), which the two API versions share;
 * - the action answered HTTP 200 with a body `Code` other than `"200"`: the SDK resolves, and
 *   {@link CLOUDAUTH_2019_CODE_TABLE} below decides the error.
 *
 * Messages are built from codes, our own wording and the provider's `Message` scrubbed of URLs,
 * signed parameters, long digit runs and the applicant's own values; never the original error.
 */
import {
  OrchestratorError,
  ProviderError,
  ThrottledError,
  type ErrorCode,
  type OrchestratorErrorOptions,
} from '../../errors.js';
import {
  THROTTLE_RETRY_AFTER_MS,
  scrubProviderMessage,
  toOrchestratorError,
  type FailureClass,
} from './error-table.js';
import type { Cloudauth2019Action } from './types-2019.js';

/**
 * Wait before asking DescribeFaceVerify again while the applicant has not finished (Code 403 or
 * 424): an applicant takes tens of seconds at least, so sooner only spends QPS.
 */
export const RESULT_PENDING_RETRY_AFTER_MS = 5000;

/** One row of {@link CLOUDAUTH_2019_CODE_TABLE}. */
export interface BodyCodeRow {
  /** The body `Code`, as a string. */
  code: string;
  /**
   * The actions where the code has this meaning; absent = every action. Id2MetaVerify gives 402
   * and 403 meanings of its own (§7), so its rows win over the general ones.
   */
  actions?: readonly Cloudauth2019Action[];
  /** What the code means, in our words (part of the error message; no personal data). */
  meaning: string;
  errorCode: ErrorCode;
  errorClass: FailureClass;
  /** Minimum wait before a retry, in ms. */
  retryAfterMs?: number;
}

const row = (
  code: string,
  meaning: string,
  errorCode: ErrorCode,
  extra: Partial<Pick<BodyCodeRow, 'actions' | 'errorClass' | 'retryAfterMs'>> = {},
): BodyCodeRow => ({ code, meaning, errorCode, errorClass: ProviderError, ...extra });

const ID2META: readonly Cloudauth2019Action[] = ['Id2MetaVerify'];

/**
 * Every documented body `Code` except `200` (spec §8.1 for the financial-grade actions, §7 for
 * Id2MetaVerify). A code missing here becomes `PROVIDER_UNKNOWN_CODE`, not retried.
 */
export const CLOUDAUTH_2019_CODE_TABLE: readonly BodyCodeRow[] = [
  row('400', 'a required parameter is missing', 'PROVIDER_INVALID_PARAM'),
  // Also an unreachable CallbackUrl (probed at Init).
  row('401', 'a parameter is invalid', 'PROVIDER_INVALID_PARAM'),
  row('402', 'the application configuration does not exist', 'PROVIDER_INVALID_BIZ'),
  row('402', 'the authority data source failed', 'PROVIDER_INTERNAL', { actions: ID2META }),
  row('403', 'the verification is not finished', 'VERIFICATION_PENDING', {
    retryAfterMs: RESULT_PENDING_RETRY_AFTER_MS,
  }),
  // 异常重复调用: the same check repeated too often; waiting is the only remedy.
  row('403', 'abnormal repeated calls', 'PROVIDER_THROTTLED', {
    actions: ID2META,
    errorClass: ThrottledError,
    retryAfterMs: THROTTLE_RETRY_AFTER_MS,
  }),
  row('404', 'the SceneId is not configured', 'PROVIDER_INVALID_BIZ'),
  row('405', 'the applicant is under 14', 'APPLICANT_REFUSED'),
  row('406', 'the CertifyId is unknown', 'PROVIDER_INVALID_PARAM'),
  // The service, or its OSS authorisation, is not activated for the account.
  row('410', 'the service is not activated', 'PROVIDER_NO_PERMISSION'),
  row('411', 'the RAM user lacks the Cloudauth permission', 'PROVIDER_NO_PERMISSION'),
  row('412', 'the account is in arrears', 'PROVIDER_NO_PERMISSION'),
  // 414–416 judge the MetaInfo of the applicant's device: the same request stays refused.
  row('414', 'the device type is not supported', 'PROVIDER_INVALID_PARAM'),
  row('415', 'the client SDK version is not supported', 'PROVIDER_INVALID_PARAM'),
  row('416', 'the operating system version is not supported', 'PROVIDER_INVALID_PARAM'),
  row('417', 'no authority photo can be used for this applicant', 'APPLICANT_REFUSED'),
  row('418', 'too many failed attempts today', 'APPLICANT_REFUSED'),
  row('419', 'the photo is unusable', 'PROVIDER_INVALID_PARAM'),
  row('420', 'more than one photo source', 'PROVIDER_INVALID_PARAM'),
  row('421', 'the photo is over 1 MB', 'PROVIDER_INVALID_PARAM'),
  // Cloudauth gives a photo URL 3 s to download; another attempt may be quicker.
  row('422', 'the photo download timed out', 'PROVIDER_TIMEOUT'),
  row('423', 'the given CertifyId is not a passed verification', 'PROVIDER_INVALID_PARAM'),
  row('424', 'no submission for this CertifyId yet', 'VERIFICATION_PENDING', {
    retryAfterMs: RESULT_PENDING_RETRY_AFTER_MS,
  }),
  row('427', 'refused by the business risk policy', 'APPLICANT_REFUSED'),
  row('500', 'internal error', 'PROVIDER_INTERNAL'),
];

/** The row for an action's body `Code`: a row of that action first, then a general one. */
export function findBodyCodeRow(
  action: Cloudauth2019Action,
  code: string,
): BodyCodeRow | undefined {
  const rows = CLOUDAUTH_2019_CODE_TABLE.filter((r) => r.code === code);
  return (
    rows.find((r) => r.actions?.includes(action) === true) ??
    rows.find((r) => r.actions === undefined)
  );
}

/** A body that came back with HTTP 200 but a `Code` other than `"200"`. */
export interface RefusedBody {
  code?: unknown;
  message?: unknown;
  requestId?: unknown;
}

const SAFE_TOKEN = /^[A-Za-z0-9_.:-]{1,80}$/;
/** ID numbers, phone numbers, card numbers: any run of 6+ digits (an X may end an ID number). */
const DIGIT_RUN = /\d{6,}[Xx]?/g;

function safeToken(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && SAFE_TOKEN.test(v) ? v : undefined;
}

/**
 * The provider's message, scrubbed as for 2018-09-16, with digit runs and each of `personal` (the
 * applicant's name and ID number as sent) replaced: a refusal must not echo what it refused.
 */
export function scrubRefusalMessage(
  message: unknown,
  personal: readonly string[],
): string | undefined {
  let m = scrubProviderMessage(message);
  if (m === undefined) return undefined;
  for (const value of personal) {
    if (value.trim() !== '') m = m.split(value).join('[redacted]');
  }
  return m.replace(DIGIT_RUN, '[redacted]');
}

/**
 * The error for a refused body through {@link CLOUDAUTH_2019_CODE_TABLE}. `personal` lists the
 * values the call sent that must not reappear in the message.
 */
export function refusalError(
  action: Cloudauth2019Action,
  body: RefusedBody,
  personal: readonly string[] = [],
): OrchestratorError {
  const code = safeToken(body.code) ?? '[unprintable]';
  const found = findBodyCodeRow(action, code);
  const requestId = safeToken(body.requestId);
  const options: OrchestratorErrorOptions = {
    providerCode: code,
    httpStatus: 200,
    cause: { name: 'CloudauthRefusal', code, status: 200 },
    ...(requestId === undefined ? {} : { requestId }),
    ...(found?.retryAfterMs === undefined ? {} : { retryAfterMs: found.retryAfterMs }),
  };
  const text = scrubRefusalMessage(body.message, personal);
  const meaning = found === undefined ? '' : ` (${found.meaning})`;
  const message = `${action} failed: Code ${code}${meaning}${text === undefined ? '' : `: ${text}`}`;
  const ErrorClass = found?.errorClass ?? ProviderError;
  return new ErrorClass(found?.errorCode ?? 'PROVIDER_UNKNOWN_CODE', message, options);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/**
 * The error for anything the SDK throws: an `AlibabaCloudError` (`ClientError`, `ServerError`,
 * `ThrottlingError`: gateway `Code` in `data`, HTTP status in `statusCode`), a timeout
 * (`RequestTimeoutError`), a socket error (`code: 'ECONNREFUSED'`), a non-JSON body
 * (`SyntaxError`). It is recast in the shape the shared table reads (pop-core's `data` and
 * `entry.response.statusCode`), so gateway and transport failures map alike in both API versions.
 */
export function sdkFailureError(err: unknown, action: Cloudauth2019Action): OrchestratorError {
  const e = record(err);
  if (e === undefined || err instanceof OrchestratorError) return toOrchestratorError(err, action);
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const data = record(e.data);
  const recast = {
    name: e.name,
    code: data === undefined ? e.code : undefined,
    message: e.message,
    data,
    errors: e.errors,
    entry: status === undefined ? undefined : { response: { statusCode: status } },
  };
  return toOrchestratorError(recast, action);
}
