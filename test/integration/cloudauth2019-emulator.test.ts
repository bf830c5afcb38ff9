/**
 * The official SDK @alicloud/cloudauth20190307 (unmodified, signature V3 by default, RPC V2 when
 * told) against the Cloudauth emulator's 2019-03-07 actions on loopback: a passing and a failing
 * applicant per action, the documented Codes and SubCodes, and the gateway's refusals.
 */
import { idNumberBornOn } from '../../testkit/generators.js';
import { createHash, randomBytes } from 'node:crypto';
import * as $Cloudauth from '@alicloud/cloudauth20190307';
import { SdkClientClass } from '../../src/adapters/cloudauth/sdk-2019.js';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudauthEmulator } from '../../src/emulator/cloudauth/index.js';
import { authorizationV3, hashPayloadV3 } from '../../src/emulator/pop/signature-v3.js';
import { TEST_KEY_ID, TEST_KEY_SECRET, startTestEmulator } from '../support/emulator.js';

const Cloudauth = SdkClientClass;

const SCENE = 1000000006;
const PASSING = { certName: '张三', certNo: '11010519491231002X' };
const REJECTED = { certName: '拒绝', certNo: '11010519491231002X' };
const BAD_CHECKSUM = { certName: '张三', certNo: '110105194912310021' };
const DENIED_KEY = 'LTAIdeniedKey';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
const META_INFO = JSON.stringify({ zimVer: '3.0.0', appVersion: '1', bioMetaInfo: '4.1.0:1,0' });

let skewMs = 0;
let emu: CloudauthEmulator;

beforeAll(async () => {
  emu = await startTestEmulator({
    clock: () => Date.now() + skewMs,
    accessKeys: { [TEST_KEY_ID]: TEST_KEY_SECRET, [DENIED_KEY]: 'denied-secret' },
    deniedAccessKeys: [DENIED_KEY],
    sceneIds: [String(SCENE)],
  });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  skewMs = 0;
  emu.setFaults({});
  emu.resetCounters();
});

function client(
  options: { keyId?: string; secret?: string; signature?: 'v3' | 'v2' } = {},
): InstanceType<typeof Cloudauth> {
  return new Cloudauth(
    new $OpenApiUtil.Config({
      accessKeyId: options.keyId ?? TEST_KEY_ID,
      accessKeySecret: options.secret ?? TEST_KEY_SECRET,
      endpoint: emu.url.replace('http://', ''),
      protocol: 'http',
      readTimeout: 5000,
      connectTimeout: 5000,
      ...(options.signature === 'v2' ? { signatureAlgorithm: 'v2' } : {}),
    }),
  );
}

function orderNo(): string {
  return randomBytes(12).toString('hex');
}

function contrast(
  person: { certName: string; certNo: string },
  photo: Partial<$Cloudauth.ContrastFaceVerifyRequest> = {
    faceContrastPicture: PNG.toString('base64'),
  },
) {
  return client().contrastFaceVerify(
    new $Cloudauth.ContrastFaceVerifyRequest({
      sceneId: SCENE,
      outerOrderNo: orderNo(),
      productCode: 'ID_MIN',
      certType: 'IDENTITY_CARD',
      ...person,
      ...photo,
    }),
  );
}

function init(
  person: { certName: string; certNo: string },
  extra: Partial<$Cloudauth.InitFaceVerifyRequest> = {},
) {
  return client().initFaceVerify(
    new $Cloudauth.InitFaceVerifyRequest({
      sceneId: SCENE,
      outerOrderNo: orderNo(),
      productCode: 'ID_PRO',
      certType: 'IDENTITY_CARD',
      ...person,
      metaInfo: META_INFO,
      returnUrl: 'https://example.invalid/back',
      model: 'MOVE_ACTION',
      ...extra,
    }),
  );
}

function describeFace(certifyId: string, sceneId = SCENE) {
  return client().describeFaceVerify(
    new $Cloudauth.DescribeFaceVerifyRequest({ sceneId, certifyId }),
  );
}

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected the call to be refused');
}

