/**
 * Typed inputs and results of the Cloudauth legacy actions (API version 2018-09-16), and the zod
 * schemas that check each success body before it becomes a result (spec §1.2–§1.7).
 *
 * Inputs and results are camelCase; the wire names (`Biz`, `TicketId`, `Material.1.Value`, …) live
 * in `client.ts` only. Scores may arrive as json-bigint `BigNumber` objects (more than 15 digits);
 * they are converted with `Number()`.
 */
import { z } from 'zod';

/** The legacy API version every call is signed with. */
export const CLOUDAUTH_API_VERSION = '2018-09-16';

/**
 * `StatusCode` of a verification (spec §1.6): `-1` no submission, `0` under review, `1` passed
 * (final), `2` not passed (may be submitted again). A verdict, never an error.
 */
export type VerifyStatusCode = -1 | 0 | 1 | 2;

/** The {@link VerifyStatusCode} values, for exhaustive checks. */
export const VERIFY_STATUS_CODES = [-1, 0, 1, 2] as const satisfies readonly VerifyStatusCode[];

/**
 * Fields a GetVerifyToken `Binding` may carry (sent as one JSON string in the body). Images are
 * `http(s)://…`, `oss://<bucket>:<path>` or `base64://…` references, each under 2 MB (spec §1.4).
 */
export interface CloudauthBinding {
  /** Holder's name; required by RPBioID, RPBioOnly, RPBioOnlyPro, RPH5BioOnly. */
  Name?: string;
  /** 18-character resident ID number; required with `Name`. */
  IdentificationNumber?: string;
  /** Face photo. */
  FacePic?: string;
  /** ID card, portrait side. */
  IdCardFrontPic?: string;
  /** ID card, national-emblem side. */
  IdCardBackPic?: string;
  /** Retained portrait (人像留底照片); required by FVBioOnly. */
  FaceRetainedPic?: string;
  /** Photo read from the ID card chip. */
  IDPic?: string;
}

/** `MaterialType` values seen in official samples (spec §1.4); the full list is unknown (§7). */
export const KNOWN_MATERIAL_TYPES = [
  'Name',
  'IdentificationNumber',
  'FacePic',
  'IdCardFrontPic',
  'IdCardBackPic',
  'FaceRetainedPic',
  'IDPic',
  'Mobile',
] as const;

/** A `MaterialType`: one of {@link KNOWN_MATERIAL_TYPES}, or another string the provider accepts. */
export type MaterialType = (typeof KNOWN_MATERIAL_TYPES)[number] | (string & {});

/** One submitted material, sent as `Material.<n>.MaterialType` / `Material.<n>.Value`. */
export interface Material {
  type: MaterialType;
  /** Text, or an image reference in one of the formats of {@link CloudauthBinding}. */
  value: string;
}

/** Input of GetVerifyToken. */
export interface GetVerifyTokenInput {
  /** Biz scenario created in the console (bound to one scheme). */
  biz: string;
  /** Caller-chosen id of the verification task; reused by GetStatus and GetMaterials. */
  ticketId: string;
  /** Materials bound in advance (sent as a JSON string in the body). */
  binding?: CloudauthBinding;
  /** Opaque caller data; an object is sent as a JSON string. */
  userData?: Record<string, unknown> | string;
  /** `VerifyConfigs` (since 2018-08-07); an object is sent as a JSON string. */
  verifyConfigs?: Record<string, unknown> | string;
}

/** The VerifyToken of a verification session. */
export interface VerifyToken {
  token: string;
  /** Session lifetime in seconds (typically 1800). */
  durationSeconds: number;
}

/** STS credentials for uploading materials to the provider's bucket, under `path`. */
export interface StsToken {
  accessKeyId: string;
  accessKeySecret: string;
  /** As the provider wrote it; the format is not documented (spec §7). */
  expiration: string;
  endPoint: string;
  bucketName: string;
  /** The per-request directory uploads must go into. */
  path: string;
  /** The STS security token. */
  token: string;
}

