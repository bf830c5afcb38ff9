/**
 * The Cloudauth 2019-03-07 actions the emulator serves: `Id2MetaVerify`, `ContrastFaceVerify`
 * (ID_MIN, photo), `InitFaceVerify` (ID_PRO) and `DescribeFaceVerify`, answering the envelope
 * `{RequestId, Code: "200", Message, ResultObject}` or a refusal `{RequestId, Code, Message}`
 * (spec §3–§8). Verdicts: face-verify-verdict.ts. Choices where the spec says NOT FOUND are noted
 * where they are made.
 */
import { randomBytes } from 'node:crypto';
import { checkIdNumber } from '../../domain/id-number.js';
import type { PopAction, PopCall } from '../pop/gateway.js';
import { FaceVerifyRefusalError, faceVerifyOk, faceVerifyRefused } from './face-verify-codes.js';
import type { BilledCalls, FaceVerifyStore } from './face-verify-store.js';
import { newCertifyId, type FaceVerifyRecord } from './face-verify-store.js';
import { isUnder14, judgeFace, judgeIdentity, utcDay } from './face-verify-verdict.js';
import { readContrastPhoto } from './face-photo.js';
import type { OssReader } from './material-links.js';
import type { VerdictRules } from './verdict.js';

export interface FaceVerifySettings extends VerdictRules {
  /** SceneIds known to the emulator; undefined accepts any (a console scene is NOT emulated). */
  sceneIds?: readonly string[];
  /** AccessKeyIds answered Code 411 (a RAM user without AliyunAntCloudAuthFullAccess). */
  deniedAccessKeys: readonly string[];
  /** Base URL of the emulator as the person's browser reaches it (CertifyUrl). */
  publicUrl: () => string;
  readOss: () => OssReader | undefined;
  clock: () => number;
}

/** CertifyUrl validity and single use (spec §4, §9). */
export const CERTIFY_URL_MS = 30 * 60 * 1000;

const refuse = (code: FaceVerifyRefusalError['code'], field?: string) =>
  new FaceVerifyRefusalError(code, field);

/** A required parameter: Code 400 when absent or empty. */
function required(call: PopCall, name: string): string {
  const value = call.params[name];
  if (value === undefined || value.trim() === '') throw refuse('400', name);
  return value;
}

function optional(call: PopCall, name: string): string | undefined {
  const value = call.params[name];
  return value === undefined || value === '' ? undefined : value;
}

/** An optional parameter restricted to `allowed` values: Code 401 otherwise. */
function oneOf(call: PopCall, name: string, allowed: readonly string[]): string | undefined {
  const value = optional(call, name);
  if (value !== undefined && !allowed.includes(value)) throw refuse('401', name);
  return value;
}

function sceneOf(call: PopCall, settings: FaceVerifySettings): string {
  const sceneId = required(call, 'SceneId');
  if (!/^[1-9]\d{0,18}$/.test(sceneId)) throw refuse('401', 'SceneId');
  if (settings.sceneIds !== undefined && !settings.sceneIds.includes(sceneId)) {
    throw refuse('404', 'SceneId');
  }
  return sceneId;
}

/** OuterOrderNo: at most 32 letters and digits (spec §4). */
function outerOrderNoOf(call: PopCall): string {
  const value = required(call, 'OuterOrderNo');
  if (!/^[A-Za-z0-9]{1,32}$/.test(value)) throw refuse('401', 'OuterOrderNo');
  return value;
}

function productCodeOf(call: PopCall, expected: string): string {
  const value = required(call, 'ProductCode');
  // other plans (ID_MIN_VIDEO, PV_FV, LR_FR, …) are not emulated: a parameter error
  if (value !== expected) throw refuse('401', 'ProductCode');
  return value;
}

/**
 * CertType/CertName/CertNo: a malformed number is Code 401 and a holder under 14 Code 405; a
 * well-formed number that fails GB 11643 is left to the verdict (SubCode 202).
 */
function identityOf(call: PopCall, now: number): { certName: string; certNo: string } {
  if (required(call, 'CertType') !== 'IDENTITY_CARD') throw refuse('401', 'CertType');
  const certName = required(call, 'CertName').trim();
  const certNo = required(call, 'CertNo').trim();
  if (certName.length > 64) throw refuse('401', 'CertName');
  const check = checkIdNumber(certNo, utcDay(now));
  if (!check.ok && check.problem === 'format') throw refuse('401', 'CertNo');
  if (isUnder14(check, now)) throw refuse('405', 'CertNo');
  return { certName, certNo };
}

function httpUrl(call: PopCall, name: string, isRequired: boolean): string | undefined {
  const value = isRequired ? required(call, name) : optional(call, name);
  if (value === undefined) return undefined;
  // the real service wants https and probes reachability (spec §9); the emulator takes http too,
  // for loopback receivers, and does not probe
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw refuse('401', name);
  }
  return value;
}

/** Wraps an action so a refusal becomes the envelope (HTTP 200), and denied keys answer 411. */
function enveloped(
  settings: FaceVerifySettings,
  action: (call: PopCall) => Promise<Record<string, string>> | Record<string, string>,
): PopAction {
  return async (call) => {
    try {
      if (settings.deniedAccessKeys.includes(call.accessKeyId)) throw refuse('411');
      return faceVerifyOk(await action(call));
    } catch (err) {
      if (err instanceof FaceVerifyRefusalError) return faceVerifyRefused(err);
      throw err;
    }
  };
}

