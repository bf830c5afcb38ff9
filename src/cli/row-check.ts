/**
 * The checks of one input row before anything is enqueued: the request as the intake parses it
 * (local paths allowed, resolved against the input file's directory; bytes checked from their
 * image headers), then each local image file with the worker's own header check: it exists, is a
 * regular file of at most 50 MB, and its header is a JPEG, PNG or BMP the worker decodes, within
 * the pixel limits (only the header is read, never the whole file).
 */
import { resolve } from 'node:path';
import type { BizCatalogue } from '../domain/biz.js';
import { ValidationError } from '../errors.js';
import {
  IMAGE_FIELDS,
  parseMaterialSource,
  type ImageField,
  type TicketBinding,
} from '../domain/binding.js';
import { unknownBizMessage } from '../flow/ticket-intake.js';
import {
  parseTicketRequest,
  TicketRejectedError,
  type ParseOptions,
} from '../flow/ticket-request.js';
import type { CallbackPolicy } from '../webhooks/allowlist.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../adapters/oss/image-header.js';
import { checkImageFile } from '../adapters/oss/material-loader.js';
import type { TicketInput } from '../flow/ticket-intake.js';

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
  /**
   * Biz → scheme, from config; undefined over `--api`, where the CLI has no CLOUDAUTH_BIZ: the
   * checks that depend on the scheme (the Biz is configured, the fields it requires, images of an
   * interactive scheme) are then the API's, which reports them per row.
   */
  biz: BizCatalogue | undefined;
  /** The input file's directory: relative image paths resolve here. */
  baseDir: string;
  batchId: string;
  /** Pixel limits (IMAGE_MAX_PIXELS, IMAGE_MAX_SIDE_PX); default theirs. */
  imageLimits?: ImageLimits;
  /** The callback URL policy of the orchestrator's configuration (see `callbackPolicyOf`). */
  callbackPolicy?: CallbackPolicy;
}

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
  const options = (biz: BizCatalogue): ParseOptions => ({
    biz,
    localFiles: { baseDir: ctx.baseDir },
    batchId: ctx.batchId,
    ...(ctx.imageLimits === undefined ? {} : { imageLimits: ctx.imageLimits }),
    ...(ctx.callbackPolicy === undefined ? {} : { callbackPolicy: ctx.callbackPolicy }),
  });
  if (ctx.biz === undefined) return parseWithoutScheme(request, options({}));
  try {
    return { ok: true, input: parseTicketRequest(request, options(ctx.biz)) };
  } catch (err) {
    return { ok: false, problems: problemsOf(err) };
  }
}

function problemsOf(err: unknown): RowProblem[] {
  if (err instanceof TicketRejectedError) return err.problems.map(problemOf);
  if (err instanceof ValidationError) return [problemOf(err)];
  throw err;
}

/** What `parseTicketRequest` says of a Biz that no configuration holds. */
const UNCONFIGURED_BIZ = unknownBizMessage({});

/**
 * Every check but the scheme's, for `--api`: the request is parsed with no Biz configured, which
 * leaves the scheme's checks out and refuses the Biz alone; that refusal is dropped. What the CLI
 * keeps of a row that passes is what only it can do: its local image files (resolved against the
 * input's directory), to be checked and sent as bytes.
 */
function parseWithoutScheme(request: Record<string, unknown>, options: ParseOptions): RowCheck {
  let problems: RowProblem[];
  try {
    parseTicketRequest(request, options);
    problems = [];
  } catch (err) {
    problems = problemsOf(err).filter(
      (p) => !(p.field === 'Biz' && p.message === UNCONFIGURED_BIZ),
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  const given = (request.Binding ?? {}) as Partial<Record<ImageField, string>>;
  const materials: TicketBinding['materials'] = {};
  for (const field of IMAGE_FIELDS) {
    const value = given[field];
    if (value === undefined) continue;
    const source = parseMaterialSource(`Binding.${field}`, value);
    if (source.kind === 'file') {
      const baseDir = options.localFiles?.baseDir ?? '.';
      materials[field] = { kind: 'file', path: resolve(baseDir, source.path) };
    }
  }
  return {
    ok: true,
    input: {
      ticketId: request.TicketId as string,
      biz: request.Biz as string,
      binding: { materials },
      ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
    },
  };
}

/** Checks every local image file of a parsed ticket; empty when all are fine. */
export function checkLocalFiles(
  input: TicketInput,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const [field, source] of Object.entries(input.binding.materials)) {
    if (source.kind !== 'file') continue;
    const message = checkLocalImage(source.path, limits);
    if (message !== undefined) problems.push({ field: `Binding.${field}`, message });
  }
  return problems;
}

/**
 * Why the file at `path` cannot be a material, or undefined when it can: the worker's own check
 * (`checkImageFile`): it exists, is a regular file of at most 50 MB, and its header is a JPEG, PNG
 * or BMP that the worker can decode, within the pixel limits. Only the header is read.
 */
export function checkLocalImage(
  path: string,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): string | undefined {
  try {
    checkImageFile('file', path, limits);
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return problemOf(err).message;
    throw err;
  }
}

/** Parses a row and checks its local files. */
export function checkRow(request: Record<string, unknown>, ctx: RowCheckContext): RowCheck {
  const parsed = parseRow(request, ctx);
  if (!parsed.ok) return parsed;
  const problems = checkLocalFiles(parsed.input, ctx.imageLimits);
  return problems.length === 0 ? parsed : { ok: false, problems };
}
