/**
 * Typed inputs and results of the Cloudauth financial-grade family and the ID check (API version
 * 2019-03-07, spec `cloudauth-2019.md` §4–§7), and the zod schemas that check each `ResultObject`
 * before it becomes a result.
 *
 * Inputs and results are camelCase in our words; the SDK's request models (and through them the
 * PascalCase wire names) live in `client-2019.ts` only. The provider sends every field as a string
 * (`Passed: "T"`, `MaterialInfo` as JSON text); the schemas read the SDK's camelCase models of
 * `ResultObject` and turn them into booleans and objects.
 */
import { z } from 'zod';

/** The API version of every call of {@link Cloudauth2019Client}. */
export const CLOUDAUTH_2019_API_VERSION = '2019-03-07';

/** The 2019-03-07 actions the client calls. */
export type Cloudauth2019Action =
  'Id2MetaVerify' | 'ContrastFaceVerify' | 'InitFaceVerify' | 'DescribeFaceVerify';

/** An applicant's identity as the financial-grade actions take it. Personal data: never logged. */
export interface Applicant {
  /** Real name (CertName). */
  name: string;
  /** Resident ID number (CertNo). */
  idNumber: string;
}

// ---------------------------------------------------------------------------------------------
// Id2MetaVerify (§7)

export interface Id2MetaVerifyInput {
  /** Real name (UserName). */
  name: string;
  /** Second-generation ID number or HK/Macau/Taiwan residence permit number (IdentifyNum). */
  idNumber: string;
}

/** What the authority source says of a name and ID number (`bizCode` 1, 2, 3). */
export type Id2MetaOutcome = 'match' | 'mismatch' | 'no-record';

export interface Id2MetaVerifyResult {
  requestId: string;
  outcome: Id2MetaOutcome;
}

const BIZ_CODE_OUTCOME = { '1': 'match', '2': 'mismatch', '3': 'no-record' } as const;

export const id2MetaResultObject = z
  .object({ bizCode: z.enum(['1', '2', '3']) })
  .transform((r) => ({ outcome: BIZ_CODE_OUTCOME[r.bizCode] }));

// ---------------------------------------------------------------------------------------------
// Face photo and MaterialInfo (§5, §6)

/**
 * Where the face photo comes from; the provider refuses two sources at once (Code 420), so exactly
 * one is sent. `certifyId` reuses the photo of an earlier passed verification.
 */
export type FacePhotoSource =
  | { kind: 'base64'; data: string }
  | { kind: 'url'; url: string }
  | { kind: 'oss'; bucket: string; object: string }
  | { kind: 'certifyId'; certifyId: string };

/**
 * The parts of `MaterialInfo` the orchestrator reads (spec §5). `raw` keeps the whole parsed
 * object: it may hold photo URLs and OSS names (personal data, valid 15 minutes).
 */
export interface FaceMaterial {
  /** `faceAttack: "T"`: the provider suspects an attack (a photo, a screen, a mask). */
  faceAttack: boolean | undefined;
  qualityScore: number | undefined;
  /** Similarity with the authority photo (or the supplied photo), 0–100. */
  verifyScore: number | undefined;
  raw: Record<string, unknown>;
}

const facialPicture = z
  .object({ qualityScore: z.coerce.number().optional(), verifyScore: z.coerce.number().optional() })
  .loose();

const materialObject = z
  .object({
    faceAttack: z.enum(['T', 'F']).optional(),
    facialPictureFront: facialPicture.optional(),
  })
  .loose();

/** `MaterialInfo` is JSON text; empty or absent when the scene keeps no material. */
const materialInfo = z
  .string()
  .optional()
  .transform((text, ctx): FaceMaterial | undefined => {
    if (text === undefined || text.trim() === '' || text === 'null') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'MaterialInfo is not JSON' });
      return z.NEVER;
    }
    const parsed = materialObject.safeParse(value);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: 'MaterialInfo has an unexpected shape' });
      return z.NEVER;
    }
    const m = parsed.data;
    return {
      faceAttack: m.faceAttack === undefined ? undefined : m.faceAttack === 'T',
      qualityScore: m.facialPictureFront?.qualityScore,
      verifyScore: m.facialPictureFront?.verifyScore,
      raw: m,
    };
  });

