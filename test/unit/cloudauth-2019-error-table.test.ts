import { inspect } from 'node:util';
import { ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import { describe, expect, it } from 'vitest';
import { THROTTLE_RETRY_AFTER_MS } from '../../src/adapters/cloudauth/error-table.js';
import {
  CLOUDAUTH_2019_CODE_TABLE,
  RESULT_PENDING_RETRY_AFTER_MS,
  findBodyCodeRow,
  refusalError,
  sdkFailureError,
} from '../../src/adapters/cloudauth/error-table-2019.js';
import type { Cloudauth2019Action } from '../../src/adapters/cloudauth/types-2019.js';
import {
  ERROR_CODES,
  mayHaveReachedProvider,
  NotSentError,
  ProviderError,
  ThrottledError,
  TransportError,
  ValidationError,
  type OrchestratorError,
} from '../../src/errors.js';

const NAME = '张三丰';
const ID_NUMBER = '11010519491231002X';
const SECRET = 'unit-test-secret-Zq9';
const URL_WITH_KEY = 'http://127.0.0.1:8787/?AccessKeyId=LTAIunit&Signature=abc';

/** Every body Code of spec §8.1 (financial-grade) and §7 (Id2MetaVerify) except 200. */
const SPEC_CODES = [
  '400', '401', '402', '403', '404', '405', '406', '410', '411', '412', '414', '415', '416',
  '417', '418', '419', '420', '421', '422', '423', '424', '427', '500',
] as const; // prettier-ignore

/** The actions §8.1 lists each code for, and Id2MetaVerify's own codes (§7). */
const ACTIONS: readonly Cloudauth2019Action[] = [
  'InitFaceVerify',
  'DescribeFaceVerify',
  'ContrastFaceVerify',
  'Id2MetaVerify',
];

function expectNothingPersonal(err: OrchestratorError, extra: readonly string[] = []): void {
  const views = [
    err.message,
    JSON.stringify(err.toJSON()),
    String(JSON.stringify(err.cause)),
    inspect(err, { depth: 10 }),
  ];
  for (const view of views) {
    for (const needle of [NAME, ID_NUMBER, SECRET, ...extra]) expect(view).not.toContain(needle);
  }
  expect(err.cause).not.toBeInstanceOf(Error);
}

describe('CLOUDAUTH_2019_CODE_TABLE', () => {
  it('maps every spec Code, once per action scope, to a registered code', () => {
    for (const code of SPEC_CODES) {
      expect(
        findBodyCodeRow('ContrastFaceVerify', code) ?? findBodyCodeRow('DescribeFaceVerify', code),
      ).toBeDefined();
    }
    const keys = CLOUDAUTH_2019_CODE_TABLE.map(
      (r) => `${r.code}:${(r.actions ?? ['*']).join(',')}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(CLOUDAUTH_2019_CODE_TABLE.map((r) => r.code))).toEqual(new Set(SPEC_CODES));
    for (const row of CLOUDAUTH_2019_CODE_TABLE) {
      expect(ERROR_CODES).toHaveProperty(row.errorCode);
      expect(row.meaning.length).toBeGreaterThan(5);
    }
  });

  it('uses ThrottledError with retryAfterMs for every throttling row, and no TransportError', () => {
    for (const row of CLOUDAUTH_2019_CODE_TABLE) {
      expect(row.errorClass).not.toBe(TransportError);
      if (row.errorCode === 'PROVIDER_THROTTLED') {
        expect(row.errorClass).toBe(ThrottledError);
        expect(row.retryAfterMs).toBe(THROTTLE_RETRY_AFTER_MS);
      }
    }
  });

  it.each([
    ['400', 'ContrastFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['401', 'InitFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['402', 'InitFaceVerify', 'PROVIDER_INVALID_BIZ'],
    ['402', 'Id2MetaVerify', 'PROVIDER_INTERNAL'],
    ['403', 'DescribeFaceVerify', 'VERIFICATION_PENDING'],
    ['403', 'Id2MetaVerify', 'PROVIDER_THROTTLED'],
    ['404', 'DescribeFaceVerify', 'PROVIDER_INVALID_BIZ'],
    ['405', 'ContrastFaceVerify', 'APPLICANT_REFUSED'],
    ['406', 'DescribeFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['410', 'Id2MetaVerify', 'PROVIDER_NO_PERMISSION'],
    ['411', 'ContrastFaceVerify', 'PROVIDER_NO_PERMISSION'],
    ['412', 'InitFaceVerify', 'PROVIDER_NO_PERMISSION'],
    ['414', 'InitFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['415', 'InitFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['416', 'DescribeFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['417', 'InitFaceVerify', 'APPLICANT_REFUSED'],
    ['418', 'ContrastFaceVerify', 'APPLICANT_REFUSED'],
    ['419', 'ContrastFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['420', 'ContrastFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['421', 'InitFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['422', 'ContrastFaceVerify', 'PROVIDER_TIMEOUT'],
    ['423', 'ContrastFaceVerify', 'PROVIDER_INVALID_PARAM'],
    ['424', 'DescribeFaceVerify', 'VERIFICATION_PENDING'],
    ['427', 'DescribeFaceVerify', 'APPLICANT_REFUSED'],
    ['500', 'Id2MetaVerify', 'PROVIDER_INTERNAL'],
  ] as const)(
    'maps Code %s of %s to %s, retryable as the registry says',
    (code, action, expected) => {
      const err = refusalError(
        action,
        { code, message: `消息 (CertName) ${NAME} ${ID_NUMBER}`, requestId: 'REQ-1' },
        [NAME, ID_NUMBER],
      );
      expect(err.code).toBe(expected);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).not.toBeInstanceOf(TransportError);
      expect(err.retryable).toBe(ERROR_CODES[expected].retryable);
      expect(err.providerCode).toBe(code);
      expect(err.requestId).toBe('REQ-1');
      expect(err.httpStatus).toBe(200);
      expect(err.message).toMatch(
        new RegExp(`^${action} failed: Code ${code} \\(.+\\): 消息 \\(CertName\\)`),
      );
      expectNothingPersonal(err);
    },
  );

  it('waits before asking again while pending or throttled', () => {
    for (const [action, code, wait] of [
      ['DescribeFaceVerify', '424', RESULT_PENDING_RETRY_AFTER_MS],
      ['DescribeFaceVerify', '403', RESULT_PENDING_RETRY_AFTER_MS],
      ['Id2MetaVerify', '403', THROTTLE_RETRY_AFTER_MS],
    ] as const) {
      expect(refusalError(action, { code }).retryAfterMs).toBe(wait);
    }
    expect(refusalError('Id2MetaVerify', { code: '403' })).toBeInstanceOf(ThrottledError);
    expect(refusalError('ContrastFaceVerify', { code: '401' }).retryAfterMs).toBeUndefined();
  });

  it('maps an unknown or unprintable Code to PROVIDER_UNKNOWN_CODE, not retried', () => {
    for (const code of ['425', 999, 'Weird Code <script>', undefined]) {
      const err = refusalError('InitFaceVerify', { code, message: 'x' });
      expect(err.code).toBe('PROVIDER_UNKNOWN_CODE');
      expect(err.retryable).toBe(false);
      expect(err.message).not.toContain('<script>');
    }
  });

  it('redacts digit runs and URLs in the provider message even when the values are not listed', () => {
    const err = refusalError(
      'ContrastFaceVerify',
      { code: '401', message: `bad number ${ID_NUMBER} at ${URL_WITH_KEY}` },
      [],
    );
    expect(err.message).toBe(
      'ContrastFaceVerify failed: Code 401 (a parameter is invalid): bad number [redacted] at [url]',
    );
    expectNothingPersonal(err, ['LTAIunit', 'Signature=']);
  });
});

describe('sdkFailureError over the SDK exceptions', () => {
  const body = (code: string, message: string) => ({
    RequestId: 'REQ-2',
    HostId: 'cloudauth.aliyuncs.com',
    Code: code,
    Message: message,
  });

  it('maps a ThrottlingError to ThrottledError with retryAfterMs', () => {
    const err = sdkFailureError(
      new ThrottlingError({
        statusCode: 400,
        code: 'Throttling.User',
        message: 'code: 400, Request was denied due to user flow control. request id: REQ-2',
        data: body('Throttling.User', 'Request was denied due to user flow control.'),
        requestId: 'REQ-2',
      }),
      'ContrastFaceVerify',
    );
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({
      code: 'PROVIDER_THROTTLED',
      retryable: true,
      retryAfterMs: THROTTLE_RETRY_AFTER_MS,
      providerCode: 'Throttling.User',
      httpStatus: 400,
      requestId: 'REQ-2',
    });
  });

  it('maps a SignatureDoesNotMatch ClientError without the string to sign', () => {
    const message =
      'Specified signature is not matched. server string to sign is:ACS3-HMAC-SHA256\nabc123';
    const err = sdkFailureError(
      new ClientError({
        statusCode: 400,
        code: 'SignatureDoesNotMatch',
        message,
        data: body('SignatureDoesNotMatch', message),
      }),
      'Id2MetaVerify',
    );
    expect(err).toMatchObject({ code: 'PROVIDER_AUTH_FAILED', retryable: false, httpStatus: 400 });
    expect(err.message).toBe(
      'Id2MetaVerify failed: SignatureDoesNotMatch (HTTP 400): Specified signature is not matched',
    );
  });

  it('maps a ServerError 500 to PROVIDER_INTERNAL, retryable', () => {
    const err = sdkFailureError(
      new ServerError({
        statusCode: 500,
        code: 'Error.InternalError',
        data: body('Error.InternalError', 'boom'),
      }),
      'InitFaceVerify',
    );
    expect(err).toMatchObject({ code: 'PROVIDER_INTERNAL', retryable: true, httpStatus: 500 });
  });

  it('maps socket errors and timeouts to TransportError without the URL', () => {
    const refused = sdkFailureError(
      Object.assign(new Error(`connect ECONNREFUSED ${URL_WITH_KEY}`), { code: 'ECONNREFUSED' }),
      'DescribeFaceVerify',
    );
    expect(refused).toBeInstanceOf(TransportError);
    expect(refused).toMatchObject({ code: 'PROVIDER_UNREACHABLE', retryable: true });
    const timeout = sdkFailureError(
      Object.assign(new Error(`ReadTimeout(300). POST ${URL_WITH_KEY} failed.`), {
        name: 'RequestTimeoutError',
      }),
      'DescribeFaceVerify',
    );
    expect(timeout).toBeInstanceOf(TransportError);
    expect(timeout.code).toBe('PROVIDER_TIMEOUT');
    expect(timeout.message).toBe('DescribeFaceVerify failed: no answer within 300 ms');
    for (const err of [refused, timeout]) expectNothingPersonal(err, ['LTAIunit', '127.0.0.1']);
  });

  it('tells a call the provider cannot have acted on from one whose answer was lost', () => {
    const socket = (code: string) =>
      sdkFailureError(Object.assign(new Error(code), { code }), 'ContrastFaceVerify');
    // never sent: the connection was not made
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      expect(socket(code), code).toBeInstanceOf(NotSentError);
      expect(mayHaveReachedProvider(socket(code)), code).toBe(false);
    }
    // sent, answer lost: cut, reset, timed out
    for (const code of ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']) {
      expect(mayHaveReachedProvider(socket(code)), code).toBe(true);
    }
    const timeout = sdkFailureError(
      Object.assign(new Error('ReadTimeout(300)'), { name: 'RequestTimeoutError' }),
      'ContrastFaceVerify',
    );
    expect(mayHaveReachedProvider(timeout)).toBe(true);
    // answered with a code (not judged, not billed), or refused by our own check before sending
    const answered = refusalError('ContrastFaceVerify', { code: '500', message: 'x' }, []);
    expect(mayHaveReachedProvider(answered)).toBe(false);
    expect(mayHaveReachedProvider(new ValidationError('Binding.FacePic', 'is required'))).toBe(
      false,
    );
    // anything else: it may have
    expect(mayHaveReachedProvider(new Error('?'))).toBe(true);
  });

  it('maps an unknown gateway code to PROVIDER_UNKNOWN_CODE', () => {
    const err = sdkFailureError(
      new ClientError({ statusCode: 400, code: 'Something.New', data: body('Something.New', 'x') }),
      'InitFaceVerify',
    );
    expect(err).toMatchObject({ code: 'PROVIDER_UNKNOWN_CODE', retryable: false });
  });
});

describe('the action scopes', () => {
  it('gives Id2MetaVerify its own 402 and 403, and every other action the general rows', () => {
    for (const action of ACTIONS) {
      const scoped = action === 'Id2MetaVerify';
      expect(findBodyCodeRow(action, '402')?.actions !== undefined).toBe(scoped);
      expect(findBodyCodeRow(action, '403')?.actions !== undefined).toBe(scoped);
      expect(findBodyCodeRow(action, '500')?.actions).toBeUndefined();
    }
  });
});
