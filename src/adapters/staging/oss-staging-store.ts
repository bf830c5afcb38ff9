/**
 * The staging store over an OSS bucket of the user's own (OSS in production, the OSS emulator in
 * tests and embedded mode), through ali-oss with credentials of its own: not the STS lease of a
 * VerifyToken, which is short-lived and scoped to Cloudauth's bucket. A ticket's objects are
 * `<prefix><base64url(TicketId)>/<digest>`, encrypted here first and stored with server-side
 * encryption as well (`x-oss-server-side-encryption: AES256`), so the bucket's own disks hold no
 * plaintext either.
 *
 * Written once: a HEAD first, and a PUT only when nothing whole is there, with
 * `x-oss-forbid-overwrite: true` so that of two processes racing past the HEAD, OSS keeps the
 * first (the second's `FileAlreadyExists` 409 counts as done: both envelopes hold the same bytes;
 * within a process, concurrent puts of the same bytes for a ticket share one write).
 * `Content-MD5` makes OSS refuse a body that arrived different from what was sent.
 *
 * A ticket is erased by listing its prefix (ListObjectsV2, 1000 keys a page) and deleting each
 * page with one DeleteMultipleObjects. {@link OssStagingStore.tickets} streams the listing of the
 * whole prefix: OSS answers keys in order, so a ticket's keys are adjacent and one ticket's counts
 * are all it holds.
 *
 * Failures come out as {@link StagingUnavailableError}, never as the STS errors of the upload path
 * (`ossToOrchestratorError` alone would call a wrong key here `STS_CREDENTIALS_INVALID`, which sends
 * a ticket for a new VerifyToken): 5xx and transport failures are retryable, 4xx answers are not.
 */
import { createHash } from 'node:crypto';
import OSS from 'ali-oss';
import { ossSigningOptions, pathStyle, type OssSignatureVersion } from '../oss/uploader.js';
import { ossToOrchestratorError } from '../oss/oss-errors.js';
import { stagedTicketName, ticketIdOfStagedName } from './staged-ticket-name.js';
import { STAGED_OVERHEAD_BYTES, StagingCipher } from './staging-cipher.js';
import {
  STAGING_RETRY_AFTER_MS,
  StagedObjectMissingError,
  StagingUnavailableError,
} from './staging-errors.js';
import {
  SingleFlight,
  checkStagedRef,
  type MaterialStagingStore,
  type StagedRef,
  type StagedTicketInfo,
} from './staging-store.js';

/** Options of {@link OssStagingStore}. */
export interface OssStagingStoreOptions {
  /** OSS endpoint, with or without a scheme (without one, https), e.g. `oss-cn-hangzhou.aliyuncs.com`. */
  endpoint: string;
  bucket: string;
  /** A RAM user's key with read, write, delete and list on `bucket` (or on `prefix` in it). */
  accessKeyId: string;
  accessKeySecret: string;
  /** Key prefix of every object, e.g. `staging/`; a `/` is added when missing. Default: none. */
  prefix?: string;
  /** Signature of every request (`OSS_SIGNATURE_VERSION`). Default `v4`. */
  signatureVersion?: OssSignatureVersion;
  /**
   * ali-oss region (`oss-<region id>`, `OSS_REGION`) when `endpoint` names none (an IP or a
   * private host); an `oss-<region id>[-internal].aliyuncs.com` endpoint gives its own. Default
   * oss-cn-hangzhou.
   */
  region?: string;
  /** Per-request timeout, in ms. Default 10 000. */
  timeoutMs?: number;
  /** The project's encryption key, 32 bytes (`loadOrCreateKey`). */
  key: Uint8Array;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Largest page OSS lists. */
const LIST_PAGE = 1000;

interface OssFailure {
  status?: unknown;
  code?: unknown;
}

export class OssStagingStore implements MaterialStagingStore {
  readonly #client: OSS;
  readonly #prefix: string;
  readonly #cipher: StagingCipher;
  readonly #writes = new SingleFlight();

  constructor(options: OssStagingStoreOptions) {
    const prefix = options.prefix ?? '';
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#cipher = new StagingCipher(options.key);
    const clientOptions: OSS.Options & { sldEnable: boolean } = {
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      endpoint: options.endpoint,
      secure: !/^http:\/\//i.test(options.endpoint),
      sldEnable: pathStyle(options.endpoint),
      bucket: options.bucket,
      ...ossSigningOptions(options.endpoint, options.signatureVersion, options.region),
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    this.#client = new OSS(clientOptions);
  }

  async put(ticketId: string, bytes: Uint8Array): Promise<StagedRef> {
    const ticket = this.#ticketPrefix(ticketId);
    const ref = this.#cipher.refOf(bytes);
    const name = `${ticket}${ref.digest}`;
    await this.#writes.run(name, () => this.#write(name, ref, bytes));
    return ref;
  }

  async #write(name: string, ref: StagedRef, bytes: Uint8Array): Promise<void> {
    const size = await this.#sizeOf(name, 'put');
    // A whole object is there already; one of another size (cut short) is written over.
    if (size === ref.bytes + STAGED_OVERHEAD_BYTES) return;
    const envelope = this.#cipher.seal(bytes, ref.digest);
    const headers: Record<string, string> = {
      'Content-MD5': createHash('md5').update(envelope).digest('base64'),
      'x-oss-server-side-encryption': 'AES256',
      ...(size === undefined ? { 'x-oss-forbid-overwrite': 'true' } : {}),
    };
    try {
      await this.#client.put(name, envelope, { mime: 'application/octet-stream', headers });
    } catch (err) {
      if (!isFailure(err, 409, 'FileAlreadyExists')) throw ossFailure('put', 'PutObject', err);
    }
  }

