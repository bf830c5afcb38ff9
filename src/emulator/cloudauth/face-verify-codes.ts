/**
 * The body `Code`s of Cloudauth 2019-03-07 (financial-grade and information checks), spec §8.1 and
 * §7, with their message literals. These travel with HTTP 200 inside the envelope
 * `{RequestId, Code, Message}` (the status is NOT FOUND in the spec; 200 is its inference); the
 * gateway's own refusals (signature, key, throttling) stay HTTP 4xx/5xx as for 2018-09-16.
 */

/** API version of the financial-grade family. */
export const FACE_VERIFY_API_VERSION = '2019-03-07';

export const faceVerifyCodes = {
  '200': 'success',
  '400': '参数不能为空',
  '401': '参数非法',
  '402': '应用配置不存在',
  '403': '认证未完成',
  '404': '认证场景配置不存在',
  '405': '您的年龄未满14周岁，不允许使用此产品',
  '406': '无效的CertifyId',
  '410': '未开通服务',
  '411': 'RAM无权限',
  '412': '欠费中',
  '417': '无法使用刷脸服务',
  '418': '刷脸失败次数过多',
  '419': '传入图片不可用',
  '420': '数据重复',
  '421': '传入图片过大',
  '422': '下载图片超时',
  '423': '状态错误',
  '424': '身份认证记录不存在',
  '427': '业务策略限制',
  '500': '系统错误',
} as const;

export type FaceVerifyCode = keyof typeof faceVerifyCodes;

/**
 * A business refusal of a 2019-03-07 action. `field` names the parameter at fault; the message is
 * the literal, then the field in parentheses (as the 2018 emulator does), never a value.
 */
export class FaceVerifyRefusalError extends Error {
  constructor(
    readonly code: Exclude<FaceVerifyCode, '200'>,
    readonly field?: string,
  ) {
    super(field === undefined ? faceVerifyCodes[code] : `${faceVerifyCodes[code]} (${field})`);
    this.name = 'FaceVerifyRefusalError';
  }
}

/** The success envelope's fields besides `RequestId`. */
export function faceVerifyOk(resultObject: Record<string, string>): Record<string, unknown> {
  return { Code: '200', Message: faceVerifyCodes['200'], ResultObject: resultObject };
}

/** The refusal envelope: no `ResultObject` (spec §3, inferred). */
export function faceVerifyRefused(error: FaceVerifyRefusalError): Record<string, unknown> {
  return { Code: error.code, Message: error.message };
}