describe('Id2MetaVerify', () => {
  const verify = (userName: string, identifyNum: string, signature: 'v3' | 'v2' = 'v3') =>
    client({ signature }).id2MetaVerify(
      new $Cloudauth.Id2MetaVerifyRequest({ paramType: 'normal', userName, identifyNum }),
    );

  it('answers BizCode 1 for a matching applicant, over V3 and over RPC V2', async () => {
    for (const signature of ['v3', 'v2'] as const) {
      const res = await verify(PASSING.certName, PASSING.certNo, signature);
      expect(res.statusCode).toBe(200);
      expect(res.body?.code).toBe('200');
      expect(res.body?.message).toBe('success');
      expect(res.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);
      expect(res.body?.resultObject?.bizCode).toBe('1');
    }
    expect(emu.counters().Id2MetaVerify).toEqual({ ok: 2 });
  });

  it('answers BizCode 2 for a rejected name and 3 for a number failing GB 11643', async () => {
    expect((await verify(REJECTED.certName, REJECTED.certNo)).body?.resultObject?.bizCode).toBe(
      '2',
    );
    expect(
      (await verify(BAD_CHECKSUM.certName, BAD_CHECKSUM.certNo)).body?.resultObject?.bizCode,
    ).toBe('3');
  });

  it('answers Code 401 for a malformed number and 400 for a missing name, without ResultObject', async () => {
    const malformed = await verify(PASSING.certName, '1234');
    expect(malformed.statusCode).toBe(200);
    expect(malformed.body).toMatchObject({ code: '401', message: '参数非法 (IdentifyNum)' });
    expect(malformed.body?.resultObject).toBeUndefined();
    const missing = await client().id2MetaVerify(
      new $Cloudauth.Id2MetaVerifyRequest({ paramType: 'normal', identifyNum: PASSING.certNo }),
    );
    expect(missing.body).toMatchObject({ code: '400', message: '参数不能为空 (UserName)' });
  });
});

describe('ContrastFaceVerify', () => {
  it('passes an applicant whose name and number hold, with scores in MaterialInfo', async () => {
    const res = await contrast(PASSING);
    const result = res.body?.resultObject;
    expect(res.body?.code).toBe('200');
    expect(result?.certifyId).toMatch(/^[0-9a-f]{32}$/);
    expect(result).toMatchObject({ passed: 'T', subCode: '200', identityInfo: 'null' });
    const material = JSON.parse(result?.materialInfo ?? '') as {
      faceAttack: string;
      facialPictureFront: { qualityScore: number; verifyScore: number };
    };
    expect(material.faceAttack).toBe('F');
    expect(material.facialPictureFront.verifyScore).toBeGreaterThanOrEqual(85);
    expect(material.facialPictureFront.verifyScore).toBeLessThan(100);
    expect(emu.counters().ContrastFaceVerify).toEqual({ ok: 1 });
  });

  it('fails a rejected name with SubCode 201 and a bad check digit with 202', async () => {
    const rejected = (await contrast(REJECTED)).body?.resultObject;
    expect(rejected).toMatchObject({ passed: 'F', subCode: '201' });
    const score = (
      JSON.parse(rejected?.materialInfo ?? '') as { facialPictureFront: { verifyScore: number } }
    ).facialPictureFront.verifyScore;
    expect(score).toBeGreaterThanOrEqual(30);
    expect(score).toBeLessThan(60);
    expect((await contrast(BAD_CHECKSUM)).body?.resultObject).toMatchObject({
      passed: 'F',
      subCode: '202',
    });
  });

  it('gives the same verdict and scores for the same applicant and photo', async () => {
    const a = (await contrast(PASSING)).body?.resultObject;
    const b = (await contrast(PASSING)).body?.resultObject;
    expect(a?.materialInfo).toBe(b?.materialInfo);
    expect(a?.certifyId).not.toBe(b?.certifyId);
  });

  it('takes an OSS reference, and the CertifyId of an earlier passed verification', async () => {
    const oss = await contrast(PASSING, { ossBucketName: 'faces', ossObjectName: 'a/face.jpg' });
    expect(oss.body?.resultObject).toMatchObject({ passed: 'T', subCode: '200' });
    const again = await contrast(PASSING, { certifyId: oss.body?.resultObject?.certifyId ?? '' });
    expect(again.body?.resultObject).toMatchObject({ passed: 'T', subCode: '200' });
    const failed = (await contrast(REJECTED)).body?.resultObject?.certifyId ?? '';
    expect((await contrast(PASSING, { certifyId: failed })).body).toMatchObject({ code: '423' });
  });

  it.each([
    [
      'two photo sources',
      PASSING,
      {
        faceContrastPicture: PNG.toString('base64'),
        faceContrastPictureUrl: 'https://example.invalid/f.jpg',
      },
      '420',
    ],
    ['no photo', PASSING, {}, '400'],
    [
      'a photo that is not an image',
      PASSING,
      { faceContrastPicture: Buffer.from('not an image').toString('base64') },
      '419',
    ],
    [
      'a photo over 1 MB',
      PASSING,
      { faceContrastPicture: Buffer.concat([PNG, Buffer.alloc(1024 * 1024)]).toString('base64') },
      '421',
    ],
    [
      'an applicant under 14',
      { certName: '小明', certNo: idNumberBornOn('20200101') },
      { faceContrastPicture: PNG.toString('base64') },
      '405',
    ],
    [
      'a malformed number',
      { certName: '张三', certNo: '12345' },
      { faceContrastPicture: PNG.toString('base64') },
      '401',
    ],
  ])('answers %s with Code %s', async (_what, person, photo, code) => {
    const res = await contrast(person, photo);
    expect(res.statusCode).toBe(200);
    expect(res.body?.code).toBe(code);
    expect(res.body?.resultObject).toBeUndefined();
  });
});