/** Result of GetVerifyToken. Contains secrets: never log it whole. */
export interface GetVerifyTokenResult {
  requestId: string;
  verifyToken: VerifyToken;
  stsToken: StsToken;
  /** H5 page the user opens (RPH5BioOnly). */
  cloudauthPageUrl: string;
}

/** Input of SubmitMaterials. */
export interface SubmitMaterialsInput {
  /** `verifyToken.token` of GetVerifyToken. */
  verifyToken: string;
  materials: readonly Material[];
}

/** Scores and verdict shared by SubmitMaterials, SubmitVerification and GetStatus. */
export interface VerifyStatus {
  statusCode: VerifyStatusCode;
  /** Meaning and range undocumented (spec §7). */
  trustedScore?: number;
  /** Face photo vs ID-card portrait, 0–100. */
  similarityScore?: number;
  /** Reason text when `statusCode` is 2. */
  auditConclusions?: string;
}

/** Result of SubmitMaterials. */
export interface SubmitMaterialsResult extends VerifyStatus {
  requestId: string;
}

/** Input of SubmitVerification (pure-server scheme RPMin). */
export interface SubmitVerificationInput {
  biz: string;
  ticketId: string;
  materials: readonly Material[];
}

/** Result of SubmitVerification. */
export interface SubmitVerificationResult extends VerifyStatus {
  requestId: string;
  /** Face vs authoritative source, 0–100; not a verdict on its own. */
  authorityComparisonScore?: number;
}

/** Input of GetStatus and GetMaterials. */
export interface TicketRef {
  biz: string;
  ticketId: string;
}

/** Result of GetStatus. */
export interface GetStatusResult extends VerifyStatus {
  requestId: string;
  /** Face vs authoritative source, 0–100; not a verdict on its own. */
  authorityComparisonScore?: number;
}

/** Result of GetMaterials. Personal data: never log it. Image URLs are readable for one hour. */
export interface GetMaterialsResult {
  requestId: string;
  name?: string;
  identificationNumber?: string;
  /** `identityCard` for the resident ID card. */
  idCardType?: string;
  /** `yyyyMMdd`, OCR-derived. */
  idCardStartDate?: string;
  /** `yyyyMMdd`, OCR-derived. */
  idCardExpiry?: string;
  /** OCR address, a JSON string of undocumented structure. */
  address?: string;
  /** `m` or `f`. */
  sex?: string;
  idCardFrontPic?: string;
  idCardBackPic?: string;
  facePic?: string;
  ethnicGroup?: string;
}

type Defined<T> = Exclude<T, undefined>;
type Compact<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Defined<T[K]>;
};

function compact<T extends Record<string, unknown>>(o: T): Compact<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Compact<T>;
}

function isBigNumberLike(v: unknown): v is { toNumber(): number } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { toNumber?: unknown }).toNumber === 'function'
  );
}

const numeric = z
  .union([
    z.number(),
    z.string().regex(/^-?\d+(\.\d+)?$/),
    z.custom<{ toNumber(): number }>(isBigNumberLike),
  ])
  .transform((v) => Number(v))
  .pipe(z.number().finite());

const optionalNumeric = numeric.nullish().transform((v) => v ?? undefined);
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

const statusCode = numeric.pipe(
  z.union([z.literal(-1), z.literal(0), z.literal(1), z.literal(2)]),
) as z.ZodType<VerifyStatusCode, unknown>;

const envelope = <D extends z.ZodType>(data: D) =>
  z.object({
    RequestId: z.string().min(1),
    Success: z.literal(true).optional(),
    Data: data,
  });

const verifyStatusFields = {
  StatusCode: statusCode,
  TrustedScore: optionalNumeric,
  SimilarityScore: optionalNumeric,
  AuditConclusions: optionalString,
};

type VerifyStatusData = {
  StatusCode: VerifyStatusCode;
  TrustedScore: number | undefined;
  SimilarityScore: number | undefined;
  AuditConclusions: string | undefined;
};

