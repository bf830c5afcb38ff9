/**
 * The OSS emulator's error table and the OSS error body:
 * `<?xml …?><Error><Code/><Message/><RequestId/><HostId/>[extra fields][<EC/><RecommendDoc/>]</Error>`
 * with `content-type: application/xml`, `x-oss-request-id` and, where an EC is known, `x-oss-ec`.
 * Codes, statuses, messages and ECs follow the project spec §4; the few it does not give are
 * marked "emulator choice" below.
 */
import { randomBytes } from 'node:crypto';
import { toXml } from '../pop/xml.js';
import { stringToSignBytes } from './oss-signature.js';

/** The operations the emulator serves, for NotImplemented messages. */
const SERVED =
  'PutObject, GetObject, HeadObject, DeleteObject, DeleteMultipleObjects and ListObjectsV2';

/** One OSS error answer. Thrown inside the emulator, turned into XML at the edge. */
export class OssError extends Error {
  constructor(
    /** OSS error code, e.g. `SignatureDoesNotMatch`. */
    readonly code: string,
    /** HTTP status. */
    readonly status: number,
    message: string,
    /** OSS error code `EC` (e.g. `0002-00000007`), when the spec gives one. */
    readonly ec?: string,
    /** Further elements after `HostId`, in order. */
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'OssError';
  }
}

/** Raised by the object store when a key cannot be a file next to existing ones in `dataDir`. */
export class ObjectPathConflictError extends Error {
  constructor(key: string) {
    super(`object key ${JSON.stringify(key)} conflicts with the path of another object`);
    this.name = 'ObjectPathConflictError';
  }
}

