/**
 * A ZIP archive read in place, by its central directory, never unpacked to disk: what `enqueue
 * --photos photos.zip` takes its images from, and what an `.xlsx` workbook is read through (a
 * workbook is a ZIP of XML parts). yauzl reads the central directory once into an index of entry
 * names; an entry is then inflated on demand, bounded: its uncompressed size from the central
 * directory is checked against the bound before anything is read, and the bytes are counted again
 * while they inflate (yauzl's `validateEntrySizes` also fails an entry that inflates to more than
 * it declared), so a ZIP bomb costs at most the bound in memory.
 *
 * Entry names are read as bytes (`decodeStrings: false`) and decoded here: yauzl's own decoding
 * fails the whole archive on one name it refuses (`../evil.jpg`), where here that entry alone is
 * left out of the index (and counted), so nothing can ever reach it. A name without the UTF-8 flag
 * and without an Info-ZIP Unicode Path field is decoded as yauzl would (CP437) when it is ASCII;
 * otherwise as UTF-8 when it is valid UTF-8 (macOS and most tools write UTF-8 without the flag),
 * else as GB18030: the archiver built into Chinese Windows writes names in the system code page
 * (GBK), which is what photos named 王芳.jpg arrive in.
 */
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type Options, type ZipFile } from 'yauzl';

/**
 * Most entries an archive may hold: a photos archive of 300,000 applicants with three photos each
 * is under it. An index of a million entries is a few hundred MB.
 */
export const ZIP_MAX_ENTRIES = 1_000_000;

/** Why an entry could not be read; the message names the entry's problem, never its bytes. */
export class ZipEntryError extends Error {}

/** An archive open for reading. */
export class ZipArchive {
  /** Entries left out of the index for their name: absolute, or with a `..` segment. */
  readonly refused: number;

  private constructor(
    private readonly zip: ZipFile,
    private readonly entries: ReadonlyMap<string, Entry>,
    refused: number,
  ) {
    this.refused = refused;
  }

  /**
   * Opens the archive at `path` (or in `data`) and reads its central directory. Rejects with the
   * reason yauzl gives when it is not a ZIP archive (a message about the archive's structure), and
   * with a {@link ZipEntryError} when it declares more than `maxEntries` entries: the index holds
   * each entry (a few hundred bytes), and a small archive can declare millions pointing at the
   * same bytes.
   */
  static async open(source: string | Buffer, maxEntries = ZIP_MAX_ENTRIES): Promise<ZipArchive> {
    const options: Options = {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    };
    const zip =
      typeof source === 'string'
        ? await yauzl.openPromise(source, options)
        : await yauzl.fromBufferPromise(source, options);
    if (zip.entryCount > maxEntries) {
      zip.close();
      throw new ZipEntryError(`holds ${zip.entryCount} entries, over the ${maxEntries} read`);
    }
    const entries = new Map<string, Entry>();
    let refused = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        const name = entryName(entry);
        // directories have no bytes
        if (name.endsWith('/')) continue;
        if (yauzl.validateFileName(name) !== null) {
          refused++;
          continue;
        }
        // the first of two entries with one name wins, as most unzip tools keep it
        const key = normaliseEntryPath(name);
        if (key !== '' && !entries.has(key)) entries.set(key, entry);
      }
    } catch (err) {
      zip.close();
      throw err;
    }
    return new ZipArchive(zip, entries, refused);
  }

  /** Names of the entries the index holds (files only). */
  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  get size(): number {
    return this.entries.size;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's uncompressed size as its central directory declares it; undefined when absent. */
  declaredSize(name: string): number | undefined {
    return this.entries.get(name)?.uncompressedSize;
  }

  /**
   * The entry's bytes, inflated in memory: a {@link ZipEntryError} when it is absent, declares more
   * than `maxBytes`, inflates to more, or cannot be inflated.
   */
  async read(name: string, maxBytes: number): Promise<Buffer> {
    const stream = await this.stream(name, maxBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) throw new ZipEntryError(`inflates to more than ${mb(maxBytes)}`);
        chunks.push(chunk);
      }
    } catch (err) {
      stream.destroy();
      if (err instanceof ZipEntryError) throw err;
      // yauzl's validateEntrySizes: more bytes than the central directory declared
      if (err instanceof Error && err.message.startsWith('too many bytes in the stream')) {
        throw new ZipEntryError('inflates to more than the archive declares');
      }
      throw new ZipEntryError(`cannot be inflated (${reason(err)})`);
    }
    return Buffer.concat(chunks, size);
  }

  /**
   * The entry's bytes as a stream (inflating as it is read), after its declared size is checked
   * against `maxBytes`; yauzl fails the stream if it inflates to more than it declared.
   */
  async stream(name: string, maxBytes: number): Promise<Readable> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new ZipEntryError('is not in the archive');
    if (entry.isEncrypted()) throw new ZipEntryError('is encrypted in the archive');
    if (entry.uncompressedSize > maxBytes) {
      throw new ZipEntryError(`is over ${mb(maxBytes)} in the archive`);
    }
    try {
      return await this.zip.openReadStreamPromise(entry);
    } catch (err) {
      throw new ZipEntryError(`cannot be read (${reason(err)})`);
    }
  }

  close(): void {
    this.zip.close();
  }
}

function mb(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

/**
 * A short reason from yauzl's or zlib's error: its code when it has one, else the first words of
 * its message without what follows a colon (yauzl appends sizes, never names, but a name could
 * follow in a later version).
 */
function reason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const message = err instanceof Error ? err.message : String(err);
  return message.split(':')[0]?.slice(0, 80) ?? 'unknown error';
}

/**
 * A relative path inside an archive as the index keys it: `/` between segments, without empty and
 * `.` segments (`./faces//a.jpg` is `faces/a.jpg`). Callers refuse `..` and absolute paths first.
 */
export function normaliseEntryPath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/** The entry's name, decoded (see the module's comment); backslashes read as slashes. */
export function entryName(entry: Entry): string {
  const raw = entry.fileNameRaw;
  const utf8Flag = (entry.generalPurposeBitFlag & 0x800) !== 0;
  const unicodePath = entry.extraFields.some((f) => f.id === 0x7075);
  const ascii = raw.every((b) => b < 0x80);
  if (utf8Flag || unicodePath || ascii) {
    return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
  }
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    name = new TextDecoder('gb18030').decode(raw);
  }
  return name.replace(/\\/g, '/');
}
