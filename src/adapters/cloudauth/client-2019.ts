/**
 * The typed Cloudauth client for API 2019-03-07 (financial-grade face verification and the ID
 * check) over the official SDK `@alicloud/cloudauth20190307`, which signs with V3
 * (`ACS3-HMAC-SHA256`) by default (spec `cloudauth-2019.md` §3, §11).
 *
 * SDK traps handled here: it throws only for HTTP ≥ 400, so a business refusal (body `Code` other
 * than `"200"`) arrives as a resolved response and is turned into an error here; its errors carry
 * the gateway's message (with the V3 string to sign) and the request URL, so they never leave
 * this file as they are (`error-table-2019.ts` rebuilds them); it retries nothing unless told.
 *
 * Every call is one client span `Cloudauth/<Action>` (`src/ops/tracing.ts`): the action, its
 * outcome (`ok` or the error code), the body's `Code` of a refusal and the HTTP status; never a
 * request field (they hold the applicant's name, ID number and photo).
 */
import * as $Cloudauth from '@alicloud/cloudauth20190307';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import type { z } from 'zod';
import type { OrchestratorError } from '../../errors.js';
import { ConfigError, TransportError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Telemetry } from '../../ops/metrics.js';
import { ATTR, inProviderCallSpan } from '../../ops/tracing.js';
import { refusalError, sdkFailureError } from './error-table-2019.js';
import {
  contrastResultObject,
  describeResultObject,
  id2MetaResultObject,
  initResultObject,
  type Applicant,
  CLOUDAUTH_2019_API_VERSION,
  type Cloudauth2019Action,
  type ContrastFaceVerifyInput,
  type ContrastFaceVerifyResult,
  type DescribeFaceVerifyInput,
  type DescribeFaceVerifyResult,
  type FacePhotoSource,
  type Id2MetaVerifyInput,
  type Id2MetaVerifyResult,
  type InitFaceVerifyInput,
  type InitFaceVerifyResult,
} from './types-2019.js';
import { SdkClientClass, type SdkClient } from './sdk-2019.js';

/** Dependencies of {@link Cloudauth2019Client}. */
export interface Cloudauth2019ClientDeps {
  /** Endpoint with scheme, e.g. `https://cloudauth.cn-shanghai.aliyuncs.com` or an emulator's URL. */
  endpoint: string;
  accessKeyId: string;
  /** Never logged, never part of an error. */
  accessKeySecret: string;
  /** STS SecurityToken when the credentials are temporary. */
  securityToken?: string | undefined;
  /** Per-request connect timeout and read timeout, in ms. */
  timeoutMs: number;
  /** Unmapped provider codes are logged at warn; other failures at debug. */
  logger?: Logger;
  /** Counts and times every call (`provider_calls_total`, `provider_call_duration_seconds`). */
  telemetry?: Telemetry | undefined;
}

/** The SDK's answer, as far as this client reads it. */
interface SdkAnswer {
  statusCode?: number | undefined;
  body?: { code?: unknown; message?: unknown; requestId?: unknown; resultObject?: unknown };
}

const CERT_TYPE = 'IDENTITY_CARD';
const OUTER_ORDER_NO = /^[A-Za-z0-9]{1,32}$/;

/** Refuses an empty required field before any call is made; names the field, never the value. */
function required(fields: Record<string, string | undefined>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ValidationError(field, 'is required');
    }
  }
}

function checkScene(sceneId: number): void {
  if (!Number.isSafeInteger(sceneId) || sceneId <= 0) {
    throw new ValidationError('sceneId', 'must be a positive integer');
  }
}

function checkOrderNo(outerOrderNo: string): void {
  if (!OUTER_ORDER_NO.test(outerOrderNo)) {
    throw new ValidationError('outerOrderNo', 'must be 1 to 32 letters or digits');
  }
}

function checkApplicant(applicant: Applicant): void {
  required({ 'applicant.name': applicant.name, 'applicant.idNumber': applicant.idNumber });
}

