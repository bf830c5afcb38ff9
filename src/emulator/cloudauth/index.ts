/**
 * The Cloudauth emulator: a local stand-in for `cloudauth.aliyuncs.com`, API 2018-09-16 and,
 * on the same gateway, the 2019-03-07 financial-grade and information-check actions.
 * `startCloudauthEmulator({ port: 0 })` in process, or `npm run emulator`.
 *
 * Routes: `GET|POST /` the POP RPC gateway (both versions); `GET|POST /h5/verify` the H5 page; `GET|POST
 * /face-verify/:token` the page behind InitFaceVerify's CertifyUrl; `GET /materials/:id` GetMaterials
 * images; `/__admin/*` faults, counters, the emulator's own ticket records and the InitFaceVerify
 * callback deliveries (loopback tooling, no auth).
 */
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Scheme } from '../../config.js';
import { CLOUDAUTH_API_VERSION } from '../../adapters/cloudauth/types.js';
import type { Logger } from '../../logger.js';
import { FaultInjector, type FaultConfig } from '../faults.js';
import { registerPopGateway, type PopAction } from '../pop/gateway.js';
import { cloudauthErrors } from './cloudauth-errors.js';
import { cloudauthActions } from './actions.js';
import { FACE_VERIFY_API_VERSION } from './face-verify-codes.js';
import { faceVerifyActions } from './face-verify-actions.js';
import { BilledCalls, FaceVerifyStore } from './face-verify-store.js';
import {
  CallbackSender,
  type CallbackDelivery,
  type CallbackOptions,
} from './face-verify-callback.js';
import { registerFaceVerifyPage } from './face-verify-page.js';
import { registerAdminRoutes } from './admin.js';
import { opsRoutes, type OpsRoutesOptions } from '../../api/ops-routes.js';
import { registerH5Page } from './h5-page.js';
import { MaterialLinkStore, type OssReader } from './material-links.js';
import { EmulatorRegistry, type StsCredential } from './registry.js';

/** Largest POP request body, in bytes (spec §1.4: 8 MB per request). */
export const BODY_LIMIT = 8 * 1024 * 1024;

export interface CloudauthEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Base of `CloudauthPageUrl` and material links. Default: the listening URL. */
  publicUrl?: string;
  /** AccessKeyId → AccessKeySecret. */
  accessKeys: Record<string, string>;
  /** Registered Biz scenarios → scheme. */
  biz: Record<string, Scheme>;
  /** `VerifyToken.DurationSeconds`. Default 1800. */
  tokenSeconds?: number;
  /** STS credential lifetime. Default 1800. */
  stsSeconds?: number;
  /** `StsToken.EndPoint`. Default http://127.0.0.1:8788. */
  ossEndpoint?: string;
  /** `StsToken.BucketName`. Default cloudauth-emulator. */
  ossBucket?: string;
  /** Names judged "not passed". */
  rejectNames?: readonly string[];
  /** Names kept "under review" for `reviewMs`, then passed. */
  reviewNames?: readonly string[];
  /** Default 3000. */
  reviewMs?: number;
  faults?: FaultConfig;
  /** Serve `/__admin/*`. Default true. */
  adminEnabled?: boolean;
  /**
   * AccessKeyIds that authenticate but may not use Cloudauth (a RAM user without the policy, an
   * account without the service): every action answers `Error.NoPermissionAccess` 403.
   */
  deniedAccessKeys?: readonly string[];
  /**
   * 2019-03-07 SceneIds (console scenes); others answer Code 404. Default: any SceneId is
   * accepted, since the emulator has no console.
   */
  sceneIds?: readonly string[];
  /** Shared with an OSS emulator that authenticates the STS credentials issued here. */
  registry?: EmulatorRegistry;
  /** Reads `oss://` materials (the OSS emulator), for verdicts and GetMaterials links. */
  readOss?: OssReader;
  /** InitFaceVerify callback retries (spec §9: 3 attempts, 1 s apart). */
  faceVerifyCallback?: CallbackOptions;
  /** ms since the epoch; tests move it to expire tokens. */
  clock?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Serve `/healthz`, `/readyz` and `/metrics` too (the `emulator` role's probes). */
  ops?: OpsRoutesOptions;
}

export interface CloudauthEmulator {
  /** `http://host:port`, the POP endpoint. */
  readonly url: string;
  readonly registry: EmulatorRegistry;
  /** Replaces the fault config; throws a ZodError when it is invalid. */
  setFaults(config: FaultConfig): void;
  counters(): Record<string, Record<string, number>>;
  resetCounters(): void;
  /** An STS credential this emulator issued (the OSS emulator authenticates with it). */
  stsCredential(accessKeyId: string): StsCredential | undefined;
  /** Lets GetMaterials links serve `oss://` materials. */
  attachOssReader(reader: OssReader): void;
  /** Every attempt to deliver an InitFaceVerify callback, oldest first (no URL, no token). */
  faceVerifyCallbacks(): CallbackDelivery[];
  close(): Promise<void>;
}

