/**
 * Cloudauth's own error answers. `Error.InternalError`, `InvalidParam.ParamMissing`,
 * `Error.NoPermissionAccess` and `InvalidParam.InvalidBiz` are documented (spec §1.2); so is
 * `InvalidParam.ImageValuePatternError` (CompareFaces, §1.8). The codes for a non-JSON Binding, an
 * oversized image, an unknown MaterialType and an unknown or expired VerifyToken are not published
 * (spec §7): the emulator's choices are the `chosen` ones below, and the client's code table
 * knows them.
 */
import { PopError } from '../pop/pop-error.js';

export const cloudauthErrors = {
  /** Documented; message verbatim (sic "imput"). The field is added after a colon. */
  paramMissing: (field: string) =>
    new PopError(
      'InvalidParam.ParamMissing',
      400,
      `Please check if there is param empty in your imput. (${field})`,
    ),
  invalidBiz: () => new PopError('InvalidParam.InvalidBiz', 400, 'The biz is not valid.'),
  noPermission: (why: string) =>
    new PopError('Error.NoPermissionAccess', 403, `No permission to access our service. (${why})`),
  imagePattern: (field: string, why: string) =>
    new PopError('InvalidParam.ImageValuePatternError', 400, `${field}: ${why}`),
  /** chosen */
  jsonFormat: (field: string) =>
    new PopError('InvalidParam.JsonFormatError', 400, `${field} must be a JSON object.`),
  /** chosen */
  imageTooLarge: (field: string, limit: number) =>
    new PopError('InvalidParam.ImageTooLarge', 400, `${field}: the image exceeds ${limit} bytes.`),
  /** chosen */
  materialType: (field: string) =>
    new PopError('InvalidParam.MaterialTypeInvalid', 400, `${field}: unknown MaterialType.`),
  /** chosen */
  tokenInvalid: () =>
    new PopError('InvalidParam.VerifyTokenInvalid', 400, 'The VerifyToken is not valid.'),
  /** chosen */
  tokenExpired: () =>
    new PopError('InvalidParam.VerifyTokenExpired', 400, 'The VerifyToken has expired.'),
} as const;
