/**
 * The second pass over an input file: the rows the first pass found valid and new are read again,
 * checked again (the files may have changed in between), and enqueued in chunks through the
 * intake. A row that fails now is logged as invalid, never dropped; one that is gone from the file
 * is counted as missing. When Redis is out of memory the pass stops with exit code 7 (the chunk
 * being enqueued is not kept, or kept whole per ticket: a second run skips what was kept).
 */
import { StoreFullError } from '../errors.js';
import type { TicketIntake, TicketInput } from '../flow/ticket-intake.js';
import { CliError, ExitCode } from './exit-codes.js';
import { ticketIdOf, type InputRow } from './input-rows.js';
import type { InvalidRowLog } from './invalid-rows.js';
import { CHUNK_ROWS } from './preflight.js';
import { checkRow, type RowCheckContext } from './row-check.js';

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
  let pending: { line: number; request: Record<string, unknown> }[] = [];

  const flush = async () => {
    const chunk = pending;
    pending = [];
    const checks = chunk.map((r) => checkRow(r.request, deps.ctx));
    const inputs: TicketInput[] = [];
    const lines: number[] = [];
    for (const [i, check] of checks.entries()) {
      const row = chunk[i];
      if (!row) continue;
      if (check.ok) {
        inputs.push(check.input);
        lines.push(row.line);
        continue;
      }
      tally.invalid++;
      const ticketId = ticketIdOf(row.request);
      await deps.log.add({
        line: row.line,
        ...(ticketId === undefined ? {} : { ticketId }),
        problems: check.problems,
      });
    }
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
    handled += chunk.length;
    deps.onChunk?.(handled);
  };

  for await (const row of rows) {
    if (!('request' in row)) continue;
    const ticketId = ticketIdOf(row.request);
    if (ticketId === undefined || !deps.validNew.delete(ticketId)) continue;
    pending.push(row);
    if (pending.length >= CHUNK_ROWS) await flush();
  }
  await flush();
  tally.missing = deps.validNew.size;
  return tally;
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
