/**
 * The second pass over an input file: the rows the first pass found valid and new are read again,
 * checked again (the files may have changed in between), and enqueued in chunks through the
 * intake. A photo in a `--photos` archive is handed to the intake as its bytes (the intake reads
 * files by path, and an archive's entry has none), read from the archive just before its chunk is
 * enqueued; a chunk is cut short at {@link CHUNK_PHOTO_BYTES} of such bytes, and its rows at
 * `CHUNK_TEXT_MAX` of text (base64 images in the rows), so memory stays bounded whatever the
 * photos weigh. A row that fails now is logged as invalid, never dropped; one that is gone from
 * the file is counted as missing. When Redis is out of memory the pass stops with exit code 7 (the
 * chunk being enqueued is not kept, or kept whole per ticket: a second run skips what was kept).
 */
import { toStoredSource, type TicketBinding } from '../domain/binding.js';
import { StoreFullError, ValidationError } from '../errors.js';
import type { TicketIntake, TicketInput } from '../flow/ticket-intake.js';
import {
  bufferReader,
  checkImageHeader,
  DEFAULT_IMAGE_LIMITS,
} from '../adapters/oss/image-header.js';
import { CliError, ExitCode } from './exit-codes.js';
import { requestWeight, ticketIdOf, type InputRow } from './input-rows.js';
import type { InvalidRowLog } from './invalid-rows.js';
import { CHUNK_ROWS, CHUNK_TEXT_MAX } from './preflight.js';
import {
  checkInputRow,
  problemOf,
  type RowCheck,
  type RowCheckContext,
  type RowProblem,
} from './row-check.js';

/** Most bytes of archive photos held for one call of the intake. */
export const CHUNK_PHOTO_BYTES = 64 * 1024 * 1024;

/** Why a row whose TicketId another producer took with a different payload is invalid. */
export const CONFLICT = 'was enqueued meanwhile by another producer with a different payload';

/** What the second pass did. */
export interface EnqueueTally {
  /** Tickets created. */
  enqueued: number;
  /** Tickets another producer created meanwhile with the same payload. */
  alreadyKnown: number;
  /**
   * Rows valid in the first pass and invalid now, or whose TicketId another producer took
   * meanwhile with a different payload (logged).
   */
  invalid: number;
  /** Valid rows of the first pass not found again (the file changed). */
  missing: number;
}

/** What the second pass needs. */
export interface EnqueueRowsDeps {
  intake: Pick<TicketIntake, 'enqueueMany'>;
  ctx: RowCheckContext;
  log: InvalidRowLog;
  /** TicketIds to enqueue; emptied as they are met (the first occurrence of each). */
  validNew: Set<string>;
  /** Told after every chunk, with the rows handled so far. */
  onChunk?: (handled: number) => void;
}

/** Enqueues the valid new rows of `rows`. */
export async function enqueueRows(
  rows: AsyncIterable<InputRow>,
  deps: EnqueueRowsDeps,
): Promise<EnqueueTally> {
  const tally: EnqueueTally = {
    enqueued: 0,
    alreadyKnown: 0,
    invalid: 0,
    missing: 0,
  };
  let handled = 0;
  let pending: { line: number; request: Record<string, unknown>; problems?: RowProblem[] }[] = [];
  let weight = 0;

  const invalid = async (
    line: number,
    request: Record<string, unknown>,
    problems: RowProblem[],
  ) => {
    tally.invalid++;
    const ticketId = ticketIdOf(request);
    await deps.log.add({ line, ...(ticketId === undefined ? {} : { ticketId }), problems });
  };

  /** Enqueues checked tickets, logging those another producer took with another payload. */
  const enqueue = async (inputs: TicketInput[], lines: number[]) => {
    const results = inputs.length === 0 ? [] : await enqueueOrStop(deps, inputs, tally);
    for (const [i, r] of results.entries()) {
      if (r.created) tally.enqueued++;
      else if (r.samePayload) tally.alreadyKnown++;
      else {
        tally.invalid++;
        await deps.log.add({
          line: lines[i] ?? 0,
          ticketId: r.ticket.ticketId,
          problems: [{ field: 'TicketId', message: CONFLICT }],
        });
      }
    }
  };

  const flush = async () => {
    const chunk = pending;
    pending = [];
    weight = 0;
    let inputs: TicketInput[] = [];
    let lines: number[] = [];
    let photoBytes = 0;
    for (const row of chunk) {
      const check: RowCheck = await checkInputRow(row, deps.ctx);
      if (!check.ok) {
        await invalid(row.line, row.request, check.problems);
        continue;
      }
      const read = await withArchivePhotos(check.input, deps.ctx);
      if ('problems' in read) {
        await invalid(row.line, row.request, read.problems);
        continue;
      }
      inputs.push(read.input);
      lines.push(row.line);
      photoBytes += read.bytes;
      if (photoBytes >= CHUNK_PHOTO_BYTES) {
        await enqueue(inputs, lines);
        inputs = [];
        lines = [];
        photoBytes = 0;
      }
    }
    await enqueue(inputs, lines);
    handled += chunk.length;
    deps.onChunk?.(handled);
  };

  for await (const row of rows) {
    if (!('request' in row)) continue;
    const ticketId = ticketIdOf(row.request);
    if (ticketId === undefined || !deps.validNew.delete(ticketId)) continue;
    pending.push(row);
    weight += requestWeight(row.request);
    if (pending.length >= CHUNK_ROWS || weight >= CHUNK_TEXT_MAX) await flush();
  }
  await flush();
  tally.missing = deps.validNew.size;
  return tally;
}

/**
 * `input` with each photo of the `--photos` archive as its bytes (checked from their header once
 * more: the entry was read again), and how many bytes that is; problems when one cannot be read.
 */
export async function withArchivePhotos(
  input: TicketInput,
  ctx: RowCheckContext,
): Promise<{ input: TicketInput; bytes: number } | { problems: RowProblem[] }> {
  const { photos } = ctx;
  if (photos === undefined) return { input, bytes: 0 };
  const materials: TicketBinding['materials'] = { ...input.binding.materials };
  const problems: RowProblem[] = [];
  let bytes = 0;
  for (const [field, source] of Object.entries(input.binding.materials)) {
    if (source.kind !== 'file' || !photos.inArchive(source.path)) continue;
    const name = `Binding.${field}`;
    try {
      const data = await photos.read(name, source.path);
      checkImageHeader(name, bufferReader(data), ctx.imageLimits ?? DEFAULT_IMAGE_LIMITS);
      materials[field as keyof typeof materials] = toStoredSource({ kind: 'bytes', data });
      bytes += data.length;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(problemOf(err));
    }
  }
  if (problems.length > 0) return { problems };
  return { input: { ...input, binding: { ...input.binding, materials } }, bytes };
}

/** The chunk through the intake; Redis out of memory stops the pass (exit 7) with what it did. */
async function enqueueOrStop(
  deps: EnqueueRowsDeps,
  inputs: TicketInput[],
  tally: EnqueueTally,
): ReturnType<TicketIntake['enqueueMany']> {
  try {
    return await deps.intake.enqueueMany(inputs);
  } catch (err) {
    if (!(err instanceof StoreFullError)) throw err;
    throw new CliError(
      ExitCode.storeFull,
      `Redis is out of memory (its maxmemory is reached) and refused to store more tickets: ` +
        `enqueue stopped after ${tally.enqueued} enqueued. Free memory in Redis (or raise its ` +
        `maxmemory), then run the same command again: the tickets already enqueued are skipped.`,
    );
  }
}