describe('InitFaceVerify and DescribeFaceVerify', () => {
  it('issues a CertifyId and CertifyUrl for passing and failing applicants alike; Describe answers 424 until done', async () => {
    for (const person of [PASSING, REJECTED]) {
      const res = await init(person, {
        callbackUrl: 'http://127.0.0.1:9/cb',
        callbackToken: 'tok',
      });
      expect(res.body?.code).toBe('200');
      const certifyId = res.body?.resultObject?.certifyId ?? '';
      expect(certifyId).toMatch(/^[0-9a-f]{32}$/);
      expect(res.body?.resultObject?.certifyUrl?.startsWith(`${emu.url}/`)).toBe(true);
      expect((await describeFace(certifyId)).body).toMatchObject({ code: '424' });
    }
    expect(emu.counters()).toEqual({ InitFaceVerify: { ok: 2 }, DescribeFaceVerify: { ok: 2 } });
  });

  it.each([
    ['an applicant under 14', { certNo: idNumberBornOn('20200101') }, '405'],
    ['no MetaInfo', { metaInfo: '' }, '400'],
    ['MetaInfo that is not JSON', { metaInfo: 'abc' }, '401'],
    ['another product', { productCode: 'ID_PLUS' }, '401'],
    ['an OuterOrderNo over 32 characters', { outerOrderNo: 'a'.repeat(33) }, '401'],
    ['an unknown scene', { sceneId: 42 }, '404'],
  ])('Init answers %s with Code %s', async (_what, extra, code) => {
    const res = await init(PASSING, extra);
    expect(res.body?.code).toBe(code);
  });

  it('Describe shows the result of a ContrastFaceVerify, passed and not passed', async () => {
    const passed = (await contrast(PASSING)).body?.resultObject;
    const shown = (await describeFace(passed?.certifyId ?? '')).body?.resultObject;
    expect(shown).toMatchObject({
      passed: 'T',
      subCode: '200',
      materialInfo: passed?.materialInfo,
      success: 'True',
      identityInfo: 'null',
      userInfo: '',
    });
    const failed = (await contrast(REJECTED)).body?.resultObject;
    expect((await describeFace(failed?.certifyId ?? '')).body?.resultObject).toMatchObject({
      passed: 'F',
      subCode: '201',
    });
  });

  it('Describe answers 406 for an unknown CertifyId and 404 for an unknown scene', async () => {
    expect((await describeFace('0'.repeat(32))).body).toMatchObject({
      code: '406',
      message: '无效的CertifyId (CertifyId)',
    });
    expect((await describeFace('0'.repeat(32), 7)).body).toMatchObject({ code: '404' });
  });
});

