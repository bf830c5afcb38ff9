/**
 * How commands write for a person and for a script. A person at a terminal gets a little colour;
 * a script gets `--json`: one JSON document on stdout, nothing else there (progress, notes and
 * errors go to stderr). Colour follows the usual conventions, as commander does for its help:
 * never with `NO_COLOR` (https://no-color.org) or `FORCE_COLOR=0`, always with `FORCE_COLOR` or
 * `CLICOLOR_FORCE`, else only on a terminal that is not `TERM=dumb`. A few ANSI codes of our own,
 * not a library: nothing else in the CLI needs one.
 */

/** A stream as the CLI sees it (see `CliIo`). */
interface OutputStream {
  isTTY?: boolean;
}

/** Whether to colour what is written to `stream`, by the conventions above. Pure. */
export function colourWanted(
  stream: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR || env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Text styles; each the identity when colour is off. */
export interface Styles {
  /** A good outcome (passed). */
  good(text: string): string;
  /** A bad outcome (failed, not passed, expired). */
  bad(text: string): string;
  /** Something to look at (cancelled, waiting). */
  notice(text: string): string;
  /** A heading. */
  strong(text: string): string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\x1b[${open}m${text}\x1b[${close}m`;

/** Colour, whatever the stream (commander's help styles, which it strips itself). */
export const COLOURED: Styles = {
  good: sgr(32, 39),
  bad: sgr(31, 39),
  notice: sgr(33, 39),
  strong: sgr(1, 22),
};

const identity = (text: string): string => text;

/** No colour. */
export const PLAIN: Styles = { good: identity, bad: identity, notice: identity, strong: identity };

/** The styles for `stream`: coloured when {@link colourWanted}, else {@link PLAIN}. */
export function stylesFor(
  stream: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
): Styles {
  return colourWanted(stream, env) ? COLOURED : PLAIN;
}

/** Writes `value` as one JSON document (two-space indented, one final newline). */
export function writeJson(stream: NodeJS.WritableStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}
