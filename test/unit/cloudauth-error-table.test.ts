import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  CLOUDAUTH_CODE_TABLE,
  THROTTLE_RETRY_AFTER_MS,
  findFailureRow,
  scrubProviderMessage,
  toOrchestratorError,
  type FailureRow,
} from '../../src/adapters/cloudauth/error-table.js';
import {
  ERROR_CODES,
  ProviderError,
  ThrottledError,
  NotSentError,
  TransportError,
  VerifyTokenInvalidError,
  ValidationError,
  type ErrorCode,
  type OrchestratorError,
} from '../../src/errors.js';

const ACCESS_KEY_ID = 'LTAIunitTestKey01';
const SECRET = 'unit-test-secret-Zq9';
const SECURITY_TOKEN = 'CAIStsTokenUnitTest77';
const SIGNED_URL =
  `http://127.0.0.1:8787/?AccessKeyId=${ACCESS_KEY_ID}&Action=GetStatus&Biz=RPBasic` +
  `&Format=JSON&SecurityToken=${SECURITY_TOKEN}&SignatureMethod=HMAC-SHA1` +
  `&SignatureNonce=0123456789abcdef&SignatureVersion=1.0&TicketId=t-1` +
  `&Timestamp=2026-11-28T09%3A00%3A00Z&Version=2018-09-16&Signature=abcDEF%2Bghi%3D`;
const FORBIDDEN = [
  SIGNED_URL,
  'http://',
  'Signature=',
  'SignatureNonce=',
  '0123456789abcdef',
  'URL:',
  ACCESS_KEY_ID,
  SECRET,
  SECURITY_TOKEN,
  'abcDEF',
];

/** An error exactly as pop-core 1.8.0 builds it for a `Code` outside `codes`. */
function popCoreError(
  code: string,
  opts: { message?: string | undefined; status?: number; requestId?: string } = {},
): Error {
  const data: Record<string, unknown> = {
    RequestId: opts.requestId ?? 'REQ-0001-ABCD',
    HostId: 'cloudauth.aliyuncs.com',
    Code: code,
  };
  if (opts.message !== undefined) data.Message = opts.message;
  return Object.assign(new Error(`${String(opts.message)}, URL: ${SIGNED_URL}`), {
    name: `${code}Error`,
    code,
    data,
    url: SIGNED_URL,
    entry: {
      url: SIGNED_URL,
      request: { headers: { 'x-acs-action': 'GetStatus' } },
      response: { statusCode: opts.status ?? 400, headers: {} },
    },
  });
}

function expectNoSecrets(err: OrchestratorError): void {
  const views = [
    err.message,
    JSON.stringify(err),
    JSON.stringify(err.toJSON()),
    String(JSON.stringify(err.cause)),
    inspect(err, { depth: 10 }),
    String(err.stack),
  ];
  for (const view of views) {
    for (const needle of FORBIDDEN) expect(view).not.toContain(needle);
  }
  expect(err.cause).not.toBeInstanceOf(Error);
}

function sampleCode(row: FailureRow): string {
  return row.match.endsWith('.*') ? `${row.match.slice(0, -2)}.SomeVariant` : row.match;
}

const providerRows = CLOUDAUTH_CODE_TABLE.filter((r) => r.on === 'providerCode');
const transportRows = CLOUDAUTH_CODE_TABLE.filter(
  (r) => r.on === 'errorName' || r.on === 'socketCode',
);

