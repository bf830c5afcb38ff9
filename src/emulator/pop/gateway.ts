/**
 * A POP RPC gateway in the manner of `*.aliyuncs.com`: GET (params in the query) and POST
 * (form body, plus query), SignatureVersion 1.0 (HMAC-SHA1) or V3 (`ACS3-HMAC-SHA256`), common
 * parameter checks, the ±15-minute Timestamp window, nonce replay, Version and Action dispatch,
 * fault injection, and answers in JSON or XML with a `RequestId`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { injectedDelay, type FaultInjector } from '../faults.js';
import { NonceCache } from './nonce-cache.js';
import { PopError, gatewayErrors } from './pop-error.js';
import { signV1, stringToSignV1 } from './signature-v1.js';
import { isV3, verifyV3 } from './signature-v3.js';
import { toXml } from './xml.js';

/** What an action sees of one authenticated call. */
export interface PopCall {
  action: string;
  /** Query and form-body parameters merged (body wins), decoded; `Signature` removed. */
  params: Record<string, string>;
  method: 'GET' | 'POST';
  accessKeyId: string;
  requestId: string;
}

/** An action answers the body fields besides `RequestId`, or throws a {@link PopError}. */
export type PopAction = (
  call: PopCall,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface PopGatewayOptions {
  /** The API version served, e.g. `2018-09-16`. */
  version: string;
  actions: Record<string, PopAction>;
  /**
   * Further API versions served on the same port, by version (e.g. `2019-03-07`): a call is
   * dispatched on its `x-acs-version` header (V3) or `Version` parameter (V1).
   */
  moreVersions?: Readonly<Record<string, Record<string, PopAction>>>;
  /** AccessKeySecret of an AccessKeyId, or undefined when unknown. */
  secretOf: (accessKeyId: string) => string | undefined;
  faults: FaultInjector;
  /** ms since the epoch. */
  clock: () => number;
  /** `HostId` in error bodies, e.g. `cloudauth.aliyuncs.com`. */
  hostId: string;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Aborted on close: ends hangs and injected latency at once. */
  signal: AbortSignal;
}

/** Allowed clock skew between the client's Timestamp and the gateway's clock. */
export const TIMESTAMP_WINDOW_MS = 15 * 60 * 1000;

type Format = 'JSON' | 'XML';

/** Registers `GET /` and `POST /` on `app` (use inside an encapsulated plugin). */
export function registerPopGateway(app: FastifyInstance, options: PopGatewayOptions): void {
  const nonces = new NonceCache(2 * TIMESTAMP_WINDOW_MS);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_r, b, d) =>
    d(null, b),
  );

  app.setErrorHandler((error: { code?: string; statusCode?: number }, _req, reply) => {
    const popError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? gatewayErrors.bodyTooLarge(options.bodyLimit)
        : gatewayErrors.internal();
    return sendError(reply, popError, randomUUID().toUpperCase(), 'JSON', options.hostId);
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const arrived = performance.now();
    const requestId = randomUUID().toUpperCase();
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const [path = '/', rawQuery = ''] = req.url.split(/\?(.*)/s);
    const query = decodeForm(rawQuery);
    const formBody = isForm(req.headers['content-type']) ? decodeForm(body.toString('utf8')) : {};
    const params: Record<string, string> = { ...query, ...formBody };
    // the call's answer time is kept against its ticket (or the token standing for one), once
    // the call is signed and its action known: an anonymous caller cannot fill the table
    let timed = false;
    const answered = () => {
      const key = timed ? answerKeyOf(params) : undefined;
      if (key !== undefined) options.faults.time(key, performance.now() - arrived);
    };
    const v3 = isV3(req.headers);
    let format: Format = params.Format?.toUpperCase() === 'XML' ? 'XML' : 'JSON';
    if (!v3 && params.Format === undefined) format = 'XML';
    let action = v3 ? firstHeader(req.headers['x-acs-action']) : params.Action;

    try {
      if (req.method !== 'GET' && req.method !== 'POST') throw gatewayErrors.unsupportedMethod();
      let accessKeyId: string;
      let version: string | undefined;
      let nonce: string;
      let timestamp: number;
      if (v3) {
        const verified = verifyV3(
          { method: req.method, path, query, headers: req.headers, body },
          options.secretOf,
        );
        accessKeyId = verified.accessKeyId;
        action = verified.action;
        version = verified.version;
        nonce = verified.nonce;
        timestamp = Date.parse(verified.date);
        if (Number.isNaN(timestamp)) throw gatewayErrors.illegalTimestamp();
      } else {
        const checked = verifyV1(req.method, params, options);
        accessKeyId = checked.accessKeyId;
        version = params.Version;
        nonce = checked.nonce;
        timestamp = checked.timestamp;
      }
      const now = options.clock();
      if (Math.abs(now - timestamp) > TIMESTAMP_WINDOW_MS) throw gatewayErrors.timestampExpired();
      if (!nonces.remember(accessKeyId, nonce, now)) throw gatewayErrors.nonceUsed();
      const run = actionOf(options, version, action);
      if (action === undefined || run === undefined) throw gatewayErrors.unknownAction();
      timed = true;

      const decision = options.faults.decide(action);
      if (decision.delayMs > 0) await injectedDelay(decision.delayMs, options.signal);
      switch (decision.kind) {
        case 'internal':
        case 'hang':
          throw gatewayErrors.internal();
        case 'throttle-user':
          throw gatewayErrors.throttlingUser();
        case 'throttle-qps':
          throw gatewayErrors.throttling();
        case 'pass':
        case 'lose-answer':
          break;
      }
      delete params.Signature;
      const result = await run({ action, params, method: req.method, accessKeyId, requestId });
      options.faults.count(action, 'ok');
      answered();
      if (decision.kind === 'lose-answer') {
        // carried out, then the connection is cut before a byte of the answer
        reply.hijack();
        req.raw.socket.destroy();
        return reply;
      }
      const out = { RequestId: requestId, ...result };
      if (format === 'XML') {
        return reply
          .header('content-type', 'text/xml;charset=utf-8')
          .send(toXml(`${action}Response`, out));
      }
      return reply.header('content-type', 'application/json;charset=utf-8').send(out);
    } catch (err) {
      const popError = err instanceof PopError ? err : gatewayErrors.internal();
      if (!(err instanceof PopError) && !options.signal.aborted)
        req.log.error({ err }, 'action failed');
      options.faults.count(action ?? '(none)', popError.code);
      answered();
      return sendError(reply, popError, requestId, format, options.hostId);
    }
  };

  app.get('/', handler);
  app.post('/', handler);
}

