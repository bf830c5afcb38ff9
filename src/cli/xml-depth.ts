/**
 * How deep a workbook part's XML nests, followed as the text streams to exceljs's SAX parser
 * (saxes), so that a part nesting deeper than {@link XML_MAX_DEPTH} is refused before saxes has
 * to hold it: saxes keeps every open element on a stack, and a few hundred KB of ZIP inflate to
 * millions of `<x>` never closed (a sheet did that to 4.6 GB). SpreadsheetML nests under a dozen
 * levels (worksheet, sheetData, row, c, is, r, t, and extensions).
 *
 * Why our own: saxes offers no depth limit, and exceljs creates the parser itself. This is not a
 * parser: it follows only what changes the depth (opening, closing and self-closing tags) and what
 * can hide a `<` (quoted attribute values, comments, CDATA, processing instructions, declarations),
 * jumping between them with `indexOf`; whether the XML is well formed stays saxes's to say.
 */

/** The deepest nesting a workbook part may have. */
export const XML_MAX_DEPTH = 256;

/** A part nesting deeper than {@link XML_MAX_DEPTH}. */
export class XmlTooDeepError extends Error {
  constructor() {
    super(`has XML nested over ${XML_MAX_DEPTH} levels deep`);
  }
}

type Mode =
  /** Between tags: looking for `<`. */
  | 'text'
  /** Inside a tag: looking for `>` or an attribute value's opening quote. */
  | 'tag'
  /** Inside a quoted attribute value: looking for `quote`. */
  | 'quoted'
  /** Inside a comment, CDATA, a processing instruction or a declaration: looking for `until`. */
  | 'skip';

/** The depth of one part's XML, fed its text in order. */
export class XmlDepth {
  depth = 0;
  private mode: Mode = 'text';
  private quote = '"';
  private until = '>';
  /** In 'tag': whether it opens an element (a `/>` at its end then closes it again). */
  private opening = false;
  /** In 'tag': the last character before the current position (for `/>` across chunks). */
  private previous = '';
  /** Text kept from the last chunk: a `<` not yet classified, or the tail of a 'skip'. */
  private carry = '';

  /** Follows `chunk`; throws {@link XmlTooDeepError} when the nesting passes the limit. */
  feed(chunk: string): void {
    const text = this.carry + chunk;
    this.carry = '';
    let at = 0;
    while (at < text.length) {
      switch (this.mode) {
        case 'text': {
          const lt = text.indexOf('<', at);
          if (lt === -1) return;
          const kind = this.classify(text, lt);
          if (kind === undefined) {
            this.carry = text.slice(lt);
            return;
          }
          at = kind;
          break;
        }
        case 'tag': {
          const gt = text.indexOf('>', at);
          const dq = text.indexOf('"', at);
          const sq = text.indexOf("'", at);
          const q = dq === -1 ? sq : sq === -1 ? dq : Math.min(dq, sq);
          if (q !== -1 && (gt === -1 || q < gt)) {
            this.mode = 'quoted';
            this.quote = text[q] ?? '"';
            at = q + 1;
            break;
          }
          if (gt === -1) {
            this.previous = text[text.length - 1] ?? this.previous;
            return;
          }
          const before = gt > at ? text[gt - 1] : this.previous;
          if (this.opening && before === '/') this.depth--;
          this.mode = 'text';
          at = gt + 1;
          break;
        }
        case 'quoted': {
          const end = text.indexOf(this.quote, at);
          if (end === -1) return;
          this.mode = 'tag';
          // a value's closing quote comes before `/>`, never as its `/`
          this.previous = this.quote;
          at = end + 1;
          break;
        }
        case 'skip': {
          const end = text.indexOf(this.until, at);
          if (end === -1) {
            // the terminator may begin at the end of this chunk
            this.carry = text.slice(Math.max(at, text.length - (this.until.length - 1)));
            return;
          }
          this.mode = 'text';
          at = end + this.until.length;
          break;
        }
      }
    }
  }

  /**
   * What the `<` at `lt` begins: sets the mode (and the depth) and answers where to go on, or
   * undefined when the chunk ends before it can tell.
   */
  private classify(text: string, lt: number): number | undefined {
    const next = text[lt + 1];
    if (next === undefined) return undefined;
    if (next === '?') return this.skipUntil('?>', lt + 2);
    if (next === '!') {
      const rest = text.slice(lt + 2, lt + 9);
      if (rest.startsWith('--')) return this.skipUntil('-->', lt + 4);
      if (rest.startsWith('[CDATA[')) return this.skipUntil(']]>', lt + 9);
      if ('--'.startsWith(rest) || '[CDATA['.startsWith(rest)) return undefined;
      return this.skipUntil('>', lt + 2);
    }
    this.mode = 'tag';
    this.previous = '';
    if (next === '/') {
      this.opening = false;
      this.depth = Math.max(0, this.depth - 1);
      return lt + 2;
    }
    this.opening = true;
    this.depth++;
    if (this.depth > XML_MAX_DEPTH) throw new XmlTooDeepError();
    return lt + 1;
  }

  private skipUntil(until: string, from: number): number {
    this.mode = 'skip';
    this.until = until;
    return from;
  }
}
