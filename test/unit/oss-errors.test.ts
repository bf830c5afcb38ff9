import { describe, expect, it } from 'vitest';
import { CLOUDAUTH_CODE_TABLE } from '../../src/cloudauth/error-table.js';
import { ERROR_CODES, StsCredentialsInvalidError, TransportError } from '../../src/errors.js';
import { ossToOrchestratorError } from '../../src/oss/oss-errors.js';

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