/** The SDK request fields of one photo source; exactly one is sent (two → Code 420). */
function photoFields(photo: FacePhotoSource): Record<string, string> {
  switch (photo.kind) {
    case 'base64':
      required({ 'photo.data': photo.data });
      return { faceContrastPicture: photo.data };
    case 'url':
      required({ 'photo.url': photo.url });
      return { faceContrastPictureUrl: photo.url };
    case 'oss':
      required({ 'photo.bucket': photo.bucket, 'photo.object': photo.object });
      return { ossBucketName: photo.bucket, ossObjectName: photo.object };
    case 'certifyId':
      required({ 'photo.certifyId': photo.certifyId });
      return { certifyId: photo.certifyId };
  }
}

/** Drops undefined fields, which the SDK would otherwise send as they are. */
function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

function endpointParts(endpoint: string): { host: string; protocol: 'http' | 'https' } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError('Cloudauth 2019 endpoint must be a URL such as https://host[:port]');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/') {
    throw new ConfigError('Cloudauth 2019 endpoint must be http(s)://host[:port] without a path');
  }
  return { host: url.host, protocol: url.protocol === 'https:' ? 'https' : 'http' };
}

/**
 * Calls the 2019-03-07 actions and returns typed, validated results. Failures are
 * {@link OrchestratorError}s from the code tables; a verdict (passed or not) is a result. Every
 * method rejects (never throws), invalid input included (`ValidationError` naming the field).
 */
export class Cloudauth2019Client {
  readonly #sdk: SdkClient;
  readonly #logger: Logger | undefined;
  readonly #telemetry: Telemetry | undefined;

