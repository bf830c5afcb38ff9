/**
 * The checks of one input row before anything is enqueued: the request as the intake parses it
 * (local paths allowed, resolved against the input file's directory, or located in the `--photos`
 * folder or archive; bytes checked from their image headers), then each local image file with the
 * worker's own header check: it exists, is a regular file of at most 50 MB, and its header is a
 * JPEG, PNG or BMP the worker decodes, within the pixel limits (only the header is read, never the
 * whole file; an archive's entry is inflated, bounded, to read its header). The problems the row's
 * cells had when read (`InputRow.problems`) come first; the parse does not repeat their fields.
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
import type { PhotoSource } from './photos.js';

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
  /** The input file's directory: relative image paths resolve here (unless `photos`). */
  baseDir: string;
  /**
   * `--photos`: the folder or archive image paths are found in instead, refused when absolute or
   * leading outside it.
   */
  photos?: PhotoSource | undefined;
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

/**
 * Parses a raw request as the intake would, without I/O; `early` are the problems its cells had
 * when read (they come first, and the parse's problems of the same fields are left out).
 */
export function parseRow(
  request: Record<string, unknown>,
  ctx: RowCheckContext,
  early: readonly RowProblem[] = [],
): RowCheck {
  const problems = [...early];
  let located = request;
  if (ctx.photos !== undefined) {
    const found = locatePhotos(request, ctx.photos);
    located = found.request;
    problems.push(...found.problems);
  }
  const parsed = parseLocated(located, ctx);
  if (problems.length === 0) return parsed;
  const flagged = new Set(problems.map((p) => p.field));
  const rest = parsed.ok ? [] : parsed.problems.filter((p) => !flagged.has(p.field));
  return { ok: false, problems: [...problems, ...rest] };
}

/**
 * `request` with each local image path replaced by where `photos` locates it (an absolute path),
 * and the problems of those it refuses (absolute, leading outside), whose fields are left out.
 */
function locatePhotos(
  request: Record<string, unknown>,
  photos: PhotoSource,
): { request: Record<string, unknown>; problems: RowProblem[] } {
  const given = request.Binding;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return { request, problems: [] };
  }
  const binding = { ...(given as Record<string, unknown>) };
  const problems: RowProblem[] = [];
  for (const field of IMAGE_FIELDS) {
    const value = binding[field];
    if (typeof value !== 'string') continue;
    const name = `Binding.${field}`;
    let source: ReturnType<typeof parseMaterialSource>;
    try {
      source = parseMaterialSource(name, value);
    } catch (err) {
      // a value the parse refuses on its own (not base64, a bad URL) is left to it
      if (err instanceof ValidationError) continue;
      throw err;
    }
    if (source.kind !== 'file') continue;
    try {
      binding[field] = photos.locate(name, source.path);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(problemOf(err));
      delete binding[field];
    }
  }
  return { request: { ...request, Binding: binding }, problems };
}

function parseLocated(request: Record<string, unknown>, ctx: RowCheckContext): RowCheck {
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

/**
 * Parses a row and checks its local files (synchronously: without `--photos`, whose archive is
 * read asynchronously; see {@link checkInputRow}).
 */
export function checkRow(request: Record<string, unknown>, ctx: RowCheckContext): RowCheck {
  const parsed = parseRow(request, ctx);
  if (!parsed.ok) return parsed;
  const problems = checkLocalFiles(parsed.input, ctx.imageLimits);
  return problems.length === 0 ? parsed : { ok: false, problems };
}

/**
 * Checks every local image of a parsed ticket, in the `--photos` folder or archive when there is
 * one; empty when all are fine.
 */
export async function checkMaterials(
  input: TicketInput,
  ctx: RowCheckContext,
): Promise<RowProblem[]> {
  const { photos } = ctx;
  if (photos === undefined) return checkLocalFiles(input, ctx.imageLimits);
  const limits = ctx.imageLimits ?? DEFAULT_IMAGE_LIMITS;
  const problems: RowProblem[] = [];
  for (const [field, source] of Object.entries(input.binding.materials)) {
    if (source.kind !== 'file') continue;
    try {
      await photos.check(`Binding.${field}`, source.path, limits);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(problemOf(err));
    }
  }
  return problems;
}

/** Parses a row read from the input (with its cells' problems) and checks its local images. */
export async function checkInputRow(
  row: { request: Record<string, unknown>; problems?: readonly RowProblem[] | undefined },
  ctx: RowCheckContext,
): Promise<RowCheck> {
  const parsed = parseRow(row.request, ctx, row.problems);
  if (!parsed.ok) return parsed;
  const problems = await checkMaterials(parsed.input, ctx);
  return problems.length === 0 ? parsed : { ok: false, problems };
}
