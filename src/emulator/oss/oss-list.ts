/**
 * ListObjectsV2 (`GET /?list-type=2`): the request's parameters, the continuation token, and the
 * `ListBucketResult` XML, as OSS documents them (help.aliyun.com/zh/oss/developer-reference/listobjectsv2):
 *
 * ```
 * <ListBucketResult><Name/><Prefix/>[<StartAfter/>][<ContinuationToken/>]<MaxKeys/>[<Delimiter/>]
 *   [<EncodingType/>]<IsTruncated/>[<NextContinuationToken/>]
 *   <Contents><Key/><LastModified/><ETag/><Type/><Size/><StorageClass/></Contents>…
 *   <CommonPrefixes><Prefix/></CommonPrefixes>…<KeyCount/></ListBucketResult>
 * ```
 *
 * Emulator choices, where OSS documents no behaviour: the token is the base64url of where the
 * page ended (opaque to clients, as OSS's are); `fetch-owner=true` is accepted but no `<Owner>`
 * is written (ali-oss reads a missing one as null); a key's control characters are written as
 * numeric character references unless `encoding-type=url` is asked for. `max-keys` outside
 * 1–1000 is refused with InvalidArgument, as OSS answers (its message quoted below), which also
 * bounds what one page holds.
 */
import type { ListingCursor, ListingQuery } from './object-listing.js';
import type { ListingPage } from './object-store.js';
import { ossErrors } from './oss-errors.js';

/** OSS's default page size. */
export const DEFAULT_MAX_KEYS = 100;
/** OSS's largest page. */
export const MAX_MAX_KEYS = 1000;

/** A ListObjectsV2 request, parsed. */
export interface ListRequest {
  query: ListingQuery;
  /** Echoed as given. */
  startAfter?: string;
  continuationToken?: string;
  /** `url`: keys, prefixes, the delimiter and start-after are percent-encoded in the answer. */
  urlEncoded: boolean;
}

/**
 * The parameters of a GET of the bucket.
 * @throws OssError NotImplemented 501 (no `list-type=2`), InvalidArgument 400
 */
export function parseListRequest(params: URLSearchParams): ListRequest {
  if (params.get('list-type') !== '2') throw ossErrors.listV1NotImplemented();
  const rawMaxKeys = params.get('max-keys');
  let maxKeys = DEFAULT_MAX_KEYS;
  if (rawMaxKeys !== null) {
    maxKeys = /^\d{1,4}$/.test(rawMaxKeys) ? Number(rawMaxKeys) : 0;
    if (maxKeys < 1 || maxKeys > MAX_MAX_KEYS) {
      // OSS's message for the same refusal (seen on ListBuckets: "between 1 and 1000").
      throw ossErrors.invalidArgument(
        'max-keys',
        rawMaxKeys,
        `Argument max-keys must be an integer between 1 and ${MAX_MAX_KEYS}.`,
      );
    }
  }
  const encoding = params.get('encoding-type');
  if (encoding !== null && encoding !== 'url') {
    throw ossErrors.invalidArgument(
      'encoding-type',
      encoding,
      'Invalid Encoding Method specified in Request.',
    );
  }
  const startAfter = params.get('start-after');
  const token = params.get('continuation-token');
  // A continuation token wins over start-after: it already lies past it.
  let after: ListingCursor | undefined;
  if (token !== null) after = decodeToken(token);
  else if (startAfter !== null && startAfter !== '') after = { value: startAfter, prefix: false };
  return {
    query: {
      prefix: params.get('prefix') ?? '',
      delimiter: params.get('delimiter') ?? '',
      after,
      maxKeys,
    },
    ...(startAfter === null ? {} : { startAfter }),
    ...(token === null ? {} : { continuationToken: token }),
    urlEncoded: encoding === 'url',
  };
}

/** The opaque token that resumes after `cursor`: base64url of `k<key>` or `p<common prefix>`. */
export function encodeToken(cursor: ListingCursor): string {
  return Buffer.from(`${cursor.prefix ? 'p' : 'k'}${cursor.value}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): ListingCursor {
  const text = /^[A-Za-z0-9_-]+$/.test(token)
    ? Buffer.from(token, 'base64url').toString('utf8')
    : '';
  const kind = text.charAt(0);
  // A token that does not re-encode to itself was not made here (or was altered).
  if ((kind !== 'k' && kind !== 'p') || Buffer.from(text).toString('base64url') !== token) {
    throw ossErrors.invalidArgument(
      'continuation-token',
      token,
      'The continuation token provided is incorrect.',
    );
  }
  return { value: text.slice(1), prefix: kind === 'p' };
}

/** The `ListBucketResult` body of one page. */
export function listBucketResultXml(
  bucket: string,
  request: ListRequest,
  page: ListingPage,
): string {
  const text = (value: string) => xmlText(request.urlEncoded ? encodeURIComponent(value) : value);
  const { query } = request;
  const last = page.entries[page.entries.length - 1];
  const next =
    page.truncated && last !== undefined
      ? encodeToken(
          'object' in last
            ? { value: last.object.key, prefix: false }
            : { value: last.commonPrefix, prefix: true },
        )
      : undefined;
  const parts = [
    `<Name>${xmlText(bucket)}</Name>`,
    `<Prefix>${text(query.prefix)}</Prefix>`,
    request.startAfter === undefined ? '' : `<StartAfter>${text(request.startAfter)}</StartAfter>`,
    request.continuationToken === undefined
      ? ''
      : `<ContinuationToken>${xmlText(request.continuationToken)}</ContinuationToken>`,
    `<MaxKeys>${query.maxKeys}</MaxKeys>`,
    query.delimiter === '' ? '' : `<Delimiter>${text(query.delimiter)}</Delimiter>`,
    request.urlEncoded ? '<EncodingType>url</EncodingType>' : '',
    `<IsTruncated>${page.truncated}</IsTruncated>`,
    next === undefined ? '' : `<NextContinuationToken>${next}</NextContinuationToken>`,
  ];
  const prefixes: string[] = [];
  for (const entry of page.entries) {
    if ('commonPrefix' in entry) {
      prefixes.push(
        `<CommonPrefixes><Prefix>${text(entry.commonPrefix)}</Prefix></CommonPrefixes>`,
      );
      continue;
    }
    const { key, lastModified, md5Hex, size } = entry.object;
    parts.push(
      `<Contents><Key>${text(key)}</Key>` +
        `<LastModified>${new Date(lastModified).toISOString()}</LastModified>` +
        `<ETag>"${md5Hex}"</ETag><Type>Normal</Type><Size>${size}</Size>` +
        '<StorageClass>Standard</StorageClass></Contents>',
    );
  }
  parts.push(...prefixes, `<KeyCount>${page.entries.length}</KeyCount>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>${parts.join('')}</ListBucketResult>`;
}

/** Text content: `&`, `<`, `>` escaped, and characters XML cannot carry as numeric references. */
export function xmlText(value: string): string {
  // Matching control characters is the point here.
  // eslint-disable-next-line no-control-regex
  return value.replace(/[&<>\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => {
    if (c === '&') return '&amp;';
    if (c === '<') return '&lt;';
    if (c === '>') return '&gt;';
    return `&#x${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()};`;
  });
}
