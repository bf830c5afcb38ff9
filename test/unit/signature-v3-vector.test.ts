/**
 * The spec's worked V3 vector (cloudauth-2019.md §3, observed from @alicloud/openapi-core 1.0.8):
 * the emulator's pure signing functions reproduce it byte for byte, and verifyV3 accepts the
 * resulting Authorization and refuses a wrong secret with the server's string to sign.
 */
import { describe, expect, it } from 'vitest';
import { PopError } from '../../src/emulator/pop/pop-error.js';
import {
  canonicalRequestV3,
  hashPayloadV3,
  signatureV3,
  stringToSignV3,
  verifyV3,
} from '../../src/emulator/pop/signature-v3.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const headers = {
  host: 'cloudauth.aliyuncs.com',
  'x-acs-action': 'DescribeFaceVerify',
  'x-acs-version': '2019-03-07',
  'x-acs-date': '2024-01-01T00:00:00Z',
  'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
  'x-acs-content-sha256': EMPTY_SHA256,
};
const query = { CertifyId: '91707dc296d469ad38e4c5efa6a0f24b', SceneId: '1000000006' };
const signedHeaders = Object.keys(headers).sort();
const request = { method: 'POST', path: '/', query, headers };
const SIGNATURE = '128cd91b17d8172cd214b880c6cdc9749a4b282718e9584641bb468425a509b1';
const STRING_TO_SIGN =
  'ACS3-HMAC-SHA256\n1b3adfce2047db0b41d384adfc31676f23a9c59d2f2eb13ca1b22801ce721c15';

const authorization = `ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=${signedHeaders.join(';')},Signature=${SIGNATURE}`;

describe('the spec V3 worked vector', () => {
  it('hashes the empty body to the well-known SHA-256', () => {
    expect(hashPayloadV3('ACS3-HMAC-SHA256', Buffer.alloc(0))).toBe(EMPTY_SHA256);
  });

  it('builds the canonical request, string to sign and signature byte for byte', () => {
    const canonical = canonicalRequestV3(request, signedHeaders, EMPTY_SHA256);
    expect(canonical).toBe(
      [
        'POST',
        '/',
        'CertifyId=91707dc296d469ad38e4c5efa6a0f24b&SceneId=1000000006',
        'host:cloudauth.aliyuncs.com\n' +
          'x-acs-action:DescribeFaceVerify\n' +
          `x-acs-content-sha256:${EMPTY_SHA256}\n` +
          'x-acs-date:2024-01-01T00:00:00Z\n' +
          'x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n' +
          'x-acs-version:2019-03-07\n',
        'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version',
        EMPTY_SHA256,
      ].join('\n'),
    );
    const stringToSign = stringToSignV3('ACS3-HMAC-SHA256', canonical);
    expect(stringToSign).toBe(STRING_TO_SIGN);
    expect(signatureV3('ACS3-HMAC-SHA256', 'testsecret', stringToSign)).toBe(SIGNATURE);
  });

  it('verifies the vector as a request with its Authorization header', () => {
    const verified = verifyV3(
      { ...request, headers: { ...headers, authorization }, body: Buffer.alloc(0) },
      (id) => (id === 'testid' ? 'testsecret' : undefined),
    );
    expect(verified).toMatchObject({
      accessKeyId: 'testid',
      action: 'DescribeFaceVerify',
      version: '2019-03-07',
      date: '2024-01-01T00:00:00Z',
      nonce: '3156853299f313e23d1673dc12e1703d',
    });
  });

  it('refuses it under another secret, quoting the server string to sign', () => {
    let caught: unknown;
    try {
      verifyV3(
        { ...request, headers: { ...headers, authorization }, body: Buffer.alloc(0) },
        () => 'not-testsecret',
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PopError);
    expect(caught).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
    expect((caught as PopError).message).toContain(`server string to sign is:${STRING_TO_SIGN}`);
  });
});
