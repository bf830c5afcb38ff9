/**
 * Checks of a row's cells that only the command line can make, because only it knows how the text
 * was read (the file's encoding, or a workbook), made before the request is parsed:
 *
 * - a Name holding decoding debris (U+FFFD, C0 or C1 control characters, lone surrogates,
 *   private-use characters: what a wrong encoding leaves in a name) is refused with its own
 *   message, whatever the encoding, so that no garbage name reaches the provider. The message
 *   never quotes the name.
 * - an IdentificationNumber in scientific notation (`1.10101E+17`, what Excel shows, and saves to
 *   CSV, for an 18-digit number typed into a General cell) is refused with how to fix it in Excel:
 *   Excel keeps 15 significant digits, so the last three digits are gone.
 *
 * The refused cells are left out of the request, so that the parse does not report them again.
 * Pure; no I/O.
 */
import { encodingName, type TextEncoding } from './input-encoding.js';
import type { RowProblem } from './row-check.js';

/** Why an IdentificationNumber that Excel stored as a number is refused, and how to fix it. */
export const EXCEL_NUMBER_ID =
  'stored by Excel as a number (its last digits may be lost): format the column as Text and type the numbers again';

/** How a row's text was read. */
export interface CellReading {
  format: 'csv' | 'jsonl' | 'xlsx';
  /** The encoding of a CSV or JSONL input. */
  encoding?: TextEncoding;
}

/** What a wrong encoding leaves in text: see the module's comment. */
// eslint-disable-next-line no-control-regex
const DEBRIS = /[\u0000-\u001f\u007f-\u009f\ufffd\p{Co}\p{Cs}]/u;

/** Whether `text` holds decoding debris. */
export function hasDecodingDebris(text: string): boolean {
  return DEBRIS.test(text);
}

/** A number in scientific notation, as Excel shows one of more than 11 digits. */
const SCIENTIFIC = /^[+-]?\d+(\.\d+)?E[+-]?\d+$/i;

/** Why a name with decoding debris is refused. */
export function debrisMessage(reading: CellReading): string {
  if (reading.format === 'xlsx' || reading.encoding === undefined) {
    return 'contains characters that did not decode (U+FFFD, control or private-use characters): type the name again';
  }
  return `contains characters that did not decode (the file's encoding is not ${encodingName(reading.encoding)}? use --encoding)`;
}

/** A number as text, as a CSV field would hold it. */
export function excelNumberText(n: number): string {
  return String(n);
}

/**
 * The problems of the cells of `request` (a raw request in the HTTP shape) that only the CLI
 * names; each refused cell is deleted from `request.Binding`.
 */
export function cellProblems(request: Record<string, unknown>, reading: CellReading): RowProblem[] {
  const binding = request.Binding;
  if (binding === null || typeof binding !== 'object' || Array.isArray(binding)) return [];
  const b = binding as Record<string, unknown>;
  const problems: RowProblem[] = [];
  if (typeof b.Name === 'string' && hasDecodingDebris(b.Name)) {
    problems.push({ field: 'Binding.Name', message: debrisMessage(reading) });
    delete b.Name;
  }
  if (
    typeof b.IdentificationNumber === 'string' &&
    SCIENTIFIC.test(b.IdentificationNumber.trim())
  ) {
    problems.push({ field: 'Binding.IdentificationNumber', message: EXCEL_NUMBER_ID });
    delete b.IdentificationNumber;
  }
  return problems;
}
