/**
 * The character encoding of a CSV or JSONL input. Excel on Chinese Windows saves "CSV (Comma
 * delimited)" in the system code page, GBK, not in UTF-8; read as UTF-8 its names turn into
 * replacement characters. So the encoding is decided once, from the whole file, before any row is
 * read:
 *
 * - a UTF-8 byte order mark (EF BB BF, what Excel's "CSV UTF-8" writes) means UTF-8;
 * - a file whose every byte sequence is valid UTF-8 is UTF-8 (plain ASCII included);
 * - anything else is read as GB18030, the superset of GBK (and of GB2312) that Node's TextDecoder
 *   decodes: every GBK file reads the same as GB18030, and GB18030's four-byte sequences carry the
 *   rare characters GBK lacks (𠀀, U+20000).
 *
 * Not name by name: in GBK, 欧阳娜娜 begins with two bytes that are also valid UTF-8 (C5 B7 is ŷ),
 * so a per-field guess would read part of a name in the wrong encoding without a single U+FFFD.
 * The whole-file pass is a streaming, fatal UTF-8 TextDecoder over the bytes (it stops at the
 * first invalid sequence; nothing is held but the decoder's state). A GBK file that happens to be
 * valid UTF-8 throughout is read as UTF-8: `--encoding` forces the encoding (`utf-8`, `gb18030`,
 * or `gbk`, which is read as GB18030). A UTF-16 file (Excel's "Unicode Text") is refused with how
 * to save it instead: it is tab-separated, not a CSV.
 *
 * Whatever the encoding, a name that still holds decoding debris is refused row by row (see
 * `row-cells.ts`), so no garbage name reaches the provider.
 */
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { usageError } from './exit-codes.js';

/** The encodings the CLI reads text inputs in. */
export type TextEncoding = 'utf-8' | 'gb18030';

/** What `--encoding` takes; `gbk` reads as GB18030, its superset. */
export const ENCODING_OPTIONS = ['utf-8', 'gb18030', 'gbk'] as const;
export type EncodingOption = (typeof ENCODING_OPTIONS)[number];

/** How the encoding was decided. */
export type EncodingReason = 'byte-order-mark' | 'valid-utf-8' | 'not-utf-8' | 'forced';

/** The encoding an input is read in, and why. */
export interface EncodingChoice {
  encoding: TextEncoding;
  reason: EncodingReason;
  /** With `forced`: what `--encoding` said. */
  given?: EncodingOption;
}

/** The encoding `--encoding` names. */
export function forcedEncoding(given: EncodingOption): EncodingChoice {
  return { encoding: given === 'utf-8' ? 'utf-8' : 'gb18030', reason: 'forced', given };
}

/** `UTF-8`, `GB18030`: how messages name an encoding. */
export function encodingName(encoding: TextEncoding): string {
  return encoding.toUpperCase();
}

/** The plan's line about the encoding. */
export function describeEncoding(choice: EncodingChoice): string {
  const name = encodingName(choice.encoding);
  switch (choice.reason) {
    case 'byte-order-mark':
      return `${name} (byte order mark)`;
    case 'valid-utf-8':
      return name;
    case 'not-utf-8':
      return `${name} (not valid UTF-8: read as GBK/GB18030, as Excel saves CSV on Chinese Windows; --encoding utf-8 reads it as UTF-8)`;
    case 'forced':
      return `${name} (--encoding ${choice.given ?? choice.encoding})`;
  }
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Decides the encoding of the bytes `chunks` yield (see the module's comment). Reads until the
 * first invalid UTF-8 sequence, or to the end; `label` names the input in a refusal.
 */
export async function detectEncoding(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  label: string,
): Promise<EncodingChoice> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let head: number[] = [];
  try {
    for await (const chunk of chunks) {
      if (head.length < 3) {
        head = [...head, ...chunk.subarray(0, 3 - head.length)];
        if (UTF8_BOM.every((b, i) => head[i] === b)) {
          return { encoding: 'utf-8', reason: 'byte-order-mark' };
        }
        if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
          throw usageError(
            `${label} is UTF-16 (Excel's "Unicode Text", tab-separated): save it as "CSV UTF-8 (Comma delimited)", or give the .xlsx workbook`,
          );
        }
      }
      decoder.decode(chunk, { stream: true });
    }
    decoder.decode();
  } catch (err) {
    if (err instanceof TypeError) return { encoding: 'gb18030', reason: 'not-utf-8' };
    throw err;
  }
  return { encoding: 'utf-8', reason: 'valid-utf-8' };
}

/** {@link detectEncoding} over the file at `path`, read once (and no further than needed). */
export async function detectFileEncoding(path: string, label: string): Promise<EncodingChoice> {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    return await detectEncoding(stream, label);
  } finally {
    stream.destroy();
  }
}

/** {@link detectEncoding} over bytes already read (standard input). */
export function detectBufferEncoding(data: Buffer, label: string): Promise<EncodingChoice> {
  return detectEncoding([data], label);
}

/**
 * A stream from the input's bytes in `encoding` to the same text in UTF-8, decoded as the bytes
 * stream in (a character split between two chunks is decoded whole). Bytes that do not decode
 * become U+FFFD, which the row checks refuse in a name.
 */
export function toUtf8(encoding: TextEncoding): Transform {
  const decoder = decoderFor(encoding);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = decoder.decode(chunk, { stream: true });
      done(null, text === '' ? undefined : Buffer.from(text, 'utf8'));
    },
    flush(done) {
      const text = decoder.decode();
      done(null, text === '' ? undefined : Buffer.from(text, 'utf8'));
    },
  });
}

/** A decoder of `encoding`; a usage error when this Node.js has none. */
function decoderFor(encoding: TextEncoding) {
  try {
    return new TextDecoder(encoding);
  } catch {
    // a Node.js built without full ICU (--with-intl=small-icu) decodes UTF-8 and Latin-1 only
    throw usageError(
      `this Node.js cannot decode ${encodingName(encoding)} (it was built without full ICU): save the file as "CSV UTF-8"`,
    );
  }
}
