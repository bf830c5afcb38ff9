/**
 * Chinese resident identity numbers (GB 11643-1999): 6-digit region code, 8-digit birth date,
 * 3-digit sequence (odd = male), and an ISO 7064 MOD 11-2 check character (`X` for 10, either
 * case). Pure; no I/O.
 */

/** Why a number was refused. */
export type IdNumberProblem = 'format' | 'region' | 'birth_date' | 'checksum';

export type IdNumberCheck =
  | { ok: true; birthDate: string; sex: 'm' | 'f' }
  | { ok: false; problem: IdNumberProblem; message: string };

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';

/** Province-level prefixes in use (71 Taiwan, 81 Hong Kong, 82 Macau for residence permits). */
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
  53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
]);

/**
 * The check character the first 17 digits call for. Throws a RangeError unless `first17` is
 * exactly 17 digits, rather than answer a character for text that is not the start of a number.
 */
export function idNumberCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('idNumberCheckChar: expected 17 digits');
  const sum = WEIGHTS.reduce<number>((total, weight, i) => total + weight * Number(first17[i]), 0);
  return CHECK_CHARS.charAt(sum % 11);
}

/**
 * Checks an 18-character identity number. `today` (yyyymmdd) bounds the birth date; messages never
 * repeat the number itself.
 */
export function checkIdNumber(value: string, today = utcToday()): IdNumberCheck {
  if (!/^\d{17}[\dXx]$/.test(value)) {
    return { ok: false, problem: 'format', message: 'must be 17 digits followed by a digit or X' };
  }
  if (!PROVINCES.has(Number(value.slice(0, 2)))) {
    return { ok: false, problem: 'region', message: 'region code is not an assigned province' };
  }
  const birth = value.slice(6, 14);
  if (!isCalendarDate(birth) || birth > today || birth < '18900101') {
    return { ok: false, problem: 'birth_date', message: 'birth date is not a valid past date' };
  }
  if (idNumberCheckChar(value.slice(0, 17)) !== value.charAt(17).toUpperCase()) {
    return { ok: false, problem: 'checksum', message: 'check digit does not match (GB 11643)' };
  }
  return { ok: true, birthDate: birth, sex: Number(value[16]) % 2 === 1 ? 'm' : 'f' };
}

function isCalendarDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function utcToday(): string {
  return new Date().toISOString().slice(0, 10).replaceAll('-', '');
}
