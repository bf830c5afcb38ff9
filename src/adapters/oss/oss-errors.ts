/**
 * Maps an ali-oss failure to the error hierarchy through the one code table
 * (`src/adapters/cloudauth/error-table.ts`, rows `on: 'ossCode'`). ali-oss errors carry the request
 * (`params`, with headers and the body) and its URL: the error built here keeps only the code,
 * the status, the request id and the scrubbed OSS message.
 */
import { OrchestratorError, ProviderError, type OrchestratorErrorOptions } from '../../errors.js';
import {
  findFailureRow,
  scrubProviderMessage,
  type SanitizedCause,
} from '../cloudauth/error-table.js';

const SAFE = /^[A-Za-z0-9_.:-]{1,80}$/;
const safe = (v: unknown) => (typeof v === 'string' && SAFE.test(v) ? v : undefined);

/** The error for a failed OSS `operation` (e.g. `PutObject`). */
export function ossToOrchestratorError(err: unknown, operation: string): OrchestratorError {
  if (err instanceof OrchestratorError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const name = safe(e.name) ?? 'Error';
  const status = typeof e.status === 'number' && e.status > 0 ? e.status : undefined;
  const code = safe(e.code);
  const answered = status !== undefined && code !== undefined;
  const row = answered
    ? findFailureRow('ossCode', code)
    : (findFailureRow('errorName', name) ??
      (code === undefined ? undefined : findFailureRow('socketCode', code)) ??
      (status !== undefined && status >= 500
        ? findFailureRow('ossCode', 'InternalError')
        : undefined));
  const requestId = safe(e.requestId);
  const cause: SanitizedCause = {
    name,
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { status }),
  };
  const options: OrchestratorErrorOptions = {
    cause,
    ...(answered ? { providerCode: code } : {}),
    ...(requestId === undefined ? {} : { requestId }),
    ...(status === undefined ? {} : { httpStatus: status }),
  };
  const text = answered ? scrubProviderMessage(e.message) : undefined;
  const what = answered
    ? `${code} (HTTP ${status})${text === undefined ? '' : `: ${text}`}`
    : `${code ?? name}`;
  const ErrorClass = row?.errorClass ?? ProviderError;
  return new ErrorClass(
    row?.errorCode ?? 'PROVIDER_UNKNOWN_CODE',
    `OSS ${operation} failed: ${what}`,
    options,
  );
}
