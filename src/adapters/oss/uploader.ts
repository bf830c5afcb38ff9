/**
 * Uploads materials to OSS with the STS credentials of a VerifyToken (ali-oss), under the token's
 * `Path`, content-addressed (`<Path><sha256>.<ext>`): a repeated upload after a crash writes the
 * same object again, harmlessly. Answers the `oss://<BucketName>:<key>` reference Cloudauth takes.
 *
 * Each upload is one client span `OSS/PutObject` (`src/ops/tracing.ts`) holding the byte size and
 * the outcome only: the bucket, the key (under the VerifyToken's path) and the endpoint are not
 * recorded.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import OSS from 'ali-oss';
import type { GetVerifyTokenResult } from '../cloudauth/types.js';
import type { ImageType } from '../../domain/binding.js';
import type { Logger } from '../../logger.js';
import type { Telemetry } from '../../ops/metrics.js';
import { ATTR, SpanKind, inSpan } from '../../ops/tracing.js';
import type { FittedImage } from './image-fit.js';
import { ossToOrchestratorError } from './oss-errors.js';

/** The STS part of a GetVerifyToken answer. */
export interface StsLease {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** OSS endpoint, with or without a scheme (without one, https is used). */
  endPoint: string;
  bucketName: string;
  /** Prefix the credentials may write under. */
  path: string;
}

/** The lease of a GetVerifyToken answer. */
export function stsLeaseOf(token: Pick<GetVerifyTokenResult, 'stsToken'>): StsLease {
  const s = token.stsToken;
  return {
    accessKeyId: s.accessKeyId,
    accessKeySecret: s.accessKeySecret,
    securityToken: s.token,
    endPoint: s.endPoint,
    bucketName: s.bucketName,
    path: s.path,
  };
}

/** How ali-oss signs OSS requests: `v4` (OSS4-HMAC-SHA256) or `v1` (`OSS <id>:<signature>`). */
export type OssSignatureVersion = 'v4' | 'v1';

/** The default region, ali-oss's own, in its `oss-<region id>` form. */
export const DEFAULT_OSS_REGION = 'oss-cn-hangzhou';

export interface OssMaterialUploaderDeps {
  /** Per-request timeout, in ms. */
  timeoutMs: number;
  /** Signature of the uploads (`OSS_SIGNATURE_VERSION`). Default `v4`. */
  signatureVersion?: OssSignatureVersion;
  /**
   * ali-oss region (`oss-<region id>`, `OSS_REGION`) for a lease whose endpoint names none (see
   * {@link ossClientRegion}). Default oss-cn-hangzhou.
   */
  region?: string;
  logger?: Logger;
  /** Counts and times every upload as action `PutObject`. */
  telemetry?: Telemetry | undefined;
}

/**
 * Path-style requests (`/<bucket>/<key>`) for an endpoint that is neither an IP (ali-oss then sends
 * the bucket in the Host header itself) nor an OSS domain: `<bucket>.<host>` would not resolve on
 * a private host name such as a compose service or `localhost`.
 */
