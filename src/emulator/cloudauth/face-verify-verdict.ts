/**
 * Verdicts of the 2019-03-07 actions, by the same rules as the 2018-09-16 ones (verdict.ts), so a
 * person gets the same outcome from either family:
 * - an ID number failing GB 11643 in region, birth date or check digit → not passed, SubCode 202
 *   (identity not found at the authority; Id2MetaVerify BizCode 3);
 * - a name on the reject list → not passed, SubCode 201 (name and number do not match;
 *   Id2MetaVerify BizCode 2);
 * - otherwise passed, SubCode 200 (BizCode 1). The review list has no meaning here: these answers
 *   are final, so a name on it passes.
 * Scores are the 2018 ones (a hash of name, number and face): `verifyScore` is the similarity
 * score, `qualityScore` the trusted score. A malformed number (not 17 digits and a digit or X) is a
 * parameter error (Code 401), and a person under 14 is refused (Code 405), before any verdict.
 */
import { checkIdNumber, type IdNumberCheck } from '../../domain/id-number.js';
import type { ImageFact } from './image-facts.js';
import { type VerdictRules, judge } from './verdict.js';

export interface FaceJudgement {
  passed: boolean;
  subCode: '200' | '201' | '202';
  /** MaterialInfo as an object; the action serializes it. */
  materialInfo: {
    faceAttack: 'T' | 'F';
    facialPictureFront: { qualityScore: number; verifyScore: number };
  };
}

/** Today's date at `now`, as `yyyymmdd` (UTC), the form checkIdNumber bounds birth dates with. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
}

/** True when a valid number's holder is not yet 14 on the UTC day of `now`. */
export function isUnder14(check: IdNumberCheck, now: number): boolean {
  if (!check.ok) return false;
  const fourteenth = `${Number(check.birthDate.slice(0, 4)) + 14}${check.birthDate.slice(4)}`;
  return fourteenth > utcDay(now);
}

/** Judges a face verification of `certName`/`certNo` with the face known as `faceReference`. */
export function judgeFace(
  identity: { certName: string; certNo: string },
  face: { reference: string; fact: ImageFact },
  rules: VerdictRules,
  now: number,
): FaceJudgement {
  const verdict = judge(
    { Name: identity.certName, IdentificationNumber: identity.certNo, FacePic: face.reference },
    rules,
    now,
    { FacePic: face.fact },
  );
  const passed = verdict.statusCode === 1;
  const subCode = passed
    ? '200'
    : checkIdNumber(identity.certNo.trim(), utcDay(now)).ok
      ? '201'
      : '202';
  return {
    passed,
    subCode,
    materialInfo: {
      faceAttack: 'F',
      facialPictureFront: {
        qualityScore: verdict.trustedScore,
        verifyScore: verdict.similarityScore,
      },
    },
  };
}

/** Id2MetaVerify's BizCode: 1 match, 2 mismatch, 3 no record (spec §7). */
export function judgeIdentity(
  userName: string,
  identifyNum: string,
  rules: Pick<VerdictRules, 'rejectNames'>,
  now: number,
): '1' | '2' | '3' {
  if (!checkIdNumber(identifyNum.trim(), utcDay(now)).ok) return '3';
  return rules.rejectNames.includes(userName.trim()) ? '2' : '1';
}
