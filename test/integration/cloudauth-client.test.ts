import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudauthClient, type CloudauthClientDeps } from '../../src/adapters/cloudauth/client.js';
import { THROTTLE_RETRY_AFTER_MS } from '../../src/adapters/cloudauth/error-table.js';
import type { Material } from '../../src/adapters/cloudauth/types.js';
import {
  startCloudauthEmulator,
  type CloudauthEmulator,
} from '../../src/emulator/cloudauth/index.js';
import {
  OrchestratorError,
  ProviderError,
  ThrottledError,
  TransportError,
  ValidationError,
  VerifyTokenInvalidError,
} from '../../src/errors.js';

const ACCESS_KEY_ID = 'LTAItest';
const SECRET = 'test-secret';
const TOKEN_SECONDS = 60;
const VALID_IDS = ['11010519491231002X', '372321199103099416', '410381198312056511'] as const;
const CHECKSUM_FAILS = '630546198009090099';
/** A PNG signature followed by 48 KiB of filler: an image to the emulator's type sniffing. */
const FACE = `base64://${Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(48 * 1024, 7),
]).toString('base64')}`;

let emu: CloudauthEmulator;
let client: CloudauthClient;
let now = Date.now();
const extraClients: CloudauthClient[] = [];

function makeClient(overrides: Partial<CloudauthClientDeps> = {}): CloudauthClient {
  const c = new CloudauthClient({
    endpoint: emu.url,
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: SECRET,
    timeoutMs: 5000,
    ...overrides,
  });
  extraClients.push(c);
  return c;
}

/** The error a call rejects with; fails the test when the call succeeds. */
async function failure(call: Promise<unknown>): Promise<OrchestratorError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error('expected the call to fail');
  expect(outcome.error).toBeInstanceOf(OrchestratorError);
  const err = outcome.error as OrchestratorError;
  expectSafe(err);
  return err;
}

/** No rendering of the error carries a secret, a signature or the signed URL. */
function expectSafe(err: OrchestratorError, extra: readonly string[] = []): void {
  const views = [
    err.message,
    JSON.stringify(err),
    String(JSON.stringify(err.cause)),
    inspect(err, { depth: 10 }),
    String(err.stack),
  ];
  for (const view of views) {
    for (const needle of [
      SECRET,
      'Signature=',
      'SignatureNonce=',
      emu.url,
      ACCESS_KEY_ID,
      ...extra,
    ]) {
      expect(view).not.toContain(needle);
    }
  }
  expect(err.cause).not.toBeInstanceOf(Error);
}

function ticketId(): string {
  return `t-${randomUUID()}`;
}

function identity(name: string, idNumber: string): Material[] {
  return [
    { type: 'Name', value: name },
    { type: 'IdentificationNumber', value: idNumber },
    { type: 'FacePic', value: FACE },
  ];
}

beforeAll(async () => {
  emu = await startCloudauthEmulator({
    port: 0,
    host: '127.0.0.1',
    accessKeys: { [ACCESS_KEY_ID]: SECRET },
    biz: { RPBasic: 'RPBasic', RPMin: 'RPMin', RPBioOnly: 'RPBioOnly' },
    tokenSeconds: TOKEN_SECONDS,
    clock: () => now,
    rejectNames: ['Reject Me'],
  });
  client = makeClient();
});

afterEach(() => {
  emu.setFaults({});
  now = Date.now();
});

afterAll(async () => {
  for (const c of extraClients) c.close();
  await emu.close();
});