/** Every error the OSS emulator answers. */
export const ossErrors = {
  accessDeniedAnonymous: () =>
    new OssError(
      'AccessDenied',
      403,
      'You have no right to access this object because of bucket acl.',
    ),
  /** Emulator choice of message: the spec gives no text for a request without a date. */
  missingDate: () =>
    new OssError('AccessDenied', 403, 'OSS authentication requires a valid Date or x-oss-date.'),
  accessDeniedPolicy: (accessKeyId: string) =>
    new OssError('AccessDenied', 403, "Access denied by authorizer's policy.", undefined, {
      OSSAccessKeyId: accessKeyId,
    }),
  /**
   * Emulator choice: only the header forms `OSS <id>:<signature>` (signature V1) and
   * `OSS4-HMAC-SHA256 Credential=…,Signature=…` (V4) are emulated; an `OSS4-HMAC-SHA256` header
   * with fields missing, repeated or unknown gets this answer too.
   */
  invalidAuthorization: () =>
    new OssError(
      'InvalidArgument',
      400,
      'Authorization header is invalid: this emulator accepts "OSS <AccessKeyId>:<Signature>" (signature V1) and "OSS4-HMAC-SHA256 Credential=<AccessKeyId>/<SignDate>/<Region>/oss/aliyun_v4_request[,AdditionalHeaders=<names>],Signature=<hex>" (signature V4).',
    ),
  /** V4: a Credential that is not `<AccessKeyId>/<SignDate>/<Region>/oss/aliyun_v4_request`. Message the emulator's. */
  invalidCredential: () =>
    new OssError(
      'InvalidArgument',
      400,
      'Invalid credential in Authorization header: expected <AccessKeyId>/<SignDate>/<Region>/oss/aliyun_v4_request.',
      '0002-00000213',
    ),
  /** V4: a Credential date that is not `YYYYMMDD` (e.g. `2022-12-20`). Message the emulator's. */
  invalidCredentialDate: () =>
    new OssError(
      'InvalidArgument',
      400,
      'Invalid credential date in Authorization header: expected YYYYMMDD.',
      '0002-00000212',
    ),
  /**
   * V4: the Credential's date is not the date of `x-oss-date`. Emulator choice of code and
   * message (no OSS EC found; S3's analogue is EC 0002-00000409).
   */
  credentialDateMismatch: () =>
    new OssError(
      'InvalidArgument',
      400,
      'Invalid credential date in Authorization header: it is not the date of x-oss-date.',
    ),
  /**
   * V4: a scope region that is not a standard region id (`oss-cn-hangzhou` instead of
   * `cn-hangzhou`), or not the region of the `oss-<region>.aliyuncs.com` Host. Code, message and
   * EC as OSS answers a region mismatch.
   */
  invalidSigningRegion: () =>
    new OssError(
      'InvalidArgument',
      400,
      'Invalid signing region in Authorization header.',
      '0002-00000226',
    ),
  /** V4 without `x-oss-date` (EC 0002-00000503). Emulator choice of code and message, as V1's. */
  missingV4Date: () =>
    new OssError(
      'AccessDenied',
      403,
      'OSS V4 authentication requires the x-oss-date header.',
      '0002-00000503',
    ),
  /**
   * V4 with an `x-oss-date` that is not ISO 8601 basic UTC (EC 0002-00000502). Emulator choice of
   * code and message, as V1's missing date.
   */
  invalidV4Date: () =>
    new OssError(
      'AccessDenied',
      403,
      "OSS V4 authentication requires a valid x-oss-date (YYYYMMDD'T'HHMMSS'Z', UTC).",
      '0002-00000502',
    ),
  /** V4 with an `x-oss-content-sha256` other than `UNSIGNED-PAYLOAD` (or none). */
  unsupportedContentSha256: (value: string) =>
    new OssError(
      'InvalidArgument',
      400,
      'The x-oss-content-sha256 only supports UNSIGNED-PAYLOAD.',
      '0002-00000214',
      { ArgumentName: 'x-oss-content-sha256', ArgumentValue: value },
    ),
  invalidAccessKeyId: (accessKeyId: string) =>
    new OssError(
      'InvalidAccessKeyId',
      403,
      'The OSS Access Key Id you provided does not exist in our records.',
      '0002-00000003',
      { OSSAccessKeyId: accessKeyId },
    ),
  securityTokenMissing: (accessKeyId: string) =>
    new OssError(
      'InvalidAccessKeyId',
      403,
      'The OSS Access Key Id you provided does not exist in our records. The Security Token may be lost to specify that it is a STS Access Id.',
      '0002-00000003',
      { OSSAccessKeyId: accessKeyId },
    ),
  /**
   * A security token that is not the one issued with the AccessKeyId (or any token sent with a
   * permanent key). Emulator choice: always `InvalidSecurityToken`; it cannot decode tokens, so
   * it never answers `AccessKeyIdAndSecurityTokenNotMatch`.
   */
  invalidSecurityToken: (accessKeyId: string) =>
    new OssError(
      'InvalidSecurityToken',
      403,
      'The security token you provided is invalid.',
      '0002-00000006',
      { OSSAccessKeyId: accessKeyId },
    ),
  securityTokenExpired: (accessKeyId: string) =>
    new OssError(
      'SecurityTokenExpired',
      403,
      'The security token you provided has expired.',
      '0002-00000007',
      { OSSAccessKeyId: accessKeyId },
    ),
  signatureMismatch: (
    accessKeyId: string,
    provided: string,
    stringToSign: string,
    more: Record<string, string> = {},
  ) =>
    new OssError(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      undefined,
      {
        OSSAccessKeyId: accessKeyId,
        SignatureProvided: provided,
        StringToSign: stringToSign,
        StringToSignBytes: stringToSignBytes(stringToSign),
        ...more,
      },
    ),
  /**
   * V4 signature mismatch. Besides V1's elements, emulator choice (S3's SigV4 answer, which OSS's
   * V1 answer mirrors): `CanonicalRequest` and `CanonicalRequestBytes` (upper-case hex, as
   * `StringToSignBytes`), so a client can compare its canonical request with the emulator's.
   */
  signatureMismatchV4: (
    accessKeyId: string,
    provided: string,
    stringToSign: string,
    canonicalRequest: string,
  ) =>
    ossErrors.signatureMismatch(accessKeyId, provided, stringToSign, {
      CanonicalRequest: canonicalRequest,
      CanonicalRequestBytes: stringToSignBytes(canonicalRequest),
    }),
  timeTooSkewed: (requestTime: string, serverTime: string) =>
    new OssError(
      'RequestTimeTooSkewed',
      403,
      'The difference between the request time and the current time is too large.',
      undefined,
      { RequestTime: requestTime, ServerTime: serverTime },
    ),
  invalidDigest: () =>
    new OssError('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.'),
  digestMismatch: () =>
    new OssError(
      'InvalidDigest',
      400,
      'The Content-MD5 you specified did not match what we received.',
    ),
  entityTooLarge: (maxBytes: number) =>
    new OssError(
      'EntityTooLarge',
      400,
      'Your proposed upload exceeds the maximum allowed size.',
      undefined,
      { MaxSizeAllowed: String(maxBytes) },
    ),
  /** Emulator choice of code for a body shorter than its Content-Length. */
  incompleteBody: () =>
    new OssError(
      'IncompleteBody',
      400,
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    ),
  missingContentLength: () =>
    new OssError('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.'),
  noSuchBucket: (bucket: string) =>
    new OssError('NoSuchBucket', 404, 'The specified bucket does not exist.', undefined, {
      BucketName: bucket,
    }),
  noSuchKey: (key: string) =>
    new OssError('NoSuchKey', 404, 'The specified key does not exist.', undefined, { Key: key }),
  invalidBucketName: () =>
    new OssError(
      'InvalidBucketName',
      400,
      'The specified bucket is not valid: name it in the Host (<bucket>.oss-<region>.aliyuncs.com) or as the first path segment.',
    ),
  /** `reason` says what is wrong; the emulator's key rules are stricter than OSS's (see index.ts). */
  invalidObjectName: (reason: string) =>
    new OssError('InvalidObjectName', 400, `The specified object is not valid: ${reason}.`),
  methodNotAllowed: () =>
    new OssError(
      'MethodNotAllowed',
      405,
      'The specified method is not allowed against this resource.',
    ),
  /** Emulator choice: sub-resource operations (acl, tagging, append…) are not emulated. */
  notImplemented: (subResource: string) =>
    new OssError(
      'NotImplemented',
      501,
      `This emulator does not implement the "${subResource}" sub-resource; it serves ${SERVED}.`,
    ),
  /** Emulator choice: a GET of the bucket without `list-type=2` (ListObjects V1) is not emulated. */
  listV1NotImplemented: () =>
    new OssError(
      'NotImplemented',
      501,
      `This emulator lists objects only with ListObjectsV2 (list-type=2); it serves ${SERVED}.`,
    ),
  /**
   * A malformed request argument, named as OSS names it in `ArgumentName`/`ArgumentValue` (e.g.
   * max-keys out of 1–1000). Messages are the emulator's unless noted where it is built.
   */
  invalidArgument: (name: string, value: string, message: string, ec?: string) =>
    new OssError('InvalidArgument', 400, message, ec, {
      ArgumentName: name,
      ArgumentValue: value,
    }),
  /**
   * `x-oss-server-side-encryption` other than AES256, KMS or SM4. Code and status from OSS's error
   * table (`InvalidEncryptionAlgorithmError` 400; older tables say only AES256 is valid); the
   * message is the emulator's, no EC is documented for it.
   */
  invalidEncryptionAlgorithm: () =>
    new OssError(
      'InvalidEncryptionAlgorithmError',
      400,
      'The Encryption request you specified is not valid. Supported value: AES256/KMS/SM4.',
    ),
  /**
   * PutObject with `x-oss-forbid-overwrite: true` over an existing object (OSS docs, EC pages
   * 0026-00000002 and 0026-00000201 describe this same refusal; which one OSS sends is not
   * documented, so the emulator sends no EC).
   */
  fileAlreadyExists: () =>
    new OssError(
      'FileAlreadyExists',
      409,
      'The object you specified already exists and can not be overwritten.',
    ),
  /**
   * A DeleteMultipleObjects body that is not the documented `<Delete>` document, or holds no
   * object or more than 1000. `ec` where OSS documents one (0016-00000610: an invalid Quiet).
   */
  malformedXml: (ec?: string) =>
    new OssError(
      'MalformedXML',
      400,
      'The XML you provided was not well-formed or did not validate against our published schema.',
      ec,
    ),
  /**
   * DeleteMultipleObjects without Content-MD5 (EC 0016-00000606). Emulator choice of code and
   * message: OSS documents the EC only; S3's answer to the same request is quoted.
   */
  missingContentMd5: () =>
    new OssError(
      'InvalidRequest',
      400,
      'Missing required header for this request: Content-MD5',
      '0016-00000606',
    ),
  internal: () =>
    new OssError('InternalError', 500, 'We encountered an internal error. Please try again.'),
  /** Emulator choice: an injected throttle; code and status not in the spec (EC of "QPS exceeded"). */
  throttled: () =>
    new OssError('ServiceUnavailable', 503, 'Please reduce your request rate.', '0004-00000302'),
} as const;

/** A request id like OSS's: 24 upper-case hex digits. */
export function newOssRequestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}

/** The XML body of an error. */
export function ossErrorXml(error: OssError, requestId: string, hostId: string): string {
  return toXml('Error', {
    Code: error.code,
    Message: error.message,
    RequestId: requestId,
    HostId: hostId,
    ...error.extra,
    ...(error.ec === undefined
      ? {}
      : { EC: error.ec, RecommendDoc: `https://api.aliyun.com/troubleshoot?q=${error.ec}` }),
  });
}
