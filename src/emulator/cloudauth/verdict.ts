/**
 * The emulator's verdicts: deterministic, so that tests and chaos runs can predict them.
 *
 * 1. An image that cannot be read (an `oss://` object that does not exist) or is not a JPEG, PNG
 *    or BMP → 2.
 * 2. An IdentificationNumber that fails GB 11643 (format, region, birth date, check digit) → 2.
 * 3. A Name on the reject list → 2.
 * 4. A Name on the review list → 0 (under review) for `reviewMs`, then 1.
 * 5. Otherwise → 1.
 * Scores are derived from a hash of the name, the ID number and the face image (its bytes where
 * the emulator could read them, else its reference): passed verdicts score in [85, 100), not-passed
 * ones in [30, 60). TrustedScore's real meaning is undocumented (spec §7); it follows the same rule.
 */
import { createHash } from 'node:crypto';
import { checkIdNumber } from '../../domain/id-number.js';
import type { ImageFact } from './image-facts.js';

export interface VerdictRules {
  rejectNames: readonly string[];
  reviewNames: readonly string[];
  reviewMs: number;
}

export interface Verdict {
  statusCode: 1 | 2;
  trustedScore: number;
  similarityScore: number;
  authorityComparisonScore: number;
  auditConclusions?: string;
  /** Until then GetStatus answers 0. */
  reviewUntil?: number;
}

/** Judges one submission from the merged Binding and materials. */
export function judge(
  materials: Readonly<Record<string, string>>,
  rules: VerdictRules,
  now: number,
  images: Readonly<Record<string, ImageFact>> = {},
): Verdict {
  const name = materials.Name?.trim();
  const idNumber = materials.IdentificationNumber?.trim();
  const face = images.FacePic;
  const faceSeed = face?.state === 'ok' ? face.digest : (materials.FacePic ?? '');
  const seed = createHash('sha256')
    .update(`${name ?? ''}\u0000${idNumber ?? ''}\u0000${faceSeed}`)
    .digest();
  const score = (base: number, span: number, i: number) =>
    Math.round((base + (seed.readUInt16BE(i) % (span * 100)) / 100) * 100) / 100;
  const passedScores = {
    trustedScore: score(85, 15, 0),
    similarityScore: score(85, 15, 2),
    authorityComparisonScore: score(85, 15, 4),
  };
  const failedScores = {
    trustedScore: score(30, 30, 0),
    similarityScore: score(30, 30, 2),
    authorityComparisonScore: score(30, 30, 4),
  };

  for (const [field, fact] of Object.entries(images)) {
    if (fact.state === 'missing') {
      return {
        statusCode: 2,
        ...failedScores,
        auditConclusions: `图片无法读取 (${field} could not be read)`,
      };
    }
    if (fact.state === 'not_image') {
      return {
        statusCode: 2,
        ...failedScores,
        auditConclusions: `图片格式不支持 (${field} is not a JPEG, PNG or BMP image)`,
      };
    }
  }
  if (idNumber !== undefined) {
    const check = checkIdNumber(idNumber, utcDay(now));
    if (!check.ok) {
      return {
        statusCode: 2,
        ...failedScores,
        auditConclusions: `身份证号码不合法 (identification number invalid: ${check.problem})`,
      };
    }
  }
  if (name !== undefined && rules.rejectNames.includes(name)) {
    return {
      statusCode: 2,
      ...failedScores,
      auditConclusions: '姓名与身份证号码不一致 (name does not match the identification number)',
    };
  }
  if (name !== undefined && rules.reviewNames.includes(name)) {
    return { statusCode: 1, ...passedScores, reviewUntil: now + rules.reviewMs };
  }
  return { statusCode: 1, ...passedScores };
}

/** A verdict the person forced on the H5 page with "fail". */
export function failedByPerson(): Verdict {
  return {
    statusCode: 2,
    trustedScore: 0,
    similarityScore: 0,
    authorityComparisonScore: 0,
    auditConclusions: '活体检测未通过 (liveness check failed)',
  };
}

/** The StatusCode GetStatus shows for a verdict at `now`. */
export function visibleStatus(verdict: Verdict, now: number): 0 | 1 | 2 {
  return verdict.reviewUntil !== undefined && now < verdict.reviewUntil ? 0 : verdict.statusCode;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}
