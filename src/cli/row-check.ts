/**
 * The checks of one input row before anything is enqueued: the request as the intake parses it
 * (local paths allowed, resolved against the input file's directory), then each local image file:
 * it exists, is a regular file of at most {@link SOURCE_LIMIT_BYTES}, and its first bytes are a
 * JPEG, PNG or BMP signature (only 32 bytes are read).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Scheme } from '../config.js';
import { describeNonImage, sniffImageType } from '../domain/binding.js';
import { ValidationError } from '../errors.js';
import { parseTicketRequest, TicketRejectedError } from '../intake/ticket-request.js';
import { SOURCE_LIMIT_BYTES } from '../oss/image-fit.js';
import type { TicketInput } from '../queue/ticket-intake.js';

/** One reason a row is invalid. */
export interface RowProblem {
  /** Dotted field, e.g. `Binding.IdentificationNumber`; `row` for the row as a whole. */
  field: string;
  message: string;
}

/** A row's check: the ticket to enqueue, or every problem found. */
export type RowCheck = { ok: true; input: TicketInput } | { ok: false; problems: RowProblem[] };

/** What the checks need. */
export interface RowCheckContext {
  /** Biz → scheme, from config. */
  biz: Readonly<Record<string, Scheme>>;
  /** The input file's directory: relative image paths resolve here. */
  baseDir: string;
  batchId: string;
}

const SNIFF_BYTES = 32;

/** A validation error as a problem, its message without the repeated field name. */
export function problemOf(err: ValidationError): RowProblem {
  const prefix = `${err.field}: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return { field: err.field, message };
}

/** Parses a raw request as the intake would, without I/O. */
export function parseRow(request: Record<string, unknown>, ctx: RowCheckContext): RowCheck {
  if (request.Biz === undefined) {
    return { ok: false, problems: [{ field: 'Biz', message: 'is missing: give --biz or a Biz' }] };
  }
  try {
    const input = parseTicketRequest(request, {
      biz: ctx.biz,
      localFiles: { baseDir: ctx.baseDir },
      batchId: ctx.batchId,
    });
    return { ok: true, input };
  } catch (err) {
    if (err instanceof TicketRejectedError)
      return { ok: false, problems: err.problems.map(problemOf) };
    if (err instanceof ValidationError) return { ok: false, problems: [problemOf(err)] };
    throw err;
  }
}

/** Checks every local image file of a parsed ticket; empty when all are fine. */
export function checkLocalFiles(input: TicketInput): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const [field, source] of Object.entries(input.binding.materials)) {
    if (source.kind !== 'file') continue;
    const message = checkLocalImage(source.path);
    if (message !== undefined) problems.push({ field: `Binding.${field}`, message });
  }
  return problems;
}

/**
 * Why the file at `path` cannot be a material, or undefined when it can. Synchronous on purpose:
 * four system calls per file, about ten times faster than as many thread-pool round trips, which
 * counts for a file of 100,000 rows.
 */
export function checkLocalImage(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'file does not exist';
    if (code === 'EACCES') return 'file is not readable';
    if (code === 'EISDIR') return 'is a directory, not a file';
    return `file cannot be opened (${code ?? 'unknown error'})`;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return 'is not a regular file';
    if (stat.size > SOURCE_LIMIT_BYTES) {
      return `file is over ${SOURCE_LIMIT_BYTES / 1024 / 1024} MB`;
    }
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, stat.size));
    const bytes = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    return sniffImageType(bytes) === undefined ? describeNonImage(bytes) : undefined;
  } catch (err) {
    return `file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`;
  } finally {
    closeSync(fd);
  }
}

/** Parses a row and checks its local files. */
export function checkRow(request: Record<string, unknown>, ctx: RowCheckContext): RowCheck {
  const parsed = parseRow(request, ctx);
  if (!parsed.ok) return parsed;
  const problems = checkLocalFiles(parsed.input);
  return problems.length === 0 ? parsed : { ok: false, problems };
}