/** `Passed` decides the verdict; `SubCode` is the reason (spec §8.2). */
const verdictFields = {
  certifyId: z.string().min(1),
  passed: z.enum(['T', 'F']),
  subCode: z.string().min(1),
  materialInfo: materialInfo,
};

/** A verdict of a financial-grade verification. Not passing is a result, never an error. */
export interface FaceVerdict {
  requestId: string;
  certifyId: string;
  passed: boolean;
  /** The reason (spec §8.2): `200` passed, `201` name/number mismatch, `204` face mismatch, … */
  subCode: string;
  material: FaceMaterial | undefined;
}

// ---------------------------------------------------------------------------------------------
// ContrastFaceVerify (§6)

export interface ContrastFaceVerifyInput {
  /** Console scene (SceneId). */
  sceneId: number;
  /** Caller's unique id of this verification, ≤ 32 letters or digits (OuterOrderNo). */
  outerOrderNo: string;
  applicant: Applicant;
  photo: FacePhotoSource;
  /** Liveness model; the provider's default is `FRONT_CAMERA_LIVENESS`. */
  model?: 'FRONT_CAMERA_LIVENESS' | 'REAR_CAMERA_LIVENESS' | 'NO_LIVENESS';
  /** The applicant's id in the caller's system (UserId), ≤ 100 characters. */
  userId?: string;
}

export type ContrastFaceVerifyResult = FaceVerdict;

export const contrastResultObject = z.object(verdictFields).transform((r) => ({
  certifyId: r.certifyId,
  passed: r.passed === 'T',
  subCode: r.subCode,
  material: r.materialInfo,
}));

// ---------------------------------------------------------------------------------------------
// InitFaceVerify (§4, H5 plan ID_PRO)

export interface InitFaceVerifyInput {
  sceneId: number;
  /** ≤ 32 letters or digits. */
  outerOrderNo: string;
  applicant: Applicant;
  /** JSON text produced in the applicant's browser by `getMetaInfo()`; never hard-coded (§2). */
  metaInfo: string;
  /** Where the browser returns after the flow. */
  returnUrl: string;
  /** HTTPS URL the provider GETs when the verification finishes (§9). */
  callbackUrl?: string;
  /** Anti-replay value echoed in the callback. */
  callbackToken?: string;
  /** Liveness model; `MOVE_ACTION` is the recommended one. */
  model?: string;
  /** `WEB` or `H5`. */
  certifyUrlType?: 'WEB' | 'H5';
  /** `S` short link (default) or `L` long URL. */
  certifyUrlStyle?: 'S' | 'L';
  userId?: string;
}

export interface InitFaceVerifyResult {
  requestId: string;
  certifyId: string;
  /** The page the applicant opens: valid 30 minutes, for one submission. */
  certifyUrl: string;
}

export const initResultObject = z
  .object({ certifyId: z.string().min(1), certifyUrl: z.string().min(1) })
  .transform((r) => ({ certifyId: r.certifyId, certifyUrl: r.certifyUrl }));

// ---------------------------------------------------------------------------------------------
// DescribeFaceVerify (§5)

export interface DescribeFaceVerifyInput {
  sceneId: number;
  certifyId: string;
}

export interface DescribeFaceVerifyResult extends FaceVerdict {
  /** Device risk labels, e.g. `ROOT`, `VPN`, `HOOK`; empty when none. */
  deviceRisks: string[];
}

export const describeResultObject = z
  .object({
    passed: verdictFields.passed,
    subCode: verdictFields.subCode,
    materialInfo: verdictFields.materialInfo,
    deviceRisk: z.string().optional(),
  })
  .transform((r) => ({
    passed: r.passed === 'T',
    subCode: r.subCode,
    material: r.materialInfo,
    deviceRisks: (r.deviceRisk ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  }));
