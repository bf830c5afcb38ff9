/**
 * An error answer of the POP gateway or of a product action: code, HTTP status, message.
 * Serialized as `{RequestId, HostId, Code, Message}` (JSON) or `<Error>…</Error>` (XML).
 */
export class PopError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra fields of the body (e.g. `Recommend`). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PopError';
  }
}

/**
 * Gateway codes with the statuses the emulator answers. Where the spec (§2, §7) records two
 * statuses, the choice made here is noted.
 */
export const gatewayErrors = {
  missingParameter: (name: string) =>
    new PopError(
      'MissingParameter',
      400,
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    ),
  incompleteSignature: () =>
    new PopError(
      'IncompleteSignature',
      400,
      'The request signature does not conform to Aliyun standards.',
    ),
  illegalTimestamp: () =>
    new PopError(
      'IllegalTimestamp',
      400,
      'The input parameter "Timestamp" that is mandatory for processing this request is not supplied.',
    ),
  timestampExpired: () =>
    new PopError('InvalidTimeStamp.Expired', 400, 'Specified time stamp or date value is expired.'),
  nonceUsed: () =>
    new PopError('SignatureNonceUsed', 400, 'Specified signature nonce was used already.'),
  /** 400, as the newer error tables say (older ones say 404). */
  accessKeyNotFound: () =>
    new PopError('InvalidAccessKeyId.NotFound', 400, 'Specified access key is not found.'),
  /** 400, as observed in practice (some tables say 403). */
  signatureMismatch: (stringToSign: string) =>
    new PopError(
      'SignatureDoesNotMatch',
      400,
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  unsupportedSignatureMethod: () =>
    new PopError(
      'InvalidParameter',
      400,
      'The specified parameter "SignatureMethod" or "SignatureVersion" is not valid.',
    ),
  invalidVersion: () =>
    new PopError('InvalidVersion', 400, 'Specified parameter Version is not valid.'),
  /** 404 with the message the gateway gives for an unknown API. */
  unknownAction: () =>
    new PopError(
      'InvalidAction.NotFound',
      404,
      'Specified api is not found, please check your url and method.',
    ),
  unsupportedMethod: () =>
    new PopError('UnsupportedHTTPMethod', 400, 'This http method is not supported.'),
  /** Spec §7: the real answer for an oversized body is unknown; we choose 413. */
  bodyTooLarge: (limit: number) =>
    new PopError(
      'InvalidParam.RequestTooLarge',
      413,
      `The request body exceeds the limit of ${limit} bytes.`,
    ),
  throttling: () =>
    new PopError('Throttling', 400, 'Request was denied due to request throttling.'),
  throttlingUser: () =>
    new PopError('Throttling.User', 400, 'Request was denied due to user flow control.'),
  internal: () =>
    new PopError(
      'Error.InternalError',
      500,
      'The request processing has failed due to some unknown error.',
    ),
} as const;
