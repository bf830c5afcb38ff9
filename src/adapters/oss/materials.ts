/**
 * A ticket's image materials from sources to what SubmitMaterials takes: `prepareMaterials`
 * loads, checks and fits every image before any provider call (all problems at once), and
 * `uploadMaterials` puts the images under a VerifyToken's STS credentials and answers
 * `{type, value}` pairs with `oss://` references, in the order given.
 */
import {
  IMAGE_FIELDS,
  REQUEST_LIMIT_BYTES,
  type ImageField,
  type MaterialSource,
} from '../../domain/binding.js';
import { OrchestratorError, ValidationError } from '../../errors.js';
import type { ImageDecoding } from './decode-limit.js';
import type { ImageChange } from './image-fit.js';
import { prepareMaterial, type ReadyMaterial } from './material-loader.js';
import type { MaterialUploader, StsLease } from './uploader.js';

/** Every material that failed its checks; `problems` has one error per field. */
export class MaterialsRejectedError extends ValidationError {
  constructor(readonly problems: readonly ValidationError[]) {
    super('materials', problems.map((p) => p.message).join('; '));
  }
}

export interface PreparedMaterials {
  ready: ReadyMaterial[];
  /** Images that were re-encoded or scaled to fit. */
  changes: ImageChange[];
}

/**
 * Loads and checks every image: each one's header against the pixel limits first, then its decode
 * inside the process's decode gate (`decoding`; by default the process-wide defaults). Throws
 * {@link MaterialsRejectedError} listing every refused material; other failures (I/O beyond the
 * files themselves) propagate.
 */
export async function prepareMaterials(
  sources: Partial<Record<ImageField, MaterialSource>>,
  decoding?: ImageDecoding,
): Promise<PreparedMaterials> {
  const ready: ReadyMaterial[] = [];
  const problems: ValidationError[] = [];
  for (const field of IMAGE_FIELDS) {
    const source = sources[field];
    if (source === undefined) continue;
    try {
      ready.push(await prepareMaterial(field, source, decoding));
    } catch (err) {
      if (err instanceof ValidationError) problems.push(err);
      else throw err;
    }
  }
  if (problems.length > 0) throw new MaterialsRejectedError(problems);
  const changes = ready.flatMap((m) =>
    m.kind === 'image' && m.image.change ? [m.image.change] : [],
  );
  return { ready, changes };
}

/** A SubmitMaterials entry. */
export interface MaterialEntry {
  type: string;
  value: string;
}

/**
 * Uploads the images under `lease` and answers the SubmitMaterials entries. Upload errors are the
 * uploader's typed errors (an STS refusal is `StsCredentialsInvalidError`).
 */
export async function uploadMaterials(
  uploader: MaterialUploader,
  lease: StsLease,
  prepared: PreparedMaterials,
): Promise<MaterialEntry[]> {
  const entries: MaterialEntry[] = [];
  for (const m of prepared.ready) {
    if (m.kind === 'reference') entries.push({ type: m.field, value: m.value });
    else entries.push({ type: m.image.field, value: await uploader.upload(lease, m.image) });
  }
  const size = entries.reduce((n, e) => n + e.type.length + e.value.length + 40, 0);
  if (size > REQUEST_LIMIT_BYTES) {
    throw new ValidationError('materials', `the request would exceed ${REQUEST_LIMIT_BYTES} bytes`);
  }
  return entries;
}

/** True when `err` says the STS credentials must be renewed by a new GetVerifyToken. */
export function needsNewToken(err: unknown): boolean {
  return (
    err instanceof OrchestratorError &&
    (err.code === 'STS_CREDENTIALS_INVALID' || err.code === 'VERIFY_TOKEN_INVALID')
  );
}