describe('CloudauthClient against the emulator: results', () => {
  it('gets a VerifyToken with STS credentials and an H5 page URL', async () => {
    const result = await client.getVerifyToken({
      biz: 'RPBioOnly',
      ticketId: ticketId(),
      binding: { Name: '张三', IdentificationNumber: VALID_IDS[0] },
      userData: { orderId: 'o-1', note: 'a & b = c' },
      verifyConfigs: { retries: 1 },
    });
    expect(result.requestId).toMatch(/\S+/);
    expect(result.verifyToken.token).toMatch(/\S+/);
    expect(result.verifyToken.durationSeconds).toBe(TOKEN_SECONDS);
    expect(result.cloudauthPageUrl.startsWith(`${emu.url}/`)).toBe(true);
    expect(Object.keys(result.stsToken).sort()).toEqual([
      'accessKeyId',
      'accessKeySecret',
      'bucketName',
      'endPoint',
      'expiration',
      'path',
      'token',
    ]);
    for (const v of Object.values(result.stsToken)) expect(typeof v).toBe('string');
    expect(Date.parse(result.stsToken.expiration)).toBeGreaterThan(now);
  });

  it('submits materials under a token, then reads the passed status and the materials', async () => {
    const id = ticketId();
    const { verifyToken } = await client.getVerifyToken({
      biz: 'RPBioOnly',
      ticketId: id,
      binding: { Name: '李四', IdentificationNumber: VALID_IDS[1] },
    });
    const submitted = await client.submitMaterials({
      verifyToken: verifyToken.token,
      materials: [{ type: 'FacePic', value: FACE }],
    });
    expect(submitted.statusCode).toBe(1);
    expect(submitted.requestId).toMatch(/\S+/);
    expect(submitted.similarityScore).toBeGreaterThanOrEqual(85);
    expect(typeof submitted.trustedScore).toBe('number');
    expect(submitted).not.toHaveProperty('authorityComparisonScore');

    const status = await client.getStatus({ biz: 'RPBioOnly', ticketId: id });
    expect(status.statusCode).toBe(1);
    expect(typeof status.authorityComparisonScore).toBe('number');

    const materials = await client.getMaterials({ biz: 'RPBioOnly', ticketId: id });
    expect(materials.name).toBe('李四');
    expect(materials.identificationNumber).toBe(VALID_IDS[1]);
    expect(materials.idCardType).toBe('identityCard');
    expect(materials.sex).toBe('m');
    expect(materials.facePic).toMatch(/^https?:\/\//);
  });

  it('answers StatusCode -1 without scores for a ticket with no submission', async () => {
    const id = ticketId();
    await client.getVerifyToken({
      biz: 'RPBioOnly',
      ticketId: id,
      binding: { Name: '王五', IdentificationNumber: VALID_IDS[2] },
    });
    const status = await client.getStatus({ biz: 'RPBioOnly', ticketId: id });
    expect(status).toEqual({ requestId: status.requestId, statusCode: -1 });
    const materials = await client.getMaterials({ biz: 'RPBioOnly', ticketId: id });
    expect(materials).toEqual({ requestId: materials.requestId });
  });

  it('verifies on the server side (RPMin) and passes a valid identity', async () => {
    const result = await client.submitVerification({
      biz: 'RPMin',
      ticketId: ticketId(),
      materials: identity('赵六', VALID_IDS[2]),
    });
    expect(result.statusCode).toBe(1);
    expect(typeof result.authorityComparisonScore).toBe('number');
    expect(result).not.toHaveProperty('auditConclusions');
  });

  it('returns "not passed" as a result, not an error, for an ID number failing the checksum', async () => {
    const result = await client.submitVerification({
      biz: 'RPMin',
      ticketId: ticketId(),
      materials: identity('张三', CHECKSUM_FAILS),
    });
    expect(result.statusCode).toBe(2);
    expect(result.auditConclusions).toMatch(/\S/);
  });

  it('returns "not passed" for a name on the reject list', async () => {
    const id = ticketId();
    const result = await client.submitVerification({
      biz: 'RPMin',
      ticketId: id,
      materials: identity('Reject Me', VALID_IDS[0]),
    });
    expect(result.statusCode).toBe(2);
    expect((await client.getStatus({ biz: 'RPMin', ticketId: id })).statusCode).toBe(2);
  });
});

describe('CloudauthClient against the emulator: provider errors', () => {
  it('maps an unknown AccessKeyId to a non-retryable auth failure', async () => {
    const err = await failure(
      makeClient({ accessKeyId: 'LTAIunknown' }).getStatus({ biz: 'RPBasic', ticketId: 't' }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe('PROVIDER_AUTH_FAILED');
    expect(err.providerCode).toBe('InvalidAccessKeyId.NotFound');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(400);
    expect(err.requestId).toMatch(/\S+/);
  });

  it('maps a wrong secret to SignatureDoesNotMatch without the string to sign', async () => {
    const err = await failure(
      makeClient({ accessKeySecret: 'wrong-secret' }).getVerifyToken({
        biz: 'RPBioOnly',
        ticketId: ticketId(),
        binding: { Name: '张三', IdentificationNumber: VALID_IDS[0] },
      }),
    );
    expect(err.code).toBe('PROVIDER_AUTH_FAILED');
    expect(err.providerCode).toBe('SignatureDoesNotMatch');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^GetVerifyToken failed: SignatureDoesNotMatch \(HTTP 400\)/);
    expectSafe(err, ['wrong-secret', '张三', VALID_IDS[0], 'string to sign', '%']);
  });

  it('maps an unregistered Biz to PROVIDER_INVALID_BIZ', async () => {
    const err = await failure(client.getStatus({ biz: 'NoSuchBiz', ticketId: 't' }));
    expect(err.code).toBe('PROVIDER_INVALID_BIZ');
    expect(err.providerCode).toBe('InvalidParam.InvalidBiz');
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBe(400);
  });

  it('refuses an empty TicketId before any call, naming the field', async () => {
    const err = await failure(client.getVerifyToken({ biz: 'RPBasic', ticketId: ' ' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect((err as ValidationError).field).toBe('ticketId');
  });

  it('maps a Binding missing a field its scheme needs to PROVIDER_INVALID_PARAM', async () => {
    const err = await failure(
      client.getVerifyToken({ biz: 'RPBioOnly', ticketId: 't', binding: { Name: '李三' } }),
    );
    expect(err.code).toBe('PROVIDER_INVALID_PARAM');
    expect(err.providerCode).toBe('InvalidParam.ParamMissing');
    expect(err.retryable).toBe(false);
  });

  it('maps a malformed image reference to PROVIDER_INVALID_PARAM', async () => {
    const err = await failure(
      client.submitVerification({
        biz: 'RPMin',
        ticketId: ticketId(),
        materials: [{ type: 'FacePic', value: '/home/me/face.jpg' }],
      }),
    );
    expect(err.code).toBe('PROVIDER_INVALID_PARAM');
    expect(err.providerCode).toBe('InvalidParam.ImageValuePatternError');
  });

  it('maps SubmitVerification on a non-RPMin Biz to PROVIDER_NO_PERMISSION (403)', async () => {
    const err = await failure(
      client.submitVerification({
        biz: 'RPBasic',
        ticketId: ticketId(),
        materials: identity('张三', VALID_IDS[0]),
      }),
    );
    expect(err.code).toBe('PROVIDER_NO_PERMISSION');
    expect(err.providerCode).toBe('Error.NoPermissionAccess');
    expect(err.httpStatus).toBe(403);
    expect(err.retryable).toBe(false);
  });

  it('maps an unknown VerifyToken to VerifyTokenInvalidError', async () => {
    const err = await failure(
      client.submitMaterials({
        verifyToken: 'not-a-token',
        materials: [{ type: 'FacePic', value: FACE }],
      }),
    );
    expect(err).toBeInstanceOf(VerifyTokenInvalidError);
    expect(err.code).toBe('VERIFY_TOKEN_INVALID');
    expect(err.providerCode).toBe('InvalidParam.VerifyTokenInvalid');
  });

  it('maps an expired VerifyToken to VerifyTokenInvalidError', async () => {
    const { verifyToken } = await client.getVerifyToken({
      biz: 'RPBioOnly',
      ticketId: ticketId(),
      binding: { Name: '张三', IdentificationNumber: VALID_IDS[0] },
    });
    now += (TOKEN_SECONDS + 1) * 1000;
    const err = await failure(
      client.submitMaterials({
        verifyToken: verifyToken.token,
        materials: [{ type: 'FacePic', value: FACE }],
      }),
    );
    expect(err).toBeInstanceOf(VerifyTokenInvalidError);
    expect(err.code).toBe('VERIFY_TOKEN_INVALID');
    expect(err.providerCode).toBe('InvalidParam.VerifyTokenExpired');
    expect(err.retryable).toBe(true);
    expectSafe(err, [verifyToken.token]);
  });
});

describe('CloudauthClient against the emulator: injected faults and transport', () => {
  it('maps an injected internal error to a retryable ProviderError with requestId and HTTP 500', async () => {
    emu.setFaults({ '*': { internalErrorRate: 1 } });
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 't' }));
    expect(err.constructor).toBe(ProviderError);
    expect(err.code).toBe('PROVIDER_INTERNAL');
    expect(err.providerCode).toBe('Error.InternalError');
    expect(err.retryable).toBe(true);
    expect(err.httpStatus).toBe(500);
    expect(err.requestId).toMatch(/\S+/);
    expect(emu.counters().GetStatus?.['Error.InternalError']).toBeGreaterThanOrEqual(1);
  });

  it('maps user flow control to a ThrottledError with retryAfterMs', async () => {
    emu.setFaults({ GetStatus: { throttleRate: 1 } });
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 't' }));
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err.code).toBe('PROVIDER_THROTTLED');
    expect(err.providerCode).toBe('Throttling.User');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(THROTTLE_RETRY_AFTER_MS);
  });

  it('maps the QPS ceiling to a ThrottledError', async () => {
    emu.setFaults({ GetStatus: { qps: 1 } });
    await client.getStatus({ biz: 'RPBasic', ticketId: 't' });
    const err = await failure(client.getStatus({ biz: 'RPBasic', ticketId: 't' }));
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err.providerCode).toBe('Throttling');
    expect(err.retryAfterMs).toBe(THROTTLE_RETRY_AFTER_MS);
  });

  it('maps a hang past the client timeout to PROVIDER_TIMEOUT', async () => {
    emu.setFaults({ '*': { hangRate: 1, hangMs: 2000 } });
    const impatient = makeClient({ timeoutMs: 300 });
    const started = Date.now();
    const err = await failure(impatient.getStatus({ biz: 'RPBasic', ticketId: 't' }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_TIMEOUT');
    expect(err.retryable).toBe(true);
    expect(err.providerCode).toBeUndefined();
    expect(err.message).toBe('GetStatus failed: no answer within 300 ms');
  });

  it('maps a refused connection to PROVIDER_UNREACHABLE', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const err = await failure(
      makeClient({ endpoint: `http://127.0.0.1:${port}` }).getVerifyToken({
        biz: 'RPBasic',
        ticketId: 't',
      }),
    );
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('PROVIDER_UNREACHABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('GetVerifyToken failed: connection error ECONNREFUSED');
    expectSafe(err, [`127.0.0.1:${port}`]);
  });
});
