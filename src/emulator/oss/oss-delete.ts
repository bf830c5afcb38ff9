/**
 * DeleteMultipleObjects (`POST /?delete`): the request body and the `DeleteResult` XML, as OSS
 * documents them (help.aliyun.com/zh/oss/developer-reference/deletemultipleobjects):
 *
 * ```
 * request   <?xml …?><Delete>[<Quiet>true|false</Quiet>]<Object><Key/></Object>…</Delete>
 * response  <?xml …?><DeleteResult>[<EncodingType>url</EncodingType>]<Deleted><Key/></Deleted>…</DeleteResult>
 * ```
 *
 * At most 1000 objects a request; `Content-MD5` is required (checked with the request's headers);
 * a key that does not exist counts as deleted; in quiet mode a request whose deletions all
 * succeeded answers no body. `encoding-type=url` percent-encodes the keys of the answer.
 *
 * Emulator choices, where OSS documents no behaviour: the body is read as a small, strict XML
 * grammar (the elements above in any order, whitespace between them, the five predefined entities
 * and numeric character references; no CDATA, comments or other elements), and anything else is
 * MalformedXML 400; `VersionId` is refused with NotImplemented (versioning is not emulated); the
 * emulator's stricter key rules refuse the whole request with InvalidObjectName.
 */
import { createHash } from 'node:crypto';
import { objectKeyProblem, type ObjectStore } from './object-store.js';
import { ossErrors } from './oss-errors.js';
import { xmlText } from './oss-list.js';
import { contentMd5Bytes } from './oss-request.js';
import type { OssHeaderValue } from './oss-signature.js';

/** OSS's limit of objects per DeleteMultipleObjects. */
export const MAX_DELETE_OBJECTS = 1000;

/** A DeleteMultipleObjects request, parsed. */
export interface DeleteRequest {
  /** The keys to delete, in the order given (repeats kept: OSS answers each). */
  keys: string[];
  /** `<Quiet>true</Quiet>`: answer only failures. */
  quiet: boolean;
  /** `encoding-type=url`: keys are percent-encoded in the answer. */
  urlEncoded: boolean;
}

const DECLARATION = /^\s*<\?xml[^?]*\?>/y;
const DELETE_OPEN = /\s*<Delete(?:\s[^>]*)?>/y;
const DELETE_CLOSE = /\s*<\/Delete>\s*$/y;
const QUIET = /\s*<Quiet>([^<]*)<\/Quiet>/y;
const OBJECT =
  /\s*<Object>\s*<Key>([^<]*)<\/Key>\s*(?:<VersionId>([^<]*)<\/VersionId>\s*)?<\/Object>/y;

/**
 * The body and parameters of a DeleteMultipleObjects request.
 * @throws OssError MalformedXML 400, InvalidArgument 400, InvalidObjectName 400, NotImplemented 501
 */
export function parseDeleteRequest(body: string, params: URLSearchParams): DeleteRequest {
  const encoding = params.get('encoding-type');
  if (encoding !== null && encoding !== 'url') {
    throw ossErrors.invalidArgument(
      'encoding-type',
      encoding,
      'Invalid Encoding Method specified in Request.',
    );
  }
  const reader = new Reader(body);
  reader.skip(DECLARATION);
  if (reader.take(DELETE_OPEN) === undefined) throw ossErrors.malformedXml();
  const keys: string[] = [];
  let quiet: boolean | undefined;
  for (;;) {
    const q = reader.take(QUIET);
    if (q !== undefined) {
      const value = (q[1] ?? '').trim();
      if (quiet !== undefined || (value !== 'true' && value !== 'false')) {
        // EC 0016-00000610: the Quiet node's value is invalid.
        throw ossErrors.malformedXml('0016-00000610');
      }
      quiet = value === 'true';
      continue;
    }
    const object = reader.take(OBJECT);
    if (object === undefined) break;
    if (object[2] !== undefined) throw ossErrors.notImplemented('versionId');
    const key = decodeText(object[1] ?? '');
    const problem = objectKeyProblem(key);
    if (problem !== undefined) throw ossErrors.invalidObjectName(problem);
    keys.push(key);
    if (keys.length > MAX_DELETE_OBJECTS) throw ossErrors.malformedXml();
  }
  if (reader.take(DELETE_CLOSE) === undefined || keys.length === 0) {
    throw ossErrors.malformedXml();
  }
  return { keys, quiet: quiet ?? false, urlEncoded: encoding === 'url' };
}

/**
 * The `DeleteResult` body naming every key deleted, or undefined in quiet mode (every deletion
 * succeeded: OSS answers no body).
 */
export function deleteResultXml(request: DeleteRequest): string | undefined {
  if (request.quiet) return undefined;
  const text = (key: string) => (request.urlEncoded ? encodeURIComponent(key) : xmlText(key));
  const deleted = request.keys.map((key) => `<Deleted><Key>${text(key)}</Key></Deleted>`);
  const encoding = request.urlEncoded ? '<EncodingType>url</EncodingType>' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>${encoding}${deleted.join('')}</DeleteResult>`;
}

/** A cursor over the body that takes one sticky pattern at a time. */
class Reader {
  #at = 0;
  constructor(readonly text: string) {}

  take(pattern: RegExp): RegExpExecArray | undefined {
    pattern.lastIndex = this.#at;
    const match = pattern.exec(this.text);
    if (match === null) return undefined;
    this.#at = pattern.lastIndex;
    return match;
  }

  skip(pattern: RegExp): void {
    this.take(pattern);
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** Element text with its entities and character references decoded. */
function decodeText(raw: string): string {
  return raw.replace(/&([^;]*);|&/g, (_match, name: string | undefined) => {
    if (name === undefined) throw ossErrors.malformedXml();
    const named = ENTITIES[name];
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const code =
      numeric === null
        ? Number.NaN
        : parseInt(numeric[1] ?? numeric[2] ?? '', numeric[1] ? 16 : 10);
    if (!Number.isInteger(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw ossErrors.malformedXml();
    }
    return String.fromCodePoint(code);
  });
}

/**
 * DeleteMultipleObjects' headers, before the body is read: a well-formed Content-MD5 is required.
 * @throws OssError InvalidRequest 400 (EC 0016-00000606), InvalidDigest 400
 */
export function checkDeleteHeaders(headers: Readonly<Record<string, OssHeaderValue>>): void {
  const md5 = headers['content-md5'];
  if (md5 === undefined) throw ossErrors.missingContentMd5();
  if (typeof md5 !== 'string' || contentMd5Bytes(md5) === undefined) {
    throw ossErrors.invalidDigest();
  }
}

/**
 * Runs a DeleteMultipleObjects whose headers passed {@link checkDeleteHeaders}: checks the body
 * against its Content-MD5, deletes each key, and answers the `DeleteResult` body (undefined: none).
 * @throws OssError InvalidDigest 400, and what {@link parseDeleteRequest} throws
 */
export async function deleteMultipleObjects(
  store: ObjectStore,
  bucket: string,
  request: { body: Buffer; contentMd5: string; query: URLSearchParams },
): Promise<string | undefined> {
  const md5 = createHash('md5').update(request.body).digest();
  if (!contentMd5Bytes(request.contentMd5)?.equals(md5)) throw ossErrors.digestMismatch();
  const parsed = parseDeleteRequest(request.body.toString('utf8'), request.query);
  for (const key of parsed.keys) await store.delete(bucket, key);
  return deleteResultXml(parsed);
}
