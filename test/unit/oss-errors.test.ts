import { describe, expect, it } from 'vitest';
import { CLOUDAUTH_CODE_TABLE } from '../../src/adapters/cloudauth/error-table.js';
import {
  ERROR_CODES,
  ProviderError,
  StsCredentialsInvalidError,
  TransportError,
  ValidationError,
} from '../../src/errors.js';
import { ossToOrchestratorError } from '../../src/adapters/oss/oss-errors.js';

const SECRET = 'sts-secret-value';
const TOKEN = 'CAISsecuritytokenvalue';

/** An error shaped as ali-oss's requestError builds it, with the request it attaches. */
function aliOssError(code: string, status: number, message: string): Error {
  return Object.assign(new Error(message), {
    name: `${code}Error`,
    code,
    status,
    requestId: '5C3D9175B6FC201293AD4890',
    hostId: 'cloudauth-emulator.oss-cn-hangzhou.aliyuncs.com',
    params: {
      headers: { 'x-oss-security-token': TOKEN, authorization: `OSS STS.abc:${SECRET}` },
      content: Buffer.from('face'),
    },
  });
}

const ossRows = CLOUDAUTH_CODE_TABLE.filter((r) => r.on === 'ossCode');

describe('OSS rows of the code table', () => {
  it.each(ossRows.map((r) => [r.match, r] as const))('maps %s', (code, row) => {
    const err = ossToOrchestratorError(aliOssError(code, 403, 'The thing failed.'), 'PutObject');
    expect(err).toBeInstanceOf(row.errorClass);
    expect(err.code).toBe(row.errorCode);
    expect(err.retryable).toBe(ERROR_CODES[row.errorCode].retryable);
    expect(err.providerCode).toBe(code);
    expect(err.requestId).toBe('5C3D9175B6FC201293AD4890');
    expect(err.httpStatus).toBe(403);
    expect(err.message).toBe(`OSS PutObject failed: ${code} (HTTP 403): The thing failed`);
    const shown = JSON.stringify({ ...err.toJSON(), cause: err.cause });
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(TOKEN);
  });

  it('turns every refusal of the STS credentials into one error that asks for a new token', () => {
    for (const code of ['SecurityTokenExpired', 'InvalidAccessKeyId', 'InvalidSecurityToken']) {
      const err = ossToOrchestratorError(aliOssError(code, 403, 'x'), 'PutObject');
      expect(err).toBeInstanceOf(StsCredentialsInvalidError);
      expect(err.code).toBe('STS_CREDENTIALS_INVALID');
    }
  });

  it.each([
    ['RequestError', -1, 'PROVIDER_UNREACHABLE'],
    ['ConnectionTimeoutError', -2, 'PROVIDER_TIMEOUT'],
    ['ResponseTimeoutError', -2, 'PROVIDER_TIMEOUT'],
  ])('maps the transport failure %s', (name, status, code) => {
    const err = ossToOrchestratorError(
      Object.assign(
        new Error(`${name}: connect ECONNREFUSED http://127.0.0.1:1/x?Signature=${SECRET}`),
        { name, status },
      ),
      'PutObject',
    );
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain(SECRET);
  });

  it('treats an unknown OSS code as unknown and not retryable, and a code-less 5xx as internal', () => {
    expect(ossToOrchestratorError(aliOssError('BrandNewError', 400, 'x'), 'PutObject').code).toBe(
      'PROVIDER_UNKNOWN_CODE',
    );
    const bare = Object.assign(new Error('Unexpected end of XML'), { name: 'Error', status: 502 });
    expect(ossToOrchestratorError(bare, 'PutObject').code).toBe('PROVIDER_INTERNAL');
  });
});

