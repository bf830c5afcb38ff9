/**
 * Cloudauth2019Client over the official SDK against the Cloudauth emulator's 2019-03-07 actions on
 * loopback: each action for a passing and a failing applicant, business refusals, gateway
 * refusals, injected throttling and hangs, and a refused connection, each mapped to its registry
 * code with messages free of the applicant's name, ID number and the secret.
 */
import { idNumberBornOn } from '../../testkit/generators.js';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Cloudauth2019Client,
  type Cloudauth2019ClientDeps,
} from '../../src/adapters/cloudauth/client-2019.js';
import { THROTTLE_RETRY_AFTER_MS } from '../../src/adapters/cloudauth/error-table.js';
import { RESULT_PENDING_RETRY_AFTER_MS } from '../../src/adapters/cloudauth/error-table-2019.js';
import type { FacePhotoSource } from '../../src/adapters/cloudauth/types-2019.js';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import {
  OrchestratorError,
  ProviderError,
  ThrottledError,
  TransportError,
  ValidationError,
} from '../../src/errors.js';
import { Telemetry } from '../../src/ops/metrics.js';
import { TEST_KEY_ID, TEST_KEY_SECRET, startTestEmulator } from '../support/emulator.js';

const SCENE = 1000000006;
const PASSING = { name: '张三', idNumber: '11010519491231002X' };
const REJECTED = { name: '拒绝', idNumber: '11010519491231002X' };
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
const PHOTO: FacePhotoSource = { kind: 'base64', data: PNG.toString('base64') };
const META_INFO = JSON.stringify({ zimVer: '3.0.0', appVersion: '1', bioMetaInfo: '4.1.0:1,0' });

let emu: CloudauthEmulator;
let client: Cloudauth2019Client;
let telemetry: Telemetry;

beforeAll(async () => {
  emu = await startTestEmulator({ sceneIds: [String(SCENE)] });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.setFaults({});
  emu.resetCounters();
  telemetry = new Telemetry({ defaultMetrics: false });
  client = makeClient();
});

function makeClient(overrides: Partial<Cloudauth2019ClientDeps> = {}): Cloudauth2019Client {
  return new Cloudauth2019Client({
    endpoint: emu.url,
    accessKeyId: TEST_KEY_ID,
    accessKeySecret: TEST_KEY_SECRET,
    timeoutMs: 5000,
    telemetry,
    ...overrides,
  });
}

function orderNo(): string {
  return randomBytes(12).toString('hex');
}

async function failure(p: Promise<unknown>): Promise<OrchestratorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OrchestratorError);
    return err as OrchestratorError;
  }
  throw new Error('expected the call to fail');
}

/** No personal data, secret or endpoint in any view of the error. */
function expectSafe(err: OrchestratorError, extra: readonly string[] = []): void {
  const views = [
    err.message,
    JSON.stringify(err.toJSON()),
    String(JSON.stringify(err.cause)),
    inspect(err, { depth: 10 }),
    String(err.stack),
  ];
  const forbidden = [
    PASSING.name,
    REJECTED.name,
    PASSING.idNumber,
    TEST_KEY_SECRET,
    'string to sign',
    ...extra,
  ];
  for (const view of views) for (const needle of forbidden) expect(view).not.toContain(needle);
  expect(err.cause).not.toBeInstanceOf(Error);
}

const contrast = (applicant: { name: string; idNumber: string }, c = client) =>
  c.contrastFaceVerify({ sceneId: SCENE, outerOrderNo: orderNo(), applicant, photo: PHOTO });

const init = (applicant: { name: string; idNumber: string }) =>
  client.initFaceVerify({
    sceneId: SCENE,
    outerOrderNo: orderNo(),
    applicant,
    metaInfo: META_INFO,
    returnUrl: 'https://example.invalid/back',
    model: 'MOVE_ACTION',
  });

describe('Cloudauth2019Client: the four actions', () => {
  it('id2MetaVerify answers match for a passing applicant and mismatch for a rejected one', async () => {
    const match = await client.id2MetaVerify(PASSING);
    expect(match.outcome).toBe('match');
    expect(match.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect((await client.id2MetaVerify(REJECTED)).outcome).toBe('mismatch');
    const metrics = await telemetry.registry.metrics();
    expect(metrics).toMatch(/provider_calls_total\{[^}]*action="Id2MetaVerify"[^}]*\} 2/);
  });

  it('contrastFaceVerify passes a passing applicant with scores and fails a rejected one with SubCode 201', async () => {
    const passed = await contrast(PASSING);
    expect(passed).toMatchObject({ passed: true, subCode: '200' });
    expect(passed.certifyId).toMatch(/^[0-9a-f]{32}$/);
    expect(passed.material?.faceAttack).toBe(false);
    expect(passed.material?.verifyScore).toBeGreaterThanOrEqual(85);
    const failed = await contrast(REJECTED);
    expect(failed).toMatchObject({ passed: false, subCode: '201' });
    expect(failed.material?.verifyScore).toBeLessThan(60);
    expect(emu.counters().ContrastFaceVerify).toEqual({ ok: 2 });
  });

  it('initFaceVerify issues a CertifyId and URL for both applicants; describe is pending until done', async () => {
    for (const applicant of [PASSING, REJECTED]) {
      const started = await init(applicant);
      expect(started.certifyId).toMatch(/^[0-9a-f]{32}$/);
      expect(started.certifyUrl.startsWith(`${emu.url}/`)).toBe(true);
      const pending = await failure(
        client.describeFaceVerify({ sceneId: SCENE, certifyId: started.certifyId }),
      );
      expect(pending).toBeInstanceOf(ProviderError);
      expect(pending).toMatchObject({
        code: 'VERIFICATION_PENDING',
        providerCode: '424',
        retryable: true,
        retryAfterMs: RESULT_PENDING_RETRY_AFTER_MS,
      });
      expectSafe(pending);
    }
  });

  it('describeFaceVerify shows the verdicts of a passed and a failed verification', async () => {
    const passed = await contrast(PASSING);
    expect(
      await client.describeFaceVerify({ sceneId: SCENE, certifyId: passed.certifyId }),
    ).toMatchObject({
      certifyId: passed.certifyId,
      passed: true,
      subCode: '200',
      deviceRisks: [],
      material: { verifyScore: passed.material?.verifyScore },
    });
    const failed = await contrast(REJECTED);
    expect(
      await client.describeFaceVerify({ sceneId: SCENE, certifyId: failed.certifyId }),
    ).toMatchObject({ passed: false, subCode: '201' });
  });
});