  async get(ticketId: string, ref: StagedRef): Promise<Buffer> {
    const ticket = this.#ticketPrefix(ticketId);
    checkStagedRef(ref);
    let envelope: unknown;
    try {
      envelope = (await this.#client.get(`${ticket}${ref.digest}`)).content;
    } catch (err) {
      if (isFailure(err, 404, 'NoSuchKey')) throw new StagedObjectMissingError(ref.digest);
      throw ossFailure('get', 'GetObject', err);
    }
    if (!Buffer.isBuffer(envelope)) {
      throw ossFailure('get', 'GetObject', { name: 'UnexpectedBody' });
    }
    return this.#cipher.open(envelope, ref);
  }

  async exists(ticketId: string, ref: StagedRef): Promise<boolean> {
    const ticket = this.#ticketPrefix(ticketId);
    checkStagedRef(ref);
    return (await this.#sizeOf(`${ticket}${ref.digest}`, 'exists')) !== undefined;
  }

  async deleteTicket(ticketId: string): Promise<number> {
    const prefix = this.#ticketPrefix(ticketId);
    let removed = 0;
    for await (const page of this.#pages(prefix, 'deleteTicket')) {
      const names = page.objects.map((o) => o.name).filter((n) => n.startsWith(prefix));
      if (names.length === 0) continue;
      let deleted: number;
      try {
        // Verbose: OSS names each key it deleted (a key already gone counts as deleted too).
        deleted = (await this.#client.deleteMulti(names, { quiet: false })).deleted?.length ?? 0;
      } catch (err) {
        throw ossFailure('deleteTicket', 'DeleteMultipleObjects', err);
      }
      if (deleted !== names.length) {
        throw new StagingUnavailableError(
          'deleteTicket',
          `OSS DeleteMultipleObjects deleted ${deleted} of ${names.length} objects`,
          { retryable: true, retryAfterMs: STAGING_RETRY_AFTER_MS },
        );
      }
      removed += deleted;
    }
    return removed;
  }

  async *tickets(): AsyncIterable<StagedTicketInfo> {
    let current: StagedTicketInfo | undefined;
    for await (const page of this.#pages(this.#prefix, 'tickets')) {
      for (const object of page.objects) {
        const ticketId = this.#ticketIdOf(object.name);
        if (ticketId === undefined) continue;
        const at = Date.parse(object.lastModified);
        const modifiedAt = Number.isFinite(at) ? at : 0;
        if (current?.ticketId === ticketId) {
          current.objects += 1;
          current.newestAt = Math.max(current.newestAt, modifiedAt);
          continue;
        }
        // Keys come in order: a ticket's keys share `<name>/`, so none of its keys follow another's.
        if (current !== undefined) yield current;
        current = { ticketId, objects: 1, newestAt: modifiedAt };
      }
    }
    if (current !== undefined) yield current;
  }

  async check(): Promise<void> {
    try {
      await this.#client.listV2({ prefix: this.#prefix, 'max-keys': 1 });
    } catch (err) {
      throw ossFailure('check', 'ListObjectsV2', err);
    }
  }

  /**
   * `<prefix><base64url(ticketId)>/`, the start of every key of the ticket.
   * @throws ValidationError field `TicketId` for a malformed TicketId, before any request
   */
  #ticketPrefix(ticketId: string): string {
    return `${this.#prefix}${stagedTicketName(ticketId)}/`;
  }

  /** The TicketId a key under the prefix belongs to, or undefined for a stranger's key. */
  #ticketIdOf(key: string): string | undefined {
    if (!key.startsWith(this.#prefix)) return undefined;
    const rest = key.slice(this.#prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0 || slash === rest.length - 1) return undefined;
    return ticketIdOfStagedName(rest.slice(0, slash));
  }

  /** The pages of a ListObjectsV2 listing of `prefix`, 1000 keys each, one page in memory. */
  async *#pages(prefix: string, operation: string): AsyncIterable<OSS.ListV2ObjectResult> {
    let token: string | undefined;
    do {
      let page: OSS.ListV2ObjectResult;
      try {
        page = await this.#client.listV2({
          prefix,
          'max-keys': LIST_PAGE,
          ...(token === undefined ? {} : { 'continuation-token': token }),
        });
      } catch (err) {
        throw ossFailure(operation, 'ListObjectsV2', err);
      }
      yield page;
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The object's size from a HEAD, or undefined when there is none. */
  async #sizeOf(name: string, operation: string): Promise<number | undefined> {
    try {
      const head = await this.#client.head(name);
      return Number((head.res.headers as Record<string, string | undefined>)['content-length']);
    } catch (err) {
      // ali-oss reports any bodiless 404 to a HEAD as NoSuchKey.
      if (isFailure(err, 404, 'NoSuchKey')) return undefined;
      throw ossFailure(operation, 'HeadObject', err);
    }
  }
}

function isFailure(err: unknown, status: number, code: string): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as OssFailure;
  return e.status === status && e.code === code;
}

/** An ali-oss failure as the registry's error, through the upload path's scrubbing. */
function ossFailure(
  operation: string,
  ossOperation: string,
  err: unknown,
): StagingUnavailableError {
  const mapped = ossToOrchestratorError(err, ossOperation);
  const status = mapped.httpStatus;
  const retryable = status === undefined || status >= 500;
  return new StagingUnavailableError(operation, mapped.message, {
    retryable,
    ...(retryable ? { retryAfterMs: STAGING_RETRY_AFTER_MS } : {}),
    cause: mapped.toJSON(),
  });
}
