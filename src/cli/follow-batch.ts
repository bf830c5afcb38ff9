/**
 * `enqueue --wait`: follows a batch by state until every ticket has ended. On a terminal the one
 * line of counts is redrawn every second; otherwise a plain line is printed whenever it changes.
 * Each reading asks every ticket of the batch for its state (about 1.5 s for 100,000 tickets),
 * so a large batch is read as often as that allows.
 */
import { isTerminal, type TicketState } from '../domain/ticket.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import { formatCounts } from './plan.js';

/** What following needs. */
export interface FollowOptions {
  stream: NodeJS.WritableStream;
  tty: boolean;
  /** From the start of one reading to the start of the next, at least, in ms. Default 1000. */
  intervalMs?: number;
}

/** True when no ticket of the counts is in a non-terminal state. */
export function allEnded(counts: Readonly<Record<TicketState, number>>): boolean {
  return Object.entries(counts).every(([state, n]) => n === 0 || isTerminal(state as TicketState));
}

/** Reads the batch's counts every interval until every ticket has ended; answers the last counts. */
export async function followBatch(
  store: Pick<TicketStore, 'countBatch'>,
  batchId: string,
  options: FollowOptions,
): Promise<Record<TicketState, number>> {
  const { stream, tty } = options;
  const intervalMs = options.intervalMs ?? 1000;
  let last: string | undefined;
  for (;;) {
    const startedAt = Date.now();
    const counts = await store.countBatch(batchId);
    const text = `batch ${batchId}: ${formatCounts(counts)}`;
    if (tty) stream.write(`\r\x1b[2K${text}`);
    else if (text !== last) stream.write(`${text}\n`);
    last = text;
    if (allEnded(counts)) {
      if (tty) stream.write('\n');
      return counts;
    }
    const wait = Math.max(0, intervalMs - (Date.now() - startedAt));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