export function pathStyle(endPoint: string): boolean {
  const host = new URL(/^https?:\/\//i.test(endPoint) ? endPoint : `https://${endPoint}`).hostname;
  return isIP(host.replace(/^\[|\]$/g, '')) === 0 && !/\.aliyuncs\.com$/i.test(host);
}

/**
 * The ali-oss `region` for an endpoint: the `oss-<region id>` an OSS endpoint name carries
 * (`oss-cn-shanghai.aliyuncs.com`, `…-internal.aliyuncs.com`, with or without a bucket label),
 * else `fallback` (also for the acceleration endpoints, which name no region). V4 signs the
 * region (ali-oss strips `oss-` for the scope) and OSS refuses a scope that is not its endpoint's
 * region, so a lease's EndPoint wins over the configured region; for an IP endpoint (the
 * emulator) ali-oss also derives the Host header from it.
 */
export function ossClientRegion(endPoint: string, fallback: string = DEFAULT_OSS_REGION): string {
  const host = new URL(/^https?:\/\//i.test(endPoint) ? endPoint : `https://${endPoint}`).hostname;
  const m =
    /^(?:[^.]+\.)?(oss-(?!accelerate)[a-z]{2,}(?:-[a-z0-9]+)+?)(?:-internal)?\.aliyuncs\.com$/i.exec(
      host,
    );
  return m?.[1]?.toLowerCase() ?? fallback;
}

/** The ali-oss options that choose the signature and its region, for a client of `endPoint`. */
export function ossSigningOptions(
  endPoint: string,
  signatureVersion: OssSignatureVersion = 'v4',
  fallbackRegion: string = DEFAULT_OSS_REGION,
): { region: string; authorizationV4: boolean } {
  return {
    region: ossClientRegion(endPoint, fallbackRegion),
    authorizationV4: signatureVersion === 'v4',
  };
}

const EXTENSIONS: Record<ImageType, string> = { jpeg: 'jpg', png: 'png', bmp: 'bmp' };
const MIME: Record<ImageType, string> = { jpeg: 'image/jpeg', png: 'image/png', bmp: 'image/bmp' };

/** A port: puts one fitted image where Cloudauth can read it, answering the reference. */
export interface MaterialUploader {
  upload(lease: StsLease, image: FittedImage): Promise<string>;
}

export class OssMaterialUploader implements MaterialUploader {
  constructor(private readonly deps: OssMaterialUploaderDeps) {}

  /** The object key an image gets under a lease: the same bytes always get the same key. */
  static keyFor(lease: StsLease, image: Pick<FittedImage, 'bytes' | 'type'>): string {
    const digest = createHash('sha256').update(image.bytes).digest('hex');
    const prefix = lease.path.endsWith('/') || lease.path === '' ? lease.path : `${lease.path}/`;
    return `${prefix}${digest}.${EXTENSIONS[image.type]}`;
  }

  async upload(lease: StsLease, image: FittedImage): Promise<string> {
    const key = OssMaterialUploader.keyFor(lease, image);
    const client = this.client(lease);
    await inSpan(
      'OSS/PutObject',
      {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR.action]: 'PutObject', [ATTR.uploadBytes]: image.bytes.length },
      },
      async (span) => {
        const done = this.deps.telemetry?.timeProviderCall('PutObject');
        try {
          await client.put(key, image.bytes, {
            mime: MIME[image.type],
            timeout: this.deps.timeoutMs,
          });
          done?.('ok');
          span.setAttribute(ATTR.outcome, 'ok');
        } catch (err) {
          const mapped = ossToOrchestratorError(err, 'PutObject');
          done?.(mapped.code);
          span.setAttribute(ATTR.outcome, mapped.code);
          this.deps.logger?.debug(
            { err: mapped.toJSON(), field: image.field },
            'OSS upload failed',
          );
          throw mapped;
        }
      },
    );
    this.deps.logger?.debug(
      { field: image.field, bytes: image.bytes.length, type: image.type },
      'material uploaded',
    );
    return `oss://${lease.bucketName}:${key}`;
  }

  /** A client per lease; connections come from ali-oss's shared keep-alive agent. */
  private client(lease: StsLease): OSS {
    const secure = !/^http:\/\//i.test(lease.endPoint);
    const credentials = {
      accessKeyId: lease.accessKeyId,
      accessKeySecret: lease.accessKeySecret,
      stsToken: lease.securityToken,
    };
    const options: OSS.Options & { sldEnable: boolean } = {
      ...credentials,
      endpoint: lease.endPoint,
      secure,
      sldEnable: pathStyle(lease.endPoint),
      bucket: lease.bucketName,
      ...ossSigningOptions(lease.endPoint, this.deps.signatureVersion, this.deps.region),
      timeout: this.deps.timeoutMs,
      // A lease is short-lived and never refreshed in place (a new GetVerifyToken replaces it);
      // the callback only keeps ali-oss from warning that there is none.
      refreshSTSToken: () => Promise.resolve(credentials),
      refreshSTSTokenInterval: 24 * 60 * 60 * 1000,
    };
    return new OSS(options);
  }
}
