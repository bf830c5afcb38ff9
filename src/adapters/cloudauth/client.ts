/**
 * The typed Cloudauth client (legacy API 2018-09-16) over `@alicloud/pop-core`'s RPCClient.
 *
 * pop-core traps handled here (spec §3): the legacy success `Code` is `"1"`, which pop-core would
 * throw on unless listed in `codes`; only the exact string `'POST'` puts the params in the body;
 * `undefined` and objects would be sent as `"undefined"` / `"[object Object]"`; `opts.headers`
 * would replace the default headers; HTTP status is never checked by pop-core, and its errors
 * carry the signed URL. Every failure leaves through `toOrchestratorError` (`error-table.ts`).
 *
 * Every call is one client span `Cloudauth/<Action>` (`src/ops/tracing.ts`): the action, its
 * outcome (`ok` or the error code), the provider's code and the HTTP status of a failure (pop-core
 * does not hand the status of a success over); never a request parameter.
 */
import http from 'node:http';
import https from 'node:https';
import RPCClient from '@alicloud/pop-core';
import type { z } from 'zod';
import { ConfigError, TransportError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Telemetry } from '../../ops/metrics.js';
import { inProviderCallSpan } from '../../ops/tracing.js';
import { toOrchestratorError } from './error-table.js';
import {
  CLOUDAUTH_API_VERSION,
  getMaterialsResponse,
  getStatusResponse,
  getVerifyTokenResponse,
  submitMaterialsResponse,
  submitVerificationResponse,
  type GetMaterialsResult,
  type GetStatusResult,
  type GetVerifyTokenInput,
  type GetVerifyTokenResult,
  type Material,
  type SubmitMaterialsInput,
  type SubmitMaterialsResult,
  type SubmitVerificationInput,
  type SubmitVerificationResult,
  type TicketRef,
} from './types.js';

/** Dependencies of {@link CloudauthClient}. */
export interface CloudauthClientDeps {
  /** POP endpoint with scheme, e.g. `https://cloudauth.aliyuncs.com` or an emulator's URL. */
  endpoint: string;
  accessKeyId: string;
  /** Never logged, never part of an error. */
  accessKeySecret: string;
  /** STS SecurityToken when the credentials are temporary. */
  securityToken?: string | undefined;
  /** Per-request timeout (connect and read), in ms. */
  timeoutMs: number;
  /** `RegionId` sent with every call. Default `cn-hangzhou`, the only region. */
  regionId?: string;
  /** Unmapped provider codes are logged at warn; other failures at debug. */
  logger?: Logger;
  /** Counts and times every call (`provider_calls_total`, `provider_call_duration_seconds`). */
  telemetry?: Telemetry | undefined;
}

/** The Cloudauth actions this client calls. */
export type CloudauthAction =
  'GetVerifyToken' | 'SubmitMaterials' | 'SubmitVerification' | 'GetStatus' | 'GetMaterials';

type Params = Record<string, string | number | readonly Record<string, string>[] | undefined>;

const LEGACY_SUCCESS_CODES = ['1', 1];

function jsonParam(v: Record<string, unknown> | string | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return JSON.stringify(v);
}

function materialParam(materials: readonly Material[]): Record<string, string>[] {
  return materials.map((m) => ({ MaterialType: m.type, Value: m.value }));
}

/** Refuses an empty required field before any call is made. */
function required(fields: Record<string, string>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ValidationError(field, 'is required');
    }
  }
}

function requiredMaterials(materials: readonly Material[]): void {
  if (materials.length === 0) throw new ValidationError('materials', 'at least one is required');
  materials.forEach((m, i) => {
    if (!m.type) throw new ValidationError(`materials[${i}].type`, 'is required');
    if (!m.value) throw new ValidationError(`materials[${i}].value`, 'is required');
  });
}

