/**
 * The emulator's records of 2019-03-07 verifications, by CertifyId. In memory, bounded: past
 * `maxEntries` the oldest are forgotten (then DescribeFaceVerify answers 406). How long the real
 * service keeps a CertifyId queryable is NOT FOUND (spec §5); the emulator keeps it until then.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The outcome of a finished verification, as DescribeFaceVerify shows it. */
export interface FaceVerifyResult {
  passed: boolean;
  /** Spec §8.2: 200 passed, 201 name/ID mismatch, 202 identity unknown, … */
  subCode: string;
  /** JSON text, as the API carries it. */
  materialInfo: string;
  deviceToken: string;
  /** Digest of the face photo, when one was read; lets a later call use this CertifyId as a source. */
  faceSeed: string;
  completedAt: number;
}

export interface FaceVerifyRecord {
  certifyId: string;
  sceneId: string;
  productCode: string;
  outerOrderNo: string;
  createdAt: number;
  /** InitFaceVerify: the end of the CertifyUrl's 30 minutes (spec §4). */
  expiresAt?: number;
  /** InitFaceVerify: the identity the page will judge (memory only, never logged). */
  identity?: { certName: string; certNo: string };
  /** InitFaceVerify: the CertifyUrl's single-use token. */
  urlToken?: string;
  callbackUrl?: string;
  callbackToken?: string;
  returnUrl?: string;
  result?: FaceVerifyResult;
}

/** A CertifyId: 32 lower-case hex digits, like the spec's example. */
export function newCertifyId(): string {
  return randomBytes(16).toString('hex');
}

export class FaceVerifyStore {
  private readonly records = new Map<string, FaceVerifyRecord>();
  /** CertifyUrl token → CertifyId, for the page behind the URL. */
  private readonly byUrlToken = new Map<string, string>();

  constructor(private readonly maxEntries = 200_000) {}

  add(record: FaceVerifyRecord): void {
    this.records.set(record.certifyId, record);
    if (record.urlToken !== undefined) this.byUrlToken.set(record.urlToken, record.certifyId);
    while (this.records.size > this.maxEntries) {
      const oldest = this.records.values().next();
      if (oldest.done) break;
      this.records.delete(oldest.value.certifyId);
      if (oldest.value.urlToken !== undefined) this.byUrlToken.delete(oldest.value.urlToken);
    }
  }

  /** The record an InitFaceVerify CertifyUrl token belongs to. */
  byToken(urlToken: string): FaceVerifyRecord | undefined {
    const certifyId = this.byUrlToken.get(urlToken);
    return certifyId === undefined ? undefined : this.records.get(certifyId);
  }

  get(certifyId: string): FaceVerifyRecord | undefined {
    return this.records.get(certifyId);
  }

  /** Records the outcome once; false when the CertifyId is unknown or already finished. */
  complete(certifyId: string, result: FaceVerifyResult): boolean {
    const record = this.records.get(certifyId);
    if (record === undefined || record.result !== undefined) return false;
    record.result = result;
    return true;
  }
}

/** The 2019-03-07 actions billed per call the emulator keeps a record of. */
export type BilledAction = 'ContrastFaceVerify' | 'Id2MetaVerify';

/** What {@link BilledCalls.summary} reports per action. */
export interface BilledSummary {
  /** Billed calls. */
  calls: number;
  /** Distinct orders (ContrastFaceVerify: OuterOrderNo) or identities (Id2MetaVerify) billed. */
  keys: number;
  /** Those billed more than once. */
  repeatedKeys: number;
}

/**
 * The billed calls of the financial-grade family, per order or identity: what a bill would show,
 * for tests and the chaos run to count calls billed twice. ContrastFaceVerify by its OuterOrderNo;
 * Id2MetaVerify (which carries no order number) by a SHA-256 of the ID number, never the number
 * itself. Bounded like the records: past `maxEntries` the oldest keys are forgotten.
 */
export class BilledCalls {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {}

  record(action: BilledAction, key: string): void {
    const id =
      action === 'Id2MetaVerify'
        ? `${action}:${createHash('sha256').update(key).digest('hex')}`
        : `${action}:${key}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    while (this.counts.size > this.maxEntries) {
      const oldest = this.counts.keys().next();
      if (oldest.done) break;
      this.counts.delete(oldest.value);
    }
  }

  /** Calls billed for one OuterOrderNo (ContrastFaceVerify). */
  ofOrder(outerOrderNo: string): number {
    return this.counts.get(`ContrastFaceVerify:${outerOrderNo}`) ?? 0;
  }

  summary(): Record<BilledAction, BilledSummary> {
    const out: Record<BilledAction, BilledSummary> = {
      ContrastFaceVerify: { calls: 0, keys: 0, repeatedKeys: 0 },
      Id2MetaVerify: { calls: 0, keys: 0, repeatedKeys: 0 },
    };
    for (const [id, n] of this.counts) {
      const entry = out[id.slice(0, id.indexOf(':')) as BilledAction];
      entry.calls += n;
      entry.keys++;
      if (n > 1) entry.repeatedKeys++;
    }
    return out;
  }

  clear(): void {
    this.counts.clear();
  }
}
