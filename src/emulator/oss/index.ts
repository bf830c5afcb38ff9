/**
 * The OSS emulator: a local stand-in for `<bucket>.oss-<region>.aliyuncs.com` serving PutObject,
 * GetObject, HeadObject, DeleteObject, DeleteMultipleObjects and ListObjectsV2 with signature V1
 * and V4 (`OSS4-HMAC-SHA256`, `oss-signature-v4.ts`), STS security tokens and the OSS error XML,
 * for the real ali-oss client pointed at `endpoint: emulator.url`.
 *
 * Per request: bucket and key from the Host or the path → bucket exists → key valid (or empty, for
 * a GET of the bucket: ListObjectsV2, or a `POST /?delete`: DeleteMultipleObjects) → signature and
 * credential checks (`oss-request.ts`) → sub-resources → upload or delete headers — all before the
 * body is read — then fault injection, then the operation. Any other POST (PostObject,
 * AppendObject) answers MethodNotAllowed.
 *
 * PutObject honours `x-oss-forbid-overwrite: true` (FileAlreadyExists 409 over an existing
 * object, checked and written as one step per key) and keeps `x-oss-server-side-encryption`
 * (AES256, KMS or SM4), echoing it on the PUT, and on every GET and HEAD of the object.
 * ListObjectsV2 is in `oss-list.ts`, DeleteMultipleObjects in `oss-delete.ts`; an STS credential
 * scoped to a path can do neither (their key, the empty one, lies outside the path), as the
 * Cloudauth lease's policy grants no listing.
 *
 * Keys are stricter than OSS's (see `objectKeyProblem`): no empty, `.` or `..` segments, no leading
 * or trailing `/`. With `dataDir`, a key that would need a file where a directory is (`a` next to
 * `a/b`) is refused with InvalidObjectName 400.
 */
import { setMaxListeners } from 'node:events';
import { createHash, randomUUID } from 'node:crypto';
import fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../../logger.js';
import { FaultInjector, injectedDelay, type FaultConfig } from '../faults.js';
import { ObjectStore, objectKeyProblem, type StoredObject } from './object-store.js';
import { checkDeleteHeaders, deleteMultipleObjects } from './oss-delete.js';
import { listBucketResultXml, parseListRequest, type ListRequest } from './oss-list.js';
import {
  ObjectPathConflictError,
  OssError,
  newOssRequestId,
  ossErrorXml,
  ossErrors,
} from './oss-errors.js';
import {
  DELETE_SUB_RESOURCES,
  LIST_SUB_RESOURCES,
  RESPONSE_HEADER_OVERRIDES,
  authenticate,
  checkSubResources,
  checkUploadHeaders,
  contentMd5Bytes,
  hostName,
  parseTarget,
  type UploadOptions,
} from './oss-request.js';
import { OSS_SUB_RESOURCES } from './oss-signature.js';

/** A credential the emulator accepts, looked up by AccessKeyId. */
export interface OssCredential {
  accessKeySecret: string;
  /** STS credentials only: requests must carry it in `x-oss-security-token`. */
  securityToken?: string;
  /** STS credentials only: the one bucket the credential may use. Default: any bucket. */
  bucket?: string;
  /** STS credentials only: the key prefix the credential may use, ending in `/`. Default: any key. */
  path?: string;
  /** ms since the epoch; from then on the credential is expired. Default: never. */
  expiresAt?: number;
}

/** Options of {@link startOssEmulator}. */
export interface OssEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Buckets that exist; any other answers NoSuchBucket 404. */
  buckets: string[];
  /** Looks up a credential by AccessKeyId: STS ones (from the Cloudauth emulator) carry securityToken, bucket, path and expiresAt; permanent ones only a secret (full access). */
  credentials: (accessKeyId: string) => OssCredential | undefined;
  /** Keep objects as files under this directory (dir/<bucket>/<key>) as well as in memory; default memory only. */
  dataDir?: string;
  /** Largest object accepted, in bytes; above it EntityTooLarge 400. Default 5 GiB (OSS PutObject). */
  maxObjectBytes?: number;
  /** Faults by operation name (`PutObject`, `GetObject`, `HeadObject`, `DeleteObject`, `DeleteMultipleObjects`, `ListObjectsV2`) or `*`. */
  faults?: FaultConfig;
  /** ms since the epoch; tests move it to expire credentials. Default Date.now. */
  clock?: () => number;
  logger?: Logger;
}