const verifyStatus = (d: VerifyStatusData) => ({
  statusCode: d.StatusCode,
  trustedScore: d.TrustedScore,
  similarityScore: d.SimilarityScore,
  auditConclusions: d.AuditConclusions,
});

/** Success body of GetVerifyToken → {@link GetVerifyTokenResult}. */
export const getVerifyTokenResponse = envelope(
  z.object({
    CloudauthPageUrl: z.string(),
    VerifyToken: z.object({ Token: z.string().min(1), DurationSeconds: numeric }),
    StsToken: z.object({
      AccessKeyId: z.string(),
      AccessKeySecret: z.string(),
      Expiration: z.string(),
      EndPoint: z.string(),
      BucketName: z.string(),
      Path: z.string(),
      Token: z.string(),
    }),
  }),
).transform((r): GetVerifyTokenResult => ({
  requestId: r.RequestId,
  verifyToken: {
    token: r.Data.VerifyToken.Token,
    durationSeconds: r.Data.VerifyToken.DurationSeconds,
  },
  stsToken: {
    accessKeyId: r.Data.StsToken.AccessKeyId,
    accessKeySecret: r.Data.StsToken.AccessKeySecret,
    expiration: r.Data.StsToken.Expiration,
    endPoint: r.Data.StsToken.EndPoint,
    bucketName: r.Data.StsToken.BucketName,
    path: r.Data.StsToken.Path,
    token: r.Data.StsToken.Token,
  },
  cloudauthPageUrl: r.Data.CloudauthPageUrl,
}));

/** Success body of SubmitMaterials → {@link SubmitMaterialsResult}. */
export const submitMaterialsResponse = envelope(
  z.object({ VerifyStatus: z.object(verifyStatusFields) }),
).transform((r): SubmitMaterialsResult =>
  compact({ requestId: r.RequestId, ...verifyStatus(r.Data.VerifyStatus) }),
);

/** Success body of SubmitVerification → {@link SubmitVerificationResult}. */
export const submitVerificationResponse = envelope(
  z.object({
    VerifyStatus: z.object({ ...verifyStatusFields, AuthorityComparisonScore: optionalNumeric }),
  }),
).transform((r): SubmitVerificationResult =>
  compact({
    requestId: r.RequestId,
    ...verifyStatus(r.Data.VerifyStatus),
    authorityComparisonScore: r.Data.VerifyStatus.AuthorityComparisonScore,
  }),
);

/** Success body of GetStatus → {@link GetStatusResult}. */
export const getStatusResponse = envelope(
  z.object({ ...verifyStatusFields, AuthorityComparisonScore: optionalNumeric }),
).transform((r): GetStatusResult =>
  compact({
    requestId: r.RequestId,
    ...verifyStatus(r.Data),
    authorityComparisonScore: r.Data.AuthorityComparisonScore,
  }),
);

/** Success body of GetMaterials → {@link GetMaterialsResult}. */
export const getMaterialsResponse = envelope(
  z.object({
    Name: optionalString,
    IdentificationNumber: optionalString,
    IdCardType: optionalString,
    IdCardStartDate: optionalString,
    IdCardExpiry: optionalString,
    Address: optionalString,
    Sex: optionalString,
    IdCardFrontPic: optionalString,
    IdCardBackPic: optionalString,
    FacePic: optionalString,
    EthnicGroup: optionalString,
  }),
).transform((r): GetMaterialsResult =>
  compact({
    requestId: r.RequestId,
    name: r.Data.Name,
    identificationNumber: r.Data.IdentificationNumber,
    idCardType: r.Data.IdCardType,
    idCardStartDate: r.Data.IdCardStartDate,
    idCardExpiry: r.Data.IdCardExpiry,
    address: r.Data.Address,
    sex: r.Data.Sex,
    idCardFrontPic: r.Data.IdCardFrontPic,
    idCardBackPic: r.Data.IdCardBackPic,
    facePic: r.Data.FacePic,
    ethnicGroup: r.Data.EthnicGroup,
  }),
);