describe('CLOUDAUTH_CODE_TABLE', () => {
  it('has no duplicate rows and only registered codes', () => {
    const keys = CLOUDAUTH_CODE_TABLE.map((r) => `${r.on}:${r.match}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const row of CLOUDAUTH_CODE_TABLE) expect(ERROR_CODES).toHaveProperty(row.errorCode);
  });

  it('gives every throttling row a retryAfterMs and the ThrottledError class', () => {
    for (const row of CLOUDAUTH_CODE_TABLE.filter((r) => r.errorCode === 'PROVIDER_THROTTLED')) {
      expect(row.errorClass).toBe(ThrottledError);
      expect(row.retryAfterMs).toBe(THROTTLE_RETRY_AFTER_MS);
    }
  });

  it('uses TransportError for every row that matches no provider code, NotSentError for a connection never made', () => {
    const unsent = [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ENETDOWN',
    ];
    for (const row of transportRows) {
      expect(row.errorClass, row.match).toBe(
        unsent.includes(row.match) ? NotSentError : TransportError,
      );
    }
  });
});

describe('toOrchestratorError over every provider-code row', () => {
  it.each(providerRows.map((row) => [row.match, row] as const))(
    'maps %s as the row says',
    (_match, row) => {
      const providerCode = sampleCode(row);
      expect(findFailureRow('providerCode', providerCode)).toBe(row);
      const status = row.errorCode === 'PROVIDER_INTERNAL' ? 500 : 400;
      const mapped = toOrchestratorError(
        popCoreError(providerCode, {
          message: 'Something about the request.',
          status,
          requestId: 'REQ-42',
        }),
        'GetStatus',
      );
      expect(mapped.constructor).toBe(row.errorClass);
      expect(mapped).toBeInstanceOf(ProviderError);
      expect(mapped.code).toBe(row.errorCode);
      expect(mapped.retryable).toBe(ERROR_CODES[row.errorCode].retryable);
      expect(mapped.retryAfterMs).toBe(row.retryAfterMs);
      expect(mapped.providerCode).toBe(providerCode);
      expect(mapped.requestId).toBe('REQ-42');
      expect(mapped.httpStatus).toBe(status);
      expect(mapped.message).toBe(
        `GetStatus failed: ${providerCode} (HTTP ${status}): Something about the request`,
      );
      expect(mapped.cause).toEqual({
        name: `${providerCode}Error`,
        code: providerCode,
        status,
        hostId: 'cloudauth.aliyuncs.com',
      });
      expectNoSecrets(mapped);
    },
  );
});

describe('toOrchestratorError for the codes named in the spec', () => {
  const cases: [string, ErrorCode, new (...a: never[]) => OrchestratorError, boolean][] = [
    ['Error.InternalError', 'PROVIDER_INTERNAL', ProviderError, true],
    ['InternalError', 'PROVIDER_INTERNAL', ProviderError, true],
    ['ServiceUnavailable', 'PROVIDER_INTERNAL', ProviderError, true],
    ['Throttling', 'PROVIDER_THROTTLED', ThrottledError, true],
    ['Throttling.User', 'PROVIDER_THROTTLED', ThrottledError, true],
    ['Throttling.Api', 'PROVIDER_THROTTLED', ThrottledError, true],
    ['SignatureNonceUsed', 'PROVIDER_NONCE_REUSED', ProviderError, true],
    ['InvalidParam.VerifyTokenInvalid', 'VERIFY_TOKEN_INVALID', VerifyTokenInvalidError, true],
    ['InvalidParam.VerifyTokenExpired', 'VERIFY_TOKEN_INVALID', VerifyTokenInvalidError, true],
    ['InvalidParam.InvalidBiz', 'PROVIDER_INVALID_BIZ', ProviderError, false],
    ['InvalidParam.ParamMissing', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParam.JsonFormatError', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParam.ImageValuePatternError', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParam.ImageTooLarge', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParam.RequestTooLarge', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParam.MaterialTypeInvalid', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['MissingParameter', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['InvalidParameter', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['IllegalTimestamp', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['IncompleteSignature', 'PROVIDER_INVALID_PARAM', ProviderError, false],
    ['Error.NoPermissionAccess', 'PROVIDER_NO_PERMISSION', ProviderError, false],
    ['Forbidden.RAM', 'PROVIDER_NO_PERMISSION', ProviderError, false],
    ['SignatureDoesNotMatch', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidAccessKeyId.NotFound', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidAccessKeyId.Inactive', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidTimeStamp.Expired', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidSecurityToken.Expired', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidSecurityToken.MismatchWithAccessKey', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['MissingSecurityToken', 'PROVIDER_AUTH_FAILED', ProviderError, false],
    ['InvalidAction.NotFound', 'PROVIDER_UNKNOWN_ACTION', ProviderError, false],
    ['InvalidAction', 'PROVIDER_UNKNOWN_ACTION', ProviderError, false],
    ['InvalidVersion', 'PROVIDER_UNKNOWN_ACTION', ProviderError, false],
    ['UnsupportedHTTPMethod', 'PROVIDER_UNKNOWN_ACTION', ProviderError, false],
    ['Error.CompareFacesError', 'PROVIDER_UNKNOWN_CODE', ProviderError, false],
    ['Something.New', 'PROVIDER_UNKNOWN_CODE', ProviderError, false],
  ];
  it.each(cases)('maps %s to %s', (providerCode, code, cls, retryable) => {
    const mapped = toOrchestratorError(popCoreError(providerCode, { message: 'm' }), 'GetStatus');
    expect(mapped.constructor).toBe(cls);
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.providerCode).toBe(providerCode);
    expectNoSecrets(mapped);
  });

  it('prefers the exact VerifyToken rows and InvalidBiz over the InvalidParam.* prefix', () => {
    expect(findFailureRow('providerCode', 'InvalidParam.VerifyTokenExpired')?.match).toBe(
      'InvalidParam.VerifyTokenExpired',
    );
    expect(findFailureRow('providerCode', 'InvalidParam.InvalidBiz')?.match).toBe(
      'InvalidParam.InvalidBiz',
    );
    expect(findFailureRow('providerCode', 'InvalidParam.Other')?.match).toBe('InvalidParam.*');
  });

  it('does not let a prefix row match the bare prefix or a lookalike', () => {
    expect(findFailureRow('providerCode', 'Forbidden')).toBeUndefined();
    expect(findFailureRow('providerCode', 'ThrottlingX')).toBeUndefined();
    expect(findFailureRow('providerCode', 'InvalidParam')).toBeUndefined();
  });
});

describe('messages built from provider answers', () => {
  it('drops the string-to-sign tail of SignatureDoesNotMatch, personal data included', () => {
    const mapped = toOrchestratorError(
      popCoreError('SignatureDoesNotMatch', {
        message:
          'Specified signature is not matched with our calculation. server string to sign is:' +
          `POST&%2F&AccessKeyId%3D${ACCESS_KEY_ID}%26Binding%3D%257B%2522Name%2522%253A%2522%25E5%25BC%25A0%25E4%25B8%2589%2522%257D` +
          '%26IdentificationNumber%3D11010519491231002X',
      }),
      'GetVerifyToken',
    );
    expect(mapped.message).toBe(
      'GetVerifyToken failed: SignatureDoesNotMatch (HTTP 400): Specified signature is not matched with our calculation',
    );
    expect(JSON.stringify(mapped)).not.toContain('11010519491231002X');
    expect(JSON.stringify(mapped)).not.toContain('string to sign');
    expectNoSecrets(mapped);
  });

  it('omits a missing Message instead of printing "undefined"', () => {
    const mapped = toOrchestratorError(popCoreError('Throttling', { status: 400 }), 'GetStatus');
    expect(mapped.message).toBe('GetStatus failed: Throttling (HTTP 400)');
    expectNoSecrets(mapped);
  });

  it('omits the HTTP status when pop-core recorded no response', () => {
    const err = popCoreError('Error.InternalError', { message: 'boom' }) as Error & {
      entry: unknown;
    };
    err.entry = { url: SIGNED_URL, request: null, response: null };
    const mapped = toOrchestratorError(err, 'GetStatus');
    expect(mapped.httpStatus).toBeUndefined();
    expect(mapped.message).toBe('GetStatus failed: Error.InternalError: boom');
  });

  it('scrubs URLs, signed parameters and overlong text from provider messages', () => {
    expect(scrubProviderMessage(`bad request, URL: ${SIGNED_URL}`)).toBe('bad request');
    expect(scrubProviderMessage(`see ${SIGNED_URL} for details`)).toBe('see [url] for details');
    expect(scrubProviderMessage('oops Signature=abc&x=1 done')).toBe('oops [redacted] done');
    expect(scrubProviderMessage(`SecurityToken: ${SECURITY_TOKEN}`)).toBe('[redacted]');
    expect(scrubProviderMessage('x'.repeat(1000))).toHaveLength(301);
    expect(scrubProviderMessage(undefined)).toBeUndefined();
    expect(scrubProviderMessage('undefined')).toBeUndefined();
    expect(scrubProviderMessage(42)).toBeUndefined();
  });

  it('keeps an unprintable provider code out of the message', () => {
    const mapped = toOrchestratorError(popCoreError('bad code with spaces & stuff'), 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(mapped.providerCode).toBe('[unprintable]');
  });
});

/** A Node socket error after httpx appended `${method} ${url} failed.` to its message. */
function socketError(code: string, text = `connect ${code} 127.0.0.1:9`): Error {
  return Object.assign(new Error(`${text}GET ${SIGNED_URL} failed.`), {
    code,
    errno: -1,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 9,
  });
}

describe('toOrchestratorError over every transport row', () => {
  const timeoutErrors: [string, Error, string][] = [
    [
      'a ReadTimeout before the answer starts',
      Object.assign(new Error(`ReadTimeout(300). GET ${SIGNED_URL} failed.`), {
        name: 'RequestTimeoutError',
      }),
      'GetStatus failed: no answer within 300 ms',
    ],
    [
      'a ReadTimeout while reading the body',
      Object.assign(new Error('ReadTimeout: 300. GET /?AccessKeyId=x&Signature=y failed.'), {
        name: 'RequestTimeoutError',
      }),
      'GetStatus failed: no answer within 300 ms',
    ],
    [
      'a ConnectTimeout',
      Object.assign(new Error(`ConnectTimeout: Connect ${SIGNED_URL} failed.`), {
        name: 'RequestTimeoutError',
      }),
      'GetStatus failed: no answer within the timeout',
    ],
  ];
  it.each(timeoutErrors)('maps %s to PROVIDER_TIMEOUT', (_what, err, message) => {
    const mapped = toOrchestratorError(err, 'GetStatus');
    expect(mapped).toBeInstanceOf(TransportError);
    expect(mapped.code).toBe('PROVIDER_TIMEOUT');
    expect(mapped.retryable).toBe(true);
    expect(mapped.providerCode).toBeUndefined();
    expect(mapped.httpStatus).toBeUndefined();
    expect(mapped.message).toBe(message);
    expect(mapped.cause).toEqual({ name: 'RequestTimeoutError' });
    expectNoSecrets(mapped);
  });

  it('maps a json-bigint SyntaxError (a plain object holding the body) to PROVIDER_BAD_RESPONSE', () => {
    const err = {
      name: 'SyntaxError',
      message: "Unexpected '<'",
      at: 1,
      text: `<html>502 Bad Gateway ${SIGNED_URL} ${SECRET}</html>`,
    };
    const mapped = toOrchestratorError(err, 'GetMaterials');
    expect(mapped).toBeInstanceOf(TransportError);
    expect(mapped.code).toBe('PROVIDER_BAD_RESPONSE');
    expect(mapped.retryable).toBe(true);
    expect(mapped.message).toBe('GetMaterials failed: the answer is not JSON');
    expect(mapped.cause).toEqual({ name: 'SyntaxError' });
    expectNoSecrets(mapped);
  });

  it.each(transportRows.filter((r) => r.on === 'socketCode').map((r) => [r.match, r] as const))(
    'maps socket error %s to PROVIDER_UNREACHABLE',
    (socketCode, row) => {
      const mapped = toOrchestratorError(socketError(socketCode), 'SubmitMaterials');
      expect(mapped.constructor).toBe(row.errorClass);
      expect(mapped.code).toBe('PROVIDER_UNREACHABLE');
      expect(mapped.retryable).toBe(true);
      expect(mapped.retryAfterMs).toBeUndefined();
      expect(mapped.providerCode).toBeUndefined();
      expect(mapped.message).toBe(`SubmitMaterials failed: connection error ${socketCode}`);
      expect(mapped.cause).toEqual({ name: 'Error', code: socketCode });
      expectNoSecrets(mapped);
    },
  );

  it('maps "socket hang up" (ECONNRESET) to PROVIDER_UNREACHABLE', () => {
    const mapped = toOrchestratorError(socketError('ECONNRESET', 'socket hang up'), 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNREACHABLE');
    expectNoSecrets(mapped);
  });

  it('maps an AggregateError of connection attempts by its first error code', () => {
    const err = new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]);
    const mapped = toOrchestratorError(err, 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNREACHABLE');
    expectNoSecrets(mapped);
  });

  it('does not retry an unknown socket error such as a TLS failure', () => {
    const mapped = toOrchestratorError(socketError('CERT_HAS_EXPIRED'), 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(mapped.retryable).toBe(false);
    expect(mapped.providerCode).toBeUndefined();
    expect(mapped.message).toBe('GetStatus failed: unexpected CERT_HAS_EXPIRED');
    expectNoSecrets(mapped);
  });

  it('does not retry an unexpected exception', () => {
    const mapped = toOrchestratorError(new TypeError(`bad ${SIGNED_URL}`), 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(mapped.retryable).toBe(false);
    expect(mapped.message).toBe('GetStatus failed: unexpected TypeError');
    expectNoSecrets(mapped);
  });

  it('returns an OrchestratorError unchanged', () => {
    const err = new ValidationError('Binding.Name', 'required');
    expect(toOrchestratorError(err, 'GetVerifyToken')).toBe(err);
  });
});

describe('findFailureRow', () => {
  it('matches a value only against rows of the kind asked for', () => {
    expect(findFailureRow('providerCode', 'ECONNREFUSED')).toBeUndefined();
    expect(findFailureRow('providerCode', 'RequestTimeoutError')).toBeUndefined();
    expect(findFailureRow('providerCode', 'AccessDenied')).toBeUndefined();
    expect(findFailureRow('ossCode', 'Throttling')).toBeUndefined();
    expect(findFailureRow('socketCode', 'SignatureDoesNotMatch')).toBeUndefined();
    expect(findFailureRow('ossCode', 'InvalidAccessKeyId')?.errorCode).toBe(
      'STS_CREDENTIALS_INVALID',
    );
  });
});

describe('scrubProviderMessage, more closely', () => {
  const reason = 'Specified signature is not matched with our calculation';

  it.each([
    ['with "server"', `${reason}. server string to sign is:POST&%2F&Name%3D%E5%BC%A0`],
    ['without "server"', `${reason}, string to sign: POST&%2F&Name%3D%E5%BC%A0`],
    ['over line breaks and runs of spaces', `${reason}. server\n  string  to\t\tsign is: POST&%2F`],
    ['with no space between the words', `${reason}.stringtosign:POST&%2F`],
  ])('drops the string-to-sign tail %s', (_how, message) => {
    expect(scrubProviderMessage(message)).toBe(reason);
  });

  it('drops a message that is nothing but the string-to-sign tail', () => {
    expect(scrubProviderMessage('string to sign is: POST&%2F&Name%3D%E5%BC%A0')).toBeUndefined();
  });

  it('drops the URL tail however it is spaced', () => {
    expect(scrubProviderMessage('bad request,URL: /?Name=x')).toBe('bad request');
    expect(scrubProviderMessage('bad request,   URL: /?Name=x')).toBe('bad request');
  });

  it('redacts a signed parameter written with spaces around its separator', () => {
    expect(scrubProviderMessage('refused: SecurityToken = CAIS-abc, retry')).toBe(
      'refused: [redacted] retry',
    );
  });

  it('collapses runs of whitespace and trims the ends, trailing punctuation included', () => {
    expect(scrubProviderMessage('  Try \n\t again   later...  ')).toBe('Try again later');
    expect(scrubProviderMessage('Busy;:,. ')).toBe('Busy');
  });

  it('keeps a message of exactly 300 characters whole', () => {
    const exact = 'y'.repeat(300);
    expect(scrubProviderMessage(exact)).toBe(exact);
    expect(scrubProviderMessage(`${exact}y`)).toBe(`${exact}…`);
  });
});

describe('toOrchestratorError on odd shapes', () => {
  it("reads a numeric Code as its digits, and an unprintable one as '[unprintable]'", () => {
    const numeric = popCoreError('x') as Error & { data: Record<string, unknown> };
    numeric.data.Code = 404;
    expect(toOrchestratorError(numeric, 'GetStatus').providerCode).toBe('404');
    for (const odd of [Number.NaN, Infinity, true, { a: 1 }]) {
      const err = popCoreError('x') as Error & { data: Record<string, unknown> };
      err.data.Code = odd;
      expect(toOrchestratorError(err, 'GetStatus').providerCode).toBe('[unprintable]');
    }
  });

  it('treats data without a Code, or with a null one, as no answer', () => {
    for (const data of [{ RequestId: 'REQ-1' }, { Code: null, RequestId: 'REQ-1' }, null, 'text']) {
      const err = Object.assign(new Error('x'), { name: 'HttpError', data });
      const mapped = toOrchestratorError(err, 'GetStatus');
      expect(mapped.providerCode).toBeUndefined();
      expect(mapped.code).toBe('PROVIDER_UNKNOWN_CODE');
      expect(mapped.message).toBe('GetStatus failed: unexpected HttpError');
    }
  });

  it('leaves out a RequestId, HostId or status that is not a plain value', () => {
    const err = popCoreError('Throttling') as Error & {
      data: Record<string, unknown>;
      entry: { response: Record<string, unknown> };
    };
    err.data.RequestId = null;
    err.data.HostId = true;
    for (const statusCode of ['400', 400.5, Number.NaN]) {
      err.entry.response.statusCode = statusCode;
      const mapped = toOrchestratorError(err, 'GetStatus');
      expect(mapped.requestId).toBeUndefined();
      expect(mapped.httpStatus).toBeUndefined();
      expect(mapped.cause).toStrictEqual({ name: 'ThrottlingError', code: 'Throttling' });
      expect(Object.keys(mapped.toJSON())).not.toContain('requestId');
    }
  });

  it("keeps an error's own socket code over those of the errors inside it", () => {
    const own = Object.assign(new Error('connect'), { code: 'ECONNRESET', errors: [] });
    expect(toOrchestratorError(own, 'GetStatus').message).toBe(
      'GetStatus failed: connection error ECONNRESET',
    );
    const both = Object.assign(new Error('connect'), {
      code: 'ECONNREFUSED',
      errors: [{ code: 'ETIMEDOUT' }],
    });
    expect(toOrchestratorError(both, 'GetStatus').cause).toStrictEqual({
      name: 'Error',
      code: 'ECONNREFUSED',
    });
  });

  it('maps an AggregateError with no inner errors as unexpected', () => {
    const mapped = toOrchestratorError(new AggregateError([]), 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(mapped.message).toBe('GetStatus failed: unexpected AggregateError');
    expect(mapped.cause).toStrictEqual({ name: 'AggregateError' });
  });

  it('lets the error name decide before the socket code', () => {
    const err = Object.assign(new Error('ReadTimeout(300). GET / failed.'), {
      name: 'RequestTimeoutError',
      code: 'ETIMEDOUT',
    });
    const mapped = toOrchestratorError(err, 'GetStatus');
    expect(mapped.code).toBe('PROVIDER_TIMEOUT');
    expect(mapped.message).toBe('GetStatus failed: no answer within 300 ms');
  });

  it('reads the timeout from "Timeout:300" as well as "Timeout: 300" and "Timeout(300)"', () => {
    const err = Object.assign(new Error('ReadTimeout:300. GET / failed.'), {
      name: 'RequestTimeoutError',
    });
    expect(toOrchestratorError(err, 'GetStatus').message).toBe(
      'GetStatus failed: no answer within 300 ms',
    );
  });

  it('names an Error whose name is not a plain token "Error"', () => {
    const err = Object.assign(new Error('x'), { name: `Bad name ${SIGNED_URL}` });
    const mapped = toOrchestratorError(err, 'GetStatus');
    expect(mapped.message).toBe('GetStatus failed: unexpected Error');
    expectNoSecrets(mapped);
  });

  it('names a thrown value that is not an Error by its type', () => {
    const mapped = toOrchestratorError('boom', 'GetStatus');
    expect(mapped.message).toBe('GetStatus failed: unexpected string');
    expect(mapped.cause).toStrictEqual({ name: 'string' });
  });
});
