/**
 * The first pass over an input file: every row is checked (see `row-check.ts`), a TicketId seen
 * earlier in the file makes the row invalid, and TicketIds the store already holds are counted as
 * already enqueued (checked in pipelined chunks). Only the TicketIds are kept (the seen ones, and
 * the valid new ones for the second pass); invalid rows go to the {@link InvalidRowLog}.
 */
import { flowOfBiz } from '../domain/biz.js';
import type { Flow } from '../domain/ticket.js';
import type { TicketInput } from '../flow/ticket-intake.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import { requestWeight, ticketIdOf, type InputRow } from './input-rows.js';
import type { InvalidRow, InvalidRowLog } from './invalid-rows.js';
import { addCalls, callsPerTicket } from './plan.js';
import { checkMaterials, parseRow, type RowCheckContext } from './row-check.js';

/** Rows checked together: one pipelined existence check in the store per chunk. */
export const CHUNK_ROWS = 500;

/**
 * Most text a chunk of either pass holds (by `requestWeight`): a chunk is cut short there, so that
 * rows carrying base64 images (up to `ROW_MAX_BYTES` each) never gather CHUNK_ROWS of them.
 */
export const CHUNK_TEXT_MAX = 64 * 1024 * 1024;

/** What the first pass found. */
export interface PreflightResult {
  rowsRead: number;
  /** TicketIds of the valid rows not yet in the store: what the second pass enqueues. */
  validNew: Set<string>;
  /** Valid new rows by flow. */
  flows: Record<Flow, number>;
  /** Valid new rows whose flow only the API knows (over `--api`: no CLOUDAUTH_BIZ here). */
  flowUnknown: number;
  /** Valid new rows of a financial ID_PRO Biz (in `flows.interactive` too): they await a link. */
  startLink: number;
  /** Provider calls of the valid new rows whose Biz is known, by action (see `callsPerTicket`). */
  calls: Record<string, number>;
  alreadyKnown: number;
}

/** What the first pass needs. */
export interface PreflightDeps {
  store: Pick<TicketStore, 'existing'>;
  ctx: RowCheckContext;
  log: InvalidRowLog;
  /** Told after every chunk, with the rows read so far. */
  onChunk?: (rowsRead: number) => void;
}

type Pending = { line: number; ticketId: string; input: TicketInput } | InvalidRow;

/** Reads every row once and decides what the second pass will enqueue. */
export async function preflight(
  rows: AsyncIterable<InputRow>,
  deps: PreflightDeps,
): Promise<PreflightResult> {
  const result: PreflightResult = {
    rowsRead: 0,
    validNew: new Set(),
    flows: { server: 0, interactive: 0 },
    flowUnknown: 0,
    startLink: 0,
    calls: {},
    alreadyKnown: 0,
  };
  const firstLine = new Map<string, number>();
  let pending: Pending[] = [];
  let weight = 0;

  const flush = async () => {
    const chunk = pending;
    pending = [];
    weight = 0;
    const parsed = chunk.filter((p) => 'input' in p);
    const known = await deps.store.existing(parsed.map((p) => p.ticketId));
    for (const p of chunk) {
      if (!('input' in p)) {
        await deps.log.add(p);
        continue;
      }
      if (known.has(p.ticketId)) {
        result.alreadyKnown++;
        continue;
      }
      const problems = await checkMaterials(p.input, deps.ctx);
      if (problems.length > 0) {
        await deps.log.add({ line: p.line, ticketId: p.ticketId, problems });
      } else {
        result.validNew.add(p.ticketId);
        const profile = deps.ctx.biz?.[p.input.biz];
        if (profile === undefined) {
          result.flowUnknown++;
        } else {
          result.flows[flowOfBiz(profile)]++;
          if (typeof profile !== 'string' && profile.productCode === 'ID_PRO') result.startLink++;
          addCalls(result.calls, callsPerTicket(profile));
        }
      }
    }
    deps.onChunk?.(result.rowsRead);
  };

  for await (const row of rows) {
    result.rowsRead++;
    pending.push(classify(row, firstLine, deps.ctx));
    if ('request' in row) weight += requestWeight(row.request);
    if (pending.length >= CHUNK_ROWS || weight >= CHUNK_TEXT_MAX) await flush();
  }
  await flush();
  return result;
}

/** The checks that need no I/O: row problems, repeated TicketIds, the request's fields. */
function classify(row: InputRow, firstLine: Map<string, number>, ctx: RowCheckContext): Pending {
  if ('problem' in row) {
    return { line: row.line, problems: [{ field: 'row', message: row.problem }] };
  }
  const ticketId = ticketIdOf(row.request);
  const withId = ticketId === undefined ? {} : { ticketId };
  if (ticketId !== undefined) {
    const first = firstLine.get(ticketId);
    if (first !== undefined) {
      return {
        line: row.line,
        ...withId,
        problems: [{ field: 'TicketId', message: `repeats the TicketId of line ${first}` }],
      };
    }
    firstLine.set(ticketId, row.line);
  }
  const parsed = parseRow(row.request, ctx, row.problems);
  if (!parsed.ok) return { line: row.line, ...withId, problems: parsed.problems };
  return { line: row.line, ticketId: parsed.input.ticketId, input: parsed.input };
}
