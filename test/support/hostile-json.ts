/** JSON that attacks parsers and checkers, as text (never built as a value: it would overflow). */

/** A JSON text nested `depth` levels deep: objects, arrays, or both by turns. */
export function deepText(depth: number, kind: 'object' | 'array' | 'mixed'): string {
  if (kind === 'object') return `${'{"k":'.repeat(depth)}0${'}'.repeat(depth)}`;
  if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const opens = Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? '{"k":' : '['));
  const closes = opens.map((o) => (o === '[' ? ']' : '}')).reverse();
  return `${opens.join('')}0${closes.join('')}`;
}
