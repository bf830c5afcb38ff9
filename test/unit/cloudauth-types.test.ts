import { describe, expect, it } from 'vitest';
import {
  getMaterialsResponse,
  getStatusResponse,
  getVerifyTokenResponse,
  submitMaterialsResponse,
  submitVerificationResponse,
} from '../../src/adapters/cloudauth/types.js';

const ok = (Data: unknown) => ({ RequestId: 'REQ', Code: '1', Success: true, Data });

/** What json-bigint hands back for a number with more than 15 digits. */
const bigNumber = (text: string) => ({ toNumber: () => Number(text), valueOf: () => text });

describe('Cloudauth response schemas', () => {
  it('maps a GetVerifyToken body to camelCase', () => {
    const parsed = getVerifyTokenResponse.parse(
      ok({
        CloudauthPageUrl: 'http://h5',
        VerifyToken: { Token: 'tok', DurationSeconds: bigNumber('1800') },
        StsToken: {
          AccessKeyId: 'STS.a',
          AccessKeySecret: 's',
          Expiration: '2026-11-28T10:00:00Z',
          EndPoint: 'http://oss',
          BucketName: 'b',
          Path: 'p/',
          Token: 't',
        },
      }),
    );
    expect(parsed).toEqual({
      requestId: 'REQ',
      verifyToken: { token: 'tok', durationSeconds: 1800 },
      stsToken: {
        accessKeyId: 'STS.a',
        accessKeySecret: 's',
        expiration: '2026-11-28T10:00:00Z',
        endPoint: 'http://oss',
        bucketName: 'b',
        path: 'p/',
        token: 't',
      },
      cloudauthPageUrl: 'http://h5',
    });
  });

  it('omits absent and null optional fields instead of setting them to undefined', () => {
    const parsed = submitMaterialsResponse.parse(
      ok({ VerifyStatus: { StatusCode: 2, TrustedScore: null, AuditConclusions: 'blurry' } }),
    );
    expect(parsed).toStrictEqual({ requestId: 'REQ', statusCode: 2, auditConclusions: 'blurry' });
  });

  it('converts BigNumber and numeric-string scores with Number()', () => {
    const parsed = submitVerificationResponse.parse(
      ok({
        VerifyStatus: {
          StatusCode: '1',
          SimilarityScore: bigNumber('93.1234567890123456'),
          AuthorityComparisonScore: '88.5',
        },
      }),
    );
    expect(parsed).toStrictEqual({
      requestId: 'REQ',
      statusCode: 1,
      similarityScore: 93.12345678901235,
      authorityComparisonScore: 88.5,
    });
  });

  it('accepts every StatusCode of the enum and nothing else', () => {
    for (const code of [-1, 0, 1, 2]) {
      expect(getStatusResponse.parse(ok({ StatusCode: code })).statusCode).toBe(code);
    }
    for (const code of [3, -2, 1.5, 'x', null]) {
      expect(getStatusResponse.safeParse(ok({ StatusCode: code })).success).toBe(false);
    }
  });

  it('refuses a body without RequestId or Data, or with Success false', () => {
    expect(getStatusResponse.safeParse({ Code: '1', Data: { StatusCode: 1 } }).success).toBe(false);
    expect(getMaterialsResponse.safeParse({ RequestId: 'R', Code: '1' }).success).toBe(false);
    expect(
      getStatusResponse.safeParse({ RequestId: 'R', Success: false, Data: { StatusCode: 1 } })
        .success,
    ).toBe(false);
  });

  it('maps every GetMaterials field', () => {
    const data = {
      Name: 'n',
      IdentificationNumber: 'i',
      IdCardType: 'identityCard',
      IdCardStartDate: '20200101',
      IdCardExpiry: '20400101',
      Address: '{}',
      Sex: 'f',
      IdCardFrontPic: 'http://f',
      IdCardBackPic: 'http://b',
      FacePic: 'http://face',
      EthnicGroup: '汉',
    };
    expect(getMaterialsResponse.parse(ok(data))).toStrictEqual({
      requestId: 'REQ',
      name: 'n',
      identificationNumber: 'i',
      idCardType: 'identityCard',
      idCardStartDate: '20200101',
      idCardExpiry: '20400101',
      address: '{}',
      sex: 'f',
      idCardFrontPic: 'http://f',
      idCardBackPic: 'http://b',
      facePic: 'http://face',
      ethnicGroup: '汉',
    });
  });
});