describe('ossToOrchestratorError', () => {
  it('returns an OrchestratorError unchanged', () => {
    const err = new ValidationError('FacePic', 'is empty');
    expect(ossToOrchestratorError(err, 'PutObject')).toBe(err);
  });

  it('keeps only the name, code and status as the cause, and the request id and status as fields', () => {
    const err = ossToOrchestratorError(aliOssError('InvalidDigest', 400, 'Bad MD5.'), 'PutObject');
    expect(err.cause).toStrictEqual({
      name: 'InvalidDigestError',
      code: 'InvalidDigest',
      status: 400,
    });
    expect(err.toJSON()).toMatchObject({
      providerCode: 'InvalidDigest',
      requestId: '5C3D9175B6FC201293AD4890',
      httpStatus: 400,
    });
  });

  it('omits what OSS did not say rather than printing "undefined"', () => {
    const silent = Object.assign(new Error(''), {
      name: 'InvalidDigestError',
      code: 'InvalidDigest',
      status: 400,
    });
    const err = ossToOrchestratorError(silent, 'PutObject');
    expect(err.message).toBe('OSS PutObject failed: InvalidDigest (HTTP 400)');
    expect(Object.keys(err.toJSON())).not.toContain('requestId');
    expect(err.requestId).toBeUndefined();
  });

  it('maps a Node socket error by its code, naming the code and not the URL', () => {
    const err = ossToOrchestratorError(
      Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:1 http://x/?Signature=${SECRET}`), {
        code: 'ECONNREFUSED',
      }),
      'PutObject',
    );
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_UNREACHABLE');
    expect(err.message).toBe('OSS PutObject failed: ECONNREFUSED');
    expect(err.providerCode).toBeUndefined();
    expect(err.httpStatus).toBeUndefined();
    expect(err.cause).toStrictEqual({ name: 'Error', code: 'ECONNREFUSED' });
  });

  it('names a transport failure by its error name when it has no code', () => {
    const err = ossToOrchestratorError(
      Object.assign(new Error('connect failed'), { name: 'RequestError', status: -1 }),
      'GetObject',
    );
    expect(err.message).toBe('OSS GetObject failed: RequestError');
    expect(err.httpStatus).toBeUndefined();
    expect(err.cause).toStrictEqual({ name: 'RequestError' });
  });

  it('treats a status that is not a positive number as no answer at all', () => {
    for (const status of [0, -1, '403', Number.NaN]) {
      const err = ossToOrchestratorError(
        Object.assign(new Error('x'), { name: 'Error', code: 'ECONNRESET', status }),
        'PutObject',
      );
      expect(err.code).toBe('PROVIDER_UNREACHABLE');
      expect(err.httpStatus).toBeUndefined();
      expect(err.providerCode).toBeUndefined();
    }
  });

  it('treats a code-less answer from 500 up as internal and retryable, and one below as unknown', () => {
    const bare = (status: number) =>
      ossToOrchestratorError(Object.assign(new Error('x'), { name: 'Error', status }), 'PutObject');
    expect(bare(500).code).toBe('PROVIDER_INTERNAL');
    expect(bare(500).retryable).toBe(true);
    expect(bare(500).httpStatus).toBe(500);
    expect(bare(404).code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(bare(404).retryable).toBe(false);
    expect(bare(404)).toBeInstanceOf(ProviderError);
    expect(bare(404).message).toBe('OSS PutObject failed: Error');
  });

  it('does not trust a code, name or request id that is not a short plain token', () => {
    const long = 'A'.repeat(81);
    for (const odd of ['Bad code', `x?Signature=${SECRET}`, long, 403]) {
      const err = ossToOrchestratorError(
        Object.assign(new Error('x'), { name: odd, code: odd, status: 403, requestId: odd }),
        'PutObject',
      );
      expect(err.code).toBe('PROVIDER_UNKNOWN_CODE');
      expect(err.providerCode).toBeUndefined();
      expect(err.requestId).toBeUndefined();
      expect(err.message).toBe('OSS PutObject failed: Error');
      expect(err.cause).toStrictEqual({ name: 'Error', status: 403 });
    }
    expect(
      ossToOrchestratorError(Object.assign(new Error('x'), { name: 'A'.repeat(80) }), 'PutObject')
        .message,
    ).toBe(`OSS PutObject failed: ${'A'.repeat(80)}`);
  });

  it('maps a thrown non-object as an unknown error', () => {
    const err = ossToOrchestratorError('boom', 'PutObject');
    expect(err.code).toBe('PROVIDER_UNKNOWN_CODE');
    expect(err.message).toBe('OSS PutObject failed: Error');
  });
});