/**
 * The action a call names in the version it names. A version not served, or one served without
 * this action while another version has it (a 2018-09-16 action called as 2019-03-07), is
 * `InvalidVersion`; an action no version has is left to `InvalidAction.NotFound`.
 */
function actionOf(
  options: PopGatewayOptions,
  version: string | undefined,
  action: string | undefined,
): PopAction | undefined {
  const byVersion: Record<string, Record<string, PopAction>> = {
    ...options.moreVersions,
    [options.version]: options.actions,
  };
  const has = (actions: Record<string, PopAction>) =>
    action !== undefined && Object.hasOwn(actions, action);
  const actions =
    version !== undefined && Object.hasOwn(byVersion, version) ? byVersion[version] : undefined;
  if (actions !== undefined && has(actions)) return actions[action as string];
  if (actions === undefined || Object.values(byVersion).some(has)) {
    throw gatewayErrors.invalidVersion();
  }
  return undefined;
}

/** Longest key an answer time is kept against (a TicketId is at most 64 characters). */
const MAX_ANSWER_KEY = 200;

/** What a call's answer time is kept against: its TicketId, else its VerifyToken. */
function answerKeyOf(params: Record<string, string>): string | undefined {
  const key =
    params.TicketId !== undefined
      ? `${params.Biz ?? ''}/${params.TicketId}`
      : params.VerifyToken !== undefined
        ? `token:${params.VerifyToken}`
        : undefined;
  return key !== undefined && key.length <= MAX_ANSWER_KEY ? key : undefined;
}

function verifyV1(
  method: string,
  params: Record<string, string>,
  options: PopGatewayOptions,
): { accessKeyId: string; nonce: string; timestamp: number } {
  for (const name of ['Action', 'Version', 'AccessKeyId'] as const) {
    if (!params[name]) throw gatewayErrors.missingParameter(name);
  }
  if (!params.Signature) throw gatewayErrors.incompleteSignature();
  if (!params.SignatureMethod) throw gatewayErrors.missingParameter('SignatureMethod');
  if (params.SignatureMethod !== 'HMAC-SHA1' || (params.SignatureVersion ?? '1.0') !== '1.0') {
    throw gatewayErrors.unsupportedSignatureMethod();
  }
  if (!params.SignatureNonce) throw gatewayErrors.missingParameter('SignatureNonce');
  if (!params.Timestamp) throw gatewayErrors.illegalTimestamp();
  const timestamp = parseTimestamp(params.Timestamp);
  if (timestamp === undefined) throw gatewayErrors.illegalTimestamp();

  const accessKeyId = params.AccessKeyId as string;
  const secret = options.secretOf(accessKeyId);
  if (secret === undefined) throw gatewayErrors.accessKeyNotFound();
  const expected = signV1(secret, method, params);
  if (!constantTimeEqual(expected, params.Signature)) {
    throw gatewayErrors.signatureMismatch(stringToSignV1(method, params));
  }
  return { accessKeyId, nonce: params.SignatureNonce, timestamp };
}

/** ISO 8601 UTC as POP sends it: `YYYY-MM-DDThh:mm:ssZ` (fractions accepted). */
function parseTimestamp(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function sendError(
  reply: FastifyReply,
  error: PopError,
  requestId: string,
  format: Format,
  hostId: string,
) {
  const body = {
    RequestId: requestId,
    HostId: hostId,
    Code: error.code,
    Message: error.message,
    ...error.extra,
  };
  reply.code(error.status);
  if (format === 'XML') {
    return reply.header('content-type', 'text/xml;charset=utf-8').send(toXml('Error', body));
  }
  return reply.header('content-type', 'application/json;charset=utf-8').send(body);
}

function decodeForm(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === '') return out;
  for (const [k, v] of new URLSearchParams(s)) out[k] = v;
  return out;
}

function isForm(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