describe('the 2019-03-07 gateway refusals', () => {
  const call = (c: InstanceType<typeof Cloudauth>) =>
    c.id2MetaVerify(
      new $Cloudauth.Id2MetaVerifyRequest({
        paramType: 'normal',
        userName: PASSING.certName,
        identifyNum: PASSING.certNo,
      }),
    );

  it('refuses a wrong secret with SignatureDoesNotMatch and the server string to sign', async () => {
    const err = await rejection(call(client({ secret: 'not-the-secret' })));
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
    expect(String((err.data as Record<string, unknown>).Message)).toMatch(
      /server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}/,
    );
    expect(emu.counters().Id2MetaVerify).toEqual({ SignatureDoesNotMatch: 1 });
  });

  it('refuses an unknown key and a wrong RPC V2 secret', async () => {
    expect(await rejection(call(client({ keyId: 'LTAInobody' })))).toMatchObject({
      code: 'InvalidAccessKeyId.NotFound',
      statusCode: 400,
    });
    expect(
      await rejection(call(client({ secret: 'not-the-secret', signature: 'v2' }))),
    ).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
  });

  it('refuses an x-acs-date 16 minutes off', async () => {
    skewMs = 16 * 60_000;
    expect(await rejection(call(client()))).toMatchObject({
      code: 'InvalidTimeStamp.Expired',
      statusCode: 400,
    });
  });

  /** A V3 request signed by hand with the emulator's signing functions; send() replays it as is. */
  function handSigned(action: string, query: Record<string, string>) {
    const headers: Record<string, string> = {
      host: emu.url.replace('http://', ''),
      'x-acs-action': action,
      'x-acs-version': '2019-03-07',
      'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-acs-signature-nonce': createHash('sha256').update(randomBytes(8)).digest('hex'),
      'x-acs-content-sha256': hashPayloadV3('ACS3-HMAC-SHA256', ''),
    };
    const authorization = authorizationV3(
      { method: 'POST', path: '/', query, headers },
      TEST_KEY_ID,
      TEST_KEY_SECRET,
    );
    return () =>
      fetch(`${emu.url}/?${new URLSearchParams(query).toString()}`, {
        method: 'POST',
        headers: { ...headers, authorization },
      });
  }

  it('refuses a 2018-09-16 action called as 2019-03-07 with InvalidVersion', async () => {
    const res = await handSigned('GetStatus', { Biz: 'RPBasic', TicketId: 't1' })();
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ Code: 'InvalidVersion' });
  });

  it('refuses a reused x-acs-signature-nonce', async () => {
    const send = handSigned('DescribeFaceVerify', {
      SceneId: String(SCENE),
      CertifyId: '0'.repeat(32),
    });
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ Code: '406' });
    const second = await send();
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ Code: 'SignatureNonceUsed' });
  });

  it('answers Code 411 to a key without the Cloudauth permission', async () => {
    const res = await call(client({ keyId: DENIED_KEY, secret: 'denied-secret' }));
    expect(res.body).toMatchObject({ code: '411', message: 'RAM无权限' });
  });

  it('injects faults per action as for 2018-09-16', async () => {
    emu.setFaults({ ContrastFaceVerify: { internalErrorRate: 1 } });
    expect(await rejection(contrast(PASSING))).toMatchObject({
      code: 'Error.InternalError',
      statusCode: 500,
    });
    expect((await call(client())).body?.code).toBe('200');
    expect(emu.counters()).toEqual({
      ContrastFaceVerify: { 'Error.InternalError': 1 },
      Id2MetaVerify: { ok: 1 },
    });
  });
});
