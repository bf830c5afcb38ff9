/**
 * Masking of personal data for display: 李* for names, 6305**********0090 for identity numbers.
 * Pure; no I/O.
 */

/** Keeps the first character of a name. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return `${chars[0]}${'*'.repeat(Math.max(1, chars.length - 1))}`;
}

/** Keeps the first four and last four characters of an identity number. */
export function maskIdNumber(id: string): string {
  if (id.length <= 8) return '*'.repeat(id.length);
  return `${id.slice(0, 4)}${'*'.repeat(id.length - 8)}${id.slice(-4)}`;
}