export async function startCloudauthEmulator(
  options: CloudauthEmulatorOptions,
): Promise<CloudauthEmulator> {
  const clock = options.clock ?? Date.now;
  const host = options.host ?? '127.0.0.1';
  const faults = new FaultInjector({
    clock,
    ...(options.random ? { random: options.random } : {}),
  });
  if (options.faults) faults.set(options.faults);
  const registry = options.registry ?? new EmulatorRegistry();
  const closing = new AbortController();
  // Every injected delay listens for close: thousands may be pending at once.
  setMaxListeners(0, closing.signal);
  let publicUrl = options.publicUrl ?? '';
  const links = new MaterialLinkStore(() => publicUrl, clock, options.readOss);
  const rules = {
    rejectNames: options.rejectNames ?? [],
    reviewNames: options.reviewNames ?? [],
    reviewMs: options.reviewMs ?? 3000,
    readOss: () => links.readOss,
  };

  const logger: FastifyBaseLogger | undefined = options.logger?.child({
    component: 'cloudauth-emulator',
  });
  const app = fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const faceVerifyStore = new FaceVerifyStore();
  const billed = new BilledCalls();
  const callbacks = new CallbackSender(options.faceVerifyCallback ?? {}, closing.signal, clock);

  await app.register((gateway, _opts, done) => {
    registerPopGateway(gateway, {
      version: CLOUDAUTH_API_VERSION,
      actions: guardPermission(
        options.deniedAccessKeys ?? [],
        cloudauthActions(
          registry,
          {
            ...rules,
            biz: options.biz,
            tokenSeconds: options.tokenSeconds ?? 1800,
            stsSeconds: options.stsSeconds ?? 1800,
            ossEndpoint: options.ossEndpoint ?? 'http://127.0.0.1:8788',
            ossBucket: options.ossBucket ?? 'cloudauth-emulator',
            publicUrl: () => publicUrl,
            clock,
          },
          links,
        ),
      ),
      moreVersions: {
        [FACE_VERIFY_API_VERSION]: faceVerifyActions(
          faceVerifyStore,
          {
            ...rules,
            ...(options.sceneIds ? { sceneIds: options.sceneIds } : {}),
            deniedAccessKeys: options.deniedAccessKeys ?? [],
            publicUrl: () => publicUrl,
            clock,
          },
          billed,
        ),
      },
      secretOf: (id) =>
        Object.hasOwn(options.accessKeys, id) ? options.accessKeys[id] : undefined,
      faults,
      clock,
      hostId: 'cloudauth.aliyuncs.com',
      bodyLimit: BODY_LIMIT,
      signal: closing.signal,
    });
    done();
  });
  registerH5Page(app, registry, { ...rules, clock });
  registerFaceVerifyPage(app, faceVerifyStore, { ...rules, clock, callbacks });
  links.register(app);
  if (options.adminEnabled ?? true) {
    registerAdminRoutes(app, { faults, registry, clock });
    callbacks.registerAdmin(app);
    // what a bill would show of the financial-grade calls billed per call, by order or identity
    app.get('/__admin/face-verify/billed', () => billed.summary());
    app.get<{ Params: { outerOrderNo: string } }>(
      '/__admin/face-verify/billed/:outerOrderNo',
      (req) => ({ ContrastFaceVerify: billed.ofOrder(req.params.outerOrderNo) }),
    );
    app.delete('/__admin/face-verify/billed', (_req, reply) => {
      billed.clear();
      return reply.code(204).send();
    });
  }
  if (options.ops) await app.register(opsRoutes, options.ops);

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string')
    throw new Error('emulator did not bind a TCP port');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  if (publicUrl === '') publicUrl = url;

  return {
    url,
    registry,
    setFaults: (config) => faults.set(config),
    counters: () => faults.counters(),
    resetCounters: () => faults.resetCounters(),
    stsCredential: (id) => registry.stsCredential(id),
    attachOssReader: (reader) => {
      links.readOss = reader;
    },
    faceVerifyCallbacks: () => callbacks.deliveries(),
    close: async () => {
      closing.abort();
      await app.close();
    },
  };
}

function guardPermission(
  denied: readonly string[],
  actions: Record<string, PopAction>,
): Record<string, PopAction> {
  if (denied.length === 0) return actions;
  const guarded: Record<string, PopAction> = {};
  for (const [name, action] of Object.entries(actions)) {
    guarded[name] = (call) => {
      if (denied.includes(call.accessKeyId)) {
        throw cloudauthErrors.noPermission('the access key may not use Cloudauth');
      }
      return action(call);
    };
  }
  return guarded;
}
