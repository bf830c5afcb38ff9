/**
 * A workbook's shared-strings table held compactly: every text as UTF-8 in one growing buffer,
 * with the end of each in a growing `Uint32Array`, rather than as exceljs's array of JavaScript
 * strings (its `sharedStrings: 'cache'`).
 *
 * Why our own: a cell of a sheet only names its text by index, so a streaming reader must hold
 * the whole table (every distinct name, ID number and TicketId of the workbook) while the sheet
 * streams. As JavaScript strings that is one heap object per text (a Chinese name is stored two
 * bytes per character, each string with its header, often a slice that keeps the parser's chunk
 * alive): about 35 MB of live heap for 100,000 applicants, and V8 lets its heap grow to several
 * times what is live, which made the `.xlsx` enqueue's peak RSS grow with the row count where the
 * CSV's did not. Here the table is about the bytes of its texts (about 60 a row), outside V8's heap,
 * and a cell's text is decoded only when its row is read. No maintained package holds a string
 * table this way for exceljs; exceljs reads `sharedStrings[index]` from its reader, so
 * {@link SharedStrings.indexable} gives it that view.
 *
 * An empty `<si/>` and rich text whose runs hold no text are both the empty string (a cell of
 * either reads as empty, as exceljs's `null` and `{ richText: [] }` did: see `cellText`); rich text
 * is its runs' text joined, the one thing `cellText` takes from it.
 */

/** A shared string as exceljs's `_parseSharedStrings` yields it in its `emit` mode. */
export interface EmittedSharedString {
  index: number;
  text: string | null | { richText: readonly { text?: unknown }[] };
}

const INITIAL_BYTES = 64 * 1024;
const INITIAL_ENTRIES = 4 * 1024;

/** The table; texts are added in index order. */
export class SharedStrings {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;
  /** `ends[i]`: where text `i` ends in `bytes` (it starts where text `i - 1` ends). */
  private ends = new Uint32Array(INITIAL_ENTRIES);
  private count = 0;

  /** How many texts the table holds. */
  get size(): number {
    return this.count;
  }

  /** Bytes the table holds (its texts' UTF-8 and their ends), for the tests and the bench. */
  get heldBytes(): number {
    return this.bytes.length + this.ends.byteLength;
  }

  /** Adds exceljs's emitted entry; its index must be the next one. */
  addEmitted(entry: EmittedSharedString): void {
    if (entry.index !== this.count) {
      throw new Error(`shared string ${entry.index} came where ${this.count} was expected`);
    }
    this.add(textOf(entry.text));
  }

  /** Adds the next text. */
  add(text: string): void {
    const length = Buffer.byteLength(text, 'utf8');
    if (this.used + length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + length));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    if (this.count === this.ends.length) {
      const grown = new Uint32Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
    this.used += this.bytes.write(text, this.used, 'utf8');
    this.ends[this.count++] = this.used;
  }

  /** Text `index`, or undefined past the table's end (a cell naming a text the table lacks). */
  get(index: number): string | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    const start = index === 0 ? 0 : (this.ends[index - 1] ?? 0);
    return this.bytes.toString('utf8', start, this.ends[index]);
  }

  /**
   * The table as exceljs's worksheet reader reads it: `table[index]`. An index past the end reads
   * as exceljs's own value for a shared-string cell it cannot resolve (`{ sharedString: index }`),
   * which `cellText` refuses as not text: a broken workbook's cell is never taken as empty.
   * `onText` is told the length of every text read, before it is decoded (it may throw: a text
   * named by many cells is a new string each time).
   */
  indexable(onText: (length: number) => void = () => undefined): Readonly<Record<number, unknown>> {
    return new Proxy(
      {},
      {
        get: (_target, key) => {
          if (typeof key !== 'string') return undefined;
          const index = Number(key);
          if (!Number.isInteger(index) || index < 0 || index >= this.count) {
            return { sharedString: index };
          }
          const start = index === 0 ? 0 : (this.ends[index - 1] ?? 0);
          onText((this.ends[index] ?? start) - start);
          return this.get(index);
        },
      },
    );
  }
}

/** An emitted entry's text (see the module's comment). */
function textOf(text: EmittedSharedString['text']): string {
  if (text === null || text === undefined) return '';
  if (typeof text === 'string') return text;
  return text.richText.map((run) => (typeof run.text === 'string' ? run.text : '')).join('');
}
