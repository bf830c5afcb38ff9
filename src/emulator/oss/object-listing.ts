/**
 * One page of a ListObjectsV2 listing, chosen in bounded memory: the store offers every key of
 * the bucket once, in any order, and {@link ListingSelection} keeps only the `maxKeys + 1`
 * smallest entries after the cursor (the extra one tells whether the page is truncated). Time is
 * O(n log maxKeys) per page for n keys in the bucket; memory is O(maxKeys) whatever n is.
 *
 * Order is OSS's: UTF-8 byte order of keys, which is Unicode code point order
 * ({@link compareKeys}), not JavaScript's UTF-16 code unit order.
 *
 * With a delimiter, keys that contain it after the prefix roll up into one common prefix
 * (everything up to and including the first delimiter after the prefix), which counts once
 * towards `maxKeys`, as in OSS and S3.
 */

/** Where a listing resumes: after a key, or after every key under a common prefix. */
export interface ListingCursor {
  value: string;
  /** True when `value` is a common prefix: the keys under it were rolled up and are skipped. */
  prefix: boolean;
}

/** What to list. */
export interface ListingQuery {
  /** Only keys starting with it; '' for all. */
  prefix: string;
  /** Roll up keys at its first occurrence after the prefix; '' for none. */
  delimiter: string;
  /** List only what comes after it; undefined from the start. */
  after: ListingCursor | undefined;
  /** Most entries (keys and common prefixes together) in the page, at least 1. */
  maxKeys: number;
}

/** One entry of a page: an object key, or a common prefix that stands for several keys. */
export interface ListingEntry {
  value: string;
  prefix: boolean;
}

/** The entries of a page in order, and whether more come after them. */
export interface ListingSelectionResult {
  entries: ListingEntry[];
  truncated: boolean;
}

/** Keeps the smallest `maxKeys + 1` entries of a listing among the keys offered. */
export class ListingSelection {
  private readonly picked: ListingEntry[] = [];
  private readonly capacity: number;

  constructor(private readonly query: ListingQuery) {
    this.capacity = query.maxKeys + 1;
  }

  /** Considers one key of the bucket; each key should be offered once. */
  offer(key: string): void {
    const { prefix, delimiter, after } = this.query;
    if (!key.startsWith(prefix)) return;
    if (after !== undefined) {
      if (after.prefix && key.startsWith(after.value)) return;
      if (compareKeys(key, after.value) <= 0) return;
    }
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const entry: ListingEntry =
      cut < 0
        ? { value: key, prefix: false }
        : { value: key.slice(0, cut + delimiter.length), prefix: true };
    const picked = this.picked;
    if (picked.length === this.capacity) {
      const last = picked[picked.length - 1];
      if (last !== undefined && compareKeys(entry.value, last.value) >= 0) return;
    }
    let lo = 0;
    let hi = picked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = compareKeys((picked[mid] as ListingEntry).value, entry.value);
      if (order === 0) return; // a common prefix already picked
      if (order < 0) lo = mid + 1;
      else hi = mid;
    }
    picked.splice(lo, 0, entry);
    if (picked.length > this.capacity) picked.pop();
  }

  result(): ListingSelectionResult {
    const truncated = this.picked.length > this.query.maxKeys;
    return { entries: this.picked.slice(0, this.query.maxKeys), truncated };
  }
}

/**
 * Orders two keys as their UTF-8 bytes would (code point order). Strings compare by UTF-16 code
 * units, which puts U+E000–U+FFFF after the surrogate pairs of U+10000 and above; at the first
 * differing unit this moves surrogates above the rest of the BMP (as ICU's
 * `u_strcmpCodePointOrder` does), so no bytes need encoding.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = codePointRank(x);
      y = codePointRank(y);
    }
    return x - y;
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit <= 0xdfff) return unit + 0x2000;
  return unit - 0x800;
}