/** A running OSS emulator. */
export interface OssEmulator {
  /** `http://host:port`, the ali-oss `endpoint`. */
  readonly url: string;
  /** An object's bytes, read in process (the Cloudauth emulator serves materials with it). */
  getObject(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Replaces the fault config; throws a ZodError when it is invalid. */
  setFaults(config: FaultConfig): void;
  /** Calls by operation, then by outcome (`ok` or the OSS error code answered). */
  counters(): Record<string, Record<string, number>>;
  close(): Promise<void>;
}

/** OSS's PutObject ceiling: 5 GiB. */
export const DEFAULT_MAX_OBJECT_BYTES = 5 * 1024 ** 3;

/** Bucket names as ali-oss validates them. */
const BUCKET_NAME = /^[a-z0-9_][a-z0-9-_]{1,61}[a-z0-9_]$/;

/**
 * The object operation of each method; a GET of the bucket itself is ListObjectsV2, a
 * `POST /?delete` DeleteMultipleObjects.
 */
const OPERATIONS = {
  PUT: 'PutObject',
  GET: 'GetObject',
  HEAD: 'HeadObject',
  DELETE: 'DeleteObject',
} as const;
type Operation =
  (typeof OPERATIONS)[keyof typeof OPERATIONS] | 'ListObjectsV2' | 'DeleteMultipleObjects';

interface Call {
  /** Undefined for a method OSS objects do not support. */
  operation: Operation | undefined;
  bucket: string;
  key: string;
  pathStyleKey?: string;
  query: URLSearchParams;
  requestId: string;
  hostId: string;
  /** PutObject only. */
  upload?: UploadOptions;
  /** ListObjectsV2 only. */
  list?: ListRequest;
}

/** Starts the emulator on `host:port`. */
export async function startOssEmulator(options: OssEmulatorOptions): Promise<OssEmulator> {
  for (const bucket of options.buckets) {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`invalid bucket name ${JSON.stringify(bucket)}`);
  }
  const buckets = new Set(options.buckets);
  const clock = options.clock ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const faults = new FaultInjector({ clock });
  if (options.faults) faults.set(options.faults);
  const store = new ObjectStore(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const calls = new WeakMap<FastifyRequest, Call>();
  const closing = new AbortController();
  // Every injected delay listens for close: thousands may be pending at once.
  setMaxListeners(0, closing.signal);

  const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
    const call = calls.get(req);
    const error = toOssError(err);
    if (!(err instanceof OssError) && error.code === 'InternalError' && !closing.signal.aborted) {
      req.log.error({ err }, 'OSS emulator operation failed');
    }
    faults.count(
      call?.operation ?? OPERATIONS[req.method as keyof typeof OPERATIONS] ?? req.method,
      error.code,
    );
    return sendError(
      reply,
      req.method,
      error,
      call?.requestId ?? newOssRequestId(),
      call?.hostId ?? hostName(req.headers.host),
    );
  };
  const toOssError = (err: unknown): OssError => {
    if (err instanceof OssError) return err;
    if (err instanceof ObjectPathConflictError) {
      return ossErrors.invalidObjectName(`${err.message} in the emulator's dataDir`);
    }
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return ossErrors.entityTooLarge(maxObjectBytes);
    if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return ossErrors.incompleteBody();
    if (code === 'FST_ERR_BAD_URL') {
      return ossErrors.invalidObjectName('the URL path is not valid percent-encoding');
    }
    return ossErrors.internal();
  };