function definedParams(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Calls the Cloudauth legacy actions and returns typed, validated results. Failures are
 * {@link OrchestratorError}s from the code table; a verdict (StatusCode 2) is a result, not an error.
 * Holds a keep-alive agent: call {@link CloudauthClient.close} on shutdown.
 */
export class CloudauthClient {
  readonly #rpc: RPCClient;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #regionId: string;
  readonly #logger: Logger | undefined;
  readonly #telemetry: Telemetry | undefined;

  constructor(deps: CloudauthClientDeps) {
    if (!/^https?:\/\//.test(deps.endpoint)) {
      throw new ConfigError('Cloudauth endpoint must start with http:// or https://');
    }
    if (!deps.accessKeyId || !deps.accessKeySecret) {
      throw new ConfigError('Cloudauth accessKeyId and accessKeySecret are required');
    }
    if (!Number.isInteger(deps.timeoutMs) || deps.timeoutMs <= 0) {
      throw new ConfigError('Cloudauth timeoutMs must be a positive integer');
    }
    this.#rpc = new RPCClient({
      endpoint: deps.endpoint,
      apiVersion: CLOUDAUTH_API_VERSION,
      accessKeyId: deps.accessKeyId,
      accessKeySecret: deps.accessKeySecret,
      ...(deps.securityToken ? { securityToken: deps.securityToken } : {}),
      codes: LEGACY_SUCCESS_CODES,
    });
    const Agent = deps.endpoint.startsWith('https://') ? https.Agent : http.Agent;
    this.#agent = new Agent({ keepAlive: true, keepAliveMsecs: 3000 });
    this.#timeoutMs = deps.timeoutMs;
    this.#regionId = deps.regionId ?? 'cn-hangzhou';
    this.#logger = deps.logger;
    this.#telemetry = deps.telemetry;
  }

  /** Starts a verification: a VerifyToken, STS upload credentials and the H5 page URL. */
  getVerifyToken(input: GetVerifyTokenInput): Promise<GetVerifyTokenResult> {
    return this.#call(
      'GetVerifyToken',
      () => {
        required({ biz: input.biz, ticketId: input.ticketId });
      },
      'POST',
      {
        Biz: input.biz,
        TicketId: input.ticketId,
        Binding: input.binding === undefined ? undefined : JSON.stringify(input.binding),
        UserData: jsonParam(input.userData),
        VerifyConfigs: jsonParam(input.verifyConfigs),
      },
      getVerifyTokenResponse,
    );
  }

  /** Submits materials under a VerifyToken; answers the verdict so far. */
  submitMaterials(input: SubmitMaterialsInput): Promise<SubmitMaterialsResult> {
    return this.#call(
      'SubmitMaterials',
      () => {
        required({ verifyToken: input.verifyToken });
        requiredMaterials(input.materials);
      },
      'POST',
      { VerifyToken: input.verifyToken, Material: materialParam(input.materials) },
      submitMaterialsResponse,
    );
  }

  /** Pure-server verification (scheme RPMin): submits materials for a ticket, answers the verdict. */
  submitVerification(input: SubmitVerificationInput): Promise<SubmitVerificationResult> {
    return this.#call(
      'SubmitVerification',
      () => {
        required({ biz: input.biz, ticketId: input.ticketId });
        requiredMaterials(input.materials);
      },
      'POST',
      { Biz: input.biz, TicketId: input.ticketId, Material: materialParam(input.materials) },
      submitVerificationResponse,
    );
  }

  /** The ticket's current verdict and scores. */
  getStatus(input: TicketRef): Promise<GetStatusResult> {
    return this.#call(
      'GetStatus',
      () => {
        required({ biz: input.biz, ticketId: input.ticketId });
      },
      'GET',
      { Biz: input.biz, TicketId: input.ticketId },
      getStatusResponse,
    );
  }

  /** The materials the provider holds for a ticket (personal data; image URLs live one hour). */
  getMaterials(input: TicketRef): Promise<GetMaterialsResult> {
    return this.#call(
      'GetMaterials',
      () => {
        required({ biz: input.biz, ticketId: input.ticketId });
      },
      'GET',
      { Biz: input.biz, TicketId: input.ticketId },
      getMaterialsResponse,
    );
  }

  /** Releases the keep-alive connections. The client must not be used afterwards. */
  close(): void {
    this.#agent.destroy();
  }

  /** Checks the input, then makes one call ({@link #send}) in its client span. */
  async #call<T>(
    action: CloudauthAction,
    check: () => void,
    method: 'GET' | 'POST',
    params: Params,
    schema: z.ZodType<T, unknown>,
  ): Promise<T> {
    check();
    return inProviderCallSpan(action, CLOUDAUTH_API_VERSION, () =>
      this.#send(action, method, params, schema),
    );
  }

  /** One call, timed and counted; every failure an {@link OrchestratorError}. */
  async #send<T>(
    action: CloudauthAction,
    method: 'GET' | 'POST',
    params: Params,
    schema: z.ZodType<T, unknown>,
  ): Promise<T> {
    const done = this.#telemetry?.timeProviderCall(action);
    let body: unknown;
    try {
      body = await this.#rpc.request<unknown>(
        action,
        definedParams({ RegionId: this.#regionId, ...params }),
        { method, timeout: this.#timeoutMs, formatParams: false, agent: this.#agent },
      );
    } catch (err) {
      const mapped = toOrchestratorError(err, action);
      done?.(mapped.code);
      if (mapped.code === 'PROVIDER_UNKNOWN_CODE') {
        this.#logger?.warn(
          { err: mapped.toJSON(), action },
          'Cloudauth failure missing from the code table',
        );
      } else {
        this.#logger?.debug({ err: mapped.toJSON(), action }, 'Cloudauth call failed');
      }
      throw mapped;
    }
    const parsed = schema.safeParse(body);
    if (parsed.success) {
      done?.('ok');
      return parsed.data;
    }
    const requestId = (body as { RequestId?: unknown } | null)?.RequestId;
    const where = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.code}`)
      .join('; ');
    const error = new TransportError(
      'PROVIDER_BAD_RESPONSE',
      `${action} failed: malformed success answer (${where})`,
      typeof requestId === 'string' && /^[\w.:-]{1,80}$/.test(requestId) ? { requestId } : {},
    );
    done?.(error.code);
    this.#logger?.warn({ err: error.toJSON(), action }, 'Cloudauth answered a malformed body');
    throw error;
  }
}