function resultObjectOf(record: FaceVerifyRecord): Record<string, string> {
  const result = record.result;
  if (result === undefined) throw refuse('424', 'CertifyId');
  return {
    Passed: result.passed ? 'T' : 'F',
    SubCode: result.subCode,
    MaterialInfo: result.materialInfo,
    IdentityInfo: 'null',
    DeviceToken: result.deviceToken,
    DeviceRisk: '',
    Success: 'True',
    UserInfo: '',
  };
}

export function faceVerifyActions(
  store: FaceVerifyStore,
  settings: FaceVerifySettings,
  billed?: BilledCalls,
): Record<string, PopAction> {
  return {
    Id2MetaVerify: enveloped(settings, (call) => {
      // `md5` (hashed birth date) is newer than the SDK the spec read; only `normal` is emulated
      if (required(call, 'ParamType') !== 'normal') throw refuse('401', 'ParamType');
      const identifyNum = required(call, 'IdentifyNum').trim();
      const userName = required(call, 'UserName').trim();
      const now = settings.clock();
      const check = checkIdNumber(identifyNum, utcDay(now));
      if (!check.ok && check.problem === 'format') throw refuse('401', 'IdentifyNum');
      const bizCode = judgeIdentity(userName, identifyNum, settings, now);
      billed?.record('Id2MetaVerify', identifyNum);
      return { BizCode: bizCode };
    }),

    ContrastFaceVerify: enveloped(settings, async (call) => {
      const now = settings.clock();
      const sceneId = sceneOf(call, settings);
      const outerOrderNo = outerOrderNoOf(call);
      const productCode = productCodeOf(call, 'ID_MIN');
      const identity = identityOf(call, now);
      oneOf(call, 'Model', ['FRONT_CAMERA_LIVENESS', 'REAR_CAMERA_LIVENESS', 'NO_LIVENESS']);
      oneOf(call, 'Crop', ['T', 'F']);
      const face = await readContrastPhoto(call.params, {
        readOss: settings.readOss(),
        earlierFace: (certifyId) => {
          const earlier = store.get(certifyId);
          return earlier?.result?.passed === true && earlier.sceneId === sceneId
            ? earlier.result.faceSeed
            : undefined;
        },
      });
      const judgement = judgeFace(identity, face, settings, now);
      const certifyId = newCertifyId();
      const materialInfo = JSON.stringify(judgement.materialInfo);
      const faceSeed = face.fact.state === 'ok' ? face.fact.digest : face.reference;
      store.add({ certifyId, sceneId, productCode, outerOrderNo, createdAt: now });
      billed?.record('ContrastFaceVerify', outerOrderNo);
      const deviceToken = optional(call, 'DeviceToken') ?? '';
      store.complete(certifyId, {
        passed: judgement.passed,
        subCode: judgement.subCode,
        materialInfo,
        deviceToken,
        faceSeed,
        completedAt: now,
      });
      return {
        CertifyId: certifyId,
        Passed: judgement.passed ? 'T' : 'F',
        SubCode: judgement.subCode,
        MaterialInfo: materialInfo,
        IdentityInfo: 'null',
      };
    }),

    InitFaceVerify: enveloped(settings, (call) => {
      const now = settings.clock();
      const sceneId = sceneOf(call, settings);
      const outerOrderNo = outerOrderNoOf(call);
      const productCode = productCodeOf(call, 'ID_PRO');
      const identity = identityOf(call, now);
      const metaInfo = required(call, 'MetaInfo');
      if (!isJsonObject(metaInfo)) throw refuse('401', 'MetaInfo');
      const returnUrl = httpUrl(call, 'ReturnUrl', true);
      const callbackUrl = httpUrl(call, 'CallbackUrl', false);
      const callbackToken = optional(call, 'CallbackToken');
      oneOf(call, 'CertifyUrlType', ['WEB', 'H5']);
      oneOf(call, 'CertifyUrlStyle', ['S', 'L']);
      oneOf(call, 'ProcedurePriority', ['keep', 'url', 'video']);
      oneOf(call, 'Model', [
        'LIVENESS',
        'PHOTINUS_LIVENESS',
        'MULTI_ACTION',
        'MULTI_PHOTINUS',
        'MOVE_ACTION',
        'MOVE_PHOTINUS',
        'MULTI_FAPTCHA',
      ]);
      const certifyId = newCertifyId();
      const urlToken = randomBytes(16).toString('hex');
      store.add({
        certifyId,
        sceneId,
        productCode,
        outerOrderNo,
        createdAt: now,
        expiresAt: now + CERTIFY_URL_MS,
        identity,
        urlToken,
        ...(returnUrl !== undefined ? { returnUrl } : {}),
        ...(callbackUrl !== undefined ? { callbackUrl } : {}),
        ...(callbackToken !== undefined ? { callbackToken } : {}),
      });
      // one URL form whatever CertifyUrlStyle says; the page behind it: face-verify-page.ts
      return {
        CertifyId: certifyId,
        CertifyUrl: `${settings.publicUrl()}/face-verify/${urlToken}`,
      };
    }),

    DescribeFaceVerify: enveloped(settings, (call) => {
      const sceneId = sceneOf(call, settings);
      const certifyId = required(call, 'CertifyId');
      const record = store.get(certifyId);
      if (record?.sceneId !== sceneId) throw refuse('406', 'CertifyId');
      return resultObjectOf(record);
    }),
  };
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