  const logger: FastifyBaseLogger | undefined = options.logger?.child({
    component: 'oss-emulator',
  });
  const app = fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: maxObjectBytes,
    exposeHeadRoutes: false,
    genReqId: () => randomUUID(),
    frameworkErrors: (error, req, reply) => {
      void fail(req, reply, error);
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxObjectBytes }, (_r, b, d) =>
    d(null, b),
  );
  app.setErrorHandler((error, req, reply) => fail(req, reply, error));

  app.addHook('onRequest', async (req, reply) => {
    const call: Call = {
      operation: OPERATIONS[req.method as keyof typeof OPERATIONS],
      bucket: '',
      key: '',
      query: new URLSearchParams(),
      requestId: newOssRequestId(),
      hostId: hostName(req.headers.host),
    };
    calls.set(req, call);
    try {
      if (call.operation === undefined && req.method !== 'POST') throw ossErrors.methodNotAllowed();
      Object.assign(call, parseTarget(req.url, req.headers.host));
      if (req.method === 'POST') {
        if (!call.query.has('delete')) throw ossErrors.methodNotAllowed();
        call.operation = 'DeleteMultipleObjects';
      }
      if (!buckets.has(call.bucket)) throw ossErrors.noSuchBucket(call.bucket);
      // Either reading may be meant (see OssTarget.pathStyleKey); the signature tells which.
      const onBucket = req.method === 'GET' || req.method === 'POST';
      const usable = (key: string) =>
        objectKeyProblem(key) === undefined || (onBucket && key === '');
      if (!usable(call.key) && (call.pathStyleKey === undefined || !usable(call.pathStyleKey))) {
        throw ossErrors.invalidObjectName(objectKeyProblem(call.key) ?? 'invalid key');
      }
      // Counted as a listing if it fails before the signature tells; the signature decides.
      if (req.method === 'GET' && (call.key === '' || call.pathStyleKey === '')) {
        call.operation = 'ListObjectsV2';
      }
      call.key = authenticate(
        { method: req.method, headers: req.headers, target: call },
        options.credentials,
        clock(),
      ).key;
      if (req.method === 'GET') call.operation = call.key === '' ? 'ListObjectsV2' : 'GetObject';
      if (call.operation === 'ListObjectsV2') {
        checkSubResources(call.query, OSS_SUB_RESOURCES, LIST_SUB_RESOURCES);
        call.list = parseListRequest(call.query);
        return;
      }
      if (call.operation === 'DeleteMultipleObjects') {
        if (call.key !== '') throw ossErrors.methodNotAllowed();
        checkSubResources(call.query, OSS_SUB_RESOURCES, DELETE_SUB_RESOURCES);
        checkDeleteHeaders(req.headers);
        return;
      }
      const signedProblem = objectKeyProblem(call.key);
      if (signedProblem !== undefined) throw ossErrors.invalidObjectName(signedProblem);
      checkSubResources(call.query, OSS_SUB_RESOURCES);
      if (call.operation === 'PutObject') {
        call.upload = checkUploadHeaders(req.headers, maxObjectBytes);
      }
    } catch (err) {
      return fail(req, reply, err);
    }
  });

  app.all('/*', async (req, reply) => {
    const call = calls.get(req);
    const operation = call?.operation;
    if (call === undefined || operation === undefined) throw new Error('request was not admitted');
    try {
      const decision = faults.decide(operation);
      if (decision.delayMs > 0) await injectedDelay(decision.delayMs, closing.signal);
      switch (decision.kind) {
        case 'internal':
        case 'hang':
          throw ossErrors.internal();
        case 'throttle-user':
        case 'throttle-qps':
          throw ossErrors.throttled();
        // a lost answer is not emulated for OSS (a repeated upload of one object is harmless)
        case 'lose-answer':
        case 'pass':
          break;
      }
      reply.header('x-oss-request-id', call.requestId).header('server', 'AliyunOSS');
      switch (operation) {
        case 'PutObject':
          await putObject(req, reply, call);
          break;
        case 'GetObject':
        case 'HeadObject':
          await getObject(reply, call, operation);
          break;
        case 'DeleteObject':
          await store.delete(call.bucket, call.key);
          reply.code(204).send();
          break;
        case 'ListObjectsV2':
          await listObjects(reply, call);
          break;
        case 'DeleteMultipleObjects':
          await deleteObjects(req, reply, call);
          break;
      }
      faults.count(operation, 'ok');
      return reply;
    } catch (err) {
      return fail(req, reply, err);
    }
  });

  const putObject = async (req: FastifyRequest, reply: FastifyReply, call: Call) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (body.length > maxObjectBytes) throw ossErrors.entityTooLarge(maxObjectBytes);
    const md5 = createHash('md5').update(body).digest();
    const declared = req.headers['content-md5'];
    if (typeof declared === 'string') {
      const expected = contentMd5Bytes(declared);
      if (expected === undefined) throw ossErrors.invalidDigest();
      if (!expected.equals(md5)) throw ossErrors.digestMismatch();
    }
    const contentType = req.headers['content-type'];
    const sse = call.upload?.serverSideEncryption;
    const object: StoredObject = {
      body,
      contentType:
        contentType === undefined || contentType === '' ? 'application/octet-stream' : contentType,
      md5Hex: md5.toString('hex').toUpperCase(),
      lastModified: clock(),
      ...(sse === undefined ? {} : { serverSideEncryption: sse }),
    };
    const overwrite = call.upload?.forbidOverwrite !== true;
    if (!(await store.put(call.bucket, call.key, object, { overwrite }))) {
      throw ossErrors.fileAlreadyExists();
    }
    if (sse !== undefined) reply.header('x-oss-server-side-encryption', sse);
    reply
      .code(200)
      .header('etag', `"${object.md5Hex}"`)
      .header('content-md5', md5.toString('base64'))
      .send();
  };

  const listObjects = async (reply: FastifyReply, call: Call) => {
    const request = call.list ?? parseListRequest(call.query);
    const page = await store.list(call.bucket, request.query);
    reply
      .code(200)
      .header('content-type', 'application/xml')
      .send(listBucketResultXml(call.bucket, request, page));
  };

  const deleteObjects = async (req: FastifyRequest, reply: FastifyReply, call: Call) => {
    const xml = await deleteMultipleObjects(store, call.bucket, {
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      contentMd5: String(req.headers['content-md5']),
      query: call.query,
    });
    if (xml === undefined) return reply.code(200).send();
    return reply.code(200).header('content-type', 'application/xml').send(xml);
  };

  const getObject = async (reply: FastifyReply, call: Call, operation: Operation) => {
    const object = await store.get(call.bucket, call.key);
    if (object === undefined) throw ossErrors.noSuchKey(call.key);
    reply
      .code(200)
      .header('content-type', object.contentType)
      .header('content-length', String(object.body.length))
      .header('etag', `"${object.md5Hex}"`)
      .header('last-modified', new Date(object.lastModified).toUTCString())
      .header('x-oss-object-type', 'Normal')
      .header('x-oss-storage-class', 'Standard');
    if (object.serverSideEncryption !== undefined) {
      reply.header('x-oss-server-side-encryption', object.serverSideEncryption);
    }
    if (operation === 'HeadObject') return reply.send();
    for (const [param, name] of Object.entries(RESPONSE_HEADER_OVERRIDES)) {
      const value = call.query.get(param);
      if (value !== null) reply.header(name, value);
    }
    return reply.send(object.body);
  };

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('OSS emulator did not bind a TCP port');
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    getObject: async (bucket, key) => {
      if (!buckets.has(bucket) || objectKeyProblem(key) !== undefined) return undefined;
      return (await store.get(bucket, key))?.body;
    },
    setFaults: (config) => faults.set(config),
    counters: () => faults.counters(),
    close: async () => {
      closing.abort();
      await app.close();
    },
  };
}

function sendError(
  reply: FastifyReply,
  method: string,
  error: OssError,
  requestId: string,
  hostId: string,
): FastifyReply {
  const xml = ossErrorXml(error, requestId, hostId);
  reply
    .code(error.status)
    .header('x-oss-request-id', requestId)
    .header('server', 'AliyunOSS')
    .header('content-type', 'application/xml');
  if (error.ec !== undefined) reply.header('x-oss-ec', error.ec);
  if (method === 'HEAD') {
    return reply.header('x-oss-err', Buffer.from(xml, 'utf8').toString('base64')).send();
  }
  return reply.send(xml);
}
