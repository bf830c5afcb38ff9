/**
 * A ticket's Binding as the orchestrator accepts it: the holder's name and identity number, and
 * image materials given as a local file, bytes, an http(s) URL or an `oss://bucket:path`
 * reference. Validation here is pure; reading files and re-encoding images live in `src/adapters/oss/`.
 *
 * Cloudauth takes images as `http(s)://`, `oss://bucket:path` or `base64://` (never a local path),
 * at most 2 MB each and 8 MB per request (spec §1.4): files and bytes are uploaded to OSS with the
 * ticket's STS credentials and passed on as `oss://` references.
 */
import { ValidationError } from '../errors.js';
import { checkIdNumber } from './id-number.js';

/** Largest image Cloudauth accepts, in bytes. */
export const IMAGE_LIMIT_BYTES = 2 * 1024 * 1024;
/** Largest Cloudauth request body, in bytes. */
export const REQUEST_LIMIT_BYTES = 8 * 1024 * 1024;
/** Longest name accepted, in characters (Unicode code points). */
export const NAME_MAX_CHARS = 64;

/** Image materials a Binding or SubmitMaterials may carry (spec §1.3, §1.4). */
export const IMAGE_FIELDS = [
  'FacePic',
  'IdCardFrontPic',
  'IdCardBackPic',
  'FaceRetainedPic',
  'IDPic',
] as const;
export type ImageField = (typeof IMAGE_FIELDS)[number];

/** Where an image comes from. */
export type MaterialSource =
  | { kind: 'file'; path: string }
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'url'; url: string }
  | { kind: 'oss'; ref: string };

/** Image types Cloudauth takes, sniffed from the bytes. */
export type ImageType = 'jpeg' | 'png' | 'bmp';

const OSS_REF = /^oss:\/\/[a-z0-9][a-z0-9-]{1,61}[a-z0-9]:[^\s]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,/i;
/** Bare base64 shorter than this is taken for a path: no real image is that small. */
const BARE_BASE64_MIN = 100;

/**
 * Reads one material value as given in JSON or a CSV cell:
 * `oss://bucket:path`; `http(s)://…`; bytes as `data:<type>;base64,…`, `base64://…`, or bare
 * base64 of at least 100 characters; `file://…` or any other string is a local path.
 */
export function parseMaterialSource(field: string, value: string): MaterialSource {
  const v = value.trim();
  if (v === '') throw new ValidationError(field, 'is empty');
  if (v.startsWith('oss://')) {
    if (!OSS_REF.test(v)) throw new ValidationError(field, 'expected oss://<bucket>:<path>');
    return { kind: 'oss', ref: v };
  }
  if (/^https?:\/\//i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new ValidationError(field, 'is not a valid URL');
    }
    if (url.username || url.password) {
      throw new ValidationError(field, 'URL must not carry credentials');
    }
    return { kind: 'url', url: url.href };
  }
  const dataUrl = DATA_URL.exec(v);
  if (dataUrl) return { kind: 'bytes', data: decodeBase64(field, v.slice(dataUrl[0].length)) };
  if (v.startsWith('base64://')) return { kind: 'bytes', data: decodeBase64(field, v.slice(9)) };
  if (v.length >= BARE_BASE64_MIN && v.length % 4 === 0 && BASE64.test(v)) {
    return { kind: 'bytes', data: decodeBase64(field, v) };
  }
  if (v.startsWith('file://')) {
    try {
      return { kind: 'file', path: decodeURIComponent(new URL(v).pathname) };
    } catch {
      throw new ValidationError(field, 'is not a valid file:// URL');
    }
  }
  if (v.includes('\0')) throw new ValidationError(field, 'is not a valid path');
  return { kind: 'file', path: v };
}

function decodeBase64(field: string, data: string): Buffer {
  const compact = data.replace(/\s/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new ValidationError(field, 'is not valid base64');
  }
  return Buffer.from(compact, 'base64');
}

/**
 * Whether `bytes` begin with `signature`. Shorter bytes do not, with no length check: an index
 * past their end reads undefined.
 */
function beginsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/** The image type of `bytes` by signature, or undefined when it is none Cloudauth takes. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (beginsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (beginsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (bytes.length >= 26 && beginsWith(bytes, [0x42, 0x4d])) return 'bmp';
  return undefined;
}

/** What a file's leading bytes look like, for an error message about a non-image. */
export function describeNonImage(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const head = Buffer.from(bytes.subarray(0, 8)).toString('latin1');
  if (head.startsWith('%PDF')) return 'it is a PDF, not an image';
  if (head.startsWith('GIF8')) return 'it is a GIF; Cloudauth takes JPEG, PNG or BMP';
  if (head.startsWith('RIFF')) return 'it is a RIFF file (WebP?); Cloudauth takes JPEG, PNG or BMP';
  if (head.startsWith('PK')) return 'it is a ZIP archive, not an image';
  return 'it is not a JPEG, PNG or BMP image';
}

/** A trimmed name of 1–64 characters without control characters or decoding debris. */
export function validateName(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  const name = value.normalize('NFC').trim();
  if (name === '') throw new ValidationError(field, 'is empty');
  if ([...name].length > NAME_MAX_CHARS) {
    throw new ValidationError(field, `is longer than ${NAME_MAX_CHARS} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new ValidationError(field, 'contains control characters');
  }
  // what a wrong decoding leaves: never a character of anyone's name (private-use characters
  // are refused by the CLI only, which knows the text was decoded from bytes)
  if (/[\ufffd\p{Cs}]/u.test(name)) {
    throw new ValidationError(
      field,
      'contains characters that did not decode (U+FFFD or a lone surrogate)',
    );
  }
  return name;
}

/** A GB 11643 identity number, upper-cased; the error names the failed check, never the number. */
export function validateIdNumber(field: string, value: unknown, today?: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  const id = value.trim().toUpperCase();
  const check = checkIdNumber(id, today);
  if (!check.ok) throw new ValidationError(field, check.message);
  return id;
}

/**
 * A material source as stored (JSON). Since materials are staged at intake, a ticket holds images
 * given as bytes or files as `staged` references (the object's keyed digest and length in the
 * staging store, `src/adapters/staging/`), never the bytes; `file` and `bytes` are what tickets
 * created by earlier versions may still hold, and are read as before.
 */
export type StoredMaterialSource =
  | { kind: 'file'; path: string }
  | { kind: 'bytes'; base64: string }
  | { kind: 'url'; url: string }
  | { kind: 'oss'; ref: string }
  | { kind: 'staged'; digest: string; bytes: number };

/** A stored source that is not a staged reference: what {@link fromStoredSource} reads. */
export type InlineStoredSource = Exclude<StoredMaterialSource, { kind: 'staged' }>;

/** The applicant's data a ticket carries; encrypted at rest. */
export interface TicketBinding {
  name?: string;
  idNumber?: string;
  materials: Partial<Record<ImageField, StoredMaterialSource>>;
}

export function toStoredSource(source: MaterialSource): InlineStoredSource {
  return source.kind === 'bytes'
    ? { kind: 'bytes', base64: source.data.toString('base64') }
    : source;
}

export function fromStoredSource(source: InlineStoredSource): MaterialSource {
  return source.kind === 'bytes'
    ? { kind: 'bytes', data: Buffer.from(source.base64, 'base64') }
    : source;
}