describe('Cloudauth2019Client: business refusals', () => {
  it('maps an applicant under 14 (Code 405) to APPLICANT_REFUSED, not retried', async () => {
    const child = { name: PASSING.name, idNumber: idNumberBornOn('20200101') };
    const err = await failure(contrast(child));
    expect(err.constructor).toBe(ProviderError);
    expect(err).toMatchObject({
      code: 'APPLICANT_REFUSED',
      providerCode: '405',
      retryable: false,
      httpStatus: 200,
    });
    expect(err.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(err.message).toMatch(
      /^ContrastFaceVerify failed: Code 405 \(the applicant is under 14\)/,
    );
    expectSafe(err, [child.idNumber]);
  });

  it('maps a malformed ID number (Code 401) to PROVIDER_INVALID_PARAM and an unknown scene (404) to PROVIDER_INVALID_BIZ', async () => {
    const malformed = '1101051949123';
    const bad = await failure(client.id2MetaVerify({ name: PASSING.name, idNumber: malformed }));
    expect(bad).toMatchObject({ code: 'PROVIDER_INVALID_PARAM', providerCode: '401' });
    expectSafe(bad, [malformed]);
    const scene = await failure(
      client.describeFaceVerify({ sceneId: 42, certifyId: '0'.repeat(32) }),
    );
    expect(scene).toMatchObject({ code: 'PROVIDER_INVALID_BIZ', providerCode: '404' });
  });

  it('refuses an empty name before any call, naming the field', async () => {
    const err = await failure(contrast({ name: ' ', idNumber: PASSING.idNumber }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('applicant.name');
    expect(emu.counters()).toEqual({});
  });
});

describe('Cloudauth2019Client: gateway and transport failures', () => {
  it('maps a wrong secret to PROVIDER_AUTH_FAILED without the string to sign', async () => {
    const wrong = 'not-the-secret-4711';
    const err = await failure(contrast(PASSING, makeClient({ accessKeySecret: wrong })));
    expect(err).toMatchObject({
      code: 'PROVIDER_AUTH_FAILED',
      providerCode: 'SignatureDoesNotMatch',
      httpStatus: 400,
      retryable: false,
    });
    expectSafe(err, [wrong]);
    expect(emu.counters().ContrastFaceVerify).toEqual({ SignatureDoesNotMatch: 1 });
  });

  it('maps an injected throttle to a ThrottledError with retryAfterMs', async () => {
    emu.setFaults({ ContrastFaceVerify: { throttleRate: 1 } });
    const err = await failure(contrast(PASSING));
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({
      code: 'PROVIDER_THROTTLED',
      providerCode: 'Throttling.User',
      retryable: true,
      retryAfterMs: THROTTLE_RETRY_AFTER_MS,
    });
    expectSafe(err);
    const metrics = await telemetry.registry.metrics();
    expect(metrics).toMatch(/provider_calls_total\{[^}]*outcome="PROVIDER_THROTTLED"[^}]*\} 1/);
  });

  it('maps a hang past the timeout to a retryable TransportError PROVIDER_TIMEOUT', async () => {
    emu.setFaults({ '*': { hangRate: 1, hangMs: 2000 } });
    const started = Date.now();
    const err = await failure(contrast(PASSING, makeClient({ timeoutMs: 300 })));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'PROVIDER_TIMEOUT', retryable: true });
    expect(err.providerCode).toBeUndefined();
    expect(err.message).toBe('ContrastFaceVerify failed: no answer within 300 ms');
    expectSafe(err, [emu.url]);
  });

  it('maps a refused connection to a retryable TransportError PROVIDER_UNREACHABLE', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const err = await failure(
      makeClient({ endpoint: `http://127.0.0.1:${port}` }).id2MetaVerify(PASSING),
    );
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'PROVIDER_UNREACHABLE', retryable: true });
    expect(err.message).toBe('Id2MetaVerify failed: connection error ECONNREFUSED');
    expectSafe(err, [`127.0.0.1:${port}`]);
  });
});
