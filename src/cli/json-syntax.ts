/**
 * Where a JSON text stops being JSON, found by a scanner of our own: `JSON.parse`'s messages quote
 * a snippet of the text (on Node 20 and later), which in an input file is a name or an identity
 * number, so a refusal reports this position instead. Iterative: any nesting depth is scanned
 * with an explicit stack.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})/y;

class SyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`not JSON at offset ${offset}`);
  }
}

/** The end of the string that opens at `start` (just past its closing quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) throw new SyntaxAt(i);
    if (c === 0x5c) {
      ESCAPE.lastIndex = i;
      if (!ESCAPE.test(text)) throw new SyntaxAt(i);
      i = ESCAPE.lastIndex;
    } else i++;
  }
  throw new SyntaxAt(text.length);
}

/** The end of the number, `true`, `false`, `null` or string that starts at `start`. */
function scalarEnd(text: string, start: number): number {
  if (text[start] === '"') return stringEnd(text, start);
  for (const word of ['true', 'false', 'null']) {
    if (text.startsWith(word, start)) return start + word.length;
  }
  NUMBER.lastIndex = start;
  if (NUMBER.test(text)) return NUMBER.lastIndex;
  throw new SyntaxAt(start);
}

type Expecting = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'next';

function scan(text: string): void {
  const open: ('{' | '[')[] = [];
  let expecting: Expecting = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && WHITESPACE.has(text[i] ?? '')) i++;
    if (i >= text.length) {
      if (expecting === 'next' && open.length === 0) return;
      throw new SyntaxAt(text.length);
    }
    const c = text[i];
    const top = open[open.length - 1];
    switch (expecting) {
      case 'valueOrClose':
      case 'value':
        if (expecting === 'valueOrClose' && c === ']') {
          open.pop();
          i++;
          expecting = 'next';
        } else if (c === '{' || c === '[') {
          open.push(c);
          i++;
          expecting = c === '{' ? 'keyOrClose' : 'valueOrClose';
        } else {
          i = scalarEnd(text, i);
          expecting = 'next';
        }
        break;
      case 'keyOrClose':
      case 'key':
        if (expecting === 'keyOrClose' && c === '}') {
          open.pop();
          i++;
          expecting = 'next';
        } else if (c === '"') {
          i = stringEnd(text, i);
          expecting = 'colon';
        } else throw new SyntaxAt(i);
        break;
      case 'colon':
        if (c !== ':') throw new SyntaxAt(i);
        i++;
        expecting = 'value';
        break;
      case 'next':
        if (top === undefined) throw new SyntaxAt(i);
        if (c === ',') expecting = top === '{' ? 'key' : 'value';
        else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
          open.pop();
          expecting = 'next';
        } else throw new SyntaxAt(i);
        i++;
        break;
    }
  }
}

/**
 * The offset (UTF-16 units from 0) of the first character of `text` that is not JSON, `text.length`
 * when the text ends too early, or undefined when it is valid JSON.
 */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxAt) return err.offset;
    throw err;
  }
}

/** The 1-based column, in characters (code points), of a UTF-16 offset into `text`. */
export function columnOf(text: string, offset: number): number {
  return Array.from(text.slice(0, offset)).length + 1;
}