  constructor(deps: Cloudauth2019ClientDeps) {
    const { host, protocol } = endpointParts(deps.endpoint);
    if (!deps.accessKeyId || !deps.accessKeySecret) {
      throw new ConfigError('Cloudauth accessKeyId and accessKeySecret are required');
    }
    if (!Number.isInteger(deps.timeoutMs) || deps.timeoutMs <= 0) {
      throw new ConfigError('Cloudauth timeoutMs must be a positive integer');
    }
    this.#sdk = new SdkClientClass(
      new $OpenApiUtil.Config({
        accessKeyId: deps.accessKeyId,
        accessKeySecret: deps.accessKeySecret,
        ...(deps.securityToken ? { securityToken: deps.securityToken } : {}),
        endpoint: host,
        protocol,
        readTimeout: deps.timeoutMs,
        connectTimeout: deps.timeoutMs,
      }),
    );
    this.#logger = deps.logger;
    this.#telemetry = deps.telemetry;
  }

  /** Checks a name and ID number against the authority source (spec §7). */
  async id2MetaVerify(input: Id2MetaVerifyInput): Promise<Id2MetaVerifyResult> {
    required({ name: input.name, idNumber: input.idNumber });
    const request = new $Cloudauth.Id2MetaVerifyRequest({
      paramType: 'normal',
      userName: input.name,
      identifyNum: input.idNumber,
    });
    return await this.#call(
      'Id2MetaVerify',
      () => this.#sdk.id2MetaVerify(request),
      id2MetaResultObject,
      [input.name, input.idNumber],
    );
  }

  /** Server-only verification (`ID_MIN`): a face photo against the authority photo (spec §6). */
  async contrastFaceVerify(input: ContrastFaceVerifyInput): Promise<ContrastFaceVerifyResult> {
    checkScene(input.sceneId);
    checkOrderNo(input.outerOrderNo);
    checkApplicant(input.applicant);
    const request = new $Cloudauth.ContrastFaceVerifyRequest({
      sceneId: input.sceneId,
      outerOrderNo: input.outerOrderNo,
      productCode: 'ID_MIN',
      certType: CERT_TYPE,
      certName: input.applicant.name,
      certNo: input.applicant.idNumber,
      ...photoFields(input.photo),
      ...defined({ model: input.model, userId: input.userId }),
    });
    return await this.#call(
      'ContrastFaceVerify',
      () => this.#sdk.contrastFaceVerify(request),
      contrastResultObject,
      [input.applicant.name, input.applicant.idNumber],
    );
  }

  /** Starts a browser verification (`ID_PRO`): a CertifyId and the page URL (spec §4). */
  async initFaceVerify(input: InitFaceVerifyInput): Promise<InitFaceVerifyResult> {
    checkScene(input.sceneId);
    checkOrderNo(input.outerOrderNo);
    checkApplicant(input.applicant);
    required({ metaInfo: input.metaInfo, returnUrl: input.returnUrl });
    const request = new $Cloudauth.InitFaceVerifyRequest({
      sceneId: input.sceneId,
      outerOrderNo: input.outerOrderNo,
      productCode: 'ID_PRO',
      certType: CERT_TYPE,
      certName: input.applicant.name,
      certNo: input.applicant.idNumber,
      metaInfo: input.metaInfo,
      returnUrl: input.returnUrl,
      ...defined({
        callbackUrl: input.callbackUrl,
        callbackToken: input.callbackToken,
        model: input.model,
        certifyUrlType: input.certifyUrlType,
        certifyUrlStyle: input.certifyUrlStyle,
        userId: input.userId,
      }),
    });
    return this.#call('InitFaceVerify', () => this.#sdk.initFaceVerify(request), initResultObject, [
      input.applicant.name,
      input.applicant.idNumber,
    ]);
  }

  /**
   * The verdict of a verification (spec §5). Before the applicant finishes, fails with
   * `VERIFICATION_PENDING` (Code 424 or 403), retryable after `retryAfterMs`.
   */
  async describeFaceVerify(input: DescribeFaceVerifyInput): Promise<DescribeFaceVerifyResult> {
    checkScene(input.sceneId);
    required({ certifyId: input.certifyId });
    const request = new $Cloudauth.DescribeFaceVerifyRequest({
      sceneId: input.sceneId,
      certifyId: input.certifyId,
    });
    const result = await this.#call(
      'DescribeFaceVerify',
      () => this.#sdk.describeFaceVerify(request),
      describeResultObject,
      [],
    );
    return { ...result, certifyId: input.certifyId };
  }

  /**
   * Runs one SDK call ({@link #send}) in its client span: the outcome, the provider's code and
   * the HTTP status are recorded on it; nothing of the request.
   */
  async #call<T>(
    action: Cloudauth2019Action,
    send: () => Promise<SdkAnswer>,
    schema: z.ZodType<T, unknown>,
    personal: readonly string[],
  ): Promise<T & { requestId: string }> {
    return inProviderCallSpan(action, CLOUDAUTH_2019_API_VERSION, (span) =>
      this.#send(
        action,
        async () => {
          const answer = await send();
          if (typeof answer.statusCode === 'number') {
            span.setAttribute(ATTR.httpStatus, answer.statusCode);
          }
          return answer;
        },
        schema,
        personal,
      ),
    );
  }

  /**
   * Runs one SDK call, timed and counted: a thrown SDK error or a refused body becomes a typed
   * error; a success `ResultObject` is checked by `schema`. `personal` are the values sent that
   * must not reappear in an error message.
   */
  async #send<T>(
    action: Cloudauth2019Action,
    send: () => Promise<SdkAnswer>,
    schema: z.ZodType<T, unknown>,
    personal: readonly string[],
  ): Promise<T & { requestId: string }> {
    const done = this.#telemetry?.timeProviderCall(action);
    let answer: SdkAnswer;
    try {
      answer = await send();
    } catch (err) {
      throw this.#failed(action, sdkFailureError(err, action), done);
    }
    const body = answer.body ?? {};
    if (String(body.code) !== '200') {
      throw this.#failed(action, refusalError(action, body, personal), done);
    }
    const requestId = typeof body.requestId === 'string' ? body.requestId : '';
    const parsed = schema.safeParse(body.resultObject);
    if (parsed.success) {
      done?.('ok');
      return { ...parsed.data, requestId };
    }
    const where = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join('.') || '(ResultObject)'}: ${i.code}`)
      .join('; ');
    const error = new TransportError(
      'PROVIDER_BAD_RESPONSE',
      `${action} failed: malformed success answer (${where})`,
      /^[\w.:-]{1,80}$/.test(requestId) ? { requestId } : {},
    );
    done?.(error.code);
    this.#logger?.warn({ err: error.toJSON(), action }, 'Cloudauth answered a malformed body');
    throw error;
  }

  #failed(
    action: Cloudauth2019Action,
    error: OrchestratorError,
    done: ((outcome: string) => void) | undefined,
  ): OrchestratorError {
    done?.(error.code);
    if (error.code === 'PROVIDER_UNKNOWN_CODE') {
      this.#logger?.warn(
        { err: error.toJSON(), action },
        'Cloudauth failure missing from the code table',
      );
    } else {
      this.#logger?.debug({ err: error.toJSON(), action }, 'Cloudauth call failed');
    }
    return error;
  }
}
